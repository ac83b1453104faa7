//! actix-web 4: the [`Webhook<T>`](Webhook) extractor and the
//! [`VerifyWebhook`] middleware.
//!
//! `Webhook<T>` in a handler's arguments is a verified delivery with its JSON
//! payload deserialized into `T` (`serde_json::Value` by default). It is
//! configured like actix-web's `JsonConfig`: a [`WebhookConfig`] holding the
//! [`Verifier`], registered with `App::app_data` (or on a scope or resource),
//! looked up as `WebhookConfig` and then as `web::Data<WebhookConfig>`.
//!
//! For each request the extractor (and the middleware, in the same way):
//!
//! 1. answers 413 at once when `Content-Length` is over the body limit,
//!    without reading the body;
//! 2. checks the `X-Webhook-*` headers, taken straight from actix-web's header
//!    map, and resolves the keys with the [`HttpRequest`] as the
//!    [`KeyResolver`] context (400, 401 or 503 before any body byte is read);
//! 3. streams the payload into the MAC chunk by chunk, answering 413 the
//!    moment it crosses the limit (so it holds at most the limit, whatever the
//!    client sends), 408 when it is not complete within
//!    [`Verifier::body_timeout`] and 400 when the payload cannot be read;
//! 4. checks the signature and the replay guard, then deserializes the payload.
//!
//! A refusal that leaves the body unread (413, 408, or a header check that
//! failed before it arrived) answers with `Connection: close` and the
//! connection is closed, after at most the server's
//! `client_disconnect_timeout` (1 s by default) of reading and dropping what
//! the client still sends: left to itself, actix-web would keep the connection
//! to read the rest of a chunked body, for as long as the client sends it. The
//! extractor's error for such a refusal then no longer downcasts to
//! [`WebhookRejection`]; its status and text are the same.
//!
//! A refusal is a [`WebhookRejection`]: the status of the table in the
//! [crate docs](crate) and a short `text/plain` body that names the class of
//! failure only, or whatever [`WebhookConfig::error_handler`] makes of it.
//! Each refusal is a `tracing` event with the reason: `debug`, or `warn` when
//! the key or replay store failed (503). A `Webhook` with no `WebhookConfig`
//! to verify with is a server misconfiguration: 500 and a `tracing` error,
//! never a delivery let through.
//!
//! # Example
//!
//! ```
//! use actix_web::{App, http::StatusCode, test, web};
//! use webhook_guard::actix::{Webhook, WebhookConfig};
//! use webhook_guard::{Entity, KeySet, SignedHeaders, Signer, Verifier};
//!
//! // Runs for verified deliveries only. The vendor counts only 200 as delivered.
//! async fn receive(webhook: Webhook) -> &'static str {
//!     assert_eq!(webhook.entity(), Some(Entity::Product));
//!     assert_eq!(webhook.payload().unwrap()["id"], "86");
//!     "ok"
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! let app = test::init_service(
//!     App::new()
//!         .app_data(WebhookConfig::new(Verifier::new(KeySet::single("store-key"))))
//!         .route("/webhooks", web::post().to(receive)),
//! )
//! .await;
//!
//! // A delivery as the vendor signs it.
//! let body = r#"{"id":"86","name":"test product"}"#;
//! let signed = SignedHeaders::from_pairs([("X-Webhook-Entity", "product"), ("X-Webhook-Action", "add")])?;
//! let delivery = |key: &str| {
//!     test::TestRequest::post()
//!         .uri("/webhooks")
//!         .insert_header(("X-Webhook-Entity", "product"))
//!         .insert_header(("X-Webhook-Action", "add"))
//!         .insert_header(("X-Webhook-Signature", Signer::new(key).sign(&signed, body.as_bytes())))
//!         .set_payload(body)
//!         .to_request()
//! };
//!
//! let response = test::call_service(&app, delivery("store-key")).await;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // Signed with another key: refused, and the handler never runs.
//! let response = test::call_service(&app, delivery("some-other-key")).await;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(test::read_body(response).await, "invalid webhook signature");
//! # Ok::<_, webhook_guard::Error>(())
//! # }).unwrap();
//! ```
//!
//! # A whole scope behind the middleware
//!
//! [`VerifyWebhook`] verifies every request of the app, scope or resource it
//! wraps before any handler runs. A verified request reaches the handler with
//! the [`VerifiedWebhook`] in its extensions and the payload intact, so the
//! handler can take `web::Bytes`, `web::Json<T>`, `web::ReqData<VerifiedWebhook>`
//! or `Webhook<T>`, which then takes the middleware's result instead of
//! verifying again (and needs no `WebhookConfig`). A refused request never
//! reaches the handler.
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use serde::Deserialize;
//! use webhook_guard::actix::VerifyWebhook;
//! use webhook_guard::{KeySet, VerifiedWebhook, Verifier};
//!
//! #[derive(Deserialize)]
//! struct Order {
//!     id: String,
//! }
//!
//! async fn order(event: web::ReqData<VerifiedWebhook>, order: web::Json<Order>) -> HttpResponse {
//!     println!("order {} ({:?})", order.id, event.action());
//!     HttpResponse::Ok().body("ok")
//! }
//!
//! let verifier = Verifier::new(KeySet::single("store-key"));
//! let app = App::new().service(
//!     web::scope("/webhooks")
//!         .wrap(VerifyWebhook::new(verifier))
//!         .route("/orders", web::post().to(order)),
//! );
//! # let _ = app;
//! ```
//!
//! # Several tenants
//!
//! No API2Cart header names the tenant, so a multi-tenant receiver routes by
//! URL. The [`KeyResolver`] sees the [`HttpRequest`], and so the route's match
//! info: [`PathParam`] picks the keys by one path parameter, such as
//! `{tenant}` in `/webhooks/{tenant}`. The extractor runs after routing, so it
//! sees every parameter of the route; the middleware sees those of the scope
//! or resource it wraps, and none when it wraps the whole `App`.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Arc;
//! use actix_web::{App, web};
//! use webhook_guard::actix::{PathParam, Webhook, WebhookConfig};
//! use webhook_guard::{KeySet, ResolveError, Verifier, resolver_fn};
//!
//! let tenants = Arc::new(HashMap::from([
//!     ("acme".to_owned(), KeySet::single("acme-store-key")),
//!     ("globex".to_owned(), KeySet::single("globex-store-key")),
//! ]));
//! let keys = PathParam::new("tenant", resolver_fn(move |tenant: &str| {
//!     let keys = tenants.get(tenant).cloned();
//!     async move { keys.ok_or(ResolveError::UnknownTenant) }
//! }));
//! let config = WebhookConfig::new(Verifier::builder(keys).build());
//!
//! async fn receive(tenant: web::Path<String>, webhook: Webhook) -> String {
//!     format!("{tenant}: {:?}", webhook.entity())
//! }
//!
//! let app = App::new()
//!     .app_data(config)
//!     .route("/webhooks/{tenant}", web::post().to(receive));
//! # let _ = app;
//! ```

mod config;
mod error;
mod extractor;
mod middleware;
mod path;
mod unread;

use std::future::{Future, poll_fn};
use std::pin::Pin;

use actix_web::HttpRequest;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, HeaderMap};
use futures_core::Stream;

