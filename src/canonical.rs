//! Which headers the signature covers, under which names, in which order, and
//! the exact bytes of their JSON encoding.
//!
//! The vendor signs `json_encode(ksort($headers))` where `$headers` holds every
//! `X-Webhook-*` header but the signature, named in the vendor's case. A receiver
//! sees the names in whatever case the wire or its HTTP library left them (HTTP/2
//! and the `http` crate lowercase them), so the names are rebuilt here: lowercase,
//! then the first letter of each `-`-separated segment in upper case.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::error::{Error, ErrorKind};
use crate::php_json;

/// Header names the vendor sends, in the vendor's case.
pub mod names {
    /// The prefix every signed header starts with (matched case-insensitively).
    pub const PREFIX: &str = "X-Webhook-";
    /// Base64 HMAC-SHA256 signature; the one `X-Webhook-*` header not signed.
    pub const SIGNATURE: &str = "X-Webhook-Signature";
    /// Unix seconds at which the delivery was signed.
    pub const TIMESTAMP: &str = "X-Webhook-Timestamp";
    /// Sub-store the event happened on (`1` on single-store carts).
    pub const STORE_ID: &str = "X-Webhook-Store-Id";
    /// What happened: `add`, `update`, `delete`, ...
    pub const ACTION: &str = "X-Webhook-Action";
    /// What it happened to: `product`, `order`, ...
    pub const ENTITY: &str = "X-Webhook-Entity";
    /// `0` for an ordinary event, anything else for an error notice.
    pub const ERROR_CODE: &str = "X-Webhook-Error-Code";
    /// Short reason of an error notice.
    pub const ERROR_REASON: &str = "X-Webhook-Error-Reason";
    /// Free-text message of an error notice.
    pub const ERROR_MESSAGE: &str = "X-Webhook-Error-Message";
    /// How many times the vendor has failed to reach the store.
    pub const ERROR_TRY_COUNT: &str = "X-Webhook-Error-Try-Count";

    pub(crate) const KNOWN: [&str; 9] = [
        SIGNATURE,
        TIMESTAMP,
        STORE_ID,
        ACTION,
        ENTITY,
        ERROR_CODE,
        ERROR_REASON,
        ERROR_MESSAGE,
        ERROR_TRY_COUNT,
    ];
}

/// The vendor-case name of an `X-Webhook-*` header, or `None` for any other header.
///
/// ```
/// use webhook_guard::canonical_name;
/// assert_eq!(canonical_name("x-webhook-store-id").as_deref(), Some("X-Webhook-Store-Id"));
/// assert_eq!(canonical_name("X-WEBHOOK-ENTITY").as_deref(), Some("X-Webhook-Entity"));
/// assert_eq!(canonical_name("content-type"), None);
/// ```
pub fn canonical_name(name: &str) -> Option<Cow<'static, str>> {
    if !has_prefix(name.as_bytes()) {
        return None;
    }
    Some(match known_name(name.as_bytes()) {
        Some(known) => Cow::Borrowed(known),
        None => {
            let mut out = String::with_capacity(name.len());
            push_vendor_case(&mut out, name);
            Cow::Owned(out)
        }
    })
}

/// The vendor's spelling of `name`, which starts with the prefix, when it is
/// one of the names the vendor sends. Most of them differ in length, so this
/// rarely compares bytes, and then only those after the prefix. (A `match` on
/// the length that picks the candidates first measured slower: over this
/// constant array the compiler specializes each comparison.)
fn known_name(name: &[u8]) -> Option<&'static str> {
    let suffix = name.get(names::PREFIX.len()..)?;
    names::KNOWN.iter().copied().find(|known| {
        known.len() == name.len()
            && known.as_bytes()[names::PREFIX.len()..].eq_ignore_ascii_case(suffix)
    })
}

