//! [`MockSender`] and its builder: one emulated vendor account per test.

use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::delivery::{self, LostConnection, Mode, Route};
use super::failed_log::{FailedLog, FailedQuery, FailedWebhooks};
use super::payload::Event;
use super::policy::Profile;
use super::state::Shared;
use super::subscriptions::{ApiError, Registry, Store, Subscriptions, SupportedEvent};
use crate::mock::delivering::{Delivering, delivering_setters};
use crate::mock::journal::{self, Delivery, Expectations, Journal, Vendor};
use crate::mock::target::{CallbackRule, Transport};
use crate::{Clock, SigningKey};

/// Why [`MockSenderBuilder::build`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Neither [`url`](MockSenderBuilder::url) nor
    /// [`service`](MockSenderBuilder::service) was given.
    NoTarget,
    /// The callback is not one the target can deliver to.
    InvalidCallback {
        /// The callback given.
        callback: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTarget => f.write_str(
                "the mock sender needs a target: MockSenderBuilder::url or MockSenderBuilder::service",
            ),
            Self::InvalidCallback { callback, reason } => {
                write!(f, "callback {callback:?}: {reason}")
            }
        }
    }
}

impl StdError for BuildError {}

/// Configures a [`MockSender`]; made by [`MockSender::builder`].
pub struct MockSenderBuilder {
    /// Clock, transport, attempt timeout, journal limit.
    delivering: Delivering<Option<Transport>>,
    key: SigningKey,
    store_id: String,
    profile: Profile,
    callback: Option<String>,
    retry_delay: Duration,
    timestamps: bool,
    supported_events: Vec<SupportedEvent>,
}

impl fmt::Debug for MockSenderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSenderBuilder")
            .field("key", &self.key)
            .field("store_id", &self.store_id)
            .field("profile", &self.profile)
            .field("clock", &self.delivering.clock)
            .field("transport", &self.delivering.transport)
            .field("callback", &self.callback)
            .field("journal_limit", &self.delivering.journal_limit)
            .finish_non_exhaustive()
    }
}

impl MockSenderBuilder {
    /// Delivers over real HTTP/1.1 to `url` (an absolute `http://` URL), which
    /// is also the callback of [`MockSender::send`] and the default callback
    /// of new subscriptions. Each attempt opens its own connection and writes
    /// the header names in the vendor's case (`X-Webhook-Store-Id`).
    #[must_use]
    pub fn url(self, url: impl Into<String>) -> Self {
        self.http().callback(url)
    }

    delivering_setters! {
        /// Where "now" comes from for timestamps, the failed log's 24 hours and
        /// subscription dates (default: the system clock).
        ///
        /// Give the same [`ManualClock`](crate::ManualClock) (a clone) to the
        /// receiver's [`Verifier`](crate::Verifier): both then see the same
        /// virtual time, tolerance edges are exact, and a day passes with
        /// `clock.advance(86_400)`.
        fn clock;
        /// Delivers over real HTTP/1.1 like [`url`](Self::url), but to each
        /// subscription's own callback, with no default unless
        /// [`callback`](Self::callback) gives one: a stand-in for the vendor
        /// serving many receivers. Without a default, `webhook.create` refuses a
        /// subscription with no callback, and every attempt of
        /// [`MockSender::send`] fails (nothing is sent).
        fn http;
        /// Delivers straight into `service` (an axum `Router`, a tower stack),
        /// without a socket. Requests go to the [`callback`](Self::callback)
        /// (default `/`) and carry a `Host` header when it is an absolute URL.
        fn service;
        /// How long an attempt may take before it counts as failed (default 10 s,
        /// in tokio's clock).
        ///
        /// Over HTTP under `tokio::time::pause`, tokio jumps the clock ahead while
        /// the runtime waits on the socket, so the timeout fires at once: pause
        /// time only with [`service`](Self::service) targets.
        fn attempt_timeout;
        /// Keeps only the `limit` most recent attempts, and the `limit` most
        /// recent finished deliveries, in the [`journal`](MockSender::journal),
        /// dropping the oldest (default: keeps everything).
        ///
        /// [`Journal::wait_for`] and [`Journal::wait_for_deliveries`] still count
        /// everything (and return what is kept), and [`Journal::total_attempts`]
        /// says how many there were; expectations and everything else the
        /// journal returns see only what is kept. So it is meant for
        /// long-running use such as `webhook-guard serve`, whose memory would
        /// otherwise grow with every delivery, not for tests with expectations.
        fn journal_limit;
    }

