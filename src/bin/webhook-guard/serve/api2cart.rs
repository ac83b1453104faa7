//! API2Cart under `/v1.0` and `/v1.1`: the vendor's webhook methods, answered
//! like the vendor answers them, and emulator calls that play store events
//! through a [`MockSender`] delivering over real HTTP to each webhook's
//! callback.
//!
//! Methods, with the verb the vendor's v1.1 OpenAPI documents for each
//! (`api2cart/doc`, `openapi.json`). The emulator answers `GET`, `POST`,
//! `PUT` and `DELETE` alike on every method, as v1.0 callers and the older
//! SDKs expect; whether the vendor refuses another verb is not published.
//! Parameters come from the query string and, but for `GET`, from a form or
//! JSON body:
//! - `webhook.create.json` (POST; `entity`, `action` required; `callback`,
//!   `label`, `fields`, `active`, `store_id`, `idempotency_key`) -> `{"id": N}`;
//! - `webhook.list.json` (GET; `entity`, `action`, `active`, `ids`, `start`,
//!   `count`, `params`) -> `{"webhook": [...]}`;
//! - `webhook.count.json` (GET; `entity`, `action`, `active`) -> `{"webhook_count": N}`;
//! - `webhook.update.json` (PUT; `id`; `callback`, `label`, `fields`,
//!   `active` only, and `idempotency_key`) -> `{"updated": "true"}`;
//! - `webhook.delete.json` (DELETE; `id`) -> `{"deleted": "true"}`;
//! - `webhook.events.json` (GET) -> `{"events": [{"webhook_name", "entity", "action"}]}`;
//! - `account.failed_webhooks.json` (GET; `start`, `count`, `ids`) ->
//!   `{"all_failed_webhook": "N", "webhook": [...]}`.
//!
//! Every answer is HTTP 200 with the vendor's envelope
//! `{"return_code": 0, "return_message": "", "result": {...}}`; a refusal
//! has a non-zero `return_code` from the vendor's list ("Response Status
//! Codes") and no `result`: 4 (`store_key` not the server's), 109 (a
//! parameter the method does not take or a value it does not accept), 112
//! (no webhook with that id), 114 (a required parameter missing). A path
//! under `/v1.0/` or `/v1.1/` that names no method gets 3 ("Method is not
//! specified") in the same envelope: what the vendor answers there is not
//! published, so this is the emulator's assumption.
//!
//! The keys: `api_key` and `store_key` as parameters (v1.0), or the
//! `x-api-key` and `x-store-key` headers (v1.1's OpenAPI), are accepted on
//! every method; a store key, wherever given, must be `--store-key`.
//! `idempotency_key` on `webhook.create` and `webhook.update` returns the
//! first successful answer for 15 minutes of the server's clock without
//! doing anything again (see `idempotency.rs` for what is assumed).
//!
//! Emulator calls (JSON bodies, same envelope):
//! - `POST /v1.0/emulator/event.json` `{"entity", "action", "store_id",
//!   "data"}` -> `{"deliveries": [...]}`, one per matching active webhook;
//! - `POST /v1.0/emulator/store_unreachable.json` `{"code", "reason",
//!   "message"}` (all optional) -> `{"deliveries": [...], "active_webhooks": N}`;
//! - `POST /v1.0/emulator/store_reachable.json` -> `{"reachable": true}`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method};
use axum::routing::{MethodRouter, any, get, post};
use axum::{Form, Json, Router};
use ctutils::CtEq as _;
use serde_json::{Map, Value, json};
use webhook_guard::mock::{
    ApiError, Attempt, Delivery, Event, FailedQuery, Fields, LostConnection, MockSender,
    NewSubscription, SubscriptionFilter, WebhookId,
};
use webhook_guard::{Action, Entity};

use super::idempotency::Idempotency;
use super::{Context, log_attempt};
use crate::CliError;

