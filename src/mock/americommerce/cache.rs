//! The vendor's reply cache: a subscription's successful reply to the same
//! request body is reused until its cache length runs out, by the sender's
//! clock (so a `ManualClock` expires it at once).

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;

use super::webhooks::WebhookId;

/// A cached reply: its status and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct CachedReply {
    pub(super) status: u16,
    pub(super) body: Bytes,
}

#[derive(Debug, Default)]
pub(super) struct ReplyCache {
    entries: HashMap<(WebhookId, Bytes), (i64, CachedReply)>,
}

impl ReplyCache {
    /// The reply cached for `webhook` and `request` at `now`, if still fresh.
    pub(super) fn get(
        &mut self,
        webhook: WebhookId,
        request: &Bytes,
        now: i64,
    ) -> Option<CachedReply> {
        let key = (webhook, request.clone());
        match self.entries.get(&key) {
            Some((expires_at, reply)) if now < *expires_at => Some(reply.clone()),
            Some(_) => {
                self.entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps `reply` for `ttl` from `now`.
    pub(super) fn put(
        &mut self,
        webhook: WebhookId,
        request: Bytes,
        now: i64,
        ttl: Duration,
        reply: CachedReply,
    ) {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        self.entries
            .insert((webhook, request), (now.saturating_add(ttl), reply));
    }

    /// Forgets every reply of `webhook` (changed or deleted).
    pub(super) fn forget(&mut self, webhook: WebhookId) {
        self.entries.retain(|(id, _), _| *id != webhook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_expire_at_their_ttl_and_are_per_body() {
        let mut cache = ReplyCache::default();
        let id: WebhookId = "1".parse().unwrap();
        let reply = CachedReply {
            status: 200,
            body: Bytes::from_static(b"{}"),
        };
        let body = Bytes::from_static(b"a");
        cache.put(
            id,
            body.clone(),
            100,
            Duration::from_secs(300),
            reply.clone(),
        );
        assert_eq!(cache.get(id, &body, 399), Some(reply));
        assert_eq!(cache.get(id, &Bytes::from_static(b"b"), 100), None);
        assert_eq!(cache.get(id, &body, 400), None);
        assert!(cache.entries.is_empty());
    }
}
