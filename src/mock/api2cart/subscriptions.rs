//! Webhook subscriptions as the vendor's API keeps them: `webhook.create`,
//! `list`, `count`, `update`, `delete` and `events`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::Uri;
use serde_json::{Value, json};

use crate::mock::clock::utc_date_time;
use crate::mock::journal::{Attempt, Delivery, Expectation, Vendor};
use crate::mock::target::CallbackRule;
use crate::{Action, Clock, Entity};

/// The vendor's most entities per `list` page, and the default page size.
const MAX_PAGE: usize = 250;
const DEFAULT_PAGE: usize = 10;

/// The size of a page of `webhook.list` or `account.failed_webhooks`: `count`
/// or 10, and never over 250, as the vendor refuses larger pages.
pub(crate) fn page_size(count: Option<usize>) -> Result<usize, ApiError> {
    let count = count.unwrap_or(DEFAULT_PAGE);
    if count > MAX_PAGE {
        return Err(ApiError::invalid("count", "at most 250"));
    }
    Ok(count)
}

/// The id of a subscription (a "webhook" in the vendor's words), as
/// `webhook.create` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookId(u64);

impl WebhookId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for WebhookId {
    type Err = ApiError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim()
            .parse()
            .map(Self)
            .map_err(|_| ApiError::invalid("id", "not a webhook id"))
    }
}

/// Which top-level body fields a subscription sends (`fields` in the vendor's
/// API): all of them (`force_all`, the default) or the listed ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Fields {
    /// Every field (`force_all`).
    #[default]
    All,
    /// Only these top-level fields of a JSON object body.
    Only(Vec<String>),
}

impl Fields {
    /// Parses the vendor's parameter: `force_all` (or nothing) for all
    /// fields, else a comma-separated list (`id,name`).
    pub fn parse(param: &str) -> Self {
        let names: Vec<String> = param
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        if names.is_empty() || names.iter().any(|name| name == "force_all") {
            Self::All
        } else {
            Self::Only(names)
        }
    }

    /// The vendor's parameter: `force_all` or `id,name`.
    pub fn to_param(&self) -> String {
        match self {
            Self::All => "force_all".to_owned(),
            Self::Only(names) => names.join(","),
        }
    }
}

/// An event a subscription can be created for (`webhook.events`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SupportedEvent {
    entity: Entity,
    action: Action,
}

impl SupportedEvent {
    /// `action` on `entity`.
    pub fn new(entity: Entity, action: Action) -> Self {
        Self { entity, action }
    }

    /// The entity.
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The action.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// The events the mock supports unless told otherwise: `add`, `update`
    /// and `delete` on every entity the crate knows but `cart`.
    pub fn defaults() -> Vec<Self> {
        let entities = [
            Entity::Product,
            Entity::Variant,
            Entity::Order,
            Entity::OrderShipment,
            Entity::Customer,
            Entity::Category,
            Entity::Basket,
        ];
        entities
            .into_iter()
            .flat_map(|entity| {
                [Action::Add, Action::Update, Action::Delete]
                    .into_iter()
                    .map(move |action| Self::new(entity.clone(), action))
            })
            .collect()
    }
}

impl fmt::Display for SupportedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.entity, self.action)
    }
}

/// A subscription: where and how one kind of event is delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    id: WebhookId,
    entity: Entity,
    action: Action,
    callback: String,
    label: Option<String>,
    fields: Fields,
    active: bool,
    store_id: String,
    created_at: i64,
    updated_at: i64,
}

impl Subscription {
    /// The id.
    pub fn id(&self) -> WebhookId {
        self.id
    }

    /// The entity it is for.
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The action it is for.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// Where events are POSTed.
    pub fn callback(&self) -> &str {
        &self.callback
    }