/// The prefix of each logged attempt.
const VENDOR: &str = "api2cart";

/// The vendor's return codes (its "Response Status Codes" page).
const METHOD_NOT_SPECIFIED: u16 = 3;
const STORE_ACCESS_DENIED: u16 = 4;
const INCORRECT_PARAMETERS: u16 = 109;
const ITEM_NOT_FOUND: u16 = 112;
const REQUIRED_PARAMETER: u16 = 114;

/// What `webhook.list` shows unless `params` says otherwise (the vendor's default).
const DEFAULT_LIST_PARAMS: &str = "id,entity,action,callback";

/// The routes, on one emulated store signed with `--store-key`, delivering
/// to each webhook's callback (`--callback` when created without one), on
/// the server's clock.
pub(super) fn router(context: &Context) -> Result<(Router, Arc<MockSender>), CliError> {
    let mut builder = MockSender::builder(&context.store_key)
        .http()
        .store_id(context.store_id.clone())
        .clock(Arc::clone(&context.clock))
        .attempt_timeout(context.attempt_timeout)
        .journal(context.journal.clone());
    if let Some(callback) = &context.callback {
        builder = builder.callback(callback.clone());
    }
    let sender = Arc::new(
        builder
            .build()
            .map_err(|e| CliError::new(format!("--callback: {e}")))?,
    );
    let api = Arc::new(Api {
        sender: Arc::clone(&sender),
        store_key: context.store_key.clone(),
        idempotency: Idempotency::new(Arc::clone(&context.clock)),
    });
    let methods = Router::new()
        .route("/webhook.create.json", method(ApiMethod::Create))
        .route("/webhook.list.json", method(ApiMethod::List))
        .route("/webhook.count.json", method(ApiMethod::Count))
        .route("/webhook.update.json", method(ApiMethod::Update))
        .route("/webhook.delete.json", method(ApiMethod::Delete))
        .route("/webhook.events.json", method(ApiMethod::Events))
        .route(
            "/account.failed_webhooks.json",
            method(ApiMethod::FailedWebhooks),
        )
        .fallback(unknown_method);
    let v1_0 = methods
        .clone()
        .route("/emulator/event.json", post(play_event))
        .route("/emulator/store_unreachable.json", post(store_unreachable))
        .route("/emulator/store_reachable.json", post(store_reachable));
    let routes = Router::new()
        .nest("/v1.0", v1_0)
        .nest("/v1.1", methods)
        // A nested fallback does not see the bare prefix with its slash.
        .route("/v1.0/", any(unknown_method))
        .route("/v1.1/", any(unknown_method))
        .with_state(api);
    Ok((routes, sender))
}

/// The dashboard's resend: `attempt`'s event played again as a store event
/// (same entity, action, store id and body), so every active webhook for it
/// gets it freshly signed with a new timestamp. Returns the new attempts'
/// ids. A lost-connection notice is not an event: play
/// `store_unreachable.json` again instead. The vendor's timestamp counts
/// whole seconds, so within the original's second the new signature is the
/// same and a replay guard refuses it like a replay (the retry then follows).
pub(super) async fn resend(sender: &MockSender, attempt: &Attempt) -> Result<Vec<u64>, String> {
    let detail = |name: &str| attempt.details().get(name).and_then(Value::as_str);
    let (Some(entity), Some(action)) = (detail("entity"), detail("action")) else {
        return Err("the attempt names no entity and action".to_owned());
    };
    let request = attempt.request();
    if request
        .header("X-Webhook-Error-Code")
        .is_some_and(|code| code.trim() != "0")
    {
        return Err(
            "a lost-connection notice is not a store event: POST /v1.0/emulator/store_unreachable.json again"
                .to_owned(),
        );
    }
    let mut event =
        Event::new(Entity::parse(entity), Action::parse(action)).body_bytes(request.body().clone());
    if let Some(store_id) = request.header("X-Webhook-Store-Id") {
        event = event.store_id(store_id);
    }
    let deliveries = sender.emit(event).await;
    logged(&deliveries);
    Ok(deliveries
        .iter()
        .flat_map(Delivery::attempts)
        .map(Attempt::id)
        .collect())
}

