//! UP42 (seed 004): webhooks scoped to a workspace and their test runs
//! ([`WorkspaceSender`]), signed with UP42's recipe through [`up42::sign`],
//! the code the verifier checks against. What UP42 publishes and what the
//! mock assumes is set out on [`WorkspaceSender`].

mod conformance;
mod report;
mod time;
mod webhook;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;

pub use conformance::ConformanceWebhook;
pub use report::{TestResult, TestRun};
pub use webhook::{
    NewWorkspaceWebhook, WorkspaceError, WorkspaceEvent, WorkspaceWebhook, WorkspaceWebhookUpdate,
};

use super::delivering::{Delivering, Engine, delivering_setters, send_copies};
use super::faults::{Fault, faulty_timestamp, sized_body, tampered};
use super::journal::{
    Attempt, Expectations, Journal, SentRequest, TransportFailure, Vendor, expectation_methods,
};
use super::target::{Transport, WireRequest, invalid_request};
use crate::digest::content_digest;
use crate::{SigningKey, up42};
use webhook::{checked_name, checked_url};

/// Configures a [`WorkspaceSender`]; made by [`WorkspaceSender::builder`].
pub struct WorkspaceSenderBuilder {
    /// Clock, transport, attempt timeout, journal limit.
    delivering: Delivering<Transport>,
    events: Vec<WorkspaceEvent>,
    signed_headers: Vec<String>,
}

impl fmt::Debug for WorkspaceSenderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkspaceSenderBuilder")
            .field("clock", &self.delivering.clock)
            .field("transport", &self.delivering.transport)
            .field("timeout", &self.delivering.timeout)
            .field("events", &self.events)
            .field("journal_limit", &self.delivering.journal_limit)
            .field("signed_headers", &self.signed_headers)
            .finish()
    }
}

