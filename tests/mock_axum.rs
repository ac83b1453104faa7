//! The mock sender against axum receivers: the layer and the extractor,
//! in-process and over real HTTP/1.1; the bytes on the wire; the journal,
//! waiting and expectations.

mod support;

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{Value, json};
use support::examples::example_binary;
use support::servers::{capture_one, serve};
use support::{KEY, NOW, TIMEOUT};
use webhook_guard::axum::Webhook;
use webhook_guard::mock::{
    AttemptOutcome, DeliveryOutcome, Event, Expectation, Fault, MockSender, MockSenderBuilder,
    NewSubscription,
};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{
    Action, Entity, KeySet, ManualClock, SignedHeaders, Signer, VerifiedWebhook, Verifier,
};

/// Every delivery a receiver's handler saw.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<VerifiedWebhook>>>);

impl Seen {
    fn push(&self, event: VerifiedWebhook) {
        self.0.lock().expect("seen lock").push(event);
    }

    fn all(&self) -> Vec<VerifiedWebhook> {
        self.0.lock().expect("seen lock").clone()
    }
}

fn verifier(clock: &ManualClock) -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .build()
}

/// `POST /webhooks` behind the layer; the handler records the event.
fn layered(verifier: Verifier, seen: &Seen) -> Router {
    async fn record(
        State(seen): State<Seen>,
        Extension(event): Extension<VerifiedWebhook>,
    ) -> &'static str {
        seen.push(event);
        "ok"
    }
    Router::new()
        .route("/webhooks", post(record))
        .with_state(seen.clone())
        .layer(VerifyWebhookLayer::new(verifier))
}

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
    seen: Seen,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// `POST /webhooks` with the `Webhook<Value>` extractor and no layer.
fn extracting(verifier: Verifier, seen: &Seen) -> Router {
    async fn record(State(state): State<AppState>, webhook: Webhook<Value>) -> &'static str {
        state.seen.push(webhook.into_event());
        "ok"
    }
    Router::new()
        .route("/webhooks", post(record))
        .with_state(AppState {
            verifier,
            seen: seen.clone(),
        })
}

fn product() -> Event {
    Event::new(Entity::Product, Action::Add).json(json!({
        "id": "86",
        "name": "Cable 3/4\" café",
        "url": "https://shop.example/p/86",
    }))
}

const PRODUCT_BODY: &str =
    r#"{"id":"86","name":"Cable 3\/4\" caf\u00e9","url":"https:\/\/shop.example\/p\/86"}"#;

#[tokio::test]
async fn in_process_into_the_layer_the_handler_sees_the_signed_bytes() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let sender = in_process(&clock, &seen).build().expect("sender");

    let delivery = sender.send(product()).await;
    assert_eq!(
        delivery.outcome(),
        DeliveryOutcome::Delivered { attempt: 1 }
    );
    assert_eq!(delivery.statuses(), [Some(200)]);

    let events = seen.all();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.body(), PRODUCT_BODY.as_bytes());
    assert_eq!(event.entity(), Some(Entity::Product));
    assert_eq!(event.action(), Some(Action::Add));
    assert_eq!(event.store_id().expect("store id").as_str(), "1");
    assert_eq!(event.timestamp(), Some(NOW));
    assert_eq!(event.error_notice(), None);

    // The journal has the request as the vendor writes it.
    let request = delivery.attempts()[0].request();
    let names: Vec<&str> = request.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "X-Webhook-Store-Id",
            "X-Webhook-Action",
            "X-Webhook-Entity",
            "X-Webhook-Error-Code",
            "X-Webhook-Timestamp",
            "X-Webhook-Signature",
            "Content-Length",
        ]
    );
    assert_eq!(
        request.header("x-webhook-timestamp"),
        Some(&*NOW.to_string())
    );
    assert_eq!(request.body(), PRODUCT_BODY.as_bytes());
    // The signed string is the header JSON the verifier rebuilds, then the body.
    let signed = SignedHeaders::from_pairs(
        request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    )
    .expect("signed headers");
    let mut expected = signed.to_json();
    expected.extend_from_slice(PRODUCT_BODY.as_bytes());
    assert_eq!(request.signed_string(), &expected[..]);
    assert_eq!(
        request.signature(),
        Some(&*Signer::new(KEY).sign(&signed, PRODUCT_BODY.as_bytes()))
    );
}

