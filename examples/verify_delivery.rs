//! Signs a delivery the way the vendor does, then shows what a receiver's
//! verifier accepts and refuses: the original, a replay, a tampered body, a
//! changed header, a stale timestamp, and a delivery signed with a rotated key.
//!
//! Run with `cargo run --example verify_delivery`.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use webhook_guard::{
    DeliveryHeaders, InMemoryReplayGuard, KeySet, SignedHeaders, Signer, Verifier,
};

const STORE_KEY: &str = "demo-store-key-do-not-use-in-production";
const NEXT_KEY: &str = "demo-rotated-key";
const BODY: &[u8] = br#"{"id":"86","name":"Cable 3/4\" (black)","price":"9.99"}"#;
const TAMPERED: &[u8] = br#"{"id":"87","name":"Cable 3/4\" (black)","price":"9.99"}"#;

fn main() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));

    // Built once at start-up: two keys during a rotation, replays refused.
    let verifier = Verifier::builder(KeySet::single(STORE_KEY).with_key("next", NEXT_KEY))
        .replay_guard(InMemoryReplayGuard::new())
        .build();

    let mut changed_store = delivery(STORE_KEY, now + 2, "1");
    changed_store[0].1 = "2".into();
    let cases = [
        ("valid delivery", delivery(STORE_KEY, now, "1"), BODY),
        (
            "the same delivery again",
            delivery(STORE_KEY, now, "1"),
            BODY,
        ),
        (
            "one body byte changed",
            delivery(STORE_KEY, now + 1, "1"),
            TAMPERED,
        ),
        ("signed header changed", changed_store, BODY),
        (
            "timestamp 10 minutes old",
            delivery(STORE_KEY, now - 600, "1"),
            BODY,
        ),
        (
            "signed with the rotated key",
            delivery(NEXT_KEY, now + 3, "2"),
            BODY,
        ),
    ];

    let mut accepted = 0;
    for (what, wire, body) in &cases {
        let headers =
            DeliveryHeaders::from_pairs(wire.iter().map(|(n, v)| (n.as_str(), v.as_str())))
                .expect("the demo's headers are well-formed");
        let verdict =
            futures_executor::block_on(verifier.verify(headers, Bytes::from_static(body)));
        match verdict {
            Ok(event) => {
                accepted += 1;
                println!(
                    "{what:<28} 200 accepted: {} {} on store {} (key {})",
                    show(event.entity()),
                    show(event.action()),
                    show(event.store_id()),
                    event.key_id(),
                );
            }
            Err(err) => println!(
                "{what:<28} {} refused: {err} ({})",
                err.status(),
                err.detail()
            ),
        }
    }
    println!("{accepted} of {} deliveries accepted", cases.len());
}

/// The headers the vendor sends for a product update, signed with `key` over
/// `BODY`, with names lowercased as HTTP/2 delivers them.
fn delivery(key: &str, timestamp: i64, store: &str) -> Vec<(String, String)> {
    let timestamp = timestamp.to_string();
    let signed = SignedHeaders::from_pairs([
        ("X-Webhook-Store-Id", store),
        ("X-Webhook-Action", "update"),
        ("X-Webhook-Entity", "product"),
        ("X-Webhook-Error-Code", "0"),
        ("X-Webhook-Timestamp", timestamp.as_str()),
    ])
    .expect("the demo's headers are well-formed");
    let signature = Signer::new(key).sign(&signed, BODY);
    let mut wire = vec![("x-webhook-store-id".to_owned(), store.to_owned())];
    wire.extend(
        signed
            .iter()
            .filter(|(name, _)| *name != "X-Webhook-Store-Id")
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned())),
    );
    wire.push(("x-webhook-signature".into(), signature));
    wire.push(("content-type".into(), "application/json".into()));
    wire
}

fn show<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}
