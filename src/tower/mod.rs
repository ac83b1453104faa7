//! Middleware for any [tower] stack: only verified deliveries reach the service.
//!
//! [`VerifyWebhookLayer`] wraps a service in [`VerifyWebhook`], which, for each
//! request:
//!
//! 1. answers 413 at once when `Content-Length` is over
//!    [`Verifier::body_limit`], without reading the body;
//! 2. reads the recipe's headers (and, for a URL token, the request target)
//!    and resolves the keys, with the request's [`Parts`] as the
//!    [`KeyResolver`] context (400, 401 or 503 before any body byte is read);
//! 3. streams the body into the MAC frame by frame, answering 413 the moment it
//!    crosses the limit (so it holds at most the limit plus one frame,
//!    whatever the client sends), 408 when it is not complete within
//!    [`Verifier::body_timeout`] (so it holds that memory for a bounded time)
//!    and 400 when the body cannot be read;
//! 4. on success, puts the [`VerifiedWebhook`] into the request extensions and
//!    calls the inner service with the same bytes as a [`VerifiedBody`].
//!
//! For several tenants, the resolver sees the request [`Parts`], so it can
//! choose keys by path, host, or an extension an earlier layer set;
//! [`PathSegment`] covers the common `/webhooks/{tenant}`.
//!
//! A refused delivery never reaches the inner service: it gets the status of
//! the [status table](crate), a short `text/plain` body naming the
//! class of failure and nothing more ([`default_rejection`]), or whatever
//! [`VerifyWebhookLayer::on_rejection`] builds instead. Each refusal is a
//! `tracing` event: `debug` for ordinary refusals, `warn` when the key or
//! replay store failed (503).
//!
//! Bodies are never boxed. Each request that gets past the header checks
//! costs one allocation for the verification state machine: the future of a
//! [`KeyResolver`] cannot be named on stable Rust.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use webhook_guard::tower::{VerifiedBody, VerifyWebhookLayer};
//! use webhook_guard::{KeySet, SignedHeaders, Signer, VerifiedWebhook, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let verifier = Verifier::new(KeySet::single("store-key"));
//!
//! // The handler: it sees only verified deliveries.
//! let handler = service_fn(|req: Request<VerifiedBody>| async move {
//!     let event = req.extensions().get::<VerifiedWebhook>().expect("set by the layer");
//!     assert_eq!(event.entity().unwrap().as_str(), "order");
//!     let body = req.into_body().collect().await?.to_bytes(); // the bytes as sent
//!     assert_eq!(body, &br#"{"id":"42"}"#[..]);
//!     Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("ok"))))
//! });
//! let service = ServiceBuilder::new()
//!     .layer(VerifyWebhookLayer::new(verifier))
//!     .service(handler);
//!
//! // A delivery as the vendor signs it.
//! let body = Bytes::from_static(br#"{"id":"42"}"#);
//! let signed = SignedHeaders::from_pairs([("X-Webhook-Entity", "order"), ("X-Webhook-Action", "add")])?;
//! let signature = Signer::new("store-key").sign(&signed, &body);
//! let delivery = |signature: &str| {
//!     Request::post("/webhooks")
//!         .header("X-Webhook-Entity", "order")
//!         .header("X-Webhook-Action", "add")
//!         .header("X-Webhook-Signature", signature)
//!         .body(Full::new(body.clone()))
//! };
//!
//! let response = service.clone().oneshot(delivery(&signature)?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // Signed with another key: refused, and the handler never runs.
//! let forged = Signer::new("guessed-key").sign(&signed, &body);
//! let response = service.oneshot(delivery(&forged)?).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! let text = response.into_body().collect().await?.to_bytes();
//! assert_eq!(text, "invalid webhook signature");
//! # Ok(()) }
//! ```
//!
//! [tower]: https://docs.rs/tower

mod body;
mod future;
mod layer;
mod path;
mod service;

use std::error::Error as StdError;
use std::future::poll_fn;
use std::pin::pin;

use bytes::{Buf, Bytes};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use http_body::Body;

use crate::deadline::read_within;
use crate::verifier::Admitted;
use crate::{Error, ErrorKind, HeaderSource, KeyResolver, VerifiedWebhook, Verifier};

