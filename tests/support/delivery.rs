//! Deliveries signed as the vendor signs them, headers in the order and case
//! they go on the wire, and ways to spoil them.

use webhook_guard::standard::{self, StandardWebhooks};
use webhook_guard::{SignedHeaders, Signer};

/// One delivery: headers in the order and case they go on the wire, and the body.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Delivery {
    /// `pairs` (vendor case) and `body`, with `X-Webhook-Signature` made with `key`.
    pub fn signed(key: &str, pairs: &[(&str, &str)], body: &[u8]) -> Self {
        let signed = SignedHeaders::from_pairs(pairs.iter().copied()).expect("valid test headers");
        let signature = Signer::new(key).sign(&signed, body);
        let mut headers: Vec<(String, Vec<u8>)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        headers.push(("X-Webhook-Signature".into(), signature.into_bytes()));
        Self {
            headers,
            body: body.to_vec(),
        }
    }

    /// A Standard Webhooks delivery of `body`: `Webhook-Id` `id`,
    /// `Webhook-Timestamp` `ts`, and the `v1` signature by `secret` (`whsec_`).
    pub fn standard(secret: &str, id: &str, ts: i64, body: &[u8]) -> Self {
        let key = StandardWebhooks::secret("k", secret).expect("a whsec_ secret");
        let signature = standard::sign(&key, id, ts, body);
        Self {
            headers: vec![
                ("Webhook-Id".into(), id.as_bytes().to_vec()),
                ("Webhook-Timestamp".into(), ts.to_string().into_bytes()),
                ("Webhook-Signature".into(), signature.into_bytes()),
            ],
            body: body.to_vec(),
        }
    }

    /// A product update for store 1, timestamped `timestamp`, signed with `key`.
    pub fn product(key: &str, timestamp: i64, body: &[u8]) -> Self {
        let ts = timestamp.to_string();
        Self::signed(
            key,
            &[
                ("X-Webhook-Store-Id", "1"),
                ("X-Webhook-Action", "update"),
                ("X-Webhook-Entity", "product"),
                ("X-Webhook-Error-Code", "0"),
                ("X-Webhook-Timestamp", &ts),
            ],
            body,
        )
    }

    /// The same delivery with header `name` (any case) set to `value`, or added.
    pub fn with_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let value = value.as_ref().to_vec();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => *v = value,
            None => self.headers.push((name.to_owned(), value)),
        }
        self
    }

    /// The same delivery with one more header, even if one of that name exists.
    pub fn adding(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// The same delivery without header `name` (any case).
    pub fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// The same delivery with every header name in lower case.
    pub fn lowercase(mut self) -> Self {
        for (name, _) in &mut self.headers {
            *name = name.to_ascii_lowercase();
        }
        self
    }

    /// The same delivery with another body (the signature is left as it was).
    pub fn with_body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }
}

/// A JSON body of exactly `len` bytes (at least 12).
pub fn json_body(len: usize) -> Vec<u8> {
    let mut body = br#"{"id":""#.to_vec();
    body.resize(len - 2, b'x');
    body.extend_from_slice(br#""}"#);
    assert_eq!(body.len(), len);
    body
}
