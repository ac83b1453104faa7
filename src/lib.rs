//! Receiver-side verification of signed `X-Webhook-*` deliveries (API2Cart and
//! compatible senders).
//!
//! A delivery is trusted only when the vendor's signature, rebuilt byte for byte,
//! matches in constant time:
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
//! | duplicate or non-UTF-8 `X-Webhook-*`, timestamp not an integer | [`MalformedHeaders`](ErrorKind::MalformedHeaders) | 400 |
//! | signature missing | [`MissingSignature`](ErrorKind::MissingSignature) | 401 |
//! | signature not base64, not 32 bytes, or no key matches | [`InvalidSignature`](ErrorKind::InvalidSignature) | 401 |
//! | timestamp required but missing | [`MissingTimestamp`](ErrorKind::MissingTimestamp) | 401 |
//! | timestamp outside the tolerance | [`TimestampOutsideTolerance`](ErrorKind::TimestampOutsideTolerance) | 401 |
//! | delivery already accepted | [`Replayed`](ErrorKind::Replayed) | 401 |
//! | no keys for this tenant | [`UnknownTenant`](ErrorKind::UnknownTenant) | 401 |
//! | key resolver or replay store failed | [`Unavailable`](ErrorKind::Unavailable) | 503 |
//! | body over the limit | [`PayloadTooLarge`](ErrorKind::PayloadTooLarge) | 413 |
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
//! # Features
//!
//! No feature is on by default: the core needs no web framework and no runtime.
//!
//! | feature | what it adds |
//! |---|---|
//! | `http` | [`DeliveryHeaders::from_header_map`] for `http` 1 header maps |
//! | `tower` | the `VerifyWebhookLayer` middleware for any tower stack (implies `http`; being built) |
//! | `axum` | the `Webhook<T>` extractor (implies `tower`; being built) |
//! | `actix` | actix-web 4 extractor and middleware (being built) |
//! | `mock` | a mock sender that delivers like the vendor, for receivers' tests (being built) |
//! | `cli` | the `webhook-guard` binary: `sign` and `verify` captured deliveries |
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod canonical;
pub mod capture;
mod clock;
mod error;
mod event;
mod keys;
pub mod php_json;
mod replay;
pub mod signature;
mod signer;
mod verifier;

pub use canonical::{DeliveryHeaders, SignedHeaders, canonical_name, names};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorKind};
pub use event::{Action, Entity, ErrorNotice, StoreId, VerifiedWebhook};
pub use keys::{KeyId, KeyResolver, KeySet, ResolveError, ResolverFn, SigningKey, resolver_fn};
pub use replay::{BoxFuture, InMemoryReplayGuard, ReplayCheck, ReplayGuard, ReplayKey};
pub use signer::Signer;
pub use verifier::{
    DEFAULT_BODY_LIMIT, DEFAULT_TOLERANCE, Verification, Verifier, VerifierBuilder,
};

/// The README's code compiles and runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
