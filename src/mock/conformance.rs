//! The conformance runner: every fault delivered to a receiver, its answers
//! held against the status table, through any vendor's sender that
//! implements [`ConformanceTarget`].

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use super::faults::Fault;
use super::journal::Attempt;
use crate::{DEFAULT_BODY_LIMIT, DEFAULT_TOLERANCE, ErrorKind, Verifier};

/// A sender the [`Conformance`] runner can drive: each vendor's sender
/// implements it with that vendor's recipe. Sealed: the runner's demands
/// are the status table's, which only this crate's senders are held to.
pub trait ConformanceTarget: sealed::Sealed {
    /// True when this vendor's sender can apply `fault`; cases with other
    /// faults are left out of the run and listed as skipped.
    fn supports(&self, fault: &Fault) -> bool;

    /// Where the cases go, for the report's first line.
    fn target(&self) -> String;

    /// The sender's clock, in Unix seconds.
    fn now(&self) -> i64;

    /// Delivers `body` once with `fault` (none for a valid delivery),
    /// without the vendor's retries, and returns the attempts made: one, or
    /// two for the duplicate faults.
    fn send_case(
        &self,
        body: Bytes,
        fault: Option<&Fault>,
    ) -> impl Future<Output = Vec<Attempt>> + Send;
}

pub(crate) mod sealed {
    /// Only the crate's senders are conformance targets.
    pub trait Sealed {}
}

/// What the receiver under test is configured with, so the runner knows
/// which answers the status table demands of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverPolicy {
    tolerance: Option<u64>,
    body_limit: usize,
    replay_guard: bool,
}

impl Default for ReceiverPolicy {
    fn default() -> Self {
        Self {
            tolerance: Some(DEFAULT_TOLERANCE.as_secs()),
            body_limit: DEFAULT_BODY_LIMIT,
            replay_guard: false,
        }
    }
}

impl ReceiverPolicy {
    /// The default [`Verifier`]'s policy: 300 s tolerance, 1 MiB body limit,
    /// no replay guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tolerance and body limit of `verifier`. Whether it has a replay
    /// guard cannot be read from it: say so with
    /// [`replay_guard`](Self::replay_guard).
    pub fn of<K>(verifier: &Verifier<K>) -> Self {
        Self {
            tolerance: verifier.tolerance().map(|t| t.as_secs()),
            body_limit: verifier.body_limit(),
            replay_guard: false,
        }
    }

    /// The receiver's timestamp tolerance (whole seconds).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance.as_secs());
        self
    }

    /// The receiver accepts any timestamp.
    #[must_use]
    pub fn no_tolerance(mut self) -> Self {
        self.tolerance = None;
        self
    }

    /// The receiver's body limit in bytes.
    #[must_use]
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Whether the receiver refuses a delivery it already accepted (401).
    #[must_use]
    pub fn replay_guard(mut self, guard: bool) -> Self {
        self.replay_guard = guard;
        self
    }
}

/// One case of the runner: a delivery, possibly spoiled, and the statuses
/// the receiver must answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConformanceCase {
    name: String,
    fault: Option<Fault>,
    expected: Vec<u16>,
    any_order: bool,
    /// Sent at the edge of the tolerance: with two wall clocks a second can
    /// tick between signing and verifying, so the case is sent again when
    /// the sender's clock moved during the attempt.
    at_tolerance_edge: bool,
}

impl ConformanceCase {
    fn new(name: &str, fault: Option<Fault>, expected: impl Into<Vec<u16>>) -> Self {
        Self {
            name: name.to_owned(),
            fault,
            expected: expected.into(),
            any_order: false,
            at_tolerance_edge: false,
        }
    }

    /// Its name, e.g. `duplicated-signature`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fault it sends, `None` for the valid delivery.
    pub fn fault(&self) -> Option<&Fault> {
        self.fault.as_ref()
    }

    /// The statuses demanded, one per request sent (two for duplicates).
    pub fn expected(&self) -> &[u16] {
        &self.expected
    }

    /// What it sends, in words.
    pub fn describe(&self) -> String {
        self.fault
            .as_ref()
            .map_or_else(|| "a valid delivery".to_owned(), Fault::describe)
    }
}

const ACCEPTED: u16 = 200;

