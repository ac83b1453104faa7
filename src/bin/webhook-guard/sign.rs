//! `webhook-guard sign`: the header block of a delivery signed as the vendor signs it.

use std::path::PathBuf;

use clap::Args;
use sha2::{Digest as _, Sha256};
use webhook_guard::{Clock, SignedHeaders, Signer, SystemClock, canonical_name, names, standard};

use crate::input::{header_line, parse_header_arg, read_bytes};
use crate::recipe::{
    SchemeArg, SecretArgs, add_standard_signature, add_up42_signature, signing_key,
};
use crate::{CliError, EXIT_OK, Outcome};

/// Print the headers of a signed delivery, one `Name: value` line each.
///
/// API2Cart: X-Webhook-* headers first, in vendor case and signing order, then
/// the other headers as given (not signed), then X-Webhook-Signature last.
/// UP42: the headers as given, then Content-Digest of the body, all of them
/// listed in Signature-Input (created = --timestamp, default now), then
/// Signature. Standard Webhooks: the headers as given (not signed), then
/// webhook-id, webhook-timestamp (default now) and webhook-signature. An empty
/// value is printed `Name;`, which is how curl sends an empty header. Send it
/// with: curl -H @headers.txt --data-binary @body.json URL
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signing recipe
    #[arg(long, value_enum, default_value_t = SchemeArg::Api2cart)]
    scheme: SchemeArg,

    /// The secret to sign with (exactly one)
    #[command(flatten)]
    secret: SecretArgs,

    /// A header, 'Name: value' (name in any case); repeat for more.
    /// API2Cart signs the X-Webhook-* ones, UP42 all of them, Standard
    /// Webhooks none
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,

    /// Standard Webhooks: the webhook-id [default: msg_ and a digest of
    /// the timestamp and body]
    #[arg(long, value_name = "ID")]
    id: Option<String>,

    /// The body, as text [default: empty]
    #[arg(long, value_name = "TEXT", conflicts_with = "body_file")]
    body: Option<String>,

    /// Read the body byte for byte from FILE (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,

    /// The signed timestamp, `now` or Unix seconds: API2Cart adds
    /// X-Webhook-Timestamp only when given; UP42 (created) and Standard
    /// Webhooks always sign one [default: now]
    #[arg(long, value_name = "now|SECONDS", value_parser = parse_timestamp)]
    timestamp: Option<Timestamp>,
}

/// The value of `--timestamp`.
#[derive(Clone, Copy, Debug)]
enum Timestamp {
    Now,
    At(i64),
}

fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    match text {
        "now" => Ok(Timestamp::Now),
        _ => unix_seconds(text)
            .map(Timestamp::At)
            .ok_or_else(|| "expected `now` or Unix seconds (digits only)".to_owned()),
    }
}

/// Unix seconds as the verifier reads them: ASCII digits only, within `i64`.
fn unix_seconds(text: &str) -> Option<i64> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// Signs the delivery and returns its header block.
pub fn run(args: &SignArgs) -> Result<Outcome, CliError> {
    let headers = args
        .headers
        .iter()
        .map(|arg| parse_header_arg(arg))
        .collect::<Result<Vec<_>, _>>()?;
    if args.id.is_some() && args.scheme != SchemeArg::Standard {
        return Err(CliError::new("--id applies to --scheme standard only"));
    }
    let text = match args.scheme {
        SchemeArg::Api2cart => sign_api2cart(args, headers)?,
        SchemeArg::Up42 => sign_up42(args, headers)?,
        SchemeArg::Standard => sign_standard(args, headers)?,
    };
    Ok(Outcome {
        text,
        status: EXIT_OK,
    })
}

/// UP42: every given header and a Content-Digest of the body, listed in
/// that order.
fn sign_up42(args: &SignArgs, mut headers: Vec<(String, String)>) -> Result<String, CliError> {
    refuse_computed(
        &headers,
        &["content-digest", "signature-input", "signature"],
    )?;
    let body = body_bytes(args)?;
    let key = signing_key(SchemeArg::Up42, "signer", &args.secret.one()?)?;
    let created = timestamp_value(args.timestamp.unwrap_or(Timestamp::Now));
    let created: i64 = created.parse().unwrap_or_default();
    add_up42_signature(&key, &mut headers, &body, created);
    Ok(lines(&headers))
}

