//! UP42's `Signature-Input` and `Signature` parsers on arbitrary bytes, against
//! the references in fuzz/src/lib.rs (a hand-written RFC 8941 dictionary
//! reader): the same verdict, names and `created`. Whatever parses is at most
//! 32 distinct lowercase names; `up42::sign` for those names parses back to
//! them, and the delivery it signs verifies, with the body bound exactly when
//! a digest is covered.
#![no_main]

use bytes::Bytes;
use futures_executor::block_on;
use libfuzzer_sys::fuzz_target;
use webhook_guard::digest::content_digest;
use webhook_guard::up42::{self, InputError, SignatureInput, Up42};
use webhook_guard::{KeySet, SigningKey, Verifier};
use webhook_guard_fuzz::up42::{Input, signature, signature_input};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let got = up42::parse_signature_input(data);
    match (signature_input(data), &got) {
        (Input::Ok(covered, created), Ok(input)) => {
            assert_eq!(
                (&input.covered, input.created),
                (&covered, created),
                "{text:?}"
            )
        }
        (Input::NoLabel, Err(InputError::NoLabel)) => {}
        (Input::Malformed, Err(InputError::Malformed(_))) => {}
        (want, got) => panic!("{text:?}: reference {want:?}, library {got:?}"),
    }
    assert_eq!(
        up42::parse_signature(data).map_err(drop),
        signature(data),
        "{text:?}"
    );

    let Ok(input) = got else { return };
    assert!((1..=up42::MAX_COVERED).contains(&input.covered.len()));
    for (i, name) in input.covered.iter().enumerate() {
        assert_eq!(name, &name.to_ascii_lowercase());
        assert!(!input.covered[..i].contains(name), "{name:?} twice");
    }
    assert!(input.created.is_none_or(|c| c >= 0));
    // `sign` writes names between quotes unescaped, and signs a header's value:
    // the Signature-Input and Signature headers cannot cover themselves.
    if input
        .covered
        .iter()
        .any(|n| n.contains(['"', '\\']) || n == "signature-input" || n == "signature")
    {
        return;
    }
    let body = data;
    let digest = content_digest(body);
    let values: Vec<(&str, String)> = input
        .covered
        .iter()
        .map(|name| match name.as_str() {
            "content-digest" => (name.as_str(), digest.clone()),
            "digest" => (
                name.as_str(),
                format!("SHA-256={}", &digest[9..digest.len() - 1]),
            ),
            _ => (name.as_str(), name.chars().rev().collect()),
        })
        .collect();
    let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let created = input.created.unwrap_or(1_700_000_000);
    let (input_value, signature_value) = up42::sign(&SigningKey::new("k", data), &pairs, created);
    let want = SignatureInput {
        covered: input.covered.clone(),
        created: Some(created),
    };
    assert_eq!(
        up42::parse_signature_input(input_value.as_bytes()),
        Ok(want)
    );
    assert!(matches!(
        up42::parse_signature(signature_value.as_bytes()),
        Ok(Some(_))
    ));

    let bound = values
        .iter()
        .any(|(n, _)| *n == "content-digest" || *n == "digest");
    let mut headers = vec![
        ("Signature-Input", input_value),
        ("SIGNATURE", signature_value),
    ];
    headers.extend(values.iter().map(|(n, v)| (*n, v.clone())));
    let verifier = Verifier::builder(KeySet::single(data))
        .scheme(Up42::new().danger_accept_unsigned_body())
        .danger_accept_any_timestamp()
        .build();
    let event = block_on(verifier.verify(&headers, Bytes::copy_from_slice(body)))
        .unwrap_or_else(|e| panic!("{text:?}: signed delivery refused: {e}"));
    assert_eq!(event.body_authenticated(), bound);
    assert_eq!(event.timestamp(), Some(created));
    let mut other = body.to_vec();
    other.push(b'!');
    let result = block_on(verifier.verify(&headers, Bytes::from(other)));
    assert_eq!(result.is_ok(), !bound, "{text:?}: body change");
});
