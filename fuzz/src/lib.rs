//! What the fuzz targets share: deliberately simple reference models of the
//! signing recipe (DESIGN.md section 1), written from the rules and not from
//! the library's code, and the structured input of the `verify` target.
//!
//! The references favour obviousness over speed: `format!` per escape, a
//! `BTreeMap` for `ksort`. Where they and the library disagree, one of them is
//! wrong, and the rules decide which.

use std::collections::BTreeMap;

use arbitrary::Arbitrary;

/// The prefix of every signed header name, matched ignoring ASCII case.
pub const PREFIX: &[u8] = b"x-webhook-";

/// The vendor's documented header names, in the vendor's case.
pub const KNOWN_NAMES: [&str; 9] = [
    "X-Webhook-Signature",
    "X-Webhook-Timestamp",
    "X-Webhook-Store-Id",
    "X-Webhook-Action",
    "X-Webhook-Entity",
    "X-Webhook-Error-Code",
    "X-Webhook-Error-Reason",
    "X-Webhook-Error-Message",
    "X-Webhook-Error-Try-Count",
];

/// True when `name` starts with `X-Webhook-` in any ASCII case.
pub fn has_prefix(name: &[u8]) -> bool {
    name.len() >= PREFIX.len() && name[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
}

/// PHP `json_encode` (default flags) of one string, from the rules:
/// `" \ /` as `\" \\ \/`, the five short escapes, other controls as `\u00xx`,
/// every non-ASCII char as lowercase `\uxxxx` UTF-16 units, all else as is.
pub fn php_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// PHP `json_encode` of an array with string keys, in the order given; an
/// empty array is `[]`.
pub fn php_map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let members: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{}:{}", php_string(k), php_string(v)))
        .collect();
    if members.is_empty() {
        "[]".to_owned()
    } else {
        format!("{{{}}}", members.join(","))
    }
}

