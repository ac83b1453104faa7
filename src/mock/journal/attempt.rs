//! One attempt as the journal keeps it, whatever the vendor: the exact
//! request, the answer or why there was none, and how the vendor judged it;
//! and API2Cart's deliveries (an event's attempts to one callback).

use std::fmt::{self, Write as _};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::mock::faults::Fault;
use crate::names;

/// Whose rules an attempt followed: which emulated vendor sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Vendor {
    /// API2Cart ([`MockSender`](crate::mock::MockSender)).
    Api2Cart,
    /// AmeriCommerce ([`AmeriCommerceSender`](crate::mock::americommerce::AmeriCommerceSender)).
    AmeriCommerce,
    /// UP42 ([`WorkspaceSender`](crate::mock::WorkspaceSender)).
    Up42,
    /// A Standard Webhooks platform ([`StandardSender`](crate::mock::StandardSender)).
    StandardWebhooks,
}

impl Vendor {
    /// Every vendor, in the order of this list.
    pub const ALL: [Self; 4] = [
        Self::Api2Cart,
        Self::AmeriCommerce,
        Self::Up42,
        Self::StandardWebhooks,
    ];

    /// Its short name: `api2cart`, `americommerce`, `up42`, `standard`
    /// (the prefixes of `webhook-guard serve`'s paths and log lines).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api2Cart => "api2cart",
            Self::AmeriCommerce => "americommerce",
            Self::Up42 => "up42",
            Self::StandardWebhooks => "standard",
        }
    }

    /// True when this vendor counts an answer with `status` as delivered:
    /// API2Cart only 200 (201 and 204 do not count); AmeriCommerce, UP42 and
    /// Standard Webhooks any 2xx. The one statement of the rule, for the
    /// vendors' senders and for a replay judged like its original.
    pub fn counts_as_delivered(self, status: u16) -> bool {
        match self {
            Self::Api2Cart => status == 200,
            Self::AmeriCommerce | Self::Up42 | Self::StandardWebhooks => {
                (200..300).contains(&status)
            }
        }
    }

    /// The vendor whose short name is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
        self.head_with_target(&self.target)
    }

    /// [`head`](Self::head) with `target` on the request line instead of the
    /// one sent (e.g. with a URL token in its query hidden).
    pub fn head_with_target(&self, target: &str) -> String {
        let mut head = format!("POST {target} HTTP/1.1\r\n");
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
    /// Numbered from 1 per journal when recorded; 0 before.
    pub(crate) id: u64,
    pub(crate) vendor: Vendor,
    pub(crate) delivery: u64,
    pub(crate) number: u32,
    pub(crate) copy: u32,
    /// The vendor's id of the subscription, webhook or endpoint it was sent for.
    pub(crate) endpoint: Option<String>,
    /// The event as the vendor names it (`product.add`, `order.status`,
    /// `GetTax`, `invoice.paid`).
    pub(crate) event: String,
    pub(crate) sent_at: i64,
    pub(crate) request: SentRequest,
    pub(crate) result: Result<ReceivedResponse, TransportFailure>,
    pub(crate) latency: Duration,
    pub(crate) faults: Vec<Fault>,
    pub(crate) delivered: bool,
    /// What only this vendor records (AmeriCommerce's fallback and deadline,
    /// API2Cart's entity and action), as JSON fields.
    pub(crate) details: Map<String, Value>,
}

impl Attempt {
    /// Its number in the journal, from 1: unique among the attempts of every
    /// sender recording into that journal.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The vendor that sent it.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The delivery this attempt belongs to (numbered from 1 per sender):
    /// attempts of one vendor with the same delivery number are one event's
    /// retry chain.
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

    /// The event as the vendor names it: `product.add` (API2Cart's entity and
    /// action), `order.status` (UP42), `GetTax` (AmeriCommerce), the
    /// message's `eventType` (Standard Webhooks).
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The vendor's id of the subscription, webhook or endpoint it was sent
    /// for, when it was sent for one.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The vendor's own fields of this attempt (also in [`to_json`](Self::to_json)).
    pub fn details(&self) -> &Map<String, Value> {
        &self.details
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
        let mut out = json!({
            "id": self.id,
            "vendor": self.vendor.as_str(),
            "delivery": self.delivery,
            "attempt": self.number,
            "copy": self.copy,
            "event": self.event,
            "endpoint": self.endpoint,
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
        });
        if let Value::Object(fields) = &mut out {
            for (name, value) in &self.details {
                fields.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
        out
    }

    /// One line for reports: `delivery 2, attempt 1: product/add -> 401 in 3 ms`
    /// (the event's first dot written as a slash, as since the first release).
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
            "delivery {}, attempt {}{copy}: {} -> {answer} in {} ms",
            self.delivery,
            self.number,
            self.event.replacen('.', "/", 1),
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
    pub(crate) vendor: Vendor,
    /// The vendor's id of the subscription it was sent for.
    pub(crate) endpoint: Option<String>,
    pub(crate) event: String,
    pub(crate) callback: String,
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) outcome: DeliveryOutcome,
}

impl Delivery {
    /// Numbered from 1 per sender.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The vendor that sent it.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The event as the vendor names it (see [`Attempt::event`]).
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The vendor's id of the subscription it was sent for, if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
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
        let mut out = json!({
            "vendor": self.vendor.as_str(),
            "delivery": self.id,
            "event": self.event,
            "endpoint": self.endpoint,
            "callback": self.callback,
            "delivered": delivered,
            "delivered_on_attempt": attempt,
            "latency_ms": duration_ms(self.attempts.iter().map(Attempt::latency).sum()),
            "attempts": self.attempts.iter().map(Attempt::to_json).collect::<Vec<_>>(),
        });
        // The vendor's own fields, from its first attempt (API2Cart's
        // `webhook_id`, `entity`, `action`).
        if let (Value::Object(fields), Some(first)) = (&mut out, self.attempts.first()) {
            for (name, value) in &first.details {
                fields.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
        out
    }
}
