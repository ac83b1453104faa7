//! A complete actix-web receiver for signed webhook deliveries.
//!
//! ```text
//! WEBHOOK_SECRET=your-store-key BIND=127.0.0.1:3000 cargo run --example actix_receiver --features actix
//! ```
//!
//! - `BIND`: the address to listen on (default `127.0.0.1:3000`).
//! - `WEBHOOK_SECRET`: the store key deliveries are signed with. When it is not
//!   set, the receiver uses the demo key `webhook-guard-demo-key` and says so on
//!   stderr: anyone who reads this file can sign for it, so never deploy it.
//! - `RUST_LOG`: log filter for stderr, e.g. `webhook_guard=debug` to see why
//!   each refused delivery was refused.
//!
//! `POST /webhooks` answers `200 ok` to each verified delivery and prints one
//! line per event on stdout: `entity=product action=add store_id=1` (and
//! `error_code=...` for lost-connection notices). Anything else is refused
//! with the status table of the crate docs (400, 401, 413, 503) and never
//! reaches the handler. Timestamps further than five minutes from now are
//! refused.

use std::env;
use std::io::IsTerminal;

use actix_web::{App, HttpServer, web};
use tracing_subscriber::EnvFilter;
use webhook_guard::actix::{Webhook, WebhookConfig};
use webhook_guard::{KeySet, Verifier};

/// The key used when `WEBHOOK_SECRET` is not set. For trying the example only.
const DEMO_KEY: &str = "webhook-guard-demo-key";

fn main() -> std::io::Result<()> {
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

    // The default policy: a timestamp more than 300 s from now is refused,
    // bodies over 1 MiB are refused with 413.
    let config = WebhookConfig::new(Verifier::new(KeySet::single(secret)));

    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(config.clone())
                .route("/webhooks", web::post().to(receive))
        })
        .bind(&bind)?;
        for addr in server.addrs() {
            eprintln!("listening on http://{addr}/webhooks");
        }
        // Stops on Ctrl-C (SIGINT) and SIGTERM.
        server.run().await
    })
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
