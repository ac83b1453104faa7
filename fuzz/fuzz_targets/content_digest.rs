//! `Content-Digest` (RFC 9530) and legacy `Digest` (RFC 3230) parsers on
//! arbitrary bytes, against the references in fuzz/src/lib.rs: the same
//! verdict and the same digests in order, each of its algorithm's length.
//! `digest::content_digest(body)` parses back (in both forms) to one SHA-256.
//! And through a UP42 signature covering the header plus the true digest, a
//! delivery verifies exactly when every digest the reference reads is the
//! true one (a SHA-512 value counts as true when it verifies alone: the
//! verifier checks every digest, not just one); a header the reference
//! refuses is refused as malformed.
#![no_main]

use bytes::Bytes;
use futures_executor::block_on;
use libfuzzer_sys::fuzz_target;
use webhook_guard::digest::{self, Algorithm, ExpectedDigest};
use webhook_guard::up42::{self, Up42};
use webhook_guard::{ErrorKind, KeySet, SigningKey, Verifier};
use webhook_guard_fuzz::digest::{Digest, content_digest, legacy_digest};
use webhook_guard_fuzz::{DigestInput, b64};

fn checked(value: &[u8], parsed: Result<Vec<ExpectedDigest>, &str>) -> Option<Vec<Digest>> {
    let digests = parsed.ok()?;
    let simple = digests.into_iter().map(|d| {
        assert_eq!(
            d.value.len(),
            d.algorithm.output_len(),
            "{d:?} in {value:?}"
        );
        match d.algorithm {
            Algorithm::Sha256 => ("sha-256", d.value),
            Algorithm::Sha512 => ("sha-512", d.value),
            other => panic!("unknown algorithm {other:?}"),
        }
    });
    Some(simple.collect())
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fuzz_target!(|input: DigestInput| {
    let DigestInput {
        body,
        extra,
        header,
    } = input;
    let text = String::from_utf8_lossy(header);
    let cd = checked(header, digest::parse_content_digest(header));
    assert_eq!(cd, content_digest(header), "Content-Digest: {text:?}");
    let legacy = checked(header, digest::parse_legacy_digest(header));
    assert_eq!(legacy, legacy_digest(header), "Digest: {text:?}");

    let sent = digest::content_digest(&body);
    let encoded = sent
        .strip_prefix("sha-256=:")
        .and_then(|s| s.strip_suffix(':'))
        .expect("sha-256=:<base64>:");
    let truth = (
        "sha-256",
        b64::decode(encoded.as_bytes()).expect("canonical base64"),
    );
    let sent_legacy = format!("SHA-256={encoded}");
    let parsed = digest::parse_content_digest(sent.as_bytes());
    assert_eq!(checked(sent.as_bytes(), parsed), Some(vec![truth.clone()]));
    let parsed = digest::parse_legacy_digest(sent_legacy.as_bytes());
    assert_eq!(
        checked(sent_legacy.as_bytes(), parsed),
        Some(vec![truth.clone()])
    );

    let mut covered: Vec<(String, String)> = Vec::new();
    for (name, value) in extra {
        let name = name.to_ascii_lowercase();
        if !name.is_empty()
            && name.chars().all(is_tchar)
            && !["content-digest", "digest", "signature", "signature-input"]
                .contains(&name.as_str())
            && covered.iter().all(|(n, _)| *n != name)
            && covered.len() < up42::MAX_COVERED - 1
        {
            covered.push((name, value));
        }
    }
    let key = SigningKey::new("k", &body);
    let verifier = Verifier::builder(KeySet::single(&body))
        .scheme(Up42::new())
        .danger_accept_any_timestamp()
        .build();
    let deliver = |name: &str, value: &str| {
        let mut pairs: Vec<(&str, &str)> = vec![(name, value)];
        pairs.extend(covered.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let (input, signature) = up42::sign(&key, &pairs, 1_700_000_000);
        let mut headers = vec![
            ("signature-input", input.as_str()),
            ("signature", &signature),
        ];
        headers.extend(pairs.iter().copied());
        let got = block_on(verifier.verify(&headers, Bytes::copy_from_slice(&body)));
        got.map(drop).map_err(|e| e.kind())
    };
    // No SHA-512 here: a SHA-512 value is true when it verifies on its own.
    let true_digest = |d: &Digest| match d.0 {
        "sha-256" => *d == truth,
        _ => deliver(
            "content-digest",
            &format!("sha-512=:{}:", b64::encode(&d.1)),
        )
        .is_ok(),
    };
    let blank = header.trim_ascii().is_empty();
    for (name, truth_piece, reference) in [
        (
            "content-digest",
            &sent,
            content_digest as fn(&[u8]) -> Option<Vec<Digest>>,
        ),
        ("digest", &sent_legacy, legacy_digest),
    ] {
        let mut value = header.to_vec();
        if !blank {
            value.extend_from_slice(b", ");
        }
        value.extend_from_slice(truth_piece.as_bytes());
        let want = match reference(&value) {
            None => Err(ErrorKind::MalformedHeaders),
            Some(found) if found.iter().all(true_digest) => Ok(()),
            Some(_) => Err(ErrorKind::InvalidSignature),
        };
        let Ok(value) = String::from_utf8(value) else {
            continue; // `sign` signs text
        };
        assert_eq!(deliver(name, &value), want, "{name}: {value:?}");
    }
});
