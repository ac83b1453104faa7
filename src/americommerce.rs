//! AmeriCommerce webhooks, as the receiver sees them: the 13 event types,
//! which of them wait for a reply, and the 3-second deadline they wait.
//!
//! AmeriCommerce POSTs each event to the subscribed URL and, for the event
//! types that expect one, waits up to [`REPLY_DEADLINE`] for the reply, whose
//! body goes back to the store (a tax, a price, a cart's errors). A late or
//! failed reply is handled by the subscription's failure type: ignored, an
//! error shown to the shopper, or the event sent again to a fallback URL.
//!
//! Which events expect a reply: the vendor's event table says yes for every
//! `Get*` and `Validate*` type and for `AuthorizingPayment` and
//! `CapturingPayment` ([`EventType::expects_reply`]). Its settings page says
//! replies are cached only for `Get*` and `Validate*` types
//! ([`EventType::caches_reply`]): a payment authorization is never answered
//! from a cache.
//!
//! The vendor's documentation does not describe how deliveries are signed;
//! the crate's mock (`mock::americommerce`, feature `mock`) signs them with the
//! crate's own recipe and the store key, naming the event type in the signed
//! [`EVENT_TYPE_HEADER`], so a [`Verifier`](crate::Verifier) and the layers
//! verify them unchanged and [`event_type`] reads the type off the result.
//!
//! With the `axum` or `actix` feature, [`ReplyBudget`] keeps a handler's reply
//! inside the deadline: when it overruns, the sender is answered at once with
//! a failure, so a fallback starts now rather than when the vendor gives up.
#![cfg_attr(
    any(feature = "axum", feature = "actix"),
    doc = "\n\nSee [`ReplyBudget`] for an axum example."
)]

use std::fmt;
use std::time::Duration;

use crate::VerifiedWebhook;
use crate::event::vendor_enum;

#[cfg(any(feature = "axum", feature = "actix"))]
mod reply;
mod url_token;

pub use url_token::UrlToken;

#[cfg(any(feature = "axum", feature = "actix"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "axum", feature = "actix"))))]
pub use reply::{DEFAULT_REPLY_BUDGET, Reply, ReplyBudget};

/// How long AmeriCommerce waits for the reply to an event that expects one.
pub const REPLY_DEADLINE: Duration = Duration::from_secs(3);

/// The signed header that names the event type (`X-Webhook-Event-Type: GetTax`).
pub const EVENT_TYPE_HEADER: &str = "X-Webhook-Event-Type";

vendor_enum! {
    /// An AmeriCommerce webhook event type, as the vendor spells it.
    EventType {
        /// A payment is being authorized; expects a reply.
        AuthorizingPayment => "AuthorizingPayment",
        /// A payment is being captured; expects a reply.
        CapturingPayment => "CapturingPayment",
        /// The price of one or more products; expects a reply.
        GetPrice => "GetPrice",
        /// The status of a product for display; expects a reply.
        GetProductStatus => "GetProductStatus",
        /// The tax of a cart; expects a reply.
        GetTax => "GetTax",
        /// An order was marked Approved.
        OrderApproved => "OrderApproved",
        /// An order was marked Canceled.
        OrderCanceled => "OrderCanceled",
        /// An order was marked Declined.
        OrderDeclined => "OrderDeclined",
        /// A new order was placed.
        OrderPlaced => "OrderPlaced",
        /// A payment finished processing.
        PaymentProcessed => "PaymentProcessed",
        /// A product's status changed.
        ProductStatusChanged => "ProductStatusChanged",
        /// The cart is checked for errors; expects a reply.
        ValidateCart => "ValidateCart",
        /// The checkout page is checked for errors; expects a reply.
        ValidateCheckout => "ValidateCheckout",
    }
}

impl EventType {
    /// The 13 types the vendor documents, in its table's order.
    pub const ALL: [Self; 13] = [
        Self::AuthorizingPayment,
        Self::CapturingPayment,
        Self::GetPrice,
        Self::GetProductStatus,
        Self::GetTax,
        Self::OrderApproved,
        Self::OrderCanceled,
        Self::OrderDeclined,
        Self::OrderPlaced,
        Self::PaymentProcessed,
        Self::ProductStatusChanged,
        Self::ValidateCart,
        Self::ValidateCheckout,
    ];

    /// True for the types the vendor waits on (up to [`REPLY_DEADLINE`]) and
    /// whose reply body it uses: the event table's "Reply? Yes" rows. An
    /// unknown type follows the settings page's rule (`Get*`, `Validate*`).
    pub fn expects_reply(&self) -> bool {
        matches!(self, Self::AuthorizingPayment | Self::CapturingPayment) || self.caches_reply()
    }

