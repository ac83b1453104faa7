use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, ResponseError};

use crate::Error;
use crate::payload::{NOT_JSON, PayloadError, WRONG_SHAPE};

/// A hook that turns a refusal into the error actix-web answers with; see
/// [`WebhookConfig::error_handler`](super::WebhookConfig::error_handler).
pub(crate) type ErrorHandler =
    Arc<dyn Fn(WebhookRejection, &HttpRequest) -> actix_web::Error + Send + Sync>;

/// How `Debug` shows an optional error handler, whose code it cannot show.
pub(crate) fn handler_name(handler: Option<&ErrorHandler>) -> &'static str {
    match handler {
        Some(_) => "custom",
        None => "default",
    }
}

/// Why [`Webhook`](super::Webhook) or [`VerifyWebhook`](super::VerifyWebhook)
/// refused a request.
///
/// As an actix-web error ([`ResponseError`]) it answers with
/// [`status`](Self::status) and a short `text/plain` body,
/// [`body_text`](Self::body_text), that names the class of failure and says
/// nothing about keys, MACs or which byte failed. The precise reason goes to
/// `tracing` where the refusal is made.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// The delivery did not verify: the status of [`Error::status`], per the
    /// table in the [crate docs](crate).
    Refused(Error),
    /// The delivery verified but its body is not JSON. 400.
    JsonSyntax(serde_json::Error),
    /// The delivery verified but its JSON does not fit the payload type. 422.
    JsonData(serde_json::Error),
    /// A [`Webhook`](super::Webhook) extractor found neither a
    /// [`WebhookConfig`](super::WebhookConfig) in the app data nor a delivery
    /// verified by the [`VerifyWebhook`](super::VerifyWebhook) middleware.
    /// The server is misconfigured, not the client: 500, logged as a
    /// `tracing` error. Never passed to an error handler.
    NotConfigured,
}

impl WebhookRejection {
    pub(crate) fn from_payload(error: PayloadError) -> Self {
        match error {
            PayloadError::Syntax(error) => Self::JsonSyntax(error),
            PayloadError::Data(error) => Self::JsonData(error),
        }
    }

    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Refused(error) => status_of(error),
            Self::JsonSyntax(_) => StatusCode::BAD_REQUEST,
            Self::JsonData(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text of the response body.
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::Refused(error) => error.kind().public_message(),
            Self::JsonSyntax(_) => NOT_JSON,
            Self::JsonData(_) => WRONG_SHAPE,
            Self::NotConfigured => "internal server error",
        }
    }

    /// The verification error, when the delivery did not verify.
    pub fn verification_error(&self) -> Option<&Error> {
        match self {
            Self::Refused(error) => Some(error),
            _ => None,
        }
    }
}

impl From<Error> for WebhookRejection {
    fn from(error: Error) -> Self {
        Self::Refused(error)
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.body_text())
    }
}

impl StdError for WebhookRejection {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Refused(error) => Some(error),
            Self::JsonSyntax(error) | Self::JsonData(error) => Some(error),
            Self::NotConfigured => None,
        }
    }
}

/// The response is the status and `text/plain; charset=utf-8` body of
/// [`WebhookRejection::status`] and [`WebhookRejection::body_text`].
impl ResponseError for WebhookRejection {
    fn status_code(&self) -> StatusCode {
        self.status()
    }
}

/// A refused delivery answers with [`Error::status`] and
/// [`ErrorKind::public_message`](crate::ErrorKind::public_message) as a `text/plain; charset=utf-8` body, so a
/// handler that calls a [`Verifier`](crate::Verifier) itself can return the
/// error with `?`.
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_of(self)
    }
}

fn status_of(error: &Error) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The error actix-web answers with for `rejection`: the handler's, or the
/// rejection itself.
pub(crate) fn respond(
    rejection: WebhookRejection,
    handler: Option<&ErrorHandler>,
    req: &HttpRequest,
) -> actix_web::Error {
    match handler {
        // A misconfigured server is no client's doing: never a handler's to shape.
        Some(handler) if !matches!(rejection, WebhookRejection::NotConfigured) => {
            handler(rejection, req)
        }
        _ => rejection.into(),
    }
}
