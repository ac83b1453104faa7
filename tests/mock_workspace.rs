//! UP42's mock (`WorkspaceSender`): webhook CRUD, the event catalogue, test
//! runs in-process and over loopback, signed with UP42's recipe so that a
//! `Verifier` with `Up42` and the UP42 reference receiver
//! (`tests/oracles/up42_reference.py`) accept them with the webhook's secret
//! and refuse them with one body byte changed, unsigned deliveries without
//! a secret, failures counted, and the validation errors.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};
use support::client::{Until, send_raw};
use support::python::{python_available, up42_reference_failures};
use support::servers::{capture_one, closed_port, serve};
use tower::ServiceExt as _;
use webhook_guard::digest::content_digest;
use webhook_guard::mock::{
    NewWorkspaceWebhook, SentRequest, TestRun, WorkspaceError, WorkspaceEvent, WorkspaceSender,
    WorkspaceSenderBuilder, WorkspaceWebhookUpdate,
};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::up42::{self, EventKind, OrderStatus, Status, Up42};
use webhook_guard::{ErrorKind, KeySet, ManualClock, VerifiedWebhook, Verifier};

const SECRET: &str = "QWZTFnMEXhqZKNmu";
/// 2022-02-18T15:12:18Z, the second of the vendor's sample report.
const NOW: i64 = 1_645_197_138;
const WS: &str = "ws-1";

/// What a verified receiver saw: the typed event and the body, per delivery.
type Seen = Arc<Mutex<Vec<(up42::Event, Bytes)>>>;

/// The UP42 verifier a receiver holds: `secret`, the `Up42` recipe, `clock`.
fn up42_verifier(secret: &str, clock: &ManualClock) -> Verifier {
    Verifier::builder(KeySet::single(secret))
        .scheme(Up42::new())
        .clock(clock.clone())
        .build()
}