/// The vendor's case of a header name: each `-`-separated segment with its
/// first character upper-cased and the rest lower-cased (ASCII only).
pub fn vendor_case(name: &str) -> String {
    name.split('-')
        .map(|segment| {
            let mut chars = segment.chars();
            match chars.next() {
                Some(first) => {
                    let mut s = first.to_ascii_uppercase().to_string();
                    s.push_str(&chars.as_str().to_ascii_lowercase());
                    s
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// What `DeliveryHeaders::from_pairs` must make of `pairs`: the signed map in
/// byte order of the vendor-case names and the raw signature, or `None` when it
/// must refuse (a prefixed name or a signed value that is not UTF-8, the same
/// name twice in any case).
#[allow(clippy::type_complexity)]
pub fn expected_headers<N: AsRef<[u8]>, V: AsRef<[u8]>>(
    pairs: &[(N, V)],
) -> Option<(BTreeMap<String, String>, Option<Vec<u8>>)> {
    let mut map = BTreeMap::new();
    let mut signature = None;
    for (name, value) in pairs {
        let (name, value) = (name.as_ref(), value.as_ref());
        if !has_prefix(name) {
            continue;
        }
        let name = vendor_case(std::str::from_utf8(name).ok()?);
        if name == "X-Webhook-Signature" {
            if signature.replace(value.to_vec()).is_some() {
                return None;
            }
            continue;
        }
        let value = std::str::from_utf8(value).ok()?;
        if map.insert(name, value.to_owned()).is_some() {
            return None;
        }
    }
    Some((map, signature))
}

/// Applies `mask` (bit i for the i-th ASCII letter, cycling) to the case of `name`.
pub fn mix_case(name: &str, mask: u32) -> String {
    let mut letter = 0u32;
    name.chars()
        .map(|c| {
            if !c.is_ascii_alphabetic() {
                return c;
            }
            let upper = mask >> (letter % 32) & 1 == 1;
            letter += 1;
            if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// True when two HMAC keys are the same key: HMAC pads keys of up to one block
/// (64 bytes for SHA-256) with zeros, so trailing zeros do not count. (Longer
/// keys are hashed first; a short key equal to that hash is out of a fuzzer's
/// reach.)
pub fn same_hmac_key(a: &[u8], b: &[u8]) -> bool {
    fn norm(k: &[u8]) -> &[u8] {
        if k.len() > 64 {
            return k;
        }
        let end = k.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        &k[..end]
    }
    norm(a) == norm(b)
}

/// A header name as the `verify` target generates it.
#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    /// One of the vendor's names (`which` modulo 9), letters in random case.
    Known {
        /// Index into [`KNOWN_NAMES`].
        which: u8,
        /// Case mask, see [`mix_case`].
        case: u32,
    },
    /// `X-Webhook-` in random case followed by arbitrary text.
    Extension {
        /// Case mask of the prefix.
        case: u32,
        /// The rest of the name.
        rest: String,
    },
    /// Any other header: ignored by the verifier (unless it happens to start
    /// with the prefix, which the generator then treats as signed).
    Other(Vec<u8>),
}

impl Name {
    /// The name bytes as sent on the wire.
    pub fn wire(&self) -> Vec<u8> {
        match self {
            Name::Known { which, case } => {
                mix_case(KNOWN_NAMES[usize::from(*which) % KNOWN_NAMES.len()], *case).into_bytes()
            }
            Name::Extension { case, rest } => {
                let mut name = mix_case("X-Webhook-", *case);
                name.push_str(rest);
                name.into_bytes()
            }
            Name::Other(bytes) => bytes.clone(),
        }
    }
}

/// One header of a generated delivery.
#[derive(Arbitrary, Debug, Clone)]
pub struct Header {
    /// Its name.
    pub name: Name,
    /// Its value (signed values must be UTF-8 for PHP to have signed them).
    pub value: String,
}

/// The `X-Webhook-Timestamp` of a generated delivery, and the clock.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Timestamp {
    /// No timestamp header; default tolerance.
    Absent,
    /// A timestamp at most `tolerance` seconds from the clock.
    Within {
        /// Unix seconds (reduced into `0..=i64::MAX`).
        ts: u64,
        /// Clock minus timestamp, reduced into `-tolerance..=tolerance`.
        offset: i32,
        /// Tolerance in seconds.
        tolerance: u16,
    },
    /// A timestamp further than `tolerance` from the clock: always refused.
    Outside {
        /// Unix seconds (reduced into `0..=i64::MAX`).
        ts: u64,
        /// How far past the tolerance.
        excess: u32,
        /// The clock is behind the timestamp instead of ahead.
        behind: bool,
        /// Tolerance in seconds.
        tolerance: u16,
    },
    /// Any timestamp, with `danger_accept_any_timestamp`.
    AnyTime {
        /// Unix seconds (reduced into `0..=i64::MAX`).
        ts: u64,
    },
}

/// A single change made to a verified delivery before verifying it again.
#[derive(Arbitrary, Debug, Clone)]
pub enum Tamper {
    /// XOR one body byte with a non-zero mask.
    BodyByte {
        /// Position, modulo the body length.
        at: u32,
        /// Mask (0 counts as 1).
        xor: u8,
    },
    /// Drop the last body byte.
    BodyTruncate,
    /// Append one byte to the body.
    BodyAppend(u8),
    /// Change one byte of a signed header value, keeping it UTF-8.
    HeaderValue {
        /// Which signed header, modulo their number.
        which: u8,
        /// Position, modulo the value length.
        at: u32,
        /// Mask (0 counts as 1).
        xor: u8,
    },
    /// Replace one character of the signature.
    Signature {
        /// Position, modulo the signature length.
        at: u8,
        /// The new byte (the old one plus 1 when equal).
        to: u8,
    },
    /// Remove one signed header.
    DropHeader(u8),
    /// Add a signed header that was not there.
    AddHeader(String),
    /// Flip the case of one letter in a signed header's name: must STILL verify.
    NameCase {
        /// Which signed header, modulo their number.
        which: u8,
        /// Which letter, modulo the number of letters.
        at: u8,
    },
}

/// The structured input of the `verify` target.
#[derive(Arbitrary, Debug, Clone)]
pub struct Delivery {
    /// Headers in wire order (duplicates and signature/timestamp names are
    /// dropped by the target: it sets those itself).
    pub headers: Vec<Header>,
    /// The raw body.
    pub body: Vec<u8>,
    /// Where the body is cut into chunks (modulo its length plus one).
    pub cuts: Vec<u16>,
    /// The first key the receiver holds.
    pub key: Vec<u8>,
    /// Up to two more keys (more are ignored).
    pub more_keys: Vec<Vec<u8>>,
    /// Which key signs (modulo the number of keys).
    pub signer: u8,
    /// The timestamp and the clock.
    pub timestamp: Timestamp,
    /// A body limit, when set.
    pub body_limit: Option<u16>,
    /// Whether a replay guard is configured.
    pub replay_guard: bool,
    /// The one change that must make it fail (or, for `NameCase`, not).
    pub tamper: Tamper,
}

/// Reduces fuzzer `u64` seconds into `0..=i64::MAX`.
pub fn seconds(ts: u64) -> i64 {
    (ts & (i64::MAX as u64)) as i64
}

// ---------------------------------------------------------------------------
// The newer recipes (DESIGN.md sections 1b-1d): references of their header
// parsers for the `signature_input`, `standard_signatures`, `content_digest`
// and `url_token` targets, written from the rules (RFC 8941's ABNF, RFC 4648,
// RFC 9530, RFC 3230, the crate docs), not from the library's code.

/// RFC 4648 standard base64 with padding, the canonical form only.
pub mod b64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// Encodes with `=` padding.
    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// Decodes exactly the strings [`encode`] writes: anything else (no
    /// padding, non-zero unused bits, other alphabets, spaces) is `None`.
    pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
        let data = text
            .strip_suffix(b"==")
            .or_else(|| text.strip_suffix(b"="))
            .unwrap_or(text);
        let mut bits = 0u32;
        let mut count = 0;
        let mut out = Vec::new();
        for &c in data {
            let value = ALPHABET.iter().position(|&a| a == c)? as u32;
            bits = bits << 6 | value;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
                bits &= (1 << count) - 1;
            }
        }
        (encode(&out).as_bytes() == text).then_some(out)
    }

    /// A byte sequence of RFC 8941, whose `=` padding may be left out in
    /// part or whole (§4.2.7): the full padding put back, then `decode`.
    pub fn decode_sf(text: &[u8]) -> Option<Vec<u8>> {
        let data_len = text.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
        let given = text.len() - data_len;
        let needed = (4 - data_len % 4) % 4;
        if given > needed {
            return None;
        }
        let mut padded = text[..data_len].to_vec();
        padded.resize(data_len + needed, b'=');
        decode(&padded)
    }
}

/// RFC 8941 dictionaries, from the ABNF of section 3 and the limits of
/// section 4.2 (15 integer digits; 12 + 1..3 decimal digits; leading SP and
/// trailing OWS of the field allowed, as the parsing algorithm allows them).
///
/// Byte sequences: the RFC asks parsers not to fail on missing padding or
/// non-zero pad bits (SHOULD NOT); this crate documents that it reads them
/// "as RFC 4648 writes them", so the reference decodes canonical base64 only.
pub mod sfv {
    /// A bare item.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Bare {
        /// `sf-integer`.
        Integer(i64),
        /// `sf-decimal`, as written.
        Decimal(String),
        /// `sf-string`, unescaped.
        String(String),
        /// `sf-token`.
        Token(String),
        /// `sf-binary`, decoded.
        Bytes(Vec<u8>),
        /// `sf-boolean` (and a member or parameter without `=`).
        Boolean(bool),
    }

    /// `parameters`, in order, repeated keys kept.
    pub type Params = Vec<(String, Bare)>;

    /// A dictionary member's value.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Value {
        /// An item with its parameters.
        Item(Bare, Params),
        /// An inner list: items with their parameters, then the list's own.
        Inner(Vec<(Bare, Params)>, Params),
    }

    /// Parses a whole field value as a dictionary; `None` on any syntax
    /// error. Repeated keys are kept, in order.
    pub fn dictionary(input: &[u8]) -> Option<Vec<(String, Value)>> {
        let mut s = input;
        while let [b' ', rest @ ..] = s {
            s = rest;
        }
        let mut out = Vec::new();
        if s.is_empty() {
            return Some(out);
        }
        loop {
            out.push(member(&mut s)?);
            ows(&mut s);
            if s.is_empty() {
                return Some(out);
            }
            expect(&mut s, b',')?;
            ows(&mut s);
            if s.is_empty() {
                return None; // a trailing comma
            }
        }
    }

    fn ows(s: &mut &[u8]) {
        while let [b' ' | b'\t', rest @ ..] = *s {
            *s = rest;
        }
    }

    fn expect(s: &mut &[u8], byte: u8) -> Option<()> {
        match *s {
            [first, rest @ ..] if *first == byte => {
                *s = rest;
                Some(())
            }
            _ => None,
        }
    }

    fn take_while(s: &mut &[u8], keep: impl Fn(u8) -> bool) -> String {
        let n = s.iter().take_while(|&&b| keep(b)).count();
        let (taken, rest) = s.split_at(n);
        *s = rest;
        taken.iter().map(|&b| char::from(b)).collect()
    }

    /// `dict-member = member-key ( parameters / ( "=" member-value ) )`
    fn member(s: &mut &[u8]) -> Option<(String, Value)> {
        let k = key(s)?;
        if expect(s, b'=').is_none() {
            return Some((k, Value::Item(Bare::Boolean(true), params(s)?)));
        }
        if s.first() == Some(&b'(') {
            *s = &s[1..];
            let mut items = Vec::new();
            loop {
                while let [b' ', rest @ ..] = *s {
                    *s = rest;
                }
                if expect(s, b')').is_some() {
                    return Some((k, Value::Inner(items, params(s)?)));
                }
                let item = bare(s)?;
                items.push((item, params(s)?));
                // `1*SP` between items, or the closing parenthesis.
                if !matches!(s.first(), Some(b' ' | b')')) {
                    return None;
                }
            }
        }
        let item = bare(s)?;
        Some((k, Value::Item(item, params(s)?)))
    }

    /// `key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`
    fn key(s: &mut &[u8]) -> Option<String> {
        if !matches!(s.first(), Some(b'a'..=b'z' | b'*')) {
            return None;
        }
        Some(take_while(s, |b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b)
        }))
    }

    /// `parameters = *( ";" *SP key [ "=" bare-item ] )`
    fn params(s: &mut &[u8]) -> Option<Params> {
        let mut out = Vec::new();
        while expect(s, b';').is_some() {
            while let [b' ', rest @ ..] = *s {
                *s = rest;
            }
            let k = key(s)?;
            let v = if expect(s, b'=').is_some() {
                bare(s)?
            } else {
                Bare::Boolean(true)
            };
            out.push((k, v));
        }
        Some(out)
    }

    fn bare(s: &mut &[u8]) -> Option<Bare> {
        match s.first()? {
            b'-' | b'0'..=b'9' => {
                let negative = expect(s, b'-').is_some();
                let whole = take_while(s, |b| b.is_ascii_digit());
                if whole.is_empty() {
                    return None;
                }
                if expect(s, b'.').is_some() {
                    let frac = take_while(s, |b| b.is_ascii_digit());
                    if whole.len() > 12 || frac.is_empty() || frac.len() > 3 {
                        return None;
                    }
                    let sign = if negative { "-" } else { "" };
                    return Some(Bare::Decimal(format!("{sign}{whole}.{frac}")));
                }
                if whole.len() > 15 {
                    return None;
                }
                let n: i64 = whole.parse().ok()?;
                Some(Bare::Integer(if negative { -n } else { n }))
            }
            b'"' => {
                *s = &s[1..];
                let mut out = String::new();
                loop {
                    match *s {
                        [b'"', rest @ ..] => {
                            *s = rest;
                            return Some(Bare::String(out));
                        }
                        [b'\\', c @ (b'"' | b'\\'), rest @ ..] => {
                            out.push(char::from(*c));
                            *s = rest;
                        }
                        [c @ (b' '..=b'!' | b'#'..=b'[' | b']'..=b'~'), rest @ ..] => {
                            out.push(char::from(*c));
                            *s = rest;
                        }
                        _ => return None,
                    }
                }
            }
            b':' => {
                *s = &s[1..];
                let text = take_while(s, |b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
                expect(s, b':')?;
                Some(Bare::Bytes(super::b64::decode_sf(text.as_bytes())?))
            }
            b'?' => match *s {
                [b'?', b @ (b'0' | b'1'), rest @ ..] => {
                    let value = *b == b'1';
                    *s = rest;
                    Some(Bare::Boolean(value))
                }
                _ => None,
            },
            c if c.is_ascii_alphabetic() || *c == b'*' => Some(Bare::Token(take_while(s, |b| {
                b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b)
            }))),
            _ => None,
        }
    }
}

