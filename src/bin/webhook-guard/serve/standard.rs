//! Standard Webhooks under `/standard`, played by a [`StandardSender`] that
//! delivers over real HTTP. The paths are the mock's own: the spec defines
//! the deliveries, not a management API.
//!
//! - `POST /standard/endpoints` `{"url", "secret"?, "secrets"?, "enabled"?}`:
//!   201 and the endpoint, with a generated `whsec_` secret when none is given;
//! - `GET  /standard/endpoints`, `GET /standard/endpoints/{id}`;
//! - `POST /standard/endpoints/{id}/messages` `{"eventType", "payload", "id"?,
//!   "faults"?: ["wrong-key", ...]}`: the first attempt and where the message
//!   stands;
//! - `POST /standard/deliver-due`: makes the retries due now and answers them;
//! - `GET  /standard/pending`: the retries waiting.
//!
//! Retries also run by themselves: a task polls the queue twice a second,
//! so with `--virtual-clock` they go out soon after `/emulator/clock` moves
//! time past them. Errors answer `{"error": {"code", "message"}}`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use webhook_guard::mock::{
    Attempt, Dispatch, Fault, Message, NewEndpoint, StandardError, StandardSender,
};

use super::{Context, log_attempt};
use crate::CliError;

/// The prefix of each logged attempt.
const VENDOR: &str = "standard";

/// How often the background task looks for due retries.
const POLL: Duration = Duration::from_millis(500);

/// The routes, on a sender with the server's clock, attempt timeout and
/// journal limit; spawns the task that runs due retries.
pub(super) fn router(context: &Context) -> Result<(Router, StandardSender), CliError> {
    let sender = StandardSender::builder()
        .http()
        .clock(Arc::clone(&context.clock))
        .attempt_timeout(context.attempt_timeout)
        .journal(context.journal.clone())
        .build();
    let background = sender.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(POLL).await;
            logged(&background.deliver_due().await);
        }
    });
    let routes = Router::new()
        .route("/standard/endpoints", get(list).post(create))
        .route("/standard/endpoints/{id}", get(read))
        .route("/standard/endpoints/{id}/messages", post(send))
        .route("/standard/deliver-due", post(deliver_due))
        .route("/standard/pending", get(pending))
        .with_state(sender.clone());
    Ok((routes, sender))
}

/// The dashboard's resend: `attempt`'s event type and body sent again to
/// its endpoint as a new message (a new `webhook-id`, so a receiver's
/// idempotency check takes it as new), freshly signed, with the vendor's
/// retries. Returns the new attempt's id.
pub(super) async fn resend(sender: &StandardSender, attempt: &Attempt) -> Result<Vec<u64>, String> {
    let Some(endpoint) = attempt.endpoint() else {
        return Err("the attempt names no endpoint".to_owned());
    };
    let message = Message::raw(attempt.event(), attempt.request().body().clone());
    let dispatch = sender
        .send(endpoint, message)
        .await
        .map_err(|e| e.to_string())?;
    logged(std::slice::from_ref(&dispatch));
    Ok(dispatch.attempt().map(Attempt::id).into_iter().collect())
}

type Sender = State<StandardSender>;
type Body = Result<Json<Value>, axum::extract::rejection::JsonRejection>;

fn error(error: &StandardError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(error.to_json())).into_response()
}

fn invalid(reason: impl Into<String>) -> StandardError {
    StandardError::InvalidMessage {
        reason: reason.into(),
    }
}

/// The JSON object of a request body.
fn object(body: Body) -> Result<serde_json::Map<String, Value>, StandardError> {
    match body {
        Ok(Json(Value::Object(fields))) => Ok(fields),
        Ok(_) => Err(invalid("the body must be a JSON object")),
        Err(rejection) => Err(invalid(rejection.body_text())),
    }
}

fn text<'a>(
    fields: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, StandardError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(invalid(format!("`{name}` must be a string"))),
    }
}

fn logged(dispatches: &[Dispatch]) -> Vec<Value> {
    dispatches
        .iter()
        .map(|d| {
            if let Some(attempt) = d.attempt() {
                log_attempt(VENDOR, attempt);
            }
            d.to_json()
        })
        .collect()
}

