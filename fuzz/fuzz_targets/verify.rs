//! The whole verify path on structured input: random headers (the vendor's
//! names in random case, extensions, unrelated headers), a body cut into
//! random chunks, one to three keys, a clock and a timestamp.
//!
//! Oracles: a delivery signed with a held key verifies (streamed chunk by chunk
//! and in one piece), reports the first equal key, and hands back exactly the
//! body; with no matching key, a stale timestamp or an oversized body it is
//! refused with the right kind; and any single change to a signed part (a body
//! byte, a signed header value byte, a signature byte, a header dropped or
//! added) never verifies, while changing the case of a name still does.
#![no_main]

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use futures_executor::block_on;
use libfuzzer_sys::fuzz_target;
use webhook_guard::{
    DeliveryHeaders, Error, ErrorKind, InMemoryReplayGuard, KeySet, ManualClock, SignedHeaders,
    Signer, SigningKey, VerifiedWebhook, Verifier,
};
use webhook_guard_fuzz::{
    Delivery, Tamper, Timestamp, expected_headers, has_prefix, mix_case, php_map, same_hmac_key,
    seconds, vendor_case,
};

type Wire = Vec<(Vec<u8>, Vec<u8>)>;

const SIGNATURE: &str = "X-Webhook-Signature";
const TIMESTAMP: &str = "X-Webhook-Timestamp";

struct Policy {
    now: i64,
    tolerance: Option<u16>,
    body_limit: Option<u16>,
}

fn verifier(policy: &Policy, keys: KeySet, replay_guard: bool) -> Verifier {
    let mut builder = Verifier::builder(keys).clock(ManualClock::new(policy.now));
    builder = match policy.tolerance {
        Some(t) => builder.tolerance(Duration::from_secs(u64::from(t))),
        None => builder.danger_accept_any_timestamp(),
    };
    if let Some(limit) = policy.body_limit {
        builder = builder.body_limit(usize::from(limit));
    }
    if replay_guard {
        builder = builder.replay_guard(InMemoryReplayGuard::new());
    }
    builder.build()
}

/// `begin`, one `update` per chunk, `finish`.
fn stream(verifier: &Verifier, wire: &Wire, chunks: &[&[u8]]) -> Result<VerifiedWebhook, Error> {
    let headers = DeliveryHeaders::from_pairs(wire.iter().map(|(n, v)| (n, v)))?;
    block_on(async {
        let mut verification = verifier.begin(headers).await?;
        for chunk in chunks {
            verification.update(Bytes::copy_from_slice(chunk))?;
        }
        verification.finish().await
    })
}

/// `verify` with the whole body.
fn oneshot(verifier: &Verifier, wire: &Wire, body: &[u8]) -> Result<VerifiedWebhook, Error> {
    let headers = DeliveryHeaders::from_pairs(wire.iter().map(|(n, v)| (n, v)))?;
    block_on(verifier.verify(headers, Bytes::copy_from_slice(body)))
}

fn refused(result: Result<VerifiedWebhook, Error>, allowed: &[ErrorKind], what: &str) {
    match result {
        Ok(event) => panic!("{what}: still verified: {event:?}"),
        Err(err) => assert!(
            allowed.contains(&err.kind()),
            "{what}: refused as {:?}, expected one of {allowed:?}",
            err.kind()
        ),
    }
}

fn canonical(name: &[u8]) -> Option<String> {
    has_prefix(name)
        .then(|| std::str::from_utf8(name).ok().map(vendor_case))
        .flatten()
}

/// One byte of `value` changed, keeping it UTF-8.
fn tweak(value: &[u8], at: u32, xor: u8) -> Option<Vec<u8>> {
    if value.is_empty() {
        return None;
    }
    let mask = xor.max(1);
    let at = at as usize % value.len();
    let mut out = value.to_vec();
    out[at] ^= mask;
    if std::str::from_utf8(&out).is_ok() {
        return Some(out);
    }
    out[at] ^= mask;
    let at = (0..out.len())
        .map(|i| (at + i) % out.len())
        .find(|&i| out[i].is_ascii())?;
    out[at] ^= (mask & 0x7f).max(1);
    Some(out)
}

