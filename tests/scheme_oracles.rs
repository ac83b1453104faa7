//! The Standard Webhooks and UP42 recipes against independent oracles: every
//! delivery and known answer here was signed outside the crate.
//!
//! - Standard Webhooks: `tests/oracles/standard_webhooks.py` signs a few
//!   thousand random messages with the official PyPI package
//!   `standardwebhooks` (text bodies, empty ones included, key rotation with
//!   several entries by several keys), with Python's `hmac` for bodies that
//!   are not UTF-8 (the package signs only text), and with `cryptography`'s
//!   ed25519 for `v1a`. The verifier must accept each delivery the oracle
//!   marks valid, refuse the others, and refuse each valid one with a body
//!   byte changed, its id or timestamp changed, or its clock moved out of the
//!   tolerance. The two published known answers are also written out below,
//!   so they are checked even without Python.
//! - UP42: `tests/oracles/up42_reference.py` is a reference signer and
//!   receiver written from UP42's published receiver sample (plus the
//!   content-digest check the crate demands). Its deliveries, and each one
//!   with a body byte, a listed value, `created` or the signature changed,
//!   go to both receivers; they must agree on every one, the crate refusing
//!   with a kind that names one of the reference's reasons.
//!
//! Needs `python3` with `standardwebhooks` and `cryptography` (`pip install
//! standardwebhooks cryptography`). Without them the oracle tests are skipped
//! with a message on stderr, except when `CI` is set: there they fail.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use webhook_guard::standard::{self, StandardWebhooks};
use webhook_guard::up42::{self, Up42};
use webhook_guard::{Error, ErrorKind, KeySet, ManualClock, SigningKey, VerifiedWebhook, Verifier};

use support::compare::show;
use support::python::{python_available, run_json_lines};
use support::rng::Rng;

/// Fixed so a failure reproduces; change it to explore other inputs.
const SEED: u64 = 0x5eed_0c1e_0000_0042;
/// Text messages the official package signs (binary ones add a tenth).
const STANDARD_COUNT: usize = 3000;
/// `v1a` messages: fewer, since ed25519 is slow in an unoptimized test build
/// (about 10 ms a verification).
const ED25519_COUNT: usize = 80;
/// Deliveries the UP42 reference signer makes.
const UP42_COUNT: usize = 1500;
/// How many failing cases to print in full.
const SHOW_FAILURES: usize = 5;
/// The Standard Webhooks tolerance, both ways (the verifier's default).
const TOLERANCE: i64 = 300;

/// The published Standard Webhooks known answers (the Standard Webhooks and
/// Svix libraries' own test vectors): secret, id, timestamp, body, signature.
const KNOWN_ANSWERS: [(&str, &str, i64, &str, &str); 2] = [
    (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_330,
        r#"{"test": 2432232314}"#,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    ),
    (
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1_649_367_553,
        r#"{"email":"test@example.com","username":"test_user"}"#,
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
    ),
];

type Head = Vec<(String, String)>;

/// Fails with the first [`SHOW_FAILURES`] disagreements, out of `total` `what`.
#[track_caller]
fn assert_agree(failures: &[String], total: usize, what: &str) {
    assert!(
        failures.is_empty(),
        "{} of {total} {what} disagree; the first:\n{}",
        failures.len(),
        failures[..failures.len().min(SHOW_FAILURES)].join("\n")
    );
}

fn verify(verifier: &Verifier, head: Head, body: &[u8]) -> Result<VerifiedWebhook, Error> {
    futures_executor::block_on(verifier.verify(head, Bytes::copy_from_slice(body)))
}

/// Ok, or the kind of the refusal, for messages.
fn outcome(result: &Result<VerifiedWebhook, Error>) -> String {
    match result {
        Ok(_) => "accepted".to_owned(),
        Err(e) => format!("refused {:?} ({e})", e.kind()),
    }
}

fn decode(text: &str) -> Vec<u8> {
    STANDARD.decode(text).expect("the oracle's base64")
}

/// One byte of `body` changed (or one added to an empty body).
fn change_a_byte(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    if body.is_empty() {
        body.push(b'x');
    } else {
        let i = rng.below(body.len());
        body[i] ^= 1 << rng.below(8);
    }
    body
}

/// One character of `text` replaced by a different printable ASCII one (or
/// one added to empty text); stays UTF-8.
fn change_a_char(rng: &mut Rng, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return "x".to_owned();
    }
    let i = rng.below(chars.len());
    let replacement = loop {
        let c = char::from(0x21 + rng.below(0x7f - 0x21) as u8);
        if c != chars[i] {
            break c;
        }
    };
    chars
        .iter()
        .enumerate()
        .map(|(j, &c)| if j == i { replacement } else { c })
        .collect()
}