    /// Where [`MockSender::send`] delivers, and the default callback of new
    /// subscriptions: an absolute `http://` URL over HTTP; a path (or any
    /// absolute URL) into a service.
    #[must_use]
    pub fn callback(mut self, callback: impl Into<String>) -> Self {
        self.callback = Some(callback.into());
        self
    }

    /// `X-Webhook-Store-Id` of the events (default `"1"`, as on single-store carts).
    #[must_use]
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = store_id.into();
        self
    }

    /// Whose rules to follow (default [`Profile::Api2Cart`]).
    #[must_use]
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// The pause before the retry (default none; tokio's clock).
    #[must_use]
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Whether events carry `X-Webhook-Timestamp` (default yes).
    #[must_use]
    pub fn timestamps(mut self, send: bool) -> Self {
        self.timestamps = send;
        self
    }

    /// The events subscriptions can be created for (`webhook.events`;
    /// default [`SupportedEvent::defaults`]), to emulate a cart that
    /// supports fewer.
    #[must_use]
    pub fn supported_events(mut self, events: impl IntoIterator<Item = SupportedEvent>) -> Self {
        self.supported_events = events.into_iter().collect();
        self
    }

    /// The sender.
    pub fn build(mut self) -> Result<MockSender, BuildError> {
        let Some(transport) = self.delivering.transport.take() else {
            return Err(BuildError::NoTarget);
        };
        let rule = match transport {
            Transport::Http => CallbackRule::AbsoluteHttp,
            Transport::Service(_) => CallbackRule::AnyOrPath,
        };
        // In process the root path is a fine default; over HTTP there is none.
        let callback = match (self.callback, rule) {
            (Some(callback), _) => Some(callback),
            (None, CallbackRule::AnyOrPath) => Some("/".to_owned()),
            (None, CallbackRule::AbsoluteHttp) => None,
        };
        if let Some(callback) = &callback {
            rule.parse(callback)
                .map_err(|reason| BuildError::InvalidCallback {
                    callback: callback.clone(),
                    reason,
                })?;
        }
        let retention =
            i64::try_from(self.profile.failed_retention().as_secs()).unwrap_or(i64::MAX);
        let (engine, expectations) = self
            .delivering
            .with_transport(transport)
            .build(Vendor::Api2Cart);
        let engine_clock = Arc::clone(&engine.clock);
        Ok(MockSender {
            shared: Arc::new(Shared {
                profile: self.profile,
                key: RwLock::new(self.key),
                engine,
                retry_delay: self.retry_delay,
                timestamps: self.timestamps,
                registry: Registry {
                    store_id: self.store_id,
                    clock: engine_clock,
                    rule,
                    callback,
                    supported_events: self.supported_events,
                    store: Mutex::new(Store::default()),
                },
                failed: Mutex::new(FailedLog::new(retention)),
            }),
            expectations,
        })
    }
}

/// The vendor's side of webhooks, emulated for a receiver's tests: it signs
/// with the crate's own canonical encoder and delivers as the vendor
/// delivers, over real HTTP/1.1 or straight into a tower service.
///
/// One per test, like wiremock's `MockServer`. It is `Send + Sync`; its
/// methods take `&self`, so deliveries can run concurrently. Expectations
/// set with [`expect`](Self::expect) are checked when it is dropped, with a
/// panic that shows what was expected, what happened and the journal
/// (unless the thread is already panicking).
///
/// See the [module docs](crate::mock) for an example.
pub struct MockSender {
    shared: Arc<Shared>,
    /// Held by the sender only, so they are checked when it is dropped.
    expectations: Arc<Expectations>,
}

impl fmt::Debug for MockSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &*self.shared;
        f.debug_struct("MockSender")
            .field("profile", &shared.profile)
            .field("key", &shared.key())
            .field("store_id", &shared.registry.store_id)
            .field("transport", &shared.engine.transport)
            .field("callback", &shared.registry.callback)
            .field("clock", &shared.registry.clock)
            .field("journal", &shared.engine.journal)
            .finish_non_exhaustive()
    }
}

