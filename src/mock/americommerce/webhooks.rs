//! Webhook subscriptions as AmeriCommerce's `/api/v1/webhooks` keeps them,
//! with the vendor's rules: a known event type, absolute URLs, a fallback URL
//! for the Fallback failure type, one subscription per event type and URL.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use http::Uri;
use serde_json::{Map, Value, json};

use crate::americommerce::EventType;
use crate::mock::target::CallbackRule;

/// The id of a subscription, as `POST /api/v1/webhooks` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookId(u64);

impl WebhookId {
    pub(super) fn new(id: u64) -> Self {
        Self(id)
    }

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
    type Err = WebhookError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim()
            .parse()
            .map(Self)
            .map_err(|_| WebhookError::invalid("id", "not a webhook id"))
    }
}

macro_rules! choice {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The value as the vendor's API spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = WebhookError;

            /// Parses the vendor's spelling (exactly).
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok(Self::$variant),)*
                    _ => Err(WebhookError::invalid(
                        $field,
                        concat!("expected one of:", $(" ", $text,)*),
                    )),
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

choice! {
    /// What the vendor does when sending to a subscription fails (no 2xx
    /// answer in time).
    FailureType, "failure_type" {
        /// Carry on with the next subscription (the default).
        #[default]
        Ignore => "Ignore",
        /// Attempt no further subscriptions for the event; the caller gets an error.
        Error => "Error",
        /// Send the event to the subscription's `fallback_url`.
        Fallback => "Fallback",
    }
}

choice! {
    /// How long the vendor keeps a subscription's replies (for `Get*` and
    /// `Validate*` event types only).
    CacheLength, "cache_length" {
        /// 5 minutes.
        Short => "Short",
        /// 30 minutes.
        Long => "Long",
        /// Never cached (the mock's default: the vendor documents none).
        #[default]
        NoCache => "NoCache",
    }
}

impl CacheLength {
    /// How long a reply stays cached; `None` for `NoCache`.
    pub fn duration(self) -> Option<Duration> {
        match self {
            Self::Short => Some(Duration::from_secs(5 * 60)),
            Self::Long => Some(Duration::from_secs(30 * 60)),
            Self::NoCache => None,
        }
    }
}

/// A subscription: the resource of `/api/v1/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    id: WebhookId,
    event_type: EventType,
    url: String,
    failure_type: FailureType,
    store_id: String,
    cache_length: CacheLength,
    fallback_url: Option<String>,
}

impl Webhook {
    /// Its id.
    pub fn id(&self) -> WebhookId {
        self.id
    }

    /// The event type it is for.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// Where events are POSTed.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What a failure does.
    pub fn failure_type(&self) -> FailureType {
        self.failure_type
    }

    /// The store whose events it gets (product events come from any store).
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// How long its replies are cached.
    pub fn cache_length(&self) -> CacheLength {
        self.cache_length
    }

    /// Where a failed event goes with [`FailureType::Fallback`].
    pub fn fallback_url(&self) -> Option<&str> {
        self.fallback_url.as_deref()
    }

    /// True when an event of `event_type` on `store_id` goes to it.
    pub fn matches(&self, event_type: &EventType, store_id: &str) -> bool {
        self.event_type == *event_type
            && (!event_type.is_store_specific() || self.store_id == store_id)
    }

    /// The resource as the API shows it: `id`, `event_type`, `url`,
    /// `failure_type`, `store_id` (a number when it is one), `cache_length`,
    /// `fallback_url`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.0,
            "event_type": self.event_type.as_str(),
            "url": self.url,
            "failure_type": self.failure_type.as_str(),
            "store_id": store_id_json(&self.store_id),
            "cache_length": self.cache_length.as_str(),
            "fallback_url": self.fallback_url,
        })
    }
}

fn store_id_json(store_id: &str) -> Value {
    store_id
        .parse::<u64>()
        .map_or_else(|_| Value::from(store_id), Value::from)
}

/// The fields of a new subscription; checked by
/// [`AmeriCommerceSender::create_webhook`](super::AmeriCommerceSender::create_webhook).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWebhook {
    event_type: EventType,
    url: String,
    failure_type: FailureType,
    store_id: Option<String>,
    cache_length: CacheLength,
    fallback_url: Option<String>,
}