const B64_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One base64 character of `text` changed, at a position in `allowed` whose
/// next character is base64 too (so the encoding stays canonical: only the
/// last character before padding carries unused bits).
fn change_a_b64_char(rng: &mut Rng, text: &str, allowed: impl Fn(usize) -> bool) -> Option<String> {
    let bytes = text.as_bytes();
    let positions: Vec<usize> = (0..bytes.len().saturating_sub(1))
        .filter(|&i| {
            allowed(i) && B64_ALPHABET.contains(&bytes[i]) && B64_ALPHABET.contains(&bytes[i + 1])
        })
        .collect();
    if positions.is_empty() {
        return None;
    }
    let i = rng.pick(&positions);
    let mut changed = bytes.to_vec();
    changed[i] = loop {
        let c = rng.pick(B64_ALPHABET);
        if c != bytes[i] {
            break c;
        }
    };
    Some(String::from_utf8(changed).expect("ASCII"))
}

// ---------------------------------------------------------------------------
// Standard Webhooks
// ---------------------------------------------------------------------------

fn standard_verifier(keys: KeySet, now: i64) -> Verifier {
    Verifier::builder(keys)
        .scheme(StandardWebhooks::new())
        .clock(ManualClock::new(now))
        .build()
}

fn standard_head(id: &str, timestamp: &str, signature: &str) -> Head {
    vec![
        ("webhook-id".to_owned(), id.to_owned()),
        ("webhook-timestamp".to_owned(), timestamp.to_owned()),
        ("webhook-signature".to_owned(), signature.to_owned()),
    ]
}

#[test]
fn standard_webhooks_published_known_answers() {
    for (secret, id, timestamp, body, signature) in KNOWN_ANSWERS {
        let key = StandardWebhooks::secret("default", secret).expect("the published secret");
        assert_eq!(
            standard::sign(&key, id, timestamp, body.as_bytes()),
            signature,
            "the crate's signer, {id}"
        );
        let verifier = standard_verifier(KeySet::from_keys([key]), timestamp);
        let head = |signature: &str| standard_head(id, &timestamp.to_string(), signature);

        let event = verify(&verifier, head(signature), body.as_bytes())
            .unwrap_or_else(|e| panic!("known answer {id} refused: {e}"));
        assert_eq!(event.message_id(), Some(id));
        assert_eq!(event.timestamp(), Some(timestamp));
        assert_eq!(event.body().as_ref(), body.as_bytes());
        assert!(event.body_authenticated());

        // Among other entries (a rotation), in either place.
        let other = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        for list in [
            format!("{other} {signature}"),
            format!("{signature} {other}"),
        ] {
            verify(&verifier, head(&list), body.as_bytes())
                .unwrap_or_else(|e| panic!("{id} beside another entry refused: {e}"));
        }

        let mut tampered = body.as_bytes().to_vec();
        tampered[2] ^= 1;
        let err = verify(&verifier, head(signature), &tampered).expect_err("changed body");
        assert_eq!(
            (err.kind(), err.status()),
            (ErrorKind::InvalidSignature, 401)
        );
        let err = verify(&verifier, head(other), body.as_bytes()).expect_err("wrong signature");
        assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    }
}

/// One line of `standard_webhooks.py`.
#[derive(Debug, Deserialize)]
struct StandardCase {
    source: String,
    id: String,
    timestamp: i64,
    body_b64: String,
    keys: Vec<String>,
    public_keys: Vec<String>,
    signature: String,
    valid: bool,
    valid_v1: bool,
}

