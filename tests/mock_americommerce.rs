//! The AmeriCommerce mock against real receivers: axum behind
//! `VerifyWebhookLayer` with a URL token (the vendor signs nothing), in
//! process (tokio's paused clock for the 3-second deadline, a manual clock
//! for reply caches) and over loopback HTTP.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use support::{KEY, NOW};
use tokio::time::Instant;
use webhook_guard::americommerce::payload::{GetTaxReply, GetTaxRequest, ItemTax, TaxItem};
use webhook_guard::americommerce::{EventType, REPLY_DEADLINE, Reply, ReplyBudget, UrlToken};
use webhook_guard::mock::americommerce::{
    AUTH_TOKEN_HEADER, AmeriCommerceSender, CacheLength, FailureType, HookFailure, HookResult,
    NewWebhook, WebhookError, WebhookUpdate,
};
use webhook_guard::mock::{MockBody, SentRequest, TransportFailureKind};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{KeySet, ManualClock, VerifiedWebhook, Verifier};

/// The secret the receiver registers in its URLs (`?token=...`).
const TOKEN: &str = "url-token-k9Q2x7Lm0pR4";

/// One verified request: its path and the names of its headers.
type Request = (String, Vec<String>);

/// What the receiver saw, per verified request.
#[derive(Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<Request>>>,
    calls: Arc<AtomicUsize>,
}

impl Seen {
    fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn record(&self, path: &str, headers: &HeaderMap) -> usize {
        let names = headers.keys().map(|n| n.as_str().to_owned()).collect();
        self.requests.lock().unwrap().push((path.to_owned(), names));
        self.calls.fetch_add(1, Ordering::SeqCst) + 1
    }
}

async fn tax(
    State(seen): State<Seen>,
    Extension(_): Extension<VerifiedWebhook>,
    headers: HeaderMap,
) -> String {
    let call = seen.record("/tax", &headers);
    json!({"tax": 1.25, "call": call}).to_string()
}

async fn slow(
    State(seen): State<Seen>,
    Extension(_): Extension<VerifiedWebhook>,
    headers: HeaderMap,
) -> String {
    seen.record("/slow", &headers);
    tokio::time::sleep(Duration::from_secs(10)).await;
    r#"{"tax":"late"}"#.to_owned()
}

async fn budgeted(
    State(seen): State<Seen>,
    Extension(_): Extension<VerifiedWebhook>,
    headers: HeaderMap,
) -> Reply<&'static str> {
    seen.record("/budgeted", &headers);
    ReplyBudget::new()
        .run(async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            r#"{"tax":"late"}"#
        })
        .await
}

async fn fallback(
    State(seen): State<Seen>,
    Extension(_): Extension<VerifiedWebhook>,
    headers: HeaderMap,
) -> String {
    let call = seen.record("/fallback", &headers);
    json!({"tax": 0, "fallback": call}).to_string()
}

async fn status(
    State(seen): State<Seen>,
    Path(code): Path<u16>,
    Extension(_): Extension<VerifiedWebhook>,
    headers: HeaderMap,
) -> StatusCode {
    seen.record(&format!("/status/{code}"), &headers);
    StatusCode::from_u16(code).unwrap()
}

/// A receiver that accepts only requests whose URL carries `?token=TOKEN`.
fn receiver(seen: &Seen) -> Router {
    let verifier = Verifier::builder(KeySet::single(TOKEN))
        .scheme(UrlToken::query("token"))
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
    let app = receiver(&seen);
    let sender = AmeriCommerceSender::builder(KEY)
        .clock(clock.clone())
        .service(app)
        .build();
    (sender, clock, seen)
}

const R: &str = "http://receiver.test";

/// `{R}{path}?token=TOKEN`: a URL the receiver accepts.
fn url(path: &str) -> String {
    format!("{R}{path}?token={TOKEN}")
}

fn hook(event_type: EventType, path: &str) -> NewWebhook {
    NewWebhook::new(event_type, url(path))
}

/// The request carries only what the vendor sends: no signature, no
/// timestamp, no event or store header.
fn assert_unsigned(sent: &SentRequest) {
    let names: Vec<&str> = sent.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["Host", "Content-Type", "Content-Length"],
        "{names:?}"
    );
    assert!(sent.signed_string().is_empty());
    assert_eq!(sent.signature(), None);
}

fn reply_json(reply: Option<&bytes::Bytes>) -> Option<Value> {
    reply.map(|r| serde_json::from_slice(r).expect("a JSON reply"))
}

