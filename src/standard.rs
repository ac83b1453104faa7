//! Standard Webhooks (the spec at github.com/standard-webhooks/standard-webhooks,
//! used by Svix and many platforms).
//!
//! ```text
//! webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek
//! webhook-timestamp: 1614265330
//! webhook-signature: v1,<base64 HMAC-SHA256> [v1,<...> v1a,<base64 ed25519> ...]
//!
//! v1  = base64( HMAC-SHA256( base64-decode(secret without "whsec_"), id "." timestamp "." body ) )
//! v1a = base64( ed25519-sign( private key, id "." timestamp "." body ) )   (feature `ed25519`)
//! ```
//!
//! Reading a delivery, in order:
//!
//! 1. `webhook-id`, `webhook-timestamp` and `webhook-signature`, names in any
//!    case; one of them sent twice, or an id that is not UTF-8, is refused with
//!    400; no id is 400, no timestamp 401, no signature 401.
//! 2. The timestamp is Unix seconds, ASCII digits (400 otherwise); the signed
//!    string carries it as the official libraries write it, the integer in
//!    decimal. It must be within the tolerance both ways (300 s by default).
//! 3. The signature header is a space-separated list of `version,base64`
//!    entries: several at once during a key rotation. At most
//!    [`MAX_SIGNATURES`] entries are read; unknown versions and entries that
//!    are not canonical base64 of the right length are skipped; with none
//!    left the delivery is refused with 401. Any entry may match any key, each
//!    compared in constant time.
//! 4. The MAC (or the ed25519 verification) covers `id.timestamp.` and then
//!    the body as it streams. Bodies need not be UTF-8.
//! 5. The replay key is `webhook-id`, the spec's idempotency key: a sender
//!    retries a message under the same id, so a retry of a message already
//!    accepted is refused as a replay (401) while the guard remembers it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, ErrorKind, refuse};
use crate::head::{Found, HeaderSource, find};
use crate::keys::{KeyError, KeySet, SigningKey};
use crate::scheme::{Claims, Prefix, Proof, Replay, Scheme, Signed, Tag, Tags, parse_unix_seconds};
use crate::signature::{MAC_LEN, PADDED_OR_NOT};

/// The recipe's name, in logs and replay keys.
pub(crate) const NAME: &str = "standard-webhooks";

/// The header names, as the spec writes them.
pub mod names {
    /// The message id; the same on every retry.
    pub const ID: &str = "webhook-id";
    /// Unix seconds at which the attempt was signed.
    pub const TIMESTAMP: &str = "webhook-timestamp";
    /// The space-separated signatures.
    pub const SIGNATURE: &str = "webhook-signature";
}

/// How many `webhook-signature` entries are read at most; the rest are
/// ignored, so a hostile header cannot make the verifier compare without end.
/// (The official libraries check every entry; a sender rotating keys sends
/// two or three.)
pub const MAX_SIGNATURES: usize = 8;

/// The Standard Webhooks recipe.
///
/// ```
/// use webhook_guard::standard::StandardWebhooks;
/// use webhook_guard::{KeySet, Verifier};
///
/// let keys = KeySet::from_keys([StandardWebhooks::secret("default", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?]);
/// let verifier = Verifier::builder(keys).scheme(StandardWebhooks::new()).build();
/// # let _ = verifier;
/// # Ok::<_, webhook_guard::KeyError>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct StandardWebhooks {
    _private: (),
}

impl StandardWebhooks {
    /// The recipe as the spec defines it.
    pub fn new() -> Self {
        Self::default()
    }

