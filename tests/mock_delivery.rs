//! API2Cart delivery semantics with a virtual clock: only 200 is delivered,
//! one retry freshly signed, the failed log and its 24 hours, no answer and
//! timeouts, lost-connection notices and disabling after five.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router, extract::State};
use serde_json::json;
use support::servers::closed_port;
use support::{KEY, NOW};
use webhook_guard::mock::{
    AttemptOutcome, BuildError, DeliveryOutcome, Event, FailedQuery, Fault, LostConnection,
    MockSender, NewSubscription, SubscriptionFilter, SubscriptionUpdate, TransportFailureKind,
};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{
    Action, Entity, ErrorNotice, KeySet, ManualClock, VerifiedWebhook, Verifier, names,
};

/// A verifying receiver whose handler answers scripted statuses (the last
/// one again once used up), records what it saw, and can move the shared
/// clock on each call, as time passing between attempts.
#[derive(Clone)]
struct Receiver {
    statuses: Arc<Mutex<VecDeque<u16>>>,
    last: u16,
    seen: Arc<Mutex<Vec<VerifiedWebhook>>>,
    clock: ManualClock,
    step: i64,
}

impl Receiver {
    fn new(clock: &ManualClock, script: &[u16]) -> Self {
        Self {
            statuses: Arc::new(Mutex::new(script.iter().copied().collect())),
            last: *script.last().expect("a status"),
            seen: Arc::default(),
            clock: clock.clone(),
            step: 0,
        }
    }

    fn moving_the_clock(mut self, seconds: i64) -> Self {
        self.step = seconds;
        self
    }

    fn seen(&self) -> Vec<VerifiedWebhook> {
        self.seen.lock().expect("lock").clone()
    }

    fn app(&self) -> Router {
        let verifier = Verifier::builder(KeySet::single(KEY))
            .clock(self.clock.clone())
            .build();
        Router::new()
            .route("/webhooks", post(answer))
            .route("/other", post(answer))
            .with_state(self.clone())
            .layer(VerifyWebhookLayer::new(verifier))
    }

    fn sender(&self) -> MockSender {
        MockSender::builder(KEY)
            .clock(self.clock.clone())
            .service(self.app())
            .callback("/webhooks")
            .build()
            .expect("sender")
    }
}

async fn answer(
    State(receiver): State<Receiver>,
    Extension(event): Extension<VerifiedWebhook>,
) -> StatusCode {
    receiver.seen.lock().expect("lock").push(event);
    receiver.clock.advance(receiver.step);
    let status = receiver
        .statuses
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(receiver.last);
    StatusCode::from_u16(status).expect("valid status")
}

fn product(id: &str) -> Event {
    Event::new(Entity::Product, Action::Add).json(json!({"id": id, "name": "Cable"}))
}

#[tokio::test]
async fn only_200_is_delivered_anything_else_is_retried_once_then_logged() {
    for status in [201, 202, 204, 301, 302, 304, 400, 401, 404, 500, 503] {
        let clock = ManualClock::new(NOW);
        let receiver = Receiver::new(&clock, &[status]);
        let sender = receiver.sender();
        let delivery = sender.send(product(&status.to_string())).await;

        assert_eq!(delivery.outcome(), DeliveryOutcome::Failed, "{status}");
        assert_eq!(
            delivery.statuses(),
            [Some(status), Some(status)],
            "{status}"
        );
        let numbers: Vec<u32> = delivery.attempts().iter().map(|a| a.number()).collect();
        assert_eq!(numbers, [1, 2], "{status}");
        assert!(
            delivery
                .attempts()
                .iter()
                .all(|a| a.outcome() == AttemptOutcome::WrongStatus(status)),
            "{status}"
        );
        // Both attempts verified: the handler saw them.
        assert_eq!(receiver.seen().len(), 2, "{status}");
        let failed = sender.failed_webhooks(&FailedQuery::new()).expect("query");
        assert_eq!(failed.all_failed_webhook(), 1, "{status}");
        assert_eq!(
            failed.webhook()[0].entity_id(),
            Some(&*status.to_string()),
            "{status}"
        );
    }

    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[200]);
    let sender = receiver.sender();
    let delivery = sender.send(product("1")).await;
    assert_eq!(
        delivery.outcome(),
        DeliveryOutcome::Delivered { attempt: 1 }
    );
    assert_eq!(delivery.attempts().len(), 1);
    assert_eq!(
        sender
            .failed_webhooks(&FailedQuery::new())
            .expect("query")
            .all_failed_webhook(),
        0
    );
}

