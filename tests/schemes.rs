//! The engine's policy under the recipes other than API2Cart: what each
//! remembers as a replay, the unsigned-body opt-out, the future tolerance,
//! key rotation and tenants. The HTTP status tables are `schemes_http`'s; the
//! vendors' own code is `scheme_oracles`'s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_executor::block_on;
use webhook_guard::americommerce::UrlToken;
use webhook_guard::standard::{self, StandardWebhooks};
use webhook_guard::up42::{self, Up42};
use webhook_guard::{
    ErrorKind, HeaderSource, InMemoryReplayGuard, KeySet, ManualClock, ResolveError, SigningKey,
    Verifier, digest, resolver_fn,
};

const NOW: i64 = 1_763_900_000;
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn standard_headers(id: &str, ts: i64, body: &[u8]) -> Vec<(String, String)> {
    let key = StandardWebhooks::secret("k", WHSEC).unwrap();
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        (
            "webhook-signature".into(),
            standard::sign(&key, id, ts, body),
        ),
    ]
}

fn up42_headers(secret: &str, covered: &[(&str, &str)], created: i64) -> Vec<(String, String)> {
    let (input, signature) = up42::sign(&SigningKey::new("k", secret), covered, created);
    let mut headers: Vec<(String, String)> = covered
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    headers.push(("signature-input".into(), input));
    headers.push(("signature".into(), signature));
    headers
}

#[test]
fn standard_webhooks_remember_the_message_id_not_the_attempt() {
    let clock = ManualClock::new(NOW);
    let verifier = Verifier::builder(StandardWebhooks::keys(WHSEC).unwrap())
        .scheme(StandardWebhooks::new())
        .clock(clock.clone())
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let body = br#"{"type":"invoice.paid"}"#;
    let first = block_on(verifier.verify(
        standard_headers("msg_1", NOW, body),
        Bytes::from_static(body),
    ))
    .unwrap();
    assert_eq!(first.message_id(), Some("msg_1"));
    assert_eq!(first.timestamp(), Some(NOW));
    assert_eq!(first.scheme(), "standard-webhooks");
    assert!(first.body_authenticated());
    // A retry of the same message: new timestamp, new signature, same id.
    clock.advance(5);
    let retry = block_on(verifier.verify(
        standard_headers("msg_1", NOW + 5, body),
        Bytes::from_static(body),
    ))
    .unwrap_err();
    assert_eq!(retry.kind(), ErrorKind::Replayed);
    // Another message with the same body is not a replay.
    block_on(verifier.verify(
        standard_headers("msg_2", NOW + 5, body),
        Bytes::from_static(body),
    ))
    .unwrap();
}

#[test]
fn up42_remembers_the_signature_and_shows_what_it_covered() {
    let verifier = Verifier::builder(KeySet::single("s"))
        .scheme(Up42::new())
        .clock(ManualClock::new(NOW))
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let body = br#"{"event":"order.status","body":{"status":"FULFILLED"}}"#;
    let digest = digest::content_digest(body);
    let headers = up42_headers(
        "s",
        &[("Content-Digest", &digest), ("X-Up42-Order", "o-1")],
        NOW,
    );
    let event = block_on(verifier.verify(&headers, Bytes::from_static(body))).unwrap();
    assert_eq!(event.signed_header("x-up42-order"), Some("o-1"));
    assert_eq!(event.signed_header("Content-Digest"), Some(digest.as_str()));
    assert_eq!(
        event.signed_headers().map(|(n, _)| n).collect::<Vec<_>>(),
        ["content-digest", "x-up42-order"]
    );
    assert_eq!(
        event.entity(),
        None,
        "API2Cart's accessors say nothing here"
    );
    let typed: up42::Event = event.payload().unwrap();
    assert_eq!(
        typed.status,
        Some(up42::Status::Order(up42::OrderStatus::Fulfilled))
    );
    let again = block_on(verifier.verify(&headers, Bytes::from_static(body))).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Replayed);
}

#[test]
fn an_unsigned_up42_body_is_refused_unless_the_danger_option_says_otherwise() {
    let headers = up42_headers("s", &[("X-Up42-Event", "job.status")], NOW);
    let body = Bytes::from_static(br#"{"event":"job.status","body":{"status":"FAILED"}}"#);
    let strict = Verifier::builder(KeySet::single("s"))
        .scheme(Up42::new())
        .clock(ManualClock::new(NOW))
        .build();
    let error = block_on(strict.verify(&headers, body.clone())).unwrap_err();
    assert_eq!(
        (error.kind(), error.status()),
        (ErrorKind::BodyNotSigned, 401)
    );
    assert!(
        error.detail().contains("content-digest"),
        "{}",
        error.detail()
    );

    let lenient = Verifier::builder(KeySet::single("s"))
        .scheme(Up42::new().danger_accept_unsigned_body())
        .clock(ManualClock::new(NOW))
        .build();
    let event = block_on(lenient.verify(&headers, body)).unwrap();
    assert!(!event.body_authenticated());
    // Any body passes under that signature: exactly why it is a danger.
    let forged = block_on(lenient.verify(&headers, Bytes::from_static(b"{}"))).unwrap();
    assert!(!forged.body_authenticated());
    // The headers it covers are still checked.
    let mut changed = headers.clone();
    changed[0].1 = "order.status".into();
    let error = block_on(lenient.verify(&changed, Bytes::new())).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidSignature);
}

