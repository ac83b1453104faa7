//! A complete receiver for signed webhook deliveries: one route per recipe.
//!
//! ```text
//! WEBHOOK_SECRET=your-store-key BIND=127.0.0.1:3000 cargo run --example axum_receiver --features axum
//! ```
//!
//! - `BIND`: the address to listen on (default `127.0.0.1:3000`).
//! - `WEBHOOK_SECRET`: the API2Cart store key deliveries are signed with. When
//!   it is not set, the receiver uses the demo key `webhook-guard-demo-key` and
//!   says so on stderr: anyone who reads this file can sign for it, so never
//!   deploy it.
//! - `UP42_SECRET`, `STANDARD_SECRET` (`whsec_...`), `AMERICOMMERCE_TOKEN`:
//!   each turns on its route; unset, the route is not there (404).
//! - `REDIS_URL` (`redis://host:port/`, with the `redis` feature): every route
//!   remembers the deliveries it accepted in that Redis, so a delivery replayed
//!   to any receiver process sharing it is refused with 401. Redis must answer
//!   at start; later, while it cannot, deliveries are refused with 503 and the
//!   vendor retries.
//! - `RUST_LOG`: log filter for stderr, e.g. `webhook_guard=debug` to see why
//!   each refused delivery was refused.
//!
//! | route | recipe | stdout line per verified delivery |
//! |---|---|---|
//! | `POST /webhooks` | API2Cart `X-Webhook-*` | `entity=product action=add store_id=1` (and `error_code=...` for lost-connection notices) |
//! | `POST /up42` | UP42 `Signature-Input` | `up42 event=job.status status=SUCCEEDED` |
//! | `POST /standard` | Standard Webhooks | `standard id=msg_... bytes=42` |
//! | `POST /americommerce?token=...` | URL token | `americommerce bytes=42` |
//!
//! Each answers `200 ok` to a verified delivery. Anything else is refused with
//! the status table of the crate docs (400, 401, 408, 413, 503) and never reaches
//! the handler. Timestamps further than five minutes from now are refused. A
//! body not complete within 10 s (`Verifier::body_timeout`) gets 408; a
//! request head not complete within 10 s closes the connection
//! (`support/server.rs`).

use std::env;
use std::error::Error;
use std::io::IsTerminal;

use axum::routing::post;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use webhook_guard::americommerce::UrlToken;
use webhook_guard::axum::Webhook;
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::up42::{self, Up42};
use webhook_guard::{KeySet, VerifiedWebhook, Verifier, VerifierBuilder};

#[path = "support/server.rs"]
mod server;

/// The key used when `WEBHOOK_SECRET` is not set. For trying the example only.
const DEMO_KEY: &str = "webhook-guard-demo-key";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let bind = env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let secret = match env::var("WEBHOOK_SECRET") {
        Ok(secret) if !secret.is_empty() => secret,
        _ => {
            eprintln!(
                "WEBHOOK_SECRET is not set: using the demo key {DEMO_KEY:?} (never in production)"
            );
            DEMO_KEY.to_owned()
        }
    };

    let replay = ReplayMemory::from_env().await?;
    // The default policy: a timestamp more than 300 s from now is refused,
    // bodies over 1 MiB are refused with 413.
    let verifier = replay
        .guard(Verifier::builder(KeySet::single(secret)))
        .build();
    let mut app = Router::new()
        .route("/webhooks", post(receive))
        .with_state(verifier);
    // Each recipe's route has its own verifier in its own state.
    if let Some(secret) = env_secret("UP42_SECRET") {
        let verifier = replay
            .guard(Verifier::builder(KeySet::single(secret)))
            .scheme(Up42::new())
            .build();
        app = app.merge(
            Router::new()
                .route("/up42", post(receive_up42))
                .with_state(verifier),
        );
    }
    if let Some(secret) = env_secret("STANDARD_SECRET") {
        let verifier = replay
            .guard(Verifier::builder(StandardWebhooks::keys(&secret)?))
            .scheme(StandardWebhooks::new())
            .build();
        // Bodies need not be JSON: the layer hands the verified delivery on
        // in the extensions, whatever the body is.
        let route = post(receive_standard).layer(VerifyWebhookLayer::new(verifier));
        app = app.route("/standard", route);
    }
    if let Some(token) = env_secret("AMERICOMMERCE_TOKEN") {
        let verifier = replay
            .guard(Verifier::builder(KeySet::single(token)))
            .scheme(UrlToken::query("token"))
            .build();
        let route = post(receive_americommerce).layer(VerifyWebhookLayer::new(verifier));
        app = app.route("/americommerce", route);
    }

    let listener = TcpListener::bind(&bind).await?;
    eprintln!("listening on http://{}/webhooks", listener.local_addr()?);
    // Not `axum::serve`, which has no deadline for the request head.
    server::serve(listener, app, shutdown()).await;
    Ok(())
}

