//! The Standard Webhooks mock (`StandardSender`) against a receiver holding
//! `Verifier` + `StandardWebhooks` behind `VerifyWebhookLayer`, over real
//! HTTP on loopback and in process: accepted as sent, each fault refused
//! with its status, one `webhook-id` on every retry (the replay guard
//! refuses the copy), the spec's schedule to the second on a virtual clock,
//! 410, `Retry-After`, 3xx, key rotation, and the official `standardwebhooks`
//! PyPI package accepting what goes on the wire.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse as _;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use support::python::{python_available, run_json_lines};
use support::servers::{Scripted, serve};
use webhook_guard::mock::{
    Dispatch, DispatchState, Fault, Message, NewEndpoint, StandardError, StandardSender,
    StandardSenderBuilder,
};
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{InMemoryReplayGuard, KeySet, ManualClock, Verifier};

/// The spec's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A second secret, for rotation.
const NEXT_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// The spec's example timestamp.
const NOW: i64 = 1_674_087_231;

fn verifier(keys: KeySet, clock: &ManualClock) -> Verifier {
    Verifier::builder(keys)
        .scheme(StandardWebhooks::new())
        .clock(clock.clone())
        .build()
}

/// `/hooks` answering 200 "ok" behind the Standard Webhooks verifier.
fn receiver(verifier: Verifier) -> Router {
    Router::new()
        .route("/hooks", post(|| async { "ok" }))
        .layer(VerifyWebhookLayer::new(verifier))
}

/// A sender on `clock` with no jitter.
fn builder(clock: &ManualClock) -> StandardSenderBuilder {
    StandardSender::builder()
        .clock(clock.clone())
        .jitter_percent(0)
        .seed(13)
}

fn status(dispatch: &Dispatch) -> Option<u16> {
    dispatch.attempt().and_then(|a| a.status())
}

fn message() -> Message {
    Message::json(
        "contact.created",
        &json!({"type": "contact.created", "data": {"id": "1f81eb52", "fullName": "John Smith"}}),
    )
}

#[tokio::test]
async fn the_receiver_accepts_what_the_sender_delivers_over_http_and_in_process() {
    let clock = ManualClock::new(NOW);
    let app = receiver(verifier(StandardWebhooks::keys(SECRET).unwrap(), &clock));
    let addr = serve(app.clone()).await;

    let http = builder(&clock).http().build();
    let endpoint = http
        .create_endpoint(NewEndpoint::new(format!("http://{addr}/hooks")).secret(SECRET))
        .unwrap();
    let sent = http.send(endpoint.id(), message()).await.unwrap();
    assert_eq!(status(&sent), Some(200), "{sent:?}");
    assert_eq!(sent.state(), &DispatchState::Delivered);

    let attempt = sent.attempt().unwrap();
    let request = attempt.request();
    let names: Vec<&str> = request.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "host",
            "content-type",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "content-length"
        ]
    );
    let id = request.header("webhook-id").unwrap();
    assert!(id.starts_with("msg_") && id.len() == 31, "{id}");
    assert_eq!(request.header("webhook-timestamp"), Some("1674087231"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.signed_string(),
        &Bytes::from(format!(
            "{id}.{NOW}.{}",
            String::from_utf8_lossy(request.body())
        ))
    );
    // The signature, recomputed apart from the crate with the spec's recipe.
    let expected = {
        use hmac::{KeyInit as _, Mac as _};
        let key = STANDARD
            .decode(SECRET.strip_prefix("whsec_").unwrap())
            .unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(request.signed_string());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    };
    assert_eq!(request.header("webhook-signature"), Some(expected.as_str()));
    assert!(
        request
            .head()
            .starts_with("POST /hooks HTTP/1.1\r\nhost: 127.0.0.1:")
    );
    assert_eq!(http.journal().len(), 1);

    let in_process = builder(&clock).service(app).build();
    let endpoint = in_process
        .create_endpoint(NewEndpoint::new("https://receiver.test/hooks").secret(SECRET))
        .unwrap();
    let sent = in_process.send(endpoint.id(), message()).await.unwrap();
    assert_eq!(status(&sent), Some(200));
    let request = sent.attempt().unwrap().request();
    assert_eq!(request.header("host"), Some("receiver.test"));
}

