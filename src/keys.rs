//! Store keys: prepared once, rotated as a set, chosen per tenant by a resolver.

use std::error::Error as StdError;
use std::fmt;
use std::future::{self, Future};
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256, the vendor's MAC.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The name a key goes by in logs and in [`VerifiedWebhook::key_id`](crate::VerifiedWebhook::key_id).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyId(pub(crate) Arc<str>);

impl KeyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One store key, kept only as a pre-keyed HMAC state so each request starts
/// from a clone instead of hashing the key again. `Debug` shows the id alone.
#[derive(Clone)]
pub struct SigningKey {
    id: KeyId,
    mac: HmacSha256,
}

impl SigningKey {
    /// A key named `id` holding the store key `secret` (any length, as HMAC allows).
    pub fn new(id: impl Into<Arc<str>>, secret: impl AsRef<[u8]>) -> Self {
        let mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        Self {
            id: KeyId(id.into()),
            mac,
        }
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// A fresh MAC state for one message under this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// An ed25519 public key, for Standard Webhooks' `v1a` signatures (feature
/// `ed25519`). Made by [`StandardWebhooks::public_key`](crate::standard::StandardWebhooks::public_key).
#[cfg(feature = "ed25519")]
#[derive(Clone, Debug)]
pub struct PublicKey {
    pub(crate) id: KeyId,
    pub(crate) key: ed25519_dalek::VerifyingKey,
}

#[cfg(feature = "ed25519")]
impl PublicKey {
    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }
}

/// The keys a delivery may be signed with. Several keys allow rotation: a
/// delivery is accepted when any of them matches, and the match is reported.
/// Cheap to clone.
///
/// A secret is used as the recipe says: API2Cart's store key, a UP42 webhook
/// secret and a URL token are the UTF-8 bytes given to [`KeySet::single`];
/// a Standard Webhooks `whsec_` secret is base64, decoded by
/// [`StandardWebhooks::secret`](crate::standard::StandardWebhooks::secret).
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Arc<[SigningKey]>,
    #[cfg(feature = "ed25519")]
    public_keys: Arc<[PublicKey]>,
}

impl KeySet {
    /// A set of one key, with the id `"default"`.
    pub fn single(secret: impl AsRef<[u8]>) -> Self {
        Self::from_keys([SigningKey::new("default", secret)])
    }

    /// A set of the given keys, tried in this order.
    pub fn from_keys(keys: impl IntoIterator<Item = SigningKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
            #[cfg(feature = "ed25519")]
            public_keys: Arc::new([]),
        }
    }

    /// A set with `key` added after the others.
    #[must_use]
    pub fn with_key(self, id: impl Into<Arc<str>>, secret: impl AsRef<[u8]>) -> Self {
        self.with_signing_key(SigningKey::new(id, secret))
    }

    /// A set with a prepared `key` added after the others.
    #[must_use]
    pub fn with_signing_key(self, key: SigningKey) -> Self {
        Self {
            keys: self.keys.iter().cloned().chain([key]).collect(),
            #[cfg(feature = "ed25519")]
            public_keys: self.public_keys,
        }
    }

    /// A set with an ed25519 public key added (Standard Webhooks `v1a`).
    #[cfg(feature = "ed25519")]
    #[must_use]
    pub fn with_public_key(self, key: PublicKey) -> Self {
        Self {
            public_keys: self.public_keys.iter().cloned().chain([key]).collect(),
            keys: self.keys,
        }
    }

    /// The MAC keys in order.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The ed25519 public keys in order.
    #[cfg(feature = "ed25519")]
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.public_keys
    }

    /// True when the set holds no key (and so accepts nothing).
    pub fn is_empty(&self) -> bool {
        #[cfg(feature = "ed25519")]
        if !self.public_keys.is_empty() {
            return false;
        }
        self.keys.is_empty()
    }
}

/// What both sides of a token comparison are reduced to: a MAC under the
/// token itself, so the compare is constant time and hides the length.
const TOKEN_LABEL: &[u8] = b"webhook-guard url token";

