//! Property tests: the fuzz targets' oracles (fuzz/fuzz_targets/) as proptest
//! properties, so a plain `cargo test` exercises them without cargo-fuzz.
//!
//! - canonical: header collection refuses exactly what the rules refuse, and
//!   its JSON parses back to exactly the input map, in byte order;
//! - encoder: `php_json` is byte-identical to a simple reference written from
//!   the PHP rules (DESIGN.md section 1);
//! - signature: only canonical base64 of 32 bytes decodes, and it round-trips;
//! - verify: a delivery signed with a held key verifies however its body is
//!   chunked, and any single change to a signed part never does;
//! - header file: names are tokens, values trimmed without CR/LF, and printing
//!   the pairs back parses to the same pairs.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use webhook_guard::capture::parse_header_lines;
use webhook_guard::signature::{self, ENCODED_LEN};
use webhook_guard::{
    DeliveryHeaders, Error, ErrorKind, KeySet, ManualClock, SignedHeaders, Signer, SigningKey,
    VerifiedWebhook, Verifier, canonical_name, php_json,
};

// ---------------------------------------------------------------------------
// A simple reference of the recipe, from the rules (not from the library).

const KNOWN: [&str; 9] = [
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

fn has_prefix(name: &[u8]) -> bool {
    name.len() >= 10 && name[..10].eq_ignore_ascii_case(b"x-webhook-")
}

fn php_string(s: &str) -> String {
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
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out + "\""
}

fn php_map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let members: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{}:{}", php_string(k), php_string(v)))
        .collect();
    if members.is_empty() {
        "[]".into()
    } else {
        format!("{{{}}}", members.join(","))
    }
}

fn vendor_case(name: &str) -> String {
    let segments: Vec<String> = name
        .split('-')
        .map(|segment| {
            let mut chars = segment.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect();
    segments.join("-")
}

type Expected = (BTreeMap<String, String>, Option<Vec<u8>>);

/// The signed map and the signature, or `None` where the rules say refuse.
fn expected_headers(pairs: &[(Vec<u8>, Vec<u8>)]) -> Option<Expected> {
    let mut map = BTreeMap::new();
    let mut signature = None;
    for (name, value) in pairs {
        if !has_prefix(name) {
            continue;
        }
        let name = vendor_case(std::str::from_utf8(name).ok()?);
        if name == "X-Webhook-Signature" {
            if signature.replace(value.clone()).is_some() {
                return None;
            }
        } else if map
            .insert(name, String::from_utf8(value.clone()).ok()?)
            .is_some()
        {
            return None;
        }
    }
    Some((map, signature))
}

fn mix_case(name: &str, mask: u32) -> String {
    let mut letter = 0u32;
    name.chars()
        .map(|c| {
            if !c.is_ascii_alphabetic() {
                return c;
            }
            letter += 1;
            if mask >> ((letter - 1) % 32) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// HMAC pads keys of up to one block with zeros: trailing zeros do not count.
fn same_hmac_key(a: &[u8], b: &[u8]) -> bool {
    let norm = |k: &[u8]| -> Vec<u8> {
        if k.len() > 64 {
            return k.to_vec();
        }
        let end = k.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        k[..end].to_vec()
    };
    norm(a) == norm(b)
}

// ---------------------------------------------------------------------------
// Strategies.

/// Header names: the vendor's in random case, extensions, other headers, and
/// (when `raw`) arbitrary bytes, which may not be UTF-8.
fn name(raw: bool) -> BoxedStrategy<Vec<u8>> {
    let names = prop_oneof![
        4 => (0..KNOWN.len(), any::<u32>()).prop_map(|(i, m)| mix_case(KNOWN[i], m).into_bytes()),
        2 => (any::<u32>(), "[a-zA-Z0-9-]{0,10}")
            .prop_map(|(m, rest)| (mix_case("X-Webhook-", m) + &rest).into_bytes()),
        1 => "[a-zA-Z][a-zA-Z0-9-]{0,15}".prop_map(String::into_bytes),
        1 => (any::<u32>(), "\\PC{0,4}")
            .prop_map(|(m, rest)| (mix_case("X-Webhook-", m) + &rest).into_bytes()),
    ];
    if raw {
        prop_oneof![8 => names, 1 => vec(any::<u8>(), 0..20)].boxed()
    } else {
        names.boxed()
    }
}

/// Text values, biased toward what PHP escapes.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,20}",
        "[\\x00-\\x1f\\x7f\"\\\\/<>&' aé€\u{10000}😀\u{ffff}\u{d7ff}\u{e000}]{0,12}",
        any::<String>(),
    ]
}

/// Value bytes: mostly UTF-8, sometimes not.
fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![6 => text().prop_map(String::into_bytes), 1 => vec(any::<u8>(), 0..8)]
}

// ---------------------------------------------------------------------------
// Verify helpers.

#[derive(Debug, Clone)]
enum Tamper {
    BodyByte(usize, u8),
    BodyAppend(u8),
    BodyTruncate,
    HeaderValue(usize, usize, u8),
    Signature(usize, u8),
    DropHeader(usize),
    AddHeader(String),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, x)| Tamper::BodyByte(at, x)),
        any::<u8>().prop_map(Tamper::BodyAppend),
        Just(Tamper::BodyTruncate),
        (any::<usize>(), any::<usize>(), 1..=127u8)
            .prop_map(|(w, at, x)| Tamper::HeaderValue(w, at, x)),
        (0..ENCODED_LEN, any::<u8>()).prop_map(|(at, to)| Tamper::Signature(at, to)),
        any::<usize>().prop_map(Tamper::DropHeader),
        "[A-Za-z0-9-]{0,8}".prop_map(Tamper::AddHeader),
    ]
}

