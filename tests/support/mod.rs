//! Deliveries signed as the vendor signs them, and clients that send them over
//! real HTTP on loopback: HTTP/1.1 written byte by byte (so header case,
//! framing and lying lengths are ours to choose) and HTTP/2 with prior knowledge.
#![allow(dead_code)] // each test file uses its own part of this module

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use webhook_guard::{SignedHeaders, Signer};

/// The store key the test receivers trust.
pub const KEY: &str = "store-key-0123456789";
/// "Now" for receivers with a manual clock.
pub const NOW: i64 = 1_763_900_000;
/// How long any single exchange may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// One delivery: headers in the order and case they go on the wire, and the body.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Delivery {
    /// `pairs` (vendor case) and `body`, with `X-Webhook-Signature` made with `key`.
    pub fn signed(key: &str, pairs: &[(&str, &str)], body: &[u8]) -> Self {
        let signed = SignedHeaders::from_pairs(pairs.iter().copied()).expect("valid test headers");
        let signature = Signer::new(key).sign(&signed, body);
        let mut headers: Vec<(String, Vec<u8>)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        headers.push(("X-Webhook-Signature".into(), signature.into_bytes()));
        Self {
            headers,
            body: body.to_vec(),
        }
    }

    /// A product update for store 1, timestamped `timestamp`, signed with `key`.
    pub fn product(key: &str, timestamp: i64, body: &[u8]) -> Self {
        let ts = timestamp.to_string();
        Self::signed(
            key,
            &[
                ("X-Webhook-Store-Id", "1"),
                ("X-Webhook-Action", "update"),
                ("X-Webhook-Entity", "product"),
                ("X-Webhook-Error-Code", "0"),
                ("X-Webhook-Timestamp", &ts),
            ],
            body,
        )
    }

    /// The same delivery with header `name` (any case) set to `value`, or added.
    pub fn with_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let value = value.as_ref().to_vec();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => *v = value,
            None => self.headers.push((name.to_owned(), value)),
        }
        self
    }

    /// The same delivery with one more header, even if one of that name exists.
    pub fn adding(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// The same delivery without header `name` (any case).
    pub fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// The same delivery with every header name in lower case.
    pub fn lowercase(mut self) -> Self {
        for (name, _) in &mut self.headers {
            *name = name.to_ascii_lowercase();
        }
        self
    }

    /// The same delivery with another body (the signature is left as it was).
    pub fn with_body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }
}

/// How an HTTP/1.1 request says where its body ends.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// `Content-Length` with the true length.
    ContentLength,
    /// `Content-Length` with this value, whatever the body's length.
    DeclaredLength(u64),
    /// `Transfer-Encoding: chunked` in chunks of this size, no `Content-Length`.
    Chunked(usize),
}

/// The bytes of an HTTP/1.1 POST of `delivery` to `path`, names as given.
pub fn http1_bytes(path: &str, delivery: &Delivery, framing: Framing) -> Vec<u8> {
    let mut out =
        format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n").into_bytes();
    out.extend_from_slice(b"Content-Type: application/json\r\n");
    for (name, value) in &delivery.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::ContentLength => {
            out.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", delivery.body.len()).as_bytes(),
            );
            out.extend_from_slice(&delivery.body);
        }
        Framing::DeclaredLength(len) => {
            out.extend_from_slice(format!("Content-Length: {len}\r\n\r\n").as_bytes());
            out.extend_from_slice(&delivery.body);
        }
        Framing::Chunked(size) => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for chunk in delivery.body.chunks(size.max(1)) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
    out
}

/// A response as read off the wire.
#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Writes `request` on a new connection to `addr` and reads the response until
/// the server closes. With `half_close`, the client shuts its writing side
/// after the request, as a client whose body ends early would.
pub async fn send_raw(addr: SocketAddr, request: &[u8], half_close: bool) -> RawResponse {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("write request");
        if half_close {
            stream.shutdown().await.expect("shutdown write");
        }
        let mut raw = Vec::new();
        // A reset after the response has arrived still leaves the response in `raw`.
        let _ = stream.read_to_end(&mut raw).await;
        raw
    };
    let raw = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("the server answered in time");
    parse_response(&raw)
}

/// An HTTP/1.1 POST with a true `Content-Length`.
pub async fn send_h1(addr: SocketAddr, path: &str, delivery: &Delivery) -> RawResponse {
    send_raw(
        addr,
        &http1_bytes(path, delivery, Framing::ContentLength),
        false,
    )
    .await
}

fn parse_response(raw: &[u8]) -> RawResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no complete response head in {:?}",
                String::from_utf8_lossy(raw)
            )
        });
    let head = std::str::from_utf8(&raw[..split]).expect("response head is text");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .expect("chunk size");
        if size == 0 {
            return body;
        }
        let start = eol + 2;
        body.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}

/// Serves `app` on a fresh loopback port; the server lives as long as the runtime.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

/// Serves `app` like [`serve`], but with HTTP/1 half-closes allowed: a client
/// that shuts its writing side (as one whose body ends before its
/// `Content-Length` must) still reads the answer. `axum::serve` keeps hyper's
/// default, which closes such a connection at once.
pub async fn serve_with_half_close(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
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

/// An HTTP/2 connection with prior knowledge (no upgrade, no TLS).
pub async fn h2_connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
}

/// POSTs `delivery` over HTTP/2; the names go out lowercase, as HTTP/2 requires.
pub async fn send_h2(
    sender: &mut SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    path: &str,
    delivery: &Delivery,
) -> RawResponse {
    let mut request = http::Request::post(format!("http://{addr}{path}"));
    for (name, value) in &delivery.headers {
        request = request.header(name.as_str(), value.as_slice());
    }
    let request = request
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(delivery.body.clone())))
        .expect("valid request");
    let exchange = async {
        sender.ready().await.expect("connection ready");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        RawResponse {
            status,
            headers,
            body: body.to_vec(),
        }
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("the server answered in time")
}
