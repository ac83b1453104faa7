//! `VerifyWebhookLayer` on an axum router, over real HTTP on loopback: every
//! row of the status table, framing edge cases, HTTP/1.1 and HTTP/2, and a
//! counter proving the handler never runs for a refused delivery.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::request::Parts;
use support::client::{
    Framing, RawResponse, Until, h2_connect, http1_bytes, send_h1, send_h2, send_raw,
};
use support::delivery::Delivery;
use support::servers::{Receiver, serve, serve_with_half_close};
use support::{KEY, NOW};
use webhook_guard::tower::{PathSegment, VerifyWebhookLayer, default_rejection};
use webhook_guard::{
    ErrorKind, InMemoryReplayGuard, KeyResolver, KeySet, ManualClock, ResolveError,
    VerifiedWebhook, Verifier,
};

const LIMIT: usize = 256;
const BODY: &[u8] =
    r#"{"id":"86","name":"test product","price":"9.99","note":"café ☕"}"#.as_bytes();

fn verifier() -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .clock(ManualClock::new(NOW))
        .body_limit(LIMIT)
        .build()
}

/// Echoes the body it was handed and the event's metadata, after checking that
/// the two agree.
async fn echo(
    State(calls): State<Arc<AtomicUsize>>,
    Extension(event): Extension<VerifiedWebhook>,
    body: Bytes,
) -> Response {
    calls.fetch_add(1, Ordering::SeqCst);
    if event.body() != &body {
        return (StatusCode::INTERNAL_SERVER_ERROR, "event body differs").into_response();
    }
    let text = |v: Option<String>| v.unwrap_or_default();
    (
        [
            ("x-entity", text(event.entity().map(|e| e.to_string()))),
            ("x-action", text(event.action().map(|a| a.to_string()))),
            ("x-store-id", text(event.store_id().map(|s| s.to_string()))),
            ("x-key-id", event.key_id().to_string()),
        ],
        body,
    )
        .into_response()
}

