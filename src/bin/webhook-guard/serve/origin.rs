//! Refuses requests that change something when a web page of another site
//! sent them. `serve` listens on this machine and plays deliveries on
//! demand; without this, any page open in the same browser could post to
//! `http://127.0.0.1:8080/...` (a "simple" cross-site POST needs no CORS
//! preflight) and play, replay or resend deliveries to the receiver under
//! test. Browsers name the page's origin in `Origin` on such requests;
//! scripts and curl send none, and the dashboard's own requests name the
//! server itself, so both pass.

use axum::Json;
use axum::extract::Request;
use axum::http::header::{HOST, ORIGIN};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Passes safe methods, requests without `Origin`, and requests whose
/// `Origin` is `http://` + their own `Host`; answers 403 to the rest.
pub(super) async fn same_origin_only(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let headers = request.headers();
    let foreign = match (headers.get(ORIGIN), headers.get(HOST)) {
        (None, _) => false,
        (Some(origin), Some(host)) => {
            origin.as_bytes().strip_prefix(b"http://") != Some(host.as_bytes())
        }
        (Some(_), None) => true,
    };
    if safe || !foreign {
        return next.run(request).await;
    }
    (
        StatusCode::FORBIDDEN,
        Json(json!({"error": "refused: sent by a page of another origin"})),
    )
        .into_response()
}
