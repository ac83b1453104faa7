//! `webhook-guard verify`: the verdict on a captured delivery.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use webhook_guard::capture::HeaderPair;
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::up42::{Up42, parse_signature_input};
use webhook_guard::{
    Action, Clock, DEFAULT_TOLERANCE, Entity, Error, ErrorKind, ManualClock, SystemClock,
    VerifiedWebhook, Verifier, names,
};

use crate::input::{is_stdin, parse_header_file, read_bytes};
use crate::recipe::{SchemeArg, SecretArgs, key_set};
use crate::{CliError, EXIT_OK, EXIT_REFUSED, Outcome};

/// Check a captured delivery: exit 0 valid, 1 refused, 2 usage or I/O error.
///
/// Prints the verdict and the event (recipe, matched key, timestamp, body
/// length; for API2Cart entity, action, store id and error notice; for the
/// other recipes the signed headers), or why the delivery was refused
/// (message, HTTP status, detail).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signing recipe
    #[arg(long, value_enum, default_value_t = SchemeArg::Api2cart)]
    scheme: SchemeArg,

    /// Secrets to accept (repeat any form for rotation); reported as
    /// secret-1, secret-2, ... in the order given
    #[command(flatten)]
    secrets: SecretArgs,

    /// Raw header lines, 'Name: value' one per line, names in any case,
    /// other headers allowed (`-` for stdin)
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "request_file",
        requires = "body_file"
    )]
    headers_file: Option<PathBuf>,

    /// The exact body bytes (`-` for stdin)
    #[arg(long, value_name = "FILE", requires = "headers_file")]
    body_file: Option<PathBuf>,

    /// The whole request in one file instead (`-` for stdin): an optional
    /// request line, the header lines, an empty line, then the exact body
    /// bytes to the end of the file (as `serve`'s dashboard exports it)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["headers_file", "body_file"])]
    request_file: Option<PathBuf>,

    /// Refuse a timestamp more than SECS from now [default: 300]
    #[arg(long, value_name = "SECS", conflicts_with = "no_tolerance")]
    tolerance: Option<u64>,

    /// Accept any timestamp (old captures only; never on a live receiver)
    #[arg(long)]
    no_tolerance: bool,

    /// Refuse an API2Cart delivery without X-Webhook-Timestamp (the other
    /// recipes always require their timestamp)
    #[arg(long)]
    require_timestamp: bool,

    /// UP42: accept a signature that covers no digest of the body (the body
    /// is then not authenticated)
    #[arg(long)]
    danger_accept_unsigned_body: bool,

    /// Judge freshness as if now were SECONDS (Unix time) [default: the system clock]
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    now: Option<i64>,

    /// Refuse a body larger than BYTES (413), as a receiver with that limit
    /// would [default: no limit; the capture is already in memory]
    #[arg(long, value_name = "BYTES")]
    body_limit: Option<usize>,
}

/// Reads the delivery, verifies it, and describes the verdict.
pub fn run(args: &VerifyArgs) -> Result<Outcome, CliError> {
    let (pairs, body) = match (&args.request_file, &args.headers_file, &args.body_file) {
        (Some(request), _, _) => {
            let text = read_bytes(request, "request file")?;
            let (head, body) = split_request(&text).ok_or_else(|| {
                CliError::new(format!(
                    "request file {}: no empty line between the headers and the body",
                    request.display()
                ))
            })?;
            (
                parse_header_file(head, request)?,
                Bytes::copy_from_slice(body),
            )
        }
        (None, Some(headers), Some(body)) => {
            if is_stdin(headers) && is_stdin(body) {
                return Err(CliError::new(
                    "only one of --headers-file and --body-file can be `-` (stdin)",
                ));
            }
            let header_text = read_bytes(headers, "headers file")?;
            let pairs = parse_header_file(&header_text, headers)?;
            (pairs, Bytes::from(read_bytes(body, "body file")?))
        }
        _ => {
            return Err(CliError::new(
                "give --request-file, or --headers-file with --body-file",
            ));
        }
    };
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let tolerance = tolerance(args);
    let verdict = judge(args.scheme, pairs, body, &verifier(args, tolerance, now)?);
    Ok(describe(&verdict, now, tolerance))
}

