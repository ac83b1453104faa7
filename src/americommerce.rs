//! AmeriCommerce (Cart.com) webhooks, as the receiver sees them: the 30 event
//! types, which of them wait for a reply, the 3-second deadline they wait,
//! and the request and reply bodies ([`payload`]).
//!
//! AmeriCommerce POSTs each event to the subscribed URL and, for the event
//! types that expect one, waits up to [`REPLY_DEADLINE`] for the reply, whose
//! body goes back to the store (a tax, a price, a cart's errors). A late or
//! failed reply is handled by the subscription's failure type: ignored, an
//! error shown to the shopper, or the event sent again to a fallback URL.
//!
//! Which events expect a reply: the REST docs' event table says yes for every
//! `Get*` and `Validate*` type and for `AuthorizingPayment` and
//! `CapturingPayment` ([`EventType::expects_reply`]). The settings page says
//! replies are cached only for `Get*` and `Validate*` types
//! ([`EventType::caches_reply`]): a payment authorization is never answered
//! from a cache.
//!
//! Deliveries are not signed: the vendor documents no signature, shared
//! secret or authentication header, and no header naming the event type or
//! the store. It POSTs to the URL exactly as registered, query string
//! included, so authenticate the URL: register it with a long random token
//! and check it with [`UrlToken`]. Since only one subscription may send an
//! event type to a URL, a receiver tells event types apart by the URL (a
//! route per type).
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

use crate::event::vendor_enum;

pub mod payload;
#[cfg(any(feature = "axum", feature = "actix"))]
mod reply;
mod url_token;

pub use url_token::UrlToken;

#[cfg(any(feature = "axum", feature = "actix"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "axum", feature = "actix"))))]
pub use reply::{DEFAULT_REPLY_BUDGET, Reply, ReplyBudget};

/// How long AmeriCommerce waits for the reply to an event that expects one.
pub const REPLY_DEADLINE: Duration = Duration::from_secs(3);

vendor_enum! {
    /// An AmeriCommerce webhook event type, as the vendor spells it.
    EventType {
        /// A payment is being authorized; expects a reply.
        AuthorizingPayment => "AuthorizingPayment",
        /// A payment is being captured; expects a reply.
        CapturingPayment => "CapturingPayment",
        /// A customer was created.
        CustomerCreated => "CustomerCreated",
        /// A customer's email address changed.
        CustomerEmailUpdated => "CustomerEmailUpdated",
        /// A customer's data changed.
        CustomerUpdated => "CustomerUpdated",
        /// A customer registered an account for the store.
        CustomerRegistered => "CustomerRegistered",
        /// The discounts of a cart; expects a reply.
        GetDiscount => "GetDiscount",
        /// The price of one or more products; expects a reply.
        GetPrice => "GetPrice",
        /// The status of a product for display; expects a reply.
        GetProductStatus => "GetProductStatus",
        /// The tax of a cart; expects a reply.
        GetTax => "GetTax",
        /// A new order of any status was created.
        NewOrder => "NewOrder",
        /// A new quote of any status was created.
        NewQuote => "NewQuote",
        /// A new order was created with a status other than canceled or declined.
        NewValidOrder => "NewValidOrder",
        /// An order's payment was approved.
        OrderApproved => "OrderApproved",
        /// An order was marked Canceled.
        OrderCanceled => "OrderCanceled",
        /// An order was marked Declined.
        OrderDeclined => "OrderDeclined",
        /// A new order was placed.
        OrderPlaced => "OrderPlaced",
        /// An order was marked Shipped.
        OrderShipped => "OrderShipped",
        /// An order's status changed.
        OrderStatusChanged => "OrderStatusChanged",
        /// An order's data changed.
        OrderUpdated => "OrderUpdated",
        /// A payment finished processing.
        PaymentProcessed => "PaymentProcessed",
        /// A product was created.
        ProductCreated => "ProductCreated",
        /// A product's status changed.
        ProductStatusChanged => "ProductStatusChanged",
        /// A product's data changed.
        ProductUpdated => "ProductUpdated",
        /// A quote's status changed.
        QuoteStatusChanged => "QuoteStatusChanged",
        /// A quote's data changed.
        QuoteUpdated => "QuoteUpdated",
        /// The cart is checked for errors; expects a reply.
        ValidateCart => "ValidateCart",
        /// The checkout page is checked for errors; expects a reply.
        ValidateCheckout => "ValidateCheckout",
        /// Customer data being changed is checked for errors; expects a reply.
        ValidateCustomer => "ValidateCustomer",
        /// Product data being changed is checked for errors; expects a reply.
        ValidateProduct => "ValidateProduct",
    }
}

