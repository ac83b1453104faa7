//! The body deadline the framework adapters read under: a body that is not
//! complete in time is refused with 408, so a client that trickles its body
//! or goes quiet cannot hold a buffer (up to the body limit) for as long as it
//! likes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::{Error, ErrorKind};

/// Runs `read` (an adapter's body loop) for at most `timeout`, counted from
/// this call: 408 ([`ErrorKind::BodyTimeout`]) once it elapses.
///
/// The timer is Tokio's. Outside a Tokio runtime there is none to arm, so
/// `read` runs unbounded rather than panic, with a warning the first time.
///
/// A plain future rather than an `async fn`: an `async fn` would keep `read`
/// twice, as its argument and inside the timer, and the adapters' read loops
/// carry a whole body's worth of state.
pub(crate) fn read_within<T, F>(timeout: Duration, read: F) -> ReadWithin<F>
where
    F: Future<Output = Result<T, Error>>,
{
    if tokio::runtime::Handle::try_current().is_err() {
        warn_no_runtime();
        return ReadWithin::Unbounded { read };
    }
    ReadWithin::Bounded {
        read: tokio::time::timeout(timeout, read),
        timeout,
    }
}

pin_project! {
    /// The future [`read_within`] returns.
    #[project = ReadWithinProj]
    pub(crate) enum ReadWithin<F> {
        Bounded {
            #[pin]
            read: tokio::time::Timeout<F>,
            timeout: Duration,
        },
        Unbounded {
            #[pin]
            read: F,
        },
    }
}

impl<T, F> Future for ReadWithin<F>
where
    F: Future<Output = Result<T, Error>>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ReadWithinProj::Bounded { read, timeout } => match ready!(read.poll(cx)) {
                Ok(result) => Poll::Ready(result),
                Err(_elapsed) => {
                    tracing::debug!(?timeout, "webhook body not complete before the deadline");
                    Poll::Ready(Err(Error::new(
                        ErrorKind::BodyTimeout,
                        "body not complete before the deadline",
                    )))
                }
            },
            ReadWithinProj::Unbounded { read } => read.poll(cx),
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
