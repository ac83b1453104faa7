//! What the mock sent and what it got back: every attempt, every delivery,
//! waiting for them, and expectations checked when the sender goes away.
//!
//! One journal serves every vendor: an [`Attempt`] says which vendor sent
//! it and names the event as that vendor does, so several senders can
//! record into one journal (what `webhook-guard serve`'s page lists).

mod attempt;
mod expect;
mod recent;
mod replay;

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

pub(crate) use attempt::duration_ms;
pub use attempt::{
    Attempt, AttemptOutcome, Delivery, DeliveryOutcome, ReceivedResponse, SentRequest,
    TransportFailure, TransportFailureKind, Vendor,
};
pub use expect::{Expectation, Times, UnmetExpectation, UnmetExpectations};
pub(crate) use expect::{Expectations, expectation_methods};
pub(crate) use recent::Recent;

/// Every attempt and delivery of one sender, or of several given the same
/// journal (`.journal(..)` on their builders), in the order they finished.
/// Clones share the same journal.
///
/// With a limit (`journal_limit` on the sender's builder) it keeps only the
/// most recent attempts and deliveries: what it returns, counts for
/// [`Expectation`]s and prints is what is kept, while the waits and the
/// `total_*` counts include what was dropped.
#[derive(Clone, Default)]
pub struct Journal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    attempts: Recent<Attempt>,
    deliveries: Recent<Delivery>,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Journal")
            .field("attempts", &state.attempts.len())
            .field("deliveries", &state.deliveries.len())
            .field("limit", &state.attempts.limit())
            .finish()
    }
}

/// [`Journal::wait_for`] gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitTimeout {
    what: &'static str,
    wanted: usize,
    seen: usize,
    waited: Duration,
}

impl WaitTimeout {
    /// How many were seen when the wait ended.
    pub fn seen(&self) -> usize {
        self.seen
    }
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "waited {} ms for {} {}, saw {}",
            self.waited.as_millis(),
            self.wanted,
            self.what,
            self.seen
        )
    }
}

impl std::error::Error for WaitTimeout {}

impl Journal {
    /// A journal keeping everything, to give to several senders' builders.
    pub fn new() -> Self {
        Self::bounded(None)
    }

    /// A journal keeping the `limit` most recent attempts and deliveries
    /// (each), to give to several senders' builders.
    pub fn with_limit(limit: usize) -> Self {
        Self::bounded(Some(limit))
    }

    /// A journal keeping the `limit` most recent attempts and deliveries
    /// (each), or everything when `None`.
    pub(crate) fn bounded(limit: Option<usize>) -> Self {
        let state = State {
            attempts: Recent::new(limit),
            deliveries: Recent::new(limit),
        };
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                changed: Notify::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `attempt`, numbering it, and returns it as recorded.
    pub(crate) fn record_attempt(&self, mut attempt: Attempt) -> Attempt {
        {
            let mut state = self.lock();
            attempt.id = u64::try_from(state.attempts.total())
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            state.attempts.push(attempt.clone());
        }
        self.inner.changed.notify_waiters();
        attempt
    }

    pub(crate) fn record_delivery(&self, delivery: Delivery) {
        self.lock().deliveries.push(delivery);
        self.inner.changed.notify_waiters();
    }

    /// Every attempt so far (the most recent ones under a limit), oldest first.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.to_vec()
    }

