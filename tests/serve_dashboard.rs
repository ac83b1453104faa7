//! `webhook-guard serve`'s dashboard JSON, driven over real HTTP against the
//! built binary: every vendor's attempts in one list with filters, one
//! attempt with its retry chain, the live event stream, replay byte for
//! byte (refused by a receiver's replay guard), resend re-signed (accepted),
//! export read by `webhook-guard verify`, and no secret shown.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use support::serve::{Answer, Server};
use support::servers::{closed_port, serve};
use support::{KEY, TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webhook_guard::axum::Webhook;
use webhook_guard::{InMemoryReplayGuard, KeySet, Verifier};

/// The receiver's URL token: a secret the dashboard must not show.
const TOKEN: &str = "s3cret-url-token";

/// An API2Cart receiver on loopback that verifies with [`KEY`] and refuses
/// a delivery it has seen (in-memory replay guard) with 401.
async fn guarded_receiver() -> SocketAddr {
    let verifier = Verifier::builder(KeySet::single(KEY))
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let app = Router::new()
        .route("/webhooks", post(|_: Webhook| async { "ok" }))
        .with_state(verifier);
    serve(app).await
}

/// A server with one API2Cart webhook for product.add delivering to the
/// guarded receiver, its URL carrying [`TOKEN`] in the query string.
async fn server_with_webhook() -> Server {
    let receiver = guarded_receiver().await;
    let server = Server::start(KEY, &[]);
    let callback = format!("http://{receiver}/webhooks?token={TOKEN}");
    let answer = server
        .request(
            "POST",
            "/v1.0/webhook.create.json",
            Some(&json!({"store_key": KEY, "entity": "product", "action": "add", "callback": callback}).to_string()),
        )
        .await;
    assert_eq!(answer.json()["return_code"], 0, "{}", answer.json());
    server
}

/// Plays product.add; returns the journal id of its (only) attempt.
async fn play_product(server: &Server) -> u64 {
    let answer = server
        .request(
            "POST",
            "/v1.0/emulator/event.json",
            Some(r#"{"entity":"product","action":"add","data":{"id":"86","name":"Cable"}}"#),
        )
        .await;
    let deliveries = &answer.json()["result"]["deliveries"];
    assert_eq!(deliveries[0]["delivered"], true, "{deliveries}");
    deliveries[0]["attempts"][0]["id"]
        .as_u64()
        .expect("the attempt's journal id")
}

async fn get(server: &Server, path: &str) -> Answer {
    server.request("GET", path, None).await
}

/// The ids of a list answer, in order.
fn ids(answer: &Answer) -> Vec<u64> {
    answer.json()["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["id"].as_u64().expect("id"))
        .collect()
}

/// Nothing secret in an answer: neither the store key nor the URL token.
#[track_caller]
fn no_secrets(answer: &Answer) {
    let text = answer.raw.text();
    assert!(!text.contains(TOKEN), "URL token shown: {text}");
    assert!(!text.contains(KEY), "store key shown: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_list_has_every_vendor_newest_first_and_filters_it() {
    let server = server_with_webhook().await;
    let api2cart = play_product(&server).await;
    // A Standard Webhooks message to a closed port: no answer.
    let endpoint = server
        .request(
            "POST",
            "/standard/endpoints",
            Some(&json!({"url": format!("http://127.0.0.1:{}/hook", closed_port())}).to_string()),
        )
        .await;
    assert_eq!(endpoint.status(), 201, "{:?}", endpoint.raw.text());
    let endpoint_id = endpoint.json()["id"]
        .as_str()
        .expect("endpoint id")
        .to_owned();
    let sent = server
        .request(
            "POST",
            &format!("/standard/endpoints/{endpoint_id}/messages"),
            Some(r#"{"eventType":"invoice.paid","payload":{"id":"in_1"}}"#),
        )
        .await;
    assert_eq!(sent.status(), 200, "{:?}", sent.raw.text());
    let standard = api2cart + 1;

    let all = get(&server, "/emulator/attempts").await;
    assert_eq!(all.status(), 200);
    assert_eq!(ids(&all), [standard, api2cart], "newest first");
    no_secrets(&all);
    let body = all.json();
    assert_eq!(
        (body["total"].as_u64(), body["kept"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(body["journal_limit"], 1000);
    let first = &body["attempts"][1];
    assert_eq!(first["vendor"], "api2cart");
    assert_eq!(first["event"], "product.add");
    assert_eq!(first["status"], 200);
    assert_eq!(first["outcome"], "delivered");
    assert!(
        first["url"]
            .as_str()
            .is_some_and(|url| url.ends_with("/webhooks?token=<redacted>")),
        "{first}"
    );
    let second = &body["attempts"][0];
    assert_eq!(
        (&second["vendor"], &second["outcome"]),
        (&json!("standard"), &json!("no-response"))
    );
    assert_eq!(second["status"], Value::Null);

    for (query, expected) in [
        ("vendor=api2cart", vec![api2cart]),
        ("vendor=standard", vec![standard]),
        ("vendor=up42", vec![]),
        ("event=product.add", vec![api2cart]),
        ("outcome=delivered", vec![api2cart]),
        ("outcome=no-response", vec![standard]),
        (&format!("after={api2cart}") as &str, vec![standard]),
        (&format!("before={standard}") as &str, vec![api2cart]),
    ] {
        let answer = get(&server, &format!("/emulator/attempts?{query}")).await;
        assert_eq!(ids(&answer), expected, "{query}");
    }
    let page = get(&server, "/emulator/attempts?limit=1").await;
    assert_eq!(ids(&page), [standard]);
    assert_eq!(page.json()["more"], true);

    for bad in ["vendor=stripe", "outcome=fine", "after=x", "limit=-1"] {
        let answer = get(&server, &format!("/emulator/attempts?{bad}")).await;
        assert_eq!(answer.status(), 400, "{bad}");
        assert!(answer.json()["error"].is_string(), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_shows_its_exact_request_and_retry_chain_without_secrets() {
    let server = server_with_webhook().await;
    let id = play_product(&server).await;
    let answer = get(&server, &format!("/emulator/attempts/{id}")).await;
    assert_eq!(answer.status(), 200, "{:?}", answer.raw.text());
    no_secrets(&answer);
    let attempt = answer.json();
    assert_eq!(attempt["id"], id);
    assert_eq!(attempt["chain"], json!([id]));
    assert_eq!(attempt["response"]["status"], 200);
    assert_eq!(attempt["response"]["body"], "ok");
    assert_eq!(attempt["request"]["body"], r#"{"id":"86","name":"Cable"}"#);
    assert!(
        attempt["request"]["target"]
            .as_str()
            .is_some_and(|t| t == "/webhooks?token=<redacted>"),
        "{attempt}"
    );
    // Header lines in the order and case written.
    let names: Vec<&str> = attempt["request"]["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter_map(|pair| pair[0].as_str())
        .collect();
    assert_eq!(names.first(), Some(&"Host"), "{names:?}");
    let signature = names.iter().position(|n| *n == "X-Webhook-Signature");
    let timestamp = names.iter().position(|n| *n == "X-Webhook-Timestamp");
    assert!(timestamp < signature && timestamp.is_some(), "{names:?}");
    assert!(
        attempt["request"]["signed_string"]
            .as_str()
            .is_some_and(|s| s.starts_with("{\"X-Webhook-Action\":\"add\"")),
        "{attempt}"
    );

    for unknown in ["999", "0", "abc", "18446744073709551616"] {
        let answer = get(&server, &format!("/emulator/attempts/{unknown}")).await;
        assert_eq!(answer.status(), 404, "{unknown}");
        assert!(answer.json()["error"].is_string(), "{unknown}");
        let replay = server
            .request(
                "POST",
                &format!("/emulator/attempts/{unknown}/replay"),
                None,
            )
            .await;
        assert_eq!(replay.status(), 404, "{unknown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_refused_by_the_replay_guard_and_a_resend_is_delivered() {
    let server = server_with_webhook().await;
    let id = play_product(&server).await;

    let replay = server
        .request("POST", &format!("/emulator/attempts/{id}/replay"), None)
        .await;
    assert_eq!(replay.status(), 200, "{:?}", replay.raw.text());
    let replayed = &replay.json()["attempt"];
    assert_eq!(replayed["status"], 401, "{replayed}");
    assert_eq!(replayed["replay_of"], id);
    let replay_id = replayed["id"].as_u64().expect("id");
    assert!(replay_id > id);
    // Byte for byte: the same header lines and body as the original.
    let original = get(&server, &format!("/emulator/attempts/{id}")).await;
    let again = get(&server, &format!("/emulator/attempts/{replay_id}")).await;
    assert_eq!(
        again.json()["request"]["headers"],
        original.json()["request"]["headers"]
    );
    assert_eq!(
        again.json()["request"]["body"],
        original.json()["request"]["body"]
    );
    assert_eq!(again.json()["replay_of"], id);
    // It joins the original's chain.
    assert_eq!(again.json()["chain"], json!([id, replay_id]));

    // API2Cart signs whole seconds: resent within the original's second,
    // the bytes would be the same and the guard would refuse them too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resend = server
        .request("POST", &format!("/emulator/attempts/{id}/resend"), None)
        .await;
    assert_eq!(resend.status(), 200, "{:?}", resend.raw.text());
    let resent: Vec<u64> = resend.json()["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(resent.len(), 1, "{}", resend.json());
    let fresh = get(&server, &format!("/emulator/attempts/{}", resent[0])).await;
    assert_eq!(fresh.json()["response"]["status"], 200, "{}", fresh.json());
    assert_eq!(
        fresh.json()["request"]["body"],
        original.json()["request"]["body"]
    );
    assert_ne!(
        fresh.json()["request"]["headers"],
        original.json()["request"]["headers"],
        "signed again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_verifies_with_webhook_guard_verify_and_curl_repeats_it() {
    let server = server_with_webhook().await;
    let id = play_product(&server).await;
    let headers = get(&server, &format!("/emulator/attempts/{id}/export")).await;
    let body = get(&server, &format!("/emulator/attempts/{id}/export/body")).await;
    assert_eq!((headers.status(), body.status()), (200, 200));
    assert!(
        headers
            .raw
            .header("content-disposition")
            .is_some_and(|d| d.contains(&format!("attempt-{id}.headers"))),
        "{:?}",
        headers.raw.headers
    );
    no_secrets(&headers);
    assert_eq!(body.raw.body, br#"{"id":"86","name":"Cable"}"#);

    let dir = std::env::temp_dir().join(format!("wg-dashboard-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let headers_file = dir.join("attempt.headers");
    let body_file = dir.join("attempt.body");
    std::fs::write(&headers_file, &headers.raw.body).expect("write headers");
    std::fs::write(&body_file, &body.raw.body).expect("write body");
    let verify = |secret: &str| {
        Command::new(env!("CARGO_BIN_EXE_webhook-guard"))
            .args(["verify", "--scheme", "api2cart", "--secret", secret])
            .arg("--headers-file")
            .arg(&headers_file)
            .arg("--body-file")
            .arg(&body_file)
            .output()
            .expect("run verify")
    };
    let valid = verify(KEY);
    let stdout = String::from_utf8_lossy(&valid.stdout);
    assert_eq!(
        valid.status.code(),
        Some(0),
        "{stdout} {:?}",
        String::from_utf8_lossy(&valid.stderr)
    );
    assert!(stdout.contains("valid"), "{stdout}");
    assert!(stdout.contains("product"), "{stdout}");
    assert_eq!(verify("another-key").status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);

    let curl = get(&server, &format!("/emulator/attempts/{id}/curl")).await;
    let command = curl.raw.text();
    assert!(command.starts_with("curl "), "{command}");
    // The exact URL, so that it repeats the request; each header line once.
    assert!(
        command.contains(&format!("/webhooks?token={TOKEN}'")),
        "{command}"
    );
    assert!(command.contains("-H 'X-Webhook-Signature: "), "{command}");
    assert!(
        command.contains(r#"--data-binary '{"id":"86","name":"Cable"}'"#),
        "{command}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sends_each_new_attempt_as_it_happens() {
    let server = server_with_webhook().await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = format!(
        "GET /emulator/attempts/stream HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    // Read until the head is in, so the stream starts before the event.
    let mut seen = Vec::new();
    read_until(&mut stream, &mut seen, "\r\n\r\n").await;
    let head = String::from_utf8_lossy(&seen).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );

    let id = play_product(&server).await;
    read_until(&mut stream, &mut seen, "\n\n").await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.contains("event: attempt"), "{text}");
    assert!(text.contains(&format!("id: {id}\n")), "{text}");
    let data = text
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .expect("a data line");
    let attempt: Value = serde_json::from_str(data).expect("JSON data");
    assert_eq!(
        (attempt["id"].as_u64(), attempt["status"].as_u64()),
        (Some(id), Some(200))
    );
    assert!(!text.contains(TOKEN), "{text}");
}

/// Reads from `stream` into `seen` until the text after the head so far
/// contains `end` (past what was already there), or fails after [`TIMEOUT`].
async fn read_until(stream: &mut TcpStream, seen: &mut Vec<u8>, end: &str) {
    let start = seen.len();
    let read = async {
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&seen[start..]).contains(end) {
            let n = stream.read(&mut buffer).await.expect("read");
            assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(seen));
            seen.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(TIMEOUT, read)
        .await
        .unwrap_or_else(|_| panic!("no {end:?} in {:?}", String::from_utf8_lossy(seen)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_assets_are_built_in_with_nothing_from_elsewhere() {
    let server = Server::start(KEY, &[]);
    let page = get(&server, "/").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.raw
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.raw.headers
    );
    let html = page.raw.text();
    assert!(
        html.contains(r#"<script src="/dashboard/app.js">"#),
        "{html}"
    );
    for (path, kind) in [
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/style.css", "text/css"),
    ] {
        let asset = get(&server, path).await;
        assert_eq!(asset.status(), 200, "{path}");
        assert!(
            asset
                .raw
                .header("content-type")
                .is_some_and(|t| t.starts_with(kind)),
            "{path}"
        );
        assert!(
            !asset.raw.text().contains("https://"),
            "{path} loads from elsewhere"
        );
    }
    assert!(!html.contains("https://"), "the page loads from elsewhere");
}
