//! The verifier's policy, row by row of the status table (DESIGN.md §2), with an
//! injected clock. Deliveries here are signed by the crate's own `Signer`: the
//! byte-exactness of the encoding is tested against PHP in `known_answers.rs`
//! and `differential.rs`; these tests are about what is accepted and refused.

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use webhook_guard::{
    BoxFuture, DeliveryHeaders, Error, ErrorKind, InMemoryReplayGuard, KeySet, ManualClock,
    ReplayCheck, ReplayGuard, ReplayKey, ResolveError, SignedHeaders, Signer, Verifier,
    resolver_fn,
};

const KEY: &str = "store-key-0123456789";
const NOW: i64 = 1_763_900_000;
const BODY: &[u8] = br#"{"id":"86","name":"test product"}"#;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// Headers of a delivery signed with `key` as the vendor would sign it.
fn signed(key: &str, pairs: &[(&str, &str)], body: &[u8]) -> Vec<(String, String)> {
    let signed = SignedHeaders::from_pairs(pairs.iter().copied()).unwrap();
    let signature = Signer::new(key).sign(&signed, body);
    let mut wire: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    wire.push(("X-Webhook-Signature".into(), signature));
    wire
}

fn product_add(timestamp: i64) -> Vec<(String, String)> {
    let ts = timestamp.to_string();
    signed(
        KEY,
        &[
            ("X-Webhook-Store-Id", "1"),
            ("X-Webhook-Action", "add"),
            ("X-Webhook-Entity", "product"),
            ("X-Webhook-Error-Code", "0"),
            ("X-Webhook-Timestamp", &ts),
        ],
        BODY,
    )
}

fn headers(wire: &[(String, String)]) -> DeliveryHeaders {
    DeliveryHeaders::from_pairs(wire.iter().map(|(n, v)| (n.as_str(), v.as_str()))).unwrap()
}

fn replace(wire: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    wire.iter()
        .map(|(n, v)| {
            let v = if n.eq_ignore_ascii_case(name) {
                value
            } else {
                v
            };
            (n.clone(), v.to_string())
        })
        .collect()
}

fn verifier_at(clock: &ManualClock) -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .build()
}

fn verify(
    verifier: &Verifier,
    wire: &[(String, String)],
    body: &[u8],
) -> Result<webhook_guard::VerifiedWebhook, Error> {
    block_on(verifier.verify(headers(wire), Bytes::copy_from_slice(body)))
}

fn refusal(result: Result<webhook_guard::VerifiedWebhook, Error>) -> (ErrorKind, u16) {
    let err = result.expect_err("delivery should be refused");
    (err.kind(), err.status())
}

#[test]
fn accepts_a_fresh_delivery_and_types_it() {
    let clock = ManualClock::new(NOW);
    let event = verify(&verifier_at(&clock), &product_add(NOW - 10), BODY).unwrap();
    assert_eq!(event.entity(), Some(webhook_guard::Entity::Product));
    assert_eq!(event.action(), Some(webhook_guard::Action::Add));
    assert_eq!(event.store_id().unwrap().as_str(), "1");
    assert_eq!(event.timestamp(), Some(NOW - 10));
    assert_eq!(event.error_notice(), None);
    assert_eq!(event.key_id().as_str(), "default");
    assert_eq!(event.body().as_ref(), BODY);
    let payload: serde_json::Value = event.payload().unwrap();
    assert_eq!(payload["name"], "test product");
}

#[test]
fn names_in_any_case_verify() {
    let clock = ManualClock::new(NOW);
    let lower: Vec<_> = product_add(NOW)
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .collect();
    let upper: Vec<_> = product_add(NOW)
        .into_iter()
        .map(|(n, v)| (n.to_ascii_uppercase(), v))
        .collect();
    verify(&verifier_at(&clock), &lower, BODY).unwrap();
    verify(&verifier_at(&clock), &upper, BODY).unwrap();
}

// --- 400: malformed X-Webhook-* headers -------------------------------------

#[test]
fn duplicate_header_is_400() {
    let mut wire = product_add(NOW);
    wire.push(("x-webhook-action".into(), "add".into()));
    let err = DeliveryHeaders::from_pairs(wire.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::MalformedHeaders, 400)
    );
}

#[test]
fn non_utf8_signed_value_is_400() {
    let err = DeliveryHeaders::from_pairs([
        (&b"X-Webhook-Entity"[..], &b"pro\xffduct"[..]),
        (&b"X-Webhook-Signature"[..], &b"AAAA"[..]),
    ])
    .unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::MalformedHeaders, 400)
    );
}

