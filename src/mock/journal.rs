//! What the mock sent and what it got back: every attempt, every delivery,
//! waiting for them, and expectations checked when the sender goes away.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::ops::{Range, RangeFrom, RangeInclusive, RangeToInclusive};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::faults::Fault;
use crate::{Action, Entity, names};

/// The request of one attempt, as the mock put it on the wire.
///
/// Over HTTP/1.1 the headers are exactly the lines written, in order and in
/// case. Into an in-process service they are what would have been written:
/// the service itself sees them through an `http::HeaderMap`, which stores
/// every name in lower case.
#[derive(Clone, PartialEq, Eq)]
pub struct SentRequest {
    pub(crate) url: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) signed_string: Bytes,
}

impl SentRequest {
    /// The callback URL the request went to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The request target on the request line (path and query).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Every header line, `(name, value)`, in the order and case written.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// The body bytes sent (after any fault changed them).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// What was signed: the header JSON the vendor builds, then the body as it
    /// was when signed (for UP42, the listed headers' values joined).
    pub fn signed_string(&self) -> &Bytes {
        &self.signed_string
    }

    /// The `X-Webhook-Signature` value sent (the first, if sent twice).
    pub fn signature(&self) -> Option<&str> {
        self.header(names::SIGNATURE)
    }

    /// The request line and header block as HTTP/1.1 writes them, ending with
    /// the empty line: `POST /webhooks HTTP/1.1\r\nHost: ...\r\n\r\n`.
    pub fn head(&self) -> String {
        let mut head = format!("POST {} HTTP/1.1\r\n", self.target);
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        head
    }

    /// A request that could not be built, so nothing went on the wire: its
    /// URL and body only.
    pub(crate) fn unsent(url: &str, body: Bytes) -> Self {
        Self {
            url: url.to_owned(),
            target: String::new(),
            headers: Vec::new(),
            body,
            signed_string: Bytes::new(),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut out = json!({
            "url": self.url,
            "headers": pairs_json(&self.headers),
        });
        put_bytes(&mut out, "body", &self.body);
        put_bytes(&mut out, "signed_string", &self.signed_string);
        out
    }
}

impl fmt::Debug for SentRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentRequest")
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish_non_exhaustive()
    }
}

/// The first value of header `name` in `headers`, compared case-insensitively.
fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The receiver's answer to one attempt.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    truncated: bool,
}

impl ReceivedResponse {
    pub(crate) fn new(
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
        truncated: bool,
    ) -> Self {
        Self {
            status,
            headers,
            body,
            truncated,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response headers (names in title case, values lossily as text).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// The body, or its first 64 KiB (see [`truncated`](Self::truncated)).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text, lossily.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True when the body was longer than the 64 KiB kept.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    fn to_json(&self) -> Value {
        let mut out = json!({
            "status": self.status,
            "headers": pairs_json(&self.headers),
        });
        put_bytes(&mut out, "body", &self.body);
        if self.truncated {
            out["truncated"] = Value::Bool(true);
        }
        out
    }
}

impl fmt::Debug for ReceivedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// Why an attempt got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportFailureKind {
    /// The TCP connection could not be opened.
    Connect,
    /// No complete answer within the attempt timeout.
    Timeout,
    /// The connection broke, the answer was not HTTP, or the service failed.
    Io,
    /// The request could not be built (a header the event adds is not valid
    /// HTTP, or the callback is not a URL); nothing was sent.
    InvalidRequest,
}

/// An attempt that got no answer, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportFailure {
    kind: TransportFailureKind,
    message: String,
}

impl TransportFailure {
    pub(crate) fn new(kind: TransportFailureKind, message: String) -> Self {
        Self { kind, message }
    }

    /// What went wrong.
    pub fn kind(&self) -> TransportFailureKind {
        self.kind
    }

