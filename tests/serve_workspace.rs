//! `webhook-guard serve` as the seed-004 vendor, driven over real HTTP: the
//! webhook API under `/v1/workspaces/{workspace}`, test runs delivered to an
//! axum receiver on loopback behind `VerifyWebhookLayer` (keyed with the
//! webhook's secret), failures counted, errors in the vendor's envelope, and
//! `startedAt` from `--virtual-clock`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use support::serve::{Answer, Server};
use support::servers::serve;
use support::{KEY, TIMEOUT};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{KeySet, ManualClock, VerifiedWebhook, Verifier};

const SECRET: &str = "QWZTFnMEXhqZKNmu";
/// 2022-02-18T15:12:18Z: the second of the vendor's sample report.
const NOW: i64 = 1_645_197_138;
const HOOKS: &str = "/v1/workspaces/ws-1/webhooks";

/// The seed's sample request body.
const SAMPLE: &str = r#"{
"events": ["order.status"],
"name": "My alert for order statuses",
"url": "https://my.sample.endpoint.com/",
"secret": "QWZTFnMEXhqZKNmu",
"active": true
}"#;

/// A receiver on loopback: `/hooks` verified with `SECRET` on the server's
/// virtual time (counts what reached the handler), `/fail` answering 500.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let verified = Arc::new(AtomicUsize::new(0));
    let verifier = Verifier::builder(KeySet::single(SECRET))
        .clock(ManualClock::new(NOW))
        .build();
    let app = Router::new()
        .route(
            "/hooks",
            post(
                |State(count): State<Arc<AtomicUsize>>,
                 axum::Extension(hook): axum::Extension<VerifiedWebhook>| async move {
                    assert_eq!(
                        hook.entity().map(|e| e.as_str().to_owned()).as_deref(),
                        Some("order")
                    );
                    count.fetch_add(1, Ordering::SeqCst);
                    "ok"
                },
            ),
        )
        .layer(VerifyWebhookLayer::new(verifier))
        .route(
            "/fail",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .with_state(Arc::clone(&verified));
    let addr = serve(app).await;
    (format!("http://{addr}"), verified)
}

fn start() -> Server {
    Server::start(
        KEY,
        &["--virtual-clock", &NOW.to_string(), "--timeout", "5"],
    )
}

