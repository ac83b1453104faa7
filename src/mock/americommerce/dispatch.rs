//! Playing one event as AmeriCommerce does: each matching subscription in
//! turn, a 2xx in time or a failure handled by its failure type, replies
//! cached by subscription and request body.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::auth::ApiToken;
use super::cache::{CachedReply, ReplyCache};
use super::webhooks::{FailureType, Store, UrlRule, Webhook, WebhookId};
use crate::americommerce::EventType;
use crate::mock::delivering::Engine;
use crate::mock::journal::{
    Attempt, ReceivedResponse, SentRequest, TransportFailure, Vendor, duration_ms,
};
use crate::mock::target::{WireRequest, invalid_request};

/// Why sending to a subscription (or its fallback) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookFailure {
    /// Answered, but not with a 2xx status.
    Status(u16),
    /// No answer within the deadline, or none at all.
    NoResponse(TransportFailure),
}

impl fmt::Display for HookFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "answered {status}"),
            Self::NoResponse(failure) => write!(f, "no response: {failure}"),
        }
    }
}

/// One request the sender put on the wire, and what came back: a journal
/// [`Attempt`] read with AmeriCommerce's names.
#[derive(Clone, Debug)]
pub struct Exchange {
    attempt: Attempt,
    webhook_id: WebhookId,
    event_type: EventType,
    deadline: Duration,
}

/// The journal fields only AmeriCommerce's attempts carry.
const WEBHOOK_ID: &str = "webhook_id";
const FALLBACK: &str = "fallback";
const DEADLINE_MS: &str = "deadline_ms";

impl Exchange {
    /// The exchange an AmeriCommerce journal attempt records; `None` for
    /// another vendor's.
    pub fn from_attempt(attempt: &Attempt) -> Option<Self> {
        if attempt.vendor() != Vendor::AmeriCommerce {
            return None;
        }
        let details = attempt.details();
        Some(Self {
            webhook_id: WebhookId::new(details.get(WEBHOOK_ID)?.as_u64()?),
            event_type: EventType::parse(attempt.event()),
            deadline: Duration::from_millis(details.get(DEADLINE_MS)?.as_u64()?),
            attempt: attempt.clone(),
        })
    }

    /// The journal attempt it is.
    pub fn attempt(&self) -> &Attempt {
        &self.attempt
    }

    /// The subscription it was sent for.
    pub fn webhook_id(&self) -> WebhookId {
        self.webhook_id
    }

    /// The event type.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// True when it went to the subscription's fallback URL.
    pub fn is_fallback(&self) -> bool {
        self.attempt.details().get(FALLBACK) == Some(&Value::Bool(true))
    }

    /// The sender's clock when it was sent (Unix seconds).
    pub fn sent_at(&self) -> i64 {
        self.attempt.sent_at()
    }

    /// How long the sender waited at most.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The request as sent.
    pub fn request(&self) -> &SentRequest {
        self.attempt.request()
    }

    /// The answer, when there was one in time.
    pub fn response(&self) -> Option<&ReceivedResponse> {
        self.attempt.response()
    }

    /// From the first byte sent to the answer read, in tokio's clock.
    pub fn latency(&self) -> Duration {
        self.attempt.latency()
    }

    /// Why it counts as failed; `None` for a 2xx answer in time.
    pub fn failure(&self) -> Option<HookFailure> {
        match judged(self, self.is_fallback()) {
            HookResult::Failed { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// One line for logs: `webhook 1 GetTax -> http://host/tax?<redacted>:
    /// 200 in 4 ms`. The query string is hidden: it may carry the receiver's
    /// URL token.
    pub fn summary(&self) -> String {
        let answer = match self.attempt.response() {
            Some(response) => response.status().to_string(),
            None => match self.attempt.failure() {
                Some(failure) => format!("no response ({failure})"),
                None => "no response".to_owned(),
            },
        };
        format!(
            "webhook {} {}{} -> {}: {answer} in {} ms",
            self.webhook_id,
            self.event_type,
            if self.is_fallback() {
                " (fallback)"
            } else {
                ""
            },
            redacted_query(self.request().url()),
            self.latency().as_millis()
        )
    }

    /// The exchange as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "webhook_id": self.webhook_id.get(),
            "event_type": self.event_type.as_str(),
            "fallback": self.is_fallback(),
            "sent_at": self.sent_at(),
            "deadline_ms": duration_ms(self.deadline),
            "request": self.request().to_json(),
            "status": self.response().map(ReceivedResponse::status),
            "failure": self.failure().map(|f| f.to_string()),
            "latency_ms": duration_ms(self.latency()),
        })
    }
}