/// Appends `name` with the first letter of each `-`-separated segment in upper
/// case and the rest in lower case.
fn push_vendor_case(out: &mut String, name: &str) {
    let mut segment_start = true;
    for ch in name.chars() {
        out.push(if segment_start {
            ch.to_ascii_uppercase()
        } else {
            ch.to_ascii_lowercase()
        });
        segment_start = ch == '-';
    }
}

/// True when `name` starts with `X-Webhook-` in any letter case.
///
/// Every header of every request goes through here, so it compares the ten
/// bytes without branching: OR-ing 0x20 into a byte where the prefix has a
/// letter folds exactly `A-Z` onto `a-z` (`b | 0x20 == b'w'` holds for `W`
/// and `w` only), and the two `-` are compared as they are.
fn has_prefix(name: &[u8]) -> bool {
    const LOWER: &[u8; 10] = b"x-webhook-";
    const FOLD: [u8; 10] = [0x20, 0, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0];
    let Some(head) = name.first_chunk::<10>() else {
        return false;
    };
    let mut diff = 0;
    for i in 0..LOWER.len() {
        diff |= (head[i] | FOLD[i]) ^ LOWER[i];
    }
    diff == 0
}

/// The `X-Webhook-*` headers a signature covers: vendor-case names, byte order,
/// values exactly as received. Built by [`DeliveryHeaders::from_pairs`].
///
/// The values and any name the vendor does not send live in one string: one
/// allocation per delivery, not one per header.
#[derive(Clone)]
pub struct SignedHeaders {
    text: String,
    /// Sorted by name.
    entries: Vec<Entry>,
    /// The JSON the vendor signs; computed once, when built.
    json: String,
}

#[derive(Clone, Debug)]
struct Entry {
    name: Name,
    value: Range<usize>,
}

#[derive(Clone, Debug)]
enum Name {
    /// One of [`names::KNOWN`].
    Known(&'static str),
    /// Rebuilt in vendor case, in `text`.
    Other(Range<usize>),
}

/// Appends `s` to `text` and says where it went.
fn push(text: &mut String, s: &str) -> Range<usize> {
    let start = text.len();
    text.push_str(s);
    start..text.len()
}

/// `text[range]`; the ranges come from [`push`], so this never falls back.
fn slice<'a>(text: &'a str, range: &Range<usize>) -> &'a str {
    text.get(range.clone()).unwrap_or_default()
}

impl SignedHeaders {
    /// Collects the signed headers from `(name, value)` pairs in any case, ignoring
    /// other headers and the signature. Fails as [`DeliveryHeaders::from_pairs`] does.
    pub fn from_pairs<I, N, V>(pairs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        DeliveryHeaders::from_pairs(pairs).map(DeliveryHeaders::into_signed)
    }

    fn name_of<'a>(&'a self, entry: &'a Entry) -> &'a str {
        slice_name(&self.text, &entry.name)
    }

    /// The value of the signed header `name` (vendor case, e.g. [`names::STORE_ID`]).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .binary_search_by(|entry| self.name_of(entry).as_bytes().cmp(name.as_bytes()))
            .ok()
            .map(|i| slice(&self.text, &self.entries[i].value))
    }

    /// The headers in signing order, as `(vendor-case name, value)`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries
            .iter()
            .map(|entry| (self.name_of(entry), slice(&self.text, &entry.value)))
    }

    /// How many headers the signature covers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no `X-Webhook-*` header but the signature was sent.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The JSON the vendor signs (PHP `json_encode` of the sorted map).
    pub fn json(&self) -> &[u8] {
        self.json.as_bytes()
    }

    /// Appends the JSON the vendor signs to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.json());
    }

    /// The JSON the vendor signs, as an owned copy.
    pub fn to_json(&self) -> Vec<u8> {
        self.json().to_vec()
    }

    /// Sorts `entries` (whose text is in `text`) by name, refuses a name
    /// seen twice, and encodes the signed JSON.
    fn new(text: String, mut entries: Vec<Entry>) -> Result<Self, Error> {
        fn name<'a>(text: &'a str, entry: &'a Entry) -> &'a [u8] {
            slice_name(text, &entry.name).as_bytes()
        }
        entries.sort_unstable_by(|a, b| name(&text, a).cmp(name(&text, b)));
        if let Some(pair) = entries
            .windows(2)
            .find(|pair| name(&text, &pair[0]) == name(&text, &pair[1]))
        {
            return Err(duplicate(slice_name(&text, &pair[0].name)));
        }
        let mut json = String::with_capacity(
            2 + entries
                .iter()
                .map(|e| name(&text, e).len() + e.value.len() + 6)
                .sum::<usize>(),
        );
        // `php_json::write_map`, with the vendor's names (which need no
        // escaping) copied as they are.
        for (index, entry) in entries.iter().enumerate() {
            json.push(if index == 0 { '{' } else { ',' });
            match &entry.name {
                Name::Known(name) => {
                    json.push('"');
                    json.push_str(name);
                    json.push('"');
                }
                Name::Other(range) => php_json::write_string(&mut json, slice(&text, range)),
            }
            json.push(':');
            php_json::write_string(&mut json, slice(&text, &entry.value));
        }
        json.push_str(if entries.is_empty() { "[]" } else { "}" });
        Ok(Self {
            text,
            entries,
            json,
        })
    }
}