    /// The name given to it.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Which body fields it sends.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Whether events are delivered.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The (sub-)store it is for.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// When it was created (the sender's clock, Unix seconds).
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// When it was last changed (the sender's clock, Unix seconds).
    pub fn updated_at(&self) -> i64 {
        self.updated_at
    }

    /// The entry as `webhook.list` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.get(),
            "label": self.label,
            "store_id": self.store_id,
            "active": self.active,
            "callback": self.callback,
            "fields": self.fields.to_param(),
            "created_at": vendor_time(self.created_at),
            "updated_at": vendor_time(self.updated_at),
            "entity": self.entity.as_str(),
            "action": self.action.as_str(),
        })
    }
}

/// The parameters of `webhook.create`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubscription {
    entity: Entity,
    action: Action,
    callback: Option<String>,
    label: Option<String>,
    fields: Fields,
    active: bool,
    store_id: Option<String>,
}

impl NewSubscription {
    /// A subscription to `action` on `entity`: active, every field, to the
    /// sender's callback, for the sender's store id.
    pub fn new(entity: Entity, action: Action) -> Self {
        Self {
            entity,
            action,
            callback: None,
            label: None,
            fields: Fields::All,
            active: true,
            store_id: None,
        }
    }

    /// Where to POST (default: the sender's callback; required when it has none).
    #[must_use]
    pub fn callback(mut self, callback: impl Into<String>) -> Self {
        self.callback = Some(callback.into());
        self
    }

    /// A name for it.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Which body fields to send.
    #[must_use]
    pub fn fields(mut self, fields: Fields) -> Self {
        self.fields = fields;
        self
    }

    /// Whether it starts active (default: yes).
    #[must_use]
    pub fn active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// The (sub-)store it is for (default: the sender's store id).
    #[must_use]
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = Some(store_id.into());
        self
    }
}

/// The parameters of `webhook.update`: only these four can change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionUpdate {
    callback: Option<String>,
    label: Option<String>,
    fields: Option<Fields>,
    active: Option<bool>,
}

impl SubscriptionUpdate {
    /// Changes nothing until told to.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new callback.
    #[must_use]
    pub fn callback(mut self, callback: impl Into<String>) -> Self {
        self.callback = Some(callback.into());
        self
    }

    /// A new label.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// New fields.
    #[must_use]
    pub fn fields(mut self, fields: Fields) -> Self {
        self.fields = Some(fields);
        self
    }

    /// Activates or deactivates it.
    #[must_use]
    pub fn active(mut self, active: bool) -> Self {
        self.active = Some(active);
        self
    }

    /// Reads the vendor's `webhook.update` parameters by name. Only
    /// `callback`, `label`, `fields` and `active` (`true`/`false`/`1`/`0`)
    /// may change; any other parameter (`entity`, `action`, `store_id`, ...)
    /// is refused with [`ApiError::NotUpdatable`], as the vendor refuses it.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ApiError> {
        let mut update = Self::new();
        for (name, value) in params {
            match name {
                "callback" => update.callback = Some(value.to_owned()),
                "label" => update.label = Some(value.to_owned()),
                "fields" => update.fields = Some(Fields::parse(value)),
                "active" => {
                    update.active = Some(match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(ApiError::invalid("active", "expected true or false")),
                    })
                }
                other => {
                    return Err(ApiError::NotUpdatable {
                        param: other.to_owned(),
                    });
                }
            }
        }
        Ok(update)
    }
}

/// The filters and page of `webhook.list` and `webhook.count`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionFilter {
    entity: Option<Entity>,
    action: Option<Action>,
    active: Option<bool>,
    ids: Option<Vec<WebhookId>>,
    start: usize,
    count: Option<usize>,
}

impl SubscriptionFilter {
    /// Every subscription (first page of 10 for `list`, as the vendor pages).
    pub fn new() -> Self {
        Self::default()
    }

    /// Only those for `entity`.
    #[must_use]
    pub fn entity(mut self, entity: Entity) -> Self {
        self.entity = Some(entity);
        self
    }

