//! `webhook-guard serve` as a user runs it: the built binary on a loopback
//! port, its stdout read line by line, and a small JSON-over-HTTP client.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::TIMEOUT;
use super::client::{RawResponse, Until, send_raw};
use super::process::Spawned;

const STARTUP: Duration = Duration::from_secs(30);

/// A running `webhook-guard serve`, killed when dropped.
pub struct Server {
    process: Spawned,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `webhook-guard serve --bind 127.0.0.1:0 --store-key KEY` plus
    /// `args`, and waits for its `listening on http://ADDR` line and the
    /// `dashboard: http://ADDR/` line after it.
    pub fn start(store_key: &str, args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_webhook-guard"));
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--store-key", store_key])
            .args(args);
        let process = Spawned::spawn(command, "webhook-guard serve");
        let first = process
            .stdout
            .recv_timeout(STARTUP)
            .unwrap_or_else(|_| panic!("serve did not start; stderr: {:?}", process.stderr()));
        let addr = first
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        let second = process
            .stdout
            .recv_timeout(STARTUP)
            .unwrap_or_else(|_| panic!("no dashboard line; stderr: {:?}", process.stderr()));
        assert_eq!(second, format!("dashboard: http://{addr}/"), "second line");
        Self { process, addr }
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next line printed on stdout, waiting up to `wait`.
    pub fn next_line(&self, wait: Duration) -> Option<String> {
        self.process.stdout.recv_timeout(wait).ok()
    }

    /// Every stdout line printed so far and not yet read, waiting `settle`
    /// for stragglers.
    pub fn drain_lines(&self, settle: Duration) -> Vec<String> {
        self.process.drain_stdout(settle, TIMEOUT)
    }

    /// Every line printed on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.process.stderr()
    }

    /// One request to the server; `body` is sent as `application/json`.
    pub async fn request(&self, method: &str, path_and_query: &str, body: Option<&str>) -> Answer {
        request(self.addr, method, path_and_query, body).await
    }

    /// One request with a body of `content_type` (`None`: no `Content-Type`).
    pub async fn request_typed(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Answer {
        exchange(
            self.addr,
            method,
            path_and_query,
            content_type,
            &[],
            Some(body),
        )
        .await
    }

    /// [`request`](Self::request) with more header lines (`name`, `value`).
    pub async fn request_with_headers(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let content_type = body.map(|_| "application/json");
        exchange(
            self.addr,
            method,
            path_and_query,
            content_type,
            headers,
            body,
        )
        .await
    }
}

/// An answer: status, headers, raw body, and the body as JSON when it is JSON.
#[derive(Clone, Debug)]
pub struct Answer {
    pub raw: RawResponse,
    pub json: Option<Value>,
}

impl Answer {
    pub fn status(&self) -> u16 {
        self.raw.status
    }

    /// The JSON body; panics with the text when it is not JSON.
    pub fn json(&self) -> &Value {
        self.json
            .as_ref()
            .unwrap_or_else(|| panic!("not JSON ({}): {:?}", self.raw.status, self.raw.text()))
    }
}

/// `method path_and_query` over HTTP/1.1 with `Connection: close`; `body`
/// is sent as `application/json`.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    body: Option<&str>,
) -> Answer {
    let content_type = body.map(|_| "application/json");
    exchange(addr, method, path_and_query, content_type, &[], body).await
}

/// One request with a `Content-Type` if given, `headers`, and a
/// `Content-Length` for any body (0 for a bodiless method other than GET and
/// HEAD).
async fn exchange(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let mut head =
        format!("{method} {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    match body {
        Some(body) => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
        None if method != "GET" && method != "HEAD" => head.push_str("Content-Length: 0\r\n"),
        None => {}
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or("").as_bytes());
    let raw = send_raw(addr, &bytes, Until::Closed).await;
    let json = serde_json::from_slice(&raw.body).ok();
    Answer { raw, json }
}
