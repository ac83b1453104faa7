//! Deliveries signed now by the independent oracles (the official
//! `standardwebhooks` package, the UP42 reference signer written from UP42's
//! sample; `tests/oracles/sign_now.py`) are accepted by the axum and actix
//! receiver examples, run as built binaries on loopback, and by
//! `webhook-guard verify --scheme ...`; the same with one body byte or one
//! signed value changed are refused with 401. The AmeriCommerce route gets an
//! unsigned `webhook-guard send --unsigned` to a URL with the token.
//!
//! Without python3 and its packages the tests print `SKIPPED` and pass,
//! unless `CI` is set.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::client::send_h1;
use support::delivery::Delivery;
use support::examples::start;
use support::python::{python_available, run_json_lines};

const UP42_SECRET: &str = "up42 webhook secret";
const STANDARD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const TOKEN: &str = "k9Q2-americommerce-token";
const BIN: &str = env!("CARGO_BIN_EXE_webhook-guard");

/// One oracle delivery signed now: the headers as the oracle wrote them.
fn signed_now(recipe: &str, secret: &str, name: &str, body: &str) -> Delivery {
    let lines = run_json_lines("sign_now.py", &[recipe, secret, name, body], "");
    let line = &lines[0];
    let headers = line["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|pair| {
            let text = |i: usize| pair[i].as_str().expect("string").to_owned();
            (text(0), text(1).into_bytes())
        })
        .collect();
    Delivery {
        headers,
        body: line["body"].as_str().expect("body").as_bytes().to_vec(),
    }
}

/// The delivery and its two spoiled twins: one body byte changed, and one
/// signed header value changed.
fn with_spoiled(delivery: Delivery, signed: &str, other_value: &str) -> [Delivery; 3] {
    let mut body = delivery.body.clone();
    body[3] ^= 0x01;
    [
        delivery.clone(),
        delivery.clone().with_body(&body),
        delivery.with_header(signed, other_value),
    ]
}

fn up42_deliveries() -> [Delivery; 3] {
    let body = r#"{"event":"job.status","body":{"status":"SUCCEEDED","jobId":"j-1"}}"#;
    with_spoiled(
        signed_now("up42", UP42_SECRET, "job.status", body),
        "x-up42-event",
        "order.status",
    )
}

fn standard_deliveries() -> [Delivery; 3] {
    let body = r#"{"type":"invoice.paid","amount":4200}"#;
    with_spoiled(
        signed_now("standard", STANDARD_SECRET, "msg_2nS1xGJsDdI9", body),
        "webhook-id",
        "msg_2nS1xGJsDdI8",
    )
}

fn available() -> bool {
    python_available(
        &["standardwebhooks"],
        "the oracle deliveries to the examples and the CLI",
    )
}

/// Example `name` with every recipe's route on gets each oracle delivery
/// (200, one stdout line) and its spoiled twins (401, nothing printed).
async fn check_example(name: &'static str) {
    let env = [
        ("UP42_SECRET", UP42_SECRET),
        ("STANDARD_SECRET", STANDARD_SECRET),
        ("AMERICOMMERCE_TOKEN", TOKEN),
    ];
    let receiver = tokio::task::spawn_blocking(move || start(name, &env, &[]))
        .await
        .expect("start");
    let recipes = [
        (
            "/up42",
            up42_deliveries(),
            "up42 event=job.status status=SUCCEEDED",
        ),
        (
            "/standard",
            standard_deliveries(),
            "standard id=msg_2nS1xGJsDdI9 bytes=37",
        ),
    ];
    for (path, [valid, body_changed, value_changed], line) in recipes {
        let response = send_h1(receiver.addr, path, &valid).await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "ok"),
            "{name} {path}"
        );
        // The example is another process: blocking this worker stalls nothing.
        let printed = tokio::task::block_in_place(|| receiver.next_line());
        assert_eq!(printed, line);
        for spoiled in [body_changed, value_changed] {
            let response = send_h1(receiver.addr, path, &spoiled.lowercase()).await;
            assert_eq!(
                (response.status, response.text().as_str()),
                (401, "invalid webhook signature"),
                "{name} {path}"
            );
        }
    }

    // AmeriCommerce signs nothing: the CLI sends as it does, to the URL as given.
    let send = |token: &str| {
        let url = format!("http://{}/americommerce?token={token}", receiver.addr);
        Command::new(BIN)
            .args([
                "send",
                "--unsigned",
                "--url",
                &url,
                "--body",
                r#"{"order_id":42}"#,
            ])
            .output()
            .expect("run webhook-guard send")
    };
    let sent = tokio::task::block_in_place(|| (send(TOKEN), send("k9Q2-guess")));
    assert_eq!(sent.0.status.code(), Some(0), "{sent:?}");
    assert_eq!(sent.1.status.code(), Some(1), "{sent:?}");
    assert!(String::from_utf8_lossy(&sent.1.stdout).contains("401"));
    let printed = tokio::task::block_in_place(|| {
        let line = receiver.next_line();
        receiver.assert_quiet();
        line
    });
    assert_eq!(printed, "americommerce bytes=15");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_example_accepts_the_oracles_deliveries_and_refuses_their_spoiled_twins() {
    if available() {
        check_example("axum_receiver").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actix_example_accepts_the_oracles_deliveries_and_refuses_their_spoiled_twins() {
    if available() {
        check_example("actix_receiver").await;
    }
}

/// A directory for captures, removed on drop.
struct Captures(PathBuf);

impl Drop for Captures {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn webhook_guard_verify_accepts_the_oracles_deliveries_and_refuses_their_spoiled_twins() {
    if !available() {
        return;
    }
    let dir = Captures(std::env::temp_dir().join(format!("wg-scheme-cli-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let recipes = [
        ("up42", UP42_SECRET, up42_deliveries()),
        ("standard", STANDARD_SECRET, standard_deliveries()),
    ];
    for (scheme, secret, deliveries) in recipes {
        for (i, delivery) in deliveries.iter().enumerate() {
            let headers: String = delivery
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {}\n", String::from_utf8_lossy(v)))
                .collect();
            let headers_file = dir.0.join(format!("{scheme}-{i}.headers"));
            let body_file = dir.0.join(format!("{scheme}-{i}.body"));
            std::fs::write(&headers_file, headers).expect("write");
            std::fs::write(&body_file, &delivery.body).expect("write");
            let out = Command::new(BIN)
                .args([
                    "verify",
                    "--scheme",
                    scheme,
                    "--secret-env",
                    "ORACLE_SECRET",
                ])
                .arg("--headers-file")
                .arg(&headers_file)
                .arg("--body-file")
                .arg(&body_file)
                .env("ORACLE_SECRET", secret)
                .output()
                .expect("run webhook-guard verify");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let expected = if i == 0 { 0 } else { 1 };
            assert_eq!(out.status.code(), Some(expected), "{scheme} #{i}: {stdout}");
            let verdict = if i == 0 { "valid" } else { "refused" };
            assert!(
                stdout.starts_with(&format!("verdict:      {verdict}")),
                "{stdout}"
            );
        }
    }
}
