//! Keyed state in an [`OrderedStateStore`] (the on-disk backend): the registry of states and
//! the byte-level operations behind each primitive's handle.

use std::any::{Any, TypeId};
use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::layout::{
    decode, decode_list, encode_into, key_and_rest_of_row, key_group_prefix, key_of_row,
    namespace_len, prefix_end, push_namespace, write_row,
};
use super::pending_snapshot::{PendingKeyedSnapshot, StorePart};
use super::snapshot::{
    check_all, copy_restored_states, merge_in_range, EntryCollector, KeyedStateSnapshot,
    RestoredState,
};
use super::store::{
    OrderedStateStore, ScanControl, SharedStore, StateError, StoreStateId, TtlRowLayout, TtlRows,
};
use super::ttl::{StateTtlConfig, SystemTtlClock, TtlClock};
use super::Namespace;
use eddy_core::error::FnResult;
use eddy_core::keygroup::{KeyGroupRange, KeyHasher};
use eddy_core::Key;

/// Who uses the shared store, for the error if it is already in use.
const KEYED_STATE: &str = "keyed state";

/// How a state's rows are shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowShape {
    /// One row per key and namespace.
    Single,
    /// One row per key, namespace and user key (map state).
    PerUserKey,
}

/// A state the store backend knows.
struct Registration {
    name: String,
    id: StoreStateId,
    type_id: TypeId,
    description: String,
    shape: RowShape,
    /// The reduce or aggregate function of reducing and aggregating states.
    function: Box<dyn Any + Send>,
    /// A state with a time-to-live that leaves expired rows out of snapshots.
    snapshot_ttl: Option<TtlRows>,
}

/// Keyed state in an ordered byte store (`state.backend.type: rocksdb`): keys, namespaces and
/// values are serialized on every access (see the `layout` module). Two buffers are reused
/// across accesses, so reading and writing allocate nothing but the values returned.
pub struct StoreKeyedStateBackend<K> {
    store: SharedStore,
    max_parallelism: u32,
    registered: FxHashMap<String, Registration>,
    /// Restored states no function has asked for yet: their rows go into the store when one
    /// does (only then are the state's time-to-live and type known).
    restored: BTreeMap<String, RestoredState>,
    row: Cell<Vec<u8>>,
    value: Cell<Vec<u8>>,
    pub(crate) clock: TtlClock,
    _key: PhantomData<fn() -> K>,
}

impl<K> StoreKeyedStateBackend<K> {
    /// The store underneath, which the operator's timers share.
    pub fn shared_store(&self) -> &SharedStore {
        &self.store
    }

    /// The number of key groups keys hash into.
    pub fn max_parallelism(&self) -> u32 {
        self.max_parallelism
    }
}