/// The vendor-case name `name`, whose text may be in `text`.
fn slice_name<'a>(text: &'a str, name: &'a Name) -> &'a str {
    match name {
        Name::Known(name) => name,
        Name::Other(range) => slice(text, range),
    }
}

impl Default for SignedHeaders {
    /// No headers: what PHP signs for an empty array, `[]`.
    fn default() -> Self {
        Self {
            text: String::new(),
            entries: Vec::new(),
            json: "[]".to_owned(),
        }
    }
}

impl PartialEq for SignedHeaders {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SignedHeaders {}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Every `X-Webhook-*` header of one delivery: the [`SignedHeaders`] and the raw
/// `X-Webhook-Signature` value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DeliveryHeaders {
    signed: SignedHeaders,
    signature: Option<RawSignature>,
}

/// The signature as received: kept in the headers' text when it is UTF-8
/// (every well-formed one is ASCII), on its own otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RawSignature {
    InText(Range<usize>),
    Bytes(Box<[u8]>),
}

impl DeliveryHeaders {
    /// Collects the `X-Webhook-*` headers from `(name, value-bytes)` pairs, such as
    /// the entries of any version of `http::HeaderMap`. Other headers are ignored.
    ///
    /// Fails with [`ErrorKind::MalformedHeaders`] when a name appears twice (in any
    /// case), or when a name or a signed value is not UTF-8 (PHP could not have
    /// encoded it, so no honest sender signed it).
    pub fn from_pairs<I, N, V>(pairs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut collector = Collector::default();
        for (name, value) in pairs {
            if collector.push(name.as_ref(), value.as_ref()).is_err() {
                break;
            }
        }
        match collector.error.take() {
            Some(error) => Err(error),
            None => collector.finish(),
        }
    }

    /// Collects the `X-Webhook-*` headers of any [`HeaderSource`](crate::HeaderSource).
    pub fn from_source(headers: &(impl crate::HeaderSource + ?Sized)) -> Result<Self, Error> {
        let mut collector = Collector::default();
        let mut failed = false;
        headers.visit_headers(&mut |name, value| {
            // Only the first error counts; the rest of the headers are skipped.
            failed = failed || collector.push(name, value).is_err();
        });
        match collector.error.take() {
            Some(error) => Err(error),
            None => collector.finish(),
        }
    }

    /// Collects the `X-Webhook-*` headers of an `http` 1 header map.
    #[cfg(feature = "http")]
    pub fn from_header_map(headers: &http::HeaderMap) -> Result<Self, Error> {
        Self::from_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
    }

    /// The headers the signature covers.
    pub fn signed(&self) -> &SignedHeaders {
        &self.signed
    }

