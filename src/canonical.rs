//! Which headers the signature covers, under which names, in which order, and
//! the exact bytes of their JSON encoding.
//!
//! The vendor signs `json_encode(ksort($headers))` where `$headers` holds every
//! `X-Webhook-*` header but the signature, named in the vendor's case. A receiver
//! sees the names in whatever case the wire or its HTTP library left them (HTTP/2
//! and the `http` crate lowercase them), so the names are rebuilt here: lowercase,
//! then the first letter of each `-`-separated segment in upper case.

use std::borrow::Cow;
use std::cmp::Ordering;
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

    /// Every name above, in byte order, so that their places here sort
    /// them as their bytes would.
    pub(crate) const KNOWN: [&str; 9] = [
        ACTION,
        ENTITY,
        ERROR_CODE,
        ERROR_MESSAGE,
        ERROR_REASON,
        ERROR_TRY_COUNT,
        SIGNATURE,
        STORE_ID,
        TIMESTAMP,
    ];

    /// Where [`SIGNATURE`] is in [`KNOWN`].
    pub(crate) const SIGNATURE_RANK: usize = 6;
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
        Some(rank) => Cow::Borrowed(names::KNOWN[rank]),
        None => {
            let mut out = String::with_capacity(name.len());
            push_vendor_case(&mut out, name);
            Cow::Owned(out)
        }
    })
}

/// Where `name`, which starts with the prefix, is in [`names::KNOWN`], when it
/// is one of the names the vendor sends. Most of them differ in length, so this
/// rarely compares bytes, and then only those after the prefix. (A `match` on
/// the length that picks the candidates first measured slower: over this
/// constant array the compiler specializes each comparison.)
fn known_name(name: &[u8]) -> Option<usize> {
    let suffix = name.get(names::PREFIX.len()..)?;
    // HTTP/2 and the `http` crate lowercase names: an exact compare first.
    KNOWN_SUFFIXES.iter().position(|known| {
        known.len() == suffix.len()
            && (known.as_bytes() == suffix || known.as_bytes().eq_ignore_ascii_case(suffix))
    })
}

/// [`names::KNOWN`] as JSON keys, with the colon.
const KNOWN_KEYS: [&str; 9] = [
    "\"X-Webhook-Action\":",
    "\"X-Webhook-Entity\":",
    "\"X-Webhook-Error-Code\":",
    "\"X-Webhook-Error-Message\":",
    "\"X-Webhook-Error-Reason\":",
    "\"X-Webhook-Error-Try-Count\":",
    "\"X-Webhook-Signature\":",
    "\"X-Webhook-Store-Id\":",
    "\"X-Webhook-Timestamp\":",
];

/// [`names::KNOWN`] after the prefix, in lower case.
const KNOWN_SUFFIXES: [&str; 9] = [
    "action",
    "entity",
    "error-code",
    "error-message",
    "error-reason",
    "error-try-count",
    "signature",
    "store-id",
    "timestamp",
];

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
/// The values, any name the vendor does not send and the JSON the vendor
/// signs live in one string: one allocation per delivery, not one per header,
/// and a value PHP writes as it is is kept once, inside the JSON.
#[derive(Clone)]
pub struct SignedHeaders {
    /// The names the vendor does not send and the values PHP escapes, then
    /// the JSON (which holds every other value), then the signature.
    text: String,
    /// Sorted by name.
    entries: Vec<Entry>,
    /// Where the JSON is in `text`; written once, when built.
    json: Range<usize>,
}

#[derive(Clone, Debug)]
struct Entry<V = Range<usize>> {
    name: Name,
    /// Where the value is in `text` (while collecting: the value as received).
    value: V,
}

#[derive(Clone, Debug)]
enum Name {
    /// `names::KNOWN[rank]`.
    Known(usize),
    /// Rebuilt in vendor case, in `text` (while collecting: in the
    /// collector's `other_names`).
    Other(Range<usize>),
}

/// Appends `bytes` to `text` and says where they went.
fn push(text: &mut Vec<u8>, bytes: &[u8]) -> Range<usize> {
    let start = text.len();
    text.extend_from_slice(bytes);
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
        // A name the vendor sends is looked for by its rank.
        let probe = names::KNOWN.iter().position(|known| *known == name);
        self.entries
            .binary_search_by(|entry| match (&entry.name, probe) {
                (Name::Known(rank), Some(probe)) => rank.cmp(&probe),
                _ => self.name_of(entry).as_bytes().cmp(name.as_bytes()),
            })
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
        slice(&self.text, &self.json).as_bytes()
    }

    /// Appends the JSON the vendor signs to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.json());
    }

    /// The JSON the vendor signs, as an owned copy.
    pub fn to_json(&self) -> Vec<u8> {
        self.json().to_vec()
    }
}