impl WorkspaceSenderBuilder {
    /// The headers a delivery lists in `up42-sig=(...)` unless told
    /// otherwise. UP42 does not publish its list; this one is the mock's
    /// assumption, chosen so the signature binds the body (RFC 9530
    /// `Content-Digest`) as [`Up42`](crate::up42::Up42) requires.
    pub const DEFAULT_SIGNED_HEADERS: [&'static str; 2] = ["content-type", "content-digest"];

    delivering_setters! {
        /// Where "now" comes from for `created`, `startedAt` and the
        /// webhooks' dates (default: the system clock). Give the receiver's
        /// [`Verifier`](crate::Verifier) a clone of the same
        /// [`ManualClock`](crate::ManualClock) to test in virtual time.
        fn clock;
        /// Delivers over real HTTP/1.1 to each webhook's `url` (the default),
        /// names in the vendor's case, a connection per test.
        fn http;
        /// Delivers straight into `service` (an axum `Router`, a tower stack),
        /// without a socket: each test goes to the path of the webhook's `url`,
        /// with its authority as `Host`.
        fn service;
        /// How long a test may take before it fails (default 10 s, tokio's clock).
        fn attempt_timeout;
        /// Keeps only the `limit` most recent test deliveries in the
        /// [`journal`](WorkspaceSender::journal), dropping the oldest (default:
        /// keeps everything).
        ///
        /// [`Journal::wait_for`] still counts every attempt, and
        /// [`Journal::total_attempts`] says how many there were; everything else
        /// the journal returns sees only what is kept.
        /// Meant for long-running use such as `webhook-guard serve`, whose memory
        /// would otherwise grow with every test run.
        fn journal_limit;
    }

    /// The event catalogue ("Get webhook events"; default
    /// [`WorkspaceEvent::defaults`]).
    #[must_use]
    pub fn events(mut self, events: impl IntoIterator<Item = WorkspaceEvent>) -> Self {
        self.events = events.into_iter().collect();
        self
    }

    /// The headers a signed delivery lists in `up42-sig=(...)`, in signing
    /// order (default [`DEFAULT_SIGNED_HEADERS`](Self::DEFAULT_SIGNED_HEADERS)).
    /// Each must be one the delivery carries: `content-type`,
    /// `content-digest` (sent only when listed), `host` or `content-length`;
    /// a test of a webhook with a secret fails, nothing sent, when one is not.
    /// Leaving out `content-digest` makes deliveries whose body nothing
    /// signs, which [`Up42`](crate::up42::Up42) refuses unless told
    /// [`danger_accept_unsigned_body`](crate::up42::Up42::danger_accept_unsigned_body).
    #[must_use]
    pub fn signed_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.signed_headers = names
            .into_iter()
            .map(|n| n.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// The sender.
    pub fn build(self) -> WorkspaceSender {
        let (engine, expectations) = self.delivering.build(Vendor::Up42);
        WorkspaceSender {
            shared: Arc::new(Shared {
                engine,
                events: self.events,
                webhooks: Mutex::new(BTreeMap::new()),
                next_webhook: AtomicU64::new(0),
                signed_headers: self.signed_headers,
            }),
            expectations,
        }
    }
}

struct Shared {
    /// Clock, transport, timeout, journal.
    engine: Engine,
    events: Vec<WorkspaceEvent>,
    /// Keyed by id; ids are unique across workspaces.
    webhooks: Mutex<BTreeMap<String, WorkspaceWebhook>>,
    next_webhook: AtomicU64,
    /// Lowercase names, in signing order.
    signed_headers: Vec<String>,
}

/// UP42 (seed 004), emulated: webhooks scoped to a workspace, each with
/// `events`, `name`, `url`, an optional `secret` and `active`, and a "Test a
/// webhook" call that sends every subscribed event (or one) and reports
/// `{"data": {"startedAt", "testsRun", "testsSucceeded", "testsFailed", "tests"}, "error": null}`.
///
/// **What UP42 publishes, and the mock does:**
/// - The API (docs.up42.com "Create webhooks" and "Manage webhooks"; the
///   Python SDK, github up42/up42-py `up42/webhooks.py`): events from `GET
///   /webhooks/events` (`job.status`, `order.status`); `POST
///   /workspaces/{id}/webhooks` with `{events, name, url, secret?, active?}`,
///   `active` false unless given; GET answers the secret in clear (`""` when
///   none); "Update a webhook" is `PUT` (the SDK sends `POST`) with the
///   whole webhook; DELETE answers no body; the test call is `POST
///   .../webhooks/{id}/tests`. `webhook-guard serve` answers those paths.
/// - The signature (UP42's receiver sample, github up42/up42-webhooks
///   `snippets/validate_webhook.py`; there is no spec page), made with
///   [`up42::sign`], the code [`Up42`](crate::up42::Up42) verifies with:
///   `Signature-Input: up42-sig=("<name>" ...);created=<unix seconds>` and
///   `Signature: up42-sig=<base64 HMAC-SHA256>`, keyed by the secret's UTF-8
///   bytes, over the listed headers' values joined with no separator.
/// - No secret, no signature: "If no secret is added, there will be no
///   signature header" (docs.up42.com, "Create webhooks in the console").
/// - The body is `{"event":"order.status","body":{"status":"FULFILLED",...}}`
///   as the sample reads it, one [`WorkspaceEvent`] sample per test.
///
/// **What UP42 does not publish, and the mock assumes** (`webhook-guard
/// serve` the same):
/// - **Which headers are signed.** By default the list is `("content-type"
///   "content-digest")` ([`WorkspaceSenderBuilder::DEFAULT_SIGNED_HEADERS`]),
///   with `Content-Digest: sha-256=:<base64>:` (RFC 9530) of the body, so
///   the signature binds the body; change it with
///   [`signed_headers`](WorkspaceSenderBuilder::signed_headers). A delivery
///   goes out as (title case on the wire, UP42's case being unknown):
///
///   ```text
///   POST /hooks HTTP/1.1
///   Host: receiver.test
///   Content-Type: application/json
///   Content-Digest: sha-256=:<base64 of SHA-256(body)>:
///   Signature-Input: up42-sig=("content-type" "content-digest");created=1645197138
///   Signature: up42-sig=<base64>
///   Content-Length: 82
///   ```
///
///   Without a secret: `Host`, `Content-Type`, `Content-Length` only.
/// - **`body` beyond `status`** (`orderId`, `jobId`) and the test events'
///   statuses (`FULFILLED`, `SUCCEEDED`).
/// - **Success** is any 2xx answer within the attempt timeout; one attempt
///   per event, no retry.
/// - **The shape of each `tests` entry** ([`TestResult::to_json`]), the
///   test call's optional body (`{"event": "order.status"}`), and the error
///   envelope `{"data": null, "error": {"code", "message"}}`.
/// - **`startedAt`** is RFC 3339 UTC with microseconds from the sender's
///   clock, which counts whole seconds: `.000000` always, exact under a
///   virtual clock.
/// - **Inactive webhooks cannot be tested** (400 `webhook_inactive`): a test
///   delivers for real, and an inactive webhook must deliver nothing.
/// - **URLs** must be absolute `http://` or `https://`. Over real HTTP the
///   mock speaks plain HTTP only: testing an `https://` webhook counts as a
///   failed test with nothing sent (in-process, any absolute URL reaches the
///   service).
///
/// ```
/// # #[cfg(feature = "axum")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::post};
/// use webhook_guard::mock::{NewWorkspaceWebhook, WorkspaceSender};
/// use webhook_guard::tower::VerifyWebhookLayer;
/// use webhook_guard::up42::Up42;
/// use webhook_guard::{KeySet, ManualClock, Verifier};
///
/// let clock = ManualClock::new(1_645_197_138);
/// let verifier = Verifier::builder(KeySet::single("QWZTFnMEXhqZKNmu"))
///     .scheme(Up42::new())
///     .clock(clock.clone())
///     .build();
/// let receiver = Router::new()
///     .route("/hooks", post(|| async { "ok" }))
///     .layer(VerifyWebhookLayer::new(verifier));
///
/// let vendor = WorkspaceSender::builder().clock(clock).service(receiver).build();
/// let hook = vendor.create(
///     "ws-1",
///     NewWorkspaceWebhook::new("My alert for order statuses", "https://my.sample.endpoint.com/hooks")
///         .events(["order.status"])
///         .secret("QWZTFnMEXhqZKNmu")
///         .active(true),
/// )?;
/// let run = vendor.test("ws-1", hook.id(), None).await?;
/// assert_eq!((run.tests_run(), run.tests_succeeded()), (1, 1));
/// assert_eq!(run.to_json()["data"]["startedAt"], "2022-02-18T15:12:18.000000Z");
/// let sent = run.tests()[0].request();
/// assert_eq!(
///     sent.header("Signature-Input"),
///     Some(r#"up42-sig=("content-type" "content-digest");created=1645197138"#)
/// );
/// # Ok(()) }
/// # #[cfg(feature = "axum")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
/// ```
///
/// Tests go over real HTTP/1.1 or straight into a tower service; each is one
/// attempt in the [`journal`](Self::journal). Clones share the same webhooks
/// and journal.
#[derive(Clone)]
pub struct WorkspaceSender {
    shared: Arc<Shared>,
    /// Shared by the clones only, so they are checked when the last goes.
    expectations: Arc<Expectations>,
}

impl fmt::Debug for WorkspaceSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkspaceSender")
            .field("clock", &self.shared.engine.clock)
            .field("transport", &self.shared.engine.transport)
            .field("webhooks", &self.webhooks().len())
            .field("journal", &self.shared.engine.journal)
            .finish_non_exhaustive()
    }
}