/// Delivers every fault of the catalogue to a receiver and compares each
/// answer with what the status table ([`ErrorKind::status`]) demands, through
/// any vendor's sender ([`ConformanceTarget`]: API2Cart's
/// [`MockSender`](crate::mock::MockSender), a Standard Webhooks endpoint of
/// a [`StandardSender`](crate::mock::StandardSender)). Cases whose fault the
/// vendor cannot send are skipped and listed in the report.
///
/// The cases, for a receiver with tolerance `T` and body limit `L`:
///
/// | case | expected |
/// |---|---|
/// | `valid`, `lowercase-names`, `reordered-headers`, `slow-body` | 200 |
/// | `extra-bad-signature` (one bad entry beside the good one, as in a key rotation) | 200 |
/// | `wrong-key`, `tampered-body`, `changed-signed-header`, `garbled-signature` | 401 (invalid signature) |
/// | `missing-signature` | 401 |
/// | `duplicated-signature` | 400 (malformed headers) |
/// | `stale-at-tolerance` / `future-at-tolerance` (exactly `T` s off) | 200 |
/// | `stale-past-tolerance` / `future-past-tolerance` (`T` + 1 s off) | 401 |
/// | `body-at-limit` (`L` bytes) | 200 |
/// | `body-over-limit` (`L` + 1 bytes) | 413 |
/// | `duplicate-delivery`, `concurrent-duplicate` | 200 then 401 with a replay guard, 200 twice without |
///
/// Without a tolerance the timestamp cases become a year off either way,
/// accepted. Each case sends one attempt per copy, without the vendor's
/// retry, to the sender's callback; the attempts are in the sender's
/// journal as usual. The receiver's handler must answer 200 to a valid
/// delivery. Give the receiver and the sender the same clock
/// ([`ManualClock`](crate::ManualClock)) to test the tolerance edges
/// exactly; with two wall clocks, an edge case whose second ticked during
/// the attempt is sent again (at most three times).
///
/// ```
/// # #[cfg(feature = "axum")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::post};
/// use webhook_guard::mock::{Conformance, MockSender, ReceiverPolicy};
/// use webhook_guard::tower::VerifyWebhookLayer;
/// use webhook_guard::{InMemoryReplayGuard, KeySet, ManualClock, Verifier};
///
/// let clock = ManualClock::new(1_763_900_000);
/// let verifier = Verifier::builder(KeySet::single("store-key"))
///     .clock(clock.clone())
///     .replay_guard(InMemoryReplayGuard::new())
///     .build();
/// let policy = ReceiverPolicy::of(&verifier).replay_guard(true);
/// let app = Router::new()
///     .route("/webhooks", post(|| async { "ok" }))
///     .layer(VerifyWebhookLayer::new(verifier));
///
/// let sender = MockSender::builder("store-key")
///     .clock(clock)
///     .service(app)
///     .callback("/webhooks")
///     .build()?;
/// let report = Conformance::new(policy).run(&sender).await;
/// assert!(report.passed(), "{report}");
/// # Ok(()) }
/// # #[cfg(feature = "axum")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conformance {
    cases: Vec<ConformanceCase>,
}

impl Conformance {
    /// Every case of the catalogue, with the answers `policy` demands.
    pub fn new(policy: ReceiverPolicy) -> Self {
        use ErrorKind::{InvalidSignature, MalformedHeaders, MissingSignature, PayloadTooLarge};
        let signature = InvalidSignature.status();
        let mut cases = vec![
            ConformanceCase::new("valid", None, [ACCEPTED]),
            ConformanceCase::new("wrong-key", Some(Fault::WrongKey), [signature]),
            ConformanceCase::new("tampered-body", Some(Fault::TamperedBody), [signature]),
            ConformanceCase::new(
                "changed-signed-header",
                Some(Fault::ChangedSignedHeader),
                [signature],
            ),
            ConformanceCase::new(
                "missing-signature",
                Some(Fault::MissingSignature),
                [MissingSignature.status()],
            ),
            ConformanceCase::new(
                "garbled-signature",
                Some(Fault::GarbledSignature),
                [signature],
            ),
            ConformanceCase::new(
                "duplicated-signature",
                Some(Fault::DuplicatedSignature),
                [MalformedHeaders.status()],
            ),
            ConformanceCase::new("lowercase-names", Some(Fault::LowercaseNames), [ACCEPTED]),
            ConformanceCase::new(
                "reordered-headers",
                Some(Fault::ReorderedHeaders),
                [ACCEPTED],
            ),
            ConformanceCase::new(
                "extra-bad-signature",
                Some(Fault::ExtraBadSignature),
                [ACCEPTED],
            ),
        ];
        cases.extend(timestamp_cases(policy.tolerance));
        cases.extend([
            ConformanceCase::new(
                "body-at-limit",
                Some(Fault::OversizedBody {
                    bytes: policy.body_limit,
                }),
                [ACCEPTED],
            ),
            ConformanceCase::new(
                "body-over-limit",
                Some(Fault::OversizedBody {
                    bytes: policy.body_limit.saturating_add(1),
                }),
                [PayloadTooLarge.status()],
            ),
            ConformanceCase::new(
                "slow-body",
                Some(Fault::SlowBody {
                    chunk_size: 16,
                    delay: Duration::from_millis(10),
                }),
                [ACCEPTED],
            ),
        ]);
        let second = if policy.replay_guard {
            ErrorKind::Replayed.status()
        } else {
            ACCEPTED
        };
        cases.push(ConformanceCase::new(
            "duplicate-delivery",
            Some(Fault::DuplicateDelivery),
            [ACCEPTED, second],
        ));
        cases.push(ConformanceCase {
            any_order: true,
            ..ConformanceCase::new(
                "concurrent-duplicate",
                Some(Fault::ConcurrentDuplicate),
                [ACCEPTED, second],
            )
        });
        Self { cases }
    }

