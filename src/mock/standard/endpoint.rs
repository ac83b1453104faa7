//! Endpoints, their secrets, messages and the errors of the Standard
//! Webhooks sender's API.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};

use super::super::faults::Fault;
use super::policy::Rng;
use crate::SigningKey;
use crate::standard::{self, StandardWebhooks};

/// The faults the sender plays, by name: here, beside the error that lists
/// them, so the sender above can check against it.
pub(super) const SUPPORTED_FAULTS: [&str; 8] = [
    "wrong-key",
    "tampered-body",
    "stale-timestamp",
    "future-timestamp",
    "missing-signature",
    "garbled-signature",
    "extra-bad-signature",
    "slow-body",
];

/// One signing secret of an endpoint: `whsec_` (HMAC-SHA256, `v1`) or, with
/// the `ed25519` feature, `whsk_` (ed25519, `v1a`). Its `Debug` hides it.
#[derive(Clone)]
pub(super) struct Secret {
    text: String,
    key: Key,
}

#[derive(Clone)]
enum Key {
    V1(SigningKey),
    #[cfg(feature = "ed25519")]
    V1a(ed25519_dalek::SigningKey),
}

impl Secret {
    /// Reads a secret as the spec serialises it (see [`NewEndpoint::secret`]).
    pub(super) fn parse(text: &str) -> Result<Self, StandardError> {
        let invalid = |reason: &str| StandardError::InvalidSecret {
            reason: reason.to_owned(),
        };
        if let Some(encoded) = text.strip_prefix("whsk_") {
            #[cfg(feature = "ed25519")]
            {
                let bytes = STANDARD
                    .decode(encoded)
                    .map_err(|_| invalid("a whsk_ key must be standard base64"))?;
                let seed: [u8; 32] = bytes
                    .get(..32)
                    .and_then(|s| s.try_into().ok())
                    .filter(|_| matches!(bytes.len(), 32 | 64))
                    .ok_or_else(|| invalid("a whsk_ key must decode to 32 or 64 bytes"))?;
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                if bytes.len() == 64 && bytes[32..] != key.verifying_key().to_bytes() {
                    return Err(invalid(
                        "the last 32 bytes of a 64-byte whsk_ key must be its public key",
                    ));
                }
                return Ok(Self {
                    text: text.to_owned(),
                    key: Key::V1a(key),
                });
            }
            #[cfg(not(feature = "ed25519"))]
            {
                let _ = encoded;
                return Err(invalid("whsk_ (v1a) keys need the `ed25519` feature"));
            }
        }
        let key = StandardWebhooks::secret("endpoint secret", text).map_err(|e| {
            StandardError::InvalidSecret {
                reason: e.to_string(),
            }
        })?;
        Ok(Self {
            text: text.to_owned(),
            key: Key::V1(key),
        })
    }