#[tokio::test]
async fn each_fault_is_refused_with_its_status() {
    let clock = ManualClock::new(NOW);
    let app = receiver(verifier(StandardWebhooks::keys(SECRET).unwrap(), &clock));
    let addr = serve(app.clone()).await;
    let cases = [
        (Fault::WrongKey, 401),
        (Fault::TamperedBody, 401),
        (Fault::StaleTimestamp { seconds: 301 }, 401),
        (Fault::FutureTimestamp { seconds: 301 }, 401),
        (Fault::MissingSignature, 401),
        (Fault::GarbledSignature, 401),
        // One bad entry and one good one: any entry may match.
        (Fault::ExtraBadSignature, 200),
        // Within the 300 s tolerance.
        (Fault::StaleTimestamp { seconds: 300 }, 200),
    ];
    let http = builder(&clock).http().build();
    let over_http = http
        .create_endpoint(NewEndpoint::new(format!("http://{addr}/hooks")).secret(SECRET))
        .unwrap();
    let in_process = builder(&clock).service(app).build();
    let direct = in_process
        .create_endpoint(NewEndpoint::new("/hooks").secret(SECRET))
        .unwrap();
    for (fault, expected) in cases {
        for (sender, endpoint) in [(&http, &over_http), (&in_process, &direct)] {
            let sent = sender
                .send(endpoint.id(), message().fault(fault.clone()))
                .await
                .unwrap();
            assert_eq!(status(&sent), Some(expected), "{fault}: {sent:?}");
            assert_eq!(
                sent.attempt().unwrap().faults(),
                std::slice::from_ref(&fault)
            );
        }
    }
    let tampered = http
        .send(over_http.id(), message().fault(Fault::TamperedBody))
        .await
        .unwrap();
    let request = tampered.attempt().unwrap().request();
    assert!(!request.signed_string().ends_with(request.body()));
    let extra = http
        .send(over_http.id(), message().fault(Fault::ExtraBadSignature))
        .await
        .unwrap();
    let signature = extra
        .attempt()
        .unwrap()
        .request()
        .header("webhook-signature");
    assert_eq!(signature.unwrap().split(' ').count(), 2);

    let refused = http
        .send(over_http.id(), message().fault(Fault::DuplicateDelivery))
        .await
        .unwrap_err();
    assert!(matches!(refused, StandardError::UnsupportedFault { .. }));
    let refused = http
        .send(over_http.id(), message().id("msg.with.dots"))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 400);
}

#[cfg(feature = "ed25519")]
#[tokio::test]
async fn whsk_keys_sign_v1a_that_the_verifier_accepts() {
    let clock = ManualClock::new(NOW);
    let whsk = format!("whsk_{}", STANDARD.encode([42u8; 32]));
    let sender = StandardSender::builder().clock(clock.clone()).build();
    let probe = sender
        .create_endpoint(NewEndpoint::new("http://127.0.0.1:9/").secret(whsk.clone()))
        .unwrap();
    let public = StandardWebhooks::public_key("pk", &probe.public_keys()[0]).unwrap();
    let app = receiver(verifier(KeySet::default().with_public_key(public), &clock));
    let sender = builder(&clock).service(app).build();
    let endpoint = sender
        .create_endpoint(NewEndpoint::new("/hooks").secret(whsk))
        .unwrap();
    let sent = sender.send(endpoint.id(), message()).await.unwrap();
    assert_eq!(status(&sent), Some(200));
    let signature = sent
        .attempt()
        .unwrap()
        .request()
        .header("webhook-signature");
    assert!(signature.unwrap().starts_with("v1a,"));
    let spoiled = sender
        .send(endpoint.id(), message().fault(Fault::TamperedBody))
        .await
        .unwrap();
    assert_eq!(status(&spoiled), Some(401));
}

#[tokio::test]
async fn retries_keep_the_id_so_the_replay_guard_refuses_the_copy() {
    let clock = ManualClock::new(NOW);
    let verifier = Verifier::builder(StandardWebhooks::keys(SECRET).unwrap())
        .scheme(StandardWebhooks::new())
        .clock(clock.clone())
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    // Verified, then the handler fails: the sender must retry.
    let app = Router::new()
        .route(
            "/hooks",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "busy") }),
        )
        .layer(VerifyWebhookLayer::new(verifier));
    let sender = builder(&clock).service(app).build();
    let endpoint = sender
        .create_endpoint(NewEndpoint::new("/hooks").secret(SECRET))
        .unwrap();
    let first = sender.send(endpoint.id(), message()).await.unwrap();
    assert_eq!(status(&first), Some(500));
    clock.advance(5);
    let retries = sender.deliver_due().await;
    assert_eq!(retries.len(), 1);
    assert_eq!(status(&retries[0]), Some(401), "the copy is a replay");

    let [a, b] = [first.attempt().unwrap(), retries[0].attempt().unwrap()];
    assert_eq!(retries[0].message_id(), first.message_id());
    assert_eq!(
        a.request().header("webhook-id"),
        b.request().header("webhook-id")
    );
    assert_eq!(a.request().header("webhook-timestamp"), Some("1674087231"));
    assert_eq!(b.request().header("webhook-timestamp"), Some("1674087236"));
    assert_ne!(
        a.request().header("webhook-signature"),
        b.request().header("webhook-signature")
    );
    assert_eq!((a.number(), b.number()), (1, 2));
    assert_eq!(a.delivery(), b.delivery());
}

