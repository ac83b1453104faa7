//! One journal under every vendor: four senders given the same `Journal`
//! record into one list, numbered in one sequence, each attempt naming its
//! vendor and event as that vendor does; every sender's expectations count
//! only its own attempts and are checked when its last handle is dropped.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use serde_json::json;
use support::servers::serve;
use webhook_guard::americommerce::EventType;
use webhook_guard::mock::americommerce::{AmeriCommerceSender, NewWebhook};
use webhook_guard::mock::{
    Event, Expectation, Journal, Message, MockSender, NewEndpoint, NewWorkspaceWebhook,
    StandardSender, Vendor, WorkspaceSender,
};
use webhook_guard::{Action, Entity, ManualClock};

const NOW: i64 = 1_765_000_000;
const WS: &str = "9a1ce9b2-5a4b-4a5e-9d3c-2b1c0f1f5e11";

/// Answers every request: 200 "ok", or 500 under `/broken`.
fn receiver() -> Router {
    Router::new()
        .route(
            "/broken",
            axum::routing::post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .fallback(|| async { "ok" })
}

struct Senders {
    api2cart: MockSender,
    americommerce: AmeriCommerceSender,
    up42: WorkspaceSender,
    standard: StandardSender,
}

fn senders(journal: &Journal, clock: &ManualClock) -> Senders {
    let app = receiver();
    Senders {
        api2cart: MockSender::builder("store-key")
            .clock(clock.clone())
            .service(app.clone())
            .callback("/api2cart")
            .journal(journal.clone())
            .build()
            .expect("sender"),
        americommerce: AmeriCommerceSender::builder("api-token")
            .clock(clock.clone())
            .service(app.clone())
            .journal(journal.clone())
            .build(),
        up42: WorkspaceSender::builder()
            .clock(clock.clone())
            .service(app.clone())
            .journal(journal.clone())
            .build(),
        standard: StandardSender::builder()
            .clock(clock.clone())
            .service(app)
            .journal(journal.clone())
            .build(),
    }
}

/// One event from each vendor, in this order: API2Cart, AmeriCommerce
/// (its subscription's URL answers 500, then its fallback 200), UP42,
/// Standard Webhooks.
async fn one_of_each(s: &Senders) {
    let product = Event::new(Entity::Product, Action::Add).json(json!({"id": "86"}));
    assert!(s.api2cart.send(product).await.is_delivered());

    s.americommerce
        .create_webhook(
            NewWebhook::new(EventType::OrderStatusChanged, "http://shop.test/broken")
                .failure_type(webhook_guard::mock::americommerce::FailureType::Fallback)
                .fallback_url("http://shop.test/fallback"),
        )
        .expect("webhook");
    let played = s
        .americommerce
        .play(
            EventType::OrderStatusChanged,
            "1",
            &json!({"order": {"id": 7}}),
        )
        .await;
    assert!(played.error().is_none());

    let hook = s
        .up42
        .create(
            WS,
            NewWorkspaceWebhook::new("statuses", "http://up42.test/up42")
                .events(["order.status"])
                .secret("s3cret")
                .active(true),
        )
        .expect("webhook");
    s.up42.test(WS, hook.id(), None).await.expect("test run");

    let endpoint = s
        .standard
        .create_endpoint(NewEndpoint::new("http://std.test/standard"))
        .expect("endpoint");
    let message = Message::json("invoice.paid", &json!({"type": "invoice.paid", "data": {}}));
    s.standard
        .send(endpoint.id(), message)
        .await
        .expect("dispatch");
}

#[tokio::test]
async fn every_vendor_records_into_one_journal_in_one_sequence() {
    let clock = ManualClock::new(NOW);
    let journal = Journal::new();
    let s = senders(&journal, &clock);
    one_of_each(&s).await;

    let attempts = journal.attempts();
    let seen: Vec<(u64, Vendor, &str, Option<u16>)> = attempts
        .iter()
        .map(|a| (a.id(), a.vendor(), a.event(), a.status()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, Vendor::Api2Cart, "product.add", Some(200)),
            (2, Vendor::AmeriCommerce, "OrderStatusChanged", Some(500)),
            (3, Vendor::AmeriCommerce, "OrderStatusChanged", Some(200)),
            (4, Vendor::Up42, "order.status", Some(200)),
            (5, Vendor::StandardWebhooks, "invoice.paid", Some(200)),
        ]
    );
    // AmeriCommerce's URL and fallback are one delivery's attempts 1 and 2.
    assert_eq!((attempts[1].delivery(), attempts[1].number()), (1, 1));
    assert_eq!((attempts[2].delivery(), attempts[2].number()), (1, 2));
    assert!(!attempts[1].is_delivered() && attempts[2].is_delivered());
    // Each vendor's own fields, and the endpoint each was sent for.
    assert_eq!(attempts[2].details()["fallback"], json!(true));
    assert_eq!(attempts[2].details()["deadline_ms"], json!(10_000));
    assert_eq!(
        attempts[0].endpoint(),
        None,
        "sent directly, no subscription"
    );
    assert!(attempts[3].endpoint().is_some());
    assert!(attempts[4].endpoint().is_some_and(|e| e.starts_with("ep_")));
    assert_eq!(
        attempts[4].to_json()["message_id"],
        json!(attempts[4].request().header("webhook-id"))
    );
    // The JSON names vendor and event.
    let json = attempts[3].to_json();
    assert_eq!(
        (json["id"].clone(), json["vendor"].clone()),
        (json!(4), json!("up42"))
    );
    assert_eq!(json["event"], "order.status");

    // Found by number, and what a live view after 3 is missing.
    assert_eq!(journal.attempt(4).map(|a| a.vendor()), Some(Vendor::Up42));
    let after: Vec<u64> = journal.attempts_after(3).iter().map(|a| a.id()).collect();
    assert_eq!(after, [4, 5]);

    // Each sender still sees its own record, in its own names.
    assert_eq!(s.americommerce.exchanges().len(), 2);
    assert!(s.americommerce.exchanges()[1].is_fallback());
    assert_eq!(s.americommerce.total_exchanges(), 2);
    assert_eq!(s.up42.journal().total_attempts(), 5, "the same journal");
}

