//! The conformance runner through a Standard Webhooks endpoint of the
//! `StandardSender`, against the four adapters a receiver can use: the axum
//! layer and extractor (over real HTTP/1.1 on loopback) and the actix-web
//! extractor and middleware. Each answers every case the vendor can send as
//! the status table demands; the cases it cannot send are listed as skipped.

mod support;

use std::net::SocketAddr;

use actix_web::{App, HttpMessage, HttpRequest, web};
use axum::Router;
use axum::extract::FromRef;
use axum::routing::post;
use serde_json::Value;
use support::servers::serve;
use webhook_guard::mock::{
    Conformance, ConformanceReport, NewEndpoint, ReceiverPolicy, StandardSender,
};
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{InMemoryReplayGuard, ManualClock, VerifiedWebhook, Verifier};

/// The spec's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_674_087_231;
const LIMIT: usize = 16 * 1024;

/// The cases a Standard Webhooks sender can send, in the runner's order.
const RUN: [&str; 13] = [
    "valid",
    "wrong-key",
    "tampered-body",
    "missing-signature",
    "garbled-signature",
    "extra-bad-signature",
    "stale-at-tolerance",
    "stale-past-tolerance",
    "future-at-tolerance",
    "future-past-tolerance",
    "slow-body",
    "duplicate-delivery",
    "concurrent-duplicate",
];

/// API2Cart's header cases and the body-size cases, which this sender has
/// no fault for.
const SKIPPED: [&str; 6] = [
    "changed-signed-header",
    "duplicated-signature",
    "lowercase-names",
    "reordered-headers",
    "body-at-limit",
    "body-over-limit",
];

fn verifier(clock: &ManualClock) -> Verifier {
    Verifier::builder(StandardWebhooks::keys(SECRET).expect("secret"))
        .scheme(StandardWebhooks::new())
        .clock(clock.clone())
        .body_limit(LIMIT)
        .replay_guard(InMemoryReplayGuard::new())
        .build()
}

/// Runs the catalogue through a Standard Webhooks endpoint at `url`.
async fn run(clock: &ManualClock, url: String, verifier: &Verifier) -> ConformanceReport {
    let sender = StandardSender::builder()
        .clock(clock.clone())
        .jitter_percent(0)
        .http()
        .build();
    let endpoint = sender
        .create_endpoint(NewEndpoint::new(url).secret(SECRET))
        .expect("endpoint");
    let policy = ReceiverPolicy::of(verifier).replay_guard(true);
    let report = Conformance::new(policy)
        .run(&sender.conformance_target(endpoint.id()))
        .await;
    println!("{report}");
    report
}

#[track_caller]
fn assert_conformant(report: &ConformanceReport) {
    assert!(report.passed(), "{report}");
    let names: Vec<&str> = report.cases().iter().map(|c| c.name()).collect();
    assert_eq!(names, RUN, "{report}");
    assert_eq!(report.skipped(), SKIPPED, "{report}");
    let statuses = |name: &str| report.case(name).expect("case").actual().to_vec();
    assert_eq!(statuses("extra-bad-signature"), [Some(200)]);
    assert_eq!(statuses("stale-past-tolerance"), [Some(401)]);
    assert_eq!(statuses("duplicate-delivery"), [Some(200), Some(401)]);
    // The duplicate is the same message: one `webhook-id` on both copies.
    let ids: Vec<Option<String>> = report
        .case("duplicate-delivery")
        .expect("case")
        .attempts()
        .iter()
        .map(|a| a.request().header("webhook-id").map(str::to_owned))
        .collect();
    assert!(ids[0].is_some() && ids[0] == ids[1], "{ids:?}");
    // Two signatures, the first by a key the receiver does not hold.
    let rotation = report.case("extra-bad-signature").expect("case").attempts()[0]
        .request()
        .header("webhook-signature")
        .expect("signature")
        .to_owned();
    assert_eq!(rotation.split(' ').count(), 2, "{rotation}");
}

#[tokio::test]
async fn the_axum_layer_answers_every_case() {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock);
    let app = Router::new()
        .route("/hooks", post(|| async { "ok" }))
        .layer(VerifyWebhookLayer::new(verifier.clone()));
    let addr = serve(app).await;
    assert_conformant(&run(&clock, format!("http://{addr}/hooks"), &verifier).await);
}

#[derive(Clone)]
struct AppState(Verifier);

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.0.clone()
    }
}

#[tokio::test]
async fn the_axum_extractor_answers_every_case() {
    async fn receive(webhook: webhook_guard::axum::Webhook<Value>) -> &'static str {
        // Only verified deliveries get here, parsed.
        assert!(webhook.payload().is_some());
        "ok"
    }
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock);
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(AppState(verifier.clone()));
    let addr = serve(app).await;
    assert_conformant(&run(&clock, format!("http://{addr}/hooks"), &verifier).await);
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/hooks")
}

#[actix_rt::test]
async fn the_actix_extractor_answers_every_case() {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock);
    let config = webhook_guard::actix::WebhookConfig::new(verifier.clone());
    let server = serve_actix!(move || {
        App::new().app_data(config.clone()).route(
            "/hooks",
            web::post().to(|webhook: webhook_guard::actix::Webhook| async move {
                assert!(webhook.into_payload().is_some());
                "ok"
            }),
        )
    });
    let report = run(&clock, url(server.addr), &verifier).await;
    server.stop().await;
    assert_conformant(&report);
}

#[actix_rt::test]
async fn the_actix_middleware_answers_every_case() {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock);
    let middleware = webhook_guard::actix::VerifyWebhook::new(verifier.clone());
    let server = serve_actix!(move || {
        App::new().wrap(middleware.clone()).route(
            "/hooks",
            web::post().to(|request: HttpRequest| async move {
                assert!(request.extensions().get::<VerifiedWebhook>().is_some());
                "ok"
            }),
        )
    });
    let report = run(&clock, url(server.addr), &verifier).await;
    server.stop().await;
    assert_conformant(&report);
}
