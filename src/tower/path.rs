use std::future::Future;

use http::request::Parts;

use crate::{KeyResolver, KeySet, ResolveError};

/// A [`KeyResolver`] for the request [`Parts`] that names the tenant by one
/// segment of the path and asks a resolver for that tenant's keys.
///
/// Segments are counted from 0 after the leading `/`: in `/webhooks/acme`,
/// segment 0 is `webhooks` and segment 1 is `acme`. The segment is passed as it
/// appears in the path, not percent-decoded. A path too short to have the
/// segment, or an empty segment, is an unknown tenant (401) without asking
/// the resolver.
///
/// The path is the one the middleware sees: behind axum's `Router::nest`, the
/// nested prefix has been stripped from it.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use webhook_guard::tower::{PathSegment, VerifyWebhookLayer};
/// use webhook_guard::{KeySet, ResolveError, Verifier, resolver_fn};
///
/// let tenants = Arc::new(HashMap::from([
///     ("acme".to_owned(), KeySet::single("acme-store-key")),
///     ("globex".to_owned(), KeySet::single("globex-store-key")),
/// ]));
/// // POST /webhooks/{tenant}
/// let keys = PathSegment::new(1, resolver_fn(move |tenant: &str| {
///     let keys = tenants.get(tenant).cloned();
///     async move { keys.ok_or(ResolveError::UnknownTenant) }
/// }));
/// let layer = VerifyWebhookLayer::new(Verifier::builder(keys).build());
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct PathSegment<R> {
    index: usize,
    resolver: R,
}

impl<R> PathSegment<R> {
    /// Names the tenant by path segment `index` and asks `resolver` for its keys.
    pub fn new(index: usize, resolver: R) -> Self {
        Self { index, resolver }
    }

    /// Which segment names the tenant.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The tenant's segment of `path`, if it has a non-empty one.
    pub fn tenant<'p>(&self, path: &'p str) -> Option<&'p str> {
        path.strip_prefix('/')
            .unwrap_or(path)
            .split('/')
            .nth(self.index)
            .filter(|segment| !segment.is_empty())
    }
}

impl<R: KeyResolver<str>> KeyResolver<Parts> for PathSegment<R> {
    fn resolve(&self, parts: &Parts) -> impl Future<Output = Result<KeySet, ResolveError>> + Send {
        let tenant = self.tenant(parts.uri.path());
        async move {
            match tenant {
                Some(tenant) => self.resolver.resolve(tenant).await,
                None => Err(ResolveError::UnknownTenant),
            }
        }
    }
}
