use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use super::config::WebhookConfig;
use super::error::{ErrorHandler, WebhookRejection, respond};
use super::unread::hold_in_error;
use super::{LocalFuture, Verified};
use crate::VerifiedWebhook;
use crate::error::log_refusal;
use crate::payload::decode_payload;

/// A verified delivery whose JSON payload is deserialized into `T`.
///
/// Behind the [`VerifyWebhook`](super::VerifyWebhook) middleware it takes the
/// delivery the middleware verified. Anywhere else it verifies the request
/// itself with the [`WebhookConfig`] in the app data, and refuses it with 500
/// when there is none. Verifying reads the payload: a handler takes one
/// `Webhook` and nothing else that reads the body (behind the middleware,
/// the body can be read again).
///
/// An empty body (a lost-connection notice) has no payload and is not an
/// error; a non-empty body that is not JSON is refused with 400, JSON that does
/// not fit `T` with 422, as actix-web's `Json` does. Neither is checked before
/// the signature, and `Content-Type` is not looked at. To accept any JSON
/// without keeping it, use `Webhook<serde::de::IgnoredAny>`.
///
/// It derefs to the [`VerifiedWebhook`], so `webhook.entity()`,
/// `webhook.store_id()`, `webhook.body()` and the rest read the delivery;
/// [`payload`](Self::payload) is the `T` decoded once here.
///
/// See the [module docs](super) for examples.
pub struct Webhook<T = serde_json::Value> {
    event: VerifiedWebhook,
    payload: Option<T>,
}

impl<T> Webhook<T> {
    /// The payload, or `None` when the body was empty.
    pub fn payload(&self) -> Option<&T> {
        self.payload.as_ref()
    }

    /// The payload, giving up the rest.
    pub fn into_payload(self) -> Option<T> {
        self.payload
    }

    /// The verified delivery.
    pub fn event(&self) -> &VerifiedWebhook {
        &self.event
    }

    /// The verified delivery, giving up the payload.
    pub fn into_event(self) -> VerifiedWebhook {
        self.event
    }

    /// The verified delivery and the payload.
    pub fn into_parts(self) -> (VerifiedWebhook, Option<T>) {
        (self.event, self.payload)
    }
}

impl<T> Deref for Webhook<T> {
    type Target = VerifiedWebhook;

    fn deref(&self) -> &VerifiedWebhook {
        &self.event
    }
}

impl<T: Clone> Clone for Webhook<T> {
    fn clone(&self) -> Self {
        Self {
            event: self.event.clone(),
            payload: self.payload.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Webhook<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("event", &self.event)
            .field("payload", &self.payload)
            .finish()
    }
}

impl<T: DeserializeOwned> FromRequest for Webhook<T> {
    type Error = actix_web::Error;
    type Future = WebhookFuture<T>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let config = WebhookConfig::from_req(req);
        let verified = req.extensions().get::<VerifiedWebhook>().cloned();
        let state = match (verified, config) {
            // The middleware verified this request already.
            (Some(event), _) => State::Done(Some(Ok(event))),
            (None, Some(config)) => State::Verifying(config.verify(req.clone(), payload.take())),
            (None, None) => {
                tracing::error!(
                    path = req.path(),
                    "webhook refused with 500: no WebhookConfig in the app data \
                     and no VerifyWebhook middleware in front of the handler"
                );
                State::Done(Some(Err(WebhookRejection::NotConfigured)))
            }
        };
        WebhookFuture {
            req: req.clone(),
            error_handler: config.and_then(WebhookConfig::handler).cloned(),
            state,
            payload: PhantomData,
        }
    }
}

/// The future of the [`Webhook`] extractor: resolves the keys, streams the
/// payload through the MAC, then deserializes it.
pub struct WebhookFuture<T> {
    req: HttpRequest,
    error_handler: Option<ErrorHandler>,
    state: State,
    payload: PhantomData<fn() -> T>,
}

enum State {
    /// Verifying the request with the config's verifier.
    Verifying(LocalFuture<Verified>),
    /// The outcome is known; `None` once it has been handed out.
    Done(Option<Result<VerifiedWebhook, WebhookRejection>>),
}

impl<T: DeserializeOwned> Future for WebhookFuture<T> {
    type Output = Result<Webhook<T>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut unread = None;
        let verified = match &mut this.state {
            State::Verifying(verification) => {
                let result = ready!(verification.as_mut().poll(cx));
                this.state = State::Done(None);
                result.map_err(|(error, payload)| {
                    log_refusal(&error);
                    unread = Some(payload);
                    WebhookRejection::Refused(error)
                })
            }
            // Polled after completion: answer rather than panic.
            State::Done(outcome) => outcome
                .take()
                .unwrap_or(Err(WebhookRejection::NotConfigured)),
        };
        let webhook = verified.and_then(|event| {
            let payload = decode_payload(event.body()).map_err(WebhookRejection::from_payload)?;
            Ok(Webhook { event, payload })
        });
        Poll::Ready(webhook.map_err(|rejection| {
            let error = respond(rejection, this.error_handler.as_ref(), &this.req);
            match unread {
                Some(payload) => hold_in_error(error, payload),
                None => error,
            }
        }))
    }
}

impl<T> fmt::Debug for WebhookFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Verifying(_) => "Verifying",
            State::Done(_) => "Done",
        };
        f.debug_struct("WebhookFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