    /// Only those for `action`.
    #[must_use]
    pub fn action(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }

    /// Only active (or only inactive) ones.
    #[must_use]
    pub fn active(mut self, active: bool) -> Self {
        self.active = Some(active);
        self
    }

    /// Only these ids.
    #[must_use]
    pub fn ids(mut self, ids: impl IntoIterator<Item = WebhookId>) -> Self {
        self.ids = Some(ids.into_iter().collect());
        self
    }

    /// Skip the first `start` (for `list`).
    #[must_use]
    pub fn start(mut self, start: usize) -> Self {
        self.start = start;
        self
    }

    /// At most `count` (for `list`; default 10, at most 250).
    #[must_use]
    pub fn count(mut self, count: usize) -> Self {
        self.count = Some(count);
        self
    }

    fn matches(&self, subscription: &Subscription) -> bool {
        self.entity
            .as_ref()
            .is_none_or(|e| *e == subscription.entity)
            && self
                .action
                .as_ref()
                .is_none_or(|a| *a == subscription.action)
            && self.active.is_none_or(|a| a == subscription.active)
            && self
                .ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&subscription.id))
    }
}

/// What the vendor's API refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiError {
    /// No subscription has this id.
    UnknownWebhook(WebhookId),
    /// The store does not support this event (see `webhook.events`).
    UnsupportedEvent {
        /// The entity asked for.
        entity: String,
        /// The action asked for.
        action: String,
    },
    /// `webhook.update` cannot change this parameter: only `callback`,
    /// `label`, `fields` and `active` can.
    NotUpdatable {
        /// The parameter refused.
        param: String,
    },
    /// A parameter has a value the API does not accept.
    InvalidParam {
        /// The parameter.
        param: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl ApiError {
    pub(crate) fn invalid(param: &'static str, reason: &'static str) -> Self {
        Self::InvalidParam { param, reason }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownWebhook(id) => write!(f, "no webhook with id {id}"),
            Self::UnsupportedEvent { entity, action } => {
                write!(f, "the store does not support the event {entity}.{action}")
            }
            Self::NotUpdatable { param } => write!(
                f,
                "webhook.update cannot change `{param}`: only callback, label, fields and active can change"
            ),
            Self::InvalidParam { param, reason } => write!(f, "`{param}`: {reason}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// Every subscription of one sender.
#[derive(Debug, Default)]
pub(crate) struct Store {
    next_id: u64,
    items: BTreeMap<WebhookId, Subscription>,
    /// Failed attempts to reach the store in a row (lost-connection notices).
    pub(crate) store_failures: u32,
}

impl Store {
    /// The active subscriptions for `entity`/`action` on `store_id`, in id order.
    pub(crate) fn matching(
        &self,
        entity: &Entity,
        action: &Action,
        store_id: &str,
    ) -> Vec<Subscription> {
        self.items
            .values()
            .filter(|s| s.active && s.entity == *entity && s.action == *action)
            .filter(|s| s.store_id == store_id)
            .cloned()
            .collect()
    }

    /// Every active subscription, in id order.
    pub(crate) fn active(&self) -> Vec<Subscription> {
        self.items.values().filter(|s| s.active).cloned().collect()
    }

    /// Deactivates every subscription (the vendor's answer to a store it
    /// keeps failing to reach).
    pub(crate) fn deactivate_all(&mut self, now: i64) {
        for subscription in self.items.values_mut().filter(|s| s.active) {
            subscription.active = false;
            subscription.updated_at = now;
        }
    }
}

/// The subscription side of a sender: its store of subscriptions and what
/// `webhook.*` checks them against. The sender's deliveries read it too.
pub(crate) struct Registry {
    pub(crate) store_id: String,
    pub(crate) clock: Arc<dyn Clock>,
    /// How callbacks must look for the sender's transport.
    pub(crate) rule: CallbackRule,
    /// The default callback; `None` only over HTTP without one.
    pub(crate) callback: Option<String>,
    pub(crate) supported_events: Vec<SupportedEvent>,
    pub(crate) store: Mutex<Store>,
}

impl Registry {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic elsewhere leaves nothing here half-updated that matters.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Parses a callback the transport can deliver to.
    pub(crate) fn check_callback(&self, callback: &str) -> Result<Uri, ApiError> {
        if callback.is_empty() {
            return Err(ApiError::invalid(
                "callback",
                "missing, and the sender has no default callback",
            ));
        }
        self.rule
            .parse(callback)
            .map_err(|reason| ApiError::invalid("callback", reason))
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("store_id", &self.store_id)
            .field("callback", &self.callback)
            .field("count", &self.store().items.len())
            .finish_non_exhaustive()
    }
}

// The journal keeps the vendor's subscription id as text; these are its
// API2Cart names.

impl Attempt {
    /// The API2Cart subscription it was sent for; `None` for
    /// [`MockSender::send`](super::MockSender::send) and other vendors.
    pub fn webhook_id(&self) -> Option<WebhookId> {
        api2cart_webhook(self.vendor(), self.endpoint())
    }
}

impl Delivery {
    /// The API2Cart subscription it was sent for; `None` for
    /// [`MockSender::send`](super::MockSender::send) and other vendors.
    pub fn webhook_id(&self) -> Option<WebhookId> {
        api2cart_webhook(self.vendor(), self.endpoint())
    }
}

fn api2cart_webhook(vendor: Vendor, endpoint: Option<&str>) -> Option<WebhookId> {
    (vendor == Vendor::Api2Cart)
        .then(|| endpoint?.parse().ok().map(WebhookId))
        .flatten()
}

impl Expectation {
    /// Only those sent for subscription `webhook`.
    #[must_use]
    pub fn webhook(self, webhook: WebhookId) -> Self {
        self.subscription(webhook.get())
    }
}

/// The subscription API of a [`MockSender`](super::MockSender), named after
/// the vendor's `webhook.*` methods. Made by
/// [`MockSender::subscriptions`](super::MockSender::subscriptions).
///
/// ```
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use webhook_guard::mock::{ApiError, Fields, MockSender, NewSubscription, SubscriptionUpdate};
/// use webhook_guard::{Action, Entity};
///
/// let sender = MockSender::builder("store-key").url("http://127.0.0.1:9/webhooks").build()?;
/// let hooks = sender.subscriptions();
/// let id = hooks.create(
///     NewSubscription::new(Entity::Product, Action::Add)
///         .label("new products")
///         .fields(Fields::parse("id,name")),
/// )?;
/// assert_eq!(hooks.count(&Default::default()), 1);
///
/// // Only callback, label, fields and active can change.
/// hooks.update(id, SubscriptionUpdate::new().active(false))?;
/// let refused = hooks.update_params(id, [("entity", "order")]).unwrap_err();
/// assert_eq!(refused, ApiError::NotUpdatable { param: "entity".into() });
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Clone, Copy)]
pub struct Subscriptions<'a> {
    registry: &'a Registry,
}

impl fmt::Debug for Subscriptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriptions")
            .field("count", &self.registry.store().items.len())
            .finish()
    }
}

