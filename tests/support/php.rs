//! The vendor's PHP: whether `php` can run here, the reference receiver under
//! `php -S`, and the reference sender.

use std::io::{BufRead, BufReader, ErrorKind as IoErrorKind};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use super::TIMEOUT;
use super::client::first_header;
use super::servers::closed_port;

/// True when php can be run. Without it: false (the test skips) with
/// `SKIPPED: php not found` on stderr, or a failure when `CI` is set, since CI
/// must run `what`.
pub fn php_available(what: &str) -> bool {
    match Command::new("php").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => panic!(
            "`php --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == IoErrorKind::NotFound => {
            super::unavailable("php not found on PATH", "php-cli", what)
        }
        Err(e) => panic!("cannot run php: {e}"),
    }
}

/// Sends one delivery to `url` with the vendor's signing code and PHP's own
/// HTTP client (`tests/support/php_sender.php`, whose header names its
/// `case`s); returns the answer's status and body.
pub fn php_send(url: &str, key: &str, case: &str) -> (u16, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/php_sender.php");
    let output = Command::new("php")
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

/// One request as the PHP receiver logged it.
#[derive(Debug)]
pub struct PhpRequest {
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub verified: bool,
}

impl PhpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }
}

/// `php -S` serving `tests/php/receiver.php` (the vendor's algorithm,
/// `api2cart_verify`) on loopback; killed when dropped, whatever the test's
/// outcome.
pub struct PhpReceiver {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl PhpReceiver {
    /// Starts the receiver with store key `key`; `None` (test skipped) when
    /// php is not installed.
    pub fn start(key: &str) -> Option<Self> {
        if !php_available("the PHP receiver tests") {
            return None;
        }
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let log = std::env::temp_dir().join(format!(
            "webhook-guard-mock-php-{}-{n}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&log);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/php/receiver.php");
        // A port could be taken between choosing and binding it: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = closed_port();
            let mut child = Command::new("php")
                .arg("-S")
                .arg(format!("127.0.0.1:{port}"))
                .arg(&script)
                .env("WEBHOOK_KEY", key)
                .env("RECEIVER_LOG", &log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run php -S");
            let stderr = child.stderr.take().expect("stderr");
            let (started_tx, started_rx) = mpsc::channel();
            // Reads the server's log to the end, so the pipe never fills; the
            // first line says whether it started.
            std::thread::spawn(move || {
                let mut started_tx = Some(started_tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(tx) = started_tx.take() {
                        let _ = tx.send(line);
                    }
                }
            });
            match started_rx.recv_timeout(TIMEOUT) {
                Ok(line) if line.contains("started") => {
                    return Some(Self {
                        child,
                        addr: SocketAddr::from(([127, 0, 0, 1], port)),
                        log,
                    });
                }
                Ok(line) => last_error = line,
                Err(_) => last_error = "no output from php -S".to_owned(),
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("php -S did not start: {last_error}");
    }

    /// The receiver's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request logged so far.
    pub fn requests(&self) -> Vec<PhpRequest> {
        let Ok(text) = std::fs::read_to_string(&self.log) else {
            return Vec::new();
        };
        text.lines()
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
                let headers = entry["headers"]
                    .as_array()
                    .expect("headers")
                    .iter()
                    .map(|pair| {
                        (
                            pair[0].as_str().expect("name").to_owned(),
                            pair[1].as_str().expect("value").to_owned(),
                        )
                    })
                    .collect();
                use base64::Engine as _;
                let body = base64::engine::general_purpose::STANDARD
                    .decode(entry["body_base64"].as_str().expect("body"))
                    .expect("base64 body");
                PhpRequest {
                    uri: entry["uri"].as_str().expect("uri").to_owned(),
                    headers,
                    body,
                    verified: entry["verified"].as_bool().expect("verified"),
                }
            })
            .collect()
    }
}

impl Drop for PhpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
