//! The examples as a user runs them: built binaries listening on loopback, and
//! the checks every receiver example must pass.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::client::send_h1;
use super::delivery::Delivery;
use super::php::{php_available, php_send};
use super::process::Spawned;

/// The store key the receiver examples are started with.
pub const SECRET: &str = "php-interop-store-key";
/// The key a receiver example falls back to without `WEBHOOK_SECRET`.
pub const DEMO_KEY: &str = "webhook-guard-demo-key";
const STARTUP: Duration = Duration::from_secs(30);
const LINE: Duration = Duration::from_secs(10);

/// A running example, killed when dropped, whatever the test's outcome.
pub struct Running {
    process: Spawned,
    pub addr: SocketAddr,
}

impl Running {
    /// The next line the example printed on stdout.
    pub fn next_line(&self) -> String {
        self.process
            .stdout
            .recv_timeout(LINE)
            .unwrap_or_else(|_| panic!("no stdout line; stderr: {:?}", self.stderr()))
    }

    /// Every stdout line the example prints until it has been quiet for a
    /// while (and at most for [`LINE`] in all).
    pub fn drain_lines(&self) -> Vec<String> {
        self.process.drain_stdout(Duration::from_millis(300), LINE)
    }

    /// Fails if the example printed anything more on stdout.
    pub fn assert_quiet(&self) {
        if let Ok(line) = self.process.stdout.recv_timeout(Duration::from_millis(200)) {
            panic!("unexpected stdout line {line:?}");
        }
    }

    /// Every line the example printed on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.process.stderr()
    }
}

/// The example's binary: `cargo test` builds examples into
/// `<target>/<profile>/examples/`, next to this test's `deps/`. Built here
/// too (a no-op when it is up to date), for `cargo test --test <one test>`.
pub fn example_binary(name: &str) -> PathBuf {
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
        ("ed25519", cfg!(feature = "ed25519")),
        ("tower", cfg!(feature = "tower")),
        ("axum", cfg!(feature = "axum")),
        ("actix", cfg!(feature = "actix")),
        ("mock", cfg!(feature = "mock")),
        ("cli", cfg!(feature = "cli")),
        ("redis", cfg!(feature = "redis")),
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

/// Starts example `name` on a loopback port of the system's choosing with
/// `env` and without `unset`, and waits until it says where it listens.
pub fn start(name: &str, env: &[(&str, &str)], unset: &[&str]) -> Running {
    let mut command = Command::new(example_binary(name));
    command
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "webhook_guard=debug")
        .envs(env.iter().copied());
    for var in unset {
        command.env_remove(var);
    }
    let process = Spawned::spawn(command, name);
    // The example says where it listens on stderr, once it does.
    let deadline = Instant::now() + STARTUP;
    let addr = loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        let line = process
            .stderr_lines
            .recv_timeout(wait)
            .unwrap_or_else(|_| panic!("{name} did not start; stderr: {:?}", process.stderr()));
        if let Some(addr) = line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse::<SocketAddr>().ok())
        {
            break addr;
        }
    };
    Running { process, addr }
}

/// The clock now, in Unix seconds.
pub fn now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_secs()).expect("seconds fit i64")
}

/// Receiver example `name`, started with [`SECRET`], gets the vendor's own
/// PHP deliveries over real HTTP/1.1 in the vendor's header case: a signed
/// delivery and a lost-connection notice get `200 ok` and one stdout line
/// each; the same with one body byte changed, without a signature, with a
/// stale timestamp or signed with another key get 401 and print nothing.
pub fn check_php_sender(name: &str) {
    if !php_available("the PHP interoperability check") {
        return;
    }
    let receiver = start(name, &[("WEBHOOK_SECRET", SECRET)], &[]);
    let url = format!("http://{}/webhooks", receiver.addr);

    let sent = php_send(&url, SECRET, "event");
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

    let tampered = php_send(&url, SECRET, "tampered");
    assert_eq!(tampered, (401, "invalid webhook signature".to_owned()));

    let unsigned = php_send(&url, SECRET, "unsigned");
    assert_eq!(unsigned, (401, "missing webhook signature".to_owned()));

    let stale = php_send(&url, SECRET, "stale");
    assert_eq!(
        stale,
        (401, "webhook timestamp outside tolerance".to_owned())
    );

    let wrong_key = php_send(&url, "not-the-store-key", "event");
    assert_eq!(wrong_key, (401, "invalid webhook signature".to_owned()));

    // A lost-connection notice: empty body, `/`, `"` and non-ASCII in a signed value.
    let notice = php_send(&url, SECRET, "notice");
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

/// Receiver example `name`, started without `WEBHOOK_SECRET`, says on stderr
/// that it uses [`DEMO_KEY`], accepts deliveries signed with it in either
/// name case, refuses those signed with [`SECRET`], and serves only
/// `POST /webhooks`.
pub async fn check_demo_key_fallback(name: &'static str) {
    let receiver = tokio::task::spawn_blocking(move || start(name, &[], &["WEBHOOK_SECRET"]))
        .await
        .expect("start");
    assert!(
        receiver.stderr().iter().any(|l| l.contains(DEMO_KEY)),
        "stderr: {:?}",
        receiver.stderr()
    );
    let body = br#"{"id":"1"}"#;
    let demo = Delivery::product(DEMO_KEY, now(), body);
    let response = send_h1(receiver.addr, "/webhooks", &demo).await;
    assert_eq!((response.status, response.text().as_str()), (200, "ok"));
    let response = send_h1(receiver.addr, "/webhooks", &demo.clone().lowercase()).await;
    assert_eq!((response.status, response.text().as_str()), (200, "ok"));

    let ours = Delivery::product(SECRET, now(), body);
    let response = send_h1(receiver.addr, "/webhooks", &ours).await;
    assert_eq!(response.status, 401);
    let response = send_h1(receiver.addr, "/webhooks", &ours.lowercase()).await;
    assert_eq!(response.status, 401);

    let response = send_h1(receiver.addr, "/hooks", &demo).await;
    assert_eq!(response.status, 404);
}
