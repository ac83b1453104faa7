//! The delivering side, emulated: a mock of the vendor that sends signed
//! webhooks to the receiver under test, in-process or over real HTTP.
//!
//! HTTP mocking crates play servers; a webhook receiver needs the opposite,
//! a client that behaves like the vendor byte for byte. [`MockSender`] is
//! that client, built like wiremock's `MockServer` (a builder, async
//! methods, one per test):
//!
//! - **Signing** uses the crate's own canonical encoder ([`SignedHeaders`] and
//!   [`Signer`]), so sender and verifier cannot drift apart.
//! - **Targets**: a URL over real HTTP/1.1, header names written in the
//!   vendor's case (`X-Webhook-Store-Id`, not lowercase); or straight into a
//!   `tower::Service` such as an axum `Router`, no socket.
//! - **API2Cart semantics** ([`Profile::Api2Cart`]): only 200 counts as
//!   delivered (201, 204 and 3xx do not); one retry, freshly timestamped and
//!   signed; then the event goes to a failed log kept 24 hours and listed
//!   like `account.failed_webhooks` ([`MockSender::failed_webhooks`]).
//!   Lost-connection notices, and webhooks disabled after five failed tries
//!   to reach the store ([`MockSender::store_unreachable`]).
//! - **Subscriptions** like the vendor's `webhook.*` API
//!   ([`MockSender::subscriptions`]): a store event ([`MockSender::emit`])
//!   fans out to every active matching subscription, its body trimmed to
//!   the subscription's `fields`.
//! - **One journal for every vendor** ([`Journal`]): each [`Attempt`] with
//!   its [`Vendor`], the event as that vendor names it, the exact request
//!   (headers in order and case, body, the signed string), the answer,
//!   latency, attempt number, outcome and the vendor's own fields. Give
//!   several senders the same journal (`.journal(..)` on their builders) to
//!   see them all in one numbered list; [`Journal::wait_for`] and
//!   [`Journal::next_after`] for deliveries made in the background; every
//!   sender's [`Expectation`]s are checked when it is dropped.
//! - **Faults on demand** ([`Fault`]) and a [`Conformance`] runner that
//!   delivers every one of them and holds the answers against the status
//!   table, through any vendor's sender ([`ConformanceTarget`]: API2Cart's
//!   [`MockSender`], [`StandardSender::conformance_target`],
//!   [`WorkspaceSender::conformance_target`],
//!   [`AmeriCommerceSender::conformance_target`](americommerce::AmeriCommerceSender::conformance_target));
//!   what a vendor cannot send (AmeriCommerce binds neither body nor time)
//!   is skipped and listed.
//! - **UP42, seed 004** ([`WorkspaceSender`]): workspace webhooks and
//!   their "Test a webhook" runs, signed with UP42's recipe and each
//!   webhook's secret.
//! - **Standard Webhooks** ([`StandardSender`]): endpoints with one or more
//!   secrets, `webhook-id`/`webhook-timestamp`/`webhook-signature`, and the
//!   spec's retries (2xx, 410, `Retry-After`, the example schedule) on the
//!   sender's clock.
//! - **A virtual clock**: give the sender and the receiver's
//!   [`Verifier`](crate::Verifier) clones of one [`ManualClock`], and
//!   tolerance edges and the 24-hour retention test instantly. Pauses (retry
//!   delay, slow bodies, timeouts) run on tokio's clock, so
//!   `tokio::time::pause` makes them free for in-process targets.
//!
//! The mock needs a tokio runtime (any flavour).
//!
//! # Example
//!
//! An axum receiver behind [`VerifyWebhookLayer`](crate::tower::VerifyWebhookLayer),
//! tested in-process:
//!
//! ```
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::post};
//! use serde_json::json;
//! use webhook_guard::mock::{Event, Expectation, Fault, FailedQuery, MockSender};
//! use webhook_guard::tower::VerifyWebhookLayer;
//! use webhook_guard::{Action, Entity, KeySet, ManualClock, Verifier};
//!
//! // One virtual clock for both sides.
//! let clock = ManualClock::new(1_763_900_000);
//! let verifier = Verifier::builder(KeySet::single("store-key")).clock(clock.clone()).build();
//! let app = Router::new()
//!     .route("/webhooks", post(|| async { "ok" }))
//!     .layer(VerifyWebhookLayer::new(verifier));
//!
//! let sender = MockSender::builder("store-key")
//!     .clock(clock.clone())
//!     .service(app)
//!     .callback("/webhooks")
//!     .build()?;
//! sender.expect(Expectation::delivered().times(1));
//! sender.expect(Expectation::answered(401).times(2));
//!
//! let product = Event::new(Entity::Product, Action::Add).json(json!({"id": "86", "name": "Cable 3/4\""}));
//! let delivery = sender.send(product.clone()).await;
//! assert!(delivery.is_delivered());
//! let sent = delivery.attempts()[0].request();
//! assert_eq!(sent.header("X-Webhook-Store-Id"), Some("1"));
//! assert!(sent.signed_string().starts_with(br#"{"X-Webhook-Action":"add""#));
//!
//! // Tampered after signing: refused twice (the vendor retries once), then logged.
//! let tampered = sender.send(product.fault(Fault::TamperedBody)).await;
//! assert_eq!(tampered.statuses(), [Some(401), Some(401)]);
//! let failed = sender.failed_webhooks(&FailedQuery::new())?;
//! assert_eq!(failed.webhook()[0].entity_id(), Some("86"));
//!
//! // A day later the failed log has forgotten it.
//! clock.advance(24 * 60 * 60);
//! assert_eq!(sender.failed_webhooks(&FailedQuery::new())?.all_failed_webhook(), 0);
//! # Ok(()) }
//! # #[cfg(feature = "axum")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
//! ```
//!
//! Over real HTTP, the same sender is built with
//! `.url("http://127.0.0.1:3000/webhooks")`; `examples/quickstart.rs` does
//! that against an axum server on loopback, and `webhook-guard send` does it
//! from the command line.
//!
//! [`SignedHeaders`]: crate::SignedHeaders
//! [`Signer`]: crate::Signer
//! [`ManualClock`]: crate::ManualClock

