//! The AmeriCommerce mock against real receivers: axum behind
//! `VerifyWebhookLayer`, in process (tokio's paused clock for the 3-second
//! deadline, a manual clock for reply caches) and over loopback HTTP.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{Value, json};
use support::{KEY, NOW};
use tokio::time::Instant;
use webhook_guard::americommerce::{self, EventType, REPLY_DEADLINE, Reply, ReplyBudget};
use webhook_guard::mock::americommerce::{
    AmeriCommerceSender, CacheLength, FailureType, HookFailure, HookResult, NewWebhook,
    WebhookError, WebhookUpdate,
};
use webhook_guard::mock::{MockBody, TransportFailureKind};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{KeySet, ManualClock, VerifiedWebhook, Verifier};

/// What the receiver saw: `(path, event type, store id)` per verified request.
#[derive(Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<(String, String, String)>>>,
    calls: Arc<AtomicUsize>,
}

impl Seen {
    fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _, _)| p.clone())
            .collect()
    }

    fn record(&self, path: &str, event: &VerifiedWebhook) -> usize {
        let event_type = americommerce::event_type(event)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let store = event.store_id().map(|s| s.to_string()).unwrap_or_default();
        self.requests
            .lock()
            .unwrap()
            .push((path.to_owned(), event_type, store));
        self.calls.fetch_add(1, Ordering::SeqCst) + 1
    }
}

async fn tax(State(seen): State<Seen>, Extension(event): Extension<VerifiedWebhook>) -> String {
    let call = seen.record("/tax", &event);
    json!({"tax": 1.25, "call": call}).to_string()
}

async fn slow(State(seen): State<Seen>, Extension(event): Extension<VerifiedWebhook>) -> String {
    seen.record("/slow", &event);
    tokio::time::sleep(Duration::from_secs(10)).await;
    r#"{"tax":"late"}"#.to_owned()
}

async fn budgeted(
    State(seen): State<Seen>,
    Extension(event): Extension<VerifiedWebhook>,
) -> Reply<&'static str> {
    seen.record("/budgeted", &event);
    ReplyBudget::new()
        .run(async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            r#"{"tax":"late"}"#
        })
        .await
}

async fn fallback(
    State(seen): State<Seen>,
    Extension(event): Extension<VerifiedWebhook>,
) -> String {
    let call = seen.record("/fallback", &event);
    json!({"tax": 0, "fallback": call}).to_string()
}

async fn status(
    State(seen): State<Seen>,
    Path(code): Path<u16>,
    Extension(event): Extension<VerifiedWebhook>,
) -> StatusCode {
    seen.record(&format!("/status/{code}"), &event);
    StatusCode::from_u16(code).unwrap()
}

fn receiver(clock: &ManualClock, seen: &Seen) -> Router {
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .build();
    Router::new()
        .route("/tax", post(tax))
        .route("/slow", post(slow))
        .route("/budgeted", post(budgeted))
        .route("/fallback", post(fallback))
        .route("/status/{code}", post(status))
        .with_state(seen.clone())
        .layer(VerifyWebhookLayer::new(verifier))
}

/// A store delivering in process to the receiver, and what the receiver saw.
fn in_process() -> (AmeriCommerceSender, ManualClock, Seen) {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let app = receiver(&clock, &seen);
    let sender = AmeriCommerceSender::builder(KEY)
        .clock(clock.clone())
        .service(app)
        .build();
    (sender, clock, seen)
}

const R: &str = "http://receiver.test";

fn hook(event_type: EventType, path: &str) -> NewWebhook {
    NewWebhook::new(event_type, format!("{R}{path}"))
}

fn reply_json(reply: Option<&bytes::Bytes>) -> Option<Value> {
    reply.map(|r| serde_json::from_slice(r).expect("a JSON reply"))
}

