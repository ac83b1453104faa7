//! A real `redis-server` on a loopback port of its own, started and stopped by
//! the test: no persistence, no config file, killed when dropped. It can be
//! killed and restarted on the same port, and paused (SIGSTOP) to play a
//! Redis that accepts connections and answers nothing.

use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::servers::closed_port;

const SERVER: &str = "redis-server";
/// How long a fresh server may take to answer its first `PING`.
const STARTUP: Duration = Duration::from_secs(10);

/// True when `redis-server` can be run. Without it: false (the test skips)
/// with `SKIPPED: ...` on stderr, or a failure when `CI` is set, since CI must
/// run `what`.
pub fn redis_available(what: &str) -> bool {
    match Command::new(SERVER).arg("--version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => panic!(
            "`{SERVER} --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == IoErrorKind::NotFound => super::unavailable(
            &format!("{SERVER} not found on PATH"),
            "the redis-server package",
            what,
        ),
        Err(e) => panic!("cannot run {SERVER}: {e}"),
    }
}

/// A `redis-server` of this test's own.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// A server on a free loopback port, answering `PING`; `None` (the test
    /// skips) where `redis-server` is not installed, see [`redis_available`].
    pub fn start(what: &str) -> Option<Self> {
        if !redis_available(what) {
            return None;
        }
        let port = closed_port();
        let dir =
            std::env::temp_dir().join(format!("webhook-guard-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("redis working dir");
        let mut server = Self {
            child: None,
            port,
            dir,
        };
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the server (SIGKILL: no goodbye to its clients) and waits until
    /// it is gone. What it remembered is lost: it keeps nothing on disk.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, once it answers `PING`.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(SERVER)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--loglevel", "warning"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        while !self.answers_ping() {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {STARTUP:?}",
                self.port
            );
            sleep(Duration::from_millis(20));
        }
    }

    /// Stops the process (SIGSTOP): connections stay open, nothing is answered.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused process go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} redis-server failed");
    }

    /// True when the server answers `PING` with `+PONG` within a second.
    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect_timeout(&self.addr(), Duration::from_secs(1))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
