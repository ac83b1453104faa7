use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use tower_layer::Layer;

use super::VerifyWebhook;
use crate::{Error, KeySet, Verifier};

/// A hook that builds the response for a refused delivery.
pub(crate) type RejectFn = dyn Fn(&Error) -> Response<Bytes> + Send + Sync;

/// The hook of a layer; `None` means [`default_rejection`](super::default_rejection).
pub(crate) type OnRejection = Option<Arc<RejectFn>>;

/// Applies [`VerifyWebhook`] to a service: only deliveries that `verifier`
/// accepts reach it.
///
/// See the [module docs](super) for the behaviour and an example.
pub struct VerifyWebhookLayer<K = KeySet> {
    verifier: Verifier<K>,
    on_rejection: OnRejection,
}

impl<K> VerifyWebhookLayer<K> {
    /// A layer that verifies deliveries with `verifier` (its key source, body
    /// limit, tolerance and replay guard).
    pub fn new(verifier: Verifier<K>) -> Self {
        Self {
            verifier,
            on_rejection: None,
        }
    }

    /// Builds the response for a refused delivery with `f` instead of
    /// [`default_rejection`](super::default_rejection).
    ///
    /// Whatever `f` returns, the inner service is not called. Keep the body
    /// as uninformative as the default: say which class of failure
    /// ([`Error::kind`]), never which key or byte. [`Error::detail`] is for logs.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::{HeaderValue, header};
    /// use webhook_guard::tower::{VerifyWebhookLayer, default_rejection};
    /// use webhook_guard::{ErrorKind, KeySet, Verifier};
    ///
    /// let layer = VerifyWebhookLayer::new(Verifier::new(KeySet::single("store-key")))
    ///     .on_rejection(|error| {
    ///         if error.kind() == ErrorKind::Unavailable {
    ///             // Ask the sender to come back later.
    ///             let mut response = default_rejection(error);
    ///             response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    ///             return response;
    ///         }
    ///         // The same status, as JSON.
    ///         let json = format!(r#"{{"error":"{}"}}"#, error.kind().public_message());
    ///         let mut response = default_rejection(error).map(|_| Bytes::from(json));
    ///         response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    ///         response
    ///     });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn on_rejection<F>(mut self, f: F) -> Self
    where
        F: Fn(&Error) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.on_rejection = Some(Arc::new(f));
        self
    }

    /// The verifier the layer uses.
    pub fn verifier(&self) -> &Verifier<K> {
        &self.verifier
    }
}

impl<K> Clone for VerifyWebhookLayer<K> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            on_rejection: self.on_rejection.clone(),
        }
    }
}

impl<K> fmt::Debug for VerifyWebhookLayer<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyWebhookLayer")
            .field("verifier", &self.verifier)
            .field("on_rejection", &rejection_name(&self.on_rejection))
            .finish()
    }
}

pub(crate) fn rejection_name(on_rejection: &OnRejection) -> &'static str {
    match on_rejection {
        Some(_) => "custom",
        None => "default",
    }
}

impl<S, K> Layer<S> for VerifyWebhookLayer<K> {
    type Service = VerifyWebhook<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyWebhook::from_parts(inner, self.verifier.clone(), self.on_rejection.clone())
    }
}