impl NewWebhook {
    /// A subscription to `event_type` delivered to `url`: failure type
    /// Ignore, no cache, the sender's store.
    pub fn new(event_type: EventType, url: impl Into<String>) -> Self {
        Self {
            event_type,
            url: url.into(),
            failure_type: FailureType::default(),
            store_id: None,
            cache_length: CacheLength::default(),
            fallback_url: None,
        }
    }

    /// What a failure does.
    #[must_use]
    pub fn failure_type(mut self, failure_type: FailureType) -> Self {
        self.failure_type = failure_type;
        self
    }

    /// The store whose events it gets (default: the sender's store id).
    #[must_use]
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = Some(store_id.into());
        self
    }

    /// How long replies are cached.
    #[must_use]
    pub fn cache_length(mut self, cache_length: CacheLength) -> Self {
        self.cache_length = cache_length;
        self
    }

    /// Where a failed event goes (required with [`FailureType::Fallback`]).
    #[must_use]
    pub fn fallback_url(mut self, url: impl Into<String>) -> Self {
        self.fallback_url = Some(url.into());
        self
    }

    /// Reads the body of `POST /api/v1/webhooks`: `event_type` and `url`
    /// required; `failure_type`, `store_id`, `cache_length`, `fallback_url`
    /// optional. An unknown field is refused, as a typo would otherwise pass
    /// unnoticed.
    pub fn from_json(body: &Value) -> Result<Self, WebhookError> {
        let fields = Fields::of(body)?;
        let event_type = fields
            .event_type()?
            .ok_or(WebhookError::Missing("event_type"))?;
        let url = fields.text("url")?.ok_or(WebhookError::Missing("url"))?;
        let mut new = Self::new(event_type, url);
        if let Some(failure_type) = fields.choice("failure_type")? {
            new.failure_type = failure_type;
        }
        new.store_id = fields.store_id()?;
        if let Some(cache_length) = fields.choice("cache_length")? {
            new.cache_length = cache_length;
        }
        new.fallback_url = fields.text("fallback_url")?;
        Ok(new)
    }
}

/// The fields a `PUT /api/v1/webhooks/{id}` changes; the others stay. The
/// result is checked as a new subscription is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookUpdate {
    event_type: Option<EventType>,
    url: Option<String>,
    failure_type: Option<FailureType>,
    store_id: Option<String>,
    cache_length: Option<CacheLength>,
    fallback_url: Option<Option<String>>,
}

impl WebhookUpdate {
    /// Changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new event type.
    #[must_use]
    pub fn event_type(mut self, event_type: EventType) -> Self {
        self.event_type = Some(event_type);
        self
    }

    /// A new URL.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// A new failure type.
    #[must_use]
    pub fn failure_type(mut self, failure_type: FailureType) -> Self {
        self.failure_type = Some(failure_type);
        self
    }

    /// A new store id.
    #[must_use]
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = Some(store_id.into());
        self
    }

    /// A new cache length.
    #[must_use]
    pub fn cache_length(mut self, cache_length: CacheLength) -> Self {
        self.cache_length = Some(cache_length);
        self
    }

    /// A new fallback URL, or `None` to remove it.
    #[must_use]
    pub fn fallback_url(mut self, url: Option<String>) -> Self {
        self.fallback_url = Some(url);
        self
    }

    /// Reads the body of `PUT /api/v1/webhooks/{id}`: any of the fields of
    /// [`NewWebhook::from_json`] (`fallback_url: null` removes it); `id`, if
    /// sent, must be the subscription's own.
    pub fn from_json(body: &Value, id: WebhookId) -> Result<Self, WebhookError> {
        let fields = Fields::of(body)?;
        if let Some(sent) = fields.0.get("id")
            && sent.as_u64() != Some(id.0)
            && sent.as_str().and_then(|s| s.parse::<WebhookId>().ok()) != Some(id)
        {
            return Err(WebhookError::invalid("id", "cannot be changed"));
        }
        Ok(Self {
            event_type: fields.event_type()?,
            url: fields.text("url")?,
            failure_type: fields.choice("failure_type")?,
            store_id: fields.store_id()?,
            cache_length: fields.choice("cache_length")?,
            fallback_url: match fields.0.get("fallback_url") {
                None => None,
                Some(Value::Null) => Some(None),
                Some(_) => Some(fields.text("fallback_url")?),
            },
        })
    }
}