impl<'a> Subscriptions<'a> {
    pub(crate) fn new(registry: &'a Registry) -> Self {
        Self { registry }
    }

    /// `webhook.events`: the events subscriptions can be created for.
    pub fn events(&self) -> Vec<SupportedEvent> {
        self.registry.supported_events.clone()
    }

    /// `webhook.create`: a new subscription, and its id.
    ///
    /// Refused when the event is not supported, or the callback is not a URL
    /// the sender can deliver to, or is missing and the sender has no
    /// default ([`MockSenderBuilder::http`](super::MockSenderBuilder::http)).
    pub fn create(&self, new: NewSubscription) -> Result<WebhookId, ApiError> {
        let supported = self
            .registry
            .supported_events
            .iter()
            .any(|e| e.entity == new.entity && e.action == new.action);
        if !supported {
            return Err(ApiError::UnsupportedEvent {
                entity: new.entity.as_str().to_owned(),
                action: new.action.as_str().to_owned(),
            });
        }
        let callback = new
            .callback
            .or_else(|| self.registry.callback.clone())
            .unwrap_or_default();
        self.registry.check_callback(&callback)?;
        let now = self.registry.clock.now();
        let mut store = self.registry.store();
        store.next_id += 1;
        let id = WebhookId(store.next_id);
        store.items.insert(
            id,
            Subscription {
                id,
                entity: new.entity,
                action: new.action,
                callback,
                label: new.label,
                fields: new.fields,
                active: new.active,
                store_id: new
                    .store_id
                    .unwrap_or_else(|| self.registry.store_id.clone()),
                created_at: now,
                updated_at: now,
            },
        );
        Ok(id)
    }