    /// The details.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportFailure {}

/// How one attempt ended, judged as the vendor judges it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The receiver answered 200: delivered.
    Delivered,
    /// The receiver answered another status: not delivered (201 and 204
    /// included).
    WrongStatus(u16),
    /// No answer.
    NoResponse(TransportFailure),
}

/// One attempt: one request put on the wire, and what came back.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub(crate) delivery: u64,
    pub(crate) number: u32,
    pub(crate) copy: u32,
    /// The vendor's id of the subscription it was sent for.
    pub(crate) subscription: Option<u64>,
    pub(crate) entity: Entity,
    pub(crate) action: Action,
    pub(crate) sent_at: i64,
    pub(crate) request: SentRequest,
    pub(crate) result: Result<ReceivedResponse, TransportFailure>,
    pub(crate) latency: Duration,
    pub(crate) faults: Vec<Fault>,
    pub(crate) delivered: bool,
}

impl Attempt {
    /// The delivery this attempt belongs to (numbered from 1 per sender).
    pub fn delivery(&self) -> u64 {
        self.delivery
    }

    /// Which try of the delivery: 1, or 2 for the vendor's retry.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// 1, or 2 for the second copy of a duplicated delivery.
    pub fn copy(&self) -> u32 {
        self.copy
    }

    /// The event's entity.
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The event's action.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// The sender's clock when the request was signed (Unix seconds).
    pub fn sent_at(&self) -> i64 {
        self.sent_at
    }

    /// The request as sent.
    pub fn request(&self) -> &SentRequest {
        &self.request
    }

    /// The answer, when there was one.
    pub fn response(&self) -> Option<&ReceivedResponse> {
        self.result.as_ref().ok()
    }

    /// Why there was no answer, when there was none.
    pub fn failure(&self) -> Option<&TransportFailure> {
        self.result.as_ref().err()
    }

    /// The answer's status, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.response().map(ReceivedResponse::status)
    }

    /// From the first byte sent to the last byte of the answer read (in
    /// tokio's clock, so pauses under `tokio::time::pause` count in full).
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// The faults the delivery was sent with.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// How the attempt ended.
    pub fn outcome(&self) -> AttemptOutcome {
        match &self.result {
            Ok(_) if self.delivered => AttemptOutcome::Delivered,
            Ok(response) => AttemptOutcome::WrongStatus(response.status()),
            Err(failure) => AttemptOutcome::NoResponse(failure.clone()),
        }
    }

    /// True when the vendor would count this attempt as delivered.
    pub fn is_delivered(&self) -> bool {
        self.delivered && self.result.is_ok()
    }

    /// The journal entry as JSON (what `webhook-guard send --json` prints).
    pub fn to_json(&self) -> Value {
        let outcome = match self.outcome() {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::WrongStatus(_) => "wrong-status",
            AttemptOutcome::NoResponse(_) => "no-response",
        };
        json!({
            "delivery": self.delivery,
            "attempt": self.number,
            "copy": self.copy,
            "webhook_id": self.subscription,
            "entity": self.entity.as_str(),
            "action": self.action.as_str(),
            "sent_at": self.sent_at,
            "faults": self.faults.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "request": self.request.to_json(),
            "response": self.response().map(ReceivedResponse::to_json),
            "failure": self.failure().map(|f| json!({
                "kind": format!("{:?}", f.kind()),
                "message": f.message(),
            })),
            "latency_ms": duration_ms(self.latency),
            "outcome": outcome,
        })
    }

    /// One line for reports: `delivery 2, attempt 1: product/add -> 401 in 3 ms`.
    pub fn summary(&self) -> String {
        let copy = if self.copy > 1 {
            format!(" (copy {})", self.copy)
        } else {
            String::new()
        };
        let answer = match &self.result {
            Ok(response) => {
                let text = response.text();
                let text = text.trim();
                if text.is_empty() || text.len() > 60 {
                    format!("{}", response.status())
                } else {
                    format!("{} {text:?}", response.status())
                }
            }
            Err(failure) => format!("no response ({failure})"),
        };
        format!(
            "delivery {}, attempt {}{copy}: {}/{} -> {answer} in {} ms",
            self.delivery,
            self.number,
            self.entity,
            self.action,
            self.latency.as_millis()
        )
    }
}

