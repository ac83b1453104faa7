use std::fmt;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{HttpRequest, web};

use super::error::{ErrorHandler, WebhookRejection, handler_name};
use super::{LocalFuture, Verified, verify_payload};
use crate::{KeyResolver, Verifier};

/// How the [`Webhook`](super::Webhook) extractor verifies deliveries: the
/// [`Verifier`] (its keys or key resolver, tolerance, body limit and replay
/// guard), an optional lower body limit, and an optional error handler.
///
/// Register it like actix-web's `JsonConfig`, with `app_data` on the `App`,
/// a scope or a resource; the innermost one applies. It is looked up as
/// `WebhookConfig`, then as `web::Data<WebhookConfig>`. Cheap to clone.
///
/// ```
/// use actix_web::{App, HttpResponse, error, web};
/// use webhook_guard::actix::{Webhook, WebhookConfig, WebhookRejection};
/// use webhook_guard::{KeySet, Verifier};
///
/// let config = WebhookConfig::new(Verifier::new(KeySet::single("store-key")))
///     // Deliveries to these routes are small.
///     .limit(64 * 1024)
///     // The same statuses, as JSON.
///     .error_handler(|rejection: WebhookRejection, _req| {
///         let body = serde_json::json!({ "error": rejection.body_text() });
///         let response = HttpResponse::build(rejection.status()).json(body);
///         error::InternalError::from_response(rejection, response).into()
///     });
///
/// async fn receive(webhook: Webhook) -> &'static str {
///     "ok"
/// }
///
/// let app = App::new().service(
///     web::resource("/webhooks").app_data(config).route(web::post().to(receive)),
/// );
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct WebhookConfig {
    verifier: Arc<dyn VerifyRequest>,
    limit: Option<usize>,
    error_handler: Option<ErrorHandler>,
}

impl WebhookConfig {
    /// Verifies deliveries with `verifier`. Its key source sees the
    /// [`HttpRequest`], so a resolver can pick a tenant's keys by path or match
    /// info (see [`PathParam`](super::PathParam)); a [`KeySet`](crate::KeySet)
    /// ignores it.
    pub fn new<K>(verifier: Verifier<K>) -> Self
    where
        K: KeyResolver<HttpRequest>,
    {
        Self {
            verifier: Arc::new(verifier),
            limit: None,
            error_handler: None,
        }
    }

    /// Refuses bodies over `limit` bytes with 413. The verifier's own
    /// [`body_limit`](Verifier::body_limit) still applies: the smaller of the
    /// two wins.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Builds the error for a refused request with `f` instead of answering
    /// with the [`WebhookRejection`] itself.
    ///
    /// `f` sees every refusal of the extractor: deliveries that did not
    /// verify and verified payloads that did not deserialize. Keep the
    /// response as uninformative as the default: say which class of failure
    /// ([`WebhookRejection::status`], [`WebhookRejection::body_text`]), never
    /// which key or byte; [`Error::detail`](crate::Error::detail) is for logs. The same function can
    /// serve [`VerifyWebhook::error_handler`](super::VerifyWebhook::error_handler).
    #[must_use]
    pub fn error_handler<F>(mut self, f: F) -> Self
    where
        F: Fn(WebhookRejection, &HttpRequest) -> actix_web::Error + Send + Sync + 'static,
    {
        self.error_handler = Some(Arc::new(f));
        self
    }

    /// The largest body accepted, in bytes: the smaller of
    /// [`limit`](Self::limit) and the verifier's limit.
    pub fn body_limit(&self) -> usize {
        let verifier = self.verifier.body_limit();
        self.limit.map_or(verifier, |limit| limit.min(verifier))
    }

    /// The config for `req`: `WebhookConfig`, then `web::Data<WebhookConfig>`.
    pub(crate) fn from_req(req: &HttpRequest) -> Option<&Self> {
        req.app_data::<Self>()
            .or_else(|| req.app_data::<web::Data<Self>>().map(|data| data.get_ref()))
    }

    pub(crate) fn handler(&self) -> Option<&ErrorHandler> {
        self.error_handler.as_ref()
    }

    /// Verifies `req` and its `payload`.
    pub(crate) fn verify(&self, req: HttpRequest, payload: Payload) -> LocalFuture<Verified> {
        self.verifier.verify(req, payload, self.body_limit())
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("verifier", &self.verifier)
            .field("limit", &self.limit)
            .field("error_handler", &handler_name(self.error_handler.as_ref()))
            .finish()
    }
}

/// A [`Verifier`] whose key source is no longer part of its type, so that the
/// extractor, which cannot name it, finds it in the app data.
trait VerifyRequest: fmt::Debug + Send + Sync + 'static {
    fn body_limit(&self) -> usize;

    fn verify(&self, req: HttpRequest, payload: Payload, limit: usize) -> LocalFuture<Verified>;
}

impl<K: KeyResolver<HttpRequest>> VerifyRequest for Verifier<K> {
    fn body_limit(&self) -> usize {
        Verifier::body_limit(self)
    }

    fn verify(
        &self,
        req: HttpRequest,
        mut payload: Payload,
        limit: usize,
    ) -> LocalFuture<Verified> {
        let verifier = self.clone();
        Box::pin(async move {
            verify_payload(&verifier, &req, &mut payload, limit)
                .await
                .map_err(|error| (error, payload))
        })
    }
}