impl KeySet {
    /// The first key equal to `presented` (a secret sent as it is, such as a
    /// URL token), every key compared in constant time.
    pub(crate) fn token_match(&self, presented: &[u8]) -> Option<KeyId> {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(presented)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(TOKEN_LABEL);
        let presented = mac.finalize().into_bytes();
        let mut matched = None;
        for key in self.keys() {
            let mut mac = key.mac();
            mac.update(TOKEN_LABEL);
            // No early exit: every key is checked whatever the first ones say.
            if mac.verify_slice(&presented).is_ok() && matched.is_none() {
                matched = Some(key.id().clone());
            }
        }
        matched
    }
}

impl FromIterator<SigningKey> for KeySet {
    fn from_iter<I: IntoIterator<Item = SigningKey>>(iter: I) -> Self {
        Self::from_keys(iter)
    }
}

/// A secret that is not what its recipe says a secret is (e.g. a Standard
/// Webhooks `whsec_` secret that is not base64 of 24 to 64 bytes). Says why,
/// never what the secret was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyError(pub(crate) &'static str);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl StdError for KeyError {}

/// Why a [`KeyResolver`] gave no keys.
#[derive(Debug)]
#[non_exhaustive]
pub enum ResolveError {
    /// No such tenant: the delivery is refused with 401.
    UnknownTenant,
    /// The key store could not be asked: the delivery is refused with 503 so
    /// the sender retries later.
    Unavailable(Box<dyn StdError + Send + Sync>),
}

impl ResolveError {
    /// A failed lookup, from any error.
    pub fn unavailable(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Unavailable(source.into())
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTenant => f.write_str("unknown tenant"),
            Self::Unavailable(_) => f.write_str("key store unavailable"),
        }
    }
}

impl StdError for ResolveError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::UnknownTenant => None,
            Self::Unavailable(e) => Some(&**e),
        }
    }
}

/// Chooses the keys for one delivery from a context the caller passes: a tenant
/// name taken from the path, the request parts, anything. No API2Cart header
/// names the tenant, so a multi-tenant receiver routes by URL.
///
/// A [`KeySet`] is a resolver that ignores the context. For a closure, see [`resolver_fn`].
pub trait KeyResolver<C: ?Sized>: Send + Sync + 'static {
    /// The keys for the delivery described by `ctx`.
    fn resolve(&self, ctx: &C) -> impl Future<Output = Result<KeySet, ResolveError>> + Send;
}

impl<C: ?Sized> KeyResolver<C> for KeySet {
    fn resolve(&self, _ctx: &C) -> impl Future<Output = Result<KeySet, ResolveError>> + Send {
        future::ready(Ok(self.clone()))
    }
}

impl<C: ?Sized, R: KeyResolver<C>> KeyResolver<C> for Arc<R> {
    fn resolve(&self, ctx: &C) -> impl Future<Output = Result<KeySet, ResolveError>> + Send {
        (**self).resolve(ctx)
    }
}

/// A [`KeyResolver`] made from a closure that reads what it needs from the
/// context and returns a future owning it.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use webhook_guard::{resolver_fn, KeySet, ResolveError};
///
/// let tenants: Arc<HashMap<String, KeySet>> = Arc::new(HashMap::from([
///     ("acme".to_owned(), KeySet::single("acme-store-key")),
/// ]));
/// let resolver = resolver_fn(move |tenant: &str| {
///     let found = tenants.get(tenant).cloned();
///     async move { found.ok_or(ResolveError::UnknownTenant) }
/// });
/// # let _ = resolver;
/// ```
pub fn resolver_fn<C, F, Fut>(f: F) -> ResolverFn<F>
where
    C: ?Sized,
    F: Fn(&C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<KeySet, ResolveError>> + Send + 'static,
{
    ResolverFn(f)
}

/// The resolver made by [`resolver_fn`].
#[derive(Clone, Copy)]
pub struct ResolverFn<F>(F);

impl<F> fmt::Debug for ResolverFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResolverFn")
    }
}

impl<C, F, Fut> KeyResolver<C> for ResolverFn<F>
where
    C: ?Sized,
    F: Fn(&C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<KeySet, ResolveError>> + Send + 'static,
{
    fn resolve(&self, ctx: &C) -> impl Future<Output = Result<KeySet, ResolveError>> + Send {
        (self.0)(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let set = KeySet::single("s3cr3t-store-key").with_key("next", "an0ther-key");
        let shown = format!("{set:?} {:?}", set.keys()[1]);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!shown.contains("an0ther"), "{shown}");
        assert!(
            shown.contains("default") && shown.contains("next"),
            "{shown}"
        );
    }
}
