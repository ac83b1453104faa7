//! The dashboard: `GET /` (a page built into the binary, no CDN, no build
//! step) and the JSON it reads, for scripts too, over the one journal every
//! vendor's sender records into.
//!
//! - `GET /emulator/attempts`: the kept attempts, newest first, a page at a
//!   time (`limit`, at most [`MAX_PAGE`]); filters `vendor`, `event`,
//!   `outcome` (`delivered`, `wrong-status`, `no-response`), `after=<id>`
//!   (newer than) and `before=<id>` (older than, for the next page);
//! - `GET /emulator/attempts/stream`: server-sent events, one `attempt`
//!   event per new attempt (the list's JSON), after the id in
//!   `Last-Event-ID` (an `EventSource` reconnecting: newer than the URL's),
//!   else after `after=<id>`, else from now;
//! - `GET /emulator/attempts/{id}`: the attempt's journal entry and its
//!   retry chain (the kept attempts of the same vendor and delivery);
//! - `POST /emulator/attempts/{id}/replay`: the recorded request sent again
//!   byte for byte (a receiver's replay guard should answer 401);
//! - `POST /emulator/attempts/{id}/resend`: the event played again through
//!   its vendor's sender, freshly signed;
//! - `GET /emulator/attempts/{id}/export/request`: the whole request in one
//!   file, as `webhook-guard verify --request-file` reads it; `.../export`
//!   and `.../export/body`: the header block and the body, as `verify
//!   --headers-file --body-file` reads them; `GET .../curl`: a curl command
//!   repeating it.
//!
//! Unknown ids answer 404 with `{"error": "..."}`. Nothing here shows a
//! secret: the store key and webhook secrets are not in the journal, and
//! the values of query strings (where AmeriCommerce receivers keep their
//! URL token) are shown as `<redacted>`, but in the curl command, which
//! must repeat the request to be of use and is only a download.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;
use webhook_guard::Clock;
use webhook_guard::mock::americommerce::AmeriCommerceSender;
use webhook_guard::mock::{
    Attempt, AttemptOutcome, Journal, MockSender, StandardSender, Vendor, WorkspaceSender,
};

use super::{Context, americommerce, api2cart, log_line, standard, workspace};
use crate::input::header_line;

/// The page and its assets, built into the binary.
const INDEX_HTML: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const STYLE_CSS: &str = include_str!("dashboard/style.css");

/// A page of the list holds this many attempts unless `limit` says less.
const DEFAULT_PAGE: usize = 100;
/// ... and never more, whatever `limit` says.
pub(crate) const MAX_PAGE: usize = 500;

/// Each vendor's sender, for resending an attempt's event through it.
#[derive(Clone, Debug)]
pub(super) struct Senders {
    pub(super) api2cart: Arc<MockSender>,
    pub(super) americommerce: Arc<AmeriCommerceSender>,
    pub(super) up42: WorkspaceSender,
    pub(super) standard: StandardSender,
}

/// What the dashboard's routes share.
#[derive(Debug)]
struct Dashboard {
    journal: Journal,
    senders: Senders,
    clock: Arc<dyn Clock>,
    attempt_timeout: Duration,
    journal_limit: usize,
    /// Turns true when the server shuts down: ends the event streams,
    /// which would otherwise keep the graceful shutdown waiting.
    stopping: watch::Receiver<bool>,
}

type Shared = State<Arc<Dashboard>>;

/// The page, its assets and the JSON routes.
pub(super) fn router(
    context: &Context,
    senders: Senders,
    stopping: watch::Receiver<bool>,
) -> Router {
    let dashboard = Arc::new(Dashboard {
        journal: context.journal.clone(),
        senders,
        clock: Arc::clone(&context.clock),
        attempt_timeout: context.attempt_timeout,
        journal_limit: context.journal_limit,
        stopping,
    });
    Router::new()
        .route("/", get(index))
        .route("/dashboard/app.js", get(app_js))
        .route("/dashboard/style.css", get(style_css))
        .route("/emulator/attempts", get(list))
        // A static segment wins over `{id}`.
        .route("/emulator/attempts/stream", get(stream_attempts))
        .route("/emulator/attempts/{id}", get(detail))
        .route("/emulator/attempts/{id}/replay", post(replay))
        .route("/emulator/attempts/{id}/resend", post(resend))
        .route("/emulator/attempts/{id}/export", get(export_headers))
        .route("/emulator/attempts/{id}/export/body", get(export_body))
        .route(
            "/emulator/attempts/{id}/export/request",
            get(export_request),
        )
        .route("/emulator/attempts/{id}/curl", get(curl))
        .with_state(dashboard)
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type)], text).into_response()
}

