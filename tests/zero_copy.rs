//! No copy of the body on the way to the handler, for every recipe and
//! adapter: a body that arrives in one buffer reaches the handler as those
//! very bytes (the same pointer), through the tower layer, the axum
//! extractor, and the actix-web extractor and middleware; and the
//! `VerifiedWebhook` the handler gets shares that buffer.
//!
//! The deliveries come from the crate's own signers: this is about buffers,
//! not about agreeing with the vendors (`known_answers`, `scheme_oracles`).

mod support;

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpMessage, HttpRequest, test as actix_test, web};
use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::routing::post;
use bytes::Bytes;
use futures_core::Stream;
use http::Request;
use tower::ServiceExt as _;
use webhook_guard::americommerce::UrlToken;
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::up42::{self, Up42};
use webhook_guard::{KeySet, ManualClock, SigningKey, VerifiedWebhook, Verifier, digest};

use support::delivery::Delivery;
use support::{KEY, NOW};

const UP42_SECRET: &str = "up42-webhook-secret";
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TOKEN: &str = "k9Q2-long-random-token";

#[derive(Clone, Copy, Debug)]
enum Recipe {
    Api2Cart,
    Up42,
    Standard,
    Token,
}

const RECIPES: [Recipe; 4] = [
    Recipe::Api2Cart,
    Recipe::Up42,
    Recipe::Standard,
    Recipe::Token,
];

impl Recipe {
    fn verifier(self) -> Verifier {
        let builder = match self {
            Self::Api2Cart => Verifier::builder(KeySet::single(KEY)),
            Self::Up42 => Verifier::builder(KeySet::single(UP42_SECRET)).scheme(Up42::new()),
            Self::Standard => Verifier::builder(StandardWebhooks::keys(STANDARD_SECRET).unwrap())
                .scheme(StandardWebhooks::new()),
            Self::Token => {
                Verifier::builder(KeySet::single(TOKEN)).scheme(UrlToken::query("token"))
            }
        };
        builder.clock(ManualClock::new(NOW)).build()
    }

    /// A valid delivery of `body` to `/hooks` (with the token for the URL
    /// recipe): the request target and the headers.
    fn delivery(self, body: &[u8]) -> (String, Delivery) {
        let delivery = match self {
            Self::Api2Cart => Delivery::product(KEY, NOW, body),
            Self::Up42 => {
                let digest = digest::content_digest(body);
                let covered = [("Content-Digest", digest.as_str())];
                let (input, signature) =
                    up42::sign(&SigningKey::new("k", UP42_SECRET), &covered, NOW);
                Delivery {
                    headers: vec![
                        ("Content-Digest".into(), digest.clone().into_bytes()),
                        ("Signature-Input".into(), input.into_bytes()),
                        ("Signature".into(), signature.into_bytes()),
                    ],
                    body: body.to_vec(),
                }
            }
            Self::Standard => Delivery::standard(
                STANDARD_SECRET,
                "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
                NOW,
                body,
            ),
            Self::Token => Delivery {
                headers: vec![("Content-Type".into(), b"application/json".to_vec())],
                body: body.to_vec(),
            },
        };
        let target = match self {
            Self::Token => format!("/hooks?token={TOKEN}"),
            _ => "/hooks".to_owned(),
        };
        (target, delivery)
    }

    /// The request, its body the one buffer `arrived`.
    fn request(self, arrived: &Bytes) -> Request<Body> {
        let (target, delivery) = self.delivery(arrived);
        let mut request = Request::post(target);
        for (name, value) in &delivery.headers {
            request = request.header(name.as_str(), value.as_slice());
        }
        request.body(Body::from(arrived.clone())).unwrap()
    }
}

/// What a handler saw: the pointer of its body bytes and of the event's.
type Seen = Arc<Mutex<Vec<(usize, usize)>>>;

