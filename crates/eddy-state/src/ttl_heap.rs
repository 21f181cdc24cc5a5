//! The heap backend's tables for states with a time-to-live: values carry their last-access
//! time, and the table can be swept a few entries at a time (incremental cleanup).
//!
//! The entries are kept in insertion order in an `IndexMap`, so the sweep is a cursor over
//! positions that survives inserts and removals; a plain hash table offers no such cursor.

use std::any::Any;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use indexmap::{Equivalent, IndexMap};
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::heap::StateTable;
use super::ttl::{expired, IncrementalCleanup, Stamped};
use super::Namespace;

/// A value whose expired parts can be dropped.
pub(crate) trait Expirable {
    /// Drops what expired at `now`; `false` if nothing is left.
    fn purge(&mut self, ttl_millis: i64, now: i64) -> bool;
}

impl<T> Expirable for Stamped<T> {
    fn purge(&mut self, ttl_millis: i64, now: i64) -> bool {
        !expired(self.last_access, ttl_millis, now)
    }
}

impl<T> Expirable for Vec<Stamped<T>> {
    fn purge(&mut self, ttl_millis: i64, now: i64) -> bool {
        self.retain(|element| !expired(element.last_access, ttl_millis, now));
        !self.is_empty()
    }
}

impl<UK, UV> Expirable for FxHashMap<UK, Stamped<UV>> {
    fn purge(&mut self, ttl_millis: i64, now: i64) -> bool {
        self.retain(|_, entry| !expired(entry.last_access, ttl_millis, now));
        !self.is_empty()
    }
}

/// Looks an entry up by reference, without cloning the key; hashes like `(K, Namespace)`.
struct Lookup<'k, K>(&'k K, Namespace);

impl<K: Hash> Hash for Lookup<'_, K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl<K: Eq> Equivalent<(K, Namespace)> for Lookup<'_, K> {
    fn equivalent(&self, entry: &(K, Namespace)) -> bool {
        *self.0 == entry.0 && self.1 == entry.1
    }
}

/// The entries of one state with a time-to-live: a value (with its timestamps) per key and
/// namespace, and the position where the incremental cleanup goes on.
pub(crate) struct TtlTable<K, V> {
    entries: IndexMap<(K, Namespace), V, FxBuildHasher>,
    ttl_millis: i64,
    incremental: Option<IncrementalCleanup>,
    cursor: usize,
}

impl<K: Hash + Eq + Clone, V: Expirable> TtlTable<K, V> {
    pub(crate) fn new(ttl_millis: i64, incremental: Option<IncrementalCleanup>) -> Self {
        TtlTable {
            entries: IndexMap::default(),
            ttl_millis,
            incremental,
            cursor: 0,
        }
    }

    pub(crate) fn get_mut(&mut self, key: &K, namespace: Namespace) -> Option<&mut V> {
        self.entries.get_mut(&Lookup(key, namespace))
    }

