//! `webhook-guard send`: one event delivered to a receiver as the vendor
//! delivers it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use http::StatusCode;
use webhook_guard::mock::{
    Attempt, Delivery, DeliveryOutcome, Event, Fault, MockSender, TransportFailureKind, post_once,
};
use webhook_guard::{Action, Clock, Entity, SystemClock, canonical_name, names};

use crate::input::{parse_header_arg, read_bytes};
use crate::recipe::{
    SchemeArg, SecretArgs, add_standard_signature, add_up42_signature, signing_key,
};
use crate::{CliError, EXIT_OK, EXIT_REFUSED, Outcome};

/// Deliver one event: exit 0 delivered, 1 not, 2 usage error.
///
/// API2Cart (the default) is played as the vendor delivers: signed with the
/// store key over the X-Webhook-* headers and the body, POSTed over HTTP/1.1
/// with the vendor's header case (X-Webhook-Store-Id), only 200 counts as
/// delivered, one retry with a fresh timestamp. Prints each attempt (status,
/// latency), or the whole journal entry with --json.
///
/// --scheme up42 and --scheme standard sign one POST as `sign` does (no
/// retry; 2xx counts as delivered); --unsigned POSTs the body to the URL
/// exactly as given, as AmeriCommerce does, so a token in the URL is what
/// the receiver checks.
#[derive(Debug, Args)]
#[command(after_long_help = fault_help())]
pub struct SendArgs {
    /// The receiver's URL (http:// only)
    #[arg(long, value_name = "URL")]
    url: String,

    /// The signing recipe
    #[arg(long, value_enum, default_value_t = SchemeArg::Api2cart)]
    scheme: SchemeArg,

    /// Send without any signature (no secret needed), as AmeriCommerce does
    #[arg(long, conflicts_with_all = ["secrets", "secret_files", "secret_envs", "faults"])]
    unsigned: bool,

    /// The secret to sign with (exactly one)
    #[command(flatten)]
    secret: SecretArgs,

    /// API2Cart: X-Webhook-Entity (product, order, customer, category, ...)
    #[arg(long, value_name = "ENTITY", required_if_eq("scheme", "api2cart"))]
    entity: Option<String>,

    /// API2Cart: X-Webhook-Action (add, update, delete, ...)
    #[arg(long, value_name = "ACTION", required_if_eq("scheme", "api2cart"))]
    action: Option<String>,

    /// X-Webhook-Store-Id
    #[arg(long, value_name = "ID", default_value = "1")]
    store_id: String,

    /// The body, as text, sent byte for byte [default: empty]
    #[arg(long, value_name = "JSON", conflicts_with = "body_file")]
    body: Option<String>,

    /// Read the body byte for byte from FILE (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,

    /// One more header, 'Name: value'; repeat for more. X-Webhook-* headers
    /// are signed; one the vendor sends anyway (X-Webhook-Error-Code, ...)
    /// takes this value
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,

    /// Spoil the delivery on purpose (see the list below); repeat to combine
    #[arg(long = "fault", value_name = "NAME[=VALUE]", value_parser = parse_fault)]
    faults: Vec<Fault>,

    /// Print the delivery and every attempt (exact request, answer,
    /// latency) as JSON instead of one line per attempt
    #[arg(long)]
    json: bool,

    /// How long an attempt may take
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
}

fn parse_fault(text: &str) -> Result<Fault, String> {
    text.parse()
        .map_err(|e: webhook_guard::mock::ParseFaultError| e.to_string())
}

fn fault_help() -> String {
    let mut help = String::from("Faults (--fault):\n");
    for (name, what) in Fault::CATALOGUE {
        let _ = writeln!(help, "  {name:<26} {what}");
    }
    help.push_str("\nExit status: 0 delivered, 1 not delivered, 2 usage or I/O error.");
    help
}

/// Sends the event and describes every attempt.
pub fn run(args: &SendArgs) -> Result<Outcome, CliError> {
    let headers = args
        .headers
        .iter()
        .map(|arg| parse_header_arg(arg))
        .collect::<Result<Vec<_>, _>>()?;
    check_headers(&headers)?;
    let body = match (&args.body, &args.body_file) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(path)) => read_bytes(path, "body file")?,
        (None, None) => Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    if args.unsigned || args.scheme != SchemeArg::Api2cart {
        if !args.faults.is_empty() {
            return Err(CliError::new("--fault applies to --scheme api2cart only"));
        }
        return send_once(args, headers, body, &runtime);
    }
    let (Some(entity), Some(action)) = (&args.entity, &args.action) else {
        return Err(CliError::new(
            "--scheme api2cart needs --entity and --action",
        ));
    };
    let sender = MockSender::builder(args.secret.one()?)
        .url(&args.url)
        .store_id(&args.store_id)
        .attempt_timeout(Duration::from_secs(args.timeout.max(1)))
        .build()
        .map_err(|e| CliError::new(format!("--url: {e}")))?;
    let mut event = Event::new(Entity::parse(entity), Action::parse(action)).body_bytes(body);
    for (name, value) in headers {
        event = event.header(name, value);
    }
    for fault in &args.faults {
        // API2Cart sends one signature: a fault its sender ignores would
        // send a sound delivery the caller believes spoiled.
        if *fault == Fault::ExtraBadSignature {
            return Err(CliError::new(
                "--fault extra-bad-signature is a Standard Webhooks fault; \
                 API2Cart sends one signature",
            ));
        }
        event = event.fault(fault.clone());
    }
    let delivery = runtime.block_on(sender.send(event));
    // Nothing was sent: the request could not be built from what was given.
    if let Some(failure) = delivery
        .attempts()
        .iter()
        .filter_map(Attempt::failure)
        .find(|f| f.kind() == TransportFailureKind::InvalidRequest)
    {
        return Err(CliError::new(format!("cannot send: {failure}")));
    }
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&delivery.to_json())
            .map_err(|e| CliError::new(format!("cannot print JSON: {e}")))?;
        json.push('\n');
        json
    } else {
        describe(&delivery)
    };
    Ok(Outcome {
        text,
        status: if delivery.is_delivered() {
            EXIT_OK
        } else {
            EXIT_REFUSED
        },
    })
}

