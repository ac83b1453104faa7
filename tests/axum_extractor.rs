//! The `Webhook<T>` extractor over real HTTP on loopback: verifying by itself
//! with the verifier in the router's state, or taking the layer's result.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::routing::post;
use http::request::Parts;
use serde::Deserialize;
use serde_json::Value;
use support::client::{
    Framing, RawResponse, Until, h2_connect, http1_bytes, send_h1, send_h2, send_raw,
};
use support::delivery::Delivery;
use support::servers::{Receiver, serve, serve_with_half_close};
use support::{KEY, NOW};
use webhook_guard::axum::{Webhook, WebhookRejection};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{ErrorKind, KeyResolver, KeySet, ManualClock, ResolveError, Verifier};

const LIMIT: usize = 256;
const BODY: &[u8] = br#"{"id":"86","name":"test product"}"#;
/// The key of the layer in front of `/layered`; the state's verifier does not know it.
const LAYER_KEY: &str = "layer-key-9876543210";

#[derive(Debug, Deserialize)]
struct Product {
    id: String,
    name: String,
}

/// Keys for `/tenants/{tenant}`: a named type, as the extractor's `K` must be.
#[derive(Clone, Copy, Debug)]
struct Tenants;

impl KeyResolver<Parts> for Tenants {
    fn resolve(&self, parts: &Parts) -> impl Future<Output = Result<KeySet, ResolveError>> + Send {
        let answer = match parts.uri.path().rsplit('/').next() {
            Some("acme") => Ok(KeySet::single(KEY)),
            Some("down") => Err(ResolveError::unavailable("key store timed out")),
            _ => Err(ResolveError::UnknownTenant),
        };
        std::future::ready(answer)
    }
}

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
    tenants: Verifier<Tenants>,
    calls: Arc<AtomicUsize>,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<AppState> for Verifier<Tenants> {
    fn from_ref(state: &AppState) -> Self {
        state.tenants.clone()
    }
}

/// Answers with what the extractor made of the delivery.
async fn typed(State(state): State<AppState>, webhook: Webhook<Product>) -> String {
    state.calls.fetch_add(1, Ordering::SeqCst);
    let product = webhook.payload().expect("a product");
    format!(
        "{}|{}|{}|{:?}|{}|{}|{}|{}",
        webhook.entity().unwrap(),
        webhook.action().unwrap(),
        webhook.store_id().unwrap(),
        webhook.timestamp(),
        webhook.key_id(),
        product.id,
        product.name,
        webhook.body().len(),
    )
}

async fn value(State(state): State<AppState>, webhook: Webhook) -> String {
    state.calls.fetch_add(1, Ordering::SeqCst);
    let notice = webhook.error_notice();
    format!(
        "payload={:?} notice={:?}",
        webhook.payload(),
        notice.map(|n| (n.code, n.reason, n.message, n.try_count)),
    )
}

async fn tenant(State(state): State<AppState>, webhook: Webhook<Value, Tenants>) -> String {
    state.calls.fetch_add(1, Ordering::SeqCst);
    webhook.payload().map(Value::to_string).unwrap_or_default()
}

fn app() -> (Router, Arc<AtomicUsize>) {
    let clock = ManualClock::new(NOW);
    let calls = Arc::new(AtomicUsize::new(0));
    let state = AppState {
        verifier: Verifier::builder(KeySet::single(KEY))
            .clock(clock.clone())
            .body_limit(LIMIT)
            .build(),
        tenants: Verifier::builder(Tenants).clock(clock.clone()).build(),
        calls: Arc::clone(&calls),
    };
    let layered =
        Router::new()
            .route("/layered", post(typed))
            .route_layer(VerifyWebhookLayer::new(
                Verifier::builder(KeySet::single(LAYER_KEY))
                    .clock(clock)
                    .build(),
            ));
    let app = Router::new()
        .route("/typed", post(typed))
        .route("/value", post(value))
        .route("/tenants/{tenant}", post(tenant))
        .merge(layered)
        .with_state(state);
    (app, calls)
}

async fn start() -> Receiver {
    let (app, calls) = app();
    Receiver {
        addr: serve(app).await,
        calls,
    }
}

