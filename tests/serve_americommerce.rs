//! `webhook-guard serve` playing AmeriCommerce, driven over real HTTP: its
//! `/api/v1/webhooks` resource behind `X-AC-Auth-Token`, and unsigned events
//! played to an axum receiver on loopback behind `VerifyWebhookLayer` with a
//! URL token, answering with `ReplyBudget`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{Value, json};
use support::serve::{Answer, Server};
use support::{KEY, NOW};
use webhook_guard::americommerce::{EventType, REPLY_DEADLINE, Reply, ReplyBudget, UrlToken};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{KeySet, VerifiedWebhook, Verifier};

const WAIT: Duration = Duration::from_secs(5);

/// The secret the receiver registers in its URLs (`?token=...`).
const TOKEN: &str = "url-token-k9Q2x7Lm0pR4";

/// Answers GetTax within the budget; counts the `X-Webhook-*` headers it got.
async fn tax(Extension(_): Extension<VerifiedWebhook>, headers: HeaderMap) -> Reply<String> {
    let signed = headers
        .keys()
        .filter(|n| n.as_str().starts_with("x-webhook"))
        .count();
    ReplyBudget::new()
        .run(async move { json!({"tax": 1.25, "x_webhook_headers": signed}).to_string() })
        .await
}

/// A tax service too slow for the deadline, cut by a 300 ms budget.
async fn slow(Extension(_): Extension<VerifiedWebhook>) -> Reply<&'static str> {
    ReplyBudget::new()
        .budget(Duration::from_millis(300))
        .run(async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            r#"{"tax":"late"}"#
        })
        .await
}

/// A tax service that never answers in time, with no budget of its own.
async fn stuck(Extension(_): Extension<VerifiedWebhook>) -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    r#"{"tax":"late"}"#
}

async fn fallback(Extension(_): Extension<VerifiedWebhook>) -> &'static str {
    r#"{"tax":0,"from":"fallback"}"#
}

/// The receiver on loopback; it accepts only URLs carrying `?token=TOKEN`.
async fn receiver() -> SocketAddr {
    let verifier = Verifier::builder(KeySet::single(TOKEN))
        .scheme(UrlToken::query("token"))
        .build();
    let app = Router::new()
        .route("/tax", post(tax))
        .route("/slow", post(slow))
        .route("/stuck", post(stuck))
        .route("/fallback", post(fallback))
        .layer(VerifyWebhookLayer::new(verifier));
    support::servers::serve(app).await
}

fn start() -> Server {
    Server::start(KEY, &["--virtual-clock", &NOW.to_string()])
}

/// A request to the REST API with the server's key as `X-AC-Auth-Token`.
async fn api(server: &Server, method: &str, path: &str, body: Option<&str>) -> Answer {
    server
        .request_with_headers(method, path, &[("X-AC-Auth-Token", KEY)], body)
        .await
}

/// `http://{addr}{path}?token=TOKEN`: a URL the receiver accepts.
fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}?token={TOKEN}")
}

async fn create(server: &Server, webhook: Value) -> Value {
    let answer = api(
        server,
        "POST",
        "/api/v1/webhooks",
        Some(&webhook.to_string()),
    )
    .await;
    assert_eq!(answer.status(), 201, "{:?}", answer.json);
    answer.json().clone()
}

