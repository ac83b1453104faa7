//! Headless Chromium driven through W3C WebDriver: Debian's `chromium` and
//! `chromedriver` (package `chromium-driver`), a driver on a loopback port of
//! its own, and a small blocking JSON-over-HTTP client for the few commands
//! the tests use (open a URL, find and click elements, type, run a script,
//! take a screenshot). Everything is torn down on drop: the session (the
//! driver then quits the browser), the driver, the browser's profile.

use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

use super::servers::closed_port;

/// How long the driver may take to start, and one command to answer.
const STARTUP: Duration = Duration::from_secs(15);
const COMMAND: Duration = Duration::from_secs(30);
/// The most of an answer read (a screenshot is the largest, well under this).
const MAX_ANSWER: u64 = 32 << 20;
/// The key W3C WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The paths of `chromium` and `chromedriver` when both are on `PATH`.
/// Without them: `None` (the test skips) with `SKIPPED: ...` on stderr, or a
/// failure when `CI` is set, since CI must run `what`.
pub fn chromium_available(what: &str) -> Option<(PathBuf, PathBuf)> {
    match (on_path("chromium"), on_path("chromedriver")) {
        (Some(browser), Some(driver)) => Some((browser, driver)),
        (browser, _) => {
            let missing = if browser.is_none() {
                "chromium not found on PATH"
            } else {
                "chromedriver not found on PATH"
            };
            super::unavailable(missing, "the chromium and chromium-driver packages", what);
            None
        }
    }
}

