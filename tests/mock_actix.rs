//! The mock sender against actix-web receivers over real HTTP/1.1: the
//! `Webhook<T>` extractor and the `VerifyWebhook` middleware answer every
//! case of the conformance runner as the status table demands.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpMessage, HttpRequest, HttpServer, web};
use serde_json::{Value, json};
use webhook_guard::actix::{VerifyWebhook, Webhook, WebhookConfig};
use webhook_guard::mock::{Conformance, Event, MockSender, ReceiverPolicy};
use webhook_guard::{
    Action, Entity, InMemoryReplayGuard, KeySet, ManualClock, VerifiedWebhook, Verifier,
};

const KEY: &str = "store-key-0123456789";
const NOW: i64 = 1_763_900_000;
const LIMIT: usize = 16 * 1024;

fn verifier(clock: &ManualClock) -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .body_limit(LIMIT)
        .replay_guard(InMemoryReplayGuard::new())
        .build()
}

/// Serves the app factory on loopback (one worker) in this actix system.
macro_rules! serve {
    ($factory:expr) => {{
        let server = HttpServer::new($factory)
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(("127.0.0.1", 0))
            .expect("bind loopback");
        let addr: SocketAddr = server.addrs()[0];
        let server = server.run();
        let handle: ServerHandle = server.handle();
        actix_web::rt::spawn(server);
        (addr, handle)
    }};
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
    let (addr, handle) = serve!(move || {
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
    let sender = sender(&clock, addr);

    let delivery = sender
        .send(
            Event::new(Entity::Product, Action::Add)
                .json(json!({"id": "86", "name": "Café 3/4\""})),
        )
        .await;
    let report = Conformance::new(policy).run(&sender).await;
    handle.stop(false).await;

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
    let (addr, handle) = serve!(move || {
        App::new().wrap(middleware.clone()).route(
            "/webhooks",
            web::post().to(|request: HttpRequest| async move {
                // Only verified requests get here.
                assert!(request.extensions().get::<VerifiedWebhook>().is_some());
                "ok"
            }),
        )
    });
    let sender = sender(&clock, addr);
    let report = Conformance::new(policy).run(&sender).await;
    handle.stop(false).await;
    assert!(report.passed(), "{report}");
}
