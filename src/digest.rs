//! Body digests a signature can cover instead of the body itself:
//! `Content-Digest` (RFC 9530, `sha-256=:<b64>:, sha-512=:<b64>:`) and the
//! legacy `Digest` (RFC 3230, `SHA-256=<b64>`).
//!
//! A recipe whose MAC covers only headers (UP42's) authenticates the body only
//! through such a header: the verifier hashes the body as it streams and
//! compares each digest in constant time at the end.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ctutils::CtEq;
use sha2::{Digest as _, Sha256, Sha512};

use crate::structured::{BareItem, Member, parse_dictionary};

/// A digest algorithm the verifier can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-256, 32 bytes.
    Sha256,
    /// SHA-512, 64 bytes.
    Sha512,
}

impl Algorithm {
    /// The digest's length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("sha-256") {
            Some(Self::Sha256)
        } else if name.eq_ignore_ascii_case("sha-512") {
            Some(Self::Sha512)
        } else {
            None
        }
    }
}

/// A digest a delivery declares for its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedDigest {
    /// Which hash.
    pub algorithm: Algorithm,
    /// Its value, `algorithm.output_len()` bytes.
    pub value: Vec<u8>,
}

/// Reads a `Content-Digest` value (RFC 9530 §2): a structured dictionary of
/// algorithm to byte sequence. Algorithms other than SHA-256 and SHA-512 are
/// skipped (the RFC's registry marks the rest insecure or legacy); a known one
/// with a wrong length, or a value that is not a byte sequence, is refused.
pub fn parse_content_digest(value: &[u8]) -> Result<Vec<ExpectedDigest>, &'static str> {
    let mut found = Vec::new();
    for (name, member) in parse_dictionary(value)? {
        let Some(algorithm) = Algorithm::from_name(name) else {
            continue;
        };
        let Member::Item(BareItem::Bytes(bytes), _) = member else {
            return Err("a digest value must be a byte sequence");
        };
        found.push(checked(algorithm, bytes)?);
    }
    Ok(found)
}

/// Reads a legacy `Digest` value (RFC 3230 §4.3.2): `algorithm=base64`
/// pairs separated by commas, algorithm names in any case, spaces around
/// either side ignored. Unknown algorithms are skipped.
pub fn parse_legacy_digest(value: &[u8]) -> Result<Vec<ExpectedDigest>, &'static str> {
    let mut found = Vec::new();
    for part in value.split(|&b| b == b',') {
        let part = part.trim_ascii();
        let Some(eq) = part.iter().position(|&b| b == b'=') else {
            return Err("a digest must be `algorithm=value`");
        };
        // A name that is not UTF-8 is no algorithm this knows: skipped, like
        // any other unknown one.
        let name = std::str::from_utf8(part[..eq].trim_ascii()).unwrap_or_default();
        let Some(algorithm) = Algorithm::from_name(name) else {
            continue;
        };
        let bytes = STANDARD
            .decode(part[eq + 1..].trim_ascii())
            .map_err(|_| "digest value is not base64")?;
        found.push(checked(algorithm, bytes)?);
    }
    Ok(found)
}

/// A `Content-Digest` value for `body`, as a sender writes it:
/// `sha-256=:<base64>:` (RFC 9530).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

fn checked(algorithm: Algorithm, value: Vec<u8>) -> Result<ExpectedDigest, &'static str> {
    if value.len() == algorithm.output_len() {
        Ok(ExpectedDigest { algorithm, value })
    } else {
        Err("digest has the wrong length for its algorithm")
    }
}

/// One declared digest, being computed over the body as it streams.
pub(crate) struct DigestCheck {
    expected: Vec<u8>,
    hasher: Hasher,
}

enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl DigestCheck {
    pub(crate) fn new(expected: ExpectedDigest) -> Self {
        let hasher = match expected.algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        };
        Self {
            expected: expected.value,
            hasher,
        }
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        match &mut self.hasher {
            Hasher::Sha256(h) => h.update(chunk),
            Hasher::Sha512(h) => h.update(chunk),
        }
    }

    /// True when the body's digest equals the declared one (constant time).
    pub(crate) fn matches(self) -> bool {
        let actual: Vec<u8> = match self.hasher {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        actual.as_slice().ct_eq(self.expected.as_slice()).to_bool()
    }
}

impl std::fmt::Debug for DigestCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algorithm = match self.hasher {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        };
        f.debug_struct("DigestCheck")
            .field("algorithm", &algorithm)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 9530 Appendix D.1: the content `{"hello": "world"}`.
    const HELLO: &[u8] = br#"{"hello": "world"}"#;
    const HELLO_SHA256: &str = "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=";
    const HELLO_SHA512: &str =
        "WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==";

    fn digest_of(expected: ExpectedDigest, body: &[u8]) -> bool {
        let mut check = DigestCheck::new(expected);
        check.update(body);
        check.matches()
    }

    #[test]
    fn rfc_9530_examples_verify() {
        let header = format!("sha-256=:{HELLO_SHA256}:, sha-512=:{HELLO_SHA512}:");
        let digests = parse_content_digest(header.as_bytes()).unwrap();
        assert_eq!(digests.len(), 2);
        for d in digests {
            assert!(digest_of(d.clone(), HELLO));
            assert!(!digest_of(d, br#"{"hello": "World"}"#));
        }
    }

    #[test]
    fn legacy_names_in_any_case() {
        let header = format!("SHA-256 = {HELLO_SHA256},unixsum=30637,\u{e9}=x");
        let digests = parse_legacy_digest(header.as_bytes()).unwrap();
        assert_eq!(digests.len(), 1);
        assert!(digest_of(digests[0].clone(), HELLO));
    }

    #[test]
    fn unknown_algorithms_are_skipped_bad_values_refused() {
        assert_eq!(parse_content_digest(b"md5=:AAAA:").unwrap(), vec![]);
        assert!(parse_content_digest(b"sha-256=:AAAA:").is_err());
        assert!(parse_content_digest(b"sha-256=\"x\"").is_err());
        assert!(parse_legacy_digest(b"sha-256").is_err());
        assert!(parse_legacy_digest(b"sha-256=!!").is_err());
    }
}
