//! The verification engine: a request head in, a [`VerifiedWebhook`] out, with
//! the body streamed through the MAC (and any covered digest) as it arrives.
//! What is signed and how is the [`Scheme`]'s; everything else is here, the
//! same for every recipe.

use std::any::type_name;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hmac::Mac;

use ctutils::CtEq;

use crate::api2cart::Api2Cart;
use crate::canonical::names;
use crate::clock::{Clock, SystemClock};
use crate::digest::DigestCheck;
use crate::error::{Error, ErrorKind, refuse};
use crate::event::VerifiedWebhook;
use crate::head::HeaderSource;
use crate::keys::{HmacSha256, KeyId, KeyResolver, KeySet, ResolveError, SigningKey};
use crate::replay::{ReplayCheck, ReplayGuard, ReplayKey};
use crate::scheme::{Claims, Proof, Replay, Scheme, Signed, Tag, Tags};

/// How far a signed timestamp may be from now by default: five minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How long the adapters wait for a whole body by default: 10 s.
///
/// Long enough for a 1 MiB body over a slow link (about 100 KiB/s) and for
/// the small deliveries API2Cart and AmeriCommerce send; shorter than the
/// ~15 s after which senders such as Svix give up, so a sender still gets the
/// 408 and retries, rather than a receiver holding a buffer for a client
/// that trickles its body or has gone quiet.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

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
    scheme: Arc<dyn Scheme>,
    /// `None` when switched off with `danger_accept_any_timestamp`.
    tolerance: Option<u64>,
    /// How far ahead of now a timestamp may be; `None`: as `tolerance`.
    future_tolerance: Option<u64>,
    require_timestamp: bool,
    body_limit: usize,
    body_timeout: Duration,
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
    /// a timestamp is sent, 1 MiB body limit, 10 s to receive the body, no
    /// replay guard.
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
                scheme: Arc::new(Api2Cart),
                tolerance: Some(DEFAULT_TOLERANCE.as_secs()),
                future_tolerance: None,
                require_timestamp: false,
                body_limit: DEFAULT_BODY_LIMIT,
                body_timeout: DEFAULT_BODY_TIMEOUT,
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

    /// How long the framework adapters wait for a whole body, from their first
    /// read of it to its last byte, before refusing it with 408
    /// ([`ErrorKind::BodyTimeout`]). [`Verifier::verify`] and
    /// [`Verification::update`] take bytes already received and keep no time.
    pub fn body_timeout(&self) -> Duration {
        self.policy.body_timeout
    }

    /// The timestamp tolerance, `None` when switched off.
    pub fn tolerance(&self) -> Option<Duration> {
        self.policy.tolerance.map(Duration::from_secs)
    }

    /// The key source.
    pub fn keys(&self) -> &K {
        &self.keys
    }

    /// The signing recipe.
    pub fn scheme(&self) -> &dyn Scheme {
        &*self.policy.scheme
    }

    /// Reads the request head with the recipe, checks freshness, resolves the
    /// keys for `ctx` and starts the MAC; feed the body to the returned
    /// [`Verification`] as it arrives.
    ///
    /// Refuses at once, without reading any body, when a header the recipe
    /// reads is malformed (400), the signature is missing or malformed, the
    /// timestamp is outside the tolerance, the tenant is unknown, or a URL
    /// token is wrong (401), or the resolver failed (503).
    pub async fn begin_for<C: ?Sized, H: HeaderSource>(
        &self,
        ctx: &C,
        headers: H,
    ) -> Result<Verification, Error>
    where
        K: KeyResolver<C>,
    {
        let admitted = self.admit(headers)?;
        let resolved = self.resolve(ctx, &admitted).await?;
        Ok(self.start(admitted, resolved))
    }

    /// What the recipe reads off the head, if it is fresh: the checks that
    /// need no body and no I/O, for adapters that answer them before
    /// anything is boxed.
    pub(crate) fn admit<H: HeaderSource>(&self, headers: H) -> Result<Admitted, Error> {
        let claims = self.policy.scheme.read(&headers)?;
        let now = self.policy.clock.now();
        self.policy
            .check_freshness(claims.timestamp, claims.timestamp_required, now)?;
        Ok(Admitted { claims, now })
    }

    /// The keys for `ctx`, and the one a URL token in `admitted` matches
    /// (401 when it matches none).
    pub(crate) async fn resolve<C: ?Sized>(
        &self,
        ctx: &C,
        admitted: &Admitted,
    ) -> Result<Resolved, Error>
    where
        K: KeyResolver<C>,
    {
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
        let token_match = Verification::check_token(&admitted.claims, &keys)?;
        Ok(Resolved { keys, token_match })
    }

    /// The verification of an admitted delivery under its keys, ready for
    /// the body. Neither a future nor fallible: the verification (a few
    /// hundred bytes, MAC state inline) is built where the caller keeps it,
    /// not moved out of a future or a `Result`.
    pub(crate) fn start(&self, admitted: Admitted, resolved: Resolved) -> Verification {
        let policy = Arc::clone(&self.policy);
        Verification::start(
            admitted.claims,
            resolved.keys,
            resolved.token_match,
            admitted.now,
            policy,
        )
    }

    /// Verifies a delivery whose body is already in memory.
    pub async fn verify_for<C: ?Sized, H: HeaderSource>(
        &self,
        ctx: &C,
        headers: H,
        body: Bytes,
    ) -> Result<VerifiedWebhook, Error>
    where
        K: KeyResolver<C>,
    {
        if body.len() > self.policy.body_limit {
            return Err(too_large());
        }
        // `begin_for` and `finish` spelled out: nothing large is moved into
        // or out of a future. The block ends the verification before the
        // replay guard is asked, so this future keeps no room for it.
        let (event, replay) = {
            let admitted = self.admit(headers)?;
            let resolved = self.resolve(ctx, &admitted).await?;
            let mut verification = self.start(admitted, resolved);
            verification.update(body)?;
            let replay = verification.replay_check();
            (verification.conclude()?, replay)
        };
        remember(replay, &event).await?;
        Ok(event)
    }
}

