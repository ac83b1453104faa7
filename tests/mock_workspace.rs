//! The seed-004 vendor's mock (`WorkspaceSender`): webhook CRUD, the event
//! catalogue, test runs in-process and over loopback, signatures that the
//! crate's `Verifier` accepts with the webhook's secret, unsigned deliveries
//! without one, failures counted, and the validation errors.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};
use support::servers::{closed_port, serve};
use webhook_guard::mock::{
    NewWorkspaceWebhook, TestRun, WorkspaceError, WorkspaceEvent, WorkspaceSender,
    WorkspaceWebhookUpdate,
};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{
    Action, DeliveryHeaders, Entity, ErrorKind, KeySet, ManualClock, VerifiedWebhook, Verifier,
};

const SECRET: &str = "QWZTFnMEXhqZKNmu";
/// 2022-02-18T15:12:18Z, the second of the vendor's sample report.
const NOW: i64 = 1_645_197_138;
const WS: &str = "ws-1";

/// What a verified receiver saw: (entity, action, body) per delivery.
type Seen = Arc<Mutex<Vec<(Entity, Action, Bytes)>>>;

/// An axum receiver: `/hooks` behind `VerifyWebhookLayer` keyed with
/// `SECRET`, `/open` unverified (200), `/fail` 500, `/created` 201.
fn receiver(clock: &ManualClock) -> (Router, Seen) {
    let seen: Seen = Arc::default();
    let verifier = Verifier::builder(KeySet::single(SECRET))
        .clock(clock.clone())
        .build();
    let verified = Router::new()
        .route(
            "/hooks",
            post(
                |State(seen): State<Seen>,
                 axum::Extension(hook): axum::Extension<VerifiedWebhook>| async move {
                    let entity = hook.entity().expect("entity header");
                    let action = hook.action().expect("action header");
                    seen.lock()
                        .unwrap()
                        .push((entity, action, hook.body().clone()));
                    "ok"
                },
            ),
        )
        .layer(VerifyWebhookLayer::new(verifier))
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

/// Two events, so "one" and "all" differ.
fn catalogue() -> Vec<WorkspaceEvent> {
    vec![
        WorkspaceEvent::order_status(),
        WorkspaceEvent::new("order", "created")
            .description("An order was placed.")
            .sample(json!({"orderId": "TEST-ORDER-0002"})),
    ]
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
        .events(["order.status", "order.created"])
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
    assert_eq!(json["data"]["tests"][1]["event"], "order.created");

    // The receiver verified both, in the webhook's event order.
    let seen = seen.lock().unwrap().clone();
    let events: Vec<(Entity, Action)> = seen
        .iter()
        .map(|(e, a, _)| (e.clone(), a.clone()))
        .collect();
    assert_eq!(
        events,
        [
            (Entity::Order, Action::parse("status")),
            (Entity::Order, Action::parse("created")),
        ]
    );
    let body: Value = serde_json::from_slice(&seen[0].2).unwrap();
    assert_eq!(body["event"], "order.status");
    assert_eq!(body["test"], true);
    assert_eq!(body["webhookId"], created.id());
    assert_eq!(body["workspaceId"], WS);
    assert_eq!(body["data"]["status"], "FULFILLED");

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
    let run = sender.test(WS, &id, Some("order.created")).await.unwrap();
    assert_eq!(counts(&run), (1, 1, 0));
    assert_eq!(run.tests()[0].event(), "order.created");
    assert_eq!(run.started_at(), NOW + 60);
    assert_eq!(
        run.to_json()["data"]["startedAt"],
        "2022-02-18T15:13:18.000000Z"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_signature_verifies_with_the_secret_and_nothing_else() {
    let (sender, _clock, _seen) = in_process();
    let id = sender
        .create(WS, hook("http://receiver.test/hooks"))
        .unwrap()
        .id()
        .to_owned();
    let run = sender.test(WS, &id, Some("order.status")).await.unwrap();
    let request = run.tests()[0].request();
    assert_eq!(request.header("X-Webhook-Entity"), Some("order"));
    assert_eq!(request.header("X-Webhook-Action"), Some("status"));
    assert_eq!(request.header("X-Webhook-Timestamp"), Some("1645197138"));
    assert_eq!(request.header("Host"), Some("receiver.test"));
    assert!(request.signature().is_some());
    assert!(
        request
            .signed_string()
            .starts_with(br#"{"X-Webhook-Action":"status","X-Webhook-Entity":"order","X-Webhook-Timestamp":"1645197138"}"#)
    );

    let headers = || {
        DeliveryHeaders::from_pairs(
            request
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        )
        .unwrap()
    };
    let verifier = |key: &str| {
        Verifier::builder(KeySet::single(key))
            .clock(ManualClock::new(NOW))
            .build()
    };
    let verified = verifier(SECRET)
        .verify(headers(), request.body().clone())
        .await
        .unwrap();
    assert_eq!(verified.entity(), Some(Entity::Order));
    assert_eq!(verified.timestamp(), Some(NOW));
    let wrong = verifier("another secret")
        .verify(headers(), request.body().clone())
        .await
        .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::InvalidSignature);
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
    assert_eq!(guarded.to_json()["hasSecret"], false);

    let run = sender.test(WS, guarded.id(), None).await.unwrap();
    assert_eq!(counts(&run), (1, 0, 1));
    assert_eq!(run.tests()[0].status(), Some(401));
    let request = run.tests()[0].request();
    assert_eq!(request.signature(), None);
    assert!(
        request
            .headers()
            .iter()
            .all(|(n, _)| n != "X-Webhook-Signature")
    );
    assert!(request.signed_string().is_empty());
    assert_eq!(request.header("X-Webhook-Entity"), Some("order"));
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
    assert_eq!(run.tests()[0].request().signature(), None);
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
            "X-Webhook-Entity",
            "X-Webhook-Action",
            "X-Webhook-Timestamp",
            "X-Webhook-Signature",
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
        ["order.status", "order.created"]
    );
    assert_eq!(WorkspaceEvent::defaults().len(), 1);
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
                .events(["order.created"])
                .secret(SECRET)
                .active(true),
        )
        .unwrap();
    assert_eq!(updated.name(), "renamed");
    assert_eq!(updated.url(), "http://receiver.test/hooks");
    assert_eq!(updated.events(), ["order.created"]);
    assert!(updated.has_secret() && updated.is_active());
    assert_eq!(
        (updated.created_at(), updated.updated_at()),
        (NOW, NOW + 10)
    );
    let json = updated.to_json();
    assert_eq!(json["updatedAt"], "2022-02-18T15:12:28.000000Z");
    assert_eq!(json["workspaceId"], WS);
    assert!(
        !json.to_string().contains(SECRET),
        "the secret is never echoed"
    );
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
    assert_eq!(replaced.created_at(), NOW);

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
    assert_eq!(
        code(sender.create(WS, base().secret(""))),
        (400, "invalid_field")
    );
    assert_eq!(code(sender.create("", base())), (400, "invalid_field"));
    assert!(sender.list(WS).is_empty(), "nothing refused was kept");

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
        test_code(sender.test(WS, &id, Some("order.created")).await),
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
    assert_eq!(journal.attempts()[0].action(), &Action::parse("created"));
    assert_eq!(journal.wait_for(2, Duration::ZERO).await.unwrap().len(), 1);
}