impl StandardCase {
    fn describe(&self) -> String {
        format!(
            "source {} (valid {}, valid with v1 alone {}), id {:?}, timestamp {}, keys {:?}, \
             public keys {:?}, webhook-signature {:?}, body {}",
            self.source,
            self.valid,
            self.valid_v1,
            self.id,
            self.timestamp,
            self.keys,
            self.public_keys,
            self.signature,
            show(&decode(&self.body_b64))
        )
    }

    /// The receiver's keys: every `v1` secret and (with `ed25519`) every
    /// `v1a` public key; and whether a delivery should verify with them.
    fn key_set(&self) -> (KeySet, bool) {
        let keys = KeySet::from_keys(self.keys.iter().enumerate().map(|(i, secret)| {
            StandardWebhooks::secret(&format!("v1-{i}"), secret)
                .expect("the oracle's whsec_ secret")
        }));
        #[cfg(feature = "ed25519")]
        {
            let keys = self
                .public_keys
                .iter()
                .enumerate()
                .fold(keys, |keys, (i, key)| {
                    let key = StandardWebhooks::public_key(&format!("v1a-{i}"), key)
                        .expect("the oracle's whpk_ key");
                    keys.with_public_key(key)
                });
            (keys, self.valid)
        }
        // Without ed25519 the verifier skips v1a entries: only v1 can match.
        #[cfg(not(feature = "ed25519"))]
        (keys, self.valid_v1)
    }
}

/// What one oracle message must do: verify (or not, as the oracle says),
/// and be refused once changed.
fn check_standard(case: &StandardCase, rng: &mut Rng) -> Result<usize, String> {
    let body = decode(&case.body_b64);
    let (keys, valid) = case.key_set();
    let ts = case.timestamp;
    let head = |id: &str, ts: i64| standard_head(id, &ts.to_string(), &case.signature);
    let verifier = standard_verifier(keys.clone(), ts);
    let result = verify(&verifier, head(&case.id, ts), &body);
    let mut checked = 1;
    if !valid {
        return match result {
            Err(e) if e.kind() == ErrorKind::InvalidSignature => Ok(checked),
            other => Err(format!(
                "a signature by no receiver key: {}, expected InvalidSignature",
                outcome(&other)
            )),
        };
    }
    let event = result.map_err(|e| format!("valid delivery refused: {:?} ({e})", e.kind()))?;
    if event.message_id() != Some(case.id.as_str())
        || event.timestamp() != Some(ts)
        || event.body().as_ref() != body.as_slice()
        || !event.body_authenticated()
    {
        return Err(format!(
            "accepted, but the event says id {:?}, timestamp {:?}, {} body bytes",
            event.message_id(),
            event.timestamp(),
            event.body().len()
        ));
    }
    // The crate's signer agrees with the oracle for some receiver secret.
    if case.valid_v1 {
        let ours: Vec<String> = keys
            .keys()
            .iter()
            .map(|key| standard::sign(key, &case.id, ts, &body))
            .collect();
        if !ours
            .iter()
            .any(|entry| case.signature.split(' ').any(|e| e == entry))
        {
            return Err(format!(
                "the crate's signer writes {ours:?}, in no entry of the header"
            ));
        }
    }

    let mut refused =
        |what: &str, verifier: &Verifier, head: Head, body: &[u8], kind: ErrorKind| {
            checked += 1;
            match verify(verifier, head.clone(), body) {
                Err(e) if e.kind() == kind => Ok(()),
                other => Err(format!(
                    "{what}: {}, expected {kind:?}; head {head:?}, body {}",
                    outcome(&other),
                    show(body)
                )),
            }
        };
    refused(
        "one body byte changed",
        &verifier,
        head(&case.id, ts),
        &change_a_byte(rng, &body),
        ErrorKind::InvalidSignature,
    )?;
    if rng.below(2) == 0 {
        let id = change_a_char(rng, &case.id);
        refused(
            "webhook-id changed",
            &verifier,
            head(&id, ts),
            &body,
            ErrorKind::InvalidSignature,
        )?;
    } else {
        let delta = 1 + rng.below(TOLERANCE as usize) as i64;
        let changed = if ts >= delta && rng.below(2) == 0 {
            ts - delta
        } else {
            ts + delta
        };
        refused(
            "webhook-timestamp changed within the tolerance",
            &verifier,
            head(&case.id, changed),
            &body,
            ErrorKind::InvalidSignature,
        )?;
    }
    for now in [ts - TOLERANCE - 1, ts + TOLERANCE + 1] {
        refused(
            &format!("verified at {now}"),
            &standard_verifier(keys.clone(), now),
            head(&case.id, ts),
            &body,
            ErrorKind::TimestampOutsideTolerance,
        )?;
    }
    Ok(checked)
}