/// Sends one message to a receiver answering `script`, then runs the
/// queue on the virtual clock, moving it to each due time, until nothing
/// waits: the seconds since the first attempt of every attempt made, and
/// the last dispatch.
async fn run_schedule(script: &[u16]) -> (Vec<i64>, Vec<Option<u16>>, Dispatch) {
    let clock = ManualClock::new(NOW);
    let scripted = Scripted::new(script);
    let sender = builder(&clock).service(scripted.router("/hooks")).build();
    let endpoint = sender
        .create_endpoint(NewEndpoint::new("/hooks").secret(SECRET))
        .unwrap();
    let mut last = sender.send(endpoint.id(), message()).await.unwrap();
    while let Some(due) = sender.next_due() {
        // One second early: nothing is due yet.
        clock.set(due - 1);
        assert!(sender.deliver_due().await.is_empty());
        clock.set(due);
        let made = sender.deliver_due().await;
        assert_eq!(made.len(), 1);
        last = made.into_iter().next().unwrap();
    }
    let attempts = sender.journal().attempts();
    assert_eq!(attempts.len(), scripted.count());
    let times = attempts.iter().map(|a| a.sent_at() - NOW).collect();
    let statuses = attempts.iter().map(|a| a.status()).collect();
    (times, statuses, last)
}

#[tokio::test]
async fn failures_follow_the_spec_schedule_to_the_second() {
    let (times, statuses, last) = run_schedule(&[500, 500, 200]).await;
    assert_eq!(times, [0, 5, 305]);
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    assert_eq!(last.state(), &DispatchState::Delivered);

    // Never accepted: ten attempts at the spec's "time since start", then dropped.
    let (times, _, last) = run_schedule(&[503]).await;
    let hms = |h: i64, m: i64, s: i64| h * 3600 + m * 60 + s;
    assert_eq!(
        times,
        [
            0,
            5,
            hms(0, 5, 5),
            hms(0, 35, 5),
            hms(2, 35, 5),
            hms(7, 35, 5),
            hms(17, 35, 5),
            hms(31, 35, 5),
            hms(51, 35, 5),
            hms(75, 35, 5),
        ]
    );
    assert_eq!(last.state(), &DispatchState::Failed);

    // Redirects are failures and are not followed.
    let (times, statuses, _) = run_schedule(&[301, 308, 200]).await;
    assert_eq!(times, [0, 5, 305]);
    assert_eq!(statuses, [Some(301), Some(308), Some(200)]);
}

#[tokio::test]
async fn jitter_only_lengthens_the_wait() {
    let clock = ManualClock::new(NOW);
    let sender = StandardSender::builder()
        .clock(clock.clone())
        .service(Scripted::new(&[500]).router("/hooks"))
        .jitter_percent(50)
        .build();
    let endpoint = sender.create_endpoint(NewEndpoint::new("/hooks")).unwrap();
    for _ in 0..20 {
        let sent = sender.send(endpoint.id(), message()).await.unwrap();
        let DispatchState::Retrying { attempt: 2, at } = *sent.state() else {
            panic!("{sent:?}");
        };
        assert!((NOW + 5..=NOW + 7).contains(&at), "{at}");
    }
}