/// A refused request: answered `{"error": message}` with its status.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// `url` with the value of each query parameter replaced by `<redacted>`
/// (`/tax?token=<redacted>&store=<redacted>`): a receiver's URL token may be
/// any of them. A parameter without `=` is hidden whole.
pub(crate) fn redact_query(url: &str) -> String {
    let Some((before, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _)) => format!("{name}=<redacted>"),
            None if param.is_empty() => String::new(),
            None => "<redacted>".to_owned(),
        })
        .collect();
    format!("{before}?{}", params.join("&"))
}

/// The short name of an outcome, as `to_json` writes it and `outcome=` takes it.
fn outcome_name(attempt: &Attempt) -> &'static str {
    match attempt.outcome() {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::WrongStatus(_) => "wrong-status",
        _ => "no-response",
    }
}

/// One attempt as the list and the event stream show it: no bodies.
fn summary_json(attempt: &Attempt) -> Value {
    json!({
        "id": attempt.id(),
        "vendor": attempt.vendor().as_str(),
        "event": attempt.event(),
        "delivery": attempt.delivery(),
        "attempt": attempt.number(),
        "copy": attempt.copy(),
        "endpoint": attempt.endpoint(),
        "sent_at": attempt.sent_at(),
        "url": redact_query(attempt.request().url()),
        "status": attempt.status(),
        // Whole microseconds, as the journal's JSON rounds them.
        "latency_ms": (attempt.latency().as_secs_f64() * 1_000_000.0).round() / 1000.0,
        "outcome": outcome_name(attempt),
        "failure": attempt.failure().map(|f| f.message().to_owned()),
        "faults": attempt.faults().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "replay_of": attempt.details().get("replay_of"),
    })
}

/// The list's query; numbers are parsed by hand so a bad one gets a JSON 400.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    vendor: Option<String>,
    event: Option<String>,
    outcome: Option<String>,
    after: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

/// A whole-number parameter, if given and not empty.
fn number(name: &str, value: Option<&str>) -> Result<Option<u64>, Refusal> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                format!("`{name}`: expected a whole number, not {text:?}"),
            )
        }),
    }
}

/// The filters of a list query, checked.
struct Filter {
    vendor: Option<Vendor>,
    event: Option<String>,
    outcome: Option<String>,
    after: u64,
    before: u64,
}

impl Filter {
    fn parse(query: &ListQuery) -> Result<Self, Refusal> {
        let given = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(str::to_owned);
        let vendor = match given(&query.vendor) {
            None => None,
            Some(name) => Some(Vendor::from_name(&name).ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "`vendor`: {name:?} is none of api2cart, americommerce, up42, standard"
                    ),
                )
            })?),
        };
        let outcome = given(&query.outcome);
        if let Some(outcome) = &outcome
            && !["delivered", "wrong-status", "no-response"].contains(&outcome.as_str())
        {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("`outcome`: {outcome:?} is none of delivered, wrong-status, no-response"),
            ));
        }
        Ok(Self {
            vendor,
            event: given(&query.event),
            outcome,
            after: number("after", query.after.as_deref())?.unwrap_or(0),
            before: number("before", query.before.as_deref())?.unwrap_or(u64::MAX),
        })
    }

    fn matches(&self, attempt: &Attempt) -> bool {
        attempt.id() > self.after
            && attempt.id() < self.before
            && self.vendor.is_none_or(|v| v == attempt.vendor())
            && self.event.as_deref().is_none_or(|e| e == attempt.event())
            && self
                .outcome
                .as_deref()
                .is_none_or(|o| o == outcome_name(attempt))
    }
}

/// A query string that is not `name=value` pairs of text: 400.
type QueryOf<T> = Result<Query<T>, QueryRejection>;

fn query_of<T>(query: QueryOf<T>) -> Result<T, Refusal> {
    query
        .map(|Query(query)| query)
        .map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))
}

async fn list(State(dashboard): Shared, query: QueryOf<ListQuery>) -> Result<Response, Refusal> {
    let query = query_of(query)?;
    let filter = Filter::parse(&query)?;
    let limit = number("limit", query.limit.as_deref())?
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let kept = dashboard.journal.attempts();
    let mut matching = kept.iter().rev().filter(|a| filter.matches(a));
    let page: Vec<Value> = matching.by_ref().take(limit).map(summary_json).collect();
    let more = matching.next().is_some();
    Ok(Json(json!({
        "attempts": page,
        "more": more,
        "kept": kept.len(),
        "total": dashboard.journal.total_attempts(),
        "newest_id": kept.last().map_or(0, Attempt::id),
        "journal_limit": dashboard.journal_limit,
        "page_limit": MAX_PAGE,
    }))
    .into_response())
}

