//! Clients that send deliveries over real HTTP on loopback: HTTP/1.1 written
//! byte by byte (so header case, duplicates, framing and lying lengths are ours
//! to choose) and HTTP/2 with prior knowledge.

use std::net::SocketAddr;

use axum::body::{Body, to_bytes};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::TIMEOUT;
use super::delivery::Delivery;

/// How an HTTP/1.1 request says where its body ends.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// `Content-Length` with the true length.
    ContentLength,
    /// `Content-Length` with this value, whatever the body's length.
    DeclaredLength(u64),
    /// `Transfer-Encoding: chunked` in chunks of this size, no `Content-Length`.
    Chunked(usize),
    /// `Transfer-Encoding: chunked` in chunks of this size, without the last
    /// chunk: the body never ends.
    ChunkedUnfinished(usize),
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
        Framing::Chunked(size) | Framing::ChunkedUnfinished(size) => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for chunk in delivery.body.chunks(size.max(1)) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            if matches!(framing, Framing::Chunked(_)) {
                out.extend_from_slice(b"0\r\n\r\n");
            }
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
        first_header(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn is_chunked(&self) -> bool {
        self.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        })
    }

    /// The body as sent: dechunked when the response is chunked.
    fn decode_body(&self, raw: &[u8]) -> Vec<u8> {
        if self.is_chunked() {
            dechunk(raw)
        } else {
            raw.to_vec()
        }
    }
}

/// The first value of header `name` in `headers`, compared case-insensitively.
pub fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// When [`send_raw`] stops reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// The server closed the connection: all it sent after the head is the body.
    Closed,
    /// The same, but the client first shuts its writing side, as a client
    /// whose body ends before its `Content-Length` must.
    ClosedAfterHalfClose,
    /// The response is complete by its own framing. The client never closes
    /// its side, so a request whose body never ends still gets its answer, as
    /// long as the server sends it without waiting for the rest.
    Answered,
}

/// Writes `request` on a new connection to `addr` and reads the response
/// until `until`.
pub async fn send_raw(addr: SocketAddr, request: &[u8], until: Until) -> RawResponse {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let written = stream.write_all(request).await;
        // Waiting for an answer, the server may answer before it has read it all.
        if until != Until::Answered {
            written.expect("write request");
        }
        if until == Until::ClosedAfterHalfClose {
            stream.shutdown().await.expect("shutdown write");
        }
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if until == Until::Answered
                && let Some(response) = complete_response(&raw)
            {
                return response;
            }
            match stream.read(&mut buf).await {
                // A reset after the response has arrived still leaves the response in `raw`.
                Ok(0) | Err(_) => return parse_response(&raw),
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("the server answered in time")
}

/// An HTTP/1.1 POST with a true `Content-Length`, read until the server closes.
pub async fn send_h1(addr: SocketAddr, path: &str, delivery: &Delivery) -> RawResponse {
    let request = http1_bytes(path, delivery, Framing::ContentLength);
    send_raw(addr, &request, Until::Closed).await
}

/// The response in `raw`, once its head and its `Content-Length` body (or
/// last chunk) have arrived.
fn complete_response(raw: &[u8]) -> Option<RawResponse> {
    let (mut response, start) = parse_head(raw)?;
    let rest = &raw[start..];
    let body = if response.is_chunked() {
        rest.windows(5).any(|w| w == b"0\r\n\r\n").then_some(rest)?
    } else {
        let len = response.header("content-length")?.parse::<usize>().ok()?;
        rest.get(..len)?
    };
    response.body = response.decode_body(body);
    Some(response)
}

/// The response in `raw`, all of it after the head taken as its body.
pub fn parse_response(raw: &[u8]) -> RawResponse {
    let (mut response, start) = parse_head(raw).unwrap_or_else(|| {
        panic!(
            "no complete response head in {:?}",
            String::from_utf8_lossy(raw)
        )
    });
    response.body = response.decode_body(&raw[start..]);
    response
}

/// The status and headers of the response in `raw` (its body still empty) and
/// where its body starts, once the head has arrived.
fn parse_head(raw: &[u8]) -> Option<(RawResponse, usize)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).expect("response head is text");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let response = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    Some((response, split + 4))
}

/// The data of a chunked body, up to its last chunk or to a size line cut off.
pub fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).expect("hex"), 16)
            .expect("chunk size");
        if size == 0 {
            return body;
        }
        let start = eol + 2;
        body.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}

/// An HTTP/2 connection with prior knowledge (no upgrade, no TLS).
pub async fn h2_connect(addr: SocketAddr) -> SendRequest<Body> {
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
    sender: &mut SendRequest<Body>,
    addr: SocketAddr,
    path: &str,
    delivery: &Delivery,
) -> RawResponse {
    let mut request = hyper::Request::post(format!("http://{addr}{path}"));
    for (name, value) in &delivery.headers {
        request = request.header(name.as_str(), value.as_slice());
    }
    let request = request
        .header("content-type", "application/json")
        .body(Body::from(delivery.body.clone()))
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
        let body = to_bytes(Body::new(response.into_body()), usize::MAX)
            .await
            .expect("body");
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
