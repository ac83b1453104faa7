//! Every fault of the catalogue delivered to axum receivers, the answers held
//! against the status table by the conformance runner.

mod support;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::post;
use serde_json::Value;
use support::servers::serve;
use support::{KEY, NOW};
use webhook_guard::axum::Webhook;
use webhook_guard::mock::{Conformance, ConformanceReport, Fault, MockSender, ReceiverPolicy};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{InMemoryReplayGuard, KeySet, ManualClock, Verifier};

/// Every case of the catalogue for a receiver with a tolerance, in order.
const CASES: [&str; 19] = [
    "valid",
    "wrong-key",
    "tampered-body",
    "changed-signed-header",
    "missing-signature",
    "garbled-signature",
    "duplicated-signature",
    "lowercase-names",
    "reordered-headers",
    "stale-at-tolerance",
    "stale-past-tolerance",
    "future-at-tolerance",
    "future-past-tolerance",
    "body-at-limit",
    "body-over-limit",
    "slow-body",
    "duplicate-delivery",
    "concurrent-duplicate",
    "valid",
];

fn verifier(clock: &ManualClock, replay_guard: bool, limit: usize) -> Verifier {
    let builder = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .body_limit(limit);
    if replay_guard {
        builder.replay_guard(InMemoryReplayGuard::new()).build()
    } else {
        builder.build()
    }
}

fn layered(verifier: Verifier) -> Router {
    Router::new()
        .route("/webhooks", post(|| async { "ok" }))
        .layer(VerifyWebhookLayer::new(verifier))
}

#[derive(Clone)]
struct AppState(Verifier);

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.0.clone()
    }
}

fn extracting(verifier: Verifier) -> Router {
    async fn receive(webhook: Webhook<Value>) -> &'static str {
        assert!(webhook.payload().is_some());
        "ok"
    }
    Router::new()
        .route("/webhooks", post(receive))
        .with_state(AppState(verifier))
}

fn in_process(clock: &ManualClock, app: Router) -> MockSender {
    MockSender::builder(KEY)
        .clock(clock.clone())
        .service(app)
        .callback("/webhooks")
        .build()
        .expect("sender")
}

fn statuses(report: &ConformanceReport, case: &str) -> Vec<Option<u16>> {
    report
        .case(case)
        .unwrap_or_else(|| panic!("no case {case}"))
        .actual()
        .to_vec()
}

#[tokio::test]
async fn the_layer_answers_every_case_as_the_status_table_demands() {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock, true, 64 * 1024);
    let policy = ReceiverPolicy::of(&verifier).replay_guard(true);
    let sender = in_process(&clock, layered(verifier));

    let report = Conformance::new(policy).run(&sender).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
    let names: Vec<&str> = report.cases().iter().map(|c| c.name()).collect();
    assert_eq!(names, CASES[..18]);
    assert_eq!(statuses(&report, "valid"), [Some(200)]);
    assert_eq!(statuses(&report, "wrong-key"), [Some(401)]);
    assert_eq!(statuses(&report, "duplicated-signature"), [Some(400)]);
    assert_eq!(statuses(&report, "lowercase-names"), [Some(200)]);
    assert_eq!(statuses(&report, "stale-at-tolerance"), [Some(200)]);
    assert_eq!(statuses(&report, "stale-past-tolerance"), [Some(401)]);
    assert_eq!(statuses(&report, "future-past-tolerance"), [Some(401)]);
    assert_eq!(statuses(&report, "body-over-limit"), [Some(413)]);
    assert_eq!(
        statuses(&report, "duplicate-delivery"),
        [Some(200), Some(401)]
    );
    let mut concurrent = statuses(&report, "concurrent-duplicate");
    concurrent.sort_unstable();
    assert_eq!(concurrent, [Some(200), Some(401)]);
    // The edges are exact: the timestamps sent are NOW -/+ 300 and 301.
    let sent = |case: &str| {
        report.case(case).expect("case").attempts()[0]
            .request()
            .header("X-Webhook-Timestamp")
            .map(str::to_owned)
    };
    assert_eq!(sent("stale-at-tolerance"), Some((NOW - 300).to_string()));
    assert_eq!(sent("future-past-tolerance"), Some((NOW + 301).to_string()));
    // Every attempt is in the journal as well.
    assert_eq!(sender.journal().len(), 20);
}

#[tokio::test]
async fn the_extractor_answers_every_case_as_the_status_table_demands() {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock, true, 32 * 1024);
    let policy = ReceiverPolicy::of(&verifier).replay_guard(true);
    let sender = in_process(&clock, extracting(verifier));
    let report = Conformance::new(policy).run(&sender).await;
    assert!(report.passed(), "{report}");
}

