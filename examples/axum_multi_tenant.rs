//! One receiver for several stores, each with its own key, chosen by the path:
//! deliveries for tenant `acme` go to `POST /webhooks/acme`.
//!
//! ```text
//! TENANT_KEYS='acme=acme-store-key,globex=globex-store-key' cargo run --example axum_multi_tenant --features axum
//! ```
//!
//! - `BIND`: the address to listen on (default `127.0.0.1:3000`).
//! - `TENANT_KEYS`: `tenant=store-key` pairs separated by commas. When it is
//!   not set, two demo tenants are used and announced on stderr:
//!   `acme` (key `acme-demo-key`) and `globex` (key `globex-demo-key`).
//! - `RUST_LOG`: log filter for stderr, e.g. `webhook_guard=debug`.
//!
//! A delivery for a tenant that is not configured is refused with 401, as is
//! one signed with another tenant's key. Verified deliveries answer `200 ok`
//! and print `tenant=acme entity=product action=add store_id=1` on stdout.
//!
//! The keys are looked up by an async [`KeyResolver`](webhook_guard::KeyResolver):
//! here a map in memory, in a real service perhaps a database, whose failure
//! answers 503 so the sender retries.
//!
//! A body not complete within 10 s (`Verifier::body_timeout`) gets 408; a
//! request head not complete within 10 s closes the connection
//! (`support/server.rs`).

use std::collections::HashMap;
use std::env;
use std::error::Error;
use std::io::IsTerminal;
use std::sync::Arc;

use axum::extract::Path;
use axum::routing::post;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use webhook_guard::tower::{PathSegment, VerifyWebhookLayer};
use webhook_guard::{KeySet, ResolveError, VerifiedWebhook, Verifier, resolver_fn};

#[path = "support/server.rs"]
mod server;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let bind = env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let tenants = match env::var("TENANT_KEYS") {
        Ok(spec) if !spec.is_empty() => parse_tenants(&spec)?,
        _ => {
            eprintln!(
                "TENANT_KEYS is not set: using demo tenants acme (key \"acme-demo-key\") \
                 and globex (key \"globex-demo-key\") (never in production)"
            );
            parse_tenants("acme=acme-demo-key,globex=globex-demo-key")?
        }
    };
    let tenants = Arc::new(tenants);

    // Segment 1 of `/webhooks/{tenant}` names the tenant.
    let keys = PathSegment::new(
        1,
        resolver_fn(move |tenant: &str| {
            let keys = tenants.get(tenant).cloned();
            async move { keys.ok_or(ResolveError::UnknownTenant) }
        }),
    );
    let verifier = Verifier::builder(keys).build();

    let app = Router::new()
        .route("/webhooks/{tenant}", post(receive))
        // `route_layer`: a path that matches no route stays a 404.
        .route_layer(VerifyWebhookLayer::new(verifier));

    let listener = TcpListener::bind(&bind).await?;
    eprintln!(
        "listening on http://{}/webhooks/{{tenant}}",
        listener.local_addr()?
    );
    // Not `axum::serve`, which has no deadline for the request head.
    server::serve(listener, app, shutdown()).await;
    Ok(())
}

/// Runs for verified deliveries only: the layer put the event in the extensions.
async fn receive(
    Path(tenant): Path<String>,
    Extension(event): Extension<VerifiedWebhook>,
) -> &'static str {
    let text = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
    println!(
        "tenant={tenant} entity={} action={} store_id={}",
        text(event.entity().map(|e| e.to_string())),
        text(event.action().map(|a| a.to_string())),
        text(event.store_id().map(|s| s.to_string())),
    );
    "ok"
}

fn parse_tenants(spec: &str) -> Result<HashMap<String, KeySet>, String> {
    spec.split(',')
        .map(|pair| match pair.split_once('=') {
            Some((tenant, key)) if !tenant.is_empty() && !key.is_empty() => {
                Ok((tenant.to_owned(), KeySet::single(key)))
            }
            _ => Err(format!("TENANT_KEYS: expected tenant=key, got {pair:?}")),
        })
        .collect()
}

async fn shutdown() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
