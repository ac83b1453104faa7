//! What every sender delivers with, written once: the clock, the
//! transport, the attempt timeout and the journal. A vendor's builder holds
//! a [`Delivering`] in its field `delivering` and gets the setters from
//! [`delivering_setters!`], each with the vendor's own doc comment; `build`
//! turns it into the [`Engine`] the vendor's policy delivers through.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::Uri;

use super::faults::Fault;
use super::journal::{
    Attempt, Expectations, Journal, ReceivedResponse, SentRequest, TransportFailure, Vendor,
};
use super::target::{Transport, WireRequest};
use crate::{Clock, SystemClock};

/// How a sender delivers, as its builder sets it.
///
/// `T` is [`Transport`], or `Option<Transport>` for a sender with no default
/// target (API2Cart's, whose `build` refuses to guess one); the setters go
/// through `From<Transport>`, which both have.
#[derive(Debug)]
pub(crate) struct Delivering<T = Transport> {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) transport: T,
    pub(crate) timeout: Duration,
    pub(crate) journal_limit: Option<usize>,
    /// A journal given to the builder, shared with other senders.
    pub(crate) journal: Option<Journal>,
}

impl<T> Delivering<T> {
    /// The system clock, `transport`, `timeout`, and a journal keeping
    /// everything.
    pub(crate) fn new(transport: T, timeout: Duration) -> Self {
        Self {
            clock: Arc::new(SystemClock),
            transport,
            timeout,
            journal_limit: None,
            journal: None,
        }
    }

    /// The same settings with `transport` (for a builder that resolves its
    /// own default target).
    pub(crate) fn with_transport<U>(self, transport: U) -> Delivering<U> {
        Delivering {
            clock: self.clock,
            transport,
            timeout: self.timeout,
            journal_limit: self.journal_limit,
            journal: self.journal,
        }
    }
}

impl Delivering {
    /// The engine `vendor`'s sender delivers through, and the expectations
    /// its handles share (checked when the last one is dropped).
    pub(crate) fn build(self, vendor: Vendor) -> (Engine, Arc<Expectations>) {
        let journal = self
            .journal
            .unwrap_or_else(|| Journal::bounded(self.journal_limit));
        let expectations = Arc::new(Expectations::new(vendor, journal.clone()));
        let engine = Engine {
            vendor,
            clock: self.clock,
            transport: self.transport,
            timeout: self.timeout,
            journal,
            next_delivery: AtomicU64::new(0),
        };
        (engine, expectations)
    }
}

/// What a built sender delivers with: its clock, transport, attempt
/// timeout and journal, and the numbering of its deliveries. The vendor's
/// policy decides what to send and when; this does the sending and the
/// recording alike for all of them.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) vendor: Vendor,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) transport: Transport,
    pub(crate) timeout: Duration,
    pub(crate) journal: Journal,
    next_delivery: AtomicU64,
}

impl Engine {
    /// The sender's clock, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The next delivery number, from 1.
    pub(crate) fn next_delivery(&self) -> u64 {
        self.next_delivery.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Puts `wire` on the transport within the sender's attempt timeout.
    pub(crate) async fn exchange(
        &self,
        uri: &Uri,
        url: &str,
        wire: &WireRequest,
        signed_string: Bytes,
        lowercase: bool,
    ) -> (
        SentRequest,
        Result<ReceivedResponse, TransportFailure>,
        Duration,
    ) {
        self.transport
            .exchange(uri, url, wire, signed_string, lowercase, self.timeout)
            .await
    }

    /// Records `attempt` as this vendor's and returns it numbered.
    pub(crate) fn record(&self, mut attempt: Attempt) -> Attempt {
        attempt.vendor = self.vendor;
        self.journal.record_attempt(attempt)
    }
}

/// The builder methods `clock`, `http`, `service`, `attempt_timeout`,
/// `journal_limit` and `journal`, setting the builder's
/// `delivering: Delivering<_>`.
///
/// Invoked inside the builder's `impl`, with each method's doc comment in
/// front of its name, so the docs stay the vendor's.
macro_rules! delivering_setters {
    (
        $(#[$clock:meta])* fn clock;
        $(#[$http:meta])* fn http;
        $(#[$service:meta])* fn service;
        $(#[$timeout:meta])* fn attempt_timeout;
        $(#[$limit:meta])* fn journal_limit;
    ) => {
        /// Records into `journal` rather than a journal of its own: give
        /// several senders (of any vendors) the same one to see all their
        /// attempts in one list, numbered in one sequence. Its limit is the
        /// journal's own ([`Journal::with_limit`](crate::mock::Journal::with_limit));
        /// this sender's `journal_limit` is then ignored.
        #[must_use]
        pub fn journal(mut self, journal: $crate::mock::Journal) -> Self {
            self.delivering.journal = Some(journal);
            self
        }

        $(#[$clock])*
        #[must_use]
        pub fn clock(mut self, clock: impl $crate::Clock) -> Self {
            self.delivering.clock = ::std::sync::Arc::new(clock);
            self
        }

        $(#[$http])*
        #[must_use]
        pub fn http(mut self) -> Self {
            self.delivering.transport =
                ::core::convert::From::from($crate::mock::target::Transport::Http);
            self
        }

        $(#[$service])*
        #[must_use]
        pub fn service<S, B>(mut self, service: S) -> Self
        where
            S: ::tower_service::Service<
                    ::http::Request<$crate::mock::MockBody>,
                    Response = ::http::Response<B>,
                > + Clone
                + Send
                + 'static,
            S::Future: Send + 'static,
            S::Error: Into<Box<dyn ::std::error::Error + Send + Sync>>,
            B: ::http_body::Body + Send + 'static,
            B::Data: Send,
            B::Error: Into<Box<dyn ::std::error::Error + Send + Sync>>,
        {
            self.delivering.transport = ::core::convert::From::from(
                $crate::mock::target::Transport::Service($crate::mock::target::erase(service)),
            );
            self
        }

        $(#[$timeout])*
        #[must_use]
        pub fn attempt_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.delivering.timeout = timeout;
            self
        }

        $(#[$limit])*
        #[must_use]
        pub fn journal_limit(mut self, limit: usize) -> Self {
            self.delivering.journal_limit = Some(limit);
            self
        }
    };
}

pub(crate) use delivering_setters;

/// Sends the copies of one attempt that `faults` ask for with `send(copy)`
/// (copy numbers from 1): one, or two for the duplicate faults, the two at
/// once for [`ConcurrentDuplicate`](Fault::ConcurrentDuplicate).
pub(crate) async fn send_copies<F, Fut>(faults: &[Fault], send: F) -> Vec<Fut::Output>
where
    F: Fn(u32) -> Fut,
    Fut: Future,
{
    match (
        Fault::copies(faults),
        faults.contains(&Fault::ConcurrentDuplicate),
    ) {
        (2, true) => {
            let (a, b) = join2(send(1), send(2)).await;
            vec![a, b]
        }
        (2, false) => vec![send(1).await, send(2).await],
        _ => vec![send(1).await],
    }
}

/// Runs two futures at once on this task.
async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(out) = a.as_mut().poll(cx)
        {
            ra = Some(out);
        }
        if rb.is_none()
            && let Poll::Ready(out) = b.as_mut().poll(cx)
        {
            rb = Some(out);
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (ra, rb) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}
