//! What a signing recipe tells the verifier engine.
//!
//! A [`Scheme`] reads one request head and says what the delivery claims: the
//! bytes the MAC covers before the body, the signatures to compare, the
//! timestamp, digests the body must match, the replay key and the signed
//! headers the event will show. Everything else (body limit, keys and
//! resolvers, freshness, replay guard, streaming, errors, tracing) is the
//! [`Verifier`](crate::Verifier)'s, and the same for every recipe.
//!
//! | recipe | type | signed message | replay key |
//! |---|---|---|---|
//! | API2Cart `X-Webhook-*` | [`Api2Cart`](crate::api2cart::Api2Cart) (default) | PHP JSON of the headers, then the body | store id and signature |
//! | UP42 `Signature-Input` | [`Up42`](crate::up42::Up42) | the listed headers' values (a covered digest binds the body) | signature |
//! | Standard Webhooks | [`StandardWebhooks`](crate::standard::StandardWebhooks) | `id.timestamp.body` | `webhook-id` |
//! | URL token (AmeriCommerce) | [`UrlToken`](crate::americommerce::UrlToken) | nothing: a secret in the URL | none |

use std::fmt;

use crate::canonical::SignedHeaders;
use crate::digest::ExpectedDigest;
use crate::error::Error;
use crate::head::HeaderSource;
use crate::signature::MAC_LEN;

/// A signing recipe. The crate's recipes are the only implementations: the
/// verifier's correctness rests on each of them, so the trait is sealed
/// ([`Claims`] cannot be built outside the crate).
pub trait Scheme: Send + Sync + fmt::Debug + 'static {
    /// A short name for logs and replay keys, e.g. `"api2cart"`.
    fn name(&self) -> &'static str;

    /// Reads what the delivery claims from its head, refusing at once what is
    /// malformed (400) or unsigned (401). No body has been read yet.
    fn read(&self, head: &dyn HeaderSource) -> Result<Claims, Error>;
}

/// What one delivery's head claims; built by a [`Scheme`] for the verifier.
#[derive(Debug)]
pub struct Claims {
    pub(crate) timestamp: Option<i64>,
    /// Refuse with 401 when `timestamp` is `None`.
    pub(crate) timestamp_required: bool,
    pub(crate) proof: Proof,
    /// Digests the body must match, checked as it streams.
    pub(crate) digests: Vec<ExpectedDigest>,
    /// What tells this delivery from another, for the replay guard.
    pub(crate) replay: Replay,
    pub(crate) signed: Signed,
    /// False only when a `danger_` option let through a body nothing binds.
    pub(crate) body_authenticated: bool,
}

/// How the delivery proves it came from the key holder. `Debug` never shows
/// a token.
pub(crate) enum Proof {
    /// A MAC (or signature) over `prefix`, then the body when `covers_body`.
    Signed {
        prefix: Prefix,
        covers_body: bool,
        /// Any one may match. Never empty.
        tags: Tags,
    },
    /// A secret sent as it is (in the URL), compared with each key.
    Token(Vec<u8>),
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signed {
                prefix,
                covers_body,
                tags,
            } => f
                .debug_struct("Signed")
                .field("prefix", prefix)
                .field("covers_body", covers_body)
                .field("tags", tags)
                .finish(),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// What the MAC covers before the body.
#[derive(Debug)]
pub(crate) enum Prefix {
    /// API2Cart's header JSON, kept in [`Signed::Api2Cart`].
    SignedJson,
    Bytes(Vec<u8>),
}

/// One signature the delivery carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    HmacSha256([u8; MAC_LEN]),
    #[cfg(feature = "ed25519")]
    Ed25519([u8; 64]),
}

/// The signatures a delivery carries: most carry one, kept inline so the
/// common case allocates nothing.
#[derive(Clone, Debug)]
pub(crate) enum Tags {
    One([Tag; 1]),
    Many(Vec<Tag>),
}

impl Tags {
    pub(crate) fn as_slice(&self) -> &[Tag] {
        match self {
            Self::One(one) => one,
            Self::Many(many) => many,
        }
    }
}

/// What the replay key is made of; built into a
/// [`ReplayKey`](crate::ReplayKey) only when a guard asks, so a verifier
/// without one pays nothing for it.
#[derive(Clone, Debug)]
pub(crate) enum Replay {
    /// Deliveries cannot be told apart (URL token).
    Untold,
    /// API2Cart: `X-Webhook-Store-Id` and the signature.
    StoreAndSignature,
    /// UP42: the signature.
    Signature,
    /// Standard Webhooks: `webhook-id`.
    Id(Box<[u8]>),
}

/// The signed headers the event shows.
#[derive(Debug)]
pub(crate) enum Signed {
    Api2Cart(SignedHeaders),
    /// Lowercase names and values, in the order the recipe signs them.
    Headers(Vec<(String, String)>),
}

impl Claims {
    /// The bytes the MAC covers before the body.
    pub(crate) fn prefix(&self) -> &[u8] {
        match (&self.proof, &self.signed) {
            (
                Proof::Signed {
                    prefix: Prefix::SignedJson,
                    ..
                },
                Signed::Api2Cart(headers),
            ) => headers.json(),
            (
                Proof::Signed {
                    prefix: Prefix::Bytes(bytes),
                    ..
                },
                _,
            ) => bytes,
            _ => &[],
        }
    }
}

/// Unix seconds as every recipe here writes them: ASCII digits only (no sign,
/// no spaces), within `i64`.
pub(crate) fn parse_unix_seconds(text: &[u8]) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0i64, |seconds, &byte| {
        let digit = byte.checked_sub(b'0').filter(|d| *d <= 9)?;
        seconds.checked_mul(10)?.checked_add(i64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::parse_unix_seconds;

    #[test]
    fn unix_seconds_are_digits_only_within_i64() {
        assert_eq!(parse_unix_seconds(b"1516291592"), Some(1_516_291_592));
        assert_eq!(parse_unix_seconds(b"0"), Some(0));
        assert_eq!(parse_unix_seconds(b"007"), Some(7));
        assert_eq!(
            parse_unix_seconds(i64::MAX.to_string().as_bytes()),
            Some(i64::MAX)
        );
        for refused in [
            &b""[..],
            b"9223372036854775808",
            b"99999999999999999999",
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"1.5",
            b"1e3",
            b"\xd9\xa1",
        ] {
            assert_eq!(parse_unix_seconds(refused), None, "{refused:?}");
        }
    }
}