    /// One subscription.
    pub fn get(&self, id: WebhookId) -> Result<Subscription, ApiError> {
        self.registry
            .store()
            .items
            .get(&id)
            .cloned()
            .ok_or(ApiError::UnknownWebhook(id))
    }

    /// `webhook.list`: the subscriptions `filter` selects, one page of them
    /// in id order. A page over 250 is refused, as the vendor refuses it.
    pub fn list(&self, filter: &SubscriptionFilter) -> Result<Vec<Subscription>, ApiError> {
        let count = page_size(filter.count)?;
        Ok(self
            .registry
            .store()
            .items
            .values()
            .filter(|s| filter.matches(s))
            .skip(filter.start)
            .take(count)
            .cloned()
            .collect())
    }

    /// `webhook.count`: how many subscriptions `filter` selects (its page is ignored).
    pub fn count(&self, filter: &SubscriptionFilter) -> usize {
        self.registry
            .store()
            .items
            .values()
            .filter(|s| filter.matches(s))
            .count()
    }

    /// `webhook.update`: changes the callback, label, fields or active flag.
    pub fn update(&self, id: WebhookId, update: SubscriptionUpdate) -> Result<(), ApiError> {
        if let Some(callback) = &update.callback {
            self.registry.check_callback(callback)?;
        }
        let now = self.registry.clock.now();
        let reactivated = update.active == Some(true);
        let mut store = self.registry.store();
        let subscription = store
            .items
            .get_mut(&id)
            .ok_or(ApiError::UnknownWebhook(id))?;
        if let Some(callback) = update.callback {
            subscription.callback = callback;
        }
        if let Some(label) = update.label {
            subscription.label = Some(label);
        }
        if let Some(fields) = update.fields {
            subscription.fields = fields;
        }
        if let Some(active) = update.active {
            subscription.active = active;
        }
        subscription.updated_at = now;
        if reactivated {
            // Re-activated after the vendor disabled it: counting starts afresh.
            store.store_failures = 0;
        }
        Ok(())
    }

    /// `webhook.update` with the vendor's parameters by name; see
    /// [`SubscriptionUpdate::from_params`] for what is refused.
    pub fn update_params<'p>(
        &self,
        id: WebhookId,
        params: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) -> Result<(), ApiError> {
        self.update(id, SubscriptionUpdate::from_params(params)?)
    }

    /// `webhook.delete`.
    pub fn delete(&self, id: WebhookId) -> Result<(), ApiError> {
        self.registry
            .store()
            .items
            .remove(&id)
            .map(|_| ())
            .ok_or(ApiError::UnknownWebhook(id))
    }
}

/// A time as the vendor's API writes one (`A2CDateTime`): UTC, PHP format
/// `Y-m-d\TH:i:sO`.
pub(crate) fn vendor_time(unix: i64) -> Value {
    json!({
        "value": format_utc(unix),
        "format": "Y-m-d\\TH:i:sO",
    })
}