pub(crate) fn duration_ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

fn pairs_json(pairs: &[(String, String)]) -> Value {
    Value::Array(pairs.iter().map(|(n, v)| json!([n, v])).collect())
}

/// `key` as text when the bytes are UTF-8, else `key_base64`.
fn put_bytes(out: &mut Value, key: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out[key] = Value::from(text),
        Err(_) => out[format!("{key}_base64")] = Value::from(STANDARD.encode(bytes)),
    }
}

/// The most recent items of a sender's record, at most `limit` of them
/// (all without one), and how many were ever recorded: what keeps a
/// long-running sender's memory bounded while waits still count everything.
#[derive(Clone, Debug)]
pub(crate) struct Recent<T> {
    items: VecDeque<T>,
    limit: Option<usize>,
    total: usize,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self::new(None)
    }
}

impl<T> Recent<T> {
    /// Keeps the `limit` most recent items, or all of them when `None`.
    pub(crate) fn new(limit: Option<usize>) -> Self {
        Self {
            items: VecDeque::new(),
            limit,
            total: 0,
        }
    }

    /// Records `item`, dropping the oldest kept ones beyond the limit.
    pub(crate) fn push(&mut self, item: T) {
        self.total = self.total.saturating_add(1);
        self.items.push_back(item);
        if let Some(limit) = self.limit {
            while self.items.len() > limit {
                self.items.pop_front();
            }
        }
    }

    /// The kept items, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// How many are kept.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// How many were ever recorded, dropped ones included.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// The newest item, if one is kept.
    pub(crate) fn last(&self) -> Option<&T> {
        self.items.back()
    }
}

impl<T: Clone> Recent<T> {
    /// The kept items, oldest first.
    pub(crate) fn to_vec(&self) -> Vec<T> {
        self.items.iter().cloned().collect()
    }
}

/// How one delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// Delivered: attempt `attempt` was answered 200.
    Delivered {
        /// Which attempt (1 or 2).
        attempt: u32,
    },
    /// Every attempt failed; the event is in the failed log (unless sent by
    /// the conformance runner, which logs nothing).
    Failed,
}

/// One event sent to one callback: its attempts and how it ended.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub(crate) id: u64,
    /// The vendor's id of the subscription it was sent for.
    pub(crate) subscription: Option<u64>,
    pub(crate) entity: Entity,
    pub(crate) action: Action,
    pub(crate) callback: String,
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) outcome: DeliveryOutcome,
}

impl Delivery {
    /// Numbered from 1 per sender.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The event's entity.
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The event's action.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// Where it went.
    pub fn callback(&self) -> &str {
        &self.callback
    }

    /// Every attempt, in order (duplicate copies included).
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// How it ended.
    pub fn outcome(&self) -> DeliveryOutcome {
        self.outcome
    }

    /// True when some attempt was answered 200.
    pub fn is_delivered(&self) -> bool {
        matches!(self.outcome, DeliveryOutcome::Delivered { .. })
    }

    /// The status of each attempt (`None` where there was no answer).
    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.attempts.iter().map(Attempt::status).collect()
    }

    /// The delivery and its journal entries as JSON (what `webhook-guard send
    /// --json` prints).
    pub fn to_json(&self) -> Value {
        let (delivered, attempt) = match self.outcome {
            DeliveryOutcome::Delivered { attempt } => (true, Some(attempt)),
            DeliveryOutcome::Failed => (false, None),
        };
        json!({
            "delivery": self.id,
            "webhook_id": self.subscription,
            "entity": self.entity.as_str(),
            "action": self.action.as_str(),
            "callback": self.callback,
            "delivered": delivered,
            "delivered_on_attempt": attempt,
            "latency_ms": duration_ms(self.attempts.iter().map(Attempt::latency).sum()),
            "attempts": self.attempts.iter().map(Attempt::to_json).collect::<Vec<_>>(),
        })
    }
}

