//! AmeriCommerce under `/api/v1`: the webhook subscriptions resource and an
//! emulator endpoint that plays a store event, as
//! [`AmeriCommerceSender`] delivers it.
//!
//! - `GET /api/v1/webhooks` -> `{"total_count": N, "webhooks": [...]}`
//! - `POST /api/v1/webhooks` (a webhook's fields) -> 201 and the webhook
//! - `GET`, `PUT` (fields to change), `DELETE` (204) `/api/v1/webhooks/{id}`
//! - `POST /api/v1/emulator/events` with `{"event_type", "store_id", "data"}`
//!   -> the caller's `reply` and each subscription's outcome; 502 when a
//!   subscription with failure type Error failed (the caller's error).
//!
//! `/api/v1/webhooks` takes the server's `--store-key` as its access token
//! in `X-AC-Auth-Token`, as the vendor's REST API takes one; a request
//! without it, or with another, is answered 401. The emulator endpoint is
//! the server's own and takes no token.
//!
//! Errors answer 401, 400 or 404 (an unknown id) with the vendor's error
//! structure, `{"status_code": 400, "message": "Bad Request", "details":
//! "..."}`.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use webhook_guard::americommerce::EventType;
use webhook_guard::mock::Attempt;
use webhook_guard::mock::americommerce::{
    AUTH_TOKEN_HEADER, AmeriCommerceSender, Dispatch, NewWebhook, WebhookError, WebhookId,
    WebhookUpdate, error_body,
};

use super::{Context, log_line};
use crate::CliError;

pub(super) type Sender = Arc<AmeriCommerceSender>;
type Answer = (StatusCode, Json<Value>);

/// The routes, sharing one emulated store whose API takes the server's key
/// as its access token, on the server's clock.
pub(super) fn router(context: &Context) -> Result<(Router, Sender), CliError> {
    let sender = AmeriCommerceSender::builder(&context.store_key)
        .store_id(context.store_id.clone())
        .clock(Arc::clone(&context.clock))
        .attempt_timeout(context.attempt_timeout)
        .journal(context.journal.clone())
        .build();
    let sender = Arc::new(sender);
    let api = Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route(
            "/api/v1/webhooks/{id}",
            get(show).put(update).delete(remove),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&sender),
            authenticated,
        ));
    let routes = api
        .route("/api/v1/emulator/events", post(play))
        .with_state(Arc::clone(&sender));
    Ok((routes, sender))
}

/// The dashboard's resend: `attempt`'s event type and JSON body played
/// again on the server's store (`--store-id`), to every subscription for it,
/// with the vendor's deadline and reply cache (a cached reply sends
/// nothing). Returns the new attempts' ids.
pub(super) async fn resend(
    sender: &AmeriCommerceSender,
    attempt: &Attempt,
) -> Result<Vec<u64>, String> {
    let event_type = EventType::parse(attempt.event());
    let data: Value = serde_json::from_slice(attempt.request().body())
        .map_err(|_| "the attempt's body is not JSON, so it is no event to play".to_owned())?;
    let dispatch = sender.play(event_type, sender.store_id(), &data).await;
    log_dispatch(&dispatch);
    Ok(dispatch
        .outcomes()
        .iter()
        .flat_map(|outcome| outcome.exchanges())
        .map(|exchange| exchange.attempt().id())
        .collect())
}

/// Lets through only requests with the API token in `X-AC-Auth-Token`; the
/// token is never logged.
async fn authenticated(State(sender): State<Sender>, request: Request, next: Next) -> Response {
    let values = request
        .headers()
        .get_all(AUTH_TOKEN_HEADER)
        .iter()
        .map(|value| value.as_bytes());
    match sender.authenticate(values) {
        Ok(()) => next.run(request).await,
        Err(refused) => (StatusCode::UNAUTHORIZED, Json(refused.to_json())).into_response(),
    }
}

fn message(status: StatusCode, text: impl std::fmt::Display) -> Answer {
    (status, Json(error_body(status.as_u16(), text)))
}

fn refused(error: &WebhookError) -> Answer {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    message(status, error)
}

fn body(body: Result<Json<Value>, JsonRejection>) -> Result<Value, Answer> {
    body.map(|Json(value)| value)
        .map_err(|rejection| message(StatusCode::BAD_REQUEST, rejection.body_text()))
}

fn webhook_id(id: &str) -> Result<WebhookId, Answer> {
    id.parse().map_err(|e| refused(&e))
}