/// One POST signed with the UP42 or Standard Webhooks recipe, or unsigned.
fn send_once(
    args: &SendArgs,
    mut headers: Vec<(String, String)>,
    body: Vec<u8>,
    runtime: &tokio::runtime::Runtime,
) -> Result<Outcome, CliError> {
    if !args.unsigned {
        let key = signing_key(args.scheme, "signer", &args.secret.one()?)?;
        let now = SystemClock.now();
        match args.scheme {
            SchemeArg::Up42 => add_up42_signature(&key, &mut headers, &body, now),
            SchemeArg::Standard => {
                let id = format!("msg_{now}_{}", body.len());
                add_standard_signature(&key, &mut headers, id, now, &body);
            }
            SchemeArg::Api2cart => unreachable!("API2Cart is sent by the mock sender"),
        }
    }
    let timeout = Duration::from_secs(args.timeout.max(1));
    let (result, latency) =
        runtime.block_on(post_once(&args.url, headers, Bytes::from(body), timeout));
    let latency = latency.as_millis();
    match result {
        Ok(response) => {
            let delivered = (200..300).contains(&response.status());
            Ok(Outcome {
                text: format!(
                    "attempt 1: {} in {latency} ms\n{}\n",
                    response.status(),
                    if delivered {
                        "delivered"
                    } else {
                        "not delivered"
                    }
                ),
                status: if delivered { EXIT_OK } else { EXIT_REFUSED },
            })
        }
        Err(failure) if failure.kind() == TransportFailureKind::InvalidRequest => {
            Err(CliError::new(format!("cannot send: {failure}")))
        }
        Err(failure) => Ok(Outcome {
            text: format!("attempt 1: no response after {latency} ms: {failure}\nnot delivered\n"),
            status: EXIT_REFUSED,
        }),
    }
}

/// Refuses headers the sender computes itself, and the same name twice.
fn check_headers(headers: &[(String, String)]) -> Result<(), CliError> {
    for (index, (name, _)) in headers.iter().enumerate() {
        if headers[..index]
            .iter()
            .any(|(earlier, _)| earlier.eq_ignore_ascii_case(name))
        {
            return Err(CliError::new(format!("{name} given more than once")));
        }
        if canonical_name(name).as_deref() == Some(names::SIGNATURE) {
            return Err(CliError::new(
                "X-Webhook-Signature is computed; do not pass it with --header (see --fault)",
            ));
        }
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            return Err(CliError::new(format!(
                "{name} is computed from the body; do not pass it with --header"
            )));
        }
    }
    Ok(())
}

/// One line per attempt, then the verdict.
fn describe(delivery: &Delivery) -> String {
    let mut text = String::new();
    for attempt in delivery.attempts() {
        let copy = if attempt.copy() > 1 {
            format!(" (copy {})", attempt.copy())
        } else {
            String::new()
        };
        let latency = attempt.latency().as_millis();
        let answer = match (attempt.response(), attempt.failure()) {
            (Some(response), _) => {
                let status = response.status();
                let reason = StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default();
                let body = response.text();
                let body = body.trim();
                let body = if body.is_empty() || body.len() > 80 || body.contains('\n') {
                    String::new()
                } else {
                    format!(": {}", body.escape_debug())
                };
                format!("{status}{reason} in {latency} ms{body}")
            }
            (None, Some(failure)) => format!("no response after {latency} ms: {failure}"),
            (None, None) => format!("no response after {latency} ms"),
        };
        let _ = writeln!(text, "attempt {}{copy}: {answer}", attempt.number());
    }
    match delivery.outcome() {
        DeliveryOutcome::Delivered { attempt } => {
            let _ = writeln!(text, "delivered on attempt {attempt}");
        }
        _ => {
            let tries = delivery.attempts().last().map_or(0, Attempt::number);
            let _ = writeln!(
                text,
                "not delivered after {tries} attempts: only 200 counts (the vendor would list it in account.failed_webhooks)"
            );
        }
    }
    text
}
