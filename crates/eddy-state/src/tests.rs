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

/// More states than the heap backend finds by name comparison, used in turn: every value
/// comes back, and a state asked for as another type is still refused, also once it was
/// found by comparison.
#[test]
fn many_states_in_turn_keep_their_values_and_their_types() {
    let mut backend: KeyedStateBackend<u64> = KeyedStateBackend::heap();
    let states: Vec<ValueStateDescriptor<u64>> = (0..7)
        .map(|i| ValueStateDescriptor::new(format!("state-{i}")))
        .collect();
    for round in 0..3u64 {
        for key in 0..20u64 {
            for (i, state) in states.iter().enumerate() {
                let mut cell = KeyedState::new(&mut backend, &key, Namespace::Global)
                    .value(state)
                    .unwrap();
                let expected = (round > 0).then(|| (round - 1) * 1000 + key * 10 + i as u64);
                assert_eq!(cell.value().unwrap(), expected, "key {key}, state {i}");
                cell.update(round * 1000 + key * 10 + i as u64).unwrap();
            }
        }
    }
    let as_text: ValueStateDescriptor<String> = ValueStateDescriptor::new("state-0");
    let error = KeyedState::new(&mut backend, &0, Namespace::Global)
        .value(&as_text)
        .err()
        .expect("another type is refused")
        .to_string();
    assert!(error.contains("was asked for as"), "{error}");
}

/// Descriptors remember where a heap backend keeps their state; used with two backends that
/// registered the same states in opposite orders (so each state's table has another index in
/// each), and cloned, every state keeps its own values in each backend.
#[test]
fn descriptors_used_with_several_backends_find_their_own_state_in_each() {
    let mut backends: [KeyedStateBackend<u64>; 2] =
        [KeyedStateBackend::heap(), KeyedStateBackend::heap()];
    let a: ValueStateDescriptor<u64> = ValueStateDescriptor::new("a");
    let b: ValueStateDescriptor<u64> = ValueStateDescriptor::new("b");
    for (backend, order) in backends.iter_mut().zip([[&a, &b], [&b, &a]]) {
        for state in order {
            KeyedState::new(backend, &0, Namespace::Global)
                .value(state)
                .unwrap();
        }
    }
    // The value of state `s` (0: a, 1: b) for `key` in backend `n` after `round`.
    let expected = |n: u64, s: u64, key: u64, round: u64| round * 100 + n * 10 + s * 5 + key;
    let a_clone = a.clone();
    for round in 0..4u64 {
        for key in 0..3u64 {
            for (n, backend) in backends.iter_mut().enumerate() {
                let a_now = if round % 2 == 0 { &a } else { &a_clone };
                for (s, state) in [a_now, &b].into_iter().enumerate() {
                    let (n, s) = (n as u64, s as u64);
                    let mut cell = KeyedState::new(backend, &key, Namespace::Global)
                        .value(state)
                        .unwrap();
                    let previous = (round > 0).then(|| expected(n, s, key, round - 1));
                    assert_eq!(
                        cell.value().unwrap(),
                        previous,
                        "backend {n}, state {s}, key {key}"
                    );
                    cell.update(expected(n, s, key, round)).unwrap();
                }
            }
        }
    }
}
