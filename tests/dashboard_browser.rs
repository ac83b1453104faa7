//! `webhook-guard serve`'s dashboard in a real browser: headless Chromium
//! driven through WebDriver (Debian's `chromium` and `chromedriver`) against
//! the built binary and receivers on loopback. An event played from the
//! page's form shows up in the list with 200 without a reload; its page shows
//! the request as sent; replay is refused 401 by the receiver's replay guard
//! and shows up too; the export the page links to verifies with
//! `webhook-guard verify`; and the list with every vendor is screenshotted
//! (`UPDATE_SCREENSHOT=1` writes it to `docs/dashboard.png`).
//!
//! Skipped with a message where Chromium or chromedriver is absent, failing
//! under `CI=true`.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use support::KEY;
use support::serve::Server;
use support::servers::{closed_port, serve};
use support::webdriver::{Browser, chromium_available};
use webhook_guard::americommerce::UrlToken;
use webhook_guard::axum::Webhook;
use webhook_guard::standard::StandardWebhooks;
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::up42::Up42;
use webhook_guard::{InMemoryReplayGuard, KeySet, Verifier};

/// How long anything awaited on the page may take.
const WAIT: Duration = Duration::from_secs(15);
/// AmeriCommerce receivers keep their secret in the URL.
const TOKEN: &str = "s3cret-url-token";
/// The UP42 webhook's secret.
const UP42_SECRET: &str = "QWZTFnMEXhqZKNmu";
/// The Standard Webhooks endpoint's secret (the specification's example).
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// What the test types into the play form's body.
const PLAYED: &str = r#"{"entity":"product","action":"add","data":{"id":"86","name":"Cable, played from the browser"}}"#;

/// One receiver for every vendor, each path verifying as its vendor signs:
/// `/api2cart` with [`KEY`] and a replay guard (a replay is answered 401),
/// `/americommerce` by URL token, `/up42` and `/standard` with their secrets.
async fn receiver() -> SocketAddr {
    let api2cart = Verifier::builder(KeySet::single(KEY))
        .replay_guard(InMemoryReplayGuard::new())
        .build();
    let americommerce = Verifier::builder(KeySet::single(TOKEN))
        .scheme(UrlToken::query("token"))
        .build();
    let up42 = Verifier::builder(KeySet::single(UP42_SECRET))
        .scheme(Up42::new())
        .build();
    let standard = Verifier::builder(StandardWebhooks::keys(STANDARD_SECRET).expect("whsec_"))
        .scheme(StandardWebhooks::new())
        .build();
    let ok = || async { "ok" };
    let app = Router::new()
        .route("/api2cart", post(|_: Webhook| async { "ok" }))
        .with_state(api2cart)
        .route(
            "/americommerce",
            post(ok).layer(VerifyWebhookLayer::new(americommerce)),
        )
        .route("/up42", post(ok).layer(VerifyWebhookLayer::new(up42)))
        .route(
            "/standard",
            post(ok).layer(VerifyWebhookLayer::new(standard)),
        );
    serve(app).await
}

/// A request to the server that must answer `status`; its JSON.
async fn call(server: &Server, method: &str, path: &str, body: &Value, status: u16) -> Value {
    let answer = server.request(method, path, Some(&body.to_string())).await;
    assert_eq!(answer.status(), status, "{path}: {:?}", answer.raw.text());
    answer.json().clone()
}

