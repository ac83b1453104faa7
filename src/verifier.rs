//! The verification engine: headers in, a [`VerifiedWebhook`] out, with the body
//! streamed through the MAC as it arrives.

use std::any::type_name;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hmac::Mac;

use crate::canonical::{DeliveryHeaders, SignedHeaders, names};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorKind};
use crate::event::VerifiedWebhook;
use crate::keys::{HmacSha256, KeyId, KeyResolver, KeySet, ResolveError};
use crate::replay::{ReplayCheck, ReplayGuard, ReplayKey};
use crate::signature::{self, MAC_LEN};

/// How far `X-Webhook-Timestamp` may be from now by default: five minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Checks deliveries against a key source and a policy. Build it once, share it:
/// it is `Send + Sync` and a clone costs two reference-count increments.
///
/// `K` is where the keys come from: a [`KeySet`] for one store, or any
/// [`KeyResolver`] for a receiver serving several tenants.
///
/// ```
/// use bytes::Bytes;
/// use webhook_guard::{DeliveryHeaders, KeySet, Signer, SignedHeaders, Verifier};
///
/// # async fn run() -> Result<(), webhook_guard::Error> {
/// let verifier = Verifier::builder(KeySet::single("store-key"))
///     .danger_accept_any_timestamp() // this example's delivery has no timestamp
///     .build();
///
/// // What the vendor would send.
/// let body = Bytes::from_static(br#"{"id":"86","name":"test product"}"#);
/// let signed = SignedHeaders::from_pairs([("X-Webhook-Entity", "product"), ("X-Webhook-Action", "add")])?;
/// let signature = Signer::new("store-key").sign(&signed, &body);
///
/// // What the receiver does with the request it got.
/// let headers = DeliveryHeaders::from_pairs([
///     ("x-webhook-entity", "product"),
///     ("x-webhook-action", "add"),
///     ("x-webhook-signature", signature.as_str()),
/// ])?;
/// let event = verifier.verify(headers, body).await?;
/// assert_eq!(event.entity().unwrap().as_str(), "product");
/// # Ok(()) }
/// # futures_executor::block_on(run()).unwrap();
/// ```
pub struct Verifier<K = KeySet> {
    keys: Arc<K>,
    policy: Arc<Policy>,
}

#[derive(Debug)]
struct Policy {
    /// `None` when switched off with `danger_accept_any_timestamp`.
    tolerance: Option<u64>,
    require_timestamp: bool,
    body_limit: usize,
    clock: Arc<dyn Clock>,
    replay_guard: Option<Arc<dyn ReplayGuard>>,
}

impl<K> Clone for Verifier<K> {
    fn clone(&self) -> Self {
        Self {
            keys: Arc::clone(&self.keys),
            policy: Arc::clone(&self.policy),
        }
    }
}

impl<K> fmt::Debug for Verifier<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &type_name::<K>())
            .field("policy", &self.policy)
            .finish()
    }
}

impl Verifier<KeySet> {
    /// A verifier for one key set with the default policy: 300 s tolerance when
    /// a timestamp is sent, 1 MiB body limit, no replay guard.
    pub fn new(keys: KeySet) -> Self {
        Self::builder(keys).build()
    }
}

impl<K> Verifier<K> {
    /// Starts configuring a verifier whose keys come from `keys`.
    pub fn builder(keys: K) -> VerifierBuilder<K> {
        VerifierBuilder {
            keys,
            policy: Policy {
                tolerance: Some(DEFAULT_TOLERANCE.as_secs()),
                require_timestamp: false,
                body_limit: DEFAULT_BODY_LIMIT,
                clock: Arc::new(SystemClock),
                replay_guard: None,
            },
        }
    }

    /// The largest body accepted, in bytes. Adapters refuse larger bodies with
    /// 413 before reading them; [`Verification::update`] refuses them too.
    pub fn body_limit(&self) -> usize {
        self.policy.body_limit
    }

    /// The timestamp tolerance, `None` when switched off.
    pub fn tolerance(&self) -> Option<Duration> {
        self.policy.tolerance.map(Duration::from_secs)
    }

    /// The key source.
    pub fn keys(&self) -> &K {
        &self.keys
    }

