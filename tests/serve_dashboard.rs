//! `webhook-guard serve`'s dashboard JSON, driven over real HTTP against the
//! built binary: every vendor's attempts in one list with filters, one
//! attempt with its retry chain, the live event stream, replay byte for
//! byte (refused by a receiver's replay guard), resend re-signed (accepted)
//! for every vendor, the stream resumed from `Last-Event-ID`, export read by
//! `webhook-guard verify`, and no secret shown.

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
use webhook_guard::americommerce::UrlToken;
use webhook_guard::axum::Webhook;
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::up42::Up42;
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

    // The whole request in one file: head, empty line, body.
    let request = get(&server, &format!("/emulator/attempts/{id}/export/request")).await;
    assert_eq!(request.status(), 200);
    no_secrets(&request);
    assert!(
        request
            .raw
            .body
            .starts_with(b"POST /webhooks?token=<redacted> HTTP/1.1\r\n")
    );
    assert!(
        request
            .raw
            .body
            .ends_with(b"\r\n\r\n{\"id\":\"86\",\"name\":\"Cable\"}")
    );
    let request_file = dir.join(format!("attempt-{id}.http"));
    std::fs::write(&request_file, &request.raw.body).expect("write request");
    let verify_one = |secret: &str| {
        Command::new(env!("CARGO_BIN_EXE_webhook-guard"))
            .args(["verify", "--scheme", "api2cart", "--secret", secret])
            .arg("--request-file")
            .arg(&request_file)
            .output()
            .expect("run verify")
    };
    let one = verify_one(KEY);
    assert_eq!(
        one.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&one.stdout)
    );
    assert_eq!(verify_one("another-key").status.code(), Some(1));
    // A body byte changed in the file: refused.
    let mut tampered = request.raw.body.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x01;
    std::fs::write(&request_file, &tampered).expect("write request");
    assert_eq!(verify_one(KEY).status.code(), Some(1));
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
    let mut stream = open_stream(&server, "/emulator/attempts/stream", "").await;
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

