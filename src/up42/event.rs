//! What a UP42 delivery says, in types: `{"event": "...", "body": {"status": ...}}`.
//!
//! Take it as the payload type, e.g. `Webhook<up42::Event>` in axum or
//! actix-web, or [`VerifiedWebhook::payload`](crate::VerifiedWebhook::payload).
//! Unknown event kinds and statuses are kept as `Other`, never a failure.
//!
//! Order statuses from UP42's docs: `FULFILLED`, `FAILED_PERMANENTLY` (UP42's
//! sample spells the latter `FAILED PERMANENTLY`; both are read). Job
//! statuses from UP42's sample: `SUCCEEDED`, `FAILED`, `CANCELLED`, `ERROR`.

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::event::vendor_enum;

vendor_enum! {
    /// Which kind of event (`event`).
    EventKind {
        /// `order.status`: an order changed status.
        OrderStatus => "order.status",
        /// `job.status`: a processing job changed status.
        JobStatus => "job.status",
    }
}

vendor_enum! {
    /// An order's status.
    OrderStatus {
        /// `FULFILLED`
        Fulfilled => "FULFILLED",
        /// `FAILED_PERMANENTLY`
        FailedPermanently => "FAILED_PERMANENTLY",
    }
}

vendor_enum! {
    /// A job's status.
    JobStatus {
        /// `SUCCEEDED`
        Succeeded => "SUCCEEDED",
        /// `FAILED`
        Failed => "FAILED",
        /// `CANCELLED`
        Cancelled => "CANCELLED",
        /// `ERROR`
        Error => "ERROR",
    }
}

/// The status an event reports, read by its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// An `order.status` event's status.
    Order(OrderStatus),
    /// A `job.status` event's status.
    Job(JobStatus),
    /// The status of an event kind this version does not know, as sent.
    Other(String),
}

/// One UP42 event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `event`.
    pub kind: EventKind,
    /// `body.status`, read by the kind; `None` when absent or not a string.
    pub status: Option<Status>,
    /// `body`, whole (ids, timestamps, whatever UP42 adds).
    pub body: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut wire = Map::<String, Value>::deserialize(deserializer)?;
        let kind = match wire.get("event") {
            Some(Value::String(event)) => EventKind::parse(event),
            _ => return Err(serde::de::Error::missing_field("event")),
        };
        let body = match wire.remove("body") {
            Some(Value::Object(body)) => body,
            None | Some(Value::Null) => Map::new(),
            Some(_) => {
                return Err(serde::de::Error::custom("`body` is not an object"));
            }
        };
        let status = body
            .get("status")
            .and_then(Value::as_str)
            .map(|text| match kind {
                EventKind::OrderStatus => Status::Order(match text {
                    "FAILED PERMANENTLY" => OrderStatus::FailedPermanently,
                    other => OrderStatus::parse(other),
                }),
                EventKind::JobStatus => Status::Job(JobStatus::parse(text)),
                EventKind::Other(_) => Status::Other(text.to_owned()),
            });
        Ok(Self { kind, status, body })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Order(s) => s.fmt(f),
            Self::Job(s) => s.fmt(f),
            Self::Other(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_order_and_job_statuses() {
        let e = event(r#"{"event":"order.status","body":{"status":"FULFILLED","orderId":"o-1"}}"#);
        assert_eq!(e.kind, EventKind::OrderStatus);
        assert_eq!(e.status, Some(Status::Order(OrderStatus::Fulfilled)));
        assert_eq!(e.body["orderId"], "o-1");
        let e = event(r#"{"event":"order.status","body":{"status":"FAILED PERMANENTLY"}}"#);
        assert_eq!(
            e.status,
            Some(Status::Order(OrderStatus::FailedPermanently))
        );
        let e = event(r#"{"event":"job.status","body":{"status":"CANCELLED"}}"#);
        assert_eq!(e.status, Some(Status::Job(JobStatus::Cancelled)));
    }

    #[test]
    fn unknown_values_are_kept() {
        let e = event(r#"{"event":"job.status","body":{"status":"RUNNING"}}"#);
        assert_eq!(
            e.status,
            Some(Status::Job(JobStatus::Other("RUNNING".into())))
        );
        let e = event(r#"{"event":"asset.created","body":{"status":"NEW"}}"#);
        assert_eq!(e.kind, EventKind::Other("asset.created".into()));
        assert_eq!(e.status.unwrap().to_string(), "NEW");
        assert_eq!(event(r#"{"event":"job.status"}"#).status, None);
    }
}
