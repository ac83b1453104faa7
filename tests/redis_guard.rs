//! `RedisReplayGuard` against a real `redis-server` that each test starts on a
//! loopback port of its own: one first of many concurrent copies, expiry
//! exactly as long as freshness needs, fixed-length keys whatever the headers,
//! bounded answers while Redis is gone, stuck or black-holed, recovery after a
//! restart, and three receiver processes sharing one Redis.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use redis::aio::MultiplexedConnection;
use serde_json::json;
use webhook_guard::mock::{Event, MockBody, MockSender};
use webhook_guard::standard::{self, StandardWebhooks};
use webhook_guard::{
    Action, Entity, Error, ErrorKind, KeySet, ManualClock, RedisConnectError, RedisFailurePolicy,
    RedisReplayGuard, ReplayCheck, ReplayGuard, ReplayKey, VerifiedWebhook, Verifier,
};

use support::client::{Framing, Until, http1_bytes, send_raw};
use support::delivery::Delivery;
use support::examples::{self, SECRET};
use support::redis_server::RedisServer;
use support::{KEY, NOW};

const WHAT: &str = "the Redis replay guard tests";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The defaults: a check answers within command + connect + command timeouts.
const WORST_CHECK: Duration = Duration::from_millis(750);
/// Room for a loaded machine on top of a bound the guard promises.
const SLACK: Duration = Duration::from_millis(750);

/// A verifier of API2Cart deliveries signed with [`KEY`], its clock at `clock`,
/// remembering deliveries in `guard`.
fn verifier(guard: impl ReplayGuard, clock: &ManualClock) -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .replay_guard(guard)
        .build()
}

