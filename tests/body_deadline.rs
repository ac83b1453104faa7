//! Bounded time per delivery, over raw TCP on loopback: a body that trickles
//! or stops is refused with 408 once `body_timeout` elapses and the
//! connection is closed; a chunked body over the limit gets 413 and the
//! connection is closed rather than drained; the handler never runs for any
//! of them, and valid deliveries sent meanwhile get 200. For the axum layer,
//! the axum extractor, the actix extractor, the actix middleware, and the
//! receiver examples as built.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{KeySet, ManualClock, Verifier};

use support::client::{Framing, RawResponse, http1_bytes, parse_response, send_h1};
use support::delivery::Delivery;
use support::examples::{SECRET, start};
use support::servers::serve;
use support::{KEY, NOW};

/// The body deadline of the test receivers.
const DEADLINE: Duration = Duration::from_millis(300);
/// How much later than the deadline a 408 may arrive on a loaded machine.
const SLACK: Duration = Duration::from_millis(1500);
/// How long after its answer a refused connection may stay open: actix-web
/// lingers up to `client_disconnect_timeout` (1 s by default) before closing.
const CLOSE_WITHIN: Duration = Duration::from_secs(3);
/// How often a trickling client sends its next byte.
const TRICKLE: Duration = Duration::from_millis(100);
/// Valid deliveries sent while the slow ones wait.
const VALID: usize = 4;

fn verifier() -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .clock(ManualClock::new(NOW))
        .body_timeout(DEADLINE)
        .build()
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// How a slow client sends the body after the head.
#[derive(Clone, Copy, Debug)]
enum Pace {
    /// One byte every [`TRICKLE`]; the body does not end before the deadline.
    Trickle,
    /// Nothing at all after the head.
    Silent,
    /// All of it at once, then nothing more (the body need not be complete).
    Burst,
}

/// What a slow client saw, timed from the end of its head.
#[derive(Debug)]
struct Seen {
    response: RawResponse,
    answered: Duration,
    /// When the server closed the connection, if within [`CLOSE_WITHIN`] of the answer.
    closed: Option<Duration>,
}

/// Writes `head`, then `body` at `pace`, keeping the connection open; reads
/// the answer and waits (bounded) for the server to close.
async fn send_slowly(addr: SocketAddr, (head, body): (Vec<u8>, Vec<u8>), pace: Pace) -> Seen {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(&head).await.expect("write head");
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        match pace {
            Pace::Trickle => {
                for byte in body {
                    tokio::time::sleep(TRICKLE).await;
                    if writer.write_all(&[byte]).await.is_err() {
                        break;
                    }
                }
            }
            Pace::Burst => {
                let _ = writer.write_all(&body).await;
            }
            Pace::Silent => {}
        }
        // Never close our side: a server that waits for us waits in vain.
        std::future::pending::<()>().await;
        drop(writer);
    });
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut answered = None;
    let bound = DEADLINE + SLACK + CLOSE_WITHIN;
    let closed = tokio::time::timeout(bound, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    if answered.is_none() && raw.windows(4).any(|w| w == b"\r\n\r\n") {
                        answered = Some(start.elapsed());
                    }
                }
            }
        }
    })
    .await
    .ok();
    sender.abort();
    let answered = answered.unwrap_or_else(|| {
        panic!(
            "no answer within {bound:?}: {:?}",
            String::from_utf8_lossy(&raw)
        )
    });
    let closed = closed.filter(|closed| *closed <= answered + CLOSE_WITHIN);
    Seen {
        response: parse_response(&raw),
        answered,
        closed,
    }
}

/// A signed delivery framed with `framing`, split into head and body.
fn delivery_parts(path: &str, framing: Framing) -> (Vec<u8>, Vec<u8>) {
    let body = br#"{"id":"86","name":"a product whose body never arrives in full"}"#;
    let request = http1_bytes(path, &Delivery::product(KEY, NOW, body), framing);
    let split = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    let body = request[split..].to_vec();
    let mut head = request;
    head.truncate(split);
    (head, body)
}

/// The delivery of issue 14: a plausible signature, a chunked body of 17
/// chunks of 64 KiB (over the default 1 MiB limit), kept alive after.
fn over_limit_parts(path: &str) -> (Vec<u8>, Vec<u8>) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Webhook-Entity: product\r\n\
         X-Webhook-Signature: {}=\r\nTransfer-Encoding: chunked\r\n\r\n",
        "A".repeat(43)
    );
    let mut body = Vec::new();
    for _ in 0..17 {
        body.extend_from_slice(b"10000\r\n");
        body.extend_from_slice(&[b'x'; 64 * 1024]);
        body.extend_from_slice(b"\r\n");
    }
    (head.into_bytes(), body)
}

/// A slow delivery was refused with 408 no sooner than the deadline and not
/// much later, and its connection closed.
fn assert_timed_out(case: &str, seen: &Seen) {
    assert_eq!(
        (seen.response.status, seen.response.text().as_str()),
        (408, "webhook body not received in time"),
        "{case}: {seen:?}"
    );
    // The server's clock starts after it read our head: never before ours.
    assert!(
        seen.answered + Duration::from_millis(20) >= DEADLINE,
        "{case}: answered before the deadline: {seen:?}"
    );
    assert!(
        seen.answered <= DEADLINE + SLACK,
        "{case}: answered too late: {seen:?}"
    );
    assert!(
        seen.closed.is_some(),
        "{case}: connection still open {CLOSE_WITHIN:?} after the answer: {seen:?}"
    );
    eprintln!(
        "{case}: 408 after {:?}, closed after {:?}",
        seen.answered, seen.closed
    );
}

