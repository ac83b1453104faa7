//! The status table of each recipe other than API2Cart (UP42, Standard
//! Webhooks, the AmeriCommerce URL token), row by row over real HTTP on
//! loopback: axum behind `VerifyWebhookLayer` and with the `Webhook`
//! extractor, actix-web behind the `VerifyWebhook` middleware and with its
//! extractor; HTTP/1.1 in the sender's case and in lower case, and HTTP/2
//! with prior knowledge. A counter proves that no handler ran on a refusal.
//!
//! The valid deliveries here come from the crate's own signers, so this test
//! is about statuses and adapters; that the signers and verifiers agree with
//! the vendors' own code is `scheme_oracles`'s job.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::routing::post;
use axum::{Extension, Router};
use webhook_guard::americommerce::UrlToken;
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::up42::{self, Up42};
use webhook_guard::{
    InMemoryReplayGuard, KeySet, ManualClock, SigningKey, VerifiedWebhook, Verifier, digest,
};

use support::NOW;
use support::client::{h2_connect, send_h1, send_h2};
use support::delivery::Delivery;
use support::servers::serve;

const LIMIT: usize = 256;
const UP42_SECRET: &str = "up42-webhook-secret";
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ROTATED_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const TOKEN: &str = "k9Q2-long-random-token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recipe {
    Up42,
    Standard,
    Token,
}

impl Recipe {
    const ALL: [Self; 3] = [Self::Up42, Self::Standard, Self::Token];

    fn path(self) -> &'static str {
        match self {
            Self::Up42 => "/up42",
            Self::Standard => "/standard",
            Self::Token => "/americommerce",
        }
    }

    /// The verifier of this recipe's route: clock at `NOW`, a small body
    /// limit, replays refused.
    fn verifier(self) -> Verifier {
        let builder = match self {
            Self::Up42 => Verifier::builder(KeySet::single(UP42_SECRET)).scheme(Up42::new()),
            Self::Standard => Verifier::builder(KeySet::from_keys([
                StandardWebhooks::secret("current", STANDARD_SECRET).unwrap(),
                StandardWebhooks::secret("next", ROTATED_SECRET).unwrap(),
            ]))
            .scheme(StandardWebhooks::new()),
            Self::Token => Verifier::builder(KeySet::single(TOKEN).with_key("next", "next-token"))
                .scheme(UrlToken::query("token")),
        };
        builder
            .clock(ManualClock::new(NOW))
            .body_limit(LIMIT)
            .replay_guard(InMemoryReplayGuard::new())
            .build()
    }
}

/// One row: where to send what, and the answer it must get.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    target: String,
    delivery: Delivery,
    status: u16,
    text: &'static str,
}

fn up42_delivery(n: u32, created: i64, covered: &[(&str, &str)], body: &[u8]) -> Delivery {
    let key = SigningKey::new("k", UP42_SECRET);
    let (input, signature) = up42::sign(&key, covered, created);
    let mut headers: Vec<(String, Vec<u8>)> = covered
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
    headers.push(("X-Up42-Delivery".into(), n.to_string().into_bytes()));
    headers.push(("Signature-Input".into(), input.into_bytes()));
    headers.push(("Signature".into(), signature.into_bytes()));
    Delivery {
        headers,
        body: body.to_vec(),
    }
}