/// The vendor-case name `name`, whose text may be in `text`.
fn slice_name<'a>(text: &'a str, name: &'a Name) -> &'a str {
    match name {
        Name::Known(rank) => names::KNOWN[*rank],
        Name::Other(range) => slice(text, range),
    }
}

/// The byte order of two names, without reading them when both are ones
/// the vendor sends.
#[inline]
fn name_order(text: &str, a: &Name, b: &Name) -> Ordering {
    match (a, b) {
        (Name::Known(a), Name::Known(b)) => a.cmp(b),
        _ => slice_name(text, a)
            .as_bytes()
            .cmp(slice_name(text, b).as_bytes()),
    }
}

impl Default for SignedHeaders {
    /// No headers: what PHP signs for an empty array, `[]`.
    fn default() -> Self {
        Self {
            text: "[]".to_owned(),
            entries: Vec::new(),
            json: 0..2,
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

/// The signature as received: kept in the headers' text when it is ASCII
/// (as every well-formed one is), on its own otherwise.
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
        // The collector borrows the values until the JSON is written.
        let pairs: Vec<(N, V)> = pairs.into_iter().collect();
        Self::from_source(pairs.as_slice())
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
        Self::from_source(headers)
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

/// Builds [`DeliveryHeaders`] one header line at a time. The values are
/// borrowed from the request until the JSON is written, so most are copied
/// once, into the JSON.
struct Collector<'a> {
    /// The signed headers in the order received.
    entries: Vec<Entry<&'a [u8]>>,
    /// The names the vendor does not send, rebuilt in vendor case (rarely
    /// any).
    other_names: String,
    signature: Option<&'a [u8]>,
    /// Some name or value is not written as it is in the JSON: a name the
    /// vendor does not send, or a value with characters PHP escapes.
    escaped: bool,
    /// Why the headers are refused, once they are.
    error: Option<Error>,
}

impl Default for Collector<'_> {
    fn default() -> Self {
        Self {
            entries: Vec::with_capacity(8),
            other_names: String::new(),
            signature: None,
            escaped: false,
            error: None,
        }
    }
}

impl<'a> Collector<'a> {
    /// Takes one header line; `Err` (with the reason kept in `error`) once the
    /// headers are refused.
    fn push(&mut self, name: &[u8], value: &'a [u8]) -> Result<(), ()> {
        if !has_prefix(name) {
            return Ok(());
        }
        self.take(name, value).map_err(|error| {
            self.error = Some(error);
        })
    }

    fn take(&mut self, name: &[u8], value: &'a [u8]) -> Result<(), Error> {
        let name = match known_name(name) {
            Some(names::SIGNATURE_RANK) => {
                if self.signature.replace(value).is_some() {
                    return Err(duplicate(names::SIGNATURE));
                }
                return Ok(());
            }
            Some(rank) => Name::Known(rank),
            None => {
                let Ok(name) = std::str::from_utf8(name) else {
                    tracing::debug!("X-Webhook-* header name is not UTF-8");
                    return Err(Error::new(
                        ErrorKind::MalformedHeaders,
                        "header name is not UTF-8",
                    ));
                };
                let start = self.other_names.len();
                push_vendor_case(&mut self.other_names, name);
                self.escaped = true;
                Name::Other(start..self.other_names.len())
            }
        };
        // Nearly every value is plain ASCII, which needs no closer look.
        if !php_json::is_plain(value) {
            if !value.is_ascii() && std::str::from_utf8(value).is_err() {
                tracing::debug!(
                    header = %slice_name(&self.other_names, &name),
                    "signed header value is not UTF-8"
                );
                return Err(not_utf8());
            }
            self.escaped = true;
        }
        self.entries.push(Entry { name, value });
        Ok(())
    }

