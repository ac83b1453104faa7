//! Subscriptions as the vendor's `webhook.*` API keeps them, and store events
//! fanned out to them with their `fields`.

mod support;

use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::routing::post;
use serde_json::json;
use support::{KEY, NOW};
use webhook_guard::mock::{
    ApiError, Event, Fields, MockSender, NewSubscription, SubscriptionFilter, SubscriptionUpdate,
    SupportedEvent, WebhookId,
};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{Action, Entity, KeySet, ManualClock, VerifiedWebhook, Verifier};

/// What the receiver saw: the path and the verified delivery.
type Seen = Arc<Mutex<Vec<(String, VerifiedWebhook)>>>;

fn receiver(clock: &ManualClock, seen: &Seen) -> Router {
    async fn record(
        State(seen): State<Seen>,
        uri: Uri,
        Extension(event): Extension<VerifiedWebhook>,
    ) -> &'static str {
        seen.lock()
            .expect("lock")
            .push((uri.path().to_owned(), event));
        "ok"
    }
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .build();
    Router::new()
        .route("/webhooks", post(record))
        .route("/products", post(record))
        .route("/orders", post(record))
        .with_state(seen.clone())
        .layer(VerifyWebhookLayer::new(verifier))
}

fn sender(clock: &ManualClock, seen: &Seen) -> MockSender {
    MockSender::builder(KEY)
        .clock(clock.clone())
        .service(receiver(clock, seen))
        .callback("/webhooks")
        .build()
        .expect("sender")
}

fn ids(subscriptions: &[webhook_guard::mock::Subscription]) -> Vec<u64> {
    subscriptions.iter().map(|s| s.id().get()).collect()
}

#[test]
fn create_list_count_update_delete_like_the_vendor() {
    let clock = ManualClock::new(NOW);
    let sender = sender(&clock, &Seen::default());
    let hooks = sender.subscriptions();

    let first = hooks
        .create(
            NewSubscription::new(Entity::Product, Action::Add)
                .label("super_webhook")
                .fields(Fields::parse("id,name")),
        )
        .expect("create");
    clock.advance(10);
    let second = hooks
        .create(
            NewSubscription::new(Entity::Order, Action::Update)
                .callback("/orders")
                .active(false)
                .store_id("2"),
        )
        .expect("create");
    let third = hooks
        .create(NewSubscription::new(Entity::Product, Action::Delete))
        .expect("create");
    assert_eq!((first.get(), second.get(), third.get()), (1, 2, 3));

    // The entry as webhook.list shows it.
    let created = hooks.get(first).expect("get");
    assert_eq!(
        created.to_json(),
        json!({
            "id": 1,
            "label": "super_webhook",
            "store_id": "1",
            "active": true,
            "callback": "/webhooks",
            "fields": "id,name",
            "created_at": {"value": "2025-11-23T12:13:20+0000", "format": "Y-m-d\\TH:i:sO"},
            "updated_at": {"value": "2025-11-23T12:13:20+0000", "format": "Y-m-d\\TH:i:sO"},
            "entity": "product",
            "action": "add",
        })
    );

    let all = SubscriptionFilter::new();
    assert_eq!(hooks.count(&all), 3);
    assert_eq!(ids(&hooks.list(&all).expect("list")), [1, 2, 3]);
    let products = SubscriptionFilter::new().entity(Entity::Product);
    assert_eq!(ids(&hooks.list(&products).expect("list")), [1, 3]);
    assert_eq!(hooks.count(&products.clone().action(Action::Delete)), 1);
    assert_eq!(
        ids(&hooks
            .list(&SubscriptionFilter::new().active(false))
            .expect("list")),
        [2]
    );
    assert_eq!(
        ids(&hooks
            .list(&SubscriptionFilter::new().ids([first, third]))
            .expect("list")),
        [1, 3]
    );
    assert_eq!(
        ids(&hooks
            .list(&SubscriptionFilter::new().start(1).count(1))
            .expect("list")),
        [2]
    );
    assert_eq!(
        hooks.list(&SubscriptionFilter::new().count(251)),
        Err(ApiError::InvalidParam {
            param: "count",
            reason: "at most 250"
        })
    );

    // Only callback, label, fields and active can change.
    clock.advance(5);
    hooks
        .update(
            first,
            SubscriptionUpdate::new()
                .callback("/products")
                .label("renamed")
                .fields(Fields::All)
                .active(false),
        )
        .expect("update");
    let updated = hooks.get(first).expect("get");
    assert_eq!(updated.callback(), "/products");
    assert_eq!(updated.label(), Some("renamed"));
    assert_eq!(updated.fields(), &Fields::All);
    assert!(!updated.is_active());
    assert_eq!(
        (updated.created_at(), updated.updated_at()),
        (NOW, NOW + 15)
    );
    assert_eq!(updated.entity(), &Entity::Product);

    hooks
        .update_params(first, [("active", "1"), ("label", "again")])
        .expect("update by params");
    assert!(hooks.get(first).expect("get").is_active());
    for param in ["entity", "action", "store_id", "id", "created_at"] {
        let refused = hooks.update_params(first, [(param, "x")]).unwrap_err();
        assert_eq!(
            refused,
            ApiError::NotUpdatable {
                param: param.into()
            }
        );
        assert!(
            refused
                .to_string()
                .contains("only callback, label, fields and active"),
            "{refused}"
        );
    }
    assert_eq!(hooks.get(first).expect("get").label(), Some("again"));

    hooks.delete(second).expect("delete");
    assert_eq!(hooks.count(&all), 2);
    // Ids read back from the vendor's text form.
    let gone: WebhookId = second.to_string().parse().expect("an id parses back");
    assert_eq!(hooks.delete(gone), Err(ApiError::UnknownWebhook(gone)));
    assert_eq!(
        hooks.update(gone, SubscriptionUpdate::new().active(true)),
        Err(ApiError::UnknownWebhook(gone))
    );
    assert_eq!(hooks.get(gone), Err(ApiError::UnknownWebhook(gone)));
}