#[track_caller]
fn expect_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status(), status, "{:?}", answer.raw.text());
    let json = answer.json();
    assert_eq!(json["data"], Value::Null, "{json}");
    assert_eq!(json["error"]["code"], code, "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

/// The `data` of a successful answer with `status`.
#[track_caller]
fn expect_data(answer: &Answer, status: u16) -> Value {
    assert_eq!(answer.status(), status, "{:?}", answer.raw.text());
    assert_eq!(answer.json()["error"], Value::Null);
    answer.json()["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_webhook_lives_its_whole_life_over_http() {
    let (base, verified) = receiver().await;
    let server = start();

    let events = server
        .request("GET", "/v1/workspaces/ws-1/webhook-events", None)
        .await;
    let events = expect_data(&events, 200);
    assert_eq!(events[0]["name"], "order.status");

    let created = server.request("POST", HOOKS, Some(SAMPLE)).await;
    let created = expect_data(&created, 201);
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["name"], "My alert for order statuses");
    assert_eq!(created["url"], "https://my.sample.endpoint.com/");
    assert_eq!(created["events"], json!(["order.status"]));
    assert_eq!(created["active"], true);
    assert_eq!(created["hasSecret"], true);
    assert_eq!(created["createdAt"], "2022-02-18T15:12:18.000000Z");
    assert!(
        !created.to_string().contains(SECRET),
        "the secret is never echoed"
    );
    let one = format!("{HOOKS}/{id}");

    let read = expect_data(&server.request("GET", &one, None).await, 200);
    assert_eq!(read, created);
    let list = expect_data(&server.request("GET", HOOKS, None).await, 200);
    assert_eq!(list, json!([created]));
    let other = expect_data(
        &server
            .request("GET", "/v1/workspaces/ws-2/webhooks", None)
            .await,
        200,
    );
    assert_eq!(other, json!([]));

    // The sample's https URL cannot be reached by the mock's plain HTTP:
    // the run is answered, its test failed, nothing sent.
    let run = expect_data(
        &server.request("POST", &format!("{one}/test"), None).await,
        200,
    );
    assert_eq!(
        (run["testsRun"].as_u64(), run["testsFailed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(run["tests"][0]["status"], Value::Null);
    assert_eq!(run["tests"][0]["error"]["kind"], "InvalidRequest");
    let line = server.next_line(TIMEOUT).expect("a log line");
    assert!(
        line.starts_with("workspace: delivery 1, attempt 1: order/status -> no response"),
        "{line}"
    );

    // Point it at the receiver and test every event, then the one by name.
    let patch = format!(r#"{{"url": "{base}/hooks", "name": "renamed"}}"#);
    let updated = expect_data(&server.request("PATCH", &one, Some(&patch)).await, 200);
    assert_eq!(updated["url"], format!("{base}/hooks"));
    assert_eq!(updated["name"], "renamed");
    assert_eq!(
        updated["hasSecret"], true,
        "PATCH keeps what it does not name"
    );

    let answer = server.request("POST", &format!("{one}/test"), None).await;
    assert_eq!(answer.status(), 200);
    let report = answer.json();
    assert_eq!(report["error"], Value::Null);
    let run = &report["data"];
    assert_eq!(run["startedAt"], "2022-02-18T15:12:18.000000Z");
    assert_eq!(
        (
            run["testsRun"].as_u64(),
            run["testsSucceeded"].as_u64(),
            run["testsFailed"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{report}"
    );
    let test = &run["tests"][0];
    assert_eq!(test["event"], "order.status");
    assert_eq!(test["status"], 200);
    assert_eq!(test["success"], true);
    let sent: Vec<(String, String)> =
        serde_json::from_value(test["request"]["headers"].clone()).unwrap();
    assert!(
        sent.iter()
            .any(|(n, v)| n == "X-Webhook-Entity" && v == "order"),
        "{sent:?}"
    );
    assert!(
        sent.iter().any(|(n, _)| n == "X-Webhook-Signature"),
        "{sent:?}"
    );
    assert_eq!(verified.load(Ordering::SeqCst), 1);
    let line = server.next_line(TIMEOUT).expect("a log line");
    assert!(
        line.starts_with("workspace: delivery 2, attempt 1: order/status -> 200"),
        "{line}"
    );

    // Time moves on the virtual clock; startedAt follows.
    let moved = server
        .request("POST", "/emulator/clock", Some(r#"{"advance": 60}"#))
        .await;
    assert_eq!(moved.status(), 200);
    let one_event = server
        .request(
            "POST",
            &format!("{one}/test"),
            Some(r#"{"event":"order.status"}"#),
        )
        .await;
    let run = expect_data(&one_event, 200);
    assert_eq!(run["startedAt"], "2022-02-18T15:13:18.000000Z");
    // The receiver still runs at NOW: 60 s is inside its tolerance.
    assert_eq!(run["testsSucceeded"], 1, "{run}");
    assert_eq!(verified.load(Ordering::SeqCst), 2);

    // A receiver answering 500 is a failed test, not a failed call.
    let to_fail = format!(r#"{{"url": "{base}/fail"}}"#);
    expect_data(&server.request("PATCH", &one, Some(&to_fail)).await, 200);
    let run = expect_data(
        &server
            .request("POST", &format!("{one}/test"), Some("{}"))
            .await,
        200,
    );
    assert_eq!(
        (run["testsSucceeded"].as_u64(), run["testsFailed"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(run["tests"][0]["status"], 500);
    assert_eq!(run["tests"][0]["success"], false);

    // PUT replaces the whole webhook: no secret, inactive.
    let put = json!({"events": ["order.status"], "name": "plain", "url": format!("{base}/hooks")})
        .to_string();
    let replaced = expect_data(&server.request("PUT", &one, Some(&put)).await, 200);
    assert_eq!(
        (
            replaced["hasSecret"].as_bool(),
            replaced["active"].as_bool()
        ),
        (Some(false), Some(false))
    );
    expect_error(
        &server.request("POST", &format!("{one}/test"), None).await,
        400,
        "webhook_inactive",
    );

    // Delete: 204 and no body, then gone.
    let deleted = server.request("DELETE", &one, None).await;
    assert_eq!(deleted.status(), 204);
    assert!(deleted.raw.body.is_empty());
    expect_error(
        &server.request("GET", &one, None).await,
        404,
        "webhook_not_found",
    );
    expect_error(
        &server.request("DELETE", &one, None).await,
        404,
        "webhook_not_found",
    );
    assert_eq!(
        expect_data(&server.request("GET", HOOKS, None).await, 200),
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_documented_errors() {
    let server = start();
    let post = |body: &'static str| server.request("POST", HOOKS, Some(body));

    expect_error(&post("{not json").await, 400, "invalid_request");
    expect_error(
        &server.request("POST", HOOKS, None).await,
        400,
        "invalid_request",
    );
    expect_error(&post("[]").await, 400, "invalid_request");
    expect_error(
        &post(r#"{"events":["order.status"],"url":"http://x/"}"#).await,
        400,
        "missing_field",
    );
    expect_error(
        &post(r#"{"events":["order.status"],"name":"n"}"#).await,
        400,
        "missing_field",
    );
    expect_error(
        &post(r#"{"name":"n","url":"http://x/"}"#).await,
        400,
        "missing_field",
    );
    expect_error(
        &post(r#"{"events":[],"name":"n","url":"http://x/"}"#).await,
        400,
        "invalid_field",
    );
    expect_error(
        &post(r#"{"events":["order.status"],"name":"n","url":"http://x/","actve":true}"#).await,
        400,
        "invalid_field",
    );
    expect_error(
        &post(r#"{"events":["order.status"],"name":"n","url":"/relative"}"#).await,
        400,
        "invalid_url",
    );
    expect_error(
        &post(r#"{"events":["order.status"],"name":"n","url":"ftp://x/"}"#).await,
        400,
        "invalid_url",
    );
    expect_error(
        &post(r#"{"events":["order.nope"],"name":"n","url":"http://x/"}"#).await,
        400,
        "unknown_event",
    );
    assert_eq!(
        expect_data(&server.request("GET", HOOKS, None).await, 200),
        json!([])
    );

    let created = expect_data(
        &post(r#"{"events":["order.status"],"name":"n","url":"http://127.0.0.1:9/"}"#).await,
        201,
    );
    assert_eq!(created["active"], false, "inactive unless asked");
    let one = format!("{HOOKS}/{}", created["id"].as_str().unwrap());
    let test = format!("{one}/test");

    expect_error(
        &server
            .request("PATCH", &one, Some(r#"{"url":"nope"}"#))
            .await,
        400,
        "invalid_url",
    );
    expect_error(
        &server
            .request("PATCH", &one, Some(r#"{"active":"yes"}"#))
            .await,
        400,
        "invalid_field",
    );
    expect_error(
        &server
            .request("PATCH", &one, Some(r#"{"secret":""}"#))
            .await,
        400,
        "invalid_field",
    );
    expect_error(
        &server
            .request("PATCH", &format!("{HOOKS}/missing"), Some("{}"))
            .await,
        404,
        "webhook_not_found",
    );
    let elsewhere = one.replace("ws-1", "ws-2");
    expect_error(
        &server.request("GET", &elsewhere, None).await,
        404,
        "webhook_not_found",
    );

    expect_error(
        &server.request("POST", &test, None).await,
        400,
        "webhook_inactive",
    );
    expect_data(
        &server
            .request("PATCH", &one, Some(r#"{"active":true}"#))
            .await,
        200,
    );
    expect_error(
        &server
            .request("POST", &test, Some(r#"{"event":"order.nope"}"#))
            .await,
        400,
        "unknown_event",
    );
    expect_error(
        &server.request("POST", &test, Some(r#"{"event":7}"#)).await,
        400,
        "invalid_field",
    );
    expect_error(
        &server
            .request("POST", &test, Some(r#"{"events":["order.status"]}"#))
            .await,
        400,
        "invalid_field",
    );
    expect_error(
        &server.request("POST", &test, Some("nope")).await,
        400,
        "invalid_request",
    );
    let elsewhere = test.replace("ws-1", "ws-2");
    expect_error(
        &server.request("POST", &elsewhere, None).await,
        404,
        "webhook_not_found",
    );
    // Nothing was delivered: no attempt was logged.
    assert!(
        server
            .drain_lines(std::time::Duration::from_millis(200))
            .is_empty()
    );
}
