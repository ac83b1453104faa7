//! What an API2Cart [`MockSender`](super::MockSender) and the deliveries it
//! spawns share: settings, key, subscriptions, failed log, journal.
//!
//! Its own module so that the deliveries and the `webhook.*` API below the
//! sender can reach it without importing the sender.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use super::failed_log::FailedLog;
use super::policy::Profile;
use super::subscriptions::Registry;
use crate::SigningKey;
use crate::mock::delivering::Engine;

/// What a sender and the tasks it spawns share.
pub(crate) struct Shared {
    pub(crate) profile: Profile,
    pub(crate) key: RwLock<SigningKey>,
    /// Clock, transport, timeout, journal.
    pub(crate) engine: Engine,
    pub(crate) retry_delay: Duration,
    pub(crate) timestamps: bool,
    /// Subscriptions, and the store id, clock and default callback they use.
    pub(crate) registry: Registry,
    pub(crate) failed: Mutex<FailedLog>,
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
}
