//! What an API2Cart [`MockSender`](super::MockSender) and the deliveries it
//! spawns share: settings, key, subscriptions, failed log, journal.
//!
//! Its own module so that the deliveries and the `webhook.*` API below the
//! sender can reach it without importing the sender.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use super::failed_log::FailedLog;
use super::policy::Profile;
use super::subscriptions::Registry;
use crate::SigningKey;
use crate::mock::journal::{Expectation, Journal};
use crate::mock::target::Transport;

#[derive(Debug, Default)]
pub(crate) struct Expectations {
    pub(crate) list: Vec<Expectation>,
    pub(crate) verified: bool,
}

/// What a sender and the tasks it spawns share.
pub(crate) struct Shared {
    pub(crate) profile: Profile,
    pub(crate) key: RwLock<SigningKey>,
    pub(crate) transport: Transport,
    pub(crate) timeout: Duration,
    pub(crate) retry_delay: Duration,
    pub(crate) timestamps: bool,
    pub(crate) journal: Journal,
    /// Subscriptions, and the store id, clock and default callback they use.
    pub(crate) registry: Registry,
    pub(crate) failed: Mutex<FailedLog>,
    pub(crate) expectations: Mutex<Expectations>,
    pub(crate) next_delivery: AtomicU64,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic that matters more than
    // losing the whole test would.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn failed_log(&self) -> MutexGuard<'_, FailedLog> {
        lock(&self.failed)
    }

    pub(crate) fn key(&self) -> SigningKey {
        self.key
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn next_delivery(&self) -> u64 {
        self.next_delivery.fetch_add(1, Ordering::Relaxed) + 1
    }
}