#[test]
fn timestamp_that_is_not_an_integer_is_400() {
    let clock = ManualClock::new(NOW);
    for bad in [
        "",
        "12a",
        "-5",
        "+5",
        "1.5",
        "1e9",
        "0x10",
        "9999999999999999999",
    ] {
        let wire = signed(KEY, &[("X-Webhook-Timestamp", bad)], BODY);
        assert_eq!(
            refusal(verify(&verifier_at(&clock), &wire, BODY)),
            (ErrorKind::MalformedHeaders, 400),
            "timestamp {bad:?}"
        );
    }
}

// --- 401: signature ---------------------------------------------------------

#[test]
fn missing_signature_is_401() {
    let clock = ManualClock::new(NOW);
    let wire: Vec<_> = product_add(NOW)
        .into_iter()
        .filter(|(n, _)| n != "X-Webhook-Signature")
        .collect();
    assert_eq!(
        refusal(verify(&verifier_at(&clock), &wire, BODY)),
        (ErrorKind::MissingSignature, 401)
    );
}

#[test]
fn every_bad_signature_is_the_same_401() {
    let clock = ManualClock::new(NOW);
    let wire = product_add(NOW);
    let good = wire
        .iter()
        .find(|(n, _)| n == "X-Webhook-Signature")
        .unwrap()
        .1
        .clone();
    let cases = [
        ("not base64", "!!!!".repeat(11)),
        ("31 bytes", base64_of(&[1; 31])),
        ("33 bytes", base64_of(&[1; 33])),
        ("no padding", good.trim_end_matches('=').to_string()),
        (
            "url-safe alphabet",
            base64_of(&[0xfb; 32]).replace('+', "-").replace('/', "_"),
        ),
        ("other MAC", base64_of(&[0; 32])),
        ("lowercased", good.to_lowercase()),
    ];
    let mut messages = Vec::new();
    for (what, sig) in cases {
        let err = verify(
            &verifier_at(&clock),
            &replace(&wire, "X-Webhook-Signature", &sig),
            BODY,
        )
        .expect_err(what);
        assert_eq!(
            (err.kind(), err.status()),
            (ErrorKind::InvalidSignature, 401),
            "{what}"
        );
        messages.push(err.to_string());
    }
    messages.dedup();
    assert_eq!(
        messages,
        ["invalid webhook signature"],
        "the outside sees one reason"
    );
}

#[test]
fn one_changed_body_byte_or_signed_header_is_401() {
    let clock = ManualClock::new(NOW);
    let v = verifier_at(&clock);
    let wire = product_add(NOW);
    let mut body = BODY.to_vec();
    body[7] ^= 1;
    assert_eq!(
        refusal(verify(&v, &wire, &body)),
        (ErrorKind::InvalidSignature, 401)
    );
    let tampered = replace(&wire, "X-Webhook-Store-Id", "2");
    assert_eq!(
        refusal(verify(&v, &tampered, BODY)),
        (ErrorKind::InvalidSignature, 401)
    );
    let mut added = wire.clone();
    added.push(("X-Webhook-Extra".into(), "x".into()));
    assert_eq!(
        refusal(verify(&v, &added, BODY)),
        (ErrorKind::InvalidSignature, 401)
    );
    let removed: Vec<_> = wire
        .iter()
        .filter(|(n, _)| n != "X-Webhook-Action")
        .cloned()
        .collect();
    assert_eq!(
        refusal(verify(&v, &removed, BODY)),
        (ErrorKind::InvalidSignature, 401)
    );
}

#[test]
fn errors_never_show_keys_or_macs() {
    let clock = ManualClock::new(NOW);
    let wire = product_add(NOW);
    let sig = wire
        .iter()
        .find(|(n, _)| n == "X-Webhook-Signature")
        .unwrap()
        .1
        .clone();
    let err = verify(&verifier_at(&clock), &wire, b"tampered").unwrap_err();
    let shown = format!("{err} {err:?} {} {:?}", err.detail(), verifier_at(&clock));
    assert!(!shown.contains(KEY), "{shown}");
    assert!(!shown.contains(&sig), "{shown}");
}

// --- keys: rotation and tenants ---------------------------------------------

