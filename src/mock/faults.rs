//! The fault catalogue: what can go wrong with a delivery, on demand.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;

use crate::DEFAULT_BODY_LIMIT;

/// Something wrong with a delivery, applied on purpose so a test can see how
/// the receiver answers. Set on an [`Event`](super::Event) with
/// [`Event::fault`](super::Event::fault); every attempt of the delivery
/// carries it (a retry is signed afresh and spoiled again).
///
/// Each fault has a name for the command line (`webhook-guard send --fault
/// NAME`); the ones with a parameter take it after `=`:
///
/// ```
/// use std::time::Duration;
/// use webhook_guard::mock::Fault;
///
/// assert_eq!("stale-timestamp=301".parse(), Ok(Fault::StaleTimestamp { seconds: 301 }));
/// assert_eq!(
///     "slow-body=8,250".parse(),
///     Ok(Fault::SlowBody { chunk_size: 8, delay: Duration::from_millis(250) })
/// );
/// assert_eq!(Fault::DuplicatedSignature.to_string(), "duplicated-signature");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Signed with a key that is not the store key.
    WrongKey,
    /// One body byte changed after signing.
    TamperedBody,
    /// `X-Webhook-Timestamp` this many seconds in the past.
    StaleTimestamp {
        /// How old.
        seconds: u64,
    },
    /// `X-Webhook-Timestamp` this many seconds in the future.
    FutureTimestamp {
        /// How far ahead.
        seconds: u64,
    },
    /// Every header name in lower case on the wire (as HTTP/2 and many proxies
    /// send them). The signature is unchanged: the receiver must rebuild the
    /// vendor's case.
    LowercaseNames,
    /// No `X-Webhook-Signature`.
    MissingSignature,
    /// `X-Webhook-Signature` of the right length that is not base64.
    GarbledSignature,
    /// `X-Webhook-Signature` sent twice (the right value both times).
    DuplicatedSignature,
    /// Standard Webhooks only: a `v1` entry by a key the receiver does not
    /// hold, before the good ones in `webhook-signature`, as during a key
    /// rotation. API2Cart sends one signature, so its sender ignores it.
    ExtraBadSignature,
    /// A signed header changed after signing: `X-Webhook-Store-Id` gets one more digit.
    ChangedSignedHeader,
    /// The same request, byte for byte, sent twice, one after the other.
    DuplicateDelivery,
    /// The same request, byte for byte, sent twice at the same time.
    ConcurrentDuplicate,
    /// The `X-Webhook-*` headers on the wire in reverse order, signature first.
    ReorderedHeaders,
    /// A correctly signed body of exactly this many bytes.
    OversizedBody {
        /// The body length.
        bytes: usize,
    },
    /// The correctly signed body sent in chunks of `chunk_size` bytes with a
    /// pause of `delay` before each chunk after the first (chunked transfer
    /// encoding over HTTP/1.1; tokio's clock, so free under paused time).
    SlowBody {
        /// Bytes per chunk.
        chunk_size: usize,
        /// The pause before each chunk after the first.
        delay: Duration,
    },
}

/// Default parameters of the faults that take one, when named without it.
const DEFAULT_STALE_SECONDS: u64 = 3600;
const DEFAULT_SLOW_CHUNK: usize = 16;
const DEFAULT_SLOW_DELAY: Duration = Duration::from_millis(100);

