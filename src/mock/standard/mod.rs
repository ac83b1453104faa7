//! Standard Webhooks, the sending side ([`StandardSender`]): endpoints,
//! messages signed with [`standard::sign`](crate::standard::sign) (the code
//! the verifier checks against), and the spec's delivery policy run on the
//! sender's clock. What the spec says and what the mock assumes is set out
//! on [`StandardSender`].

mod conformance;
mod endpoint;
mod policy;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use serde_json::{Value, json};

pub use conformance::ConformanceEndpoint;
pub use endpoint::{Endpoint, Message, NewEndpoint, StandardError, generate_secret};
pub use policy::SPEC_RETRY_SCHEDULE;

use super::delivering::{Delivering, Engine, delivering_setters};
use super::faults::{Fault, faulty_timestamp, tampered};
use super::journal::{
    Attempt, Expectations, Journal, SentRequest, TransportFailure, Vendor, expectation_methods,
};
use super::target::{Transport, WireRequest};
use crate::SigningKey;
use crate::standard::names;
use endpoint::{SUPPORTED_FAULTS, Secret, checked_id};
use policy::{Rng, Verdict, jittered};

/// The key of [`Fault::WrongKey`] and [`Fault::ExtraBadSignature`] entries:
/// 24 bytes no receiver holds.
const WRONG_KEY: &[u8; 24] = b"webhook-guard: not yours";

/// Configures a [`StandardSender`]; made by [`StandardSender::builder`].
pub struct StandardSenderBuilder {
    /// Clock, transport, attempt timeout, journal limit.
    delivering: Delivering<Transport>,
    schedule: Vec<u64>,
    jitter_percent: u8,
    retry_after_cap: u64,
    max_pending: usize,
    seed: Option<u64>,
}

impl fmt::Debug for StandardSenderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardSenderBuilder")
            .field("clock", &self.delivering.clock)
            .field("transport", &self.delivering.transport)
            .field("timeout", &self.delivering.timeout)
            .field("schedule", &self.schedule)
            .field("jitter_percent", &self.jitter_percent)
            .field("max_pending", &self.max_pending)
            .field("journal_limit", &self.delivering.journal_limit)
            .finish_non_exhaustive()
    }
}

impl StandardSenderBuilder {
    /// The default attempt timeout: the low end of the spec's recommended
    /// 15 to 30 s, so a receiver that answers in time here answers in time
    /// for any sender that follows the spec.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    /// The default jitter, an assumption: the spec asks for "some level of
    /// random jitter" without a figure. Up to 10 % of each scheduled wait
    /// is added.
    pub const DEFAULT_JITTER_PERCENT: u8 = 10;

    /// How long a `Retry-After` may hold a message back at most by default:
    /// the schedule's longest wait (24 h), so a hostile header cannot park
    /// a message for ever.
    pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(24 * 3600);

    /// How many messages may wait for a retry at once by default; beyond
    /// that [`send`](StandardSender::send) refuses with
    /// [`StandardError::QueueFull`].
    pub const DEFAULT_MAX_PENDING: usize = 10_000;

