//! UP42's webhook resource: what a webhook holds, the bodies that create and
//! replace one, the event catalogue, and the errors the API answers with.

use std::fmt;

use http::Uri;
use serde_json::{Map, Value, json};

use super::time::rfc3339_micros;
use crate::SigningKey;

/// An event webhooks can subscribe to ("Get webhook events", `GET
/// /webhooks/events`), such as `order.status`.
///
/// The name is `entity.action`; the two parts name the delivery in the
/// [`Journal`](crate::mock::Journal) (`order/status`). A test delivery of it
/// is `{"event": "<name>", "body": <sample>}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceEvent {
    entity: String,
    action: String,
    description: String,
    sample: Value,
}

impl WorkspaceEvent {
    /// The event `entity.action`, with no description and an empty sample.
    pub fn new(entity: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            entity: entity.into(),
            action: action.into(),
            description: String::new(),
            sample: Value::Object(Map::new()),
        }
    }

    /// What the event means, as the catalogue lists it.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The `body` a test delivery of this event carries.
    #[must_use]
    pub fn sample(mut self, sample: Value) -> Self {
        self.sample = sample;
        self
    }

    /// `job.status`: a job changed status. UP42's receiver sample
    /// (github up42/up42-webhooks) reads `body.status` as one of `SUCCEEDED`,
    /// `FAILED`, `CANCELLED`, `ERROR`; the test sample says `SUCCEEDED`. The
    /// other fields of the sample are the mock's (UP42 publishes none).
    pub fn job_status() -> Self {
        Self::new("job", "status")
            .description("The status of a job changed.")
            .sample(json!({"jobId": "TEST-JOB-0001", "status": "SUCCEEDED"}))
    }

    /// `order.status`: an order's status changed to `FULFILLED` or
    /// `FAILED_PERMANENTLY` (UP42's "Create webhooks" page); the test sample
    /// says `FULFILLED`. Its `orderId` is the mock's.
    pub fn order_status() -> Self {
        Self::new("order", "status")
            .description("The status of an order changed to FULFILLED or FAILED_PERMANENTLY.")
            .sample(json!({"orderId": "TEST-ORDER-0001", "status": "FULFILLED"}))
    }

    /// The events a [`WorkspaceSender`](super::WorkspaceSender) offers unless
    /// told otherwise: [`job_status`](Self::job_status) and
    /// [`order_status`](Self::order_status), the two UP42 lists.
    pub fn defaults() -> Vec<Self> {
        vec![Self::job_status(), Self::order_status()]
    }

    /// `entity.action`, the name webhooks subscribe with.
    pub fn name(&self) -> String {
        format!("{}.{}", self.entity, self.action)
    }

    /// The part before the dot.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// The part after the dot.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The sample `body` of a test delivery.
    pub fn sample_data(&self) -> &Value {
        &self.sample
    }

    /// The catalogue entry: `{"name": "order.status", "description": "..."}`.
    pub fn to_json(&self) -> Value {
        json!({"name": self.name(), "description": self.description})
    }

    /// The body of a delivery of this event, `{"event":"<name>","body":<sample>}`,
    /// in that key order (as UP42's sample reads it: `event`, then `body.status`).
    pub(super) fn delivery_body(&self) -> String {
        format!(
            "{{\"event\":{},\"body\":{}}}",
            Value::String(self.name()),
            self.sample
        )
    }
}

/// A webhook's secret, never empty; `Debug` never shows it.
#[derive(Clone)]
pub(super) struct Secret(String);

impl Secret {
    /// `secret`, or none when it is empty: UP42's GET answers `""` for a
    /// webhook without a secret, so a body read back must mean "none".
    fn new(secret: String) -> Option<Self> {
        (!secret.is_empty()).then_some(Self(secret))
    }

