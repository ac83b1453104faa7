//! Standard Webhooks' `webhook-signature` parser against the reference in
//! fuzz/src/lib.rs: the same entries in the same order, never more than
//! eight, each re-encoding to a piece of the input. Then the entry that
//! `standard::sign` writes, put among those pieces, parses, and the delivery
//! verifies exactly when fewer than eight non-empty pieces come before it
//! (or the same entry is also among the first eight pieces sent); a change to
//! the body, the id or the timestamp is refused unless its own entry is read.
#![no_main]

use bytes::Bytes;
use futures_executor::block_on;
use libfuzzer_sys::fuzz_target;
use webhook_guard::standard::{self, SignatureEntry, StandardWebhooks};
use webhook_guard::{ErrorKind, KeySet, SigningKey, Verifier};
use webhook_guard_fuzz::{StandardInput, b64, standard::signatures};

fn entries(value: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let parsed = standard::parse_signatures(value);
    assert!(parsed.len() <= standard::MAX_SIGNATURES);
    let entries: Vec<_> = parsed
        .into_iter()
        .map(|entry| match entry {
            SignatureEntry::V1(mac) => ("v1", mac.to_vec()),
            SignatureEntry::V1a(sig) => ("v1a", sig.to_vec()),
            other => panic!("unknown entry {other:?}"),
        })
        .collect();
    for (version, bytes) in &entries {
        let piece = format!("{version},{}", b64::encode(bytes));
        assert!(
            value.split(|&b| b == b' ').any(|p| p == piece.as_bytes()),
            "{piece} not sent"
        );
    }
    assert_eq!(
        entries,
        signatures(value),
        "{:?}",
        String::from_utf8_lossy(value)
    );
    entries
}

fuzz_target!(|input: StandardInput| {
    let StandardInput {
        secret,
        id,
        timestamp,
        at,
        body,
        header,
    } = input;
    entries(header);

    let key = if (24..=64).contains(&secret.len()) {
        let whsec = format!("whsec_{}", b64::encode(&secret));
        StandardWebhooks::secret("default", &whsec).expect("a whsec_ secret of 24 to 64 bytes")
    } else {
        SigningKey::new("default", &secret)
    };
    let timestamp = i64::from(timestamp);
    let good = standard::sign(&key, &id, timestamp, &body);
    let [(version, mac)]: [_; 1] = entries(good.as_bytes()).try_into().expect("one entry");
    assert_eq!((version, mac.len()), ("v1", 32));

    let pieces: Vec<&[u8]> = header.split(|&b| b == b' ').collect();
    let at = usize::from(at) % (pieces.len() + 1);
    let before = pieces[..at].iter().filter(|p| !p.is_empty()).count();
    let mut value = pieces[..at].join(&b' ');
    value.push(b' ');
    value.extend_from_slice(good.as_bytes());
    value.push(b' ');
    value.extend_from_slice(&pieces[at..].join(&b' '));
    // Whether `entry` is among the pieces read. The pieces sent may hold
    // good entries too: libFuzzer learns them from the comparisons here.
    let readable = |entry: &str| {
        let pieces = value.split(|&b| b == b' ').filter(|p| !p.is_empty());
        pieces
            .take(standard::MAX_SIGNATURES)
            .any(|p| p == entry.as_bytes())
    };
    let seen = entries(&value).contains(&("v1", mac));
    assert_eq!(seen, readable(&good));
    assert!(seen || before >= standard::MAX_SIGNATURES);

    let verifier = Verifier::builder(KeySet::from_keys([key.clone()]))
        .scheme(StandardWebhooks::new())
        .danger_accept_any_timestamp()
        .build();
    let verify = |id: &str, timestamp: i64, body: &[u8]| {
        let headers = [
            (&b"Webhook-Id"[..], id.as_bytes().to_vec()),
            (b"webhook-timestamp", timestamp.to_string().into_bytes()),
            (b"WEBHOOK-SIGNATURE", value.clone()),
        ];
        block_on(verifier.verify(headers, Bytes::copy_from_slice(body)))
    };
    let mut longer = body.clone();
    longer.push(0);
    for (id, timestamp, body) in [
        (id.clone(), timestamp, &body[..]),
        (format!("{id}x"), timestamp, &body[..]),
        (id.clone(), timestamp + 1, &body[..]),
        (id.clone(), timestamp, &longer[..]),
    ] {
        // A changed delivery verifies only if its own entry was sent too.
        let signed = readable(&standard::sign(&key, &id, timestamp, body));
        match verify(&id, timestamp, body) {
            Ok(event) => {
                assert!(signed, "verified without a readable entry for it");
                assert_eq!(event.message_id(), Some(id.as_str()));
                assert_eq!(event.timestamp(), Some(timestamp));
                assert_eq!(event.body().as_ref(), body);
                assert_eq!(event.key_id().as_str(), "default");
            }
            Err(e) => {
                assert!(!signed, "signed delivery refused: {e}");
                assert_eq!(e.kind(), ErrorKind::InvalidSignature);
            }
        }
    }
});
