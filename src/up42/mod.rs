//! UP42 (seed 004): `Signature-Input` and `Signature` over the values of
//! the headers the delivery lists.
//!
//! ```text
//! Signature-Input: up42-sig=("content-digest" "x-up42-event");created=1700000000
//! Signature: up42-sig=<base64 HMAC-SHA256>
//!
//! signature = base64( HMAC-SHA256( secret as UTF-8,
//!     value of 1st listed header || value of 2nd || ... ) )   (no separator)
//! ```
//!
//! The facts come from UP42's own published receiver sample (github
//! up42/up42-webhooks, `snippets/validate_webhook.py`); no spec page exists.
//! The sample splits `Signature` at its first `=`, reads `created` with a
//! regular expression, and refuses `created` ahead of its clock or 300 s old
//! or more. It is not RFC 9421: the signed string is the bare values joined,
//! with no names and no signature parameters. UP42 sends no signature headers
//! when the webhook has no secret.
//!
//! What UP42 does not publish is which headers it lists. So whatever the
//! delivery lists is verified, and:
//!
//! | what the head says | status |
//! |---|---|
//! | no `Signature-Input` or `Signature`, no `up42-sig` member in either | 401 missing signature |
//! | no `created` | 401 missing timestamp |
//! | `Signature-Input` not an RFC 8941 dictionary, `up42-sig` not an inner list of strings, `created` not an integer, `up42-sig` twice | 400 |
//! | an empty list, a name listed twice, a listed header absent, sent twice, or not UTF-8 | 400 |
//! | signature not base64 of 32 bytes, or matching no key; a covered digest not matching the body | 401 |
//! | nothing listed binds the body | 401 [`BodyNotSigned`](crate::ErrorKind::BodyNotSigned) |
//!
//! 400 is for a head that contradicts itself (it cannot be a delivery any
//! sender made); 401 for one that is simply not signed, or not by us.
//!
//! A MAC over headers alone does not authenticate the body: anyone who saw
//! one delivery could send any body under its signature. The body counts as
//! signed only when the list covers a `content-digest` (RFC 9530, SHA-256 or
//! SHA-512) or a legacy `digest` (RFC 3230); that digest is then checked
//! against the body as it streams. Without one the delivery is refused,
//! unless [`Up42::danger_accept_unsigned_body`] is set, and then the event
//! says [`body_authenticated`](crate::VerifiedWebhook::body_authenticated)
//! `false`.
//!
//! Two edges differ from the sample by default: the tolerance is inclusive
//! (a `created` exactly 300 s old passes; the sample wants under 300) and a
//! `created` up to the tolerance ahead of the clock passes (the sample
//! refuses any). `.tolerance(Duration::from_secs(299)).future_tolerance(Duration::ZERO)`
//! on the builder makes the verifier agree with the sample at every edge.
//!
//! The recipe has two weaknesses no receiver can repair. The values are
//! joined with no separator, so bytes can move from one listed value to the
//! next (`a: xy`, `b: z` signs as `a: x`, `b: yz`). And `created` itself is
//! signed only if the list covers `signature-input`. If
//! not, the freshness check stops a careless replay but not a deliberate one
//! (the attacker rewrites `created`), and the replay guard, keyed on the
//! signature, remembers it only until `created` + tolerance.

mod event;

pub use event::{Event, EventKind, JobStatus, OrderStatus, Status};

use crate::digest::{parse_content_digest, parse_legacy_digest};
use crate::error::{Error, ErrorKind, refuse};
use crate::head::{Found, HeaderSource, find, find_all};
use crate::keys::SigningKey;
use crate::scheme::{Claims, Prefix, Proof, Replay, Scheme, Signed, Tag, Tags};
use crate::signature::MAC_LEN;
use crate::structured::{BareItem, Member, parse_dictionary};

/// The recipe's name, in logs and replay keys.
const NAME: &str = "up42";

/// The dictionary member that carries UP42's signature.
pub const LABEL: &str = "up42-sig";

/// The most headers a signature may list; more is refused (400), so a
/// hostile header cannot make the verifier look up names without end.
pub const MAX_COVERED: usize = 32;

/// The UP42 recipe.
///
/// ```
/// use webhook_guard::up42::Up42;
/// use webhook_guard::{KeySet, Verifier};
///
/// let verifier = Verifier::builder(KeySet::single("the webhook's secret"))
///     .scheme(Up42::new())
///     .build();
/// # let _ = verifier;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Up42 {
    accept_unsigned_body: bool,
}

impl Up42 {
    /// The recipe, refusing deliveries whose body nothing signed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts deliveries whose signature covers no digest of the body. Their
    /// body may have been written by anyone who saw one delivery; each such
    /// event says [`body_authenticated`](crate::VerifiedWebhook::body_authenticated)
    /// `false`. Use it only if UP42's deliveries to you carry no digest and a
    /// forged body can do no harm (e.g. you re-read the job from UP42's API).
    #[must_use]
    pub fn danger_accept_unsigned_body(mut self) -> Self {
        self.accept_unsigned_body = true;
        self
    }
}