/// Standard Webhooks: the given headers (unsigned), then the three of the spec.
fn sign_standard(args: &SignArgs, mut headers: Vec<(String, String)>) -> Result<String, CliError> {
    refuse_computed(
        &headers,
        &[
            standard::names::ID,
            standard::names::TIMESTAMP,
            standard::names::SIGNATURE,
        ],
    )?;
    let body = body_bytes(args)?;
    let key = signing_key(SchemeArg::Standard, "signer", &args.secret.one()?)?;
    let timestamp = timestamp_value(args.timestamp.unwrap_or(Timestamp::Now));
    let id = args.id.clone().unwrap_or_else(|| {
        let digest = Sha256::new()
            .chain_update(timestamp.as_bytes())
            .chain_update(&body)
            .finalize();
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("msg_{hex}")
    });
    let seconds: i64 = timestamp.parse().unwrap_or_default();
    add_standard_signature(&key, &mut headers, id, seconds, &body);
    Ok(lines(&headers))
}

/// Refuses, given with --header, a header the recipe computes.
fn refuse_computed(headers: &[(String, String)], computed: &[&str]) -> Result<(), CliError> {
    match headers
        .iter()
        .find(|(name, _)| computed.iter().any(|c| c.eq_ignore_ascii_case(name)))
    {
        Some((name, _)) => Err(CliError::new(format!(
            "{name} is computed; do not pass it with --header"
        ))),
        None => Ok(()),
    }
}

/// One `Name: value` line per header.
fn lines(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(n, v)| header_line(n, v) + "\n")
        .collect()
}

/// API2Cart: the X-Webhook-* headers signed in vendor case and order.
fn sign_api2cart(args: &SignArgs, mut headers: Vec<(String, String)>) -> Result<String, CliError> {
    check_headers(&headers, args.timestamp.is_some())?;
    warn_about_timestamp(&headers);
    if let Some(timestamp) = args.timestamp {
        headers.push((names::TIMESTAMP.to_owned(), timestamp_value(timestamp)));
    }
    let signed = SignedHeaders::from_pairs(headers.iter().map(|(n, v)| (n, v)))
        .map_err(|e| CliError::new(format!("cannot sign these headers: {}", e.detail())))?;
    let body = body_bytes(args)?;
    let signature = Signer::new(args.secret.one()?).sign(&signed, &body);
    Ok(header_block(&signed, &headers, &signature))
}

/// Refuses what would make the delivery ambiguous: a signature given by hand,
/// a timestamp given twice, the same `X-Webhook-*` name twice in any case.
fn check_headers(headers: &[(String, String)], adds_timestamp: bool) -> Result<(), CliError> {
    let mut seen: Vec<String> = Vec::new();
    for (name, _) in headers {
        let Some(canonical) = canonical_name(name) else {
            continue;
        };
        if canonical == names::SIGNATURE {
            return Err(CliError::new(
                "X-Webhook-Signature is computed; do not pass it with --header",
            ));
        }
        if canonical == names::TIMESTAMP && adds_timestamp {
            return Err(CliError::new(
                "X-Webhook-Timestamp given both with --header and --timestamp",
            ));
        }
        if seen.iter().any(|s| *s == canonical) {
            return Err(CliError::new(format!("{canonical} given more than once")));
        }
        seen.push(canonical.into_owned());
    }
    Ok(())
}

/// A timestamp that is not Unix seconds is signed as given (to test how a
/// receiver refuses it), with a warning.
fn warn_about_timestamp(headers: &[(String, String)]) {
    let timestamp = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(names::TIMESTAMP));
    if let Some((_, value)) = timestamp
        && unix_seconds(value).is_none()
    {
        crate::report_warning(&format!(
            "X-Webhook-Timestamp {value:?} is not Unix seconds; verifiers refuse it (400)"
        ));
    }
}

fn timestamp_value(timestamp: Timestamp) -> String {
    match timestamp {
        Timestamp::Now => SystemClock.now().to_string(),
        Timestamp::At(seconds) => seconds.to_string(),
    }
}

fn body_bytes(args: &SignArgs) -> Result<Vec<u8>, CliError> {
    match (&args.body, &args.body_file) {
        (Some(text), _) => Ok(text.clone().into_bytes()),
        (None, Some(path)) => read_bytes(path, "body file"),
        (None, None) => Ok(Vec::new()),
    }
}

/// Signed headers (vendor case, signing order), other headers (as given),
/// then the signature; one line each.
fn header_block(signed: &SignedHeaders, given: &[(String, String)], signature: &str) -> String {
    let others = given.iter().filter(|(n, _)| canonical_name(n).is_none());
    let lines = signed
        .iter()
        .chain(others.map(|(n, v)| (n.as_str(), v.as_str())))
        .chain([(names::SIGNATURE, signature)]);
    lines.map(|(n, v)| header_line(n, v) + "\n").collect()
}
