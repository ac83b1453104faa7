//! The seed-004 vendor: webhooks scoped to a workspace and their test runs
//! ([`WorkspaceSender`]).

mod report;
mod time;
mod webhook;

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::Body;
use serde_json::json;
use tower_service::Service;

pub use report::{TestResult, TestRun};
pub use webhook::{
    NewWorkspaceWebhook, WorkspaceError, WorkspaceEvent, WorkspaceWebhook, WorkspaceWebhookUpdate,
};

use super::delivery::sign;
use super::journal::{Attempt, Journal, SentRequest, TransportFailure};
use super::subscriptions::CallbackRule;
use super::target::{self, MockBody, Transport, WireRequest, invalid_request};
use crate::{Action, Clock, Entity, SystemClock, names};
use time::rfc3339_micros;
use webhook::{checked_name, checked_url};

type BoxError = Box<dyn StdError + Send + Sync>;

/// Configures a [`WorkspaceSender`]; made by [`WorkspaceSender::builder`].
pub struct WorkspaceSenderBuilder {
    clock: Arc<dyn Clock>,
    transport: Transport,
    timeout: Duration,
    events: Vec<WorkspaceEvent>,
    journal_limit: Option<usize>,
}

impl fmt::Debug for WorkspaceSenderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkspaceSenderBuilder")
            .field("clock", &self.clock)
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .field("events", &self.events)
            .field("journal_limit", &self.journal_limit)
            .finish()
    }
}

impl WorkspaceSenderBuilder {
    /// Where "now" comes from for `X-Webhook-Timestamp`, `startedAt` and the
    /// webhooks' dates (default: the system clock). Give the receiver's
    /// [`Verifier`](crate::Verifier) a clone of the same
    /// [`ManualClock`](crate::ManualClock) to test in virtual time.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Delivers over real HTTP/1.1 to each webhook's `url` (the default),
    /// names in the vendor's case, a connection per test.
    #[must_use]
    pub fn http(mut self) -> Self {
        self.transport = Transport::Http;
        self
    }

    /// Delivers straight into `service` (an axum `Router`, a tower stack),
    /// without a socket: each test goes to the path of the webhook's `url`,
    /// with its authority as `Host`.
    #[must_use]
    pub fn service<S, B>(mut self, service: S) -> Self
    where
        S: Service<Request<MockBody>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.transport = Transport::Service(target::erase(service));
        self
    }

    /// How long a test may take before it fails (default 10 s, tokio's clock).
    #[must_use]
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The event catalogue ("Get webhook events"; default
    /// [`WorkspaceEvent::defaults`]).
    #[must_use]
    pub fn events(mut self, events: impl IntoIterator<Item = WorkspaceEvent>) -> Self {
        self.events = events.into_iter().collect();
        self
    }

    /// Keeps only the `limit` most recent test deliveries in the
    /// [`journal`](WorkspaceSender::journal), dropping the oldest (default:
    /// keeps everything).
    ///
    /// [`Journal::wait_for`] still counts every attempt, and
    /// [`Journal::total_attempts`] says how many there were; everything else
    /// the journal returns sees only what is kept.
    /// Meant for long-running use such as `webhook-guard serve`, whose memory
    /// would otherwise grow with every test run.
    #[must_use]
    pub fn journal_limit(mut self, limit: usize) -> Self {
        self.journal_limit = Some(limit);
        self
    }

    /// The sender.
    pub fn build(self) -> WorkspaceSender {
        WorkspaceSender {
            shared: Arc::new(Shared {
                clock: self.clock,
                transport: self.transport,
                timeout: self.timeout,
                events: self.events,
                webhooks: Mutex::new(BTreeMap::new()),
                next_webhook: AtomicU64::new(0),
                next_delivery: AtomicU64::new(0),
                journal: Journal::with_limit(self.journal_limit),
            }),
        }
    }
}

struct Shared {
    clock: Arc<dyn Clock>,
    transport: Transport,
    timeout: Duration,
    events: Vec<WorkspaceEvent>,
    /// Keyed by id; ids are unique across workspaces.
    webhooks: Mutex<BTreeMap<String, WorkspaceWebhook>>,
    next_webhook: AtomicU64,
    next_delivery: AtomicU64,
    journal: Journal,
}

/// The seed-004 vendor, emulated: webhooks scoped to a workspace, each with `events`,
/// `name`, `url`, an optional `secret` and `active`, and a "Test a webhook"
/// call that sends every subscribed event (or one) and reports
/// `{"data": {"startedAt", "testsRun", "testsSucceeded", "testsFailed", "tests"}, "error": null}`.
///
/// What the vendor leaves unsaid, the mock decides (and `webhook-guard serve`
/// follows):
/// - **Signing.** The vendor says a secret "is used to generate webhook
///   signatures", not how. The mock signs with this crate's recipe keyed by
///   the webhook's secret: event `order.status` goes out with
///   `X-Webhook-Entity: order`, `X-Webhook-Action: status`,
///   `X-Webhook-Timestamp` and `X-Webhook-Signature`, so a
///   [`Verifier`](crate::Verifier) holding the secret verifies it unchanged.
///   Without a secret the delivery is unsigned: no signature header.
/// - **Success** is any 2xx answer within the attempt timeout; one attempt
///   per event, no retry.
/// - **`startedAt`** is RFC 3339 UTC with microseconds from the sender's
///   clock, which counts whole seconds: `.000000` always, exact under a
///   virtual clock.
/// - **Inactive webhooks cannot be tested** (400 `webhook_inactive`): a test
///   delivers for real, and an inactive webhook must deliver nothing. New
///   webhooks are inactive unless created with `"active": true`.
/// - **Secrets are write-only**: a webhook's JSON says `hasSecret`, never the
///   secret.
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
/// use webhook_guard::{KeySet, ManualClock, Verifier};
///
/// let clock = ManualClock::new(1_645_197_138);
/// let verifier = Verifier::builder(KeySet::single("QWZTFnMEXhqZKNmu")).clock(clock.clone()).build();
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
}

