//! API2Cart delivery semantics: sign each attempt afresh, count only 200,
//! retry once, then log the event as failed; fan-out to subscriptions;
//! lost-connection notices.

use std::fmt;

use bytes::Bytes;
use http::Uri;
use serde_json::json;

use super::failed_log::FailedWebhook;
use super::payload::{Event, trim_fields};
use super::state::Shared;
use super::subscriptions::{Fields, Subscription, WebhookId};
use crate::mock::delivering::send_copies;
use crate::mock::faults::{Fault, faulty_timestamp, sized_body, tampered};
use crate::mock::journal::{
    Attempt, Delivery, DeliveryOutcome, SentRequest, TransportFailure, Vendor,
};
use crate::mock::target::{WireRequest, invalid_request};
use crate::{ErrorNotice, SignedHeaders, Signer, SigningKey, canonical_name, names};

/// Why the vendor could not reach the store, as its lost-connection notices
/// say it: `X-Webhook-Error-Code` (not `0`), `-Error-Reason`, `-Error-Message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostConnection {
    code: String,
    reason: String,
    message: String,
}

impl LostConnection {
    /// A notice with error `code` (not `"0"`, which would make it an
    /// ordinary event), `reason` and free-text `message`.
    pub fn new(
        code: impl Into<String>,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// Where a delivery goes.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub(crate) callback: String,
    pub(crate) webhook_id: Option<WebhookId>,
    pub(crate) fields: Fields,
}

impl Route {
    /// The route of [`MockSender::send`](super::MockSender::send).
    pub(crate) fn default_of(shared: &Shared) -> Self {
        Self {
            // Empty without a default: every attempt then fails as refused.
            callback: shared.registry.callback.clone().unwrap_or_default(),
            webhook_id: None,
            fields: Fields::All,
        }
    }

    fn of(subscription: &Subscription) -> Self {
        Self {
            callback: subscription.callback().to_owned(),
            webhook_id: Some(subscription.id()),
            fields: subscription.fields().clone(),
        }
    }
}

/// Vendor semantics, or the conformance runner's single shot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Retries and the failed log.
    Vendor,
    /// One attempt (per copy), nothing logged as failed.
    Once,
}

pub(crate) async fn fan_out(shared: &Shared, event: &Event) -> Vec<Delivery> {
    let store_id = event
        .store_id
        .as_deref()
        .unwrap_or(&shared.registry.store_id);
    let subscriptions = shared
        .registry
        .store()
        .matching(&event.entity, &event.action, store_id);
    let mut deliveries = Vec::with_capacity(subscriptions.len());
    for subscription in &subscriptions {
        deliveries.push(deliver(shared, event, Route::of(subscription), Mode::Vendor).await);
    }
    deliveries
}

pub(crate) async fn store_unreachable(shared: &Shared, lost: &LostConnection) -> Vec<Delivery> {
    let (subscriptions, try_count) = {
        let mut store = shared.registry.store();
        store.store_failures = store.store_failures.saturating_add(1);
        (store.active(), store.store_failures)
    };
    let mut deliveries = Vec::with_capacity(subscriptions.len());
    for subscription in &subscriptions {
        let notice = ErrorNotice {
            code: lost.code.clone(),
            reason: Some(lost.reason.clone()),
            message: Some(lost.message.clone()),
            try_count: Some(try_count),
        };
        let event = Event::error_notice(
            subscription.entity().clone(),
            subscription.action().clone(),
            notice,
        )
        .store_id(subscription.store_id());
        deliveries.push(deliver(shared, &event, Route::of(subscription), Mode::Vendor).await);
    }
    if try_count >= shared.profile.store_failures_before_disable() {
        let now = shared.registry.clock.now();
        shared.registry.store().deactivate_all(now);
    }
    deliveries
}

