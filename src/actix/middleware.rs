use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{HttpMessage, HttpRequest};

use super::error::{ErrorHandler, WebhookRejection, handler_name, respond};
use super::unread::hold_in_response;
use super::{LocalFuture, verify_payload};
use crate::error::log_refusal;
use crate::{KeyResolver, KeySet, Verifier};

/// Middleware that lets through only deliveries its [`Verifier`] accepts, for
/// `App::wrap`, `Scope::wrap` or `Resource::wrap`.
///
/// Each request is verified before any handler runs, as the
/// [`Webhook`](super::Webhook) extractor does it (see the [module
/// docs](super)): 413 on an oversized `Content-Length` without reading the
/// body, the header checks and key resolution before any body byte, then the
/// payload streamed through the MAC under [`Verifier::body_limit`].
///
/// A verified request goes on with the
/// [`VerifiedWebhook`](crate::VerifiedWebhook) in its extensions and the
/// verified bytes as its payload, so the handler can take `web::Bytes`,
/// `web::Json<T>`, `web::ReqData<VerifiedWebhook>` or
/// [`Webhook<T>`](super::Webhook), which takes the middleware's result rather
/// than verifying again. Those extractors keep their own limits: `web::Bytes`
/// refuses bodies over `web::PayloadConfig`'s (256 KiB unless set). The
/// payload is the verified buffer itself, one chunk, never copied (read it
/// as `web::Payload`, or use the event's `body()`); `web::Bytes` is actix's
/// extractor, which gathers into a buffer of its own.
///
/// A refused request never reaches the wrapped service: it is answered with
/// the status of the [status table](crate) and a short `text/plain` body
/// ([`WebhookRejection::Refused`]), or whatever
/// [`error_handler`](Self::error_handler) makes of it, and logged to
/// `tracing` (`debug`; `warn` for 503).
///
/// The key source sees the [`HttpRequest`]. Wrapping the `App`, the
/// middleware runs before routing, so the match info is still empty; to pick
/// keys by a path parameter ([`PathParam`](super::PathParam)), wrap the scope
/// or resource whose path has it.
///
/// ```
/// use actix_web::{App, http::StatusCode, test, web};
/// use webhook_guard::actix::VerifyWebhook;
/// use webhook_guard::{KeySet, SignedHeaders, Signer, Verifier};
///
/// // Only verified deliveries get here, with the body as it was sent.
/// async fn receive(body: web::Bytes) -> &'static str {
///     assert_eq!(body, r#"{"id":"42"}"#);
///     "ok"
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new().service(
///         web::scope("/webhooks")
///             .wrap(VerifyWebhook::new(Verifier::new(KeySet::single("store-key"))))
///             .route("/orders", web::post().to(receive)),
///     ),
/// )
/// .await;
///
/// let body = r#"{"id":"42"}"#;
/// let signed = SignedHeaders::from_pairs([("X-Webhook-Entity", "order")])?;
/// let signature = Signer::new("store-key").sign(&signed, body.as_bytes());
/// let request = test::TestRequest::post()
///     .uri("/webhooks/orders")
///     .insert_header(("X-Webhook-Entity", "order"))
///     .insert_header(("X-Webhook-Signature", signature))
///     .set_payload(body)
///     .to_request();
/// assert_eq!(test::call_service(&app, request).await.status(), StatusCode::OK);
///
/// // No signature: refused before the handler.
/// let request = test::TestRequest::post().uri("/webhooks/orders").set_payload(body).to_request();
/// assert_eq!(test::call_service(&app, request).await.status(), StatusCode::UNAUTHORIZED);
/// # Ok::<_, webhook_guard::Error>(())
/// # }).unwrap();
/// ```
pub struct VerifyWebhook<K = KeySet> {
    verifier: Verifier<K>,
    error_handler: Option<ErrorHandler>,
}

impl<K> VerifyWebhook<K> {
    /// Middleware that verifies deliveries with `verifier` (its key source,
    /// body limit, tolerance and replay guard).
    pub fn new(verifier: Verifier<K>) -> Self {
        Self {
            verifier,
            error_handler: None,
        }
    }

    /// Builds the error for a refused delivery with `f` instead of answering
    /// with the [`WebhookRejection`] itself; `f` always receives
    /// [`WebhookRejection::Refused`].
    ///
    /// Whatever `f` returns, the wrapped service is not called. Keep the
    /// response as uninformative as the default: say which class of failure,
    /// never which key or byte; [`Error::detail`](crate::Error::detail) is for
    /// logs. The same function can serve
    /// [`WebhookConfig::error_handler`](super::WebhookConfig::error_handler).
    ///
    /// ```
    /// use actix_web::{HttpResponse, error, http::header};
    /// use webhook_guard::actix::{VerifyWebhook, WebhookRejection};
    /// use webhook_guard::{ErrorKind, KeySet, Verifier};
    ///
    /// let middleware = VerifyWebhook::new(Verifier::new(KeySet::single("store-key")))
    ///     .error_handler(|rejection: WebhookRejection, _req| {
    ///         let mut response = HttpResponse::build(rejection.status());
    ///         let unavailable = rejection
    ///             .verification_error()
    ///             .is_some_and(|error| error.kind() == ErrorKind::Unavailable);
    ///         if unavailable {
    ///             // Ask the sender to come back later.
    ///             response.insert_header((header::RETRY_AFTER, "30"));
    ///         }
    ///         let response = response.body(rejection.body_text());
    ///         error::InternalError::from_response(rejection, response).into()
    ///     });
    /// # let _ = middleware;
    /// ```
    #[must_use]
    pub fn error_handler<F>(mut self, f: F) -> Self
    where
        F: Fn(WebhookRejection, &HttpRequest) -> actix_web::Error + Send + Sync + 'static,
    {
        self.error_handler = Some(Arc::new(f));
        self
    }

    /// The verifier the middleware uses.
    pub fn verifier(&self) -> &Verifier<K> {
        &self.verifier
    }
}

impl<K> Clone for VerifyWebhook<K> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            error_handler: self.error_handler.clone(),
        }
    }
}