impl fmt::Debug for WorkspaceSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkspaceSender")
            .field("clock", &self.shared.clock)
            .field("transport", &self.shared.transport)
            .field("webhooks", &self.webhooks().len())
            .field("journal", &self.shared.journal)
            .finish_non_exhaustive()
    }
}

impl WorkspaceSender {
    /// Starts configuring a sender: system clock, real HTTP, 10 s per test,
    /// the default event catalogue.
    pub fn builder() -> WorkspaceSenderBuilder {
        WorkspaceSenderBuilder {
            clock: Arc::new(SystemClock),
            transport: Transport::Http,
            timeout: Duration::from_secs(10),
            events: WorkspaceEvent::defaults(),
            journal_limit: None,
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
        let secret = new.signing_key()?;
        let n = self.shared.next_webhook.fetch_add(1, Ordering::Relaxed) + 1;
        let now = self.shared.clock.now();
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

    /// "Update a webhook" (`PATCH`): changes what `update` names, checked as
    /// on create; nothing changes when any of it is refused.
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
        let secret = update.signing_key()?;
        let now = self.shared.clock.now();
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

    /// A full update (`PUT`): the webhook becomes `new` (a secret or
    /// `active` left out are dropped), keeping its id and creation date.
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
        let started_at = self.shared.clock.now();
        let mut tests = Vec::with_capacity(events.len());
        for event in events {
            tests.push(self.send_test(&webhook, event).await);
        }
        Ok(TestRun { started_at, tests })
    }

    /// Sends one test event to `webhook` and records the attempt.
    async fn send_test(&self, webhook: &WorkspaceWebhook, event: &WorkspaceEvent) -> TestResult {
        let shared = &*self.shared;
        let now = shared.clock.now();
        let body = Bytes::from(
            json!({
                "event": event.name(),
                "test": true,
                "workspaceId": webhook.workspace,
                "webhookId": webhook.id,
                "createdAt": rfc3339_micros(now),
                "data": event.sample_data(),
            })
            .to_string(),
        );
        let sent = prepare(&shared.transport, webhook, event, &body, now);
        let (request, result, latency) = match sent {
            Ok((uri, wire, signed)) => {
                shared
                    .transport
                    .exchange(&uri, &webhook.url, &wire, signed, false, shared.timeout)
                    .await
            }
            Err(failure) => (
                SentRequest {
                    url: webhook.url.clone(),
                    target: String::new(),
                    headers: Vec::new(),
                    body,
                    signed_string: Bytes::new(),
                },
                Err(failure),
                Duration::ZERO,
            ),
        };
        let delivered = result
            .as_ref()
            .is_ok_and(|r| (200..300).contains(&r.status()));
        let attempt = Attempt {
            delivery: shared.next_delivery.fetch_add(1, Ordering::Relaxed) + 1,
            number: 1,
            copy: 1,
            webhook_id: None,
            entity: Entity::parse(event.entity()),
            action: Action::parse(event.action()),
            sent_at: now,
            request,
            result,
            latency,
            faults: Vec::new(),
            delivered,
        };
        shared.journal.record_attempt(attempt.clone());
        TestResult {
            event: event.name(),
            attempt,
        }
    }

    /// Every test delivery so far (one attempt each).
    pub fn journal(&self) -> Journal {
        self.shared.journal.clone()
    }

    /// The sender's "now", in Unix seconds.
    pub fn now(&self) -> i64 {
        self.shared.clock.now()
    }
}

/// The request of one test: the webhook's URL checked for the transport,
/// the vendor's headers, signed with the webhook's secret when it has one.
fn prepare(
    transport: &Transport,
    webhook: &WorkspaceWebhook,
    event: &WorkspaceEvent,
    body: &Bytes,
    now: i64,
) -> Result<(Uri, WireRequest, Bytes), TransportFailure> {
    let rule = match transport {
        Transport::Http => CallbackRule::AbsoluteHttp,
        Transport::Service(_) => CallbackRule::AnyOrPath,
    };
    let uri = rule
        .parse(&webhook.url)
        .map_err(|reason| invalid_request(format!("{}: {reason}", webhook.url)))?;
    let mut headers = Vec::with_capacity(7);
    if let Some(authority) = uri.authority() {
        headers.push(("Host".to_owned(), authority.as_str().to_owned()));
    }
    headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    headers.push((names::ENTITY.to_owned(), event.entity().to_owned()));
    headers.push((names::ACTION.to_owned(), event.action().to_owned()));
    headers.push((names::TIMESTAMP.to_owned(), now.to_string()));
    let signed_string = match &webhook.secret {
        None => Bytes::new(),
        Some(key) => {
            let (signature, signed_string) = sign(&headers, key.clone(), body)?;
            headers.push((names::SIGNATURE.to_owned(), signature));
            signed_string
        }
    };
    let wire = WireRequest::new(&uri, headers, body.clone(), None, false);
    Ok((uri, wire, signed_string))
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
