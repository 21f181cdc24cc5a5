//! Keyed timers: a priority queue of `(timestamp, key, namespace)` without duplicates.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// One queued timer in the heap; only the entry whose `seq` matches the set is live.
struct Queued<K, N> {
    timestamp: i64,
    seq: u64,
    key: K,
    namespace: N,
}

impl<K, N> PartialEq for Queued<K, N> {
    fn eq(&self, other: &Self) -> bool {
        (self.timestamp, self.seq) == (other.timestamp, other.seq)
    }
}
impl<K, N> Eq for Queued<K, N> {}
impl<K, N> PartialOrd for Queued<K, N> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl<K, N> Ord for Queued<K, N> {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (self.timestamp, self.seq).cmp(&(other.timestamp, other.seq))
    }
}

/// Timers of one time domain: at most one per `(timestamp, key, namespace)`, popped in
/// timestamp order (registration order among equal timestamps).
///
/// A hash set makes registration idempotent and deletion cheap; the heap orders the timers.
/// A deleted timer stays in the heap until it reaches the top, where it is recognised as stale
/// because the set no longer holds it with the same sequence number.
pub struct TimerQueue<K, N> {
    live: HashTable<(i64, K, N, u64)>,
    heap: BinaryHeap<Reverse<Queued<K, N>>>,
    next_seq: u64,
    hasher: FxBuildHasher,
}

impl<K, N> Default for TimerQueue<K, N> {
    fn default() -> Self {
        TimerQueue {
            live: HashTable::new(),
            heap: BinaryHeap::new(),
            next_seq: 0,
            hasher: FxBuildHasher,
        }
    }
}

impl<K: Hash + Eq + Clone, N: Hash + Eq + Clone> TimerQueue<K, N> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn hash(&self, timestamp: i64, key: &K, namespace: &N) -> u64 {
        self.hasher.hash_one((timestamp, key, namespace))
    }

    /// Adds a timer; returns `false` (and changes nothing) if it was already registered.
    pub fn register(&mut self, timestamp: i64, key: &K, namespace: &N) -> bool {
        let hash = self.hash(timestamp, key, namespace);
        let eq = |e: &(i64, K, N, u64)| e.0 == timestamp && e.1 == *key && e.2 == *namespace;
        if self.live.find(hash, eq).is_some() {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let hasher = self.hasher;
        self.live.insert_unique(
            hash,
            (timestamp, key.clone(), namespace.clone(), seq),
            move |e| hasher.hash_one((e.0, &e.1, &e.2)),
        );
        self.heap.push(Reverse(Queued {
            timestamp,
            seq,
            key: key.clone(),
            namespace: namespace.clone(),
        }));
        true
    }

    /// Removes a timer; returns whether it was registered.
    pub fn delete(&mut self, timestamp: i64, key: &K, namespace: &N) -> bool {
        let hash = self.hash(timestamp, key, namespace);
        let eq = |e: &(i64, K, N, u64)| e.0 == timestamp && e.1 == *key && e.2 == *namespace;
        match self.live.find_entry(hash, eq) {
            Ok(entry) => {
                entry.remove();
                self.compact_if_mostly_stale();
                true
            }
            Err(_) => false,
        }
    }

    /// Whether a timer is registered.
    pub fn contains(&self, timestamp: i64, key: &K, namespace: &N) -> bool {
        let hash = self.hash(timestamp, key, namespace);
        self.live
            .find(hash, |e| {
                e.0 == timestamp && e.1 == *key && e.2 == *namespace
            })
            .is_some()
    }

    /// Removes and returns the earliest timer if its timestamp is `<= time`.
    pub fn pop_due(&mut self, time: i64) -> Option<(i64, K, N)> {
        loop {
            let top = self.heap.peek()?;
            if top.0.timestamp > time {
                return None;
            }
            let Reverse(queued) = self.heap.pop()?;
            if self.take_live(&queued) {
                return Some((queued.timestamp, queued.key, queued.namespace));
            }
        }
    }

    /// The earliest live timer's timestamp.
    pub fn peek_timestamp(&mut self) -> Option<i64> {
        loop {
            let top = self.heap.peek()?;
            let hash = self.hash(top.0.timestamp, &top.0.key, &top.0.namespace);
            let seq = top.0.seq;
            if self.live.find(hash, |e| e.3 == seq).is_some() {
                return Some(top.0.timestamp);
            }
            self.heap.pop();
        }
    }

    /// Number of registered timers.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no timer is registered.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Every registered timer as `(timestamp, key, namespace)`, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &K, &N)> {
        self.live.iter().map(|e| (e.0, &e.1, &e.2))
    }

    fn take_live(&mut self, queued: &Queued<K, N>) -> bool {
        let hash = self.hash(queued.timestamp, &queued.key, &queued.namespace);
        match self.live.find_entry(hash, |e| e.3 == queued.seq) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Deleted timers linger in the heap; rebuild it when they dominate, so memory stays
    /// proportional to the live timers.
    fn compact_if_mostly_stale(&mut self) {
        if self.heap.len() > 64 && self.heap.len() > 4 * self.live.len() {
            let live = &self.live;
            let hasher = self.hasher;
            self.heap.retain(|Reverse(q)| {
                let hash = hasher.hash_one((q.timestamp, &q.key, &q.namespace));
                live.find(hash, |e| e.3 == q.seq).is_some()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_are_deduplicated_ordered_and_deletable() {
        let mut q: TimerQueue<&str, ()> = TimerQueue::new();
        assert!(q.register(30, &"a", &()));
        assert!(q.register(10, &"b", &()));
        assert!(!q.register(30, &"a", &()));
        assert!(q.register(20, &"a", &()));
        assert!(q.register(10, &"a", &()));
        assert!(q.delete(20, &"a", &()));
        assert!(!q.delete(20, &"a", &()));
        assert_eq!(q.len(), 3);
        let mut fired = Vec::new();
        while let Some(t) = q.pop_due(25) {
            fired.push((t.0, t.1));
        }
        assert_eq!(fired, vec![(10, "b"), (10, "a")]);
        assert_eq!(q.peek_timestamp(), Some(30));
        assert_eq!(q.pop_due(i64::MAX).map(|t| (t.0, t.1)), Some((30, "a")));
        assert!(q.is_empty());
    }

    #[test]
    fn reregistering_a_deleted_timer_fires_it_once() {
        let mut q: TimerQueue<u32, u8> = TimerQueue::new();
        q.register(5, &1, &0);
        q.delete(5, &1, &0);
        q.register(5, &1, &0);
        assert_eq!(q.pop_due(5), Some((5, 1, 0)));
        assert_eq!(q.pop_due(5), None);
    }

    #[test]
    fn stale_entries_are_compacted() {
        let mut q: TimerQueue<u32, ()> = TimerQueue::new();
        for i in 0..1000 {
            q.register(i, &1, &());
        }
        for i in 0..999 {
            q.delete(i, &1, &());
        }
        assert!(q.heap.len() <= 69);
        assert_eq!(q.pop_due(i64::MAX), Some((999, 1, ())));
    }
}