/// Delivers `event` along `route`.
pub(crate) async fn deliver(shared: &Shared, event: &Event, route: Route, mode: Mode) -> Delivery {
    let id = shared.engine.next_delivery();
    let body = match &route.fields {
        Fields::All => event.body.clone(),
        Fields::Only(fields) => {
            trim_fields(&event.body, fields).unwrap_or_else(|| event.body.clone())
        }
    };
    let max_attempts = match mode {
        Mode::Vendor => shared.profile.max_attempts(),
        Mode::Once => 1,
    };
    let mut attempts = Vec::new();
    let mut outcome = DeliveryOutcome::Failed;
    for number in 1..=max_attempts {
        if number > 1 && !shared.retry_delay.is_zero() {
            tokio::time::sleep(shared.retry_delay).await;
        }
        let now = shared.registry.clock.now();
        let context = AttemptContext {
            shared,
            event,
            route: &route,
            delivery: id,
            number,
            sent_at: now,
        };
        let prepared = prepare(shared, event, &body, &route.callback, now);
        let made = send_copies(&event.faults, |copy| context.send(&prepared, copy)).await;
        let delivered = made.iter().any(Attempt::is_delivered);
        attempts.extend(made);
        if delivered {
            outcome = DeliveryOutcome::Delivered { attempt: number };
            break;
        }
    }
    if outcome == DeliveryOutcome::Failed && mode == Mode::Vendor {
        shared.failed_log().push(FailedWebhook::new(
            route.webhook_id,
            event.resolved_entity_id(),
            shared.registry.clock.now(),
            event.entity.clone(),
            event.action.clone(),
            route.callback.clone(),
        ));
    }
    let delivery = Delivery {
        id,
        vendor: Vendor::Api2Cart,
        endpoint: route.webhook_id.map(|w| w.get().to_string()),
        event: event_name(event),
        callback: route.callback,
        attempts,
        outcome,
    };
    shared.engine.journal.record_delivery(delivery.clone());
    delivery
}

/// What every copy of one attempt shares.
struct AttemptContext<'a> {
    shared: &'a Shared,
    event: &'a Event,
    route: &'a Route,
    delivery: u64,
    number: u32,
    sent_at: i64,
}

impl AttemptContext<'_> {
    /// Sends one copy of the prepared request and records the attempt.
    async fn send(&self, prepared: &Result<Prepared, Box<Refused>>, copy: u32) -> Attempt {
        let (request, result, latency) = match prepared {
            Ok(prepared) => {
                self.shared
                    .engine
                    .exchange(
                        &prepared.uri,
                        &self.route.callback,
                        &prepared.wire,
                        prepared.signed_string.clone(),
                        prepared.lowercase,
                    )
                    .await
            }
            Err(refused) => (
                refused.request.clone(),
                Err(refused.failure.clone()),
                Default::default(),
            ),
        };
        let delivered = result
            .as_ref()
            .is_ok_and(|r| self.shared.profile.is_success(r.status()));
        let webhook_id = self.route.webhook_id.map(WebhookId::get);
        let mut details = serde_json::Map::new();
        details.insert("webhook_id".to_owned(), json!(webhook_id));
        details.insert("entity".to_owned(), json!(self.event.entity.as_str()));
        details.insert("action".to_owned(), json!(self.event.action.as_str()));
        let attempt = Attempt {
            id: 0,
            vendor: Vendor::Api2Cart,
            delivery: self.delivery,
            number: self.number,
            copy,
            endpoint: webhook_id.map(|w| w.to_string()),
            event: event_name(self.event),
            sent_at: self.sent_at,
            request,
            result,
            latency,
            faults: self.event.faults.clone(),
            delivered,
            details,
        };
        self.shared.engine.record(attempt)
    }
}

/// The journal's name of an API2Cart event: `entity.action`, as the
/// vendor's `webhook.events` lists them.
fn event_name(event: &Event) -> String {
    format!("{}.{}", event.entity, event.action)
}

/// One attempt, signed and spoiled as its faults say.
#[derive(Debug)]
struct Prepared {
    uri: Uri,
    wire: WireRequest,
    signed_string: Bytes,
    lowercase: bool,
}

/// An attempt that could not be prepared: recorded as failed, nothing sent.
#[derive(Debug)]
struct Refused {
    request: SentRequest,
    failure: TransportFailure,
}

/// A key no store has, for [`Fault::WrongKey`].
const WRONG_KEY: &str = "webhook-guard mock: not the store key";