fuzz_target!(|d: Delivery| {
    // Keys: the receiver holds one to three; one of them signs.
    let mut secrets = vec![d.key.clone()];
    secrets.extend(d.more_keys.iter().take(2).cloned());
    let signer_secret = secrets[usize::from(d.signer) % secrets.len()].clone();
    let key_set = |skip_signer: bool| {
        KeySet::from_keys(
            secrets
                .iter()
                .enumerate()
                .filter(|(_, s)| !(skip_signer && same_hmac_key(s, &signer_secret)))
                .map(|(i, s)| SigningKey::new(format!("k{i}"), s)),
        )
    };
    let first_match = secrets
        .iter()
        .position(|s| same_hmac_key(s, &signer_secret))
        .unwrap();

    // Headers: the first of each signed name; signature and timestamp are ours.
    let mut wire: Wire = Vec::new();
    let mut seen = BTreeSet::new();
    for header in &d.headers {
        let name = header.name.wire();
        if has_prefix(&name) {
            let Some(name) = canonical(&name) else {
                continue;
            };
            if name == SIGNATURE || name == TIMESTAMP || !seen.insert(name) {
                continue;
            }
        }
        wire.push((name, header.value.clone().into_bytes()));
    }
    let mask = u32::from(d.signer).wrapping_mul(0x9e37_79b9);

    // Timestamp and clock.
    let (timestamp, policy, fresh) = match d.timestamp {
        Timestamp::Absent => (
            None,
            Policy {
                now: 0,
                tolerance: Some(300),
                body_limit: None,
            },
            true,
        ),
        Timestamp::Within {
            ts,
            offset,
            tolerance,
        } => {
            let ts = seconds(ts);
            let t = i64::from(tolerance);
            let offset = i64::from(offset).rem_euclid(2 * t + 1) - t;
            let now = ts.saturating_add(offset);
            (
                Some(ts),
                Policy {
                    now,
                    tolerance: Some(tolerance),
                    body_limit: None,
                },
                true,
            )
        }
        Timestamp::Outside {
            ts,
            excess,
            behind,
            tolerance,
        } => {
            let ts = seconds(ts);
            let distance = i64::from(tolerance) + 1 + i64::from(excess);
            let now = ts
                .checked_add(distance)
                .filter(|_| !behind)
                .unwrap_or(ts - distance);
            (
                Some(ts),
                Policy {
                    now,
                    tolerance: Some(tolerance),
                    body_limit: None,
                },
                false,
            )
        }
        Timestamp::AnyTime { ts } => {
            let ts = seconds(ts);
            (
                Some(ts),
                Policy {
                    now: 0,
                    tolerance: None,
                    body_limit: None,
                },
                true,
            )
        }
    };
    let policy = Policy {
        body_limit: d.body_limit,
        ..policy
    };
    if let Some(ts) = timestamp {
        let at = mask as usize % (wire.len() + 1);
        wire.insert(
            at,
            (
                mix_case(TIMESTAMP, mask).into_bytes(),
                ts.to_string().into_bytes(),
            ),
        );
    }

    // Sign as the vendor would; the JSON must match the reference model.
    let signed = SignedHeaders::from_pairs(wire.iter().map(|(n, v)| (n, v)))
        .expect("generated headers refused");
    let (map, _) = expected_headers(&wire).expect("model refuses generated headers");
    assert_eq!(
        String::from_utf8_lossy(&signed.to_json()),
        php_map(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    );
    let signature = Signer::new(&signer_secret).sign(&signed, &d.body);
    let at = (mask >> 8) as usize % (wire.len() + 1);
    wire.insert(
        at,
        (
            mix_case(SIGNATURE, !mask).into_bytes(),
            signature.into_bytes(),
        ),
    );
    let signature_index = at;

    // The body in chunks (empty ones included).
    let body = &d.body[..];
    let mut cuts: Vec<usize> = d
        .cuts
        .iter()
        .map(|&c| usize::from(c) % (body.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(&body[start..cut]);
        start = cut;
    }
    chunks.push(&body[start..]);

    let too_large = policy
        .body_limit
        .is_some_and(|l| body.len() > usize::from(l));
    let guarded = verifier(&policy, key_set(false), d.replay_guard);
    let result = stream(&guarded, &wire, &chunks);
    if !fresh {
        refused(
            result,
            &[ErrorKind::TimestampOutsideTolerance],
            "stale timestamp",
        );
        return;
    }
    if too_large {
        refused(
            result,
            &[ErrorKind::PayloadTooLarge],
            "body over the limit (streamed)",
        );
        refused(
            oneshot(&guarded, &wire, body),
            &[ErrorKind::PayloadTooLarge],
            "body over the limit",
        );
        return;
    }
    let event = result.expect("delivery signed with a held key refused");
    assert_eq!(event.body().as_ref(), body);
    assert_eq!(event.key_id().as_str(), format!("k{first_match}"));
    assert_eq!(event.timestamp(), timestamp);
    assert_eq!(event.headers(), &signed);

    // The one-piece path agrees; with a replay guard the second one is a replay.
    let again = oneshot(&guarded, &wire, body);
    if d.replay_guard {
        refused(again, &[ErrorKind::Replayed], "second delivery");
    } else {
        let again = again.expect("one-piece verify refused what streaming accepted");
        assert_eq!(again.body(), event.body());
        assert_eq!(again.key_id(), event.key_id());
    }

    // Without the signer's key: refused.
    let others = verifier(&policy, key_set(true), false);
    refused(
        stream(&others, &wire, &chunks),
        &[ErrorKind::InvalidSignature],
        "other keys",
    );

    // One change to a signed part: refused.
    let plain = verifier(&policy, key_set(false), false);
    let signed_at: Vec<usize> = (0..wire.len())
        .filter(|&i| canonical(&wire[i].0).is_some_and(|n| n != SIGNATURE))
        .collect();
    let invalid = &[ErrorKind::InvalidSignature][..];
    match d.tamper {
        Tamper::BodyByte { at, xor } if !body.is_empty() => {
            let mut body = body.to_vec();
            let at = at as usize % body.len();
            body[at] ^= xor.max(1);
            refused(oneshot(&plain, &wire, &body), invalid, "body byte changed");
        }
        Tamper::BodyTruncate if !body.is_empty() => {
            refused(
                oneshot(&plain, &wire, &body[..body.len() - 1]),
                invalid,
                "body truncated",
            );
        }
        Tamper::BodyAppend(byte) => {
            let mut body = body.to_vec();
            body.push(byte);
            let allowed = [ErrorKind::InvalidSignature, ErrorKind::PayloadTooLarge];
            refused(
                oneshot(&plain, &wire, &body),
                &allowed,
                "body byte appended",
            );
        }
        Tamper::HeaderValue { which, at, xor } if !signed_at.is_empty() => {
            let i = signed_at[usize::from(which) % signed_at.len()];
            if let Some(value) = tweak(&wire[i].1, at, xor) {
                let is_timestamp = canonical(&wire[i].0).is_some_and(|n| n == TIMESTAMP);
                let mut wire = wire.clone();
                wire[i].1 = value;
                let allowed: &[ErrorKind] = if is_timestamp {
                    &[
                        ErrorKind::InvalidSignature,
                        ErrorKind::MalformedHeaders,
                        ErrorKind::TimestampOutsideTolerance,
                    ]
                } else {
                    invalid
                };
                refused(
                    stream(&plain, &wire, &chunks),
                    allowed,
                    "signed header value changed",
                );
            }
        }
        Tamper::Signature { at, to } => {
            let mut wire = wire.clone();
            let value = &mut wire[signature_index].1;
            let at = usize::from(at) % value.len();
            value[at] = if value[at] == to {
                to.wrapping_add(1)
            } else {
                to
            };
            refused(
                stream(&plain, &wire, &chunks),
                invalid,
                "signature byte changed",
            );
        }
        Tamper::DropHeader(which) if !signed_at.is_empty() => {
            let mut wire = wire.clone();
            wire.remove(signed_at[usize::from(which) % signed_at.len()]);
            refused(
                stream(&plain, &wire, &chunks),
                invalid,
                "signed header dropped",
            );
        }
        Tamper::AddHeader(rest) => {
            // Any refusal will do: the name may repeat one already sent.
            let mut wire = wire.clone();
            wire.push((format!("X-Webhook-{rest}").into_bytes(), b"1".to_vec()));
            let all = [
                ErrorKind::InvalidSignature,
                ErrorKind::MalformedHeaders,
                ErrorKind::TimestampOutsideTolerance,
            ];
            refused(stream(&plain, &wire, &chunks), &all, "signed header added");
        }
        Tamper::NameCase { which, at } if !signed_at.is_empty() => {
            let i = signed_at[usize::from(which) % signed_at.len()];
            let letters: Vec<usize> = (0..wire[i].0.len())
                .filter(|&j| wire[i].0[j].is_ascii_alphabetic())
                .collect();
            let mut wire = wire.clone();
            wire[i].0[letters[usize::from(at) % letters.len()]] ^= 0x20;
            let event = stream(&plain, &wire, &chunks).expect("name case changed: refused");
            assert_eq!(event.key_id().as_str(), format!("k{first_match}"));
        }
        _ => {}
    }
});