fn new_endpoint(body: Body) -> Result<NewEndpoint, StandardError> {
    let fields = object(body)?;
    if let Some(unknown) = fields
        .keys()
        .find(|k| !["url", "secret", "secrets", "enabled"].contains(&k.as_str()))
    {
        return Err(invalid(format!("unknown field `{unknown}`")));
    }
    let url = text(&fields, "url")?.ok_or_else(|| invalid("`url` is required"))?;
    let mut new = NewEndpoint::new(url);
    if let Some(secret) = text(&fields, "secret")? {
        new = new.secret(secret);
    }
    match fields.get("secrets") {
        None | Some(Value::Null) => {}
        Some(Value::Array(secrets)) => {
            for secret in secrets {
                let secret = secret
                    .as_str()
                    .ok_or_else(|| invalid("`secrets` must be strings"))?;
                new = new.secret(secret);
            }
        }
        Some(_) => return Err(invalid("`secrets` must be an array of strings")),
    }
    match fields.get("enabled") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(enabled)) => new = new.enabled(*enabled),
        Some(_) => return Err(invalid("`enabled` must be true or false")),
    }
    Ok(new)
}

fn message(body: Body) -> Result<Message, StandardError> {
    let fields = object(body)?;
    if let Some(unknown) = fields
        .keys()
        .find(|k| !["eventType", "payload", "id", "faults"].contains(&k.as_str()))
    {
        return Err(invalid(format!("unknown field `{unknown}`")));
    }
    let event_type =
        text(&fields, "eventType")?.ok_or_else(|| invalid("`eventType` is required"))?;
    let payload = fields
        .get("payload")
        .ok_or_else(|| invalid("`payload` is required"))?;
    let mut message = Message::json(event_type, payload);
    if let Some(id) = text(&fields, "id")? {
        message = message.id(id);
    }
    match fields.get("faults") {
        None | Some(Value::Null) => {}
        Some(Value::Array(faults)) => {
            for fault in faults {
                let fault: Fault = fault
                    .as_str()
                    .ok_or_else(|| invalid("`faults` must be fault names"))?
                    .parse()
                    .map_err(|e: webhook_guard::mock::ParseFaultError| invalid(e.to_string()))?;
                message = message.fault(fault);
            }
        }
        Some(_) => return Err(invalid("`faults` must be an array of fault names")),
    }
    Ok(message)
}

async fn create(State(sender): Sender, body: Body) -> Response {
    match new_endpoint(body).and_then(|new| sender.create_endpoint(new)) {
        Ok(endpoint) => (StatusCode::CREATED, Json(endpoint.to_json())).into_response(),
        Err(e) => error(&e),
    }
}

async fn list(State(sender): Sender) -> Response {
    let endpoints: Vec<Value> = sender.endpoints().iter().map(|e| e.to_json()).collect();
    Json(json!({"data": endpoints})).into_response()
}

async fn read(State(sender): Sender, Path(id): Path<String>) -> Response {
    match sender.endpoint(&id) {
        Ok(endpoint) => Json(endpoint.to_json()).into_response(),
        Err(e) => error(&e),
    }
}

async fn send(State(sender): Sender, Path(id): Path<String>, body: Body) -> Response {
    let message = match sender.endpoint(&id).and_then(|_| message(body)) {
        Ok(message) => message,
        Err(e) => return error(&e),
    };
    match sender.send(&id, message).await {
        Ok(dispatch) => {
            let answer = logged(std::slice::from_ref(&dispatch)).pop();
            (StatusCode::OK, Json(answer.unwrap_or(Value::Null))).into_response()
        }
        Err(e) => error(&e),
    }
}

async fn deliver_due(State(sender): Sender) -> Response {
    let dispatches = sender.deliver_due().await;
    Json(json!({"now": sender.now(), "data": logged(&dispatches)})).into_response()
}

async fn pending(State(sender): Sender) -> Response {
    let pending: Vec<Value> = sender
        .pending()
        .into_iter()
        .map(|p| {
            json!({
                "messageId": p.message_id,
                "endpointId": p.endpoint_id,
                "attempt": p.attempt,
                "dueAt": p.due_at,
            })
        })
        .collect();
    Json(json!({"now": sender.now(), "data": pending})).into_response()
}
