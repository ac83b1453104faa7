//! `webhook-guard serve` as UP42 (seed 004), driven over real HTTP: the
//! webhook API at UP42's paths (`/webhooks/events`,
//! `/workspaces/{workspace}/webhooks...`), test runs delivered to an axum
//! receiver on loopback behind `VerifyWebhookLayer` with the `Up42` recipe
//! (keyed with the webhook's secret) and to the UP42 reference receiver,
//! failures counted, errors in the envelope, and `startedAt` from
//! `--virtual-clock`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use support::python::{python_available, up42_reference_failures};
use support::serve::{Answer, Server};
use support::servers::{capture_one, serve};
use support::{KEY, TIMEOUT};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::up42::{self, EventKind, Up42};
use webhook_guard::{KeySet, ManualClock, VerifiedWebhook, Verifier};

const SECRET: &str = "QWZTFnMEXhqZKNmu";
/// 2022-02-18T15:12:18Z: the second of the vendor's sample report.
const NOW: i64 = 1_645_197_138;
const HOOKS: &str = "/workspaces/ws-1/webhooks";
const EVENTS: &str = "/webhooks/events";

/// The seed's sample request body.
const SAMPLE: &str = r#"{
"events": ["order.status"],
"name": "My alert for order statuses",
"url": "https://my.sample.endpoint.com/",
"secret": "QWZTFnMEXhqZKNmu",
"active": true
}"#;