/// A path under a version prefix that names none of the methods.
async fn unknown_method(request: Request) -> Json<Value> {
    let name = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_suffix(".json"))
        .filter(|name| !name.is_empty());
    let message = match name {
        Some(name) => format!("method is not specified: there is no method `{name}`"),
        None => "method is not specified".to_owned(),
    };
    reply(Err(Refusal {
        code: METHOD_NOT_SPECIFIED,
        message,
    }))
}

/// The emulated store and the key callers must name, if they name one.
#[derive(Debug)]
struct Api {
    sender: Arc<MockSender>,
    store_key: String,
    idempotency: Idempotency,
}

type Shared = State<Arc<Api>>;

/// A vendor method served under `/v1.0`.
#[derive(Clone, Copy, Debug)]
enum ApiMethod {
    Create,
    List,
    Count,
    Update,
    Delete,
    Events,
    FailedWebhooks,
}

impl ApiMethod {
    fn name(self) -> &'static str {
        match self {
            Self::Create => "webhook.create",
            Self::List => "webhook.list",
            Self::Count => "webhook.count",
            Self::Update => "webhook.update",
            Self::Delete => "webhook.delete",
            Self::Events => "webhook.events",
            Self::FailedWebhooks => "account.failed_webhooks",
        }
    }

    /// The parameters it takes; `webhook.update` checks its own (any other
    /// is "not updatable", a sharper message than "unknown").
    fn params(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Create => Some(&[
                "entity",
                "action",
                "callback",
                "label",
                "fields",
                "active",
                "store_id",
                "idempotency_key",
            ]),
            Self::List => Some(&[
                "params", "start", "count", "entity", "action", "active", "ids",
            ]),
            Self::Count => Some(&["entity", "action", "active"]),
            Self::Update => None,
            Self::Delete => Some(&["id"]),
            Self::Events => Some(&[]),
            Self::FailedWebhooks => Some(&["start", "count", "ids"]),
        }
    }
}

/// One route answering `method` to GET, POST, PUT and DELETE alike (the
/// vendor's v1.0 takes GET and POST; its SDKs use PUT and DELETE too).
fn method(api_method: ApiMethod) -> MethodRouter<Arc<Api>> {
    let handler = move |State(api): Shared, request: Request| async move {
        reply(answer(&api, api_method, request).await)
    };
    get(handler).post(handler).put(handler).delete(handler)
}

/// A refusal: the vendor's return code and a message saying what to fix.
#[derive(Debug)]
struct Refusal {
    code: u16,
    message: String,
}