/// What `Signature-Input` says of the `up42-sig` signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureInput {
    /// The listed header names, lowercase, in signing order.
    pub covered: Vec<String>,
    /// `created`, Unix seconds, when present.
    pub created: Option<i64>,
}

/// Why a `Signature-Input` cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// No `up42-sig` member: the delivery is not signed the UP42 way.
    NoLabel,
    /// Anything else: the reason, for logs.
    Malformed(&'static str),
}

/// Reads a `Signature-Input` value: an RFC 8941 dictionary whose `up42-sig`
/// member is an inner list of header names (strings) with a `created`
/// integer parameter. Names are lowercased (HTTP names are
/// case-insensitive); a name listed twice, an empty list and more than
/// [`MAX_COVERED`] names are refused.
pub fn parse_signature_input(value: &[u8]) -> Result<SignatureInput, InputError> {
    let members = parse_dictionary(value).map_err(InputError::Malformed)?;
    let mut ours = members.into_iter().filter(|(key, _)| *key == LABEL);
    let (_, member) = ours.next().ok_or(InputError::NoLabel)?;
    if ours.next().is_some() {
        return Err(InputError::Malformed("up42-sig appears twice"));
    }
    let Member::InnerList(items, params) = member else {
        return Err(InputError::Malformed("up42-sig is not an inner list"));
    };
    if items.is_empty() {
        return Err(InputError::Malformed("up42-sig lists no header"));
    }
    if items.len() > MAX_COVERED {
        return Err(InputError::Malformed("up42-sig lists too many headers"));
    }
    let mut covered: Vec<String> = Vec::with_capacity(items.len());
    for (item, _) in items {
        let BareItem::String(name) = item else {
            return Err(InputError::Malformed(
                "a listed header name is not a string",
            ));
        };
        let name = name.to_ascii_lowercase();
        if covered.contains(&name) {
            return Err(InputError::Malformed("a header is listed twice"));
        }
        covered.push(name);
    }
    let mut created = params.iter().filter(|(key, _)| *key == "created");
    let (first, again) = (created.next(), created.next());
    if again.is_some() {
        // RFC 8941 would keep the last; a sender may have meant the first.
        return Err(InputError::Malformed("created appears twice"));
    }
    let created = match first {
        None => None,
        Some((_, BareItem::Integer(seconds))) if *seconds >= 0 => Some(*seconds),
        Some(_) => {
            return Err(InputError::Malformed(
                "created is not a non-negative integer",
            ));
        }
    };
    Ok(SignatureInput { covered, created })
}

/// The MAC in a `Signature` value: the `up42-sig=` member's standard
/// base64 (as UP42's sample reads it, the text after the first `=`; an RFC
/// 8941 byte sequence `:...:` is read too). `Ok(None)` when there is no
/// such member; `Err` when it is there twice or is not base64 of 32 bytes.
pub fn parse_signature(value: &[u8]) -> Result<Option<[u8; MAC_LEN]>, &'static str> {
    let mut found = None;
    for member in value.split(|&b| b == b',') {
        let member = member.trim_ascii();
        let Some(encoded) = member
            .strip_prefix(LABEL.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"="))
        else {
            continue;
        };
        if found.is_some() {
            return Err("up42-sig appears twice in Signature");
        }
        let encoded = encoded
            .strip_prefix(b":")
            .and_then(|e| e.strip_suffix(b":"))
            .unwrap_or(encoded);
        found = Some(crate::signature::decode(encoded)?);
    }
    Ok(found)
}