pub use body::{ResponseBody, VerifiedBody};
pub use future::ResponseFuture;
pub use layer::VerifyWebhookLayer;
pub use path::PathSegment;
pub use service::VerifyWebhook;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The response [`VerifyWebhook`] sends for a refused delivery unless told
/// otherwise: the status of [`Error::status`], `Content-Type: text/plain;
/// charset=utf-8`, and [`ErrorKind::public_message`] as the body.
///
/// A custom [`on_rejection`](VerifyWebhookLayer::on_rejection) hook can start
/// from it, e.g. to add a header.
pub fn default_rejection(error: &Error) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(error.kind().public_message().as_bytes()));
    *response.status_mut() =
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// What is known before the body is read.
pub(crate) struct Prepared {
    admitted: Admitted,
    size_hint: Option<usize>,
}

/// The checks that need no body and no I/O: the declared length against the
/// limit (413), then what the recipe reads off the head and the request
/// target (400 or 401), and the timestamp (401).
pub(crate) fn prepare<K, B: Body>(
    verifier: &Verifier<K>,
    parts: &Parts,
    body: &B,
) -> Result<Prepared, Error> {
    let (limit, headers) = (verifier.body_limit(), &parts.headers);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let hint = body.size_hint();
    let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
    if declared.is_some_and(|len| len > limit_u64) || hint.lower() > limit_u64 {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            "declared body length larger than the limit",
        ));
    }
    let size_hint = declared
        .or(hint.exact())
        .and_then(|len| usize::try_from(len).ok());
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let admitted = verifier.admit(headers.with_target(target))?;
    Ok(Prepared {
        admitted,
        size_hint,
    })
}

/// Resolves the keys for `parts` and streams `body` through the MAC.
///
/// A plain function returning a future rather than an `async fn`, which
/// would keep `prepared` and `body` twice in its state: the tower layer
/// boxes this future per request, so its size is copied per request.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice"
)]
pub(crate) fn verify_body<'a, K, B>(
    verifier: &'a Verifier<K>,
    parts: &'a Parts,
    prepared: Prepared,
    body: B,
) -> impl Future<Output = Result<VerifiedWebhook, Error>> + 'a
where
    K: KeyResolver<Parts>,
    B: Body + 'a,
    B::Error: Into<BoxError>,
{
    async move {
        let resolved = verifier.resolve(parts, &prepared.admitted).await?;
        // The verification lives in this block only: the future that asks
        // the replay guard does not keep room for it.
        let finishing = {
            let mut verification = verifier.start(prepared.admitted, resolved);
            if let Some(len) = prepared.size_hint {
                verification.size_hint(len);
            }
            // Borrows the verification: it stays where it was built.
            let read = async {
                let mut body = pin!(body);
                while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                    let frame = frame.map_err(body_error)?;
                    if let Ok(mut data) = frame.into_data() {
                        let chunk = data.copy_to_bytes(data.remaining());
                        verification.update(chunk)?;
                    }
                    // Trailers are not signed and are not passed on.
                }
                Ok(())
            };
            read_within(verifier.body_timeout(), read).await?;
            verification.finish()
        };
        finishing.await
    }
}

/// [`prepare`] then [`verify_body`], for adapters that have no use for an early answer.
#[cfg(feature = "axum")]
pub(crate) async fn verify_request<K, B>(
    verifier: &Verifier<K>,
    parts: &Parts,
    body: B,
) -> Result<VerifiedWebhook, Error>
where
    K: KeyResolver<Parts>,
    B: Body,
    B::Error: Into<BoxError>,
{
    let prepared = prepare(verifier, parts, &body)?;
    verify_body(verifier, parts, prepared, body).await
}

/// A body that failed to arrive: 400, or 413 when an outer limit (tower-http's
/// `RequestBodyLimit`, axum's `DefaultBodyLimit`) cut it off.
fn body_error(error: impl Into<BoxError>) -> Error {
    let error = error.into();
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&*error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return Error::with_source(
                ErrorKind::PayloadTooLarge,
                "body cut off by an outer length limit",
                error,
            );
        }
        cause = e.source();
    }
    tracing::debug!(error = %error, "webhook body could not be read");
    Error::with_source(ErrorKind::UnreadableBody, "body could not be read", error)
}
