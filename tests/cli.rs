//! The `webhook-guard` binary, run for real in temporary directories.
//!
//! The PHP tests sign with the vendor's reference algorithm
//! (`tests/php/api2cart_reference.php`) through `php -r`. Without `php` on
//! PATH they print `SKIPPED: php not found` and pass, unless `CI` is set.

mod support;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use webhook_guard::{SignedHeaders, Signer};

use support::php::php_available;
use support::{KEY, NOW};

const BIN: &str = env!("CARGO_BIN_EXE_webhook-guard");

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "webhook-guard-cli-{}-{test}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    /// Writes `bytes` to `name` in the directory and returns its path.
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one run of the binary printed, and its exit status.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Asserts the exit status, showing everything printed when it differs.
    #[track_caller]
    fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit status\n--- stdout\n{}--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The value of `label:` in verify's output.
    #[track_caller]
    fn field(&self, label: &str) -> &str {
        let prefix = format!("{label}:");
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no `{label}:` line in\n{}", self.stdout))
    }
}

/// Runs the binary with `args`.
fn run<S: AsRef<OsStr>>(args: &[S]) -> Run {
    run_with_stdin(args, b"")
}

/// Runs the binary with `args`, `stdin` piped in.
fn run_with_stdin<S: AsRef<OsStr>>(args: &[S], stdin: &[u8]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run webhook-guard");
    // The binary may exit before reading stdin: a broken pipe is fine here.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    Run::from_output(child.wait_with_output().expect("wait for webhook-guard"))
}

/// `webhook-guard sign --secret key` with one `--header` per entry of `headers`
/// and `extra` arguments; returns the printed header block.
fn sign(key: &str, headers: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["sign", "--secret", key];
    for header in headers {
        args.extend(["--header", header]);
    }
    args.extend(extra);
    run(&args).expect(0).stdout
}

/// `webhook-guard verify --secret key --headers-file H --body-file B extra...`.
fn verify(key: &str, headers_file: &Path, body_file: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<&OsStr> = vec![
        "verify".as_ref(),
        "--secret".as_ref(),
        key.as_ref(),
        "--headers-file".as_ref(),
        headers_file.as_os_str(),
        "--body-file".as_ref(),
        body_file.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    run(&args)
}

/// A header file: one `Name: value` line per pair, then the signature.
fn header_file(pairs: &[(&str, &str)], signature: &str) -> String {
    let mut text: String = pairs.iter().map(|(n, v)| format!("{n}: {v}\n")).collect();
    text.push_str(&format!("X-Webhook-Signature: {signature}\n"));
    text
}

/// The signature the library's own signer makes.
fn library_signature(key: &str, pairs: &[(&str, &str)], body: &[u8]) -> String {
    let signed = SignedHeaders::from_pairs(pairs.iter().copied()).expect("valid headers");
    Signer::new(key).sign(&signed, body)
}

/// A product update for store 1, timestamped `timestamp`.
fn product_headers(timestamp: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Webhook-Store-Id", "1".into()),
        ("X-Webhook-Action", "update".into()),
        ("X-Webhook-Entity", "product".into()),
        ("X-Webhook-Error-Code", "0".into()),
        ("X-Webhook-Timestamp", timestamp.into()),
    ]
}

fn as_refs<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// Writes a delivery of `pairs` and `body` signed by the library with `key`.
fn signed_delivery(
    dir: &TempDir,
    key: &str,
    pairs: &[(&str, &str)],
    body: &[u8],
) -> (PathBuf, PathBuf) {
    let signature = library_signature(key, pairs, body);
    (
        dir.write("headers.txt", header_file(pairs, &signature)),
        dir.write("body.json", body),
    )
}

// ---------------------------------------------------------------------------
// The vendor's PHP
// ---------------------------------------------------------------------------

/// How PHP encodes the header map it signs.
#[derive(Clone, Copy)]
enum PhpJson {
    /// The vendor's `api2cart_signature` (json_encode with default flags).
    Vendor,
    /// The same map encoded with `JSON_UNESCAPED_SLASHES`: a receiver that gets
    /// the escaping wrong would compute this.
    UnescapedSlashes,
}