/// Where a live view starts: after `Last-Event-ID` (an `EventSource`
/// reconnecting sends it with the URL it first opened, whose `after` is then
/// stale), else after `after=<id>`, else after the newest attempt so far.
#[derive(Debug, Default, Deserialize)]
struct StreamQuery {
    after: Option<String>,
}

async fn stream_attempts(
    State(dashboard): Shared,
    headers: HeaderMap,
    query: QueryOf<StreamQuery>,
) -> Result<Response, Refusal> {
    let query = query_of(query)?;
    let last_event = match headers.get("last-event-id") {
        None => None,
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| error(StatusCode::BAD_REQUEST, "`Last-Event-ID`: not text"))?;
            number("Last-Event-ID", Some(text))?
        }
    };
    let start = match last_event.or(number("after", query.after.as_deref())?) {
        Some(after) => after,
        None => u64::try_from(dashboard.journal.total_attempts()).unwrap_or(u64::MAX),
    };
    Ok(Sse::new(attempt_events(dashboard, start))
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// One SSE event per attempt numbered after `seen`, as they are recorded,
/// until the server stops. A reader that falls behind gets the kept ones
/// (the journal's limit bounds what is held for it).
fn attempt_events(
    dashboard: Arc<Dashboard>,
    seen: u64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let pending: std::vec::IntoIter<Attempt> = Vec::new().into_iter();
    stream::unfold(
        (dashboard, seen, pending),
        |(dashboard, mut seen, mut pending)| async move {
            loop {
                if let Some(attempt) = pending.next() {
                    seen = attempt.id();
                    let event = Event::default()
                        .event("attempt")
                        .id(attempt.id().to_string())
                        .data(summary_json(&attempt).to_string());
                    return Some((Ok(event), (dashboard, seen, pending)));
                }
                let mut stopping = dashboard.stopping.clone();
                tokio::select! {
                    newer = dashboard.journal.next_after(seen) => pending = newer.into_iter(),
                    // Stopping, or the sender gone (also stopping): end the stream.
                    _ = stopping.wait_for(|stop| *stop) => return None,
                }
            }
        },
    )
}

/// The kept attempt `id` names, or a 404 answer.
fn find(dashboard: &Dashboard, id: &str) -> Result<Attempt, Refusal> {
    id.parse()
        .ok()
        .and_then(|id| dashboard.journal.attempt(id))
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                format!("no attempt {id:?} is kept (ids are whole numbers; the oldest are dropped past --journal-limit)"),
            )
        })
}

async fn detail(State(dashboard): Shared, Path(id): Path<String>) -> Result<Response, Refusal> {
    let attempt = find(&dashboard, &id)?;
    let chain: Vec<u64> = dashboard
        .journal
        .attempts()
        .iter()
        .filter(|a| a.vendor() == attempt.vendor() && a.delivery() == attempt.delivery())
        .map(Attempt::id)
        .collect();
    let mut out = attempt.to_json();
    out["request"]["url"] = Value::from(redact_query(attempt.request().url()));
    out["request"]["target"] = Value::from(redact_query(attempt.request().target()));
    out["chain"] = json!(chain);
    Ok(Json(out).into_response())
}

/// The prefix of a vendor's log lines, as its routes write them.
fn log_prefix(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Up42 => "workspace",
        other => other.as_str(),
    }
}

async fn replay(State(dashboard): Shared, Path(id): Path<String>) -> Result<Response, Refusal> {
    let original = find(&dashboard, &id)?;
    let attempt = dashboard
        .journal
        .replay(&original, dashboard.clock.now(), dashboard.attempt_timeout)
        .await;
    log_line(&format!(
        "{}: replay of attempt {}: {}",
        log_prefix(attempt.vendor()),
        original.id(),
        attempt.summary()
    ));
    Ok(Json(json!({"attempt": summary_json(&attempt)})).into_response())
}

async fn resend(State(dashboard): Shared, Path(id): Path<String>) -> Result<Response, Refusal> {
    let attempt = find(&dashboard, &id)?;
    let senders = &dashboard.senders;
    let sent = match attempt.vendor() {
        Vendor::Api2Cart => api2cart::resend(&senders.api2cart, &attempt).await,
        Vendor::AmeriCommerce => americommerce::resend(&senders.americommerce, &attempt).await,
        Vendor::Up42 => workspace::resend(&senders.up42, &attempt).await,
        Vendor::StandardWebhooks => standard::resend(&senders.standard, &attempt).await,
        _ => Err("no sender for this vendor".to_owned()),
    };
    match sent {
        Ok(ids) => Ok(Json(json!({"resent_from": attempt.id(), "attempts": ids})).into_response()),
        Err(reason) => Err(error(
            StatusCode::CONFLICT,
            format!("cannot resend: {reason}"),
        )),
    }
}