/// Builds the request of one attempt at `now`: the vendor's headers, signed
/// with the store key over the header JSON and `body`, then spoiled by the
/// event's faults.
fn prepare(
    shared: &Shared,
    event: &Event,
    body: &Bytes,
    callback: &str,
    now: i64,
) -> Result<Prepared, Box<Refused>> {
    let refuse = |failure: TransportFailure| {
        Box::new(Refused {
            request: SentRequest::unsent(callback, body.clone()),
            failure,
        })
    };
    let uri = shared
        .registry
        .check_callback(callback)
        .map_err(|e| refuse(invalid_request(e.to_string())))?;
    let faults = &event.faults;
    let lowercase = faults.contains(&Fault::LowercaseNames);

    let mut body = sized_body(body, faults);

    // The vendor's headers, in the order of its documentation.
    let mut headers: Vec<(String, String)> = Vec::with_capacity(12 + event.headers.len());
    if let Some(authority) = uri.authority() {
        headers.push(("Host".to_owned(), authority.as_str().to_owned()));
    }
    headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    let first_vendor = headers.len();
    let store_id = event
        .store_id
        .as_deref()
        .unwrap_or(&shared.registry.store_id);
    headers.push((names::STORE_ID.to_owned(), store_id.to_owned()));
    headers.push((names::ACTION.to_owned(), event.action.as_str().to_owned()));
    headers.push((names::ENTITY.to_owned(), event.entity.as_str().to_owned()));
    let code = event.notice.as_ref().map_or("0", |n| n.code.as_str());
    headers.push((names::ERROR_CODE.to_owned(), code.to_owned()));
    if let Some(notice) = &event.notice {
        if let Some(reason) = &notice.reason {
            headers.push((names::ERROR_REASON.to_owned(), reason.clone()));
        }
        if let Some(message) = &notice.message {
            headers.push((names::ERROR_MESSAGE.to_owned(), message.clone()));
        }
        if let Some(count) = notice.try_count {
            headers.push((names::ERROR_TRY_COUNT.to_owned(), count.to_string()));
        }
    }
    if shared.timestamps {
        headers.push((
            names::TIMESTAMP.to_owned(),
            faulty_timestamp(now, faults).to_string(),
        ));
    }
    for (name, value) in &event.headers {
        if canonical_name(name).as_deref() == Some(names::SIGNATURE) {
            return Err(refuse(invalid_request(
                "X-Webhook-Signature is computed by the mock; use a Fault to spoil it".to_owned(),
            )));
        }
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            return Err(refuse(invalid_request(format!(
                "{name} is set by the mock from the body"
            ))));
        }
        match headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, existing)) => existing.clone_from(value),
            None => headers.push((name.clone(), value.clone())),
        }
    }

    let key = if faults.contains(&Fault::WrongKey) {
        SigningKey::new("wrong key", WRONG_KEY)
    } else {
        shared.key()
    };
    let (signature, signed_string) = sign(&headers, key, &body).map_err(refuse)?;

    // Faults applied after signing.
    let mut signatures = vec![signature.clone()];
    for fault in faults {
        match fault {
            Fault::TamperedBody => body = tampered(&body),
            Fault::ChangedSignedHeader => {
                if let Some((_, value)) = headers.iter_mut().find(|(n, _)| n == names::STORE_ID) {
                    value.push('0');
                }
            }
            Fault::MissingSignature => signatures.clear(),
            Fault::GarbledSignature => {
                signatures = vec!["@".repeat(crate::signature::ENCODED_LEN)];
            }
            Fault::DuplicatedSignature => signatures = vec![signature.clone(), signature.clone()],
            _ => {}
        }
    }
    headers.extend(
        signatures
            .into_iter()
            .map(|s| (names::SIGNATURE.to_owned(), s)),
    );
    if faults.contains(&Fault::ReorderedHeaders) {
        headers[first_vendor..].reverse();
    }
    let slow = Fault::slow_body(faults);
    let wire = WireRequest::new(&uri, headers, body, slow, lowercase);
    Ok(Prepared {
        uri,
        wire,
        signed_string,
        lowercase,
    })
}

/// Signs the `X-Webhook-*` part of `headers` and `body` with `key`, as the
/// recipe says: the signature, and the signed string (header JSON, then
/// body). Headers that cannot be encoded are a request the mock refuses to
/// build.
pub(crate) fn sign(
    headers: &[(String, String)],
    key: SigningKey,
    body: &[u8],
) -> Result<(String, Bytes), TransportFailure> {
    let signed = SignedHeaders::from_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .map_err(|e| {
        invalid_request(format!(
            "the X-Webhook-* headers cannot be signed: {}",
            e.detail()
        ))
    })?;
    let header_json = signed.to_json();
    let signature = Signer::from_key(key).sign_raw(&header_json, body);
    let mut signed_string = header_json;
    signed_string.extend_from_slice(body);
    Ok((signature, Bytes::from(signed_string)))
}

impl fmt::Display for DeliveryOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Delivered { attempt } => write!(f, "delivered on attempt {attempt}"),
            Self::Failed => f.write_str("not delivered"),
        }
    }
}
