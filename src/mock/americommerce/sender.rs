//! [`AmeriCommerceSender`] and its builder: one emulated AmeriCommerce store
//! per test, its subscriptions and what it sent.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::auth::{ApiToken, Unauthorized};
use super::dispatch::{self, Dispatch, Exchange, Shared, State};
use super::webhooks::{NewWebhook, UrlRule, Webhook, WebhookError, WebhookId, WebhookUpdate};
use crate::americommerce::EventType;
use crate::mock::delivering::{Delivering, delivering_setters};
use crate::mock::journal::{Expectations, Journal, Vendor, expectation_methods};
use crate::mock::target::Transport;

/// Configures an [`AmeriCommerceSender`]; made by [`AmeriCommerceSender::builder`].
pub struct AmeriCommerceSenderBuilder {
    /// Clock, transport, attempt timeout, journal limit.
    delivering: Delivering<Transport>,
    api_token: ApiToken,
    store_id: String,
}

impl fmt::Debug for AmeriCommerceSenderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmeriCommerceSenderBuilder")
            .field("api_token", &self.api_token)
            .field("store_id", &self.store_id)
            .field("clock", &self.delivering.clock)
            .field("transport", &self.delivering.transport)
            .field("timeout", &self.delivering.timeout)
            .field("journal_limit", &self.delivering.journal_limit)
            .finish()
    }
}

impl AmeriCommerceSenderBuilder {
    delivering_setters! {
        /// Where "now" comes from for the reply cache (default: the system
        /// clock): with a [`ManualClock`](crate::ManualClock), 30 minutes of
        /// cache pass with `clock.advance(1800)`.
        fn clock;
        /// Delivers over real HTTP/1.1 (the default): subscription URLs must be
        /// absolute `http://` URLs; each attempt opens its own connection.
        fn http;
        /// Delivers straight into `service` (an axum `Router`, a tower stack),
        /// without a socket: every subscription URL (any absolute URL) goes to
        /// it, with its path and `Host`.
        fn service;
        /// How long an event that expects no reply may take before it counts as
        /// failed (default 10 s, tokio's clock). Events that expect a reply
        /// always get the vendor's [`REPLY_DEADLINE`](crate::americommerce::REPLY_DEADLINE).
        fn attempt_timeout;
        /// Keeps only the `limit` most recent requests in the journal and
        /// [`exchanges`](AmeriCommerceSender::exchanges), dropping the oldest
        /// (default: keeps everything);
        /// [`total_exchanges`](AmeriCommerceSender::total_exchanges) still counts
        /// them all. Each [`Dispatch`] keeps its own exchanges regardless.
        /// Meant for long-running use such as `webhook-guard serve`, whose memory
        /// would otherwise grow with every event played.
        fn journal_limit;
    }

    /// The store id of subscriptions created without one (default `"1"`).
    #[must_use]
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = store_id.into();
        self
    }

    /// The sender.
    pub fn build(self) -> AmeriCommerceSender {
        let rule = match self.delivering.transport {
            Transport::Http => UrlRule::Http,
            Transport::Service(_) => UrlRule::InProcess,
        };
        let (engine, expectations) = self.delivering.build(Vendor::AmeriCommerce);
        AmeriCommerceSender {
            shared: Arc::new(Shared {
                api_token: self.api_token,
                store_id: self.store_id,
                engine,
                rule,
                sent: AtomicUsize::new(0),
                state: Mutex::new(State::default()),
            }),
            expectations,
        }
    }
}

/// AmeriCommerce's side of webhooks, emulated for a receiver's tests: a store
/// with webhook subscriptions that, when an event is played, POSTs it to each
/// matching subscription as the vendor does (see the [module docs](super)).
///
/// Deliveries are unsigned, as the vendor's: they go to the subscription's
/// URL exactly as registered, so a receiver authenticates them with a token
/// in that URL ([`UrlToken`](crate::americommerce::UrlToken)). It is
/// `Send + Sync`; its methods take `&self`.
pub struct AmeriCommerceSender {
    shared: Arc<Shared>,
    /// Held by the sender only, so they are checked when it is dropped.
    expectations: Arc<Expectations>,
}

impl fmt::Debug for AmeriCommerceSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &*self.shared;
        f.debug_struct("AmeriCommerceSender")
            .field("api_token", &shared.api_token)
            .field("store_id", &shared.store_id)
            .field("transport", &shared.engine.transport)
            .field("clock", &shared.engine.clock)
            .field("timeout", &shared.engine.timeout)
            .field("journal", &shared.engine.journal)
            .finish_non_exhaustive()
    }
}

impl AmeriCommerceSender {
    /// Starts configuring a store whose REST API takes the access token
    /// `api_token` ([`authenticate`](Self::authenticate)). Deliveries do not
    /// use it: the vendor signs nothing.
    pub fn builder(api_token: impl AsRef<[u8]>) -> AmeriCommerceSenderBuilder {
        AmeriCommerceSenderBuilder {
            api_token: ApiToken::new(api_token),
            store_id: "1".to_owned(),
            delivering: Delivering::new(Transport::Http, Duration::from_secs(10)),
        }
    }