/// A download named `name`.
fn attachment(
    content_type: &'static str,
    name: &str,
    body: impl Into<axum::body::Body>,
) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_DISPOSITION, disposition),
        ],
        body.into(),
    )
        .into_response()
}

/// The attempt, when something was put on the wire for it.
fn sent(dashboard: &Dashboard, id: &str) -> Result<Attempt, Refusal> {
    let attempt = find(dashboard, id)?;
    if attempt.request().target().is_empty() {
        return Err(error(
            StatusCode::CONFLICT,
            "nothing was sent for this attempt (its request could not be built)",
        ));
    }
    Ok(attempt)
}

/// The request line, header lines and the empty line as sent, query values
/// redacted.
fn head_text(attempt: &Attempt) -> String {
    let request = attempt.request();
    request.head_with_target(&redact_query(request.target()))
}

/// The header block as sent: `verify --headers-file` input.
async fn export_headers(
    State(dashboard): Shared,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let attempt = sent(&dashboard, &id)?;
    let name = format!("attempt-{}.headers", attempt.id());
    Ok(attachment(
        "text/plain; charset=utf-8",
        &name,
        // The header lines alone, without the empty line that ends the head.
        head_text(&attempt)
            .strip_suffix("\r\n")
            .unwrap_or_default()
            .to_owned(),
    ))
}

/// The whole request in one file: the head, an empty line, the body bytes
/// (as the handler reads them: a body sent chunked is not chunk-framed
/// here): `verify --request-file` input.
async fn export_request(
    State(dashboard): Shared,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let attempt = sent(&dashboard, &id)?;
    let mut file = head_text(&attempt).into_bytes();
    file.extend_from_slice(attempt.request().body());
    let name = format!("attempt-{}.http", attempt.id());
    Ok(attachment("message/http", &name, file))
}

/// The body bytes as sent: `verify --body-file` input.
async fn export_body(
    State(dashboard): Shared,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let attempt = sent(&dashboard, &id)?;
    let name = format!("attempt-{}.body", attempt.id());
    Ok(attachment(
        "application/octet-stream",
        &name,
        attempt.request().body().clone(),
    ))
}

/// `text` quoted for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A curl command sending the recorded request again: the same URL, header
/// lines in order and case (curl works out the framing itself and is told
/// to add none of its own headers), the same body bytes.
pub(crate) fn curl_command(attempt: &Attempt) -> String {
    let request = attempt.request();
    let body = request.body();
    // Text goes in quotes; other bytes through printf's octal escapes.
    let text = std::str::from_utf8(body).ok().filter(|t| {
        !t.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    });
    let mut command = match text {
        Some(_) => String::new(),
        None => {
            let escaped: String = body.iter().map(|b| format!("\\0{b:03o}")).collect();
            format!("printf '%b' '{escaped}' | \\\n  ")
        }
    };
    let _ = writeln!(
        command,
        "curl -sS -i --http1.1 {} \\",
        shell_quote(request.url())
    );
    let named = |name: &str| request.header(name).is_some();
    for (name, value) in request.headers() {
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        }
        let _ = writeln!(
            command,
            "  -H {} \\",
            shell_quote(&header_line(name, value))
        );
    }
    // curl's own headers, unless the request had them: `Name:` removes one.
    for default in ["User-Agent", "Accept", "Content-Type", "Expect"] {
        if !named(default) {
            let _ = writeln!(command, "  -H {} \\", shell_quote(&format!("{default}:")));
        }
    }
    match text {
        Some(text) => {
            let _ = write!(command, "  --data-binary {}", shell_quote(text));
        }
        None => command.push_str("  --data-binary @-"),
    }
    command.push('\n');
    command
}

async fn curl(State(dashboard): Shared, Path(id): Path<String>) -> Result<Response, Refusal> {
    let attempt = sent(&dashboard, &id)?;
    let name = format!("attempt-{}.sh", attempt.id());
    Ok(attachment(
        "text/plain; charset=utf-8",
        &name,
        curl_command(&attempt),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_redacted() {
        assert_eq!(
            redact_query("http://h/tax?token=s3cret&store=1"),
            "http://h/tax?token=<redacted>&store=<redacted>"
        );
        assert_eq!(
            redact_query("http://h/tax?s3cret"),
            "http://h/tax?<redacted>"
        );
        assert_eq!(redact_query("http://h/tax"), "http://h/tax");
        assert_eq!(redact_query("/t?a=&&b"), "/t?a=<redacted>&&<redacted>");
    }

    #[test]
    fn shell_quoting_survives_single_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
