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
