//! `webhook-guard serve`: a local stand-in for the delivering platforms. It
//! answers each vendor's webhook API over HTTP and, when told to play a
//! store event, delivers signed webhooks to the subscribed callbacks with
//! that vendor's rules, logging every attempt on stdout, one line each.
//!
//! Each vendor lives under its own path prefix, so one server plays all:
//! - `/v1.0/...`: API2Cart (`webhook.*.json`, `account.failed_webhooks.json`,
//!   `emulator/event.json`, `emulator/store_unreachable.json`,
//!   `emulator/store_reachable.json`), [`api2cart`];
//! - `/api/v1/...`: AmeriCommerce (`webhooks`, `emulator/events`), [`americommerce`];
//! - `/webhooks/events`, `/workspaces/...`: UP42, seed 004 (webhooks and test runs), [`workspace`];
//! - `/standard/...`: Standard Webhooks (endpoints, messages, retries), [`standard`];
//! - `/emulator/clock`: the virtual clock, when started with `--virtual-clock`;
//! - `/` and `/emulator/attempts...`: the dashboard and its JSON, every
//!   vendor's attempts from one shared journal, [`dashboard`].

mod americommerce;
mod api2cart;
mod clock;
mod dashboard;
mod idempotency;
mod origin;
mod standard;
mod workspace;

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::sync::watch;
use webhook_guard::mock::{Attempt, Journal};
use webhook_guard::{Clock, ManualClock, SystemClock};

use crate::{CliError, EXIT_OK, Outcome};

/// Play the delivering platforms: their webhook APIs over HTTP, and signed
/// deliveries to the subscribed callbacks when an event is played.
///
/// API2Cart under /v1.0 (webhook.create.json, webhook.list.json, ...,
/// account.failed_webhooks.json; POST /v1.0/emulator/event.json plays a
/// store event), AmeriCommerce under /api/v1 (webhooks; POST
/// /api/v1/emulator/events), UP42 at /webhooks/events and /workspaces
/// (webhooks and their test runs), Standard Webhooks under /standard
/// (endpoints, messages, retries on the server's clock). Every delivery attempt is logged on
/// stdout, one line each. Runs until interrupted (Ctrl-C).
///
/// Open http://ADDR/ in a browser for the dashboard: every vendor's
/// attempts live, each one's exact request and answer, replay byte for
/// byte, resend re-signed, export for `webhook-guard verify`, a curl
/// command. The same as JSON under /emulator/attempts.
#[derive(Debug, Args)]
#[command(after_long_help = SERVE_EXAMPLES)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free one; the first line
    /// printed says which, the second where the dashboard is)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,

    /// The store key: what API2Cart deliveries are signed with, and the
    /// token AmeriCommerce's /api/v1 takes in X-AC-Auth-Token (its
    /// deliveries are unsigned)
    #[arg(long, value_name = "KEY")]
    store_key: String,

    /// The store id of deliveries and new subscriptions
    #[arg(long, value_name = "ID", default_value = "1")]
    store_id: String,

    /// Where webhooks created without a callback deliver (absolute http:// URL)
    #[arg(long, value_name = "URL")]
    callback: Option<String>,

    /// Run on a virtual clock standing at START (Unix seconds) instead of the
    /// system clock; POST /emulator/clock moves it ({"advance": SECONDS} or
    /// {"set": UNIX_SECONDS}), so 24-hour retention and reply caches can be
    /// tested at once
    #[arg(long, value_name = "START")]
    virtual_clock: Option<i64>,

    /// How long one delivery attempt may take before it counts as failed
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,

    /// How many of the most recent delivery attempts (and deliveries) the
    /// server keeps in memory, all vendors together (what the dashboard and
    /// /emulator/attempts list); older ones are dropped, so a long-running
    /// server does not grow without bound (every attempt is still logged)
    #[arg(long, value_name = "N", default_value_t = 1000)]
    journal_limit: usize,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  webhook-guard serve --bind 127.0.0.1:8080 --store-key KEY
  curl 'http://127.0.0.1:8080/v1.0/webhook.create.json?entity=product&action=add&callback=http://127.0.0.1:3000/webhooks&fields=id,name'
  curl -d '{\"entity\":\"product\",\"action\":\"add\",\"store_id\":\"1\",\"data\":{\"id\":\"86\",\"name\":\"Cable\",\"price\":9}}' \\
      http://127.0.0.1:8080/v1.0/emulator/event.json
  curl 'http://127.0.0.1:8080/v1.0/account.failed_webhooks.json'";

