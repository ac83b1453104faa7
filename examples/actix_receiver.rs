//! A complete actix-web receiver for signed webhook deliveries: one route per
//! recipe, as in `axum_receiver` (same variables, routes and stdout lines).
//!
//! ```text
//! WEBHOOK_SECRET=your-store-key BIND=127.0.0.1:3000 cargo run --example actix_receiver --features actix
//! ```
//!
//! - `BIND`: the address to listen on (default `127.0.0.1:3000`).
//! - `WEBHOOK_SECRET`: the API2Cart store key deliveries are signed with. When
//!   it is not set, the receiver uses the demo key `webhook-guard-demo-key` and
//!   says so on stderr: anyone who reads this file can sign for it, so never
//!   deploy it.
//! - `UP42_SECRET`, `STANDARD_SECRET` (`whsec_...`), `AMERICOMMERCE_TOKEN`:
//!   each turns on its route (`POST /up42`, `/standard`,
//!   `/americommerce?token=...`); unset, the route is not there (404).
//! - `RUST_LOG`: log filter for stderr, e.g. `webhook_guard=debug` to see why
//!   each refused delivery was refused.
//!
//! `POST /webhooks` answers `200 ok` to each verified delivery and prints one
//! line per event on stdout: `entity=product action=add store_id=1` (and
//! `error_code=...` for lost-connection notices). Anything else is refused
//! with the status table of the crate docs (400, 401, 408, 413, 503) and never
//! reaches the handler. Timestamps further than five minutes from now are
//! refused. A request head must arrive within 5 s and a body within 10 s
//! (`Verifier::body_timeout`); after a refusal the connection is closed within
//! 1 s rather than kept to read the rest of the body.

use std::env;
use std::io::IsTerminal;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use tracing_subscriber::EnvFilter;
use webhook_guard::actix::{VerifyWebhook, Webhook, WebhookConfig};
use webhook_guard::americommerce::UrlToken;
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::up42::{self, Up42};
use webhook_guard::{KeySet, VerifiedWebhook, Verifier};

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
    let up42 = env_secret("UP42_SECRET").map(|secret| {
        WebhookConfig::new(
            Verifier::builder(KeySet::single(secret))
                .scheme(Up42::new())
                .build(),
        )
    });
    let standard = match env_secret("STANDARD_SECRET") {
        Some(secret) => Some(
            Verifier::builder(StandardWebhooks::keys(&secret).map_err(std::io::Error::other)?)
                .scheme(StandardWebhooks::new())
                .build(),
        ),
        None => None,
    };
    let americommerce = env_secret("AMERICOMMERCE_TOKEN").map(|token| {
        Verifier::builder(KeySet::single(token))
            .scheme(UrlToken::query("token"))
            .build()
    });

    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let mut app = App::new()
                .app_data(config.clone())
                .route("/webhooks", web::post().to(receive));
            // Each recipe's resource has its own verifier.
            if let Some(up42) = &up42 {
                app = app.service(
                    web::resource("/up42")
                        .app_data(up42.clone())
                        .route(web::post().to(receive_up42)),
                );
            }
            // Bodies need not be JSON: the middleware hands the verified
            // delivery on in the request extensions, whatever the body is.
            if let Some(verifier) = &standard {
                app = app.service(
                    web::resource("/standard")
                        .wrap(VerifyWebhook::new(verifier.clone()))
                        .route(web::post().to(receive_standard)),
                );
            }
            if let Some(verifier) = &americommerce {
                app = app.service(
                    web::resource("/americommerce")
                        .wrap(VerifyWebhook::new(verifier.clone()))
                        .route(web::post().to(receive_americommerce)),
                );
            }
            app
        })
        // Bounded time per delivery: the head within 5 s (the body's deadline
        // is the verifier's), at most 1 s to let a refused client's bytes go
        // before closing, idle keep-alive connections closed after 5 s.
        .client_request_timeout(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(Duration::from_secs(5))
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
async fn receive_standard(webhook: web::ReqData<VerifiedWebhook>) -> &'static str {
    println!(
        "standard id={} bytes={}",
        webhook.message_id().unwrap_or("-"),
        webhook.body().len()
    );
    "ok"
}

/// AmeriCommerce signs nothing: the token proves the URL, not the body.
async fn receive_americommerce(webhook: web::ReqData<VerifiedWebhook>) -> &'static str {
    println!("americommerce bytes={}", webhook.body().len());
    "ok"
}

/// A secret from the environment, when set and not empty.
fn env_secret(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.is_empty())
}
