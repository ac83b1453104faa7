//! Closing the connection after a refusal that left the payload unread.
//!
//! actix-http's HTTP/1 dispatcher decides what to do with an unfinished
//! request payload when it has written the response: if the payload's
//! receiver is still alive, it answers with `Connection: close` and shuts the
//! connection (after lingering up to `client_disconnect_timeout`); if the
//! receiver was dropped and the body is chunked, it keeps the connection and
//! reads the rest of the body to throw it away, with no timer at all
//! (`should_close_for_unread_payload` in `actix-http` 3.x
//! `src/h1/dispatcher.rs`). A client that stops sending would then hold the
//! connection for as long as it likes. So a refusal keeps the payload alive in
//! its response body, which the dispatcher drops only after that decision.

use std::cell::RefCell;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use bytes::Bytes;

/// A response body that keeps the request payload alive until it is dropped.
struct Holding<B> {
    body: B,
    _payload: Payload,
}

impl<B: MessageBody + Unpin> MessageBody for Holding<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

fn hold(body: BoxBody, payload: Payload) -> BoxBody {
    BoxBody::new(Holding {
        body,
        _payload: payload,
    })
}

/// `response` (a refusal) with `payload`, unless read to its end
/// (`Payload::None`), kept until it is sent.
pub(crate) fn hold_in_response(response: ServiceResponse, payload: Payload) -> ServiceResponse {
    if matches!(payload, Payload::None) {
        return response;
    }
    response.map_body(|_, body| hold(body, payload))
}

/// `error` (a refusal) whose response keeps `payload`, unless read to its end
/// (`Payload::None`), until it is sent. Its status and text are the wrapped
/// error's, but it no longer downcasts to the wrapped error's type.
pub(crate) fn hold_in_error(error: actix_web::Error, payload: Payload) -> actix_web::Error {
    if matches!(payload, Payload::None) {
        return error;
    }
    Unread {
        error,
        payload: RefCell::new(Some(payload)),
    }
    .into()
}

/// An error that hands its payload to the response it makes.
struct Unread {
    error: actix_web::Error,
    payload: RefCell<Option<Payload>>,
}

impl ResponseError for Unread {
    fn status_code(&self) -> StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let response = self.error.error_response();
        match self.payload.borrow_mut().take() {
            Some(payload) => response.map_body(|_, body| hold(body, payload)),
            None => response,
        }
    }
}

impl fmt::Debug for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.error, f)
    }
}

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}