fn delivery() -> Delivery {
    Delivery::product(KEY, NOW, BODY)
}

fn assert_refused(response: &RawResponse, status: u16, text: &str) {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert_eq!(response.text(), text);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

const TYPED: &str = "product|update|1|Some(1763900000)|default|86|test product|33";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_access_over_http1_in_vendor_case() {
    let receiver = start().await;
    let response = send_h1(receiver.addr, "/typed", &delivery()).await;
    assert_eq!((response.status, response.text().as_str()), (200, TYPED));
    let response = send_h1(receiver.addr, "/typed", &delivery().lowercase()).await;
    assert_eq!((response.status, response.text().as_str()), (200, TYPED));
    assert_eq!(receiver.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_access_over_http2() {
    let receiver = start().await;
    let mut h2 = h2_connect(receiver.addr).await;
    let response = send_h2(&mut h2, receiver.addr, "/typed", &delivery()).await;
    assert_eq!((response.status, response.text().as_str()), (200, TYPED));
    let forged = Delivery::product("wrong-key", NOW, BODY);
    let response = send_h2(&mut h2, receiver.addr, "/typed", &forged).await;
    assert_refused(&response, 401, "invalid webhook signature");
    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_notice_has_no_payload_and_is_accepted() {
    let receiver = start().await;
    let ts = NOW.to_string();
    let notice = Delivery::signed(
        KEY,
        &[
            ("X-Webhook-Store-Id", "1"),
            ("X-Webhook-Action", "update"),
            ("X-Webhook-Entity", "cart"),
            ("X-Webhook-Error-Code", "3"),
            ("X-Webhook-Error-Reason", "connection"),
            (
                "X-Webhook-Error-Message",
                "Store \"shop/1\" unreachable – café",
            ),
            ("X-Webhook-Error-Try-Count", "2"),
            ("X-Webhook-Timestamp", &ts),
        ],
        b"",
    );
    let response = send_h1(receiver.addr, "/value", &notice).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.text(),
        r#"payload=None notice=Some(("3", Some("connection"), Some("Store \"shop/1\" unreachable – café"), Some(2)))"#
    );
    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_body_that_is_not_json_is_400_and_the_wrong_shape_is_422() {
    let receiver = start().await;
    let not_json = Delivery::product(KEY, NOW, b"id=86&name=test");
    let response = send_h1(receiver.addr, "/typed", &not_json).await;
    assert_refused(&response, 400, "webhook payload is not valid JSON");

    let truncated = Delivery::product(KEY, NOW, br#"{"id":"86""#);
    let response = send_h1(receiver.addr, "/typed", &truncated).await;
    assert_refused(&response, 400, "webhook payload is not valid JSON");

    let wrong_shape = Delivery::product(KEY, NOW, br#"{"id":86,"name":"test product"}"#);
    let response = send_h1(receiver.addr, "/typed", &wrong_shape).await;
    assert_refused(
        &response,
        422,
        "webhook payload does not have the expected shape",
    );

    // The same JSON is fine as a `Value`.
    let response = send_h1(receiver.addr, "/value", &wrong_shape).await;
    assert_eq!(response.status, 200);

    // The signature is checked first: a forged non-JSON body is 401, not 400.
    let forged = Delivery::product("wrong-key", NOW, b"id=86");
    let response = send_h1(receiver.addr, "/typed", &forged).await;
    assert_refused(&response, 401, "invalid webhook signature");

    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_follow_the_status_table() {
    let receiver = start().await;
    let addr = receiver.addr;
    let cases: Vec<(&str, Vec<u8>, u16, ErrorKind)> = vec![
        (
            "duplicate header",
            http1_bytes(
                "/typed",
                &delivery().adding("x-webhook-entity", "product"),
                Framing::ContentLength,
            ),
            400,
            ErrorKind::MalformedHeaders,
        ),
        (
            "timestamp not an integer",
            http1_bytes(
                "/typed",
                &delivery().with_header("X-Webhook-Timestamp", "soon"),
                Framing::ContentLength,
            ),
            400,
            ErrorKind::MalformedHeaders,
        ),
        (
            "no signature",
            http1_bytes(
                "/typed",
                &delivery().without("X-Webhook-Signature"),
                Framing::ContentLength,
            ),
            401,
            ErrorKind::MissingSignature,
        ),
        (
            "stale",
            http1_bytes(
                "/typed",
                &Delivery::product(KEY, NOW - 3600, BODY),
                Framing::ContentLength,
            ),
            401,
            ErrorKind::TimestampOutsideTolerance,
        ),
        (
            "unknown tenant",
            http1_bytes("/tenants/globex", &delivery(), Framing::ContentLength),
            401,
            ErrorKind::UnknownTenant,
        ),
        (
            "key store down",
            http1_bytes("/tenants/down", &delivery(), Framing::ContentLength),
            503,
            ErrorKind::Unavailable,
        ),
        (
            "declared length over the limit",
            http1_bytes(
                "/typed",
                &delivery().with_body(b""),
                Framing::DeclaredLength(LIMIT as u64 + 1),
            ),
            413,
            ErrorKind::PayloadTooLarge,
        ),
        (
            "chunked over the limit",
            http1_bytes(
                "/typed",
                &Delivery::product(KEY, NOW, &[b' '; LIMIT + 1]),
                Framing::Chunked(100),
            ),
            413,
            ErrorKind::PayloadTooLarge,
        ),
    ];
    for (case, request, status, kind) in cases {
        let response = send_raw(addr, &request, Until::Closed).await;
        assert_eq!(response.status, status, "{case}");
        assert_refused(&response, status, kind.public_message());
    }

    let response = send_h1(addr, "/tenants/acme", &delivery()).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), r#"{"id":"86","name":"test product"}"#);
    assert_eq!(receiver.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_content_length_is_400() {
    let (app, calls) = app();
    let addr = serve_with_half_close(app).await;
    let request = http1_bytes(
        "/typed",
        &delivery(),
        Framing::DeclaredLength(BODY.len() as u64 + 1),
    );
    let response = send_raw(addr, &request, Until::ClosedAfterHalfClose).await;
    assert_refused(&response, 400, "unreadable webhook body");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axums_default_body_limit_applies_when_it_is_the_smaller() {
    let (app, calls) = app();
    let app = app.layer(DefaultBodyLimit::max(40));
    let addr = serve(app).await;
    // 33 bytes: within both limits.
    let response = send_h1(addr, "/typed", &delivery()).await;
    assert_eq!((response.status, response.text().as_str()), (200, TYPED));
    // 100 bytes: within the verifier's 256, over axum's 40, declared or chunked.
    let body = format!(r#"{{"id":"86","name":"{}"}}"#, "x".repeat(79));
    let big = Delivery::product(KEY, NOW, body.as_bytes());
    for framing in [Framing::ContentLength, Framing::Chunked(30)] {
        let response = send_raw(addr, &http1_bytes("/typed", &big, framing), Until::Closed).await;
        assert_refused(&response, 413, "webhook body too large");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_layer_the_layers_result_is_used() {
    let receiver = start().await;
    // Signed with the layer's key, which the state's verifier would refuse.
    let layered = Delivery::product(LAYER_KEY, NOW, BODY);
    let response = send_h1(receiver.addr, "/layered", &layered).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.text(),
        "product|update|1|Some(1763900000)|default|86|test product|33"
    );
    // The same delivery where the extractor verifies by itself: refused.
    let response = send_h1(receiver.addr, "/typed", &layered).await;
    assert_refused(&response, 401, "invalid webhook signature");
    // And the layer refuses what only the state's verifier would accept.
    let response = send_h1(receiver.addr, "/layered", &delivery()).await;
    assert_refused(&response, 401, "invalid webhook signature");
    assert_eq!(receiver.calls(), 1);
}

#[test]
fn rejections_describe_themselves_without_detail() {
    let json_error = serde_json::from_slice::<Value>(b"{").unwrap_err();
    let rejection = WebhookRejection::JsonSyntax(json_error);
    assert_eq!(rejection.status(), http::StatusCode::BAD_REQUEST);
    assert_eq!(rejection.to_string(), "webhook payload is not valid JSON");
    assert!(std::error::Error::source(&rejection).is_some());
}