/// Every attempt and delivery of one [`MockSender`](super::MockSender), in
/// the order they finished. Clones share the same journal.
///
/// With a limit (`journal_limit` on the sender's builder) it keeps only the
/// most recent attempts and deliveries: what it returns, counts for
/// [`Expectation`]s and prints is what is kept, while the waits and the
/// `total_*` counts include what was dropped.
#[derive(Clone, Default)]
pub struct Journal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    attempts: Recent<Attempt>,
    deliveries: Recent<Delivery>,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Journal")
            .field("attempts", &state.attempts.len())
            .field("deliveries", &state.deliveries.len())
            .field("limit", &state.attempts.limit)
            .finish()
    }
}

/// [`Journal::wait_for`] gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitTimeout {
    what: &'static str,
    wanted: usize,
    seen: usize,
    waited: Duration,
}

impl WaitTimeout {
    /// How many were seen when the wait ended.
    pub fn seen(&self) -> usize {
        self.seen
    }
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "waited {} ms for {} {}, saw {}",
            self.waited.as_millis(),
            self.wanted,
            self.what,
            self.seen
        )
    }
}

impl std::error::Error for WaitTimeout {}

impl Journal {
    /// A journal keeping the `limit` most recent attempts and deliveries
    /// (each), or everything when `None`.
    pub(crate) fn with_limit(limit: Option<usize>) -> Self {
        let state = State {
            attempts: Recent::new(limit),
            deliveries: Recent::new(limit),
        };
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                changed: Notify::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record_attempt(&self, attempt: Attempt) {
        self.lock().attempts.push(attempt);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn record_delivery(&self, delivery: Delivery) {
        self.lock().deliveries.push(delivery);
        self.inner.changed.notify_waiters();
    }

    /// Every attempt so far (the most recent ones under a limit), oldest first.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.to_vec()
    }

    /// Every finished delivery so far (the most recent ones under a limit),
    /// oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.to_vec()
    }

    /// The last attempt, if any.
    pub fn last(&self) -> Option<Attempt> {
        self.lock().attempts.last().cloned()
    }

    /// How many attempts are kept: all so far, or at most the limit.
    pub fn len(&self) -> usize {
        self.lock().attempts.len()
    }

    /// True when no attempt is kept (before the first one, or with a limit of 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many attempts were made so far, those dropped by the limit included.
    pub fn total_attempts(&self) -> usize {
        self.lock().attempts.total()
    }

    /// How many deliveries finished so far, those dropped by the limit included.
    pub fn total_deliveries(&self) -> usize {
        self.lock().deliveries.total()
    }

    /// How many attempts and deliveries (each) it keeps at most; `None`
    /// keeps everything (the default).
    pub fn limit(&self) -> Option<usize> {
        self.lock().attempts.limit
    }

    /// Waits until at least `attempts` attempts have been made (counting
    /// those dropped by a limit) and returns the kept ones, or fails after
    /// `timeout` (in tokio's clock).
    pub async fn wait_for(
        &self,
        attempts: usize,
        timeout: Duration,
    ) -> Result<Vec<Attempt>, WaitTimeout> {
        self.wait_until("attempts", attempts, timeout, |state| &state.attempts)
            .await
    }

    /// Waits until at least `deliveries` deliveries have finished (all their
    /// attempts made; those dropped by a limit count) and returns the kept
    /// ones, or fails after `timeout`.
    pub async fn wait_for_deliveries(
        &self,
        deliveries: usize,
        timeout: Duration,
    ) -> Result<Vec<Delivery>, WaitTimeout> {
        self.wait_until("deliveries", deliveries, timeout, |state| &state.deliveries)
            .await
    }