/// How one subscription's part of a dispatch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookResult {
    /// A 2xx answer in time, from the URL, its fallback, or the cache.
    Succeeded {
        /// The status.
        status: u16,
        /// The reply body.
        reply: Bytes,
        /// True when nothing was sent: the reply came from the cache.
        from_cache: bool,
        /// True when the reply came from the fallback URL.
        fell_back: bool,
    },
    /// No 2xx in time (from the fallback either, when there was one).
    Failed {
        /// The last failure.
        failure: HookFailure,
        /// True when the fallback URL was tried too.
        fell_back: bool,
    },
    /// Not attempted: an earlier subscription with failure type Error failed.
    Skipped,
}

/// One subscription's part of a dispatch.
#[derive(Clone, Debug)]
pub struct HookOutcome {
    webhook: Webhook,
    result: HookResult,
    exchanges: Vec<Exchange>,
}

impl HookOutcome {
    /// The subscription (as it was when the event was played).
    pub fn webhook(&self) -> &Webhook {
        &self.webhook
    }

    /// How it ended.
    pub fn result(&self) -> &HookResult {
        &self.result
    }

    /// What was sent for it: none (cache hit, skipped), one, or two with the fallback.
    pub fn exchanges(&self) -> &[Exchange] {
        &self.exchanges
    }

    /// True for a 2xx answer in time (or from the cache).
    pub fn is_success(&self) -> bool {
        matches!(self.result, HookResult::Succeeded { .. })
    }

    /// The status of the answer that decided it, when there was one.
    pub fn status(&self) -> Option<u16> {
        match &self.result {
            HookResult::Succeeded { status, .. } => Some(*status),
            HookResult::Failed {
                failure: HookFailure::Status(status),
                ..
            } => Some(*status),
            _ => None,
        }
    }

    /// The reply body of a success.
    pub fn reply(&self) -> Option<&Bytes> {
        match &self.result {
            HookResult::Succeeded { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// True when the reply came from the cache.
    pub fn from_cache(&self) -> bool {
        matches!(
            self.result,
            HookResult::Succeeded {
                from_cache: true,
                ..
            }
        )
    }

    /// True when the fallback URL was tried.
    pub fn fell_back(&self) -> bool {
        matches!(
            self.result,
            HookResult::Succeeded {
                fell_back: true,
                ..
            } | HookResult::Failed {
                fell_back: true,
                ..
            }
        )
    }

    /// Why it failed.
    pub fn failure(&self) -> Option<&HookFailure> {
        match &self.result {
            HookResult::Failed { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// True when it was not attempted.
    pub fn is_skipped(&self) -> bool {
        self.result == HookResult::Skipped
    }

    /// The outcome as JSON: `webhook_id`, `url`, `status`, `reply`,
    /// `from_cache`, `fell_back`, `skipped`, `error`, `exchanges`.
    pub fn to_json(&self) -> Value {
        json!({
            "webhook_id": self.webhook.id().get(),
            "url": self.webhook.url(),
            "failure_type": self.webhook.failure_type().as_str(),
            "status": self.status(),
            "reply": self.reply().map(|r| body_json(r)),
            "from_cache": self.from_cache(),
            "fell_back": self.fell_back(),
            "skipped": self.is_skipped(),
            "error": self.failure().map(ToString::to_string),
            "exchanges": self.exchanges.iter().map(Exchange::to_json).collect::<Vec<_>>(),
        })
    }
}

/// `url` with its query string, if any, replaced by `<redacted>`.
pub(super) fn redacted_query(url: &str) -> Cow<'_, str> {
    match url.split_once('?') {
        Some((before, _)) => Cow::Owned(format!("{before}?<redacted>")),
        None => Cow::Borrowed(url),
    }
}

/// A reply body as JSON when it is JSON, else as text (lossily).
fn body_json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::from(String::from_utf8_lossy(body)))
}

/// The error the store's caller gets: a subscription with failure type Error failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchError {
    webhook_id: WebhookId,
    failure: HookFailure,
}

impl DispatchError {
    /// The subscription that failed.
    pub fn webhook_id(&self) -> WebhookId {
        self.webhook_id
    }

    /// How it failed.
    pub fn failure(&self) -> &HookFailure {
        &self.failure
    }
}

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "webhook {} failed ({}) and its failure type is Error",
            self.webhook_id, self.failure
        )
    }
}

impl std::error::Error for DispatchError {}

/// One event played: each matching subscription's outcome, in order, and
/// what the store's caller gets.
#[derive(Clone, Debug)]
pub struct Dispatch {
    event_type: EventType,
    store_id: String,
    outcomes: Vec<HookOutcome>,
    error: Option<DispatchError>,
}

impl Dispatch {
    /// The event type played.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// The store it happened on.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// Each matching subscription's outcome, in id order (skipped ones included).
    pub fn outcomes(&self) -> &[HookOutcome] {
        &self.outcomes
    }

    /// The error the caller gets, when a subscription with failure type Error failed.
    pub fn error(&self) -> Option<&DispatchError> {
        self.error.as_ref()
    }

