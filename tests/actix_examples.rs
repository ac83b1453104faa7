//! The actix-web receiver example as a user runs it: the built binary,
//! listening on loopback.
//!
//! It is checked against the vendor's own signing algorithm in PHP
//! (`tests/php/api2cart_reference.php`, sent by `tests/actix_support/php_sender.php`
//! over real HTTP/1.1 in the vendor's header case): a signed delivery gets
//! 200, the same with one body byte changed, without a signature, with a stale
//! timestamp or signed with another key gets 401.

mod actix_support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_support::{Delivery, send_h1};

const SECRET: &str = "php-interop-store-key";
const EXAMPLE: &str = "actix_receiver";
const STARTUP: Duration = Duration::from_secs(30);
const LINE: Duration = Duration::from_secs(10);

/// A running example, killed when dropped, whatever the test's outcome.
struct Running {
    child: Child,
    addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// The next line the example printed on stdout.
    fn next_line(&self) -> String {
        self.stdout
            .recv_timeout(LINE)
            .unwrap_or_else(|_| panic!("no stdout line; stderr: {:?}", self.stderr()))
    }

    /// Fails if the example printed anything more on stdout.
    fn assert_quiet(&self) {
        if let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(200)) {
            panic!("unexpected stdout line {line:?}");
        }
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example's binary: `cargo test` builds examples into
/// `<target>/<profile>/examples/`, next to this test's `deps/`. Built here
/// too (a no-op when it is up to date), for `cargo test --test actix_examples`.
fn example_binary(name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_build_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());

    // <target>/<profile>/deps/<this test>  ->  <target>/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target dir");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    // The features this test was built with, so that the build is the one
    // `cargo test` made (and a no-op) rather than a rebuild.
    let features: Vec<&str> = [
        ("http", cfg!(feature = "http")),
        ("tower", cfg!(feature = "tower")),
        ("axum", cfg!(feature = "axum")),
        ("actix", cfg!(feature = "actix")),
        ("mock", cfg!(feature = "mock")),
        ("cli", cfg!(feature = "cli")),
    ]
    .into_iter()
    .filter_map(|(feature, on)| on.then_some(feature))
    .collect();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--example", name])
        .args(["--features", &features.join(",")])
        .args(["--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --example {name} failed");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Starts the example on a loopback port of the system's choosing with `env`,
/// and waits until it says where it listens.
fn start(env: &[(&str, &str)], unset: &[&str]) -> Running {
    let mut command = Command::new(example_binary(EXAMPLE));
    command
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "webhook_guard=debug")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in unset {
        command.env_remove(var);
    }
    let mut child = command.spawn().expect("spawn the example");

    let (line_tx, stdout) = mpsc::channel();
    let out = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });

    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (addr_tx, addr_rx) = mpsc::channel();
    let err = child.stderr.take().expect("piped stderr");
    let lines = Arc::clone(&stderr);
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(addr) = line
                .strip_prefix("listening on http://")
                .and_then(|rest| rest.split('/').next())
                .and_then(|addr| addr.parse::<SocketAddr>().ok())
            {
                let _ = addr_tx.send(addr);
            }
            if let Ok(mut lines) = lines.lock() {
                lines.push(line);
            }
        }
    });

    // From here on, the child is killed on every path, panics included.
    let mut running = Running {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        stdout,
        stderr,
    };
    running.addr = addr_rx
        .recv_timeout(STARTUP)
        .unwrap_or_else(|_| panic!("{EXAMPLE} did not start; stderr: {:?}", running.stderr()));
    running
}

/// `php`, or `None` (and the reason printed) when it is not installed here.
/// In CI, a missing `php` fails the test instead.
fn php() -> Option<&'static str> {
    let found = Command::new("php")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("php");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "php not found, and CI is set: the interoperability check must run in CI"
    );
    eprintln!("SKIPPED: php not found");
    None
}

/// Sends one delivery with the vendor's PHP code; returns (status, body).
fn php_send(php: &str, url: &str, key: &str, case: &str) -> (u16, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/actix_support/php_sender.php"
    );
    let output = Command::new(php)
        .args([script, url, key, case])
        .stdin(Stdio::null())
        .output()
        .expect("run php");
    assert!(
        output.status.success(),
        "php sender failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8 output");
    let (status, body) = text.split_once('\n').expect("status line");
    (status.parse().expect("status code"), body.to_owned())
}

#[test]
fn the_vendors_php_sender_is_accepted_by_the_actix_receiver_and_tampering_is_not() {
    let Some(php) = php() else {
        return;
    };
    let receiver = start(&[("WEBHOOK_SECRET", SECRET)], &[]);
    let url = format!("http://{}/webhooks", receiver.addr);

    let sent = php_send(php, &url, SECRET, "event");
    assert_eq!(
        sent,
        (200, "ok".to_owned()),
        "stderr: {:?}",
        receiver.stderr()
    );
    assert_eq!(
        receiver.next_line(),
        "entity=product action=update store_id=1"
    );

    let tampered = php_send(php, &url, SECRET, "tampered");
    assert_eq!(tampered, (401, "invalid webhook signature".to_owned()));

    let unsigned = php_send(php, &url, SECRET, "unsigned");
    assert_eq!(unsigned, (401, "missing webhook signature".to_owned()));

    let stale = php_send(php, &url, SECRET, "stale");
    assert_eq!(
        stale,
        (401, "webhook timestamp outside tolerance".to_owned())
    );

    let wrong_key = php_send(php, &url, "not-the-store-key", "event");
    assert_eq!(wrong_key, (401, "invalid webhook signature".to_owned()));

    // A lost-connection notice: empty body, `/`, `"` and non-ASCII in a signed value.
    let notice = php_send(php, &url, SECRET, "notice");
    assert_eq!(
        notice,
        (200, "ok".to_owned()),
        "stderr: {:?}",
        receiver.stderr()
    );
    assert_eq!(
        receiver.next_line(),
        "entity=cart action=update store_id=1 error_code=3"
    );

    // Refused deliveries printed nothing.
    receiver.assert_quiet();
}

fn now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_secs()).expect("seconds fit i64")
}

#[actix_rt::test]
async fn the_actix_receiver_falls_back_to_the_demo_key_and_says_so() {
    let receiver = actix_web::rt::task::spawn_blocking(|| start(&[], &["WEBHOOK_SECRET"]))
        .await
        .expect("start");
    assert!(
        receiver
            .stderr()
            .iter()
            .any(|l| l.contains("webhook-guard-demo-key")),
        "stderr: {:?}",
        receiver.stderr()
    );
    let body = br#"{"id":"1"}"#;
    let demo = Delivery::product("webhook-guard-demo-key", now(), body).lowercase();
    let response = send_h1(receiver.addr, "/webhooks", &demo).await;
    assert_eq!((response.status, response.text().as_str()), (200, "ok"));
    let response = send_h1(
        receiver.addr,
        "/webhooks",
        &Delivery::product(SECRET, now(), body),
    )
    .await;
    assert_eq!(response.status, 401);
    // Only POST /webhooks is served.
    let response = send_h1(receiver.addr, "/hooks", &demo).await;
    assert_eq!(response.status, 404);
}
