//! How the Standard Webhooks sender judges an answer and when it tries
//! again: the spec's status handling and example schedule, `Retry-After`,
//! jitter, and the small random source behind ids, secrets and jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::time::Duration;

use super::super::journal::{ReceivedResponse, TransportFailure, Vendor};

/// The spec's example schedule ("Deliverability and reliability"): the wait
/// after each failed attempt, so attempts go out immediately, then 5 s,
/// 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after the one before.
pub const SPEC_RETRY_SCHEDULE: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// What one attempt's result means for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// 2xx.
    Delivered,
    /// 410 Gone: the receiver wants no more; the endpoint is disabled.
    Gone,
    /// Any other answer, or none: try again, after `retry_after` when the
    /// answer said so. `throttled` marks 429, 502 and 504.
    Retry {
        retry_after: Option<u64>,
        throttled: bool,
    },
}

/// Judges one attempt as the spec's "Delivery success and failure" section
/// does: 2xx success, 410 disables, everything else (3xx included: redirects
/// are not followed) fails and is retried. `Retry-After` in whole seconds is
/// read on any failing answer (the spec's own example is a 503); an HTTP
/// date there is not read.
pub(super) fn judge(result: &Result<ReceivedResponse, TransportFailure>) -> Verdict {
    let Ok(response) = result else {
        return Verdict::Retry {
            retry_after: None,
            throttled: false,
        };
    };
    match response.status() {
        status if Vendor::StandardWebhooks.counts_as_delivered(status) => Verdict::Delivered,
        410 => Verdict::Gone,
        status => Verdict::Retry {
            retry_after: response.header("retry-after").and_then(seconds),
            throttled: matches!(status, 429 | 502 | 504),
        },
    }
}

/// `Retry-After` as delay-seconds (RFC 9110 §10.2.3): ASCII digits only.
fn seconds(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More digits than fit is "a very long time": the cap applies.
    Some(value.parse().unwrap_or(u64::MAX))
}

/// A splitmix64 stream: cheap, no dependency, plenty for message ids,
/// jitter and test secrets (not for secrets that guard anything real).
#[derive(Clone, Debug)]
pub(super) struct Rng(u64);

impl Rng {
    /// A stream seeded with `seed`: the same ids and jitter every run.
    pub(super) fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    /// A stream seeded from the operating system's randomness, as std's
    /// `RandomState` draws it for hash maps.
    pub(super) fn from_os() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x5eed);
        Self(hasher.finish())
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..=max`.
    pub(super) fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        }
    }

    /// `len` characters of `[0-9A-Za-z]`.
    pub(super) fn base62(&mut self, len: usize) -> String {
        const ALPHABET: &[u8; 62] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..len)
            .map(|_| char::from(ALPHABET[(self.next_u64() % 62) as usize]))
            .collect()
    }

    /// `len` random bytes.
    pub(super) fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// `delay` (whole seconds) plus up to `percent` % of it at random.
pub(super) fn jittered(delay: u64, percent: u8, rng: &mut Rng) -> u64 {
    let spread = delay.saturating_mul(u64::from(percent)) / 100;
    delay.saturating_add(rng.up_to(spread))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::TransportFailureKind;
    use bytes::Bytes;

    fn answer(status: u16, headers: &[(&str, &str)]) -> Result<ReceivedResponse, TransportFailure> {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        Ok(ReceivedResponse::new(status, headers, Bytes::new(), false))
    }

    #[test]
    fn statuses_follow_the_spec() {
        assert_eq!(judge(&answer(200, &[])), Verdict::Delivered);
        assert_eq!(judge(&answer(204, &[])), Verdict::Delivered);
        assert_eq!(judge(&answer(410, &[])), Verdict::Gone);
        let plain = Verdict::Retry {
            retry_after: None,
            throttled: false,
        };
        assert_eq!(judge(&answer(301, &[("Location", "/x")])), plain);
        assert_eq!(judge(&answer(500, &[])), plain);
        assert_eq!(
            judge(&answer(429, &[("Retry-After", "120")])),
            Verdict::Retry {
                retry_after: Some(120),
                throttled: true
            }
        );
        assert_eq!(
            judge(&answer(503, &[("retry-after", " 7 ")])),
            Verdict::Retry {
                retry_after: Some(7),
                throttled: false
            }
        );
        assert_eq!(
            judge(&answer(
                502,
                &[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")]
            )),
            Verdict::Retry {
                retry_after: None,
                throttled: true
            }
        );
        let none = Err(TransportFailure::new(
            TransportFailureKind::Timeout,
            "slow".to_owned(),
        ));
        assert_eq!(judge(&none), plain);
        assert_eq!(seconds("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(seconds("-1"), None);
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let mut rng = Rng::seeded(7);
        assert_eq!(jittered(300, 0, &mut rng), 300);
        for _ in 0..1000 {
            let d = jittered(300, 10, &mut rng);
            assert!((300..=330).contains(&d), "{d}");
        }
        assert_eq!(jittered(u64::MAX, 100, &mut rng), u64::MAX);
        assert_eq!(Rng::seeded(1).base62(27).len(), 27);
        assert_eq!(Rng::seeded(1).bytes(24).len(), 24);
    }
}