#[test]
fn any_key_of_the_set_may_match_and_is_reported() {
    let clock = ManualClock::new(NOW);
    let keys = KeySet::single("old-key")
        .with_key("2026-11", KEY)
        .with_key("spare", "x");
    let v = Verifier::builder(keys).clock(clock.clone()).build();
    let event = verify(&v, &product_add(NOW), BODY).unwrap();
    assert_eq!(event.key_id().as_str(), "2026-11");

    let none = Verifier::builder(KeySet::single("a").with_key("b", "c"))
        .clock(clock)
        .build();
    assert_eq!(
        refusal(verify(&none, &product_add(NOW), BODY)),
        (ErrorKind::InvalidSignature, 401)
    );
}

#[test]
fn empty_key_set_refuses_everything() {
    let clock = ManualClock::new(NOW);
    let v = Verifier::builder(KeySet::default()).clock(clock).build();
    assert_eq!(
        refusal(verify(&v, &product_add(NOW), BODY)),
        (ErrorKind::InvalidSignature, 401)
    );
}

#[test]
fn resolver_chooses_keys_by_tenant_and_tells_unknown_from_unavailable() {
    let clock = ManualClock::new(NOW);
    let resolver = resolver_fn(|tenant: &str| {
        let result = match tenant {
            "acme" => Ok(KeySet::single(KEY)),
            "globex" => Ok(KeySet::single("another-key")),
            "down" => Err(ResolveError::unavailable("connection refused")),
            _ => Err(ResolveError::UnknownTenant),
        };
        async move { result }
    });
    let v = Verifier::builder(resolver).clock(clock).build();
    let run = |tenant: &str| {
        block_on(v.verify_for(tenant, headers(&product_add(NOW)), Bytes::from_static(BODY)))
    };
    assert!(run("acme").is_ok());
    assert_eq!(refusal(run("globex")), (ErrorKind::InvalidSignature, 401));
    assert_eq!(refusal(run("nobody")), (ErrorKind::UnknownTenant, 401));
    let err = run("down").unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Unavailable, 503));
    assert_eq!(err.source().unwrap().to_string(), "connection refused");
    assert!(
        !err.to_string().contains("connection refused"),
        "source stays out of Display"
    );
}

// --- 401: freshness ---------------------------------------------------------

#[test]
fn tolerance_is_300_seconds_both_ways_inclusive() {
    let clock = ManualClock::new(NOW);
    let v = verifier_at(&clock);
    for ts in [NOW - 300, NOW + 300, NOW] {
        assert!(
            verify(&v, &product_add(ts), BODY).is_ok(),
            "ts offset {}",
            ts - NOW
        );
    }
    for ts in [NOW - 301, NOW + 301, 0, i64::MAX / 2] {
        assert_eq!(
            refusal(verify(&v, &product_add(ts), BODY)),
            (ErrorKind::TimestampOutsideTolerance, 401),
            "ts {ts}"
        );
    }
}

#[test]
fn tolerance_is_configurable_and_can_be_switched_off() {
    let clock = ManualClock::new(NOW);
    let strict = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .tolerance(Duration::from_secs(5))
        .build();
    assert!(verify(&strict, &product_add(NOW - 5), BODY).is_ok());
    assert_eq!(
        refusal(verify(&strict, &product_add(NOW - 6), BODY)),
        (ErrorKind::TimestampOutsideTolerance, 401)
    );
    let off = Verifier::builder(KeySet::single(KEY))
        .clock(clock)
        .danger_accept_any_timestamp()
        .build();
    assert!(verify(&off, &product_add(1_516_291_592), BODY).is_ok());
}

#[test]
fn clock_moves_the_window() {
    let clock = ManualClock::new(NOW);
    let v = verifier_at(&clock);
    let wire = product_add(NOW);
    assert!(verify(&v, &wire, BODY).is_ok());
    clock.advance(301);
    assert_eq!(
        refusal(verify(&v, &wire, BODY)),
        (ErrorKind::TimestampOutsideTolerance, 401)
    );
}

#[test]
fn timestamp_is_optional_unless_required() {
    let clock = ManualClock::new(NOW);
    let wire = signed(KEY, &[("X-Webhook-Entity", "order")], BODY);
    assert!(verify(&verifier_at(&clock), &wire, BODY).is_ok());
    let strict = Verifier::builder(KeySet::single(KEY))
        .clock(clock)
        .require_timestamp(true)
        .build();
    assert_eq!(
        refusal(verify(&strict, &wire, BODY)),
        (ErrorKind::MissingTimestamp, 401)
    );
}

// --- 401: replays -------------------------------------------------------------

