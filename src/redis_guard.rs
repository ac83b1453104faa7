//! The replay guard several receiver processes share through Redis.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, Value};

use crate::replay::{BoxFuture, InMemoryReplayGuard, ReplayCheck, ReplayGuard, ReplayKey};

/// What a [`RedisReplayGuard`] answers when Redis cannot.
///
/// | policy | a check during an outage | what an outage costs |
/// |---|---|---|
/// | `FailClosed` (default) | 503: the vendor retries later | deliveries wait for Redis; API2Cart retries only once, so a long outage sends events to its failed log (`account.failed_webhooks`) |
/// | `Degrade` | this process's memory answers | a replay sent to another process during the outage is accepted (the timestamp window still bounds it) |
///
/// The default is to fail closed: the guard exists to refuse replays, and a
/// guard that stops doing so whenever Redis is unreachable can be switched off
/// by whoever can make Redis unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisFailurePolicy {
    /// Refuse the delivery with 503.
    FailClosed,
    /// Fall back to this process's memory, log a warning and count it.
    Degrade,
}

/// A [`ReplayGuard`] that every receiver process shares through Redis.
/// Cheap to clone: clones share one connection.
///
/// A receiver behind a load balancer cannot stop replays in memory: the same
/// captured delivery sent to two machines is new to each. [`RedisReplayGuard`]
/// remembers each verified delivery in Redis with one atomic command,
///
/// ```text
/// SET <prefix><hex SHA-256 of the replay key> 1 NX EX <seconds>
/// ```
///
/// so of any number of concurrent copies, on any number of machines, exactly
/// one is answered "first". Never a read followed by a write: two machines
/// could both read "absent".
///
/// - **Keys have a fixed length.** The name is the configured prefix and the
///   64 hex digits of [`ReplayKey::digest`], whatever the sender put in the
///   headers the key is made from.
/// - **Expiry.** A delivery is remembered until the moment the freshness check
///   would refuse it anyway (never shorter, or the replay window reopens).
///   The lifetime is sent as a relative `EX` measured on the verifier's clock,
///   the clock that judged the delivery fresh, not as an absolute `EXAT`:
///   Redis's own clock may be skewed from the receiver's, and an absolute
///   expiry would shorten the memory by that skew.
/// - **Bounded waits.** Each command has a deadline
///   ([`command_timeout`](RedisReplayGuardBuilder::command_timeout)); each
///   (re)connection has its own
///   ([`connect_timeout`](RedisReplayGuardBuilder::connect_timeout)). The first
///   command after a dropped connection fails with an I/O error before the
///   connection is re-established, so a check that fails with an I/O error
///   other than a timeout is sent once more, over the new connection (a
///   timeout is a stuck Redis: it answers after one command timeout). A check therefore answers within
///   `command_timeout + connect_timeout + command_timeout` at worst (750 ms with
///   the defaults), whether Redis is gone, stuck or black-holed.
/// - **When Redis cannot answer** ([`RedisFailurePolicy`]): by default the
///   delivery is refused with 503 and the vendor retries later; with
///   [`danger_degrade_to_memory`](RedisReplayGuardBuilder::danger_degrade_to_memory)
///   the process's own memory answers for that delivery instead.
/// - **What Redis must keep.** The guard is only as good as Redis's memory.
///   A Redis restarted without persistence has forgotten every delivery, so
///   one replayed right after is accepted once more (the timestamp window
///   still bounds how old it can be); run it with `appendonly yes` if that
///   matters. A Redis that evicts keys under memory pressure (`maxmemory`
///   with an `allkeys-*` or `volatile-*` policy) forgets the same way; with
///   `noeviction` a full Redis refuses the `SET`, and the failure policy
///   answers.
/// - **Tracing.** Each check's latency at debug, with the key prefix; each
///   degraded check at warn; a failed check reaches the verifier's warn as an
///   error naming the prefix. Never the signature or the key itself.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use webhook_guard::{KeySet, RedisReplayGuard, Verifier};
///
/// let guard = RedisReplayGuard::connect("redis://127.0.0.1:6379/").await?;
/// let verifier = Verifier::builder(KeySet::single("store-key"))
///     .replay_guard(guard)
///     .build();
/// # let _ = verifier; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayGuard {
    inner: Arc<Inner>,
}

