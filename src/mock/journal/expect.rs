//! Expectations: what a test expects a sender to have done, counted in the
//! journal and checked when the sender goes away, as wiremock's
//! `Mock::expect` does.

use std::fmt::{self, Write as _};
use std::ops::{Range, RangeFrom, RangeInclusive, RangeToInclusive};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{DeliveryOutcome, Journal, Vendor};
use crate::{Action, Entity};

/// How many times something should have happened: exactly `n` (from `u64`),
/// or a range (`1..=3`, `2..`, `..=1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Times {
    min: u64,
    max: Option<u64>,
}

impl Times {
    /// Exactly `n` times.
    pub const fn exactly(n: u64) -> Self {
        Self {
            min: n,
            max: Some(n),
        }
    }

    /// `n` times or more.
    pub const fn at_least(n: u64) -> Self {
        Self { min: n, max: None }
    }

    /// At most `n` times.
    pub const fn at_most(n: u64) -> Self {
        Self {
            min: 0,
            max: Some(n),
        }
    }

    /// True when `count` satisfies it.
    pub fn contains(&self, count: u64) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

impl From<u64> for Times {
    fn from(n: u64) -> Self {
        Self::exactly(n)
    }
}

impl From<RangeInclusive<u64>> for Times {
    fn from(range: RangeInclusive<u64>) -> Self {
        Self {
            min: *range.start(),
            max: Some(*range.end()),
        }
    }
}

impl From<Range<u64>> for Times {
    fn from(range: Range<u64>) -> Self {
        match range.end.checked_sub(1) {
            Some(max) if max >= range.start => Self {
                min: range.start,
                max: Some(max),
            },
            // An empty range: nothing satisfies it.
            _ => Self {
                min: 1,
                max: Some(0),
            },
        }
    }
}

impl From<RangeFrom<u64>> for Times {
    fn from(range: RangeFrom<u64>) -> Self {
        Self::at_least(range.start)
    }
}

impl From<RangeToInclusive<u64>> for Times {
    fn from(range: RangeToInclusive<u64>) -> Self {
        Self::at_most(range.end)
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) if max < self.min => f.write_str("never (an empty range)"),
            Some(max) if max == self.min => write!(f, "exactly {max}"),
            Some(max) if self.min == 0 => write!(f, "at most {max}"),
            Some(max) => write!(f, "between {} and {max}", self.min),
            None => write!(f, "at least {}", self.min),
        }
    }
}

/// What an [`Expectation`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    Attempts,
    Deliveries,
}

/// Something the test expects the mock to have seen by the time it is
/// dropped (or [`verify`](crate::mock::MockSender::verify)-ed), as wiremock's
/// `Mock::expect` does. Every sender has `expect`, `verify` and
/// `unmet_expectations`; each counts only its own vendor's attempts, so
/// senders sharing a journal do not count each other's.
///
/// It counts what the [`Journal`] keeps: under a `journal_limit`, what was
/// dropped is not counted, so tests with expectations keep the default (no
/// limit).
///
/// ```
/// use webhook_guard::mock::Expectation;
/// use webhook_guard::{Action, Entity};
///
/// // Two product additions delivered, and no attempt answered 401.
/// let delivered = Expectation::delivered().entity(Entity::Product).action(Action::Add).times(2);
/// let unauthorized = Expectation::answered(401).times(0);
/// # let _ = (delivered, unauthorized);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    subject: Subject,
    name: Option<String>,
    status: Option<u16>,
    delivered: Option<bool>,
    vendor: Option<Vendor>,
    event: Option<String>,
    entity: Option<Entity>,
    action: Option<Action>,
    subscription: Option<String>,
    times: Times,
}

impl Expectation {
    fn new(subject: Subject) -> Self {
        Self {
            subject,
            name: None,
            status: None,
            delivered: None,
            vendor: None,
            event: None,
            entity: None,
            action: None,
            subscription: None,
            times: Times::at_least(1),
        }
    }

    /// Counts attempts (each request sent, retries and duplicate copies included).
    pub fn attempts() -> Self {
        Self::new(Subject::Attempts)
    }