#[test]
fn the_future_may_have_its_own_bound_as_in_up42s_sample() {
    let body = b"{}";
    let digest = digest::content_digest(body);
    let verify = |future: Option<Duration>, created: i64| {
        let mut builder = Verifier::builder(KeySet::single("s"))
            .scheme(Up42::new())
            .clock(ManualClock::new(NOW));
        if let Some(future) = future {
            builder = builder.future_tolerance(future);
        }
        let headers = up42_headers("s", &[("content-digest", &digest)], created);
        block_on(builder.build().verify(&headers, Bytes::from_static(body))).map_err(|e| e.kind())
    };
    assert!(verify(None, NOW + 300).is_ok());
    assert_eq!(
        verify(None, NOW + 301).unwrap_err(),
        ErrorKind::TimestampOutsideTolerance
    );
    assert_eq!(
        verify(Some(Duration::ZERO), NOW + 1).unwrap_err(),
        ErrorKind::TimestampOutsideTolerance
    );
    assert!(verify(Some(Duration::ZERO), NOW).is_ok());
    assert!(verify(Some(Duration::ZERO), NOW - 300).is_ok());
}

#[test]
fn url_tokens_rotate_resolve_per_tenant_and_say_the_body_is_not_signed() {
    let tenants = Arc::new(std::collections::HashMap::from([(
        "shop-a".to_owned(),
        KeySet::single("old-token").with_key("new", "new-token"),
    )]));
    let resolver = resolver_fn(move |tenant: &str| {
        let found = tenants.get(tenant).cloned();
        async move { found.ok_or(ResolveError::UnknownTenant) }
    });
    let verifier = Verifier::builder(resolver)
        .scheme(UrlToken::path_segment(2))
        .build();
    let head = [("content-type", "application/json")];
    let verify = |tenant: &str, target: &str| {
        block_on(verifier.verify_for(tenant, head.with_target(target), Bytes::from_static(b"{}")))
    };
    let event = verify("shop-a", "/hooks/shop-a/new-token").unwrap();
    assert_eq!(event.key_id().as_str(), "new");
    assert!(!event.body_authenticated());
    assert_eq!(event.timestamp(), None);
    assert_eq!(
        verify("shop-a", "/hooks/shop-a/old-token")
            .unwrap()
            .key_id()
            .as_str(),
        "default"
    );
    assert_eq!(
        verify("shop-a", "/hooks/shop-a/guess").unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    assert_eq!(
        verify("shop-b", "/hooks/shop-b/new-token")
            .unwrap_err()
            .kind(),
        ErrorKind::UnknownTenant
    );
    // Without a request target there is nothing to check: refused, never let through.
    let error = block_on(verifier.verify_for("shop-a", &head[..], Bytes::new())).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingSignature);
}

#[test]
fn a_recipe_ignores_the_other_recipes_headers() {
    // An API2Cart verifier given a Standard delivery finds no X-Webhook-Signature,
    // and a Standard verifier given an API2Cart delivery finds no webhook-signature.
    let body = b"{}";
    let standard = standard_headers("msg_1", NOW, body);
    let api2cart = Verifier::builder(KeySet::single(WHSEC))
        .clock(ManualClock::new(NOW))
        .build();
    assert_eq!(
        block_on(api2cart.verify(&standard, Bytes::from_static(body)))
            .unwrap_err()
            .kind(),
        ErrorKind::MissingSignature
    );
    let std_verifier = Verifier::builder(StandardWebhooks::keys(WHSEC).unwrap())
        .scheme(StandardWebhooks::new())
        .clock(ManualClock::new(NOW))
        .build();
    let headers = [(
        "X-Webhook-Signature",
        "EkgyptwvqdQXvELT/gyv/oceZE6Nm18sH7bt/OSt4wo=",
    )];
    assert_eq!(
        block_on(std_verifier.verify(&headers, Bytes::from_static(body)))
            .unwrap_err()
            .status(),
        400,
        "no webhook-id"
    );
}

#[cfg(feature = "ed25519")]
#[test]
fn a_v1a_signature_needs_a_public_key_and_a_v1_one_a_secret() {
    // Only the structure here; ed25519 signatures made by another language's
    // library are checked in `scheme_oracles`.
    let body = b"{}";
    let public =
        StandardWebhooks::public_key("pk", "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
            .unwrap();
    let verifier = Verifier::builder(KeySet::default().with_public_key(public))
        .scheme(StandardWebhooks::new())
        .clock(ManualClock::new(NOW))
        .build();
    let error = block_on(verifier.verify(
        standard_headers("msg_1", NOW, body),
        Bytes::from_static(body),
    ))
    .unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::InvalidSignature,
        "a v1 MAC matches no public key"
    );
    assert!(StandardWebhooks::public_key("pk", "whpk_AAAA").is_err());
}