/// Signs `pairs` (vendor case) and `body` with `key` in php-cli.
fn php_signature(pairs: &[(&str, &str)], body: &str, key: &str, json: PhpJson) -> String {
    const CODE: &str = r#"
        [, $reference, $headersJson, $body, $key, $mode] = $argv;
        require $reference;
        $headers = json_decode($headersJson, true, 4, JSON_THROW_ON_ERROR);
        if ($mode === 'vendor') {
            echo api2cart_signature($headers, $body, $key);
        } else {
            ksort($headers);
            $json = json_encode($headers, JSON_UNESCAPED_SLASHES);
            echo base64_encode(hash_hmac('sha256', $json . $body, $key, true));
        }
    "#;
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/php/api2cart_reference.php");
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), serde_json::Value::from(*v)))
        .collect();
    let mode = match json {
        PhpJson::Vendor => "vendor",
        PhpJson::UnescapedSlashes => "unescaped-slashes",
    };
    let output = Command::new("php")
        .arg("-r")
        .arg(CODE)
        .arg(reference)
        .arg(serde_json::Value::Object(map).to_string())
        .arg(body)
        .arg(key)
        .arg(mode)
        .output()
        .expect("run php -r");
    assert!(
        output.status.success(),
        "php failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let signature = String::from_utf8(output.stdout).expect("php printed UTF-8");
    assert_eq!(signature.len(), 44, "php printed {signature:?}");
    signature
}

/// A delivery as the vendor sends it: headers with slashes, quotes and
/// non-ASCII text, a body with slashes and an escaped quote.
const PHP_BODY: &str =
    r#"{"id":"86","name":"Caf\u00e9 \"Deluxe\"","url":"https://shop.example/p/86"}"#;

fn php_headers() -> Vec<(&'static str, String)> {
    let mut pairs = product_headers(&NOW.to_string());
    pairs.push((
        "X-Webhook-Error-Message",
        r#"sync/retry "later" — café 日本 😀"#.into(),
    ));
    pairs.push((
        "X-Webhook-Callback",
        "https://shop.example/hooks/a2c".into(),
    ));
    pairs
}

// ---------------------------------------------------------------------------
// sign, then verify
// ---------------------------------------------------------------------------

#[test]
fn sign_then_verify_round_trip_with_slashes_quotes_and_non_ascii() {
    let dir = TempDir::new("round-trip");
    let body = r#"{"id":"86","path":"a/b","name":"\"quoted\" café"}"#;
    let headers = sign(
        KEY,
        &[
            "x-webhook-store-id: 1",
            "X-WEBHOOK-ACTION: update",
            "X-Webhook-Entity: product",
            r#"X-Webhook-Error-Message: path /a/b "quoted" — café 日本 😀"#,
            "Content-Type: application/json",
        ],
        &["--body", body, "--timestamp", &NOW.to_string()],
    );
    let headers_file = dir.write("headers.txt", &headers);
    let body_file = dir.write("body.json", body);

    let out = verify(KEY, &headers_file, &body_file, &["--now", &NOW.to_string()]).expect(0);
    assert_eq!(out.field("verdict"), "valid");
    assert_eq!(out.field("key"), "secret-1");
    assert_eq!(out.field("entity"), "product");
    assert_eq!(out.field("action"), "update");
    assert_eq!(out.field("store id"), "1");
    assert!(
        out.field("timestamp")
            .starts_with(&format!("{NOW} (age 0 s")),
        "{}",
        out.stdout
    );
    assert_eq!(out.field("error notice"), "none");
    assert_eq!(out.field("body"), format!("{} bytes", body.len()));
}

#[test]
fn sign_output_is_name_value_lines_in_vendor_case_signature_last() {
    let body = r#"{"id":"1","url":"https://x.example/a"}"#;
    let out = sign(
        KEY,
        &[
            "x-webhook-entity: order",
            "X-WEBHOOK-ACTION:add",
            "content-type: application/json",
            "x-webhook-store-id:  7 ",
        ],
        &["--body", body, "--timestamp", "1516291592"],
    );
    let lines: Vec<&str> = out.lines().collect();
    let signature = library_signature(
        KEY,
        &[
            ("X-Webhook-Entity", "order"),
            ("X-Webhook-Action", "add"),
            ("X-Webhook-Store-Id", "7"),
            ("X-Webhook-Timestamp", "1516291592"),
        ],
        body.as_bytes(),
    );
    assert_eq!(
        lines,
        [
            "X-Webhook-Action: add",
            "X-Webhook-Entity: order",
            "X-Webhook-Store-Id: 7",
            "X-Webhook-Timestamp: 1516291592",
            "content-type: application/json",
            &format!("X-Webhook-Signature: {signature}"),
        ]
    );
    assert!(out.ends_with('\n'));
}