impl WorkspaceSender {
    /// Starts configuring a sender: system clock, real HTTP, 10 s per test,
    /// the default event catalogue.
    pub fn builder() -> WorkspaceSenderBuilder {
        WorkspaceSenderBuilder {
            delivering: Delivering::new(Transport::Http, Duration::from_secs(10)),
            events: WorkspaceEvent::defaults(),
            signed_headers: WorkspaceSenderBuilder::DEFAULT_SIGNED_HEADERS
                .map(str::to_owned)
                .to_vec(),
        }
    }

    fn webhooks(&self) -> MutexGuard<'_, BTreeMap<String, WorkspaceWebhook>> {
        // A panic elsewhere leaves the map whole: every change is one insert or remove.
        self.shared
            .webhooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// "Get webhook events": the catalogue.
    pub fn events(&self) -> &[WorkspaceEvent] {
        &self.shared.events
    }

    /// The catalogue entry named `name`.
    fn event(&self, name: &str) -> Result<&WorkspaceEvent, WorkspaceError> {
        self.shared
            .events
            .iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| WorkspaceError::UnknownEvent {
                event: name.to_owned(),
            })
    }

    /// At least one event, each in the catalogue, repeats dropped.
    fn checked_events(&self, events: &[String]) -> Result<Vec<String>, WorkspaceError> {
        if events.is_empty() {
            return Err(WorkspaceError::InvalidField {
                field: "events".to_owned(),
                reason: "must name at least one event".to_owned(),
            });
        }
        let mut out: Vec<String> = Vec::with_capacity(events.len());
        for event in events {
            self.event(event)?;
            if !out.contains(event) {
                out.push(event.clone());
            }
        }
        Ok(out)
    }

    /// "Create a webhook" in `workspace`.
    pub fn create(
        &self,
        workspace: &str,
        new: NewWorkspaceWebhook,
    ) -> Result<WorkspaceWebhook, WorkspaceError> {
        let workspace = checked_workspace(workspace)?;
        let name = checked_name(&new.name)?;
        let url = checked_url(&new.url)?;
        let events = self.checked_events(&new.events)?;
        let secret = new.take_secret();
        let n = self.shared.next_webhook.fetch_add(1, Ordering::Relaxed) + 1;
        let now = self.shared.engine.now();
        let webhook = WorkspaceWebhook {
            id: format!("00000000-0000-4000-8000-{n:012x}"),
            workspace,
            name,
            url,
            events,
            secret,
            active: new.active,
            created_at: now,
            updated_at: now,
        };
        self.webhooks().insert(webhook.id.clone(), webhook.clone());
        Ok(webhook)
    }

    /// "Get webhooks": those of `workspace`, oldest first.
    pub fn list(&self, workspace: &str) -> Vec<WorkspaceWebhook> {
        self.webhooks()
            .values()
            .filter(|w| w.workspace == workspace)
            .cloned()
            .collect()
    }

    /// "Get a webhook".
    pub fn get(&self, workspace: &str, id: &str) -> Result<WorkspaceWebhook, WorkspaceError> {
        self.webhooks()
            .get(id)
            .filter(|w| w.workspace == workspace)
            .cloned()
            .ok_or_else(|| unknown(workspace, id))
    }

    /// Changes what `update` names, checked as on create; nothing changes
    /// when any of it is refused. A convenience for tests, not a UP42 call:
    /// UP42's "Update a webhook" is [`replace`](Self::replace).
    pub fn update(
        &self,
        workspace: &str,
        id: &str,
        update: WorkspaceWebhookUpdate,
    ) -> Result<WorkspaceWebhook, WorkspaceError> {
        let name = update.name.as_deref().map(checked_name).transpose()?;
        let url = update.url.as_deref().map(checked_url).transpose()?;
        let events = update
            .events
            .as_deref()
            .map(|e| self.checked_events(e))
            .transpose()?;
        let secret = update.secret_change();
        let now = self.shared.engine.now();
        let mut webhooks = self.webhooks();
        let webhook = webhooks
            .get_mut(id)
            .filter(|w| w.workspace == workspace)
            .ok_or_else(|| unknown(workspace, id))?;
        if let Some(name) = name {
            webhook.name = name;
        }
        if let Some(url) = url {
            webhook.url = url;
        }
        if let Some(events) = events {
            webhook.events = events;
        }
        if let Some(secret) = secret {
            webhook.secret = secret;
        }
        if let Some(active) = update.active {
            webhook.active = active;
        }
        webhook.updated_at = now;
        Ok(webhook.clone())
    }

    /// "Update a webhook" (`PUT`, or `POST` as UP42's Python SDK sends it):
    /// the webhook becomes `new`, keeping its id and creation date. A secret
    /// left out is dropped and `active` left out is false, as in a new
    /// webhook; UP42's SDK always sends both.
    pub fn replace(
        &self,
        workspace: &str,
        id: &str,
        new: NewWorkspaceWebhook,
    ) -> Result<WorkspaceWebhook, WorkspaceError> {
        self.update(workspace, id, new.into_update())
    }

    /// "Delete a webhook".
    pub fn delete(&self, workspace: &str, id: &str) -> Result<(), WorkspaceError> {
        let mut webhooks = self.webhooks();
        match webhooks.get(id) {
            Some(w) if w.workspace == workspace => {
                webhooks.remove(id);
                Ok(())
            }
            _ => Err(unknown(workspace, id)),
        }
    }

    /// "Test a webhook": sends `event`, or every event the webhook subscribes
    /// to when `None`, once each, in its event order, and reports.
    ///
    /// Refused (nothing sent) for an unknown webhook, an inactive one, an
    /// event not in the catalogue, or one the webhook does not subscribe to.
    /// Receivers that fail are not errors: they are counted in
    /// [`TestRun::tests_failed`].
    pub async fn test(
        &self,
        workspace: &str,
        id: &str,
        event: Option<&str>,
    ) -> Result<TestRun, WorkspaceError> {
        let webhook = self.get(workspace, id)?;
        if let Some(event) = event {
            self.event(event)?;
            if !webhook.events.iter().any(|e| e == event) {
                return Err(WorkspaceError::EventNotSubscribed {
                    event: event.to_owned(),
                });
            }
        }
        if !webhook.active {
            return Err(WorkspaceError::WebhookInactive { id: id.to_owned() });
        }
        let events: Vec<&WorkspaceEvent> = match event {
            Some(event) => vec![self.event(event)?],
            None => webhook
                .events
                .iter()
                .map(|e| self.event(e))
                .collect::<Result<_, _>>()?,
        };
        let started_at = self.shared.engine.now();
        let mut tests = Vec::with_capacity(events.len());
        for event in events {
            tests.push(self.send_test(&webhook, event).await);
        }
        Ok(TestRun { started_at, tests })
    }

    /// Sends one test event to `webhook` and records the attempt.
    async fn send_test(&self, webhook: &WorkspaceWebhook, event: &WorkspaceEvent) -> TestResult {
        let name = event.name();
        let body = Bytes::from(event.delivery_body());
        let outgoing = Outgoing::new(&self.shared, webhook, &name, body, &[]);
        TestResult {
            attempt: outgoing.send(1).await,
            event: name,
        }
    }

    /// Signs `body` for `webhook` (spoiled by `faults`) and sends it, twice
    /// for the duplicate faults (one after the other, or at once), recording
    /// each copy as an attempt of one delivery.
    pub(crate) async fn send_faulty(
        &self,
        webhook: &WorkspaceWebhook,
        event: &str,
        body: Bytes,
        faults: &[Fault],
    ) -> Vec<Attempt> {
        let outgoing = Outgoing::new(&self.shared, webhook, event, body, faults);
        send_copies(faults, |copy| outgoing.send(copy)).await
    }

    /// Every test delivery so far (one attempt each).
    pub fn journal(&self) -> Journal {
        self.shared.engine.journal.clone()
    }

    expectation_methods!(expectations);

    /// The sender's "now", in Unix seconds.
    pub fn now(&self) -> i64 {
        self.shared.engine.now()
    }
}