    /// The key deliveries are signed with: the secret's UTF-8 bytes.
    pub(super) fn key(&self) -> SigningKey {
        SigningKey::new("webhook secret", self.0.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A webhook of one workspace.
///
/// Its JSON ([`to_json`](Self::to_json)) carries the secret in clear, `""`
/// when there is none, as UP42's GET does (docs.up42.com, "Manage webhooks");
/// its `Debug` never shows it.
#[derive(Clone, Debug)]
pub struct WorkspaceWebhook {
    pub(super) id: String,
    pub(super) workspace: String,
    pub(super) name: String,
    pub(super) url: String,
    pub(super) events: Vec<String>,
    pub(super) secret: Option<Secret>,
    pub(super) active: bool,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

impl WorkspaceWebhook {
    /// The id the API gave it (UUID-shaped, numbered per sender).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The workspace it belongs to.
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// The name given to it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where deliveries go.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The events it subscribes to, in the order given, without repeats.
    pub fn events(&self) -> &[String] {
        &self.events
    }

    /// True when deliveries are signed with a secret.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// The secret, in clear, as the API echoes it.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_ref().map(|s| s.0.as_str())
    }

    /// Whether it receives events (and may be tested).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// When it was created (Unix seconds, the sender's clock).
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// When it last changed (Unix seconds, the sender's clock).
    pub fn updated_at(&self) -> i64 {
        self.updated_at
    }

    /// The API's representation (the `data` of Get a webhook). `id`,
    /// `name`, `url`, `events`, `secret`, `active`, `createdAt` and
    /// `updatedAt` are the fields UP42 documents; `workspaceId` is the mock's.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "workspaceId": self.workspace,
            "name": self.name,
            "url": self.url,
            "events": self.events,
            "active": self.active,
            "secret": self.secret().unwrap_or(""),
            "createdAt": rfc3339_micros(self.created_at),
            "updatedAt": rfc3339_micros(self.updated_at),
        })
    }
}

/// The body of "Create a webhook" (and of "Update a webhook", which
/// replaces the whole webhook).
///
/// ```
/// use webhook_guard::mock::NewWorkspaceWebhook;
///
/// let new = NewWorkspaceWebhook::new("My alert for order statuses", "https://my.sample.endpoint.com/")
///     .events(["order.status"])
///     .secret("QWZTFnMEXhqZKNmu")
///     .active(true);
/// assert!(!format!("{new:?}").contains("QWZTF"));
/// ```
#[derive(Clone, Debug)]
pub struct NewWorkspaceWebhook {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) events: Vec<String>,
    secret: Option<Secret>,
    pub(super) active: bool,
}

/// Fields a client may send back unchanged from a webhook it read: ignored
/// rather than refused, so a `GET` body can be edited and `PUT` back.
const READ_ONLY: [&str; 4] = ["id", "workspaceId", "createdAt", "updatedAt"];

impl NewWorkspaceWebhook {
    /// A webhook named `name` delivering to `url`, with no events yet (add
    /// them with [`events`](Self::events): at least one is required), no
    /// secret, and inactive (the vendor activates only when asked).
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            events: Vec::new(),
            secret: None,
            active: false,
        }
    }

    /// The events to subscribe to, by name (`order.status`).
    #[must_use]
    pub fn events<I, S>(mut self, events: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.events = events.into_iter().map(Into::into).collect();
        self
    }

    /// The secret deliveries are signed with; `""` means none.
    #[must_use]
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Secret::new(secret.into());
        self
    }

    /// Whether it is active at once (default no).
    #[must_use]
    pub fn active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// Reads the vendor's request body:
    /// `{"events": [...], "name": "...", "url": "...", "secret": "...", "active": true}`
    /// (`secret` and `active` optional; `secret` `null` or `""` means none,
    /// as UP42's SDK sends `null` and its GET answers `""`).
    pub fn from_json(body: &Value) -> Result<Self, WorkspaceError> {
        let fields = object(body)?;
        check_fields(fields, &["events", "name", "url", "secret", "active"])?;
        let required = |field: &'static str| {
            fields
                .get(field)
                .filter(|v| !v.is_null())
                .ok_or(WorkspaceError::MissingField { field })
        };
        let mut new = Self::new(
            string(required("name")?, "name")?,
            string(required("url")?, "url")?,
        )
        .events(string_list(required("events")?, "events")?);
        new.secret = optional_secret(fields)?.flatten();
        if let Some(active) = fields.get("active") {
            new.active = boolean(active, "active")?;
        }
        Ok(new)
    }

    /// The secret, if any.
    pub(super) fn take_secret(&self) -> Option<Secret> {
        self.secret.clone()
    }

    /// The update that makes a webhook this one (`PUT`).
    pub(super) fn into_update(self) -> WorkspaceWebhookUpdate {
        WorkspaceWebhookUpdate {
            name: Some(self.name),
            url: Some(self.url),
            events: Some(self.events),
            secret: Some(self.secret),
            active: Some(self.active),
        }
    }
}