#[test]
fn standard_webhooks_against_the_official_package() {
    if !python_available(
        &["standardwebhooks", "cryptography"],
        "the Standard Webhooks oracle",
    ) {
        return;
    }
    let started = Instant::now();
    let lines = run_json_lines(
        "standard_webhooks.py",
        &[
            &SEED.to_string(),
            &STANDARD_COUNT.to_string(),
            &ED25519_COUNT.to_string(),
        ],
        "",
    );
    let signed_in = started.elapsed();
    let cases: Vec<StandardCase> = lines
        .into_iter()
        .map(|line| serde_json::from_value(line).expect("a standard_webhooks.py line"))
        .collect();

    let mut rng = Rng(SEED);
    let mut per_source: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut verifications, mut rotations, mut empty, mut binary) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        *per_source.entry(case.source.as_str()).or_default() += 1;
        let body = decode(&case.body_b64);
        empty += usize::from(body.is_empty());
        binary += usize::from(std::str::from_utf8(&body).is_err());
        rotations += usize::from(
            case.keys.len() + case.public_keys.len() > 1 || case.signature.contains(' '),
        );
        match check_standard(case, &mut rng) {
            Ok(n) => verifications += n,
            Err(why) => failures.push(format!("{why}\n    {}", case.describe())),
        }
    }
    eprintln!(
        "standard webhooks: {} oracle deliveries {per_source:?} ({rotations} rotations, {empty} empty and \
         {binary} non-UTF-8 bodies), {verifications} verifications; oracle {signed_in:?}, total {:?}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        per_source.get("kat") == Some(&KNOWN_ANSWERS.len()),
        "{per_source:?}"
    );
    assert!(
        per_source.get("standardwebhooks") == Some(&STANDARD_COUNT),
        "{per_source:?}"
    );
    assert!(empty > 0 && binary > 0 && rotations > 0 && per_source.contains_key("ed25519"));
    assert_agree(&failures, cases.len(), "oracle deliveries");
}

// ---------------------------------------------------------------------------
// UP42
// ---------------------------------------------------------------------------

/// One delivery of `up42_reference.py sign`.
#[derive(Clone, Debug, Deserialize)]
struct Up42Delivery {
    secret: String,
    now: i64,
    headers: Head,
    body_b64: String,
    /// The listed headers, in signing order; `signature-input` without a value.
    covered: Vec<(String, Option<String>)>,
    covers_digest: bool,
    covers_input: bool,
}

/// A delivery as both receivers get it: the oracle's, or one changed here.
#[derive(Clone, Debug)]
struct Up42Case {
    what: &'static str,
    secret: String,
    now: i64,
    headers: Head,
    body: Vec<u8>,
    /// The reference's reasons to refuse it (filled in from `verify`).
    failures: Vec<String>,
}

impl Up42Case {
    fn from_delivery(delivery: &Up42Delivery) -> Self {
        Self {
            what: "as signed",
            secret: delivery.secret.clone(),
            now: delivery.now,
            headers: delivery.headers.clone(),
            body: decode(&delivery.body_b64),
            failures: Vec::new(),
        }
    }

    fn reference_line(&self) -> String {
        json!({
            "secret": self.secret,
            "now": self.now,
            "headers": self.headers,
            "body_b64": STANDARD.encode(&self.body),
        })
        .to_string()
    }

    fn header_mut(&mut self, name: &str) -> &mut String {
        self.headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {name} header in the oracle's delivery"))
    }