/// One delivery, prepared once so that every copy is byte for byte the same.
struct Outgoing<'a> {
    shared: &'a Shared,
    webhook: &'a WorkspaceWebhook,
    event: &'a str,
    body: Bytes,
    faults: &'a [Fault],
    delivery: u64,
    now: i64,
    prepared: Result<(Uri, WireRequest, Bytes), TransportFailure>,
}

impl<'a> Outgoing<'a> {
    fn new(
        shared: &'a Shared,
        webhook: &'a WorkspaceWebhook,
        event: &'a str,
        body: Bytes,
        faults: &'a [Fault],
    ) -> Self {
        let now = shared.engine.now();
        let body = sized_body(&body, faults);
        Self {
            prepared: prepare(shared, webhook, &body, now, faults),
            delivery: shared.engine.next_delivery(),
            shared,
            webhook,
            event,
            body,
            faults,
            now,
        }
    }

    /// Puts copy `copy` on the wire and records the attempt.
    async fn send(&self, copy: u32) -> Attempt {
        let engine = &self.shared.engine;
        let url = &self.webhook.url;
        let (request, result, latency) = match &self.prepared {
            Ok((uri, wire, signed)) => engine.exchange(uri, url, wire, signed.clone(), false).await,
            Err(failure) => (
                SentRequest::unsent(url, self.body.clone()),
                Err(failure.clone()),
                Duration::ZERO,
            ),
        };
        let delivered = result
            .as_ref()
            .is_ok_and(|r| Vendor::Up42.counts_as_delivered(r.status()));
        engine.record(Attempt {
            id: 0,
            vendor: Vendor::Up42,
            delivery: self.delivery,
            number: 1,
            copy,
            endpoint: Some(self.webhook.id.clone()),
            event: self.event.to_owned(),
            sent_at: self.now,
            request,
            result,
            latency,
            faults: self.faults.to_vec(),
            delivered,
            // The webhook's workspace: with its id, where to test it again.
            details: serde_json::Map::from_iter([(
                "workspace".to_owned(),
                serde_json::Value::from(self.webhook.workspace.clone()),
            )]),
        })
    }
}