    /// Sorts the headers by name, refuses a name seen twice, and writes the
    /// text: what the JSON does not show as it is (names the vendor does not
    /// send, values PHP escapes), then the JSON, in which every other value
    /// is found, then the signature.
    fn finish(self) -> Result<DeliveryHeaders, Error> {
        let Self {
            mut entries,
            other_names,
            signature,
            escaped,
            ..
        } = self;
        let names = other_names.as_str();
        if names.is_empty() {
            // Only names the vendor sends (nearly always): their ranks sort them.
            entries.sort_unstable_by_key(|entry| match entry.name {
                Name::Known(rank) => rank,
                Name::Other(_) => usize::MAX,
            });
        } else {
            entries.sort_unstable_by(|a, b| name_order(names, &a.name, &b.name));
        }
        if let Some(pair) = entries
            .windows(2)
            .find(|pair| name_order(names, &pair[0].name, &pair[1].name).is_eq())
        {
            return Err(duplicate(slice_name(names, &pair[0].name)));
        }
        let json_len = 2 + entries
            .iter()
            .map(|e| slice_name(names, &e.name).len() + e.value.len() + 6)
            .sum::<usize>();
        let mut text = Vec::with_capacity(json_len + signature.map_or(0, <[u8]>::len));
        // Without escapes (nearly always), every value is plain: no second look.
        let plain = |value: &[u8]| !escaped || php_json::is_plain(value);
        if escaped {
            for entry in &entries {
                if let Name::Other(range) = &entry.name {
                    text.extend_from_slice(slice(names, range).as_bytes());
                }
                if !plain(entry.value) {
                    text.extend_from_slice(entry.value);
                }
            }
        }
        // Where the next of those pieces is, as the JSON is written in the
        // same order.
        let mut raw_end = 0;
        let mut raw = |len: usize| {
            raw_end += len;
            raw_end - len..raw_end
        };
        let json_start = text.len();
        // `php_json::write_map`, with the vendor's names (which need no
        // escaping) copied as they are.
        let entries: Vec<Entry> = entries
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                text.push(if index == 0 { b'{' } else { b',' });
                let name = match entry.name {
                    Name::Known(rank) => {
                        text.extend_from_slice(KNOWN_KEYS[rank].as_bytes());
                        Name::Known(rank)
                    }
                    Name::Other(range) => {
                        let name = slice(names, &range);
                        php_json::write_string(&mut text, name);
                        text.push(b':');
                        Name::Other(raw(name.len()))
                    }
                };
                let value = if plain(entry.value) {
                    text.push(b'"');
                    let value = push(&mut text, entry.value);
                    text.push(b'"');
                    value
                } else {
                    // Checked to be UTF-8 when collected.
                    let value = std::str::from_utf8(entry.value).unwrap_or_default();
                    php_json::write_string(&mut text, value);
                    raw(value.len())
                };
                Entry { name, value }
            })
            .collect();
        text.extend_from_slice(if entries.is_empty() { b"[]" } else { b"}" });
        let json = json_start..text.len();
        let signature = signature.map(|value| {
            if value.is_ascii() {
                RawSignature::InText(push(&mut text, value))
            } else {
                RawSignature::Bytes(value.into())
            }
        });
        // The values were checked when collected, the rest is ASCII.
        let text = String::from_utf8(text).map_err(|_| not_utf8())?;
        Ok(DeliveryHeaders {
            signed: SignedHeaders {
                text,
                entries,
                json,
            },
            signature,
        })
    }
}