/// UP42's `Signature-Input` and `Signature` (DESIGN.md section 1b).
pub mod up42 {
    use super::sfv::{self, Bare, Value};

    /// The dictionary member UP42 signs under.
    pub const LABEL: &str = "up42-sig";
    /// The most names one signature may list.
    pub const MAX_COVERED: usize = 32;

    /// What the rules make of a `Signature-Input` value.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Input {
        /// The listed names (lowercase, in order) and `created`.
        Ok(Vec<String>, Option<i64>),
        /// No `up42-sig` member.
        NoLabel,
        /// Refused.
        Malformed,
    }

    /// The reference reading of a `Signature-Input` value.
    pub fn signature_input(value: &[u8]) -> Input {
        let Some(dictionary) = sfv::dictionary(value) else {
            return Input::Malformed;
        };
        let ours: Vec<&Value> = dictionary
            .iter()
            .filter(|(k, _)| k == LABEL)
            .map(|(_, v)| v)
            .collect();
        let member = match ours.as_slice() {
            [] => return Input::NoLabel,
            [one] => *one,
            _ => return Input::Malformed,
        };
        let Value::Inner(items, params) = member else {
            return Input::Malformed;
        };
        if items.is_empty() || items.len() > MAX_COVERED {
            return Input::Malformed;
        }
        let mut names: Vec<String> = Vec::new();
        for (item, _) in items {
            let Bare::String(name) = item else {
                return Input::Malformed;
            };
            let name = name.to_ascii_lowercase();
            if names.contains(&name) {
                return Input::Malformed;
            }
            names.push(name);
        }
        let created: Vec<&Bare> = params
            .iter()
            .filter(|(k, _)| k == "created")
            .map(|(_, v)| v)
            .collect();
        match created.as_slice() {
            [] => Input::Ok(names, None),
            [Bare::Integer(n)] if *n >= 0 => Input::Ok(names, Some(*n)),
            // Once wrong, or twice: which would count is ambiguous.
            _ => Input::Malformed,
        }
    }

    /// The reference reading of a `Signature` value: comma-separated
    /// members (ASCII whitespace around each ignored); `up42-sig=` followed
    /// by canonical base64 of 32 bytes, bare or between colons.
    #[allow(clippy::result_unit_err)]
    pub fn signature(value: &[u8]) -> Result<Option<[u8; 32]>, ()> {
        let ours: Vec<&[u8]> = value
            .split(|&b| b == b',')
            .filter_map(|m| m.trim_ascii().strip_prefix(b"up42-sig="))
            .collect();
        let encoded = match ours.as_slice() {
            [] => return Ok(None),
            [one] => *one,
            _ => return Err(()),
        };
        let encoded = match encoded {
            [b':', inner @ .., b':'] => inner,
            other => other,
        };
        let bytes = super::b64::decode(encoded).ok_or(())?;
        bytes.try_into().map(Some).map_err(|_| ())
    }
}

