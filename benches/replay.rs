//! What a replay guard adds to the verification of one delivery: none, this
//! process's memory, and Redis on loopback (a `redis-server` the bench starts
//! on a free port, with no persistence).
//!
//! `cargo bench --bench replay --features redis`. After criterion's report it
//! prints `replay GUARD MEDIAN RATIO`, RATIO = verify with that guard / verify
//! with none, both medians from this run. Each iteration verifies a delivery
//! never seen before (signed outside the measurement), so every check is a
//! first: the `SET NX` that writes. The verifier's clock moves one second
//! every 100 deliveries, so the in-memory guard holds what a receiver taking
//! 100 deliveries a second would: the last five minutes, 30,000 entries.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{BatchSize, Criterion};
use webhook_guard::{
    Clock as _, InMemoryReplayGuard, KeySet, ManualClock, RedisReplayGuard, SignedHeaders, Signer,
    Verifier, VerifierBuilder,
};

const KEY: &str = "bench-store-key-0123456789abcdef";
const NOW: i64 = 1_763_900_000;
const GROUP: &str = "replay";

/// Deliveries per second of the verifier's clock.
const RATE: u64 = 100;

/// A 1 KiB product update timestamped `ts` whose body carries `n`, so its
/// signature (the replay key) is new; headers as the receiver gets them.
fn delivery(n: u64, ts: i64) -> (Vec<(&'static str, String)>, Bytes) {
    let mut body = format!(r#"{{"id":"{n}","name":"Cable"}}"#).into_bytes();
    body.resize(1024, b' ');
    let ts = ts.to_string();
    let mut pairs = vec![
        ("x-webhook-store-id", "1".to_owned()),
        ("x-webhook-action", "update".to_owned()),
        ("x-webhook-entity", "product".to_owned()),
        ("x-webhook-timestamp", ts),
    ];
    let signed = SignedHeaders::from_pairs(pairs.iter().map(|(n, v)| (*n, v.as_str()))).unwrap();
    pairs.push(("x-webhook-signature", Signer::new(KEY).sign(&signed, &body)));
    (pairs, Bytes::from(body))
}

/// A `redis-server` of the bench's own, killed when dropped.
struct RedisServer(Child);

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> Option<(RedisServer, String)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .ok()?
        .port();
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = RedisServer(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((server, format!("redis://127.0.0.1:{port}/")))
}

fn bench(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    verifier: VerifierBuilder<KeySet>,
) {
    let clock = ManualClock::new(NOW);
    let verifier = verifier.clock(clock.clone()).build();
    let mut next = 0u64;
    c.benchmark_group(GROUP).bench_function(name, |b| {
        b.iter_batched(
            || {
                next += 1;
                if next.is_multiple_of(RATE) {
                    clock.advance(1);
                }
                delivery(next, clock.now())
            },
            |(headers, body)| {
                runtime
                    .block_on(verifier.verify(headers, body))
                    .expect("a new delivery is accepted")
            },
            BatchSize::SmallInput,
        )
    });
}

fn main() {
    let started = SystemTime::now();
    let mut c = Criterion::default().configure_from_args();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let plain = || Verifier::builder(KeySet::single(KEY));
    let mut names = vec!["none", "memory"];
    bench(&mut c, &runtime, "none", plain());
    bench(
        &mut c,
        &runtime,
        "memory",
        plain().replay_guard(InMemoryReplayGuard::new()),
    );
    let redis = start_redis();
    match &redis {
        Some((_, url)) => {
            let guard = runtime
                .block_on(RedisReplayGuard::connect(url))
                .expect("connect to the bench's redis-server");
            bench(&mut c, &runtime, "redis", plain().replay_guard(guard));
            names.push("redis");
        }
        None => eprintln!("replay: redis-server not found or did not start; no Redis row"),
    }
    c.final_summary();

    // Criterion's median of one row, if this run wrote it.
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("criterion")
        .join(GROUP);
    let median = |name: &str| {
        let path = dir.join(name).join("new").join("estimates.json");
        if std::fs::metadata(&path).and_then(|m| m.modified()).ok()? < started {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json["median"]["point_estimate"].as_f64()
    };
    let Some(baseline) = median("none") else {
        eprintln!("replay: no estimates under target/criterion (a --test run?)");
        return;
    };
    for name in names {
        if let Some(ns) = median(name) {
            println!(
                "replay {name:<6} {:>9.2} us {:>7.2}x",
                ns / 1000.0,
                ns / baseline
            );
        }
    }
}
