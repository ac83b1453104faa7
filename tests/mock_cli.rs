//! `webhook-guard send`, run for real against receivers on loopback: the
//! vendor's semantics (200 only, exactly one retry), the exit status, the
//! JSON journal entry, and the vendor's PHP reference receiver accepting what
//! it delivers. Without php on PATH the PHP test prints `SKIPPED: php not
//! found` and passes, unless `CI` is set.

mod support;

use std::process::Command;

use axum::Router;
use axum::routing::post;
use serde_json::Value;
use support::KEY;
use support::php::PhpReceiver;
use support::servers::{Scripted, closed_port, serve};
use webhook_guard::tower::VerifyWebhookLayer;
use webhook_guard::{KeySet, Verifier};

const BIN: &str = env!("CARGO_BIN_EXE_webhook-guard");

/// What one run printed, and its exit status.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "exit status of {self:#?}");
        self
    }

    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Runs `webhook-guard send` with `args`, off the runtime's threads so the
/// receivers keep serving.
async fn send(args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let output = Command::new(BIN)
            .arg("send")
            .args(&args)
            .output()
            .expect("run webhook-guard");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    })
    .await
    .expect("the run finished")
}

async fn scripted(statuses: &[u16]) -> (Scripted, String) {
    let script = Scripted::new(statuses);
    let addr = serve(script.router("/webhooks")).await;
    (script, format!("http://{addr}/webhooks"))
}