/// `2025-11-23T12:13:20+0000`.
pub(crate) fn format_utc(unix: i64) -> String {
    utc_date_time(unix, "+0000")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::target::CallbackRule;

    #[test]
    fn fields_parse_like_the_vendor() {
        assert_eq!(Fields::parse(""), Fields::All);
        assert_eq!(Fields::parse("force_all"), Fields::All);
        assert_eq!(
            Fields::parse(" id, name ,,"),
            Fields::Only(vec!["id".into(), "name".into()])
        );
        assert_eq!(Fields::parse("id,name").to_param(), "id,name");
    }

    #[test]
    fn update_params_refuse_what_cannot_change() {
        let err = SubscriptionUpdate::from_params([("store_id", "2")]).unwrap_err();
        assert_eq!(
            err,
            ApiError::NotUpdatable {
                param: "store_id".into()
            }
        );
        assert!(
            err.to_string()
                .contains("only callback, label, fields and active")
        );
        let update = SubscriptionUpdate::from_params([("active", "0"), ("fields", "id")]).unwrap();
        assert_eq!(
            update,
            SubscriptionUpdate::new()
                .active(false)
                .fields(Fields::Only(vec!["id".into()]))
        );
        assert!(SubscriptionUpdate::from_params([("active", "maybe")]).is_err());
    }

    #[test]
    fn over_http_without_a_default_each_subscription_needs_a_callback() {
        use crate::mock::{Event, MockSender};

        let sender = MockSender::builder("k").http().build().unwrap();
        assert_eq!(sender.callback(), "");
        let hooks = sender.subscriptions();
        let product = || NewSubscription::new(Entity::Product, Action::Add);
        assert_eq!(
            hooks.create(product()).unwrap_err(),
            ApiError::invalid(
                "callback",
                "missing, and the sender has no default callback"
            )
        );
        assert!(hooks.create(product().callback("/relative")).is_err());
        let id = hooks
            .create(product().callback("http://127.0.0.1:9/own"))
            .unwrap();
        assert_eq!(hooks.get(id).unwrap().callback(), "http://127.0.0.1:9/own");

        // `send` has nowhere to go: both attempts fail before anything is sent.
        let delivery =
            futures_executor::block_on(sender.send(Event::new(Entity::Product, Action::Add)));
        assert_eq!(delivery.statuses(), [None, None]);
        let failure = delivery.attempts()[0].failure().unwrap();
        assert!(
            failure.message().contains("no default callback"),
            "{failure}"
        );

        // A default given with `callback` applies as with `url`.
        let sender = MockSender::builder("k")
            .http()
            .callback("http://127.0.0.1:9/default")
            .build()
            .unwrap();
        let id = sender.subscriptions().create(product()).unwrap();
        assert_eq!(
            sender.subscriptions().get(id).unwrap().callback(),
            "http://127.0.0.1:9/default"
        );
        assert!(
            MockSender::builder("k")
                .http()
                .callback("/x")
                .build()
                .is_err()
        );
    }

    #[test]
    fn callbacks_per_transport() {
        assert!(
            CallbackRule::AbsoluteHttp
                .parse("http://127.0.0.1:1/x")
                .is_ok()
        );
        assert!(
            CallbackRule::AbsoluteHttp
                .parse("https://a.example/x")
                .is_err()
        );
        assert!(CallbackRule::AbsoluteHttp.parse("/webhooks").is_err());
        assert!(CallbackRule::AnyOrPath.parse("/webhooks?a=1").is_ok());
        assert!(CallbackRule::AnyOrPath.parse("https://a.example/x").is_ok());
        assert!(CallbackRule::AnyOrPath.parse("webhooks").is_err());
        assert!(CallbackRule::AnyOrPath.parse("").is_err());
    }
}
