//! Request and reply bodies of AmeriCommerce events, from the field lists of
//! the vendor's REST docs (`docs/webhooks.md` of `AmeriCommerce/rest-api`).
//!
//! The docs give each event's field names and types (Integer, Decimal,
//! String, Boolean, Object, Array) and nothing more: no raw example, no word
//! on which fields are always there, and no word on whether a body is
//! wrapped in an envelope. These types read the fields at the top level, as
//! the lists show them; if a real delivery turns out to be wrapped, read it
//! as `serde_json::Value` and deserialize the inner object.
//!
//! Hence, on every type here:
//! - every field is optional (`None`, or an empty `Vec`, when absent);
//! - a field the docs do not list is kept in `extra` and written back as it
//!   came, so an unknown field never fails a parse;
//! - the models the docs only name ("an order model", "an address") stay
//!   `serde_json::Value`;
//! - Decimals are `f64`: exact enough to read and echo an amount, not to do
//!   money arithmetic on (convert to a decimal type for that);
//! - a listed field with another JSON type than the documented one is an
//!   error (a `Result`, never a panic).
//!
//! A receiver reads a request with
//! [`VerifiedWebhook::payload`](crate::VerifiedWebhook::payload) and answers
//! with the reply serialized; the mock (`mock::americommerce`) plays the
//! request types with `AmeriCommerceSender::play_payload`.
//!
//! ```
//! use webhook_guard::americommerce::payload::{GetTaxReply, GetTaxRequest, ItemTax};
//!
//! let request: GetTaxRequest = serde_json::from_str(
//!     r#"{"items":[{"cart_item_id":7,"price":10.0,"quantity":2}],"shipping_total":5.0}"#,
//! )?;
//! let reply = GetTaxReply {
//!     items: request
//!         .items
//!         .iter()
//!         .map(|item| ItemTax {
//!             cart_item_id: item.cart_item_id,
//!             tax_amount: Some(0.8 * item.quantity.unwrap_or(0) as f64),
//!             ..ItemTax::default()
//!         })
//!         .collect(),
//!     shipping_tax_amount: Some(0.4),
//!     ..GetTaxReply::default()
//! };
//! assert_eq!(
//!     serde_json::to_string(&reply)?,
//!     r#"{"items":[{"cart_item_id":7,"tax_amount":1.6}],"shipping_tax_amount":0.4}"#
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Whether a field is left out when written: an absent `Option` is, an
/// array never is (an empty `validation_messages` says "no errors").
trait Absent {
    fn absent(&self) -> bool;
}

impl<T> Absent for Option<T> {
    fn absent(&self) -> bool {
        self.is_none()
    }
}

impl<T> Absent for Vec<T> {
    fn absent(&self) -> bool {
        false
    }
}

fn absent<T: Absent>(value: &T) -> bool {
    value.absent()
}

/// One body type: the listed fields, each optional, plus `extra`.
macro_rules! body {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "absent")]
                pub $field: $ty,
            )*
            /// Fields the docs do not list, kept as they came.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

body! {
    /// `AuthorizingPayment`, `CapturingPayment` and `PaymentProcessed` requests.
    PaymentRequest {
        /// The order payment model of the `order_payments` resource.
        order_payment: Option<Value>,
    }
}

body! {
    /// The reply to `AuthorizingPayment` and `CapturingPayment`.
    PaymentReply {
        /// Whether the authorization (or capture) was approved.
        approved: Option<bool>,
        /// Whether it was declined.
        declined: Option<bool>,
        /// The processor's authorization code, if it gave one.
        authorization_code: Option<String>,
        /// The processor's transaction id, if it gave one.
        transaction_id: Option<String>,
        /// The processor's AVS code, if it uses AVS.
        avs_code: Option<String>,
        /// Why it was declined.
        reject_reason: Option<String>,
        /// Anything else about it.
        notes: Option<String>,
        /// What remains to pay when it did not cover the balance (Decimal).
        outstanding_balance: Option<f64>,
    }
}

body! {
    /// `CustomerCreated`, `CustomerUpdated`, `CustomerRegistered` and
    /// `ValidateCustomer` requests.
    CustomerRequest {
        /// The customer model of the `customers` resource.
        customer: Option<Value>,
    }
}

body! {
    /// The `CustomerEmailUpdated` request.
    CustomerEmailUpdatedRequest {
        /// The address before the change.
        old_email: Option<String>,
        /// The new address.
        new_email: Option<String>,
        /// The customer model of the `customers` resource.
        customer: Option<Value>,
    }
}