#[tokio::test]
async fn gone_disables_the_endpoint() {
    let clock = ManualClock::new(NOW);
    let scripted = Scripted::new(&[500, 410]);
    let sender = builder(&clock).service(scripted.router("/hooks")).build();
    let endpoint = sender
        .create_endpoint(NewEndpoint::new("/hooks").secret(SECRET))
        .unwrap();
    let other = sender.send(endpoint.id(), message()).await.unwrap();
    assert!(matches!(other.state(), DispatchState::Retrying { .. }));
    let gone = sender.send(endpoint.id(), message()).await.unwrap();
    assert_eq!(status(&gone), Some(410));
    assert_eq!(gone.state(), &DispatchState::EndpointDisabled);

    let endpoint = sender.endpoint(endpoint.id()).unwrap();
    assert!(!endpoint.is_enabled());
    assert_eq!(endpoint.disabled_reason(), Some("answered 410 Gone"));
    // The first message's retry is dropped, and nothing more goes out.
    assert!(sender.pending().is_empty());
    clock.advance(3600);
    assert!(sender.deliver_due().await.is_empty());
    let refused = sender.send(endpoint.id(), message()).await.unwrap_err();
    assert_eq!(
        refused,
        StandardError::EndpointDisabled {
            id: endpoint.id().to_owned()
        }
    );
    assert!(sender.broadcast(message()).await.unwrap().is_empty());
    assert_eq!(scripted.count(), 2);

    // Enabled again by hand, it receives.
    sender.set_enabled(endpoint.id(), true).unwrap();
    assert_eq!(sender.broadcast(message()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn throttling_honours_retry_after() {
    let clock = ManualClock::new(NOW);
    let calls = Arc::new(Mutex::new(0u32));
    let app = Router::new().route(
        "/hooks",
        post({
            let calls = Arc::clone(&calls);
            move || async move {
                let mut n = calls.lock().unwrap();
                *n += 1;
                match *n {
                    1 => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "120")]).into_response(),
                    2 => (StatusCode::BAD_GATEWAY, [("retry-after", "999999")]).into_response(),
                    3 => StatusCode::GATEWAY_TIMEOUT.into_response(),
                    _ => StatusCode::NO_CONTENT.into_response(),
                }
            }
        }),
    );
    let sender = builder(&clock)
        .service(app)
        .retry_after_cap(Duration::from_secs(3600))
        .build();
    let endpoint = sender.create_endpoint(NewEndpoint::new("/hooks")).unwrap();
    let sent = sender.send(endpoint.id(), message()).await.unwrap();
    assert_eq!(status(&sent), Some(429));
    assert_eq!(
        sent.state(),
        &DispatchState::Retrying {
            attempt: 2,
            at: NOW + 120
        }
    );
    clock.advance(119);
    assert!(sender.deliver_due().await.is_empty());
    clock.advance(1);
    let second = sender.deliver_due().await;
    // 502 asking for far too long: the cap.
    assert_eq!(
        second[0].state(),
        &DispatchState::Retrying {
            attempt: 3,
            at: NOW + 120 + 3600
        }
    );
    clock.advance(3600);
    let third = sender.deliver_due().await;
    // 504 without Retry-After: the schedule's wait after a third failure, 30 minutes.
    assert_eq!(
        third[0].state(),
        &DispatchState::Retrying {
            attempt: 4,
            at: NOW + 120 + 3600 + 1800
        }
    );
    clock.advance(1800);
    let fourth = sender.deliver_due().await;
    assert_eq!(status(&fourth[0]), Some(204));
    assert_eq!(fourth[0].state(), &DispatchState::Delivered);
}

#[tokio::test]
async fn rotation_signs_with_every_secret() {
    let clock = ManualClock::new(NOW);
    let old = receiver(verifier(StandardWebhooks::keys(SECRET).unwrap(), &clock));
    let new = receiver(verifier(
        StandardWebhooks::keys(NEXT_SECRET).unwrap(),
        &clock,
    ));
    let neither = receiver(verifier(
        StandardWebhooks::keys("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX").unwrap(),
        &clock,
    ));
    for (app, expected) in [(old, 200), (new, 200), (neither, 401)] {
        let sender = builder(&clock).service(app).build();
        let endpoint = sender
            .create_endpoint(
                NewEndpoint::new("/hooks")
                    .secret(SECRET)
                    .secret(NEXT_SECRET),
            )
            .unwrap();
        assert_eq!(endpoint.secrets(), [SECRET, NEXT_SECRET]);
        let sent = sender.send(endpoint.id(), message()).await.unwrap();
        assert_eq!(status(&sent), Some(expected));
        let signature = sent
            .attempt()
            .unwrap()
            .request()
            .header("webhook-signature");
        let entries: Vec<&str> = signature.unwrap().split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| e.starts_with("v1,")));
    }
}

