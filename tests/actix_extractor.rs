//! The `Webhook<T>` extractor over real HTTP/1.1 on loopback: an actix-web
//! server, and requests written byte by byte.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{App, HttpRequest, HttpResponse, error, web};
use serde::Deserialize;
use webhook_guard::actix::{Webhook, WebhookConfig, WebhookRejection};
use webhook_guard::{Action, Entity, KeySet, ManualClock, ResolveError, Verifier, resolver_fn};

use support::actix::{LIMIT, tenant_verifier};
use support::client::{Framing, Until, http1_bytes, send_h1, send_raw};
use support::delivery::Delivery;
use support::status_table::check_status_table;
use support::{KEY, NOW};

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn single_key() -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .clock(ManualClock::new(NOW))
        .body_limit(LIMIT)
        .build()
}

#[actix_rt::test]
async fn every_row_of_the_status_table_and_the_handler_runs_only_for_verified_deliveries() {
    let calls = counter();
    let lookups = counter();
    let config = WebhookConfig::new(tenant_verifier(Arc::clone(&lookups)));
    let handler_calls = Arc::clone(&calls);
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new().app_data(config.clone()).route(
            "/webhooks/{tenant}",
            web::post().to(move |webhook: Webhook| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert!(webhook.body().len() <= LIMIT);
                    "ok"
                }
            }),
        )
    });

    let accepted = check_status_table(server.addr).await;
    assert_eq!(accepted, 6);
    assert_eq!(calls.load(Ordering::SeqCst), accepted);
    // Keys are looked up only for deliveries whose length, headers, signature
    // format and timestamp passed: 6 accepted, 5 signed otherwise than sent,
    // 2 unknown or unavailable tenants, 2 bodies cut off while streaming.
    assert_eq!(lookups.load(Ordering::SeqCst), 15);
    server.stop().await;
}

#[derive(Debug, Deserialize, PartialEq)]
struct Product {
    id: String,
    name: String,
}

#[actix_rt::test]
async fn a_verified_delivery_reaches_the_handler_typed() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let config = WebhookConfig::new(single_key());
    let sink = Arc::clone(&seen);
    let server = serve_actix!(move || {
        let sink = Arc::clone(&sink);
        App::new().app_data(config.clone()).route(
            "/webhooks",
            web::post().to(move |webhook: Webhook<Product>| {
                let sink = Arc::clone(&sink);
                async move {
                    let line = format!(
                        "{:?} {:?} {:?} {:?} {} {:?} {}",
                        webhook.entity(),
                        webhook.action(),
                        webhook.store_id().map(|s| s.to_string()),
                        webhook.timestamp(),
                        webhook.key_id(),
                        webhook.error_notice(),
                        webhook.headers().len(),
                    );
                    sink.lock().unwrap().push(line);
                    assert_eq!(webhook.entity(), Some(Entity::Product));
                    assert_eq!(webhook.action(), Some(Action::Update));
                    let body = webhook.body().clone();
                    let product = webhook.into_payload().expect("a payload");
                    HttpResponse::Ok().body(format!(
                        "{} {} {}",
                        product.id,
                        product.name,
                        body.len()
                    ))
                }
            }),
        )
    });

    let body = br#"{"id":"86","name":"test product"}"#;
    let delivery = Delivery::product(KEY, NOW, body);
    let response = send_h1(server.addr, "/webhooks", &delivery).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (200, "86 test product 33")
    );
    let response = send_h1(server.addr, "/webhooks", &delivery.lowercase()).await;
    assert_eq!(response.status, 200);

    let seen = seen.lock().unwrap().clone();
    let expected = format!("Some(Product) Some(Update) Some(\"1\") Some({NOW}) default None 5");
    assert_eq!(seen, [expected.clone(), expected]);
    server.stop().await;
}

#[actix_rt::test]
async fn payloads_that_are_not_json_or_not_of_the_type_are_400_and_422_after_verification() {
    let calls = counter();
    let config = WebhookConfig::new(single_key());
    let handler_calls = Arc::clone(&calls);
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new().app_data(config.clone()).route(
            "/webhooks",
            web::post().to(move |_: Webhook<Product>| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        )
    });

    let not_json = Delivery::product(KEY, NOW, b"id=86");
    let response = send_h1(server.addr, "/webhooks", &not_json).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (400, "webhook payload is not valid JSON")
    );
    let wrong_shape = Delivery::product(KEY, NOW, br#"{"id":86}"#);
    let response = send_h1(server.addr, "/webhooks", &wrong_shape).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (422, "webhook payload does not have the expected shape")
    );
    // Unsigned garbage is refused for its signature, not its JSON.
    let forged = not_json.with_header("X-Webhook-Signature", "AAAA");
    let response = send_h1(server.addr, "/webhooks", &forged).await;
    assert_eq!(response.status, 401);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    server.stop().await;
}