#[tokio::test]
async fn a_get_tax_reply_reaches_the_caller_unsigned_and_token_checked() {
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
    // The URL exactly as registered: the token travels in the target.
    assert_eq!(sent.url(), url("/tax"));
    assert_eq!(sent.target(), format!("/tax?token={TOKEN}"));
    assert_unsigned(sent);
    assert_eq!(sent.header("Host"), Some("receiver.test"));
    assert_eq!(sent.header("Content-Type"), Some("application/json"));
    assert_eq!(&sent.body()[..], br#"{"cart":{"total":25}}"#);
    // What reached the handler: no X-Webhook-* header at all.
    let (path, names) = seen.requests.lock().unwrap()[0].clone();
    assert_eq!(path, "/tax");
    assert!(
        names.iter().all(|n| !n.starts_with("x-webhook")),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_wrong_url_token_is_refused_by_the_receiver_and_is_a_failure() {
    let (sender, _, seen) = in_process();
    sender
        .create_webhook(NewWebhook::new(
            EventType::GetTax,
            format!("{R}/tax?token=not-the-token"),
        ))
        .unwrap();
    sender
        .create_webhook(NewWebhook::new(EventType::GetTax, format!("{R}/tax")))
        .unwrap();
    let played = sender.play(EventType::GetTax, "1", &json!({})).await;
    for outcome in played.outcomes() {
        assert_eq!(outcome.failure(), Some(&HookFailure::Status(401)));
    }
    assert_eq!(played.outcomes().len(), 2);
    assert_eq!(played.reply(), None);
    assert!(seen.paths().is_empty());
}

#[tokio::test]
async fn every_documented_event_type_is_delivered_unsigned() {
    let (sender, _, seen) = in_process();
    for event_type in EventType::ALL {
        sender.create_webhook(hook(event_type, "/tax")).unwrap();
    }
    for (n, event_type) in EventType::ALL.into_iter().enumerate() {
        let played = sender.play(event_type.clone(), "1", &json!({"n": n})).await;
        let outcome = &played.outcomes()[0];
        assert_eq!(outcome.status(), Some(200), "{event_type}");
        assert_unsigned(outcome.exchanges()[0].request());
        assert_eq!(
            outcome.exchanges()[0].deadline() == REPLY_DEADLINE,
            event_type.expects_reply(),
            "{event_type}"
        );
        assert_eq!(played.reply().is_some(), event_type.expects_reply());
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 30);
}

#[tokio::test]
async fn typed_payloads_are_played_as_the_receivers_types_write_them() {
    let (sender, _, _) = in_process();
    sender
        .create_webhook(hook(EventType::GetTax, "/tax"))
        .unwrap();
    let cart = GetTaxRequest {
        items: vec![TaxItem {
            cart_item_id: Some(11),
            price: Some(9.5),
            quantity: Some(2),
            ..TaxItem::default()
        }],
        shipping_total: Some(5.0),
        ..GetTaxRequest::default()
    };
    let played = sender
        .play_payload(EventType::GetTax, "1", &cart)
        .await
        .unwrap();
    let body = played.outcomes()[0].exchanges()[0].request().body();
    assert_eq!(&body[..], serde_json::to_vec(&cart).unwrap());
    assert_eq!(
        &body[..],
        br#"{"items":[{"cart_item_id":11,"price":9.5,"quantity":2}],"shipping_total":5.0}"#
    );
    assert_eq!(serde_json::from_slice::<GetTaxRequest>(body).unwrap(), cart);
}

#[test]
fn the_api_token_is_checked_and_never_shown() {
    let sender = AmeriCommerceSender::builder(KEY).build();
    assert_eq!(AUTH_TOKEN_HEADER, "X-AC-Auth-Token");
    let missing = sender.authenticate([]).unwrap_err();
    assert!(missing.is_missing());
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.to_json(),
        json!({"status_code": 401, "message": "Unauthorized", "details": "no X-AC-Auth-Token header"})
    );
    let wrong = sender
        .authenticate([b"store-key-0123456788".as_slice()])
        .unwrap_err();
    assert!(!wrong.is_missing());
    assert_eq!(wrong.status(), 401);
    assert!(
        sender
            .authenticate([KEY.as_bytes(), KEY.as_bytes()])
            .is_err()
    );
    assert_eq!(sender.authenticate([KEY.as_bytes()]), Ok(()));
    let shown = format!("{sender:?} {wrong:?} {}", wrong.to_json());
    assert!(
        !shown.contains(KEY) && !shown.contains("0123456788"),
        "{shown}"
    );
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
        .update_webhook(failing.id(), WebhookUpdate::new().url(url("/status/500")))
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
                .fallback_url(url("/fallback"))
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
    assert_eq!(outcome.exchanges()[1].request().url(), url("/fallback"));
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
                .fallback_url(url("/fallback")),
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
                .fallback_url(url("/status/502")),
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
    let seen = Seen::default();
    let sender = AmeriCommerceSender::builder(KEY)
        .service(receiver(&seen))
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
    let status = sender
        .play(EventType::ProductStatusChanged, "3", &json!({}))
        .await;
    assert_eq!(status.outcomes().len(), 1);
    assert_eq!(status.store_id(), "3");
    // The newer product events are not store specific either.
    sender
        .create_webhook(hook(EventType::ProductCreated, "/tax").store_id("2"))
        .unwrap();
    let created = sender
        .play(EventType::ProductCreated, "4", &json!({}))
        .await;
    assert_eq!(created.outcomes().len(), 1);
    // The vendor names the store in no header: nothing but the body could.
    assert_eq!(seen.calls.load(Ordering::SeqCst), 4);
    for exchange in sender.exchanges() {
        assert_unsigned(exchange.request());
    }
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
        sender.create_webhook(NewWebhook::new(EventType::parse("OrderRefunded"), url)),
        Err(WebhookError::UnknownEventType("OrderRefunded".into()))
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
    let seen = Seen::default();
    let addr = support::servers::serve(receiver(&seen)).await;
    let sender = AmeriCommerceSender::builder(KEY).build();
    sender
        .create_webhook(NewWebhook::new(
            EventType::GetTax,
            format!("http://{addr}/tax?token={TOKEN}"),
        ))
        .unwrap();
    sender
        .create_webhook(
            NewWebhook::new(
                EventType::GetTax,
                format!("http://{addr}/status/500?token={TOKEN}"),
            )
            .failure_type(FailureType::Fallback)
            .fallback_url(format!("http://{addr}/fallback?token={TOKEN}")),
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
    assert_eq!(
        head,
        format!(
            "POST /tax?token={TOKEN} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n"
        )
    );
    assert!(!head.contains("X-Webhook-"), "{head}");
    assert_eq!(seen.paths(), ["/tax", "/status/500", "/fallback"]);
    // Logs hide the query string, where the token is.
    let line = played.outcomes()[0].exchanges()[0].summary();
    assert!(line.contains("/tax?<redacted>: 200 in "), "{line}");
    assert!(!line.contains(TOKEN), "{line}");
}

/// A receiver as a user writes one: the URL token checked by the layer, the
/// typed GetTax request in, the typed reply out.
fn typed_tax_receiver(calls: Arc<AtomicUsize>) -> Router {
    let verifier = Verifier::builder(KeySet::single(TOKEN))
        .scheme(UrlToken::query("token"))
        .build();
    let tax = move |Json(cart): Json<GetTaxRequest>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            Json(GetTaxReply {
                items: cart
                    .items
                    .iter()
                    .map(|item| ItemTax {
                        cart_item_id: item.cart_item_id,
                        tax_amount: item.line_item_subtotal.map(|t| t / 10.0),
                        ..ItemTax::default()
                    })
                    .collect(),
                shipping_tax_amount: cart.shipping_total.map(|t| t / 10.0),
                ..GetTaxReply::default()
            })
        }
    };
    Router::new()
        .route("/hooks/americommerce/tax", post(tax))
        .layer(VerifyWebhookLayer::new(verifier))
}

#[tokio::test]
async fn over_loopback_a_url_token_receiver_accepts_the_mock_and_refuses_a_changed_token() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = support::servers::serve(typed_tax_receiver(Arc::clone(&calls))).await;
    let sender = AmeriCommerceSender::builder(KEY).build();
    let registered = format!("http://{addr}/hooks/americommerce/tax?store=1&token={TOKEN}");
    let webhook = sender
        .create_webhook(NewWebhook::new(EventType::GetTax, &registered))
        .unwrap();
    let cart = GetTaxRequest {
        items: vec![TaxItem {
            cart_item_id: Some(7),
            line_item_subtotal: Some(20.0),
            ..TaxItem::default()
        }],
        shipping_total: Some(5.0),
        ..GetTaxRequest::default()
    };

    let played = sender
        .play_payload(EventType::GetTax, "1", &cart)
        .await
        .unwrap();
    let outcome = &played.outcomes()[0];
    assert_eq!(outcome.status(), Some(200), "{:?}", outcome.failure());
    let reply: GetTaxReply = serde_json::from_slice(played.reply().unwrap()).unwrap();
    assert_eq!(reply.items[0].cart_item_id, Some(7));
    assert_eq!(reply.items[0].tax_amount, Some(2.0));
    assert_eq!(reply.shipping_tax_amount, Some(0.5));
    let sent = outcome.exchanges()[0].request();
    assert!(
        sent.head().starts_with(&format!(
            "POST /hooks/americommerce/tax?store=1&token={TOKEN} HTTP/1.1\r\n"
        )),
        "{}",
        sent.head()
    );
    assert_unsigned(sent);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // The same delivery once the subscription's token is changed: refused
    // by the layer, the handler never runs.
    sender
        .update_webhook(
            webhook.id(),
            WebhookUpdate::new().url(registered.replace(TOKEN, "a-changed-token")),
        )
        .unwrap();
    let refused = sender
        .play_payload(EventType::GetTax, "1", &cart)
        .await
        .unwrap();
    assert_eq!(
        refused.outcomes()[0].failure(),
        Some(&HookFailure::Status(401))
    );
    assert_eq!(refused.reply(), None);
    assert_eq!(
        refused.outcomes()[0].exchanges()[0].request().body(),
        sent.body()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_journal_limit_keeps_the_most_recent_exchanges() {
    let seen = Seen::default();
    let sender = AmeriCommerceSender::builder(KEY)
        .service(receiver(&seen))
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
