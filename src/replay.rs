//! Refusing a second delivery of the same signed message.
//!
//! A captured delivery can be sent again inside the timestamp tolerance; the
//! guard remembers each accepted delivery's [`ReplayKey`] until the timestamp
//! check would refuse it anyway. Only deliveries whose MAC verified are
//! remembered, so the guard cannot be filled by forged requests.

use std::collections::{BTreeSet, HashMap};
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// A boxed future, as returned by object-safe async traits here.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What identifies one signed delivery, as its recipe defines it.
///
/// | recipe | scope | id |
/// |---|---|---|
/// | API2Cart | `X-Webhook-Store-Id` (empty when not sent) | the decoded signature |
/// | UP42 | empty | the decoded signature |
/// | Standard Webhooks | empty | `webhook-id` (the spec's idempotency key) |
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplayKey {
    scheme: &'static str,
    scope: String,
    id: Box<[u8]>,
}

impl ReplayKey {
    /// The key of an API2Cart delivery for `store_id` carrying `signature`
    /// (the decoded MAC).
    pub fn new(store_id: impl Into<String>, signature: [u8; 32]) -> Self {
        Self::for_scheme("api2cart", store_id, signature)
    }

    /// The key of a delivery of the recipe named `scheme` (a
    /// [`Scheme::name`](crate::Scheme::name)), unique within `scope`.
    pub fn for_scheme(
        scheme: &'static str,
        scope: impl Into<String>,
        id: impl Into<Box<[u8]>>,
    ) -> Self {
        Self {
            scheme,
            scope: scope.into(),
            id: id.into(),
        }
    }

    /// The recipe's name.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// The scope: API2Cart's `X-Webhook-Store-Id` (empty when none was sent,
    /// and for the other recipes).
    pub fn store_id(&self) -> &str {
        &self.scope
    }

    /// What tells deliveries apart within the scope: a signature already made
    /// public on the wire, or a delivery id.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// A fixed-length name for this key in an external store: SHA-256 over
    /// the recipe, the scope and the id, each length-prefixed so that no two
    /// keys share a digest by moving bytes between fields. Whatever a sender
    /// puts in the headers, the stored key stays 32 bytes.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for field in [self.scheme.as_bytes(), self.scope.as_bytes(), &self.id] {
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field);
        }
        hash.finalize().into()
    }

    /// A printable key for an external store,
    /// `<prefix><scheme>:<scope>:<hex id>`, e.g. `webhook:api2cart:1:ab12...`.
    pub fn to_store_key(&self, prefix: &str) -> String {
        use fmt::Write;
        let mut out = String::with_capacity(
            prefix.len() + self.scheme.len() + self.scope.len() + 2 + 2 * self.id.len(),
        );
        out.push_str(prefix);
        out.push_str(self.scheme);
        out.push(':');
        out.push_str(&self.scope);
        out.push(':');
        for byte in &self.id {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }
}

/// The answer of a [`ReplayGuard`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayCheck {
    /// Not seen before (or seen and expired): now remembered.
    First,
    /// Seen before and still remembered: refuse.
    Replay,
}

/// Remembers accepted deliveries until they expire.
///
/// `check_and_remember` must be atomic: two concurrent calls with the same key
/// must not both answer [`ReplayCheck::First`]. A shared store gives this with
/// an insert-if-absent that carries an expiry (Redis `SET key 1 NX EXAT t`, SQL
/// `INSERT ... ON CONFLICT DO NOTHING`), which makes the guard work across a
/// receiver running on several machines.
pub trait ReplayGuard: Send + Sync + fmt::Debug + 'static {
    /// Remembers `key` until `expires_at` (Unix seconds) unless it is already
    /// remembered, given the current time `now`.
    fn check_and_remember<'a>(
        &'a self,
        key: &'a ReplayKey,
        now: i64,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<ReplayCheck, Box<dyn StdError + Send + Sync>>>;
}

/// An in-process [`ReplayGuard`] holding at most `capacity` entries.
///
/// Expired entries are dropped as new ones arrive. When the guard is full of
/// live entries, the one closest to expiry is dropped (and a warning logged):
/// memory stays bounded, and that entry is the one the timestamp check will
/// soonest refuse on its own.
#[derive(Debug)]
pub struct InMemoryReplayGuard {
    capacity: usize,
    state: Mutex<State>,
}

/// Each key is stored once and shared by both indexes: a delivery costs one
/// copy of its key, not two.
#[derive(Debug, Default)]
struct State {
    expiry_of: HashMap<Arc<ReplayKey>, i64>,
    by_expiry: BTreeSet<(i64, Arc<ReplayKey>)>,
}

