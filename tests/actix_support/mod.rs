//! Shared by the actix tests: deliveries signed as the vendor signs them, an
//! HTTP/1.1 client that writes requests byte by byte on a TCP stream (so header
//! case, duplicates, framing and lying lengths are ours to choose), actix-web
//! servers on loopback, and the status table every receiver must answer.
#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::HttpRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webhook_guard::actix::PathParam;
use webhook_guard::{
    InMemoryReplayGuard, KeyResolver, KeySet, ManualClock, ResolveError, SignedHeaders, Signer,
    Verifier, resolver_fn,
};

/// The store key of tenant `acme`.
pub const KEY: &str = "store-key-0123456789";
/// "Now" for the receivers, whose clock is manual.
pub const NOW: i64 = 1_763_900_000;
/// The receivers' body limit.
pub const LIMIT: usize = 256;
/// How long any single exchange may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A verifier for the route `/webhooks/{tenant}`: tenant `acme` signs with
/// [`KEY`], tenant `down` has a key store that fails (503), any other tenant
/// is unknown (401). The clock stands at [`NOW`], the limit is [`LIMIT`],
/// replays are refused. `lookups` counts the resolver's calls.
pub fn tenant_verifier(lookups: Arc<AtomicUsize>) -> Verifier<impl KeyResolver<HttpRequest>> {
    let tenants = Arc::new(HashMap::from([("acme".to_owned(), KeySet::single(KEY))]));
    let resolver = resolver_fn(move |tenant: &str| {
        lookups.fetch_add(1, Ordering::SeqCst);
        let found = match tenant {
            "down" => Err(ResolveError::unavailable("key store timed out")),
            tenant => tenants
                .get(tenant)
                .cloned()
                .ok_or(ResolveError::UnknownTenant),
        };
        async move { found }
    });
    Verifier::builder(PathParam::new("tenant", resolver))
        .clock(ManualClock::new(NOW))
        .body_limit(LIMIT)
        .replay_guard(InMemoryReplayGuard::new())
        .build()
}

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

/// A JSON body of exactly `len` bytes (at least 12).
pub fn json_body(len: usize) -> Vec<u8> {
    let mut body = br#"{"id":""#.to_vec();
    body.resize(len - 2, b'x');
    body.extend_from_slice(br#""}"#);
    assert_eq!(body.len(), len);
    body
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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Writes `request` on a new connection to `addr` and reads one response.
///
/// The client never closes its side and reads no further than the response's
/// own framing: a request whose body never ends still gets its answer, as
/// long as the server sends it without waiting for the rest.
pub async fn send_raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // The server may answer before it has read the whole request.
        let _ = stream.write_all(request).await;
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(response) = complete_response(&raw) {
                return response;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return parse_response(&raw),
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("the server answered in time")
}

/// The response in `raw`, once its head and its `Content-Length` body (or
/// last chunk) have arrived.
fn complete_response(raw: &[u8]) -> Option<RawResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let response = parse_response(raw);
    let rest = &raw[split + 4..];
    let complete = if response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        rest.windows(5).any(|w| w == b"0\r\n\r\n")
    } else {
        let len = response.header("content-length")?.parse::<usize>().ok()?;
        rest.len() >= len
    };
    complete.then_some(response)
}

/// An HTTP/1.1 POST with a true `Content-Length`.
pub async fn send_h1(addr: SocketAddr, path: &str, delivery: &Delivery) -> RawResponse {
    send_raw(addr, &http1_bytes(path, delivery, Framing::ContentLength)).await
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
        let len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest[..len.min(rest.len())].to_vec()
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

/// An actix-web server on a fresh loopback port, one worker, run on the
/// current actix system. Stop it with [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
}