    /// A `v1` key from a secret as the sender shows it: `whsec_` (optional)
    /// and the standard base64 of 24 to 64 random bytes, padded or not (the
    /// official libraries accept both).
    pub fn secret(id: &str, secret: &str) -> Result<SigningKey, KeyError> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let bytes = PADDED_OR_NOT
            .decode(encoded)
            .map_err(|_| KeyError("a whsec_ secret must be standard base64"))?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(KeyError("a whsec_ secret must decode to 24 to 64 bytes"));
        }
        Ok(SigningKey::new(id, bytes))
    }

    /// A key set of one `v1` secret, with the id `"default"`.
    pub fn keys(secret: &str) -> Result<KeySet, KeyError> {
        Self::secret("default", secret).map(|key| KeySet::from_keys([key]))
    }

    /// A `v1a` public key as the sender shows it: `whpk_` (optional) and the
    /// standard base64 of the 32-byte ed25519 public key.
    #[cfg(feature = "ed25519")]
    pub fn public_key(id: &str, key: &str) -> Result<crate::keys::PublicKey, KeyError> {
        let encoded = key.strip_prefix("whpk_").unwrap_or(key);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| KeyError("a whpk_ key must be standard base64"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError("a whpk_ key must decode to 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| KeyError("not an ed25519 public key"))?;
        Ok(crate::keys::PublicKey {
            id: crate::keys::KeyId(id.into()),
            key,
        })
    }
}

/// The `v1,<base64>` entry for one message, as a sender writes it: the
/// sending side of the recipe, the same message bytes the verifier MACs.
pub fn sign(key: &SigningKey, id: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::Mac as _;
    let mut mac = key.mac();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// One entry of `webhook-signature` that the verifier can check.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureEntry {
    /// `v1,<base64>`: HMAC-SHA256.
    V1([u8; MAC_LEN]),
    /// `v1a,<base64>`: ed25519.
    V1a([u8; 64]),
}

/// The checkable entries of a `webhook-signature` value, in order: at most
/// [`MAX_SIGNATURES`] entries are looked at, and those of unknown versions or
/// not canonical base64 of the right length are skipped.
pub fn parse_signatures(value: &[u8]) -> Vec<SignatureEntry> {
    value
        .split(|&b| b == b' ')
        .filter(|entry| !entry.is_empty())
        .take(MAX_SIGNATURES)
        .filter_map(|entry| {
            let comma = entry.iter().position(|&b| b == b',')?;
            let (version, encoded) = (&entry[..comma], &entry[comma + 1..]);
            let bytes = STANDARD.decode(encoded).ok()?;
            match version {
                b"v1" => bytes.try_into().ok().map(SignatureEntry::V1),
                b"v1a" => bytes.try_into().ok().map(SignatureEntry::V1a),
                _ => None,
            }
        })
        .collect()
}

impl Scheme for StandardWebhooks {
    fn name(&self) -> &'static str {
        NAME
    }

    fn read(&self, head: &dyn HeaderSource) -> Result<Claims, Error> {
        let [id, timestamp, signature] =
            find(head, [names::ID, names::TIMESTAMP, names::SIGNATURE]);
        let malformed = |detail| refuse(ErrorKind::MalformedHeaders, detail);
        let id = match id {
            Found::Once(id) => {
                std::str::from_utf8(id).map_err(|_| malformed("webhook-id is not UTF-8"))?
            }
            Found::Absent => return Err(malformed("no webhook-id header")),
            Found::Repeated => return Err(malformed("webhook-id sent more than once")),
        };
        let timestamp = match timestamp {
            Found::Once(text) => parse_unix_seconds(text)
                .ok_or_else(|| malformed("webhook-timestamp is not an integer"))?,
            Found::Absent => {
                return Err(refuse(
                    ErrorKind::MissingTimestamp,
                    "no webhook-timestamp header",
                ));
            }
            Found::Repeated => return Err(malformed("webhook-timestamp sent more than once")),
        };
        let signature = match signature {
            Found::Once(value) => value,
            Found::Absent => {
                return Err(refuse(
                    ErrorKind::MissingSignature,
                    "no webhook-signature header",
                ));
            }
            Found::Repeated => return Err(malformed("webhook-signature sent more than once")),
        };
        // Without the `ed25519` feature, `v1a` entries are dropped here.
        #[allow(clippy::unnecessary_filter_map)]
        let tags: Vec<Tag> = parse_signatures(signature)
            .into_iter()
            .filter_map(|entry| match entry {
                SignatureEntry::V1(mac) => Some(Tag::HmacSha256(mac)),
                #[cfg(feature = "ed25519")]
                SignatureEntry::V1a(signature) => Some(Tag::Ed25519(signature)),
                #[cfg(not(feature = "ed25519"))]
                SignatureEntry::V1a(_) => None,
            })
            .collect();
        if tags.is_empty() {
            return Err(refuse(
                ErrorKind::InvalidSignature,
                "no webhook-signature entry of a supported version",
            ));
        }
        let timestamp_text = timestamp.to_string();
        let prefix = format!("{id}.{timestamp_text}.").into_bytes();
        Ok(Claims {
            timestamp: Some(timestamp),
            timestamp_required: true,
            proof: Proof::Signed {
                prefix: Prefix::Bytes(prefix),
                covers_body: true,
                tags: Tags::Many(tags),
            },
            digests: Vec::new(),
            replay: Replay::Id(id.as_bytes().into()),
            signed: Signed::Headers(vec![
                (names::ID.to_owned(), id.to_owned()),
                (names::TIMESTAMP.to_owned(), timestamp_text),
            ]),
            body_authenticated: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_base64_of_24_to_64_bytes() {
        assert!(StandardWebhooks::secret("k", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert!(StandardWebhooks::secret("k", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        // 25 bytes, without the `==` (the Python library adds it before decoding).
        let unpadded =
            StandardWebhooks::secret("k", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA").unwrap();
        // Signed by the official Python package with that secret.
        assert_eq!(
            sign(&unpadded, "msg_1", 1_700_000_000, b"hi"),
            "v1,rB3E1xCluE+Qfnt/Vf38KfsPckoKcKHMWO+61hpIsPQ="
        );
        assert!(StandardWebhooks::secret("k", "whsec_c2hvcnQ=").is_err());
        assert!(StandardWebhooks::secret("k", "whsec_not base64!").is_err());
        let long = STANDARD.encode([7u8; 65]);
        assert!(StandardWebhooks::secret("k", &long).is_err());
    }

    #[test]
    fn signature_lists_skip_what_cannot_be_checked() {
        let mac = STANDARD.encode([1u8; 32]);
        let value = format!("v2,{mac}  v1,{mac} v1,short v1 v1a,{mac} v1,{mac}=");
        assert_eq!(
            parse_signatures(value.as_bytes()),
            [SignatureEntry::V1([1; 32])]
        );
        let many = "v0,x ".repeat(MAX_SIGNATURES) + &format!("v1,{mac}");
        assert!(parse_signatures(many.as_bytes()).is_empty());
    }
}