impl Fault {
    /// Every fault's name, as `FromStr` reads it, with what it does; for help texts.
    pub const CATALOGUE: &'static [(&'static str, &'static str)] = &[
        ("wrong-key", "signed with a key that is not the store key"),
        ("tampered-body", "one body byte changed after signing"),
        (
            "stale-timestamp[=SECS]",
            "timestamp SECS in the past (default 3600)",
        ),
        (
            "future-timestamp[=SECS]",
            "timestamp SECS in the future (default 3600)",
        ),
        ("lowercase-names", "header names in lower case on the wire"),
        ("missing-signature", "no X-Webhook-Signature"),
        (
            "garbled-signature",
            "X-Webhook-Signature that is not base64",
        ),
        ("duplicated-signature", "X-Webhook-Signature sent twice"),
        (
            "extra-bad-signature",
            "Standard Webhooks: a bad signature entry before the good ones",
        ),
        (
            "changed-signed-header",
            "X-Webhook-Store-Id changed after signing",
        ),
        ("duplicate-delivery", "the same request sent twice in a row"),
        (
            "concurrent-duplicate",
            "the same request sent twice at once",
        ),
        (
            "reordered-headers",
            "X-Webhook-* headers in reverse order, signature first",
        ),
        (
            "oversized-body[=BYTES]",
            "a signed body of BYTES bytes (default 1 MiB + 1)",
        ),
        (
            "slow-body[=CHUNK,MILLIS]",
            "the body in CHUNK-byte chunks MILLIS ms apart (default 16,100)",
        ),
    ];

    /// The fault's name, without its parameter: `stale-timestamp`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::WrongKey => "wrong-key",
            Self::TamperedBody => "tampered-body",
            Self::StaleTimestamp { .. } => "stale-timestamp",
            Self::FutureTimestamp { .. } => "future-timestamp",
            Self::LowercaseNames => "lowercase-names",
            Self::MissingSignature => "missing-signature",
            Self::GarbledSignature => "garbled-signature",
            Self::DuplicatedSignature => "duplicated-signature",
            Self::ExtraBadSignature => "extra-bad-signature",
            Self::ChangedSignedHeader => "changed-signed-header",
            Self::DuplicateDelivery => "duplicate-delivery",
            Self::ConcurrentDuplicate => "concurrent-duplicate",
            Self::ReorderedHeaders => "reordered-headers",
            Self::OversizedBody { .. } => "oversized-body",
            Self::SlowBody { .. } => "slow-body",
        }
    }

    /// What it does, in words: `timestamp 301 s in the past`.
    pub fn describe(&self) -> String {
        match self {
            Self::WrongKey => "signed with another key".to_owned(),
            Self::TamperedBody => "one body byte changed after signing".to_owned(),
            Self::StaleTimestamp { seconds } => format!("timestamp {seconds} s in the past"),
            Self::FutureTimestamp { seconds } => format!("timestamp {seconds} s in the future"),
            Self::LowercaseNames => "header names in lower case".to_owned(),
            Self::MissingSignature => "signature header missing".to_owned(),
            Self::GarbledSignature => "signature not base64".to_owned(),
            Self::DuplicatedSignature => "signature header sent twice".to_owned(),
            Self::ExtraBadSignature => "a bad signature entry beside the good ones".to_owned(),
            Self::ChangedSignedHeader => "store id changed after signing".to_owned(),
            Self::DuplicateDelivery => "the same delivery twice in a row".to_owned(),
            Self::ConcurrentDuplicate => "the same delivery twice at once".to_owned(),
            Self::ReorderedHeaders => "X-Webhook-* headers reordered".to_owned(),
            Self::OversizedBody { bytes } => format!("signed body of {bytes} bytes"),
            Self::SlowBody { chunk_size, delay } => format!(
                "body in {chunk_size}-byte chunks {} ms apart",
                delay.as_millis()
            ),
        }
    }

    /// The chunk size and pause of a [`SlowBody`](Self::SlowBody) among
    /// `faults`, for [`WireRequest`](super::target::WireRequest)'s `slow`.
    pub(crate) fn slow_body(faults: &[Fault]) -> Option<(usize, Duration)> {
        faults.iter().find_map(|f| match f {
            Fault::SlowBody { chunk_size, delay } => Some((*chunk_size, *delay)),
            _ => None,
        })
    }

    /// How many identical copies of each attempt go out.
    pub(crate) fn copies(faults: &[Fault]) -> u32 {
        if faults
            .iter()
            .any(|f| matches!(f, Self::DuplicateDelivery | Self::ConcurrentDuplicate))
        {
            2
        } else {
            1
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Self::StaleTimestamp { seconds } | Self::FutureTimestamp { seconds } => {
                write!(f, "={seconds}")
            }
            Self::OversizedBody { bytes } => write!(f, "={bytes}"),
            Self::SlowBody { chunk_size, delay } => {
                write!(f, "={chunk_size},{}", delay.as_millis())
            }
            _ => Ok(()),
        }
    }
}

