//! The `VerifyWebhook` middleware over real HTTP/1.1 on loopback: an actix-web
//! server, and requests written byte by byte.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{App, HttpResponse, error, http::header, web};
use serde::Deserialize;
use webhook_guard::actix::{VerifyWebhook, Webhook, WebhookRejection};
use webhook_guard::{ErrorKind, KeySet, ManualClock, VerifiedWebhook, Verifier};

use support::actix::{LIMIT, tenant_verifier};
use support::client::{Framing, Until, http1_bytes, send_h1, send_raw};
use support::delivery::{Delivery, json_body};
use support::status_table::{check_status_table, status_table};
use support::{KEY, NOW};

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[actix_rt::test]
async fn every_row_of_the_status_table_and_the_handler_runs_only_for_verified_deliveries() {
    let calls = counter();
    let lookups = counter();
    let middleware = VerifyWebhook::new(tenant_verifier(Arc::clone(&lookups)));
    let handler_calls = Arc::clone(&calls);
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new().service(
            web::scope("/webhooks/{tenant}")
                .wrap(middleware.clone())
                .route(
                    "",
                    web::post().to(move |body: web::Bytes| {
                        calls.fetch_add(1, Ordering::SeqCst);
                        async move {
                            assert!(body.len() <= LIMIT);
                            "ok"
                        }
                    }),
                ),
        )
    });

    let accepted = check_status_table(server.addr).await;
    assert_eq!(accepted, 6);
    assert_eq!(calls.load(Ordering::SeqCst), accepted);
    // Keys are looked up only for deliveries whose length, headers, signature
    // format and timestamp passed: 6 accepted, 5 signed otherwise than sent,
    // 2 unknown or unavailable tenants, 2 bodies cut off while streaming.
    assert_eq!(lookups.load(Ordering::SeqCst), 15);
    assert!(status_table().len() > 15);
    server.stop().await;
}

#[derive(Debug, Deserialize, PartialEq)]
struct Product {
    id: String,
}

#[actix_rt::test]
async fn handlers_behind_it_read_the_body_intact_with_any_extractor_and_nothing_verifies_twice() {
    let lookups = counter();
    // The replay guard refuses a second verification of the same delivery,
    // and the counting resolver would see it.
    let middleware = VerifyWebhook::new(tenant_verifier(Arc::clone(&lookups)));
    let server = serve_actix!(move || {
        App::new().service(
            web::scope("/webhooks/{tenant}")
                .wrap(middleware.clone())
                .route(
                    "/bytes",
                    web::post().to(|body: web::Bytes| async move { body }),
                )
                .route(
                    "/json",
                    web::post()
                        .to(|product: web::Json<Product>| async move { product.into_inner().id }),
                )
                .route(
                    "/extension",
                    web::post().to(|event: web::ReqData<VerifiedWebhook>| async move {
                        event.body().clone()
                    }),
                )
                // No WebhookConfig anywhere: the extractor takes the middleware's result.
                .route(
                    "/extractor",
                    web::post().to(|webhook: Webhook<Product>, body: web::Bytes| async move {
                        assert_eq!(webhook.body(), &body);
                        let store = webhook.store_id().map(|s| s.to_string());
                        format!("{} {}", webhook.into_payload().unwrap().id, store.unwrap())
                    }),
                ),
        )
    });

    let body = br#"{"id":"86","name":"caf\u00e9 \u2615"}"#;
    let at_limit = json_body(LIMIT);
    let cases: [(&str, Delivery, Framing, &[u8]); 5] = [
        (
            "/bytes",
            Delivery::product(KEY, NOW, body),
            Framing::ContentLength,
            body,
        ),
        (
            "/bytes",
            Delivery::product(KEY, NOW + 1, &at_limit),
            Framing::Chunked(10),
            &at_limit,
        ),
        (
            "/json",
            Delivery::product(KEY, NOW + 2, body),
            Framing::Chunked(3),
            b"86",
        ),
        (
            "/extension",
            Delivery::product(KEY, NOW + 3, body).lowercase(),
            Framing::ContentLength,
            body,
        ),
        (
            "/extractor",
            Delivery::product(KEY, NOW + 4, body),
            Framing::ContentLength,
            b"86 1",
        ),
    ];
    for (i, (route, delivery, framing, expected)) in cases.iter().enumerate() {
        let path = format!("/webhooks/acme{route}");
        let response = send_raw(
            server.addr,
            &http1_bytes(&path, delivery, *framing),
            Until::Answered,
        )
        .await;
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, *expected),
            "{path}: {}",
            response.text()
        );
        assert_eq!(
            lookups.load(Ordering::SeqCst),
            i + 1,
            "{path} verified once"
        );
    }

    // The JSON extractor behind the middleware still judges the shape.
    let wrong = Delivery::product(KEY, NOW + 5, br#"{"id":86}"#);
    let response = send_h1(server.addr, "/webhooks/acme/extractor", &wrong).await;
    assert_eq!(response.status, 422);
    server.stop().await;
}

#[actix_rt::test]
async fn wrapping_the_app_guards_every_route() {
    let calls = counter();
    let handler_calls = Arc::clone(&calls);
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(ManualClock::new(NOW))
        .build();
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new()
            .wrap(VerifyWebhook::new(verifier.clone()))
            .default_service(web::to(move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { HttpResponse::Ok().body("reached") }
            }))
    });
    let delivery = Delivery::product(KEY, NOW, b"");
    let response = send_h1(server.addr, "/anything/at/all", &delivery).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (200, "reached")
    );
    let unsigned = delivery.without("X-Webhook-Signature");
    let response = send_h1(server.addr, "/anything/at/all", &unsigned).await;
    assert_eq!(response.status, 401);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[actix_rt::test]
async fn the_error_handler_shapes_refusals_and_the_service_is_still_not_called() {
    let calls = counter();
    let handler_calls = Arc::clone(&calls);
    let middleware = VerifyWebhook::new(tenant_verifier(counter())).error_handler(
        |rejection: WebhookRejection, _req| {
            let kind = rejection.verification_error().map(|e| e.kind());
            let mut response = HttpResponse::build(rejection.status());
            if kind == Some(ErrorKind::Unavailable) {
                response.insert_header((header::RETRY_AFTER, "30"));
            }
            let response = response.body(format!("refused: {}", rejection.body_text()));
            error::InternalError::from_response(rejection, response).into()
        },
    );
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new().service(
            web::scope("/webhooks/{tenant}")
                .wrap(middleware.clone())
                .default_service(web::to(move || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { "ok" }
                })),
        )
    });
    let delivery = Delivery::product(KEY, NOW, br#"{"id":"1"}"#);
    let response = send_h1(server.addr, "/webhooks/down", &delivery).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("30"));
    assert_eq!(response.text(), "refused: webhook verification unavailable");

    let forged = Delivery::product("guessed", NOW, br#"{"id":"1"}"#);
    let response = send_h1(server.addr, "/webhooks/acme", &forged).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (401, "refused: invalid webhook signature")
    );
    assert_eq!(response.header("retry-after"), None);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    server.stop().await;
}