/// Opens the event stream at `target` over a raw connection, as an
/// EventSource does, with `extra` header lines (each ending in CRLF); the
/// answer is read with [`read_until`].
async fn open_stream(server: &Server, target: &str, extra: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n{extra}\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    stream
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

/// A receiver on loopback answering `ok` at `/hook` to what `verifier`
/// accepts (401 otherwise).
async fn verifying_receiver(verifier: Verifier) -> SocketAddr {
    let app = Router::new()
        .route("/hook", post(|| async { "ok" }))
        .layer(VerifyWebhookLayer::new(verifier));
    serve(app).await
}

/// The newest kept attempt of `vendor`.
async fn newest_of(server: &Server, vendor: &str) -> Value {
    let list = get(
        server,
        &format!("/emulator/attempts?vendor={vendor}&limit=1"),
    )
    .await;
    assert_eq!(list.status(), 200, "{:?}", list.raw.text());
    list.json()["attempts"][0].clone()
}

/// The first value of header `name` (any case) in an attempt's request.
fn request_header(attempt: &Value, name: &str) -> Option<String> {
    attempt["request"]["headers"]
        .as_array()?
        .iter()
        .find(|pair| {
            pair[0]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|pair| pair[1].as_str())
        .map(str::to_owned)
}

/// How a vendor's resend differs from the original on the wire.
enum Fresh {
    /// Unsigned: nothing is signed again.
    Unsigned,
    /// Header `.0` is signed again with a new value, and the receiver has a
    /// replay guard: it takes the resend and refuses the original replayed.
    Guarded(&'static str),
    /// Header `.0` (the signature's parameters) has a new value; the
    /// receiver has no replay guard.
    Resigned(&'static str),
}

/// Resends attempt `id` from the dashboard's JSON and checks the result: one
/// new attempt of `vendor`, the same event and body, answered 200 by the
/// receiver, and signed again as `fresh` says. Returns the new attempt.
async fn resend_is_fresh(server: &Server, vendor: &str, id: u64, fresh_as: Fresh) -> Value {
    let original = get(server, &format!("/emulator/attempts/{id}")).await;
    let original = original.json().clone();
    assert_eq!(
        (
            original["vendor"].as_str(),
            original["response"]["status"].as_u64()
        ),
        (Some(vendor), Some(200)),
        "{original}"
    );
    let resend = server
        .request("POST", &format!("/emulator/attempts/{id}/resend"), None)
        .await;
    assert_eq!(resend.status(), 200, "{:?}", resend.raw.text());
    assert_eq!(resend.json()["resent_from"], id);
    let resent: Vec<u64> = resend.json()["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(resent.len(), 1, "{}", resend.json());
    assert!(resent[0] > id, "{resent:?} after {id}");

    let fresh = get(server, &format!("/emulator/attempts/{}", resent[0])).await;
    let fresh = fresh.json().clone();
    assert_eq!(fresh["vendor"], vendor, "{fresh}");
    assert_eq!(fresh["event"], original["event"], "{fresh}");
    assert_eq!(fresh["request"]["body"], original["request"]["body"]);
    assert_eq!(fresh["response"]["status"], 200, "{fresh}");
    assert_eq!(fresh["outcome"], "delivered", "{fresh}");
    assert!(
        fresh.get("replay_of").is_none(),
        "a resend is no replay: {fresh}"
    );

    let (changed, guarded) = match fresh_as {
        Fresh::Unsigned => (None, false),
        Fresh::Guarded(name) => (Some(name), true),
        Fresh::Resigned(name) => (Some(name), false),
    };
    if let Some(name) = changed {
        let before = request_header(&original, name).expect("the original's header");
        let after = request_header(&fresh, name).expect("the resend's header");
        assert_ne!(before, after, "{name}: signed again");
    }
    if guarded {
        let replay = server
            .request("POST", &format!("/emulator/attempts/{id}/replay"), None)
            .await;
        assert_eq!(
            replay.json()["attempt"]["status"],
            401,
            "the guard refuses the original's bytes: {}",
            replay.json()
        );
    }
    fresh
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_americommerce_resend_is_a_new_attempt_of_the_same_event() {
    let receiver = verifying_receiver(
        Verifier::builder(KeySet::single(TOKEN))
            .scheme(UrlToken::query("token"))
            .build(),
    )
    .await;
    let server = Server::start(KEY, &[]);
    let webhook = json!({"event_type": "OrderPlaced", "url": format!("http://{receiver}/hook?token={TOKEN}")});
    let created = server
        .request_with_headers(
            "POST",
            "/api/v1/webhooks",
            &[("X-AC-Auth-Token", KEY)],
            Some(&webhook.to_string()),
        )
        .await;
    assert_eq!(created.status(), 201, "{:?}", created.raw.text());
    let played = server
        .request(
            "POST",
            "/api/v1/emulator/events",
            Some(r#"{"event_type":"OrderPlaced","data":{"OrderId":1001}}"#),
        )
        .await;
    assert_eq!(played.status(), 200, "{:?}", played.raw.text());
    let original = newest_of(&server, "americommerce").await;
    let id = original["id"].as_u64().expect("id");

    // Unsigned, as the vendor: nothing to sign again, the URL token is what
    // the receiver checks.
    let fresh = resend_is_fresh(&server, "americommerce", id, Fresh::Unsigned).await;
    assert_eq!(fresh["event"], "OrderPlaced");
    let listed = newest_of(&server, "americommerce").await;
    assert_eq!(listed["id"], fresh["id"]);
    no_secrets(&get(&server, &format!("/emulator/attempts/{}", fresh["id"])).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_up42_resend_is_signed_again_with_a_new_created_time() {
    const SECRET: &str = "QWZTFnMEXhqZKNmu";
    // No replay guard: UP42 signs the content type and digest only, so the
    // same body always has the same `Signature` (see below).
    let receiver = verifying_receiver(
        Verifier::builder(KeySet::single(SECRET))
            .scheme(Up42::new())
            .build(),
    )
    .await;
    let server = Server::start(KEY, &[]);
    let hook = json!({
        "events": ["job.status"],
        "name": "dashboard resend",
        "url": format!("http://{receiver}/hook"),
        "secret": SECRET,
        "active": true,
    });
    let created = server
        .request("POST", "/workspaces/ws-1/webhooks", Some(&hook.to_string()))
        .await;
    assert_eq!(created.status(), 201, "{:?}", created.raw.text());
    let hook_id = created.json()["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let run = server
        .request(
            "POST",
            &format!("/workspaces/ws-1/webhooks/{hook_id}/tests"),
            Some(r#"{"event":"job.status"}"#),
        )
        .await;
    assert_eq!(run.status(), 200, "{:?}", run.raw.text());
    let original = newest_of(&server, "up42").await;
    let id = original["id"].as_u64().expect("id");

    // `created` counts whole seconds: a resend within the original's second
    // would carry the same one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = resend_is_fresh(&server, "up42", id, Fresh::Resigned("Signature-Input")).await;
    assert_eq!(fresh["event"], "job.status");
    // The signature itself covers `content-type` and `content-digest`, not
    // `created`: the same body is signed the same, as UP42 does.
    let detail = get(&server, &format!("/emulator/attempts/{id}")).await;
    assert_eq!(
        request_header(detail.json(), "Signature"),
        request_header(&fresh, "Signature")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_webhooks_resend_is_signed_again_and_passes_a_replay_guard() {
    // The secret of the Standard Webhooks specification's example.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let receiver = verifying_receiver(
        Verifier::builder(StandardWebhooks::keys(SECRET).expect("a whsec_ secret"))
            .scheme(StandardWebhooks::new())
            .replay_guard(InMemoryReplayGuard::new())
            .build(),
    )
    .await;
    let server = Server::start(KEY, &[]);
    let endpoint = json!({"url": format!("http://{receiver}/hook"), "secret": SECRET});
    let created = server
        .request("POST", "/standard/endpoints", Some(&endpoint.to_string()))
        .await;
    assert_eq!(created.status(), 201, "{:?}", created.raw.text());
    let endpoint_id = created.json()["id"].as_str().expect("id").to_owned();
    let sent = server
        .request(
            "POST",
            &format!("/standard/endpoints/{endpoint_id}/messages"),
            Some(r#"{"eventType":"invoice.paid","payload":{"id":"in_1","amount":1200}}"#),
        )
        .await;
    assert_eq!(sent.status(), 200, "{:?}", sent.raw.text());
    let original = newest_of(&server, "standard").await;
    let id = original["id"].as_u64().expect("id");

    let fresh = resend_is_fresh(&server, "standard", id, Fresh::Guarded("webhook-signature")).await;
    assert_eq!(fresh["event"], "invoice.paid");
    let detail = get(&server, &format!("/emulator/attempts/{id}")).await;
    assert_ne!(
        request_header(detail.json(), "webhook-id"),
        request_header(&fresh, "webhook-id"),
        "a new message id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_resumes_after_last_event_id_rather_than_the_urls_after() {
    let server = server_with_webhook().await;
    let first = play_product(&server).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = play_product(&server).await;

    // What an EventSource sends when it reconnects: the URL it first opened
    // (here `after=0`) and the id of the last event it got.
    let mut stream = open_stream(
        &server,
        "/emulator/attempts/stream?after=0",
        &format!("Last-Event-ID: {first}\r\n"),
    )
    .await;
    // The kept attempt after `first` at once (the head and it may come in
    // one read), and not `first` itself.
    let mut seen = Vec::new();
    read_until(&mut stream, &mut seen, &format!("id: {second}\n")).await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(!text.contains(&format!("id: {first}\n")), "{text}");

    // Then what comes next, live.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third = play_product(&server).await;
    read_until(&mut stream, &mut seen, &format!("id: {third}\n")).await;

    // A Last-Event-ID that is no id: 400 with a JSON reason.
    let bad = server
        .request_with_headers(
            "GET",
            "/emulator/attempts/stream",
            &[("Last-Event-ID", "seven")],
            None,
        )
        .await;
    assert_eq!(bad.status(), 400, "{:?}", bad.raw.text());
    assert!(bad.json()["error"].is_string());
}

/// A page of another site in the same browser cannot make `serve` act: a
/// POST naming a foreign `Origin` is refused 403 and nothing is sent, while
/// the dashboard's own origin, and scripts that send no `Origin`, pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_from_a_page_of_another_origin_are_refused() {
    let server = server_with_webhook().await;
    let id = play_product(&server).await;
    let replay = format!("/emulator/attempts/{id}/replay");
    let before = get(&server, "/emulator/attempts").await.json()["total"].clone();

    for foreign in ["http://evil.example", "null", "https://127.0.0.1"] {
        let refused = server
            .request_with_headers("POST", &replay, &[("Origin", foreign)], None)
            .await;
        assert_eq!(refused.status(), 403, "{foreign}");
        let play = server
            .request_with_headers(
                "POST",
                "/v1.0/emulator/event.json",
                &[("Origin", foreign)],
                Some(r#"{"entity":"product","action":"add","data":{"id":"87"}}"#),
            )
            .await;
        assert_eq!(play.status(), 403, "{foreign}");
    }
    let after = get(&server, "/emulator/attempts").await.json()["total"].clone();
    assert_eq!(before, after, "nothing was sent");

    // The dashboard's own requests name the server itself.
    let own = format!("http://{}", server.addr);
    let replayed = server
        .request_with_headers("POST", &replay, &[("Origin", &own)], None)
        .await;
    assert_eq!(replayed.status(), 200, "{:?}", replayed.raw.text());
    // A cross-origin GET is no threat (the browser keeps the answer from the page).
    let listed = server
        .request_with_headers(
            "GET",
            "/emulator/attempts",
            &[("Origin", "http://evil.example")],
            None,
        )
        .await;
    assert_eq!(listed.status(), 200);
}