impl Refusal {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            code: INCORRECT_PARAMETERS,
            message: message.into(),
        }
    }

    fn missing(param: &str) -> Self {
        Self {
            code: REQUIRED_PARAMETER,
            message: format!("required parameter `{param}` is not specified"),
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        let code = match error {
            ApiError::UnknownWebhook(_) => ITEM_NOT_FOUND,
            _ => INCORRECT_PARAMETERS,
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}

/// The vendor's envelope, always with HTTP 200 as the vendor answers.
fn reply(result: Result<Value, Refusal>) -> Json<Value> {
    Json(match result {
        Ok(result) => json!({"return_code": 0, "return_message": "", "result": result}),
        Err(refusal) => json!({"return_code": refusal.code, "return_message": refusal.message}),
    })
}

/// The parameters of a call, by name, each at most once.
#[derive(Debug)]
struct Params(Vec<(String, String)>);

impl Params {
    /// From the query string, and but for `GET` from a form or JSON body.
    async fn read(request: Request) -> Result<Self, Refusal> {
        let Query(mut pairs) = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
            .map_err(|e| Refusal::bad(format!("query string: {}", e.body_text())))?;
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let content_type = request
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(|v| v.trim().to_ascii_lowercase())
                .unwrap_or_default();
            let body = Bytes::from_request(request, &())
                .await
                .map_err(|e| Refusal::bad(format!("body: {}", e.body_text())))?;
            pairs.extend(body_params(&content_type, body).await?);
        }
        let mut seen = HashSet::new();
        if let Some((name, _)) = pairs.iter().find(|(name, _)| !seen.insert(name)) {
            return Err(Refusal::bad(format!("`{name}` is given more than once")));
        }
        Ok(Self(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be there and not empty.
    fn required(&self, name: &str) -> Result<&str, Refusal> {
        self.get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Refusal::missing(name))
    }

    /// Checks and removes `api_key` and `store_key`, which every method
    /// takes, and checks `header_key` (`x-store-key`) the same way.
    fn authenticate(&mut self, store_key: &str, header_key: Option<&[u8]>) -> Result<(), Refusal> {
        let given = [self.get("store_key").map(str::as_bytes), header_key];
        // In constant time, as every secret here is compared.
        let wrong = |key: &[u8]| !key.ct_eq(store_key.as_bytes()).to_bool();
        if given.into_iter().flatten().any(wrong) {
            return Err(Refusal {
                code: STORE_ACCESS_DENIED,
                message: "store access denied: `store_key` (or `x-store-key`) is not the key this server signs with (--store-key)".to_owned(),
            });
        }
        self.0.retain(|(n, _)| n != "api_key" && n != "store_key");
        Ok(())
    }

    /// Removes and returns `idempotency_key`; an empty one is no key.
    fn take_idempotency_key(&mut self) -> Option<String> {
        let at = self.0.iter().position(|(n, _)| n == "idempotency_key")?;
        let (_, key) = self.0.remove(at);
        (!key.is_empty()).then_some(key)
    }

    /// Refuses a parameter `method` does not take.
    fn only(&self, method: &str, allowed: &[&str]) -> Result<(), Refusal> {
        match self.0.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
            None => Ok(()),
            Some((name, _)) if allowed.is_empty() => Err(Refusal::bad(format!(
                "{method} takes no parameter, not `{name}`"
            ))),
            Some((name, _)) => Err(Refusal::bad(format!(
                "{method} does not take `{name}` (it takes {})",
                allowed.join(", ")
            ))),
        }
    }

    fn entity(&self) -> Option<Entity> {
        self.get("entity").map(Entity::parse)
    }

    fn action(&self) -> Option<Action> {
        self.get("action").map(Action::parse)
    }

    fn active(&self) -> Result<Option<bool>, Refusal> {
        self.get("active").map(parse_active).transpose()
    }

    fn number(&self, name: &str) -> Result<Option<usize>, Refusal> {
        self.get(name)
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    Refusal::bad(format!("`{name}`: expected a whole number, not {v:?}"))
                })
            })
            .transpose()
    }

    fn ids(&self) -> Result<Option<Vec<WebhookId>>, Refusal> {
        self.get("ids")
            .map(|list| {
                list.split(',')
                    .filter(|id| !id.trim().is_empty())
                    .map(|id| {
                        id.parse()
                            .map_err(|_| Refusal::bad(format!("`ids`: {id:?} is not a webhook id")))
                    })
                    .collect()
            })
            .transpose()
    }

    /// `ids`, `start` and `count`, which `webhook.list` and
    /// `account.failed_webhooks` share, applied to `query` with its setters.
    fn page<T>(
        &self,
        mut query: T,
        ids: fn(T, Vec<WebhookId>) -> T,
        start: fn(T, usize) -> T,
        count: fn(T, usize) -> T,
    ) -> Result<T, Refusal> {
        if let Some(list) = self.ids()? {
            query = ids(query, list);
        }
        if let Some(skip) = self.number("start")? {
            query = start(query, skip);
        }
        if let Some(most) = self.number("count")? {
            query = count(query, most);
        }
        Ok(query)
    }

    fn id(&self) -> Result<WebhookId, Refusal> {
        Ok(self.required("id")?.parse()?)
    }
}

