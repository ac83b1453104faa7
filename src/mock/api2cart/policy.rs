//! API2Cart's delivery rules, as data: what counts as delivered, how many
//! attempts, how long failures are kept, when webhooks are disabled.

use std::time::Duration;

use crate::mock::journal::Vendor;

/// Whose delivery rules the mock follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// API2Cart: `X-Webhook-*` headers signed with the store key; only 200
    /// counts as delivered; one retry; undelivered events kept 24 hours in
    /// `account.failed_webhooks`; webhooks disabled after 5 failed tries to
    /// reach the store.
    #[default]
    Api2Cart,
}

impl Profile {
    /// True when the vendor counts `status` as delivered.
    pub fn is_success(self, status: u16) -> bool {
        match self {
            Self::Api2Cart => Vendor::Api2Cart.counts_as_delivered(status),
        }
    }

    /// Attempts per delivery, the first included.
    pub fn max_attempts(self) -> u32 {
        match self {
            Self::Api2Cart => 2,
        }
    }

    /// How long the failed log keeps an entry.
    pub fn failed_retention(self) -> Duration {
        match self {
            Self::Api2Cart => Duration::from_secs(24 * 60 * 60),
        }
    }

    /// After how many failed tries in a row to reach the store its webhooks
    /// are disabled.
    pub fn store_failures_before_disable(self) -> u32 {
        match self {
            Self::Api2Cart => 5,
        }
    }
}
