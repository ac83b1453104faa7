//! Cost of verifying a delivery, next to what it cannot avoid (HMAC-SHA256 over
//! the same bytes), a naive implementation, and a peer crate.
//!
//! `cargo bench --bench verify --features http`. After criterion's report it
//! prints `overhead RECIPE SIZE RATIO` per recipe and body size, RATIO = full
//! verify / raw HMAC of the same message bytes (for UP42: HMAC of the listed
//! values plus SHA-256 of the body, which its digest needs), both medians from
//! this run, and `vs-standardwebhooks SIZE RATIO` = our Standard Webhooks
//! verify / the `standardwebhooks` crate's.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::Digest as _;
use sha2::Sha256;
use webhook_guard::standard::{self, StandardWebhooks};
use webhook_guard::up42::{self, Up42};
use webhook_guard::{KeySet, SignedHeaders, Signer, SigningKey, Verifier, digest};

const KEY: &str = "bench-store-key-0123456789abcdef";
const SIZES: [(usize, &str); 4] = [
    (64, "64B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];
const GROUP: &str = "verify";

/// One delivery of `size` body bytes, as the receiver gets it.
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
    /// Header JSON || body: the exact bytes the MAC covers.
    message: Vec<u8>,
    /// The same delivery for the peer crate (Standard Webhooks headers).
    peer_headers: HeaderMap,
    /// `id.timestamp.`: what Standard Webhooks MACs before the body.
    standard_prefix: Vec<u8>,
    /// The same body as a UP42 delivery: Content-Digest and an event header listed.
    up42_headers: HeaderMap,
    /// The listed values joined: what UP42's MAC covers.
    up42_message: Vec<u8>,
}

fn delivery(size: usize) -> Delivery {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let body: Vec<u8> = br#"{"id":"86","name":"Cable 3/4\" (black)","sku":"A-1"}"#
        .iter()
        .copied()
        .chain(std::iter::repeat(b' '))
        .take(size)
        .collect();
    let pairs = [
        ("X-Webhook-Store-Id", "1"),
        ("X-Webhook-Action", "update"),
        ("X-Webhook-Entity", "product"),
        ("X-Webhook-Error-Code", "0"),
        ("X-Webhook-Timestamp", now.as_str()),
    ];
    let signed = SignedHeaders::from_pairs(pairs).unwrap();
    let signature = Signer::new(KEY).sign(&signed, &body);
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("user-agent", HeaderValue::from_static("API2Cart"));
    for (name, value) in pairs
        .iter()
        .chain(&[("X-Webhook-Signature", signature.as_str())])
    {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let mut message = signed.to_json();
    message.extend_from_slice(&body);

    let peer = standardwebhooks::Webhook::from_bytes(KEY.as_bytes().to_vec()).unwrap();
    let peer_ts: i64 = now.parse().unwrap();
    let peer_sig = peer.sign("msg_1", peer_ts, &body).unwrap();
    let ours = standard::sign(&SigningKey::new("k", KEY), "msg_1", peer_ts, &body);
    assert_eq!(ours, peer_sig, "both sign Standard Webhooks alike");
    let mut peer_headers = HeaderMap::new();
    peer_headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
    peer_headers.insert("webhook-timestamp", HeaderValue::from_str(&now).unwrap());
    peer_headers.insert(
        "webhook-signature",
        HeaderValue::from_str(&peer_sig).unwrap(),
    );
    let content_digest = digest::content_digest(&body);
    let covered = [
        ("content-digest", content_digest.as_str()),
        ("x-up42-event", "job.status"),
    ];
    let (input, up42_signature) = up42::sign(&SigningKey::new("k", KEY), &covered, peer_ts);
    let mut up42_headers = HeaderMap::new();
    up42_headers.insert("content-type", HeaderValue::from_static("application/json"));
    up42_headers.insert("x-up42-event", HeaderValue::from_static("job.status"));
    up42_headers.insert(
        "content-digest",
        HeaderValue::from_str(&content_digest).unwrap(),
    );
    up42_headers.insert("signature-input", HeaderValue::from_str(&input).unwrap());
    up42_headers.insert("signature", HeaderValue::from_str(&up42_signature).unwrap());
    Delivery {
        headers,
        body: Bytes::from(body),
        message,
        peer_headers,
        standard_prefix: format!("msg_1.{peer_ts}.").into_bytes(),
        up42_headers,
        up42_message: covered.iter().flat_map(|(_, v)| v.bytes()).collect(),
    }
}

/// Polls a future that completes without waiting (the verifier with a key set
/// and no replay store does no I/O), so no executor cost is measured.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("verification should complete on the first poll"),
    }
}

/// What a first attempt typically looks like: a serde_json map, string
/// concatenation, the key hashed per request, base64 strings compared with `==`.
fn naive_verify(headers: &HeaderMap, body: &[u8]) -> bool {
    let mut map = std::collections::BTreeMap::new();
    let mut signature = None;
    for (name, value) in headers {
        let name = name.as_str();
        if !name.starts_with("x-webhook-") {
            continue;
        }
        let vendor: String = name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-");
        let value = value.to_str().unwrap().to_owned();
        if vendor == "X-Webhook-Signature" {
            signature = Some(value);
        } else {
            map.insert(vendor, serde_json::Value::String(value));
        }
    }
    let json = serde_json::to_string(&map).unwrap().replace('/', "\\/");
    let message = json + &String::from_utf8_lossy(body);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    Some(STANDARD.encode(mac.finalize().into_bytes())) == signature
}

