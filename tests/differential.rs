//! Differential test against the vendor's own PHP: a few thousand random
//! deliveries are signed by `tests/php/sign_batch.php` (one `php` process for the
//! whole batch) and by the crate. The header JSON and the signature must agree
//! byte for byte, the verifier must accept every delivery with the right key,
//! and refuse it once a body byte is changed. A few header values are made
//! invalid UTF-8 on purpose: PHP's `json_encode` must fail exactly where the crate
//! refuses the headers as malformed.
//!
//! PHP gets the names as the sender writes them; the crate gets them as a
//! receiver's HTTP library might hand them over (lowercase, uppercase, any mix,
//! shuffled, among unrelated headers), so name canonicalization is exercised too.
//!
//! Needs `php` (php-cli) on PATH. Without it the test is skipped with a message on
//! stderr, except when `CI` is set: there it fails, because CI must run it.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};
use webhook_guard::{DeliveryHeaders, ErrorKind, KeySet, Signer, SigningKey, Verifier};

use support::compare::{first_difference, show};
use support::php::php_available;
use support::rng::Rng;

const CASES: usize = 4096;
/// Fixed so a failure reproduces; change it to explore other inputs.
const SEED: u64 = 0x5eed_a2c0_0000_0001;
/// How many failing cases to print in full.
const SHOW_FAILURES: usize = 5;

const SIGNATURE: &str = "X-Webhook-Signature";
const TIMESTAMP: &str = "X-Webhook-Timestamp";

/// Names the vendor sends, plus one other senders use.
const KNOWN_NAMES: [&str; 9] = [
    "X-Webhook-Store-Id",
    "X-Webhook-Action",
    "X-Webhook-Entity",
    "X-Webhook-Error-Code",
    "X-Webhook-Error-Reason",
    "X-Webhook-Error-Message",
    "X-Webhook-Error-Try-Count",
    TIMESTAMP,
    "X-Webhook-Id",
];

const NAME_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-";

/// Characters PHP treats specially, or that are easy to get wrong.
const TRICKY_CHARS: [char; 12] = [
    'é',
    '€',
    '日',
    '😀',
    '\u{2028}',
    '\u{feff}',
    '\u{ffff}',
    '\u{10ffff}',
    '<',
    '&',
    '\'',
    '>',
];

/// One random delivery: what the sender signs, and how the receiver sees it.
struct Delivery {
    /// The signed headers as the sender writes them (PHP puts them in vendor case).
    /// Values are bytes: a few are not UTF-8 on purpose.
    signed: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    /// The receiver's keys, as ids `k0`, `k1`, ...
    keys: Vec<Vec<u8>>,
    /// Index in `keys` of the key the sender uses.
    signing_key: usize,
    /// Every header the receiver gets, in order, but the signature.
    wire: Vec<(String, Vec<u8>)>,
    /// Where the signature goes in `wire`, and under which spelling.
    signature_at: usize,
    signature_name: String,
}

