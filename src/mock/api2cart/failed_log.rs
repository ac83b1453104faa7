//! Undelivered events, kept 24 hours and listed in the shape of the vendor's
//! `account.failed_webhooks`.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::subscriptions::{ApiError, WebhookId, page_size, vendor_time};
use crate::{Action, Entity};

/// One event the receiver did not take: both attempts failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedWebhook {
    webhook_id: Option<WebhookId>,
    entity_id: Option<String>,
    time: i64,
    entity: Entity,
    action: Action,
    callback: String,
}

impl FailedWebhook {
    pub(crate) fn new(
        webhook_id: Option<WebhookId>,
        entity_id: Option<String>,
        time: i64,
        entity: Entity,
        action: Action,
        callback: String,
    ) -> Self {
        Self {
            webhook_id,
            entity_id,
            time,
            entity,
            action,
            callback,
        }
    }

    /// The subscription; `None` for [`MockSender::send`](super::MockSender::send).
    pub fn webhook_id(&self) -> Option<WebhookId> {
        self.webhook_id
    }

    /// The id of the entity, to synchronize it again.
    pub fn entity_id(&self) -> Option<&str> {
        self.entity_id.as_deref()
    }

    /// When the last attempt failed (the sender's clock, Unix seconds).
    pub fn time(&self) -> i64 {
        self.time
    }

    /// The event's entity.
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The event's action.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// Where it was to go.
    pub fn callback(&self) -> &str {
        &self.callback
    }

    /// The entry as `account.failed_webhooks` shows it:
    /// `{"webhook_id":3,"entity_id":"86","time":{"value":...,"format":...}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "webhook_id": self.webhook_id.map(WebhookId::get),
            "entity_id": self.entity_id,
            "time": vendor_time(self.time),
        })
    }
}

/// The parameters of `account.failed_webhooks`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailedQuery {
    start: usize,
    count: Option<usize>,
    ids: Option<Vec<WebhookId>>,
}

impl FailedQuery {
    /// The first page of 10, every webhook.
    pub fn new() -> Self {
        Self::default()
    }

    /// Skip the first `start` entries.
    #[must_use]
    pub fn start(mut self, start: usize) -> Self {
        self.start = start;
        self
    }

    /// At most `count` entries (default 10, at most 250).
    #[must_use]
    pub fn count(mut self, count: usize) -> Self {
        self.count = Some(count);
        self
    }

    /// Only entries for these subscriptions.
    #[must_use]
    pub fn ids(mut self, ids: impl IntoIterator<Item = WebhookId>) -> Self {
        self.ids = Some(ids.into_iter().collect());
        self
    }
}

/// The answer of `account.failed_webhooks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedWebhooks {
    all: usize,
    page: Vec<FailedWebhook>,
}

impl FailedWebhooks {
    /// How many entries match, across every page (`all_failed_webhook`).
    pub fn all_failed_webhook(&self) -> usize {
        self.all
    }

    /// The entries of this page, oldest first (`webhook`).
    pub fn webhook(&self) -> &[FailedWebhook] {
        &self.page
    }

    /// The vendor's response:
    /// `{"return_code":0,"return_message":"","result":{"all_failed_webhook":"2","webhook":[...]}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "return_code": 0,
            "return_message": "",
            "result": {
                "all_failed_webhook": self.all.to_string(),
                "webhook": self.page.iter().map(FailedWebhook::to_json).collect::<Vec<_>>(),
            },
        })
    }
}

/// The entries, oldest first, dropped once older than the retention.
#[derive(Debug)]
pub(crate) struct FailedLog {
    retention_secs: i64,
    entries: VecDeque<FailedWebhook>,
}

impl FailedLog {
    pub(crate) fn new(retention_secs: i64) -> Self {
        Self {
            retention_secs,
            entries: VecDeque::new(),
        }
    }

    pub(crate) fn push(&mut self, entry: FailedWebhook) {
        self.entries.push_back(entry);
    }

    /// Drops what is older than the retention at `now`: an entry is kept
    /// while `now < time + retention`.
    fn expire(&mut self, now: i64) {
        let retention = self.retention_secs;
        self.entries
            .retain(|e| now < e.time.saturating_add(retention));
    }

    pub(crate) fn query(
        &mut self,
        now: i64,
        query: &FailedQuery,
    ) -> Result<FailedWebhooks, ApiError> {
        let count = page_size(query.count)?;
        self.expire(now);
        let selected: Vec<&FailedWebhook> = self
            .entries
            .iter()
            .filter(|e| {
                query
                    .ids
                    .as_ref()
                    .is_none_or(|ids| e.webhook_id.is_some_and(|id| ids.contains(&id)))
            })
            .collect();
        Ok(FailedWebhooks {
            all: selected.len(),
            page: selected
                .into_iter()
                .skip(query.start)
                .take(count)
                .cloned()
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::api2cart::subscriptions::format_utc;

    #[test]
    fn formats_utc_like_php() {
        // date('Y-m-d\TH:i:sO', ...) in PHP with TZ=UTC.
        assert_eq!(format_utc(0), "1970-01-01T00:00:00+0000");
        assert_eq!(format_utc(1_516_291_592), "2018-01-18T16:06:32+0000");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00+0000");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59+0000");
    }

    fn entry(webhook: u64, time: i64) -> FailedWebhook {
        let id: WebhookId = webhook.to_string().parse().unwrap();
        FailedWebhook::new(
            Some(id),
            Some("86".into()),
            time,
            Entity::Product,
            Action::Add,
            "http://x/".into(),
        )
    }

    #[test]
    fn kept_for_exactly_the_retention() {
        let mut log = FailedLog::new(100);
        log.push(entry(1, 1000));
        log.push(entry(2, 1050));
        let q = FailedQuery::new();
        assert_eq!(log.query(1099, &q).unwrap().all_failed_webhook(), 2);
        assert_eq!(log.query(1100, &q).unwrap().all_failed_webhook(), 1);
        assert_eq!(log.query(1150, &q).unwrap().all_failed_webhook(), 0);
    }

    #[test]
    fn pages_and_filters_by_webhook() {
        let mut log = FailedLog::new(100);
        for n in 1..=3 {
            log.push(entry(n, 0));
        }
        let ids = ["1".parse().unwrap(), "3".parse().unwrap()];
        let page = log
            .query(0, &FailedQuery::new().ids(ids).start(1).count(5))
            .unwrap();
        assert_eq!(page.all_failed_webhook(), 2);
        assert_eq!(page.webhook().len(), 1);
        assert_eq!(page.to_json()["result"]["all_failed_webhook"], "2");
        assert_eq!(page.to_json()["result"]["webhook"][0]["webhook_id"], 3);
        assert!(log.query(0, &FailedQuery::new().count(251)).is_err());
    }
}