/// Standard Webhooks' `webhook-signature` (DESIGN.md section 1c).
pub mod standard {
    /// How many non-empty entries are looked at.
    pub const MAX_SIGNATURES: usize = 8;

    /// One usable entry: its version and its decoded bytes.
    pub type Entry = (&'static str, Vec<u8>);

    /// The reference reading: split on SP, drop empty pieces, look at the
    /// first eight, keep `v1,<32 bytes>` and `v1a,<64 bytes>` in canonical
    /// base64, skip the rest.
    pub fn signatures(value: &[u8]) -> Vec<Entry> {
        let mut out = Vec::new();
        for piece in value
            .split(|&b| b == b' ')
            .filter(|p| !p.is_empty())
            .take(MAX_SIGNATURES)
        {
            let Some(comma) = piece.iter().position(|&b| b == b',') else {
                continue;
            };
            let Some(bytes) = super::b64::decode(&piece[comma + 1..]) else {
                continue;
            };
            match (&piece[..comma], bytes.len()) {
                (b"v1", 32) => out.push(("v1", bytes)),
                (b"v1a", 64) => out.push(("v1a", bytes)),
                _ => {}
            }
        }
        out
    }
}

/// `Content-Digest` (RFC 9530) and `Digest` (RFC 3230).
pub mod digest {
    use super::sfv::{self, Bare, Value};

