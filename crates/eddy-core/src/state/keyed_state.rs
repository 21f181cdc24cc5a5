//! [`KeyedState`]: the current key's state in one namespace, on either backend, and the
//! backend enum operators own.

use std::any::type_name;
use std::marker::PhantomData;

use rustc_hash::FxHashMap;

use super::descriptors::{
    AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor,
    ValueStateDescriptor,
};
use super::handles::{Access, AggregatingState, ListState, MapState, ReducingState, ValueState};
use super::heap::{AggregatingTable, HeapKeyedStateBackend, ReducingTable, Table};
use super::store::OrderedStateStore;
use super::store_backend::{RowShape, StoreKeyedStateBackend};
use super::Namespace;
use crate::error::FnResult;
use crate::keygroup::KeyGroupRange;
use crate::windowing::AggregateFunction;
use crate::{Data, Key};

/// The keyed state of one operator subtask, on the backend `state.backend.type` chose.
pub enum KeyedStateBackend<K> {
    /// Objects on the heap (`hashmap`).
    Heap(HeapKeyedStateBackend<K>),
    /// Serialized rows in an ordered store on disk (`rocksdb`).
    Store(StoreKeyedStateBackend<K>),
}

impl<K> Default for KeyedStateBackend<K> {
    fn default() -> Self {
        KeyedStateBackend::Heap(HeapKeyedStateBackend::default())
    }
}

impl<K: Key> KeyedStateBackend<K> {
    /// State on the heap.
    pub fn heap() -> Self {
        Self::default()
    }

    /// State in `store`, keys hashed into `max_parallelism` key groups.
    pub fn in_store(store: Box<dyn OrderedStateStore>, max_parallelism: u32) -> Self {
        KeyedStateBackend::Store(StoreKeyedStateBackend::new(store, max_parallelism))
    }

    /// The names of the registered states, sorted.
    pub fn state_names(&self) -> Vec<&str> {
        match self {
            KeyedStateBackend::Heap(heap) => heap.state_names(),
            KeyedStateBackend::Store(store) => store.state_names(),
        }
    }

    /// Drops every state of `key` in `namespace` (a window's state when the window is
    /// cleaned up).
    pub fn clear_namespace(&mut self, key: &K, namespace: Namespace) -> FnResult<()> {
        match self {
            KeyedStateBackend::Heap(heap) => {
                heap.clear_namespace(key, namespace);
                Ok(())
            }
            KeyedStateBackend::Store(store) => store.clear_namespace(key, namespace),
        }
    }

    /// The keys that have an entry of state `name` in `namespace` (what Flink's
    /// `applyToKeyedState` visits, with `Namespace::Global`): in no particular order on the
    /// heap, in store order on disk.
    pub fn keys_in_namespace(&mut self, name: &str, namespace: Namespace) -> FnResult<Vec<K>> {
        match self {
            KeyedStateBackend::Heap(heap) => Ok(heap.keys_in_namespace(name, namespace)),
            KeyedStateBackend::Store(store) => store.keys_in_namespace(name, namespace),
        }
    }

    /// The keys with an entry of state `name` in the key groups of `range` (of
    /// `max_parallelism`), ordered by key group and then by serialized key, each once.
    pub fn keys_in(
        &mut self,
        name: &str,
        range: KeyGroupRange,
        max_parallelism: u32,
    ) -> FnResult<Vec<K>> {
        match self {
            KeyedStateBackend::Heap(heap) => heap.keys_in(name, range, max_parallelism),
            KeyedStateBackend::Store(store) => store.keys_in(name, range),
        }
    }
}

/// The keyed state of the current key in one namespace (the key's own state, or one
/// window's). Get it from a keyed context (`ctx.state()`, or `window_state()` /
/// `global_state()` in a window function) and ask it for one state by descriptor:
/// `ctx.state().value(&self.count)?`.
pub struct KeyedState<'a, K> {
    backend: &'a mut KeyedStateBackend<K>,
    key: &'a K,
    namespace: Namespace,
}

/// The function slot of states that have none.
fn no_function() -> Box<dyn std::any::Any + Send> {
    Box::new(())
}

impl<'a, K: Key> KeyedState<'a, K> {
    /// The state of `key` in `namespace` (for operator implementations).
    pub fn new(backend: &'a mut KeyedStateBackend<K>, key: &'a K, namespace: Namespace) -> Self {
        KeyedState {
            backend,
            key,
            namespace,
        }
    }

    /// The key whose state this is.
    pub fn current_key(&self) -> &K {
        self.key
    }

