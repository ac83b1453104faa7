//! The answer of "Test a webhook": one entry per event sent, and the counts.

use std::time::Duration;

use serde_json::{Value, json};

use super::time::rfc3339_micros;
use crate::mock::journal::duration_ms;
use crate::mock::{Attempt, SentRequest, TransportFailure};

/// One test of a run: one event sent once to the webhook's URL.
///
/// It succeeded when the receiver answered any 2xx within the attempt
/// timeout; there is no retry.
#[derive(Clone, Debug)]
pub struct TestResult {
    pub(super) event: String,
    pub(super) attempt: Attempt,
}

impl TestResult {
    /// The event tested (`order.status`).
    pub fn event(&self) -> &str {
        &self.event
    }

    /// Where it was sent.
    pub fn url(&self) -> &str {
        self.attempt.request().url()
    }

    /// The receiver's status, when it answered.
    pub fn status(&self) -> Option<u16> {
        self.attempt.status()
    }

    /// Why there was no answer, when there was none (including a request the
    /// mock could not send, such as to an `https://` URL over plain HTTP).
    pub fn error(&self) -> Option<&TransportFailure> {
        self.attempt.failure()
    }

    /// True on a 2xx answer.
    pub fn is_success(&self) -> bool {
        self.attempt.is_delivered()
    }

    /// From the first byte sent to the last byte of the answer read.
    pub fn duration(&self) -> Duration {
        self.attempt.latency()
    }

    /// The request as sent: headers in order and case, body, signed string.
    pub fn request(&self) -> &SentRequest {
        self.attempt.request()
    }

    /// The journal entry of the delivery (also in the sender's
    /// [`Journal`](crate::mock::Journal)).
    pub fn attempt(&self) -> &Attempt {
        &self.attempt
    }

    /// The entry of `tests` in the report:
    /// `{"event", "url", "success", "status", "error", "durationMs", "request"}`,
    /// `status` null and `error` `{"kind", "message"}` when there was no answer.
    pub fn to_json(&self) -> Value {
        json!({
            "event": self.event,
            "url": self.url(),
            "success": self.is_success(),
            "status": self.status(),
            "error": self.error().map(|f| json!({
                "kind": format!("{:?}", f.kind()),
                "message": f.message(),
            })),
            "durationMs": duration_ms(self.duration()),
            "request": self.request().to_json(),
        })
    }
}

/// What "Test a webhook" answers: when the run started and each test.
#[derive(Clone, Debug)]
pub struct TestRun {
    pub(super) started_at: i64,
    pub(super) tests: Vec<TestResult>,
}

impl TestRun {
    /// When the run started (Unix seconds, the sender's clock).
    pub fn started_at(&self) -> i64 {
        self.started_at
    }

    /// The tests, in the order run (the webhook's event order).
    pub fn tests(&self) -> &[TestResult] {
        &self.tests
    }

    /// `testsRun`.
    pub fn tests_run(&self) -> usize {
        self.tests.len()
    }

    /// `testsSucceeded`: the tests answered 2xx.
    pub fn tests_succeeded(&self) -> usize {
        self.tests.iter().filter(|t| t.is_success()).count()
    }

    /// `testsFailed`: the others.
    pub fn tests_failed(&self) -> usize {
        self.tests_run() - self.tests_succeeded()
    }

    /// The whole response body, in the vendor's shape:
    /// `{"data": {"startedAt", "testsRun", "testsSucceeded", "testsFailed", "tests"}, "error": null}`,
    /// `startedAt` as RFC 3339 UTC with microseconds.
    pub fn to_json(&self) -> Value {
        json!({
            "data": {
                "startedAt": rfc3339_micros(self.started_at),
                "testsRun": self.tests_run(),
                "testsSucceeded": self.tests_succeeded(),
                "testsFailed": self.tests_failed(),
                "tests": self.tests.iter().map(TestResult::to_json).collect::<Vec<_>>(),
            },
            "error": null,
        })
    }
}
