//! The [`Webhook<T>`](Webhook) extractor for axum 0.8.
//!
//! `Webhook<T>` in a handler's arguments is a verified delivery with its JSON
//! payload deserialized into `T` (`serde_json::Value` by default). Behind a
//! [`VerifyWebhookLayer`](crate::tower::VerifyWebhookLayer) it takes the
//! delivery the layer verified; anywhere else it verifies the request itself
//! with the [`Verifier`] it gets from the router's state through [`FromRef`],
//! streaming the body exactly as the layer does, under the smaller of
//! [`Verifier::body_limit`] and axum's `DefaultBodyLimit` (2 MB unless set).
//! The verifier in the state also keeps a route safe that someone forgot to
//! put behind the layer.
//!
//! A refusal is a [`WebhookRejection`]: the status of the table in the
//! [crate docs](crate) and a short text that names the class of failure only.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::post};
//! use tower::ServiceExt;
//! use webhook_guard::axum::Webhook;
//! use webhook_guard::{KeySet, SignedHeaders, Signer, Verifier};
//!
//! // One line per event; the vendor counts only 200 as delivered.
//! async fn receive(webhook: Webhook) -> &'static str {
//!     println!(
//!         "{:?} {:?} store {:?}: {:?}",
//!         webhook.entity(),
//!         webhook.action(),
//!         webhook.store_id(),
//!         webhook.payload(),
//!     );
//!     "ok"
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let app = Router::new()
//!     .route("/webhooks", post(receive))
//!     .with_state(Verifier::new(KeySet::single("store-key")));
//!
//! // A delivery as the vendor signs it.
//! let body = r#"{"id":"86","name":"test product"}"#;
//! let signed = SignedHeaders::from_pairs([("X-Webhook-Entity", "product"), ("X-Webhook-Action", "add")])?;
//! let delivery = |key: &str| {
//!     Request::post("/webhooks")
//!         .header("X-Webhook-Entity", "product")
//!         .header("X-Webhook-Action", "add")
//!         .header("X-Webhook-Signature", Signer::new(key).sign(&signed, body.as_bytes()))
//!         .body(Body::from(body))
//! };
//!
//! let response = app.clone().oneshot(delivery("store-key")?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let response = app.oneshot(delivery("some-other-key")?).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! # Ok(()) }
//! ```
//!
//! A typed payload, and a router whose state holds more than the verifier:
//!
//! ```
//! use axum::{Router, extract::FromRef, routing::post};
//! use serde::Deserialize;
//! use webhook_guard::axum::Webhook;
//! use webhook_guard::{KeySet, Verifier};
//!
//! #[derive(Deserialize)]
//! struct Product {
//!     id: String,
//! }
//!
//! #[derive(Clone)]
//! struct AppState {
//!     verifier: Verifier,
//!     // database pools, ...
//! }
//!
//! // Or `#[derive(FromRef)]` with axum's `macros` feature.
//! impl FromRef<AppState> for Verifier {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.verifier.clone()
//!     }
//! }
//!
//! async fn product(webhook: Webhook<Product>) -> &'static str {
//!     // Lost-connection notices arrive with an empty body and no payload.
//!     if let Some(notice) = webhook.error_notice() {
//!         eprintln!("store unreachable: {:?}", notice.message);
//!     }
//!     if let Some(product) = webhook.payload() {
//!         println!("product {}", product.id);
//!     }
//!     "ok"
//! }
//!
//! let app: Router = Router::new()
//!     .route("/webhooks/products", post(product))
//!     .with_state(AppState { verifier: Verifier::new(KeySet::single("store-key")) });
//! # let _ = app;
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum_core::RequestExt;
use axum_core::extract::{FromRef, FromRequest, Request};
use axum_core::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::log_refusal;
use crate::payload::{NOT_JSON, PayloadError, WRONG_SHAPE, decode_payload};
use crate::tower::{default_rejection, verify_request};
use crate::{Error, KeyResolver, KeySet, VerifiedWebhook, Verifier};

