//! The sending side of the recipe, for the CLI, the mock sender and tests.

use hmac::Mac;

use crate::canonical::SignedHeaders;
use crate::keys::SigningKey;
use crate::signature;

/// Signs deliveries as the vendor does: base64(HMAC-SHA256(store key, header JSON || body)).
///
/// It uses the same canonical encoder the verifier uses, so the two cannot drift apart.
#[derive(Clone, Debug)]
pub struct Signer {
    key: SigningKey,
}

impl Signer {
    /// A signer holding the store key `secret`.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self::from_key(SigningKey::new("signer", secret))
    }

    /// A signer for an existing key.
    pub fn from_key(key: SigningKey) -> Self {
        Self { key }
    }

    /// The `X-Webhook-Signature` value for `headers` and `body`.
    pub fn sign(&self, headers: &SignedHeaders, body: &[u8]) -> String {
        self.sign_raw(headers.json(), body)
    }

    /// The signature over an arbitrary prefix instead of the header JSON, for
    /// producing deliberately wrong signatures in tests.
    pub fn sign_raw(&self, header_json: &[u8], body: &[u8]) -> String {
        let mut mac = self.key.mac();
        mac.update(header_json);
        mac.update(body);
        signature::encode(&mac.finalize().into_bytes().into())
    }
}