// The engine: transport, journal, faults, calendar. Vendors sit on top,
// one module each, holding their policy, API and payloads.
mod clock;
mod conformance;
mod delivering;
mod faults;
mod journal;
mod target;

pub mod americommerce;
mod api2cart;
mod standard;
mod up42;

pub use api2cart::{
    ApiError, BuildError, Event, FailedQuery, FailedWebhook, FailedWebhooks, Fields,
    LostConnection, MockSender, MockSenderBuilder, NewSubscription, Profile, Subscription,
    SubscriptionFilter, SubscriptionUpdate, Subscriptions, SupportedEvent, WebhookId,
};
pub use conformance::{
    CaseResult, Conformance, ConformanceCase, ConformanceReport, ConformanceTarget, ReceiverPolicy,
};
pub use faults::{Fault, ParseFaultError};
pub use journal::{
    Attempt, AttemptOutcome, Delivery, DeliveryOutcome, Expectation, Journal, ReceivedResponse,
    SentRequest, Times, TransportFailure, TransportFailureKind, UnmetExpectation,
    UnmetExpectations, Vendor, WaitTimeout,
};
pub use standard::{
    ConformanceEndpoint, Dispatch, DispatchState, Endpoint, Message, NewEndpoint, PendingRetry,
    SPEC_RETRY_SCHEDULE, StandardError, StandardSender, StandardSenderBuilder, generate_secret,
};
pub use target::{MockBody, post_once};
pub use up42::{
    ConformanceWebhook, NewWorkspaceWebhook, TestResult, TestRun, WorkspaceError, WorkspaceEvent,
    WorkspaceSender, WorkspaceSenderBuilder, WorkspaceWebhook, WorkspaceWebhookUpdate,
};