    /// The reply the caller gets: for an event that expects one, the body of
    /// the last subscription that succeeded (later subscriptions have the
    /// last word); `None` when the event expects none, none succeeded, or
    /// the caller gets an error.
    pub fn reply(&self) -> Option<&Bytes> {
        if self.error.is_some() || !self.event_type.expects_reply() {
            return None;
        }
        self.outcomes.iter().rev().find_map(HookOutcome::reply)
    }

    /// What the caller gets: the error, or the reply (if any).
    pub fn result(&self) -> Result<Option<&Bytes>, &DispatchError> {
        match &self.error {
            Some(error) => Err(error),
            None => Ok(self.reply()),
        }
    }

    /// The dispatch as `POST /api/v1/emulator/events` answers it:
    /// `event_type`, `store_id`, `reply` (JSON when it is JSON), `error`,
    /// `webhooks` (each outcome).
    pub fn to_json(&self) -> Value {
        json!({
            "event_type": self.event_type.as_str(),
            "store_id": self.store_id,
            "reply": self.reply().map(|r| body_json(r)),
            "error": self.error.as_ref().map(ToString::to_string),
            "webhooks": self.outcomes.iter().map(HookOutcome::to_json).collect::<Vec<_>>(),
        })
    }
}

pub(super) async fn play(
    shared: &Shared,
    event_type: EventType,
    store_id: &str,
    body: Bytes,
) -> Dispatch {
    let webhooks = shared.state().webhooks.matching(&event_type, store_id);
    let deadline = shared.deadline(&event_type);
    let event = Event {
        event_type: &event_type,
        body: &body,
        deadline,
        slow: None,
    };
    let mut outcomes = Vec::with_capacity(webhooks.len());
    let mut error = None;
    for webhook in webhooks {
        if error.is_some() {
            outcomes.push(HookOutcome {
                webhook,
                result: HookResult::Skipped,
                exchanges: Vec::new(),
            });
            continue;
        }
        let outcome = event.dispatch_to(shared, webhook).await;
        if let (FailureType::Error, Some(failure)) =
            (outcome.webhook.failure_type(), outcome.failure())
        {
            error = Some(DispatchError {
                webhook_id: outcome.webhook.id(),
                failure: failure.clone(),
            });
        }
        outcomes.push(outcome);
    }
    Dispatch {
        event_type,
        store_id: store_id.to_owned(),
        outcomes,
        error,
    }
}

/// Sends `body` once to `url` for `webhook`, as its event type, bypassing
/// the reply cache and the fallback: what the conformance runner sends.
pub(super) async fn send_once(
    shared: &Shared,
    webhook: &Webhook,
    url: &str,
    body: &Bytes,
    slow: Option<(usize, Duration)>,
) -> Exchange {
    let event_type = webhook.event_type();
    let event = Event {
        event_type,
        body,
        deadline: shared.deadline(event_type),
        slow,
    };
    let delivery = shared.engine.next_delivery();
    event.send(shared, webhook, url, delivery, false).await
}

/// What every request of one dispatch shares.
struct Event<'a> {
    event_type: &'a EventType,
    body: &'a Bytes,
    deadline: Duration,
    /// `Some((chunk size, pause))` to send the body slowly.
    slow: Option<(usize, Duration)>,
}