    fn changed(&self, what: &'static str) -> Self {
        Self {
            what,
            ..self.clone()
        }
    }

    fn describe(&self) -> String {
        format!(
            "{}: secret {:?}, now {}, headers {:?}, body {}",
            self.what,
            self.secret,
            self.now,
            self.headers,
            show(&self.body)
        )
    }
}

/// The delivery and the changes both receivers must judge alike.
fn up42_variants(delivery: &Up42Delivery, rng: &mut Rng) -> Vec<Up42Case> {
    let original = Up42Case::from_delivery(delivery);
    let mut variants = vec![original.clone()];

    let mut body = original.changed("one body byte changed");
    body.body = change_a_byte(rng, &original.body);
    variants.push(body);

    // One listed value changed; a digest only inside its base64, so it stays a digest.
    let listed: Vec<&(String, Option<String>)> = delivery
        .covered
        .iter()
        .filter(|(_, value)| value.is_some())
        .collect();
    if let Some((name, Some(value))) = listed.get(rng.below(listed.len().max(1))).copied() {
        let name = name.to_ascii_lowercase();
        let changed = match name.as_str() {
            "content-digest" => {
                // Inside a byte sequence: after an odd number of colons.
                let colons: Vec<usize> = value
                    .bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b':')
                    .map(|(i, _)| i)
                    .collect();
                change_a_b64_char(rng, value, |i| {
                    colons.iter().filter(|&&c| c < i).count() % 2 == 1
                })
            }
            "digest" => {
                // After the `=` of its member.
                let bytes = value.as_bytes();
                change_a_b64_char(rng, value, |i| {
                    let member_start = bytes[..i]
                        .iter()
                        .rposition(|&b| b == b',')
                        .map_or(0, |c| c + 1);
                    bytes[member_start..i].contains(&b'=')
                })
            }
            _ => Some(change_a_char(rng, value)),
        };
        let mut case = original.changed("one listed header value changed");
        *case.header_mut(&name) = changed.expect("a digest with base64 to change");
        variants.push(case);
    }

    // `created` moved, still fresh: signed only when the list covers signature-input.
    let mut case = original.changed("created changed within the window");
    let input = case.header_mut("signature-input");
    let at = input.find("created=").expect("created") + "created=".len();
    let end = at + input[at..].bytes().take_while(u8::is_ascii_digit).count();
    let created: i64 = input[at..end].parse().expect("created digits");
    let moved = loop {
        let candidate = delivery.now - rng.below(TOLERANCE as usize) as i64;
        if candidate != created {
            break candidate;
        }
    };
    input.replace_range(at..end, &moved.to_string());
    variants.push(case);

    // The signature: a base64 character changed, or only the unused low bits of
    // its last one (a decoder that ignores them would accept it).
    let signature = original
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("signature"));
    let signature = signature.expect("a Signature header").1.clone();
    let prefix = "up42-sig=".len();
    let mut case = original.changed("one signature character changed");
    *case.header_mut("signature") =
        change_a_b64_char(rng, &signature, |i| i >= prefix).expect("base64 to change");
    variants.push(case);
    let mut case = original.changed("the signature's unused bits set");
    let mut bytes = signature.clone().into_bytes();
    let last = bytes.len() - 2; // the character before the one `=`
    let index = B64_ALPHABET
        .iter()
        .position(|&c| c == bytes[last])
        .expect("base64");
    bytes[last] = B64_ALPHABET[index ^ 1];
    *case.header_mut("signature") = String::from_utf8(bytes).expect("ASCII");
    variants.push(case);

    // A character moved from one listed value to the next: the signed string
    // (the values joined with no separator) is unchanged.
    let plain = |entry: &(String, Option<String>)| {
        entry.1.is_some()
            && !["content-digest", "digest"].contains(&entry.0.to_ascii_lowercase().as_str())
    };
    if let Some(pair) = delivery.covered.windows(2).find(|pair| {
        plain(&pair[0]) && plain(&pair[1]) && !pair[0].1.as_deref().unwrap_or("").is_empty()
    }) {
        let mut case = original.changed("a character moved between two adjacent listed values");
        let mut first = pair[0].1.clone().unwrap_or_default();
        let moved = first.pop().expect("non-empty");
        let second = format!("{moved}{}", pair[1].1.as_deref().unwrap_or(""));
        *case.header_mut(&pair[0].0) = first;
        *case.header_mut(&pair[1].0) = second;
        variants.push(case);
    }
    variants
}