#[actix_rt::test]
async fn without_a_config_the_extractor_refuses_with_500_and_never_lets_a_delivery_through() {
    let calls = counter();
    let handler_calls = Arc::clone(&calls);
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new().route(
            "/webhooks",
            web::post().to(move |_: Webhook| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        )
    });
    let delivery = Delivery::product(KEY, NOW, br#"{"id":"1"}"#);
    let response = send_h1(server.addr, "/webhooks", &delivery).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (500, "internal server error")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    server.stop().await;
}

#[actix_rt::test]
async fn the_config_is_found_as_data_and_on_a_resource_and_the_innermost_wins() {
    let server = serve_actix!(move || {
        App::new()
            // The app-wide config trusts another key.
            .app_data(web::Data::new(WebhookConfig::new(Verifier::new(
                KeySet::single("app-wide-key"),
            ))))
            .service(
                web::resource("/webhooks/strict")
                    .app_data(WebhookConfig::new(single_key()).limit(16))
                    .route(web::post().to(|_: Webhook| async { "ok" })),
            )
            .route("/webhooks/app", web::post().to(|_: Webhook| async { "ok" }))
    });
    let small = br#"{"id":"1"}"#;
    let ours = Delivery::product(KEY, NOW, small);
    assert_eq!(
        send_h1(server.addr, "/webhooks/strict", &ours).await.status,
        200
    );
    assert_eq!(
        send_h1(server.addr, "/webhooks/app", &ours).await.status,
        401
    );

    let theirs = Delivery::signed("app-wide-key", &[("X-Webhook-Entity", "order")], small);
    assert_eq!(
        send_h1(server.addr, "/webhooks/app", &theirs).await.status,
        200
    );

    // The resource's lower limit applies, by Content-Length and while streaming.
    let big = Delivery::product(KEY, NOW, br#"{"id":"0123456789"}"#);
    let response = send_h1(server.addr, "/webhooks/strict", &big).await;
    assert_eq!(response.status, 413);
    let chunked = http1_bytes("/webhooks/strict", &big, Framing::Chunked(4));
    assert_eq!(
        send_raw(server.addr, &chunked, Until::Answered)
            .await
            .status,
        413
    );
    server.stop().await;
}

#[actix_rt::test]
async fn the_error_handler_shapes_every_refusal() {
    fn as_json(rejection: WebhookRejection, req: &HttpRequest) -> actix_web::Error {
        let body = format!(
            r#"{{"error":"{}","path":"{}"}}"#,
            rejection.body_text(),
            req.path()
        );
        let response = HttpResponse::build(rejection.status())
            .content_type("application/json")
            .body(body);
        error::InternalError::from_response(rejection, response).into()
    }
    let config = WebhookConfig::new(single_key()).error_handler(as_json);
    let server = serve_actix!(move || {
        App::new().app_data(config.clone()).route(
            "/webhooks",
            web::post().to(|_: Webhook<Product>| async { "ok" }),
        )
    });

    let unsigned = Delivery::product(KEY, NOW, b"{}").without("X-Webhook-Signature");
    let response = send_h1(server.addr, "/webhooks", &unsigned).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.text(),
        r#"{"error":"missing webhook signature","path":"/webhooks"}"#
    );

    let wrong_shape = Delivery::product(KEY, NOW, br#"{"id":86}"#);
    let response = send_h1(server.addr, "/webhooks", &wrong_shape).await;
    assert_eq!(response.status, 422);
    assert_eq!(
        response.text(),
        r#"{"error":"webhook payload does not have the expected shape","path":"/webhooks"}"#
    );
    server.stop().await;
}

#[actix_rt::test]
async fn a_replayed_delivery_is_refused() {
    let config = WebhookConfig::new(tenant_verifier(counter()));
    let server = serve_actix!(move || {
        App::new().app_data(config.clone()).route(
            "/webhooks/{tenant}",
            web::post().to(|_: Webhook| async { "ok" }),
        )
    });
    let delivery = Delivery::product(KEY, NOW, br#"{"id":"1"}"#);
    let first = send_h1(server.addr, "/webhooks/acme", &delivery).await;
    assert_eq!(first.status, 200);
    // The same signed delivery, even with its names in another case.
    let again = send_h1(server.addr, "/webhooks/acme", &delivery.lowercase()).await;
    assert_eq!(
        (again.status, again.text().as_str()),
        (401, "webhook already delivered")
    );
    server.stop().await;
}

#[actix_rt::test]
async fn a_resolver_can_read_the_match_info_itself() {
    let resolver = resolver_fn(|req: &HttpRequest| {
        // The future must own what it needs: `HttpRequest` stays on its thread.
        let keys = match req.match_info().get("tenant") {
            Some("acme") => Ok(KeySet::single(KEY)),
            _ => Err(ResolveError::UnknownTenant),
        };
        async move { keys }
    });
    let config = WebhookConfig::new(
        Verifier::builder(resolver)
            .clock(ManualClock::new(NOW))
            .build(),
    );
    let server = serve_actix!(move || {
        App::new().app_data(config.clone()).route(
            "/webhooks/{tenant}/products",
            web::post().to(|webhook: Webhook| async move { webhook.key_id().to_string() }),
        )
    });
    let delivery = Delivery::product(KEY, NOW, br#"{"id":"1"}"#);
    let response = send_h1(server.addr, "/webhooks/acme/products", &delivery).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (200, "default")
    );
    let response = send_h1(server.addr, "/webhooks/globex/products", &delivery).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (401, "unknown webhook tenant")
    );
    server.stop().await;
}

#[actix_rt::test]
async fn a_chunked_body_whose_framing_breaks_is_refused_with_400() {
    let calls = counter();
    let config = WebhookConfig::new(single_key());
    let handler_calls = Arc::clone(&calls);
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new().app_data(config.clone()).route(
            "/webhooks",
            web::post().to(move |_: Webhook| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        )
    });
    let delivery = Delivery::product(KEY, NOW, br#"{"id":"1"}"#);
    let mut request = http1_bytes("/webhooks", &delivery, Framing::ChunkedUnfinished(4));
    request.extend_from_slice(b"zz\r\nnot a chunk\r\n");
    let response = send_raw(server.addr, &request, Until::Answered).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (400, "unreadable webhook body")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    server.stop().await;
}

/// Everything `tracing` records in this test binary, from every thread.
fn captured_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    Arc::clone(LOGS.get_or_init(|| {
        let logs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .without_time()
            .with_writer(move || Capture(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        logs
    }))
}

struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_rt::test]
async fn refusals_are_logged_with_their_reason_and_never_the_key() {
    let logs = captured_logs();
    let config = WebhookConfig::new(tenant_verifier(counter()));
    let server = serve_actix!(move || {
        App::new()
            .service(
                web::resource("/webhooks/{tenant}")
                    .app_data(config.clone())
                    .route(web::post().to(|_: Webhook| async { "ok" })),
            )
            .route("/unconfigured", web::post().to(|_: Webhook| async { "ok" }))
    });
    let delivery = Delivery::product(KEY, NOW, br#"{"id":"1"}"#);
    let forged = Delivery::product("guessed-key", NOW, br#"{"id":"1"}"#);
    assert_eq!(
        send_h1(server.addr, "/webhooks/down", &delivery)
            .await
            .status,
        503
    );
    assert_eq!(
        send_h1(server.addr, "/webhooks/acme", &forged).await.status,
        401
    );
    assert_eq!(
        send_h1(server.addr, "/unconfigured", &delivery)
            .await
            .status,
        500
    );
    server.stop().await;

    let logs = String::from_utf8(logs.lock().unwrap().clone()).expect("UTF-8 logs");
    let line = |level: &str, needle: &str| {
        logs.lines()
            .any(|line| line.trim_start().starts_with(level) && line.contains(needle))
    };
    assert!(
        line(
            "WARN",
            r#"status=503 kind=Unavailable detail="key resolver failed""#
        ),
        "{logs}"
    );
    assert!(
        line(
            "DEBUG",
            r#"status=401 kind=InvalidSignature detail="signature matches no key""#
        ),
        "{logs}"
    );
    assert!(line("ERROR", "no WebhookConfig in the app data"), "{logs}");
    assert!(
        !logs.contains(KEY) && !logs.contains("guessed-key"),
        "{logs}"
    );
}