/// A fault name `FromStr` did not understand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFaultError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for ParseFaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}; known faults:", self.input, self.reason)?;
        for (name, _) in Fault::CATALOGUE {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseFaultError {}

impl FromStr for Fault {
    type Err = ParseFaultError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason| ParseFaultError {
            input: input.to_owned(),
            reason,
        };
        let (name, param) = match input.split_once('=') {
            Some((name, param)) => (name, Some(param)),
            None => (input, None),
        };
        let number = |param: &str| -> Result<u64, ParseFaultError> {
            if param.is_empty() || !param.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error("the parameter must be a whole number"));
            }
            param
                .parse()
                .map_err(|_| error("the parameter is too large"))
        };
        let no_param = |fault: Fault| match param {
            None => Ok(fault),
            Some(_) => Err(error("this fault takes no parameter")),
        };
        match name {
            "wrong-key" => no_param(Self::WrongKey),
            "tampered-body" => no_param(Self::TamperedBody),
            "lowercase-names" => no_param(Self::LowercaseNames),
            "missing-signature" => no_param(Self::MissingSignature),
            "garbled-signature" => no_param(Self::GarbledSignature),
            "duplicated-signature" => no_param(Self::DuplicatedSignature),
            "extra-bad-signature" => no_param(Self::ExtraBadSignature),
            "changed-signed-header" => no_param(Self::ChangedSignedHeader),
            "duplicate-delivery" => no_param(Self::DuplicateDelivery),
            "concurrent-duplicate" => no_param(Self::ConcurrentDuplicate),
            "reordered-headers" => no_param(Self::ReorderedHeaders),
            "stale-timestamp" => Ok(Self::StaleTimestamp {
                seconds: param.map_or(Ok(DEFAULT_STALE_SECONDS), number)?,
            }),
            "future-timestamp" => Ok(Self::FutureTimestamp {
                seconds: param.map_or(Ok(DEFAULT_STALE_SECONDS), number)?,
            }),
            "oversized-body" => {
                let bytes = match param {
                    None => DEFAULT_BODY_LIMIT + 1,
                    Some(param) => usize::try_from(number(param)?)
                        .map_err(|_| error("the parameter is too large"))?,
                };
                Ok(Self::OversizedBody { bytes })
            }
            "slow-body" => {
                let (chunk_size, delay) = match param {
                    None => (DEFAULT_SLOW_CHUNK, DEFAULT_SLOW_DELAY),
                    Some(param) => {
                        let (chunk, millis) = param
                            .split_once(',')
                            .ok_or_else(|| error("expected slow-body=CHUNK,MILLIS"))?;
                        let chunk = usize::try_from(number(chunk)?)
                            .map_err(|_| error("the parameter is too large"))?;
                        if chunk == 0 {
                            return Err(error("the chunk size must be at least 1"));
                        }
                        (chunk, Duration::from_millis(number(millis)?))
                    }
                };
                Ok(Self::SlowBody { chunk_size, delay })
            }
            _ => Err(error("unknown fault")),
        }
    }
}

/// `now` moved by the timestamp faults.
pub(crate) fn faulty_timestamp(now: i64, faults: &[Fault]) -> i64 {
    faults.iter().fold(now, |ts, fault| match fault {
        Fault::StaleTimestamp { seconds } => {
            ts.saturating_sub(i64::try_from(*seconds).unwrap_or(i64::MAX))
        }
        Fault::FutureTimestamp { seconds } => {
            ts.saturating_add(i64::try_from(*seconds).unwrap_or(i64::MAX))
        }
        _ => ts,
    })
}

/// `body`, or the padded body of an [`OversizedBody`](Fault::OversizedBody)
/// among `faults` (signed as any body is).
pub(crate) fn sized_body(body: &Bytes, faults: &[Fault]) -> Bytes {
    faults
        .iter()
        .find_map(|f| match f {
            Fault::OversizedBody { bytes } => Some(padded_body(*bytes)),
            _ => None,
        })
        .unwrap_or_else(|| body.clone())
}