#[tokio::test]
async fn in_process_into_the_extractor() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let sender = MockSender::builder(KEY)
        .clock(clock.clone())
        .service(extracting(verifier(&clock), &seen))
        .callback("http://receiver.test/webhooks")
        .build()
        .expect("sender");

    let delivery = sender.send(product().store_id("7")).await;
    assert!(delivery.is_delivered());
    // An absolute callback gives the request a Host header.
    assert_eq!(
        delivery.attempts()[0].request().headers()[0],
        ("Host".to_owned(), "receiver.test".to_owned())
    );
    let events = seen.all();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].store_id().expect("store id").as_str(), "7");
    let payload: Value = events[0].payload().expect("JSON payload");
    assert_eq!(payload["name"], "Cable 3/4\" café");

    let refused = sender.send(product().fault(Fault::WrongKey)).await;
    assert_eq!(refused.statuses(), [Some(401), Some(401)]);
    assert_eq!(
        seen.all().len(),
        1,
        "a refused delivery never reaches the handler"
    );
}

#[tokio::test]
async fn over_http_into_the_layer_and_the_extractor() {
    let clock = ManualClock::new(NOW);
    for (name, app, seen) in [
        (
            "layer",
            layered as fn(Verifier, &Seen) -> Router,
            Seen::default(),
        ),
        ("extractor", extracting, Seen::default()),
    ] {
        let addr = serve(app(verifier(&clock), &seen)).await;
        let url = format!("http://{addr}/webhooks");
        let sender = MockSender::builder(KEY)
            .clock(clock.clone())
            .url(&url)
            .build()
            .expect("sender");

        let delivery = sender.send(product()).await;
        assert!(delivery.is_delivered(), "{name}: {delivery:?}");
        let attempt = &delivery.attempts()[0];
        assert_eq!(attempt.request().url(), url);
        assert_eq!(attempt.request().headers()[0].0, "Host");
        assert_eq!(attempt.response().expect("answer").text(), "ok");
        assert_eq!(seen.all().len(), 1, "{name}");
        assert_eq!(seen.all()[0].body(), PRODUCT_BODY.as_bytes(), "{name}");

        let stale = sender
            .send(product().fault(Fault::StaleTimestamp { seconds: 301 }))
            .await;
        assert_eq!(stale.statuses(), [Some(401), Some(401)], "{name}");
        assert_eq!(
            stale.attempts()[0].response().expect("answer").text(),
            "webhook timestamp outside tolerance"
        );
    }
}