async fn list(State(sender): State<Sender>) -> Answer {
    let webhooks: Vec<Value> = sender.webhooks().iter().map(|w| w.to_json()).collect();
    (
        StatusCode::OK,
        Json(json!({"total_count": webhooks.len(), "webhooks": webhooks})),
    )
}

async fn create(
    State(sender): State<Sender>,
    request: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let created = body(request).and_then(|body| {
        let new = NewWebhook::from_json(&body).map_err(|e| refused(&e))?;
        sender.create_webhook(new).map_err(|e| refused(&e))
    });
    match created {
        Ok(webhook) => (StatusCode::CREATED, Json(webhook.to_json())),
        Err(answer) => answer,
    }
}

async fn show(State(sender): State<Sender>, Path(id): Path<String>) -> Answer {
    let shown = webhook_id(&id).and_then(|id| sender.webhook(id).map_err(|e| refused(&e)));
    match shown {
        Ok(webhook) => (StatusCode::OK, Json(webhook.to_json())),
        Err(answer) => answer,
    }
}

async fn update(
    State(sender): State<Sender>,
    Path(id): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let updated = webhook_id(&id).and_then(|id| {
        // An unknown id is a 404 whatever the body says.
        sender.webhook(id).map_err(|e| refused(&e))?;
        let body = body(request)?;
        let update = WebhookUpdate::from_json(&body, id).map_err(|e| refused(&e))?;
        sender.update_webhook(id, update).map_err(|e| refused(&e))
    });
    match updated {
        Ok(webhook) => (StatusCode::OK, Json(webhook.to_json())),
        Err(answer) => answer,
    }
}

async fn remove(
    State(sender): State<Sender>,
    Path(id): Path<String>,
) -> Result<StatusCode, Answer> {
    let id = webhook_id(&id)?;
    sender.delete_webhook(id).map_err(|e| refused(&e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"event_type": "GetTax", "store_id": 1, "data": {...}}`: `store_id`
/// defaults to the server's, `data` to `{}`.
async fn play(State(sender): State<Sender>, request: Result<Json<Value>, JsonRejection>) -> Answer {
    let event = match body(request).and_then(|body| event_of(&body, sender.store_id())) {
        Ok(event) => event,
        Err(answer) => return answer,
    };
    let (event_type, store_id, data) = event;
    let dispatch = sender.play(event_type, &store_id, &data).await;
    log_dispatch(&dispatch);
    let status = if dispatch.error().is_some() {
        StatusCode::BAD_GATEWAY
    } else {
        StatusCode::OK
    };
    (status, Json(dispatch.to_json()))
}

fn event_of(body: &Value, default_store: &str) -> Result<(EventType, String, Value), Answer> {
    let bad = |text: &str| message(StatusCode::BAD_REQUEST, text);
    let object = body
        .as_object()
        .ok_or_else(|| bad("expected a JSON object"))?;
    if let Some(unknown) = object
        .keys()
        .find(|k| !["event_type", "store_id", "data"].contains(&k.as_str()))
    {
        return Err(bad(&format!(
            "`{unknown}` is not a field of an event (event_type, store_id, data)"
        )));
    }
    let event_type = match object.get("event_type") {
        Some(Value::String(name)) => EventType::parse(name),
        Some(_) => return Err(bad("`event_type`: expected a string")),
        None => return Err(bad("`event_type` is required")),
    };
    if !event_type.is_known() {
        return Err(refused(&WebhookError::UnknownEventType(
            event_type.to_string(),
        )));
    }
    let store_id = match object.get("store_id") {
        None | Some(Value::Null) => default_store.to_owned(),
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(_) => {
            return Err(bad(
                "`store_id`: expected a whole number or a non-empty string",
            ));
        }
    };
    let data = object.get("data").cloned().unwrap_or_else(|| json!({}));
    Ok((event_type, store_id, data))
}

/// One line per request sent, and one per reply taken from the cache.
fn log_dispatch(dispatch: &Dispatch) {
    for outcome in dispatch.outcomes() {
        if outcome.from_cache() {
            log_line(&format!(
                "americommerce: webhook {} {}: reply from cache, nothing sent",
                outcome.webhook().id(),
                dispatch.event_type()
            ));
        }
        for exchange in outcome.exchanges() {
            log_line(&format!("americommerce: {}", exchange.summary()));
        }
    }
    if let Some(error) = dispatch.error() {
        log_line(&format!("americommerce: the caller gets an error: {error}"));
    }
}