    /// Waits until `record` has had at least `wanted` items (counting those
    /// a limit dropped), then returns the kept ones.
    async fn wait_until<T: Clone>(
        &self,
        what: &'static str,
        wanted: usize,
        timeout: Duration,
        record: impl Fn(&State) -> &Recent<T>,
    ) -> Result<Vec<T>, WaitTimeout> {
        let started = tokio::time::Instant::now();
        let deadline = started + timeout;
        loop {
            // Registered before looking, so a record made in between still wakes us.
            let changed = self.inner.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            {
                let state = self.lock();
                if record(&state).total() >= wanted {
                    return Ok(record(&state).to_vec());
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let seen = record(&self.lock()).total();
                return Err(WaitTimeout {
                    what,
                    wanted,
                    seen,
                    waited: started.elapsed(),
                });
            }
        }
    }

    /// One line per kept attempt, for reports, after a line saying how many
    /// earlier ones the limit dropped, if any.
    pub fn summary(&self) -> String {
        let state = self.lock();
        let attempts = &state.attempts;
        let dropped = attempts.total() - attempts.len();
        let mut out = String::new();
        if dropped > 0 {
            let _ = writeln!(out, "  ({dropped} earlier attempts dropped by the limit)");
        }
        if attempts.total() == 0 {
            out.push_str("  (no attempts)\n");
        }
        for attempt in attempts.iter() {
            let _ = writeln!(out, "  {}", attempt.summary());
        }
        out
    }
}

/// How many times something should have happened: exactly `n` (from `u64`),
/// or a range (`1..=3`, `2..`, `..=1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Times {
    min: u64,
    max: Option<u64>,
}

impl Times {
    /// Exactly `n` times.
    pub const fn exactly(n: u64) -> Self {
        Self {
            min: n,
            max: Some(n),
        }
    }

    /// `n` times or more.
    pub const fn at_least(n: u64) -> Self {
        Self { min: n, max: None }
    }

    /// At most `n` times.
    pub const fn at_most(n: u64) -> Self {
        Self {
            min: 0,
            max: Some(n),
        }
    }

    /// True when `count` satisfies it.
    pub fn contains(&self, count: u64) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

impl From<u64> for Times {
    fn from(n: u64) -> Self {
        Self::exactly(n)
    }
}

impl From<RangeInclusive<u64>> for Times {
    fn from(range: RangeInclusive<u64>) -> Self {
        Self {
            min: *range.start(),
            max: Some(*range.end()),
        }
    }
}

impl From<Range<u64>> for Times {
    fn from(range: Range<u64>) -> Self {
        match range.end.checked_sub(1) {
            Some(max) if max >= range.start => Self {
                min: range.start,
                max: Some(max),
            },
            // An empty range: nothing satisfies it.
            _ => Self {
                min: 1,
                max: Some(0),
            },
        }
    }
}

impl From<RangeFrom<u64>> for Times {
    fn from(range: RangeFrom<u64>) -> Self {
        Self::at_least(range.start)
    }
}

impl From<RangeToInclusive<u64>> for Times {
    fn from(range: RangeToInclusive<u64>) -> Self {
        Self::at_most(range.end)
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) if max < self.min => f.write_str("never (an empty range)"),
            Some(max) if max == self.min => write!(f, "exactly {max}"),
            Some(max) if self.min == 0 => write!(f, "at most {max}"),
            Some(max) => write!(f, "between {} and {max}", self.min),
            None => write!(f, "at least {}", self.min),
        }
    }
}

/// What an [`Expectation`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    Attempts,
    Deliveries,
}