impl<K: KeyResolver<()>> Verifier<K> {
    /// [`begin_for`](Self::begin_for) for key sources that need no context.
    pub async fn begin<H: HeaderSource>(&self, headers: H) -> Result<Verification, Error> {
        self.begin_for(&(), headers).await
    }

    /// [`verify_for`](Self::verify_for) for key sources that need no context.
    pub async fn verify<H: HeaderSource>(
        &self,
        headers: H,
        body: Bytes,
    ) -> Result<VerifiedWebhook, Error> {
        self.verify_for(&(), headers, body).await
    }
}

impl Policy {
    fn check_freshness(
        &self,
        timestamp: Option<i64>,
        required: bool,
        now: i64,
    ) -> Result<(), Error> {
        match (timestamp, self.tolerance) {
            (None, _) if required || self.require_timestamp => {
                Err(refuse(ErrorKind::MissingTimestamp, "no signed timestamp"))
            }
            (Some(ts), Some(tolerance)) if now.abs_diff(ts) > self.allowed(ts, now, tolerance) => {
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

    /// The allowed distance of `ts` from `now`: a timestamp ahead of the
    /// clock may have its own bound.
    fn allowed(&self, ts: i64, now: i64, tolerance: u64) -> u64 {
        if ts > now {
            self.future_tolerance.unwrap_or(tolerance)
        } else {
            tolerance
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
    /// The signing recipe (default [`Api2Cart`]): [`Up42`](crate::up42::Up42),
    /// [`StandardWebhooks`](crate::standard::StandardWebhooks),
    /// [`UrlToken`](crate::americommerce::UrlToken).
    #[must_use]
    pub fn scheme(mut self, scheme: impl Scheme) -> Self {
        self.policy.scheme = Arc::new(scheme);
        self
    }

    /// Refuses deliveries whose signed timestamp is further than `tolerance`
    /// from now, in the past or the future (default 300 s; whole seconds).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.policy.tolerance = Some(tolerance.as_secs());
        self
    }

    /// How far ahead of now a timestamp may be (default: the
    /// [`tolerance`](Self::tolerance)). UP42's published receiver sample
    /// refuses any timestamp ahead of its clock, which is `Duration::ZERO`
    /// here; the default leaves room for clocks that drift.
    #[must_use]
    pub fn future_tolerance(mut self, tolerance: Duration) -> Self {
        self.policy.future_tolerance = Some(tolerance.as_secs());
        self
    }

    /// Accepts any timestamp. Captured deliveries then stay valid forever:
    /// use this only to check old captures, never on a live receiver.
    #[must_use]
    pub fn danger_accept_any_timestamp(mut self) -> Self {
        self.policy.tolerance = None;
        self
    }

    /// Refuses deliveries that carry no timestamp (401). Off by default,
    /// because API2Cart does not promise `X-Webhook-Timestamp`; the other
    /// recipes always require theirs.
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

    /// How long the framework adapters wait for a whole body (default 10 s,
    /// [`DEFAULT_BODY_TIMEOUT`]): a body not complete by then is refused with
    /// 408 and nothing reaches the handler. It bounds how long a client that
    /// trickles its body, or goes quiet, holds up to the body limit in memory.
    /// The clock starts at the first read of the body, after the header checks
    /// and the key lookup.
    ///
    /// The timer is Tokio's, so the runtime needs its time driver, as
    /// `#[tokio::main]`, axum and actix-web runtimes have (a runtime built by
    /// hand needs `enable_time()` or `enable_all()`, or reading a body panics,
    /// as every Tokio timer does). Without a current Tokio runtime the body is
    /// read with no deadline (and a `tracing` warning, once).
    #[must_use]
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.policy.body_timeout = timeout;
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
/// Each chunk goes into the MAC (and into every body digest the signature
/// covers) as it arrives; the body is kept in one buffer (a single chunk is
/// kept without copying) for the event.
pub struct Verification {
    /// The keys resolved for this delivery.
    keys: KeySet,
    /// One MAC state per key of `keys.keys()`, in that order, when the
    /// delivery carries HMAC tags.
    macs: Macs,
    /// One stream per (public key, `v1a` signature) pair.
    #[cfg(feature = "ed25519")]
    streams: Vec<(KeyId, ed25519_dalek::StreamVerifier)>,
    /// The signatures the delivery carries; any one may match.
    tags: Tags,
    covers_body: bool,
    /// The key a URL token matched, found before any body was read.
    token_match: Option<KeyId>,
    digests: Vec<DigestCheck>,
    replay: Replay,
    signed: Signed,
    timestamp: Option<i64>,
    body_authenticated: bool,
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

/// The MAC states, one per key: most key sets hold one key, whose state is
/// kept inline rather than in a vector of one.
enum Macs {
    One(HmacSha256),
    Many(Vec<HmacSha256>),
}

impl Macs {
    fn iter_mut(&mut self) -> std::slice::IterMut<'_, HmacSha256> {
        match self {
            Self::One(mac) => std::slice::from_mut(mac).iter_mut(),
            Self::Many(macs) => macs.iter_mut(),
        }
    }

    /// Each MAC computed, with the position of its key.
    fn finalize(self, mut each: impl FnMut(usize, &[u8])) {
        match self {
            Self::One(mac) => each(0, &mac.finalize().into_bytes()),
            Self::Many(macs) => {
                for (index, mac) in macs.into_iter().enumerate() {
                    each(index, &mac.finalize().into_bytes());
                }
            }
        }
    }
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verification")
            .field("scheme", &self.policy.scheme.name())
            .field("signed", &self.signed)
            .field(
                "keys",
                &self
                    .keys
                    .keys()
                    .iter()
                    .map(|key| key.id())
                    .collect::<Vec<_>>(),
            )
            .field("digests", &self.digests)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl Verification {
    /// The key a URL token matches (`None` for a signed delivery), or the
    /// refusal, before any body is read.
    fn check_token(claims: &Claims, keys: &KeySet) -> Result<Option<KeyId>, Error> {
        match &claims.proof {
            Proof::Token(presented) => keys
                .token_match(presented)
                .map(Some)
                .ok_or_else(|| refuse(ErrorKind::InvalidSignature, "URL token matches no key")),
            Proof::Signed { .. } => Ok(None),
        }
    }

    /// Prepares the MAC states, each fed the prefix; `token_match` is what
    /// [`check_token`](Self::check_token) found. Infallible, so the
    /// verification is built where it stays.
    fn start(
        claims: Claims,
        keys: KeySet,
        token_match: Option<KeyId>,
        now: i64,
        policy: Arc<Policy>,
    ) -> Self {
        let prefix = claims.prefix();
        let mut macs = Macs::Many(Vec::new());
        #[cfg(feature = "ed25519")]
        let mut streams = Vec::new();
        match &claims.proof {
            Proof::Signed { tags, .. } => {
                if tags
                    .as_slice()
                    .iter()
                    .any(|t| matches!(t, Tag::HmacSha256(_)))
                {
                    let start = |key: &SigningKey| {
                        let mut mac = key.mac();
                        mac.update(prefix);
                        mac
                    };
                    macs = match keys.keys() {
                        [key] => Macs::One(start(key)),
                        keys => Macs::Many(keys.iter().map(start).collect()),
                    };
                }
                #[cfg(feature = "ed25519")]
                for tag in tags.as_slice() {
                    if let Tag::Ed25519(signature) = tag {
                        let signature = ed25519_dalek::Signature::from_bytes(signature);
                        for key in keys.public_keys() {
                            // A signature that is not even well-formed matches no key.
                            if let Ok(mut stream) = key.key.verify_stream(&signature) {
                                stream.update(prefix);
                                streams.push((key.id.clone(), stream));
                            }
                        }
                    }
                }
            }
            Proof::Token(_) => {}
        }
        let (tags, covers_body) = match claims.proof {
            Proof::Signed {
                tags, covers_body, ..
            } => (tags, covers_body),
            Proof::Token(_) => (Tags::Many(Vec::new()), false),
        };
        Self {
            keys,
            macs,
            #[cfg(feature = "ed25519")]
            streams,
            tags,
            covers_body,
            token_match,
            digests: claims.digests.into_iter().map(DigestCheck::new).collect(),
            replay: claims.replay,
            signed: claims.signed,
            timestamp: claims.timestamp,
            body_authenticated: claims.body_authenticated,
            now,
            body: Body::Empty,
            size_hint: 0,
            received: 0,
            policy,
        }
    }

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
        if self.covers_body {
            for mac in self.macs.iter_mut() {
                mac.update(&chunk);
            }
            #[cfg(feature = "ed25519")]
            for (_, stream) in &mut self.streams {
                stream.update(&chunk);
            }
        }
        for digest in &mut self.digests {
            digest.update(&chunk);
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

    /// Compares the MAC under every key with every signature the delivery
    /// carries, each in constant time, then every covered body digest, then
    /// consults the replay guard.
    ///
    /// The comparisons run when this is called; the future it returns only
    /// asks the replay guard, if there is one, so it does not carry the
    /// verification (a few hundred bytes, the MAC states inline).
    pub fn finish(self) -> impl Future<Output = Result<VerifiedWebhook, Error>> + Send + 'static {
        let replay = self.replay_check();
        let verified = self.conclude();
        // Borrows the event and hands `verified` back as it is, rather than
        // moving the event out and in again.
        async move {
            let Ok(event) = &verified else {
                return verified;
            };
            remember(replay, event).await?;
            verified
        }
    }

    /// What the replay guard must be asked once the delivery verified, if
    /// there is a guard.
    fn replay_check(&self) -> Option<Remember> {
        let guard = self.policy.replay_guard.as_ref()?;
        self.replay_key().map(|key| Remember {
            guard: Arc::clone(guard),
            key,
            now: self.now,
            expires_at: self.policy.replay_expiry(self.timestamp, self.now),
        })
    }

    /// [`finish`](Self::finish) up to the replay guard: the MACs and
    /// digests against what the delivery carries.
    fn conclude(self) -> Result<VerifiedWebhook, Error> {
        let mut matched = self.token_match;
        let (keys, tags) = (self.keys.keys(), self.tags.as_slice());
        self.macs.finalize(|index, computed| {
            // No early exit: every key and tag is checked whatever the first ones say.
            for tag in tags {
                let ok = match tag {
                    Tag::HmacSha256(expected) => computed.ct_eq(expected).to_bool(),
                    #[cfg(feature = "ed25519")]
                    Tag::Ed25519(_) => false,
                };
                if ok && matched.is_none() {
                    matched = keys.get(index).map(|key| key.id().clone());
                }
            }
        });
        #[cfg(feature = "ed25519")]
        for (id, stream) in self.streams {
            if stream.finalize_and_verify().is_ok() && matched.is_none() {
                matched = Some(id);
            }
        }
        let key_id = matched
            .ok_or_else(|| refuse(ErrorKind::InvalidSignature, "signature matches no key"))?;
        let digests_match = self
            .digests
            .into_iter()
            .fold(true, |all, digest| digest.matches() & all);
        if !digests_match {
            return Err(refuse(
                ErrorKind::InvalidSignature,
                "body does not match the signed digest",
            ));
        }
        let body = match self.body {
            Body::Empty => Bytes::new(),
            Body::One(bytes) => bytes,
            Body::Many(buf) => buf.freeze(),
        };
        Ok(VerifiedWebhook::from_parts(
            self.policy.scheme.name(),
            self.signed,
            body,
            key_id,
            self.timestamp,
            self.body_authenticated,
        ))
    }
}

impl Verification {
    /// The replay key of this delivery, as its recipe defines it; `None`
    /// when deliveries cannot be told apart.
    fn replay_key(&self) -> Option<ReplayKey> {
        let scheme = self.policy.scheme.name();
        let signature = || match self.tags.as_slice().first() {
            Some(Tag::HmacSha256(mac)) => Some(*mac),
            _ => None,
        };
        Some(match &self.replay {
            Replay::Untold => return None,
            Replay::StoreAndSignature => {
                let store_id = match &self.signed {
                    Signed::Api2Cart(headers) => headers.get(names::STORE_ID),
                    Signed::Headers(_) => None,
                };
                ReplayKey::for_scheme(scheme, store_id.unwrap_or_default(), signature()?)
            }
            Replay::Signature => ReplayKey::for_scheme(scheme, "", signature()?),
            Replay::Id(id) => ReplayKey::for_scheme(scheme, "", id.clone()),
        })
    }
}

/// Claims read off a request head and found fresh, with the time they were
/// checked at: made by [`Verifier::admit`].
#[derive(Debug)]
pub(crate) struct Admitted {
    claims: Claims,
    now: i64,
}

/// The keys resolved for an admitted delivery: made by [`Verifier::resolve`].
#[derive(Debug)]
pub(crate) struct Resolved {
    keys: KeySet,
    /// The key a URL token matched, found before any body was read.
    token_match: Option<KeyId>,
}

/// Asks the replay guard about `event`, if [`Verification::replay_check`]
/// named one, and logs the delivery verified.
///
/// Borrows the event, which stays where the caller keeps it, and is a plain
/// function returning a future: an `async fn` would keep `replay` twice in
/// its state.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice"
)]
fn remember(
    replay: Option<Remember>,
    event: &VerifiedWebhook,
) -> impl Future<Output = Result<(), Error>> + Send + '_ {
    async move {
        if let Some(replay) = &replay {
            replay.check().await?;
        }
        log_verified(event);
        Ok(())
    }
}

/// What the replay guard is asked about a delivery that verified.
struct Remember {
    guard: Arc<dyn ReplayGuard>,
    key: ReplayKey,
    now: i64,
    expires_at: i64,
}

impl Remember {
    /// Asks the replay guard whether the delivery is new.
    async fn check(&self) -> Result<(), Error> {
        match self
            .guard
            .check_and_remember(&self.key, self.now, self.expires_at)
            .await
        {
            Ok(ReplayCheck::First) => Ok(()),
            Ok(ReplayCheck::Replay) => {
                Err(refuse(ErrorKind::Replayed, "delivery already accepted"))
            }
            Err(source) => {
                tracing::warn!(error = %source, "webhook replay store failed");
                Err(Error::with_source(
                    ErrorKind::Unavailable,
                    "replay store failed",
                    source,
                ))
            }
        }
    }
}

/// Logs a delivery that passed every check.
fn log_verified(event: &VerifiedWebhook) {
    tracing::debug!(
        scheme = event.scheme(),
        key = %event.key_id(),
        bytes = event.body().len(),
        "webhook verified"
    );
}

fn too_large() -> Error {
    refuse(ErrorKind::PayloadTooLarge, "body larger than the limit")
}