impl Delivery {
    fn random(rng: &mut Rng) -> Self {
        let mut signed: Vec<(String, Vec<u8>)> = Vec::new();
        for _ in 0..rng.range(1, 8) {
            let name = random_name(rng);
            let taken = name.eq_ignore_ascii_case(SIGNATURE)
                || signed.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name));
            if !taken {
                let value = random_value(rng, &name).into_bytes();
                signed.push((name, value));
            }
        }
        if !signed.is_empty() && rng.one_in(25) {
            // Not the timestamp: a valid but non-numeric one is refused on its own.
            let at = rng.below(signed.len());
            if !signed[at].0.eq_ignore_ascii_case(TIMESTAMP) {
                signed[at].1 = edge_utf8_value(rng);
            }
        }
        let body_len = match rng.below(8) {
            0 => 0,
            1 => rng.range(1, 8),
            _ => rng.range(0, 4096),
        };
        let body = rng.bytes(body_len);

        let key_len = rng.range(0, 100);
        let signing_key = rng.bytes(key_len);
        let mut keys: Vec<Vec<u8>> = (0..rng.range(0, 2))
            .map(|_| {
                let len = rng.range(1, 64);
                rng.bytes(len)
            })
            .collect();
        let signing_index = rng.range(0, keys.len());
        keys.insert(signing_index, signing_key);

        let mut wire: Vec<(String, Vec<u8>)> = signed
            .iter()
            .map(|(n, v)| (wire_spelling(rng, n), v.clone()))
            .collect();
        if rng.one_in(3) {
            // Unsigned headers, one of them not even UTF-8: all must be ignored.
            wire.push(("Content-Type".into(), b"application/json".to_vec()));
            wire.push(("user-agent".into(), b"agent \xff\xfe/1.0".to_vec()));
            wire.push(("X-Webhooks-Near-Miss".into(), rng.bytes(8)));
        }
        rng.shuffle(&mut wire);
        let signature_at = rng.range(0, wire.len());
        let signature_name = wire_spelling(rng, SIGNATURE);

        Self {
            signed,
            body,
            keys,
            signing_key: signing_index,
            wire,
            signature_at,
            signature_name,
        }
    }

    /// The headers as received, the signature included.
    fn wire_with(&self, signature: &str) -> Vec<(String, Vec<u8>)> {
        let mut wire = self.wire.clone();
        wire.insert(
            self.signature_at,
            (self.signature_name.clone(), signature.as_bytes().to_vec()),
        );
        wire
    }

    /// One input line for sign_batch.php.
    fn php_line(&self) -> String {
        let headers: Vec<Value> = self
            .signed
            .iter()
            .map(|(n, v)| json!([n, STANDARD.encode(v)]))
            .collect();
        json!({
            "headers": headers,
            "body": STANDARD.encode(&self.body),
            "key": STANDARD.encode(&self.keys[self.signing_key]),
        })
        .to_string()
    }

    fn describe(&self) -> String {
        let lossy = |pairs: &[(String, Vec<u8>)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect()
        };
        format!(
            "  signed by the sender: {:?}\n  on the wire (signature at {} as {:?}): {:?}\n  \
             body: {} bytes, starting {:02x?}\n  keys: {} (signing key k{}, {} bytes)",
            lossy(&self.signed),
            self.signature_at,
            self.signature_name,
            lossy(&self.wire),
            self.body.len(),
            &self.body[..self.body.len().min(16)],
            self.keys.len(),
            self.signing_key,
            self.keys[self.signing_key].len(),
        )
    }
}

/// A known name half the time, else `X-Webhook-` and a random suffix.
fn random_name(rng: &mut Rng) -> String {
    if rng.one_in(2) {
        return rng.pick(&KNOWN_NAMES).to_owned();
    }
    let suffix: String = (0..rng.range(0, 12))
        .map(|_| char::from(rng.pick(NAME_CHARS)))
        .collect();
    format!("X-Webhook-{suffix}")
}

fn random_value(rng: &mut Rng, name: &str) -> String {
    if name.eq_ignore_ascii_case(TIMESTAMP) {
        // The verifier refuses a timestamp that is not an integer; that is
        // tested elsewhere, here every delivery should pass.
        return (0..rng.range(1, 10))
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect();
    }
    (0..rng.range(0, 40)).map(|_| random_char(rng)).collect()
}

fn random_char(rng: &mut Rng) -> char {
    let code = match rng.below(10) {
        0..=3 => rng.range(0x20, 0x7e),          // printable ASCII
        4 => return rng.pick(&['/', '"', '\\']), // escaped by PHP
        5 => rng.range(0x00, 0x1f),              // control bytes
        6 => 0x7f,                               // DEL, not escaped
        7 => rng.range(0x80, 0xffff),            // BMP (a surrogate becomes U+FFFD)
        8 => rng.range(0x1_0000, 0x10_ffff),     // astral: surrogate pairs
        _ => return rng.pick(&TRICKY_CHARS),
    };
    char::from_u32(code as u32).unwrap_or('\u{fffd}')
}

/// Byte sequences at the edge of UTF-8: the invalid ones PHP's decoder and Rust's
/// must both refuse, and the valid extremes both must accept.
const EDGE_UTF8: [&[u8]; 15] = [
    b"\x80",             // lone continuation byte
    b"\xc3",             // truncated two-byte sequence
    b"\xe2\x82",         // euro sign cut short
    b"\xf0\x9f\x98",     // emoji cut short
    b"\xc0\xaf",         // overlong '/'
    b"\xe0\x80\xaf",     // overlong '/', three bytes
    b"\xed\xa0\x80",     // UTF-16 surrogate U+D800, encoded
    b"\xed\xbf\xbf",     // surrogate U+DFFF, encoded
    b"\xf4\x90\x80\x80", // above U+10FFFF
    b"\xf5\x80\x80\x80", // lead byte that never occurs
    b"\xff",             // byte that never occurs
    b"\xed\x9f\xbf",     // U+D7FF, valid
    b"\xee\x80\x80",     // U+E000, valid
    b"\xef\xbf\xbf",     // U+FFFF, valid
    b"\xf4\x8f\xbf\xbf", // U+10FFFF, valid
];

