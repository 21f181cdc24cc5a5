//! The `hashmap` keyed state backend: every state is a hash table from (key, namespace) to its
//! value, holding objects on the heap.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHasher};

use super::descriptors::ReduceFn;
use super::heap_codec::HeapCodec;
use super::layout::encode_into;
use super::pending_snapshot::PendingKeyedSnapshot;
use super::snapshot::{
    check_all, copy_restored_states, decode_row, merge_in_range, KeyedStateSnapshot, RestoredState,
    RowWriter,
};
use super::store::TtlRows;
use super::ttl::{SystemTtlClock, TtlClock};
use super::Namespace;
use eddy_core::error::FnResult;
use eddy_core::keygroup::{KeyGroupRange, KeyHasher};
use eddy_core::Key;

/// One state's entries: a value per (key, namespace). Looked up by reference: the key is
/// cloned only when an entry is created.
///
/// The key's own state (`Namespace::Global`, every keyed process function's) is kept apart
/// from window namespaces and without its namespace: an entry of a `u64` key and value is then
/// 16 bytes instead of 40, so far more keys stay in cache, and the lookup hashes the key alone.
pub(crate) struct Table<K, V> {
    global: HashTable<(K, V)>,
    scoped: HashTable<(K, Namespace, V)>,
}

#[inline]
fn hash_of_key<K: Hash>(key: &K) -> u64 {
    let mut hasher = FxHasher::default();
    key.hash(&mut hasher);
    hasher.finish()
}

#[inline]
fn hash_of<K: Hash>(key: &K, namespace: Namespace) -> u64 {
    let mut hasher = FxHasher::default();
    key.hash(&mut hasher);
    namespace.hash(&mut hasher);
    hasher.finish()
}

