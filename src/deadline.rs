//! The body deadline the framework adapters read under: a body that is not
//! complete in time is refused with 408, so a client that trickles its body
//! or goes quiet cannot hold a buffer (up to the body limit) for as long as it
//! likes.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{Error, ErrorKind};

/// Runs `read` (an adapter's body loop) for at most `timeout`, counted from
/// this call: 408 ([`ErrorKind::BodyTimeout`]) once it elapses.
///
/// The timer is Tokio's. Outside a Tokio runtime there is none to arm, so
/// `read` runs unbounded rather than panic, with a warning the first time.
pub(crate) async fn read_within<T>(
    timeout: Duration,
    read: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    if tokio::runtime::Handle::try_current().is_err() {
        warn_no_runtime();
        return read.await;
    }
    match tokio::time::timeout(timeout, read).await {
        Ok(result) => result,
        Err(_elapsed) => {
            tracing::debug!(?timeout, "webhook body not complete before the deadline");
            Err(Error::new(
                ErrorKind::BodyTimeout,
                "body not complete before the deadline",
            ))
        }
    }
}

/// Once per process: a receiver that runs outside Tokio should hear that its
/// bodies have no deadline, but not once per delivery.
fn warn_no_runtime() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "no Tokio runtime: webhook bodies are read without the body timeout \
             (Verifier::body_timeout needs Tokio's timer)"
        );
    }
}