/// The sending side of the recipe: `Signature-Input` and `Signature` values
/// for the `covered` headers (name, value), in that order, signed with
/// `key` at `created`. The signed string is the values joined, as the
/// verifier rebuilds it. Names are lowercased and written as RFC 8941
/// strings; what [`parse_signature_input`] refuses (no names, a name twice,
/// more than [`MAX_COVERED`], `created` outside 0 to 10^15 - 1) is signed as
/// asked, so tests can make such deliveries.
pub fn sign(key: &SigningKey, covered: &[(&str, &str)], created: i64) -> (String, String) {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = key.mac();
    for (_, value) in covered {
        mac.update(value.as_bytes());
    }
    let names: Vec<String> = covered
        .iter()
        .map(|(name, _)| {
            let name = name.to_ascii_lowercase();
            format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect();
    let input = format!("{LABEL}=({});created={created}", names.join(" "));
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (input, format!("{LABEL}={signature}"))
}

impl Scheme for Up42 {
    fn name(&self) -> &'static str {
        NAME
    }

    fn read(&self, head: &dyn HeaderSource) -> Result<Claims, Error> {
        let malformed = |detail| refuse(ErrorKind::MalformedHeaders, detail);
        let missing = |detail| refuse(ErrorKind::MissingSignature, detail);
        let [input, signature] = find(head, ["signature-input", "signature"]);
        let (input, signature) = match (input, signature) {
            (Found::Once(input), Found::Once(signature)) => (input, signature),
            (Found::Repeated, _) => return Err(malformed("Signature-Input sent more than once")),
            (_, Found::Repeated) => return Err(malformed("Signature sent more than once")),
            _ => return Err(missing("no Signature-Input or no Signature header")),
        };
        let input = parse_signature_input(input).map_err(|e| match e {
            InputError::NoLabel => missing("no up42-sig in Signature-Input"),
            InputError::Malformed(detail) => malformed(detail),
        })?;
        let Some(created) = input.created else {
            return Err(refuse(
                ErrorKind::MissingTimestamp,
                "no created in Signature-Input",
            ));
        };
        let mac = parse_signature(signature)
            .map_err(|detail| refuse(ErrorKind::InvalidSignature, detail))?
            .ok_or_else(|| missing("no up42-sig in Signature"))?;

        let found = find_all(head, &input.covered);
        let listed_len = found
            .iter()
            .map(|found| match found {
                Found::Once(value) => value.len(),
                Found::Absent | Found::Repeated => 0,
            })
            .sum();
        let mut prefix = Vec::with_capacity(listed_len);
        let mut signed = Vec::with_capacity(found.len());
        let mut digests = Vec::new();
        for (name, found) in input.covered.into_iter().zip(found) {
            let value = match found {
                Found::Once(value) => value,
                Found::Absent => return Err(malformed("a listed header is absent")),
                Found::Repeated => return Err(malformed("a listed header is sent more than once")),
            };
            let value = std::str::from_utf8(value)
                .map_err(|_| malformed("a listed header value is not UTF-8"))?;
            prefix.extend_from_slice(value.as_bytes());
            let listed = match name.as_str() {
                "content-digest" => parse_content_digest(value.as_bytes()).map_err(malformed)?,
                "digest" => parse_legacy_digest(value.as_bytes()).map_err(malformed)?,
                _ => Vec::new(),
            };
            // Nearly always one digest header: keep its list rather than copy it.
            if digests.is_empty() {
                digests = listed;
            } else {
                digests.extend(listed);
            }
            signed.push((name, value.to_owned()));
        }
        let body_authenticated = !digests.is_empty();
        if !body_authenticated && !self.accept_unsigned_body {
            return Err(refuse(
                ErrorKind::BodyNotSigned,
                "up42-sig covers no content-digest or digest of the body",
            ));
        }
        Ok(Claims {
            timestamp: Some(created),
            timestamp_required: true,
            proof: Proof::Signed {
                prefix: Prefix::Bytes(prefix),
                covers_body: false,
                tags: Tags::One([Tag::HmacSha256(mac)]),
            },
            digests,
            replay: Replay::Signature,
            signed: Signed::Headers(signed),
            body_authenticated,
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn reads_the_list_and_created() {
        let input = parse_signature_input(
            br#"up42-sig=("Content-Digest" "x-up42-event");created=1700000000;keyid="a""#,
        )
        .unwrap();
        assert_eq!(input.covered, ["content-digest", "x-up42-event"]);
        assert_eq!(input.created, Some(1_700_000_000));
    }

    #[test]
    fn refuses_lists_that_cannot_be_verified() {
        assert_eq!(
            parse_signature_input(b"sig1=(\"a\")").unwrap_err(),
            InputError::NoLabel
        );
        for bad in [
            &b"up42-sig=()"[..],
            b"up42-sig=(\"a\" \"A\")",
            b"up42-sig=(a)",
            b"up42-sig=\"a\"",
            b"up42-sig=(\"a\");created=\"x\"",
            b"up42-sig=(\"a\");created=-1",
            b"up42-sig=(\"a\"), up42-sig=(\"b\")",
            b"up42-sig=(\"a\");created=1;created=2",
        ] {
            assert!(
                matches!(parse_signature_input(bad), Err(InputError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let many = format!(
            "up42-sig=({})",
            (0..=MAX_COVERED)
                .map(|i| format!("\"h{i}\""))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(parse_signature_input(many.as_bytes()).is_err());
    }

    #[test]
    fn signature_after_the_first_equals_sign() {
        let mac = [0x5a; 32];
        let b64 = STANDARD.encode(mac);
        assert_eq!(
            parse_signature(format!("up42-sig={b64}").as_bytes()),
            Ok(Some(mac))
        );
        assert_eq!(
            parse_signature(format!("x=1, up42-sig=:{b64}:").as_bytes()),
            Ok(Some(mac))
        );
        assert_eq!(parse_signature(b"other=abc"), Ok(None));
        assert!(parse_signature(b"up42-sig=abc").is_err());
        assert!(parse_signature(format!("up42-sig={b64},up42-sig={b64}").as_bytes()).is_err());
    }
}