/// Something the test expects the mock to have seen by the time it is
/// dropped (or [`verify`](super::MockSender::verify)-ed), as wiremock's
/// `Mock::expect` does.
///
/// It counts what the [`Journal`] keeps: under a `journal_limit`, what was
/// dropped is not counted, so tests with expectations keep the default (no
/// limit).
///
/// ```
/// use webhook_guard::mock::Expectation;
/// use webhook_guard::{Action, Entity};
///
/// // Two product additions delivered, and no attempt answered 401.
/// let delivered = Expectation::delivered().entity(Entity::Product).action(Action::Add).times(2);
/// let unauthorized = Expectation::answered(401).times(0);
/// # let _ = (delivered, unauthorized);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    subject: Subject,
    name: Option<String>,
    status: Option<u16>,
    delivered: Option<bool>,
    entity: Option<Entity>,
    action: Option<Action>,
    subscription: Option<u64>,
    times: Times,
}

impl Expectation {
    fn new(subject: Subject) -> Self {
        Self {
            subject,
            name: None,
            status: None,
            delivered: None,
            entity: None,
            action: None,
            subscription: None,
            times: Times::at_least(1),
        }
    }

    /// Counts attempts (each request sent, retries and duplicate copies included).
    pub fn attempts() -> Self {
        Self::new(Subject::Attempts)
    }

    /// Counts attempts the receiver answered with `status`.
    pub fn answered(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::new(Subject::Attempts)
        }
    }

    /// Counts deliveries (events sent to one callback, retries included).
    pub fn deliveries() -> Self {
        Self::new(Subject::Deliveries)
    }

    /// Counts deliveries that ended delivered (some attempt answered 200).
    pub fn delivered() -> Self {
        Self {
            delivered: Some(true),
            ..Self::new(Subject::Deliveries)
        }
    }

    /// Counts deliveries that ended undelivered (in the failed log).
    pub fn undelivered() -> Self {
        Self {
            delivered: Some(false),
            ..Self::new(Subject::Deliveries)
        }
    }

    /// Only those for `entity`.
    #[must_use]
    pub fn entity(mut self, entity: Entity) -> Self {
        self.entity = Some(entity);
        self
    }

    /// Only those for `action`.
    #[must_use]
    pub fn action(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }

    /// Only those sent for the vendor's subscription `id`.
    #[must_use]
    pub(crate) fn subscription(mut self, id: u64) -> Self {
        self.subscription = Some(id);
        self
    }

    /// How many there should be (default: at least one).
    #[must_use]
    pub fn times(mut self, times: impl Into<Times>) -> Self {
        self.times = times.into();
        self
    }

    /// A name to show in the report instead of the generated description.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What it counts, in words.
    pub fn description(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let mut text = match (self.subject, self.status, self.delivered) {
            (Subject::Attempts, Some(status), _) => format!("attempts answered {status}"),
            (Subject::Attempts, None, _) => "attempts".to_owned(),
            (Subject::Deliveries, _, Some(true)) => "deliveries delivered".to_owned(),
            (Subject::Deliveries, _, Some(false)) => "deliveries not delivered".to_owned(),
            (Subject::Deliveries, _, None) => "deliveries".to_owned(),
        };
        let mut filters = Vec::new();
        if let Some(entity) = &self.entity {
            filters.push(format!("entity {entity}"));
        }
        if let Some(action) = &self.action {
            filters.push(format!("action {action}"));
        }
        if let Some(webhook) = self.subscription {
            filters.push(format!("webhook {webhook}"));
        }
        if !filters.is_empty() {
            let _ = write!(text, " ({})", filters.join(", "));
        }
        text
    }

    fn matches(&self, entity: &Entity, action: &Action, subscription: Option<u64>) -> bool {
        self.entity.as_ref().is_none_or(|e| e == entity)
            && self.action.as_ref().is_none_or(|a| a == action)
            && self.subscription.is_none_or(|w| Some(w) == subscription)
    }

    /// How many of what it counts are in `journal`: only what it keeps, so
    /// under a limit dropped attempts and deliveries no longer count.
    pub fn count(&self, journal: &Journal) -> u64 {
        let state = journal.lock();
        let count = match self.subject {
            Subject::Attempts => state
                .attempts
                .iter()
                .filter(|a| self.matches(&a.entity, &a.action, a.subscription))
                .filter(|a| self.status.is_none_or(|s| a.status() == Some(s)))
                .count(),
            Subject::Deliveries => state
                .deliveries
                .iter()
                .filter(|d| self.matches(d.entity(), d.action(), d.subscription))
                .filter(|d| {
                    self.delivered.is_none_or(|want| {
                        want == matches!(d.outcome(), DeliveryOutcome::Delivered { .. })
                    })
                })
                .count(),
        };
        u64::try_from(count).unwrap_or(u64::MAX)
    }
}