#[test]
fn replay_guard_refuses_the_second_delivery_until_the_window_closes() {
    let clock = ManualClock::new(NOW);
    let v = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let wire = product_add(NOW);
    assert!(verify(&v, &wire, BODY).is_ok());
    assert_eq!(refusal(verify(&v, &wire, BODY)), (ErrorKind::Replayed, 401));
    // A new signed attempt (fresh timestamp, as the vendor's retry) is another delivery.
    assert!(verify(&v, &product_add(NOW + 1), BODY).is_ok());
    // Once the window has passed, the timestamp check refuses the old one by itself.
    clock.advance(301);
    assert_eq!(
        refusal(verify(&v, &wire, BODY)),
        (ErrorKind::TimestampOutsideTolerance, 401)
    );
}

#[test]
fn forged_deliveries_are_not_remembered() {
    let clock = ManualClock::new(NOW);
    let guard = Arc::new(InMemoryReplayGuard::new());
    let v = Verifier::builder(KeySet::single(KEY))
        .clock(clock)
        .replay_guard(Arc::clone(&guard))
        .build();
    let _ = verify(&v, &product_add(NOW), b"forged body");
    assert!(guard.is_empty());
    assert!(verify(&v, &product_add(NOW), BODY).is_ok());
    assert_eq!(guard.len(), 1);
}

#[test]
fn replay_window_without_timestamp_follows_the_clock() {
    let clock = ManualClock::new(NOW);
    let v = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let wire = signed(KEY, &[("X-Webhook-Store-Id", "1")], BODY);
    assert!(verify(&v, &wire, BODY).is_ok());
    clock.advance(300);
    assert_eq!(refusal(verify(&v, &wire, BODY)), (ErrorKind::Replayed, 401));
    clock.advance(1);
    assert!(
        verify(&v, &wire, BODY).is_ok(),
        "remembered for 300 s after arrival"
    );
}

#[test]
fn replay_store_failure_is_503() {
    #[derive(Debug)]
    struct Down;
    impl ReplayGuard for Down {
        fn check_and_remember<'a>(
            &'a self,
            _: &'a ReplayKey,
            _: i64,
            _: i64,
        ) -> BoxFuture<'a, Result<ReplayCheck, Box<dyn std::error::Error + Send + Sync>>> {
            Box::pin(async { Err("redis: connection reset".into()) })
        }
    }
    let clock = ManualClock::new(NOW);
    let v = Verifier::builder(KeySet::single(KEY))
        .clock(clock)
        .replay_guard(Down)
        .build();
    assert_eq!(
        refusal(verify(&v, &product_add(NOW), BODY)),
        (ErrorKind::Unavailable, 503)
    );
}

#[test]
fn replay_guard_is_consulted_with_store_signature_and_expiry() {
    #[derive(Debug, Default)]
    struct Recording(std::sync::Mutex<Vec<(ReplayKey, i64, i64)>>, AtomicUsize);
    impl ReplayGuard for Recording {
        fn check_and_remember<'a>(
            &'a self,
            key: &'a ReplayKey,
            now: i64,
            expires_at: i64,
        ) -> BoxFuture<'a, Result<ReplayCheck, Box<dyn std::error::Error + Send + Sync>>> {
            self.0.lock().unwrap().push((key.clone(), now, expires_at));
            self.1.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(ReplayCheck::First) })
        }
    }
    let clock = ManualClock::new(NOW);
    let recording = Arc::new(Recording::default());
    let v = Verifier::builder(KeySet::single(KEY))
        .clock(clock)
        .replay_guard(Arc::clone(&recording))
        .build();
    let wire = product_add(NOW - 20);
    verify(&v, &wire, BODY).unwrap();
    let calls = recording.0.lock().unwrap();
    let (key, now, expires_at) = &calls[0];
    assert_eq!(key.store_id(), "1");
    let sig = &wire
        .iter()
        .find(|(n, _)| n == "X-Webhook-Signature")
        .unwrap()
        .1;
    assert_eq!(&base64_of(key.id()), sig);
    assert_eq!((*now, *expires_at), (NOW, NOW - 20 + 300));
}

// --- 413 and streaming ---------------------------------------------------------

