//! A recorded request sent again byte for byte, and recorded as a new
//! attempt: what exercises a receiver's replay guard.

use std::time::Duration;

use http::Uri;
use serde_json::Value;

use super::{Attempt, Journal, SentRequest, TransportFailure, TransportFailureKind};
use crate::mock::target::{Transport, WireRequest};

/// The detail naming the attempt a replay repeats.
const REPLAY_OF: &str = "replay_of";

impl Journal {
    /// Sends `original`'s request again over HTTP/1.1, byte for byte: the
    /// same target, the same header lines in the same order and case
    /// (`Host` and the framing header included, as recorded), the same
    /// body; nothing is signed again. Records it as a new attempt of the
    /// same vendor, delivery and event with the detail `"replay_of":
    /// original id`, sent at `sent_at` (the caller's clock, Unix seconds),
    /// and returns it numbered.
    ///
    /// A receiver with a replay guard should refuse it (401). An attempt
    /// that was never sent (no target recorded) is recorded as refused
    /// with nothing sent.
    pub async fn replay(&self, original: &Attempt, sent_at: i64, timeout: Duration) -> Attempt {
        let recorded = original.request();
        let (request, result, latency) = match replay_uri(recorded) {
            Ok(uri) => {
                let wire = WireRequest {
                    target: recorded.target.clone(),
                    headers: recorded.headers.clone(),
                    body: recorded.body.clone(),
                    slow: None,
                };
                // Title case is what hyper writes unless every name was
                // recorded in lower case (a sender writing lower case).
                let lowercase = recorded
                    .headers
                    .iter()
                    .all(|(name, _)| !name.bytes().any(|b| b.is_ascii_uppercase()));
                Transport::Http
                    .exchange(
                        &uri,
                        &recorded.url,
                        &wire,
                        recorded.signed_string.clone(),
                        lowercase,
                        timeout,
                    )
                    .await
            }
            Err(failure) => (recorded.clone(), Err(failure), Duration::ZERO),
        };
        let delivered = result
            .as_ref()
            .is_ok_and(|r| original.vendor.counts_as_delivered(r.status()));
        let mut details = original.details.clone();
        details.insert(REPLAY_OF.to_owned(), Value::from(original.id));
        self.record_attempt(Attempt {
            id: 0,
            vendor: original.vendor,
            delivery: original.delivery,
            number: original.number,
            copy: original.copy,
            endpoint: original.endpoint.clone(),
            event: original.event.clone(),
            sent_at,
            request,
            result,
            latency,
            // The same bytes, so the same faults (a tampered body stays tampered).
            faults: original.faults.clone(),
            delivered,
            details,
        })
    }
}

/// Where a replay goes: the recorded URL, when it was an `http://` URL and
/// a request was written to it.
fn replay_uri(recorded: &SentRequest) -> Result<Uri, TransportFailure> {
    let refuse = |why: &str| {
        Err(TransportFailure::new(
            TransportFailureKind::InvalidRequest,
            format!("cannot replay: {why}"),
        ))
    };
    if recorded.target.is_empty() {
        return refuse("the original request was never sent");
    }
    match recorded.url.parse::<Uri>() {
        Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => Ok(uri),
        _ => refuse("the original URL is not an absolute http:// URL"),
    }
}
