//! A program the tests start: killed when dropped, whatever the test's
//! outcome, its stdout and stderr read line by line as it prints them.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running child process.
pub struct Spawned {
    child: Child,
    /// Its stdout, a line at a time.
    pub stdout: Receiver<String>,
    /// Its stderr, a line at a time (also kept for [`Spawned::stderr`]).
    pub stderr_lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Spawned {
    /// Starts `command` with stdin closed and stdout and stderr piped.
    pub fn spawn(mut command: Command, what: &str) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let (out_tx, stdout) = mpsc::channel();
        forward(child.stdout.take().expect("piped stdout"), out_tx, None);
        let (err_tx, stderr_lines) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&stderr);
        forward(
            child.stderr.take().expect("piped stderr"),
            err_tx,
            Some(kept),
        );
        Self {
            child,
            stdout,
            stderr_lines,
            stderr,
        }
    }

    /// Every line printed on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Every stdout line not yet read, until none has come for `settle`,
    /// and for `at_most` in all (a program that never stops printing does
    /// not hold the test).
    pub fn drain_stdout(&self, settle: Duration, at_most: Duration) -> Vec<String> {
        let deadline = Instant::now() + at_most;
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(settle) {
            lines.push(line);
            if Instant::now() > deadline {
                break;
            }
        }
        lines
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each line of `pipe` to `lines` (and appends it to `kept`) from a thread of its own.
fn forward(
    pipe: impl Read + Send + 'static,
    lines: Sender<String>,
    kept: Option<Arc<Mutex<Vec<String>>>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(Ok(mut kept)) = kept.as_ref().map(|k| k.lock()) {
                kept.push(line.clone());
            }
            let _ = lines.send(line);
        }
    });
}