/// An axum receiver: `/hooks` behind `VerifyWebhookLayer` with the UP42
/// recipe keyed with `SECRET`, `/open` unverified (200), `/fail` 500,
/// `/created` 201.
fn receiver(clock: &ManualClock) -> (Router, Seen) {
    let seen: Seen = Arc::default();
    let verified = Router::new()
        .route(
            "/hooks",
            post(
                |State(seen): State<Seen>,
                 axum::Extension(hook): axum::Extension<VerifiedWebhook>| async move {
                    assert!(hook.body_authenticated(), "the digest binds the body");
                    let event: up42::Event = hook.payload().expect("an UP42 event");
                    seen.lock().unwrap().push((event, hook.body().clone()));
                    "ok"
                },
            ),
        )
        .layer(VerifyWebhookLayer::new(up42_verifier(SECRET, clock)))
        .with_state(Arc::clone(&seen));
    let open = Router::new()
        .route("/open", post(|| async { "ok" }))
        .route(
            "/fail",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/created", post(|| async { StatusCode::CREATED }))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        );
    (verified.merge(open), seen)
}

/// Two events, so "one" and "all" differ; not in the default order, so a
/// catalogue given is a catalogue kept.
fn catalogue() -> Vec<WorkspaceEvent> {
    vec![WorkspaceEvent::order_status(), WorkspaceEvent::job_status()]
}

fn in_process() -> (WorkspaceSender, ManualClock, Seen) {
    let clock = ManualClock::new(NOW);
    let (app, seen) = receiver(&clock);
    let sender = WorkspaceSender::builder()
        .clock(clock.clone())
        .service(app)
        .events(catalogue())
        .build();
    (sender, clock, seen)
}

fn hook(url: &str) -> NewWorkspaceWebhook {
    NewWorkspaceWebhook::new("My alert for order statuses", url)
        .events(["order.status", "job.status"])
        .secret(SECRET)
        .active(true)
}

#[track_caller]
fn counts(run: &TestRun) -> (usize, usize, usize) {
    let json = run.to_json();
    let data = &json["data"];
    let from_json = (
        data["testsRun"].as_u64().unwrap() as usize,
        data["testsSucceeded"].as_u64().unwrap() as usize,
        data["testsFailed"].as_u64().unwrap() as usize,
    );
    let counted = (run.tests_run(), run.tests_succeeded(), run.tests_failed());
    assert_eq!(from_json, counted, "JSON and accessors agree");
    assert_eq!(data["tests"].as_array().unwrap().len(), counted.0);
    counted
}

#[tokio::test]
async fn a_test_run_of_every_event_reports_in_the_vendors_shape() {
    let (sender, _clock, seen) = in_process();
    let created = sender
        .create(WS, hook("https://my.sample.endpoint.com/hooks"))
        .unwrap();
    let run = sender.test(WS, created.id(), None).await.unwrap();
    assert_eq!(counts(&run), (2, 2, 0));
    let json = run.to_json();
    assert_eq!(json["error"], Value::Null);
    assert_eq!(json["data"]["startedAt"], "2022-02-18T15:12:18.000000Z");
    let keys: Vec<&str> = json["data"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        5,
        "startedAt, testsRun, testsSucceeded, testsFailed, tests: {keys:?}"
    );
    let first = &json["data"]["tests"][0];
    assert_eq!(first["event"], "order.status");
    assert_eq!(first["url"], "https://my.sample.endpoint.com/hooks");
    assert_eq!(first["success"], true);
    assert_eq!(first["status"], 200);
    assert_eq!(first["error"], Value::Null);
    assert!(first["durationMs"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        first["request"]["url"],
        "https://my.sample.endpoint.com/hooks"
    );
    assert_eq!(json["data"]["tests"][1]["event"], "job.status");

    // The receiver verified both, in the webhook's event order, and read
    // them as UP42 events: {"event": ..., "body": {"status": ...}}.
    let seen = seen.lock().unwrap().clone();
    let events: Vec<(EventKind, Option<Status>)> = seen
        .iter()
        .map(|(e, _)| (e.kind.clone(), e.status.clone()))
        .collect();
    assert_eq!(
        events,
        [
            (
                EventKind::OrderStatus,
                Some(Status::Order(OrderStatus::Fulfilled))
            ),
            (
                EventKind::JobStatus,
                Some(Status::Job(up42::JobStatus::Succeeded))
            ),
        ]
    );
    assert_eq!(
        &seen[0].1[..],
        br#"{"event":"order.status","body":{"orderId":"TEST-ORDER-0001","status":"FULFILLED"}}"#
    );
    assert_eq!(
        &seen[1].1[..],
        br#"{"event":"job.status","body":{"jobId":"TEST-JOB-0001","status":"SUCCEEDED"}}"#
    );

    // Each test is one attempt in the journal.
    assert_eq!(sender.journal().len(), 2);
    assert_eq!(
        sender.journal().attempts()[1].summary().split(':').next(),
        Some("delivery 2, attempt 1")
    );
}

#[tokio::test]
async fn one_event_tests_only_that_event() {
    let (sender, clock, seen) = in_process();
    let id = sender
        .create(WS, hook("http://receiver.test/hooks"))
        .unwrap()
        .id()
        .to_owned();
    clock.advance(60);
    let run = sender.test(WS, &id, Some("job.status")).await.unwrap();
    assert_eq!(counts(&run), (1, 1, 0));
    assert_eq!(run.tests()[0].event(), "job.status");
    assert_eq!(run.started_at(), NOW + 60);
    assert_eq!(
        run.to_json()["data"]["startedAt"],
        "2022-02-18T15:13:18.000000Z"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// `sent`'s headers, as a receiver reads them.
fn delivery_headers(sent: &SentRequest) -> Vec<(String, String)> {
    sent.headers().to_vec()
}

/// `body` with one byte changed (its last capital letter lowercased: the
/// JSON stays JSON and the length stays the same).
fn one_byte_changed(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    let at = out
        .iter()
        .rposition(u8::is_ascii_uppercase)
        .expect("a capital letter in the body");
    out[at] = out[at].to_ascii_lowercase();
    assert_eq!(
        out.iter().zip(body).filter(|(a, b)| a != b).count(),
        1,
        "exactly one byte differs"
    );
    out
}

#[tokio::test]
async fn the_signature_is_up42s_recipe_and_verifies_with_the_secret_only() {
    let (sender, _clock, _seen) = in_process();
    let id = sender
        .create(WS, hook("http://receiver.test/hooks"))
        .unwrap()
        .id()
        .to_owned();
    let run = sender.test(WS, &id, Some("order.status")).await.unwrap();
    let request = run.tests()[0].request();
    let body = request.body();
    assert_eq!(request.header("Host"), Some("receiver.test"));
    assert_eq!(request.header("Content-Type"), Some("application/json"));
    let digest = content_digest(body);
    assert_eq!(request.header("Content-Digest"), Some(digest.as_str()));
    assert_eq!(
        request.header("Signature-Input"),
        Some(r#"up42-sig=("content-type" "content-digest");created=1645197138"#)
    );
    // The signed string is the listed values joined, as UP42's sample rebuilds it.
    assert_eq!(
        request.signed_string(),
        format!("application/json{digest}").as_bytes()
    );
    let key = webhook_guard::SigningKey::new("k", SECRET);
    let (_, expected) = up42::sign(
        &key,
        &[
            ("content-type", "application/json"),
            ("content-digest", &digest),
        ],
        NOW,
    );
    assert_eq!(request.header("Signature"), Some(expected.as_str()));
    // The same, computed apart (Python's hmac over the values joined).
    assert_eq!(
        digest,
        "sha-256=:J53nLTqsfCXJ621LzGVwuLhjeJGCKQY8on2T2ljff4I=:"
    );
    assert_eq!(
        expected,
        "up42-sig=FYPSJEnRmWvyS3b1g8k6WwfEz/vfKdcXO64GcNq1X78="
    );
    // Nothing of API2Cart's recipe.
    assert!(
        request
            .headers()
            .iter()
            .all(|(n, _)| !n.to_ascii_lowercase().starts_with("x-webhook-")),
        "{:?}",
        request.headers()
    );

    let clock = ManualClock::new(NOW);
    let verified = up42_verifier(SECRET, &clock)
        .verify(delivery_headers(request), body.clone())
        .await
        .unwrap();
    assert_eq!(verified.timestamp(), Some(NOW));
    assert!(verified.body_authenticated());
    let event: up42::Event = verified.payload().unwrap();
    assert_eq!(event.kind, EventKind::OrderStatus);

    let wrong = up42_verifier("another secret", &clock)
        .verify(delivery_headers(request), body.clone())
        .await
        .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::InvalidSignature);
    let tampered = up42_verifier(SECRET, &clock)
        .verify(
            delivery_headers(request),
            Bytes::from(one_byte_changed(body)),
        )
        .await
        .unwrap_err();
    assert_eq!(tampered.status(), 401, "{tampered}");
}

#[tokio::test]
async fn via_service_an_up42_receiver_refuses_the_delivery_with_one_body_byte_changed() {
    let clock = ManualClock::new(NOW);
    let (app, seen) = receiver(&clock);
    let sender = WorkspaceSender::builder()
        .clock(clock)
        .service(app.clone())
        .build();
    let id = sender
        .create(WS, hook("http://receiver.test/hooks"))
        .unwrap()
        .id()
        .to_owned();
    let run = sender.test(WS, &id, Some("order.status")).await.unwrap();
    assert_eq!(counts(&run), (1, 1, 0));
    assert_eq!(seen.lock().unwrap().len(), 1);

    // The same request into the same app, as sent and then with one body byte changed.
    let sent = run.tests()[0].request().clone();
    let replay = |body: Vec<u8>| {
        let mut request = Request::post(sent.target());
        for (name, value) in sent.headers() {
            request = request.header(name, value);
        }
        request.body(Body::from(body)).unwrap()
    };
    let answer = app
        .clone()
        .oneshot(replay(sent.body().to_vec()))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "the untouched copy passes");
    let answer = app
        .oneshot(replay(one_byte_changed(sent.body())))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the changed copy never reached the handler"
    );
}

#[tokio::test]
async fn over_loopback_an_up42_receiver_accepts_the_delivery_and_refuses_one_body_byte_changed() {
    let clock = ManualClock::new(NOW);
    let (app, seen) = receiver(&clock);
    let addr = serve(app).await;
    let sender = WorkspaceSender::builder().clock(clock).http().build();
    let id = sender
        .create(
            WS,
            hook(&format!("http://{addr}/hooks")).events(["job.status", "order.status"]),
        )
        .unwrap()
        .id()
        .to_owned();
    let run = sender.test(WS, &id, None).await.unwrap();
    assert_eq!(counts(&run), (2, 2, 0));
    assert_eq!(seen.lock().unwrap().len(), 2);

    for test in run.tests() {
        let sent = test.request();
        let mut wire = sent.head().into_bytes();
        wire.extend_from_slice(&one_byte_changed(sent.body()));
        let answer = send_raw(addr, &wire, Until::Answered).await;
        assert_eq!(answer.status, 401, "{}: {}", test.event(), answer.text());
    }
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_up42_reference_receiver_accepts_the_wire_request_and_refuses_its_tampered_twin() {
    if !python_available(&[], "the UP42 reference receiver") {
        return;
    }
    let (addr, captured) = capture_one().await;
    let sender = WorkspaceSender::builder()
        .clock(ManualClock::new(NOW))
        .http()
        .build();
    let id = sender
        .create(WS, hook(&format!("http://{addr}/hooks")))
        .unwrap()
        .id()
        .to_owned();
    let run = sender.test(WS, &id, Some("order.status")).await.unwrap();
    assert_eq!(counts(&run), (1, 1, 0));
    let captured = captured.await.unwrap();
    let headers = captured.headers();
    assert!(
        headers.iter().any(|(n, _)| n == "Signature-Input"),
        "{headers:?}"
    );
    let tampered = one_byte_changed(&captured.body);
    let verdicts = up42_reference_failures(
        SECRET,
        NOW,
        &[
            (headers.clone(), captured.body.clone()),
            (headers.clone(), tampered.clone()),
        ],
    );
    assert_eq!(
        verdicts[0],
        Vec::<String>::new(),
        "the reference accepts it"
    );
    assert_eq!(
        verdicts[1],
        ["invalid_digest"],
        "and refuses the tampered twin"
    );
    // A wrong secret fails the MAC; a stale created fails freshness.
    let wrong = up42_reference_failures(
        "another secret",
        NOW,
        &[(headers.clone(), captured.body.clone())],
    );
    assert_eq!(wrong[0], ["invalid_signature"]);
    let late = up42_reference_failures(SECRET, NOW + 300, &[(headers, captured.body)]);
    assert_eq!(late[0], ["stale"]);
}

#[tokio::test]
async fn the_signed_headers_can_be_chosen_and_must_be_carried() {
    let clock = ManualClock::new(NOW);
    let (app, seen) = receiver(&clock);
    let lenient = Router::new()
        .route("/lenient", post(|| async { "ok" }))
        .layer(VerifyWebhookLayer::new(
            Verifier::builder(KeySet::single(SECRET))
                .scheme(Up42::new().danger_accept_unsigned_body())
                .clock(clock.clone())
                .build(),
        ));
    let app = app.merge(lenient);
    let with = |names: &[&str]| {
        WorkspaceSender::builder()
            .clock(clock.clone())
            .service(app.clone())
            .signed_headers(names.iter().copied())
            .build()
    };
    assert_eq!(
        WorkspaceSenderBuilder::DEFAULT_SIGNED_HEADERS,
        ["content-type", "content-digest"]
    );

    // More headers, in the order given (names lowercased).
    let sender = with(&["Content-Digest", "host", "content-length", "content-type"]);
    let id = sender
        .create(WS, hook("http://receiver.test/hooks"))
        .unwrap()
        .id()
        .to_owned();
    let run = sender.test(WS, &id, Some("order.status")).await.unwrap();
    assert_eq!(counts(&run), (1, 1, 0));
    let sent = run.tests()[0].request();
    assert_eq!(
        sent.header("Signature-Input"),
        Some(
            r#"up42-sig=("content-digest" "host" "content-length" "content-type");created=1645197138"#
        )
    );
    let digest = content_digest(sent.body());
    assert_eq!(
        sent.signed_string(),
        format!("{digest}receiver.test{}application/json", sent.body().len()).as_bytes()
    );
    assert_eq!(seen.lock().unwrap().len(), 1);

    // No digest listed: no Content-Digest sent, and nothing binds the body,
    // which Up42 refuses unless told otherwise.
    let sender = with(&["content-type"]);
    let strict = sender
        .create(WS, hook("http://receiver.test/hooks"))
        .unwrap();
    let run = sender
        .test(WS, strict.id(), Some("order.status"))
        .await
        .unwrap();
    assert_eq!(run.tests()[0].status(), Some(401));
    assert_eq!(run.tests()[0].request().header("Content-Digest"), None);
    let lenient = sender
        .create(WS, hook("http://receiver.test/lenient"))
        .unwrap();
    let run = sender
        .test(WS, lenient.id(), Some("order.status"))
        .await
        .unwrap();
    assert_eq!(run.tests()[0].status(), Some(200));

    // A header the delivery does not carry: failed, nothing sent.
    let sender = with(&["content-digest", "x-up42-event"]);
    let id = sender
        .create(WS, hook("http://receiver.test/hooks"))
        .unwrap()
        .id()
        .to_owned();
    let run = sender.test(WS, &id, Some("order.status")).await.unwrap();
    assert_eq!(counts(&run), (1, 0, 1));
    assert_eq!(run.tests()[0].status(), None);
    let error = run.tests()[0].error().unwrap();
    assert!(error.message().contains("x-up42-event"), "{error}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn without_a_secret_deliveries_are_unsigned() {
    let (sender, _clock, seen) = in_process();
    let unsigned = |url: &str| {
        NewWorkspaceWebhook::new("unsigned", url)
            .events(["order.status"])
            .active(true)
    };
    // A verifying receiver refuses it (401), an open one takes it.
    let guarded = sender
        .create(WS, unsigned("http://receiver.test/hooks"))
        .unwrap();
    let open = sender
        .create(WS, unsigned("http://receiver.test/open"))
        .unwrap();
    assert!(!guarded.has_secret());
    assert_eq!(guarded.to_json()["secret"], "");

    let run = sender.test(WS, guarded.id(), None).await.unwrap();
    assert_eq!(counts(&run), (1, 0, 1));
    assert_eq!(run.tests()[0].status(), Some(401));
    let request = run.tests()[0].request();
    // "If no secret is added, there will be no signature header."
    let names: Vec<&str> = request.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Host", "Content-Type", "Content-Length"]);
    assert!(request.signed_string().is_empty());
    let body: Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(body["event"], "order.status");
    assert!(seen.lock().unwrap().is_empty());

    let run = sender.test(WS, open.id(), None).await.unwrap();
    assert_eq!(counts(&run), (1, 1, 0));

    // Removing the secret of a signed webhook makes it unsigned too.
    let signed = sender
        .create(WS, hook("http://receiver.test/hooks"))
        .unwrap();
    sender
        .update(
            WS,
            signed.id(),
            WorkspaceWebhookUpdate::new().remove_secret(),
        )
        .unwrap();
    let run = sender
        .test(WS, signed.id(), Some("order.status"))
        .await
        .unwrap();
    let request = run.tests()[0].request();
    assert_eq!(request.header("Signature"), None);
    assert_eq!(request.header("Signature-Input"), None);
    assert_eq!(request.header("Content-Digest"), None);
    assert_eq!(run.tests()[0].status(), Some(401));
}

#[tokio::test]
async fn failing_receivers_are_counted_as_failed_and_any_2xx_succeeds() {
    let (sender, _clock, _seen) = in_process();
    let failing = sender
        .create(WS, hook("http://receiver.test/fail"))
        .unwrap();
    let run = sender.test(WS, failing.id(), None).await.unwrap();
    assert_eq!(counts(&run), (2, 0, 2));
    let entry = &run.to_json()["data"]["tests"][0];
    assert_eq!(entry["status"], 500);
    assert_eq!(entry["success"], false);
    assert!(!run.tests()[0].is_success());

    let created = sender
        .create(WS, hook("http://receiver.test/created"))
        .unwrap();
    let run = sender.test(WS, created.id(), None).await.unwrap();
    assert_eq!(counts(&run), (2, 2, 0));
    assert_eq!(run.tests()[0].status(), Some(201));
}

#[tokio::test(start_paused = true)]
async fn a_receiver_slower_than_the_attempt_timeout_fails() {
    let clock = ManualClock::new(NOW);
    let (app, _seen) = receiver(&clock);
    let sender = WorkspaceSender::builder()
        .clock(clock)
        .service(app)
        .attempt_timeout(Duration::from_secs(3))
        .build();
    let slow = sender
        .create(
            WS,
            NewWorkspaceWebhook::new("slow", "http://receiver.test/slow")
                .events(["order.status"])
                .active(true),
        )
        .unwrap();
    let run = sender.test(WS, slow.id(), None).await.unwrap();
    assert_eq!(counts(&run), (1, 0, 1));
    let entry = &run.to_json()["data"]["tests"][0];
    assert_eq!(entry["status"], Value::Null);
    assert_eq!(entry["error"]["kind"], "Timeout");
    assert_eq!(run.tests()[0].duration(), Duration::from_secs(3));
}

#[tokio::test]
async fn over_loopback_the_headers_go_out_in_the_vendors_case() {
    let clock = ManualClock::new(NOW);
    let (app, seen) = receiver(&clock);
    let addr = serve(app).await;
    let sender = WorkspaceSender::builder()
        .clock(clock)
        .http()
        .events(catalogue())
        .build();
    let id = sender
        .create(WS, hook(&format!("http://{addr}/hooks")))
        .unwrap()
        .id()
        .to_owned();
    let run = sender.test(WS, &id, None).await.unwrap();
    assert_eq!(counts(&run), (2, 2, 0));
    assert_eq!(seen.lock().unwrap().len(), 2);
    let names: Vec<&str> = run.tests()[0]
        .request()
        .headers()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Host",
            "Content-Type",
            "Content-Digest",
            "Signature-Input",
            "Signature",
            "Content-Length"
        ]
    );

    // Nothing listening: a failed test with the transport error, not an Err.
    let closed = sender
        .update(
            WS,
            &id,
            WorkspaceWebhookUpdate::new().url(format!("http://127.0.0.1:{}/hooks", closed_port())),
        )
        .unwrap();
    let run = sender
        .test(WS, closed.id(), Some("order.status"))
        .await
        .unwrap();
    assert_eq!(counts(&run), (1, 0, 1));
    let entry = &run.to_json()["data"]["tests"][0];
    assert_eq!(entry["status"], Value::Null);
    assert_eq!(entry["error"]["kind"], "Connect");

    // https cannot go over the mock's plain HTTP: failed, nothing sent.
    sender
        .update(
            WS,
            &id,
            WorkspaceWebhookUpdate::new().url("https://my.sample.endpoint.com/"),
        )
        .unwrap();
    let run = sender.test(WS, &id, Some("order.status")).await.unwrap();
    assert_eq!(counts(&run), (1, 0, 1));
    let error = run.tests()[0].error().unwrap();
    assert!(error.message().contains("plain HTTP"), "{error}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn webhooks_are_created_read_updated_and_deleted_per_workspace() {
    let (sender, clock, _seen) = in_process();
    assert_eq!(
        sender
            .events()
            .iter()
            .map(WorkspaceEvent::name)
            .collect::<Vec<_>>(),
        ["order.status", "job.status"]
    );
    assert_eq!(
        WorkspaceEvent::defaults()
            .iter()
            .map(WorkspaceEvent::name)
            .collect::<Vec<_>>(),
        ["job.status", "order.status"]
    );
    assert_eq!(
        WorkspaceEvent::order_status().to_json()["name"],
        "order.status"
    );

    let first = sender
        .create(
            WS,
            NewWorkspaceWebhook::new("  first  ", "http://receiver.test/hooks")
                .events(["order.status", "order.status"]),
        )
        .unwrap();
    assert_eq!(first.name(), "first");
    assert_eq!(first.events(), ["order.status"]);
    assert!(!first.is_active(), "inactive unless asked");
    let second = sender
        .create(WS, hook("http://receiver.test/open"))
        .unwrap();
    let elsewhere = sender
        .create("ws-2", hook("http://receiver.test/open"))
        .unwrap();
    assert_ne!(first.id(), second.id());
    assert_eq!(
        sender
            .list(WS)
            .iter()
            .map(|w| w.id().to_owned())
            .collect::<Vec<_>>(),
        [first.id(), second.id()]
    );
    assert_eq!(sender.list("ws-2").len(), 1);
    assert_eq!(sender.list("nobody").len(), 0);
    assert_eq!(sender.get(WS, second.id()).unwrap().name(), second.name());
    assert_eq!(
        sender.get(WS, elsewhere.id()).unwrap_err(),
        WorkspaceError::UnknownWebhook {
            workspace: WS.to_owned(),
            id: elsewhere.id().to_owned()
        }
    );

    clock.advance(10);
    let updated = sender
        .update(
            WS,
            first.id(),
            WorkspaceWebhookUpdate::new()
                .name("renamed")
                .events(["job.status"])
                .secret(SECRET)
                .active(true),
        )
        .unwrap();
    assert_eq!(updated.name(), "renamed");
    assert_eq!(updated.url(), "http://receiver.test/hooks");
    assert_eq!(updated.events(), ["job.status"]);
    assert!(updated.has_secret() && updated.is_active());
    assert_eq!(
        (updated.created_at(), updated.updated_at()),
        (NOW, NOW + 10)
    );
    let json = updated.to_json();
    assert_eq!(json["updatedAt"], "2022-02-18T15:12:28.000000Z");
    assert_eq!(json["workspaceId"], WS);
    // UP42's GET answers the secret in clear; Debug still hides it.
    assert_eq!(json["secret"], SECRET);
    assert_eq!(updated.secret(), Some(SECRET));
    assert!(!format!("{updated:?}").contains(SECRET));

    // PUT replaces all of it: secret and active left out are dropped.
    let replaced = sender
        .replace(
            WS,
            first.id(),
            NewWorkspaceWebhook::new("again", "http://receiver.test/open").events(["order.status"]),
        )
        .unwrap();
    assert_eq!(replaced.id(), first.id());
    assert!(!replaced.has_secret() && !replaced.is_active());
    assert_eq!(replaced.to_json()["secret"], "");
    assert_eq!(replaced.created_at(), NOW);

    // A GET body sent back unchanged (its "" secret included) changes nothing.
    let read = sender.get(WS, first.id()).unwrap().to_json();
    let again = sender
        .replace(
            WS,
            first.id(),
            NewWorkspaceWebhook::from_json(&read).unwrap(),
        )
        .unwrap();
    assert_eq!(again.to_json(), read);

    sender.delete(WS, first.id()).unwrap();
    assert_eq!(sender.get(WS, first.id()).unwrap_err().status(), 404);
    assert_eq!(
        sender.delete(WS, first.id()).unwrap_err().code(),
        "webhook_not_found"
    );
    assert_eq!(sender.delete(WS, elsewhere.id()).unwrap_err().status(), 404);
    assert_eq!(sender.list("ws-2").len(), 1);
}

#[tokio::test]
async fn bad_requests_are_refused_with_codes_and_nothing_changes() {
    let (sender, _clock, seen) = in_process();
    let code = |result: Result<_, WorkspaceError>| {
        let err = result
            .map(|_: webhook_guard::mock::WorkspaceWebhook| ())
            .unwrap_err();
        assert_eq!(err.to_json()["error"]["code"], err.code());
        assert_eq!(err.to_json()["data"], Value::Null);
        (err.status(), err.code())
    };
    let base =
        || NewWorkspaceWebhook::new("n", "http://receiver.test/hooks").events(["order.status"]);
    assert_eq!(
        code(sender.create(WS, base().events(["order.nope"]))),
        (400, "unknown_event")
    );
    assert_eq!(
        code(sender.create(WS, base().events(Vec::<String>::new()))),
        (400, "invalid_field")
    );
    assert_eq!(
        code(sender.create(
            WS,
            NewWorkspaceWebhook::new(" ", "http://x/").events(["order.status"])
        )),
        (400, "invalid_field")
    );
    for url in [
        "/hooks",
        "ftp://example.com/",
        "example.com/hooks",
        "http://",
    ] {
        assert_eq!(
            code(sender.create(
                WS,
                NewWorkspaceWebhook::new("n", url).events(["order.status"])
            )),
            (400, "invalid_url"),
            "{url}"
        );
    }
    assert_eq!(code(sender.create("", base())), (400, "invalid_field"));
    assert!(sender.list(WS).is_empty(), "nothing refused was kept");
    // "" is how GET says "no secret", so it is no secret, not an error.
    let empty = sender.create("ws-empty", base().secret("")).unwrap();
    assert!(!empty.has_secret());

    let missing = NewWorkspaceWebhook::from_json(&json!({"events": ["order.status"], "name": "n"}));
    assert_eq!(
        missing.unwrap_err(),
        WorkspaceError::MissingField { field: "url" }
    );
    let missing =
        NewWorkspaceWebhook::from_json(&json!({"url": "http://x/", "events": ["order.status"]}));
    assert_eq!(
        missing.unwrap_err(),
        WorkspaceError::MissingField { field: "name" }
    );

    let id = sender.create(WS, base()).unwrap().id().to_owned();
    assert_eq!(
        code(sender.update(
            WS,
            &id,
            WorkspaceWebhookUpdate::new().name("changed").url("nope")
        )),
        (400, "invalid_url")
    );
    assert_eq!(
        sender.get(WS, &id).unwrap().name(),
        "n",
        "a refused update changes nothing"
    );
    assert_eq!(
        code(sender.update(WS, "no-such-id", WorkspaceWebhookUpdate::new())),
        (404, "webhook_not_found")
    );

    // Test runs: inactive, unknown event, event not subscribed, unknown webhook.
    let test_code = |result: Result<TestRun, WorkspaceError>| {
        let err = result.unwrap_err();
        (err.status(), err.code())
    };
    assert_eq!(
        test_code(sender.test(WS, &id, None).await),
        (400, "webhook_inactive")
    );
    sender
        .update(WS, &id, WorkspaceWebhookUpdate::new().active(true))
        .unwrap();
    assert_eq!(
        test_code(sender.test(WS, &id, Some("order.nope")).await),
        (400, "unknown_event")
    );
    assert_eq!(
        test_code(sender.test(WS, &id, Some("job.status")).await),
        (400, "event_not_subscribed")
    );
    assert_eq!(
        test_code(sender.test("ws-2", &id, None).await),
        (404, "webhook_not_found")
    );
    assert!(sender.journal().is_empty(), "refused tests send nothing");
    assert!(seen.lock().unwrap().is_empty());
    // Once active it is sent: unsigned, so the verifying receiver says 401.
    let run = sender.test(WS, &id, None).await.unwrap();
    assert_eq!(counts(&run), (1, 0, 1));
    assert_eq!(run.tests()[0].status(), Some(401));
    assert_eq!(sender.journal().len(), 1);
}

#[tokio::test]
async fn a_journal_limit_keeps_the_most_recent_tests() {
    let clock = ManualClock::new(NOW);
    let (app, _seen) = receiver(&clock);
    let sender = WorkspaceSender::builder()
        .clock(clock)
        .service(app)
        .events(catalogue())
        .journal_limit(1)
        .build();
    let created = sender
        .create(WS, hook("https://my.sample.endpoint.com/hooks"))
        .unwrap();
    let run = sender.test(WS, created.id(), None).await.unwrap();
    assert_eq!(counts(&run), (2, 2, 0), "the run reports every test");
    let journal = sender.journal();
    assert_eq!((journal.len(), journal.total_attempts()), (1, 2));
    assert_eq!(journal.attempts()[0].event(), "job.status");
    assert_eq!(journal.wait_for(2, Duration::ZERO).await.unwrap().len(), 1);
}