/// Subscribes the receiver to one event of each vendor but API2Cart's
/// (which the test subscribes first) and plays each over HTTP; and an
/// API2Cart event to a closed port (no answer, retried once).
async fn play_other_vendors(server: &Server, receiver: SocketAddr) {
    let base = format!("http://{receiver}");
    let closed = format!("http://127.0.0.1:{}/api2cart", closed_port());
    call(
        server,
        "POST",
        "/v1.0/webhook.create.json",
        &json!({"entity": "order", "action": "add", "callback": closed}),
        200,
    )
    .await;
    call(
        server,
        "POST",
        "/v1.0/emulator/event.json",
        &json!({"entity": "order", "action": "add", "data": {"id": "25", "total": "10.00"}}),
        200,
    )
    .await;
    let answer = server
        .request_with_headers(
            "POST",
            "/api/v1/webhooks",
            &[("X-AC-Auth-Token", KEY)],
            Some(
                &json!({"event_type": "OrderPlaced", "url": format!("{base}/americommerce?token={TOKEN}")})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(answer.status(), 201, "{:?}", answer.raw.text());
    call(
        server,
        "POST",
        "/api/v1/emulator/events",
        &json!({"event_type": "OrderPlaced", "data": {"OrderId": 1001, "Total": 25.5}}),
        200,
    )
    .await;

    let hook = call(
        server,
        "POST",
        "/workspaces/ws-1/webhooks",
        &json!({"events": ["job.status"], "name": "jobs", "url": format!("{base}/up42"),
                "secret": UP42_SECRET, "active": true}),
        201,
    )
    .await;
    let hook_id = hook["data"]["id"].as_str().expect("webhook id");
    call(
        server,
        "POST",
        &format!("/workspaces/ws-1/webhooks/{hook_id}/tests"),
        &json!({"event": "job.status"}),
        200,
    )
    .await;

    let endpoint = call(
        server,
        "POST",
        "/standard/endpoints",
        &json!({"url": format!("{base}/standard"), "secret": STANDARD_SECRET}),
        201,
    )
    .await;
    let endpoint_id = endpoint["id"].as_str().expect("endpoint id");
    call(
        server,
        "POST",
        &format!("/standard/endpoints/{endpoint_id}/messages"),
        &json!({"eventType": "invoice.paid", "payload": {"id": "in_1", "amount": 1200}}),
        200,
    )
    .await;
}

/// A probe script: `null` until the page was not reloaded since the marker
/// was set, then whatever `body` returns.
fn unreloaded(body: &str) -> String {
    format!("if (window.__notReloaded !== true) throw new Error('the page was reloaded'); {body}")
}

#[test]
fn the_dashboard_plays_shows_replays_and_exports_in_a_real_browser() {
    let started = Instant::now();
    let Some((chromium, chromedriver)) = chromium_available("the dashboard's browser test") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let receiver = runtime.block_on(receiver());
    let server = Server::start(KEY, &[]);
    runtime.block_on(call(
        &server,
        "POST",
        "/v1.0/webhook.create.json",
        &json!({"entity": "product", "action": "add", "callback": format!("http://{receiver}/api2cart")}),
        200,
    ));
    let browser = Browser::start(&chromium, &chromedriver, (1400, 580));

    // The page, live.
    browser.goto(&server.url("/"));
    browser.wait_for(
        "the live badge",
        WAIT,
        "return document.querySelector('#live').textContent === 'live' ? true : null",
    );
    assert_eq!(
        browser.find("#empty").text(),
        "No attempts yet: play an event above, or through the vendors' APIs."
    );
    browser.run("window.__notReloaded = true", &[]);

    // Played from the form: the template is filled in, the body edited.
    browser.find("#play summary").click();
    let path = browser.wait_for(
        "the play form's template",
        WAIT,
        "const p = document.querySelector('#play-path').value; return p ? p : null",
    );
    assert_eq!(path, "/v1.0/emulator/event.json");
    let body = browser.find("#play-body");
    body.clear();
    body.type_text(PLAYED);
    browser.find("#play-send").click();
    let answer = browser.wait_for(
        "the play answer",
        WAIT,
        "const a = document.querySelector('#play-answer').textContent; \
         return a.startsWith('playing') || !a ? null : a",
    );
    assert!(
        answer.as_str().is_some_and(|a| a.starts_with("200\n")),
        "{answer}"
    );

    // The attempt shows up in the list, 200, without a reload.
    let row = browser.wait_for(
        "the played attempt's row with 200",
        WAIT,
        &unreloaded(
            "const r = document.querySelector('#attempts tbody tr[data-status=\"200\"]'); \
             return r ? {id: Number(r.dataset.id), text: r.innerText} : null",
        ),
    );
    let id = row["id"].as_u64().expect("row id");
    let text = row["text"].as_str().expect("row text");
    for part in ["api2cart", "product.add", "delivered", "/api2cart"] {
        assert!(text.contains(part), "{part} in {text:?}");
    }

    // Its page: the request as sent, headers and body.
    browser
        .find(&format!("#attempts tbody tr[data-id=\"{id}\"]"))
        .click();
    let detail = browser.wait_for(
        "the attempt's page",
        WAIT,
        &unreloaded(&format!(
            "const t = document.querySelector('#detail-title').textContent; \
             const d = document.querySelector('#detail').innerText; \
             return t.startsWith('Attempt #{id}:') && d.includes('Request as sent') ? d : null"
        )),
    );
    let detail = detail.as_str().expect("detail text");
    for part in [
        "X-Webhook-Signature",
        "X-Webhook-Timestamp",
        "X-Webhook-Entity",
        r#""name":"Cable, played from the browser""#,
        "Signed string",
        "delivered",
    ] {
        assert!(detail.contains(part), "{part} in {detail}");
    }
    assert!(!detail.contains(KEY), "the store key is shown: {detail}");
    assert_eq!(
        browser.find("#response-status").text(),
        "200",
        "the receiver's answer"
    );
    let export = browser.find("#action-export").attribute("href");
    let export_body = browser.find("#action-export-body").attribute("href");
    assert_eq!(
        (export.as_deref(), export_body.as_deref()),
        (
            Some(format!("/emulator/attempts/{id}/export").as_str()),
            Some(format!("/emulator/attempts/{id}/export/body").as_str())
        )
    );
    let hint = browser.find("#verify-hint").text();
    assert!(
        hint.contains("webhook-guard verify --scheme api2cart"),
        "{hint}"
    );

    // Replay: the receiver's guard answers 401; the answer stays in view
    // while the page redraws the chain with the new attempt.
    browser.find("#action-replay").click();
    let replayed = browser.wait_for(
        "the replay's answer",
        WAIT,
        "const a = document.querySelector('#action-answer'); \
         return a.dataset.status ? a.textContent : null",
    );
    let replayed = replayed.as_str().expect("answer text");
    let replay_id: u64 = replayed
        .strip_prefix("Replayed as attempt #")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{replayed:?}"));
    assert!(replayed.ends_with(": 401 (wrong-status)"), "{replayed}");
    browser.wait_for(
        "the replay in the chain, with the answer still in view",
        WAIT,
        &unreloaded(&format!(
            "const c = document.querySelector('#chain'); \
             const a = document.querySelector('#action-answer'); \
             return c && c.textContent.includes('#{replay_id}') && !a.hidden ? true : null"
        )),
    );

    // Back to the list: the replay is there, 401, without a reload.
    browser.find("#detail-view a[href=\"#\"]").click();
    let replay_row = browser.wait_for(
        "the replay's row with 401",
        WAIT,
        &unreloaded(&format!(
            "const r = document.querySelector('#attempts tbody tr[data-id=\"{replay_id}\"]'); \
             return r && !document.querySelector('#list-view').hidden \
               ? {{status: r.dataset.status, text: r.innerText}} : null"
        )),
    );
    assert_eq!(replay_row["status"], "401", "{replay_row}");
    assert!(
        replay_row["text"]
            .as_str()
            .is_some_and(|t| t.contains(&format!("replay of {id}"))),
        "{replay_row}"
    );

    // The export the page links to verifies as it is.
    let dir = std::env::temp_dir().join(format!("wg-browser-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let headers_file = dir.join(format!("attempt-{id}.headers"));
    let body_file = dir.join(format!("attempt-{id}.body"));
    for (link, file) in [(&export, &headers_file), (&export_body, &body_file)] {
        let link = link.as_deref().expect("a link");
        let answer = runtime.block_on(server.request("GET", link, None));
        assert_eq!(answer.status(), 200, "{link}");
        std::fs::write(file, &answer.raw.body).expect("write the export");
    }
    let verify = Command::new(env!("CARGO_BIN_EXE_webhook-guard"))
        .args(["verify", "--scheme", "api2cart", "--secret", KEY])
        .arg("--headers-file")
        .arg(&headers_file)
        .arg("--body-file")
        .arg(&body_file)
        .output()
        .expect("run webhook-guard verify");
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(stdout.contains("valid"), "{stdout}");
    assert_eq!(
        std::fs::read(&body_file).expect("body"),
        br#"{"id":"86","name":"Cable, played from the browser"}"#
    );
    let _ = std::fs::remove_dir_all(&dir);

    // Every vendor in one list, live; then the screenshot for the README.
    runtime.block_on(play_other_vendors(&server, receiver));
    let vendors = browser.wait_for(
        "a row of every vendor, and one without an answer",
        WAIT,
        &unreloaded(
            "const rows = [...document.querySelectorAll('#attempts tbody tr')]; \
             const v = new Set(rows.map((r) => r.children[2].textContent)); \
             return ['api2cart', 'americommerce', 'up42', 'standard'].every((n) => v.has(n)) \
               && rows.some((r) => r.dataset.status === '') ? [...v] : null",
        ),
    );
    assert_eq!(vendors.as_array().map(Vec::len), Some(4), "{vendors}");
    browser.run(
        "document.querySelector('#play').open = false; window.scrollTo(0, 0)",
        &[],
    );
    let png = browser.screenshot();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG: {:?}",
        &png[..png.len().min(8)]
    );
    let path = if std::env::var_os("UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.png")
    } else {
        std::env::temp_dir().join("webhook-guard-dashboard.png")
    };
    std::fs::create_dir_all(path.parent().expect("a directory")).expect("screenshot dir");
    std::fs::write(&path, &png).expect("write the screenshot");
    // To the real stderr: libtest hides the output of a passing test.
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!(
            "dashboard screenshot: {} ({} bytes); browser test took {:?}\n",
            path.display(),
            png.len(),
            started.elapsed()
        ),
    );
}
