//! [`KeyedState`]: the current key's state in one namespace, on either backend, and the
//! backend enum operators own.

use std::any::type_name;
use std::cell::RefCell;
use std::marker::PhantomData;

use rustc_hash::FxHashMap;

use super::descriptors::{
    AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor,
    ValueStateDescriptor,
};
use super::handles::{Access, AggregatingState, ListState, MapState, ReducingState, ValueState};
use super::heap::{
    AggregatingTable, HeapKeyedStateBackend, ReducingTable, StateTable, Table, TableSlot,
};
use super::heap_codec::{
    codec, HeapCodec, List, Map, Optional, Plain, StampedList, StampedMap, StampedValue,
};
use super::pending_snapshot::PendingKeyedSnapshot;
use super::snapshot::{value_state_description, KeyedStateSnapshot};
use super::store::{OrderedStateStore, TtlRowLayout, TtlRows};
use super::store_backend::{RowShape, StoreKeyedStateBackend};
use super::ttl::{IncrementalCleanup, StateTtlConfig, TtlClock, TtlNow};
use super::ttl_access::{
    TtlAccess, TtlAggregatingTable, TtlListTable, TtlMapTable, TtlPlace, TtlReducingTable,
    TtlValueTable,
};
use super::ttl_heap::{FunctionTable, TtlTable};
use super::Namespace;
use crate::AggregateFunction;
use eddy_core::error::FnResult;
use eddy_core::keygroup::KeyGroupRange;
use eddy_core::{Data, Key};

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

    /// Sets the processing-time clock that states with a time-to-live read (the system
    /// clock by default).
    pub fn set_ttl_clock(&mut self, clock: TtlClock) {
        match self {
            KeyedStateBackend::Heap(heap) => heap.clock = clock,
            KeyedStateBackend::Store(store) => store.clock = clock,
        }
    }

    /// The cleanup step states with a time-to-live may ask for after every record
    /// (`cleanup_incrementally(n, true)` on the heap); operators call it per record.
    #[inline]
    pub fn cleanup_for_record(&mut self) {
        if let KeyedStateBackend::Heap(heap) = self {
            heap.cleanup_for_record();
        }
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
            KeyedStateBackend::Heap(heap) => heap.clear_namespace(key, namespace),
            KeyedStateBackend::Store(store) => store.clear_namespace(key, namespace),
        }
    }

    /// Every state in the backend-independent snapshot format (keys hashed into
    /// `max_parallelism` key groups), which either backend restores.
    pub fn snapshot(&mut self, max_parallelism: u32) -> FnResult<KeyedStateSnapshot> {
        self.snapshot_pending(max_parallelism)?.finish()
    }

    /// The synchronous part of a snapshot (a copy of the heap's entries, a point-in-time view
    /// of the store); finish it, on any thread, for the [`KeyedStateSnapshot`].
    pub fn snapshot_pending(&mut self, max_parallelism: u32) -> FnResult<PendingKeyedSnapshot> {
        match self {
            KeyedStateBackend::Heap(heap) => heap.snapshot_pending(max_parallelism),
            KeyedStateBackend::Store(store) => store.snapshot_pending(),
        }
    }

    /// A snapshot of this backend, which the snapshot takes over: nothing is copied, and
    /// the heap's entries are encoded when the snapshot is finished (for backends an
    /// operator fills with a copy of its own structures, in a snapshot's synchronous part).
    pub fn into_pending(self, max_parallelism: u32) -> FnResult<PendingKeyedSnapshot> {
        match self {
            KeyedStateBackend::Heap(heap) => {
                let mut pending =
                    PendingKeyedSnapshot::ready(KeyedStateSnapshot::for_key::<K>(max_parallelism));
                pending.defer(move |snapshot| {
                    snapshot.insert_states_from(heap.snapshot(max_parallelism)?);
                    Ok(())
                });
                Ok(pending)
            }
            mut store => store.snapshot_pending(max_parallelism),
        }
    }

    /// Restores the key groups of `range` from the snapshots of one or many old subtasks
    /// into this backend, which must hold no state yet: how keyed state comes back after a
    /// failure or at another parallelism. A state's kind and type are checked against the
    /// snapshot's when a function first asks for it.
    pub fn restore(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        range: KeyGroupRange,
        max_parallelism: u32,
    ) -> FnResult<()> {
        match self {
            KeyedStateBackend::Heap(heap) => heap.restore(snapshots, range, max_parallelism),
            KeyedStateBackend::Store(store) => store.restore(snapshots, range, max_parallelism),
        }
    }

    /// The keys that have an entry of state `name` in `namespace` (what Flink's
    /// `applyToKeyedState` visits, with `Namespace::Global`): in no particular order on the
    /// heap, in store order on disk.
    pub fn keys_in_namespace(&mut self, name: &str, namespace: Namespace) -> FnResult<Vec<K>> {
        match self {
            KeyedStateBackend::Heap(heap) => heap.keys_in_namespace(name, namespace),
            KeyedStateBackend::Store(store) => store.keys_in_namespace(name, namespace),
        }
    }

    /// The key and namespace of every entry of state `name` (in no particular order on the
    /// heap, in store order on disk), each once.
    pub fn entries(&mut self, name: &str) -> FnResult<Vec<(K, Namespace)>> {
        match self {
            KeyedStateBackend::Heap(heap) => heap.entries(name),
            KeyedStateBackend::Store(store) => store.entries(name),
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

/// Makes the heap codec of a state's table.
type MakeCodec<K> = fn() -> HeapCodec<K>;

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

    /// The handle's access to state `name`: registers the state on first use (with `ttl`, as
    /// a state with a time-to-live) and checks its kind and type.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn access<Tb: StateTable<K>, TtlTb: StateTable<K>>(
        self,
        (name, slot): (&str, &TableSlot),
        description: impl Fn() -> String,
        ttl: Option<&StateTtlConfig>,
        shape: RowShape,
        ttl_layout: TtlRowLayout,
        function: impl FnOnce() -> Box<dyn std::any::Any + Send>,
        make_table: impl FnOnce() -> Tb,
        make_ttl_table: impl FnOnce(i64, Option<IncrementalCleanup>) -> TtlTb,
        (codec, ttl_codec): (MakeCodec<K>, MakeCodec<K>),
    ) -> FnResult<Access<'a, K, Tb, TtlTb>> {
        let (key, namespace) = (self.key, self.namespace);
        let with_ttl = || format!("{} with a time-to-live", description());
        Ok(match (self.backend, ttl) {
            (KeyedStateBackend::Heap(heap), None) => Access::Heap {
                table: heap.table((name, slot), description, make_table, codec, |_| None)?,
                key,
                namespace,
            },
            (KeyedStateBackend::Heap(heap), Some(config)) => {
                let ttl = TtlNow::new(config, heap.clock.current_timestamp());
                let incremental = config.cleanup_strategies().incremental;
                let table = heap.table(
                    (name, slot),
                    with_ttl,
                    || make_ttl_table(config.ttl_millis(), incremental),
                    ttl_codec,
                    |clock| {
                        let cleanup = config.cleanup_strategies();
                        cleanup.full_snapshot.then(|| TtlRows {
                            ttl_millis: config.ttl_millis(),
                            layout: ttl_layout,
                            clock: clock.clone(),
                            compaction_filter_query_time_after: None,
                        })
                    },
                )?;
                table.cleanup_on_access(ttl.now);
                Access::Ttl(RefCell::new(TtlAccess {
                    place: TtlPlace::Heap {
                        table,
                        key,
                        namespace,
                    },
                    ttl,
                }))
            }
            (KeyedStateBackend::Store(store), None) => Access::Store(store.cell::<Tb>(
                name,
                description,
                shape,
                function,
                None,
                None,
                key,
                namespace,
            )?),
            (KeyedStateBackend::Store(store), Some(config)) => {
                let ttl = TtlNow::new(config, store.clock.current_timestamp());
                let cell = store.cell::<TtlTb>(
                    name,
                    with_ttl,
                    shape,
                    function,
                    Some(ttl_layout),
                    Some(config),
                    key,
                    namespace,
                )?;
                Access::Ttl(RefCell::new(TtlAccess {
                    place: TtlPlace::Store(cell),
                    ttl,
                }))
            }
        })
    }

    /// The value state `descriptor` names.
    #[inline]
    pub fn value<T: Data>(
        self,
        descriptor: &ValueStateDescriptor<T>,
    ) -> FnResult<ValueState<'a, K, T>> {
        let access = self.access(
            (descriptor.name(), descriptor.slot()),
            value_state_description::<T>,
            descriptor.ttl_config(),
            RowShape::Single,
            TtlRowLayout::Value,
            no_function,
            Table::<K, T>::new,
            TtlTable::new,
            (
                codec::<K, Table<K, T>, Plain>,
                codec::<K, TtlValueTable<K, T>, StampedValue>,
            ),
        )?;
        Ok(ValueState { access })
    }

    /// The list state `descriptor` names.
    pub fn list<T: Data>(
        self,
        descriptor: &ListStateDescriptor<T>,
    ) -> FnResult<ListState<'a, K, T>> {
        let access = self.access(
            (descriptor.name(), descriptor.slot()),
            || format!("ListState<{}>", type_name::<T>()),
            descriptor.ttl_config(),
            RowShape::Single,
            TtlRowLayout::List,
            no_function,
            Table::<K, Vec<T>>::new,
            TtlTable::new,
            (
                codec::<K, Table<K, Vec<T>>, List>,
                codec::<K, TtlListTable<K, T>, StampedList>,
            ),
        )?;
        Ok(ListState { access })
    }

    /// The map state `descriptor` names.
    pub fn map<UK: Key, UV: Data>(
        self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> FnResult<MapState<'a, K, UK, UV>> {
        let access = self.access(
            (descriptor.name(), descriptor.slot()),
            || format!("MapState<{}, {}>", type_name::<UK>(), type_name::<UV>()),
            descriptor.ttl_config(),
            RowShape::PerUserKey,
            TtlRowLayout::Value,
            no_function,
            Table::<K, FxHashMap<UK, UV>>::new,
            TtlTable::new,
            (
                codec::<K, Table<K, FxHashMap<UK, UV>>, Map>,
                codec::<K, TtlMapTable<K, UK, UV>, StampedMap>,
            ),
        )?;
        Ok(MapState { access })
    }

    /// The reducing state `descriptor` names.
    pub fn reducing<T: Data>(
        self,
        descriptor: &ReducingStateDescriptor<T>,
    ) -> FnResult<ReducingState<'a, K, T>> {
        let access = self.access(
            (descriptor.name(), descriptor.slot()),
            || format!("ReducingState<{}>", type_name::<T>()),
            descriptor.ttl_config(),
            RowShape::Single,
            TtlRowLayout::Value,
            || Box::new(descriptor.reduce_fn()),
            || ReducingTable {
                values: Table::<K, Option<T>>::new(),
                reduce: descriptor.reduce_fn(),
            },
            |ttl, incremental| FunctionTable {
                table: TtlTable::new(ttl, incremental),
                function: descriptor.reduce_fn(),
                _marker: PhantomData,
            },
            (
                codec::<K, ReducingTable<K, T>, Optional>,
                codec::<K, TtlReducingTable<K, T>, StampedValue>,
            ),
        )?;
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
        let access = self.access(
            (descriptor.name(), descriptor.slot()),
            || {
                format!(
                    "AggregatingState<{}, {}, {}>",
                    type_name::<IN>(),
                    type_name::<ACC>(),
                    type_name::<OUT>()
                )
            },
            descriptor.ttl_config(),
            RowShape::Single,
            TtlRowLayout::Value,
            || Box::new(descriptor.function()),
            || AggregatingTable {
                accumulators: Table::<K, ACC>::new(),
                function: descriptor.function(),
                _types: PhantomData,
            },
            |ttl, incremental| FunctionTable {
                table: TtlTable::new(ttl, incremental),
                function: descriptor.function(),
                _marker: PhantomData,
            },
            (
                codec::<K, AggregatingTable<K, IN, ACC, OUT, F>, Plain>,
                codec::<K, TtlAggregatingTable<K, IN, ACC, OUT, F>, StampedValue>,
            ),
        )?;
        Ok(AggregatingState { access })
    }
}
