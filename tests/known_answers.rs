//! Known answers computed by the vendor's own PHP algorithm and committed in
//! `tests/vectors/known_answers.json`, replayed through the crate's public API.
//! Needs no PHP; to regenerate the file after changing the generator:
//!
//! ```text
//! php tests/php/generate_vectors.php > tests/vectors/known_answers.json
//! ```
//!
//! Every expected value comes from PHP (`tests/php/api2cart_reference.php`);
//! nothing here is derived from the crate's code.

mod support;

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::Value;
use webhook_guard::{
    DeliveryHeaders, Error, ErrorKind, KeySet, SignedHeaders, Signer, SigningKey, VerifiedWebhook,
    Verifier,
};

use support::compare::{first_difference, show};

const VECTORS: &str = include_str!("vectors/known_answers.json");

/// Fewer cases than this means the file was truncated or badly regenerated.
const MIN_CASES: usize = 40;

/// What the verifier must say about a case.
#[derive(Debug)]
enum Expect {
    Valid {
        key_id: String,
    },
    /// The `Debug` name of the expected [`ErrorKind`].
    Refused(String),
}

/// One case of the vector file, decoded.
struct Case {
    name: String,
    keys: Vec<(String, String)>,
    sender_secret: String,
    /// As sent on the wire, in order and in the wire's name case.
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    /// PHP's map (vendor case, ksorted), when PHP could build one.
    signed_headers: Option<Vec<(String, String)>>,
    expected_json: Option<Vec<u8>>,
    expected_signature: Option<String>,
    expect: Expect,
    php_reference_key_id: Option<String>,
}

impl Case {
    /// The headers as `(name, value)` pairs, as an HTTP library hands them over.
    fn wire(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }
}

fn cases() -> Vec<Case> {
    let file: Value = serde_json::from_str(VECTORS).expect("known_answers.json is not JSON");
    let cases = file["cases"]
        .as_array()
        .expect("known_answers.json has no \"cases\" array");
    cases.iter().map(parse_case).collect()
}

fn parse_case(case: &Value) -> Case {
    let name = str_field(case, "name", "?").to_owned();
    let n = name.as_str();
    let keys = case["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("{n}: keys"))
        .iter()
        .map(|k| {
            (
                str_field(k, "id", n).to_owned(),
                str_field(k, "secret", n).to_owned(),
            )
        })
        .collect();
    let headers = case["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("{n}: headers"))
        .iter()
        .map(|pair| {
            let name = pair[0]
                .as_str()
                .unwrap_or_else(|| panic!("{n}: header name"));
            (name.to_owned(), text_or_base64(&pair[1], n))
        })
        .collect();
    let body = expand_body(&case["body"], n);
    let body_len = case["body_len"]
        .as_u64()
        .unwrap_or_else(|| panic!("{n}: body_len"));
    assert_eq!(
        body.len() as u64,
        body_len,
        "{n}: body expanded to the wrong length"
    );
    let signed_headers = case["signed_headers"].as_array().map(|pairs| {
        pairs
            .iter()
            .map(|pair| {
                (
                    str_at(&pair[0], n).to_owned(),
                    str_at(&pair[1], n).to_owned(),
                )
            })
            .collect()
    });
    let expect = match str_field(case, "expect", n) {
        "valid" => Expect::Valid {
            key_id: str_field(case, "key_id", n).to_owned(),
        },
        kind => Expect::Refused(kind.to_owned()),
    };
    Case {
        keys,
        sender_secret: str_field(case, "sender_secret", n).to_owned(),
        headers,
        body,
        signed_headers,
        expected_json: case["expected_json_base64"].as_str().map(|b| decode(b, n)),
        expected_signature: case["expected_signature"].as_str().map(str::to_owned),
        expect,
        php_reference_key_id: case["php_reference_key_id"].as_str().map(str::to_owned),
        name,
    }
}

fn str_field<'a>(value: &'a Value, field: &str, case: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: missing string field {field:?}"))
}

fn str_at<'a>(value: &'a Value, case: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{case}: expected a string, found {value}"))
}

fn decode(b64: &str, case: &str) -> Vec<u8> {
    STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("{case}: bad base64 in the vector file: {e}"))
}

/// A header value: a JSON string, or `{"base64": ...}` for bytes that are not UTF-8.
fn text_or_base64(value: &Value, case: &str) -> Vec<u8> {
    match value {
        Value::String(s) => s.as_bytes().to_vec(),
        _ => decode(str_field(value, "base64", case), case),
    }
}

/// `{"base64": ...}`, or `{"repeat": pattern, "len": n}`: the pattern's bytes
/// repeated and cut to `n` bytes, as the generator's `expand_body` does.
fn expand_body(body: &Value, case: &str) -> Vec<u8> {
    if let Some(b64) = body["base64"].as_str() {
        return decode(b64, case);
    }
    let pattern = str_field(body, "repeat", case).as_bytes();
    let len = body["len"]
        .as_u64()
        .unwrap_or_else(|| panic!("{case}: body len"));
    pattern.iter().copied().cycle().take(len as usize).collect()
}