/// The request of one test: the webhook's URL checked for the transport,
/// `Host` and `Content-Type`, then, when the webhook has a secret, UP42's
/// `Signature-Input` and `Signature` over the sender's signed headers (with
/// `Content-Digest` when it lists it). The signed string is the listed
/// values joined, as [`up42::sign`] MACs them.
fn prepare(
    shared: &Shared,
    webhook: &WorkspaceWebhook,
    body: &Bytes,
    now: i64,
    faults: &[Fault],
) -> Result<(Uri, WireRequest, Bytes), TransportFailure> {
    let uri = shared.engine.transport.resolve(&webhook.url)?;
    let mut headers = Vec::with_capacity(6);
    if let Some(authority) = uri.authority() {
        headers.push(("Host".to_owned(), authority.as_str().to_owned()));
    }
    headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    let signed_string = match &webhook.secret {
        None => Bytes::new(),
        Some(secret) => {
            let key = if faults.contains(&Fault::WrongKey) {
                SigningKey::new("wrong key", WRONG_KEY)
            } else {
                secret.key()
            };
            let created = faulty_timestamp(now, faults);
            sign(&mut headers, &shared.signed_headers, &key, body, created)?
        }
    };
    for fault in faults {
        let signature = headers.iter().position(|(n, _)| n == "Signature");
        match (fault, signature) {
            (Fault::MissingSignature, Some(at)) => {
                headers.remove(at);
            }
            (Fault::GarbledSignature, Some(at)) => {
                // The length of an HMAC-SHA256 in base64, not base64.
                headers[at].1 = format!("{}={}", up42::LABEL, "@".repeat(44));
            }
            _ => {}
        }
    }
    let sent_body = if faults.contains(&Fault::TamperedBody) {
        tampered(body)
    } else {
        body.clone()
    };
    let wire = WireRequest::new(&uri, headers, sent_body, Fault::slow_body(faults), false);
    Ok((uri, wire, signed_string))
}