body! {
    /// One item's discount in a [`GetDiscountReply`].
    CartItemDiscount {
        /// Must match the request's `cart_id`.
        cart_id: Option<i64>,
        /// An optional item-level description.
        description: Option<String>,
        /// The discount for this item (Decimal).
        discount_amount: Option<f64>,
    }
}

body! {
    /// The reply to `GetDiscount`.
    GetDiscountReply {
        /// Item-level discounts.
        cart_items: Vec<CartItemDiscount>,
        /// Items added to the cart by the discount (price, product_id,
        /// quantity, variant_inventory_item_number, variants).
        add_items: Vec<Value>,
        /// Descriptions of all discounts applied.
        description: Vec<String>,
        /// A discount on top of the item-level ones (Decimal).
        discount: Option<f64>,
        /// A separate shipping discount (Decimal).
        shipping_discount: Option<f64>,
    }
}

body! {
    /// One item of a [`GetPriceRequest`].
    PriceItem {
        /// The product's item number.
        item_number: Option<String>,
        /// How many the price is for.
        quantity: Option<i64>,
        /// The selected `product_variants` ids.
        variant_ids: Vec<i64>,
        /// The `variant_inventory` record's id.
        variant_inventory_id: Option<i64>,
    }
}

body! {
    /// The `GetPrice` request.
    GetPriceRequest {
        /// The items to price.
        items: Vec<PriceItem>,
        /// The customer type in effect.
        customer_type_id: Option<i64>,
    }
}

body! {
    /// One price in a [`GetPriceReply`].
    Price {
        /// One of the request's item numbers.
        item_number: Option<String>,
        /// The final price (Decimal).
        price: Option<f64>,
        /// The seller's cost (Decimal).
        cost: Option<f64>,
        /// The retail price (Decimal).
        retail: Option<f64>,
        /// The cost without a sale discount (Decimal).
        pre_sale_cost: Option<f64>,
        /// The price without a sale discount (Decimal).
        pre_sale_price: Option<f64>,
    }
}

body! {
    /// The reply to `GetPrice`.
    GetPriceReply {
        /// One price per item asked for.
        prices: Vec<Price>,
    }
}

body! {
    /// A product and its inventory: each item of a `GetProductStatus`
    /// request, and the `item` of `ProductStatusChanged`.
    ProductStatusItem {
        /// The product's id.
        product_id: Option<i64>,
        /// The `variant_inventory` record's id, if there is one.
        variant_inventory_id: Option<i64>,
        /// The current product status id.
        product_status_id: Option<i64>,
        /// The product model of the `products` resource.
        product: Option<Value>,
        /// The `variant_inventory` model.
        variant_inventory: Option<Value>,
        /// The `product_statuses` model.
        product_status: Option<Value>,
        /// Current stock.
        inventory: Option<i64>,
        /// The product's item number.
        item_number: Option<String>,
        /// The manufacturer's item number.
        manufacturer_item_number: Option<String>,
    }
}

body! {
    /// The `GetProductStatus` request.
    GetProductStatusRequest {
        /// The products whose status is asked for.
        items: Vec<ProductStatusItem>,
    }
}

body! {
    /// The `ProductStatusChanged` request.
    ProductStatusChangedRequest {
        /// The product whose status changed.
        item: Option<ProductStatusItem>,
    }
}

body! {
    /// One product's status in a [`GetProductStatusReply`].
    ProductStatus {
        /// The product it is for.
        product_id: Option<i64>,
        /// The `variant_inventory` record, if there is one.
        variant_inventory_id: Option<i64>,
        /// Current stock.
        inventory: Option<i64>,
        /// The status text shown on storefront pages.
        status_display_text: Option<String>,
        /// The product status id to set.
        product_status_id: Option<i64>,
        /// Not available for purchase.
        is_unavailable: Option<bool>,
        /// Hidden from customers.
        is_hidden: Option<bool>,
        /// Back-ordered.
        is_back_ordered: Option<bool>,
    }
}

body! {
    /// The reply to `GetProductStatus`.
    GetProductStatusReply {
        /// One status per product asked for.
        items: Vec<ProductStatus>,
    }
}

