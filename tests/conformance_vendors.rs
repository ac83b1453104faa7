//! The conformance runner through the Standard Webhooks, UP42 and
//! AmeriCommerce senders (API2Cart's runs in `mock_conformance` and
//! `mock_actix`), against the
//! four adapters a receiver can use: the axum layer and extractor and the
//! actix-web extractor and middleware, over real HTTP/1.1 on loopback. Each
//! answers every case the vendor can send as the status table demands; the
//! cases it cannot send are listed as skipped.

mod support;

use std::net::SocketAddr;

use actix_web::{App, HttpMessage, HttpRequest, web};
use axum::Router;
use axum::extract::FromRef;
use axum::routing::post;
use serde_json::Value;
use support::servers::serve;
use webhook_guard::americommerce::{EventType, UrlToken};
use webhook_guard::mock::americommerce::{AmeriCommerceSender, NewWebhook};
use webhook_guard::mock::{
    Conformance, ConformanceReport, NewEndpoint, NewWorkspaceWebhook, ReceiverPolicy,
    StandardSender, WorkspaceSender,
};
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::up42::Up42;
use webhook_guard::{InMemoryReplayGuard, KeySet, ManualClock, VerifiedWebhook, Verifier};

/// The spec's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A UP42 webhook's secret.
const UP42_SECRET: &str = "my-up42-webhook-secret";
const WS: &str = "0f5f1a1e-3c1b-4c55-9a57-1c2f5e0c9d77";
const NOW: i64 = 1_674_087_231;
const LIMIT: usize = 16 * 1024;

/// The token an AmeriCommerce receiver registered in its URL.
const AC_TOKEN: &str = "k9Q2c1b4e7a0f3d6b9c2e5a8d1f4b7c0";

/// The senders under test.
#[derive(Clone, Copy, Debug)]
enum Sender {
    Standard,
    Up42,
    AmeriCommerce,
}

/// The cases a Standard Webhooks sender can send, in the runner's order.
const STANDARD_RUN: [&str; 15] = [
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
    "body-at-limit",
    "body-over-limit",
    "slow-body",
    "duplicate-delivery",
    "concurrent-duplicate",
];

/// API2Cart's header cases, which this sender has no fault for.
const STANDARD_SKIPPED: [&str; 4] = [
    "changed-signed-header",
    "duplicated-signature",
    "lowercase-names",
    "reordered-headers",
];

fn verifier(sender: Sender, clock: &ManualClock) -> Verifier {
    let builder = match sender {
        Sender::Standard => Verifier::builder(StandardWebhooks::keys(SECRET).expect("secret"))
            .scheme(StandardWebhooks::new()),
        Sender::Up42 => Verifier::builder(KeySet::single(UP42_SECRET)).scheme(Up42::new()),
        Sender::AmeriCommerce => {
            Verifier::builder(KeySet::single(AC_TOKEN)).scheme(UrlToken::query("token"))
        }
    };
    builder
        .clock(clock.clone())
        .body_limit(LIMIT)
        .replay_guard(InMemoryReplayGuard::new())
        .build()
}

/// Runs the catalogue through `sender`'s endpoint or webhook at `url`.
async fn run(
    sender: Sender,
    clock: &ManualClock,
    url: String,
    verifier: &Verifier,
) -> ConformanceReport {
    let conformance = Conformance::new(ReceiverPolicy::of(verifier).replay_guard(true));
    let report = match sender {
        Sender::Standard => {
            let standard = StandardSender::builder()
                .clock(clock.clone())
                .jitter_percent(0)
                .http()
                .build();
            let endpoint = standard
                .create_endpoint(NewEndpoint::new(url).secret(SECRET))
                .expect("endpoint");
            conformance
                .run(&standard.conformance_target(endpoint.id()))
                .await
        }
        Sender::Up42 => {
            let up42 = WorkspaceSender::builder()
                .clock(clock.clone())
                .http()
                .build();
            let hook = up42
                .create(
                    WS,
                    NewWorkspaceWebhook::new("conformance", url)
                        .events(["order.status"])
                        .secret(UP42_SECRET)
                        .active(true),
                )
                .expect("webhook");
            let target = up42.conformance_target(WS, hook.id()).expect("target");
            conformance.run(&target).await
        }
        Sender::AmeriCommerce => {
            let store = AmeriCommerceSender::builder("api-token")
                .clock(clock.clone())
                .http()
                .build();
            let url = format!("{url}?store=1&token={AC_TOKEN}");
            let hook = store
                .create_webhook(NewWebhook::new(EventType::OrderStatusChanged, url))
                .expect("webhook");
            let target = store
                .conformance_target(hook.id(), "token")
                .expect("target");
            conformance.run(&target).await
        }
    };
    println!("{sender:?}: {report}");
    report
}

/// The cases a UP42 sender can send, in the runner's order.
const UP42_RUN: [&str; 14] = [
    "valid",
    "wrong-key",
    "tampered-body",
    "missing-signature",
    "garbled-signature",
    "stale-at-tolerance",
    "stale-past-tolerance",
    "future-at-tolerance",
    "future-past-tolerance",
    "body-at-limit",
    "body-over-limit",
    "slow-body",
    "duplicate-delivery",
    "concurrent-duplicate",
];

/// What UP42 has no fault for: API2Cart's header cases (`Signature-Input`
/// names the headers) and a second signature.
const UP42_SKIPPED: [&str; 5] = [
    "changed-signed-header",
    "duplicated-signature",
    "lowercase-names",
    "reordered-headers",
    "extra-bad-signature",
];