/// A partial change, for tests written in Rust: only what it names changes.
/// UP42's own "Update a webhook" replaces the whole webhook
/// ([`WorkspaceSender::replace`](super::WorkspaceSender::replace)).
///
/// ```
/// use webhook_guard::mock::WorkspaceWebhookUpdate;
///
/// let update = WorkspaceWebhookUpdate::new().url("http://127.0.0.1:3000/hooks").remove_secret();
/// # let _ = update;
/// ```
#[derive(Clone, Debug, Default)]
pub struct WorkspaceWebhookUpdate {
    pub(super) name: Option<String>,
    pub(super) url: Option<String>,
    pub(super) events: Option<Vec<String>>,
    secret: Option<Option<Secret>>,
    pub(super) active: Option<bool>,
}

impl WorkspaceWebhookUpdate {
    /// Changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A new URL.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// New events (replacing the old ones).
    #[must_use]
    pub fn events<I, S>(mut self, events: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.events = Some(events.into_iter().map(Into::into).collect());
        self
    }

    /// A new secret (`""` removes it).
    #[must_use]
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(Secret::new(secret.into()));
        self
    }

    /// No secret any more: deliveries go unsigned.
    #[must_use]
    pub fn remove_secret(mut self) -> Self {
        self.secret = Some(None);
        self
    }

    /// Activates or deactivates it.
    #[must_use]
    pub fn active(mut self, active: bool) -> Self {
        self.active = Some(active);
        self
    }

    /// Reads a partial body: any of `events`, `name`, `url`, `secret`
    /// (`null` or `""` removes it), `active`.
    pub fn from_json(body: &Value) -> Result<Self, WorkspaceError> {
        let fields = object(body)?;
        check_fields(fields, &["events", "name", "url", "secret", "active"])?;
        let mut update = Self::new();
        if let Some(name) = fields.get("name") {
            update.name = Some(string(name, "name")?);
        }
        if let Some(url) = fields.get("url") {
            update.url = Some(string(url, "url")?);
        }
        if let Some(events) = fields.get("events") {
            update.events = Some(string_list(events, "events")?);
        }
        update.secret = optional_secret(fields)?;
        if let Some(active) = fields.get("active") {
            update.active = Some(boolean(active, "active")?);
        }
        Ok(update)
    }

    /// The secret change: `None` leaves it, `Some(None)` removes it.
    pub(super) fn secret_change(&self) -> Option<Option<Secret>> {
        self.secret.clone()
    }
}

fn object(body: &Value) -> Result<&Map<String, Value>, WorkspaceError> {
    body.as_object().ok_or_else(|| WorkspaceError::InvalidBody {
        reason: "the body must be a JSON object".to_owned(),
    })
}

/// Refuses fields the API does not know (a typo would otherwise pass
/// silently), but lets the read-only ones of a webhook through.
fn check_fields(fields: &Map<String, Value>, known: &[&str]) -> Result<(), WorkspaceError> {
    match fields
        .keys()
        .find(|k| !known.contains(&k.as_str()) && !READ_ONLY.contains(&k.as_str()))
    {
        Some(unknown) => Err(WorkspaceError::InvalidField {
            field: unknown.clone(),
            reason: "unknown field".to_owned(),
        }),
        None => Ok(()),
    }
}