#[tokio::test]
async fn a_get_tax_reply_reaches_the_caller_signed_and_verified() {
    let (sender, _, seen) = in_process();
    let webhook = sender
        .create_webhook(hook(EventType::GetTax, "/tax"))
        .unwrap();
    let played = sender
        .play(EventType::GetTax, "1", &json!({"cart": {"total": 25}}))
        .await;
    assert_eq!(played.error(), None);
    assert_eq!(
        reply_json(played.reply()),
        Some(json!({"tax": 1.25, "call": 1}))
    );
    let outcome = &played.outcomes()[0];
    assert_eq!(outcome.webhook().id(), webhook.id());
    assert_eq!(outcome.status(), Some(200));
    assert!(!outcome.from_cache() && !outcome.fell_back());

    let sent = outcome.exchanges()[0].request();
    assert_eq!(sent.header("X-Webhook-Event-Type"), Some("GetTax"));
    assert_eq!(sent.header("X-Webhook-Store-Id"), Some("1"));
    assert_eq!(
        sent.header("X-Webhook-Timestamp"),
        Some(NOW.to_string().as_str())
    );
    assert_eq!(sent.header("Content-Type"), Some("application/json"));
    assert!(
        sent.headers()
            .iter()
            .any(|(n, _)| n == "X-Webhook-Event-Type")
    );
    assert_eq!(&sent.body()[..], br#"{"cart":{"total":25}}"#);
    assert!(
        sent.signed_string()
            .starts_with(br#"{"X-Webhook-Event-Type":"GetTax","#)
    );
    assert_eq!(
        seen.requests.lock().unwrap()[0],
        ("/tax".into(), "GetTax".into(), "1".into())
    );
}

#[tokio::test]
async fn a_wrong_store_key_is_refused_by_the_receiver_and_is_a_failure() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let sender = AmeriCommerceSender::builder("not-the-key")
        .clock(clock.clone())
        .service(receiver(&clock, &seen))
        .build();
    sender
        .create_webhook(hook(EventType::GetTax, "/tax"))
        .unwrap();
    let played = sender.play(EventType::GetTax, "1", &json!({})).await;
    assert_eq!(
        played.outcomes()[0].failure(),
        Some(&HookFailure::Status(401))
    );
    assert_eq!(played.reply(), None);
    assert!(seen.paths().is_empty());
}

#[tokio::test]
async fn replies_are_cached_for_the_cache_length_by_the_senders_clock() {
    let (sender, clock, seen) = in_process();
    let short = sender
        .create_webhook(hook(EventType::GetTax, "/tax").cache_length(CacheLength::Short))
        .unwrap();
    let cart = json!({"cart": 1});
    let call = |played: &webhook_guard::mock::americommerce::Dispatch| {
        reply_json(played.reply()).unwrap()["call"].clone()
    };

    assert_eq!(call(&sender.play(EventType::GetTax, "1", &cart).await), 1);
    clock.advance(299);
    let cached = sender.play(EventType::GetTax, "1", &cart).await;
    assert!(cached.outcomes()[0].from_cache());
    assert!(cached.outcomes()[0].exchanges().is_empty());
    assert_eq!(call(&cached), 1);
    // Another body is another cache entry.
    assert_eq!(
        call(
            &sender
                .play(EventType::GetTax, "1", &json!({"cart": 2}))
                .await
        ),
        2
    );
    clock.advance(1);
    assert_eq!(call(&sender.play(EventType::GetTax, "1", &cart).await), 3);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 3);

    // Long: 30 minutes.
    sender
        .update_webhook(
            short.id(),
            WebhookUpdate::new().cache_length(CacheLength::Long),
        )
        .unwrap();
    assert_eq!(call(&sender.play(EventType::GetTax, "1", &cart).await), 4);
    clock.advance(1799);
    assert_eq!(call(&sender.play(EventType::GetTax, "1", &cart).await), 4);
    clock.advance(1);
    assert_eq!(call(&sender.play(EventType::GetTax, "1", &cart).await), 5);

    // NoCache: every event is sent.
    sender
        .update_webhook(
            short.id(),
            WebhookUpdate::new().cache_length(CacheLength::NoCache),
        )
        .unwrap();
    assert_eq!(call(&sender.play(EventType::GetTax, "1", &cart).await), 6);
    assert_eq!(call(&sender.play(EventType::GetTax, "1", &cart).await), 7);
    assert_eq!(sender.exchanges().len(), 7);
}