    delivering_setters! {
        /// Where "now" comes from for timestamps and the retry schedule (default:
        /// the system clock). With a [`ManualClock`](crate::ManualClock), move
        /// it and call [`deliver_due`](StandardSender::deliver_due): a two-day
        /// schedule runs at once.
        fn clock;
        /// Delivers over real HTTP/1.1 to each endpoint's `url` (the default),
        /// a connection per attempt.
        fn http;
        /// Delivers straight into `service` (an axum `Router`, a tower stack),
        /// without a socket: each attempt goes to the path of the endpoint's
        /// `url`, with its authority as `host`.
        fn service;
        /// How long one attempt may take before it counts as failed (default
        /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT), tokio's clock).
        fn attempt_timeout;
        /// Keeps only the `limit` most recent attempts in the
        /// [`journal`](StandardSender::journal) (default: all).
        /// [`Journal::wait_for`] still counts every one.
        fn journal_limit;
    }

    /// The wait after each failed attempt, in order (default
    /// [`SPEC_RETRY_SCHEDULE`]); a message gets one attempt more than there
    /// are waits. Waits count in whole seconds, rounded up.
    #[must_use]
    pub fn retry_schedule(mut self, waits: impl IntoIterator<Item = Duration>) -> Self {
        self.schedule = waits.into_iter().map(whole_seconds).collect();
        self
    }

    /// Up to how many percent of each scheduled wait are added at random
    /// (default [`DEFAULT_JITTER_PERCENT`](Self::DEFAULT_JITTER_PERCENT)); 0
    /// makes the schedule exact, for tests. Capped at 100.
    #[must_use]
    pub fn jitter_percent(mut self, percent: u8) -> Self {
        self.jitter_percent = percent.min(100);
        self
    }

    /// The longest wait a `Retry-After` can ask for (default
    /// [`DEFAULT_RETRY_AFTER_CAP`](Self::DEFAULT_RETRY_AFTER_CAP)).
    #[must_use]
    pub fn retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = whole_seconds(cap);
        self
    }

    /// How many messages may wait for a retry at once (default
    /// [`DEFAULT_MAX_PENDING`](Self::DEFAULT_MAX_PENDING)).
    #[must_use]
    pub fn max_pending(mut self, limit: usize) -> Self {
        self.max_pending = limit;
        self
    }

    /// Seeds the message ids and the jitter, so a run repeats exactly
    /// (default: seeded from the operating system).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The sender.
    pub fn build(self) -> StandardSender {
        let rng = self.seed.map_or_else(Rng::from_os, Rng::seeded);
        let (engine, expectations) = self.delivering.build(Vendor::StandardWebhooks);
        StandardSender {
            shared: Arc::new(Shared {
                engine,
                schedule: self.schedule,
                jitter_percent: self.jitter_percent,
                retry_after_cap: self.retry_after_cap,
                max_pending: self.max_pending,
                state: Mutex::new(State {
                    endpoints: BTreeMap::new(),
                    next_endpoint: 0,
                    queue: BTreeMap::new(),
                    next_seq: 0,
                    in_flight: 0,
                    rng,
                }),
            }),
            expectations,
        }
    }
}

fn whole_seconds(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}

struct Shared {
    /// Clock, transport, timeout, journal, dispatch numbers.
    engine: Engine,
    /// Seconds to wait after failed attempt 1, 2, ...
    schedule: Vec<u64>,
    jitter_percent: u8,
    retry_after_cap: u64,
    max_pending: usize,
    state: Mutex<State>,
}

struct State {
    endpoints: BTreeMap<u64, Endpoint>,
    next_endpoint: u64,
    /// Retries by due time (Unix seconds), then order of scheduling.
    queue: BTreeMap<(i64, u64), Pending>,
    next_seq: u64,
    /// Messages between taking their turn and being judged: they hold a
    /// queue slot, so the bound holds while attempts are on the wire.
    in_flight: usize,
    rng: Rng,
}

/// One message on its way to one endpoint.
#[derive(Clone)]
struct Pending {
    dispatch: u64,
    message: Arc<Outgoing>,
    endpoint: String,
    /// The number of the next attempt, from 1.
    attempt: u32,
}

struct Outgoing {
    id: String,
    event_type: String,
    body: Bytes,
    faults: Vec<Fault>,
}

/// Where one message to one endpoint stands after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispatchState {
    /// A 2xx answer.
    Delivered,
    /// Failed; attempt `attempt` is due at `at` (Unix seconds, sender's clock).
    Retrying {
        /// The number of the next attempt.
        attempt: u32,
        /// When it is due.
        at: i64,
    },
    /// Every attempt of the schedule failed; the message is dropped.
    Failed,
    /// The endpoint is disabled (a 410 answer, now or before): no more attempts.
    EndpointDisabled,
}

impl DispatchState {
    fn name(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retrying { .. } => "retrying",
            Self::Failed => "failed",
            Self::EndpointDisabled => "endpoint-disabled",
        }
    }
}

/// One message to one endpoint: the attempt just made (none when the
/// endpoint was disabled before its turn) and where the message stands.
#[derive(Clone, Debug)]
pub struct Dispatch {
    message_id: String,
    endpoint_id: String,
    attempt: Option<Attempt>,
    state: DispatchState,
}

impl Dispatch {
    /// The `webhook-id`, the same on every attempt.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The endpoint's id.
    pub fn endpoint_id(&self) -> &str {
        &self.endpoint_id
    }