#[test]
fn sign_timestamp_now_uses_the_system_clock() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let out = sign(KEY, &["X-Webhook-Entity: product"], &["--timestamp", "now"]);
    let stamp: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("X-Webhook-Timestamp: "))
        .expect("timestamp line")
        .parse()
        .expect("timestamp is seconds");
    assert!(
        stamp >= before && stamp <= before + 60,
        "{stamp} vs {before}"
    );
}

#[test]
fn sign_reads_the_body_from_a_file_or_stdin_byte_for_byte() {
    let dir = TempDir::new("body-file");
    let body: &[u8] = b"\xff\x00not json\r\n";
    let body_file = dir.write("body.bin", body);
    let from_file = sign(
        KEY,
        &["X-Webhook-Entity: product"],
        &["--body-file", body_file.to_str().expect("UTF-8 temp path")],
    );
    let from_stdin = run_with_stdin(
        &[
            "sign",
            "--secret",
            KEY,
            "-H",
            "X-Webhook-Entity: product",
            "--body-file",
            "-",
        ],
        body,
    )
    .expect(0)
    .stdout;
    assert_eq!(from_file, from_stdin);
    let expected = library_signature(KEY, &[("X-Webhook-Entity", "product")], body);
    assert!(from_file.ends_with(&format!("X-Webhook-Signature: {expected}\n")));

    let headers_file = dir.write("headers.txt", &from_file);
    let out = verify(KEY, &headers_file, &body_file, &[]).expect(0);
    assert_eq!(out.field("body"), format!("{} bytes", body.len()));
    assert_eq!(out.field("timestamp"), "(not sent)");
}

#[test]
fn sign_prints_an_empty_value_as_curl_does_and_verify_reads_it() {
    let dir = TempDir::new("empty-value");
    let out = sign(
        KEY,
        &[
            "X-Webhook-Error-Code: 3",
            "X-Webhook-Error-Reason:",
            "X-Webhook-Error-Message: Store is unreachable",
            "X-Webhook-Error-Try-Count: 2",
        ],
        &[],
    );
    assert!(out.contains("\nX-Webhook-Error-Reason;\n"), "{out}");
    let headers_file = dir.write("headers.txt", &out);
    let body_file = dir.write("body.json", "");
    let out = verify(KEY, &headers_file, &body_file, &[]).expect(0);
    assert_eq!(
        out.field("error notice"),
        r#"code 3, reason "", message "Store is unreachable", try count 2"#
    );
    assert_eq!(out.field("body"), "0 bytes");
}

