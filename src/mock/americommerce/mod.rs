//! AmeriCommerce delivery, emulated: a store with webhook subscriptions that
//! POSTs each event to them as the vendor does (seeds 000 and 003).
//!
//! - **Subscriptions** like `/api/v1/webhooks`
//!   ([`AmeriCommerceSender::create_webhook`] and the rest): one of the 13
//!   [`EventType`]s, a valid absolute URL, a failure type, a store id, a
//!   cache length, and a fallback URL, required for [`FailureType::Fallback`];
//!   only one subscription per event type and URL.
//! - **Dispatch** ([`AmeriCommerceSender::play`]): every subscription for the
//!   event type, in id order; product events (`GetPrice`,
//!   `GetProductStatus`, `ProductStatusChanged`) go to every store's
//!   subscriptions, the others only to the event's store's.
//! - **Success** is a 2xx answer within the deadline:
//!   [`REPLY_DEADLINE`] (3 s) for events that expect a reply, the sender's
//!   attempt timeout for the others. No retries (the vendor documents
//!   none). Anything else is a failure, handled by the failure type: Ignore
//!   carries on; Error skips the remaining subscriptions and the caller gets
//!   a [`DispatchError`]; Fallback sends the event to the fallback URL, under
//!   the same deadline, whose reply is then the subscription's (a failed
//!   fallback is ignored).
//! - **Replies** of events that expect one go back to the caller
//!   ([`Dispatch::reply`]: the last successful subscription's body).
//!   `Get*` and `Validate*` replies are cached per subscription and request
//!   body for the cache length (Short 5 min, Long 30 min, NoCache), by the
//!   sender's clock; a hit sends nothing ([`HookOutcome::from_cache`]).
//!   Payment replies are never cached, and neither are fallback replies.
//! - **Signing**: the vendor does not document one, so the mock signs with
//!   the crate's recipe and the store key, over `X-Webhook-Event-Type`,
//!   `X-Webhook-Store-Id` and `X-Webhook-Timestamp`; a
//!   [`Verifier`](crate::Verifier) checks it unchanged.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Extension, Router, routing::post};
//! use serde_json::json;
//! use webhook_guard::americommerce::{self, EventType, ReplyBudget, Reply};
//! use webhook_guard::mock::americommerce::{AmeriCommerceSender, CacheLength, NewWebhook};
//! use webhook_guard::tower::VerifyWebhookLayer;
//! use webhook_guard::{KeySet, ManualClock, VerifiedWebhook, Verifier};
//!
//! async fn tax(Extension(event): Extension<VerifiedWebhook>) -> Reply<&'static str> {
//!     assert_eq!(americommerce::event_type(&event), Some(EventType::GetTax));
//!     ReplyBudget::new().run(async { r#"{"tax":1.25}"# }).await
//! }
//!
//! let clock = ManualClock::new(1_763_900_000);
//! let verifier = Verifier::builder(KeySet::single("store-key")).clock(clock.clone()).build();
//! let app = Router::new().route("/tax", post(tax)).layer(VerifyWebhookLayer::new(verifier));
//! let store = AmeriCommerceSender::builder("store-key").clock(clock.clone()).service(app).build();
//! store.create_webhook(
//!     NewWebhook::new(EventType::GetTax, "http://tax.example/tax").cache_length(CacheLength::Short),
//! )?;
//!
//! let cart = json!({"cart_id": 7, "total": 25});
//! let played = store.play(EventType::GetTax, "1", &cart).await;
//! assert_eq!(played.reply().map(|r| &r[..]), Some(&br#"{"tax":1.25}"#[..]));
//!
//! // The same cart within 5 minutes: answered from the cache, nothing sent.
//! clock.advance(299);
//! assert!(store.play(EventType::GetTax, "1", &cart).await.outcomes()[0].from_cache());
//! assert_eq!(store.exchanges().len(), 1);
//! # Ok(()) }
//! # #[cfg(feature = "axum")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
//! ```
//!
//! [`EventType`]: crate::americommerce::EventType
//! [`REPLY_DEADLINE`]: crate::americommerce::REPLY_DEADLINE

mod cache;
mod dispatch;
mod sender;
mod webhooks;

pub use dispatch::{Dispatch, DispatchError, Exchange, HookFailure, HookOutcome, HookResult};
pub use sender::{AmeriCommerceSender, AmeriCommerceSenderBuilder};
pub use webhooks::{
    CacheLength, FailureType, NewWebhook, Webhook, WebhookError, WebhookId, WebhookUpdate,
};