impl<K: Hash + Eq + Clone, V> Table<K, V> {
    pub(crate) fn new() -> Self {
        Table {
            global: HashTable::new(),
            scoped: HashTable::new(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: &K, namespace: Namespace) -> Option<&V> {
        match namespace {
            Namespace::Global => self
                .global
                .find(hash_of_key(key), |e| e.0 == *key)
                .map(|e| &e.1),
            _ => self
                .scoped
                .find(hash_of(key, namespace), |e| e.0 == *key && e.1 == namespace)
                .map(|e| &e.2),
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K, namespace: Namespace) -> Option<&mut V> {
        match namespace {
            Namespace::Global => self
                .global
                .find_mut(hash_of_key(key), |e| e.0 == *key)
                .map(|e| &mut e.1),
            _ => self
                .scoped
                .find_mut(hash_of(key, namespace), |e| e.0 == *key && e.1 == namespace)
                .map(|e| &mut e.2),
        }
    }

    /// The entry's value, created with `create` if missing.
    #[inline]
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: &K,
        namespace: Namespace,
        create: impl FnOnce() -> V,
    ) -> &mut V {
        if namespace == Namespace::Global {
            let entry = self
                .global
                .entry(hash_of_key(key), |e| e.0 == *key, |e| hash_of_key(&e.0));
            return match entry {
                Entry::Occupied(occupied) => &mut occupied.into_mut().1,
                Entry::Vacant(vacant) => &mut vacant.insert((key.clone(), create())).into_mut().1,
            };
        }
        let entry = self.scoped.entry(
            hash_of(key, namespace),
            |e| e.0 == *key && e.1 == namespace,
            |e| hash_of(&e.0, e.1),
        );
        match entry {
            Entry::Occupied(occupied) => &mut occupied.into_mut().2,
            Entry::Vacant(vacant) => {
                &mut vacant
                    .insert((key.clone(), namespace, create()))
                    .into_mut()
                    .2
            }
        }
    }

    #[inline]
    pub(crate) fn insert(&mut self, key: &K, namespace: Namespace, value: V) {
        if let Some(slot) = self.get_mut(key, namespace) {
            *slot = value;
        } else if namespace == Namespace::Global {
            self.global
                .insert_unique(hash_of_key(key), (key.clone(), value), |e| {
                    hash_of_key(&e.0)
                });
        } else {
            self.scoped.insert_unique(
                hash_of(key, namespace),
                (key.clone(), namespace, value),
                |e| hash_of(&e.0, e.1),
            );
        }
    }

    pub(crate) fn remove(&mut self, key: &K, namespace: Namespace) -> Option<V> {
        match namespace {
            Namespace::Global => self
                .global
                .find_entry(hash_of_key(key), |e| e.0 == *key)
                .ok()
                .map(|occupied| occupied.remove().0 .1),
            _ => self
                .scoped
                .find_entry(hash_of(key, namespace), |e| e.0 == *key && e.1 == namespace)
                .ok()
                .map(|occupied| occupied.remove().0 .2),
        }
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, Namespace, &V)> {
        let global = self.global.iter().map(|e| (&e.0, Namespace::Global, &e.1));
        global.chain(self.scoped.iter().map(|e| (&e.0, e.1, &e.2)))
    }
}

/// What the backend does with any state's table without knowing its value type.
pub(crate) trait StateTable<K>: Any + Send {
    /// Drops the entry of `key` in `namespace`, if any.
    fn remove_entry(&mut self, key: &K, namespace: Namespace);
    /// Visits the key and namespace of every entry.
    fn for_each_key(&self, visit: &mut dyn FnMut(&K, Namespace));
    /// The table, for downcasting to its concrete type.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Whether the table wants a cleanup step after every record (a time-to-live with
    /// `run_cleanup_for_every_record`).
    fn cleans_up_per_record(&self) -> bool {
        false
    }
    /// The cleanup step after a record, at time `now`.
    fn cleanup_for_record(&mut self, _now: i64) {}
    /// The cleanup step on an access to the state, at time `now`.
    fn cleanup_on_access(&mut self, _now: i64) {}
}

impl<K: Hash + Eq + Clone + Send + 'static, V: Send + 'static> StateTable<K> for Table<K, V> {
    fn remove_entry(&mut self, key: &K, namespace: Namespace) {
        self.remove(key, namespace);
    }

    fn for_each_key(&self, visit: &mut dyn FnMut(&K, Namespace)) {
        for (key, namespace, _) in self.iter() {
            visit(key, namespace);
        }
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A state the backend knows: where its table is, what type it has, and how it is encoded
/// in a snapshot.
struct Registration<K> {
    index: usize,
    type_id: TypeId,
    description: String,
    codec: HeapCodec<K>,
    /// A state with a time-to-live that leaves expired entries out of snapshots.
    snapshot_ttl: Option<TtlRows>,
}

/// Where a descriptor's state was found last: the heap backend's id and the table's index,
/// packed in one word (0: nowhere yet). A function asks for the same states through the same
/// descriptors for every record; with the slot it finds the table without hashing the name.
/// Registrations never change, so a slot stays true for its backend; another backend (the
/// descriptor shared, or the function moved to a new backend) has another id and looks the
/// name up.
#[derive(Default)]
pub(crate) struct TableSlot(AtomicU64);

/// The bits of a packed [`TableSlot`] that hold the table's index.
const SLOT_INDEX_BITS: u32 = 24;

/// The next heap backend's id (ids start at 1: a slot of 0 is empty).
static NEXT_BACKEND_ID: AtomicU64 = AtomicU64::new(1);

impl TableSlot {
    /// The table index this slot holds for the backend `backend`.
    #[inline]
    fn index_in(&self, backend: u64) -> Option<usize> {
        let word = self.0.load(Ordering::Relaxed);
        (word >> SLOT_INDEX_BITS == backend)
            .then_some((word & ((1 << SLOT_INDEX_BITS) - 1)) as usize)
    }

    /// Remembers table `index` of backend `backend` (unless either is too large to pack).
    fn remember(&self, backend: u64, index: usize) {
        if backend < 1 << (64 - SLOT_INDEX_BITS) && index < 1 << SLOT_INDEX_BITS {
            self.0
                .store(backend << SLOT_INDEX_BITS | index as u64, Ordering::Relaxed);
        }
    }
}

impl Clone for TableSlot {
    fn clone(&self) -> Self {
        TableSlot(AtomicU64::new(self.0.load(Ordering::Relaxed)))
    }
}

/// Keyed state on the heap (`state.backend.type: hashmap`): one table per registered state.
/// A state is registered the first time a function asks for it by name; asking again with
/// another kind or type is an error naming both.
pub struct HeapKeyedStateBackend<K> {
    /// Tells this backend's [`TableSlot`]s from other backends'.
    id: u64,
    registered: FxHashMap<String, Registration<K>>,
    tables: Vec<Box<dyn StateTable<K>>>,
    /// The type of each table in `tables`, checked before a slot's table is downcast.
    table_types: Vec<TypeId>,
    /// Restored states no function has asked for yet, still encoded.
    restored: BTreeMap<String, RestoredState>,
    /// The max parallelism of the restored snapshots (the key groups of `restored`).
    restored_max_parallelism: u32,
    /// Whether some table wants a cleanup step after every record.
    per_record_cleanup: bool,
    pub(crate) clock: TtlClock,
    _key: PhantomData<fn() -> K>,
}

impl<K> Default for HeapKeyedStateBackend<K> {
    fn default() -> Self {
        HeapKeyedStateBackend {
            id: NEXT_BACKEND_ID.fetch_add(1, Ordering::Relaxed),
            registered: FxHashMap::default(),
            tables: Vec::new(),
            table_types: Vec::new(),
            restored: BTreeMap::new(),
            restored_max_parallelism: 0,
            per_record_cleanup: false,
            clock: Arc::new(SystemTtlClock),
            _key: PhantomData,
        }
    }
}

impl<K: 'static> HeapKeyedStateBackend<K> {
    /// A backend without state.
    pub fn new() -> Self {
        Self::default()
    }

    /// The names of the registered and restored states, sorted.
    pub fn state_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .registered
            .keys()
            .chain(self.restored.keys())
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names
    }

    /// Runs the per-record cleanup step of the states with a time-to-live that ask for one.
    #[inline]
    pub fn cleanup_for_record(&mut self) {
        if self.per_record_cleanup {
            let now = self.clock.current_timestamp();
            for table in &mut self.tables {
                table.cleanup_for_record(now);
            }
        }
    }

    /// Drops every state of `key` in `namespace` (a window's state when the window is
    /// cleaned up).
    pub fn clear_namespace(&mut self, key: &K, namespace: Namespace) -> FnResult<()>
    where
        K: Key,
    {
        for table in &mut self.tables {
            table.remove_entry(key, namespace);
        }
        let max_parallelism = self.restored_max_parallelism;
        for (name, restored) in &mut self.restored {
            restored.clear_namespace(key, namespace, max_parallelism, name)?;
        }
        Ok(())
    }

    /// Copies of the keys that have an entry of state `name` in `namespace`, in no particular
    /// order; none if no function asked for that state yet. (What Flink's `applyToKeyedState`
    /// visits, with `Namespace::Global`.)
    pub fn keys_in_namespace(&self, name: &str, namespace: Namespace) -> FnResult<Vec<K>>
    where
        K: Key,
    {
        if let Some(restored) = self.restored.get(name) {
            return Ok(restored.keys(name, Some(namespace), None)?);
        }
        let mut keys = Vec::new();
        if let Some(registration) = self.registered.get(name) {
            self.tables[registration.index].for_each_key(&mut |key, entry_namespace| {
                if entry_namespace == namespace {
                    keys.push(key.clone());
                }
            });
        }
        Ok(keys)
    }

    /// The key and namespace of every entry of state `name`, in no particular order.
    pub fn entries(&self, name: &str) -> FnResult<Vec<(K, Namespace)>>
    where
        K: Key,
    {
        if let Some(restored) = self.restored.get(name) {
            return Ok(restored.entries(name)?);
        }
        let mut entries = Vec::new();
        if let Some(registration) = self.registered.get(name) {
            self.tables[registration.index].for_each_key(&mut |key, namespace| {
                entries.push((key.clone(), namespace));
            });
        }
        Ok(entries)
    }

    /// The keys with an entry of state `name` in the key groups of `range`, ordered like the
    /// on-disk backend orders them (by key group, then by serialized key), each once.
    pub fn keys_in(
        &self,
        name: &str,
        range: KeyGroupRange,
        max_parallelism: u32,
    ) -> FnResult<Vec<K>>
    where
        K: Key,
    {
        if let Some(restored) = self.restored.get(name) {
            return Ok(restored.keys(name, None, Some(range))?);
        }
        let Some(registration) = self.registered.get(name) else {
            return Ok(Vec::new());
        };
        let mut keys: Vec<(u32, Vec<u8>, K)> = Vec::new();
        let mut failure = None;
        self.tables[registration.index].for_each_key(&mut |key, _| {
            if failure.is_some() {
                return;
            }
            let placed = KeyHasher::new()
                .key_group(key, max_parallelism)
                .map_err(|e| e.to_string())
                .and_then(|group| {
                    let mut encoded = Vec::new();
                    encode_into(&mut encoded, key, name).map_err(|e| e.to_string())?;
                    Ok((group, encoded))
                });
            match placed {
                Ok((group, encoded)) if range.contains(group) => {
                    keys.push((group, encoded, key.clone()))
                }
                Ok(_) => {}
                Err(e) => failure = Some(e),
            }
        });
        if let Some(failure) = failure {
            return Err(failure.into());
        }
        keys.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        keys.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        Ok(keys.into_iter().map(|(_, _, key)| key).collect())
    }

    /// The table of state `name`, created with `create` on first use; `slot` is where the
    /// descriptor naming it remembers where it was found. `description` (e.g.
    /// `ValueState<u64>`) names the kind and type for errors.
    #[inline]
    pub(crate) fn table<Tb: StateTable<K>>(
        &mut self,
        (name, slot): (&str, &TableSlot),
        description: impl FnOnce() -> String,
        create: impl FnOnce() -> Tb,
        codec: impl FnOnce() -> HeapCodec<K>,
        snapshot_ttl: impl FnOnce(&TtlClock) -> Option<TtlRows>,
    ) -> FnResult<&mut Tb>
    where
        K: Key,
    {
        let index = match slot.index_in(self.id) {
            Some(index) if self.table_types.get(index) == Some(&TypeId::of::<Tb>()) => index,
            _ => {
                let index =
                    self.find_or_register(name, description, create, codec, snapshot_ttl)?;
                slot.remember(self.id, index);
                index
            }
        };
        self.tables[index]
            .as_any_mut()
            .downcast_mut::<Tb>()
            .ok_or_else(|| format!("state '{name}' has a table of another type").into())
    }

    /// The index of state `name`'s table, registered (and filled with its restored entries)
    /// on first use.
    #[inline(never)]
    fn find_or_register<Tb: StateTable<K>>(
        &mut self,
        name: &str,
        description: impl FnOnce() -> String,
        create: impl FnOnce() -> Tb,
        codec: impl FnOnce() -> HeapCodec<K>,
        snapshot_ttl: impl FnOnce(&TtlClock) -> Option<TtlRows>,
    ) -> FnResult<usize>
    where
        K: Key,
    {
        let type_id = TypeId::of::<Tb>();
        Ok(match self.registered.get(name) {
            Some(registration) if registration.type_id == type_id => registration.index,
            Some(registration) => {
                return Err(format!(
                    "state '{name}' is a {} but was asked for as a {}; give states of different \
                     kinds or types different names",
                    registration.description,
                    description()
                )
                .into())
            }
            None => {
                let index = self.tables.len();
                let description = description();
                let codec = codec();
                let mut table = create();
                if let Some(restored) = self.restored.remove(name) {
                    restored.check(name, &description)?;
                    for (row, value) in &restored.rows {
                        let row = decode_row::<K>(row, value, name)?;
                        (codec.read)(&mut table, row, name)?;
                    }
                }
                self.per_record_cleanup |= table.cleans_up_per_record();
                self.tables.push(Box::new(table));
                self.table_types.push(type_id);
                self.registered.insert(
                    name.to_owned(),
                    Registration {
                        index,
                        type_id: TypeId::of::<Tb>(),
                        description,
                        codec,
                        snapshot_ttl: snapshot_ttl(&self.clock),
                    },
                );
                index
            }
        })
    }
}

impl<K: Key> HeapKeyedStateBackend<K> {
    /// Every state in the backend-independent format, keys hashed into `max_parallelism`
    /// key groups: the typed values are encoded now, and restored states no function has
    /// asked for yet are copied as they are.
    pub fn snapshot(&self, max_parallelism: u32) -> FnResult<KeyedStateSnapshot> {
        self.snapshot_pending(max_parallelism)?.finish()
    }

    /// The synchronous part of a snapshot: copies the typed entries of every state (no
    /// encoding); the returned snapshot encodes them into rows when it is finished, on any
    /// thread. Restored states no function has asked for yet are copied as rows.
    pub fn snapshot_pending(&self, max_parallelism: u32) -> FnResult<PendingKeyedSnapshot> {
        let mut snapshot = KeyedStateSnapshot::for_key::<K>(max_parallelism);
        copy_restored_states(&self.restored, &mut snapshot);
        let mut pending = PendingKeyedSnapshot::ready(snapshot);
        let now = self.clock.current_timestamp();
        for (name, registration) in &self.registered {
            let table: &dyn Any = &*self.tables[registration.index];
            let entries = (registration.codec.copy)(table, name)?;
            let (name, description) = (name.clone(), registration.description.clone());
            let ttl = registration.snapshot_ttl.clone();
            pending.defer(move |snapshot| {
                let mut rows = RowWriter::new(&name, max_parallelism);
                entries(&mut rows)?;
                let mut rows = rows.into_rows();
                if let Some(ttl) = ttl {
                    ttl.drop_expired(&mut rows, now);
                }
                snapshot.insert_state(&name, description, rows);
                Ok(())
            });
        }
        Ok(pending)
    }

    /// Restores the key groups of `range` from `snapshots` (of one or many old subtasks)
    /// into this backend, which must hold no state yet. Each state's rows are decoded when a
    /// function first asks for it, which checks its kind and type.
    pub fn restore(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        range: KeyGroupRange,
        max_parallelism: u32,
    ) -> FnResult<()> {
        if !self.registered.is_empty() || !self.restored.is_empty() {
            return Err("keyed state can only be restored into an empty backend".into());
        }
        check_all::<K>(snapshots, max_parallelism)?;
        self.restored = merge_in_range(snapshots.iter().map(|s| s.states()), range)?;
        self.restored_max_parallelism = max_parallelism;
        Ok(())
    }
}

/// The table of a reducing state, with its function. Values are `Option`s so `add` can move
/// the held value into the function in place (one lookup, no key clone); a stored `None`
/// only appears if the function panicked, and reads as empty.
pub(crate) struct ReducingTable<K, T> {
    pub(crate) values: Table<K, Option<T>>,
    pub(crate) reduce: ReduceFn<T>,
}

impl<K: Key, T: Send + 'static> StateTable<K> for ReducingTable<K, T> {
    fn remove_entry(&mut self, key: &K, namespace: Namespace) {
        self.values.remove(key, namespace);
    }

    fn for_each_key(&self, visit: &mut dyn FnMut(&K, Namespace)) {
        self.values.for_each_key(visit);
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The table of an aggregating state, with its function.
pub(crate) struct AggregatingTable<K, IN, ACC, OUT, F> {
    pub(crate) accumulators: Table<K, ACC>,
    pub(crate) function: F,
    pub(crate) _types: std::marker::PhantomData<fn(IN) -> OUT>,
}

impl<K, IN, ACC, OUT, F> StateTable<K> for AggregatingTable<K, IN, ACC, OUT, F>
where
    K: Key,
    IN: 'static,
    ACC: Send + 'static,
    OUT: 'static,
    F: Send + 'static,
{
    fn remove_entry(&mut self, key: &K, namespace: Namespace) {
        self.accumulators.remove(key, namespace);
    }

    fn for_each_key(&self, visit: &mut dyn FnMut(&K, Namespace)) {
        self.accumulators.for_each_key(visit);
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::{StateTable, Table};
    use crate::Namespace;

    /// Every operation of a table over keys in the global and in window namespaces, against a
    /// sorted map of (key, namespace) → value.
    #[test]
    fn a_table_keeps_global_and_window_entries_like_a_map_of_key_and_namespace() {
        let namespaces = [
            Namespace::Global,
            Namespace::GlobalWindow,
            Namespace::TimeWindow { start: 0, end: 10 },
            Namespace::TimeWindow { start: 10, end: 20 },
        ];
        let mut rng = SmallRng::seed_from_u64(18);
        let mut table: Table<u64, u64> = Table::new();
        let mut reference: BTreeMap<(u64, Namespace), u64> = BTreeMap::new();
        for step in 0..20_000u64 {
            let key = rng.random_range(0..40u64);
            let namespace = namespaces[rng.random_range(0..namespaces.len())];
            match rng.random_range(0..5) {
                0 => {
                    table.insert(&key, namespace, step);
                    reference.insert((key, namespace), step);
                }
                1 => {
                    let expected = reference.remove(&(key, namespace));
                    assert_eq!(table.remove(&key, namespace), expected);
                }
                2 => {
                    if let Some(value) = table.get_mut(&key, namespace) {
                        *value += 1;
                    }
                    if let Some(value) = reference.get_mut(&(key, namespace)) {
                        *value += 1;
                    }
                }
                3 => {
                    *table.get_or_insert_with(&key, namespace, || step) += 2;
                    *reference.entry((key, namespace)).or_insert(step) += 2;
                }
                _ => assert_eq!(
                    table.get(&key, namespace),
                    reference.get(&(key, namespace)),
                    "{key} in {namespace:?}"
                ),
            }
            if step % 1000 == 0 {
                let mut entries: Vec<((u64, Namespace), u64)> = table
                    .iter()
                    .map(|(key, namespace, value)| ((*key, namespace), *value))
                    .collect();
                entries.sort();
                let expected: Vec<((u64, Namespace), u64)> =
                    reference.iter().map(|(k, v)| (*k, *v)).collect();
                assert_eq!(entries, expected, "after step {step}");
                let mut keys = Vec::new();
                table.for_each_key(&mut |key, namespace| keys.push((*key, namespace)));
                keys.sort();
                assert_eq!(keys, reference.keys().copied().collect::<Vec<_>>());
            }
        }
        assert!(reference.keys().any(|(_, n)| *n == Namespace::Global));
        assert!(reference.keys().any(|(_, n)| *n != Namespace::Global));
    }
}
