//! What every sender's builder sets alike, written once: the clock, the
//! transport, the attempt timeout and the journal limit. A vendor's builder
//! holds a [`Delivering`] in its field `delivering` and gets the setters
//! from [`delivering_setters!`], each with the vendor's own doc comment.

use std::sync::Arc;
use std::time::Duration;

use super::target::Transport;
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
        }
    }
}

/// The builder methods `clock`, `http`, `service`, `attempt_timeout` and
/// `journal_limit`, setting the builder's `delivering: Delivering<_>`.
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