    /// Checks the headers, resolves the keys for `ctx` and starts the MAC; feed
    /// the body to the returned [`Verification`] as it arrives.
    ///
    /// Refuses at once, without reading any body, when the timestamp is
    /// malformed (400), the signature is missing or malformed, the timestamp is
    /// outside the tolerance, or the tenant is unknown (401), or the resolver
    /// failed (503).
    pub async fn begin_for<C: ?Sized>(
        &self,
        ctx: &C,
        headers: DeliveryHeaders,
    ) -> Result<Verification, Error>
    where
        K: KeyResolver<C>,
    {
        let timestamp = parse_timestamp(headers.signed())?;
        let expected = match headers.signature() {
            None => {
                return Err(refuse(
                    ErrorKind::MissingSignature,
                    "no X-Webhook-Signature header",
                ));
            }
            Some(value) => signature::decode(value)
                .map_err(|detail| refuse(ErrorKind::InvalidSignature, detail))?,
        };
        let now = self.policy.clock.now();
        self.policy.check_freshness(timestamp, now)?;
        let keys = self.keys.resolve(ctx).await.map_err(|e| match e {
            ResolveError::UnknownTenant => {
                refuse(ErrorKind::UnknownTenant, "no keys for this tenant")
            }
            ResolveError::Unavailable(source) => {
                tracing::warn!(error = %source, "webhook key resolver failed");
                Error::with_source(ErrorKind::Unavailable, "key resolver failed", source)
            }
        })?;
        if keys.is_empty() {
            tracing::warn!("webhook key set is empty; every delivery will be refused");
        }
        let signed = headers.into_signed();
        let json = signed.json();
        let macs = keys
            .keys()
            .iter()
            .map(|key| {
                let mut mac = key.mac();
                mac.update(json);
                (key.id().clone(), mac)
            })
            .collect();
        Ok(Verification {
            macs,
            expected,
            headers: signed,
            timestamp,
            now,
            body: Body::Empty,
            size_hint: 0,
            received: 0,
            policy: Arc::clone(&self.policy),
        })
    }

    /// Verifies a delivery whose body is already in memory.
    pub async fn verify_for<C: ?Sized>(
        &self,
        ctx: &C,
        headers: DeliveryHeaders,
        body: Bytes,
    ) -> Result<VerifiedWebhook, Error>
    where
        K: KeyResolver<C>,
    {
        if body.len() > self.policy.body_limit {
            return Err(too_large());
        }
        let mut verification = self.begin_for(ctx, headers).await?;
        verification.update(body)?;
        verification.finish().await
    }
}

impl<K: KeyResolver<()>> Verifier<K> {
    /// [`begin_for`](Self::begin_for) for key sources that need no context.
    pub async fn begin(&self, headers: DeliveryHeaders) -> Result<Verification, Error> {
        self.begin_for(&(), headers).await
    }

    /// [`verify_for`](Self::verify_for) for key sources that need no context.
    pub async fn verify(
        &self,
        headers: DeliveryHeaders,
        body: Bytes,
    ) -> Result<VerifiedWebhook, Error> {
        self.verify_for(&(), headers, body).await
    }
}