    /// The cases, in the order they run.
    pub fn cases(&self) -> &[ConformanceCase] {
        &self.cases
    }

    /// Demands other statuses of case `name` (one per request it sends), for
    /// a receiver that deliberately answers otherwise. An unknown name
    /// changes nothing.
    #[must_use]
    pub fn expect(mut self, name: &str, statuses: impl IntoIterator<Item = u16>) -> Self {
        if let Some(case) = self.cases.iter_mut().find(|c| c.name == name) {
            case.expected = statuses.into_iter().collect();
        }
        self
    }

    /// Leaves case `name` out.
    #[must_use]
    pub fn skip(mut self, name: &str) -> Self {
        self.cases.retain(|c| c.name != name);
        self
    }

    /// Sends every case `sender` supports and reports the answers.
    pub async fn run(&self, sender: &impl ConformanceTarget) -> ConformanceReport {
        let mut results = Vec::with_capacity(self.cases.len());
        let mut skipped = Vec::new();
        for (index, case) in self.cases.iter().enumerate() {
            if case.fault.as_ref().is_some_and(|f| !sender.supports(f)) {
                skipped.push(case.name.clone());
                continue;
            }
            let mut tries = 0;
            let attempts = loop {
                tries += 1;
                let before = sender.now();
                let attempts = sender
                    .send_case(case_body(index, tries, case), case.fault.as_ref())
                    .await;
                let ticked = sender.now() != before;
                if !(case.at_tolerance_edge && ticked && tries < 3) {
                    break attempts;
                }
            };
            let actual: Vec<Option<u16>> = attempts.iter().map(Attempt::status).collect();
            let passed = statuses_match(&case.expected, &actual, case.any_order);
            results.push(CaseResult {
                case: case.clone(),
                actual,
                passed,
                attempts,
            });
        }
        ConformanceReport {
            target: sender.target(),
            results,
            skipped,
        }
    }
}

fn timestamp_cases(tolerance: Option<u64>) -> Vec<ConformanceCase> {
    let refused = ErrorKind::TimestampOutsideTolerance.status();
    let edge = |name: &str, fault: Fault, expected: u16| ConformanceCase {
        at_tolerance_edge: true,
        ..ConformanceCase::new(name, Some(fault), [expected])
    };
    match tolerance {
        Some(seconds) => vec![
            edge(
                "stale-at-tolerance",
                Fault::StaleTimestamp { seconds },
                ACCEPTED,
            ),
            edge(
                "stale-past-tolerance",
                Fault::StaleTimestamp {
                    seconds: seconds.saturating_add(1),
                },
                refused,
            ),
            edge(
                "future-at-tolerance",
                Fault::FutureTimestamp { seconds },
                ACCEPTED,
            ),
            edge(
                "future-past-tolerance",
                Fault::FutureTimestamp {
                    seconds: seconds.saturating_add(1),
                },
                refused,
            ),
        ],
        None => {
            let year = 365 * 24 * 3600;
            vec![
                ConformanceCase::new(
                    "stale-by-a-year",
                    Some(Fault::StaleTimestamp { seconds: year }),
                    [ACCEPTED],
                ),
                ConformanceCase::new(
                    "future-by-a-year",
                    Some(Fault::FutureTimestamp { seconds: year }),
                    [ACCEPTED],
                ),
            ]
        }
    }
}

/// A body unique to the case and the try (so a replay guard never confuses
/// two cases), slashes and non-ASCII text escaped as PHP does.
fn case_body(index: usize, run: u32, case: &ConformanceCase) -> Bytes {
    Bytes::from(format!(
        r#"{{"id":"conformance-{}-{run}","name":"Cable 3\/4\" caf\u00e9","case":"{}"}}"#,
        index + 1,
        case.name
    ))
}

fn statuses_match(expected: &[u16], actual: &[Option<u16>], any_order: bool) -> bool {
    let mut actual: Vec<Option<u16>> = actual.to_vec();
    let mut expected: Vec<Option<u16>> = expected.iter().copied().map(Some).collect();
    if any_order {
        actual.sort_unstable();
        expected.sort_unstable();
    }
    actual == expected
}