/// A receiver on loopback: `/hooks` verified with UP42's recipe and
/// `SECRET` on the server's virtual time (counts what reached the handler),
/// `/fail` answering 500.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let verified = Arc::new(AtomicUsize::new(0));
    let verifier = Verifier::builder(KeySet::single(SECRET))
        .scheme(Up42::new())
        .clock(ManualClock::new(NOW))
        .build();
    let app = Router::new()
        .route(
            "/hooks",
            post(
                |State(count): State<Arc<AtomicUsize>>,
                 axum::Extension(hook): axum::Extension<VerifiedWebhook>| async move {
                    let event: up42::Event = hook.payload().expect("an UP42 event");
                    assert_eq!(event.kind, EventKind::OrderStatus);
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

    let events = server.request("GET", EVENTS, None).await;
    let events = expect_data(&events, 200);
    let names: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["job.status", "order.status"]);

    let created = server.request("POST", HOOKS, Some(SAMPLE)).await;
    let created = expect_data(&created, 201);
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["name"], "My alert for order statuses");
    assert_eq!(created["url"], "https://my.sample.endpoint.com/");
    assert_eq!(created["events"], json!(["order.status"]));
    assert_eq!(created["active"], true);
    assert_eq!(
        created["secret"], SECRET,
        "UP42 answers the secret in clear"
    );
    assert_eq!(created["createdAt"], "2022-02-18T15:12:18.000000Z");
    let one = format!("{HOOKS}/{id}");

    let read = expect_data(&server.request("GET", &one, None).await, 200);
    assert_eq!(read, created);
    let list = expect_data(&server.request("GET", HOOKS, None).await, 200);
    assert_eq!(list, json!([created]));
    let other = expect_data(
        &server
            .request("GET", "/workspaces/ws-2/webhooks", None)
            .await,
        200,
    );
    assert_eq!(other, json!([]));

    // The sample's https URL cannot be reached by the mock's plain HTTP:
    // the run is answered, its test failed, nothing sent.
    let run = expect_data(
        &server.request("POST", &format!("{one}/tests"), None).await,
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

    // Point it at the receiver (an update is the whole webhook, sent back
    // as read with its secret) and test every event, then the one by name.
    let mut edited = created.clone();
    edited["url"] = json!(format!("{base}/hooks"));
    edited["name"] = json!("renamed");
    let updated = expect_data(
        &server.request("PUT", &one, Some(&edited.to_string())).await,
        200,
    );
    assert_eq!(updated["url"], format!("{base}/hooks"));
    assert_eq!(updated["name"], "renamed");
    assert_eq!(updated["secret"], SECRET);
    assert_eq!(updated["createdAt"], created["createdAt"]);

    let answer = server.request("POST", &format!("{one}/tests"), None).await;
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
        sent.iter().any(|(n, v)| n == "Signature-Input"
            && v == r#"up42-sig=("content-type" "content-digest");created=1645197138"#),
        "{sent:?}"
    );
    assert!(sent.iter().any(|(n, _)| n == "Signature"), "{sent:?}");
    assert!(
        sent.iter()
            .all(|(n, _)| !n.to_ascii_lowercase().starts_with("x-webhook-")),
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
            &format!("{one}/tests"),
            Some(r#"{"event":"order.status"}"#),
        )
        .await;
    let run = expect_data(&one_event, 200);
    assert_eq!(run["startedAt"], "2022-02-18T15:13:18.000000Z");
    // The receiver still runs at NOW: 60 s is inside its tolerance.
    assert_eq!(run["testsSucceeded"], 1, "{run}");
    assert_eq!(verified.load(Ordering::SeqCst), 2);

    // A receiver answering 500 is a failed test, not a failed call. The
    // update goes as POST this time, as UP42's Python SDK sends it.
    let mut to_fail = updated.clone();
    to_fail["url"] = json!(format!("{base}/fail"));
    let moved = expect_data(
        &server
            .request("POST", &one, Some(&to_fail.to_string()))
            .await,
        200,
    );
    assert_eq!(moved["url"], format!("{base}/fail"));
    let run = expect_data(
        &server
            .request("POST", &format!("{one}/tests"), Some("{}"))
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
        (replaced["secret"].as_str(), replaced["active"].as_bool()),
        (Some(""), Some(false))
    );
    expect_error(
        &server.request("POST", &format!("{one}/tests"), None).await,
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
    let test = format!("{one}/tests");
    let whole = |extra: &str| {
        format!(r#"{{"events":["order.status"],"name":"n","url":"http://127.0.0.1:9/"{extra}}}"#)
    };

    expect_error(
        &server
            .request(
                "PUT",
                &one,
                Some(r#"{"events":["order.status"],"name":"n","url":"nope"}"#),
            )
            .await,
        400,
        "invalid_url",
    );
    expect_error(
        &server
            .request("PUT", &one, Some(&whole(r#","active":"yes""#)))
            .await,
        400,
        "invalid_field",
    );
    expect_error(
        &server
            .request("POST", &one, Some(&whole(r#","secret":7"#)))
            .await,
        400,
        "invalid_field",
    );
    expect_error(
        &server
            .request("PUT", &one, Some(r#"{"url":"http://x/"}"#))
            .await,
        400,
        "missing_field",
    );
    expect_error(
        &server
            .request("PUT", &format!("{HOOKS}/missing"), Some("{}"))
            .await,
        404,
        "webhook_not_found",
    );
    // UP42 documents no PATCH.
    assert_eq!(
        server
            .request("PATCH", &one, Some(r#"{"active":true}"#))
            .await
            .status(),
        405
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
            .request("PUT", &one, Some(&whole(r#","active":true"#)))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_up42_reference_receiver_accepts_what_serve_delivers() {
    if !python_available(&[], "the UP42 reference receiver") {
        return;
    }
    let server = start();
    let mut captures = Vec::new();
    for secret in [Some(SECRET), None] {
        let (addr, captured) = capture_one().await;
        let mut body = json!({
            "events": ["job.status"],
            "name": "captured",
            "url": format!("http://{addr}/hooks"),
            "active": true,
        });
        if let Some(secret) = secret {
            body["secret"] = json!(secret);
        }
        let created = expect_data(
            &server.request("POST", HOOKS, Some(&body.to_string())).await,
            201,
        );
        let tests = format!("{HOOKS}/{}/tests", created["id"].as_str().unwrap());
        let run = expect_data(&server.request("POST", &tests, None).await, 200);
        assert_eq!(run["testsSucceeded"], 1, "{run}");
        captures.push(captured.await.unwrap());
    }

    let signed = &captures[0];
    let headers = signed.headers();
    let body: Value = serde_json::from_slice(&signed.body).unwrap();
    assert_eq!(body["event"], "job.status");
    assert_eq!(body["body"]["status"], "SUCCEEDED");
    let mut tampered = signed.body.clone();
    let at = tampered
        .iter()
        .rposition(u8::is_ascii_uppercase)
        .expect("a capital letter");
    tampered[at] = tampered[at].to_ascii_lowercase();
    let unsigned = &captures[1];
    let verdicts = up42_reference_failures(
        SECRET,
        NOW,
        &[
            (headers.clone(), signed.body.clone()),
            (headers, tampered),
            (unsigned.headers(), unsigned.body.clone()),
        ],
    );
    assert_eq!(verdicts[0], Vec::<String>::new(), "{}", signed.head);
    assert_eq!(verdicts[1], ["invalid_digest"]);
    assert_eq!(verdicts[2], ["missing_signature"]);
    // Without a secret: no signature headers at all.
    let names: Vec<String> = unsigned
        .headers()
        .into_iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n == "signature" || n == "signature-input"),
        "{}",
        unsigned.head
    );
}
