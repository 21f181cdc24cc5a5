//! Keys grouped by the time something is due for them, in time order.

use std::collections::VecDeque;

/// Keys by due time, earliest first. Registrations mostly go to the latest time (windows fire
/// in order, and each schedules the next), so appending is the fast path; emptied vectors are
/// reused.
pub(crate) struct Buckets<K> {
    buckets: VecDeque<(i64, Vec<K>)>,
    spare: Vec<Vec<K>>,
}

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Buckets {
            buckets: VecDeque::new(),
            spare: Vec::new(),
        }
    }
}

impl<K> Buckets<K> {
    /// Adds `key` at `time`.
    #[inline]
    pub(crate) fn push(&mut self, time: i64, key: K) {
        if let Some((last, keys)) = self.buckets.back_mut() {
            if *last == time {
                keys.push(key);
                return;
            }
        }
        self.push_slow(time, key);
    }

    /// `push` to a time other than the latest.
    #[inline(never)]
    fn push_slow(&mut self, time: i64, key: K) {
        let index = match self.buckets.back() {
            Some((last, _)) if *last > time => {
                match self.buckets.binary_search_by_key(&time, |(t, _)| *t) {
                    Ok(index) => index,
                    Err(index) => {
                        let keys = self.spare.pop().unwrap_or_default();
                        self.buckets.insert(index, (time, keys));
                        index
                    }
                }
            }
            _ => {
                let keys = self.spare.pop().unwrap_or_default();
                self.buckets.push_back((time, keys));
                self.buckets.len() - 1
            }
        };
        self.buckets[index].1.push(key);
    }

    /// The earliest time with keys.
    #[inline]
    pub(crate) fn first_time(&self) -> Option<i64> {
        self.buckets.front().map(|(time, _)| *time)
    }

    /// Removes the earliest bucket; hand its vector back with [`recycle`](Self::recycle).
    pub(crate) fn pop_first(&mut self) -> Option<(i64, Vec<K>)> {
        self.buckets.pop_front()
    }

    /// Returns an emptied vector for reuse.
    pub(crate) fn recycle(&mut self, mut keys: Vec<K>) {
        keys.clear();
        self.spare.push(keys);
    }

    /// Whether no key is waiting.
    /// Every (time, key), in time order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i64, &K)> {
        self.buckets
            .iter()
            .flat_map(|(time, keys)| keys.iter().map(move |key| (*time, key)))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_come_out_in_time_order() {
        let mut buckets = Buckets::default();
        for (time, key) in [
            (20, 'a'),
            (20, 'b'),
            (30, 'c'),
            (10, 'd'),
            (25, 'e'),
            (10, 'f'),
        ] {
            buckets.push(time, key);
        }
        let mut out = Vec::new();
        while let Some((time, keys)) = buckets.pop_first() {
            out.push((time, keys.clone()));
            buckets.recycle(keys);
        }
        assert_eq!(
            out,
            vec![
                (10, vec!['d', 'f']),
                (20, vec!['a', 'b']),
                (25, vec!['e']),
                (30, vec!['c'])
            ]
        );
        assert!(buckets.is_empty());
    }
}