/// The crate's kind for each of the reference receiver's reasons.
fn kind_for(reason: &str) -> ErrorKind {
    match reason {
        "missing_signature" => ErrorKind::MissingSignature,
        "missing_timestamp" => ErrorKind::MissingTimestamp,
        "malformed" => ErrorKind::MalformedHeaders,
        "stale" => ErrorKind::TimestampOutsideTolerance,
        "invalid_signature" | "invalid_digest" => ErrorKind::InvalidSignature,
        "body_not_signed" => ErrorKind::BodyNotSigned,
        other => panic!("unknown reason from the reference receiver: {other}"),
    }
}

/// The UP42 verifier as the reference receiver (UP42's sample) judges
/// freshness: nothing ahead of the clock, nothing 300 s old or more.
fn up42_verifier(scheme: Up42, keys: KeySet, now: i64) -> Verifier {
    Verifier::builder(keys)
        .scheme(scheme)
        .tolerance(Duration::from_secs(TOLERANCE as u64 - 1))
        .future_tolerance(Duration::ZERO)
        .clock(ManualClock::new(now))
        .build()
}

/// The crate and the reference on one case: both accept, or the crate
/// refuses with the kind of one of the reference's reasons. With
/// `danger_accept_unsigned_body` a body nothing binds is no reason.
fn compare_up42(case: &Up42Case, rotated: bool, danger: bool) -> Result<(), String> {
    let reasons: Vec<&str> = case
        .failures
        .iter()
        .map(String::as_str)
        .filter(|&reason| !(danger && reason == "body_not_signed"))
        .collect();
    let keys = if rotated {
        KeySet::single("the secret before the rotation").with_key("current", &case.secret)
    } else {
        KeySet::single(&case.secret)
    };
    let scheme = if danger {
        Up42::new().danger_accept_unsigned_body()
    } else {
        Up42::new()
    };
    let result = verify(
        &up42_verifier(scheme, keys, case.now),
        case.headers.clone(),
        &case.body,
    );
    let mode = if danger {
        "danger_accept_unsigned_body"
    } else {
        "Up42::new()"
    };
    match (&result, reasons.is_empty()) {
        (Ok(event), true) => {
            let bound = !case.failures.iter().any(|r| r == "body_not_signed");
            if event.body_authenticated() != bound || event.body().as_ref() != case.body.as_slice()
            {
                return Err(format!(
                    "{mode} accepted, body_authenticated {} (reference: {bound}), {} body bytes",
                    event.body_authenticated(),
                    event.body().len()
                ));
            }
            Ok(())
        }
        (Err(e), false) if reasons.iter().any(|&r| kind_for(r) == e.kind()) => Ok(()),
        _ => Err(format!(
            "{mode} {}, the reference receiver {}",
            outcome(&result),
            if reasons.is_empty() {
                "accepts".to_owned()
            } else {
                format!("refuses: {reasons:?}")
            }
        )),
    }
}

/// Runs the reference receiver over `cases` and records its reasons.
fn judge_by_reference(cases: &mut [Up42Case]) {
    let input: String = cases.iter().map(|c| c.reference_line() + "\n").collect();
    let verdicts = run_json_lines("up42_reference.py", &["verify"], &input);
    assert_eq!(verdicts.len(), cases.len(), "one verdict per delivery");
    for (case, verdict) in cases.iter_mut().zip(verdicts) {
        case.failures = serde_json::from_value(verdict["failures"].clone()).expect("a verdict");
    }
}

fn up42_deliveries(count: usize) -> Vec<Up42Delivery> {
    run_json_lines(
        "up42_reference.py",
        &["sign", &SEED.to_string(), &count.to_string()],
        "",
    )
    .into_iter()
    .map(|line| serde_json::from_value(line).expect("an up42_reference.py delivery"))
    .collect()
}