/// A JSON body of exactly `len` bytes (`{"padding":"xxx..."}`), or `len`
/// bytes of `x` when too short for that.
fn padded_body(len: usize) -> Bytes {
    const OPEN: &[u8] = br#"{"padding":""#;
    const CLOSE: &[u8] = br#""}"#;
    let Some(fill) = len.checked_sub(OPEN.len() + CLOSE.len()) else {
        return Bytes::from(vec![b'x'; len]);
    };
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(OPEN);
    out.resize(OPEN.len() + fill, b'x');
    out.extend_from_slice(CLOSE);
    Bytes::from(out)
}

/// `body` with one byte changed: the first digit counts up (9 wraps to 0),
/// else the first letter changes case, else a space is added. JSON stays JSON.
pub(crate) fn tampered(body: &[u8]) -> Bytes {
    let mut out = body.to_vec();
    if let Some(digit) = out.iter_mut().find(|b| b.is_ascii_digit()) {
        *digit = if *digit == b'9' { b'0' } else { *digit + 1 };
    } else if let Some(letter) = out.iter_mut().find(|b| b.is_ascii_alphabetic()) {
        *letter ^= 0x20;
    } else {
        out.push(b' ');
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_bodies_have_the_exact_length() {
        for len in [0, 5, 13, 14, 15, 1000] {
            assert_eq!(padded_body(len).len(), len);
        }
        assert_eq!(&padded_body(16)[..], br#"{"padding":"xx"}"#);
        assert!(serde_json::from_slice::<serde_json::Value>(&padded_body(100)).is_ok());
    }

    #[test]
    fn every_fault_prints_back_what_it_parses() {
        let faults = [
            Fault::WrongKey,
            Fault::TamperedBody,
            Fault::StaleTimestamp { seconds: 300 },
            Fault::FutureTimestamp { seconds: 0 },
            Fault::LowercaseNames,
            Fault::MissingSignature,
            Fault::GarbledSignature,
            Fault::DuplicatedSignature,
            Fault::ExtraBadSignature,
            Fault::ChangedSignedHeader,
            Fault::DuplicateDelivery,
            Fault::ConcurrentDuplicate,
            Fault::ReorderedHeaders,
            Fault::OversizedBody { bytes: 7 },
            Fault::SlowBody {
                chunk_size: 3,
                delay: Duration::from_millis(20),
            },
        ];
        for fault in faults {
            assert_eq!(fault.to_string().parse::<Fault>(), Ok(fault.clone()));
            assert!(
                Fault::CATALOGUE
                    .iter()
                    .any(|(name, _)| name.starts_with(fault.name())),
                "{fault} missing from the catalogue"
            );
        }
    }

    #[test]
    fn names_without_parameters_take_defaults() {
        assert_eq!(
            "stale-timestamp".parse(),
            Ok(Fault::StaleTimestamp { seconds: 3600 })
        );
        assert_eq!(
            "oversized-body".parse(),
            Ok(Fault::OversizedBody {
                bytes: DEFAULT_BODY_LIMIT + 1
            })
        );
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for bad in [
            "",
            "nope",
            "wrong-key=1",
            "stale-timestamp=-1",
            "stale-timestamp=",
            "slow-body=0,10",
            "slow-body=5",
            "oversized-body=1e6",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert!(err.to_string().contains("known faults"), "{bad}: {err}");
        }
    }

    #[test]
    fn tampering_changes_exactly_one_byte() {
        assert_eq!(&tampered(br#"{"id":"86"}"#)[..], br#"{"id":"96"}"#);
        assert_eq!(&tampered(br#"{"id":"9"}"#)[..], br#"{"id":"0"}"#);
        assert_eq!(&tampered(br#"{"a":"b"}"#)[..], br#"{"A":"b"}"#);
        assert_eq!(&tampered(b"")[..], b" ");
    }

    #[test]
    fn timestamp_faults_move_now() {
        assert_eq!(
            faulty_timestamp(1000, &[Fault::StaleTimestamp { seconds: 300 }]),
            700
        );
        assert_eq!(
            faulty_timestamp(1000, &[Fault::FutureTimestamp { seconds: 301 }]),
            1301
        );
        assert_eq!(faulty_timestamp(1000, &[Fault::WrongKey]), 1000);
        assert_eq!(
            faulty_timestamp(0, &[Fault::StaleTimestamp { seconds: u64::MAX }]),
            i64::MIN + 1
        );
    }
}