/// The parameters of a body, by its content type; an empty body has none.
async fn body_params(content_type: &str, body: Bytes) -> Result<Vec<(String, String)>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match content_type {
        "application/json" => {
            let value: Value = serde_json::from_slice(&body)
                .map_err(|e| Refusal::bad(format!("the body is not JSON: {e}")))?;
            match value {
                Value::Object(fields) => json_params(fields),
                _ => Err(Refusal::bad(
                    "the JSON body must be an object of parameters",
                )),
            }
        }
        "application/x-www-form-urlencoded" => {
            let mut request = Request::new(Body::from(body));
            *request.method_mut() = Method::POST;
            request.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, &())
                .await
                .map_err(|e| Refusal::bad(format!("form body: {}", e.body_text())))?;
            Ok(pairs)
        }
        other => Err(Refusal::bad(format!(
            "a body must be application/json or application/x-www-form-urlencoded, not {:?}",
            if other.is_empty() { "untyped" } else { other }
        ))),
    }
}

/// JSON fields as parameters: strings as they are, numbers and booleans as
/// written, arrays of those joined with commas (`"ids": [1, 2]`).
fn json_params(fields: Map<String, Value>) -> Result<Vec<(String, String)>, Refusal> {
    fields
        .into_iter()
        .map(|(name, value)| {
            let text = match &value {
                Value::Array(items) => items
                    .iter()
                    .map(scalar)
                    .collect::<Option<Vec<_>>>()
                    .map(|items| items.join(",")),
                other => scalar(other),
            };
            text.map(|text| (name.clone(), text)).ok_or_else(|| {
                Refusal::bad(format!(
                    "`{name}`: expected a string, number, boolean or a list of them"
                ))
            })
        })
        .collect()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// `active` as the vendor takes it (and as `webhook.update` does).
fn parse_active(value: &str) -> Result<bool, Refusal> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(Refusal::bad(format!(
            "`active`: expected true or false, not {other:?}"
        ))),
    }
}

async fn answer(api: &Api, method: ApiMethod, request: Request) -> Result<Value, Refusal> {
    let header_key = request
        .headers()
        .get("x-store-key")
        .map(|value| value.as_bytes().to_vec());
    let mut params = Params::read(request).await?;
    params.authenticate(&api.store_key, header_key.as_deref())?;
    if let Some(allowed) = method.params() {
        params.only(method.name(), allowed)?;
    }
    let idempotency_key = match method {
        ApiMethod::Create | ApiMethod::Update => params.take_idempotency_key(),
        _ => None,
    };
    if let Some(key) = &idempotency_key
        && let Some(first) = api.idempotency.recall(method.name(), key)
    {
        return Ok(first);
    }
    let result = call(api, method, &params).await?;
    if let Some(key) = &idempotency_key {
        api.idempotency.remember(method.name(), key, &result);
    }
    Ok(result)
}

