//! `webhook-guard serve` playing AmeriCommerce, driven over real HTTP: its
//! `/api/v1/webhooks` resource, and events played to an axum receiver on
//! loopback behind `VerifyWebhookLayer` that answers with `ReplyBudget`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{Value, json};
use support::serve::Server;
use support::{KEY, NOW};
use webhook_guard::americommerce::{self, EventType, REPLY_DEADLINE, Reply, ReplyBudget};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{KeySet, ManualClock, VerifiedWebhook, Verifier};

const WAIT: Duration = Duration::from_secs(5);

/// Answers GetTax within the budget; names the event type it verified.
async fn tax(Extension(event): Extension<VerifiedWebhook>) -> Reply<String> {
    let event_type = americommerce::event_type(&event).map(|t| t.to_string());
    ReplyBudget::new()
        .run(async move { json!({"tax": 1.25, "event_type": event_type}).to_string() })
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

/// The receiver on loopback; its verifier stands at the server's virtual `NOW`.
async fn receiver() -> SocketAddr {
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(ManualClock::new(NOW))
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

async fn create(server: &Server, webhook: Value) -> Value {
    let answer = server
        .request("POST", "/api/v1/webhooks", Some(&webhook.to_string()))
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
        json!({"event_type": "GetTax", "url": format!("http://{addr}/tax"), "store_id": 1}),
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
    assert_eq!(
        played["reply"],
        json!({"tax": 1.25, "event_type": "GetTax"})
    );
    assert_eq!(played["error"], Value::Null);
    assert_eq!(played["webhooks"][0]["status"], 200);
    assert_eq!(played["webhooks"][0]["from_cache"], false);

    let line = server.next_line(WAIT).expect("a log line per attempt");
    assert!(
        line.starts_with("americommerce: webhook 1 GetTax -> http://")
            && line.contains("/tax: 200 in "),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_falls_back_to_the_fallback_url_at_once() {
    let addr = receiver().await;
    let server = start();
    create(
        &server,
        json!({
            "event_type": "GetTax",
            "url": format!("http://{addr}/slow"),
            "failure_type": "Fallback",
            "fallback_url": format!("http://{addr}/fallback"),
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
    assert!(lines[0].contains("/slow: 503 in "), "{lines:?}");
    assert!(
        lines[1].contains("GetTax (fallback) -> ") && lines[1].contains("/fallback: 200"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_receiver_with_failure_type_error_gives_the_caller_the_error() {
    let addr = receiver().await;
    let server = start();
    create(
        &server,
        json!({"event_type": "GetTax", "url": format!("http://{addr}/stuck"), "failure_type": "Error"}),
    )
    .await;
    create(
        &server,
        json!({"event_type": "GetTax", "url": format!("http://{addr}/tax")}),
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
        json!({"event_type": "GetTax", "url": format!("http://{addr}/tax"), "cache_length": "Short"}),
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
    // The receiver's verifier stays at NOW: 300 s is inside its tolerance.
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
            let answer = server
                .request("POST", "/api/v1/webhooks", Some(&body.to_string()))
                .await;
            (
                answer.status(),
                answer.json()["message"]
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

    let list = server.request("GET", "/api/v1/webhooks", None).await;
    assert_eq!(list.json()["total_count"], 1);
    assert_eq!(list.json()["webhooks"][0], created);

    let updated = server
        .request(
            "PUT",
            "/api/v1/webhooks/1",
            Some(r#"{"event_type":"OrderCanceled"}"#),
        )
        .await;
    assert_eq!(updated.status(), 200);
    assert_eq!(updated.json()["event_type"], "OrderCanceled");
    assert_eq!(updated.json()["url"], url);
    assert_eq!(
        server
            .request("GET", "/api/v1/webhooks/1", None)
            .await
            .json(),
        updated.json()
    );
    assert_eq!(
        server
            .request("GET", "/api/v1/webhooks/2", None)
            .await
            .status(),
        404
    );
    assert_eq!(
        server
            .request("PUT", "/api/v1/webhooks/9", Some("{}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        server
            .request("GET", "/api/v1/webhooks/x", None)
            .await
            .status(),
        400
    );
    assert_eq!(
        server
            .request("DELETE", "/api/v1/webhooks/1", None)
            .await
            .status(),
        204
    );
    assert_eq!(
        server
            .request("DELETE", "/api/v1/webhooks/1", None)
            .await
            .status(),
        404
    );

    let (status, played, _) = play(&server, json!({"event_type": "OrderPlaced"})).await;
    assert_eq!(status, 200);
    assert_eq!(played["webhooks"], json!([]));
    let (status, _, _) = play(&server, json!({"event_type": "Unknown"})).await;
    assert_eq!(status, 400);
    let (status, _, _) = play(&server, json!({"event_type": "GetTax", "store": 1})).await;
    assert_eq!(status, 400);
    assert!(EventType::GetTax.expects_reply());
}