struct Inner {
    connection: ConnectionManager,
    prefix: String,
    connect_timeout: Duration,
    command_timeout: Duration,
    policy: RedisFailurePolicy,
    /// Answers during an outage under [`RedisFailurePolicy::Degrade`]; also
    /// told of every delivery Redis accepted, so it knows this process's.
    memory: Option<InMemoryReplayGuard>,
    degraded: AtomicU64,
    failed: AtomicU64,
}

impl RedisReplayGuard {
    /// The key prefix unless one is set.
    pub const DEFAULT_PREFIX: &'static str = "webhook-guard:replay:";
    /// The deadline of each (re)connection unless one is set.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(250);
    /// The deadline of each command unless one is set.
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(250);

    /// A guard on the Redis at `url` (`redis://[:password@]host:port/db`) with
    /// the defaults, once Redis has answered a `PING`.
    pub async fn connect(url: &str) -> Result<Self, RedisConnectError> {
        Self::builder(url).connect().await
    }

    /// Configures a guard on the Redis at `url`.
    pub fn builder(url: &str) -> RedisReplayGuardBuilder {
        RedisReplayGuardBuilder {
            url: url.to_owned(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            command_timeout: Self::DEFAULT_COMMAND_TIMEOUT,
            policy: RedisFailurePolicy::FailClosed,
            memory_capacity: InMemoryReplayGuard::DEFAULT_CAPACITY,
        }
    }

    /// The name `key` has in Redis: the prefix and 64 hex digits.
    pub fn key_for(&self, key: &ReplayKey) -> String {
        let mut name = String::with_capacity(self.inner.prefix.len() + 64);
        name.push_str(&self.inner.prefix);
        for byte in key.digest() {
            name.push(char::from(HEX[usize::from(byte >> 4)]));
            name.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        name
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// What this guard answers when Redis cannot.
    pub fn failure_policy(&self) -> RedisFailurePolicy {
        self.inner.policy
    }

    /// How many checks this process's memory answered because Redis could
    /// not (under [`RedisFailurePolicy::Degrade`]).
    pub fn degraded_checks(&self) -> u64 {
        self.inner.degraded.load(Ordering::Relaxed)
    }

    /// How many checks failed because Redis could not answer (under
    /// [`RedisFailurePolicy::FailClosed`]: each was a 503).
    pub fn failed_checks(&self) -> u64 {
        self.inner.failed.load(Ordering::Relaxed)
    }

    async fn check(
        &self,
        key: &ReplayKey,
        now: i64,
        expires_at: i64,
    ) -> Result<ReplayCheck, RedisCheckError> {
        let inner = &*self.inner;
        let name = self.key_for(key);
        let ttl = remember_for(now, expires_at);
        let started = Instant::now();
        let answer = match self.set_if_absent(&name, ttl, inner.command_timeout).await {
            // A timeout is a slow Redis, not a lost connection: another try
            // would only double the wait.
            Err(RedisCheckError::Redis { source, .. })
                if (source.is_io_error() || source.is_unrecoverable_error())
                    && !source.is_timeout() =>
            {
                // A dropped connection fails the first command; the connection
                // manager is reconnecting by now.
                tracing::debug!(prefix = %inner.prefix, error = %source, "Redis connection lost; sending the check once more");
                let within = inner.connect_timeout + inner.command_timeout;
                self.set_if_absent(&name, ttl, within).await
            }
            other => other,
        };
        tracing::debug!(
            prefix = %inner.prefix,
            latency_us = started.elapsed().as_micros() as u64,
            answer = ?answer.as_ref().ok(),
            "Redis replay check"
        );
        answer
    }

    /// `SET name 1 NX EX ttl` within `within`.
    async fn set_if_absent(
        &self,
        name: &str,
        ttl: u64,
        within: Duration,
    ) -> Result<ReplayCheck, RedisCheckError> {
        let prefix = self.inner.prefix.clone();
        let mut connection = self.inner.connection.clone();
        let mut command = redis::cmd("SET");
        command.arg(name).arg(1).arg("NX").arg("EX").arg(ttl);
        let reply = tokio::time::timeout(within, command.query_async::<Value>(&mut connection));
        match reply.await {
            Err(_) => Err(RedisCheckError::TimedOut { prefix, within }),
            Ok(Err(source)) => Err(RedisCheckError::Redis { prefix, source }),
            Ok(Ok(Value::Okay)) => Ok(ReplayCheck::First),
            Ok(Ok(Value::SimpleString(s))) if s == "OK" => Ok(ReplayCheck::First),
            Ok(Ok(Value::Nil)) => Ok(ReplayCheck::Replay),
            Ok(Ok(_)) => Err(RedisCheckError::UnexpectedReply { prefix }),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Seconds to remember a delivery checked at `now` that the freshness check
/// accepts up to and including `expires_at`: through the whole last second.
/// Capped where Redis would refuse the expiry as out of range (a tolerance
/// of decades is accepted, and remembered for 68 years).
fn remember_for(now: i64, expires_at: i64) -> u64 {
    const LONGEST: u64 = i32::MAX as u64;
    let seconds = expires_at.saturating_sub(now).saturating_add(1);
    u64::try_from(seconds).unwrap_or(0).clamp(1, LONGEST)
}

impl ReplayGuard for RedisReplayGuard {
    fn check_and_remember<'a>(
        &'a self,
        key: &'a ReplayKey,
        now: i64,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<ReplayCheck, Box<dyn StdError + Send + Sync>>> {
        Box::pin(async move {
            let inner = &*self.inner;
            match (self.check(key, now, expires_at).await, &inner.memory) {
                (Ok(answer), memory) => {
                    if let (ReplayCheck::First, Some(memory)) = (answer, memory) {
                        memory.check(key, now, expires_at);
                    }
                    Ok(answer)
                }
                (Err(error), Some(memory)) => {
                    let count = inner.degraded.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::warn!(
                        prefix = %inner.prefix,
                        %error,
                        degraded_checks = count,
                        "Redis replay check failed; this process's memory answers instead"
                    );
                    Ok(memory.check(key, now, expires_at))
                }
                (Err(error), None) => {
                    inner.failed.fetch_add(1, Ordering::Relaxed);
                    Err(Box::new(error) as Box<dyn StdError + Send + Sync>)
                }
            }
        })
    }
}

impl fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may carry a password.
        let inner = &*self.inner;
        f.debug_struct("RedisReplayGuard")
            .field("prefix", &inner.prefix)
            .field("connect_timeout", &inner.connect_timeout)
            .field("command_timeout", &inner.command_timeout)
            .field("policy", &inner.policy)
            .field("degraded_checks", &self.degraded_checks())
            .field("failed_checks", &self.failed_checks())
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisReplayGuard`]; made by [`RedisReplayGuard::builder`].
pub struct RedisReplayGuardBuilder {
    url: String,
    prefix: String,
    connect_timeout: Duration,
    command_timeout: Duration,
    policy: RedisFailurePolicy,
    memory_capacity: usize,
}

impl RedisReplayGuardBuilder {
    /// What every key starts with (default
    /// [`RedisReplayGuard::DEFAULT_PREFIX`]): one Redis can serve several
    /// receivers, or other programs, without their keys meeting.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The deadline of each connection attempt (default 250 ms). A black-holed
    /// address would otherwise hold the first check for the system's TCP
    /// timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of each command (default 250 ms): how long a stuck Redis
    /// may hold a delivery before the [`RedisFailurePolicy`] answers.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// When Redis cannot answer, let this process's memory (at most
    /// `capacity` deliveries, see [`InMemoryReplayGuard`]) answer instead of
    /// refusing with 503. During an outage a replay sent to another process
    /// is accepted; see [`RedisFailurePolicy`] for the trade-off.
    pub fn danger_degrade_to_memory(mut self, capacity: usize) -> Self {
        self.policy = RedisFailurePolicy::Degrade;
        self.memory_capacity = capacity;
        self
    }

    /// The guard, once Redis has answered a `PING` within the connect and
    /// command timeouts.
    pub async fn connect(self) -> Result<RedisReplayGuard, RedisConnectError> {
        let within = self.connect_timeout + self.command_timeout;
        let guard = self.connect_lazy()?;
        let mut connection = guard.inner.connection.clone();
        let ping = redis::cmd("PING");
        match tokio::time::timeout(within, ping.query_async::<Value>(&mut connection)).await {
            Err(_) => Err(RedisConnectError::TimedOut(within)),
            Ok(Err(source)) => Err(RedisConnectError::Unreachable(source)),
            Ok(Ok(_)) => Ok(guard),
        }
    }

    /// The guard, without waiting for Redis: the first check connects. For a
    /// receiver that must start while Redis is down. Must be called from
    /// within a Tokio runtime.
    pub fn connect_lazy(self) -> Result<RedisReplayGuard, RedisConnectError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RedisConnectError::NoRuntime);
        }
        let client = Client::open(self.url.as_str()).map_err(RedisConnectError::InvalidUrl)?;
        // Each reconnection is one attempt: during an outage a check fails
        // fast and the next one tries again, so a restarted Redis is used at
        // once rather than after a backoff.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.command_timeout))
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(RedisConnectError::InvalidUrl)?;
        tracing::debug!(prefix = %self.prefix, policy = ?self.policy, "replay guard on Redis");
        let memory = (self.policy == RedisFailurePolicy::Degrade)
            .then(|| InMemoryReplayGuard::with_capacity(self.memory_capacity));
        Ok(RedisReplayGuard {
            inner: Arc::new(Inner {
                connection,
                prefix: self.prefix,
                connect_timeout: self.connect_timeout,
                command_timeout: self.command_timeout,
                policy: self.policy,
                memory,
                degraded: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            }),
        })
    }
}

impl fmt::Debug for RedisReplayGuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayGuardBuilder")
            .field("url", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("policy", &self.policy)
            .finish()
    }
}

/// Why a [`RedisReplayGuard`] could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum RedisConnectError {
    /// The URL is not a Redis URL.
    InvalidUrl(RedisError),
    /// Redis refused the connection or the `PING`.
    Unreachable(RedisError),
    /// Redis did not answer the `PING` in time.
    TimedOut(Duration),
    /// Not called from within a Tokio runtime.
    NoRuntime,
}

impl fmt::Display for RedisConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(e) => write!(f, "not a Redis URL: {e}"),
            Self::Unreachable(e) => write!(f, "Redis is unreachable: {e}"),
            Self::TimedOut(within) => write!(f, "Redis did not answer within {within:?}"),
            Self::NoRuntime => f.write_str("the Redis replay guard needs a Tokio runtime"),
        }
    }
}

impl StdError for RedisConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::InvalidUrl(e) | Self::Unreachable(e) => Some(e),
            Self::TimedOut(_) | Self::NoRuntime => None,
        }
    }
}

/// Why Redis gave no answer to a replay check (the verifier answers 503
/// under [`RedisFailurePolicy::FailClosed`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum RedisCheckError {
    /// No answer within the deadline.
    TimedOut {
        /// The guard's key prefix.
        prefix: String,
        /// The deadline.
        within: Duration,
    },
    /// Redis, or the connection to it, failed.
    Redis {
        /// The guard's key prefix.
        prefix: String,
        /// What failed.
        source: RedisError,
    },
    /// Redis answered `SET ... NX` with neither `OK` nor nil.
    UnexpectedReply {
        /// The guard's key prefix.
        prefix: String,
    },
}

impl fmt::Display for RedisCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut { prefix, within } => {
                write!(
                    f,
                    "Redis (prefix {prefix}) did not answer within {within:?}"
                )
            }
            Self::Redis { prefix, source } => write!(f, "Redis (prefix {prefix}) failed: {source}"),
            Self::UnexpectedReply { prefix } => {
                write!(
                    f,
                    "Redis (prefix {prefix}) answered SET NX with neither OK nor nil"
                )
            }
        }
    }
}

impl StdError for RedisCheckError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Redis { source, .. } => Some(source),
            Self::TimedOut { .. } | Self::UnexpectedReply { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_remembered_through_the_last_second_it_is_fresh() {
        assert_eq!(remember_for(1_000, 1_300), 301);
        assert_eq!(remember_for(1_300, 1_300), 1);
        // Never zero or negative (Redis refuses EX 0), never overflowing.
        assert_eq!(remember_for(2_000, 1_300), 1);
        assert_eq!(remember_for(i64::MIN, i64::MAX), i32::MAX as u64);
    }
}
