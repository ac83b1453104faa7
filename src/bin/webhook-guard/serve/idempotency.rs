//! Answers remembered by idempotency key, so that a caller retrying a
//! request it never saw answered gets the first answer instead of a second
//! webhook.
//!
//! API2Cart documents this for `webhook.create` and `webhook.update` (its
//! v1.1 OpenAPI, `idempotency_key`: "repeated requests with the same
//! idempotency_key return a cached response without re-executing the
//! business logic", kept 15 minutes). It does not say whether the key is
//! scoped to the method, whether a failed call is remembered, or what a
//! reuse with other parameters answers; see [`Idempotency`] for what the
//! emulator assumes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use webhook_guard::Clock;

/// How long an answer is remembered (the vendor's documented 15 minutes).
pub(super) const RETENTION_SECS: i64 = 15 * 60;
/// At most this many answers are remembered; the oldest go first. Bounds
/// the memory a caller sending a new key each time can take.
const CAPACITY: usize = 10_000;

/// Successful answers by (method, key), on the server's clock.
///
/// Assumptions, as nothing is published: a key belongs to one method (the
/// same key on `webhook.update` is another key than on `webhook.create`);
/// only successes are remembered, so a call that failed can be retried with
/// the same key; a reuse with other parameters gets the first answer, as
/// the vendor's sentence reads.
#[derive(Debug)]
pub(super) struct Idempotency {
    clock: Arc<dyn Clock>,
    capacity: usize,
    answers: Mutex<HashMap<(&'static str, String), Remembered>>,
}

#[derive(Debug)]
struct Remembered {
    until: i64,
    answer: Value,
}

impl Idempotency {
    pub(super) fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(clock, CAPACITY)
    }

    fn with_capacity(clock: Arc<dyn Clock>, capacity: usize) -> Self {
        Self {
            clock,
            capacity,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// The answer given to `method` with `key` in the last 15 minutes.
    pub(super) fn recall(&self, method: &'static str, key: &str) -> Option<Value> {
        let now = self.clock.now();
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers
            .get(&(method, key.to_owned()))
            .filter(|remembered| now < remembered.until)
            .map(|remembered| remembered.answer.clone())
    }

    /// Remembers `answer` to `method` with `key` for 15 minutes.
    pub(super) fn remember(&self, method: &'static str, key: &str, answer: &Value) {
        let now = self.clock.now();
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.retain(|_, remembered| now < remembered.until);
        if answers.len() >= self.capacity
            && let Some(oldest) = answers
                .iter()
                .min_by_key(|(_, remembered)| remembered.until)
                .map(|(key, _)| key.clone())
        {
            answers.remove(&oldest);
        }
        answers.insert(
            (method, key.to_owned()),
            Remembered {
                until: now.saturating_add(RETENTION_SECS),
                answer: answer.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use webhook_guard::ManualClock;

    #[test]
    fn an_answer_is_kept_for_exactly_fifteen_minutes_per_method() {
        let clock = ManualClock::new(1_000);
        let cache = Idempotency::new(Arc::new(clock.clone()));
        cache.remember("webhook.create", "k1", &json!({"id": 1}));
        assert_eq!(cache.recall("webhook.create", "k1"), Some(json!({"id": 1})));
        assert_eq!(cache.recall("webhook.update", "k1"), None);
        assert_eq!(cache.recall("webhook.create", "k2"), None);
        clock.advance(RETENTION_SECS - 1);
        assert!(cache.recall("webhook.create", "k1").is_some());
        clock.advance(1);
        assert_eq!(cache.recall("webhook.create", "k1"), None);
    }

    #[test]
    fn memory_is_bounded_oldest_first() {
        let clock = ManualClock::new(0);
        let cache = Idempotency::with_capacity(Arc::new(clock.clone()), 3);
        for i in 0..4 {
            cache.remember("webhook.create", &i.to_string(), &json!(i));
            clock.advance(1);
        }
        assert_eq!(cache.recall("webhook.create", "0"), None);
        for i in 1..4 {
            assert_eq!(
                cache.recall("webhook.create", &i.to_string()),
                Some(json!(i))
            );
        }
    }
}