    /// The namespace of this state.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The value state `descriptor` names.
    pub fn value<T: Data>(
        self,
        descriptor: &ValueStateDescriptor<T>,
    ) -> FnResult<ValueState<'a, K, T>> {
        let description = || format!("ValueState<{}>", type_name::<T>());
        let access = match self.backend {
            KeyedStateBackend::Heap(heap) => Access::Heap {
                table: heap.table(descriptor.name(), description, Table::<K, T>::new)?,
                key: self.key,
                namespace: self.namespace,
            },
            KeyedStateBackend::Store(store) => Access::Store(store.cell::<Table<K, T>>(
                descriptor.name(),
                description,
                RowShape::Single,
                no_function,
                self.key,
                self.namespace,
            )?),
        };
        Ok(ValueState { access })
    }

    /// The list state `descriptor` names.
    pub fn list<T: Data>(
        self,
        descriptor: &ListStateDescriptor<T>,
    ) -> FnResult<ListState<'a, K, T>> {
        let description = || format!("ListState<{}>", type_name::<T>());
        let access = match self.backend {
            KeyedStateBackend::Heap(heap) => Access::Heap {
                table: heap.table(descriptor.name(), description, Table::<K, Vec<T>>::new)?,
                key: self.key,
                namespace: self.namespace,
            },
            KeyedStateBackend::Store(store) => Access::Store(store.cell::<Table<K, Vec<T>>>(
                descriptor.name(),
                description,
                RowShape::Single,
                no_function,
                self.key,
                self.namespace,
            )?),
        };
        Ok(ListState { access })
    }

    /// The map state `descriptor` names.
    pub fn map<UK: Key, UV: Data>(
        self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<MapState<'a, K, UK, UV>> {
        let description = || format!("MapState<{}, {}>", type_name::<UK>(), type_name::<UV>());
        let access = match self.backend {
            KeyedStateBackend::Heap(heap) => Access::Heap {
                table: heap.table(
                    descriptor.name(),
                    description,
                    Table::<K, FxHashMap<UK, UV>>::new,
                )?,
                key: self.key,
                namespace: self.namespace,
            },
            KeyedStateBackend::Store(store) => {
                Access::Store(store.cell::<Table<K, FxHashMap<UK, UV>>>(
                    descriptor.name(),
                    description,
                    RowShape::PerUserKey,
                    no_function,
                    self.key,
                    self.namespace,
                )?)
            }
        };
        Ok(MapState { access })
    }

    /// The reducing state `descriptor` names.
    pub fn reducing<T: Data>(
        self,
        descriptor: &ReducingStateDescriptor<T>,
    ) -> FnResult<ReducingState<'a, K, T>> {
        let description = || format!("ReducingState<{}>", type_name::<T>());
        let access = match self.backend {
            KeyedStateBackend::Heap(heap) => Access::Heap {
                table: heap.table(descriptor.name(), description, || ReducingTable {
                    values: Table::<K, Option<T>>::new(),
                    reduce: descriptor.reduce_fn(),
                })?,
                key: self.key,
                namespace: self.namespace,
            },
            KeyedStateBackend::Store(store) => Access::Store(store.cell::<ReducingTable<K, T>>(
                descriptor.name(),
                description,
                RowShape::Single,
                || Box::new(descriptor.reduce_fn()),
                self.key,
                self.namespace,
            )?),
        };
        Ok(ReducingState { access })
    }

    /// The aggregating state `descriptor` names.
    pub fn aggregating<IN, ACC, OUT, F>(
        self,
        descriptor: &AggregatingStateDescriptor<IN, ACC, OUT, F>,
    ) -> FnResult<AggregatingState<'a, K, IN, ACC, OUT, F>>
    where
        IN: 'static,
        ACC: Data,
        OUT: 'static,
        F: AggregateFunction<IN, ACC, OUT>,
    {
        let description = || {
            format!(
                "AggregatingState<{}, {}, {}>",
                type_name::<IN>(),
                type_name::<ACC>(),
                type_name::<OUT>()
            )
        };
        let access = match self.backend {
            KeyedStateBackend::Heap(heap) => Access::Heap {
                table: heap.table(descriptor.name(), description, || AggregatingTable {
                    accumulators: Table::<K, ACC>::new(),
                    function: descriptor.function(),
                    _types: PhantomData,
                })?,
                key: self.key,
                namespace: self.namespace,
            },
            KeyedStateBackend::Store(store) => {
                Access::Store(store.cell::<AggregatingTable<K, IN, ACC, OUT, F>>(
                    descriptor.name(),
                    description,
                    RowShape::Single,
                    || Box::new(descriptor.function()),
                    self.key,
                    self.namespace,
                )?)
            }
        };
        Ok(AggregatingState { access })
    }
}