/// What `method` does with `params` (keys checked, idempotency handled).
async fn call(api: &Api, method: ApiMethod, params: &Params) -> Result<Value, Refusal> {
    let hooks = api.sender.subscriptions();
    match method {
        ApiMethod::Create => {
            let entity = Entity::parse(params.required("entity")?);
            let action = Action::parse(params.required("action")?);
            let mut new = NewSubscription::new(entity, action);
            match params.get("callback") {
                Some(callback) => new = new.callback(callback),
                None if api.sender.callback().is_empty() => {
                    return Err(Refusal {
                        code: REQUIRED_PARAMETER,
                        message: "required parameter `callback` is not specified (the server has no --callback default)".to_owned(),
                    });
                }
                None => {}
            }
            if let Some(label) = params.get("label") {
                new = new.label(label);
            }
            if let Some(fields) = params.get("fields") {
                new = new.fields(Fields::parse(fields));
            }
            if let Some(active) = params.active()? {
                new = new.active(active);
            }
            if let Some(store_id) = params.get("store_id") {
                if store_id.trim().is_empty() {
                    return Err(Refusal::bad("`store_id`: must not be empty"));
                }
                new = new.store_id(store_id);
            }
            let id = hooks.create(new)?;
            Ok(json!({"id": id.get()}))
        }
        ApiMethod::List => {
            let filter = params.page(
                filter(params)?,
                SubscriptionFilter::ids,
                SubscriptionFilter::start,
                SubscriptionFilter::count,
            )?;
            let shown = shown_fields(params.get("params").unwrap_or(DEFAULT_LIST_PARAMS))?;
            let webhooks: Vec<Value> = hooks
                .list(&filter)?
                .iter()
                .map(|s| select(s.to_json(), shown.as_deref()))
                .collect();
            Ok(json!({"webhook": webhooks}))
        }
        ApiMethod::Count => Ok(json!({"webhook_count": hooks.count(&filter(params)?)})),
        ApiMethod::Update => {
            let id = params.id()?;
            let changes = params
                .0
                .iter()
                .filter(|(n, _)| n != "id")
                .map(|(n, v)| (n.as_str(), v.as_str()));
            hooks.update_params(id, changes)?;
            Ok(json!({"updated": "true"}))
        }
        ApiMethod::Delete => {
            hooks.delete(params.id()?)?;
            Ok(json!({"deleted": "true"}))
        }
        ApiMethod::Events => {
            let events: Vec<Value> = hooks
                .events()
                .iter()
                .map(|e| {
                    json!({
                        "webhook_name": e.to_string(),
                        "entity": e.entity().as_str(),
                        "action": e.action().as_str(),
                    })
                })
                .collect();
            Ok(json!({"events": events}))
        }
        ApiMethod::FailedWebhooks => {
            let query = params.page(
                FailedQuery::new(),
                FailedQuery::ids,
                FailedQuery::start,
                FailedQuery::count,
            )?;
            let mut page = api.sender.failed_webhooks(&query)?.to_json();
            Ok(page
                .get_mut("result")
                .map(Value::take)
                .unwrap_or_else(|| json!({})))
        }
    }
}

/// The `entity`, `action` and `active` filters of `list` and `count`.
fn filter(params: &Params) -> Result<SubscriptionFilter, Refusal> {
    let mut filter = SubscriptionFilter::new();
    if let Some(entity) = params.entity() {
        filter = filter.entity(entity);
    }
    if let Some(action) = params.action() {
        filter = filter.action(action);
    }
    if let Some(active) = params.active()? {
        filter = filter.active(active);
    }
    Ok(filter)
}

/// The fields of a webhook, as `webhook.list` shows them.
const WEBHOOK_FIELDS: [&str; 10] = [
    "id",
    "label",
    "store_id",
    "active",
    "callback",
    "fields",
    "created_at",
    "updated_at",
    "entity",
    "action",
];

/// `params` of `webhook.list`: `None` for `force_all`, else the fields to show.
fn shown_fields(params: &str) -> Result<Option<Vec<String>>, Refusal> {
    match Fields::parse(params) {
        Fields::All => Ok(None),
        Fields::Only(names) => {
            if let Some(unknown) = names.iter().find(|n| !WEBHOOK_FIELDS.contains(&n.as_str())) {
                return Err(Refusal::bad(format!(
                    "`params`: a webhook has no field `{unknown}` (it has {}, or force_all)",
                    WEBHOOK_FIELDS.join(", ")
                )));
            }
            Ok(Some(names))
        }
    }
}

/// `webhook` with only the `shown` fields (all when `None`).
fn select(mut webhook: Value, shown: Option<&[String]>) -> Value {
    if let (Some(shown), Some(fields)) = (shown, webhook.as_object_mut()) {
        fields.retain(|name, _| shown.contains(name));
    }
    webhook
}

