//! Receiver-side verification of signed webhook deliveries, for each vendor as
//! it really signs.
//!
//! One [`Verifier`] engine (body limit, [`KeySet`]s and [`KeyResolver`]s,
//! freshness with an injectable [`Clock`], [`ReplayGuard`], streaming, the
//! status table, `tracing`) serves every recipe; the recipe is a [`Scheme`]:
//!
//! | recipe | scheme | module |
//! |---|---|---|
//! | API2Cart `X-Webhook-*` (the default) | [`Api2Cart`](api2cart::Api2Cart) | [`api2cart`] |
//! | UP42 `Signature-Input` / `Signature` | [`Up42`](up42::Up42) | [`up42`] |
//! | Standard Webhooks (Svix and others) | [`StandardWebhooks`](standard::StandardWebhooks) | [`standard`] |
//! | a secret URL token (AmeriCommerce, which signs nothing) | [`UrlToken`](americommerce::UrlToken) | [`americommerce`] |
//!
//! The headers come from any [`HeaderSource`]: `http` 1 and actix-web's header
//! maps, `(name, value)` pairs, captured header lines.
//!
//! For API2Cart, a delivery is trusted only when the vendor's signature,
//! rebuilt byte for byte, matches in constant time:
//!
//! ```text
//! X-Webhook-Signature = base64( HMAC-SHA256( store_key,
//!     json_encode(ksort(every X-Webhook-* header but the signature)) || raw body ) )
//! ```
//!
//! [`DeliveryHeaders`] collects and canonicalizes the headers (vendor name case,
//! byte order, PHP's JSON escaping); a [`Verifier`] checks the signature against a
//! [`KeySet`] (or a per-tenant [`KeyResolver`]), the timestamp against a
//! tolerance, and optionally a [`ReplayGuard`]; what comes out is a
//! [`VerifiedWebhook`] with typed [`Entity`], [`Action`], [`StoreId`] and
//! [`ErrorNotice`]. Every refusal is an [`Error`] whose [`ErrorKind`] maps to the
//! status a receiver answers:
//!
//! | case | kind | status |
//! |---|---|---|
//! | a header the recipe reads sent twice or not UTF-8, a timestamp not an integer, a UP42 list that contradicts the headers | [`MalformedHeaders`](ErrorKind::MalformedHeaders) | 400 |
//! | signature missing | [`MissingSignature`](ErrorKind::MissingSignature) | 401 |
//! | signature not base64, wrong length, or no key matches; a covered digest differs from the body; a wrong URL token | [`InvalidSignature`](ErrorKind::InvalidSignature) | 401 |
//! | UP42: nothing the signature covers binds the body | [`BodyNotSigned`](ErrorKind::BodyNotSigned) | 401 |
//! | timestamp required but missing | [`MissingTimestamp`](ErrorKind::MissingTimestamp) | 401 |
//! | timestamp outside the tolerance | [`TimestampOutsideTolerance`](ErrorKind::TimestampOutsideTolerance) | 401 |
//! | delivery already accepted | [`Replayed`](ErrorKind::Replayed) | 401 |
//! | no keys for this tenant | [`UnknownTenant`](ErrorKind::UnknownTenant) | 401 |
//! | key resolver or replay store failed | [`Unavailable`](ErrorKind::Unavailable) | 503 |
//! | body over the limit | [`PayloadTooLarge`](ErrorKind::PayloadTooLarge) | 413 |
//! | body not complete within the body timeout (adapters only) | [`BodyTimeout`](ErrorKind::BodyTimeout) | 408 |
//! | body could not be read (adapters only) | [`UnreadableBody`](ErrorKind::UnreadableBody) | 400 |
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use webhook_guard::{DeliveryHeaders, ErrorKind, KeySet, Verifier};
//!
//! # async fn run() {
//! // Built once at start-up and shared.
//! let verifier = Verifier::builder(KeySet::single("store-key"))
//!     .danger_accept_any_timestamp() // the vendor's published sample is from 2018
//!     .build();
//!
//! // The vendor's sample delivery, as an HTTP library hands it over.
//! let headers = DeliveryHeaders::from_pairs([
//!     ("x-webhook-action", "update"),
//!     ("x-webhook-entity", "product"),
//!     ("x-webhook-error-code", "0"),
//!     ("x-webhook-store-id", "1"),
//!     ("x-webhook-timestamp", "1516291592"),
//!     ("x-webhook-signature", "EkgyptwvqdQXvELT/gyv/oceZE6Nm18sH7bt/OSt4wo="),
//! ]).unwrap();
//! let body = Bytes::from_static(br#"{"id":"86","name":"test product"}"#);
//!
//! let event = verifier.verify(headers.clone(), body.clone()).await.unwrap();
//! assert_eq!(event.store_id().unwrap().as_str(), "1");
//!
//! // One changed byte and the delivery is refused with 401.
//! let tampered = Bytes::from_static(br#"{"id":"87","name":"test product"}"#);
//! let err = verifier.verify(headers, tampered).await.unwrap_err();
//! assert_eq!((err.kind(), err.status()), (ErrorKind::InvalidSignature, 401));
//! # }
//! # futures_executor::block_on(run());
//! ```
//!
//! # In an axum or tower server
//!
//! With the `tower` feature, one [`VerifyWebhookLayer`][VerifyWebhookLayer]
//! keeps every route behind it safe: a refused delivery is answered with its
//! status and never reaches a handler, a verified one reaches it with the
//! [`VerifiedWebhook`] in the request extensions and the body unchanged.
//!
//! ```
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use axum::{Extension, Router, body::Body, http::{Request, StatusCode}, routing::post};
//! use tower::ServiceExt;
//! use webhook_guard::tower::VerifyWebhookLayer;
//! use webhook_guard::{KeySet, SignedHeaders, Signer, VerifiedWebhook, Verifier};
//!
//! async fn receive(Extension(event): Extension<VerifiedWebhook>, body: String) -> &'static str {
//!     println!("{:?} {:?}: {body}", event.entity(), event.action());
//!     "ok"
//! }
//!
//! let app = Router::new()
//!     .route("/webhooks", post(receive))
//!     .layer(VerifyWebhookLayer::new(Verifier::new(KeySet::single("store-key"))));
//!
//! let body = r#"{"id":"86"}"#;
//! let signed = SignedHeaders::from_pairs([("X-Webhook-Entity", "product"), ("X-Webhook-Action", "add")])?;
//! let delivery = |signature: String| {
//!     Request::post("/webhooks")
//!         .header("X-Webhook-Entity", "product")
//!         .header("X-Webhook-Action", "add")
//!         .header("X-Webhook-Signature", signature)
//!         .body(Body::from(body))
//! };
//!
//! let signature = Signer::new("store-key").sign(&signed, body.as_bytes());
//! let response = app.clone().oneshot(delivery(signature)?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let forged = Signer::new("a-guess").sign(&signed, body.as_bytes());
//! let response = app.oneshot(delivery(forged)?).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! # Ok(()) }
//! # #[cfg(feature = "axum")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
//! ```
//!
//! With the `axum` feature, the [`Webhook<T>`][Webhook] extractor
//! gives a handler the typed delivery and its JSON payload. Behind the layer
//! it takes the layer's result; elsewhere it verifies the request itself with
//! the [`Verifier`] in the router's state.
//!
//! ```
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::post};
//! use serde_json::Value;
//! use tower::ServiceExt;
//! use webhook_guard::axum::Webhook;
//! use webhook_guard::{Entity, KeySet, SignedHeaders, Signer, Verifier};
//!
//! async fn receive(webhook: Webhook<Value>) -> &'static str {
//!     assert_eq!(webhook.entity(), Some(Entity::Order));
//!     assert_eq!(webhook.store_id().unwrap().as_str(), "1");
//!     assert_eq!(webhook.payload().unwrap()["id"], "25");
//!     "ok"
//! }
//!
//! let app = Router::new()
//!     .route("/webhooks", post(receive))
//!     .with_state(Verifier::new(KeySet::single("store-key")));
//!
//! let body = r#"{"id":"25"}"#;
//! let signed = SignedHeaders::from_pairs([("X-Webhook-Entity", "order"), ("X-Webhook-Store-Id", "1")])?;
//! let request = Request::post("/webhooks")
//!     .header("X-Webhook-Entity", "order")
//!     .header("X-Webhook-Store-Id", "1")
//!     .header("X-Webhook-Signature", Signer::new("store-key").sign(&signed, body.as_bytes()))
//!     .body(Body::from(body))?;
//! assert_eq!(app.oneshot(request).await?.status(), StatusCode::OK);
//! # Ok(()) }
//! # #[cfg(feature = "axum")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
//! ```
//!
//! # Features
//!
//! No feature is on by default: the core needs no web framework and no runtime.
//!
//! | feature | what it adds |
//! |---|---|
//! | `http` | [`HeaderSource`] for `http` 1 header maps, `DeliveryHeaders::from_header_map` |
//! | `ed25519` | Standard Webhooks `v1a` (ed25519) signatures and `whpk_` public keys |
//! | `tower` | the [`VerifyWebhookLayer`][VerifyWebhookLayer] middleware for any tower stack (implies `http`) |
//! | `axum` | the [`Webhook<T>`][Webhook] extractor for axum 0.8, and `IntoResponse` for `americommerce::Reply` (implies `tower`) |
//! | `actix` | `actix::Webhook<T>`, an extractor configured with `actix::WebhookConfig` in `app_data`, and the `actix::VerifyWebhook` middleware, for actix-web 4; `Responder` for `americommerce::Reply` |
//! | `redis` | [`RedisReplayGuard`][RedisReplayGuard], a replay guard that several receiver processes share through Redis (needs a tokio runtime) |
//! | `mock` | [`mock::MockSender`][MockSender] (API2Cart), `mock::americommerce` (unsigned, to the registered URL), `mock::WorkspaceSender` (UP42, signed as UP42 signs) and `mock::StandardSender` (Standard Webhooks, with the spec's retries): each vendor's delivering side emulated for receivers' tests (implies `tower`) |
//! | `cli` | the `webhook-guard` binary: `sign` and `verify` captured deliveries and `send` one, each `--scheme api2cart\|up42\|standard`, and `serve` the vendors' webhook APIs (implies `mock`) |
// Links to items that exist only with their feature; without it, to the section above.
#![cfg_attr(
    feature = "tower",
    doc = "\n\n[VerifyWebhookLayer]: crate::tower::VerifyWebhookLayer"
)]
#![cfg_attr(
    not(feature = "tower"),
    doc = "\n\n[VerifyWebhookLayer]: #in-an-axum-or-tower-server"
)]
#![cfg_attr(feature = "axum", doc = "\n\n[Webhook]: crate::axum::Webhook")]
#![cfg_attr(
    not(feature = "axum"),
    doc = "\n\n[Webhook]: #in-an-axum-or-tower-server"
)]
#![cfg_attr(feature = "mock", doc = "\n\n[MockSender]: crate::mock::MockSender")]
#![cfg_attr(
    feature = "redis",
    doc = "\n\n[RedisReplayGuard]: crate::RedisReplayGuard"
)]
#![cfg_attr(not(feature = "redis"), doc = "\n\n[RedisReplayGuard]: #features")]
#![cfg_attr(not(feature = "mock"), doc = "\n\n[MockSender]: #features")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod americommerce;
pub mod api2cart;
mod canonical;
pub mod capture;
mod clock;
#[cfg(any(feature = "tower", feature = "actix"))]
mod deadline;
pub mod digest;
mod error;
mod event;
mod head;
mod keys;
#[cfg(any(feature = "axum", feature = "actix"))]
mod payload;
pub mod php_json;
#[cfg(feature = "redis")]
mod redis_guard;
mod replay;
mod scheme;
pub mod signature;
mod signer;
pub mod standard;
mod structured;
pub mod up42;
mod verifier;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;

pub use canonical::{DeliveryHeaders, SignedHeaders, canonical_name, names};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorKind};
pub use event::{Action, Entity, ErrorNotice, StoreId, VerifiedWebhook};
pub use head::{HeaderSource, WithTarget};
#[cfg(feature = "ed25519")]
pub use keys::PublicKey;
pub use keys::{
    KeyError, KeyId, KeyResolver, KeySet, ResolveError, ResolverFn, SigningKey, resolver_fn,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_guard::{
    RedisCheckError, RedisConnectError, RedisFailurePolicy, RedisReplayGuard,
    RedisReplayGuardBuilder,
};
pub use replay::{BoxFuture, InMemoryReplayGuard, ReplayCheck, ReplayGuard, ReplayKey};
pub use scheme::{Claims, Scheme};
pub use signer::Signer;
pub use verifier::{
    DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_TOLERANCE, Verification, Verifier,
    VerifierBuilder,
};

/// The README's code compiles and runs as a doc test (it uses every adapter
/// and the Redis guard).
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "actix",
    feature = "mock",
    feature = "redis"
))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
