//! The conformance suite on the heap backend, and on the store backend over an in-memory
//! ordered store (the same byte layout the on-disk backend uses, without the disk).

use std::collections::BTreeMap;
use std::ops::Bound;

use super::conformance::{self, BackendFactory};
use super::*;
use eddy_core::Key;

use super::conformance::HeapFactory as Heap;

/// An ordered store in `BTreeMap`s, one per state.
#[derive(Default)]
pub(crate) struct MemoryStore {
    keyspaces: Vec<BTreeMap<Vec<u8>, Vec<u8>>>,
    names: Vec<String>,
}

impl MemoryStore {
    fn keyspace(&mut self, state: StoreStateId) -> &mut BTreeMap<Vec<u8>, Vec<u8>> {
        &mut self.keyspaces[state.0 as usize]
    }
}

/// A copy of a [`MemoryStore`]'s keyspaces.
struct MemoryStoreView(Vec<BTreeMap<Vec<u8>, Vec<u8>>>);

impl StoreSnapshotView for MemoryStoreView {
    fn scan(&mut self, state: StoreStateId, visit: &mut RowVisitor<'_>) -> Result<(), StateError> {
        for (key, value) in &self.0[state.0 as usize] {
            if visit(key, value)? == ScanControl::Stop {
                break;
            }
        }
        Ok(())
    }
}

impl OrderedStateStore for MemoryStore {
    fn backend_name(&self) -> &'static str {
        "memory"
    }

    fn snapshot_view(&mut self) -> Result<Box<dyn StoreSnapshotView>, StateError> {
        Ok(Box::new(MemoryStoreView(self.keyspaces.clone())))
    }

    fn register_state(
        &mut self,
        name: &str,
        _ttl: Option<&TtlRows>,
    ) -> Result<StoreStateId, StateError> {
        if let Some(index) = self.names.iter().position(|n| n == name) {
            return Ok(StoreStateId(index as u32));
        }
        self.names.push(name.to_owned());
        self.keyspaces.push(BTreeMap::new());
        Ok(StoreStateId(self.keyspaces.len() as u32 - 1))
    }

    fn get(
        &self,
        state: StoreStateId,
        key: &[u8],
        value: &mut Vec<u8>,
    ) -> Result<bool, StateError> {
        value.clear();
        match self.keyspaces[state.0 as usize].get(key) {
            Some(found) => {
                value.extend_from_slice(found);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn put(&mut self, state: StoreStateId, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.keyspace(state).insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn append(&mut self, state: StoreStateId, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.keyspace(state)
            .entry(key.to_vec())
            .or_default()
            .extend_from_slice(value);
        Ok(())
    }

    fn delete(&mut self, state: StoreStateId, key: &[u8]) -> Result<(), StateError> {
        self.keyspace(state).remove(key);
        Ok(())
    }

    fn scan(
        &self,
        state: StoreStateId,
        from: &[u8],
        to: Option<&[u8]>,
        visit: &mut RowVisitor<'_>,
    ) -> Result<(), StateError> {
        let upper = to.map_or(Bound::Unbounded, Bound::Excluded);
        for (key, value) in
            self.keyspaces[state.0 as usize].range::<[u8], _>((Bound::Included(from), upper))
        {
            if visit(key, value)? == ScanControl::Stop {
                break;
            }
        }
        Ok(())
    }

    fn delete_range(
        &mut self,
        state: StoreStateId,
        from: &[u8],
        to: &[u8],
    ) -> Result<(), StateError> {
        let doomed: Vec<Vec<u8>> = self
            .keyspace(state)
            .range::<[u8], _>((Bound::Included(from), Bound::Excluded(to)))
            .map(|(key, _)| key.clone())
            .collect();
        for key in doomed {
            self.keyspace(state).remove(&key);
        }
        Ok(())
    }
}

struct InMemoryStore;

impl BackendFactory for InMemoryStore {
    fn make<K: Key>(&mut self, max_parallelism: u32) -> KeyedStateBackend<K> {
        KeyedStateBackend::in_store(Box::new(MemoryStore::default()), max_parallelism)
    }
}

#[test]
fn the_heap_backend_passes_the_conformance_suite() {
    conformance::run_all(&mut Heap);
}

#[test]
fn the_store_backend_passes_the_conformance_suite() {
    conformance::run_all(&mut InMemoryStore);
}

#[test]
fn heap_snapshots_restore_into_the_heap_and_the_store_backend() {
    conformance::snapshots::run_all(&mut Heap, &mut Heap);
    conformance::snapshots::run_all(&mut Heap, &mut InMemoryStore);
}

#[test]
fn store_snapshots_restore_into_the_store_and_the_heap_backend() {
    conformance::snapshots::run_all(&mut InMemoryStore, &mut InMemoryStore);
    conformance::snapshots::run_all(&mut InMemoryStore, &mut Heap);
}