#[tokio::test]
async fn the_layer_over_real_http_answers_every_case() {
    let clock = ManualClock::new(NOW);
    let verifier = verifier(&clock, true, 64 * 1024);
    let policy = ReceiverPolicy::of(&verifier).replay_guard(true);
    let addr = serve(layered(verifier)).await;
    let sender = MockSender::builder(KEY)
        .clock(clock)
        .url(format!("http://{addr}/webhooks"))
        .build()
        .expect("sender");
    let report = Conformance::new(policy).run(&sender).await;
    assert!(report.passed(), "{report}");
    let slow = report.case("slow-body").expect("case").attempts()[0].request();
    assert_eq!(slow.header("Transfer-Encoding"), Some("chunked"));
}

#[tokio::test]
async fn the_default_verifier_with_its_default_limit_passes_too() {
    let clock = ManualClock::new(NOW);
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .build();
    let sender = in_process(&clock, layered(verifier));
    let report = Conformance::new(ReceiverPolicy::new()).run(&sender).await;
    assert!(report.passed(), "{report}");
    // Without a replay guard the second copy is accepted as well.
    assert_eq!(
        statuses(&report, "duplicate-delivery"),
        [Some(200), Some(200)]
    );
    let at_limit = report.case("body-at-limit").expect("case").attempts()[0]
        .request()
        .body()
        .len();
    assert_eq!(at_limit, webhook_guard::DEFAULT_BODY_LIMIT);
}

#[tokio::test]
async fn a_missing_replay_guard_fails_exactly_the_duplicate_cases() {
    let clock = ManualClock::new(NOW);
    let sender = in_process(&clock, layered(verifier(&clock, false, 1024)));
    let demanded = ReceiverPolicy::new().body_limit(1024).replay_guard(true);

    let report = Conformance::new(demanded.clone()).run(&sender).await;
    assert!(!report.passed());
    let failed: Vec<&str> = report.failures().iter().map(|c| c.name()).collect();
    assert_eq!(failed, ["duplicate-delivery", "concurrent-duplicate"]);
    let duplicate = report.case("duplicate-delivery").expect("case");
    assert_eq!(duplicate.expected(), [200, 401]);
    assert_eq!(duplicate.actual(), [Some(200), Some(200)]);
    let text = report.to_string();
    assert!(text.contains("16 of 18 cases passed"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("duplicate-delivery"))
        .expect("a line for the case");
    assert!(line.starts_with("  FAIL  duplicate-delivery"), "{line}");
    assert!(line.contains("expected 200, 401"), "{line}");
    assert!(line.ends_with("got 200, 200"), "{line}");

    // The expectation is configurable: demanded otherwise, it passes.
    let report = Conformance::new(demanded)
        .expect("duplicate-delivery", [200, 200])
        .skip("concurrent-duplicate")
        .run(&sender)
        .await;
    assert!(report.passed(), "{report}");
    assert!(report.case("concurrent-duplicate").is_none());
}

#[tokio::test]
async fn a_receiver_that_checks_nothing_fails_loudly() {
    let clock = ManualClock::new(NOW);
    let trusting = Router::new().route("/webhooks", post(|| async { "ok" }));
    let sender = in_process(&clock, trusting);
    let report = Conformance::new(ReceiverPolicy::new().body_limit(1024))
        .run(&sender)
        .await;
    let failed: Vec<&str> = report.failures().iter().map(|c| c.name()).collect();
    assert_eq!(
        failed,
        [
            "wrong-key",
            "tampered-body",
            "changed-signed-header",
            "missing-signature",
            "garbled-signature",
            "duplicated-signature",
            "stale-past-tolerance",
            "future-past-tolerance",
            "body-over-limit",
        ]
    );
    assert_eq!(
        report.case("wrong-key").expect("case").case().fault(),
        Some(&Fault::WrongKey)
    );
}

#[tokio::test]
async fn without_a_tolerance_old_and_future_timestamps_are_accepted() {
    let clock = ManualClock::new(NOW);
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .danger_accept_any_timestamp()
        .body_limit(2048)
        .build();
    let policy = ReceiverPolicy::of(&verifier);
    let sender = in_process(&clock, layered(verifier));
    let report = Conformance::new(policy).run(&sender).await;
    assert!(report.passed(), "{report}");
    assert_eq!(statuses(&report, "stale-by-a-year"), [Some(200)]);
    assert!(report.case("stale-at-tolerance").is_none());
}

#[tokio::test]
async fn two_wall_clocks_still_pass_the_edges() {
    // Sender and receiver each on the system clock: an edge case whose second
    // ticked during the attempt is sent again.
    let verifier = Verifier::builder(KeySet::single(KEY))
        .body_limit(1024)
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let policy = ReceiverPolicy::of(&verifier).replay_guard(true);
    let sender = MockSender::builder(KEY)
        .service(layered(verifier))
        .callback("/webhooks")
        .build()
        .expect("sender");
    let report = Conformance::new(policy).run(&sender).await;
    assert!(report.passed(), "{report}");
}
