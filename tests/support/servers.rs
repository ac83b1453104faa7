//! Receivers on loopback: an axum app, one that answers scripted statuses, and
//! a raw listener that records the bytes of one request.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::client::dechunk;

/// Serves `app` on a fresh loopback port; the server lives as long as the runtime.
pub async fn serve(app: Router) -> SocketAddr {
    let (listener, addr) = bind_loopback().await;
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

/// Serves `app` like [`serve`], but with HTTP/1 half-closes allowed: a client
/// that shuts its writing side (as one whose body ends before its
/// `Content-Length` must) still reads the answer. `axum::serve` keeps hyper's
/// default, which closes such a connection at once.
pub async fn serve_with_half_close(app: Router) -> SocketAddr {
    let (listener, addr) = bind_loopback().await;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder.http1().half_close(true);
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A listener on a fresh loopback port, and its address.
async fn bind_loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// A receiver on loopback and the number of times its handlers ran.
pub struct Receiver {
    pub addr: SocketAddr,
    pub calls: Arc<AtomicUsize>,
}

impl Receiver {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
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

impl Captured {
    /// The header lines of the head, `(name, value)`, in order and case as read.
    pub fn headers(&self) -> Vec<(String, String)> {
        self.head
            .split("\r\n")
            .skip(1)
            .filter(|line| !line.is_empty())
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a header line has a colon");
                (name.to_owned(), value.trim().to_owned())
            })
            .collect()
    }
}

/// Accepts one connection, reads one request (`Content-Length` or chunked
/// framing), answers `200 OK` and hands over the bytes it read.
pub async fn capture_one() -> (SocketAddr, tokio::task::JoinHandle<Captured>) {
    let (listener, addr) = bind_loopback().await;
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