async fn play(server: &Server, event: Value) -> (u16, Value, Duration) {
    let started = Instant::now();
    let answer = server
        .request("POST", "/api/v1/emulator/events", Some(&event.to_string()))
        .await;
    (answer.status(), answer.json().clone(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_tax_event_returns_the_receivers_reply_within_three_seconds() {
    let addr = receiver().await;
    let server = start();
    let webhook = create(
        &server,
        json!({"event_type": "GetTax", "url": url(addr, "/tax"), "store_id": 1}),
    )
    .await;
    assert_eq!(webhook["failure_type"], "Ignore");

    let (status, played, took) = play(
        &server,
        json!({"event_type": "GetTax", "store_id": 1, "data": {"cart": {"total": 25}}}),
    )
    .await;
    assert_eq!(status, 200, "{played}");
    assert!(took < REPLY_DEADLINE, "took {took:?}");
    // Unsigned, as the vendor: nothing but the URL's token authenticated it.
    assert_eq!(
        played["reply"],
        json!({"tax": 1.25, "x_webhook_headers": 0})
    );
    assert_eq!(played["error"], Value::Null);
    assert_eq!(played["webhooks"][0]["status"], 200);
    assert_eq!(played["webhooks"][0]["from_cache"], false);

    let line = server.next_line(WAIT).expect("a log line per attempt");
    assert!(
        line.starts_with("americommerce: webhook 1 GetTax -> http://")
            && line.contains("/tax?<redacted>: 200 in "),
        "{line}"
    );
    assert!(!line.contains(TOKEN), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_falls_back_to_the_fallback_url_at_once() {
    let addr = receiver().await;
    let server = start();
    create(
        &server,
        json!({
            "event_type": "GetTax",
            "url": url(addr, "/slow"),
            "failure_type": "Fallback",
            "fallback_url": url(addr, "/fallback"),
        }),
    )
    .await;
    let (status, played, took) = play(&server, json!({"event_type": "GetTax"})).await;
    assert_eq!(status, 200, "{played}");
    // The receiver's budget answered 503 at 300 ms: no waiting for the deadline.
    assert!(took < REPLY_DEADLINE, "took {took:?}");
    assert_eq!(played["reply"], json!({"tax": 0, "from": "fallback"}));
    let outcome = &played["webhooks"][0];
    assert_eq!(outcome["fell_back"], true);
    assert_eq!(outcome["exchanges"][0]["status"], 503);
    assert_eq!(outcome["exchanges"][1]["fallback"], true);

    let lines = [server.next_line(WAIT), server.next_line(WAIT)];
    let lines: Vec<String> = lines.into_iter().map(|l| l.expect("two lines")).collect();
    assert!(lines[0].contains("/slow?<redacted>: 503 in "), "{lines:?}");
    assert!(
        lines[1].contains("GetTax (fallback) -> ")
            && lines[1].contains("/fallback?<redacted>: 200"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_receiver_with_failure_type_error_gives_the_caller_the_error() {
    let addr = receiver().await;
    let server = start();
    create(
        &server,
        json!({"event_type": "GetTax", "url": url(addr, "/stuck"), "failure_type": "Error"}),
    )
    .await;
    create(
        &server,
        json!({"event_type": "GetTax", "url": url(addr, "/tax")}),
    )
    .await;
    let (status, played, took) = play(&server, json!({"event_type": "GetTax"})).await;
    assert_eq!(status, 502, "{played}");
    assert!(
        took >= REPLY_DEADLINE && took < REPLY_DEADLINE * 2,
        "took {took:?}"
    );
    assert_eq!(played["reply"], Value::Null);
    let error = played["error"].as_str().expect("an error message");
    assert!(
        error.starts_with("webhook 1 failed (no response"),
        "{error}"
    );
    assert_eq!(played["webhooks"][1]["skipped"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_cached_on_the_servers_virtual_clock() {
    let addr = receiver().await;
    let server = start();
    create(
        &server,
        json!({"event_type": "GetTax", "url": url(addr, "/tax"), "cache_length": "Short"}),
    )
    .await;
    let event = json!({"event_type": "GetTax", "data": {"cart": 1}});
    let from_cache = |played: &Value| played["webhooks"][0]["from_cache"].clone();

    let (_, played, _) = play(&server, event.clone()).await;
    assert_eq!(from_cache(&played), false);
    let (_, played, _) = play(&server, event.clone()).await;
    assert_eq!(from_cache(&played), true);
    assert_eq!(played["reply"]["tax"], 1.25);

    let moved = server
        .request("POST", "/emulator/clock", Some(r#"{"advance":300}"#))
        .await;
    assert_eq!(moved.status(), 200);
    let (_, played, _) = play(&server, event).await;
    assert_eq!(from_cache(&played), false);
    assert_eq!(played["webhooks"][0]["status"], 200);

    let lines = server.drain_lines(Duration::from_millis(200));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[1].ends_with("reply from cache, nothing sent"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_resource_validates_like_the_vendor() {
    let server = start();
    let url = "http://127.0.0.1:9/tax";
    let created = create(&server, json!({"event_type": "OrderPlaced", "url": url})).await;
    assert_eq!(created["id"], 1);
    assert_eq!(created["store_id"], 1);
    assert_eq!(created["cache_length"], "NoCache");

    let refused = |body: Value| {
        let server = &server;
        async move {
            let answer = api(server, "POST", "/api/v1/webhooks", Some(&body.to_string())).await;
            assert_eq!(answer.json()["status_code"], answer.status());
            assert_eq!(answer.json()["message"], "Bad Request");
            (
                answer.status(),
                answer.json()["details"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    };
    let (status, message) = refused(json!({"event_type": "OrderPlaced", "url": url})).await;
    assert_eq!(status, 400);
    assert!(
        message.contains("already sends this event type"),
        "{message}"
    );
    let (status, message) =
        refused(json!({"event_type": "GetTax", "url": url, "failure_type": "Fallback"})).await;
    assert_eq!((status, message.contains("fallback_url")), (400, true));
    let (status, _) = refused(json!({"event_type": "Nope", "url": url})).await;
    assert_eq!(status, 400);
    let (status, _) = refused(json!({"event_type": "GetTax", "url": "/relative"})).await;
    assert_eq!(status, 400);

    let list = api(&server, "GET", "/api/v1/webhooks", None).await;
    assert_eq!(list.json()["total_count"], 1);
    assert_eq!(list.json()["webhooks"][0], created);

    let updated = api(
        &server,
        "PUT",
        "/api/v1/webhooks/1",
        Some(r#"{"event_type":"OrderCanceled"}"#),
    )
    .await;
    assert_eq!(updated.status(), 200);
    assert_eq!(updated.json()["event_type"], "OrderCanceled");
    assert_eq!(updated.json()["url"], url);
    assert_eq!(
        api(&server, "GET", "/api/v1/webhooks/1", None).await.json(),
        updated.json()
    );
    let status = |method: &'static str, path: &'static str, body: Option<&'static str>| {
        let server = &server;
        async move { api(server, method, path, body).await.status() }
    };
    assert_eq!(status("GET", "/api/v1/webhooks/2", None).await, 404);
    assert_eq!(status("PUT", "/api/v1/webhooks/9", Some("{}")).await, 404);
    assert_eq!(status("GET", "/api/v1/webhooks/x", None).await, 400);
    assert_eq!(status("DELETE", "/api/v1/webhooks/1", None).await, 204);
    assert_eq!(status("DELETE", "/api/v1/webhooks/1", None).await, 404);

    let (status, played, _) = play(&server, json!({"event_type": "OrderPlaced"})).await;
    assert_eq!(status, 200);
    assert_eq!(played["webhooks"], json!([]));
    let (status, _, _) = play(&server, json!({"event_type": "Unknown"})).await;
    assert_eq!(status, 400);
    let (status, _, _) = play(&server, json!({"event_type": "GetTax", "store": 1})).await;
    assert_eq!(status, 400);
    assert!(EventType::GetTax.expects_reply());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_api_takes_the_store_key_as_x_ac_auth_token() {
    let server = start();
    let body =
        json!({"event_type": "OrderShipped", "url": "http://127.0.0.1:9/shipped"}).to_string();
    let wrong = [("X-AC-Auth-Token", "wrong-key-0123456789")];
    let refusals = [
        server.request("GET", "/api/v1/webhooks", None).await,
        server
            .request_with_headers("GET", "/api/v1/webhooks", &[("X-AC-Auth-Token", "")], None)
            .await,
        server
            .request_with_headers("POST", "/api/v1/webhooks", &wrong, Some(&body))
            .await,
        server
            .request_with_headers("DELETE", "/api/v1/webhooks/1", &wrong, None)
            .await,
        // Sent twice, even with the right key once.
        server
            .request_with_headers(
                "GET",
                "/api/v1/webhooks",
                &[("X-AC-Auth-Token", KEY), ("X-AC-Auth-Token", "x")],
                None,
            )
            .await,
    ];
    let details: Vec<&str> = refusals
        .iter()
        .map(|answer| {
            assert_eq!(answer.status(), 401, "{:?}", answer.json);
            assert_eq!(answer.json()["status_code"], 401);
            assert_eq!(answer.json()["message"], "Unauthorized");
            assert!(!answer.raw.text().contains("wrong-key"));
            answer.json()["details"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        details,
        [
            "no X-AC-Auth-Token header",
            "no X-AC-Auth-Token header",
            "invalid X-AC-Auth-Token header",
            "invalid X-AC-Auth-Token header",
            "invalid X-AC-Auth-Token header",
        ]
    );
    // Nothing was created by the refused POST; the right key is let in.
    let list = api(&server, "GET", "/api/v1/webhooks", None).await;
    assert_eq!(list.status(), 200);
    assert_eq!(list.json()["total_count"], 0);
    let created = api(&server, "POST", "/api/v1/webhooks", Some(&body)).await;
    assert_eq!(created.status(), 201, "{:?}", created.json);
    assert_eq!(created.json()["event_type"], "OrderShipped");
    // The server logs no token, right or wrong.
    let printed =
        server.drain_lines(Duration::from_millis(200)).join("\n") + &server.stderr().join("\n");
    assert!(
        !printed.contains(KEY) && !printed.contains("wrong-key"),
        "{printed}"
    );
}