    /// The secret as given.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// The `webhook-signature` entry for one attempt: `v1,<b64>` or `v1a,<b64>`.
    pub(super) fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        match &self.key {
            Key::V1(key) => standard::sign(key, id, timestamp, body),
            #[cfg(feature = "ed25519")]
            Key::V1a(key) => {
                use ed25519_dalek::Signer as _;
                let mut message = format!("{id}.{timestamp}.").into_bytes();
                message.extend_from_slice(body);
                format!("v1a,{}", STANDARD.encode(key.sign(&message).to_bytes()))
            }
        }
    }

    /// `whpk_` and the public key, for a `whsk_` secret.
    fn public_key(&self) -> Option<String> {
        match &self.key {
            Key::V1(_) => None,
            #[cfg(feature = "ed25519")]
            Key::V1a(key) => Some(format!(
                "whpk_{}",
                STANDARD.encode(key.verifying_key().to_bytes())
            )),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A fresh `whsec_` secret: 24 random bytes (the spec's minimum, and the
/// length of its examples), standard base64. Drawn from std's hash-map
/// randomness: good for tests, not a production secret.
pub fn generate_secret() -> String {
    format!("whsec_{}", STANDARD.encode(Rng::from_os().bytes(24)))
}

/// An endpoint to create: where messages go and the secrets they are
/// signed with.
#[derive(Clone)]
pub struct NewEndpoint {
    pub(super) url: String,
    pub(super) secrets: Vec<String>,
    pub(super) enabled: bool,
}

impl fmt::Debug for NewEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEndpoint")
            .field("url", &self.url)
            .field("secrets", &self.secrets.len())
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl NewEndpoint {
    /// An enabled endpoint at `url`; without a [`secret`](Self::secret), one
    /// is generated ([`generate_secret`]).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secrets: Vec::new(),
            enabled: true,
        }
    }

    /// Adds a signing secret: `whsec_` and the base64 of 24 to 64 bytes
    /// (`v1`), or `whsk_` and the base64 of an ed25519 key, its 32-byte seed
    /// or seed and public key (`v1a`, feature `ed25519`). With several, every
    /// attempt carries one signature per secret, space-separated, as a sender
    /// rotating keys does.
    #[must_use]
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Created disabled (`false`): nothing is sent to it until enabled.
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// An endpoint of a [`StandardSender`](super::StandardSender).
///
/// Its [`to_json`](Self::to_json) shows the secrets in clear (a receiver
/// under test needs them); its `Debug` never does.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub(super) id: String,
    pub(super) url: String,
    pub(super) secrets: Vec<Secret>,
    pub(super) enabled: bool,
    pub(super) disabled_reason: Option<String>,
    pub(super) created_at: i64,
}

impl Endpoint {
    /// Its id, `ep_` and a number counted per sender.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where messages go.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its secrets as given (or generated), in signing order.
    pub fn secrets(&self) -> Vec<&str> {
        self.secrets.iter().map(Secret::text).collect()
    }

    /// The `whpk_` public key of each `whsk_` secret, for the receiver.
    pub fn public_keys(&self) -> Vec<String> {
        self.secrets.iter().filter_map(Secret::public_key).collect()
    }

    /// False once disabled: by a 410 answer or by hand.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Why it is disabled, when it is.
    pub fn disabled_reason(&self) -> Option<&str> {
        self.disabled_reason.as_deref()
    }

    /// When it was created, on the sender's clock (Unix seconds).
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// `{"id", "url", "secret", "secrets", "publicKeys", "enabled",
    /// "disabledReason", "createdAt"}`; `secret` is the first secret.
    pub fn to_json(&self) -> Value {
        let secrets = self.secrets();
        json!({
            "id": self.id,
            "url": self.url,
            "secret": secrets.first(),
            "secrets": secrets,
            "publicKeys": self.public_keys(),
            "enabled": self.enabled,
            "disabledReason": self.disabled_reason,
            "createdAt": self.created_at,
        })
    }
}

/// A message to send: its event type (kept in the journal; the spec puts
/// nothing of it in the headers) and the body, sent exactly as given.
#[derive(Clone, Debug)]
pub struct Message {
    pub(super) event_type: String,
    pub(super) body: Bytes,
    pub(super) id: Option<String>,
    pub(super) faults: Vec<Fault>,
}

impl Message {
    /// `payload` written as compact JSON, as the spec recommends ("minified").
    pub fn json(event_type: impl Into<String>, payload: &Value) -> Self {
        Self::raw(event_type, payload.to_string())
    }

    /// `body` byte for byte (it need not be JSON, nor UTF-8); still labelled
    /// `content-type: application/json`.
    pub fn raw(event_type: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            event_type: event_type.into(),
            body: body.into(),
            id: None,
            faults: Vec::new(),
        }
    }

    /// Sends it under this `webhook-id` instead of a fresh `msg_...` one
    /// (printable ASCII, no `.`, no space, at most 256 bytes).
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Spoils every attempt of the message with `fault` (see
    /// [`StandardSender`](super::StandardSender) for those it supports).
    #[must_use]
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }
}

/// Checks a caller's message id: the spec forbids `.`, which would make
/// `id.timestamp.body` ambiguous; a space would split the header's meaning.
pub(super) fn checked_id(id: &str) -> Result<(), StandardError> {
    let ok =
        !id.is_empty() && id.len() <= 256 && id.bytes().all(|b| b.is_ascii_graphic() && b != b'.');
    if ok {
        Ok(())
    } else {
        Err(StandardError::InvalidMessage {
            reason: "a message id must be 1 to 256 printable ASCII characters, without `.`"
                .to_owned(),
        })
    }
}