#[test]
fn sign_warns_about_a_timestamp_that_is_not_unix_seconds_but_signs_it() {
    let out = run(&[
        "sign",
        "--secret",
        KEY,
        "--header",
        "X-Webhook-Timestamp: yesterday",
    ])
    .expect(0);
    assert!(out.stdout.starts_with("X-Webhook-Timestamp: yesterday\n"));
    assert!(out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn sign_refuses_ambiguous_or_unsendable_headers_with_exit_2() {
    let cases: &[&[&str]] = &[
        &["--header", "no colon here"],
        &["--header", "X-Webhook-Signature: abc"],
        &[
            "--header",
            "x-webhook-action: add",
            "--header",
            "X-Webhook-Action: add",
        ],
        &["--header", "X-Webhook-Timestamp: 1", "--timestamp", "2"],
        &["--header", "X-Webhook-Entity: a\u{1b}[31mred"],
        &["--header", "X-Webhook-Entity: a\nX-Webhook-Action: b"],
        &["--timestamp", "yesterday"],
        &["--timestamp", "-5"],
        &["--body", "{}", "--body-file", "b.json"],
    ];
    for extra in cases {
        let mut args = vec!["sign", "--secret", KEY];
        args.extend(*extra);
        let out = run(&args).expect(2);
        assert!(out.stdout.is_empty(), "{extra:?}: {}", out.stdout);
        assert!(!out.stderr.is_empty(), "{extra:?}: no message");
    }
}

// ---------------------------------------------------------------------------
// Deliveries signed by the vendor's PHP
// ---------------------------------------------------------------------------

#[test]
fn php_signed_delivery_is_accepted() {
    if !php_available("the CLI tests") {
        return;
    }
    let dir = TempDir::new("php-accepted");
    let pairs = php_headers();
    let pairs = as_refs(&pairs);
    let signature = php_signature(&pairs, PHP_BODY, KEY, PhpJson::Vendor);
    let headers_file = dir.write("headers.txt", header_file(&pairs, &signature));
    let body_file = dir.write("body.json", PHP_BODY);

    let out = verify(KEY, &headers_file, &body_file, &["--now", &NOW.to_string()]).expect(0);
    assert_eq!(out.field("entity"), "product");
    assert_eq!(out.field("body"), format!("{} bytes", PHP_BODY.len()));
    // The library signs the same bytes.
    assert_eq!(
        signature,
        library_signature(KEY, &pairs, PHP_BODY.as_bytes())
    );
}

#[test]
fn php_signed_delivery_is_accepted_with_lowercased_names() {
    if !php_available("the CLI tests") {
        return;
    }
    let dir = TempDir::new("php-lowercase");
    let pairs = php_headers();
    let pairs = as_refs(&pairs);
    let signature = php_signature(&pairs, PHP_BODY, KEY, PhpJson::Vendor);
    let text = header_file(&pairs, &signature);
    let lowercased: String = text
        .lines()
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            format!("{}:{value}\r\n", name.to_ascii_lowercase())
        })
        .collect();
    let text = format!("POST /webhooks HTTP/1.1\r\nhost: shop.example\r\n{lowercased}");
    let headers_file = dir.write("headers.txt", text);
    let body_file = dir.write("body.json", PHP_BODY);

    let out = verify(KEY, &headers_file, &body_file, &["--now", &NOW.to_string()]).expect(0);
    assert_eq!(out.field("store id"), "1");
}

#[test]
fn php_signed_delivery_with_one_body_byte_changed_is_refused() {
    if !php_available("the CLI tests") {
        return;
    }
    let dir = TempDir::new("php-body-byte");
    let pairs = php_headers();
    let pairs = as_refs(&pairs);
    let signature = php_signature(&pairs, PHP_BODY, KEY, PhpJson::Vendor);
    let headers_file = dir.write("headers.txt", header_file(&pairs, &signature));
    let tampered = PHP_BODY.replacen("86", "87", 1);
    assert_eq!(tampered.len(), PHP_BODY.len());
    let body_file = dir.write("body.json", tampered);

    let out = verify(KEY, &headers_file, &body_file, &["--now", &NOW.to_string()]).expect(1);
    assert_eq!(out.field("verdict"), "refused");
    assert_eq!(out.field("status"), "401");
    assert_eq!(out.field("reason"), "invalid webhook signature");
    assert_eq!(out.field("detail"), "signature matches no key");
}

#[test]
fn php_signed_delivery_with_one_header_value_changed_is_refused() {
    if !php_available("the CLI tests") {
        return;
    }
    let dir = TempDir::new("php-header-value");
    let pairs = php_headers();
    let pairs = as_refs(&pairs);
    let signature = php_signature(&pairs, PHP_BODY, KEY, PhpJson::Vendor);
    let changed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|&(n, v)| (n, if n == "X-Webhook-Action" { "delete" } else { v }))
        .collect();
    let headers_file = dir.write("headers.txt", header_file(&changed, &signature));
    let body_file = dir.write("body.json", PHP_BODY);

    let out = verify(KEY, &headers_file, &body_file, &["--now", &NOW.to_string()]).expect(1);
    assert_eq!(out.field("status"), "401");
}

#[test]
fn php_signature_over_unescaped_slashes_is_refused() {
    if !php_available("the CLI tests") {
        return;
    }
    let dir = TempDir::new("php-slashes");
    let pairs = php_headers();
    let pairs = as_refs(&pairs);
    assert!(pairs.iter().any(|(_, v)| v.contains('/')));
    let vendor = php_signature(&pairs, PHP_BODY, KEY, PhpJson::Vendor);
    let unescaped = php_signature(&pairs, PHP_BODY, KEY, PhpJson::UnescapedSlashes);
    assert_ne!(vendor, unescaped, "the headers must contain a slash");
    let headers_file = dir.write("headers.txt", header_file(&pairs, &unescaped));
    let body_file = dir.write("body.json", PHP_BODY);

    let out = verify(KEY, &headers_file, &body_file, &["--now", &NOW.to_string()]).expect(1);
    assert_eq!(out.field("status"), "401");
}