/// A JSON object body, read field by field with errors that name the field.
struct Fields<'a>(&'a Map<String, Value>);

const FIELDS: [&str; 7] = [
    "id",
    "event_type",
    "url",
    "failure_type",
    "store_id",
    "cache_length",
    "fallback_url",
];

impl<'a> Fields<'a> {
    fn of(body: &'a Value) -> Result<Self, WebhookError> {
        let object = body
            .as_object()
            .ok_or(WebhookError::invalid("body", "expected a JSON object"))?;
        if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(WebhookError::UnknownField(unknown.clone()));
        }
        Ok(Self(object))
    }

    fn text(&self, field: &'static str) -> Result<Option<String>, WebhookError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(WebhookError::invalid(field, "expected a string")),
        }
    }

    fn choice<T: FromStr<Err = WebhookError>>(
        &self,
        field: &'static str,
    ) -> Result<Option<T>, WebhookError> {
        self.text(field)?.map(|text| text.parse()).transpose()
    }

    fn event_type(&self) -> Result<Option<EventType>, WebhookError> {
        Ok(self.text("event_type")?.map(|t| EventType::parse(&t)))
    }

    fn store_id(&self) -> Result<Option<String>, WebhookError> {
        match self.0.get("store_id") {
            Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
            Some(Value::Number(_)) => Err(WebhookError::invalid(
                "store_id",
                "expected a whole number or a string",
            )),
            _ => self.text("store_id"),
        }
    }
}

/// What the subscriptions API refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// No subscription has this id (404).
    NotFound(WebhookId),
    /// A required field is missing.
    Missing(&'static str),
    /// The body has a field the resource does not.
    UnknownField(String),
    /// The event type is not one of the 30 the vendor documents.
    UnknownEventType(String),
    /// A URL is not a valid absolute URL the sender can deliver to.
    InvalidUrl {
        /// `url` or `fallback_url`.
        field: &'static str,
        /// The URL given.
        url: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// Failure type Fallback without a `fallback_url`.
    FallbackUrlRequired,
    /// Another subscription already has this event type and URL.
    Duplicate {
        /// The one that has.
        existing: WebhookId,
    },
    /// A field has a value the API does not accept.
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl WebhookError {
    fn invalid(field: &'static str, reason: &'static str) -> Self {
        Self::Invalid { field, reason }
    }

    /// The status the API answers: 404 for an unknown id, else 400.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            _ => 400,
        }
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(id) => write!(f, "no webhook with id {id}"),
            Self::Missing(field) => write!(f, "`{field}` is required"),
            Self::UnknownField(field) => write!(f, "`{field}` is not a field of a webhook"),
            Self::UnknownEventType(name) => write!(
                f,
                "`event_type`: {name:?} is not an event type ({})",
                EventType::ALL
                    .iter()
                    .map(EventType::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::InvalidUrl { field, url, reason } => {
                write!(
                    f,
                    "`{field}`: {url:?} is not a valid absolute URL: {reason}"
                )
            }
            Self::FallbackUrlRequired => {
                f.write_str("`fallback_url` is required when `failure_type` is Fallback")
            }
            Self::Duplicate { existing } => write!(
                f,
                "webhook {existing} already sends this event type to this URL (one per event type and URL)"
            ),
            Self::Invalid { field, reason } => write!(f, "`{field}`: {reason}"),
        }
    }
}

impl std::error::Error for WebhookError {}

/// Which URLs the sender's transport can deliver to: over HTTP absolute
/// `http://` URLs, in process any absolute URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum UrlRule {
    Http,
    InProcess,
}