#[test]
fn body_limit_is_inclusive_and_enforced_while_streaming() {
    let clock = ManualClock::new(NOW);
    let body = vec![b'x'; 64];
    let wire = signed(KEY, &[("X-Webhook-Entity", "order")], &body);
    let v = Verifier::builder(KeySet::single(KEY))
        .clock(clock)
        .body_limit(64)
        .build();
    assert!(verify(&v, &wire, &body).is_ok(), "exactly at the limit");
    let over = vec![b'x'; 65];
    assert_eq!(
        refusal(verify(&v, &wire, &over)),
        (ErrorKind::PayloadTooLarge, 413)
    );

    let mut streaming = block_on(v.begin(headers(&wire))).unwrap();
    streaming.update(Bytes::from(vec![b'x'; 60])).unwrap();
    let err = streaming.update(Bytes::from(vec![b'x'; 5])).unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::PayloadTooLarge, 413)
    );
    assert_eq!(streaming.received(), 60, "the crossing chunk is not taken");
}

#[test]
fn default_limit_is_one_mebibyte() {
    let v = Verifier::new(KeySet::single(KEY));
    assert_eq!(v.body_limit(), 1024 * 1024);
    assert_eq!(v.tolerance(), Some(Duration::from_secs(300)));
}

#[test]
fn body_timeout_defaults_to_ten_seconds_and_is_set_by_the_builder() {
    let v = Verifier::new(KeySet::single(KEY));
    assert_eq!(v.body_timeout(), Duration::from_secs(10));
    assert_eq!(v.body_timeout(), webhook_guard::DEFAULT_BODY_TIMEOUT);
    let v = Verifier::builder(KeySet::single(KEY))
        .body_timeout(Duration::from_millis(250))
        .build();
    assert_eq!(v.body_timeout(), Duration::from_millis(250));
    // The other defaults are untouched.
    assert_eq!(v.body_limit(), 1024 * 1024);
}

#[test]
fn a_body_timeout_is_a_408_that_names_only_its_class() {
    let kind = ErrorKind::BodyTimeout;
    assert_eq!(kind.status(), 408);
    assert_eq!(kind.public_message(), "webhook body not received in time");
    assert_eq!(kind.to_string(), kind.public_message());
}

#[test]
fn streamed_chunks_verify_like_one_body() {
    let clock = ManualClock::new(NOW);
    let v = verifier_at(&clock);
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let wire = signed(
        KEY,
        &[
            ("X-Webhook-Entity", "product"),
            ("X-Webhook-Timestamp", &NOW.to_string()),
        ],
        &body,
    );
    for chunk_size in [1, 7, 16 * 1024, 100_000] {
        let mut verification = block_on(v.begin(headers(&wire))).unwrap();
        verification.size_hint(body.len());
        for chunk in body.chunks(chunk_size) {
            verification.update(Bytes::copy_from_slice(chunk)).unwrap();
        }
        verification.update(Bytes::new()).unwrap();
        let event = block_on(verification.finish()).unwrap();
        assert_eq!(event.body().as_ref(), &body[..], "chunk size {chunk_size}");
    }
    let mut verification = block_on(v.begin(headers(&wire))).unwrap();
    for chunk in body.chunks(1000) {
        verification.update(Bytes::copy_from_slice(chunk)).unwrap();
    }
    verification.update(Bytes::from_static(b"!")).unwrap();
    let err = block_on(verification.finish()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[test]
fn a_single_chunk_is_kept_without_copying() {
    let clock = ManualClock::new(NOW);
    let body = Bytes::from(BODY.to_vec());
    let event =
        block_on(verifier_at(&clock).verify(headers(&product_add(NOW)), body.clone())).unwrap();
    assert_eq!(event.body().as_ptr(), body.as_ptr());
}

#[test]
fn error_notice_with_empty_body_verifies() {
    let clock = ManualClock::new(NOW);
    let wire = signed(
        KEY,
        &[
            ("X-Webhook-Store-Id", "1"),
            ("X-Webhook-Error-Code", "2"),
            ("X-Webhook-Error-Reason", "lost_connection"),
            (
                "X-Webhook-Error-Message",
                "Can't connect to store: 503 / timeout",
            ),
            ("X-Webhook-Error-Try-Count", "3"),
        ],
        b"",
    );
    let event = verify(&verifier_at(&clock), &wire, b"").unwrap();
    let notice = event.error_notice().unwrap();
    assert_eq!(notice.code, "2");
    assert_eq!(
        notice.message.as_deref(),
        Some("Can't connect to store: 503 / timeout")
    );
    assert_eq!(notice.try_count, Some(3));
    assert!(event.body().is_empty());
}

#[test]
fn verifier_is_shareable() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Verifier>();
    fn assert_send<T: Send>(_: &T) {}
    let v = Verifier::new(KeySet::single(KEY));
    let fut = v.verify(headers(&product_add(NOW)), Bytes::new());
    assert_send(&fut);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