fn not_utf8() -> Error {
    Error::new(
        ErrorKind::MalformedHeaders,
        "signed header value is not UTF-8",
    )
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
        for (rank, known) in names::KNOWN.iter().enumerate() {
            assert_eq!(known_name(known.as_bytes()), Some(rank));
            assert_eq!(
                known_name(known.to_ascii_lowercase().as_bytes()),
                Some(rank)
            );
            assert_eq!(
                known_name(known.to_ascii_uppercase().as_bytes()),
                Some(rank)
            );
        }
        assert!(names::KNOWN.is_sorted(), "ranks sort as the bytes do");
        for (known, key) in names::KNOWN.iter().zip(KNOWN_KEYS) {
            assert_eq!(format!("\"{known}\":"), key);
        }
        for (known, suffix) in names::KNOWN.iter().zip(KNOWN_SUFFIXES) {
            assert_eq!(
                format!("{}{suffix}", names::PREFIX).to_ascii_lowercase(),
                known.to_ascii_lowercase()
            );
            assert_eq!(suffix, suffix.to_ascii_lowercase());
        }
        assert_eq!(names::KNOWN[names::SIGNATURE_RANK], names::SIGNATURE);
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
    fn other_names_sort_among_the_vendors_by_their_bytes() {
        let h = SignedHeaders::from_pairs([
            ("x-webhook-timestamp", "1"),
            ("x-webhook-z", "2"),
            ("x-webhook-error-d", "3"),
            ("x-webhook-error-code", "4"),
            ("x-webhook-b", "5"),
            ("x-webhook-action", "6"),
            ("x-webhook-store-id", "7"),
            ("x-webhook-signaturf", "8"),
        ])
        .unwrap();
        let names: Vec<&str> = h.iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "X-Webhook-Action",
                "X-Webhook-B",
                "X-Webhook-Error-Code",
                "X-Webhook-Error-D",
                "X-Webhook-Signaturf",
                "X-Webhook-Store-Id",
                "X-Webhook-Timestamp",
                "X-Webhook-Z",
            ]
        );
        for (name, value) in h.iter() {
            assert_eq!(h.get(name), Some(value));
        }
        assert_eq!(h.get("X-Webhook-Entity"), None);
        assert_eq!(h.get("x-webhook-action"), None, "vendor case only");
        assert_eq!(h.get("X-Webhook-C"), None);
    }

    #[test]
    fn values_and_names_php_escapes_are_kept_as_received() {
        let pairs = [
            ("x-webhook-entity", "product"),
            ("x-webhook-error-message", "caf\u{e9} \"3/4\""),
            ("x-webhook-ä/b", "x"),
            ("x-webhook-action", "a\\b"),
            ("x-webhook-signature", "c2ln"),
            ("x-webhook-z", "plain"),
        ];
        let h = DeliveryHeaders::from_pairs(pairs).unwrap();
        assert_eq!(
            String::from_utf8(h.signed().to_json()).unwrap(),
            r#"{"X-Webhook-Action":"a\\b","X-Webhook-Entity":"product","X-Webhook-Error-Message":"caf\u00e9 \"3\/4\"","X-Webhook-Z":"plain","X-Webhook-\u00e4\/b":"x"}"#
        );
        let got: Vec<(&str, &str)> = h.signed().iter().collect();
        assert_eq!(
            got,
            [
                ("X-Webhook-Action", "a\\b"),
                ("X-Webhook-Entity", "product"),
                ("X-Webhook-Error-Message", "caf\u{e9} \"3/4\""),
                ("X-Webhook-Z", "plain"),
                ("X-Webhook-\u{e4}/b", "x"),
            ]
        );
        assert_eq!(h.signature(), Some(&b"c2ln"[..]));
        assert_eq!(h.signed().get("X-Webhook-\u{e4}/b"), Some("x"));
        // The same headers arriving in another order are the same headers.
        let mut reversed = pairs;
        reversed.reverse();
        assert_eq!(DeliveryHeaders::from_pairs(reversed).unwrap(), h);
    }

    #[test]
    fn vendor_names_are_sorted_and_need_no_json_escaping() {
        // `SignedHeaders::new` copies known names into the JSON as they are.
        for name in names::KNOWN {
            let mut json = Vec::new();
            php_json::write_string(&mut json, name);
            assert_eq!(json, format!("\"{name}\"").into_bytes());
            assert_eq!(
                known_name(name.to_ascii_lowercase().as_bytes()).map(|rank| names::KNOWN[rank]),
                Some(name)
            );
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
        // Half a character at the end of one value, completed by the next.
        let err = DeliveryHeaders::from_pairs([
            (&b"x-webhook-entity"[..], &b"caf\xc3"[..]),
            (&b"x-webhook-action"[..], &b"\xa9"[..]),
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
        let err = DeliveryHeaders::from_pairs([
            (&b"x-webhook-signature"[..], &b"c2ln\xc3"[..]),
            (&b"x-webhook-action"[..], &b"\xa9"[..]),
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
        // A signature that is not UTF-8 is kept as it came (it will not decode).
        let h = DeliveryHeaders::from_pairs([
            (&b"x-webhook-entity"[..], &b"caf\xc3\xa9"[..]),
            (&b"x-webhook-signature"[..], &b"\xff\xc3"[..]),
            (&b"x-webhook-action"[..], &b"add"[..]),
        ])
        .unwrap();
        assert_eq!(h.signature(), Some(&b"\xff\xc3"[..]));
        assert_eq!(
            h.signed().to_json(),
            br#"{"X-Webhook-Action":"add","X-Webhook-Entity":"caf\u00e9"}"#
        );
        let ok = DeliveryHeaders::from_pairs([(&b"cookie"[..], &b"\xff"[..])]).unwrap();
        assert!(ok.signed().is_empty());
        assert_eq!(ok.signed().to_json(), b"[]");
    }
}