#[tokio::test]
async fn a_500_then_200_is_delivered_on_the_retry_freshly_timestamped_and_signed() {
    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[500, 200]).moving_the_clock(7);
    let sender = receiver.sender();
    let delivery = sender.send(product("86")).await;

    assert_eq!(
        delivery.outcome(),
        DeliveryOutcome::Delivered { attempt: 2 }
    );
    assert_eq!(delivery.statuses(), [Some(500), Some(200)]);
    let [first, second] = delivery.attempts() else {
        panic!("two attempts: {delivery:?}");
    };
    assert_eq!((first.sent_at(), second.sent_at()), (NOW, NOW + 7));
    assert_eq!(
        first.request().header(names::TIMESTAMP),
        Some(&*NOW.to_string())
    );
    assert_eq!(
        second.request().header(names::TIMESTAMP),
        Some(&*(NOW + 7).to_string())
    );
    assert_ne!(first.request().signature(), second.request().signature());
    assert_eq!(first.request().body(), second.request().body());
    // Both verified against the same clock.
    let stamps: Vec<Option<i64>> = receiver.seen().iter().map(|e| e.timestamp()).collect();
    assert_eq!(stamps, [Some(NOW), Some(NOW + 7)]);
    assert_eq!(
        sender
            .failed_webhooks(&FailedQuery::new())
            .expect("query")
            .all_failed_webhook(),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn the_retry_waits_the_retry_delay_in_tokio_time() {
    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[503, 200]);
    let sender = MockSender::builder(KEY)
        .clock(clock)
        .service(receiver.app())
        .callback("/webhooks")
        .retry_delay(Duration::from_secs(90))
        .build()
        .expect("sender");
    let started = tokio::time::Instant::now();
    assert!(sender.send(product("1")).await.is_delivered());
    assert!(started.elapsed() >= Duration::from_secs(90));
}

