//! A Standard Webhooks endpoint as a [`ConformanceTarget`]: each case one
//! message of type `conformance.case`, sent once to the endpoint (a refused
//! one waits in the queue as usual; the runner never delivers it again).

use bytes::Bytes;

use super::StandardSender;
use super::endpoint::{Message, SUPPORTED_FAULTS};
use crate::mock::conformance::{ConformanceTarget, sealed};
use crate::mock::delivering::send_copies;
use crate::mock::faults::{Fault, sized_body};
use crate::mock::journal::Attempt;

/// Endpoint `id` of a [`StandardSender`], as the conformance runner drives
/// it; made by [`StandardSender::conformance_target`].
#[derive(Debug)]
pub struct ConformanceEndpoint<'a> {
    sender: &'a StandardSender,
    id: String,
}

impl StandardSender {
    /// Endpoint `id` as a [`ConformanceTarget`], for
    /// [`Conformance::run`](crate::mock::Conformance::run).
    pub fn conformance_target(&self, id: &str) -> ConformanceEndpoint<'_> {
        ConformanceEndpoint {
            sender: self,
            id: id.to_owned(),
        }
    }
}

impl sealed::Sealed for ConformanceEndpoint<'_> {}

impl ConformanceTarget for ConformanceEndpoint<'_> {
    /// The faults a message can carry; both duplicates: the same message
    /// (one `webhook-id`) sent twice, one after the other or at once; and an
    /// oversized body: a message of that size.
    fn supports(&self, fault: &Fault) -> bool {
        SUPPORTED_FAULTS.contains(&fault.name())
            || matches!(
                fault,
                Fault::DuplicateDelivery | Fault::ConcurrentDuplicate | Fault::OversizedBody { .. }
            )
    }

    fn target(&self) -> String {
        self.sender
            .endpoint(&self.id)
            .map_or_else(|_| self.id.clone(), |e| e.url().to_owned())
    }

    fn now(&self) -> i64 {
        self.sender.now()
    }

    async fn send_case(&self, body: Bytes, fault: Option<&Fault>) -> Vec<Attempt> {
        let faults: Vec<Fault> = fault.into_iter().cloned().collect();
        let body = sized_body(&body, &faults);
        let mut message = Message::raw("conformance.case", body).id(self.sender.message_id());
        let send = |message: Message| async move {
            match self.sender.send(&self.id, message).await {
                Ok(dispatch) => dispatch.attempt().cloned(),
                Err(_) => None,
            }
        };
        // The duplicates are the same message (one `webhook-id`) sent twice;
        // an oversized body is already the message's. The rest the message
        // carries.
        if let Some(fault) = fault.filter(|f| {
            !matches!(
                f,
                Fault::DuplicateDelivery | Fault::ConcurrentDuplicate | Fault::OversizedBody { .. }
            )
        }) {
            message = message.fault(fault.clone());
        }
        let attempts = send_copies(&faults, |_| send(message.clone())).await;
        attempts.into_iter().flatten().collect()
    }
}
