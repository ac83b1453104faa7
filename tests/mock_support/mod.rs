//! Shared by the mock sender's tests: receivers on loopback (axum, a raw TCP
//! listener that records the bytes it reads, a server answering scripted
//! statuses) and the vendor's PHP reference receiver under `php -S`.
#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind as IoErrorKind, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The store key of the test receivers.
pub const KEY: &str = "store-key-0123456789";
/// "Now" for the virtual clocks.
pub const NOW: i64 = 1_763_900_000;
/// How long a test waits for anything before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on a fresh loopback port for as long as the runtime lives.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local addr").port()
}

/// A receiver that answers the statuses of `script` in turn (the last one
/// again once the script is used up) and counts the requests.
#[derive(Clone)]
pub struct Scripted {
    statuses: Arc<Mutex<VecDeque<u16>>>,
    last: u16,
    pub requests: Arc<AtomicUsize>,
}

impl Scripted {
    pub fn new(script: &[u16]) -> Self {
        Self {
            statuses: Arc::new(Mutex::new(script.iter().copied().collect())),
            last: *script.last().expect("a script of at least one status"),
            requests: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn router(&self, path: &str) -> Router {
        Router::new()
            .route(path, post(scripted))
            .with_state(self.clone())
    }

    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn scripted(State(script): State<Scripted>) -> (StatusCode, &'static str) {
    script.requests.fetch_add(1, Ordering::SeqCst);
    let status = script
        .statuses
        .lock()
        .expect("script lock")
        .pop_front()
        .unwrap_or(script.last);
    (
        StatusCode::from_u16(status).expect("a valid status"),
        "scripted",
    )
}

/// What a raw listener read: the request head and the body bytes.
#[derive(Clone, Debug)]
pub struct Captured {
    pub head: String,
    pub body: Vec<u8>,
}

/// Accepts one connection, reads one request (`Content-Length` or chunked
/// framing), answers `200 OK` and hands over the bytes it read.
pub async fn capture_one() -> (SocketAddr, tokio::task::JoinHandle<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "connection closed before the head ended");
            raw.extend_from_slice(&buf[..n]);
            if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8(raw[..head_end].to_vec()).expect("head is UTF-8");
        let lower = head.to_ascii_lowercase();
        let mut body = raw[head_end..].to_vec();
        if lower.contains("\r\ntransfer-encoding: chunked\r\n") {
            while !body.ends_with(b"0\r\n\r\n") {
                let n = stream.read(&mut buf).await.expect("read");
                assert!(n > 0, "connection closed inside the chunked body");
                body.extend_from_slice(&buf[..n]);
            }
            body = dechunk(&body);
        } else {
            let len: usize = lower
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("a Content-Length");
            while body.len() < len {
                let n = stream.read(&mut buf).await.expect("read");
                assert!(n > 0, "connection closed inside the body");
                body.extend_from_slice(&buf[..n]);
            }
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .await
            .expect("write response");
        Captured { head, body }
    });
    (addr, task)
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).expect("hex"), 16)
            .expect("chunk size");
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[eol + 2 + size + 2..];
    }
}

/// True when php can be run. Without it: false (skip) with a note on stderr,
/// or under CI a failure.
pub fn php_available() -> bool {
    match Command::new("php").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => panic!(
            "`php --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == IoErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "php not found on PATH: php-cli is required in CI for the PHP receiver tests"
            );
            // To the real stderr: libtest hides eprintln! output of a passing test.
            let _ = writeln!(std::io::stderr(), "SKIPPED: php not found");
            false
        }
        Err(e) => panic!("cannot run php: {e}"),
    }
}

/// One request as the PHP receiver logged it.
#[derive(Debug)]
pub struct PhpRequest {
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub verified: bool,
}

impl PhpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `php -S` serving `tests/php/receiver.php` (the vendor's algorithm,
/// `api2cart_verify`) on loopback; killed when dropped, whatever the test's
/// outcome.
pub struct PhpReceiver {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl PhpReceiver {
    /// Starts the receiver with store key `key`; `None` (test skipped) when
    /// php is not installed.
    pub fn start(key: &str) -> Option<Self> {
        if !php_available() {
            return None;
        }
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let log = std::env::temp_dir().join(format!(
            "webhook-guard-mock-php-{}-{n}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&log);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/php/receiver.php");
        // A port could be taken between choosing and binding it: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = closed_port();
            let mut child = Command::new("php")
                .arg("-S")
                .arg(format!("127.0.0.1:{port}"))
                .arg(&script)
                .env("WEBHOOK_KEY", key)
                .env("RECEIVER_LOG", &log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run php -S");
            let stderr = child.stderr.take().expect("stderr");
            let (started_tx, started_rx) = mpsc::channel();
            // Reads the server's log to the end, so the pipe never fills; the
            // first line says whether it started.
            std::thread::spawn(move || {
                let mut started_tx = Some(started_tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(tx) = started_tx.take() {
                        let _ = tx.send(line);
                    }
                }
            });
            match started_rx.recv_timeout(TIMEOUT) {
                Ok(line) if line.contains("started") => {
                    return Some(Self {
                        child,
                        addr: SocketAddr::from(([127, 0, 0, 1], port)),
                        log,
                    });
                }
                Ok(line) => last_error = line,
                Err(_) => last_error = "no output from php -S".to_owned(),
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("php -S did not start: {last_error}");
    }

    /// The receiver's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request logged so far.
    pub fn requests(&self) -> Vec<PhpRequest> {
        let Ok(text) = std::fs::read_to_string(&self.log) else {
            return Vec::new();
        };
        text.lines()
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
                let headers = entry["headers"]
                    .as_array()
                    .expect("headers")
                    .iter()
                    .map(|pair| {
                        (
                            pair[0].as_str().expect("name").to_owned(),
                            pair[1].as_str().expect("value").to_owned(),
                        )
                    })
                    .collect();
                use base64::Engine as _;
                let body = base64::engine::general_purpose::STANDARD
                    .decode(entry["body_base64"].as_str().expect("body"))
                    .expect("base64 body");
                PhpRequest {
                    uri: entry["uri"].as_str().expect("uri").to_owned(),
                    headers,
                    body,
                    verified: entry["verified"].as_bool().expect("verified"),
                }
            })
            .collect()
    }
}

impl Drop for PhpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