    /// Counts attempts the receiver answered with `status`.
    pub fn answered(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::new(Subject::Attempts)
        }
    }

    /// Counts deliveries (events sent to one callback, retries included).
    pub fn deliveries() -> Self {
        Self::new(Subject::Deliveries)
    }

    /// Counts deliveries that ended delivered (some attempt answered 200).
    pub fn delivered() -> Self {
        Self {
            delivered: Some(true),
            ..Self::new(Subject::Deliveries)
        }
    }

    /// Counts deliveries that ended undelivered (in the failed log).
    pub fn undelivered() -> Self {
        Self {
            delivered: Some(false),
            ..Self::new(Subject::Deliveries)
        }
    }

    /// Only those sent by `vendor` (a sender's own expectations already
    /// are).
    #[must_use]
    pub fn vendor(mut self, vendor: Vendor) -> Self {
        self.vendor = Some(vendor);
        self
    }

    /// Only those for the event the vendor names `event` (see
    /// [`Attempt::event`](super::Attempt::event)).
    #[must_use]
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Only those for `entity`: the part of a dotted event name before the
    /// dot (API2Cart's `product.add`, UP42's `order.status`).
    #[must_use]
    pub fn entity(mut self, entity: Entity) -> Self {
        self.entity = Some(entity);
        self
    }

    /// Only those for `action`: the part of a dotted event name after the dot.
    #[must_use]
    pub fn action(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }

    /// Only those sent for the vendor's subscription `id`.
    #[must_use]
    pub(crate) fn subscription(mut self, id: u64) -> Self {
        self.subscription = Some(id.to_string());
        self
    }

    /// How many there should be (default: at least one).
    #[must_use]
    pub fn times(mut self, times: impl Into<Times>) -> Self {
        self.times = times.into();
        self
    }

    /// A name to show in the report instead of the generated description.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What it counts, in words.
    pub fn description(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let mut text = match (self.subject, self.status, self.delivered) {
            (Subject::Attempts, Some(status), _) => format!("attempts answered {status}"),
            (Subject::Attempts, None, _) => "attempts".to_owned(),
            (Subject::Deliveries, _, Some(true)) => "deliveries delivered".to_owned(),
            (Subject::Deliveries, _, Some(false)) => "deliveries not delivered".to_owned(),
            (Subject::Deliveries, _, None) => "deliveries".to_owned(),
        };
        let mut filters = Vec::new();
        if let Some(vendor) = self.vendor {
            filters.push(format!("vendor {vendor}"));
        }
        if let Some(event) = &self.event {
            filters.push(format!("event {event}"));
        }
        if let Some(entity) = &self.entity {
            filters.push(format!("entity {entity}"));
        }
        if let Some(action) = &self.action {
            filters.push(format!("action {action}"));
        }
        if let Some(webhook) = &self.subscription {
            filters.push(format!("webhook {webhook}"));
        }
        if !filters.is_empty() {
            let _ = write!(text, " ({})", filters.join(", "));
        }
        text
    }

    fn matches(
        &self,
        scope: Option<Vendor>,
        vendor: Vendor,
        event: &str,
        endpoint: Option<&str>,
    ) -> bool {
        let (entity, action) = event.split_once('.').unwrap_or((event, ""));
        self.vendor.or(scope).is_none_or(|v| v == vendor)
            && self.event.as_deref().is_none_or(|e| e == event)
            && self
                .entity
                .as_ref()
                .is_none_or(|e| *e == Entity::parse(entity))
            && self
                .action
                .as_ref()
                .is_none_or(|a| *a == Action::parse(action))
            && self
                .subscription
                .as_deref()
                .is_none_or(|w| Some(w) == endpoint)
    }

    /// How many of what it counts are in `journal`: only what it keeps, so
    /// under a limit dropped attempts and deliveries no longer count.
    pub fn count(&self, journal: &Journal) -> u64 {
        self.count_in(journal, None)
    }

    /// [`count`](Self::count), of `scope`'s attempts only when the
    /// expectation names no vendor itself.
    fn count_in(&self, journal: &Journal, scope: Option<Vendor>) -> u64 {
        let state = journal.lock();
        let count = match self.subject {
            Subject::Attempts => state
                .attempts
                .iter()
                .filter(|a| self.matches(scope, a.vendor, &a.event, a.endpoint()))
                .filter(|a| self.status.is_none_or(|s| a.status() == Some(s)))
                .count(),
            Subject::Deliveries => state
                .deliveries
                .iter()
                .filter(|d| self.matches(scope, d.vendor, &d.event, d.endpoint()))
                .filter(|d| {
                    self.delivered.is_none_or(|want| {
                        want == matches!(d.outcome(), DeliveryOutcome::Delivered { .. })
                    })
                })
                .count(),
        };
        u64::try_from(count).unwrap_or(u64::MAX)
    }
}

/// One expectation that was not met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmetExpectation {
    description: String,
    expected: Times,
    actual: u64,
}

impl UnmetExpectation {
    /// What was counted.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// How many there should have been.
    pub fn expected(&self) -> Times {
        self.expected
    }

    /// How many there were.
    pub fn actual(&self) -> u64 {
        self.actual
    }
}

/// The expectations of a sender that were not met,
/// with the journal, printed as a readable diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmetExpectations {
    total: usize,
    unmet: Vec<UnmetExpectation>,
    journal: String,
}

impl UnmetExpectations {
    /// The expectations that failed.
    pub fn unmet(&self) -> &[UnmetExpectation] {
        &self.unmet
    }
}