    /// The attempt made.
    pub fn attempt(&self) -> Option<&Attempt> {
        self.attempt.as_ref()
    }

    /// Where the message stands.
    pub fn state(&self) -> &DispatchState {
        &self.state
    }

    /// `{"messageId", "endpointId", "state", "nextAttempt", "nextAttemptAt", "attempt"}`.
    pub fn to_json(&self) -> Value {
        let (next, at) = match self.state {
            DispatchState::Retrying { attempt, at } => (Some(attempt), Some(at)),
            _ => (None, None),
        };
        json!({
            "messageId": self.message_id,
            "endpointId": self.endpoint_id,
            "state": self.state.name(),
            "nextAttempt": next,
            "nextAttemptAt": at,
            "attempt": self.attempt.as_ref().map(Attempt::to_json),
        })
    }
}

/// A retry waiting for its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRetry {
    /// The `webhook-id`.
    pub message_id: String,
    /// The endpoint's id.
    pub endpoint_id: String,
    /// The number of the attempt.
    pub attempt: u32,
    /// When it is due (Unix seconds, sender's clock).
    pub due_at: i64,
}

/// Standard Webhooks (github standard-webhooks/standard-webhooks,
/// `spec/standard-webhooks.md`, version 1.0.0), the sending side: endpoints
/// with one or more secrets, messages delivered to them, and the spec's
/// retry policy on the sender's clock.
///
/// **What the spec says, and the mock does:**
/// - Headers `webhook-id`, `webhook-timestamp` (integer Unix seconds) and
///   `webhook-signature`, a space-delimited list of `v1,<base64>` entries
///   ("Webhook headers"). Each is HMAC-SHA256 of `{msg_id}.{timestamp}.{payload}`
///   keyed with the `whsec_` secret's decoded bytes, made by
///   [`standard::sign`](crate::standard::sign); a `whsk_` secret (feature
///   `ed25519`) gives a `v1a` ed25519 entry over the same bytes.
/// - Key rotation: an endpoint with several secrets gets one entry per
///   secret on every attempt, "both signatures are sent, space delimited".
/// - The id is the same on every retry and the timestamp is that of the
///   attempt ("Webhook metadata"): each attempt is signed afresh.
/// - Success is any 2xx; 3xx is a failure (redirects are not followed); 410
///   disables the endpoint: no more attempts of any message, later ones
///   refused with [`StandardError::EndpointDisabled`]; 429, 502 and 504 are
///   throttling; a `Retry-After` "should be taken into consideration when
///   scheduling the next attempt" ("Delivery success and failure").
/// - The example schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h,
///   10 h, 14 h, 20 h and 24 h, each counted from the failure before
///   ([`SPEC_RETRY_SCHEDULE`]), with random jitter.
/// - A request timeout of 15 to 30 s ("Request timeouts"): 15 s by default.
/// - A JSON body, "minified" when serialised ([`Message::json`]).
///
/// **What the spec leaves open, and the mock assumes** (each configurable):
/// - Jitter: up to 10 % of each scheduled wait is added
///   ([`jitter_percent`](StandardSenderBuilder::jitter_percent), 0 in tests).
/// - Throttling: the spec recommends it without saying how. A 429, 502 or
///   504 waits `Retry-After` when given, else the schedule, like any
///   failure; other messages to the endpoint are not held back. A
///   `Retry-After` on any other failing status is honoured too (the spec's
///   example is a 503); delay-seconds only, an HTTP date falls back to the
///   schedule; capped at 24 h
///   ([`retry_after_cap`](StandardSenderBuilder::retry_after_cap)); an
///   attempt that waited for it counts in the schedule.
/// - After the last attempt fails the message is dropped
///   ([`DispatchState::Failed`]); the endpoint stays enabled (the spec only
///   recommends disabling after failures "over a long period of time").
/// - Message ids are `msg_` and 27 random base62 characters (the shape of
///   the spec's examples), endpoint ids `ep_` and a counter.
/// - On the wire, names are in lower case as the spec writes them, in this
///   order (no `user-agent`: the spec names none):
///
///   ```text
///   POST /webhooks HTTP/1.1
///   host: receiver.test
///   content-type: application/json
///   webhook-id: msg_2KWPBgLlAfxdpx2AI54pPJ85f4W
///   webhook-timestamp: 1674087231
///   webhook-signature: v1,<base64> v1,<base64 by the previous secret>
///   content-length: 45
///   ```
///
/// **Retries run on the sender's clock.** [`send`](Self::send) makes the
/// first attempt at once and queues a failed message; [`deliver_due`](Self::deliver_due)
/// makes every attempt whose time has come. Under a
/// [`ManualClock`](crate::ManualClock) a test moves the clock and calls it;
/// on the system clock, poll it ([`run`](Self::run) does, every so often, for
/// ever), as `webhook-guard serve` does.
///
/// **Faults** ([`Message::fault`]): `wrong-key`, `tampered-body`,
/// `stale-timestamp`, `future-timestamp`, `missing-signature`,
/// `garbled-signature`, `extra-bad-signature` (a bad `v1` entry before the
/// good ones) and `slow-body`; others are refused with
/// [`StandardError::UnsupportedFault`].
///
/// ```
/// # #[cfg(feature = "axum")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::post};
/// use serde_json::json;
/// use webhook_guard::mock::{DispatchState, Message, NewEndpoint, StandardSender};
/// use webhook_guard::standard::StandardWebhooks;
/// use webhook_guard::tower::VerifyWebhookLayer;
/// use webhook_guard::{ManualClock, Verifier};
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let clock = ManualClock::new(1_674_087_231);
/// let verifier = Verifier::builder(StandardWebhooks::keys(secret)?)
///     .scheme(StandardWebhooks::new())
///     .clock(clock.clone())
///     .build();
/// let receiver = Router::new()
///     .route("/webhooks", post(|| async { "ok" }))
///     .layer(VerifyWebhookLayer::new(verifier));
///
/// let sender = StandardSender::builder().clock(clock).service(receiver).build();
/// let endpoint = sender.create_endpoint(NewEndpoint::new("https://receiver.test/webhooks").secret(secret))?;
/// let sent = sender
///     .send(endpoint.id(), Message::json("contact.created", &json!({"id": 1})))
///     .await?;
/// assert_eq!(sent.state(), &DispatchState::Delivered);
/// let request = sent.attempt().unwrap().request();
/// assert_eq!(request.header("webhook-timestamp"), Some("1674087231"));
/// assert!(request.header("webhook-signature").unwrap().starts_with("v1,"));
/// # Ok(()) }
/// # #[cfg(feature = "axum")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
/// ```
///
/// Clones share the endpoints, the queue and the journal.
#[derive(Clone)]
pub struct StandardSender {
    shared: Arc<Shared>,
    /// Shared by the clones only, so they are checked when the last goes.
    expectations: Arc<Expectations>,
}