/// Runs for verified deliveries only. The vendor counts only 200 as delivered.
async fn receive(webhook: Webhook) -> &'static str {
    let text = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
    let mut line = format!(
        "entity={} action={} store_id={}",
        text(webhook.entity().map(|e| e.to_string())),
        text(webhook.action().map(|a| a.to_string())),
        text(webhook.store_id().map(|s| s.to_string())),
    );
    if let Some(notice) = webhook.error_notice() {
        line.push_str(&format!(" error_code={}", notice.code));
    }
    println!("{line}");
    "ok"
}

/// UP42: the typed event is the payload.
async fn receive_up42(webhook: Webhook<up42::Event>) -> &'static str {
    if let Some(event) = webhook.payload() {
        let status = event.status.as_ref().map(|s| s.to_string());
        println!(
            "up42 event={} status={}",
            event.kind,
            status.as_deref().unwrap_or("-")
        );
    }
    "ok"
}

/// Standard Webhooks: bodies need not be JSON, so take them as they are.
async fn receive_standard(Extension(webhook): Extension<VerifiedWebhook>) -> &'static str {
    println!(
        "standard id={} bytes={}",
        webhook.message_id().unwrap_or("-"),
        webhook.body().len()
    );
    "ok"
}

/// AmeriCommerce signs nothing: the token proves the URL, not the body.
async fn receive_americommerce(Extension(webhook): Extension<VerifiedWebhook>) -> &'static str {
    println!("americommerce bytes={}", webhook.body().len());
    "ok"
}

/// Where the accepted deliveries are remembered: in Redis when `REDIS_URL` is
/// set, shared by every receiver process (and every route: the recipes' keys
/// never meet); nowhere otherwise.
#[derive(Default)]
struct ReplayMemory {
    #[cfg(feature = "redis")]
    redis: Option<webhook_guard::RedisReplayGuard>,
}

impl ReplayMemory {
    async fn from_env() -> Result<Self, Box<dyn Error>> {
        let Some(url) = env_secret("REDIS_URL") else {
            return Ok(Self::default());
        };
        #[cfg(feature = "redis")]
        {
            let redis = webhook_guard::RedisReplayGuard::connect(&url).await?;
            // Not the URL: it may carry a password.
            eprintln!("replay guard: Redis, key prefix {:?}", redis.prefix());
            Ok(Self { redis: Some(redis) })
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = url;
            Err(
                "REDIS_URL is set, but this build lacks the `redis` feature \
                 (cargo run --example axum_receiver --features axum,redis)"
                    .into(),
            )
        }
    }

    fn guard<K>(&self, builder: VerifierBuilder<K>) -> VerifierBuilder<K> {
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            return builder.replay_guard(redis.clone());
        }
        builder
    }
}

/// A secret from the environment, when set and not empty.
fn env_secret(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.is_empty())
}

async fn shutdown() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handler: run until killed.
        std::future::pending::<()>().await;
    }
}