impl<K> fmt::Debug for VerifyWebhook<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyWebhook")
            .field("verifier", &self.verifier)
            .field("error_handler", &handler_name(self.error_handler.as_ref()))
            .finish()
    }
}

impl<S, B, K> Transform<S, ServiceRequest> for VerifyWebhook<K>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
    K: KeyResolver<HttpRequest>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = VerifyWebhookMiddleware<S, K>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(VerifyWebhookMiddleware {
            inner: Rc::new(Inner {
                service,
                verifier: self.verifier.clone(),
                error_handler: self.error_handler.clone(),
            }),
        }))
    }
}

/// The service [`VerifyWebhook`] wraps around an app, scope or resource.
///
/// Its response body is the wrapped service's (`EitherBody::Left`) or the
/// rejection's (`EitherBody::Right`).
pub struct VerifyWebhookMiddleware<S, K = KeySet> {
    inner: Rc<Inner<S, K>>,
}

struct Inner<S, K> {
    service: S,
    verifier: Verifier<K>,
    error_handler: Option<ErrorHandler>,
}

impl<S, K> fmt::Debug for VerifyWebhookMiddleware<S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyWebhookMiddleware")
            .field("verifier", &self.inner.verifier)
            .field(
                "error_handler",
                &handler_name(self.inner.error_handler.as_ref()),
            )
            .finish_non_exhaustive()
    }
}

impl<S, B, K> Service<ServiceRequest> for VerifyWebhookMiddleware<S, K>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
    K: KeyResolver<HttpRequest>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.service.poll_ready(cx)
    }

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let inner = Rc::clone(&self.inner);
        Box::pin(async move {
            let mut payload = req.parts_mut().1.take();
            let verified =
                verify_payload(&inner.verifier, req.request(), &mut payload, usize::MAX).await;
            match verified {
                Ok(event) => {
                    let body = event.body().clone();
                    req.set_payload(if body.is_empty() {
                        Payload::None
                    } else {
                        Payload::from(body)
                    });
                    req.extensions_mut().insert(event);
                    let response = inner.service.call(req).await?;
                    Ok(response.map_into_left_body())
                }
                Err(error) => {
                    log_refusal(&error);
                    let rejection = WebhookRejection::Refused(error);
                    let error = respond(rejection, inner.error_handler.as_ref(), req.request());
                    let response = hold_in_response(req.error_response(error), payload);
                    Ok(response.map_into_right_body())
                }
            }
        })
    }
}