/// The head (request line and header lines) and the body of a whole
/// request: split at the first empty line (`\r\n\r\n`, or `\n\n` in a file
/// edited by hand); the body is every byte after it.
fn split_request(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = text
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| (at, 4));
    let lf = text.windows(2).position(|w| w == b"\n\n").map(|at| (at, 2));
    let (at, len) = match (crlf, lf) {
        (Some(c), Some(l)) => {
            if c.0 <= l.0 {
                c
            } else {
                l
            }
        }
        (c, l) => c.or(l)?,
    };
    Some((&text[..at], &text[at + len..]))
}

/// What the verifier said.
enum Verdict {
    Valid(VerifiedWebhook),
    Refused {
        error: Error,
        /// The signed timestamp, when it was sent and is an integer.
        timestamp: Option<i64>,
    },
}

fn judge(scheme: SchemeArg, pairs: Vec<HeaderPair>, body: Bytes, verifier: &Verifier) -> Verdict {
    // The verifier does no I/O: its future completes on the first poll.
    match futures_executor::block_on(verifier.verify(&pairs, body)) {
        Ok(event) => Verdict::Valid(event),
        Err(error) => Verdict::Refused {
            error,
            timestamp: sent_timestamp(scheme, &pairs),
        },
    }
}

/// The timestamp the delivery claims, for the report on a stale one.
fn sent_timestamp(scheme: SchemeArg, pairs: &[HeaderPair]) -> Option<i64> {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    };
    let digits = |v: &[u8]| std::str::from_utf8(v).ok()?.parse().ok();
    match scheme {
        SchemeArg::Api2cart => value(names::TIMESTAMP).and_then(digits),
        SchemeArg::Standard => value("webhook-timestamp").and_then(digits),
        SchemeArg::Up42 => {
            parse_signature_input(value("signature-input")?)
                .ok()?
                .created
        }
    }
}

/// The tolerance in seconds, `None` when switched off.
fn tolerance(args: &VerifyArgs) -> Option<u64> {
    if args.no_tolerance {
        None
    } else {
        Some(args.tolerance.unwrap_or(DEFAULT_TOLERANCE.as_secs()))
    }
}

/// The verifier the arguments describe, with its clock standing at `now`.
fn verifier(args: &VerifyArgs, tolerance: Option<u64>, now: i64) -> Result<Verifier, CliError> {
    if args.danger_accept_unsigned_body && args.scheme != SchemeArg::Up42 {
        return Err(CliError::new(
            "--danger-accept-unsigned-body applies to --scheme up42 only",
        ));
    }
    let keys = key_set(args.scheme, &args.secrets.all()?)?;
    let builder = Verifier::builder(keys)
        .require_timestamp(args.require_timestamp)
        .body_limit(args.body_limit.unwrap_or(usize::MAX))
        .clock(ManualClock::new(now));
    let builder = match args.scheme {
        SchemeArg::Api2cart => builder,
        SchemeArg::Standard => builder.scheme(StandardWebhooks::new()),
        SchemeArg::Up42 if args.danger_accept_unsigned_body => {
            builder.scheme(Up42::new().danger_accept_unsigned_body())
        }
        SchemeArg::Up42 => builder.scheme(Up42::new()),
    };
    Ok(match tolerance {
        Some(seconds) => builder.tolerance(Duration::from_secs(seconds)),
        None => builder.danger_accept_any_timestamp(),
    }
    .build())
}

fn describe(verdict: &Verdict, now: i64, tolerance: Option<u64>) -> Outcome {
    match verdict {
        Verdict::Valid(event) => Outcome {
            text: describe_event(event, now, tolerance),
            status: EXIT_OK,
        },
        Verdict::Refused { error, timestamp } => Outcome {
            text: describe_refusal(error, *timestamp, now, tolerance),
            status: EXIT_REFUSED,
        },
    }
}

fn describe_event(event: &VerifiedWebhook, now: i64, tolerance: Option<u64>) -> String {
    if event.scheme() != "api2cart" {
        return describe_signed_event(event, now, tolerance);
    }
    let entity = event
        .entity()
        .map(|e| known_or_not(e.as_str(), matches!(e, Entity::Other(_))));
    let action = event
        .action()
        .map(|a| known_or_not(a.as_str(), matches!(a, Action::Other(_))));
    let store_id = event.store_id().map(|s| shown(s.as_str()).into_owned());
    [
        field("verdict", "valid"),
        field("key", event.key_id().as_str()),
        field("entity", &or_not_sent(entity)),
        field("action", &or_not_sent(action)),
        field("store id", &or_not_sent(store_id)),
        field(
            "timestamp",
            &timestamp_text(event.timestamp(), now, tolerance),
        ),
        field("error notice", &error_notice_text(event)),
        field("body", &format!("{} bytes", event.body().len())),
    ]
    .concat()
}