    /// Checks a request to the REST API (`/api/v1/webhooks` and the rest):
    /// `values` are those of its [`AUTH_TOKEN_HEADER`](super::AUTH_TOKEN_HEADER)
    /// headers, and exactly one, equal to the API token (compared in
    /// constant time), passes. A refusal is answered 401 with
    /// [`Unauthorized::to_json`].
    ///
    /// The methods below are the API's operations for Rust callers and do
    /// not ask for the token; a front end that serves them over HTTP (such
    /// as `webhook-guard serve`) calls this first.
    pub fn authenticate<'a>(
        &self,
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), Unauthorized> {
        self.shared.api_token.check(values)
    }

    /// `POST /api/v1/webhooks`: a new subscription, checked against the
    /// vendor's rules.
    pub fn create_webhook(&self, new: NewWebhook) -> Result<Webhook, WebhookError> {
        let shared = &self.shared;
        shared
            .state()
            .webhooks
            .create(new, &shared.store_id, shared.rule)
    }

    /// `GET /api/v1/webhooks/{id}`.
    pub fn webhook(&self, id: WebhookId) -> Result<Webhook, WebhookError> {
        self.shared.state().webhooks.get(id)
    }

    /// `GET /api/v1/webhooks`: every subscription, in id order.
    pub fn webhooks(&self) -> Vec<Webhook> {
        self.shared.state().webhooks.list()
    }

    /// `PUT /api/v1/webhooks/{id}`: changes the fields `update` sets; its
    /// cached replies are forgotten.
    pub fn update_webhook(
        &self,
        id: WebhookId,
        update: WebhookUpdate,
    ) -> Result<Webhook, WebhookError> {
        let mut state = self.shared.state();
        let webhook = state.webhooks.update(id, update, self.shared.rule)?;
        state.cache.forget(id);
        Ok(webhook)
    }

    /// `DELETE /api/v1/webhooks/{id}`: returns what was deleted.
    pub fn delete_webhook(&self, id: WebhookId) -> Result<Webhook, WebhookError> {
        let mut state = self.shared.state();
        let webhook = state.webhooks.delete(id)?;
        state.cache.forget(id);
        Ok(webhook)
    }

    /// An event of `event_type` happens on store `store_id` with `data` (the
    /// JSON body): dispatched to every matching subscription in id order,
    /// with the vendor's deadline, failure types, fallback and reply cache.
    pub async fn play(&self, event_type: EventType, store_id: &str, data: &Value) -> Dispatch {
        let body = Bytes::from(data.to_string());
        dispatch::play(&self.shared, event_type, store_id, body).await
    }

    /// [`play`](Self::play) with a typed body, such as a
    /// [`GetTaxRequest`](crate::americommerce::payload::GetTaxRequest):
    /// serialized as the receiver's types read it, fields in declaration
    /// order. `Err` only when `payload` cannot be written as JSON (a map
    /// with keys that are not strings); nothing is sent then.
    pub async fn play_payload<T: Serialize + ?Sized>(
        &self,
        event_type: EventType,
        store_id: &str,
        payload: &T,
    ) -> Result<Dispatch, serde_json::Error> {
        let body = Bytes::from(serde_json::to_vec(payload)?);
        Ok(dispatch::play(&self.shared, event_type, store_id, body).await)
    }

    /// Every request sent so far (fallbacks included; cache hits send
    /// nothing), in the order they finished, as AmeriCommerce's exchanges:
    /// this vendor's attempts in the [`journal`](Self::journal) (under a
    /// [`journal_limit`](AmeriCommerceSenderBuilder::journal_limit), only the
    /// most recent ones).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared
            .engine
            .journal
            .attempts()
            .iter()
            .filter_map(Exchange::from_attempt)
            .collect()
    }

    /// How many requests were sent so far, those dropped by the limit included.
    pub fn total_exchanges(&self) -> usize {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Every request sent so far, as journal attempts: each subscription's
    /// part of a played event is one delivery, attempt 1 to its URL and
    /// attempt 2 to its fallback URL.
    pub fn journal(&self) -> Journal {
        self.shared.engine.journal.clone()
    }

    expectation_methods!(expectations);

    /// Sends `body` once to `url` for `webhook`, bypassing the reply cache
    /// and the fallback (the conformance runner's sends).
    pub(super) async fn send_once(
        &self,
        webhook: &Webhook,
        url: &str,
        body: &Bytes,
        slow: Option<(usize, Duration)>,
    ) -> Exchange {
        dispatch::send_once(&self.shared, webhook, url, body, slow).await
    }

    /// The store id of subscriptions created without one.
    pub fn store_id(&self) -> &str {
        &self.shared.store_id
    }

    /// The sender's "now", in Unix seconds.
    pub fn now(&self) -> i64 {
        self.shared.engine.now()
    }
}