impl InMemoryReplayGuard {
    /// The default bound on remembered deliveries.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A guard holding at most [`Self::DEFAULT_CAPACITY`] deliveries.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A guard holding at most `capacity` deliveries (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// How many deliveries are remembered now, expired ones included until the
    /// next insertion drops them.
    pub fn len(&self) -> usize {
        self.lock().expiry_of.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent in a
        // way that matters more than refusing every delivery would.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn check(&self, key: &ReplayKey, now: i64, expires_at: i64) -> ReplayCheck {
        let mut state = self.lock();
        state.drop_expired(now);
        if state.expiry_of.contains_key(key) {
            return ReplayCheck::Replay;
        }
        if state.expiry_of.len() >= self.capacity {
            tracing::warn!(
                capacity = self.capacity,
                "replay guard full; forgetting the delivery closest to expiry"
            );
            state.drop_first();
        }
        let key = Arc::new(key.clone());
        state.expiry_of.insert(Arc::clone(&key), expires_at);
        state.by_expiry.insert((expires_at, key));
        ReplayCheck::First
    }
}

impl Default for InMemoryReplayGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    fn drop_expired(&mut self, now: i64) {
        while self.by_expiry.first().is_some_and(|(at, _)| *at < now) {
            self.drop_first();
        }
    }

    fn drop_first(&mut self) {
        if let Some((_, key)) = self.by_expiry.pop_first() {
            self.expiry_of.remove(&key);
        }
    }
}

impl ReplayGuard for InMemoryReplayGuard {
    fn check_and_remember<'a>(
        &'a self,
        key: &'a ReplayKey,
        now: i64,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<ReplayCheck, Box<dyn StdError + Send + Sync>>> {
        let answer = self.check(key, now, expires_at);
        Box::pin(std::future::ready(Ok(answer)))
    }
}

/// A guard shared with the rest of the program (e.g. to inspect it, or to
/// give several verifiers one memory).
impl<G: ReplayGuard> ReplayGuard for std::sync::Arc<G> {
    fn check_and_remember<'a>(
        &'a self,
        key: &'a ReplayKey,
        now: i64,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<ReplayCheck, Box<dyn StdError + Send + Sync>>> {
        (**self).check_and_remember(key, now, expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> ReplayKey {
        ReplayKey::new("1", [n; 32])
    }

    #[test]
    fn remembers_until_expiry_then_forgets() {
        let guard = InMemoryReplayGuard::new();
        assert_eq!(guard.check(&key(1), 100, 400), ReplayCheck::First);
        assert_eq!(guard.check(&key(1), 400, 400), ReplayCheck::Replay);
        assert_eq!(guard.check(&key(1), 401, 700), ReplayCheck::First);
    }

    #[test]
    fn same_signature_other_store_is_another_delivery() {
        let guard = InMemoryReplayGuard::new();
        assert_eq!(
            guard.check(&ReplayKey::new("1", [7; 32]), 0, 10),
            ReplayCheck::First
        );
        assert_eq!(
            guard.check(&ReplayKey::new("2", [7; 32]), 0, 10),
            ReplayCheck::First
        );
    }

    #[test]
    fn stays_within_capacity_dropping_the_soonest_to_expire() {
        let guard = InMemoryReplayGuard::with_capacity(3);
        for (n, exp) in [(1, 50), (2, 10), (3, 30), (4, 40)] {
            assert_eq!(guard.check(&key(n), 0, exp), ReplayCheck::First);
        }
        assert_eq!(guard.len(), 3);
        // key 2 expired soonest and was dropped; the others are still refused.
        assert_eq!(guard.check(&key(1), 0, 50), ReplayCheck::Replay);
        assert_eq!(guard.check(&key(3), 0, 30), ReplayCheck::Replay);
        assert_eq!(guard.check(&key(4), 0, 40), ReplayCheck::Replay);
        assert_eq!(guard.check(&key(2), 0, 10), ReplayCheck::First);
        assert_eq!(guard.len(), 3);
    }

    #[test]
    fn digest_is_fixed_length_and_tells_fields_apart() {
        let long = ReplayKey::for_scheme("up42", "x".repeat(1 << 20), vec![0xff; 1 << 16]);
        assert_eq!(long.digest().len(), 32);
        // Moving a byte from the scope into the id is another key.
        let a = ReplayKey::for_scheme("api2cart", "12", b"3".to_vec());
        let b = ReplayKey::for_scheme("api2cart", "1", b"23".to_vec());
        assert_ne!(a.digest(), b.digest());
        assert_ne!(
            ReplayKey::for_scheme("up42", "", b"id".to_vec()).digest(),
            ReplayKey::for_scheme("standard-webhooks", "", b"id".to_vec()).digest()
        );
        assert_eq!(a.digest(), a.clone().digest());
    }

    #[test]
    fn store_key_is_printable() {
        assert_eq!(
            ReplayKey::new("7", [0xab; 32]).to_store_key("wh:"),
            format!("wh:api2cart:7:{}", "ab".repeat(32))
        );
    }
}