body! {
    /// One cart item of a [`GetTaxRequest`].
    TaxItem {
        /// The `cart_items` id; the reply names it again.
        cart_item_id: Option<i64>,
        /// The product's item number.
        item_number: Option<String>,
        /// The product's name.
        item_name: Option<String>,
        /// The manufacturer's item number.
        manufacturer_item_number: Option<String>,
        /// The price in the cart (Decimal).
        price: Option<f64>,
        /// The price with discounts applied (Decimal).
        discounted_price: Option<f64>,
        /// How many are in the cart.
        quantity: Option<i64>,
        /// Flagged as tax exempt.
        is_tax_exempt: Option<bool>,
        /// The tax exempt code, if there is one.
        tax_code: Option<String>,
        /// Price times quantity (Decimal).
        line_item_subtotal: Option<f64>,
        /// The warehouse it ships from (a `warehouses` model).
        origin_address: Option<Value>,
        /// Where it ships to (an `addresses` model).
        destination_address: Option<Value>,
    }
}

body! {
    /// The `GetTax` request.
    GetTaxRequest {
        /// The cart's items.
        items: Vec<TaxItem>,
        /// The cart's shipping (Decimal).
        shipping_total: Option<f64>,
        /// The cart's handling (Decimal).
        handling_total: Option<f64>,
    }
}

body! {
    /// One item's tax in a [`GetTaxReply`].
    ItemTax {
        /// A `cart_item_id` of the request.
        cart_item_id: Option<i64>,
        /// The item's tax (Decimal).
        tax_amount: Option<f64>,
    }
}

body! {
    /// The reply to `GetTax`.
    GetTaxReply {
        /// The tax of each item.
        items: Vec<ItemTax>,
        /// The tax on shipping (Decimal).
        shipping_tax_amount: Option<f64>,
        /// The tax on handling (Decimal).
        handling_tax_amount: Option<f64>,
    }
}

body! {
    /// `NewOrder`, `NewValidOrder`, `OrderApproved`, `OrderCanceled`,
    /// `OrderDeclined`, `OrderPlaced` and `OrderShipped` requests.
    OrderRequest {
        /// The order model of the `orders` resource.
        order: Option<Value>,
    }
}

body! {
    /// The `OrderStatusChanged` request.
    OrderStatusChangedRequest {
        /// The order model of the `orders` resource.
        order: Option<Value>,
        /// The status before (an `order_statuses` model).
        old_status: Option<Value>,
        /// The status after (an `order_statuses` model).
        new_status: Option<Value>,
    }
}

body! {
    /// `ProductCreated`, `ProductUpdated` and `ValidateProduct` requests.
    ProductRequest {
        /// The product model of the `products` resource.
        product: Option<Value>,
    }
}

body! {
    /// `NewQuote` and `QuoteUpdated` requests.
    QuoteRequest {
        /// The quote model of the `quotes` resource.
        quote: Option<Value>,
    }
}

body! {
    /// The `QuoteStatusChanged` request.
    QuoteStatusChangedRequest {
        /// The quote model of the `quotes` resource.
        quote: Option<Value>,
        /// The status before (an `order_statuses` model, as the docs say).
        old_status: Option<Value>,
        /// The status after.
        new_status: Option<Value>,
    }
}

body! {
    /// The `ValidateCart` request.
    ValidateCartRequest {
        /// The cart model of the `carts` resource.
        cart: Option<Value>,
    }
}

body! {
    /// An order custom field entered at checkout.
    CustomFieldValue {
        /// The field's name.
        name: Option<String>,
        /// What was entered.
        value: Option<String>,
    }
}

body! {
    /// A payment applied at checkout.
    PaymentAmount {
        /// The payment method's name.
        name: Option<String>,
        /// The amount (Decimal).
        amount: Option<f64>,
    }
}

body! {
    /// The `ValidateCheckout` request.
    ValidateCheckoutRequest {
        /// The customer model.
        customer: Option<Value>,
        /// The billing address model.
        billing_address: Option<Value>,
        /// The shipping address model.
        shipping_address: Option<Value>,
        /// The cart model.
        cart: Option<Value>,
        /// The order custom fields entered.
        order_custom_fields: Vec<CustomFieldValue>,
        /// "Is a Gift" was checked.
        is_gift: Option<bool>,
        /// The gift message.
        gift_message: Option<String>,
        /// The order comments.
        order_comments: Option<String>,
        /// The names of the shipping methods selected.
        shipping_methods: Vec<String>,
        /// The payments applied.
        payment_methods: Vec<PaymentAmount>,
    }
}

