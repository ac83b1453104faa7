//! API2Cart as a [`ConformanceTarget`]: each case a product update, sent
//! once to the sender's callback without the vendor's retry.

use bytes::Bytes;

use super::payload::Event;
use super::sender::MockSender;
use crate::mock::conformance::{ConformanceTarget, sealed};
use crate::mock::faults::Fault;
use crate::mock::journal::Attempt;
use crate::{Action, Entity};

impl sealed::Sealed for MockSender {}

impl ConformanceTarget for MockSender {
    /// Every fault but `extra-bad-signature`: API2Cart sends one signature.
    fn supports(&self, fault: &Fault) -> bool {
        !matches!(fault, Fault::ExtraBadSignature)
    }

    fn target(&self) -> String {
        self.callback().to_owned()
    }

    fn now(&self) -> i64 {
        MockSender::now(self)
    }

    async fn send_case(&self, body: Bytes, fault: Option<&Fault>) -> Vec<Attempt> {
        let mut event = Event::new(Entity::Product, Action::Update).body_bytes(body);
        if let Some(fault) = fault {
            event = event.fault(fault.clone());
        }
        self.send_once(&event).await.attempts().to_vec()
    }
}