type Wire = Vec<(Vec<u8>, Vec<u8>)>;

fn verify_chunks(
    verifier: &Verifier,
    wire: &Wire,
    chunks: &[&[u8]],
) -> Result<VerifiedWebhook, Error> {
    let headers = DeliveryHeaders::from_pairs(wire.iter().map(|(n, v)| (n, v)))?;
    futures_executor::block_on(async {
        let mut verification = verifier.begin(headers).await?;
        for chunk in chunks {
            verification.update(Bytes::copy_from_slice(chunk))?;
        }
        verification.finish().await
    })
}

fn canonical(name: &[u8]) -> Option<String> {
    has_prefix(name)
        .then(|| std::str::from_utf8(name).ok().map(vendor_case))
        .flatten()
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Header-file text: header-like lines, CRLF or LF, blank lines, sometimes a
/// request line, sometimes junk. `bare_cr` adds CR in the middle of lines.
fn header_text(bare_cr: bool) -> impl Strategy<Value = Vec<u8>> {
    let value = if bare_cr {
        "[ -~\\t\\r\\x00\\x7fé]{0,16}"
    } else {
        "[ -~\\t\\x00\\x7fé]{0,16}"
    };
    let line = prop_oneof![
        6 => ("[ \\t]{0,2}", "[A-Za-z0-9!#$%&'*+.^_`|~-]{0,12}", ":", value)
            .prop_map(|(a, n, c, v)| format!("{a}{n}{c}{v}").into_bytes()),
        1 => Just(b"POST /hooks HTTP/1.1".to_vec()),
        1 => vec(any::<u8>(), 0..12).prop_map(move |mut b| {
            b.retain(|&c| c != b'\n' && (bare_cr || c != b'\r'));
            b
        }),
        1 => Just(Vec::new()),
    ];
    (vec((line, any::<bool>()), 0..8), any::<bool>()).prop_map(|(lines, last_newline)| {
        let mut text = Vec::new();
        for (line, crlf) in lines {
            text.extend_from_slice(&line);
            text.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        if !last_newline {
            text.pop();
        }
        text
    })
}

fn check_header_file(text: &[u8]) -> Result<(), TestCaseError> {
    let Ok(pairs) = parse_header_lines(text) else {
        return Ok(());
    };
    let mut printed = Vec::new();
    for (name, value) in &pairs {
        prop_assert!(!name.is_empty() && name.iter().copied().all(is_tchar));
        prop_assert!(!value.starts_with(b" ") && !value.starts_with(b"\t"));
        prop_assert!(!value.ends_with(b" ") && !value.ends_with(b"\t"));
        prop_assert!(
            !value.contains(&b'\r') && !value.contains(&b'\n'),
            "value {value:?}"
        );
        printed.extend_from_slice(name);
        printed.extend_from_slice(b": ");
        printed.extend_from_slice(value);
        printed.push(b'\n');
    }
    prop_assert_eq!(parse_header_lines(&printed), Ok(pairs));
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #[test]
    fn canonical_round_trip(pairs in vec((name(true), value_bytes()), 0..10)) {
        for (name, _) in &pairs {
            if let Ok(name) = std::str::from_utf8(name) {
                let want = has_prefix(name.as_bytes()).then(|| vendor_case(name));
                let got = canonical_name(name);
                prop_assert_eq!(got.as_deref(), want.as_deref());
            }
        }
        let got = DeliveryHeaders::from_pairs(pairs.iter().map(|(n, v)| (n, v)));
        let Some((map, signature)) = expected_headers(&pairs) else {
            prop_assert!(got.is_err(), "accepted {:?}", got);
            return Ok(());
        };
        let headers = got.expect("refused a well-formed header set");
        prop_assert_eq!(headers.signature(), signature.as_deref());
        let entries: Vec<(&str, &str)> = headers.signed().iter().collect();
        let want: Vec<(&str, &str)> = map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        prop_assert_eq!(&entries, &want);
        let json = headers.signed().to_json();
        if map.is_empty() {
            prop_assert_eq!(json, b"[]".to_vec());
        } else {
            // String order is byte order: the BTreeMap checks the order too.
            let parsed: BTreeMap<String, String> = serde_json::from_slice(&json).unwrap();
            prop_assert_eq!(&parsed, &map);
            prop_assert_eq!(String::from_utf8(json).unwrap(), php_map(want));
        }
    }

    #[test]
    fn encoder_matches_reference(s in text(), entries in vec((text(), text()), 0..6)) {
        let mut ours = Vec::new();
        php_json::write_string(&mut ours, &s);
        prop_assert_eq!(String::from_utf8(ours.clone()).unwrap(), php_string(&s));
        prop_assert_eq!(serde_json::from_slice::<String>(&ours).unwrap(), s);

        let pairs = entries.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let mut ours = Vec::new();
        php_json::write_map(&mut ours, pairs.clone());
        prop_assert_eq!(String::from_utf8(ours).unwrap(), php_map(pairs));
    }

    #[test]
    fn signature_decode_is_canonical(
        raw in prop_oneof![
            vec(any::<u8>(), 0..50),
            "[A-Za-z0-9+/]{42,43}={0,2}".prop_map(String::into_bytes),
            "[A-Za-z0-9+/=_-]{44}".prop_map(String::into_bytes),
        ],
        mac in any::<[u8; 32]>(),
    ) {
        if let Ok(decoded) = signature::decode(&raw) {
            prop_assert_eq!(signature::encode(&decoded).into_bytes(), raw);
        }
        prop_assert_eq!(signature::decode(signature::encode(&mac).as_bytes()), Ok(mac));
    }

    #[test]
    fn signed_delivery_verifies_and_any_change_does_not(
        headers in vec((name(false), text()), 0..8),
        body in vec(any::<u8>(), 0..200),
        cuts in vec(any::<usize>(), 0..5),
        secrets in vec(vec(any::<u8>(), 0..70), 1..=3),
        signer in any::<usize>(),
        timestamp in proptest::option::of((0..i64::MAX, -300..=300i64)),
        tamper in tamper(),
    ) {
        let signer_secret = secrets[signer % secrets.len()].clone();
        let first_match = secrets.iter().position(|s| same_hmac_key(s, &signer_secret)).unwrap();
        let keys = KeySet::from_keys(
            secrets.iter().enumerate().map(|(i, s)| SigningKey::new(format!("k{i}"), s)),
        );

        let mut seen = BTreeSet::new();
        let mut wire: Wire = Vec::new();
        for (name, value) in headers {
            if let Some(canonical) = canonical(&name)
                && (canonical == KNOWN[0] || canonical == KNOWN[1] || !seen.insert(canonical))
            {
                continue;
            }
            wire.push((name, value.into_bytes()));
        }
        let mut now = 0;
        if let Some((ts, offset)) = timestamp {
            now = ts.saturating_add(offset);
            wire.push((b"x-webhook-timestamp".to_vec(), ts.to_string().into_bytes()));
        }
        let signed = SignedHeaders::from_pairs(wire.iter().map(|(n, v)| (n, v))).unwrap();
        let signature = Signer::new(&signer_secret).sign(&signed, &body);
        wire.insert(0, (b"X-WEBHOOK-SIGNATURE".to_vec(), signature.into_bytes()));

        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (body.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(&body[start..cut]);
            start = cut;
        }
        chunks.push(&body[start..]);

        let verifier = Verifier::builder(keys).clock(ManualClock::new(now)).build();
        let event = verify_chunks(&verifier, &wire, &chunks).expect("signed delivery refused");
        prop_assert_eq!(event.body().as_ref(), &body[..]);
        prop_assert_eq!(event.key_id().as_str(), format!("k{first_match}"));
        prop_assert_eq!(event.timestamp(), timestamp.map(|(ts, _)| ts));
        prop_assert_eq!(event.headers(), &signed);

        let signed_at: Vec<usize> = (0..wire.len())
            .filter(|&i| canonical(&wire[i].0).is_some_and(|n| n != KNOWN[0]))
            .collect();
        let mut body = body;
        match tamper.clone() {
            Tamper::BodyByte(at, x) if !body.is_empty() => {
                let at = at % body.len();
                body[at] ^= x;
            }
            Tamper::BodyAppend(b) => body.push(b),
            Tamper::BodyTruncate if !body.is_empty() => {
                body.pop();
            }
            Tamper::HeaderValue(which, at, x) if !signed_at.is_empty() => {
                let value = &mut wire[signed_at[which % signed_at.len()]].1;
                // Change one ASCII byte into another: the value stays UTF-8.
                let ascii: Vec<usize> = (0..value.len()).filter(|&i| value[i].is_ascii()).collect();
                if ascii.is_empty() {
                    return Ok(());
                }
                value[ascii[at % ascii.len()]] ^= x;
            }
            Tamper::Signature(at, to) => {
                let value = &mut wire[0].1;
                value[at] = if value[at] == to { to.wrapping_add(1) } else { to };
            }
            Tamper::DropHeader(which) if !signed_at.is_empty() => {
                wire.remove(signed_at[which % signed_at.len()]);
            }
            Tamper::AddHeader(rest) => {
                wire.push((format!("X-Webhook-{rest}").into_bytes(), b"1".to_vec()));
            }
            _ => return Ok(()),
        }
        let result = verify_chunks(&verifier, &wire, &[&body]);
        prop_assert!(result.is_err(), "still verified after {:?}", tamper);
        let kind = result.unwrap_err().kind();
        prop_assert!(
            matches!(
                kind,
                ErrorKind::InvalidSignature
                    | ErrorKind::MalformedHeaders
                    | ErrorKind::TimestampOutsideTolerance
            ),
            "refused as {:?}",
            kind
        );
    }

    #[test]
    fn header_file_round_trip(text in header_text(false)) {
        check_header_file(&text)?;
    }

    /// The same with CR inside lines, and arbitrary bytes. The `header_file`
    /// fuzz target found that a bare CR was kept: `b"r:\rt"` gave the value
    /// `b"\rt"`, and `b"r:t\r\r"` gave `b"t\r"`, which printed back as a line
    /// that parsed to `b"t"`.
    #[test]
    fn header_file_round_trip_with_bare_cr(
        text in prop_oneof![header_text(true), vec(any::<u8>(), 0..64)],
    ) {
        check_header_file(&text)?;
    }
}