fn invalid(field: &str, reason: &str) -> WorkspaceError {
    WorkspaceError::InvalidField {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn string(value: &Value, field: &str) -> Result<String, WorkspaceError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| invalid(field, "must be a string"))
}

fn boolean(value: &Value, field: &str) -> Result<bool, WorkspaceError> {
    value
        .as_bool()
        .ok_or_else(|| invalid(field, "must be true or false"))
}

fn string_list(value: &Value, field: &str) -> Result<Vec<String>, WorkspaceError> {
    let items = value
        .as_array()
        .ok_or_else(|| invalid(field, "must be an array of event names"))?;
    items.iter().map(|item| string(item, field)).collect()
}

/// `secret`: absent (`None`), `null` or `""` (`Some(None)`), or a string.
fn optional_secret(fields: &Map<String, Value>) -> Result<Option<Option<Secret>>, WorkspaceError> {
    match fields.get("secret") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => Ok(Some(Secret::new(string(value, "secret")?))),
    }
}

/// A name, trimmed and not empty.
pub(super) fn checked_name(name: &str) -> Result<String, WorkspaceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "must not be empty"));
    }
    Ok(name.to_owned())
}

/// The vendor's rule for webhook URLs: absolute, `http` or `https`, with a host.
pub(super) fn checked_url(url: &str) -> Result<String, WorkspaceError> {
    let refuse = |reason| WorkspaceError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let uri: Uri = url.parse().map_err(|_| refuse("not a URL"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(url.to_owned()),
        (Some("http" | "https"), _) => Err(refuse("the URL has no host")),
        (Some(_), _) => Err(refuse("the URL must be http:// or https://")),
        (None, _) => Err(refuse("the URL must be absolute (http:// or https://)")),
    }
}

/// What the vendor's API refuses. Each maps to a status and a stable `code`,
/// answered as `{"data": null, "error": {"code": ..., "message": ...}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// The body is not JSON, or not an object (400 `invalid_request`).
    InvalidBody {
        /// Why.
        reason: String,
    },
    /// A required field is missing or null (400 `missing_field`).
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong type or value, or is unknown (400 `invalid_field`).
    InvalidField {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// The URL is not absolute `http(s)://` with a host (400 `invalid_url`).
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// No event of the catalogue has this name (400 `unknown_event`).
    UnknownEvent {
        /// The name given.
        event: String,
    },
    /// A test asked for an event the webhook does not subscribe to
    /// (400 `event_not_subscribed`).
    EventNotSubscribed {
        /// The event asked for.
        event: String,
    },
    /// An inactive webhook cannot be tested: a test run delivers for real,
    /// and an inactive webhook delivers nothing (400 `webhook_inactive`).
    WebhookInactive {
        /// The webhook.
        id: String,
    },
    /// The workspace has no webhook with this id (404 `webhook_not_found`).
    UnknownWebhook {
        /// The workspace.
        workspace: String,
        /// The id asked for.
        id: String,
    },
}

impl WorkspaceError {
    /// The HTTP status the API answers with: 404 for an unknown webhook, 400
    /// for the rest.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownWebhook { .. } => 404,
            _ => 400,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidBody { .. } => "invalid_request",
            Self::MissingField { .. } => "missing_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::InvalidUrl { .. } => "invalid_url",
            Self::UnknownEvent { .. } => "unknown_event",
            Self::EventNotSubscribed { .. } => "event_not_subscribed",
            Self::WebhookInactive { .. } => "webhook_inactive",
            Self::UnknownWebhook { .. } => "webhook_not_found",
        }
    }

    /// The whole response body: `{"data": null, "error": {"code", "message"}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "data": null,
            "error": {"code": self.code(), "message": self.to_string()},
        })
    }
}