#[test]
fn up42_against_the_reference_receiver() {
    if !python_available(&[], "the UP42 reference receiver") {
        return;
    }
    let started = Instant::now();
    let deliveries = up42_deliveries(UP42_COUNT);
    let mut rng = Rng(SEED ^ 0x42);
    let mut cases = Vec::new();
    for (i, delivery) in deliveries.iter().enumerate() {
        // The crate's signer writes the same Signature for what it can sign.
        if !delivery.covers_input {
            let key = SigningKey::new("k", delivery.secret.as_bytes());
            let covered: Vec<(&str, &str)> = delivery
                .covered
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_deref().expect("a value")))
                .collect();
            let created = delivery.now; // the Signature does not depend on it here
            let (_, ours) = up42::sign(&key, &covered, created);
            let theirs = &delivery
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("signature"));
            assert_eq!(
                Some(&ours),
                theirs.map(|(_, v)| v),
                "the crate's signer, delivery {i}: {delivery:?}"
            );
        }
        cases.extend(
            up42_variants(delivery, &mut rng)
                .into_iter()
                .map(|case| (i, case)),
        );
    }
    let (indices, mut cases): (Vec<usize>, Vec<Up42Case>) = cases.into_iter().unzip();
    judge_by_reference(&mut cases);
    let judged_in = started.elapsed();

    let mut per_change: BTreeMap<&str, [usize; 2]> = BTreeMap::new();
    let mut failures = Vec::new();
    for (case, &i) in cases.iter().zip(&indices) {
        let delivery = &deliveries[i];
        if case.what == "as signed" {
            let expected: &[&str] = if delivery.covers_digest {
                &[]
            } else {
                &["body_not_signed"]
            };
            assert_eq!(
                case.failures, expected,
                "the reference on its own delivery {i}"
            );
        }
        let counts = per_change.entry(case.what).or_default();
        counts[usize::from(!case.failures.is_empty())] += 1;
        for danger in [false, true] {
            if let Err(why) = compare_up42(case, i % 4 == 0, danger) {
                failures.push(format!("delivery {i}, {why}\n    {}", case.describe()));
            }
        }
    }
    let unbound = deliveries.iter().filter(|d| !d.covers_digest).count();
    let with_input = deliveries.iter().filter(|d| d.covers_input).count();
    eprintln!(
        "up42: {} reference deliveries ({unbound} binding no body, {with_input} covering signature-input), \
         {} cases each under two verifiers, [reference accepts, refuses] per change {per_change:?}; \
         reference {judged_in:?}, total {:?}",
        deliveries.len(),
        cases.len(),
        started.elapsed()
    );
    assert_agree(&failures, 2 * cases.len(), "comparisons");
}

/// The reference (UP42's sample) refuses `created` ahead of its clock and
/// 300 s old or more; the verifier configured as `up42_verifier` draws the
/// same line, on both sides of each edge.
#[test]
fn up42_freshness_edges_match_the_sample() {
    if !python_available(&[], "the UP42 reference receiver") {
        return;
    }
    let mut cases = Vec::new();
    for delivery in up42_deliveries(40).iter().filter(|d| d.covers_digest) {
        let case = Up42Case::from_delivery(delivery);
        let input = &case
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("signature-input"));
        let input = &input.expect("Signature-Input").1;
        let at = input.find("created=").expect("created") + "created=".len();
        let digits: String = input[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let created: i64 = digits.parse().expect("created");
        for age in [-301, -2, -1, 0, 1, 298, 299, 300, 301] {
            let mut case = case.changed("verified at created + age");
            case.now = created + age;
            cases.push(case);
        }
    }
    judge_by_reference(&mut cases);
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = compare_up42(case, false, false) {
            failures.push(format!("{why}\n    {}", case.describe()));
        }
    }
    assert!(
        cases.iter().any(|c| c.failures == ["stale"])
            && cases.iter().any(|c| c.failures.is_empty())
    );
    assert_agree(&failures, cases.len(), "cases");
}