#[tokio::test]
async fn payment_replies_are_never_cached_but_reach_the_caller() {
    let (sender, _, seen) = in_process();
    sender
        .create_webhook(hook(EventType::AuthorizingPayment, "/tax").cache_length(CacheLength::Long))
        .unwrap();
    for expected in 1..=2 {
        let played = sender
            .play(EventType::AuthorizingPayment, "1", &json!({"amount": 5}))
            .await;
        assert_eq!(reply_json(played.reply()).unwrap()["call"], expected);
        assert!(!played.outcomes()[0].from_cache());
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_slow_reply_fails_at_three_seconds_and_ignore_carries_on() {
    let (sender, _, seen) = in_process();
    sender
        .create_webhook(hook(EventType::GetTax, "/slow"))
        .unwrap();
    sender
        .create_webhook(hook(EventType::GetTax, "/tax"))
        .unwrap();
    let started = Instant::now();
    let played = sender.play(EventType::GetTax, "1", &json!({})).await;
    assert_eq!(started.elapsed(), REPLY_DEADLINE);
    let first = &played.outcomes()[0];
    match first.failure() {
        Some(HookFailure::NoResponse(failure)) => {
            assert_eq!(failure.kind(), TransportFailureKind::Timeout);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(first.exchanges()[0].deadline(), REPLY_DEADLINE);
    assert_eq!(first.exchanges()[0].latency(), REPLY_DEADLINE);
    assert!(played.outcomes()[1].is_success());
    assert_eq!(played.error(), None);
    assert_eq!(reply_json(played.reply()).unwrap()["call"], 2);
    assert_eq!(seen.paths(), ["/slow", "/tax"]);
}

#[tokio::test(start_paused = true)]
async fn error_stops_the_remaining_subscriptions_and_the_caller_gets_the_error() {
    let (sender, _, seen) = in_process();
    let failing = sender
        .create_webhook(hook(EventType::ValidateCart, "/slow").failure_type(FailureType::Error))
        .unwrap();
    sender
        .create_webhook(hook(EventType::ValidateCart, "/tax"))
        .unwrap();
    let played = sender.play(EventType::ValidateCart, "1", &json!({})).await;
    let error = played.error().expect("the caller gets an error");
    assert_eq!(error.webhook_id(), failing.id());
    assert!(matches!(error.failure(), HookFailure::NoResponse(_)));
    assert!(played.result().is_err());
    assert_eq!(played.reply(), None);
    assert!(played.outcomes()[1].is_skipped());
    assert_eq!(seen.paths(), ["/slow"]);

    // A status other than 2xx is a failure too.
    sender
        .update_webhook(
            failing.id(),
            WebhookUpdate::new().url(format!("{R}/status/500")),
        )
        .unwrap();
    let played = sender.play(EventType::ValidateCart, "1", &json!({})).await;
    assert_eq!(
        played.error().map(|e| e.failure().clone()),
        Some(HookFailure::Status(500))
    );
}

#[tokio::test(start_paused = true)]
async fn fallback_sends_to_the_fallback_url_and_its_reply_is_the_callers() {
    let (sender, _, seen) = in_process();
    sender
        .create_webhook(
            hook(EventType::GetTax, "/slow")
                .failure_type(FailureType::Fallback)
                .fallback_url(format!("{R}/fallback"))
                .cache_length(CacheLength::Short),
        )
        .unwrap();
    let started = Instant::now();
    let played = sender.play(EventType::GetTax, "1", &json!({})).await;
    assert_eq!(started.elapsed(), REPLY_DEADLINE);
    let outcome = &played.outcomes()[0];
    assert!(outcome.fell_back() && outcome.is_success());
    assert_eq!(outcome.exchanges().len(), 2);
    assert!(outcome.exchanges()[1].is_fallback());
    assert_eq!(
        outcome.exchanges()[1].request().url(),
        "http://receiver.test/fallback"
    );
    assert_eq!(
        reply_json(played.reply()),
        Some(json!({"tax": 0, "fallback": 2}))
    );
    // A fallback's reply is not cached: the URL is tried again.
    let again = sender.play(EventType::GetTax, "1", &json!({})).await;
    assert!(!again.outcomes()[0].from_cache());
    assert_eq!(seen.paths(), ["/slow", "/fallback", "/slow", "/fallback"]);
}

#[tokio::test(start_paused = true)]
async fn the_reply_budget_makes_the_fallback_start_before_the_deadline() {
    let (sender, _, seen) = in_process();
    sender
        .create_webhook(
            hook(EventType::GetTax, "/budgeted")
                .failure_type(FailureType::Fallback)
                .fallback_url(format!("{R}/fallback")),
        )
        .unwrap();
    let started = Instant::now();
    let played = sender.play(EventType::GetTax, "1", &json!({})).await;
    assert_eq!(started.elapsed(), Duration::from_millis(2_500));
    assert_eq!(
        played.outcomes()[0].exchanges()[0]
            .response()
            .map(|r| r.status()),
        Some(503)
    );
    assert!(played.outcomes()[0].fell_back());
    assert_eq!(reply_json(played.reply()).unwrap()["fallback"], 2);
    assert_eq!(seen.paths(), ["/budgeted", "/fallback"]);
}

#[tokio::test]
async fn a_failing_fallback_is_ignored() {
    let (sender, _, _) = in_process();
    sender
        .create_webhook(
            hook(EventType::GetTax, "/status/500")
                .failure_type(FailureType::Fallback)
                .fallback_url(format!("{R}/status/502")),
        )
        .unwrap();
    sender
        .create_webhook(hook(EventType::GetTax, "/tax"))
        .unwrap();
    let played = sender.play(EventType::GetTax, "1", &json!({})).await;
    assert_eq!(
        played.outcomes()[0].result(),
        &HookResult::Failed {
            failure: HookFailure::Status(502),
            fell_back: true
        }
    );
    assert_eq!(played.error(), None);
    assert!(played.reply().is_some());
}

#[tokio::test]
async fn events_without_a_reply_succeed_on_any_2xx_and_return_nothing() {
    let (sender, _, _) = in_process();
    sender
        .create_webhook(hook(EventType::OrderPlaced, "/status/204"))
        .unwrap();
    sender
        .create_webhook(hook(EventType::OrderPlaced, "/tax"))
        .unwrap();
    let played = sender
        .play(EventType::OrderPlaced, "1", &json!({"order_id": 9}))
        .await;
    assert!(played.outcomes().iter().all(|o| o.is_success()));
    assert_eq!(played.outcomes()[0].status(), Some(204));
    assert_eq!(played.reply(), None);
    assert_eq!(played.result(), Ok(None));
}

#[tokio::test(start_paused = true)]
async fn events_without_a_reply_get_the_attempt_timeout() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let sender = AmeriCommerceSender::builder(KEY)
        .clock(clock.clone())
        .service(receiver(&clock, &seen))
        .attempt_timeout(Duration::from_secs(7))
        .build();
    sender
        .create_webhook(hook(EventType::OrderPlaced, "/slow"))
        .unwrap();
    let started = Instant::now();
    let played = sender.play(EventType::OrderPlaced, "1", &json!({})).await;
    assert_eq!(started.elapsed(), Duration::from_secs(7));
    assert!(!played.outcomes()[0].is_success());
}

#[tokio::test]
async fn store_scoping_spares_product_events() {
    let (sender, _, seen) = in_process();
    sender
        .create_webhook(hook(EventType::OrderPlaced, "/tax").store_id("2"))
        .unwrap();
    sender
        .create_webhook(hook(EventType::GetPrice, "/tax").store_id("2"))
        .unwrap();
    sender
        .create_webhook(hook(EventType::ProductStatusChanged, "/tax").store_id("2"))
        .unwrap();

    assert!(
        sender
            .play(EventType::OrderPlaced, "1", &json!({}))
            .await
            .outcomes()
            .is_empty()
    );
    assert_eq!(
        sender
            .play(EventType::OrderPlaced, "2", &json!({}))
            .await
            .outcomes()
            .len(),
        1
    );
    let price = sender.play(EventType::GetPrice, "1", &json!({})).await;
    assert_eq!(price.outcomes().len(), 1);
    assert!(price.reply().is_some());
    assert_eq!(
        sender
            .play(EventType::ProductStatusChanged, "3", &json!({}))
            .await
            .outcomes()
            .len(),
        1
    );
    // The delivery names the event's store.
    let stores: Vec<String> = seen
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, s)| s.clone())
        .collect();
    assert_eq!(stores, ["2", "1", "3"]);
}

#[test]
fn subscriptions_follow_the_vendors_rules() {
    let sender = AmeriCommerceSender::builder(KEY).build();
    let url = "http://127.0.0.1:9/tax";
    let created = sender
        .create_webhook(NewWebhook::new(EventType::GetTax, url))
        .unwrap();
    assert_eq!(created.failure_type(), FailureType::Ignore);
    assert_eq!(created.store_id(), "1");

    // One per event type and URL; another type or URL is fine.
    assert_eq!(
        sender.create_webhook(NewWebhook::new(EventType::GetTax, url)),
        Err(WebhookError::Duplicate {
            existing: created.id()
        })
    );
    let other = sender
        .create_webhook(NewWebhook::new(EventType::GetPrice, url))
        .unwrap();
    assert_eq!(
        sender.update_webhook(
            other.id(),
            WebhookUpdate::new().event_type(EventType::GetTax)
        ),
        Err(WebhookError::Duplicate {
            existing: created.id()
        })
    );
    // Fallback needs a valid absolute fallback URL.
    let fallback = NewWebhook::new(EventType::GetTax, "http://127.0.0.1:9/b")
        .failure_type(FailureType::Fallback);
    assert_eq!(
        sender.create_webhook(fallback.clone()),
        Err(WebhookError::FallbackUrlRequired)
    );
    assert!(matches!(
        sender.create_webhook(fallback.fallback_url("/relative")),
        Err(WebhookError::InvalidUrl {
            field: "fallback_url",
            ..
        })
    ));
    assert!(matches!(
        sender.create_webhook(NewWebhook::new(EventType::GetTax, "tax")),
        Err(WebhookError::InvalidUrl { field: "url", .. })
    ));
    assert!(matches!(
        sender.create_webhook(NewWebhook::new(EventType::GetTax, "https://a.example/x")),
        Err(WebhookError::InvalidUrl { field: "url", .. })
    ));
    assert_eq!(
        sender.create_webhook(NewWebhook::new(EventType::parse("OrderShipped"), url)),
        Err(WebhookError::UnknownEventType("OrderShipped".into()))
    );
    // A refused update changes nothing.
    assert_eq!(
        sender.update_webhook(
            created.id(),
            WebhookUpdate::new().failure_type(FailureType::Fallback)
        ),
        Err(WebhookError::FallbackUrlRequired)
    );
    assert_eq!(sender.webhook(created.id()), Ok(created.clone()));

    assert_eq!(sender.webhooks().len(), 2);
    assert_eq!(sender.delete_webhook(created.id()), Ok(created.clone()));
    assert_eq!(
        sender.webhook(created.id()),
        Err(WebhookError::NotFound(created.id()))
    );
    assert_eq!(
        sender.delete_webhook(created.id()).map_err(|e| e.status()),
        Err(404)
    );
    // The URL is free again.
    assert!(
        sender
            .create_webhook(NewWebhook::new(EventType::GetTax, url))
            .is_ok()
    );
}

#[test]
fn in_process_senders_take_any_absolute_url_but_not_a_path() {
    let sender = AmeriCommerceSender::builder(KEY)
        .service(Router::<()>::new().into_service::<MockBody>())
        .build();
    assert!(
        sender
            .create_webhook(NewWebhook::new(EventType::GetTax, "https://tax.example/t"))
            .is_ok()
    );
    assert!(
        sender
            .create_webhook(NewWebhook::new(EventType::GetTax, "/t"))
            .is_err()
    );
}

#[test]
fn the_resource_reads_and_writes_the_vendors_json() {
    let new = NewWebhook::from_json(&json!({
        "event_type": "GetTax",
        "url": "http://127.0.0.1:9/tax",
        "failure_type": "Fallback",
        "fallback_url": "http://127.0.0.1:9/fallback",
        "store_id": 3,
        "cache_length": "Long",
    }))
    .unwrap();
    let sender = AmeriCommerceSender::builder(KEY).build();
    let webhook = sender.create_webhook(new).unwrap();
    assert_eq!(
        webhook.to_json(),
        json!({
            "id": 1,
            "event_type": "GetTax",
            "url": "http://127.0.0.1:9/tax",
            "failure_type": "Fallback",
            "store_id": 3,
            "cache_length": "Long",
            "fallback_url": "http://127.0.0.1:9/fallback",
        })
    );
    let refused = |body: Value| NewWebhook::from_json(&body).unwrap_err();
    assert_eq!(
        refused(json!({"url": "http://a/"})),
        WebhookError::Missing("event_type")
    );
    assert_eq!(
        refused(json!({"event_type": "GetTax", "url": "http://a/", "colour": 1})),
        WebhookError::UnknownField("colour".into())
    );
    assert!(matches!(
        refused(json!({"event_type": "GetTax", "url": "http://a/", "failure_type": "ignore"})),
        WebhookError::Invalid {
            field: "failure_type",
            ..
        }
    ));
    assert!(matches!(
        refused(json!({"event_type": "GetTax", "url": 5})),
        WebhookError::Invalid { field: "url", .. }
    ));
    assert!(matches!(
        refused(json!([1])),
        WebhookError::Invalid { field: "body", .. }
    ));

    let update = WebhookUpdate::from_json(
        &json!({"id": 1, "failure_type": "Ignore", "fallback_url": null}),
        webhook.id(),
    )
    .unwrap();
    let updated = sender.update_webhook(webhook.id(), update).unwrap();
    assert_eq!(updated.fallback_url(), None);
    assert_eq!(updated.cache_length(), CacheLength::Long);
    assert!(WebhookUpdate::from_json(&json!({"id": 2}), webhook.id()).is_err());
}

#[tokio::test]
async fn over_loopback_http_the_reply_comes_back_and_names_are_title_case() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let addr = support::servers::serve(receiver(&clock, &seen)).await;
    let sender = AmeriCommerceSender::builder(KEY).clock(clock).build();
    sender
        .create_webhook(NewWebhook::new(
            EventType::GetTax,
            format!("http://{addr}/tax"),
        ))
        .unwrap();
    sender
        .create_webhook(
            NewWebhook::new(EventType::GetTax, format!("http://{addr}/status/500"))
                .failure_type(FailureType::Fallback)
                .fallback_url(format!("http://{addr}/fallback")),
        )
        .unwrap();
    let played = sender
        .play(EventType::GetTax, "1", &json!({"cart": 1}))
        .await;
    assert!(played.outcomes().iter().all(|o| o.is_success()));
    // The last subscription to reply has the last word.
    assert_eq!(
        reply_json(played.reply()),
        Some(json!({"tax": 0, "fallback": 3}))
    );
    let head = played.outcomes()[0].exchanges()[0].request().head();
    assert!(
        head.contains("\r\nX-Webhook-Event-Type: GetTax\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nX-Webhook-Signature: "), "{head}");
    assert_eq!(seen.paths(), ["/tax", "/status/500", "/fallback"]);
}

#[tokio::test]
async fn a_journal_limit_keeps_the_most_recent_exchanges() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let sender = AmeriCommerceSender::builder(KEY)
        .clock(clock.clone())
        .service(receiver(&clock, &seen))
        .journal_limit(2)
        .build();
    sender
        .create_webhook(hook(EventType::GetTax, "/tax").cache_length(CacheLength::NoCache))
        .unwrap();
    for total in 1..=3 {
        let played = sender
            .play(EventType::GetTax, "1", &json!({"cart": {"total": total}}))
            .await;
        // A dispatch keeps its own exchanges whatever the limit.
        assert_eq!(played.outcomes()[0].exchanges().len(), 1);
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 3);
    assert_eq!(sender.total_exchanges(), 3);
    let kept: Vec<Value> = sender
        .exchanges()
        .iter()
        .map(|e| serde_json::from_slice(e.request().body()).unwrap())
        .collect();
    assert_eq!(
        kept,
        [json!({"cart": {"total": 2}}), json!({"cart": {"total": 3}})]
    );
}