impl<K: Key> StoreKeyedStateBackend<K> {
    /// Keyed state in `store`, keys hashed into `max_parallelism` key groups.
    pub fn new(store: Box<dyn OrderedStateStore>, max_parallelism: u32) -> Self {
        StoreKeyedStateBackend {
            store: SharedStore::new(store),
            max_parallelism,
            registered: FxHashMap::default(),
            restored: BTreeMap::new(),
            row: Cell::new(Vec::with_capacity(64)),
            value: Cell::new(Vec::with_capacity(256)),
            clock: Arc::new(SystemTtlClock),
            _key: PhantomData,
        }
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

    /// The cell of state `name` for `key` in `namespace`, registering the state on first use
    /// (with its time-to-live layout `ttl`, if it has one); `Tag` identifies the kind and type
    /// (an error names both if they differ from the registration).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn cell<Tag: 'static>(
        &mut self,
        name: &str,
        description: impl FnOnce() -> String,
        shape: RowShape,
        function: impl FnOnce() -> Box<dyn Any + Send>,
        ttl: Option<TtlRowLayout>,
        ttl_config: Option<&StateTtlConfig>,
        key: &K,
        namespace: Namespace,
    ) -> FnResult<StoreCell<'_>> {
        if !self.registered.contains_key(name) {
            let description = description();
            let restored = match self.restored.remove(name) {
                Some(restored) => {
                    restored.check(name, &description)?;
                    Some(restored)
                }
                None => None,
            };
            let rows = ttl.zip(ttl_config).map(|(layout, config)| TtlRows {
                ttl_millis: config.ttl_millis(),
                layout,
                clock: self.clock.clone(),
                compaction_filter_query_time_after: config
                    .cleanup_strategies()
                    .compaction_filter_query_time_after,
            });
            let full_snapshot = ttl_config.is_some_and(|c| c.cleanup_strategies().full_snapshot);
            let snapshot_ttl = rows.clone().filter(|_| full_snapshot);
            let mut store = self.store.lock(KEYED_STATE)?;
            let id = store.register_state(name, rows.as_ref())?;
            for (row, value) in restored.iter().flat_map(|r| &r.rows) {
                store.put(id, row, value)?;
            }
            drop(store);
            self.registered.insert(
                name.to_owned(),
                Registration {
                    name: name.to_owned(),
                    id,
                    type_id: TypeId::of::<Tag>(),
                    description,
                    shape,
                    function: function(),
                    snapshot_ttl,
                },
            );
        } else if self.registered[name].type_id != TypeId::of::<Tag>() {
            return Err(format!(
                "state '{name}' is a {} but was asked for as a {}; give states of different \
                 kinds or types different names",
                self.registered[name].description,
                description()
            )
            .into());
        }
        let registration = self
            .registered
            .get_mut(name)
            .ok_or("state registration vanished")?;
        let key_group = KeyHasher::new().key_group(key, self.max_parallelism)?;
        let mut row = self.row.take();
        let written = write_row(&mut row, key_group, key, namespace, name);
        let prefix_len = row.len();
        self.row.set(row);
        written?;
        let namespace_at = prefix_len - namespace_len(namespace);
        Ok(StoreCell {
            store: &self.store,
            id: registration.id,
            name: &registration.name,
            function: registration.function.as_mut(),
            row: &self.row,
            prefix_len,
            namespace,
            namespace_at,
            value: &self.value,
        })
    }

    /// Drops every state of `key` in `namespace`.
    pub fn clear_namespace(&mut self, key: &K, namespace: Namespace) -> FnResult<()> {
        for (name, restored) in &mut self.restored {
            restored.clear_namespace(key, namespace, self.max_parallelism, name)?;
        }
        let key_group = KeyHasher::new().key_group(key, self.max_parallelism)?;
        let mut store = self.store.lock(KEYED_STATE)?;
        let mut row = self.row.take();
        let mut result = Ok(());
        for registration in self.registered.values() {
            result =
                write_row(&mut row, key_group, key, namespace, &registration.name).and_then(|()| {
                    match registration.shape {
                        RowShape::Single => store.delete(registration.id, &row),
                        RowShape::PerUserKey => match prefix_end(&row) {
                            Some(end) => store.delete_range(registration.id, &row, &end),
                            None => Ok(()),
                        },
                    }
                });
            if result.is_err() {
                break;
            }
        }
        self.row.set(row);
        Ok(result?)
    }

    /// The keys with an entry of state `name` in the key groups of `range`, in store order
    /// (by key group, then by serialized key), each once.
    pub fn keys_in(&mut self, name: &str, range: KeyGroupRange) -> FnResult<Vec<K>> {
        if let Some(restored) = self.restored.get(name) {
            return Ok(restored.keys(name, None, Some(range))?);
        }
        let mut keys = Vec::new();
        let Some(registration) = self.registered.get(name) else {
            return Ok(keys);
        };
        if range.is_empty() {
            return Ok(keys);
        }
        let from = key_group_prefix(range.start);
        let to = (range.end + 1 < self.max_parallelism).then(|| key_group_prefix(range.end + 1));
        let mut last: Vec<u8> = Vec::new();
        self.store.lock(KEYED_STATE)?.scan(
            registration.id,
            &from,
            to.as_ref().map(|t| &t[..]),
            &mut |row, _value| {
                let key: K = key_of_row(row, name)?;
                // Rows of one key are adjacent: skip repeats by comparing the key's bytes.
                let mut encoded = Vec::new();
                encode_into(&mut encoded, &key, name)?;
                if encoded != last {
                    keys.push(key);
                    last = encoded;
                }
                Ok(ScanControl::Continue)
            },
        )?;
        Ok(keys)
    }
}

impl<K: Key> StoreKeyedStateBackend<K> {
    /// The key and namespace of every entry of state `name`, in store order, each once.
    pub fn entries(&mut self, name: &str) -> FnResult<Vec<(K, Namespace)>> {
        if let Some(restored) = self.restored.get(name) {
            return Ok(restored.entries(name)?);
        }
        let Some(registration) = self.registered.get(name) else {
            return Ok(Vec::new());
        };
        let mut entries = EntryCollector::default();
        self.store
            .lock(KEYED_STATE)?
            .scan(registration.id, &[], None, &mut |row, _| {
                entries.add(row, name)?;
                Ok(ScanControl::Continue)
            })?;
        Ok(entries.entries)
    }