/// One expectation that was not met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmetExpectation {
    description: String,
    expected: Times,
    actual: u64,
}

impl UnmetExpectation {
    /// What was counted.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// How many there should have been.
    pub fn expected(&self) -> Times {
        self.expected
    }

    /// How many there were.
    pub fn actual(&self) -> u64 {
        self.actual
    }
}

/// The expectations of a [`MockSender`](super::MockSender) that were not met,
/// with the journal, printed as a readable diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmetExpectations {
    total: usize,
    unmet: Vec<UnmetExpectation>,
    journal: String,
}

impl UnmetExpectations {
    /// The expectations that failed.
    pub fn unmet(&self) -> &[UnmetExpectation] {
        &self.unmet
    }
}

impl fmt::Display for UnmetExpectations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} of {} expectations of the mock sender were not met:",
            self.unmet.len(),
            self.total
        )?;
        for unmet in &self.unmet {
            writeln!(f)?;
            writeln!(f, "  {}", unmet.description)?;
            writeln!(f, "  - expected: {}", unmet.expected)?;
            writeln!(f, "  + actual:   {}", unmet.actual)?;
        }
        writeln!(f)?;
        writeln!(f, "journal:")?;
        f.write_str(&self.journal)
    }
}

impl std::error::Error for UnmetExpectations {}