async fn no_content(State(calls): State<Arc<AtomicUsize>>) -> StatusCode {
    calls.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

fn routes<K>(verifier: Verifier<K>, calls: &Arc<AtomicUsize>) -> Router
where
    K: KeyResolver<Parts>,
{
    Router::new()
        .route("/webhooks", post(echo))
        .route("/webhooks/no-content", post(no_content))
        .route("/tenants/{tenant}", post(echo))
        .layer(VerifyWebhookLayer::new(verifier))
        .with_state(Arc::clone(calls))
}

async fn start<K: KeyResolver<Parts>>(verifier: Verifier<K>) -> Receiver {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(routes(verifier, &calls)).await;
    Receiver { addr, calls }
}

fn assert_refused(response: &RawResponse, status: u16, kind: ErrorKind) {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert_eq!(response.text(), kind.public_message());
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

fn assert_echoed(response: &RawResponse, body: &[u8]) {
    assert_eq!(response.status, 200, "body: {}", response.text());
    assert_eq!(
        response.body, body,
        "the handler got the body byte for byte"
    );
    assert_eq!(response.header("x-entity"), Some("product"));
    assert_eq!(response.header("x-action"), Some("update"));
    assert_eq!(response.header("x-store-id"), Some("1"));
    assert_eq!(response.header("x-key-id"), Some("default"));
}

fn delivery() -> Delivery {
    Delivery::product(KEY, NOW, BODY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_header_case_over_http1_is_verified_and_passed_on_byte_for_byte() {
    let receiver = start(verifier()).await;
    let request = http1_bytes("/webhooks", &delivery(), Framing::ContentLength);
    assert!(
        request.windows(18).any(|w| w == b"X-Webhook-Store-Id"),
        "vendor case on the wire"
    );
    let response = send_raw(receiver.addr, &request, Until::Closed).await;
    assert_echoed(&response, BODY);
    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowercase_names_over_http1_are_verified() {
    let receiver = start(verifier()).await;
    let response = send_h1(receiver.addr, "/webhooks", &delivery().lowercase()).await;
    assert_echoed(&response, BODY);
    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge_is_verified_and_refused_alike() {
    let receiver = start(verifier()).await;
    let mut h2 = h2_connect(receiver.addr).await;

    let response = send_h2(&mut h2, receiver.addr, "/webhooks", &delivery()).await;
    assert_echoed(&response, BODY);

    let mut tampered = BODY.to_vec();
    tampered[8] = b'7';
    let response = send_h2(
        &mut h2,
        receiver.addr,
        "/webhooks",
        &delivery().with_body(&tampered),
    )
    .await;
    assert_refused(&response, 401, ErrorKind::InvalidSignature);

    let big = vec![b'x'; LIMIT + 1];
    let response = send_h2(
        &mut h2,
        receiver.addr,
        "/webhooks",
        &Delivery::product(KEY, NOW, &big),
    )
    .await;
    assert_refused(&response, 413, ErrorKind::PayloadTooLarge);

    let response = send_h2(
        &mut h2,
        receiver.addr,
        "/webhooks",
        &delivery().adding("x-webhook-action", "update"),
    )
    .await;
    assert_refused(&response, 400, ErrorKind::MalformedHeaders);

    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_decides_the_status_of_a_verified_delivery() {
    let receiver = start(verifier()).await;
    let response = send_h1(receiver.addr, "/webhooks/no-content", &delivery()).await;
    assert_eq!(response.status, 204);
    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_webhook_headers_are_400() {
    let receiver = start(verifier()).await;
    let cases = [
        (
            "same name twice in two cases",
            delivery().adding("x-webhook-action", "update"),
        ),
        (
            "signature twice",
            delivery().adding("x-webhook-signature", "AAAA"),
        ),
        (
            "value not UTF-8",
            delivery().adding("X-Webhook-Error-Message", b"caf\xe9"),
        ),
        (
            "timestamp not an integer",
            delivery().with_header("X-Webhook-Timestamp", "1763900000.5"),
        ),
        (
            "negative timestamp",
            delivery().with_header("X-Webhook-Timestamp", "-1763900000"),
        ),
        (
            "empty timestamp",
            delivery().with_header("X-Webhook-Timestamp", ""),
        ),
    ];
    for (case, delivery) in cases {
        let response = send_h1(receiver.addr, "/webhooks", &delivery).await;
        assert_eq!(response.status, 400, "{case}");
        assert_refused(&response, 400, ErrorKind::MalformedHeaders);
    }
    assert_eq!(receiver.calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_missing_malformed_or_wrong_is_401() {
    let receiver = start(verifier()).await;
    let mut tampered = BODY.to_vec();
    tampered[8] = b'7';
    let cases = [
        (
            "missing",
            delivery().without("X-Webhook-Signature"),
            ErrorKind::MissingSignature,
        ),
        (
            "not base64",
            delivery().with_header("X-Webhook-Signature", "not base64!"),
            ErrorKind::InvalidSignature,
        ),
        (
            "16 bytes",
            delivery().with_header("X-Webhook-Signature", "AAAAAAAAAAAAAAAAAAAAAA=="),
            ErrorKind::InvalidSignature,
        ),
        (
            "another key",
            Delivery::product("another-store-key", NOW, BODY),
            ErrorKind::InvalidSignature,
        ),
        (
            "one body byte changed",
            delivery().with_body(&tampered),
            ErrorKind::InvalidSignature,
        ),
        (
            "a signed header changed",
            delivery().with_header("X-Webhook-Store-Id", "2"),
            ErrorKind::InvalidSignature,
        ),
        (
            "an unsigned header added",
            delivery().adding("X-Webhook-Id", "1"),
            ErrorKind::InvalidSignature,
        ),
    ];
    for (case, delivery, kind) in cases {
        let response = send_h1(receiver.addr, "/webhooks", &delivery).await;
        assert_eq!(response.status, 401, "{case}");
        assert_refused(&response, 401, kind);
    }
    assert_eq!(receiver.calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_outside_the_tolerance_are_401() {
    let receiver = start(verifier()).await;
    for ts in [NOW - 301, NOW + 301, 0] {
        let response = send_h1(
            receiver.addr,
            "/webhooks",
            &Delivery::product(KEY, ts, BODY),
        )
        .await;
        assert_refused(&response, 401, ErrorKind::TimestampOutsideTolerance);
    }
    assert_eq!(receiver.calls(), 0);
    for ts in [NOW - 300, NOW + 300] {
        let response = send_h1(
            receiver.addr,
            "/webhooks",
            &Delivery::product(KEY, ts, BODY),
        )
        .await;
        assert_eq!(response.status, 200, "{ts} is on the edge of the window");
    }
    assert_eq!(receiver.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_timestamp_is_401_when_required() {
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(ManualClock::new(NOW))
        .require_timestamp(true)
        .build();
    let receiver = start(verifier).await;
    let untimed = Delivery::signed(
        KEY,
        &[
            ("X-Webhook-Entity", "product"),
            ("X-Webhook-Action", "update"),
        ],
        BODY,
    );
    let response = send_h1(receiver.addr, "/webhooks", &untimed).await;
    assert_refused(&response, 401, ErrorKind::MissingTimestamp);
    let response = send_h1(receiver.addr, "/webhooks", &delivery()).await;
    assert_echoed(&response, BODY);
    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_delivery_is_401() {
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(ManualClock::new(NOW))
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let receiver = start(verifier).await;
    let first = send_h1(receiver.addr, "/webhooks", &delivery()).await;
    assert_eq!(first.status, 200);
    let again = send_h1(receiver.addr, "/webhooks", &delivery().lowercase()).await;
    assert_refused(&again, 401, ErrorKind::Replayed);
    assert_eq!(receiver.calls(), 1);
}

/// Keys by tenant: `acme` has [`KEY`], `down` stands for a key store that fails.
#[derive(Clone, Copy, Debug)]
struct Tenants;

impl KeyResolver<str> for Tenants {
    fn resolve(&self, tenant: &str) -> impl Future<Output = Result<KeySet, ResolveError>> + Send {
        let answer = match tenant {
            "acme" => Ok(KeySet::single(KEY)),
            "down" => Err(ResolveError::unavailable("connection refused")),
            _ => Err(ResolveError::UnknownTenant),
        };
        std::future::ready(answer)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_by_path_unknown_is_401_and_a_failing_key_store_is_503() {
    let verifier = Verifier::builder(PathSegment::new(1, Tenants))
        .clock(ManualClock::new(NOW))
        .build();
    let receiver = start(verifier).await;

    let response = send_h1(receiver.addr, "/tenants/acme", &delivery()).await;
    assert_echoed(&response, BODY);

    let response = send_h1(receiver.addr, "/tenants/globex", &delivery()).await;
    assert_refused(&response, 401, ErrorKind::UnknownTenant);

    let response = send_h1(receiver.addr, "/tenants/down", &delivery()).await;
    assert_refused(&response, 503, ErrorKind::Unavailable);

    // A route behind the same layer whose path names no tenant.
    let response = send_h1(receiver.addr, "/webhooks", &delivery()).await;
    assert_refused(&response, 401, ErrorKind::UnknownTenant);

    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_over_the_limit_is_413_before_any_body_is_sent() {
    let receiver = start(verifier()).await;
    for declared in [LIMIT as u64 + 1, 10 * 1024 * 1024 * 1024] {
        // Only the head goes out: the answer must not wait for a body.
        let request = http1_bytes(
            "/webhooks",
            &delivery().with_body(b""),
            Framing::DeclaredLength(declared),
        );
        let response = send_raw(receiver.addr, &request, Until::Closed).await;
        assert_refused(&response, 413, ErrorKind::PayloadTooLarge);
    }
    assert_eq!(receiver.calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_exactly_at_the_limit_passes_and_one_byte_more_is_413() {
    let receiver = start(verifier()).await;
    let at_limit = body_of_len(LIMIT);
    let over = body_of_len(LIMIT + 1);
    for framing in [
        Framing::ContentLength,
        Framing::Chunked(7),
        Framing::Chunked(LIMIT + 1),
    ] {
        let ok = Delivery::product(KEY, NOW, &at_limit);
        let response = send_raw(
            receiver.addr,
            &http1_bytes("/webhooks", &ok, framing),
            Until::Closed,
        )
        .await;
        assert_echoed(&response, &at_limit);

        let too_big = Delivery::product(KEY, NOW, &over);
        let response = send_raw(
            receiver.addr,
            &http1_bytes("/webhooks", &too_big, framing),
            Until::Closed,
        )
        .await;
        assert_refused(&response, 413, ErrorKind::PayloadTooLarge);
    }
    assert_eq!(receiver.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_without_content_length_is_verified() {
    let receiver = start(verifier()).await;
    for size in [1, 5, 64] {
        let request = http1_bytes("/webhooks", &delivery(), Framing::Chunked(size));
        assert!(
            !request
                .windows(14)
                .any(|w| w.eq_ignore_ascii_case(b"content-length"))
        );
        let response = send_raw(receiver.addr, &request, Until::Closed).await;
        assert_echoed(&response, BODY);
    }
    assert_eq!(receiver.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_that_lies_never_reaches_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver {
        addr: serve_with_half_close(routes(verifier(), &calls)).await,
        calls,
    };

    // Shorter than the body: the receiver verifies what the length covers.
    let short = http1_bytes(
        "/webhooks",
        &delivery(),
        Framing::DeclaredLength(BODY.len() as u64 - 5),
    );
    let response = send_raw(receiver.addr, &short, Until::Closed).await;
    assert_refused(&response, 401, ErrorKind::InvalidSignature);

    // Longer than the body, and the client stops sending: the body is unreadable.
    let long = http1_bytes(
        "/webhooks",
        &delivery(),
        Framing::DeclaredLength(BODY.len() as u64 + 10),
    );
    let response = send_raw(receiver.addr, &long, Until::ClosedAfterHalfClose).await;
    assert_refused(&response, 400, ErrorKind::UnreadableBody);

    // Longer than the limit, body within it: refused on the declared length.
    let over = http1_bytes(
        "/webhooks",
        &delivery(),
        Framing::DeclaredLength(LIMIT as u64 + 1),
    );
    let response = send_raw(receiver.addr, &over, Until::Closed).await;
    assert_refused(&response, 413, ErrorKind::PayloadTooLarge);

    assert_eq!(receiver.calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_are_each_verified_on_their_own() {
    let receiver = start(verifier()).await;
    let addr = receiver.addr;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        tasks.spawn(async move {
            let body = format!(r#"{{"id":"{i}","via":"http1"}}"#).into_bytes();
            let ok = i % 4 != 3;
            let key = if ok { KEY } else { "wrong-key" };
            let response = send_h1(addr, "/webhooks", &Delivery::product(key, NOW, &body)).await;
            (ok, body, response)
        });
    }
    let h2 = h2_connect(addr).await;
    for i in 0..16 {
        let mut h2 = h2.clone();
        tasks.spawn(async move {
            let body = format!(r#"{{"id":"{i}","via":"http2"}}"#).into_bytes();
            let ok = i % 4 != 3;
            let key = if ok { KEY } else { "wrong-key" };
            let response = send_h2(
                &mut h2,
                addr,
                "/webhooks",
                &Delivery::product(key, NOW, &body),
            )
            .await;
            (ok, body, response)
        });
    }
    let mut accepted = 0;
    while let Some(result) = tasks.join_next().await {
        let (ok, body, response) = result.expect("task");
        if ok {
            assert_echoed(&response, &body);
            accepted += 1;
        } else {
            assert_refused(&response, 401, ErrorKind::InvalidSignature);
        }
    }
    assert_eq!(accepted, 24);
    assert_eq!(receiver.calls(), 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rejection_hook_shapes_the_response_and_the_handler_still_never_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let hook_seen = Arc::clone(&seen);
    let layer = VerifyWebhookLayer::new(verifier()).on_rejection(move |error| {
        hook_seen.fetch_add(1, Ordering::SeqCst);
        let json = format!(r#"{{"error":"{}"}}"#, error.kind().public_message());
        let mut response = default_rejection(error).map(|_| Bytes::from(json));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    });
    let app = Router::new()
        .route("/webhooks", post(echo))
        .layer(layer)
        .with_state(Arc::clone(&calls));
    let addr = serve(app).await;

    let forged = Delivery::product("wrong-key", NOW, BODY);
    let response = send_h1(addr, "/webhooks", &forged).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.text(), r#"{"error":"invalid webhook signature"}"#);

    // The early path (declared length) goes through the hook too.
    let request = http1_bytes("/webhooks", &delivery(), Framing::DeclaredLength(1 << 20));
    let response = send_raw(addr, &request, Until::Closed).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.text(), r#"{"error":"webhook body too large"}"#);

    let response = send_h1(addr, "/webhooks", &delivery()).await;
    assert_eq!(response.status, 200);
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

fn body_of_len(len: usize) -> Vec<u8> {
    let mut body = br#"{"pad":""#.to_vec();
    let end = br#""}"#;
    body.resize(len - end.len(), b'a');
    body.extend_from_slice(end);
    assert_eq!(body.len(), len);
    body
}
