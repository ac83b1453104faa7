use std::borrow::Cow;
use std::future::Future;

use actix_web::HttpRequest;

use crate::{KeyResolver, KeySet, ResolveError};

/// A [`KeyResolver`] for the [`HttpRequest`] that names the tenant by a path
/// parameter of the matched route, such as `{tenant}` in
/// `/webhooks/{tenant}`, and asks a resolver for that tenant's keys.
///
/// The value is the one `req.match_info().get(name)` gives. A request whose
/// route has no such parameter, or whose value is empty, is an unknown tenant
/// (401) without asking the resolver. Behind the
/// [`VerifyWebhook`](super::VerifyWebhook) middleware, only the parameters of
/// the scope or resource it wraps are known yet (none when it wraps the `App`).
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use actix_web::{App, web};
/// use webhook_guard::actix::{PathParam, VerifyWebhook};
/// use webhook_guard::{KeySet, ResolveError, Verifier, resolver_fn};
///
/// let tenants = Arc::new(HashMap::from([
///     ("acme".to_owned(), KeySet::single("acme-store-key")),
///     ("globex".to_owned(), KeySet::single("globex-store-key")),
/// ]));
/// let keys = PathParam::new("tenant", resolver_fn(move |tenant: &str| {
///     let keys = tenants.get(tenant).cloned();
///     async move { keys.ok_or(ResolveError::UnknownTenant) }
/// }));
///
/// async fn receive(body: web::Bytes) -> &'static str {
///     "ok"
/// }
///
/// // POST /webhooks/{tenant}/products, verified with that tenant's keys.
/// let app = App::new().service(
///     web::scope("/webhooks/{tenant}")
///         .wrap(VerifyWebhook::new(Verifier::builder(keys).build()))
///         .route("/products", web::post().to(receive)),
/// );
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct PathParam<R> {
    name: Cow<'static, str>,
    resolver: R,
}

impl<R> PathParam<R> {
    /// Names the tenant by the path parameter `name` and asks `resolver`
    /// for its keys.
    pub fn new(name: impl Into<Cow<'static, str>>, resolver: R) -> Self {
        Self {
            name: name.into(),
            resolver,
        }
    }

    /// The name of the parameter that names the tenant.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tenant `req` is for, if its route has a non-empty parameter of that name.
    pub fn tenant<'r>(&self, req: &'r HttpRequest) -> Option<&'r str> {
        req.match_info()
            .get(&self.name)
            .filter(|value| !value.is_empty())
    }
}

impl<R: KeyResolver<str>> KeyResolver<HttpRequest> for PathParam<R> {
    fn resolve(
        &self,
        req: &HttpRequest,
    ) -> impl Future<Output = Result<KeySet, ResolveError>> + Send {
        // `HttpRequest` stays on its thread: the future owns the tenant's name.
        let tenant = self.tenant(req).map(str::to_owned);
        async move {
            match tenant {
                Some(tenant) => self.resolver.resolve(&tenant).await,
                None => Err(ResolveError::UnknownTenant),
            }
        }
    }
}