/// A random value with one edge-of-UTF-8 sequence spliced in at a char boundary.
fn edge_utf8_value(rng: &mut Rng) -> Vec<u8> {
    let text = random_value(rng, "");
    let mut at = text.len() / 2;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let mut value = text.into_bytes();
    value.splice(at..at, rng.pick(&EDGE_UTF8).iter().copied());
    value
}

/// How a receiver's HTTP library might spell `name`.
fn wire_spelling(rng: &mut Rng, name: &str) -> String {
    match rng.below(4) {
        0 => name.to_owned(),
        1 => name.to_ascii_lowercase(),
        2 => name.to_ascii_uppercase(),
        _ => name
            .chars()
            .map(|c| {
                if rng.one_in(2) {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
    }
}

/// What PHP answered for one delivery.
struct PhpAnswer {
    names: Vec<String>,
    json: Option<Vec<u8>>,
    signature: String,
}

/// Runs sign_batch.php once over every delivery, through a temporary file.
fn sign_with_php(deliveries: &[Delivery]) -> Vec<PhpAnswer> {
    let mut input = String::new();
    for delivery in deliveries {
        input.push_str(&delivery.php_line());
        input.push('\n');
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let input_path = TempFile(std::env::temp_dir().join(format!(
        "webhook-guard-differential-{}.jsonl",
        std::process::id()
    )));
    std::fs::write(&input_path.0, input).expect("write the PHP batch file");
    let output = Command::new("php")
        .arg(manifest.join("tests/php/sign_batch.php"))
        .stdin(std::fs::File::open(&input_path.0).expect("open the PHP batch file"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run php tests/php/sign_batch.php");
    assert!(
        output.status.success(),
        "sign_batch.php failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("sign_batch.php printed non-UTF-8");
    stdout.lines().map(parse_answer).collect()
}

fn parse_answer(line: &str) -> PhpAnswer {
    let answer: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("sign_batch.php printed a line that is not JSON ({e}): {line}"));
    PhpAnswer {
        names: answer["names"]
            .as_array()
            .expect("names")
            .iter()
            .map(|n| n.as_str().expect("name").to_owned())
            .collect(),
        json: answer["json"]
            .as_str()
            .map(|b| STANDARD.decode(b).expect("json base64")),
        signature: answer["signature"].as_str().expect("signature").to_owned(),
    }
}

/// Removes the file when dropped, also when the test panics.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Everything the crate must agree on with PHP for one delivery.
fn compare(delivery: &Delivery, php: &PhpAnswer) -> Result<(), String> {
    let wire = delivery.wire_with(&php.signature);
    let headers = DeliveryHeaders::from_pairs(wire.iter().map(|(n, v)| (n, v)));
    let (headers, php_json) = match (headers, &php.json) {
        (Ok(headers), Some(json)) => (headers, json),
        // PHP could not encode a value: there is no honest signature to check.
        (Err(e), None) if e.kind() == ErrorKind::MalformedHeaders => return Ok(()),
        (Err(e), _) => return Err(format!("headers refused ({e:?}), PHP encoded them")),
        (Ok(_), None) => return Err("PHP's json_encode failed, the crate accepted".into()),
    };

    let names: Vec<&str> = headers.signed().iter().map(|(n, _)| n).collect();
    if names != php.names {
        return Err(format!(
            "signed names differ\n    PHP:  {:?}\n    ours: {names:?}",
            php.names
        ));
    }
    let json = headers.signed().to_json();
    if &json != php_json {
        return Err(format!(
            "header JSON differs from byte {}\n    PHP:  {}\n    ours: {}",
            first_difference(php_json, &json),
            show(php_json),
            show(&json)
        ));
    }
    let signature =
        Signer::new(&delivery.keys[delivery.signing_key]).sign(headers.signed(), &delivery.body);
    if signature != php.signature {
        return Err(format!(
            "signature differs\n    PHP:  {}\n    ours: {signature}",
            php.signature
        ));
    }

    let verifier = Verifier::builder(KeySet::from_keys(
        delivery
            .keys
            .iter()
            .enumerate()
            .map(|(i, key)| SigningKey::new(format!("k{i}"), key)),
    ))
    .danger_accept_any_timestamp()
    .build();
    let verify = |body: Vec<u8>| {
        futures_executor::block_on(verifier.verify(headers.clone(), Bytes::from(body)))
    };
    let expected_key = format!("k{}", delivery.signing_key);
    match verify(delivery.body.clone()) {
        Ok(event) if event.key_id().as_str() == expected_key => {}
        Ok(event) => {
            return Err(format!(
                "verified with key {}, expected {expected_key}",
                event.key_id()
            ));
        }
        Err(e) => return Err(format!("PHP-signed delivery refused: {e:?}")),
    }

    let mut tampered = delivery.body.clone();
    match tampered.last_mut() {
        Some(byte) => *byte ^= 0x01,
        None => tampered.push(b'\n'),
    }
    match verify(tampered) {
        Err(e) if e.kind() == ErrorKind::InvalidSignature => Ok(()),
        other => Err(format!(
            "tampered body: expected InvalidSignature, got {other:?}"
        )),
    }
}

#[test]
fn crate_agrees_with_php_on_random_deliveries() {
    if !php_available("the differential test") {
        return;
    }
    let mut rng = Rng(SEED);
    let deliveries: Vec<Delivery> = (0..CASES).map(|_| Delivery::random(&mut rng)).collect();
    let answers = sign_with_php(&deliveries);
    assert_eq!(
        answers.len(),
        deliveries.len(),
        "sign_batch.php answered a different number of cases"
    );

    let failures: Vec<(usize, String)> = deliveries
        .iter()
        .zip(&answers)
        .enumerate()
        .filter_map(|(i, (d, a))| compare(d, a).err().map(|e| (i, e)))
        .collect();
    if !failures.is_empty() {
        let mut report = format!(
            "{} of {CASES} random deliveries (seed {SEED:#x}) disagree with PHP; the first {}:\n",
            failures.len(),
            failures.len().min(SHOW_FAILURES)
        );
        for (i, problem) in failures.iter().take(SHOW_FAILURES) {
            let _ = writeln!(
                report,
                "case #{i}: {problem}\n{}",
                deliveries[*i].describe()
            );
        }
        panic!("{report}");
    }
}

/// The generator must actually produce what the test claims to cover.
#[test]
fn random_deliveries_cover_the_tricky_inputs() {
    let mut rng = Rng(SEED);
    let deliveries: Vec<Delivery> = (0..CASES).map(|_| Delivery::random(&mut rng)).collect();
    let values = || {
        deliveries
            .iter()
            .flat_map(|d| d.signed.iter())
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
    };
    let any_char = |f: fn(char) -> bool| values().any(|v| v.chars().any(f));
    assert!(any_char(|c| c == '/'), "no slash");
    assert!(any_char(|c| c == '"' || c == '\\'), "no quote or backslash");
    assert!(any_char(|c| c < ' '), "no control byte");
    assert!(any_char(|c| c == '\u{7f}'), "no DEL");
    assert!(any_char(|c| ('\u{80}'..='\u{ffff}').contains(&c)), "no BMP");
    assert!(any_char(|c| c > '\u{ffff}'), "no astral char");
    assert!(
        deliveries.iter().any(|d| d.body.is_empty()),
        "no empty body"
    );
    assert!(
        deliveries
            .iter()
            .any(|d| std::str::from_utf8(&d.body).is_err()),
        "no non-UTF-8 body"
    );
    let invalid_values = deliveries
        .iter()
        .flat_map(|d| &d.signed)
        .filter(|(_, v)| std::str::from_utf8(v).is_err())
        .count();
    assert!(
        invalid_values >= 50,
        "only {invalid_values} non-UTF-8 values"
    );
    assert!(deliveries.iter().any(|d| d.keys.len() > 1), "no rotation");
    assert!(
        deliveries
            .iter()
            .flat_map(|d| &d.wire)
            .any(|(n, _)| n.starts_with("x-webhook-")),
        "no lowercase names on the wire"
    );
    assert!(
        deliveries
            .iter()
            .flat_map(|d| &d.signed)
            .any(|(n, _)| !KNOWN_NAMES.contains(&n.as_str())),
        "no unknown names"
    );
}