/// A verified delivery whose JSON payload is deserialized into `T`.
///
/// `K` is the key source of the [`Verifier<K>`] taken from the state when no
/// [`VerifyWebhookLayer`](crate::tower::VerifyWebhookLayer) verified the
/// request already. It stays [`KeySet`] unless the state holds a verifier
/// with a [`KeyResolver`] (which sees the request [`Parts`]); that resolver
/// must then be a type the handler can name, e.g. a struct implementing
/// `KeyResolver<Parts>`. A resolver made from a closure cannot be named: put it
/// in a layer instead. The state must hold a `Verifier<K>` even behind a
/// layer, so a route that lost its layer still verifies; a router whose state
/// has none can take axum's `Extension<VerifiedWebhook>`, which the layer sets.
///
/// An empty body (a lost-connection notice) has no payload and is not an
/// error; a non-empty body that is not JSON is refused with 400, JSON that does
/// not fit `T` with 422, as axum's `Json` does. Neither is checked before the
/// signature, and `Content-Type` is not looked at. To accept any JSON without
/// keeping it, use `Webhook<serde::de::IgnoredAny>`.
///
/// It derefs to the [`VerifiedWebhook`], so `webhook.entity()`,
/// `webhook.store_id()`, `webhook.body()` and the rest read the delivery;
/// [`payload`](Self::payload) is the `T` decoded once here.
///
/// See the [module docs](self) for examples.
pub struct Webhook<T = serde_json::Value, K = KeySet> {
    event: VerifiedWebhook,
    payload: Option<T>,
    keys: PhantomData<fn() -> K>,
}

impl<T, K> Webhook<T, K> {
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

impl<T, K> Deref for Webhook<T, K> {
    type Target = VerifiedWebhook;

    fn deref(&self) -> &VerifiedWebhook {
        &self.event
    }
}

impl<T: Clone, K> Clone for Webhook<T, K> {
    fn clone(&self) -> Self {
        Self {
            event: self.event.clone(),
            payload: self.payload.clone(),
            keys: PhantomData,
        }
    }
}

impl<T: fmt::Debug, K> fmt::Debug for Webhook<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("event", &self.event)
            .field("payload", &self.payload)
            .finish()
    }
}

impl<T, K, S> FromRequest<S> for Webhook<T, K>
where
    T: DeserializeOwned,
    K: KeyResolver<Parts>,
    Verifier<K>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let event = match parts.extensions.remove::<VerifiedWebhook>() {
            Some(event) => event,
            None => {
                // Honour axum's `DefaultBodyLimit` as its own body extractors do.
                let (parts, body) = Request::from_parts(parts, body)
                    .with_limited_body()
                    .into_parts();
                let verifier = Verifier::<K>::from_ref(state);
                verify_request(&verifier, &parts, body)
                    .await
                    .map_err(|error| {
                        log_refusal(&error);
                        WebhookRejection::Refused(error)
                    })?
            }
        };
        let payload = decode_payload(event.body()).map_err(WebhookRejection::from_payload)?;
        Ok(Self {
            event,
            payload,
            keys: PhantomData,
        })
    }
}

/// Why [`Webhook`] refused a request. As a response: a status and a short
/// `text/plain` body that say nothing about keys, MACs or which byte failed.
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
}

impl WebhookRejection {
    fn from_payload(error: PayloadError) -> Self {
        match error {
            PayloadError::Syntax(error) => Self::JsonSyntax(error),
            PayloadError::Data(error) => Self::JsonData(error),
        }
    }

    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Refused(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::JsonSyntax(_) => StatusCode::BAD_REQUEST,
            Self::JsonData(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The text of the response body.
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::Refused(error) => error.kind().public_message(),
            Self::JsonSyntax(_) => NOT_JSON,
            Self::JsonData(_) => WRONG_SHAPE,
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
        }
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let mut response = match &self {
            Self::Refused(error) => default_rejection(error).map(Into::into),
            Self::JsonSyntax(_) | Self::JsonData(_) => Response::new(self.body_text().into()),
        };
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
