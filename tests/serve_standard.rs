//! `webhook-guard serve` as a Standard Webhooks sender, driven over real
//! HTTP: an endpoint created (with a generated `whsec_` secret or a given
//! one), a message delivered to an axum receiver on loopback behind
//! `VerifyWebhookLayer` with `StandardWebhooks`, and a receiver answering
//! 500 retried on the spec's schedule as `--virtual-clock` moves, with one
//! log line per attempt.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use support::serve::Server;
use support::servers::serve;
use support::{KEY, TIMEOUT};
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{ManualClock, Verifier};

const NOW: i64 = 1_674_087_231;

/// A receiver on loopback: `/hooks` verified with `secret` on the server's
/// virtual time (counts what reached the handler), `/fail` answering 500
/// (counts every request).
async fn receiver(secret: &str) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let verified = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let verifier = Verifier::builder(StandardWebhooks::keys(secret).expect("a whsec_ secret"))
        .scheme(StandardWebhooks::new())
        .clock(ManualClock::new(NOW))
        .build();
    let app = Router::new()
        .route(
            "/hooks",
            post(|State(count): State<Arc<AtomicUsize>>| async move {
                count.fetch_add(1, Ordering::SeqCst);
                "ok"
            }),
        )
        .layer(VerifyWebhookLayer::new(verifier))
        .with_state(Arc::clone(&verified));
    let failing = Router::new()
        .route(
            "/fail",
            post(|State(count): State<Arc<AtomicUsize>>| async move {
                count.fetch_add(1, Ordering::SeqCst);
                (StatusCode::INTERNAL_SERVER_ERROR, "boom")
            }),
        )
        .with_state(Arc::clone(&failed));
    let addr = serve(app.merge(failing)).await;
    (format!("http://{addr}"), verified, failed)
}

fn start() -> Server {
    Server::start(
        KEY,
        &["--virtual-clock", &NOW.to_string(), "--timeout", "5"],
    )
}

