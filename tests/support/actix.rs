//! actix-web receivers on loopback, and the tenant verifier the actix tests
//! put behind them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::HttpRequest;
use webhook_guard::actix::PathParam;
use webhook_guard::{
    InMemoryReplayGuard, KeyResolver, KeySet, ManualClock, ResolveError, Verifier, resolver_fn,
};

use super::{KEY, NOW};

/// The body limit of [`tenant_verifier`].
pub const LIMIT: usize = 256;

/// A verifier for the route `/webhooks/{tenant}`: tenant `acme` signs with
/// [`KEY`], tenant `down` has a key store that fails (503), any other tenant
/// is unknown (401). The clock stands at [`NOW`], the limit is [`LIMIT`],
/// replays are refused. `lookups` counts the resolver's calls.
pub fn tenant_verifier(lookups: Arc<AtomicUsize>) -> Verifier<impl KeyResolver<HttpRequest>> {
    let tenants = Arc::new(HashMap::from([("acme".to_owned(), KeySet::single(KEY))]));
    let resolver = resolver_fn(move |tenant: &str| {
        lookups.fetch_add(1, Ordering::SeqCst);
        let found = match tenant {
            "down" => Err(ResolveError::unavailable("key store timed out")),
            tenant => tenants
                .get(tenant)
                .cloned()
                .ok_or(ResolveError::UnknownTenant),
        };
        async move { found }
    });
    Verifier::builder(PathParam::new("tenant", resolver))
        .clock(ManualClock::new(NOW))
        .body_limit(LIMIT)
        .replay_guard(InMemoryReplayGuard::new())
        .build()
}

/// An actix-web server on a fresh loopback port, one worker, run on the
/// current actix system. Stop it with [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
}

impl TestServer {
    /// Stops the server and waits for its worker to end.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Serves the app factory `$factory` (as for `HttpServer::new`) on loopback.
#[macro_export]
macro_rules! serve_actix {
    ($factory:expr) => {{
        let server = actix_web::HttpServer::new($factory)
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(("127.0.0.1", 0))
            .expect("bind loopback");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        $crate::support::actix::TestServer { addr, handle }
    }};
}
