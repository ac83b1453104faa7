//! An AmeriCommerce subscription as a [`ConformanceTarget`]. The vendor
//! signs nothing: a receiver authenticates deliveries by a token in the
//! URL it registered ([`UrlToken`](crate::americommerce::UrlToken)), so the
//! faults here spoil that token. Each case is the subscription's event
//! type with the runner's body, sent once to its URL (no cache, no
//! fallback).
//!
//! Nothing binds the body, a timestamp or an id, so the tampered-body,
//! timestamp and duplicate cases do not apply: a receiver cannot refuse
//! them, and the runner skips them.

use bytes::Bytes;

use super::dispatch::{Exchange, redacted_query};
use super::sender::AmeriCommerceSender;
use super::webhooks::{Webhook, WebhookId};
use crate::mock::conformance::{ConformanceTarget, sealed};
use crate::mock::faults::{Fault, sized_body};
use crate::mock::journal::Attempt;

/// One subscription of an [`AmeriCommerceSender`], whose URL carries the
/// receiver's token in a query parameter, as the conformance runner drives
/// it; made by [`AmeriCommerceSender::conformance_target`].
#[derive(Debug)]
pub struct ConformanceSubscription<'a> {
    sender: &'a AmeriCommerceSender,
    webhook: Webhook,
    param: String,
}

impl AmeriCommerceSender {
    /// Subscription `id` as a [`ConformanceTarget`], its URL carrying the
    /// receiver's token in query parameter `param`; `None` when there is no
    /// such subscription.
    pub fn conformance_target(
        &self,
        id: WebhookId,
        param: &str,
    ) -> Option<ConformanceSubscription<'_>> {
        Some(ConformanceSubscription {
            sender: self,
            webhook: self.webhook(id).ok()?,
            param: param.to_owned(),
        })
    }
}

impl sealed::Sealed for ConformanceSubscription<'_> {}

impl ConformanceTarget for ConformanceSubscription<'_> {
    /// A wrong, missing or doubled token (the `wrong-key`,
    /// `missing-signature` and `duplicated-signature` cases), and the body
    /// faults.
    fn supports(&self, fault: &Fault) -> bool {
        matches!(
            fault,
            Fault::WrongKey
                | Fault::MissingSignature
                | Fault::DuplicatedSignature
                | Fault::OversizedBody { .. }
                | Fault::SlowBody { .. }
        )
    }

    /// The URL with its query hidden: it carries the receiver's token.
    fn target(&self) -> String {
        redacted_query(self.webhook.url()).into_owned()
    }

    fn now(&self) -> i64 {
        self.sender.now()
    }

    async fn send_case(&self, body: Bytes, fault: Option<&Fault>) -> Vec<Attempt> {
        let faults: Vec<Fault> = fault.into_iter().cloned().collect();
        let url = spoiled_url(self.webhook.url(), &self.param, fault);
        let body = sized_body(&body, &faults);
        let exchange: Exchange = self
            .sender
            .send_once(&self.webhook, &url, &body, Fault::slow_body(&faults))
            .await;
        vec![exchange.attempt().clone()]
    }
}

/// `url` with the token in query parameter `param` spoiled as `fault` says:
/// replaced by another of the same length, removed, or sent twice.
fn spoiled_url(url: &str, param: &str, fault: Option<&Fault>) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let mut pairs: Vec<String> = Vec::new();
    for pair in query.split('&') {
        let is_token = pair.split_once('=').map_or(pair, |(k, _)| k) == param;
        match (is_token, fault) {
            (true, Some(Fault::WrongKey)) => {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let other: String = value
                    .chars()
                    .map(|c| if c == 'x' { 'y' } else { 'x' })
                    .collect();
                pairs.push(format!("{key}={other}"));
            }
            (true, Some(Fault::MissingSignature)) => {}
            (true, Some(Fault::DuplicatedSignature)) => {
                pairs.push(pair.to_owned());
                pairs.push(pair.to_owned());
            }
            _ => pairs.push(pair.to_owned()),
        }
    }
    if pairs.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_replaced_removed_or_doubled() {
        let url = "http://r.test/tax?store=1&token=abx&x=2";
        let spoil = |fault| spoiled_url(url, "token", Some(&fault));
        assert_eq!(
            spoil(Fault::WrongKey),
            "http://r.test/tax?store=1&token=xxy&x=2"
        );
        assert_eq!(
            spoil(Fault::MissingSignature),
            "http://r.test/tax?store=1&x=2"
        );
        assert_eq!(
            spoil(Fault::DuplicatedSignature),
            "http://r.test/tax?store=1&token=abx&token=abx&x=2"
        );
        assert_eq!(spoiled_url(url, "token", None), url);
        assert_eq!(
            spoiled_url(
                "http://r.test/tax?token=a",
                "token",
                Some(&Fault::MissingSignature)
            ),
            "http://r.test/tax"
        );
    }
}
