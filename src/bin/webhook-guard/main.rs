//! `webhook-guard`: sign a test delivery, check a captured one, send one as
//! the vendor does, with the API2Cart `X-Webhook-*` signing recipe, or serve
//! the vendors' webhook APIs as a local stand-in.
//!
//! Exit status: 0 signed / valid / delivered, 1 refused / not delivered, 2
//! usage or I/O error.

mod input;
mod recipe;
mod send;
mod serve;
mod sign;
mod verify;

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sign, verify and send API2Cart-style `X-Webhook-*` webhook deliveries.
#[derive(Debug, Parser)]
#[command(name = "webhook-guard", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "\
Examples:
  webhook-guard sign --secret KEY -H 'X-Webhook-Entity: product' \\
      -H 'X-Webhook-Action: add' -H 'X-Webhook-Store-Id: 1' \\
      --timestamp now --body-file body.json > headers.txt
  curl -H @headers.txt --data-binary @body.json https://example.test/webhooks
  webhook-guard verify --secret KEY --headers-file headers.txt --body-file body.json
  webhook-guard send --url http://127.0.0.1:3000/webhooks --secret KEY \\
      --entity product --action add --body '{\"id\":\"86\"}'

Exit status: 0 signed, valid or delivered, 1 refused or not delivered,
2 usage or I/O error.";

#[derive(Debug, Subcommand)]
enum Command {
    Sign(sign::SignArgs),
    Verify(verify::VerifyArgs),
    Send(send::SendArgs),
    Serve(serve::ServeArgs),
}

/// Exit status of a delivery that was signed or verified.
const EXIT_OK: u8 = 0;
/// Exit status of a delivery the verifier refused.
const EXIT_REFUSED: u8 = 1;
/// Exit status of a usage or I/O error (clap uses it for usage errors too).
const EXIT_ERROR: u8 = 2;

/// What a command prints on stdout, and the exit status that goes with it.
#[derive(Debug)]
struct Outcome {
    text: String,
    status: u8,
}

/// A usage or I/O error: reported on stderr, exit status 2.
#[derive(Debug)]
struct CliError(String);

impl CliError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Send(args) => send::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match outcome {
        Ok(outcome) => print_outcome(&outcome),
        Err(error) => {
            report_error(&error.to_string());
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Prints the result on stdout. A closed pipe (`| head`) is not an error.
fn print_outcome(outcome: &Outcome) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(outcome.text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::from(outcome.status),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(outcome.status),
        Err(e) => {
            report_error(&format!("cannot write to stdout: {e}"));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn report_warning(message: &str) {
    let _ = writeln!(io::stderr(), "webhook-guard: warning: {message}");
}

fn report_error(message: &str) {
    // Nothing else can be done if stderr is gone too.
    let _ = writeln!(io::stderr(), "webhook-guard: error: {message}");
}