impl MockSender {
    /// Starts configuring a sender that signs with the store key `store_key`.
    pub fn builder(store_key: impl AsRef<[u8]>) -> MockSenderBuilder {
        MockSenderBuilder {
            key: SigningKey::new("store key", store_key),
            store_id: "1".to_owned(),
            profile: Profile::default(),
            delivering: Delivering::new(None, Duration::from_secs(10)),
            callback: None,
            retry_delay: Duration::ZERO,
            timestamps: true,
            supported_events: SupportedEvent::defaults(),
        }
    }

    /// Delivers `event` to the sender's callback, as the vendor delivers:
    /// a fresh timestamp and signature per attempt, success only on 200, one
    /// retry, then the failed log. No subscription is needed.
    pub async fn send(&self, event: Event) -> Delivery {
        delivery::deliver(
            &self.shared,
            &event,
            Route::default_of(&self.shared),
            Mode::Vendor,
        )
        .await
    }

    /// A store event: delivered to every active subscription for its entity,
    /// action and store id (in id order), each with its own callback and
    /// fields. Returns the deliveries; none when nothing is subscribed.
    pub async fn emit(&self, event: Event) -> Vec<Delivery> {
        delivery::fan_out(&self.shared, &event).await
    }

    /// [`emit`](Self::emit) in a tokio task, as the vendor delivers: in the
    /// background. Wait with [`Journal::wait_for`] or await the handle.
    pub fn emit_in_background(&self, event: Event) -> tokio::task::JoinHandle<Vec<Delivery>> {
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move { delivery::fan_out(&shared, &event).await })
    }

    /// One failed try of the vendor to reach the store: every active
    /// subscription gets a lost-connection notice (non-zero
    /// `X-Webhook-Error-Code`, `-Error-Reason`, `-Error-Message`,
    /// `-Error-Try-Count`, empty body). At the fifth try in a row
    /// ([`Profile::store_failures_before_disable`]) every subscription is
    /// disabled after its notice.
    pub async fn store_unreachable(&self, lost: LostConnection) -> Vec<Delivery> {
        delivery::store_unreachable(&self.shared, &lost).await
    }

    /// The store answers again: the count of failed tries starts over.
    /// Disabled subscriptions stay disabled until updated with `active`.
    pub fn store_reachable(&self) {
        self.shared.registry.store().store_failures = 0;
    }

    /// The subscription API (`webhook.create`, `list`, `count`, `update`,
    /// `delete`, `events`).
    pub fn subscriptions(&self) -> Subscriptions<'_> {
        Subscriptions::new(&self.shared.registry)
    }

    /// `account.failed_webhooks`: the undelivered events of the last 24
    /// hours (by the sender's clock), oldest first.
    pub fn failed_webhooks(&self, query: &FailedQuery) -> Result<FailedWebhooks, ApiError> {
        let now = self.shared.registry.clock.now();
        self.shared.failed_log().query(now, query)
    }

    /// Every attempt and delivery so far.
    pub fn journal(&self) -> Journal {
        self.shared.engine.journal.clone()
    }

    journal::expectation_methods!(expectations);

    /// Signs from now on with `store_key` (the vendor's
    /// `account.config.update` with `new_store_key`), e.g. to test a
    /// receiver's key rotation.
    pub fn rotate_store_key(&self, store_key: impl AsRef<[u8]>) {
        *self
            .shared
            .key
            .write()
            .unwrap_or_else(PoisonError::into_inner) = SigningKey::new("store key", store_key);
    }

    /// The store id events carry unless they set their own.
    pub fn store_id(&self) -> &str {
        &self.shared.registry.store_id
    }

    /// Where [`send`](Self::send) delivers; empty when built with
    /// [`http`](MockSenderBuilder::http) and no callback.
    pub fn callback(&self) -> &str {
        self.shared.registry.callback.as_deref().unwrap_or_default()
    }

    /// Whose rules it follows.
    pub fn profile(&self) -> Profile {
        self.shared.profile
    }

    /// The sender's "now", in Unix seconds.
    pub fn now(&self) -> i64 {
        self.shared.registry.clock.now()
    }

    /// One delivery, one attempt per copy, no retry and no failed log: what
    /// the conformance runner sends.
    pub(crate) async fn send_once(&self, event: &Event) -> Delivery {
        delivery::deliver(
            &self.shared,
            event,
            Route::default_of(&self.shared),
            Mode::Once,
        )
        .await
    }
}