#[tokio::test]
async fn the_vendor_header_case_is_what_goes_on_the_wire() {
    let (addr, captured) = capture_one().await;
    let sender = MockSender::builder(KEY)
        .clock(ManualClock::new(NOW))
        .url(format!("http://{addr}/hooks?shop=a%2Fb"))
        .build()
        .expect("sender");
    let event = Event::new(Entity::Order, Action::Update)
        .body_bytes(r#"{"id":"25"}"#)
        .header("X-Webhook-Note", "a/b café");
    let delivery = sender.send(event).await;
    assert!(delivery.is_delivered(), "{delivery:?}");
    let captured = tokio::time::timeout(TIMEOUT, captured)
        .await
        .expect("captured in time")
        .expect("capture task");

    let sent = delivery.attempts()[0].request();
    // The journal's head is byte for byte what the listener read.
    assert_eq!(captured.head, sent.head());
    assert_eq!(captured.body, br#"{"id":"25"}"#);
    assert!(
        captured
            .head
            .starts_with("POST /hooks?shop=a%2Fb HTTP/1.1\r\nHost: 127.0.0.1:"),
        "{}",
        captured.head
    );
    for line in [
        "\r\nContent-Type: application/json\r\n",
        "\r\nX-Webhook-Store-Id: 1\r\n",
        "\r\nX-Webhook-Action: update\r\n",
        "\r\nX-Webhook-Entity: order\r\n",
        "\r\nX-Webhook-Error-Code: 0\r\n",
        &format!("\r\nX-Webhook-Timestamp: {NOW}\r\n"),
        "\r\nX-Webhook-Note: a/b café\r\n",
        "\r\nContent-Length: 11\r\n",
    ] {
        assert!(
            captured.head.contains(line),
            "{line:?} in\n{}",
            captured.head
        );
    }
    assert!(
        !captured.head.contains("x-webhook-"),
        "no lowercase name in\n{}",
        captured.head
    );
}

#[tokio::test]
async fn lowercase_names_go_out_lowercase_and_still_verify() {
    let (addr, captured) = capture_one().await;
    let sender = http_sender(ManualClock::new(NOW), addr);
    let delivery = sender.send(product().fault(Fault::LowercaseNames)).await;
    let captured = captured.await.expect("capture task");
    assert_eq!(captured.head, delivery.attempts()[0].request().head());
    assert!(captured.head.contains("\r\nx-webhook-store-id: 1\r\n"));
    assert!(!captured.head.contains("X-Webhook-"), "{}", captured.head);

    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let addr = serve(layered(verifier(&clock), &seen)).await;
    let sender = http_sender(clock, addr);
    assert!(
        sender
            .send(product().fault(Fault::LowercaseNames))
            .await
            .is_delivered()
    );
    assert_eq!(seen.all()[0].body(), PRODUCT_BODY.as_bytes());
}

#[tokio::test]
async fn a_slow_body_goes_out_chunked_and_arrives_whole() {
    let slow = Fault::SlowBody {
        chunk_size: 8,
        delay: Duration::from_millis(5),
    };
    let (addr, captured) = capture_one().await;
    let sender = http_sender(ManualClock::new(NOW), addr);
    let delivery = sender.send(product().fault(slow.clone())).await;
    let captured = captured.await.expect("capture task");
    assert!(captured.head.contains("\r\nTransfer-Encoding: chunked\r\n"));
    assert!(!captured.head.contains("Content-Length"));
    assert_eq!(captured.body, PRODUCT_BODY.as_bytes());
    assert_eq!(captured.head, delivery.attempts()[0].request().head());

    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let addr = serve(layered(verifier(&clock), &seen)).await;
    let sender = http_sender(clock, addr);
    assert!(sender.send(product().fault(slow)).await.is_delivered());
    assert_eq!(seen.all()[0].body(), PRODUCT_BODY.as_bytes());
}

#[tokio::test(start_paused = true)]
async fn a_slow_body_in_process_takes_tokio_time_only() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    // The pauses add up to minutes of tokio time: more than the default 10 s
    // the sender waits for an answer and the receiver for a body.
    let receiver = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .body_timeout(Duration::from_secs(3600))
        .build();
    let sender = MockSender::builder(KEY)
        .clock(clock.clone())
        .service(layered(receiver, &seen))
        .callback("/webhooks")
        .attempt_timeout(Duration::from_secs(3600))
        .build()
        .expect("sender");
    let chunks = PRODUCT_BODY.len().div_ceil(4) as u32;
    let delivery = sender
        .send(product().fault(Fault::SlowBody {
            chunk_size: 4,
            delay: Duration::from_secs(30),
        }))
        .await;
    assert!(delivery.is_delivered());
    // One pause before every chunk but the first, in paused tokio time.
    assert!(
        delivery.attempts()[0].latency() >= Duration::from_secs(30) * (chunks - 1),
        "{:?}",
        delivery.attempts()[0].latency()
    );
    assert_eq!(seen.all()[0].body(), PRODUCT_BODY.as_bytes());
}

#[tokio::test(start_paused = true)]
async fn background_deliveries_are_awaited_with_wait_for() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let sender = in_process(&clock, &seen).build().expect("sender");
    for label in ["first", "second"] {
        sender
            .subscriptions()
            .create(NewSubscription::new(Entity::Product, Action::Add).label(label))
            .expect("subscription");
    }
    let journal = sender.journal();
    assert!(journal.is_empty());

    let handle = sender.emit_in_background(product());
    let attempts = journal.wait_for(2, TIMEOUT).await.expect("two attempts");
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome() == AttemptOutcome::Delivered)
    );
    let deliveries = journal
        .wait_for_deliveries(2, TIMEOUT)
        .await
        .expect("two deliveries");
    assert_eq!(
        deliveries
            .iter()
            .map(|d| d.webhook_id())
            .collect::<Vec<_>>(),
        handle
            .await
            .expect("task")
            .iter()
            .map(|d| d.webhook_id())
            .collect::<Vec<_>>()
    );
    assert_eq!(seen.all().len(), 2);

    // Nothing more comes: the wait gives up after its timeout (paused time).
    let err = journal
        .wait_for(3, Duration::from_secs(60))
        .await
        .expect_err("no third attempt");
    assert_eq!(err.seen(), 2);
}