/// Runs `check` on every case and fails once with every failing case listed.
fn check_all(what: &str, mut check: impl FnMut(&Case) -> Result<(), String>) {
    let cases = cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| check(case).err().map(|e| format!("  {}: {e}", case.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{what}: {} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn verify(case: &Case) -> Result<VerifiedWebhook, Error> {
    let keys = KeySet::from_keys(
        case.keys
            .iter()
            .map(|(id, secret)| SigningKey::new(id.as_str(), secret)),
    );
    // The vendor's sample timestamps are years old; freshness is tested in verifier.rs.
    let verifier = Verifier::builder(keys)
        .danger_accept_any_timestamp()
        .build();
    let headers = DeliveryHeaders::from_pairs(case.wire())?;
    futures_executor::block_on(verifier.verify(headers, Bytes::from(case.body.clone())))
}

#[test]
fn vector_file_has_enough_distinct_cases_of_every_kind() {
    let cases = cases();
    assert!(
        cases.len() >= MIN_CASES,
        "known_answers.json holds {} cases, expected at least {MIN_CASES}: regenerate it with \
         `php tests/php/generate_vectors.php > tests/vectors/known_answers.json`",
        cases.len()
    );
    let mut names = HashSet::new();
    for case in &cases {
        assert!(names.insert(&case.name), "case name {} repeats", case.name);
    }
    let outcomes: HashSet<String> = cases
        .iter()
        .map(|c| match &c.expect {
            Expect::Valid { .. } => "valid".to_owned(),
            Expect::Refused(kind) => kind.clone(),
        })
        .collect();
    for wanted in [
        "valid",
        "InvalidSignature",
        "MissingSignature",
        "MalformedHeaders",
    ] {
        assert!(outcomes.contains(wanted), "no case expects {wanted}");
    }
    assert!(
        cases.iter().any(|c| c.body.len() >= 1024 * 1024),
        "no 1 MiB body"
    );
    assert!(
        cases
            .iter()
            .any(|c| c.expected_json.as_deref() == Some(b"[]")),
        "no empty-map case"
    );
    assert!(
        cases.iter().any(|c| c.keys.len() > 1),
        "no key-rotation case"
    );
}

#[test]
fn canonical_json_matches_php_byte_for_byte() {
    check_all("header JSON", |case| {
        let Some(expected) = &case.expected_json else {
            return Ok(());
        };
        let ours = SignedHeaders::from_pairs(case.wire())
            .map_err(|e| format!("headers refused ({e:?}) but PHP encoded them"))?
            .to_json();
        if &ours != expected {
            return Err(format!(
                "differs from byte {}\n    PHP:  {}\n    ours: {}",
                first_difference(expected, &ours),
                show(expected),
                show(&ours)
            ));
        }
        Ok(())
    });
}

#[test]
fn names_are_rebuilt_in_vendor_case_and_byte_order() {
    check_all("signed header names", |case| {
        let Some(php) = &case.signed_headers else {
            return Ok(());
        };
        let signed = SignedHeaders::from_pairs(case.wire())
            .map_err(|e| format!("headers refused ({e:?}) but PHP built a map"))?;
        let ours: Vec<(String, String)> = signed
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        if &ours != php {
            return Err(format!("\n    PHP:  {php:?}\n    ours: {ours:?}"));
        }
        Ok(())
    });
}

#[test]
fn headers_php_cannot_encode_are_malformed() {
    check_all("unencodable headers", |case| {
        if case.expected_json.is_some() {
            return Ok(());
        }
        match DeliveryHeaders::from_pairs(case.wire()) {
            Err(e) if e.kind() == ErrorKind::MalformedHeaders => Ok(()),
            other => Err(format!(
                "PHP has no JSON for these headers, expected MalformedHeaders, got {other:?}"
            )),
        }
    });
}

#[test]
fn signer_matches_php_signature() {
    check_all("signature", |case| {
        let (Some(expected), Some(vendor_pairs)) = (&case.expected_signature, &case.signed_headers)
        else {
            return Ok(());
        };
        let signer = Signer::new(&case.sender_secret);
        // The sender's view: PHP's vendor-case map.
        let vendor = SignedHeaders::from_pairs(vendor_pairs.iter().map(|(n, v)| (n, v)))
            .map_err(|e| format!("{e:?}"))?;
        let from_vendor = signer.sign(&vendor, &case.body);
        // The receiver's view: the names as they were on the wire.
        let wire = SignedHeaders::from_pairs(case.wire()).map_err(|e| format!("{e:?}"))?;
        let from_wire = signer.sign(&wire, &case.body);
        if (&from_vendor, &from_wire) != (expected, expected) {
            return Err(format!(
                "PHP {expected}, ours {from_vendor} (vendor case), {from_wire} (wire case)"
            ));
        }
        Ok(())
    });
}

#[test]
fn verifier_gives_the_expected_outcome_and_key() {
    check_all("verification", |case| {
        let outcome = verify(case);
        match (&case.expect, outcome) {
            (Expect::Valid { key_id }, Ok(event)) if event.key_id().as_str() == key_id => Ok(()),
            (Expect::Refused(kind), Err(e)) if format!("{:?}", e.kind()) == *kind => Ok(()),
            (expect, Ok(event)) => Err(format!(
                "expected {expect:?}, accepted with key {:?}",
                event.key_id()
            )),
            (expect, Err(e)) => Err(format!("expected {expect:?}, got {e:?}")),
        }
    });
}

/// The file's own consistency: a hand-written "valid" must be what the vendor's
/// sample receiver says too, and a bad signature must be bad for PHP as well.
#[test]
fn expectations_agree_with_the_php_reference_receiver() {
    check_all("PHP reference verdict", |case| {
        let php = case.php_reference_key_id.as_deref();
        match &case.expect {
            Expect::Valid { key_id } if php != Some(key_id.as_str()) => Err(format!(
                "expected key {key_id} to match, PHP matched {php:?}"
            )),
            Expect::Refused(kind)
                if (kind == "InvalidSignature" || kind == "MissingSignature") && php.is_some() =>
            {
                Err(format!("expected {kind}, PHP accepts with key {php:?}"))
            }
            _ => Ok(()),
        }
    });
}