    /// The raw value of `X-Webhook-Signature`, if one was sent.
    pub fn signature(&self) -> Option<&[u8]> {
        self.signature.as_ref().map(|raw| match raw {
            RawSignature::InText(range) => slice(&self.signed.text, range).as_bytes(),
            RawSignature::Bytes(bytes) => &bytes[..],
        })
    }

    /// The signed headers, without the signature.
    pub fn into_signed(self) -> SignedHeaders {
        self.signed
    }
}

impl fmt::Debug for DeliveryHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryHeaders")
            .field("signed", &self.signed)
            .field("has_signature", &self.signature.is_some())
            .finish()
    }
}

/// Builds [`DeliveryHeaders`] one header line at a time.
struct Collector {
    text: String,
    entries: Vec<Entry>,
    signature: Option<RawSignature>,
    /// Why the headers are refused, once they are.
    error: Option<Error>,
}

impl Default for Collector {
    fn default() -> Self {
        Self {
            text: String::with_capacity(256),
            entries: Vec::with_capacity(8),
            signature: None,
            error: None,
        }
    }
}

impl Collector {
    /// Takes one header line; `Err` (with the reason kept in `error`) once the
    /// headers are refused.
    fn push(&mut self, name: &[u8], value: &[u8]) -> Result<(), ()> {
        if !has_prefix(name) {
            return Ok(());
        }
        self.take(name, value).map_err(|error| {
            self.error = Some(error);
        })
    }

    fn take(&mut self, name: &[u8], value: &[u8]) -> Result<(), Error> {
        let text = &mut self.text;
        let name = match known_name(name) {
            Some(names::SIGNATURE) => {
                let raw = match std::str::from_utf8(value) {
                    Ok(value) => RawSignature::InText(push(text, value)),
                    Err(_) => RawSignature::Bytes(value.into()),
                };
                if self.signature.replace(raw).is_some() {
                    return Err(duplicate(names::SIGNATURE));
                }
                return Ok(());
            }
            Some(known) => Name::Known(known),
            None => {
                let Ok(name) = std::str::from_utf8(name) else {
                    tracing::debug!("X-Webhook-* header name is not UTF-8");
                    return Err(Error::new(
                        ErrorKind::MalformedHeaders,
                        "header name is not UTF-8",
                    ));
                };
                let start = text.len();
                push_vendor_case(text, name);
                Name::Other(start..text.len())
            }
        };
        let Ok(value) = std::str::from_utf8(value) else {
            tracing::debug!(header = %slice_name(text, &name), "signed header value is not UTF-8");
            return Err(Error::new(
                ErrorKind::MalformedHeaders,
                "signed header value is not UTF-8",
            ));
        };
        let value = push(text, value);
        self.entries.push(Entry { name, value });
        Ok(())
    }

    fn finish(self) -> Result<DeliveryHeaders, Error> {
        Ok(DeliveryHeaders {
            signed: SignedHeaders::new(self.text, self.entries)?,
            signature: self.signature,
        })
    }
}