#[tokio::test]
async fn the_failed_log_keeps_a_day_in_the_shape_of_account_failed_webhooks() {
    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[500]);
    let sender = receiver.sender();
    let hook = sender
        .subscriptions()
        .create(NewSubscription::new(Entity::Product, Action::Add).callback("/other"))
        .expect("subscription");

    let emitted = sender.emit(product("86")).await;
    assert_eq!(emitted.len(), 1);
    assert_eq!(emitted[0].webhook_id(), Some(hook));
    clock.advance(60);
    let sent = sender
        .send(Event::new(Entity::Order, Action::Update).body_bytes(r#"{"id":25}"#))
        .await;
    assert!(!sent.is_delivered());

    let failed = sender.failed_webhooks(&FailedQuery::new()).expect("query");
    assert_eq!(
        failed.to_json(),
        json!({
            "return_code": 0,
            "return_message": "",
            "result": {
                "all_failed_webhook": "2",
                "webhook": [
                    {
                        "webhook_id": hook.get(),
                        "entity_id": "86",
                        "time": {"value": "2025-11-23T12:13:20+0000", "format": "Y-m-d\\TH:i:sO"},
                    },
                    {
                        "webhook_id": null,
                        "entity_id": "25",
                        "time": {"value": "2025-11-23T12:14:20+0000", "format": "Y-m-d\\TH:i:sO"},
                    },
                ],
            },
        })
    );
    assert_eq!(failed.webhook()[0].callback(), "/other");
    assert_eq!(failed.webhook()[1].entity(), &Entity::Order);
    let only_hook = sender
        .failed_webhooks(&FailedQuery::new().ids([hook]))
        .expect("query");
    assert_eq!(only_hook.all_failed_webhook(), 1);

    // 24 hours after the first failure it is gone; the second a minute later.
    clock.advance(24 * 60 * 60 - 61);
    assert_eq!(
        sender
            .failed_webhooks(&FailedQuery::new())
            .expect("query")
            .all_failed_webhook(),
        2
    );
    clock.advance(1);
    let left = sender.failed_webhooks(&FailedQuery::new()).expect("query");
    assert_eq!(left.all_failed_webhook(), 1);
    assert_eq!(left.webhook()[0].entity_id(), Some("25"));
    clock.advance(60);
    assert_eq!(
        sender
            .failed_webhooks(&FailedQuery::new())
            .expect("query")
            .all_failed_webhook(),
        0
    );
    assert!(
        sender
            .failed_webhooks(&FailedQuery::new().count(251))
            .is_err()
    );
}

#[tokio::test]
async fn no_answer_is_a_failure_too() {
    let sender = MockSender::builder(KEY)
        .clock(ManualClock::new(NOW))
        .url(format!("http://127.0.0.1:{}/webhooks", closed_port()))
        .build()
        .expect("sender");
    let delivery = sender.send(product("5")).await;
    assert_eq!(delivery.outcome(), DeliveryOutcome::Failed);
    assert_eq!(delivery.statuses(), [None, None]);
    for attempt in delivery.attempts() {
        let failure = attempt.failure().expect("no answer");
        assert_eq!(failure.kind(), TransportFailureKind::Connect, "{failure}");
    }
    let failed = sender.failed_webhooks(&FailedQuery::new()).expect("query");
    assert_eq!(failed.webhook()[0].entity_id(), Some("5"));
}

#[tokio::test(start_paused = true)]
async fn an_attempt_that_takes_too_long_times_out() {
    let never = Router::new().route("/webhooks", post(std::future::pending::<&'static str>));
    let sender = MockSender::builder(KEY)
        .clock(ManualClock::new(NOW))
        .service(never)
        .callback("/webhooks")
        .attempt_timeout(Duration::from_secs(5))
        .build()
        .expect("sender");
    let delivery = sender.send(product("1")).await;
    assert_eq!(delivery.statuses(), [None, None]);
    for attempt in delivery.attempts() {
        assert_eq!(
            attempt.failure().map(|f| f.kind()),
            Some(TransportFailureKind::Timeout)
        );
        assert_eq!(attempt.latency(), Duration::from_secs(5));
    }
}

#[tokio::test]
async fn lost_connection_notices_then_every_webhook_disabled_after_five() {
    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[200]);
    let sender = receiver.sender();
    let hooks = sender.subscriptions();
    let product_hook = hooks
        .create(
            NewSubscription::new(Entity::Product, Action::Add)
                .fields(webhook_guard::mock::Fields::parse("id")),
        )
        .expect("subscription");
    let order_hook = hooks
        .create(NewSubscription::new(Entity::Order, Action::Update).store_id("2"))
        .expect("subscription");
    let message = "Store \"shop/1\" is unreachable – café";
    let lost = LostConnection::new("3", "connection", message);

    for try_count in 1..=5u32 {
        let deliveries = sender.store_unreachable(lost.clone()).await;
        assert_eq!(deliveries.len(), 2, "try {try_count}");
        assert!(deliveries.iter().all(|d| d.is_delivered()));
        let ids: Vec<_> = deliveries.iter().map(|d| d.webhook_id()).collect();
        assert_eq!(ids, [Some(product_hook), Some(order_hook)]);
        let request = deliveries[1].attempts()[0].request();
        assert_eq!(request.header(names::ERROR_CODE), Some("3"));
        assert_eq!(request.header(names::STORE_ID), Some("2"));
        assert_eq!(request.header(names::ENTITY), Some("order"));
        assert!(request.body().is_empty());
    }
    // What the receiver's verifier made of the notices.
    let notices: Vec<ErrorNotice> = receiver
        .seen()
        .iter()
        .map(|e| e.error_notice().expect("an error notice"))
        .collect();
    assert_eq!(notices.len(), 10);
    assert_eq!(
        notices[9],
        ErrorNotice {
            code: "3".into(),
            reason: Some("connection".into()),
            message: Some(message.into()),
            try_count: Some(5),
        }
    );
    let counts: Vec<Option<u32>> = notices.iter().map(|n| n.try_count).collect();
    assert_eq!(counts, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5].map(Some));
    assert!(receiver.seen().iter().all(|e| e.body().is_empty()));

    // Five failed tries: every webhook disabled, nothing more is sent.
    assert_eq!(hooks.count(&SubscriptionFilter::new().active(false)), 2);
    assert!(sender.store_unreachable(lost.clone()).await.is_empty());
    assert!(sender.emit(product("1")).await.is_empty());

    // Re-activated, counting starts over.
    sender.store_reachable();
    hooks
        .update(order_hook, SubscriptionUpdate::new().active(true))
        .expect("update");
    let deliveries = sender.store_unreachable(lost).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        deliveries[0].attempts()[0]
            .request()
            .header(names::ERROR_TRY_COUNT),
        Some("1")
    );
}

#[tokio::test]
async fn an_error_notice_sent_directly() {
    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[200]);
    let sender = receiver.sender();
    let notice = ErrorNotice {
        code: "12".into(),
        reason: Some("timeout".into()),
        message: Some("No answer from https://shop.example/bridge".into()),
        try_count: Some(2),
    };
    let delivery = sender
        .send(Event::error_notice(
            Entity::Cart,
            Action::Update,
            notice.clone(),
        ))
        .await;
    assert!(delivery.is_delivered());
    assert_eq!(receiver.seen()[0].error_notice(), Some(notice));
}