impl EventType {
    /// The 30 types the vendor's REST docs list, in their table's order.
    pub const ALL: [Self; 30] = [
        Self::AuthorizingPayment,
        Self::CapturingPayment,
        Self::CustomerCreated,
        Self::CustomerEmailUpdated,
        Self::CustomerUpdated,
        Self::CustomerRegistered,
        Self::GetDiscount,
        Self::GetPrice,
        Self::GetProductStatus,
        Self::GetTax,
        Self::NewOrder,
        Self::NewQuote,
        Self::NewValidOrder,
        Self::OrderApproved,
        Self::OrderCanceled,
        Self::OrderDeclined,
        Self::OrderPlaced,
        Self::OrderShipped,
        Self::OrderStatusChanged,
        Self::OrderUpdated,
        Self::PaymentProcessed,
        Self::ProductCreated,
        Self::ProductStatusChanged,
        Self::ProductUpdated,
        Self::QuoteStatusChanged,
        Self::QuoteUpdated,
        Self::ValidateCart,
        Self::ValidateCheckout,
        Self::ValidateCustomer,
        Self::ValidateProduct,
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

    /// False for product events: the settings page says product events are
    /// not store specific, so a subscription gets them whatever its store
    /// id. The vendor gives no list; the crate counts the types about
    /// products (`GetPrice`, `GetProductStatus`, `ProductCreated`,
    /// `ProductStatusChanged`, `ProductUpdated`, `ValidateProduct`).
    pub fn is_store_specific(&self) -> bool {
        !matches!(
            self,
            Self::GetPrice
                | Self::GetProductStatus
                | Self::ProductCreated
                | Self::ProductStatusChanged
                | Self::ProductUpdated
                | Self::ValidateProduct
        )
    }

    /// How long the vendor waits for the answer: [`REPLY_DEADLINE`] when a
    /// reply is expected, else `None` (the sender's own timeout applies).
    pub fn reply_deadline(&self) -> Option<Duration> {
        self.expects_reply().then_some(REPLY_DEADLINE)
    }

    /// True for one of the 30 documented types.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_thirty_types_parse_back_to_their_variants() {
        let names = [
            "AuthorizingPayment",
            "CapturingPayment",
            "CustomerCreated",
            "CustomerEmailUpdated",
            "CustomerUpdated",
            "CustomerRegistered",
            "GetDiscount",
            "GetPrice",
            "GetProductStatus",
            "GetTax",
            "NewOrder",
            "NewQuote",
            "NewValidOrder",
            "OrderApproved",
            "OrderCanceled",
            "OrderDeclined",
            "OrderPlaced",
            "OrderShipped",
            "OrderStatusChanged",
            "OrderUpdated",
            "PaymentProcessed",
            "ProductCreated",
            "ProductStatusChanged",
            "ProductUpdated",
            "QuoteStatusChanged",
            "QuoteUpdated",
            "ValidateCart",
            "ValidateCheckout",
            "ValidateCustomer",
            "ValidateProduct",
        ];
        for (name, event_type) in names.iter().zip(EventType::ALL) {
            assert_eq!(EventType::parse(name), event_type);
            assert_eq!(event_type.to_string(), *name);
            assert!(event_type.is_known(), "{name}");
        }
        assert_eq!(names.len(), EventType::ALL.len());
        // Unknown names (and other spellings) are kept, never refused.
        assert_eq!(
            EventType::parse("gettax"),
            EventType::Other("gettax".into())
        );
        assert!(!EventType::parse("OrderRefunded").is_known());
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
                "GetDiscount",
                "GetPrice",
                "GetProductStatus",
                "GetTax",
                "ValidateCart",
                "ValidateCheckout",
                "ValidateCustomer",
                "ValidateProduct",
            ]
        );
        assert!(!EventType::AuthorizingPayment.caches_reply());
        assert!(!EventType::CapturingPayment.caches_reply());
        assert!(EventType::GetTax.caches_reply() && EventType::ValidateCart.caches_reply());
        assert!(!EventType::OrderPlaced.caches_reply());
        assert_eq!(EventType::GetTax.reply_deadline(), Some(REPLY_DEADLINE));
        assert_eq!(
            EventType::ValidateProduct.reply_deadline(),
            Some(REPLY_DEADLINE)
        );
        assert_eq!(EventType::OrderPlaced.reply_deadline(), None);
        assert_eq!(EventType::OrderShipped.reply_deadline(), None);
        // Unknown types follow the naming rule.
        assert!(EventType::parse("GetShipping").expects_reply());
        assert!(!EventType::parse("OrderRefunded").expects_reply());
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
            [
                "GetPrice",
                "GetProductStatus",
                "ProductCreated",
                "ProductStatusChanged",
                "ProductUpdated",
                "ValidateProduct",
            ]
        );
    }
}
