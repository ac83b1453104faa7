//! The mock sender against actix-web receivers over real HTTP/1.1: the
//! `Webhook<T>` extractor and the `VerifyWebhook` middleware answer every
//! case of the conformance runner as the status table demands.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpMessage, HttpRequest, web};
use serde_json::{Value, json};
use webhook_guard::actix::{VerifyWebhook, Webhook, WebhookConfig};
use webhook_guard::mock::{Conformance, Event, MockSender, ReceiverPolicy};
use webhook_guard::{
    Action, Entity, InMemoryReplayGuard, KeySet, ManualClock, VerifiedWebhook, Verifier,
};

use support::{KEY, NOW};

const LIMIT: usize = 16 * 1024;

fn verifier(clock: &ManualClock) -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .body_limit(LIMIT)
        .replay_guard(InMemoryReplayGuard::new())
        .build()
}

fn sender(clock: &ManualClock, addr: SocketAddr) -> MockSender {
    MockSender::builder(KEY)
        .clock(clock.clone())
        .url(format!("http://{addr}/webhooks"))
        .build()
        .expect("sender")
}

#[actix_rt::test]
async fn the_extractor_answers_every_case_as_the_status_table_demands() {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock);
    let policy = ReceiverPolicy::of(&verifier).replay_guard(true);
    let config = WebhookConfig::new(verifier);
    let payloads: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = Arc::clone(&payloads);
    let server = serve_actix!(move || {
        let seen = Arc::clone(&seen);
        App::new().app_data(config.clone()).route(
            "/webhooks",
            web::post().to(move |webhook: Webhook| {
                let seen = Arc::clone(&seen);
                async move {
                    if let Some(payload) = webhook.into_payload() {
                        seen.lock().expect("lock").push(payload);
                    }
                    "ok"
                }
            }),
        )
    });
    let sender = sender(&clock, server.addr);

    let delivery = sender
        .send(
            Event::new(Entity::Product, Action::Add)
                .json(json!({"id": "86", "name": "Café 3/4\""})),
        )
        .await;
    let report = Conformance::new(policy).run(&sender).await;
    server.stop().await;

    assert!(delivery.is_delivered(), "{delivery:?}");
    assert_eq!(
        payloads.lock().expect("lock")[0],
        json!({"id": "86", "name": "Café 3/4\""})
    );
    assert!(report.passed(), "{report}");
}

#[actix_rt::test]
async fn the_middleware_answers_every_case_as_the_status_table_demands() {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock);
    let policy = ReceiverPolicy::of(&verifier).replay_guard(true);
    let middleware = VerifyWebhook::new(verifier);
    let server = serve_actix!(move || {
        App::new().wrap(middleware.clone()).route(
            "/webhooks",
            web::post().to(|request: HttpRequest| async move {
                // Only verified requests get here.
                assert!(request.extensions().get::<VerifiedWebhook>().is_some());
                "ok"
            }),
        )
    });
    let sender = sender(&clock, server.addr);
    let report = Conformance::new(policy).run(&sender).await;
    server.stop().await;
    assert!(report.passed(), "{report}");
}