#[test]
fn vendor_published_sample_is_accepted() {
    // The delivery API2Cart publishes in its documentation (seed 001), from 2018.
    let dir = TempDir::new("vendor-sample");
    let headers_file = dir.write(
        "headers.txt",
        "X-Webhook-Store-Id: 1\nX-Webhook-Action: update\nX-Webhook-Entity: product\n\
         X-Webhook-Error-Code: 0\nX-Webhook-Timestamp: 1516291592\n\
         X-Webhook-Signature: EkgyptwvqdQXvELT/gyv/oceZE6Nm18sH7bt/OSt4wo=\n",
    );
    let body_file = dir.write("body.json", r#"{"id":"86","name":"test product"}"#);
    let out = verify("store-key", &headers_file, &body_file, &["--no-tolerance"]).expect(0);
    assert!(out.field("timestamp").ends_with("tolerance off)"));
    verify("store-key", &headers_file, &body_file, &[]).expect(1);
}

// ---------------------------------------------------------------------------
// Freshness
// ---------------------------------------------------------------------------

fn delivery_at(dir: &TempDir, timestamp: i64) -> (PathBuf, PathBuf) {
    let pairs = product_headers(&timestamp.to_string());
    signed_delivery(dir, KEY, &as_refs(&pairs), br#"{"id":"86"}"#)
}

#[test]
fn stale_timestamp_is_refused_by_default_and_accepted_without_tolerance() {
    let dir = TempDir::new("stale");
    let (headers, body) = delivery_at(&dir, NOW - 3600);
    let now = NOW.to_string();

    let out = verify(KEY, &headers, &body, &["--now", &now]).expect(1);
    assert_eq!(out.field("reason"), "webhook timestamp outside tolerance");
    assert_eq!(out.field("status"), "401");
    assert_eq!(
        out.field("timestamp"),
        format!("{} (age 3600 s at now {NOW}; tolerance 300 s)", NOW - 3600)
    );

    let out = verify(KEY, &headers, &body, &["--now", &now, "--no-tolerance"]).expect(0);
    assert_eq!(out.field("verdict"), "valid");
}

#[test]
fn tolerance_is_inclusive_at_the_boundary_in_both_directions() {
    let dir = TempDir::new("boundary");
    let (headers, body) = delivery_at(&dir, NOW);
    let judge = |now: i64| {
        let now = now.to_string();
        verify(KEY, &headers, &body, &["--tolerance", "60", "--now", &now]).code
    };
    assert_eq!(judge(NOW + 60), Some(0), "exactly 60 s old");
    assert_eq!(judge(NOW + 61), Some(1), "61 s old");
    assert_eq!(judge(NOW - 60), Some(0), "exactly 60 s in the future");
    assert_eq!(judge(NOW - 61), Some(1), "61 s in the future");
}

#[test]
fn default_tolerance_is_300_seconds() {
    let dir = TempDir::new("default-tolerance");
    let (headers, body) = delivery_at(&dir, NOW);
    let at = |now: i64| verify(KEY, &headers, &body, &["--now", &now.to_string()]).code;
    assert_eq!(at(NOW + 300), Some(0));
    assert_eq!(at(NOW + 301), Some(1));
}

#[test]
fn require_timestamp_refuses_a_delivery_without_one() {
    let dir = TempDir::new("require-timestamp");
    let (headers, body) = signed_delivery(&dir, KEY, &[("X-Webhook-Entity", "order")], b"{}");
    verify(KEY, &headers, &body, &[]).expect(0);
    let out = verify(KEY, &headers, &body, &["--require-timestamp"]).expect(1);
    assert_eq!(out.field("reason"), "missing webhook timestamp");
}

// ---------------------------------------------------------------------------
// Keys, malformed deliveries, usage errors
// ---------------------------------------------------------------------------

#[test]
fn rotation_reports_the_second_secret() {
    let dir = TempDir::new("rotation");
    let (headers, body) = signed_delivery(
        &dir,
        "new-store-key",
        &[
            ("X-Webhook-Entity", "customer"),
            ("X-Webhook-Action", "add"),
        ],
        b"{}",
    );
    let out = run(&[
        "verify".as_ref(),
        "--secret".as_ref(),
        "old-store-key".as_ref(),
        "--secret".as_ref(),
        "new-store-key".as_ref(),
        "--headers-file".as_ref(),
        headers.as_os_str(),
        "--body-file".as_ref(),
        body.as_os_str(),
    ])
    .expect(0);
    assert_eq!(out.field("key"), "secret-2");
    assert_eq!(out.field("entity"), "customer");
    // The secrets are never printed.
    assert!(!out.stdout.contains("store-key"), "{}", out.stdout);
}

#[test]
fn duplicate_action_in_two_cases_is_refused_with_400() {
    let dir = TempDir::new("duplicate");
    let pairs = [("X-Webhook-Entity", "product"), ("X-Webhook-Action", "add")];
    let signature = library_signature(KEY, &pairs, b"{}");
    let text = format!(
        "{}x-webhook-action: delete\n",
        header_file(&pairs, &signature)
    );
    let headers = dir.write("headers.txt", text);
    let body = dir.write("body.json", "{}");
    let out = verify(KEY, &headers, &body, &[]).expect(1);
    assert_eq!(out.field("verdict"), "refused");
    assert_eq!(out.field("reason"), "malformed webhook headers");
    assert_eq!(out.field("status"), "400");
    assert_eq!(out.field("detail"), "header sent more than once");
}

#[test]
fn non_utf8_header_value_is_refused_with_400() {
    let dir = TempDir::new("non-utf8");
    let mut text = b"X-Webhook-Entity: caf\xe9\n".to_vec();
    text.extend_from_slice(b"X-Webhook-Signature: EkgyptwvqdQXvELT/gyv/oceZE6Nm18sH7bt/OSt4wo=\n");
    let headers = dir.write("headers.txt", text);
    let body = dir.write("body.json", "{}");
    let out = verify(KEY, &headers, &body, &[]).expect(1);
    assert_eq!(out.field("status"), "400");
}

#[test]
fn missing_and_garbled_signatures_are_refused_with_401() {
    let dir = TempDir::new("signature");
    let body = dir.write("body.json", "{}");
    let missing = dir.write("missing.txt", "X-Webhook-Entity: product\n");
    let out = verify(KEY, &missing, &body, &[]).expect(1);
    assert_eq!(out.field("reason"), "missing webhook signature");
    assert_eq!(out.field("status"), "401");

    let garbled = dir.write(
        "garbled.txt",
        "X-Webhook-Entity: product\nX-Webhook-Signature: not base64!\n",
    );
    let out = verify(KEY, &garbled, &body, &[]).expect(1);
    assert_eq!(out.field("reason"), "invalid webhook signature");
    assert_eq!(out.field("detail"), "signature is not 44 base64 characters");
}

#[test]
fn control_characters_in_verified_values_are_printed_escaped() {
    let dir = TempDir::new("escapes");
    let pairs = [
        ("X-Webhook-Entity", "\u{1b}[2Jgone"),
        ("X-Webhook-Store-Id", "a\u{7}"),
    ];
    let (headers, body) = signed_delivery(&dir, KEY, &pairs, b"{}");
    let out = verify(KEY, &headers, &body, &[]).expect(0);
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
    assert_eq!(
        out.field("entity"),
        r#""\u{1b}[2Jgone" (unknown to this version)"#
    );
    assert_eq!(out.field("store id"), r#""a\u{7}""#);
}

#[test]
fn body_over_the_limit_is_refused_with_413() {
    let dir = TempDir::new("body-limit");
    let (headers, body) =
        signed_delivery(&dir, KEY, &[("X-Webhook-Entity", "order")], b"0123456789");
    verify(KEY, &headers, &body, &["--body-limit", "10"]).expect(0);
    let out = verify(KEY, &headers, &body, &["--body-limit", "9"]).expect(1);
    assert_eq!(out.field("status"), "413");
}

#[test]
fn headers_from_stdin() {
    let dir = TempDir::new("stdin");
    let pairs = [
        ("X-Webhook-Entity", "basket"),
        ("X-Webhook-Action", "frobnicate"),
    ];
    let signature = library_signature(KEY, &pairs, b"{}");
    let body = dir.write("body.json", "{}");
    let out = run_with_stdin(
        &[
            "verify".as_ref(),
            "--secret".as_ref(),
            KEY.as_ref(),
            "--headers-file".as_ref(),
            "-".as_ref(),
            "--body-file".as_ref(),
            body.as_os_str(),
        ],
        header_file(&pairs, &signature).as_bytes(),
    )
    .expect(0);
    assert_eq!(out.field("entity"), "basket");
    assert_eq!(out.field("action"), "frobnicate (unknown to this version)");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = TempDir::new("exit-2");
    let (headers, body) = signed_delivery(&dir, KEY, &[("X-Webhook-Entity", "order")], b"{}");
    let missing = dir.0.join("no-such-file.json");

    let out = verify(KEY, &headers, &missing, &[]).expect(2);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("cannot read body file") && out.stderr.contains("no-such-file.json"),
        "{}",
        out.stderr
    );
    verify(KEY, &missing, &body, &[]).expect(2);

    let out = verify(
        KEY,
        &headers,
        &body,
        &["--tolerance", "5", "--no-tolerance"],
    )
    .expect(2);
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);

    let malformed = dir.write(
        "malformed.txt",
        "X-Webhook-Entity: order\nthis line is not a header\n",
    );
    let out = verify(KEY, &malformed, &body, &[]).expect(2);
    assert!(out.stderr.contains("line 2"), "{}", out.stderr);

    let folded = dir.write("folded.txt", "X-Webhook-Entity: order\n  continued\n");
    verify(KEY, &folded, &body, &[]).expect(2);

    let dash = Path::new("-");
    verify(KEY, dash, dash, &[]).expect(2);
    verify(KEY, &headers, &body, &["--tolerance", "soon"]).expect(2);
    run(&["verify", "--headers-file", "h", "--body-file", "b"]).expect(2);
    run(&["frobnicate"]).expect(2);
    run::<&str>(&[]).expect(2);
}

#[test]
fn help_and_version() {
    let out = run(&["--help"]).expect(0);
    assert!(out.stdout.contains("sign") && out.stdout.contains("verify"));
    for command in ["sign", "verify"] {
        let help = run(&[command, "--help"]).expect(0);
        assert!(help.stdout.contains("--secret"), "{}", help.stdout);
    }
    let version = run(&["--version"]).expect(0);
    assert_eq!(
        version.stdout.trim(),
        format!("webhook-guard {}", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------------------
// The other recipes: --scheme up42|standard, secrets from files and the
// environment
// ---------------------------------------------------------------------------

/// The first published known answer of the Standard Webhooks libraries.
const STANDARD_KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STANDARD_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const STANDARD_TS: &str = "1614265330";
const STANDARD_BODY: &str = r#"{"test": 2432232314}"#;
const STANDARD_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

#[test]
fn sign_standard_reproduces_the_specs_known_answer_and_verify_accepts_it() {
    let dir = TempDir::new("standard-kat");
    let secret_file = dir.write("whsec.txt", format!("{STANDARD_KEY}\n"));
    let headers = run(&[
        "sign",
        "--scheme",
        "standard",
        "--secret-file",
        secret_file.to_str().unwrap(),
        "--id",
        STANDARD_ID,
        "--timestamp",
        STANDARD_TS,
        "--body",
        STANDARD_BODY,
    ])
    .expect(0)
    .stdout;
    assert_eq!(
        headers,
        format!(
            "webhook-id: {STANDARD_ID}\nwebhook-timestamp: {STANDARD_TS}\nwebhook-signature: {STANDARD_SIGNATURE}\n"
        )
    );
    let headers_file = dir.write("headers.txt", &headers);
    let body_file = dir.write("body.json", STANDARD_BODY);
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--scheme",
            "standard",
            "--secret-file",
            secret_file.to_str().unwrap(),
            "--headers-file",
            headers_file.to_str().unwrap(),
            "--body-file",
            body_file.to_str().unwrap(),
        ];
        args.extend(extra);
        run(&args)
    };
    let out = verify(&["--now", STANDARD_TS]).expect(0);
    assert_eq!(out.field("scheme"), "standard-webhooks");
    assert_eq!(out.field("key"), "secret-1");
    let out = verify(&["--now", "1614265731"]).expect(1);
    assert_eq!(out.field("reason"), "webhook timestamp outside tolerance");
    assert!(
        out.field("timestamp").starts_with(STANDARD_TS),
        "{}",
        out.stdout
    );
    // The secret never shows.
    assert!(!out.stdout.contains("MfKQ9r8"), "{}", out.stdout);
}

#[test]
fn sign_up42_covers_a_content_digest_and_verify_catches_a_changed_byte() {
    let dir = TempDir::new("up42");
    let body = br#"{"event":"job.status","body":{"status":"SUCCEEDED"}}"#;
    let body_file = dir.write("body.json", body);
    let sign = Command::new(BIN)
        .args([
            "sign",
            "--scheme",
            "up42",
            "--secret-env",
            "UP42_TEST_SECRET",
        ])
        .args([
            "--header",
            "X-Up42-Event: job.status",
            "--timestamp",
            "1700000000",
        ])
        .arg("--body-file")
        .arg(&body_file)
        .env("UP42_TEST_SECRET", "the webhook secret")
        .output()
        .expect("run sign");
    let headers = Run::from_output(sign).expect(0).stdout;
    assert!(
        headers.contains(
            "Signature-Input: up42-sig=(\"x-up42-event\" \"content-digest\");created=1700000000\n"
        ),
        "{headers}"
    );
    let headers_file = dir.write("headers.txt", &headers);
    let verify = |body_file: &Path, secret: &str| {
        let mut args: Vec<&OsStr> = vec![
            "verify".as_ref(),
            "--scheme".as_ref(),
            "up42".as_ref(),
            "--secret".as_ref(),
            secret.as_ref(),
            "--now".as_ref(),
            "1700000010".as_ref(),
            "--headers-file".as_ref(),
            headers_file.as_os_str(),
        ];
        args.extend(["--body-file".as_ref(), body_file.as_os_str()]);
        run(&args)
    };
    let out = verify(&body_file, "the webhook secret").expect(0);
    assert_eq!(out.field("scheme"), "up42");
    assert!(
        out.field("body").ends_with("bytes, signed"),
        "{}",
        out.stdout
    );
    let mut changed = body.to_vec();
    changed[30] ^= 1;
    let changed_file = dir.write("changed.json", &changed);
    let out = verify(&changed_file, "the webhook secret").expect(1);
    assert_eq!(
        (out.field("reason"), out.field("detail")),
        (
            "invalid webhook signature",
            "body does not match the signed digest"
        )
    );
    let out = verify(&body_file, "another secret").expect(1);
    assert_eq!(out.field("detail"), "signature matches no key");
}

#[test]
fn secrets_must_come_from_somewhere_and_a_signer_takes_one() {
    let missing = run(&["sign", "--body", "{}"]).expect(2);
    assert!(
        missing.stderr.contains("--secret-file"),
        "{}",
        missing.stderr
    );
    let unset = run(&["sign", "--secret-env", "WEBHOOK_GUARD_UNSET_VAR"]).expect(2);
    assert!(
        unset.stderr.contains("WEBHOOK_GUARD_UNSET_VAR"),
        "{}",
        unset.stderr
    );
    let two = run(&["sign", "--secret", "a", "--secret", "b"]).expect(2);
    assert!(two.stderr.contains("exactly one"), "{}", two.stderr);
    let bad = run(&["sign", "--scheme", "standard", "--secret", "not-base64!"]).expect(2);
    assert!(bad.stderr.contains("base64"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("not-base64!"), "{}", bad.stderr);
}

#[test]
fn a_capture_has_no_body_limit_unless_asked() {
    let dir = TempDir::new("no-limit");
    let body = vec![b' '; 2 * 1024 * 1024];
    let body_file = dir.write("body.json", &body);
    let pairs = [("X-Webhook-Entity", "product")];
    let headers = dir.write(
        "headers.txt",
        header_file(&pairs, &library_signature(KEY, &pairs, &body)),
    );
    verify(KEY, &headers, &body_file, &[]).expect(0);
    let out = verify(KEY, &headers, &body_file, &["--body-limit", "1048576"]).expect(1);
    assert_eq!(out.field("status"), "413");
}
