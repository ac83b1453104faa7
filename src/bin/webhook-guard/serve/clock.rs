//! `/emulator/clock`: read or move the virtual clock (`--virtual-clock`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use webhook_guard::{Clock as _, ManualClock};

use super::Context;

/// `GET /emulator/clock` tells the time; `POST` with `{"advance": SECONDS}`
/// or `{"set": UNIX_SECONDS}` moves it. Without `--virtual-clock` both
/// answer 409: the system clock cannot be moved.
pub(super) fn router(context: &Context) -> Router {
    Router::new()
        .route("/emulator/clock", get(now).post(move_clock))
        .with_state(context.manual_clock.clone())
}

type Reply = (StatusCode, Json<Value>);

fn not_virtual() -> Reply {
    (
        StatusCode::CONFLICT,
        Json(
            json!({"error": "the server runs on the system clock; start it with --virtual-clock START to move time"}),
        ),
    )
}

async fn now(State(clock): State<Option<ManualClock>>) -> Reply {
    match clock {
        Some(clock) => (StatusCode::OK, Json(json!({"now": clock.now()}))),
        None => not_virtual(),
    }
}

async fn move_clock(
    State(clock): State<Option<ManualClock>>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let Some(clock) = clock else {
        return not_virtual();
    };
    let request = match body {
        Ok(Json(value)) => value,
        Err(rejection) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": rejection.body_text()})),
            );
        }
    };
    match (
        request.get("advance").and_then(Value::as_i64),
        request.get("set").and_then(Value::as_i64),
    ) {
        (Some(seconds), None) => clock.advance(seconds),
        (None, Some(at)) => clock.set(at),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(
                    json!({"error": "expected {\"advance\": SECONDS} or {\"set\": UNIX_SECONDS} (integers)"}),
                ),
            );
        }
    }
    (StatusCode::OK, Json(json!({"now": clock.now()})))
}
