//! AmeriCommerce delivery, emulated: a store with webhook subscriptions that
//! POSTs each event to them as the vendor does (seeds 000 and 003, and the
//! REST docs' `docs/webhooks.md`).
//!
//! - **Subscriptions** like `/api/v1/webhooks`
//!   ([`AmeriCommerceSender::create_webhook`] and the rest): one of the 30
//!   [`EventType`]s, a valid absolute URL, a failure type, a store id, a
//!   cache length, and a fallback URL, required for [`FailureType::Fallback`];
//!   only one subscription per event type and URL. Over HTTP the API takes
//!   an access token in [`AUTH_TOKEN_HEADER`] (`X-AC-Auth-Token`), checked
//!   by [`AmeriCommerceSender::authenticate`].
//! - **Dispatch** ([`AmeriCommerceSender::play`], or
//!   [`play_payload`](AmeriCommerceSender::play_payload) with the
//!   [`payload`] types): every subscription for the event type, in id
//!   order; product events ([`EventType::is_store_specific`]) go to every
//!   store's subscriptions, the others only to the event's store's.
//! - **Unsigned**, as the vendor: a POST of the JSON body to the URL exactly
//!   as registered, query string included, with `Host`, `Content-Type:
//!   application/json` (the mock's choice; the docs name none) and
//!   `Content-Length`, and nothing else: no signature, no timestamp, no
//!   header naming the event type or the store. A receiver authenticates
//!   the URL instead ([`UrlToken`]) and tells event types apart by URL.
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
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Json, Router, routing::post};
//! use webhook_guard::americommerce::payload::{GetTaxReply, GetTaxRequest, TaxItem};
//! use webhook_guard::americommerce::{EventType, UrlToken};
//! use webhook_guard::mock::americommerce::{AmeriCommerceSender, CacheLength, NewWebhook};
//! use webhook_guard::tower::VerifyWebhookLayer;
//! use webhook_guard::{KeySet, ManualClock, Verifier};
//!
//! async fn tax(Json(cart): Json<GetTaxRequest>) -> Json<GetTaxReply> {
//!     let shipping = cart.shipping_total.unwrap_or(0.0);
//!     Json(GetTaxReply { shipping_tax_amount: Some(shipping * 0.1), ..GetTaxReply::default() })
//! }
//!
//! // The receiver checks the token of the URL it registered.
//! let verifier = Verifier::builder(KeySet::single("url-token")).scheme(UrlToken::query("token")).build();
//! let app = Router::new().route("/tax", post(tax)).layer(VerifyWebhookLayer::new(verifier));
//! let clock = ManualClock::new(1_763_900_000);
//! let store = AmeriCommerceSender::builder("api-token").clock(clock.clone()).service(app).build();
//! store.create_webhook(
//!     NewWebhook::new(EventType::GetTax, "http://tax.example/tax?token=url-token")
//!         .cache_length(CacheLength::Short),
//! )?;
//!
//! let cart = GetTaxRequest { items: vec![TaxItem::default()], shipping_total: Some(5.0), ..Default::default() };
//! let played = store.play_payload(EventType::GetTax, "1", &cart).await?;
//! assert_eq!(played.reply().map(|r| &r[..]), Some(&br#"{"items":[],"shipping_tax_amount":0.5}"#[..]));
//!
//! // The same cart within 5 minutes: answered from the cache, nothing sent.
//! clock.advance(299);
//! assert!(store.play_payload(EventType::GetTax, "1", &cart).await?.outcomes()[0].from_cache());
//! assert_eq!(store.exchanges().len(), 1);
//! # Ok(()) }
//! # #[cfg(feature = "axum")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
//! ```
//!
//! [`EventType`]: crate::americommerce::EventType
//! [`REPLY_DEADLINE`]: crate::americommerce::REPLY_DEADLINE
//! [`UrlToken`]: crate::americommerce::UrlToken
//! [`payload`]: crate::americommerce::payload
//! [`EventType::is_store_specific`]: crate::americommerce::EventType::is_store_specific

mod auth;
mod cache;
mod conformance;
mod dispatch;
mod sender;
mod webhooks;

pub use auth::{AUTH_TOKEN_HEADER, Unauthorized, error_body};
pub use conformance::ConformanceSubscription;
pub use dispatch::{Dispatch, DispatchError, Exchange, HookFailure, HookOutcome, HookResult};
pub use sender::{AmeriCommerceSender, AmeriCommerceSenderBuilder};
pub use webhooks::{
    CacheLength, FailureType, NewWebhook, Webhook, WebhookError, WebhookId, WebhookUpdate,
};
