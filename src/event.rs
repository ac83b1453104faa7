//! What a verified delivery says, in types. Interpretation never fails a
//! delivery that verified: unknown entities and actions are kept as `Other`.

use std::fmt;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::canonical::{SignedHeaders, names};
use crate::keys::KeyId;
use crate::scheme::Signed;

macro_rules! vendor_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// Parses the header value; unknown values become `Other`.
            pub fn parse(value: &str) -> Self {
                match value {
                    $($text => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The value as the vendor sends it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vendor_enum;

vendor_enum! {
    /// What an event happened to (`X-Webhook-Entity`).
    Entity {
        /// `product`
        Product => "product",
        /// `product.variant`
        Variant => "product.variant",
        /// `order`
        Order => "order",
        /// `order.shipment`
        OrderShipment => "order.shipment",
        /// `customer`
        Customer => "customer",
        /// `category`
        Category => "category",
        /// `basket`
        Basket => "basket",
        /// `cart`: the store itself, as in lost-connection notices.
        Cart => "cart",
    }
}

vendor_enum! {
    /// What happened (`X-Webhook-Action`).
    Action {
        /// `add`
        Add => "add",
        /// `update`
        Update => "update",
        /// `delete`
        Delete => "delete",
    }
}

/// The sub-store an event happened on (`X-Webhook-Store-Id`; `"1"` on single-store carts).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreId(String);

impl StoreId {
    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A notice that the vendor lost its connection to the store: a non-zero
/// `X-Webhook-Error-Code`, sent with an empty body. The vendor disables the
/// webhook after five such failures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorNotice {
    /// `X-Webhook-Error-Code` as sent (never `"0"`).
    pub code: String,
    /// `X-Webhook-Error-Reason`.
    pub reason: Option<String>,
    /// `X-Webhook-Error-Message`, free text.
    pub message: Option<String>,
    /// `X-Webhook-Error-Try-Count`, when it is a number.
    pub try_count: Option<u32>,
}

/// A delivery whose signature verified (and that passed the freshness and
/// replay checks the verifier was configured with). Cheap to clone: the body
/// is reference-counted.
///
/// The accessors shared by every recipe are [`body`](Self::body),
/// [`payload`](Self::payload), [`key_id`](Self::key_id),
/// [`timestamp`](Self::timestamp), [`signed_header`](Self::signed_header) and
/// [`body_authenticated`](Self::body_authenticated); `entity`, `action`,
/// `store_id` and `error_notice` read API2Cart's headers (`None` under the
/// other recipes), [`message_id`](Self::message_id) Standard Webhooks'.
#[derive(Clone, Debug)]
pub struct VerifiedWebhook {
    scheme: &'static str,
    /// API2Cart's signed headers; empty under the other recipes.
    headers: SignedHeaders,
    /// The other recipes' signed headers: lowercase names, signing order.
    covered: Vec<(String, String)>,
    body: Bytes,
    key_id: KeyId,
    timestamp: Option<i64>,
    body_authenticated: bool,
}

impl VerifiedWebhook {
    /// An API2Cart delivery.
    #[cfg(test)]
    pub(crate) fn new(
        headers: SignedHeaders,
        body: Bytes,
        key_id: KeyId,
        timestamp: Option<i64>,
    ) -> Self {
        Self::from_parts(
            "api2cart",
            Signed::Api2Cart(headers),
            body,
            key_id,
            timestamp,
            true,
        )
    }

    pub(crate) fn from_parts(
        scheme: &'static str,
        signed: Signed,
        body: Bytes,
        key_id: KeyId,
        timestamp: Option<i64>,
        body_authenticated: bool,
    ) -> Self {
        let (headers, covered) = match signed {
            Signed::Api2Cart(headers) => (headers, Vec::new()),
            Signed::Headers(covered) => (SignedHeaders::default(), covered),
        };
        Self {
            scheme,
            headers,
            covered,
            body,
            key_id,
            timestamp,
            body_authenticated,
        }
    }

    /// The recipe that verified it ([`Scheme::name`](crate::Scheme::name)).
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// The value of a header the signature covers, by name in any case.
    pub fn signed_header(&self, name: &str) -> Option<&str> {
        if self.covered.is_empty() {
            return self.headers.get(&crate::canonical_name(name)?);
        }
        self.covered
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The headers the signature covers, as `(name, value)` in signing order:
    /// API2Cart's in vendor case, the other recipes' in lower case.
    pub fn signed_headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let others = self.covered.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        self.headers.iter().chain(others)
    }

    /// Standard Webhooks' `webhook-id`: the message's idempotency key, the
    /// same on every retry of one message.
    pub fn message_id(&self) -> Option<&str> {
        (self.scheme == crate::standard::NAME)
            .then(|| self.signed_header("webhook-id"))
            .flatten()
    }

    /// False when nothing binds the body to the signature: a URL token
    /// (which authenticates the URL only), or a UP42 delivery let through by
    /// [`danger_accept_unsigned_body`](crate::up42::Up42::danger_accept_unsigned_body).
    /// Such a body may have been written by anyone who saw one delivery.
    pub fn body_authenticated(&self) -> bool {
        self.body_authenticated
    }

    /// `X-Webhook-Entity`, when sent.
    pub fn entity(&self) -> Option<Entity> {
        self.headers.get(names::ENTITY).map(Entity::parse)
    }

    /// `X-Webhook-Action`, when sent.
    pub fn action(&self) -> Option<Action> {
        self.headers.get(names::ACTION).map(Action::parse)
    }

    /// `X-Webhook-Store-Id`, when sent.
    pub fn store_id(&self) -> Option<StoreId> {
        self.headers
            .get(names::STORE_ID)
            .map(|s| StoreId(s.to_owned()))
    }

    /// The signed timestamp in Unix seconds, when sent (API2Cart's
    /// `X-Webhook-Timestamp`, UP42's `created`, Standard's `webhook-timestamp`).
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The error notice, when `X-Webhook-Error-Code` is present and not `0`.
    pub fn error_notice(&self) -> Option<ErrorNotice> {
        let code = self.headers.get(names::ERROR_CODE)?;
        if code == "0" {
            return None;
        }
        let text = |name| self.headers.get(name).map(str::to_owned);
        Some(ErrorNotice {
            code: code.to_owned(),
            reason: text(names::ERROR_REASON),
            message: text(names::ERROR_MESSAGE),
            try_count: self
                .headers
                .get(names::ERROR_TRY_COUNT)
                .and_then(|n| n.parse().ok()),
        })
    }

    /// The id of the key that matched.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// Every signed `X-Webhook-*` header, in vendor case (API2Cart; empty
    /// under the other recipes).
    pub fn headers(&self) -> &SignedHeaders {
        &self.headers
    }

    /// The body exactly as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body, giving up the rest.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The body deserialized as JSON into `T` (e.g. `serde_json::Value`).
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(pairs: &[(&str, &str)]) -> VerifiedWebhook {
        let headers = SignedHeaders::from_pairs(pairs.iter().copied()).unwrap();
        VerifiedWebhook::new(
            headers,
            Bytes::new(),
            crate::SigningKey::new("k", "k").id().clone(),
            None,
        )
    }

    #[test]
    fn unknown_values_are_kept() {
        let e = event(&[
            ("x-webhook-entity", "giftcard"),
            ("x-webhook-action", "archive"),
        ]);
        assert_eq!(e.entity(), Some(Entity::Other("giftcard".into())));
        assert_eq!(e.action(), Some(Action::Other("archive".into())));
        assert_eq!(e.entity().unwrap().to_string(), "giftcard");
    }

    #[test]
    fn known_values_parse_and_print_back() {
        let e = event(&[
            ("x-webhook-entity", "order.shipment"),
            ("x-webhook-action", "delete"),
        ]);
        assert_eq!(e.entity(), Some(Entity::OrderShipment));
        assert_eq!(e.entity().unwrap().as_str(), "order.shipment");
        assert_eq!(e.action(), Some(Action::Delete));
    }

    #[test]
    fn error_notice_only_for_non_zero_code() {
        assert_eq!(event(&[("x-webhook-error-code", "0")]).error_notice(), None);
        let notice = event(&[
            ("x-webhook-error-code", "3"),
            ("x-webhook-error-reason", "connection"),
            ("x-webhook-error-message", "Store is unreachable"),
            ("x-webhook-error-try-count", "2"),
        ])
        .error_notice()
        .unwrap();
        assert_eq!(notice.code, "3");
        assert_eq!(notice.reason.as_deref(), Some("connection"));
        assert_eq!(notice.message.as_deref(), Some("Store is unreachable"));
        assert_eq!(notice.try_count, Some(2));
    }
}