    /// True for the types whose replies the vendor may cache (the
    /// subscription's cache length applies): names beginning with `Get` or
    /// `Validate`. Payment replies are never cached.
    pub fn caches_reply(&self) -> bool {
        let name = self.as_str();
        name.starts_with("Get") || name.starts_with("Validate")
    }

    /// False for product events (`GetPrice`, `GetProductStatus`,
    /// `ProductStatusChanged`): products belong to no one store, so a
    /// subscription gets them whatever its store id.
    pub fn is_store_specific(&self) -> bool {
        !matches!(
            self,
            Self::GetPrice | Self::GetProductStatus | Self::ProductStatusChanged
        )
    }

    /// How long the vendor waits for the answer: [`REPLY_DEADLINE`] when a
    /// reply is expected, else `None` (the sender's own timeout applies).
    pub fn reply_deadline(&self) -> Option<Duration> {
        self.expects_reply().then_some(REPLY_DEADLINE)
    }

    /// True for one of the 13 documented types.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

/// The event type of a verified AmeriCommerce delivery, from its signed
/// [`EVENT_TYPE_HEADER`]; `None` when the delivery does not name one.
///
/// The header is covered by the signature, so a verified type cannot have
/// been changed on the way.
pub fn event_type(webhook: &VerifiedWebhook) -> Option<EventType> {
    webhook
        .headers()
        .get(EVENT_TYPE_HEADER)
        .map(EventType::parse)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::{KeySet, SignedHeaders, Signer, Verifier};

    #[test]
    fn every_type_parses_back_to_itself() {
        for event_type in EventType::ALL {
            assert_eq!(EventType::parse(event_type.as_str()), event_type);
            assert_eq!(event_type.to_string(), event_type.as_str());
            assert!(event_type.is_known());
        }
        assert_eq!(
            EventType::parse("gettax"),
            EventType::Other("gettax".into())
        );
        assert!(!EventType::parse("OrderShipped").is_known());
    }

    #[test]
    fn replies_follow_the_event_table_and_caches_the_settings_page() {
        let replying: Vec<&str> = EventType::ALL
            .iter()
            .filter(|t| t.expects_reply())
            .map(EventType::as_str)
            .collect();
        assert_eq!(
            replying,
            [
                "AuthorizingPayment",
                "CapturingPayment",
                "GetPrice",
                "GetProductStatus",
                "GetTax",
                "ValidateCart",
                "ValidateCheckout"
            ]
        );
        assert!(!EventType::AuthorizingPayment.caches_reply());
        assert!(!EventType::CapturingPayment.caches_reply());
        assert!(EventType::GetTax.caches_reply() && EventType::ValidateCart.caches_reply());
        assert!(!EventType::OrderPlaced.caches_reply());
        assert_eq!(EventType::GetTax.reply_deadline(), Some(REPLY_DEADLINE));
        assert_eq!(EventType::OrderPlaced.reply_deadline(), None);
        // Unknown types follow the naming rule.
        assert!(EventType::parse("GetShipping").expects_reply());
        assert!(!EventType::parse("OrderShipped").expects_reply());
    }

    #[test]
    fn product_events_are_not_store_specific() {
        let any_store: Vec<&str> = EventType::ALL
            .iter()
            .filter(|t| !t.is_store_specific())
            .map(EventType::as_str)
            .collect();
        assert_eq!(
            any_store,
            ["GetPrice", "GetProductStatus", "ProductStatusChanged"]
        );
    }

    #[test]
    fn the_type_is_read_off_the_signed_headers() {
        let body = br#"{"cart_id":1}"#;
        let signed = SignedHeaders::from_pairs([
            ("x-webhook-event-type", "GetTax"),
            ("x-webhook-store-id", "7"),
        ])
        .unwrap();
        let signature = Signer::new("k").sign(&signed, body);
        let headers = crate::DeliveryHeaders::from_pairs([
            ("x-webhook-event-type", "GetTax"),
            ("x-webhook-store-id", "7"),
            ("x-webhook-signature", signature.as_str()),
        ])
        .unwrap();
        let verifier = Verifier::new(KeySet::single("k"));
        let webhook =
            futures_executor::block_on(verifier.verify(headers, Bytes::from_static(body))).unwrap();
        assert_eq!(event_type(&webhook), Some(EventType::GetTax));
        assert_eq!(webhook.store_id().unwrap().as_str(), "7");
    }
}
