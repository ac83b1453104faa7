use std::fmt;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::layer::{OnRejection, rejection_name};
use super::{BoxError, ResponseBody, ResponseFuture, VerifiedBody, VerifyWebhookLayer};
use crate::{KeyResolver, KeySet, Verifier};

/// Middleware that passes on only deliveries its [`Verifier`] accepts, with
/// the [`VerifiedWebhook`](crate::VerifiedWebhook) in the request extensions
/// and the verified bytes as a [`VerifiedBody`].
///
/// See the [module docs](super) for the behaviour and an example.
pub struct VerifyWebhook<S, K = KeySet> {
    inner: S,
    verifier: Verifier<K>,
    on_rejection: OnRejection,
}

impl<S, K> VerifyWebhook<S, K> {
    /// Wraps `inner` so that it sees only deliveries `verifier` accepts.
    pub fn new(inner: S, verifier: Verifier<K>) -> Self {
        Self::from_parts(inner, verifier, None)
    }

    pub(crate) fn from_parts(inner: S, verifier: Verifier<K>, on_rejection: OnRejection) -> Self {
        Self {
            inner,
            verifier,
            on_rejection,
        }
    }

    /// A [`VerifyWebhookLayer`] with `verifier`.
    pub fn layer(verifier: Verifier<K>) -> VerifyWebhookLayer<K> {
        VerifyWebhookLayer::new(verifier)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, giving up the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier<K> {
        &self.verifier
    }
}

impl<S: Clone, K> Clone for VerifyWebhook<S, K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            verifier: self.verifier.clone(),
            on_rejection: self.on_rejection.clone(),
        }
    }
}

impl<S: fmt::Debug, K> fmt::Debug for VerifyWebhook<S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyWebhook")
            .field("inner", &self.inner)
            .field("verifier", &self.verifier)
            .field("on_rejection", &rejection_name(&self.on_rejection))
            .finish()
    }
}

impl<S, K, ReqBody, ResBody> Service<Request<ReqBody>> for VerifyWebhook<S, K>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone,
    K: KeyResolver<Parts>,
    ReqBody: Body + Send + 'static,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (parts, body) = req.into_parts();
        let prepared = match super::prepare(&self.verifier, &parts, &body) {
            Ok(prepared) => prepared,
            Err(error) => return ResponseFuture::rejected(&error, self.on_rejection.as_deref()),
        };
        // The ready service goes with this request; a clone waits for the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let verification = Box::pin(async move {
            let result = super::verify_body(&verifier, &parts, prepared, body).await;
            (parts, result)
        });
        ResponseFuture::verifying(verification, inner, self.on_rejection.clone())
    }
}
