//! API2Cart's recipe (seed 001), the verifier's default.
//!
//! ```text
//! X-Webhook-Signature = base64( HMAC-SHA256( store_key,
//!     json_encode(ksort(every X-Webhook-* header but the signature)) || raw body ) )
//! ```
//!
//! Reading a delivery, in order:
//!
//! 1. Collect every `X-Webhook-*` header, names matched in any case and
//!    rebuilt in the vendor's case; a name sent twice, or a name or value that
//!    is not UTF-8, is refused with 400 (PHP could not have encoded it). See
//!    [`DeliveryHeaders`] and [`SignedHeaders`] for
//!    the byte-exact JSON.
//! 2. `X-Webhook-Timestamp`, when sent, must be ASCII digits (400 otherwise).
//!    It is optional: the vendor does not promise it
//!    ([`VerifierBuilder::require_timestamp`](crate::VerifierBuilder::require_timestamp)
//!    makes it mandatory).
//! 3. `X-Webhook-Signature` must be there (401) and be 44 characters of
//!    padded standard base64 of 32 bytes (401 otherwise).
//! 4. The MAC covers the JSON, then the body as it streams.
//! 5. The replay key is the store id and the signature.

use crate::canonical::{DeliveryHeaders, SignedHeaders, names};
use crate::error::{Error, ErrorKind, refuse};
use crate::head::HeaderSource;
use crate::scheme::{Claims, Prefix, Proof, Replay, Scheme, Signed, Tag, Tags};
use crate::signature;

/// The API2Cart recipe: `X-Webhook-*` headers as PHP's `json_encode`, then
/// the body. What [`Verifier::new`](crate::Verifier::new) uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Api2Cart;

impl Scheme for Api2Cart {
    fn name(&self) -> &'static str {
        "api2cart"
    }

    fn read(&self, head: &dyn HeaderSource) -> Result<Claims, Error> {
        read(DeliveryHeaders::from_source(head)?)
    }
}

/// The claims of headers already collected.
pub(crate) fn read(headers: DeliveryHeaders) -> Result<Claims, Error> {
    let timestamp = parse_timestamp(headers.signed())?;
    let expected = match headers.signature() {
        None => {
            return Err(refuse(
                ErrorKind::MissingSignature,
                "no X-Webhook-Signature header",
            ));
        }
        Some(value) => signature::decode(value)
            .map_err(|detail| refuse(ErrorKind::InvalidSignature, detail))?,
    };
    let signed = headers.into_signed();
    Ok(Claims {
        timestamp,
        timestamp_required: false,
        proof: Proof::Signed {
            prefix: Prefix::SignedJson,
            covers_body: true,
            tags: Tags::One([Tag::HmacSha256(expected)]),
        },
        digests: Vec::new(),
        replay: Replay::StoreAndSignature,
        signed: Signed::Api2Cart(signed),
        body_authenticated: true,
    })
}

/// Parses `X-Webhook-Timestamp`: Unix seconds, ASCII digits only (no sign, no
/// spaces), within `i64`.
fn parse_timestamp(headers: &SignedHeaders) -> Result<Option<i64>, Error> {
    headers
        .get(names::TIMESTAMP)
        .map(|text| {
            crate::scheme::parse_unix_seconds(text.as_bytes()).ok_or_else(|| {
                refuse(
                    ErrorKind::MalformedHeaders,
                    "X-Webhook-Timestamp is not an integer",
                )
            })
        })
        .transpose()
}
