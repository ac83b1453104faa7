//! UP42 (seed 004) at UP42's own paths: its webhook API and "Test a
//! webhook", played by a [`WorkspaceSender`] that delivers over real HTTP.
//! Every answer uses the envelope `{"data": ..., "error": null}` or
//! `{"data": null, "error": {"code", "message"}}`.
//!
//! - `GET  /webhooks/events`: the event catalogue (`data[].name`);
//! - `GET  /workspaces/{workspace}/webhooks`, `POST` the same (201);
//! - `GET | PUT | POST | DELETE /workspaces/{workspace}/webhooks/{id}`: `PUT`
//!   replaces the webhook, and so does `POST`, as UP42's Python SDK sends
//!   its updates; `DELETE` answers 204 with no body;
//! - `POST /workspaces/{workspace}/webhooks/{id}/tests`: body empty, `{}` or
//!   `{"event": "order.status"}`.
//!
//! Deliveries are signed as UP42 signs (`Signature-Input`, `Signature`) with
//! each webhook's secret, not `--store-key`; see [`WorkspaceSender`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use webhook_guard::mock::{Attempt, NewWorkspaceWebhook, WorkspaceError, WorkspaceSender};

use super::{Context, log_attempt};
use crate::CliError;

/// The prefix of each logged attempt.
const VENDOR: &str = "workspace";

/// The vendor's routes, on a sender with the server's clock and attempt timeout.
pub(super) fn router(context: &Context) -> Result<(Router, WorkspaceSender), CliError> {
    let sender = WorkspaceSender::builder()
        .http()
        .clock(Arc::clone(&context.clock))
        .attempt_timeout(context.attempt_timeout)
        .journal(context.journal.clone())
        .build();
    let routes = Router::new()
        .route("/webhooks/events", get(events))
        .route("/workspaces/{workspace}/webhooks", get(list).post(create))
        .route(
            "/workspaces/{workspace}/webhooks/{id}",
            get(read).put(replace).post(replace).delete(delete),
        )
        .route("/workspaces/{workspace}/webhooks/{id}/tests", post(test))
        .with_state(sender.clone());
    Ok((routes, sender))
}

/// The dashboard's resend: the webhook `attempt` was sent for tested again
/// with the same event, freshly signed. Returns the new attempt's id.
pub(super) async fn resend(
    sender: &WorkspaceSender,
    attempt: &Attempt,
) -> Result<Vec<u64>, String> {
    let workspace = attempt.details().get("workspace").and_then(Value::as_str);
    let (Some(workspace), Some(id)) = (workspace, attempt.endpoint()) else {
        return Err("the attempt names no workspace webhook".to_owned());
    };
    let run = sender
        .test(workspace, id, Some(attempt.event()))
        .await
        .map_err(|e| e.to_string())?;
    for test in run.tests() {
        log_attempt(VENDOR, test.attempt());
    }
    Ok(run.tests().iter().map(|test| test.attempt().id()).collect())
}

type Sender = State<WorkspaceSender>;

/// `{"data": data, "error": null}` with `status`.
fn data(status: StatusCode, data: Value) -> Response {
    (status, Json(json!({"data": data, "error": null}))).into_response()
}

fn error(error: &WorkspaceError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(error.to_json())).into_response()
}

/// The body as JSON; an empty body is `None`.
fn json_body(body: &[u8]) -> Result<Option<Value>, WorkspaceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| WorkspaceError::InvalidBody {
            reason: format!("not JSON: {e}"),
        })
}

/// A body the route cannot do without.
fn required_body(body: &[u8]) -> Result<Value, WorkspaceError> {
    json_body(body)?.ok_or_else(|| WorkspaceError::InvalidBody {
        reason: "a JSON object is required".to_owned(),
    })
}

/// The event of a test request: none for an empty body, `{}` or `{"event": null}`.
fn test_event(body: &[u8]) -> Result<Option<String>, WorkspaceError> {
    let Some(value) = json_body(body)? else {
        return Ok(None);
    };
    let fields = value
        .as_object()
        .ok_or_else(|| WorkspaceError::InvalidBody {
            reason: "the body must be empty or a JSON object".to_owned(),
        })?;
    if let Some(unknown) = fields.keys().find(|k| *k != "event") {
        return Err(WorkspaceError::InvalidField {
            field: unknown.clone(),
            reason: "unknown field (a test takes only `event`)".to_owned(),
        });
    }
    match fields.get("event") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(event)) => Ok(Some(event.clone())),
        Some(_) => Err(WorkspaceError::InvalidField {
            field: "event".to_owned(),
            reason: "must be an event name".to_owned(),
        }),
    }
}

/// One answer for a result: `status` with its data, or the error.
fn reply<T>(
    result: Result<T, WorkspaceError>,
    status: StatusCode,
    to_json: impl FnOnce(T) -> Value,
) -> Response {
    match result {
        Ok(value) => data(status, to_json(value)),
        Err(e) => error(&e),
    }
}

async fn events(State(sender): Sender) -> Response {
    let events: Vec<Value> = sender.events().iter().map(|e| e.to_json()).collect();
    data(StatusCode::OK, Value::Array(events))
}

async fn list(State(sender): Sender, Path(workspace): Path<String>) -> Response {
    let webhooks: Vec<Value> = sender
        .list(&workspace)
        .iter()
        .map(|w| w.to_json())
        .collect();
    data(StatusCode::OK, Value::Array(webhooks))
}

async fn create(State(sender): Sender, Path(workspace): Path<String>, body: Bytes) -> Response {
    let created = required_body(&body)
        .and_then(|body| NewWorkspaceWebhook::from_json(&body))
        .and_then(|new| sender.create(&workspace, new));
    reply(created, StatusCode::CREATED, |w| w.to_json())
}

async fn read(State(sender): Sender, Path((workspace, id)): Path<(String, String)>) -> Response {
    reply(sender.get(&workspace, &id), StatusCode::OK, |w| w.to_json())
}

async fn replace(
    State(sender): Sender,
    Path((workspace, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let replaced = sender
        .get(&workspace, &id)
        .and_then(|_| required_body(&body))
        .and_then(|body| NewWorkspaceWebhook::from_json(&body))
        .and_then(|new| sender.replace(&workspace, &id, new));
    reply(replaced, StatusCode::OK, |w| w.to_json())
}

async fn delete(State(sender): Sender, Path((workspace, id)): Path<(String, String)>) -> Response {
    match sender.delete(&workspace, &id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(&e),
    }
}

async fn test(
    State(sender): Sender,
    Path((workspace, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let event = match sender.get(&workspace, &id).and_then(|_| test_event(&body)) {
        Ok(event) => event,
        Err(e) => return error(&e),
    };
    match sender.test(&workspace, &id, event.as_deref()).await {
        Ok(run) => {
            for test in run.tests() {
                log_attempt(VENDOR, test.attempt());
            }
            (StatusCode::OK, Json(run.to_json())).into_response()
        }
        Err(e) => error(&e),
    }
}