impl fmt::Debug for StandardSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("StandardSender")
            .field("clock", &self.shared.engine.clock)
            .field("transport", &self.shared.engine.transport)
            .field("endpoints", &state.endpoints.len())
            .field("pending", &state.queue.len())
            .field("journal", &self.shared.engine.journal)
            .finish_non_exhaustive()
    }
}

impl StandardSender {
    /// Starts configuring a sender: system clock, real HTTP, the spec's
    /// schedule with 10 % jitter, 15 s per attempt.
    pub fn builder() -> StandardSenderBuilder {
        StandardSenderBuilder {
            delivering: Delivering::new(Transport::Http, StandardSenderBuilder::DEFAULT_TIMEOUT),
            schedule: SPEC_RETRY_SCHEDULE.iter().map(|d| d.as_secs()).collect(),
            jitter_percent: StandardSenderBuilder::DEFAULT_JITTER_PERCENT,
            retry_after_cap: StandardSenderBuilder::DEFAULT_RETRY_AFTER_CAP.as_secs(),
            max_pending: StandardSenderBuilder::DEFAULT_MAX_PENDING,
            seed: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under the lock leaves the state whole.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates an endpoint; without a secret one is generated
    /// ([`generate_secret`]). The URL must suit the transport: an absolute
    /// `http://` URL over HTTP, any absolute URL or a path in process.
    pub fn create_endpoint(&self, new: NewEndpoint) -> Result<Endpoint, StandardError> {
        self.shared
            .engine
            .transport
            .resolve(&new.url)
            .map_err(|e| StandardError::InvalidUrl {
                reason: e.message().to_owned(),
            })?;
        let texts = if new.secrets.is_empty() {
            vec![generate_secret()]
        } else {
            new.secrets
        };
        let secrets = texts
            .iter()
            .map(|s| Secret::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let now = self.shared.engine.now();
        let mut state = self.lock();
        state.next_endpoint += 1;
        let n = state.next_endpoint;
        let endpoint = Endpoint {
            id: format!("ep_{n}"),
            url: new.url,
            secrets,
            enabled: new.enabled,
            disabled_reason: (!new.enabled).then(|| "created disabled".to_owned()),
            created_at: now,
        };
        state.endpoints.insert(n, endpoint.clone());
        Ok(endpoint)
    }

    /// Every endpoint, oldest first.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.lock().endpoints.values().cloned().collect()
    }

    /// The endpoint `id`.
    pub fn endpoint(&self, id: &str) -> Result<Endpoint, StandardError> {
        let state = self.lock();
        find(&state, id).cloned()
    }

    /// Enables or disables endpoint `id` by hand. Disabling drops its
    /// waiting retries, as a 410 answer does.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<Endpoint, StandardError> {
        let mut state = self.lock();
        let key = endpoint_key(&state, id)?;
        if !enabled {
            disable(&mut state, key, "disabled by hand");
        } else if let Some(endpoint) = state.endpoints.get_mut(&key) {
            endpoint.enabled = true;
            endpoint.disabled_reason = None;
        }
        find(&state, id).cloned()
    }

    /// Sends `message` to endpoint `id`: the first attempt now; when it
    /// fails, the message waits in the queue for [`deliver_due`](Self::deliver_due).
    ///
    /// Refused, nothing sent, for an unknown or disabled endpoint, an
    /// invalid message id, a fault the sender does not play, or a full queue.
    pub async fn send(&self, id: &str, message: Message) -> Result<Dispatch, StandardError> {
        let pending = self.admit(id, message)?;
        Ok(self.attempt(pending).await)
    }

    /// Sends `message` to every enabled endpoint, one after the other, under
    /// one `webhook-id`.
    pub async fn broadcast(&self, message: Message) -> Result<Vec<Dispatch>, StandardError> {
        let ids: Vec<String> = self
            .lock()
            .endpoints
            .values()
            .filter(|e| e.enabled)
            .map(|e| e.id.clone())
            .collect();
        let mut message = message;
        if message.id.is_none() {
            message.id = Some(self.message_id());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.send(&id, message.clone()).await {
                Ok(dispatch) => out.push(dispatch),
                // Disabled by an answer since the list was made.
                Err(StandardError::EndpointDisabled { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Makes every attempt due by the sender's clock, oldest first, and
    /// says how each went; a failure is queued again for later.
    pub async fn deliver_due(&self) -> Vec<Dispatch> {
        let now = self.shared.engine.now();
        let due: Vec<Pending> = {
            let mut state = self.lock();
            let later = state.queue.split_off(&(now.saturating_add(1), 0));
            let due = std::mem::replace(&mut state.queue, later);
            state.in_flight += due.len();
            due.into_values().collect()
        };
        let mut out = Vec::with_capacity(due.len());
        for pending in due {
            out.push(self.attempt(pending).await);
        }
        out
    }

    /// When the next retry is due, if one waits.
    pub fn next_due(&self) -> Option<i64> {
        self.lock().queue.keys().next().map(|(at, _)| *at)
    }

    /// The retries waiting, soonest first.
    pub fn pending(&self) -> Vec<PendingRetry> {
        self.lock()
            .queue
            .iter()
            .map(|((at, _), p)| PendingRetry {
                message_id: p.message.id.clone(),
                endpoint_id: p.endpoint.clone(),
                attempt: p.attempt,
                due_at: *at,
            })
            .collect()
    }

    /// Calls [`deliver_due`](Self::deliver_due) every `every` (tokio's
    /// clock), for ever: spawn it when the sender runs on the system clock.
    pub async fn run(&self, every: Duration) {
        loop {
            self.deliver_due().await;
            tokio::time::sleep(every).await;
        }
    }

    /// Every attempt so far.
    pub fn journal(&self) -> Journal {
        self.shared.engine.journal.clone()
    }

    expectation_methods!(expectations);

    /// The sender's "now", in Unix seconds.
    pub fn now(&self) -> i64 {
        self.shared.engine.now()
    }

    /// `msg_` and 27 base62 characters.
    fn message_id(&self) -> String {
        format!("msg_{}", self.lock().rng.base62(27))
    }

    /// Checks `message` for endpoint `id` and takes a queue slot for it.
    fn admit(&self, id: &str, message: Message) -> Result<Pending, StandardError> {
        if let Some(fault) = message
            .faults
            .iter()
            .find(|f| !SUPPORTED_FAULTS.contains(&f.name()))
        {
            return Err(StandardError::UnsupportedFault {
                fault: fault.clone(),
            });
        }
        if let Some(id) = &message.id {
            checked_id(id)?;
        }
        let mut state = self.lock();
        let endpoint = find(&state, id)?;
        if !endpoint.enabled {
            return Err(StandardError::EndpointDisabled { id: id.to_owned() });
        }
        let endpoint = endpoint.id.clone();
        if state.queue.len() + state.in_flight >= self.shared.max_pending {
            return Err(StandardError::QueueFull {
                limit: self.shared.max_pending,
            });
        }
        state.in_flight += 1;
        let message_id = match message.id {
            Some(id) => id,
            None => format!("msg_{}", state.rng.base62(27)),
        };
        Ok(Pending {
            dispatch: self.shared.engine.next_delivery(),
            message: Arc::new(Outgoing {
                id: message_id,
                event_type: message.event_type,
                body: message.body,
                faults: message.faults,
            }),
            endpoint,
            attempt: 1,
        })
    }

    /// Makes one attempt of `pending` (which holds an in-flight slot),
    /// records it, and queues the next one when it failed.
    async fn attempt(&self, pending: Pending) -> Dispatch {
        let shared = &*self.shared;
        let message = Arc::clone(&pending.message);
        let endpoint = {
            let mut state = self.lock();
            let endpoint = find(&state, &pending.endpoint)
                .ok()
                .filter(|e| e.enabled)
                .cloned();
            if endpoint.is_none() {
                state.in_flight = state.in_flight.saturating_sub(1);
            }
            endpoint
        };
        let Some(endpoint) = endpoint else {
            return Dispatch {
                message_id: message.id.clone(),
                endpoint_id: pending.endpoint,
                attempt: None,
                state: DispatchState::EndpointDisabled,
            };
        };

        let now = shared.engine.now();
        let (request, result, latency) =
            match prepare(&shared.engine.transport, &endpoint, &message, now) {
                Ok((uri, wire, signed)) => {
                    shared
                        .engine
                        .exchange(&uri, &endpoint.url, &wire, signed, true)
                        .await
                }
                Err(failure) => (
                    SentRequest::unsent(&endpoint.url, message.body.clone()),
                    Err(failure),
                    Duration::ZERO,
                ),
            };
        let verdict = policy::judge(&result);
        let attempt = Attempt {
            id: 0,
            vendor: Vendor::StandardWebhooks,
            delivery: pending.dispatch,
            number: pending.attempt,
            copy: 1,
            endpoint: Some(endpoint.id.clone()),
            event: message.event_type.clone(),
            sent_at: now,
            request,
            result,
            latency,
            faults: message.faults.clone(),
            delivered: verdict == Verdict::Delivered,
            details: serde_json::Map::from_iter([("message_id".to_owned(), json!(message.id))]),
        };

        let judged_at = shared.engine.now();
        let state = {
            let mut state = self.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
            match verdict {
                Verdict::Delivered => DispatchState::Delivered,
                Verdict::Gone => {
                    if let Ok(key) = endpoint_key(&state, &endpoint.id) {
                        disable(&mut state, key, "answered 410 Gone");
                    }
                    DispatchState::EndpointDisabled
                }
                Verdict::Retry { retry_after, .. } => {
                    let index = (pending.attempt as usize).saturating_sub(1);
                    match shared.schedule.get(index) {
                        None => DispatchState::Failed,
                        Some(&wait) => {
                            let wait = match retry_after {
                                Some(asked) => asked.min(shared.retry_after_cap),
                                None => jittered(wait, shared.jitter_percent, &mut state.rng),
                            };
                            let at =
                                judged_at.saturating_add(i64::try_from(wait).unwrap_or(i64::MAX));
                            let next = pending.attempt.saturating_add(1);
                            let seq = state.next_seq;
                            state.next_seq += 1;
                            state.queue.insert(
                                (at, seq),
                                Pending {
                                    attempt: next,
                                    ..pending.clone()
                                },
                            );
                            DispatchState::Retrying { attempt: next, at }
                        }
                    }
                }
            }
        };
        let attempt = shared.engine.record(attempt);
        Dispatch {
            message_id: message.id.clone(),
            endpoint_id: endpoint.id.clone(),
            attempt: Some(attempt),
            state,
        }
    }
}

/// The map key of endpoint `id` (`ep_<n>`).
fn endpoint_key(state: &State, id: &str) -> Result<u64, StandardError> {
    id.strip_prefix("ep_")
        .and_then(|n| n.parse().ok())
        .filter(|n| state.endpoints.contains_key(n))
        .ok_or_else(|| StandardError::UnknownEndpoint { id: id.to_owned() })
}

fn find<'a>(state: &'a State, id: &str) -> Result<&'a Endpoint, StandardError> {
    let key = endpoint_key(state, id)?;
    state
        .endpoints
        .get(&key)
        .ok_or_else(|| StandardError::UnknownEndpoint { id: id.to_owned() })
}

/// Disables endpoint `key` and drops its waiting retries.
fn disable(state: &mut State, key: u64, reason: &str) {
    let Some(endpoint) = state.endpoints.get_mut(&key) else {
        return;
    };
    endpoint.enabled = false;
    endpoint.disabled_reason = Some(reason.to_owned());
    let id = endpoint.id.clone();
    state.queue.retain(|_, p| p.endpoint != id);
}

/// The request of one attempt at `now`: `host`, `content-type`, then
/// `webhook-id`, `webhook-timestamp` and `webhook-signature` (one entry per
/// secret), spoiled by the message's faults. The signed string is
/// `id.timestamp.body` as signed.
fn prepare(
    transport: &Transport,
    endpoint: &Endpoint,
    message: &Outgoing,
    now: i64,
) -> Result<(Uri, WireRequest, Bytes), TransportFailure> {
    let uri = transport.resolve(&endpoint.url)?;
    let faults = &message.faults;
    let timestamp = faulty_timestamp(now, faults);
    let body = &message.body;
    let wrong = || {
        crate::standard::sign(
            &SigningKey::new("wrong key", WRONG_KEY),
            &message.id,
            timestamp,
            body,
        )
    };
    let mut entries = Vec::with_capacity(endpoint.secrets.len() + 1);
    if faults.contains(&Fault::ExtraBadSignature) {
        entries.push(wrong());
    }
    if faults.contains(&Fault::WrongKey) {
        entries.push(wrong());
    } else {
        entries.extend(
            endpoint
                .secrets
                .iter()
                .map(|s| s.sign(&message.id, timestamp, body)),
        );
    }
    if faults.contains(&Fault::GarbledSignature) {
        // The length of a v1 entry, not base64.
        entries = vec![format!("v1,{}", "@".repeat(44))];
    }
    if faults.contains(&Fault::MissingSignature) {
        entries.clear();
    }

    let mut headers = Vec::with_capacity(6);
    if let Some(authority) = uri.authority() {
        headers.push(("host".to_owned(), authority.as_str().to_owned()));
    }
    headers.push(("content-type".to_owned(), "application/json".to_owned()));
    headers.push((names::ID.to_owned(), message.id.clone()));
    headers.push((names::TIMESTAMP.to_owned(), timestamp.to_string()));
    if !entries.is_empty() {
        headers.push((names::SIGNATURE.to_owned(), entries.join(" ")));
    }

    let mut signed = format!("{}.{timestamp}.", message.id).into_bytes();
    signed.extend_from_slice(body);
    let sent_body = if faults.contains(&Fault::TamperedBody) {
        tampered(body)
    } else {
        body.clone()
    };
    let slow = Fault::slow_body(faults);
    let wire = WireRequest::new(&uri, headers, sent_body, slow, true);
    Ok((uri, wire, Bytes::from(signed)))
}