#[tokio::test]
async fn expectations_count_only_their_senders_vendor() {
    let clock = ManualClock::new(NOW);
    let journal = Journal::new();
    let s = senders(&journal, &clock);
    one_of_each(&s).await;

    s.api2cart.expect(Expectation::attempts().times(1));
    s.americommerce.expect(Expectation::attempts().times(2));
    s.americommerce.expect(Expectation::answered(500).times(1));
    s.up42
        .expect(Expectation::attempts().event("order.status").times(1));
    s.standard.expect(
        Expectation::attempts()
            .entity(Entity::parse("invoice"))
            .times(1),
    );
    for unmet in [
        s.api2cart.unmet_expectations(),
        s.americommerce.unmet_expectations(),
        s.up42.unmet_expectations(),
        s.standard.unmet_expectations(),
    ] {
        assert_eq!(unmet, None);
    }
    // Naming a vendor counts that vendor's, whichever sender holds it.
    s.up42.expect(
        Expectation::attempts()
            .vendor(Vendor::AmeriCommerce)
            .times(2),
    );
    s.up42.verify();
    // Counted against the whole journal, five attempts in all.
    assert_eq!(Expectation::attempts().count(&journal), 5);

    s.standard.expect(Expectation::answered(500).times(1));
    let unmet = s.standard.unmet_expectations().expect("unmet");
    assert_eq!(unmet.unmet().len(), 1);
    assert_eq!(
        unmet.unmet()[0].actual(),
        0,
        "AmeriCommerce's 500 is not counted"
    );
    // Leave the failed expectation checked, so the drop does not panic.
    let caught = catch_unwind(AssertUnwindSafe(|| s.standard.verify()));
    assert!(caught.is_err());
}

#[test]
fn every_sender_checks_its_expectations_when_its_last_handle_goes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clock = ManualClock::new(NOW);

    // Clones share the expectations: dropping one does not check them.
    let up42 = WorkspaceSender::builder()
        .clock(clock.clone())
        .service(receiver())
        .build();
    up42.expect(Expectation::attempts().times(1).named("one UP42 test"));
    let clone = up42.clone();
    drop(up42);
    let caught = catch_unwind(AssertUnwindSafe(move || drop(clone)));
    let message = panic_text(caught.expect_err("the last drop panics"));
    assert!(
        message.starts_with("1 of 1 expectations of the mock sender were not met:"),
        "{message}"
    );
    assert!(message.contains("  one UP42 test\n  - expected: exactly 1\n  + actual:   0\n"));

    let standard = StandardSender::builder()
        .clock(clock.clone())
        .service(receiver())
        .build();
    standard.expect(Expectation::attempts().times(1));
    let caught = catch_unwind(AssertUnwindSafe(move || drop(standard)));
    assert!(caught.is_err(), "Standard Webhooks checks on drop");

    let americommerce = AmeriCommerceSender::builder("api-token")
        .clock(clock.clone())
        .service(receiver())
        .build();
    americommerce
        .create_webhook(NewWebhook::new(
            EventType::NewOrder,
            "http://shop.test/orders",
        ))
        .expect("webhook");
    americommerce.expect(Expectation::answered(200).times(1));
    runtime.block_on(americommerce.play(EventType::NewOrder, "1", &json!({"id": 1})));
    // Met: the drop passes.
    drop(americommerce);
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// A replay is judged by its vendor's rule, like the attempt it repeats:
/// AmeriCommerce counts any 2xx (here 204) as delivered, API2Cart only 200.
#[tokio::test]
async fn a_replay_counts_as_delivered_by_its_vendors_rule() {
    let app = Router::new().fallback(|| async { StatusCode::NO_CONTENT });
    let addr = serve(app).await;
    let clock = ManualClock::new(NOW);
    let journal = Journal::new();

    let store = AmeriCommerceSender::builder("api-token")
        .clock(clock.clone())
        .http()
        .journal(journal.clone())
        .build();
    store
        .create_webhook(NewWebhook::new(
            EventType::NewOrder,
            format!("http://{addr}/orders"),
        ))
        .expect("webhook");
    store
        .play(EventType::NewOrder, "1", &json!({"id": 1}))
        .await;
    let api2cart = MockSender::builder("store-key")
        .clock(clock.clone())
        .url(format!("http://{addr}/api2cart"))
        .journal(journal.clone())
        .build()
        .expect("sender");
    api2cart
        .send(Event::new(Entity::Product, Action::Add).json(json!({"id": "86"})))
        .await;

    let attempts = journal.attempts();
    let (ours, theirs) = (&attempts[0], &attempts[1]);
    assert_eq!(
        (ours.vendor(), ours.status()),
        (Vendor::AmeriCommerce, Some(204))
    );
    assert_eq!(
        (theirs.vendor(), theirs.status()),
        (Vendor::Api2Cart, Some(204))
    );
    assert!(ours.is_delivered() && !theirs.is_delivered());
    for original in [ours, theirs] {
        let replayed = journal.replay(original, NOW, Duration::from_secs(5)).await;
        assert_eq!(replayed.status(), Some(204));
        assert_eq!(
            replayed.is_delivered(),
            original.is_delivered(),
            "{:?}",
            original.vendor()
        );
        assert_eq!(replayed.details()["replay_of"], json!(original.id()));
    }
}
