//! A secret token in the callback URL, for senders that sign nothing.
//!
//! AmeriCommerce's public REST and webhook docs describe no signature, shared
//! secret or authentication header on webhook deliveries; the sender POSTs to
//! the subscribed URL exactly as registered. What a receiver can do is
//! register a URL carrying a long random token (`https://shop.example/hooks/
//! americommerce?token=...` or `.../hooks/<token>/...`) and refuse any request
//! without it. This authenticates the URL, not the body: anyone who learns
//! the URL (a proxy log, a leaked config) can send any body, and nothing stops
//! a replay. Keep the token out of logs ([`UrlToken::redact`]), rotate it
//! through a [`KeySet`](crate::KeySet) of several, and treat what arrives as a claim to
//! check against the store's API where it matters.
//!
//! | request | status |
//! |---|---|
//! | token present and equal to a key (constant time) | the handler runs |
//! | no request target, no token, or an empty token | 401 missing signature |
//! | token sent twice in the query | 400 |
//! | token matching no key | 401 invalid signature |

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, refuse};
use crate::head::HeaderSource;
use crate::scheme::{Claims, Proof, Replay, Scheme, Signed};

/// Where the token sits in the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Place {
    Query(Cow<'static, str>),
    PathSegment(usize),
}

/// The URL-token recipe: the secret is a query parameter or a path segment of
/// the request target, compared in constant time with each key of the set.
///
/// ```
/// use webhook_guard::americommerce::UrlToken;
/// use webhook_guard::{KeySet, Verifier};
///
/// // Registered with AmeriCommerce as https://shop.example/hooks/americommerce?token=<long random>
/// let verifier = Verifier::builder(KeySet::single("k9Q2...long random token"))
///     .scheme(UrlToken::query("token"))
///     .build();
/// # let _ = verifier;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlToken {
    place: Place,
}

impl UrlToken {
    /// The token is the query parameter `name` (`?name=<token>`),
    /// percent-decoded to bytes.
    pub fn query(name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            place: Place::Query(name.into()),
        }
    }

    /// The token is path segment `index` (0-based, after the leading `/`),
    /// percent-decoded to bytes: `UrlToken::path_segment(1)` reads
    /// `/hooks/<token>/tax`.
    ///
    /// The index counts in the target the adapter sees: behind axum's
    /// `Router::nest`, that is the path with the nest's prefix removed.
    pub fn path_segment(index: usize) -> Self {
        Self {
            place: Place::PathSegment(index),
        }
    }

    /// The token in `target` (a path with an optional query), as bytes, if
    /// there is one. `Err` when the query carries it more than once.
    pub fn extract<'a>(&self, target: &'a str) -> Result<Option<Cow<'a, [u8]>>, &'static str> {
        Ok(self
            .locate(target)?
            .map(|range| percent_decode(&target[range])))
    }

    /// `target` with the token replaced by `<redacted>`, for logs.
    pub fn redact(&self, target: &str) -> String {
        match self.locate(target) {
            Ok(Some(range)) => format!(
                "{}<redacted>{}",
                &target[..range.start],
                &target[range.end..]
            ),
            // Twice in the query: hide the whole query.
            Err(_) => {
                let path = target.split('?').next().unwrap_or_default();
                format!("{path}?<redacted>")
            }
            Ok(None) => target.to_owned(),
        }
    }

    /// Where the raw (still percent-encoded) token is in `target`.
    fn locate(&self, target: &str) -> Result<Option<std::ops::Range<usize>>, &'static str> {
        let (path, query) = match target.find('?') {
            Some(q) => (&target[..q], Some((q + 1, &target[q + 1..]))),
            None => (target, None),
        };
        match &self.place {
            Place::Query(name) => {
                let Some((start, query)) = query else {
                    return Ok(None);
                };
                let mut found = None;
                let mut offset = start;
                for pair in query.split('&') {
                    let (key, value_at) = match pair.find('=') {
                        Some(eq) => (&pair[..eq], offset + eq + 1),
                        None => (pair, offset + pair.len()),
                    };
                    if *percent_decode(key) == *name.as_bytes() {
                        if found.is_some() {
                            return Err("URL token sent more than once");
                        }
                        found = Some(value_at..offset + pair.len());
                    }
                    offset += pair.len() + 1;
                }
                Ok(found)
            }
            Place::PathSegment(index) => {
                let rest = path.strip_prefix('/').unwrap_or(path);
                let base = path.len() - rest.len();
                let mut offset = base;
                for (i, segment) in rest.split('/').enumerate() {
                    if i == *index {
                        return Ok(Some(offset..offset + segment.len()));
                    }
                    offset += segment.len() + 1;
                }
                Ok(None)
            }
        }
    }
}

