//! One error type for every refusal, mapped onto the status table a receiver answers.

use std::error::Error as StdError;
use std::fmt;

/// Why a delivery was refused. Each kind maps to one HTTP status (see [`ErrorKind::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A header the recipe reads is sent twice, is not UTF-8, or does not
    /// parse (e.g. the timestamp is not an integer). 400.
    MalformedHeaders,
    /// The recipe's signature header is missing. 401.
    MissingSignature,
    /// The signature is not base64, has the wrong length, or matches no key;
    /// a covered body digest differs from the body; a URL token is missing
    /// or wrong. 401.
    ///
    /// These cases are deliberately one kind: the caller learns nothing about
    /// which byte or which key failed.
    InvalidSignature,
    /// The recipe (or the verifier) requires a timestamp and none was sent. 401.
    MissingTimestamp,
    /// The signed timestamp is further from now than the tolerance. 401.
    TimestampOutsideTolerance,
    /// The same signed delivery was already accepted inside the window. 401.
    Replayed,
    /// The signature covers neither the body nor a digest of it, so anyone who
    /// saw one delivery could send any body under it. 401. (UP42 only: see
    /// [`Up42::danger_accept_unsigned_body`](crate::up42::Up42::danger_accept_unsigned_body).)
    BodyNotSigned,
    /// The key resolver knows no keys for this tenant. 401.
    UnknownTenant,
    /// The key resolver or the replay store failed; the sender should retry. 503.
    Unavailable,
    /// The body is larger than the configured limit. 413.
    PayloadTooLarge,
    /// The body did not arrive in full within
    /// [`Verifier::body_timeout`](crate::Verifier::body_timeout): the client
    /// trickled it or went quiet. Raised by the framework adapters. 408.
    BodyTimeout,
    /// The request body could not be read: the connection failed or its
    /// framing was invalid. Raised by the framework adapters, never by the
    /// verifier itself. 400.
    UnreadableBody,
}

impl ErrorKind {
    /// The HTTP status a receiver answers with.
    pub const fn status(self) -> u16 {
        match self {
            Self::MalformedHeaders | Self::UnreadableBody => 400,
            Self::MissingSignature
            | Self::InvalidSignature
            | Self::MissingTimestamp
            | Self::TimestampOutsideTolerance
            | Self::Replayed
            | Self::BodyNotSigned
            | Self::UnknownTenant => 401,
            Self::BodyTimeout => 408,
            Self::PayloadTooLarge => 413,
            Self::Unavailable => 503,
        }
    }

    /// A short text safe to send back to the client: it names the class of
    /// failure and nothing about keys, MACs or which byte differed.
    pub const fn public_message(self) -> &'static str {
        match self {
            Self::MalformedHeaders => "malformed webhook headers",
            Self::MissingSignature => "missing webhook signature",
            Self::InvalidSignature => "invalid webhook signature",
            Self::MissingTimestamp => "missing webhook timestamp",
            Self::TimestampOutsideTolerance => "webhook timestamp outside tolerance",
            Self::Replayed => "webhook already delivered",
            Self::BodyNotSigned => "webhook body not signed",
            Self::UnknownTenant => "unknown webhook tenant",
            Self::Unavailable => "webhook verification unavailable",
            Self::PayloadTooLarge => "webhook body too large",
            Self::BodyTimeout => "webhook body not received in time",
            Self::UnreadableBody => "unreadable webhook body",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.public_message())
    }
}

/// A refused delivery.
///
/// `Display` prints only [`ErrorKind::public_message`]. [`Error::detail`] says a
/// little more for logs (e.g. "signature is not base64") and never holds key or
/// MAC bytes; the same detail is emitted as a `tracing` event where it is found.
pub struct Error {
    kind: ErrorKind,
    detail: &'static str,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, detail: &'static str) -> Self {
        Self {
            kind,
            detail,
            source: None,
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        detail: &'static str,
        source: Box<dyn StdError + Send + Sync>,
    ) -> Self {
        Self {
            kind,
            detail,
            source: Some(source),
        }
    }

    /// The class of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status to answer, per the status table.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// A fixed description of the precise cause, for logs only: response bodies
    /// should carry [`ErrorKind::public_message`].
    pub fn detail(&self) -> &'static str {
        self.detail
    }
}

/// A refusal found by the verifier or a recipe, logged at debug where found.
pub(crate) fn refuse(kind: ErrorKind, detail: &'static str) -> Error {
    tracing::debug!(status = kind.status(), detail, "webhook refused");
    Error::new(kind, detail)
}

/// One `tracing` event per refused delivery, for the framework adapters:
/// `warn` when a store failed (the sender will retry; an operator should
/// look), `debug` otherwise.
#[cfg(any(feature = "tower", feature = "actix"))]
pub(crate) fn log_refusal(error: &Error) {
    if error.kind() == ErrorKind::Unavailable {
        tracing::warn!(
            status = error.status(),
            kind = ?error.kind(),
            detail = error.detail(),
            "webhook delivery rejected"
        );
    } else {
        tracing::debug!(
            status = error.status(),
            kind = ?error.kind(),
            detail = error.detail(),
            "webhook delivery rejected"
        );
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("detail", &self.detail)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}