    /// `(algorithm, bytes)` with the algorithm as `sha-256` or `sha-512`.
    pub type Digest = (&'static str, Vec<u8>);

    fn known(name: &str) -> Option<(&'static str, usize)> {
        match name.to_ascii_lowercase().as_str() {
            "sha-256" => Some(("sha-256", 32)),
            "sha-512" => Some(("sha-512", 64)),
            _ => None,
        }
    }

    /// The reference reading of `Content-Digest`: a dictionary whose
    /// `sha-256` / `sha-512` members are byte sequences of 32 / 64 bytes;
    /// other keys skipped; `None` when refused.
    pub fn content_digest(value: &[u8]) -> Option<Vec<Digest>> {
        let mut out = Vec::new();
        for (k, v) in sfv::dictionary(value)? {
            let Some((name, len)) = known(&k) else {
                continue;
            };
            match v {
                Value::Item(Bare::Bytes(bytes), _) if bytes.len() == len => out.push((name, bytes)),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The reference reading of a legacy `Digest`: comma-separated
    /// `name=base64` (ASCII whitespace around each ignored), names in any
    /// case, unknown names skipped; a piece without `=`, a name that is not
    /// UTF-8, or a known name whose value is not canonical base64 of the
    /// right length is refused.
    pub fn legacy_digest(value: &[u8]) -> Option<Vec<Digest>> {
        let mut out = Vec::new();
        for piece in value.split(|&b| b == b',') {
            let piece = piece.trim_ascii();
            let eq = piece.iter().position(|&b| b == b'=')?;
            // Spaces around either side ignored; a name that is not UTF-8
            // is no known algorithm.
            let name = std::str::from_utf8(piece[..eq].trim_ascii()).unwrap_or_default();
            let Some((name, len)) = known(name) else {
                continue;
            };
            let bytes = super::b64::decode(piece[eq + 1..].trim_ascii())?;
            if bytes.len() != len {
                return None;
            }
            out.push((name, bytes));
        }
        Some(out)
    }
}

/// The URL token of AmeriCommerce deliveries (DESIGN.md section 1d).
pub mod url_token {
    use std::ops::Range;

    /// `%XX` (two hex digits) decoded; every other byte, `+` included, kept.
    pub fn percent_decode(text: &[u8]) -> Vec<u8> {
        let hex = |b: u8| char::from(b).to_digit(16);
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i] == b'%'
                && let (Some(hi), Some(lo)) = (
                    text.get(i + 1).copied().and_then(hex),
                    text.get(i + 2).copied().and_then(hex),
                )
            {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            } else {
                out.push(text[i]);
                i += 1;
            }
        }
        out
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    pub fn percent_encode(text: &[u8]) -> String {
        text.iter()
            .map(|&b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// Where the raw value of query parameter `name` is in `target`:
    /// `Err` when the key occurs twice; a key without `=` has an empty value
    /// at its end. Keys are compared after percent-decoding.
    #[allow(clippy::result_unit_err)]
    pub fn query_range(target: &str, name: &str) -> Result<Option<Range<usize>>, ()> {
        let Some(q) = target.find('?') else {
            return Ok(None);
        };
        let mut found = None;
        let mut start = q + 1;
        loop {
            let end = target[start..]
                .find('&')
                .map_or(target.len(), |i| start + i);
            let pair = &target[start..end];
            let (key, value) = match pair.find('=') {
                Some(eq) => (&pair[..eq], start + eq + 1..end),
                None => (pair, end..end),
            };
            if percent_decode(key.as_bytes()) == name.as_bytes() {
                if found.is_some() {
                    return Err(());
                }
                found = Some(value);
            }
            if end == target.len() {
                return Ok(found);
            }
            start = end + 1;
        }
    }

    /// Where path segment `index` is: the part of `target` before any `?`,
    /// without its leading `/`, split on `/`.
    pub fn segment_range(target: &str, index: usize) -> Option<Range<usize>> {
        let path_end = target.find('?').unwrap_or(target.len());
        let mut start = usize::from(target.starts_with('/'));
        if start > path_end {
            return None;
        }
        for _ in 0..index {
            start += target[start..path_end].find('/')? + 1;
        }
        let end = target[start..path_end]
            .find('/')
            .map_or(path_end, |i| start + i);
        Some(start..end)
    }

    /// The token a range holds, percent-decoded to bytes.
    pub fn token(target: &str, range: Range<usize>) -> Vec<u8> {
        percent_decode(target[range].as_bytes())
    }

    /// `target` with `range` replaced by `<redacted>`; with no range (the
    /// token twice) the whole query hidden.
    pub fn redacted(target: &str, range: Result<Option<Range<usize>>, ()>) -> String {
        match range {
            Ok(Some(r)) => format!("{}<redacted>{}", &target[..r.start], &target[r.end..]),
            Ok(None) => target.to_owned(),
            Err(()) => {
                let path_end = target.find('?').unwrap_or(target.len());
                format!("{}?<redacted>", &target[..path_end])
            }
        }
    }

    /// True when a redaction of `token` that left `rest_before` and
    /// `rest_after` around the marker cannot contain `token` by accident:
    /// 4 chars or more, not in either remaining part, and unable to overlap
    /// the marker.
    pub fn must_be_hidden(token: &str, rest_before: &str, rest_after: &str) -> bool {
        token.chars().count() >= 4
            && !token.contains(['<', '>'])
            && !"<redacted>".contains(token)
            && !rest_before.contains(token)
            && !rest_after.contains(token)
    }
}

/// The structured input of the `standard_signatures` target.
#[derive(Arbitrary, Debug, Clone)]
pub struct StandardInput<'a> {
    /// The HMAC secret (any bytes; `whsec_` decoding is tested elsewhere).
    pub secret: Vec<u8>,
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: u32,
    /// Where the good entry goes among the other pieces.
    pub at: u8,
    /// The body.
    pub body: Vec<u8>,
    /// A `webhook-signature` value as anyone may send it: the rest of the
    /// input, raw.
    pub header: &'a [u8],
}

/// The structured input of the `content_digest` target.
#[derive(Arbitrary, Debug, Clone)]
pub struct DigestInput<'a> {
    /// The body.
    pub body: Vec<u8>,
    /// Extra headers the UP42 signature also covers.
    pub extra: Vec<(String, String)>,
    /// A header value read both as `Content-Digest` and as `Digest`: the
    /// rest of the input, raw.
    pub header: &'a [u8],
}

/// The structured input of the `url_token` target.
#[derive(Arbitrary, Debug, Clone)]
pub struct UrlInput {
    /// The query parameter name.
    pub name: String,
    /// The path segment index (modulo 8).
    pub index: u8,
    /// A token that the target appends to `target` under `name`.
    pub token: String,
    /// A request target (path and query) as anyone may send it: the rest
    /// of the input.
    pub target: String,
}