/// A product delivery timestamped `ts` whose body names `id`.
fn delivery(id: u64, ts: i64) -> Delivery {
    Delivery::product(KEY, ts, format!(r#"{{"id":"{id}"}}"#).as_bytes())
}

async fn verify(verifier: &Verifier, delivery: &Delivery) -> Result<VerifiedWebhook, Error> {
    let body = Bytes::from(delivery.body.clone());
    verifier.verify(delivery.headers.clone(), body).await
}

/// A connection of the test's own, to look at what the guard stored.
async fn inspect(redis: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis-server")
}

async fn keys(connection: &mut MultiplexedConnection, prefix: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(connection)
        .await
        .expect("KEYS")
}

async fn ttl(connection: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("TTL")
        .arg(key)
        .query_async(connection)
        .await
        .expect("TTL")
}

/// A guard with a prefix of the test's own and the default timeouts.
async fn guard(redis: &RedisServer, prefix: &str) -> RedisReplayGuard {
    RedisReplayGuard::builder(&redis.url())
        .prefix(prefix)
        .connect()
        .await
        .expect("guard connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_200_identical_deliveries_at_once_exactly_one_is_first() {
    let Some(redis) = RedisServer::start(WHAT) else {
        return;
    };
    let clock = ManualClock::new(NOW);
    // Four guards, four connections: four receiver processes as far as Redis can tell.
    let mut verifiers = Vec::new();
    for _ in 0..4 {
        verifiers.push(verifier(guard(&redis, "atomic:").await, &clock));
    }
    let delivery = Arc::new(delivery(1, NOW));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let verifier = verifiers[i % verifiers.len()].clone();
        let delivery = Arc::clone(&delivery);
        tasks.spawn(async move {
            verify(&verifier, &delivery)
                .await
                .map(|_| ())
                .map_err(|e| e.kind())
        });
    }
    let results = tasks.join_all().await;
    let first = results.iter().filter(|r| r.is_ok()).count();
    let replays = results
        .iter()
        .filter(|r| **r == Err(ErrorKind::Replayed))
        .count();
    assert_eq!(
        (first, replays),
        (1, 199),
        "every copy but one is a replay: {results:?}"
    );
    assert_eq!(keys(&mut inspect(&redis).await, "atomic:").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_remembered_until_freshness_refuses_it_and_no_longer() {
    let Some(redis) = RedisServer::start(WHAT) else {
        return;
    };
    let mut connection = inspect(&redis).await;
    let clock = ManualClock::new(NOW);
    let verifier = Verifier::builder(KeySet::single(KEY))
        .clock(clock.clone())
        .tolerance(Duration::from_secs(5))
        .replay_guard(guard(&redis, "expiry:").await)
        .build();

    // (timestamp, seconds Redis must keep it): fresh through ts + 5, so
    // remembered through the end of that second, checked at NOW.
    let cases = [(NOW, 6), (NOW - 3, 3), (NOW + 4, 10), (NOW - 5, 1)];
    for (i, (ts, expected_ttl)) in cases.into_iter().enumerate() {
        let delivery = delivery(i as u64, ts);
        verify(&verifier, &delivery).await.expect("first delivery");
        let stored = keys(&mut connection, "expiry:").await;
        assert_eq!(stored.len(), i + 1);
        let key = RedisReplayGuard::builder(&redis.url())
            .prefix("expiry:")
            .connect_lazy()
            .expect("guard")
            .key_for(&ReplayKey::for_scheme(
                "api2cart",
                "1",
                signature_bytes(&delivery),
            ));
        assert!(stored.contains(&key), "{key} in {stored:?}");
        assert_eq!(ttl(&mut connection, &key).await, expected_ttl, "ts {ts}");
    }

    // The first delivery (ts = NOW): a replay while fresh, stale after.
    let first = delivery(0, NOW);
    clock.set(NOW + 5);
    let replay = verify(&verifier, &first).await.unwrap_err();
    assert_eq!(replay.kind(), ErrorKind::Replayed);
    clock.set(NOW + 6);
    let stale = verify(&verifier, &first).await.unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::TimestampOutsideTolerance);
}

/// The 32 signature bytes of an API2Cart delivery.
fn signature_bytes(delivery: &Delivery) -> Vec<u8> {
    use base64::Engine as _;
    let (_, value) = delivery
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("X-Webhook-Signature"))
        .expect("signed");
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .expect("base64")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_have_one_length_whatever_the_headers_hold() {
    let Some(redis) = RedisServer::start(WHAT) else {
        return;
    };
    let prefix = "shape:";
    let guard = guard(&redis, prefix).await;
    let clock = ManualClock::new(NOW);

    // A store id of 12 KB made of what Redis patterns and protocols treat specially.
    let odd = "*?[]\\ \t{}:%$\"'\u{1F600}é".repeat(600);
    let api2cart = verifier(guard.clone(), &clock);
    let ts = NOW.to_string();
    let long_store = Delivery::signed(
        KEY,
        &[
            ("X-Webhook-Store-Id", odd.as_str()),
            ("X-Webhook-Entity", "product"),
            ("X-Webhook-Timestamp", ts.as_str()),
        ],
        b"{}",
    );
    verify(&api2cart, &long_store).await.expect("long store id");
    verify(&api2cart, &delivery(7, NOW))
        .await
        .expect("plain delivery");

    // A Standard Webhooks message id of 8 KiB.
    let standard = Verifier::builder(StandardWebhooks::keys(WHSEC).unwrap())
        .scheme(StandardWebhooks::new())
        .clock(clock.clone())
        .replay_guard(guard.clone())
        .build();
    let id = "msg_*?[] ".repeat(900);
    let key = StandardWebhooks::secret("k", WHSEC).unwrap();
    let headers = vec![
        ("webhook-id".to_owned(), id.clone()),
        ("webhook-timestamp".to_owned(), NOW.to_string()),
        (
            "webhook-signature".to_owned(),
            standard::sign(&key, &id, NOW, b"{}"),
        ),
    ];
    standard
        .verify(headers, Bytes::from_static(b"{}"))
        .await
        .expect("long message id");

    // Straight through the guard: a 1 MiB id of every byte value.
    let huge = ReplayKey::for_scheme(
        "up42",
        "",
        (0..=255u8).cycle().take(1 << 20).collect::<Vec<u8>>(),
    );
    assert_eq!(
        guard
            .check_and_remember(&huge, NOW, NOW + 300)
            .await
            .unwrap(),
        ReplayCheck::First
    );

    let stored = keys(&mut inspect(&redis).await, prefix).await;
    assert_eq!(stored.len(), 4, "{stored:?}");
    for key in &stored {
        let digest = key.strip_prefix(prefix).expect("prefixed");
        assert_eq!(digest.len(), 64, "{key}");
        assert!(
            digest
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_gone_each_check_answers_by_policy_in_time_and_recovers() {
    let Some(mut redis) = RedisServer::start(WHAT) else {
        return;
    };
    let clock = ManualClock::new(NOW);
    let closed = guard(&redis, "outage:").await;
    assert_eq!(closed.failure_policy(), RedisFailurePolicy::FailClosed);
    let degrading = RedisReplayGuard::builder(&redis.url())
        .prefix("outage:")
        .danger_degrade_to_memory(1000)
        .connect()
        .await
        .expect("guard");
    assert_eq!(degrading.failure_policy(), RedisFailurePolicy::Degrade);
    let fail_closed = verifier(closed.clone(), &clock);
    let degrade = verifier(degrading.clone(), &clock);
    verify(&fail_closed, &delivery(1, NOW)).await.unwrap();

    redis.kill();
    for id in 10..13 {
        let started = Instant::now();
        let refused = verify(&fail_closed, &delivery(id, NOW)).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(refused.kind(), ErrorKind::Unavailable);
        assert_eq!(refused.status(), 503);
        assert!(took < WORST_CHECK + SLACK, "a check took {took:?}");
    }
    assert_eq!(closed.failed_checks(), 3);
    // Degrading: this process's memory answers, replays included.
    let started = Instant::now();
    verify(&degrade, &delivery(20, NOW)).await.unwrap();
    let replay = verify(&degrade, &delivery(20, NOW)).await.unwrap_err();
    assert_eq!(replay.kind(), ErrorKind::Replayed);
    assert!(started.elapsed() < 2 * (WORST_CHECK + SLACK));
    assert_eq!(degrading.degraded_checks(), 2);

    // Back: the same guards work again, nobody restarted them. Redis kept
    // nothing on disk, so what it knew is gone.
    redis.restart();
    let started = Instant::now();
    verify(&fail_closed, &delivery(10, NOW))
        .await
        .expect("the first check after the restart goes through");
    assert!(started.elapsed() < WORST_CHECK + SLACK);
    let replay = verify(&fail_closed, &delivery(10, NOW)).await.unwrap_err();
    assert_eq!(replay.kind(), ErrorKind::Replayed);
    verify(&degrade, &delivery(21, NOW)).await.unwrap();
    assert_eq!(closed.failed_checks(), 3);
    assert_eq!(degrading.degraded_checks(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_redis_or_a_black_hole_costs_a_timeout_not_a_hang() {
    let Some(redis) = RedisServer::start(WHAT) else {
        return;
    };
    let clock = ManualClock::new(NOW);
    let command_timeout = Duration::from_millis(200);
    let guard = RedisReplayGuard::builder(&redis.url())
        .prefix("stuck:")
        .command_timeout(command_timeout)
        .connect()
        .await
        .expect("guard");
    let receiver = verifier(guard, &clock);

    // Paused: the connection is open and nothing answers.
    redis.pause();
    let started = Instant::now();
    let refused = verify(&receiver, &delivery(1, NOW)).await.unwrap_err();
    let took = started.elapsed();
    redis.resume();
    assert_eq!(refused.kind(), ErrorKind::Unavailable);
    assert!(
        took >= command_timeout && took < command_timeout + SLACK,
        "stuck for {took:?}"
    );
    eprintln!("paused Redis: refused after {took:?}");
    verify(&receiver, &delivery(2, NOW))
        .await
        .expect("answers once resumed");

    // A listener whose backlog takes the connection and nobody ever reads it.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("redis://{}/", hole.local_addr().unwrap());
    let started = Instant::now();
    let refused = RedisReplayGuard::builder(&url)
        .connect_timeout(Duration::from_millis(200))
        .command_timeout(command_timeout)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            RedisConnectError::TimedOut(_) | RedisConnectError::Unreachable(_)
        ),
        "{refused:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(400) + SLACK);
    // Started lazily, as a receiver that must come up while Redis is away.
    let lazy = RedisReplayGuard::builder(&url)
        .connect_timeout(Duration::from_millis(200))
        .command_timeout(command_timeout)
        .connect_lazy()
        .expect("lazy guard");
    let started = Instant::now();
    let refused = verify(&verifier(lazy, &clock), &delivery(3, NOW))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unavailable);
    assert!(started.elapsed() < Duration::from_millis(600) + SLACK);
    drop(hole);
}

/// What the fan-out saw of one delivery: the two receivers' statuses and the
/// longer of the two exchanges.
type Pair = ([u16; 2], Duration);

/// A stand-in for a load balancer that sends every request it gets to two of
/// `receivers` at once (a different pair each time), answering 200 when
/// either did.
fn fan_out(
    receivers: Vec<SocketAddr>,
    seen: Arc<Mutex<Vec<Pair>>>,
) -> impl tower::Service<
    Request<MockBody>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    let next = Arc::new(AtomicUsize::new(0));
    tower::service_fn(move |request: Request<MockBody>| {
        let (receivers, seen, next) = (receivers.clone(), Arc::clone(&seen), Arc::clone(&next));
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.expect("mock body").to_bytes();
            let skip = ["host", "content-length", "content-type", "connection"];
            let delivery = Delivery {
                headers: parts
                    .headers
                    .iter()
                    .filter(|(name, _)| !skip.contains(&name.as_str()))
                    .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                    .collect(),
                body: body.to_vec(),
            };
            let wire = http1_bytes(parts.uri.path(), &delivery, Framing::ContentLength);
            let i = next.fetch_add(1, Ordering::SeqCst);
            let (a, b) = (receivers[i % 3], receivers[(i + 1) % 3]);
            let started = Instant::now();
            let (first, second) = tokio::join!(
                send_raw(a, &wire, Until::Closed),
                send_raw(b, &wire, Until::Closed)
            );
            let statuses = [first.status, second.status];
            seen.lock().unwrap().push((statuses, started.elapsed()));
            let status = if statuses.contains(&200) {
                200
            } else {
                statuses[0]
            };
            Ok(Response::builder()
                .status(status)
                .body(Body::empty())
                .expect("response"))
        }
    })
}

/// Sends `count` distinct product events through `sender`, eight at a time,
/// numbered from `first`; returns how many were delivered.
async fn send_events(sender: &Arc<MockSender>, first: u64, count: u64) -> usize {
    let mut delivered = 0;
    let ids: Vec<u64> = (first..first + count).collect();
    for batch in ids.chunks(8) {
        let mut tasks = tokio::task::JoinSet::new();
        for &id in batch {
            let sender = Arc::clone(sender);
            tasks.spawn(async move {
                let event = Event::new(Entity::Product, Action::Update)
                    .json(json!({"id": id.to_string(), "name": "product"}));
                sender.send(event).await.is_delivered()
            });
        }
        delivered += tasks.join_all().await.into_iter().filter(|ok| *ok).count();
    }
    delivered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_receivers_sharing_redis_run_each_delivery_once_through_an_outage() {
    let Some(mut redis) = RedisServer::start(WHAT) else {
        return;
    };
    let url = redis.url();
    let receivers: Vec<examples::Running> = (0..3)
        .map(|_| {
            examples::start(
                "axum_receiver",
                &[("WEBHOOK_SECRET", SECRET), ("REDIS_URL", &url)],
                &[],
            )
        })
        .collect();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let addrs = receivers.iter().map(|r| r.addr).collect();
    let sender = Arc::new(
        MockSender::builder(SECRET)
            .service(fan_out(addrs, Arc::clone(&seen)))
            .callback("/webhooks")
            .build()
            .expect("mock sender"),
    );
    let take_seen = || std::mem::take(&mut *seen.lock().unwrap());

    assert_eq!(send_events(&sender, 0, 250).await, 250);
    let before = take_seen();

    // Redis dies: every check answers 503 at once, the vendor retries once
    // and gives up (the failed log keeps those events).
    redis.kill();
    assert_eq!(send_events(&sender, 1000, 10).await, 0);
    let outage = take_seen();

    // Redis is back, empty; the receivers were never restarted.
    redis.restart();
    assert_eq!(send_events(&sender, 250, 250).await, 250);
    let after = take_seen();

    for (statuses, took) in before.iter().chain(&after) {
        let mut sorted = *statuses;
        sorted.sort_unstable();
        assert_eq!(sorted, [200, 401], "one first, one replay ({took:?})");
    }
    assert_eq!(before.len() + after.len(), 500);
    assert_eq!(outage.len(), 20, "10 events, each tried twice");
    for (statuses, took) in &outage {
        assert_eq!(*statuses, [503, 503]);
        assert!(
            *took < WORST_CHECK + SLACK,
            "an outage answer took {took:?}"
        );
    }
    let slowest = |pairs: &[Pair]| pairs.iter().map(|(_, took)| *took).max();
    eprintln!(
        "slowest pair of answers: before {:?}, outage {:?}, after {:?}",
        slowest(&before),
        slowest(&outage),
        slowest(&after)
    );

    // Exactly one handler run per delivered event, across the three processes.
    let runs: Vec<String> = receivers.iter().flat_map(|r| r.drain_lines()).collect();
    assert_eq!(runs.len(), 500, "handler runs: {runs:?}");
    assert!(
        runs.iter()
            .all(|line| line.starts_with("entity=product action=update"))
    );
}