fn benches(c: &mut Criterion) {
    let verifier = Verifier::new(KeySet::single(KEY));
    let standard_verifier = Verifier::builder(KeySet::single(KEY))
        .scheme(StandardWebhooks::new())
        .build();
    let up42_verifier = Verifier::builder(KeySet::single(KEY))
        .scheme(Up42::new())
        .build();
    let prekeyed = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY.as_bytes()).unwrap();
    let peer = standardwebhooks::Webhook::from_bytes(KEY.as_bytes().to_vec()).unwrap();
    let mut group = c.benchmark_group(GROUP);
    for (size, label) in SIZES {
        let d = delivery(size);
        // Each implementation must accept the delivery, or its timing means nothing.
        assert!(ready(verifier.verify(&d.headers, d.body.clone())).is_ok());
        assert!(ready(standard_verifier.verify(&d.peer_headers, d.body.clone())).is_ok());
        assert!(ready(up42_verifier.verify(&d.up42_headers, d.body.clone())).is_ok());
        assert!(naive_verify(&d.headers, &d.body));
        peer.verify(&d.body, &d.peer_headers).unwrap();

        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("raw_hmac", label), |b| {
            b.iter(|| {
                let mut mac = prekeyed.clone();
                mac.update(black_box(&d.message));
                black_box(mac.finalize().into_bytes())
            })
        });
        // What the adapters do: the verifier reads the header map itself.
        group.bench_function(BenchmarkId::new("full_verify", label), |b| {
            b.iter(|| {
                black_box(
                    ready(verifier.verify(black_box(&d.headers), black_box(d.body.clone())))
                        .unwrap(),
                )
            })
        });
        group.bench_function(BenchmarkId::new("standard_raw_hmac", label), |b| {
            b.iter(|| {
                let mut mac = prekeyed.clone();
                mac.update(black_box(&d.standard_prefix));
                mac.update(black_box(&d.body));
                black_box(mac.finalize().into_bytes())
            })
        });
        group.bench_function(BenchmarkId::new("standard_full_verify", label), |b| {
            b.iter(|| {
                black_box(
                    ready(
                        standard_verifier
                            .verify(black_box(&d.peer_headers), black_box(d.body.clone())),
                    )
                    .unwrap(),
                )
            })
        });
        group.bench_function(BenchmarkId::new("up42_raw_hmac", label), |b| {
            b.iter(|| {
                let mut mac = prekeyed.clone();
                mac.update(black_box(&d.up42_message));
                black_box((
                    mac.finalize().into_bytes(),
                    Sha256::digest(black_box(&d.body)),
                ))
            })
        });
        group.bench_function(BenchmarkId::new("up42_full_verify", label), |b| {
            b.iter(|| {
                black_box(
                    ready(
                        up42_verifier.verify(black_box(&d.up42_headers), black_box(d.body.clone())),
                    )
                    .unwrap(),
                )
            })
        });
        group.bench_function(BenchmarkId::new("streaming_16KiB", label), |b| {
            b.iter(|| {
                let mut verification = ready(verifier.begin(black_box(&d.headers))).unwrap();
                verification.size_hint(d.body.len());
                let mut offset = 0;
                while offset < d.body.len() {
                    let end = (offset + 16 * 1024).min(d.body.len());
                    verification.update(d.body.slice(offset..end)).unwrap();
                    offset = end;
                }
                black_box(ready(verification.finish()).unwrap())
            })
        });
        group.bench_function(BenchmarkId::new("naive", label), |b| {
            b.iter(|| assert!(naive_verify(black_box(&d.headers), black_box(&d.body))))
        });
        group.bench_function(BenchmarkId::new("standardwebhooks", label), |b| {
            b.iter(|| {
                peer.verify(black_box(&d.body), black_box(&d.peer_headers))
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// Criterion's median estimate for one benchmark, in nanoseconds, if it was
/// written after `since` (so a filtered-out benchmark's old result is not used).
fn median_ns(dir: &Path, function: &str, label: &str, since: SystemTime) -> Option<f64> {
    let path = dir
        .join(GROUP)
        .join(function)
        .join(label)
        .join("new")
        .join("estimates.json");
    if std::fs::metadata(&path).and_then(|m| m.modified()).ok()? < since {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("criterion")
}

fn main() {
    let started = SystemTime::now();
    let dir = criterion_dir();
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    let ratios = [
        ("overhead api2cart", "full_verify", "raw_hmac"),
        (
            "overhead standard",
            "standard_full_verify",
            "standard_raw_hmac",
        ),
        ("overhead up42", "up42_full_verify", "up42_raw_hmac"),
        (
            "vs-standardwebhooks",
            "standard_full_verify",
            "standardwebhooks",
        ),
    ];
    for (what, ours, baseline) in ratios {
        for (_, label) in SIZES {
            let median = |function| median_ns(&dir, function, label, started);
            match (median(ours), median(baseline)) {
                (Some(ours), Some(base)) => println!("{what} {label} {:.3}", ours / base),
                _ => println!("{what} {label} not measured in this run"),
            }
        }
    }
}