/// A delivery of a recipe other than API2Cart: its signed headers.
fn describe_signed_event(event: &VerifiedWebhook, now: i64, tolerance: Option<u64>) -> String {
    let mut lines = vec![
        field("verdict", "valid"),
        field("scheme", event.scheme()),
        field("key", event.key_id().as_str()),
        field(
            "timestamp",
            &timestamp_text(event.timestamp(), now, tolerance),
        ),
    ];
    lines.extend(
        event
            .signed_headers()
            .map(|(name, value)| field("signed", &format!("{name}: {}", shown(value)))),
    );
    let authenticated = if event.body_authenticated() {
        "signed"
    } else {
        "NOT signed (--danger-accept-unsigned-body)"
    };
    lines.push(field(
        "body",
        &format!("{} bytes, {authenticated}", event.body().len()),
    ));
    lines.concat()
}

fn describe_refusal(
    error: &Error,
    timestamp: Option<i64>,
    now: i64,
    tolerance: Option<u64>,
) -> String {
    let mut lines = vec![
        field("verdict", "refused"),
        field("reason", error.kind().public_message()),
        field("status", &error.status().to_string()),
        field("detail", error.detail()),
    ];
    if error.kind() == ErrorKind::TimestampOutsideTolerance {
        lines.push(field(
            "timestamp",
            &timestamp_text(timestamp, now, tolerance),
        ));
    }
    lines.concat()
}

/// One `label: value` line, values aligned.
fn field(label: &str, value: &str) -> String {
    format!("{:<14}{value}\n", format!("{label}:"))
}

fn or_not_sent(value: Option<String>) -> String {
    value.unwrap_or_else(|| "(not sent)".to_owned())
}

fn known_or_not(value: &str, unknown: bool) -> String {
    if unknown {
        format!("{} (unknown to this version)", shown(value))
    } else {
        value.to_owned()
    }
}

/// The timestamp, how old it is at `now`, and the tolerance it was held to.
fn timestamp_text(timestamp: Option<i64>, now: i64, tolerance: Option<u64>) -> String {
    let Some(timestamp) = timestamp else {
        return "(not sent)".to_owned();
    };
    let age = i128::from(now) - i128::from(timestamp);
    let age = if age >= 0 {
        format!("age {age} s")
    } else {
        format!("{} s in the future", -age)
    };
    let tolerance = match tolerance {
        Some(seconds) => format!("tolerance {seconds} s"),
        None => "tolerance off".to_owned(),
    };
    format!("{timestamp} ({age} at now {now}; {tolerance})")
}

fn error_notice_text(event: &VerifiedWebhook) -> String {
    let Some(notice) = event.error_notice() else {
        return "none".to_owned();
    };
    let mut text = format!("code {}", shown(&notice.code));
    if let Some(reason) = &notice.reason {
        text.push_str(&format!(", reason {reason:?}"));
    }
    if let Some(message) = &notice.message {
        text.push_str(&format!(", message {message:?}"));
    }
    if let Some(count) = notice.try_count {
        text.push_str(&format!(", try count {count}"));
    }
    text
}

/// Header text as it can go to a terminal: control characters (escape
/// sequences included) are shown escaped and quoted.
fn shown(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(format!("{text:?}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::split_request;

    #[test]
    fn a_request_splits_at_its_first_empty_line() {
        let (head, body) =
            split_request(b"POST / HTTP/1.1\r\nA: b\r\n\r\nbody\r\n\r\nmore").unwrap();
        assert_eq!(
            (head, body),
            (&b"POST / HTTP/1.1\r\nA: b"[..], &b"body\r\n\r\nmore"[..])
        );
        let (head, body) = split_request(b"A: b\n\n{}").unwrap();
        assert_eq!((head, body), (&b"A: b"[..], &b"{}"[..]));
        assert_eq!(
            split_request(b"A: b\r\n\r\n"),
            Some((&b"A: b"[..], &b""[..]))
        );
        assert_eq!(split_request(b"A: b\r\n"), None);
    }
}