fn event_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--url",
        url,
        "--secret",
        KEY,
        "--entity",
        "product",
        "--action",
        "add",
        "--body",
        r#"{"id":"86"}"#,
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_201_is_a_failure_after_exactly_two_attempts() {
    let (script, url) = scripted(&[201]).await;
    let run = send(&event_args(&url, &[])).await.expect(1);
    assert_eq!(script.count(), 2);
    let lines = run.lines();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].starts_with("attempt 1: 201 Created in "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("attempt 2: 201 Created in "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("not delivered after 2 attempts"),
        "{}",
        lines[2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_then_a_200_is_delivered_on_the_retry() {
    let (script, url) = scripted(&[500, 200]).await;
    let run = send(&event_args(&url, &[])).await.expect(0);
    assert_eq!(script.count(), 2);
    let lines = run.lines();
    assert!(
        lines[0].starts_with("attempt 1: 500 Internal Server Error in "),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("attempt 2: 200 OK in "),
        "{}",
        run.stdout
    );
    assert_eq!(lines[2], "delivered on attempt 2");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_prints_the_journal_entry() {
    let (_script, url) = scripted(&[200]).await;
    let run = send(&event_args(&url, &["--json", "--store-id", "7"]))
        .await
        .expect(0);
    let json: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(json["delivered"], true);
    assert_eq!(json["delivered_on_attempt"], 1);
    assert_eq!(json["callback"], url.as_str());
    let attempt = &json["attempts"][0];
    assert_eq!(attempt["outcome"], "delivered");
    assert_eq!(attempt["response"]["status"], 200);
    assert_eq!(attempt["request"]["body"], r#"{"id":"86"}"#);
    let headers = attempt["request"]["headers"].as_array().expect("headers");
    assert!(headers.contains(&serde_json::json!(["X-Webhook-Store-Id", "7"])));
    assert!(headers.contains(&serde_json::json!(["X-Webhook-Entity", "product"])));
    let signed = attempt["request"]["signed_string"].as_str().expect("text");
    assert!(
        signed.starts_with(r#"{"X-Webhook-Action":"add","#),
        "{signed}"
    );
    assert!(signed.ends_with(r#"{"id":"86"}"#), "{signed}");
    assert!(attempt["latency_ms"].as_f64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_reach_a_verifying_receiver_and_are_refused() {
    let app = Router::new()
        .route("/webhooks", post(|| async { "ok" }))
        .layer(VerifyWebhookLayer::new(Verifier::new(KeySet::single(KEY))));
    let url = format!("http://{}/webhooks", serve(app).await);

    send(&event_args(&url, &[])).await.expect(0);
    let run = send(&event_args(&url, &["--fault", "tampered-body"]))
        .await
        .expect(1);
    assert!(
        run.stdout.contains("attempt 2: 401 Unauthorized in ")
            && run.stdout.contains("invalid webhook signature"),
        "{}",
        run.stdout
    );
    let run = send(&event_args(&url, &["--fault", "stale-timestamp=301"]))
        .await
        .expect(1);
    assert!(
        run.stdout.contains("webhook timestamp outside tolerance"),
        "{}",
        run.stdout
    );
    let run = send(&event_args(&url, &["--fault", "duplicated-signature"]))
        .await
        .expect(1);
    assert!(run.stdout.contains("400 Bad Request"), "{}", run.stdout);
    let run = send(&event_args(&url, &["--fault", "duplicate-delivery"]))
        .await
        .expect(0);
    assert!(
        run.stdout.contains("attempt 1 (copy 2): 200 OK"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_not_delivered() {
    let url = format!("http://127.0.0.1:{}/webhooks", closed_port());
    let run = send(&event_args(&url, &[])).await.expect(1);
    let lines = run.lines();
    assert!(
        lines[0].starts_with("attempt 1: no response after "),
        "{}",
        run.stdout
    );
    assert!(
        lines[0].contains("cannot connect to 127.0.0.1:"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("attempt 2: no response"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_without_sending() {
    let (script, url) = scripted(&[200]).await;
    let cases: [(&[&str], &str); 8] = [
        (
            &["--secret", KEY, "--entity", "product", "--action", "add"],
            "--url",
        ),
        (&["--fault", "no-such-fault"], "known faults"),
        // API2Cart's sender would ignore it and send a sound delivery.
        (
            &["--fault", "extra-bad-signature"],
            "a Standard Webhooks fault",
        ),
        (&["--header", "X-Webhook-Signature: c2ln"], "computed"),
        (&["--header", "Content-Length: 3"], "computed from the body"),
        (&["--header", "no colon here"], "--header"),
        (
            &["--body-file", "/nonexistent/body.json"],
            "cannot read body file",
        ),
        (
            &["--header", "X-Webhook-A: 1", "--header", "x-webhook-a: 2"],
            "given more than once",
        ),
    ];
    for (extra, message) in cases {
        let mut args = event_args(&url, &[]);
        if extra[0] == "--secret" {
            args = extra.to_vec();
        } else {
            if extra[0] == "--body-file" {
                // --body and --body-file conflict; keep the file only.
                args.truncate(8);
            }
            args.extend_from_slice(extra);
        }
        let run = send(&args).await.expect(2);
        assert!(
            run.stderr.contains(message),
            "{message:?} in {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    let run = send(&event_args("https://127.0.0.1:1/webhooks", &[]))
        .await
        .expect(2);
    assert!(run.stderr.contains("plain HTTP"), "{}", run.stderr);
    let run = send(&event_args(&url, &["--body-file", "x"]))
        .await
        .expect(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    assert_eq!(script.count(), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendors_php_receiver_accepts_what_send_delivers() {
    let Some(php) = PhpReceiver::start(KEY) else {
        return;
    };
    let url = php.url("/hooks/a2c");
    let message = r#"Store "shop/1" at https://shop.example/a/b — café 日本 😀"#;
    let message_header = format!("X-Webhook-Error-Message: {message}");
    let delivered = [
        // Extra signed headers with slashes and non-ASCII text, a JSON body.
        vec![
            "--url",
            &url,
            "--secret",
            KEY,
            "--entity",
            "product",
            "--action",
            "update",
            "--body",
            r#"{"id":"86","url":"https:\/\/shop.example\/p\/86","name":"Caf\u00e9"}"#,
            "--header",
            "X-Webhook-Shop-Url: https://shop.example/a/b",
            "--header",
            "X-Webhook-Note: café — 日本 😀",
            "--header",
            "X-Request-Source: a/b ü",
        ],
        // A lost-connection notice: error headers, an empty body.
        vec![
            "--url",
            &url,
            "--secret",
            KEY,
            "--entity",
            "cart",
            "--action",
            "update",
            "--header",
            "X-Webhook-Error-Code: 3",
            "--header",
            "X-Webhook-Error-Reason: connection",
            "--header",
            message_header.as_str(),
            "--header",
            "X-Webhook-Error-Try-Count: 2",
            "--store-id",
            "2",
        ],
    ];
    for args in &delivered {
        let run = send(args).await.expect(0);
        assert_eq!(
            run.stdout.lines().last(),
            Some("delivered on attempt 1"),
            "{}",
            run.stdout
        );
    }
    let run = send(&[
        "--url",
        &url,
        "--secret",
        KEY,
        "--entity",
        "product",
        "--action",
        "add",
        "--body",
        r#"{"id":"86"}"#,
        "--fault",
        "tampered-body",
    ])
    .await
    .expect(1);
    assert!(run.stdout.contains("401 Unauthorized"), "{}", run.stdout);

    let requests = php.requests();
    assert_eq!(requests.len(), 4);
    let product = &requests[0];
    assert!(product.verified);
    assert_eq!(product.uri, "/hooks/a2c");
    assert_eq!(product.header("X-Webhook-Note"), Some("café — 日本 😀"));
    assert_eq!(
        product.header("X-Webhook-Shop-Url"),
        Some("https://shop.example/a/b")
    );
    // PHP saw the vendor's case on the wire.
    let names: Vec<&str> = product.headers.iter().map(|(n, _)| n.as_str()).collect();
    for name in [
        "X-Webhook-Store-Id",
        "X-Webhook-Action",
        "X-Webhook-Entity",
        "X-Webhook-Error-Code",
        "X-Webhook-Timestamp",
        "X-Webhook-Signature",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let notice = &requests[1];
    assert!(notice.verified);
    assert!(notice.body.is_empty());
    assert_eq!(notice.header("X-Webhook-Error-Message"), Some(message));
    assert_eq!(notice.header("X-Webhook-Store-Id"), Some("2"));
    assert!(!requests[2].verified && !requests[3].verified);
}