/// The key of [`Fault::WrongKey`]: no webhook's secret.
const WRONG_KEY: &[u8] = b"not the webhook's secret";

/// The faults a UP42 delivery can carry: those of its signature, clock and
/// body (an oversized body is signed, its digest included, as any body). (`Signature-Input` names the headers, so their case and order do
/// not matter to a receiver, and UP42 sends one signature.)
pub(crate) const SUPPORTED_FAULTS: [&str; 10] = [
    "wrong-key",
    "tampered-body",
    "stale-timestamp",
    "future-timestamp",
    "missing-signature",
    "garbled-signature",
    "slow-body",
    "oversized-body",
    "duplicate-delivery",
    "concurrent-duplicate",
];

/// Adds `Content-Digest` (when `covered` lists it), `Signature-Input` and
/// `Signature` to `headers`, and returns the signed string. A listed name
/// the delivery does not carry is a request the mock refuses to build.
fn sign(
    headers: &mut Vec<(String, String)>,
    covered: &[String],
    key: &SigningKey,
    body: &[u8],
    created: i64,
) -> Result<Bytes, TransportFailure> {
    if covered.iter().any(|n| n == "content-digest") {
        headers.push(("Content-Digest".to_owned(), content_digest(body)));
    }
    // Content-Length is written after signing (by `WireRequest::new`), from the body.
    let length = body.len().to_string();
    let mut values: Vec<(&str, &str)> = Vec::with_capacity(covered.len());
    for name in covered {
        let value = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .or_else(|| (name == "content-length").then_some(length.as_str()))
            .ok_or_else(|| {
                invalid_request(format!(
                    "the signed headers list {name:?}, which the delivery does not carry \
                     (it can list content-type, content-digest, host, content-length)"
                ))
            })?;
        values.push((name, value));
    }
    let signed_string = Bytes::from(values.iter().map(|(_, v)| *v).collect::<String>());
    let (input, signature) = up42::sign(key, &values, created);
    headers.push(("Signature-Input".to_owned(), input));
    headers.push(("Signature".to_owned(), signature));
    Ok(signed_string)
}

fn checked_workspace(workspace: &str) -> Result<String, WorkspaceError> {
    if workspace.trim().is_empty() {
        return Err(WorkspaceError::InvalidField {
            field: "workspace".to_owned(),
            reason: "must not be empty".to_owned(),
        });
    }
    Ok(workspace.to_owned())
}

fn unknown(workspace: &str, id: &str) -> WorkspaceError {
    WorkspaceError::UnknownWebhook {
        workspace: workspace.to_owned(),
        id: id.to_owned(),
    }
}