/// One case of a [`ConformanceReport`]: demanded against answered.
#[derive(Clone, Debug)]
pub struct CaseResult {
    case: ConformanceCase,
    actual: Vec<Option<u16>>,
    passed: bool,
    attempts: Vec<Attempt>,
}

impl CaseResult {
    /// The case.
    pub fn case(&self) -> &ConformanceCase {
        &self.case
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.case.name
    }

    /// The statuses demanded.
    pub fn expected(&self) -> &[u16] {
        &self.case.expected
    }

    /// The statuses answered (`None` where no answer came).
    pub fn actual(&self) -> &[Option<u16>] {
        &self.actual
    }

    /// True when the answers are the ones demanded.
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// The attempts, with the exact requests and answers.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }
}

/// What [`Conformance::run`] found: assert on [`passed`](Self::passed),
/// print it for the table.
#[derive(Clone, Debug)]
pub struct ConformanceReport {
    target: String,
    results: Vec<CaseResult>,
    skipped: Vec<String>,
}

impl ConformanceReport {
    /// True when every case got the answers demanded.
    pub fn passed(&self) -> bool {
        self.results.iter().all(CaseResult::passed)
    }

    /// Every case, in the order run.
    pub fn cases(&self) -> &[CaseResult] {
        &self.results
    }

    /// The cases that did not get the answers demanded.
    pub fn failures(&self) -> Vec<&CaseResult> {
        self.results.iter().filter(|r| !r.passed).collect()
    }

    /// The case named `name`.
    pub fn case(&self, name: &str) -> Option<&CaseResult> {
        self.results.iter().find(|r| r.case.name == name)
    }

    /// The cases not run: their fault is not one this vendor can send.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }
}

fn list(statuses: impl Iterator<Item = String>) -> String {
    statuses.collect::<Vec<_>>().join(", ")
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let passed = self.results.iter().filter(|r| r.passed).count();
        writeln!(
            f,
            "conformance of {}: {passed} of {} cases passed",
            self.target,
            self.results.len()
        )?;
        for result in &self.results {
            let expected = list(result.case.expected.iter().map(u16::to_string));
            let expected = if result.case.any_order {
                format!("{expected} (any order)")
            } else {
                expected
            };
            let actual = list(
                result
                    .actual
                    .iter()
                    .map(|s| s.map_or_else(|| "no answer".to_owned(), |s| s.to_string())),
            );
            writeln!(
                f,
                "  {:<4}  {:<22}  {:<38}  expected {:<21}  got {actual}",
                if result.passed { "ok" } else { "FAIL" },
                result.case.name,
                result.case.describe(),
                expected,
            )?;
        }
        if !self.skipped.is_empty() {
            writeln!(
                f,
                "  skipped (the vendor cannot send them): {}",
                self.skipped.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demands_follow_the_policy() {
        let strict = Conformance::new(ReceiverPolicy::new().replay_guard(true).body_limit(10));
        let case = |c: &Conformance, name: &str| {
            c.cases()
                .iter()
                .find(|x| x.name() == name)
                .map(|x| x.expected().to_vec())
        };
        assert_eq!(case(&strict, "duplicate-delivery"), Some(vec![200, 401]));
        assert_eq!(case(&strict, "duplicated-signature"), Some(vec![400]));
        assert_eq!(case(&strict, "body-over-limit"), Some(vec![413]));
        assert_eq!(
            strict
                .cases()
                .iter()
                .find(|c| c.name() == "body-at-limit")
                .and_then(|c| match c.fault() {
                    Some(Fault::OversizedBody { bytes }) => Some(*bytes),
                    _ => None,
                }),
            Some(10)
        );
        let lax = Conformance::new(ReceiverPolicy::new().no_tolerance())
            .expect("duplicated-signature", [401])
            .skip("slow-body");
        assert_eq!(case(&lax, "duplicate-delivery"), Some(vec![200, 200]));
        assert_eq!(case(&lax, "duplicated-signature"), Some(vec![401]));
        assert_eq!(case(&lax, "slow-body"), None);
        assert_eq!(case(&lax, "stale-by-a-year"), Some(vec![200]));
        assert_eq!(case(&lax, "stale-at-tolerance"), None);
    }

    #[test]
    fn any_order_compares_as_multisets() {
        assert!(statuses_match(&[200, 401], &[Some(401), Some(200)], true));
        assert!(!statuses_match(&[200, 401], &[Some(401), Some(200)], false));
        assert!(!statuses_match(&[200], &[None], false));
        assert!(!statuses_match(&[200], &[Some(200), Some(200)], false));
    }
}
