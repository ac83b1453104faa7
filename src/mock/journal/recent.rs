//! A bounded record: the most recent items and a count of all.

use std::collections::VecDeque;

/// The most recent items of a sender's record, at most `limit` of them
/// (all without one), and how many were ever recorded: what keeps a
/// long-running sender's memory bounded while waits still count everything.
#[derive(Clone, Debug)]
pub(crate) struct Recent<T> {
    items: VecDeque<T>,
    limit: Option<usize>,
    total: usize,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self::new(None)
    }
}

impl<T> Recent<T> {
    /// Keeps the `limit` most recent items, or all of them when `None`.
    pub(crate) fn new(limit: Option<usize>) -> Self {
        Self {
            items: VecDeque::new(),
            limit,
            total: 0,
        }
    }

    /// Records `item`, dropping the oldest kept ones beyond the limit.
    pub(crate) fn push(&mut self, item: T) {
        self.total = self.total.saturating_add(1);
        self.items.push_back(item);
        if let Some(limit) = self.limit {
            while self.items.len() > limit {
                self.items.pop_front();
            }
        }
    }

    /// The kept items, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// How many it keeps at most (`None`: all).
    pub(crate) fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// How many are kept.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// How many were ever recorded, dropped ones included.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// The newest item, if one is kept.
    pub(crate) fn last(&self) -> Option<&T> {
        self.items.back()
    }
}

impl<T: Clone> Recent<T> {
    /// The kept items, oldest first.
    pub(crate) fn to_vec(&self) -> Vec<T> {
        self.items.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_drops_the_oldest_beyond_the_limit() {
        let mut recent = Recent::new(Some(2));
        for n in 1..=5 {
            recent.push(n);
        }
        assert_eq!(recent.to_vec(), [4, 5]);
        assert_eq!(
            (recent.len(), recent.total(), recent.last()),
            (2, 5, Some(&5))
        );

        let mut none_kept = Recent::new(Some(0));
        none_kept.push(1);
        assert_eq!((none_kept.len(), none_kept.total()), (0, 1));

        let mut unlimited = Recent::default();
        for n in 1..=5 {
            unlimited.push(n);
        }
        assert_eq!(unlimited.to_vec(), [1, 2, 3, 4, 5]);
    }
}