/// The body over the limit was refused with 413 and its connection closed.
fn assert_too_large_and_closed(case: &str, seen: &Seen) {
    assert_eq!(seen.response.status, 413, "{case}: {seen:?}");
    assert!(
        seen.closed.is_some(),
        "{case}: connection still open {CLOSE_WITHIN:?} after the 413: {seen:?}"
    );
    eprintln!(
        "{case}: 413 after {:?}, closed after {:?}",
        seen.answered, seen.closed
    );
}

/// Every slow case at once on the receiver at `addr`, with valid deliveries
/// in between; `calls` counts the handler's runs.
async fn check_receiver(name: &str, addr: SocketAddr, calls: &AtomicUsize) {
    let slow = |framing, pace| send_slowly(addr, delivery_parts("/webhooks", framing), pace);
    let over_limit = || send_slowly(addr, over_limit_parts("/webhooks"), Pace::Burst);
    let valid = async {
        let delivery = Delivery::product(KEY, NOW, br#"{"id":"1"}"#);
        let mut statuses = Vec::new();
        for _ in 0..VALID {
            statuses.push(send_h1(addr, "/webhooks", &delivery).await.status);
            tokio::time::sleep(TRICKLE).await;
        }
        statuses
    };
    let (trickled, trickled_chunked, silent, silent_chunked, over_limit, valid) = tokio::join!(
        slow(Framing::ContentLength, Pace::Trickle),
        slow(Framing::Chunked(8), Pace::Trickle),
        slow(Framing::ContentLength, Pace::Silent),
        slow(Framing::Chunked(8), Pace::Silent),
        over_limit(),
        valid,
    );
    assert_timed_out(&format!("{name}, trickled"), &trickled);
    assert_timed_out(&format!("{name}, trickled chunks"), &trickled_chunked);
    assert_timed_out(&format!("{name}, silent"), &silent);
    assert_timed_out(&format!("{name}, silent chunked"), &silent_chunked);
    assert_too_large_and_closed(&format!("{name}, chunked over the limit"), &over_limit);
    assert_eq!(valid, [200; VALID], "{name}: valid deliveries meanwhile");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        VALID,
        "{name}: the handler ran for the valid deliveries only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_layer_refuses_slow_bodies_in_time() {
    let calls = counter();
    let handler_calls = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/webhooks",
            post(move || {
                handler_calls.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        )
        .route_layer(VerifyWebhookLayer::new(verifier()));
    check_receiver("axum layer", serve(app).await, &calls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_extractor_refuses_slow_bodies_in_time() {
    use webhook_guard::axum::Webhook;

    let calls = counter();
    let handler_calls = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/webhooks",
            post(move |_: Webhook| {
                handler_calls.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        )
        .with_state(verifier());
    check_receiver("axum extractor", serve(app).await, &calls).await;
}

#[actix_rt::test]
async fn actix_extractor_refuses_slow_bodies_in_time() {
    use actix_web::{App, web};
    use webhook_guard::actix::{Webhook, WebhookConfig};

    let calls = counter();
    let handler_calls = Arc::clone(&calls);
    let config = WebhookConfig::new(verifier());
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new().app_data(config.clone()).route(
            "/webhooks",
            web::post().to(move |_: Webhook| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        )
    });
    check_receiver("actix extractor", server.addr, &calls).await;
    server.stop().await;
}

#[actix_rt::test]
async fn actix_middleware_refuses_slow_bodies_in_time() {
    use actix_web::{App, web};
    use webhook_guard::actix::VerifyWebhook;

    let calls = counter();
    let handler_calls = Arc::clone(&calls);
    let middleware = VerifyWebhook::new(verifier());
    let server = serve_actix!(move || {
        let calls = Arc::clone(&handler_calls);
        App::new().service(web::resource("/webhooks").wrap(middleware.clone()).route(
            web::post().to(move |_: web::Bytes| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        ))
    });
    check_receiver("actix middleware", server.addr, &calls).await;
    server.stop().await;
}

/// The receiver examples as built, with their default 10 s body timeout: a
/// trickled body would take that long, so they get the quick cases: the
/// chunked body over the limit is answered with 413 and its connection closed.
async fn check_example(name: &'static str) {
    let receiver =
        tokio::task::spawn_blocking(move || start(name, &[("WEBHOOK_SECRET", SECRET)], &[]))
            .await
            .expect("start");
    let seen = send_slowly(receiver.addr, over_limit_parts("/webhooks"), Pace::Burst).await;
    assert_too_large_and_closed(name, &seen);
    receiver.assert_quiet();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_receiver_example_closes_after_an_oversized_body() {
    check_example("axum_receiver").await;
}

#[actix_rt::test]
async fn actix_receiver_example_closes_after_an_oversized_body() {
    check_example("actix_receiver").await;
}