#[tokio::test]
async fn extra_headers_override_or_add_and_the_signature_cannot_be_set() {
    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[200]);
    let sender = receiver.sender();
    let delivery = sender
        .send(
            product("1")
                .header("x-webhook-error-code", "0")
                .header("X-Webhook-Shop-Url", "https://shop.example/a b")
                .header("User-Agent", "API2Cart"),
        )
        .await;
    assert!(delivery.is_delivered());
    let request = delivery.attempts()[0].request();
    let codes = request
        .headers()
        .iter()
        .filter(|(n, _)| n == names::ERROR_CODE)
        .count();
    assert_eq!(codes, 1);
    assert_eq!(
        receiver.seen()[0].headers().get("X-Webhook-Shop-Url"),
        Some("https://shop.example/a b")
    );
    assert_eq!(request.header("user-agent"), Some("API2Cart"));

    for bad in [
        product("2").header("X-Webhook-Signature", "c2ln"),
        product("3").header("X-Note", "two\r\nlines"),
        product("4").header("Bad Name", "x"),
        product("5").header("Content-Length", "1"),
    ] {
        let delivery = sender.send(bad).await;
        let failure = delivery.attempts()[0].failure().expect("not sent");
        assert_eq!(
            failure.kind(),
            TransportFailureKind::InvalidRequest,
            "{failure}"
        );
    }
    assert_eq!(receiver.seen().len(), 1, "nothing invalid was sent");
}

#[tokio::test]
async fn a_fault_spoils_every_attempt() {
    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[200]);
    let sender = receiver.sender();
    let delivery = sender.send(product("1").fault(Fault::TamperedBody)).await;
    assert_eq!(delivery.statuses(), [Some(401), Some(401)]);
    for attempt in delivery.attempts() {
        assert_eq!(attempt.faults(), [Fault::TamperedBody]);
        // Signed over the original body, sent with one byte changed.
        assert!(
            attempt
                .request()
                .signed_string()
                .ends_with(br#"{"id":"1","name":"Cable"}"#)
        );
        assert_eq!(
            attempt.request().body(),
            &br#"{"id":"2","name":"Cable"}"#[..]
        );
    }
    assert!(receiver.seen().is_empty());
}

#[test]
fn the_builder_refuses_what_it_cannot_deliver_to() {
    assert_eq!(
        MockSender::builder(KEY).build().map(drop),
        Err(BuildError::NoTarget)
    );
    for url in ["/webhooks", "https://example.test/webhooks", "not a url"] {
        let err = MockSender::builder(KEY)
            .url(url)
            .build()
            .map(drop)
            .unwrap_err();
        assert!(
            matches!(err, BuildError::InvalidCallback { .. }),
            "{url}: {err}"
        );
    }
    let err = MockSender::builder(KEY)
        .service(Router::new())
        .callback("webhooks")
        .build()
        .map(drop)
        .unwrap_err();
    assert!(err.to_string().contains("path starting with /"), "{err}");
}

#[tokio::test]
async fn a_journal_limit_keeps_the_most_recent_and_waits_count_them_all() {
    let clock = ManualClock::new(NOW);
    let receiver = Receiver::new(&clock, &[200]);
    let sender = MockSender::builder(KEY)
        .clock(clock.clone())
        .service(receiver.app())
        .callback("/webhooks")
        .journal_limit(2)
        .build()
        .expect("sender");
    for id in ["1", "2", "3"] {
        sender.send(product(id)).await;
    }
    let journal = sender.journal();
    assert_eq!(journal.limit(), Some(2));
    let kept: Vec<u64> = journal.attempts().iter().map(|a| a.delivery()).collect();
    assert_eq!(kept, [2, 3]);
    let kept: Vec<u64> = journal.deliveries().iter().map(|d| d.id()).collect();
    assert_eq!(kept, [2, 3]);
    assert_eq!(
        (journal.total_attempts(), journal.total_deliveries()),
        (3, 3)
    );
    // Satisfied at once: three were made though two are kept.
    let waited = journal
        .wait_for(3, Duration::ZERO)
        .await
        .expect("3 attempts");
    assert_eq!(waited.len(), 2);
    let waited = journal
        .wait_for_deliveries(3, Duration::ZERO)
        .await
        .expect("3 deliveries");
    assert_eq!(waited.len(), 2);
}