impl Policy {
    fn check_freshness(&self, timestamp: Option<i64>, now: i64) -> Result<(), Error> {
        match (timestamp, self.tolerance) {
            (None, _) if self.require_timestamp => Err(refuse(
                ErrorKind::MissingTimestamp,
                "no X-Webhook-Timestamp header",
            )),
            (Some(ts), Some(tolerance)) if now.abs_diff(ts) > tolerance => {
                tracing::debug!(
                    timestamp = ts,
                    now,
                    tolerance,
                    "webhook timestamp outside tolerance"
                );
                Err(refuse(
                    ErrorKind::TimestampOutsideTolerance,
                    "timestamp outside tolerance",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Until when a delivery must be remembered: after that the freshness check
    /// refuses it by itself.
    fn replay_expiry(&self, timestamp: Option<i64>, now: i64) -> i64 {
        let window = self.tolerance.unwrap_or(DEFAULT_TOLERANCE.as_secs());
        let window = i64::try_from(window).unwrap_or(i64::MAX);
        match (timestamp, self.tolerance) {
            (Some(ts), Some(_)) => ts.saturating_add(window),
            _ => now.saturating_add(window),
        }
    }
}

/// Configures a [`Verifier`]; made by [`Verifier::builder`].
#[derive(Debug)]
pub struct VerifierBuilder<K> {
    keys: K,
    policy: Policy,
}

impl<K> VerifierBuilder<K> {
    /// Refuses deliveries whose `X-Webhook-Timestamp` is further than `tolerance`
    /// from now, in the past or the future (default 300 s; whole seconds).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.policy.tolerance = Some(tolerance.as_secs());
        self
    }

    /// Accepts any timestamp. Captured deliveries then stay valid forever:
    /// use this only to check old captures, never on a live receiver.
    #[must_use]
    pub fn danger_accept_any_timestamp(mut self) -> Self {
        self.policy.tolerance = None;
        self
    }

    /// Refuses deliveries that carry no `X-Webhook-Timestamp` (401). Off by
    /// default, because the vendor's documentation does not promise the header.
    #[must_use]
    pub fn require_timestamp(mut self, required: bool) -> Self {
        self.policy.require_timestamp = required;
        self
    }

    /// The largest body accepted, in bytes (default 1 MiB).
    #[must_use]
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.policy.body_limit = limit;
        self
    }

    /// Where "now" comes from (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.policy.clock = Arc::new(clock);
        self
    }

    /// Refuses a second delivery of the same signed message. Deliveries are
    /// remembered until their timestamp leaves the tolerance (or, with no
    /// timestamp or no tolerance, for 300 s after they arrive).
    #[must_use]
    pub fn replay_guard(mut self, guard: impl ReplayGuard) -> Self {
        self.policy.replay_guard = Some(Arc::new(guard));
        self
    }

    /// The verifier.
    pub fn build(self) -> Verifier<K> {
        Verifier {
            keys: Arc::new(self.keys),
            policy: Arc::new(self.policy),
        }
    }
}

/// One delivery being verified: feed it the body, then [`finish`](Self::finish).
///
/// Each chunk goes into the MAC as it arrives, after the header JSON; the body
/// is kept in one buffer (a single chunk is kept without copying) for the event.
pub struct Verification {
    macs: Vec<(KeyId, HmacSha256)>,
    expected: [u8; MAC_LEN],
    headers: SignedHeaders,
    timestamp: Option<i64>,
    now: i64,
    body: Body,
    size_hint: usize,
    received: usize,
    policy: Arc<Policy>,
}

enum Body {
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verification")
            .field("headers", &self.headers)
            .field(
                "keys",
                &self.macs.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl Verification {
    /// Tells how many body bytes to expect (e.g. from `Content-Length`), so the
    /// buffer is allocated once. Capped at the body limit.
    pub fn size_hint(&mut self, expected: usize) {
        self.size_hint = expected.min(self.policy.body_limit);
    }

    /// Body bytes received so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Feeds the next body chunk. Fails with 413 as soon as the body crosses
    /// the limit; the chunk that crosses it is not buffered.
    pub fn update(&mut self, chunk: Bytes) -> Result<(), Error> {
        if chunk.is_empty() {
            return Ok(());
        }
        let received = self
            .received
            .checked_add(chunk.len())
            .filter(|&n| n <= self.policy.body_limit)
            .ok_or_else(too_large)?;
        self.received = received;
        for (_, mac) in &mut self.macs {
            mac.update(&chunk);
        }
        self.body = match std::mem::replace(&mut self.body, Body::Empty) {
            Body::Empty => Body::One(chunk),
            Body::One(first) => {
                let mut buf = BytesMut::with_capacity(self.size_hint.max(received));
                buf.extend_from_slice(&first);
                buf.extend_from_slice(&chunk);
                Body::Many(buf)
            }
            Body::Many(mut buf) => {
                buf.extend_from_slice(&chunk);
                Body::Many(buf)
            }
        };
        Ok(())
    }

    /// Compares the MAC under every key with the signature, each in constant
    /// time, then consults the replay guard.
    pub async fn finish(self) -> Result<VerifiedWebhook, Error> {
        let mut matched: Option<KeyId> = None;
        for (id, mac) in self.macs {
            // No early exit: every key is checked whatever the first ones say.
            let ok = mac.verify_slice(&self.expected).is_ok();
            if ok && matched.is_none() {
                matched = Some(id);
            }
        }
        let key_id = matched
            .ok_or_else(|| refuse(ErrorKind::InvalidSignature, "signature matches no key"))?;
        if let Some(guard) = &self.policy.replay_guard {
            let store_id = self.headers.get(names::STORE_ID).unwrap_or_default();
            let key = ReplayKey::new(store_id, self.expected);
            let expires_at = self.policy.replay_expiry(self.timestamp, self.now);
            match guard.check_and_remember(&key, self.now, expires_at).await {
                Ok(ReplayCheck::First) => {}
                Ok(ReplayCheck::Replay) => {
                    return Err(refuse(ErrorKind::Replayed, "delivery already accepted"));
                }
                Err(source) => {
                    tracing::warn!(error = %source, "webhook replay store failed");
                    return Err(Error::with_source(
                        ErrorKind::Unavailable,
                        "replay store failed",
                        source,
                    ));
                }
            }
        }
        let body = match self.body {
            Body::Empty => Bytes::new(),
            Body::One(bytes) => bytes,
            Body::Many(buf) => buf.freeze(),
        };
        tracing::debug!(key = %key_id, bytes = body.len(), "webhook verified");
        Ok(VerifiedWebhook::new(
            self.headers,
            body,
            key_id,
            self.timestamp,
        ))
    }
}

/// Parses `X-Webhook-Timestamp`: Unix seconds, ASCII digits only (no sign, no
/// spaces), within `i64`.
fn parse_timestamp(headers: &SignedHeaders) -> Result<Option<i64>, Error> {
    let Some(text) = headers.get(names::TIMESTAMP) else {
        return Ok(None);
    };
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_an_integer());
    }
    // `parse` refuses the empty string and values beyond i64.
    text.parse().map(Some).map_err(|_| not_an_integer())
}

fn not_an_integer() -> Error {
    refuse(
        ErrorKind::MalformedHeaders,
        "X-Webhook-Timestamp is not an integer",
    )
}

fn too_large() -> Error {
    refuse(ErrorKind::PayloadTooLarge, "body larger than the limit")
}

fn refuse(kind: ErrorKind, detail: &'static str) -> Error {
    tracing::debug!(status = kind.status(), detail, "webhook refused");
    Error::new(kind, detail)
}