/// Why the sender refused a call; nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StandardError {
    /// No endpoint has this id.
    UnknownEndpoint {
        /// The id asked for.
        id: String,
    },
    /// The URL cannot be delivered to by this sender's transport.
    InvalidUrl {
        /// Why.
        reason: String,
    },
    /// A secret is not `whsec_`/`whsk_` as the spec serialises them.
    InvalidSecret {
        /// Why.
        reason: String,
    },
    /// The message cannot be sent as given.
    InvalidMessage {
        /// Why.
        reason: String,
    },
    /// The endpoint is disabled (by a 410 answer or by hand).
    EndpointDisabled {
        /// Its id.
        id: String,
    },
    /// A fault the Standard Webhooks sender does not play.
    UnsupportedFault {
        /// The fault.
        fault: Fault,
    },
    /// The retry queue is full; the message was not sent.
    QueueFull {
        /// How many messages may wait at once.
        limit: usize,
    },
}

impl StandardError {
    /// The HTTP status `webhook-guard serve` answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownEndpoint { .. } => 404,
            Self::InvalidUrl { .. }
            | Self::InvalidSecret { .. }
            | Self::InvalidMessage { .. }
            | Self::UnsupportedFault { .. } => 400,
            Self::EndpointDisabled { .. } => 409,
            Self::QueueFull { .. } => 503,
        }
    }

    /// A short code: `unknown_endpoint`, `invalid_secret`, ...
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownEndpoint { .. } => "unknown_endpoint",
            Self::InvalidUrl { .. } => "invalid_url",
            Self::InvalidSecret { .. } => "invalid_secret",
            Self::InvalidMessage { .. } => "invalid_message",
            Self::EndpointDisabled { .. } => "endpoint_disabled",
            Self::UnsupportedFault { .. } => "unsupported_fault",
            Self::QueueFull { .. } => "queue_full",
        }
    }

    /// `{"error": {"code", "message"}}`.
    pub fn to_json(&self) -> Value {
        json!({"error": {"code": self.code(), "message": self.to_string()}})
    }
}

impl fmt::Display for StandardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownEndpoint { id } => write!(f, "no endpoint {id:?}"),
            Self::InvalidUrl { reason } => write!(f, "invalid url: {reason}"),
            Self::InvalidSecret { reason } => write!(f, "invalid secret: {reason}"),
            Self::InvalidMessage { reason } => write!(f, "invalid message: {reason}"),
            Self::EndpointDisabled { id } => write!(f, "endpoint {id:?} is disabled"),
            Self::UnsupportedFault { fault } => write!(
                f,
                "the Standard Webhooks sender does not play {fault}; it plays {}",
                SUPPORTED_FAULTS.join(", ")
            ),
            Self::QueueFull { limit } => {
                write!(f, "{limit} messages already wait for a retry")
            }
        }
    }
}

impl std::error::Error for StandardError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_as_the_spec_serialises_them() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        // The spec's known answer.
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert!(Secret::parse("whsec_c2hvcnQ=").is_err());
        assert!(Secret::parse("whsk_AAAA").is_err());
        let generated = generate_secret();
        assert!(generated.starts_with("whsec_") && generated.len() == 6 + 32);
        assert!(Secret::parse(&generated).is_ok());
        assert_ne!(generate_secret(), generated);
    }

    #[cfg(feature = "ed25519")]
    #[test]
    fn whsk_keys_sign_v1a() {
        let seed = [7u8; 32];
        let secret = Secret::parse(&format!("whsk_{}", STANDARD.encode(seed))).unwrap();
        let public = secret.public_key().unwrap();
        let entry = secret.sign("msg_1", 5, b"{}");
        assert!(entry.starts_with("v1a,"));
        let mut full = seed.to_vec();
        full.extend_from_slice(
            &STANDARD
                .decode(public.strip_prefix("whpk_").unwrap())
                .unwrap(),
        );
        let long = Secret::parse(&format!("whsk_{}", STANDARD.encode(&full))).unwrap();
        assert_eq!(long.sign("msg_1", 5, b"{}"), entry);
        full[40] ^= 1;
        assert!(Secret::parse(&format!("whsk_{}", STANDARD.encode(&full))).is_err());
    }

    #[test]
    fn ids_without_dots() {
        assert!(checked_id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W").is_ok());
        for bad in ["", "a.b", "a b", "é", &"x".repeat(257)] {
            assert!(checked_id(bad).is_err(), "{bad}");
        }
    }
}