#[test]
fn events_and_callbacks_are_checked() {
    let clock = ManualClock::new(NOW);
    let sender = MockSender::builder(KEY)
        .clock(clock)
        .url("http://127.0.0.1:9/webhooks")
        .supported_events([
            SupportedEvent::new(Entity::Product, Action::Add),
            SupportedEvent::new(Entity::Order, Action::Add),
        ])
        .build()
        .expect("sender");
    let hooks = sender.subscriptions();
    let events: Vec<String> = hooks.events().iter().map(ToString::to_string).collect();
    assert_eq!(events, ["product.add", "order.add"]);

    assert_eq!(
        hooks.create(NewSubscription::new(Entity::Customer, Action::Add)),
        Err(ApiError::UnsupportedEvent {
            entity: "customer".into(),
            action: "add".into()
        })
    );
    assert!(
        hooks
            .create(NewSubscription::new(Entity::parse("giftcard"), Action::Add))
            .is_err()
    );
    for callback in ["https://receiver.example/hooks", "/relative", "nonsense"] {
        let refused = hooks
            .create(NewSubscription::new(Entity::Product, Action::Add).callback(callback))
            .unwrap_err();
        assert!(
            matches!(
                refused,
                ApiError::InvalidParam {
                    param: "callback",
                    ..
                }
            ),
            "{callback}: {refused}"
        );
    }
    let id = hooks
        .create(NewSubscription::new(Entity::Product, Action::Add))
        .expect("create");
    assert_eq!(
        hooks.get(id).expect("get").callback(),
        "http://127.0.0.1:9/webhooks"
    );
    assert!(
        hooks
            .update(id, SubscriptionUpdate::new().callback("ftp://x/y"))
            .is_err()
    );
    assert_eq!(SupportedEvent::defaults().len(), 21);
}

#[tokio::test]
async fn a_store_event_fans_out_to_every_active_matching_subscription() {
    let clock = ManualClock::new(NOW);
    let seen = Seen::default();
    let sender = sender(&clock, &seen);
    let hooks = sender.subscriptions();
    let all_fields = hooks
        .create(NewSubscription::new(Entity::Product, Action::Add).callback("/products"))
        .expect("create");
    let trimmed = hooks
        .create(NewSubscription::new(Entity::Product, Action::Add).fields(Fields::parse("name,id")))
        .expect("create");
    let none_listed = hooks
        .create(NewSubscription::new(Entity::Product, Action::Add).fields(Fields::parse("missing")))
        .expect("create");
    // Not matching: inactive, another action, another entity, another store.
    hooks
        .create(NewSubscription::new(Entity::Product, Action::Add).active(false))
        .expect("create");
    hooks
        .create(NewSubscription::new(Entity::Product, Action::Update))
        .expect("create");
    hooks
        .create(NewSubscription::new(Entity::Order, Action::Add).callback("/orders"))
        .expect("create");
    hooks
        .create(NewSubscription::new(Entity::Product, Action::Add).store_id("2"))
        .expect("create");

    let body =
        r#"{"id":"86","name":"Cable 3\/4\"","price":"9.99","images":[{"url":"https:\/\/x"}]}"#;
    let deliveries = sender
        .emit(Event::new(Entity::Product, Action::Add).body_bytes(body))
        .await;
    let webhooks: Vec<Option<WebhookId>> = deliveries.iter().map(|d| d.webhook_id()).collect();
    assert_eq!(
        webhooks,
        [Some(all_fields), Some(trimmed), Some(none_listed)]
    );
    assert!(deliveries.iter().all(|d| d.is_delivered()));

    let seen = seen.lock().expect("lock").clone();
    let received: Vec<(&str, &[u8])> = seen
        .iter()
        .map(|(path, event)| (path.as_str(), &event.body()[..]))
        .collect();
    assert_eq!(
        received,
        [
            ("/products", body.as_bytes()),
            // Trimmed to the listed fields, each kept byte for byte in place.
            ("/webhooks", &br#"{"id":"86","name":"Cable 3\/4\""}"#[..]),
            // Nothing listed is present: PHP's empty array.
            ("/webhooks", &b"[]"[..]),
        ]
    );

    // Another store's event reaches that store's subscription only.
    let other_store = sender
        .emit(
            Event::new(Entity::Product, Action::Add)
                .store_id("2")
                .body_bytes(r#"{"id":"1"}"#),
        )
        .await;
    assert_eq!(other_store.len(), 1);
    assert_eq!(
        other_store[0].attempts()[0]
            .request()
            .header("X-Webhook-Store-Id"),
        Some("2")
    );

    // Nothing subscribed: nothing sent.
    assert!(
        sender
            .emit(Event::new(Entity::Customer, Action::Delete))
            .await
            .is_empty()
    );
}