    /// The keys with an entry of state `name` in `namespace`, in store order, each once.
    pub fn keys_in_namespace(&mut self, name: &str, namespace: Namespace) -> FnResult<Vec<K>> {
        if let Some(restored) = self.restored.get(name) {
            return Ok(restored.keys(name, Some(namespace), None)?);
        }
        let mut keys = Vec::new();
        let Some(registration) = self.registered.get(name) else {
            return Ok(keys);
        };
        let mut wanted = Vec::new();
        push_namespace(&mut wanted, namespace);
        let mut last: Vec<u8> = Vec::new();
        self.store
            .lock(KEYED_STATE)?
            .scan(registration.id, &[], None, &mut |row, _value| {
                let (key, rest) = key_and_rest_of_row::<K>(row, name)?;
                if rest.starts_with(&wanted) {
                    let key_bytes = &row[..row.len() - rest.len()];
                    if key_bytes != last.as_slice() {
                        last.clear();
                        last.extend_from_slice(key_bytes);
                        keys.push(key);
                    }
                }
                Ok(ScanControl::Continue)
            })?;
        Ok(keys)
    }
}

impl<K: Key> StoreKeyedStateBackend<K> {
    /// Every state's rows as the store holds them (and restored states no function asked
    /// for yet), in the backend-independent snapshot format.
    pub fn snapshot(&mut self) -> FnResult<KeyedStateSnapshot> {
        self.snapshot_pending()?.finish()
    }

    /// The synchronous part of a snapshot: a point-in-time view of the store (RocksDB: a
    /// checkpoint of its files), read into rows when the returned snapshot is finished, on
    /// any thread. Restored states no function has asked for yet are copied as rows.
    pub fn snapshot_pending(&mut self) -> FnResult<PendingKeyedSnapshot> {
        let mut snapshot = KeyedStateSnapshot::for_key::<K>(self.max_parallelism);
        copy_restored_states(&self.restored, &mut snapshot);
        let mut pending = PendingKeyedSnapshot::ready(snapshot);
        if self.registered.is_empty() {
            return Ok(pending);
        }
        let view = self.store.lock(KEYED_STATE)?.snapshot_view()?;
        let states = self
            .registered
            .iter()
            .map(|(name, r)| {
                let ttl = r.snapshot_ttl.clone();
                (name.clone(), r.description.clone(), r.id, ttl)
            })
            .collect();
        pending.set_store_part(StorePart {
            view,
            states,
            now: self.clock.current_timestamp(),
        });
        Ok(pending)
    }

    /// Restores the key groups of `range` from `snapshots` into this backend, which must
    /// hold no state yet. A state's rows are written into the store when a function first
    /// asks for it, which checks its kind and type.
    pub fn restore(
        &mut self,
        snapshots: &[KeyedStateSnapshot],
        range: KeyGroupRange,
        max_parallelism: u32,
    ) -> FnResult<()> {
        if !self.registered.is_empty() || !self.restored.is_empty() {
            return Err("keyed state can only be restored into an empty backend".into());
        }
        if max_parallelism != self.max_parallelism {
            return Err(format!(
                "the state backend hashes keys into {} key groups, not {max_parallelism}",
                self.max_parallelism
            )
            .into());
        }
        check_all::<K>(snapshots, max_parallelism)?;
        self.restored = merge_in_range(snapshots.iter().map(|s| s.states()), range)?;
        Ok(())
    }
}

/// One state of one key in one namespace, in a store: the row-key prefix is written in the
/// backend's row buffer.
pub(crate) struct StoreCell<'s> {
    store: &'s SharedStore,
    id: StoreStateId,
    name: &'s str,
    function: &'s mut (dyn Any + Send),
    row: &'s Cell<Vec<u8>>,
    prefix_len: usize,
    namespace: Namespace,
    /// Where the namespace starts in the row-key prefix.
    namespace_at: usize,
    value: &'s Cell<Vec<u8>>,
}