#[track_caller]
fn assert_conformant(sender: Sender, report: &ConformanceReport) {
    assert!(report.passed(), "{report}");
    let names: Vec<&str> = report.cases().iter().map(|c| c.name()).collect();
    let statuses = |name: &str| report.case(name).expect("case").actual().to_vec();
    if !matches!(sender, Sender::AmeriCommerce) {
        assert_eq!(statuses("stale-past-tolerance"), [Some(401)]);
        assert_eq!(statuses("duplicate-delivery"), [Some(200), Some(401)]);
    }
    assert_eq!(statuses("body-over-limit"), [Some(413)]);
    let body_len = |case: &str| {
        report.case(case).expect("case").attempts()[0]
            .request()
            .body()
            .len()
    };
    assert_eq!(
        (body_len("body-at-limit"), body_len("body-over-limit")),
        (LIMIT, LIMIT + 1)
    );
    let header = |case: &str, copy: usize, name: &str| {
        report.case(case).expect("case").attempts()[copy]
            .request()
            .header(name)
            .map(str::to_owned)
    };
    match sender {
        Sender::Standard => {
            assert_eq!(names, STANDARD_RUN, "{report}");
            assert_eq!(report.skipped(), STANDARD_SKIPPED, "{report}");
            assert_eq!(statuses("extra-bad-signature"), [Some(200)]);
            // The duplicate is the same message: one `webhook-id` on both copies.
            let id = header("duplicate-delivery", 0, "webhook-id");
            assert!(id.is_some() && id == header("duplicate-delivery", 1, "webhook-id"));
            // Two signatures, the first by a key the receiver does not hold.
            let rotation = header("extra-bad-signature", 0, "webhook-signature");
            assert_eq!(rotation.map(|r| r.split(' ').count()), Some(2));
        }
        Sender::AmeriCommerce => {
            assert_eq!(names, AC_RUN, "{report}");
            assert_eq!(report.skipped(), AC_SKIPPED, "{report}");
            assert_eq!(statuses("duplicated-signature"), [Some(400)]);
            // Unsigned: the token travels in the URL, spoiled or not.
            let target = |case: &str| {
                report.case(case).expect("case").attempts()[0]
                    .request()
                    .target()
                    .to_owned()
            };
            assert_eq!(target("valid"), format!("/hooks?store=1&token={AC_TOKEN}"));
            assert_eq!(target("missing-signature"), "/hooks?store=1");
            assert!(!target("wrong-key").contains(AC_TOKEN));
            let valid = &report.case("valid").expect("case").attempts()[0];
            assert_eq!(valid.request().header("Signature"), None);
            // The report shows the URL without the token.
            let first = report.to_string();
            assert!(first.starts_with("conformance of http://") && !first.contains(AC_TOKEN));
        }
        Sender::Up42 => {
            assert_eq!(names, UP42_RUN, "{report}");
            assert_eq!(report.skipped(), UP42_SKIPPED, "{report}");
            // The duplicate is byte for byte the same: one signature.
            let signature = header("duplicate-delivery", 0, "Signature");
            assert!(
                signature.is_some() && signature == header("duplicate-delivery", 1, "Signature")
            );
            // The stale edge is `created` exactly 300 s back.
            let input = header("stale-at-tolerance", 0, "Signature-Input").expect("input");
            assert!(
                input.ends_with(&format!(";created={}", NOW - 300)),
                "{input}"
            );
        }
    }
}

/// The cases an AmeriCommerce subscription can send: its token spoiled,
/// and its body.
const AC_RUN: [&str; 7] = [
    "valid",
    "wrong-key",
    "missing-signature",
    "duplicated-signature",
    "body-at-limit",
    "body-over-limit",
    "slow-body",
];

/// Nothing binds AmeriCommerce's body, time or id: no receiver can refuse
/// these, so the runner does not send them.
const AC_SKIPPED: [&str; 12] = [
    "tampered-body",
    "changed-signed-header",
    "garbled-signature",
    "lowercase-names",
    "reordered-headers",
    "extra-bad-signature",
    "stale-at-tolerance",
    "stale-past-tolerance",
    "future-at-tolerance",
    "future-past-tolerance",
    "duplicate-delivery",
    "concurrent-duplicate",
];

const SENDERS: [Sender; 3] = [Sender::Standard, Sender::Up42, Sender::AmeriCommerce];

#[tokio::test]
async fn the_axum_layer_answers_every_case() {
    for sender in SENDERS {
        let clock = ManualClock::new(NOW);
        let verifier = verifier(sender, &clock);
        let app = Router::new()
            .route("/hooks", post(|| async { "ok" }))
            .layer(VerifyWebhookLayer::new(verifier.clone()));
        let addr = serve(app).await;
        let report = run(sender, &clock, url(addr), &verifier).await;
        assert_conformant(sender, &report);
    }
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
    for sender in SENDERS {
        let clock = ManualClock::new(NOW);
        let verifier = verifier(sender, &clock);
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(AppState(verifier.clone()));
        let addr = serve(app).await;
        let report = run(sender, &clock, url(addr), &verifier).await;
        assert_conformant(sender, &report);
    }
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/hooks")
}

#[actix_rt::test]
async fn the_actix_extractor_answers_every_case() {
    for sender in SENDERS {
        actix_extractor(sender).await;
    }
}

async fn actix_extractor(sender: Sender) {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(sender, &clock);
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
    let report = run(sender, &clock, url(server.addr), &verifier).await;
    server.stop().await;
    assert_conformant(sender, &report);
}

#[actix_rt::test]
async fn the_actix_middleware_answers_every_case() {
    for sender in SENDERS {
        actix_middleware(sender).await;
    }
}

async fn actix_middleware(sender: Sender) {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(sender, &clock);
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
    let report = run(sender, &clock, url(server.addr), &verifier).await;
    server.stop().await;
    assert_conformant(sender, &report);
}