/// `name` in a directory of `PATH`, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium session behind its own `chromedriver`.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts `driver` on a free loopback port and opens a session of the
    /// headless `browser` with a window of `width` x `height` and a profile
    /// of its own.
    pub fn start(browser: &Path, driver: &Path, (width, height): (u32, u32)) -> Self {
        let port = closed_port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", driver.display()));
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let profile =
            std::env::temp_dir().join(format!("wg-chromium-{}-{stamp}", std::process::id()));
        // Torn down from here on, whatever fails next.
        let mut this = Self {
            driver: child,
            addr,
            session: String::new(),
            profile,
        };
        this.wait_ready();
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", this.profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": browser, "args": args},
        }}});
        let created = this.command("POST", "/session", &capabilities);
        this.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {created}"))
            .to_owned();
        this
    }

    /// Polls the driver's `/status` until it is ready, for [`STARTUP`].
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            if let Ok((200, answer)) = exchange(self.addr, "GET", "/status", None)
                && answer["value"]["ready"] == true
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready on {} after {STARTUP:?}",
                self.addr
            );
            sleep(Duration::from_millis(100));
        }
    }

    /// One WebDriver command; its `value`, or a failure naming the command
    /// and the driver's error.
    fn command(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = (method == "POST").then(|| body.to_string());
        let (status, answer) = exchange(self.addr, method, path, body.as_deref())
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let value = answer["value"].clone();
        assert!(
            status == 200,
            "WebDriver {method} {path}: {status} {}: {}",
            value["error"],
            value["message"]
                .as_str()
                .and_then(|m| m.lines().next())
                .unwrap_or("")
        );
        value
    }

    fn session_command(&self, method: &str, path: &str, body: &Value) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.session_command("POST", "/url", &json!({"url": url}));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page
    /// and returns what it returns.
    pub fn run(&self, script: &str, args: &[Value]) -> Value {
        self.session_command(
            "POST",
            "/execute/sync",
            &json!({"script": script, "args": args}),
        )
    }

    /// The element `css` selects (the first), or a failure.
    pub fn find(&self, css: &str) -> Element<'_> {
        let found = self.session_command(
            "POST",
            "/element",
            &json!({"using": "css selector", "value": css}),
        );
        let id = found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element reference for {css:?}: {found}"))
            .to_owned();
        Element { browser: self, id }
    }

    /// Polls `probe` (a script returning `null` until what is awaited is
    /// there) every 100 ms for up to `wait`; returns its first other value,
    /// or fails saying what was awaited and what the page showed.
    pub fn wait_for(&self, what: &str, wait: Duration, probe: &str) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let value = self.run(probe, &[]);
            if !value.is_null() {
                return value;
            }
            if Instant::now() >= deadline {
                let page = self.run(
                    "return document.body ? document.body.innerText.slice(0, 2000) : ''",
                    &[],
                );
                panic!(
                    "waited {wait:?} for {what}; the page shows:\n{}",
                    page.as_str().unwrap_or_default()
                );
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// The visible part of the page as PNG bytes.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.session_command("GET", "/screenshot", &Value::Null);
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("a base64 screenshot"))
            .expect("valid base64")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Deleting the session quits the browser; then the driver goes.
        if !self.session.is_empty() {
            let _ = exchange(
                self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// An element of the page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    pub fn click(&self) {
        self.command("/click", &json!({}));
    }

    /// Empties an input or a text area.
    pub fn clear(&self) {
        self.command("/clear", &json!({}));
    }

    /// Types `text` into it.
    pub fn type_text(&self, text: &str) {
        self.command("/value", &json!({"text": text}));
    }

    /// Its rendered text.
    pub fn text(&self) -> String {
        let value = self.browser.session_command(
            "GET",
            &format!("/element/{}/text", self.id),
            &Value::Null,
        );
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Its attribute `name`, if set.
    pub fn attribute(&self, name: &str) -> Option<String> {
        let value = self.browser.session_command(
            "GET",
            &format!("/element/{}/attribute/{name}", self.id),
            &Value::Null,
        );
        value.as_str().map(str::to_owned)
    }

    fn command(&self, path: &str, body: &Value) {
        self.browser
            .session_command("POST", &format!("/element/{}{path}", self.id), body);
    }
}

/// One HTTP/1.1 exchange with the driver (`Connection: close`): the status
/// and the body as JSON.
fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, Value), String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, COMMAND).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(COMMAND))
        .and_then(|()| stream.set_write_timeout(Some(COMMAND)))
        .map_err(|e| format!("timeouts: {e}"))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    // The driver says `Connection: close` but may keep the socket open: the
    // body is read by its `Content-Length`.
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let split = loop {
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break split;
        }
        let n = read_some(&mut stream, &mut buffer)?;
        if n == 0 {
            return Err("closed before the end of the head".to_owned());
        }
        raw.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let mut content = raw.split_off(split + 4);
    match header("content-length") {
        Some(length) => {
            let length: u64 = length
                .parse()
                .map_err(|_| format!("bad Content-Length {length:?}"))?;
            if length > MAX_ANSWER {
                return Err(format!("an answer of {length} bytes"));
            }
            let length = usize::try_from(length).map_err(|e| e.to_string())?;
            while content.len() < length {
                let n = read_some(&mut stream, &mut buffer)?;
                if n == 0 {
                    return Err("closed before the end of the body".to_owned());
                }
                content.extend_from_slice(&buffer[..n]);
            }
            content.truncate(length);
        }
        None => {
            (&mut stream)
                .take(MAX_ANSWER)
                .read_to_end(&mut content)
                .map_err(|e| format!("read: {e}"))?;
            if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
                content = dechunk(&content)?;
            }
        }
    }
    let json = if content.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&content).map_err(|e| format!("answer not JSON: {e}"))?
    };
    Ok((status, json))
}

/// One read, a timeout reported as such.
fn read_some(stream: &mut TcpStream, buffer: &mut [u8]) -> Result<usize, String> {
    stream.read(buffer).map_err(|e| match e.kind() {
        IoErrorKind::WouldBlock | IoErrorKind::TimedOut => {
            format!("no answer within {COMMAND:?}")
        }
        _ => format!("read: {e}"),
    })
}

/// A chunked body's content.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line without its end")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("a chunk cut short")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("a chunk without its end")?;
    }
}