fn up42_event(n: u32) -> Vec<u8> {
    format!(r#"{{"event":"job.status","body":{{"status":"SUCCEEDED","n":{n}}}}}"#).into_bytes()
}

/// A UP42 delivery covering its event name and the digest of its body.
fn up42_valid(n: u32, created: i64) -> Delivery {
    let body = up42_event(n);
    let digest = digest::content_digest(&body);
    up42_delivery(
        n,
        created,
        &[("Content-Digest", &digest), ("X-Up42-Event", "job.status")],
        &body,
    )
}

fn plain(body: &[u8]) -> Delivery {
    Delivery {
        headers: vec![("Content-Type".into(), b"application/json".to_vec())],
        body: body.to_vec(),
    }
}

/// The rows of `recipe`. Each accepted delivery is a new one (`round`
/// keeps them apart between runs against the same receiver).
fn cases(recipe: Recipe, round: u32) -> Vec<Case> {
    let path = recipe.path();
    let case = |name: &str, delivery: Delivery, status, text| Case {
        name: name.to_owned(),
        target: path.to_owned(),
        delivery,
        status,
        text,
    };
    let (ok, malformed, missing, invalid) = (
        "ok",
        "malformed webhook headers",
        "missing webhook signature",
        "invalid webhook signature",
    );
    let n = |i: u32| round * 100 + i;
    match recipe {
        Recipe::Up42 => {
            let digest_of = |body: &[u8]| digest::content_digest(body);
            let valid = up42_valid(n(1), NOW);
            vec![
                case("valid", valid.clone(), 200, ok),
                case("replayed", valid.clone(), 401, "webhook already delivered"),
                case("created 299 s ago", up42_valid(n(2), NOW - 299), 200, ok),
                case(
                    "one body byte changed",
                    up42_valid(n(3), NOW).with_body(&up42_event(n(99))),
                    401,
                    invalid,
                ),
                case(
                    "a signed value changed",
                    up42_valid(n(4), NOW).with_header("X-Up42-Event", "order.status"),
                    401,
                    invalid,
                ),
                case(
                    "signed with another secret",
                    {
                        let body = up42_event(n(5));
                        let key = SigningKey::new("k", "another-secret");
                        let covered = [("Content-Digest", digest_of(&body))];
                        let covered: Vec<(&str, &str)> =
                            covered.iter().map(|(a, b)| (*a, b.as_str())).collect();
                        let (input, signature) = up42::sign(&key, &covered, NOW);
                        plain(&body)
                            .with_header("Content-Digest", digest_of(&body))
                            .with_header("Signature-Input", input)
                            .with_header("Signature", signature)
                    },
                    401,
                    invalid,
                ),
                case(
                    "nothing binds the body",
                    up42_delivery(
                        n(6),
                        NOW,
                        &[("X-Up42-Event", "job.status")],
                        &up42_event(n(6)),
                    ),
                    401,
                    "webhook body not signed",
                ),
                case(
                    "a listed header is absent",
                    up42_valid(n(7), NOW).without("X-Up42-Event"),
                    400,
                    malformed,
                ),
                case(
                    "a listed header sent twice",
                    up42_valid(n(8), NOW).adding("X-Up42-Event", "job.status"),
                    400,
                    malformed,
                ),
                case(
                    "no Signature",
                    up42_valid(n(9), NOW).without("Signature"),
                    401,
                    missing,
                ),
                case(
                    "no up42-sig label",
                    up42_valid(n(10), NOW)
                        .with_header("Signature-Input", r#"sig1=("content-digest");created=1"#),
                    401,
                    missing,
                ),
                case(
                    "no created",
                    up42_valid(n(11), NOW).with_header(
                        "Signature-Input",
                        r#"up42-sig=("content-digest" "x-up42-event")"#,
                    ),
                    401,
                    "missing webhook timestamp",
                ),
                case(
                    "Signature-Input is not a dictionary",
                    up42_valid(n(12), NOW)
                        .with_header("Signature-Input", "up42-sig=(content-digest"),
                    400,
                    malformed,
                ),
                case(
                    "signature not base64",
                    up42_valid(n(13), NOW).with_header("Signature", "up42-sig=not*base64"),
                    401,
                    invalid,
                ),
                case(
                    "created 301 s ago",
                    up42_valid(n(14), NOW - 301),
                    401,
                    "webhook timestamp outside tolerance",
                ),
                case(
                    "body over the limit",
                    {
                        let body = vec![b' '; LIMIT + 1];
                        let digest = digest_of(&body);
                        up42_delivery(n(15), NOW, &[("Content-Digest", &digest)], &body)
                    },
                    413,
                    "webhook body too large",
                ),
            ]
        }
        Recipe::Standard => {
            let id = |i: u32| format!("msg_{round}_{i}");
            let body = |i: u32| format!(r#"{{"type":"invoice.paid","n":{i}}}"#).into_bytes();
            let valid = |i: u32| Delivery::standard(STANDARD_SECRET, &id(i), NOW, &body(i));
            let rotated = {
                let other = Delivery::standard(ROTATED_SECRET, &id(3), NOW, &body(3));
                let old = Delivery::standard(
                    "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    &id(3),
                    NOW,
                    &body(3),
                );
                let both = format!(
                    "v1a,{} {} {}",
                    "A".repeat(86) + "==",
                    header(&old, "Webhook-Signature"),
                    header(&other, "Webhook-Signature")
                );
                other.with_header("Webhook-Signature", both)
            };
            vec![
                case("valid", valid(1), 200, ok),
                case("replayed", valid(1), 401, "webhook already delivered"),
                case(
                    "binary body",
                    Delivery::standard(STANDARD_SECRET, &id(2), NOW, b"\xff\x00\xfe not UTF-8"),
                    200,
                    ok,
                ),
                case("rotation: the third entry matches", rotated, 200, ok),
                case(
                    "one body byte changed",
                    valid(4).with_body(&body(44)),
                    401,
                    invalid,
                ),
                case(
                    "another id under the same signature",
                    valid(5).with_header("Webhook-Id", id(55)),
                    401,
                    invalid,
                ),
                case(
                    "unknown versions only",
                    valid(6).with_header("Webhook-Signature", "v2,abc v9,def"),
                    401,
                    invalid,
                ),
                case(
                    "no webhook-signature",
                    valid(7).without("Webhook-Signature"),
                    401,
                    missing,
                ),
                case(
                    "no webhook-timestamp",
                    valid(8).without("Webhook-Timestamp"),
                    401,
                    "missing webhook timestamp",
                ),
                case(
                    "timestamp not an integer",
                    valid(9).with_header("Webhook-Timestamp", "17e8"),
                    400,
                    malformed,
                ),
                case(
                    "webhook-id sent twice",
                    valid(10).adding("Webhook-Id", id(10)),
                    400,
                    malformed,
                ),
                case(
                    "no webhook-id",
                    valid(11).without("Webhook-Id"),
                    400,
                    malformed,
                ),
                case(
                    "301 s in the future",
                    Delivery::standard(STANDARD_SECRET, &id(12), NOW + 301, &body(12)),
                    401,
                    "webhook timestamp outside tolerance",
                ),
                case(
                    "body over the limit",
                    Delivery::standard(STANDARD_SECRET, &id(13), NOW, &vec![b'x'; LIMIT + 1]),
                    413,
                    "webhook body too large",
                ),
            ]
        }
        Recipe::Token => {
            let body = br#"{"order_id":42}"#;
            let at = |name: &str, query: &str, status, text| Case {
                name: name.to_owned(),
                target: format!("{path}?{query}"),
                delivery: plain(body),
                status,
                text,
            };
            vec![
                at("the token", &format!("token={TOKEN}"), 200, ok),
                at(
                    "the rotated token, percent-encoded",
                    "a=1&token=next%2Dtoken",
                    200,
                    ok,
                ),
                // No signature, no id: a URL token cannot tell a replay.
                at("the token again", &format!("token={TOKEN}"), 200, ok),
                at("a wrong token", "token=k9Q2-long-random-toke", 401, invalid),
                at("an empty token", "token=", 401, missing),
                at("no token", "a=1", 401, missing),
                at(
                    "the token twice",
                    &format!("token={TOKEN}&token={TOKEN}"),
                    400,
                    malformed,
                ),
                at(
                    "body over the limit",
                    &format!("token={TOKEN}"),
                    413,
                    "webhook body too large",
                )
                .with_body(&[b'x'; LIMIT + 1]),
            ]
        }
    }
}

impl Case {
    fn with_body(mut self, body: &[u8]) -> Self {
        self.delivery = self.delivery.with_body(body);
        self
    }
}

fn header(delivery: &Delivery, name: &str) -> String {
    let value = &delivery
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .expect("header")
        .1;
    String::from_utf8(value.clone()).expect("UTF-8")
}

/// How each row goes on the wire.
#[derive(Clone, Copy, Debug)]
enum Wire {
    Http1,
    Http1Lowercase,
    Http2,
}

/// Sends every row of every recipe to `addr` (paths prefixed by `prefix`)
/// and checks each answer; returns how many were accepted.
async fn check(addr: std::net::SocketAddr, prefix: &str, wires: &[Wire]) -> usize {
    let mut accepted = 0;
    for (round, wire) in wires.iter().enumerate() {
        let mut h2 = match wire {
            Wire::Http2 => Some(h2_connect(addr).await),
            _ => None,
        };
        for recipe in Recipe::ALL {
            for case in cases(recipe, round as u32) {
                let target = format!("{prefix}{}", case.target);
                let response = match wire {
                    Wire::Http1 => send_h1(addr, &target, &case.delivery).await,
                    Wire::Http1Lowercase => {
                        send_h1(addr, &target, &case.delivery.clone().lowercase()).await
                    }
                    Wire::Http2 => {
                        let h2 = h2.as_mut().expect("connected");
                        send_h2(h2, addr, &target, &case.delivery).await
                    }
                };
                assert_eq!(
                    (response.status, response.text().as_str()),
                    (case.status, case.text),
                    "{recipe:?} {wire:?}: {}",
                    case.name
                );
                accepted += usize::from(case.status == 200);
            }
        }
    }
    accepted
}

/// The UP42 rows (JSON bodies) against the extractor at `/extractor/up42`;
/// each accepted one must have run the handler once.
async fn check_extractor(addr: std::net::SocketAddr, calls: &AtomicUsize) {
    let before = calls.load(Ordering::SeqCst);
    let mut accepted = 0;
    for case in cases(Recipe::Up42, 9) {
        let response = send_h1(addr, &format!("/extractor{}", case.target), &case.delivery).await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (case.status, case.text),
            "extractor: {}",
            case.name
        );
        accepted += usize::from(case.status == 200);
    }
    assert_eq!(calls.load(Ordering::SeqCst) - before, accepted);
}

/// An axum app with each recipe behind the layer at `/layer/...` and, for
/// UP42 (JSON bodies), behind the extractor at `/extractor/up42`.
fn axum_app(calls: &Arc<AtomicUsize>) -> Router {
    let mut layered = Router::new();
    for recipe in Recipe::ALL {
        let calls = Arc::clone(calls);
        let handler = move |Extension(event): Extension<VerifiedWebhook>| async move {
            assert!(event.scheme() != "api2cart");
            calls.fetch_add(1, Ordering::SeqCst);
            "ok"
        };
        layered = layered.route(
            recipe.path(),
            post(handler).layer(VerifyWebhookLayer::new(recipe.verifier())),
        );
    }
    let calls = Arc::clone(calls);
    let extractor = Router::new()
        .route(
            "/up42",
            post(
                move |webhook: webhook_guard::axum::Webhook<up42::Event>| async move {
                    assert_eq!(
                        webhook.payload().map(|e| e.kind.as_str()),
                        Some("job.status")
                    );
                    calls.fetch_add(1, Ordering::SeqCst);
                    "ok"
                },
            ),
        )
        .with_state(Recipe::Up42.verifier());
    Router::new()
        .nest("/layer", layered)
        .nest("/extractor", extractor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_answers_every_row_of_every_recipe_and_runs_handlers_only_when_verified() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(axum_app(&calls)).await;
    let wires = [Wire::Http1, Wire::Http1Lowercase, Wire::Http2];
    let accepted = check(addr, "/layer", &wires).await;
    assert_eq!(calls.load(Ordering::SeqCst), accepted);
    assert_eq!(
        accepted,
        3 * 8,
        "two UP42, three Standard and three token rows accepted per wire"
    );

    check_extractor(addr, &calls).await;
}

#[actix_rt::test]
async fn actix_answers_every_row_of_every_recipe_and_runs_handlers_only_when_verified() {
    use actix_web::{App, web};
    use webhook_guard::actix::{VerifyWebhook, Webhook, WebhookConfig};

    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    // As `serve_actix!`, but answering HTTP/2 with prior knowledge too.
    let server = actix_web::HttpServer::new(move || {
        let mut middleware = web::scope("/layer");
        for recipe in Recipe::ALL {
            let calls = Arc::clone(&counter);
            middleware = middleware.service(
                web::resource(recipe.path())
                    .wrap(VerifyWebhook::new(recipe.verifier()))
                    .route(web::post().to(move |event: web::ReqData<VerifiedWebhook>| {
                        let calls = Arc::clone(&calls);
                        async move {
                            assert!(event.scheme() != "api2cart");
                            calls.fetch_add(1, Ordering::SeqCst);
                            "ok"
                        }
                    })),
            );
        }
        let calls = Arc::clone(&counter);
        App::new().service(middleware).service(
            web::resource("/extractor/up42")
                .app_data(WebhookConfig::new(Recipe::Up42.verifier()))
                .route(web::post().to(move |webhook: Webhook<up42::Event>| {
                    let calls = Arc::clone(&calls);
                    async move {
                        assert!(webhook.payload().is_some());
                        calls.fetch_add(1, Ordering::SeqCst);
                        "ok"
                    }
                })),
        )
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind_auto_h2c(("127.0.0.1", 0))
    .expect("bind loopback");
    let addr = server.addrs()[0];
    let running = server.run();
    let server = support::actix::TestServer {
        addr,
        handle: running.handle(),
    };
    actix_web::rt::spawn(running);
    let wires = [Wire::Http1, Wire::Http1Lowercase, Wire::Http2];
    let accepted = check(server.addr, "/layer", &wires).await;
    assert_eq!(calls.load(Ordering::SeqCst), accepted);

    check_extractor(server.addr, &calls).await;
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("server stops");
}
