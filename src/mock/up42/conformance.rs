//! A UP42 workspace webhook as a [`ConformanceTarget`]: each case one
//! delivery of `order.status`, signed with the webhook's secret over the
//! sender's covered headers, sent once (UP42 does not retry test runs).

use bytes::Bytes;

use super::{SUPPORTED_FAULTS, WorkspaceSender, WorkspaceWebhook};
use crate::mock::conformance::{ConformanceTarget, sealed};
use crate::mock::faults::Fault;
use crate::mock::journal::Attempt;

/// One webhook of a [`WorkspaceSender`], as the conformance runner drives
/// it; made by [`WorkspaceSender::conformance_target`].
#[derive(Debug)]
pub struct ConformanceWebhook<'a> {
    sender: &'a WorkspaceSender,
    webhook: WorkspaceWebhook,
}

impl WorkspaceSender {
    /// Webhook `id` of `workspace` as a [`ConformanceTarget`], for
    /// [`Conformance::run`](crate::mock::Conformance::run); `None` when
    /// there is no such webhook. Its secret signs the cases (without one,
    /// nothing is signed and every signed case fails, as it should).
    pub fn conformance_target(&self, workspace: &str, id: &str) -> Option<ConformanceWebhook<'_>> {
        let webhook = self.get(workspace, id).ok()?;
        Some(ConformanceWebhook {
            sender: self,
            webhook,
        })
    }
}

impl sealed::Sealed for ConformanceWebhook<'_> {}

impl ConformanceTarget for ConformanceWebhook<'_> {
    fn supports(&self, fault: &Fault) -> bool {
        SUPPORTED_FAULTS.contains(&fault.name())
    }

    fn target(&self) -> String {
        self.webhook.url.clone()
    }

    fn now(&self) -> i64 {
        self.sender.now()
    }

    async fn send_case(&self, body: Bytes, fault: Option<&Fault>) -> Vec<Attempt> {
        let faults: Vec<Fault> = fault.into_iter().cloned().collect();
        self.sender
            .send_faulty(&self.webhook, "order.status", body, &faults)
            .await
    }
}