    /// Every finished delivery so far (the most recent ones under a limit),
    /// oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.to_vec()
    }

    /// The kept attempt numbered `id`, if any.
    pub fn attempt(&self, id: u64) -> Option<Attempt> {
        let state = self.lock();
        // Ids grow by one per attempt, so the kept ones are a run of ids.
        let first = state.attempts.iter().next()?.id;
        let index = usize::try_from(id.checked_sub(first)?).ok()?;
        state.attempts.iter().nth(index).cloned()
    }

    /// The kept attempts numbered after `id`, oldest first: what a live view
    /// that has seen up to `id` is missing.
    pub fn attempts_after(&self, id: u64) -> Vec<Attempt> {
        let state = self.lock();
        state
            .attempts
            .iter()
            .skip_while(|a| a.id <= id)
            .cloned()
            .collect()
    }

    /// Waits until an attempt numbered after `id` has been recorded (at
    /// once if one already was), then returns the kept ones. Without a
    /// deadline: wrap it in `tokio::time::timeout` or a `select!`.
    pub async fn next_after(&self, id: u64) -> Vec<Attempt> {
        loop {
            let changed = self.inner.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let total = u64::try_from(self.lock().attempts.total()).unwrap_or(u64::MAX);
            if total > id {
                return self.attempts_after(id);
            }
            changed.await;
        }
    }

    /// The last attempt, if any.
    pub fn last(&self) -> Option<Attempt> {
        self.lock().attempts.last().cloned()
    }

    /// How many attempts are kept: all so far, or at most the limit.
    pub fn len(&self) -> usize {
        self.lock().attempts.len()
    }

    /// True when no attempt is kept (before the first one, or with a limit of 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many attempts were made so far, those dropped by the limit included.
    pub fn total_attempts(&self) -> usize {
        self.lock().attempts.total()
    }

    /// How many deliveries finished so far, those dropped by the limit included.
    pub fn total_deliveries(&self) -> usize {
        self.lock().deliveries.total()
    }

    /// How many attempts and deliveries (each) it keeps at most; `None`
    /// keeps everything (the default).
    pub fn limit(&self) -> Option<usize> {
        self.lock().attempts.limit()
    }

    /// Waits until at least `attempts` attempts have been made (counting
    /// those dropped by a limit) and returns the kept ones, or fails after
    /// `timeout` (in tokio's clock).
    pub async fn wait_for(
        &self,
        attempts: usize,
        timeout: Duration,
    ) -> Result<Vec<Attempt>, WaitTimeout> {
        self.wait_until("attempts", attempts, timeout, |state| &state.attempts)
            .await
    }

    /// Waits until at least `deliveries` deliveries have finished (all their
    /// attempts made; those dropped by a limit count) and returns the kept
    /// ones, or fails after `timeout`.
    pub async fn wait_for_deliveries(
        &self,
        deliveries: usize,
        timeout: Duration,
    ) -> Result<Vec<Delivery>, WaitTimeout> {
        self.wait_until("deliveries", deliveries, timeout, |state| &state.deliveries)
            .await
    }

    /// Waits until `record` has had at least `wanted` items (counting those
    /// a limit dropped), then returns the kept ones.
    async fn wait_until<T: Clone>(
        &self,
        what: &'static str,
        wanted: usize,
        timeout: Duration,
        record: impl Fn(&State) -> &Recent<T>,
    ) -> Result<Vec<T>, WaitTimeout> {
        let started = tokio::time::Instant::now();
        let deadline = started + timeout;
        loop {
            // Registered before looking, so a record made in between still wakes us.
            let changed = self.inner.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            {
                let state = self.lock();
                if record(&state).total() >= wanted {
                    return Ok(record(&state).to_vec());
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let seen = record(&self.lock()).total();
                return Err(WaitTimeout {
                    what,
                    wanted,
                    seen,
                    waited: started.elapsed(),
                });
            }
        }
    }

    /// One line per kept attempt, for reports, after a line saying how many
    /// earlier ones the limit dropped, if any.
    pub fn summary(&self) -> String {
        let state = self.lock();
        let attempts = &state.attempts;
        let dropped = attempts.total() - attempts.len();
        let mut out = String::new();
        if dropped > 0 {
            let _ = writeln!(out, "  ({dropped} earlier attempts dropped by the limit)");
        }
        if attempts.total() == 0 {
            out.push_str("  (no attempts)\n");
        }
        for attempt in attempts.iter() {
            let _ = writeln!(out, "  {}", attempt.summary());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    /// Attempt `n` of its own delivery, answered 200.
    fn attempt(n: u64) -> Attempt {
        Attempt {
            id: 0,
            vendor: Vendor::Api2Cart,
            delivery: n,
            number: 1,
            copy: 1,
            endpoint: None,
            event: "product.add".to_owned(),
            sent_at: 0,
            request: SentRequest {
                url: "/".to_owned(),
                target: "/".to_owned(),
                headers: Vec::new(),
                body: Bytes::new(),
                signed_string: Bytes::new(),
            },
            result: Ok(ReceivedResponse::new(200, Vec::new(), Bytes::new(), false)),
            latency: Duration::ZERO,
            faults: Vec::new(),
            delivered: true,
            details: serde_json::Map::new(),
        }
    }

    fn deliveries_of(attempts: &[Attempt]) -> Vec<u64> {
        attempts.iter().map(Attempt::delivery).collect()
    }

    #[test]
    fn a_limited_journal_keeps_the_most_recent_and_counts_all() {
        let journal = Journal::with_limit(2);
        for n in 1..=5 {
            journal.record_attempt(attempt(n));
        }
        assert_eq!(deliveries_of(&journal.attempts()), [4, 5]);
        assert_eq!(journal.last().map(|a| a.delivery()), Some(5));
        assert_eq!((journal.len(), journal.total_attempts()), (2, 5));
        assert_eq!(journal.limit(), Some(2));
        // Expectations see only what is kept.
        assert_eq!(Expectation::attempts().count(&journal), 2);
        let summary = journal.summary();
        assert!(
            summary.starts_with("  (3 earlier attempts dropped by the limit)\n"),
            "{summary}"
        );
        assert_eq!(summary.lines().count(), 3, "{summary}");
    }

    #[test]
    fn an_unlimited_journal_keeps_everything() {
        let journal = Journal::default();
        for n in 1..=5 {
            journal.record_attempt(attempt(n));
        }
        assert_eq!(deliveries_of(&journal.attempts()), [1, 2, 3, 4, 5]);
        assert_eq!((journal.len(), journal.total_attempts()), (5, 5));
        assert_eq!(journal.limit(), None);
        assert!(!journal.summary().contains("dropped"));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_counts_dropped_attempts_and_returns_the_kept() {
        let journal = Journal::with_limit(2);
        for n in 1..=3 {
            journal.record_attempt(attempt(n));
        }
        // Three made, two kept: waiting for three is already satisfied.
        let kept = journal.wait_for(3, Duration::ZERO).await.unwrap();
        assert_eq!(deliveries_of(&kept), [2, 3]);

        let err = journal
            .wait_for(4, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.seen(), 3);

        let waiter = {
            let journal = journal.clone();
            tokio::spawn(async move { journal.wait_for(4, Duration::from_secs(30)).await })
        };
        tokio::task::yield_now().await;
        journal.record_attempt(attempt(4));
        let kept = waiter.await.unwrap().unwrap();
        assert_eq!(deliveries_of(&kept), [3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_times_out_in_tokio_time() {
        let journal = Journal::default();
        let err = journal
            .wait_for(1, Duration::from_secs(30))
            .await
            .unwrap_err();
        assert_eq!(err.seen(), 0);
        assert_eq!(err.to_string(), "waited 30000 ms for 1 attempts, saw 0");
    }

    #[test]
    fn attempts_are_numbered_per_journal_and_found_by_number() {
        let journal = Journal::with_limit(3);
        for n in 1..=5 {
            let recorded = journal.record_attempt(attempt(n));
            assert_eq!(recorded.id(), n);
        }
        assert_eq!(journal.attempt(3).map(|a| a.delivery()), Some(3));
        assert!(journal.attempt(2).is_none(), "dropped by the limit");
        assert!(journal.attempt(6).is_none());
        let after: Vec<u64> = journal.attempts_after(3).iter().map(Attempt::id).collect();
        assert_eq!(after, [4, 5]);
        assert!(journal.attempts_after(5).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn next_after_waits_for_a_newer_attempt() {
        let journal = Journal::new();
        journal.record_attempt(attempt(1));
        assert_eq!(journal.next_after(0).await.len(), 1, "already there");
        let waiter = {
            let journal = journal.clone();
            tokio::spawn(async move { journal.next_after(1).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        journal.record_attempt(attempt(2));
        let newer = waiter.await.unwrap();
        assert_eq!(newer.iter().map(Attempt::id).collect::<Vec<_>>(), [2]);
    }
}