/// The `standard:` log lines printed within `wait`, until `count` of them.
fn standard_lines(server: &Server, count: usize, wait: Duration) -> Vec<String> {
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + wait;
    while lines.len() < count {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match server.next_line(left) {
            Some(line) if line.starts_with("standard: ") => lines.push(line),
            Some(_) => {}
            None => break,
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_reaches_the_receiver_signed_with_the_generated_secret() {
    let server = start();
    // Created without a secret: the server makes one and answers it.
    let created = server
        .request(
            "POST",
            "/standard/endpoints",
            Some(r#"{"url": "http://127.0.0.1:9/hooks"}"#),
        )
        .await;
    assert_eq!(created.status(), 201, "{:?}", created.json());
    let secret = created.json()["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");

    let (base, verified, _) = receiver(&secret).await;
    let body = json!({"url": format!("{base}/hooks"), "secret": secret}).to_string();
    let endpoint = server
        .request("POST", "/standard/endpoints", Some(&body))
        .await;
    assert_eq!(endpoint.status(), 201);
    let id = endpoint.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(endpoint.json()["secrets"], json!([secret]));

    let read = server
        .request("GET", &format!("/standard/endpoints/{id}"), None)
        .await;
    assert_eq!(read.json()["url"], format!("{base}/hooks"));
    let list = server.request("GET", "/standard/endpoints", None).await;
    assert_eq!(list.json()["data"].as_array().unwrap().len(), 2);

    let message =
        r#"{"eventType": "invoice.paid", "payload": {"type": "invoice.paid", "data": {"id": 7}}}"#;
    let sent = server
        .request(
            "POST",
            &format!("/standard/endpoints/{id}/messages"),
            Some(message),
        )
        .await;
    assert_eq!(sent.status(), 200, "{:?}", sent.json());
    let answer = sent.json();
    assert_eq!(answer["state"], "delivered");
    assert_eq!(answer["attempt"]["response"]["status"], 200);
    assert_eq!(
        answer["attempt"]["request"]["body"],
        r#"{"data":{"id":7},"type":"invoice.paid"}"#
    );
    assert_eq!(verified.load(Ordering::SeqCst), 1);
    let lines = standard_lines(&server, 1, TIMEOUT);
    assert!(lines[0].contains("invoice/paid -> 200"), "{lines:?}");

    // A fault by name: refused by the receiver, queued for a retry.
    let spoiled = r#"{"eventType": "invoice.paid", "payload": {}, "faults": ["wrong-key"]}"#;
    let sent = server
        .request(
            "POST",
            &format!("/standard/endpoints/{id}/messages"),
            Some(spoiled),
        )
        .await;
    assert_eq!(sent.json()["attempt"]["response"]["status"], 401);
    assert_eq!(sent.json()["state"], "retrying");

    for (path, body, status) in [
        ("/standard/endpoints/ep_99/messages", message, 404),
        (
            &*format!("/standard/endpoints/{id}/messages"),
            r#"{"payload": {}}"#,
            400,
        ),
        (
            &*format!("/standard/endpoints/{id}/messages"),
            r#"{"eventType": "a.b", "payload": {}, "faults": ["nope"]}"#,
            400,
        ),
        ("/standard/endpoints", r#"{"url": "ftp://x/"}"#, 400),
        (
            "/standard/endpoints",
            r#"{"url": "http://a.test/", "secret": "whsec_c2hvcnQ="}"#,
            400,
        ),
    ] {
        let answer = server.request("POST", path, Some(body)).await;
        assert_eq!(
            answer.status(),
            status,
            "{path} {body}: {:?}",
            answer.json()
        );
        assert!(answer.json()["error"]["code"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_follow_the_virtual_clock() {
    let server = start();
    let (base, _, failed) = receiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").await;
    let body = json!({"url": format!("{base}/fail")}).to_string();
    let endpoint = server
        .request("POST", "/standard/endpoints", Some(&body))
        .await;
    let id = endpoint.json()["id"].as_str().unwrap().to_owned();

    let message = r#"{"eventType": "invoice.paid", "payload": {"id": 1}}"#;
    let sent = server
        .request(
            "POST",
            &format!("/standard/endpoints/{id}/messages"),
            Some(message),
        )
        .await;
    let first = sent.json().clone();
    assert_eq!(first["state"], "retrying");
    assert_eq!(first["nextAttempt"], 2);
    assert_eq!(first["nextAttemptAt"], NOW + 5);
    let pending = server.request("GET", "/standard/pending", None).await;
    assert_eq!(pending.json()["data"][0]["dueAt"], NOW + 5);

    // Not yet due: nothing goes out.
    let clock = server
        .request("POST", "/emulator/clock", Some(r#"{"advance": 4}"#))
        .await;
    assert_eq!(clock.json()["now"], NOW + 4);
    let due = server.request("POST", "/standard/deliver-due", None).await;
    assert_eq!(due.json()["data"], json!([]));
    assert_eq!(failed.load(Ordering::SeqCst), 1);

    // Due: the server's own task sends it within its poll.
    server
        .request("POST", "/emulator/clock", Some(r#"{"advance": 1}"#))
        .await;
    let lines = standard_lines(&server, 2, TIMEOUT);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("attempt 1:") && lines[0].contains("-> 500"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("attempt 2:") && lines[1].contains("-> 500"),
        "{lines:?}"
    );
    assert_eq!(failed.load(Ordering::SeqCst), 2);

    // Five minutes later (plus the default jitter, up to 10 %), the third,
    // asked for explicitly or taken by the task.
    let pending = server.request("GET", "/standard/pending", None).await;
    let due_at = pending.json()["data"][0]["dueAt"].as_i64().unwrap();
    assert!((NOW + 305..=NOW + 335).contains(&due_at), "{due_at}");
    let set = json!({"set": due_at}).to_string();
    server.request("POST", "/emulator/clock", Some(&set)).await;
    let due = server.request("POST", "/standard/deliver-due", None).await;
    let made: Vec<Value> = due.json()["data"].as_array().unwrap().clone();
    let lines = standard_lines(&server, 1, TIMEOUT);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("attempt 3:"), "{lines:?}");
    assert!(made.len() <= 1);
    if let Some(third) = made.first() {
        assert_eq!(third["attempt"]["attempt"], 3);
        let id = &first["attempt"]["request"]["headers"];
        let again = &third["attempt"]["request"]["headers"];
        assert_eq!(id[2], again[2], "the same webhook-id");
    }
    assert_eq!(failed.load(Ordering::SeqCst), 3);
}
