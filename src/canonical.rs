//! Which headers the signature covers, under which names, in which order, and
//! the exact bytes of their JSON encoding.
//!
//! The vendor signs `json_encode(ksort($headers))` where `$headers` holds every
//! `X-Webhook-*` header but the signature, named in the vendor's case. A receiver
//! sees the names in whatever case the wire or its HTTP library left them (HTTP/2
//! and the `http` crate lowercase them), so the names are rebuilt here: lowercase,
//! then the first letter of each `-`-separated segment in upper case.

use std::borrow::Cow;
use std::fmt;

use crate::error::{Error, ErrorKind};
use crate::php_json;

/// Header names the vendor sends, in the vendor's case.
pub mod names {
    /// The prefix every signed header starts with (matched case-insensitively).
    pub const PREFIX: &str = "X-Webhook-";
    /// Base64 HMAC-SHA256 signature; the one `X-Webhook-*` header not signed.
    pub const SIGNATURE: &str = "X-Webhook-Signature";
    /// Unix seconds at which the delivery was signed.
    pub const TIMESTAMP: &str = "X-Webhook-Timestamp";
    /// Sub-store the event happened on (`1` on single-store carts).
    pub const STORE_ID: &str = "X-Webhook-Store-Id";
    /// What happened: `add`, `update`, `delete`, ...
    pub const ACTION: &str = "X-Webhook-Action";
    /// What it happened to: `product`, `order`, ...
    pub const ENTITY: &str = "X-Webhook-Entity";
    /// `0` for an ordinary event, anything else for an error notice.
    pub const ERROR_CODE: &str = "X-Webhook-Error-Code";
    /// Short reason of an error notice.
    pub const ERROR_REASON: &str = "X-Webhook-Error-Reason";
    /// Free-text message of an error notice.
    pub const ERROR_MESSAGE: &str = "X-Webhook-Error-Message";
    /// How many times the vendor has failed to reach the store.
    pub const ERROR_TRY_COUNT: &str = "X-Webhook-Error-Try-Count";

    pub(crate) const KNOWN: [&str; 9] = [
        SIGNATURE,
        TIMESTAMP,
        STORE_ID,
        ACTION,
        ENTITY,
        ERROR_CODE,
        ERROR_REASON,
        ERROR_MESSAGE,
        ERROR_TRY_COUNT,
    ];
}

/// The vendor-case name of an `X-Webhook-*` header, or `None` for any other header.
///
/// ```
/// use webhook_guard::canonical_name;
/// assert_eq!(canonical_name("x-webhook-store-id").as_deref(), Some("X-Webhook-Store-Id"));
/// assert_eq!(canonical_name("X-WEBHOOK-ENTITY").as_deref(), Some("X-Webhook-Entity"));
/// assert_eq!(canonical_name("content-type"), None);
/// ```
pub fn canonical_name(name: &str) -> Option<Cow<'static, str>> {
    has_prefix(name.as_bytes()).then(|| vendor_case(name))
}

/// Upper-cases the first letter of each `-`-separated segment and lower-cases
/// the rest; the vendor's own names come back without allocating.
fn vendor_case(name: &str) -> Cow<'static, str> {
    if let Some(known) = names::KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return Cow::Borrowed(known);
    }
    let mut out = String::with_capacity(name.len());
    let mut segment_start = true;
    for ch in name.chars() {
        out.push(if segment_start {
            ch.to_ascii_uppercase()
        } else {
            ch.to_ascii_lowercase()
        });
        segment_start = ch == '-';
    }
    Cow::Owned(out)
}

fn has_prefix(name: &[u8]) -> bool {
    name.len() >= names::PREFIX.len()
        && name[..names::PREFIX.len()].eq_ignore_ascii_case(names::PREFIX.as_bytes())
}

/// The `X-Webhook-*` headers a signature covers: vendor-case names, byte order,
/// values exactly as received. Built by [`DeliveryHeaders::from_pairs`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SignedHeaders {
    entries: Vec<(Cow<'static, str>, String)>,
}

impl SignedHeaders {
    /// Collects the signed headers from `(name, value)` pairs in any case, ignoring
    /// other headers and the signature. Fails as [`DeliveryHeaders::from_pairs`] does.
    pub fn from_pairs<I, N, V>(pairs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        DeliveryHeaders::from_pairs(pairs).map(DeliveryHeaders::into_signed)
    }

    /// The value of the signed header `name` (vendor case, e.g. [`names::STORE_ID`]).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
            .ok()
            .map(|i| self.entries[i].1.as_str())
    }

    /// The headers in signing order, as `(vendor-case name, value)`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_ref(), v.as_str()))
    }

    /// How many headers the signature covers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no `X-Webhook-*` header but the signature was sent.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends the JSON the vendor signs (PHP `json_encode` of the sorted map) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        php_json::write_map(out, self.iter());
    }

    /// The JSON the vendor signs, as bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_len_hint());
        self.write_json(&mut out);
        out
    }

    fn json_len_hint(&self) -> usize {
        2 + self
            .entries
            .iter()
            .map(|(n, v)| n.len() + v.len() + 6)
            .sum::<usize>()
    }
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Every `X-Webhook-*` header of one delivery: the [`SignedHeaders`] and the raw
/// `X-Webhook-Signature` value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DeliveryHeaders {
    signed: SignedHeaders,
    signature: Option<Vec<u8>>,
}