use crate::deadline::read_within;
use crate::{Error, ErrorKind, HeaderSource, KeyResolver, VerifiedWebhook, Verifier};

/// actix-web 4 carries `http` 0.2 headers: the core takes the raw pairs,
/// every value of a repeated name included.
impl HeaderSource for actix_web::http::header::HeaderMap {
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8])) {
        for (name, value) in self.iter() {
            visit(name.as_str().as_bytes(), value.as_bytes());
        }
    }
}

pub use config::WebhookConfig;
pub use error::WebhookRejection;
pub use extractor::{Webhook, WebhookFuture};
pub use middleware::{VerifyWebhook, VerifyWebhookMiddleware};
pub use path::PathParam;

/// A boxed future that stays on its worker thread, as actix-web's are.
type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The outcome of [`verify_payload`] for a caller that gave up the payload: a
/// refusal comes with it, for [`unread`] to keep until the answer is sent.
type Verified = Result<VerifiedWebhook, (Error, Payload)>;

/// Verifies one request: its declared length against `limit` (413), its
/// `X-Webhook-*` headers (400), the keys for `req` (401, 503), then `payload`
/// streamed through the MAC under `limit` (413, 400) within
/// [`Verifier::body_timeout`] (408), and the signature (401).
///
/// `limit` can only lower [`Verifier::body_limit`]. A payload read to its end
/// is left as `Payload::None`: [`unread`] holds only what a refusal left.
async fn verify_payload<K>(
    verifier: &Verifier<K>,
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<VerifiedWebhook, Error>
where
    K: KeyResolver<HttpRequest>,
{
    let limit = limit.min(verifier.body_limit());
    let declared = declared_length(req.headers());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large("declared body length larger than the limit"));
    }
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let admitted = verifier.admit(req.headers().with_target(target))?;
    let resolved = verifier.resolve(req, &admitted).await?;
    // The verification lives in this block only: the future that asks the
    // replay guard does not keep room for it.
    let finishing = {
        let mut verification = verifier.start(admitted, resolved);
        if let Some(len) = declared.and_then(|len| usize::try_from(len).ok()) {
            verification.size_hint(len);
        }
        // Borrows the verification: it stays where it was built.
        let read = async {
            while let Some(chunk) = poll_fn(|cx| Pin::new(&mut *payload).poll_next(cx)).await {
                let chunk = chunk.map_err(payload_error)?;
                // `received` never exceeds `limit`: each chunk is checked before it counts.
                if chunk.len() > limit - verification.received() {
                    return Err(too_large("body larger than the limit"));
                }
                verification.update(chunk)?;
            }
            // Read to its end: nothing left for `unread` to hold.
            *payload = Payload::None;
            Ok(())
        };
        read_within(verifier.body_timeout(), read).await?;
        verification.finish()
    };
    finishing.await
}

/// `Content-Length`, when it is a number. actix-web has refused a malformed one already.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.trim().parse().ok())
}

fn too_large(detail: &'static str) -> Error {
    Error::new(ErrorKind::PayloadTooLarge, detail)
}

/// A payload that failed to arrive: 400, or 413 when actix-web stopped it
/// for going over one of its own size limits.
fn payload_error(error: PayloadError) -> Error {
    if matches!(error, PayloadError::Overflow) {
        return Error::with_source(
            ErrorKind::PayloadTooLarge,
            "payload cut off by a size limit",
            Box::new(error),
        );
    }
    tracing::debug!(%error, "webhook body could not be read");
    Error::with_source(
        ErrorKind::UnreadableBody,
        "body could not be read",
        Box::new(error),
    )
}