    /// The entry's value, created with `create` if missing.
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: &K,
        namespace: Namespace,
        create: impl FnOnce() -> V,
    ) -> &mut V {
        let index = match self.entries.get_index_of(&Lookup(key, namespace)) {
            Some(index) => index,
            None => {
                self.entries
                    .insert_full((key.clone(), namespace), create())
                    .0
            }
        };
        &mut self.entries[index]
    }

    pub(crate) fn insert(&mut self, key: &K, namespace: Namespace, value: V) {
        match self.get_mut(key, namespace) {
            Some(slot) => *slot = value,
            None => {
                self.entries.insert((key.clone(), namespace), value);
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K, namespace: Namespace) -> Option<V> {
        self.entries.swap_remove(&Lookup(key, namespace))
    }

    /// Every entry, in insertion order (disturbed by removals).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, Namespace, &V)> {
        self.entries.iter().map(|((k, n), v)| (k, *n, v))
    }

    /// Checks the next `count` entries (wrapping around) and drops what expired at `now`.
    pub(crate) fn sweep(&mut self, count: usize, now: i64) {
        for _ in 0..count.min(self.entries.len()) {
            if self.cursor >= self.entries.len() {
                self.cursor = 0;
            }
            let Some((_, value)) = self.entries.get_index_mut(self.cursor) else {
                return;
            };
            if value.purge(self.ttl_millis, now) {
                self.cursor += 1;
            } else {
                // The last entry moves into this position: check it next.
                self.entries.swap_remove_index(self.cursor);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<K, V> StateTable<K> for TtlTable<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Expirable + Send + 'static,
{
    fn remove_entry(&mut self, key: &K, namespace: Namespace) {
        self.remove(key, namespace);
    }

    fn for_each_key(&self, visit: &mut dyn FnMut(&K, Namespace)) {
        for (key, namespace) in self.entries.keys() {
            visit(key, *namespace);
        }
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cleans_up_per_record(&self) -> bool {
        self.incremental
            .is_some_and(|incremental| incremental.run_cleanup_for_every_record)
    }

    fn cleanup_for_record(&mut self, now: i64) {
        if let Some(incremental) = self.incremental {
            if incremental.run_cleanup_for_every_record {
                self.sweep(incremental.cleanup_size, now);
            }
        }
    }

    fn cleanup_on_access(&mut self, now: i64) {
        if let Some(incremental) = self.incremental {
            self.sweep(incremental.cleanup_size, now);
        }
    }
}

/// A table with the function of its state (reduce or aggregate function); `M` tells apart
/// tables whose types differ only in the function's input and output.
pub(crate) struct FunctionTable<Tb, F, M> {
    pub(crate) table: Tb,
    pub(crate) function: F,
    pub(crate) _marker: PhantomData<fn() -> M>,
}

impl<K, Tb, F, M> StateTable<K> for FunctionTable<Tb, F, M>
where
    Tb: StateTable<K>,
    F: Send + 'static,
    M: 'static,
{
    fn remove_entry(&mut self, key: &K, namespace: Namespace) {
        self.table.remove_entry(key, namespace);
    }

    fn for_each_key(&self, visit: &mut dyn FnMut(&K, Namespace)) {
        self.table.for_each_key(visit);
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cleans_up_per_record(&self) -> bool {
        self.table.cleans_up_per_record()
    }

    fn cleanup_for_record(&mut self, now: i64) {
        self.table.cleanup_for_record(now);
    }

    fn cleanup_on_access(&mut self, now: i64) {
        self.table.cleanup_on_access(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(value: u32, last_access: i64) -> Stamped<u32> {
        Stamped { value, last_access }
    }

    #[test]
    fn the_sweep_visits_every_entry_across_steps_and_drops_only_expired_ones() {
        let mut table = TtlTable::<u32, Stamped<u32>>::new(100, None);
        for key in 0..10u32 {
            // Even keys were last accessed at 0, odd ones at 50.
            table.insert(
                &key,
                Namespace::Global,
                stamped(key, i64::from(key % 2) * 50),
            );
        }
        // At 120 the even keys have expired (0 + 100 <= 120), the odd ones not.
        for _ in 0..4 {
            table.sweep(3, 120);
        }
        let mut left: Vec<u32> = Vec::new();
        table.for_each_key(&mut |key, _| left.push(*key));
        left.sort_unstable();
        assert_eq!(left, vec![1, 3, 5, 7, 9]);
        table.sweep(100, 150);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn lists_and_maps_lose_their_expired_elements_and_go_when_empty() {
        let mut lists = TtlTable::<u32, Vec<Stamped<u32>>>::new(10, None);
        lists.insert(&1, Namespace::Global, vec![stamped(1, 0), stamped(2, 5)]);
        lists.sweep(1, 12);
        assert_eq!(
            lists.get_mut(&1, Namespace::Global).unwrap(),
            &vec![stamped(2, 5)]
        );
        lists.sweep(1, 15);
        assert_eq!(lists.len(), 0);
        let mut maps = TtlTable::<u32, FxHashMap<u8, Stamped<u32>>>::new(10, None);
        let mut map = FxHashMap::default();
        map.insert(7u8, stamped(7, 0));
        map.insert(8u8, stamped(8, 9));
        maps.insert(&1, Namespace::Global, map);
        maps.sweep(1, 10);
        let left = maps.get_mut(&1, Namespace::Global).unwrap();
        assert_eq!(left.keys().copied().collect::<Vec<_>>(), vec![8]);
    }
}