/// `%XX` decoded, to bytes (so `%FF` and `%FE` stay different); a `%` not
/// followed by two hex digits is kept as it is, and so is `+` (a token is
/// not form data).
fn percent_decode(text: &str) -> Cow<'_, [u8]> {
    if !text.contains('%') {
        return Cow::Borrowed(text.as_bytes());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

impl Scheme for UrlToken {
    fn name(&self) -> &'static str {
        "url-token"
    }

    fn read(&self, head: &dyn HeaderSource) -> Result<Claims, Error> {
        let missing = |detail| refuse(ErrorKind::MissingSignature, detail);
        let target = head
            .target()
            .ok_or_else(|| missing("no request target to read a URL token from"))?;
        let token = self
            .extract(target)
            .map_err(|detail| refuse(ErrorKind::MalformedHeaders, detail))?
            .filter(|token| !token.is_empty())
            .ok_or_else(|| missing("no URL token"))?;
        Ok(Claims {
            timestamp: None,
            timestamp_required: false,
            proof: Proof::Token(token.into_owned()),
            digests: Vec::new(),
            replay: Replay::Untold,
            signed: Signed::Headers(Vec::new()),
            body_authenticated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_in_the_query_or_the_path() {
        let q = UrlToken::query("token");
        assert_eq!(
            q.extract("/hooks?a=1&token=s%2Fx&b").unwrap().as_deref(),
            Some(&b"s/x"[..])
        );
        assert_ne!(
            q.extract("/h?token=%FF").unwrap(),
            q.extract("/h?token=%FE").unwrap()
        );
        assert_eq!(q.extract("/hooks?tokens=x").unwrap(), None);
        assert_eq!(q.extract("/hooks/token").unwrap(), None);
        assert!(q.extract("/hooks?token=a&token=b").is_err());
        let p = UrlToken::path_segment(1);
        assert_eq!(
            p.extract("/hooks/s3cret/tax?x=1").unwrap().as_deref(),
            Some(&b"s3cret"[..])
        );
        assert_eq!(p.extract("/hooks").unwrap(), None);
    }

    #[test]
    fn redacts_only_the_token() {
        assert_eq!(
            UrlToken::query("token").redact("/h?a=1&token=s3cret&b=2"),
            "/h?a=1&token=<redacted>&b=2"
        );
        assert_eq!(
            UrlToken::path_segment(1).redact("/h/s3cret/tax"),
            "/h/<redacted>/tax"
        );
        assert_eq!(UrlToken::query("t").redact("/h?t=a&t=b"), "/h?<redacted>");
        assert_eq!(UrlToken::query("t").redact("/h"), "/h");
    }

    #[test]
    fn tokens_compare_by_value_under_rotation() {
        let keys = crate::KeySet::single("old-token").with_key("new", "new-token");
        assert_eq!(keys.token_match(b"new-token").unwrap().as_str(), "new");
        assert_eq!(keys.token_match(b"old-token").unwrap().as_str(), "default");
        assert_eq!(keys.token_match(b"new-toke"), None);
        assert_eq!(keys.token_match(b""), None);
    }

    #[test]
    fn claims_never_show_the_token() {
        let head = [("content-type", "application/json")];
        let claims = UrlToken::query("token")
            .read(&head.with_target("/h?token=s3cret-token"))
            .unwrap();
        let shown = format!("{claims:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(*percent_decode("a%2"), *b"a%2");
        assert_eq!(*percent_decode("a+b%41"), *b"a+bA");
        assert_eq!(*percent_decode("%zz"), *b"%zz");
        assert_eq!(*percent_decode("%ff%00"), [0xff, 0]);
    }
}
