//! API2Cart, emulated: [`MockSender`] and what only this vendor has (its
//! delivery rules, `webhook.*` subscriptions, the failed log, the event
//! payloads, its side of the conformance runner). The transport, journal, faults and
//! clock it delivers with are the engine's, one floor down in `mock`.
//!
//! Layering, bottom up: `policy`, `payload`, `subscriptions`, `failed_log`,
//! `state`, `delivery`, `sender`, `conformance`.

mod conformance;
mod delivery;
mod failed_log;
mod payload;
mod policy;
mod sender;
mod state;
mod subscriptions;

pub use delivery::LostConnection;
pub use failed_log::{FailedQuery, FailedWebhook, FailedWebhooks};
pub use payload::Event;
pub use policy::Profile;
pub use sender::{BuildError, MockSender, MockSenderBuilder};
pub use subscriptions::{
    ApiError, Fields, NewSubscription, Subscription, SubscriptionFilter, SubscriptionUpdate,
    Subscriptions, SupportedEvent, WebhookId,
};
