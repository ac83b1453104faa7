//! `webhook-guard verify`: the verdict on a captured delivery.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use webhook_guard::{
    Action, Clock, DEFAULT_BODY_LIMIT, DEFAULT_TOLERANCE, DeliveryHeaders, Entity, Error,
    ErrorKind, KeySet, ManualClock, SigningKey, SystemClock, VerifiedWebhook, Verifier, names,
};

use webhook_guard::capture::HeaderPair;

use crate::input::{is_stdin, parse_header_file, read_bytes};
use crate::{CliError, EXIT_OK, EXIT_REFUSED, Outcome};

/// Check a captured delivery: exit 0 valid, 1 refused, 2 usage or I/O error.
///
/// Prints the verdict and the event (matched key, entity, action, store id,
/// timestamp, error notice, body length), or why the delivery was refused
/// (message, HTTP status, detail).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A store key to accept; repeat it for rotation. Keys are reported as
    /// secret-1, secret-2, ... in the order given
    #[arg(long = "secret", value_name = "KEY", required = true)]
    secrets: Vec<String>,

    /// Raw header lines, 'Name: value' one per line, names in any case,
    /// other headers allowed (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    headers_file: PathBuf,

    /// The exact body bytes (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    body_file: PathBuf,

    /// Refuse a timestamp more than SECS from now [default: 300]
    #[arg(long, value_name = "SECS", conflicts_with = "no_tolerance")]
    tolerance: Option<u64>,

    /// Accept any timestamp (old captures only; never on a live receiver)
    #[arg(long)]
    no_tolerance: bool,

    /// Refuse a delivery without X-Webhook-Timestamp
    #[arg(long)]
    require_timestamp: bool,

    /// Judge freshness as if now were SECONDS (Unix time) [default: the system clock]
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    now: Option<i64>,

    /// Refuse a body larger than BYTES (413)
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_BODY_LIMIT)]
    body_limit: usize,
}

/// Reads the delivery, verifies it, and describes the verdict.
pub fn run(args: &VerifyArgs) -> Result<Outcome, CliError> {
    if is_stdin(&args.headers_file) && is_stdin(&args.body_file) {
        return Err(CliError::new(
            "only one of --headers-file and --body-file can be `-` (stdin)",
        ));
    }
    let header_text = read_bytes(&args.headers_file, "headers file")?;
    let pairs = parse_header_file(&header_text, &args.headers_file)?;
    let body = Bytes::from(read_bytes(&args.body_file, "body file")?);
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let tolerance = tolerance(args);
    let verdict = judge(pairs, body, &verifier(args, tolerance, now));
    Ok(describe(&verdict, now, tolerance))
}

/// What the verifier said.
enum Verdict {
    Valid(VerifiedWebhook),
    Refused {
        error: Error,
        /// `X-Webhook-Timestamp`, when it was sent and is an integer.
        timestamp: Option<i64>,
    },
}

fn judge(pairs: Vec<HeaderPair>, body: Bytes, verifier: &Verifier) -> Verdict {
    let headers = match DeliveryHeaders::from_pairs(pairs) {
        Ok(headers) => headers,
        Err(error) => {
            return Verdict::Refused {
                error,
                timestamp: None,
            };
        }
    };
    let timestamp = headers
        .signed()
        .get(names::TIMESTAMP)
        .and_then(|t| t.parse().ok());
    // The verifier does no I/O: its future completes on the first poll.
    match futures_executor::block_on(verifier.verify(headers, body)) {
        Ok(event) => Verdict::Valid(event),
        Err(error) => Verdict::Refused { error, timestamp },
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
fn verifier(args: &VerifyArgs, tolerance: Option<u64>, now: i64) -> Verifier {
    let keys = args
        .secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| SigningKey::new(format!("secret-{}", i + 1), secret));
    let builder = Verifier::builder(KeySet::from_keys(keys))
        .require_timestamp(args.require_timestamp)
        .body_limit(args.body_limit)
        .clock(ManualClock::new(now));
    match tolerance {
        Some(seconds) => builder.tolerance(Duration::from_secs(seconds)),
        None => builder.danger_accept_any_timestamp(),
    }
    .build()
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