/// What every vendor's routes share.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    /// What deliveries are signed with and what retention and reply caches see.
    pub(crate) clock: Arc<dyn Clock>,
    /// Set when started with `--virtual-clock`: the clock `/emulator/clock` moves.
    pub(crate) manual_clock: Option<ManualClock>,
    /// The key API2Cart deliveries are signed with; AmeriCommerce's API token.
    pub(crate) store_key: String,
    /// The store id of deliveries and new subscriptions.
    pub(crate) store_id: String,
    /// The default callback of new subscriptions, if any.
    pub(crate) callback: Option<String>,
    /// How long one delivery attempt may take.
    pub(crate) attempt_timeout: Duration,
    /// How many recent attempts and deliveries the journal keeps.
    pub(crate) journal_limit: usize,
    /// The one journal every vendor's sender records into
    /// (`Journal::with_limit(journal_limit)`), so one list has them all.
    pub(crate) journal: Journal,
}

/// Logs one delivery attempt on stdout, as one line prefixed by the vendor.
pub(crate) fn log_attempt(vendor: &str, attempt: &Attempt) {
    log_line(&format!("{vendor}: {}", attempt.summary()));
}

/// Writes one line on stdout and flushes it, so a reader of a pipe sees it at once.
pub(crate) fn log_line(line: &str) {
    let mut stdout = io::stdout().lock();
    // A closed stdout must not stop the server.
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

/// Serves until Ctrl-C.
pub fn run(args: &ServeArgs) -> Result<Outcome, CliError> {
    let manual_clock = args.virtual_clock.map(ManualClock::new);
    let clock: Arc<dyn Clock> = match &manual_clock {
        Some(manual) => Arc::new(manual.clone()),
        None => Arc::new(SystemClock),
    };
    let context = Context {
        clock,
        manual_clock,
        store_key: args.store_key.clone(),
        store_id: args.store_id.clone(),
        callback: args.callback.clone(),
        attempt_timeout: Duration::from_secs(args.timeout.max(1)),
        journal_limit: args.journal_limit,
        journal: Journal::with_limit(args.journal_limit),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args.bind, context))?;
    Ok(Outcome {
        text: String::new(),
        status: EXIT_OK,
    })
}

async fn serve(bind: SocketAddr, context: Context) -> Result<(), CliError> {
    let (api2cart_routes, api2cart) = api2cart::router(&context)?;
    let (americommerce_routes, americommerce) = americommerce::router(&context)?;
    let (workspace_routes, up42) = workspace::router(&context)?;
    let (standard_routes, standard) = standard::router(&context)?;
    let senders = dashboard::Senders {
        api2cart,
        americommerce,
        up42,
        standard,
    };
    let (stop, stopping) = watch::channel(false);
    let app = api2cart_routes
        .merge(americommerce_routes)
        .merge(workspace_routes)
        .merge(standard_routes)
        .merge(clock::router(&context))
        .merge(dashboard::router(&context, senders, stopping))
        .layer(axum::middleware::from_fn(origin::same_origin_only));
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| CliError::new(format!("cannot listen on {bind}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::new(format!("cannot read the bound address: {e}")))?;
    log_line(&format!("listening on http://{local}"));
    // Where a browser on this machine finds the dashboard (an address that
    // binds every interface is reached on loopback).
    let mut page = local;
    if page.ip().is_unspecified() {
        page.set_ip(match page {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    log_line(&format!("dashboard: http://{page}/"));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            // Without a signal handler the server runs until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            // Ends the dashboard's event streams, which never end by
            // themselves and would keep the shutdown waiting.
            let _ = stop.send(true);
        })
        .await
        .map_err(|e| CliError::new(format!("server failed: {e}")))
}