impl Event<'_> {
    /// The cache, the URL, then (failure type Fallback) the fallback URL.
    async fn dispatch_to(&self, shared: &Shared, webhook: Webhook) -> HookOutcome {
        let ttl = self
            .event_type
            .caches_reply()
            .then(|| webhook.cache_length().duration())
            .flatten();
        if ttl.is_some() {
            let now = shared.engine.now();
            let cached = shared.state().cache.get(webhook.id(), self.body, now);
            if let Some(cached) = cached {
                return HookOutcome {
                    webhook,
                    result: HookResult::Succeeded {
                        status: cached.status,
                        reply: cached.body,
                        from_cache: true,
                        fell_back: false,
                    },
                    exchanges: Vec::new(),
                };
            }
        }
        let delivery = shared.engine.next_delivery();
        let first = self
            .send(shared, &webhook, webhook.url(), delivery, false)
            .await;
        let mut result = judged(&first, false);
        let mut exchanges = vec![first];
        // Only the subscription's own replies are cached: a fallback's would
        // hide the URL's recovery for the whole cache length.
        if let (Some(ttl), HookResult::Succeeded { status, reply, .. }) = (ttl, &result) {
            let cached = CachedReply {
                status: *status,
                body: reply.clone(),
            };
            let now = shared.engine.now();
            shared
                .state()
                .cache
                .put(webhook.id(), self.body.clone(), now, ttl, cached);
        }
        if let (HookResult::Failed { .. }, FailureType::Fallback, Some(fallback)) =
            (&result, webhook.failure_type(), webhook.fallback_url())
        {
            let second = self.send(shared, &webhook, fallback, delivery, true).await;
            result = judged(&second, true);
            exchanges.push(second);
        }
        HookOutcome {
            webhook,
            result,
            exchanges,
        }
    }

    /// Sends the event to `url` for `webhook`, within the deadline, and
    /// records it: attempt 1 of the subscription's delivery to its URL, 2 to
    /// its fallback.
    async fn send(
        &self,
        shared: &Shared,
        webhook: &Webhook,
        url: &str,
        delivery: u64,
        fallback: bool,
    ) -> Exchange {
        let sent_at = shared.engine.now();
        let (request, result, latency) = match self.prepare(shared, url) {
            Ok((uri, wire)) => {
                // Nothing is signed, so the journal's signed string is empty.
                shared
                    .engine
                    .transport
                    .exchange(&uri, url, &wire, Bytes::new(), false, self.deadline)
                    .await
            }
            Err(failure) => (
                SentRequest {
                    url: url.to_owned(),
                    target: String::new(),
                    headers: Vec::new(),
                    body: self.body.clone(),
                    signed_string: Bytes::new(),
                },
                Err(failure),
                Duration::ZERO,
            ),
        };
        let delivered = result
            .as_ref()
            .is_ok_and(|r| Vendor::AmeriCommerce.counts_as_delivered(r.status()));
        let deadline_ms = u64::try_from(self.deadline.as_millis()).unwrap_or(u64::MAX);
        let details = Map::from_iter([
            (WEBHOOK_ID.to_owned(), json!(webhook.id().get())),
            (FALLBACK.to_owned(), json!(fallback)),
            (DEADLINE_MS.to_owned(), json!(deadline_ms)),
        ]);
        let attempt = shared.engine.record(Attempt {
            id: 0,
            vendor: Vendor::AmeriCommerce,
            delivery,
            number: if fallback { 2 } else { 1 },
            copy: 1,
            endpoint: Some(webhook.id().to_string()),
            event: self.event_type.as_str().to_owned(),
            sent_at,
            request,
            result,
            latency,
            faults: Vec::new(),
            delivered,
            details,
        });
        shared.sent.fetch_add(1, Ordering::Relaxed);
        Exchange {
            attempt,
            webhook_id: webhook.id(),
            event_type: self.event_type.clone(),
            deadline: self.deadline,
        }
    }

    /// The request, as the vendor documents it: a POST of the body to the
    /// URL exactly as registered (its query string is the request target's),
    /// with no signature and no header naming the event or the store.
    /// `Content-Type: application/json` is the mock's choice: the docs do not
    /// name one.
    fn prepare(
        &self,
        shared: &Shared,
        url: &str,
    ) -> Result<(http::Uri, WireRequest), TransportFailure> {
        let uri = shared
            .rule
            .parse("url", url)
            .map_err(|e| invalid_request(e.to_string()))?;
        let mut headers = Vec::with_capacity(3);
        if let Some(authority) = uri.authority() {
            headers.push(("Host".to_owned(), authority.as_str().to_owned()));
        }
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        let wire = WireRequest::new(&uri, headers, self.body.clone(), self.slow, false);
        Ok((uri, wire))
    }
}

/// How the vendor judges one exchange: a 2xx answer in time succeeds.
fn judged(exchange: &Exchange, fell_back: bool) -> HookResult {
    match &exchange.attempt.result {
        // Judged once, when the attempt was recorded.
        Ok(response) if exchange.attempt.is_delivered() => HookResult::Succeeded {
            status: response.status(),
            reply: response.body().clone(),
            from_cache: false,
            fell_back,
        },
        Ok(response) => HookResult::Failed {
            failure: HookFailure::Status(response.status()),
            fell_back,
        },
        Err(failure) => HookResult::Failed {
            failure: HookFailure::NoResponse(failure.clone()),
            fell_back,
        },
    }
}

/// What a sender shares with its dispatches: its settings, and the
/// subscriptions, reply cache and exchange list they read and write.
pub(super) struct Shared {
    pub(super) api_token: ApiToken,
    pub(super) store_id: String,
    /// Clock, transport, timeout, journal.
    pub(super) engine: Engine,
    pub(super) rule: UrlRule,
    /// How many requests were sent, those the journal dropped included.
    pub(super) sent: AtomicUsize,
    pub(super) state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) webhooks: Store,
    pub(super) cache: ReplyCache,
}

impl Shared {
    /// How long the sender waits for an answer to `event_type`: the vendor's
    /// reply deadline for an event that expects a reply, else the attempt
    /// timeout.
    fn deadline(&self, event_type: &EventType) -> Duration {
        event_type.reply_deadline().unwrap_or(self.engine.timeout)
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // No update here leaves the state half-done if a test panics.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