impl UrlRule {
    pub(super) fn parse(self, field: &'static str, url: &str) -> Result<Uri, WebhookError> {
        let invalid = |reason| WebhookError::InvalidUrl {
            field,
            url: url.to_owned(),
            reason,
        };
        match self {
            Self::Http => CallbackRule::AbsoluteHttp.parse(url).map_err(invalid),
            Self::InProcess => {
                let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
                if uri.scheme().is_none() || uri.authority().is_none() {
                    return Err(invalid("not absolute (scheme://host/...)"));
                }
                Ok(uri)
            }
        }
    }
}

/// Every subscription of one sender, in id order.
#[derive(Debug, Default)]
pub(super) struct Store {
    next_id: u64,
    items: BTreeMap<WebhookId, Webhook>,
}

impl Store {
    pub(super) fn create(
        &mut self,
        new: NewWebhook,
        default_store: &str,
        rule: UrlRule,
    ) -> Result<Webhook, WebhookError> {
        let webhook = Webhook {
            id: WebhookId(self.next_id + 1),
            event_type: new.event_type,
            url: new.url,
            failure_type: new.failure_type,
            store_id: new.store_id.unwrap_or_else(|| default_store.to_owned()),
            cache_length: new.cache_length,
            fallback_url: new.fallback_url,
        };
        self.check(&webhook, rule)?;
        self.next_id += 1;
        self.items.insert(webhook.id, webhook.clone());
        Ok(webhook)
    }

    pub(super) fn get(&self, id: WebhookId) -> Result<Webhook, WebhookError> {
        self.items
            .get(&id)
            .cloned()
            .ok_or(WebhookError::NotFound(id))
    }

    pub(super) fn list(&self) -> Vec<Webhook> {
        self.items.values().cloned().collect()
    }

    pub(super) fn update(
        &mut self,
        id: WebhookId,
        update: WebhookUpdate,
        rule: UrlRule,
    ) -> Result<Webhook, WebhookError> {
        let mut webhook = self.get(id)?;
        let WebhookUpdate {
            event_type,
            url,
            failure_type,
            store_id,
            cache_length,
            fallback_url,
        } = update;
        if let Some(v) = event_type {
            webhook.event_type = v;
        }
        if let Some(v) = url {
            webhook.url = v;
        }
        if let Some(v) = failure_type {
            webhook.failure_type = v;
        }
        if let Some(v) = store_id {
            webhook.store_id = v;
        }
        if let Some(v) = cache_length {
            webhook.cache_length = v;
        }
        if let Some(v) = fallback_url {
            webhook.fallback_url = v;
        }
        self.check(&webhook, rule)?;
        self.items.insert(id, webhook.clone());
        Ok(webhook)
    }

    pub(super) fn delete(&mut self, id: WebhookId) -> Result<Webhook, WebhookError> {
        self.items.remove(&id).ok_or(WebhookError::NotFound(id))
    }

    /// The subscriptions an event of `event_type` on `store_id` goes to.
    pub(super) fn matching(&self, event_type: &EventType, store_id: &str) -> Vec<Webhook> {
        self.items
            .values()
            .filter(|w| w.matches(event_type, store_id))
            .cloned()
            .collect()
    }

    /// The vendor's rules, against the other subscriptions.
    fn check(&self, webhook: &Webhook, rule: UrlRule) -> Result<(), WebhookError> {
        if !webhook.event_type.is_known() {
            return Err(WebhookError::UnknownEventType(
                webhook.event_type.as_str().to_owned(),
            ));
        }
        rule.parse("url", &webhook.url)?;
        match (&webhook.fallback_url, webhook.failure_type) {
            (None, FailureType::Fallback) => return Err(WebhookError::FallbackUrlRequired),
            (Some(url), _) => {
                rule.parse("fallback_url", url)?;
            }
            (None, _) => {}
        }
        if webhook.store_id.is_empty() {
            return Err(WebhookError::invalid("store_id", "must not be empty"));
        }
        if let Some(existing) = self.items.values().find(|other| {
            other.id != webhook.id
                && other.event_type == webhook.event_type
                && other.url == webhook.url
        }) {
            return Err(WebhookError::Duplicate {
                existing: existing.id,
            });
        }
        Ok(())
    }
}