body! {
    /// The reply to every `Validate*` event: messages to show the user,
    /// none when all is well.
    ValidationReply {
        /// The messages.
        validation_messages: Vec<String>,
    }
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;

    /// `value` read as `T` and written back: the same JSON.
    fn round_trip<T: Serialize + DeserializeOwned>(value: &Value) -> T {
        let typed: T = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(&serde_json::to_value(&typed).unwrap(), value);
        typed
    }

    #[test]
    fn get_tax_round_trips_every_documented_field_and_keeps_unknown_ones() {
        let request = json!({
            "items": [{
                "cart_item_id": 11,
                "item_number": "CBL-3",
                "item_name": "Cable 3/4\"",
                "manufacturer_item_number": "M-3",
                "price": 9.5,
                "discounted_price": 8.25,
                "quantity": 2,
                "is_tax_exempt": false,
                "tax_code": "EX1",
                "line_item_subtotal": 19.0,
                "origin_address": {"city": "Beaumont"},
                "destination_address": {"city": "Austin"},
                "warehouse_note": "undocumented"
            }],
            "shipping_total": 5.0,
            "handling_total": 1.5,
            "envelope_id": "undocumented"
        });
        let typed: GetTaxRequest = round_trip(&request);
        let item = &typed.items[0];
        assert_eq!(item.cart_item_id, Some(11));
        assert_eq!(item.discounted_price, Some(8.25));
        assert_eq!(item.is_tax_exempt, Some(false));
        assert_eq!(item.extra["warehouse_note"], "undocumented");
        assert_eq!(typed.handling_total, Some(1.5));
        assert_eq!(typed.extra["envelope_id"], "undocumented");

        let reply: GetTaxReply = round_trip(&json!({
            "items": [{"cart_item_id": 11, "tax_amount": 1.52}],
            "shipping_tax_amount": 0.4,
            "handling_tax_amount": 0.12
        }));
        assert_eq!(reply.items[0].tax_amount, Some(1.52));
    }

    #[test]
    fn replies_round_trip_their_documented_fields() {
        let validation: ValidationReply =
            round_trip(&json!({"validation_messages": ["PO box not allowed"]}));
        assert_eq!(validation.validation_messages, ["PO box not allowed"]);
        let price: GetPriceReply = round_trip(&json!({"prices": [{
            "item_number": "CBL-3", "price": 9.5, "cost": 4.0, "retail": 12.0,
            "pre_sale_cost": 4.5, "pre_sale_price": 11.0
        }]}));
        assert_eq!(price.prices[0].pre_sale_price, Some(11.0));
        let status: GetProductStatusReply = round_trip(&json!({"items": [{
            "product_id": 86, "variant_inventory_id": 3, "inventory": 0,
            "status_display_text": "Back soon", "product_status_id": 4,
            "is_unavailable": true, "is_hidden": false, "is_back_ordered": true
        }]}));
        assert_eq!(status.items[0].is_back_ordered, Some(true));
        let payment: PaymentReply = round_trip(&json!({
            "approved": true, "declined": false, "authorization_code": "A1",
            "transaction_id": "T9", "avs_code": "Y", "reject_reason": "",
            "notes": "ok", "outstanding_balance": 0.0
        }));
        assert_eq!(payment.authorization_code.as_deref(), Some("A1"));
        let discount: GetDiscountReply = round_trip(&json!({
            "cart_items": [{"cart_id": 5, "description": "10% off", "discount_amount": 1.0}],
            "add_items": [{"product_id": 9, "quantity": 1, "price": 0.0}],
            "description": ["Spring sale"], "discount": 2.0, "shipping_discount": 3.0
        }));
        assert_eq!(discount.cart_items[0].cart_id, Some(5));
    }

    #[test]
    fn order_status_changed_keeps_the_models_as_sent() {
        let typed: OrderStatusChangedRequest = round_trip(&json!({
            "order": {"id": 42, "grand_total": 25.0},
            "old_status": {"id": 1, "name": "Pending"},
            "new_status": {"id": 2, "name": "Shipped"}
        }));
        assert_eq!(typed.new_status.unwrap()["name"], "Shipped");
    }

    #[test]
    fn absent_fields_stay_absent_and_arrays_are_always_written() {
        let empty: GetTaxRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, GetTaxRequest::default());
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"items":[]}"#);
        assert_eq!(
            serde_json::to_string(&ValidationReply::default()).unwrap(),
            r#"{"validation_messages":[]}"#
        );
    }

    #[test]
    fn a_documented_field_of_another_type_is_an_error_not_a_panic() {
        assert!(serde_json::from_str::<GetTaxRequest>(r#"{"items":"none"}"#).is_err());
        assert!(serde_json::from_str::<PaymentReply>(r#"{"approved":"yes"}"#).is_err());
        assert!(serde_json::from_str::<GetTaxRequest>("[1]").is_err());
    }
}