/// The JSON object of an emulator call; an empty body is `{}`.
fn emulator_body(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::bad(format!("the body is not JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(Refusal::bad("the body must be a JSON object"));
    };
    if let Some(unknown) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Refusal::bad(format!(
            "`{unknown}` is not a field of this call (it takes {})",
            allowed.join(", ")
        )));
    }
    Ok(fields)
}

/// A string field of an emulator call; numbers are taken as written.
fn text_field(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, Refusal> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(Refusal::bad(format!(
            "`{name}`: expected a non-empty string"
        ))),
    }
}

/// The deliveries as JSON, each attempt logged on stdout.
fn logged(deliveries: &[Delivery]) -> Vec<Value> {
    deliveries
        .iter()
        .map(|delivery| {
            for attempt in delivery.attempts() {
                log_attempt(VENDOR, attempt);
            }
            delivery.to_json()
        })
        .collect()
}

/// `{"entity", "action", "store_id", "data"}`: `store_id` defaults to the
/// server's, `data` (the entity, an object) to `{}`.
async fn play_event(State(api): Shared, body: Bytes) -> Json<Value> {
    reply(play(&api, &body).await)
}

async fn play(api: &Api, body: &[u8]) -> Result<Value, Refusal> {
    let fields = emulator_body(body, &["entity", "action", "store_id", "data"])?;
    let entity = text_field(&fields, "entity")?.ok_or_else(|| Refusal::missing("entity"))?;
    let action = text_field(&fields, "action")?.ok_or_else(|| Refusal::missing("action"))?;
    let data = match fields.get("data") {
        None | Some(Value::Null) => json!({}),
        Some(data @ Value::Object(_)) => data.clone(),
        Some(_) => return Err(Refusal::bad("`data`: expected a JSON object (the entity)")),
    };
    let mut event = Event::new(Entity::parse(&entity), Action::parse(&action)).json(data);
    if let Some(store_id) = text_field(&fields, "store_id")? {
        event = event.store_id(store_id);
    }
    let deliveries = api.sender.emit(event).await;
    Ok(json!({"deliveries": logged(&deliveries)}))
}

/// `{"code", "reason", "message"}`, each optional: one failed try to reach
/// the store; every active webhook gets a lost-connection notice, and the
/// fifth try in a row disables them all.
async fn store_unreachable(State(api): Shared, body: Bytes) -> Json<Value> {
    reply(unreachable(&api, &body).await)
}

async fn unreachable(api: &Api, body: &[u8]) -> Result<Value, Refusal> {
    let fields = emulator_body(body, &["code", "reason", "message"])?;
    let code = text_field(&fields, "code")?.unwrap_or_else(|| "100".to_owned());
    if code.trim() == "0" {
        return Err(Refusal::bad(
            "`code`: 0 is an ordinary event, a lost-connection notice needs another code",
        ));
    }
    let reason =
        text_field(&fields, "reason")?.unwrap_or_else(|| "Store is not reachable".to_owned());
    let message = text_field(&fields, "message")?.unwrap_or_else(|| {
        "API2Cart cannot connect to the store; the webhook is disabled after 5 failed tries"
            .to_owned()
    });
    let deliveries = api
        .sender
        .store_unreachable(LostConnection::new(code, reason, message))
        .await;
    let active = api
        .sender
        .subscriptions()
        .count(&SubscriptionFilter::new().active(true));
    Ok(json!({"deliveries": logged(&deliveries), "active_webhooks": active}))
}

/// The store answers again: the count of failed tries starts over.
async fn store_reachable(State(api): Shared, body: Bytes) -> Json<Value> {
    reply(emulator_body(&body, &[]).map(|_| {
        api.sender.store_reachable();
        json!({"reachable": true})
    }))
}