#[tokio::test]
async fn endpoints_generate_secrets_and_hide_them_in_debug() {
    let sender = StandardSender::builder().build();
    let endpoint = sender
        .create_endpoint(NewEndpoint::new("http://127.0.0.1:9/hooks"))
        .unwrap();
    let secret = endpoint.secrets()[0].to_owned();
    assert!(secret.starts_with("whsec_"));
    assert!(StandardWebhooks::secret("k", &secret).is_ok());
    assert_eq!(endpoint.to_json()["secret"], secret.as_str());
    assert!(!format!("{endpoint:?}").contains(&secret));
    assert!(!format!("{sender:?}").contains(&secret));
    for bad in ["https://a.test/hooks", "/hooks", "not a url"] {
        assert!(matches!(
            sender.create_endpoint(NewEndpoint::new(bad)),
            Err(StandardError::InvalidUrl { .. })
        ));
    }
    assert!(matches!(
        sender.create_endpoint(NewEndpoint::new("http://a.test/").secret("whsec_c2hvcnQ=")),
        Err(StandardError::InvalidSecret { .. })
    ));
    assert!(matches!(
        sender.endpoint("ep_99"),
        Err(StandardError::UnknownEndpoint { .. })
    ));
}

#[tokio::test]
async fn the_queue_and_the_journal_are_bounded() {
    let clock = ManualClock::new(NOW);
    let sender = builder(&clock)
        .service(Scripted::new(&[500]).router("/hooks"))
        .max_pending(2)
        .journal_limit(3)
        .build();
    let endpoint = sender.create_endpoint(NewEndpoint::new("/hooks")).unwrap();
    for _ in 0..2 {
        sender.send(endpoint.id(), message()).await.unwrap();
    }
    assert_eq!(
        sender.send(endpoint.id(), message()).await.unwrap_err(),
        StandardError::QueueFull { limit: 2 }
    );
    clock.advance(5);
    assert_eq!(sender.deliver_due().await.len(), 2);
    assert_eq!(sender.pending().len(), 2);
    let journal = sender.journal();
    assert_eq!((journal.len(), journal.total_attempts()), (3, 4));
    assert_eq!(
        journal
            .wait_for(4, Duration::from_secs(1))
            .await
            .unwrap()
            .len(),
        3
    );
}

/// Records what the receiver got: header pairs and body.
type Captured = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

#[tokio::test]
async fn the_official_package_verifies_what_goes_on_the_wire() {
    if !python_available(
        &["standardwebhooks", "cryptography"],
        "the Standard Webhooks sender against the official package",
    ) {
        return;
    }
    let captured: Captured = Arc::default();
    let app = Router::new().route(
        "/hooks",
        post({
            let captured = Arc::clone(&captured);
            move |headers: HeaderMap, body: Bytes| async move {
                let headers = headers
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                    .collect();
                captured.lock().unwrap().push((headers, body.to_vec()));
                "ok"
            }
        }),
    );
    let addr = serve(app).await;
    // The package judges timestamps against its own clock: the system's.
    let sender = StandardSender::builder().http().build();
    let endpoint = sender
        .create_endpoint(NewEndpoint::new(format!("http://{addr}/hooks")).secret(SECRET))
        .unwrap();
    let rotating = sender
        .create_endpoint(
            NewEndpoint::new(format!("http://{addr}/hooks"))
                .secret(NEXT_SECRET)
                .secret(SECRET),
        )
        .unwrap();
    let messages = [
        message(),
        Message::json(
            "invoice.paid",
            &json!({"amount": 1999, "note": "é€ \u{1F600}"}),
        ),
        Message::raw("empty", ""),
    ];
    for message in messages {
        for id in [endpoint.id(), rotating.id()] {
            let sent = sender.send(id, message.clone()).await.unwrap();
            assert_eq!(status(&sent), Some(200));
        }
    }
    let deliveries = captured.lock().unwrap().clone();
    assert_eq!(deliveries.len(), 6);
    let mut lines = String::new();
    for (headers, body) in &deliveries {
        let mut changed = body.clone();
        match changed.first_mut() {
            Some(byte) => *byte ^= 1,
            None => changed.push(b' '),
        }
        for body in [body, &changed] {
            let line =
                json!({"secret": SECRET, "headers": headers, "body_b64": STANDARD.encode(body)});
            lines.push_str(&format!("{line}\n"));
        }
    }
    let verdicts = run_json_lines("standard_webhooks.py", &["verify-wire"], &lines);
    assert_eq!(verdicts.len(), 12);
    for (i, pair) in verdicts.chunks(2).enumerate() {
        assert_eq!(pair[0]["accepted"], true, "delivery {i} as sent: {pair:?}");
        assert_eq!(pair[1]["accepted"], false, "delivery {i} changed: {pair:?}");
    }
}