impl StoreCell<'_> {
    /// The namespace the cell is in.
    pub(crate) fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// Moves the cell to `namespace` (same state and key).
    pub(crate) fn set_namespace(&mut self, namespace: Namespace) {
        let mut row = self.row.take();
        row.truncate(self.namespace_at);
        push_namespace(&mut row, namespace);
        self.prefix_len = row.len();
        self.row.set(row);
        self.namespace = namespace;
    }

    /// The state's reduce or aggregate function.
    pub(crate) fn function<F: 'static>(&mut self) -> FnResult<&mut F> {
        self.function
            .downcast_mut::<F>()
            .ok_or_else(|| format!("state '{}' has a function of another type", self.name).into())
    }

    /// Runs `f` with the row key: the prefix, plus `user_key` if given.
    fn with_row<R>(
        &self,
        user_key: Option<&dyn ErasedSerialize>,
        f: impl FnOnce(&[u8]) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        let mut row = self.row.take();
        row.truncate(self.prefix_len);
        let result = match user_key {
            Some(user_key) => user_key.encode(&mut row, self.name).and_then(|()| f(&row)),
            None => f(&row),
        };
        self.row.set(row);
        result
    }

    /// Runs `f` with the value buffer.
    fn with_value<R>(
        &self,
        f: impl FnOnce(&mut Vec<u8>) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        let mut value = self.value.take();
        let result = f(&mut value);
        self.value.set(value);
        result
    }

    /// The value of the row (of `user_key`), decoded.
    pub(crate) fn read<T: DeserializeOwned>(
        &self,
        user_key: Option<&dyn ErasedSerialize>,
    ) -> FnResult<Option<T>> {
        let found = self.with_value(|value| {
            self.with_row(user_key, |row| {
                if self.store.lock(KEYED_STATE)?.get(self.id, row, value)? {
                    decode(value, self.name).map(Some)
                } else {
                    Ok(None)
                }
            })
        })?;
        Ok(found)
    }

    /// The list in the row.
    pub(crate) fn read_list<T: DeserializeOwned>(&self) -> FnResult<Vec<T>> {
        Ok(self.with_value(|value| {
            self.with_row(None, |row| {
                if self.store.lock(KEYED_STATE)?.get(self.id, row, value)? {
                    decode_list(value, self.name)
                } else {
                    Ok(Vec::new())
                }
            })
        })?)
    }

    /// Whether the row (of `user_key`) exists.
    pub(crate) fn exists(&self, user_key: Option<&dyn ErasedSerialize>) -> FnResult<bool> {
        Ok(self.with_value(|value| {
            self.with_row(user_key, |row| {
                self.store.lock(KEYED_STATE)?.get(self.id, row, value)
            })
        })?)
    }

    /// Writes the encoded `values` into the row (of `user_key`): as its value, or appended
    /// to it.
    fn store_values<T: Serialize, B: Borrow<T>>(
        &mut self,
        user_key: Option<&dyn ErasedSerialize>,
        values: impl IntoIterator<Item = B>,
        append: bool,
    ) -> FnResult<()> {
        let mut value = self.value.take();
        value.clear();
        let mut encoded = Ok(());
        for item in values {
            encoded = encode_into(&mut value, item.borrow(), self.name);
            if encoded.is_err() {
                break;
            }
        }
        let (id, name) = (self.id, self.name);
        let mut store = self.store.lock(KEYED_STATE)?;
        let result = encoded.and_then(|()| {
            let mut row = self.row.take();
            row.truncate(self.prefix_len);
            let written = match user_key {
                Some(user_key) => user_key.encode(&mut row, name),
                None => Ok(()),
            }
            .and_then(|()| {
                if append {
                    if value.is_empty() {
                        Ok(())
                    } else {
                        store.append(id, &row, &value)
                    }
                } else {
                    store.put(id, &row, &value)
                }
            });
            self.row.set(row);
            written
        });
        self.value.set(value);
        Ok(result?)
    }

    /// Sets the row (of `user_key`) to `value`.
    pub(crate) fn write<T: Serialize>(
        &mut self,
        user_key: Option<&dyn ErasedSerialize>,
        value: &T,
    ) -> FnResult<()> {
        self.store_values::<T, &T>(user_key, [value], false)
    }

    /// Sets the row to the concatenated `values`.
    pub(crate) fn write_all<T: Serialize, B: Borrow<T>>(
        &mut self,
        values: impl IntoIterator<Item = B>,
    ) -> FnResult<()> {
        self.store_values::<T, B>(None, values, false)
    }

    /// Appends the encoded `values` to the row.
    pub(crate) fn append<T: Serialize, B: Borrow<T>>(
        &mut self,
        values: impl IntoIterator<Item = B>,
    ) -> FnResult<()> {
        self.store_values::<T, B>(None, values, true)
    }

    /// Deletes the row (of `user_key`).
    pub(crate) fn delete(&mut self, user_key: Option<&dyn ErasedSerialize>) -> FnResult<()> {
        let (id, name) = (self.id, self.name);
        let mut store = self.store.lock(KEYED_STATE)?;
        let mut row = self.row.take();
        row.truncate(self.prefix_len);
        let result = match user_key {
            Some(user_key) => user_key.encode(&mut row, name),
            None => Ok(()),
        }
        .and_then(|()| store.delete(id, &row));
        self.row.set(row);
        Ok(result?)
    }

    /// Reads the raw bytes of the row (of `user_key`) into `out`; `false` if there is none.
    pub(crate) fn get_raw(
        &self,
        user_key: Option<&dyn ErasedSerialize>,
        out: &mut Vec<u8>,
    ) -> FnResult<bool> {
        Ok(self.with_row(user_key, |row| {
            self.store.lock(KEYED_STATE)?.get(self.id, row, out)
        })?)
    }

    /// Writes raw bytes as the row (of `user_key`), or appends them to the row.
    pub(crate) fn put_raw(
        &mut self,
        user_key: Option<&dyn ErasedSerialize>,
        bytes: &[u8],
        append: bool,
    ) -> FnResult<()> {
        let (id, name) = (self.id, self.name);
        let mut store = self.store.lock(KEYED_STATE)?;
        let mut row = self.row.take();
        row.truncate(self.prefix_len);
        let result = match user_key {
            Some(user_key) => user_key.encode(&mut row, name),
            None => Ok(()),
        }
        .and_then(|()| {
            if append {
                store.append(id, &row, bytes)
            } else {
                store.put(id, &row, bytes)
            }
        });
        self.row.set(row);
        Ok(result?)
    }

    /// The user-key rows (map entries) in order, as raw (user key, value) bytes.
    pub(crate) fn entries_raw(&self) -> FnResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut entries = Vec::new();
        let mut row = self.row.take();
        row.truncate(self.prefix_len);
        let prefix_len = self.prefix_len;
        let result = match prefix_end(&row) {
            Some(end) => self.store.lock(KEYED_STATE)?.scan(
                self.id,
                &row,
                Some(&end),
                &mut |entry, value| {
                    entries.push((entry[prefix_len..].to_vec(), value.to_vec()));
                    Ok(ScanControl::Continue)
                },
            ),
            None => Ok(()),
        };
        self.row.set(row);
        result?;
        Ok(entries)
    }

    /// Writes (`Some(value)`) or deletes (`None`) the user-key row whose encoded user key is
    /// `user_key`.
    pub(crate) fn set_entry_raw(&mut self, user_key: &[u8], value: Option<&[u8]>) -> FnResult<()> {
        let mut row = self.row.take();
        row.truncate(self.prefix_len);
        row.extend_from_slice(user_key);
        let result = match value {
            Some(value) => self.store.lock(KEYED_STATE)?.put(self.id, &row, value),
            None => self.store.lock(KEYED_STATE)?.delete(self.id, &row),
        };
        self.row.set(row);
        Ok(result?)
    }

    /// The name of the state.
    pub(crate) fn state_name(&self) -> &str {
        self.name
    }

    /// Visits the user-key rows (map entries) in order, decoded.
    pub(crate) fn scan_entries<UK: DeserializeOwned, UV: DeserializeOwned>(
        &self,
        mut visit: impl FnMut(UK, Option<UV>) -> ScanControl,
        values: bool,
    ) -> FnResult<()> {
        let mut row = self.row.take();
        row.truncate(self.prefix_len);
        let prefix_len = self.prefix_len;
        let name = self.name;
        let result = match prefix_end(&row) {
            Some(end) => self.store.lock(KEYED_STATE)?.scan(
                self.id,
                &row,
                Some(&end),
                &mut |entry, value| {
                    let user_key: UK = decode(&entry[prefix_len..], name)?;
                    let value = if values {
                        Some(decode(value, name)?)
                    } else {
                        None
                    };
                    Ok(visit(user_key, value))
                },
            ),
            None => Ok(()),
        };
        self.row.set(row);
        Ok(result?)
    }

    /// Deletes every user-key row (map entry).
    pub(crate) fn delete_entries(&mut self) -> FnResult<()> {
        let mut row = self.row.take();
        row.truncate(self.prefix_len);
        let result = match prefix_end(&row) {
            Some(end) => self
                .store
                .lock(KEYED_STATE)?
                .delete_range(self.id, &row, &end),
            None => Ok(()),
        };
        self.row.set(row);
        Ok(result?)
    }
}

/// A user key to encode into a row, without making the cell's methods generic over it.
pub(crate) trait ErasedSerialize {
    /// Appends the binary encoding.
    fn encode(&self, out: &mut Vec<u8>, state: &str) -> Result<(), StateError>;
}

impl<T: Serialize> ErasedSerialize for T {
    fn encode(&self, out: &mut Vec<u8>, state: &str) -> Result<(), StateError> {
        encode_into(out, self, state)
    }
}