impl DeliveryHeaders {
    /// Collects the `X-Webhook-*` headers from `(name, value-bytes)` pairs, such as
    /// the entries of any version of `http::HeaderMap`. Other headers are ignored.
    ///
    /// Fails with [`ErrorKind::MalformedHeaders`] when a name appears twice (in any
    /// case), or when a name or a signed value is not UTF-8 (PHP could not have
    /// encoded it, so no honest sender signed it).
    pub fn from_pairs<I, N, V>(pairs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut entries: Vec<(Cow<'static, str>, String)> = Vec::with_capacity(8);
        let mut signature: Option<Vec<u8>> = None;
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            if !has_prefix(name) {
                continue;
            }
            let Ok(name) = std::str::from_utf8(name) else {
                tracing::debug!("X-Webhook-* header name is not UTF-8");
                return Err(Error::new(
                    ErrorKind::MalformedHeaders,
                    "header name is not UTF-8",
                ));
            };
            let name = vendor_case(name);
            if name == names::SIGNATURE {
                if signature.replace(value.to_vec()).is_some() {
                    return Err(duplicate(&name));
                }
                continue;
            }
            let Ok(value) = std::str::from_utf8(value) else {
                tracing::debug!(header = %name, "signed header value is not UTF-8");
                return Err(Error::new(
                    ErrorKind::MalformedHeaders,
                    "signed header value is not UTF-8",
                ));
            };
            entries.push((name, value.to_owned()));
        }
        entries.sort_unstable_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
        if let Some(pair) = entries.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(duplicate(&pair[0].0));
        }
        Ok(Self {
            signed: SignedHeaders { entries },
            signature,
        })
    }

    /// Collects the `X-Webhook-*` headers of an `http` 1 header map.
    #[cfg(feature = "http")]
    pub fn from_header_map(headers: &http::HeaderMap) -> Result<Self, Error> {
        Self::from_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
    }

    /// The headers the signature covers.
    pub fn signed(&self) -> &SignedHeaders {
        &self.signed
    }

    /// The raw value of `X-Webhook-Signature`, if one was sent.
    pub fn signature(&self) -> Option<&[u8]> {
        self.signature.as_deref()
    }

    /// The signed headers, without the signature.
    pub fn into_signed(self) -> SignedHeaders {
        self.signed
    }
}

impl fmt::Debug for DeliveryHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryHeaders")
            .field("signed", &self.signed)
            .field("has_signature", &self.signature.is_some())
            .finish()
    }
}

fn duplicate(name: &str) -> Error {
    tracing::debug!(header = %name, "X-Webhook-* header sent more than once");
    Error::new(ErrorKind::MalformedHeaders, "header sent more than once")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_vendor_case_for_unknown_names() {
        assert_eq!(
            canonical_name("x-webhook-some-new-THING").as_deref(),
            Some("X-Webhook-Some-New-Thing")
        );
        assert_eq!(canonical_name("X-webhook-").as_deref(), Some("X-Webhook-"));
        assert_eq!(canonical_name("x-webhook"), None);
        assert_eq!(canonical_name("x-webhooks-a"), None);
    }

    #[test]
    fn sorts_by_byte_order_and_skips_other_headers() {
        let h = DeliveryHeaders::from_pairs([
            ("x-webhook-store-id", "1"),
            ("content-type", "application/json"),
            ("X-WEBHOOK-ACTION", "add"),
            ("x-webhook-signature", "c2ln"),
            ("x-webhook-entity", "product"),
        ])
        .unwrap();
        assert_eq!(
            h.signed().to_json(),
            br#"{"X-Webhook-Action":"add","X-Webhook-Entity":"product","X-Webhook-Store-Id":"1"}"#
        );
        assert_eq!(h.signature(), Some(&b"c2ln"[..]));
        assert_eq!(h.signed().get(names::ENTITY), Some("product"));
    }

    #[test]
    fn duplicate_in_other_case_is_malformed() {
        let err =
            DeliveryHeaders::from_pairs([("x-webhook-action", "add"), ("X-Webhook-Action", "add")])
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
        let err = DeliveryHeaders::from_pairs([
            ("x-webhook-signature", "a"),
            ("X-Webhook-Signature", "a"),
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
    }

    #[test]
    fn non_utf8_value_is_malformed_but_other_headers_are_not_checked() {
        let err =
            DeliveryHeaders::from_pairs([(&b"x-webhook-entity"[..], &b"\xff"[..])]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
        let ok = DeliveryHeaders::from_pairs([(&b"cookie"[..], &b"\xff"[..])]).unwrap();
        assert!(ok.signed().is_empty());
        assert_eq!(ok.signed().to_json(), b"[]");
    }
}