impl fmt::Display for UnmetExpectations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} of {} expectations of the mock sender were not met:",
            self.unmet.len(),
            self.total
        )?;
        for unmet in &self.unmet {
            writeln!(f)?;
            writeln!(f, "  {}", unmet.description)?;
            writeln!(f, "  - expected: {}", unmet.expected)?;
            writeln!(f, "  + actual:   {}", unmet.actual)?;
        }
        writeln!(f)?;
        writeln!(f, "journal:")?;
        f.write_str(&self.journal)
    }
}

impl std::error::Error for UnmetExpectations {}

/// Checks `expectations` against `scope`'s attempts in `journal`.
fn check(
    expectations: &[Expectation],
    journal: &Journal,
    scope: Vendor,
) -> Option<UnmetExpectations> {
    let unmet: Vec<UnmetExpectation> = expectations
        .iter()
        .filter_map(|e| {
            let actual = e.count_in(journal, Some(scope));
            (!e.times.contains(actual)).then(|| UnmetExpectation {
                description: e.description(),
                expected: e.times,
                actual,
            })
        })
        .collect();
    (!unmet.is_empty()).then(|| UnmetExpectations {
        total: expectations.len(),
        unmet,
        journal: journal.summary(),
    })
}

/// A sender's expectations and the journal they are counted in, checked
/// when the last handle of the sender lets go of them (background tasks
/// hold the journal, never this), with a panic that shows what was
/// expected, what happened and the journal, unless the thread is already
/// panicking.
#[derive(Debug)]
pub(crate) struct Expectations {
    vendor: Vendor,
    journal: Journal,
    state: Mutex<Listed>,
}

#[derive(Debug, Default)]
struct Listed {
    list: Vec<Expectation>,
    verified: bool,
}

impl Expectations {
    /// No expectations yet, for `vendor`'s attempts in `journal`.
    pub(crate) fn new(vendor: Vendor, journal: Journal) -> Self {
        Self {
            vendor,
            journal,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Listed> {
        // A panic while this is held leaves at worst one expectation unadded.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `expectation`, counted among this vendor's attempts only.
    pub(crate) fn add(&self, expectation: Expectation) {
        let mut state = self.lock();
        state.list.push(expectation);
        state.verified = false;
    }

    /// The expectations not met now, if any.
    pub(crate) fn unmet(&self) -> Option<UnmetExpectations> {
        check(&self.lock().list, &self.journal, self.vendor)
    }

    /// Panics with the report when one is not met; either way they count as
    /// verified until another is added.
    #[track_caller]
    pub(crate) fn verify(&self) {
        let unmet = self.unmet();
        self.lock().verified = true;
        if let Some(unmet) = unmet {
            panic!("{unmet}");
        }
    }
}

impl Drop for Expectations {
    fn drop(&mut self) {
        if std::thread::panicking() || self.lock().verified {
            return;
        }
        if let Some(unmet) = self.unmet() {
            panic!("{unmet}");
        }
    }
}

/// The methods `expect`, `unmet_expectations` and `verify` of a sender
/// whose field `$field` is an `Arc<Expectations>` shared only by the
/// sender's handles.
macro_rules! expectation_methods {
    ($field:ident) => {
        /// Expects `expectation` to hold, among this sender's attempts, by
        /// the time the sender (its last clone) is dropped or
        /// [`verify`](Self::verify)-ed.
        pub fn expect(&self, expectation: $crate::mock::Expectation) {
            self.$field.add(expectation);
        }

        /// The expectations not met now, if any.
        pub fn unmet_expectations(&self) -> Option<$crate::mock::UnmetExpectations> {
            self.$field.unmet()
        }

        /// Checks the expectations now, panicking with the report when one
        /// is not met. Once checked, dropping the sender does not check them
        /// again (until another is added).
        #[track_caller]
        pub fn verify(&self) {
            self.$field.verify();
        }
    };
}

pub(crate) use expectation_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_numbers_and_ranges() {
        assert!(Times::from(2).contains(2) && !Times::from(2).contains(3));
        assert!(Times::from(1..=3).contains(3) && !Times::from(1..=3).contains(0));
        assert!(Times::from(1..3).contains(2) && !Times::from(1..3).contains(3));
        assert!(!Times::from(0..0).contains(0));
        assert!(Times::from(2..).contains(200));
        assert!(Times::from(..=1).contains(0) && !Times::from(..=1).contains(2));
        assert_eq!(Times::from(2).to_string(), "exactly 2");
        assert_eq!(Times::from(1..=3).to_string(), "between 1 and 3");
        assert_eq!(Times::from(1..).to_string(), "at least 1");
        assert_eq!(Times::from(..=4).to_string(), "at most 4");
    }

    #[test]
    fn descriptions_name_the_filters() {
        let e = Expectation::answered(401)
            .entity(Entity::Product)
            .action(Action::Add);
        assert_eq!(
            e.description(),
            "attempts answered 401 (entity product, action add)"
        );
        assert_eq!(Expectation::delivered().named("x").description(), "x");
    }
}
