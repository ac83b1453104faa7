//! What `sign`, `verify` and `send` share: which recipe (`--scheme`) and
//! where the secrets come from (`--secret`, `--secret-file`, `--secret-env`),
//! so a secret can stay out of `ps` and shell history.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use webhook_guard::standard::{self, StandardWebhooks};
use webhook_guard::{KeySet, SigningKey, digest, up42};

use crate::CliError;
use crate::input::read_bytes;

/// The signing recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// API2Cart: X-Webhook-* headers as PHP JSON, then the body
    Api2cart,
    /// UP42: Signature-Input / Signature over listed headers (a Content-Digest binds the body)
    Up42,
    /// Standard Webhooks (Svix and others): webhook-id, webhook-timestamp, webhook-signature
    Standard,
}

/// Where secrets come from; each form may be repeated and they combine in
/// the order: `--secret`, `--secret-file`, `--secret-env`.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// A secret (store key, webhook secret, or whsec_... for Standard
    /// Webhooks). Visible in `ps`: prefer --secret-file or --secret-env
    #[arg(long = "secret", value_name = "KEY")]
    secrets: Vec<String>,

    /// Read a secret from FILE: its first line, without the line end
    #[arg(long = "secret-file", value_name = "FILE")]
    secret_files: Vec<PathBuf>,

    /// Read a secret from the environment variable VAR
    #[arg(long = "secret-env", value_name = "VAR")]
    secret_envs: Vec<String>,
}

impl SecretArgs {
    /// Every secret given, in order; at least one.
    pub fn all(&self) -> Result<Vec<String>, CliError> {
        let mut secrets = self.secrets.clone();
        for path in &self.secret_files {
            let bytes = read_bytes(path, "secret file")?;
            let text = String::from_utf8(bytes).map_err(|_| {
                CliError::new(format!("secret file {} is not UTF-8", path.display()))
            })?;
            let line = text.lines().next().unwrap_or_default();
            if line.is_empty() {
                return Err(CliError::new(format!(
                    "secret file {} starts with an empty line",
                    path.display()
                )));
            }
            secrets.push(line.to_owned());
        }
        for var in &self.secret_envs {
            match std::env::var(var) {
                Ok(value) if !value.is_empty() => secrets.push(value),
                _ => {
                    return Err(CliError::new(format!(
                        "environment variable {var} is not set (or empty or not UTF-8)"
                    )));
                }
            }
        }
        if secrets.is_empty() {
            return Err(CliError::new(
                "give a secret with --secret, --secret-file or --secret-env",
            ));
        }
        Ok(secrets)
    }

    /// The one secret a sender signs with.
    pub fn one(&self) -> Result<String, CliError> {
        let mut secrets = self.all()?;
        if secrets.len() > 1 {
            return Err(CliError::new("give exactly one secret to sign with"));
        }
        Ok(secrets.remove(0))
    }
}

/// The key `secret` is under `scheme`, named `id`: its bytes for API2Cart and
/// UP42, the base64-decoded `whsec_` secret for Standard Webhooks.
pub fn signing_key(scheme: SchemeArg, id: &str, secret: &str) -> Result<SigningKey, CliError> {
    match scheme {
        SchemeArg::Api2cart | SchemeArg::Up42 => Ok(SigningKey::new(id, secret)),
        SchemeArg::Standard => {
            StandardWebhooks::secret(id, secret).map_err(|e| CliError::new(format!("{id}: {e}")))
        }
    }
}

/// UP42: appends a `Content-Digest` of `body`, then `Signature-Input` and
/// `Signature` covering every header so far, in order, signed at `created`.
pub fn add_up42_signature(
    key: &SigningKey,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    created: i64,
) {
    headers.push(("Content-Digest".to_owned(), digest::content_digest(body)));
    let covered: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let (input, signature) = up42::sign(key, &covered, created);
    headers.push(("Signature-Input".to_owned(), input));
    headers.push(("Signature".to_owned(), signature));
}

/// Standard Webhooks: appends `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` for message `id` of `body` at `timestamp`.
pub fn add_standard_signature(
    key: &SigningKey,
    headers: &mut Vec<(String, String)>,
    id: String,
    timestamp: i64,
    body: &[u8],
) {
    let signature = standard::sign(key, &id, timestamp, body);
    headers.push((standard::names::ID.to_owned(), id));
    headers.push((standard::names::TIMESTAMP.to_owned(), timestamp.to_string()));
    headers.push((standard::names::SIGNATURE.to_owned(), signature));
}

/// The key set of `secrets`, named secret-1, secret-2, ... in order.
pub fn key_set(scheme: SchemeArg, secrets: &[String]) -> Result<KeySet, CliError> {
    secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| signing_key(scheme, &format!("secret-{}", i + 1), secret))
        .collect()
}