fn arrived() -> Bytes {
    Bytes::from(br#"{"event":"job.status","body":{"status":"SUCCEEDED","id":"86"}}"#.to_vec())
}

fn ptr(bytes: &[u8]) -> usize {
    bytes.as_ptr() as usize
}

#[track_caller]
fn assert_not_copied(recipe: Recipe, adapter: &str, seen: &Seen, arrived: &Bytes) {
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{recipe:?} {adapter}: the handler ran once");
    let (body, event) = seen[0];
    assert_eq!(
        body,
        ptr(arrived),
        "{recipe:?} {adapter}: the handler's body is the buffer that arrived"
    );
    assert_eq!(
        event,
        ptr(arrived),
        "{recipe:?} {adapter}: the event shares it"
    );
}

#[tokio::test]
async fn the_tower_layer_passes_the_buffer_that_arrived() {
    for recipe in RECIPES {
        let seen = Seen::default();
        let record = seen.clone();
        let app =
            Router::new()
                .route(
                    "/hooks",
                    post(
                        move |axum::Extension(event): axum::Extension<VerifiedWebhook>,
                              body: Bytes| async move {
                            record.lock().unwrap().push((ptr(&body), ptr(event.body())));
                            "ok"
                        },
                    ),
                )
                .layer(VerifyWebhookLayer::new(recipe.verifier()));
        let arrived = arrived();
        let response = app.oneshot(recipe.request(&arrived)).await.unwrap();
        assert_eq!(response.status(), 200, "{recipe:?}");
        assert_not_copied(recipe, "tower layer", &seen, &arrived);
    }
}

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
    seen: Seen,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

#[tokio::test]
async fn the_axum_extractor_passes_the_buffer_that_arrived() {
    async fn receive(
        axum::extract::State(state): axum::extract::State<AppState>,
        webhook: webhook_guard::axum::Webhook<serde_json::Value>,
    ) -> &'static str {
        let body = ptr(webhook.body());
        state.seen.lock().unwrap().push((body, body));
        "ok"
    }
    for recipe in RECIPES {
        let seen = Seen::default();
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(AppState {
                verifier: recipe.verifier(),
                seen: seen.clone(),
            });
        let arrived = arrived();
        let response = app.oneshot(recipe.request(&arrived)).await.unwrap();
        assert_eq!(response.status(), 200, "{recipe:?}");
        assert_not_copied(recipe, "axum extractor", &seen, &arrived);
    }
}

/// The actix-web test request of `recipe`, its payload the buffer `arrived`.
fn actix_request(recipe: Recipe, arrived: &Bytes) -> actix_test::TestRequest {
    let (target, delivery) = recipe.delivery(arrived);
    let mut request = actix_test::TestRequest::post().uri(&target);
    for (name, value) in delivery.headers {
        request = request.insert_header((name, value));
    }
    request.set_payload(arrived.clone())
}

#[actix_rt::test]
async fn the_actix_extractor_passes_the_buffer_that_arrived() {
    for recipe in RECIPES {
        let seen = Seen::default();
        let record = seen.clone();
        let app = actix_test::init_service(
            App::new()
                .app_data(webhook_guard::actix::WebhookConfig::new(recipe.verifier()))
                .route(
                    "/hooks",
                    web::post().to(move |webhook: webhook_guard::actix::Webhook| {
                        let record = record.clone();
                        async move {
                            let body = ptr(webhook.body());
                            record.lock().unwrap().push((body, body));
                            "ok"
                        }
                    }),
                ),
        )
        .await;
        let arrived = arrived();
        let response =
            actix_test::call_service(&app, actix_request(recipe, &arrived).to_request()).await;
        assert_eq!(response.status(), 200, "{recipe:?}");
        assert_not_copied(recipe, "actix extractor", &seen, &arrived);
    }
}

#[actix_rt::test]
async fn the_actix_middleware_passes_the_buffer_that_arrived() {
    for recipe in RECIPES {
        let seen = Seen::default();
        let record = seen.clone();
        let app = actix_test::init_service(
            App::new()
                .wrap(webhook_guard::actix::VerifyWebhook::new(recipe.verifier()))
                .route(
                    "/hooks",
                    // The payload read as a stream: actix's own `web::Bytes`
                    // extractor always gathers into a buffer of its own.
                    web::post().to(move |request: HttpRequest, mut payload: web::Payload| {
                        let record = record.clone();
                        async move {
                            let mut chunks = Vec::new();
                            while let Some(chunk) = std::future::poll_fn(|cx| {
                                std::pin::Pin::new(&mut payload).poll_next(cx)
                            })
                            .await
                            {
                                chunks.push(chunk.expect("chunk"));
                            }
                            let event = request
                                .extensions()
                                .get::<VerifiedWebhook>()
                                .map(|e| ptr(e.body()))
                                .unwrap_or_default();
                            assert_eq!(chunks.len(), 1, "one chunk: the verified body");
                            record.lock().unwrap().push((ptr(&chunks[0]), event));
                            "ok"
                        }
                    }),
                ),
        )
        .await;
        let arrived = arrived();
        let response =
            actix_test::call_service(&app, actix_request(recipe, &arrived).to_request()).await;
        assert_eq!(response.status(), 200, "{recipe:?}");
        assert_not_copied(recipe, "actix middleware", &seen, &arrived);
    }
}