impl TestServer {
    /// Stops the server and waits for its worker to end.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Serves the app factory `$factory` (as for `HttpServer::new`) on loopback.
#[macro_export]
macro_rules! serve {
    ($factory:expr) => {{
        let server = actix_web::HttpServer::new($factory)
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(("127.0.0.1", 0))
            .expect("bind loopback");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        $crate::actix_support::TestServer { addr, handle }
    }};
}

/// One row of the status table: a request, and the answer it must get.
#[derive(Debug)]
pub struct Case {
    pub name: &'static str,
    pub request: Vec<u8>,
    pub status: u16,
    pub body: &'static str,
}

/// The status table of the crate docs, as requests to a receiver whose
/// verifier is [`tenant_verifier`] and whose route is `/webhooks/{tenant}`.
/// Each accepted delivery is a different one (the receiver refuses replays)
/// and is answered `200 ok`.
pub fn status_table() -> Vec<Case> {
    let acme = "/webhooks/acme";
    let body = br#"{"id":"86","name":"test product"}"#;
    let valid = |n: u8| Delivery::product(KEY, NOW, format!(r#"{{"id":"{n}"}}"#).as_bytes());
    let case = |name, path: &str, delivery: &Delivery, framing, status, text| Case {
        name,
        request: http1_bytes(path, delivery, framing),
        status,
        body: text,
    };
    use Framing::*;
    let (ok, malformed, missing, invalid) = (
        "ok",
        "malformed webhook headers",
        "missing webhook signature",
        "invalid webhook signature",
    );
    let (outside, unknown, unavailable, too_large) = (
        "webhook timestamp outside tolerance",
        "unknown webhook tenant",
        "webhook verification unavailable",
        "webhook body too large",
    );
    let signed = Delivery::product(KEY, NOW, body);
    let at_limit = json_body(LIMIT);
    let over_limit = json_body(LIMIT + 1);
    vec![
        case("vendor case", acme, &valid(1), ContentLength, 200, ok),
        case(
            "lowercase names",
            acme,
            &valid(2).lowercase(),
            ContentLength,
            200,
            ok,
        ),
        case(
            "chunked, no Content-Length",
            acme,
            &valid(3),
            Chunked(5),
            200,
            ok,
        ),
        case(
            "body exactly at the limit",
            acme,
            &Delivery::product(KEY, NOW, &at_limit),
            ContentLength,
            200,
            ok,
        ),
        case(
            "chunked body exactly at the limit",
            acme,
            &Delivery::product(KEY, NOW + 1, &at_limit),
            Chunked(7),
            200,
            ok,
        ),
        case(
            "lost-connection notice, empty body",
            acme,
            &Delivery::signed(
                KEY,
                &[
                    ("X-Webhook-Entity", "cart"),
                    ("X-Webhook-Error-Code", "3"),
                    ("X-Webhook-Error-Message", "Store \"shop/1\" is unreachable"),
                ],
                b"",
            ),
            ContentLength,
            200,
            ok,
        ),
        case(
            "duplicate header",
            acme,
            &signed.clone().adding("X-Webhook-Entity", "order"),
            ContentLength,
            400,
            malformed,
        ),
        case(
            "duplicate header in two cases",
            acme,
            &signed.clone().adding("x-webhook-entity", "product"),
            ContentLength,
            400,
            malformed,
        ),
        case(
            "non-UTF-8 header value",
            acme,
            &signed.clone().adding("X-Webhook-Note", b"caf\xe9"),
            ContentLength,
            400,
            malformed,
        ),
        case(
            "timestamp not an integer",
            acme,
            &signed
                .clone()
                .with_header("X-Webhook-Timestamp", "1763900000.5"),
            ContentLength,
            400,
            malformed,
        ),
        case(
            "no signature",
            acme,
            &signed.clone().without("X-Webhook-Signature"),
            ContentLength,
            401,
            missing,
        ),
        case(
            "signature not base64",
            acme,
            &signed
                .clone()
                .with_header("X-Webhook-Signature", "not base64!"),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "signature of the wrong length",
            acme,
            &signed
                .clone()
                .with_header("X-Webhook-Signature", "AAAAAAAAAAAAAAAAAAAAAA=="),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "signed with another key",
            acme,
            &Delivery::product("not-the-store-key", NOW, body),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "body changed after signing",
            acme,
            &signed
                .clone()
                .with_body(br#"{"id":"87","name":"test product"}"#),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "header changed after signing",
            acme,
            &signed.clone().with_header("X-Webhook-Action", "delete"),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "header added after signing",
            acme,
            &signed.clone().adding("X-Webhook-Extra", "1"),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "Content-Length shorter than the body",
            acme,
            &signed,
            DeclaredLength(body.len() as u64 - 1),
            401,
            invalid,
        ),
        case(
            "stale timestamp",
            acme,
            &Delivery::product(KEY, NOW - 301, body),
            ContentLength,
            401,
            outside,
        ),
        case(
            "timestamp from the future",
            acme,
            &Delivery::product(KEY, NOW + 301, body),
            ContentLength,
            401,
            outside,
        ),
        case(
            "unknown tenant",
            "/webhooks/initech",
            &signed,
            ContentLength,
            401,
            unknown,
        ),
        case(
            "key store down",
            "/webhooks/down",
            &signed,
            ContentLength,
            503,
            unavailable,
        ),
        case(
            "Content-Length over the limit, body never sent",
            acme,
            &signed.clone().with_body(b""),
            DeclaredLength(LIMIT as u64 + 1),
            413,
            too_large,
        ),
        case(
            "one byte over the limit",
            acme,
            &Delivery::product(KEY, NOW, &over_limit),
            ContentLength,
            413,
            too_large,
        ),
        case(
            "chunked, one byte over the limit",
            acme,
            &Delivery::product(KEY, NOW, &over_limit),
            Chunked(16),
            413,
            too_large,
        ),
        case(
            "chunked past the limit, body never ends",
            acme,
            &Delivery::product(KEY, NOW, &json_body(4 * LIMIT)),
            ChunkedUnfinished(32),
            413,
            too_large,
        ),
    ]
}

/// Sends every row of the status table to `addr` and checks each answer:
/// status, body and `Content-Type`. Returns how many were accepted.
pub async fn check_status_table(addr: SocketAddr) -> usize {
    let mut failures = Vec::new();
    let mut accepted = 0;
    for case in status_table() {
        let response = send_raw(addr, &case.request).await;
        if case.status == 200 {
            accepted += 1;
        } else if response.header("content-type") != Some("text/plain; charset=utf-8") {
            failures.push(format!(
                "{}: content-type {:?}",
                case.name,
                response.header("content-type")
            ));
        }
        if (response.status, response.text().as_str()) != (case.status, case.body) {
            failures.push(format!(
                "{}: expected {} {:?}, got {} {:?}",
                case.name,
                case.status,
                case.body,
                response.status,
                response.text()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    accepted
}