/// Checks `expectations` against `journal`.
pub(crate) fn check(expectations: &[Expectation], journal: &Journal) -> Option<UnmetExpectations> {
    let unmet: Vec<UnmetExpectation> = expectations
        .iter()
        .filter_map(|e| {
            let actual = e.count(journal);
            (!e.times.contains(actual)).then(|| UnmetExpectation {
                description: e.description(),
                expected: e.times,
                actual,
            })
        })
        .collect();
    (!unmet.is_empty()).then(|| UnmetExpectations {
        total: expectations.len(),
        unmet,
        journal: journal.summary(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_numbers_and_ranges() {
        assert!(Times::from(2).contains(2) && !Times::from(2).contains(3));
        assert!(Times::from(1..=3).contains(3) && !Times::from(1..=3).contains(0));
        assert!(Times::from(1..3).contains(2) && !Times::from(1..3).contains(3));
        assert!(!Times::from(0..0).contains(0));
        assert!(Times::from(2..).contains(200));
        assert!(Times::from(..=1).contains(0) && !Times::from(..=1).contains(2));
        assert_eq!(Times::from(2).to_string(), "exactly 2");
        assert_eq!(Times::from(1..=3).to_string(), "between 1 and 3");
        assert_eq!(Times::from(1..).to_string(), "at least 1");
        assert_eq!(Times::from(..=4).to_string(), "at most 4");
    }

    #[test]
    fn descriptions_name_the_filters() {
        let e = Expectation::answered(401)
            .entity(Entity::Product)
            .action(Action::Add);
        assert_eq!(
            e.description(),
            "attempts answered 401 (entity product, action add)"
        );
        assert_eq!(Expectation::delivered().named("x").description(), "x");
    }

    /// Attempt `n` of its own delivery, answered 200.
    fn attempt(n: u64) -> Attempt {
        Attempt {
            delivery: n,
            number: 1,
            copy: 1,
            subscription: None,
            entity: Entity::Product,
            action: Action::Add,
            sent_at: 0,
            request: SentRequest {
                url: "/".to_owned(),
                target: "/".to_owned(),
                headers: Vec::new(),
                body: Bytes::new(),
                signed_string: Bytes::new(),
            },
            result: Ok(ReceivedResponse::new(200, Vec::new(), Bytes::new(), false)),
            latency: Duration::ZERO,
            faults: Vec::new(),
            delivered: true,
        }
    }

    fn deliveries_of(attempts: &[Attempt]) -> Vec<u64> {
        attempts.iter().map(Attempt::delivery).collect()
    }

    #[test]
    fn recent_drops_the_oldest_beyond_the_limit() {
        let mut recent = Recent::new(Some(2));
        for n in 1..=5 {
            recent.push(n);
        }
        assert_eq!(recent.to_vec(), [4, 5]);
        assert_eq!(
            (recent.len(), recent.total(), recent.last()),
            (2, 5, Some(&5))
        );

        let mut none_kept = Recent::new(Some(0));
        none_kept.push(1);
        assert_eq!((none_kept.len(), none_kept.total()), (0, 1));

        let mut unlimited = Recent::default();
        for n in 1..=5 {
            unlimited.push(n);
        }
        assert_eq!(unlimited.to_vec(), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_limited_journal_keeps_the_most_recent_and_counts_all() {
        let journal = Journal::with_limit(Some(2));
        for n in 1..=5 {
            journal.record_attempt(attempt(n));
        }
        assert_eq!(deliveries_of(&journal.attempts()), [4, 5]);
        assert_eq!(journal.last().map(|a| a.delivery()), Some(5));
        assert_eq!((journal.len(), journal.total_attempts()), (2, 5));
        assert_eq!(journal.limit(), Some(2));
        // Expectations see only what is kept.
        assert_eq!(Expectation::attempts().count(&journal), 2);
        let summary = journal.summary();
        assert!(
            summary.starts_with("  (3 earlier attempts dropped by the limit)\n"),
            "{summary}"
        );
        assert_eq!(summary.lines().count(), 3, "{summary}");
    }

    #[test]
    fn an_unlimited_journal_keeps_everything() {
        let journal = Journal::default();
        for n in 1..=5 {
            journal.record_attempt(attempt(n));
        }
        assert_eq!(deliveries_of(&journal.attempts()), [1, 2, 3, 4, 5]);
        assert_eq!((journal.len(), journal.total_attempts()), (5, 5));
        assert_eq!(journal.limit(), None);
        assert!(!journal.summary().contains("dropped"));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_counts_dropped_attempts_and_returns_the_kept() {
        let journal = Journal::with_limit(Some(2));
        for n in 1..=3 {
            journal.record_attempt(attempt(n));
        }
        // Three made, two kept: waiting for three is already satisfied.
        let kept = journal.wait_for(3, Duration::ZERO).await.unwrap();
        assert_eq!(deliveries_of(&kept), [2, 3]);

        let err = journal
            .wait_for(4, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.seen(), 3);

        let waiter = {
            let journal = journal.clone();
            tokio::spawn(async move { journal.wait_for(4, Duration::from_secs(30)).await })
        };
        tokio::task::yield_now().await;
        journal.record_attempt(attempt(4));
        let kept = waiter.await.unwrap().unwrap();
        assert_eq!(deliveries_of(&kept), [3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_times_out_in_tokio_time() {
        let journal = Journal::default();
        let err = journal
            .wait_for(1, Duration::from_secs(30))
            .await
            .unwrap_err();
        assert_eq!(err.seen(), 0);
        assert_eq!(err.to_string(), "waited 30000 ms for 1 attempts, saw 0");
    }
}