impl fmt::Display for WorkspaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidBody { reason } => write!(f, "invalid request body: {reason}"),
            Self::MissingField { field } => write!(f, "`{field}` is required"),
            Self::InvalidField { field, reason } => write!(f, "`{field}`: {reason}"),
            Self::InvalidUrl { url, reason } => write!(f, "`url` {url:?}: {reason}"),
            Self::UnknownEvent { event } => write!(
                f,
                "unknown event {event:?}: see Get webhook events for the names"
            ),
            Self::EventNotSubscribed { event } => write!(
                f,
                "the webhook does not subscribe to {event:?}: test one of its events, or send no event to test them all"
            ),
            Self::WebhookInactive { id } => write!(
                f,
                "webhook {id} is inactive: activate it (\"active\": true) before testing it"
            ),
            Self::UnknownWebhook { workspace, id } => {
                write!(f, "no webhook {id:?} in workspace {workspace:?}")
            }
        }
    }
}

impl std::error::Error for WorkspaceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_or_https() {
        assert!(checked_url("https://my.sample.endpoint.com/").is_ok());
        assert!(checked_url("http://127.0.0.1:3000/hooks?x=1").is_ok());
        for bad in ["/hooks", "ftp://example.com/", "not a url", "", "http://"] {
            let err = checked_url(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_url", "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_sample_body_parses_and_its_secret_stays_hidden() {
        let body = json!({
            "events": ["order.status"],
            "name": "My alert for order statuses",
            "url": "https://my.sample.endpoint.com/",
            "secret": "QWZTFnMEXhqZKNmu",
            "active": true
        });
        let new = NewWorkspaceWebhook::from_json(&body).unwrap();
        assert_eq!(new.events, ["order.status"]);
        assert!(new.active);
        assert!(new.take_secret().is_some());
        assert!(!format!("{new:?}").contains("QWZTFnMEXhqZKNmu"));
    }

    #[test]
    fn bodies_are_checked_field_by_field() {
        let missing = NewWorkspaceWebhook::from_json(
            &json!({"events": ["order.status"], "url": "http://x/"}),
        );
        assert_eq!(
            missing.unwrap_err(),
            WorkspaceError::MissingField { field: "name" }
        );
        let typo = NewWorkspaceWebhook::from_json(
            &json!({"name": "n", "url": "http://x/", "events": [], "actve": true}),
        );
        assert_eq!(typo.unwrap_err().code(), "invalid_field");
        let wrong_type = WorkspaceWebhookUpdate::from_json(&json!({"active": "yes"}));
        assert_eq!(wrong_type.unwrap_err().code(), "invalid_field");
        assert_eq!(
            NewWorkspaceWebhook::from_json(&json!([1]))
                .unwrap_err()
                .code(),
            "invalid_request"
        );
        let removed =
            WorkspaceWebhookUpdate::from_json(&json!({"secret": null, "id": "ignored"})).unwrap();
        assert!(matches!(removed.secret_change(), Some(None)));
        // GET echoes "" for no secret, so "" read back removes it too.
        let empty = WorkspaceWebhookUpdate::from_json(&json!({"secret": ""})).unwrap();
        assert!(matches!(empty.secret_change(), Some(None)));
        assert!(
            NewWorkspaceWebhook::new("n", "http://x/")
                .secret("")
                .take_secret()
                .is_none()
        );
        let kept = WorkspaceWebhookUpdate::from_json(&json!({"name": "m"})).unwrap();
        assert!(kept.secret_change().is_none());
    }

    #[test]
    fn errors_carry_status_and_code() {
        let err = WorkspaceError::UnknownWebhook {
            workspace: "w".into(),
            id: "1".into(),
        };
        assert_eq!((err.status(), err.code()), (404, "webhook_not_found"));
        assert_eq!(err.to_json()["data"], Value::Null);
        assert_eq!(err.to_json()["error"]["code"], "webhook_not_found");
        assert_eq!(
            WorkspaceError::WebhookInactive { id: "1".into() }.status(),
            400
        );
    }
}
