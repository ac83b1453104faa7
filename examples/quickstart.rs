//! An axum receiver behind `VerifyWebhookLayer`, and the mock sender
//! delivering to it over HTTP/1.1 on loopback as the vendor would: two valid
//! events are accepted, a tampered one and a stale one are refused (twice
//! each: the vendor retries once) and land in the failed log.
//!
//! ```text
//! cargo run --example quickstart --features mock,axum
//! ```

use std::error::Error;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::json;
use tokio::net::TcpListener;
use webhook_guard::mock::{Delivery, Event, FailedQuery, Fault, MockSender};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{Action, Entity, InMemoryReplayGuard, KeySet, VerifiedWebhook, Verifier};

/// The store key both sides share. For the demo only.
const STORE_KEY: &str = "quickstart-store-key";

/// What the receiver's handler saw: only verified deliveries get there.
type Handled = Arc<Mutex<Vec<String>>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    // The receiver: every route behind the layer, replays refused.
    let verifier = Verifier::builder(KeySet::single(STORE_KEY))
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let handled = Handled::default();
    let app = Router::new()
        .route("/webhooks", post(receive))
        .with_state(Arc::clone(&handled))
        .layer(VerifyWebhookLayer::new(verifier));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The mock vendor, delivering to it over real HTTP.
    let sender = MockSender::builder(STORE_KEY).url(&url).build()?;
    println!("axum receiver on 127.0.0.1, mock sender delivering over HTTP/1.1\n");

    let product = Event::new(Entity::Product, Action::Add)
        .json(json!({"id": "86", "name": "Cable 3/4\" (black)", "price": "9.99"}));
    let order =
        Event::new(Entity::Order, Action::Update).json(json!({"id": "25", "status": "shipped"}));
    let deliveries = [
        ("product add", sender.send(product.clone()).await),
        ("order update", sender.send(order).await),
        (
            "tampered body",
            sender
                .send(product.clone().fault(Fault::TamperedBody))
                .await,
        ),
        (
            "stale timestamp",
            sender
                .send(product.fault(Fault::StaleTimestamp { seconds: 600 }))
                .await,
        ),
    ];
    for (what, delivery) in &deliveries {
        println!("  {what:<16} {}", describe(delivery));
    }

    let handled = handled.lock().map(|h| h.clone()).unwrap_or_default();
    let accepted = deliveries.iter().filter(|(_, d)| d.is_delivered()).count();
    let failed = sender.failed_webhooks(&FailedQuery::new())?;
    println!(
        "\nthe receiver's handler ran {} times: {}",
        handled.len(),
        handled.join(", ")
    );
    println!(
        "{accepted} of {} deliveries accepted; account.failed_webhooks lists {} (entity ids {})",
        deliveries.len(),
        failed.all_failed_webhook(),
        failed
            .webhook()
            .iter()
            .map(|f| f.entity_id().unwrap_or("-"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Runs for verified deliveries only; the vendor counts only 200 as delivered.
async fn receive(
    State(handled): State<Handled>,
    Extension(event): Extension<VerifiedWebhook>,
) -> &'static str {
    let id = event
        .payload::<serde_json::Value>()
        .ok()
        .and_then(|p| p["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let entity = event.entity().map(|e| e.to_string()).unwrap_or_default();
    let action = event.action().map(|a| a.to_string()).unwrap_or_default();
    if let Ok(mut handled) = handled.lock() {
        handled.push(format!("{entity} {action} (id {id})"));
    }
    "ok"
}

/// `delivered on attempt 1 (200)` or `not delivered (401, 401): ...`.
fn describe(delivery: &Delivery) -> String {
    let statuses: Vec<String> = delivery
        .attempts()
        .iter()
        .map(|a| {
            a.status()
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string())
        })
        .collect();
    let answer = delivery.attempts().last().and_then(|a| a.response());
    let reason = answer.map(|r| r.text()).unwrap_or_default();
    if delivery.is_delivered() {
        format!("{} ({})", delivery.outcome(), statuses.join(", "))
    } else {
        format!("{} ({}): {reason}", delivery.outcome(), statuses.join(", "))
    }
}