#[tokio::test]
async fn key_rotation_is_seen_by_a_receiver_holding_both_keys() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let verifier = Verifier::builder(KeySet::single(KEY).with_key("next", "the-next-key"))
        .clock(clock.clone())
        .build();
    let sender = MockSender::builder(KEY)
        .clock(clock)
        .service(layered(verifier, &seen))
        .callback("/webhooks")
        .build()
        .expect("sender");
    assert!(sender.send(product()).await.is_delivered());
    sender.rotate_store_key("the-next-key");
    assert!(sender.send(product()).await.is_delivered());
    let keys: Vec<String> = seen
        .all()
        .iter()
        .map(|e| e.key_id().as_str().to_owned())
        .collect();
    assert_eq!(keys, ["default", "next"]);
    assert!(!format!("{sender:?}").contains("the-next-key"));
}

#[tokio::test]
async fn a_journal_entry_as_json() {
    let clock = ManualClock::new(NOW);
    let sender = in_process_sender(&clock);
    let delivery = sender.send(product()).await;
    let json = delivery.to_json();
    assert_eq!(json["delivered"], true);
    assert_eq!(json["delivered_on_attempt"], 1);
    let attempt = &json["attempts"][0];
    assert_eq!(attempt["attempt"], 1);
    assert_eq!(attempt["outcome"], "delivered");
    assert_eq!(attempt["sent_at"], NOW);
    assert_eq!(attempt["response"]["status"], 200);
    assert_eq!(attempt["response"]["body"], "ok");
    assert_eq!(attempt["request"]["body"], PRODUCT_BODY);
    assert_eq!(
        attempt["request"]["headers"][1],
        json!(["X-Webhook-Store-Id", "1"])
    );
    let signed = attempt["request"]["signed_string"].as_str().expect("text");
    assert!(signed.starts_with(r#"{"X-Webhook-Action":"add","X-Webhook-Entity":"product""#));
    assert!(signed.ends_with(PRODUCT_BODY));
}

/// Runs `f` on a runtime of its own, catching its panic.
fn panic_message(f: impl FnOnce(&tokio::runtime::Runtime)) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let caught = catch_unwind(AssertUnwindSafe(|| f(&runtime)));
    caught.err().map(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

/// A sender that delivers into the layered receiver, which records in `seen`.
fn in_process(clock: &ManualClock, seen: &Seen) -> MockSenderBuilder {
    MockSender::builder(KEY)
        .clock(clock.clone())
        .service(layered(verifier(clock), seen))
        .callback("/webhooks")
}

fn in_process_sender(clock: &ManualClock) -> MockSender {
    in_process(clock, &Seen::default()).build().expect("sender")
}

/// A sender that delivers over HTTP to `/webhooks` at `addr`.
fn http_sender(clock: ManualClock, addr: SocketAddr) -> MockSender {
    MockSender::builder(KEY)
        .clock(clock)
        .url(format!("http://{addr}/webhooks"))
        .build()
        .expect("sender")
}

#[test]
fn met_expectations_pass_silently_when_the_sender_is_dropped() {
    let message = panic_message(|runtime| {
        let clock = ManualClock::new(NOW);
        let sender = in_process_sender(&clock);
        sender.expect(Expectation::delivered().entity(Entity::Product).times(1));
        sender.expect(Expectation::answered(401).times(2));
        sender.expect(Expectation::undelivered().times(..=1));
        runtime.block_on(async {
            sender.send(product()).await;
            sender.send(product().fault(Fault::TamperedBody)).await;
        });
        drop(sender);
    });
    assert_eq!(message, None);
}

#[test]
fn unmet_expectations_panic_on_drop_with_a_readable_diff() {
    let message = panic_message(|runtime| {
        let clock = ManualClock::new(NOW);
        let sender = in_process_sender(&clock);
        sender.expect(Expectation::delivered().times(2));
        sender.expect(
            Expectation::attempts()
                .entity(Entity::Order)
                .named("order attempts"),
        );
        sender.expect(Expectation::answered(200).times(1));
        runtime.block_on(sender.send(product()));
        drop(sender);
    })
    .expect("the drop panics");
    assert!(
        message.starts_with("2 of 3 expectations of the mock sender were not met:"),
        "{message}"
    );
    assert!(
        message.contains("  deliveries delivered\n  - expected: exactly 2\n  + actual:   1\n"),
        "{message}"
    );
    assert!(
        message.contains("  order attempts\n  - expected: at least 1\n  + actual:   0\n"),
        "{message}"
    );
    assert!(!message.contains("attempts answered 200"), "{message}");
    assert!(
        message.contains("journal:\n  delivery 1, attempt 1: product/add -> 200 \"ok\" in "),
        "{message}"
    );
}

#[test]
fn verify_checks_now_and_the_drop_does_not_check_again() {
    let message = panic_message(|runtime| {
        let clock = ManualClock::new(NOW);
        let sender = in_process_sender(&clock);
        sender.expect(Expectation::deliveries().times(1));
        runtime.block_on(sender.send(product()));
        sender.verify();
        assert!(sender.unmet_expectations().is_none());
        drop(sender);
    });
    assert_eq!(message, None);

    let message = panic_message(|_| {
        let clock = ManualClock::new(NOW);
        let sender = in_process_sender(&clock);
        sender.expect(Expectation::deliveries().times(1));
        sender.verify();
    })
    .expect("verify panics");
    assert!(message.contains("+ actual:   0"), "{message}");
}

#[test]
fn no_second_panic_while_the_test_is_already_failing() {
    let message = panic_message(|_| {
        let clock = ManualClock::new(NOW);
        let _sender = in_process_sender(&clock);
        _sender.expect(Expectation::delivered().times(5));
        panic!("the test's own failure");
    });
    // The test's own message, not an abort from a panic inside a panic.
    assert_eq!(message.as_deref(), Some("the test's own failure"));
}

#[test]
fn the_quickstart_runs_and_prints_its_summary() {
    let output = Command::new(example_binary("quickstart"))
        .output()
        .expect("run the quickstart");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(output.status.success(), "{stdout}");
    for line in [
        "  product add      delivered on attempt 1 (200)",
        "  order update     delivered on attempt 1 (200)",
        "  tampered body    not delivered (401, 401): invalid webhook signature",
        "  stale timestamp  not delivered (401, 401): webhook timestamp outside tolerance",
        "the receiver's handler ran 2 times: product add (id 86), order update (id 25)",
        "2 of 4 deliveries accepted; account.failed_webhooks lists 2 (entity ids 86, 86)",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in\n{stdout}");
    }
}