fn duplicate(name: &str) -> Error {
    tracing::debug!(header = %name, "X-Webhook-* header sent more than once");
    Error::new(ErrorKind::MalformedHeaders, "header sent more than once")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_is_found_in_any_case() {
        for known in names::KNOWN {
            assert_eq!(known_name(known.as_bytes()), Some(known));
            assert_eq!(
                known_name(known.to_ascii_lowercase().as_bytes()),
                Some(known)
            );
            assert_eq!(
                known_name(known.to_ascii_uppercase().as_bytes()),
                Some(known)
            );
        }
        assert_eq!(known_name(b"x-webhook-store-ix"), None);
        assert_eq!(known_name(b"x-webhook-"), None);
    }

    #[test]
    fn rebuilds_vendor_case_for_unknown_names() {
        assert_eq!(
            canonical_name("x-webhook-some-new-THING").as_deref(),
            Some("X-Webhook-Some-New-Thing")
        );
        assert_eq!(canonical_name("X-webhook-").as_deref(), Some("X-Webhook-"));
        assert_eq!(canonical_name("x-webhook"), None);
        assert_eq!(canonical_name("x-webhooks-a"), None);
    }

    #[test]
    fn sorts_by_byte_order_and_skips_other_headers() {
        let h = DeliveryHeaders::from_pairs([
            ("x-webhook-store-id", "1"),
            ("content-type", "application/json"),
            ("X-WEBHOOK-ACTION", "add"),
            ("x-webhook-signature", "c2ln"),
            ("x-webhook-entity", "product"),
        ])
        .unwrap();
        assert_eq!(
            h.signed().to_json(),
            br#"{"X-Webhook-Action":"add","X-Webhook-Entity":"product","X-Webhook-Store-Id":"1"}"#
        );
        assert_eq!(h.signature(), Some(&b"c2ln"[..]));
        assert_eq!(h.signed().get(names::ENTITY), Some("product"));
    }

    #[test]
    fn vendor_names_are_sorted_and_need_no_json_escaping() {
        // `SignedHeaders::new` copies known names into the JSON as they are.
        for name in names::KNOWN {
            let mut json = Vec::new();
            php_json::write_string(&mut json, name);
            assert_eq!(json, format!("\"{name}\"").into_bytes());
            assert_eq!(known_name(name.to_ascii_lowercase().as_bytes()), Some(name));
        }
    }

    #[test]
    fn prefix_matches_in_any_letter_case_only() {
        assert!(has_prefix(b"x-webhook-a"));
        assert!(has_prefix(b"X-WEBHOOK-"));
        assert!(has_prefix(b"X-wEbHoOk-store-id"));
        assert!(!has_prefix(b"x-webhook"));
        assert!(!has_prefix(b"x_webhook-a"));
        assert!(!has_prefix(b"x-webhook_a"));
        // OR-ing 0x20 into every byte would take \r for - and @ for `.
        assert!(!has_prefix(b"x\rwebhook-a"));
        assert!(!has_prefix(b"x-webhook\ra"));
        // Every single-byte change of the prefix is caught, whatever the byte.
        let base = *b"x-webhook-";
        for at in 0..base.len() {
            for byte in 0..=255u8 {
                let mut name = base;
                name[at] = byte;
                let expected = byte.eq_ignore_ascii_case(&base[at]);
                assert_eq!(has_prefix(&name), expected, "{name:?}");
            }
        }
    }

    #[test]
    fn the_default_is_the_empty_set_php_signs_as_a_list() {
        let empty = SignedHeaders::from_pairs([("content-type", "text/plain")]).unwrap();
        assert_eq!(SignedHeaders::default(), empty);
        assert_eq!(SignedHeaders::default().json(), b"[]");
        assert_eq!(DeliveryHeaders::default().signed().json(), b"[]");
    }

    #[test]
    fn equality_ignores_the_order_headers_arrived_in() {
        let a = SignedHeaders::from_pairs([("x-webhook-a", "1"), ("x-webhook-b", "2")]).unwrap();
        let b = SignedHeaders::from_pairs([("X-Webhook-B", "2"), ("X-Webhook-A", "1")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.json(), b.json());
        let c = SignedHeaders::from_pairs([("x-webhook-a", "1"), ("x-webhook-b", "3")]).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn duplicate_in_other_case_is_malformed() {
        let err =
            DeliveryHeaders::from_pairs([("x-webhook-action", "add"), ("X-Webhook-Action", "add")])
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
        let err = DeliveryHeaders::from_pairs([
            ("x-webhook-signature", "a"),
            ("X-Webhook-Signature", "a"),
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
    }

    #[test]
    fn non_utf8_value_is_malformed_but_other_headers_are_not_checked() {
        let err =
            DeliveryHeaders::from_pairs([(&b"x-webhook-entity"[..], &b"\xff"[..])]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
        let ok = DeliveryHeaders::from_pairs([(&b"cookie"[..], &b"\xff"[..])]).unwrap();
        assert!(ok.signed().is_empty());
        assert_eq!(ok.signed().to_json(), b"[]");
    }
}
