//! Timers kept in the keyed-state store (the `rocksdb` backend's default timer service, as in
//! Flink): the queue survives in the same store as the state, so it can grow beyond memory
//! and be snapshotted with it.
//!
//! A timer is a row `[key group: u16 BE][timestamp: ordered i64 BE][key][namespace]` with an
//! empty value, in a keyspace of its own per time domain. Rows of one key group are therefore
//! ordered by timestamp, and the queue only keeps each key group's earliest timestamp in
//! memory (the head), ordered in a set: the earliest timer overall is the first row of the key
//! group whose head is smallest. Memory is proportional to the key groups, not to the timers.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::layout::{
    decode_error, encode_into, key_group_prefix, ordered_i64, prefix_end, KEY_GROUP_BYTES,
};
use crate::snapshot::key_group_of_row;
use crate::{ScanControl, SharedStore, StateError, StateRow, StoreStateId};
use eddy_core::keygroup::{KeyGroupRange, KeyHasher};

/// Who uses the store, for the error if it is already in use.
const TIMERS: &str = "timer service";

/// Bytes of a timer row before the key: key group and timestamp.
const HEADER_BYTES: usize = KEY_GROUP_BYTES + 8;

/// One time domain's timers in a store: at most one per `(timestamp, key, namespace)`, popped
/// in timestamp order (then key group, then key and namespace bytes).
pub struct StoreTimerQueue<K, N> {
    store: SharedStore,
    id: StoreStateId,
    name: &'static str,
    max_parallelism: u32,
    /// The earliest timestamp of each key group holding timers.
    heads: FxHashMap<u16, i64>,
    /// `heads` ordered by timestamp.
    order: BTreeSet<(i64, u16)>,
    /// Per key group, the row of the last timer popped: no live timer row of the key group
    /// sorts before it, so scans start after it instead of walking over the deletion
    /// markers of every timer popped before (which made firing n timers of a key group cost
    /// n² steps). Registering a timer that sorts before it drops it.
    cursors: FxHashMap<u16, Vec<u8>>,
    row: Vec<u8>,
    _types: PhantomData<fn() -> (K, N)>,
}

impl<K: Serialize + DeserializeOwned, N: Serialize + DeserializeOwned> StoreTimerQueue<K, N> {
    /// The queue in keyspace `name` of `store`, for keys hashed into `max_parallelism` key
    /// groups. Timers already in the store for `key_groups` (a restored store) are found.
    pub fn open(
        store: SharedStore,
        name: &'static str,
        max_parallelism: u32,
        key_groups: KeyGroupRange,
    ) -> Result<Self, StateError> {
        let id = store.lock(TIMERS)?.register_state(name, None)?;
        let mut queue = StoreTimerQueue {
            store,
            id,
            name,
            max_parallelism,
            heads: FxHashMap::default(),
            order: BTreeSet::new(),
            cursors: FxHashMap::default(),
            row: Vec::with_capacity(64),
            _types: PhantomData,
        };
        for key_group in key_groups.start..=key_groups.end {
            queue.reload_head(key_group as u16)?;
        }
        Ok(queue)
    }

    /// Writes the row of a timer into the row buffer and returns its key group.
    fn write_timer_row(
        &mut self,
        timestamp: i64,
        key: &K,
        namespace: &N,
    ) -> Result<u16, StateError> {
        write_timer_row(
            &mut self.row,
            self.max_parallelism,
            timestamp,
            key,
            namespace,
            self.name,
        )
    }

    /// Every timer's row, in row order (key group, then timestamp): the queue's snapshot.
    pub fn rows(&self) -> Result<Vec<StateRow>, StateError> {
        let mut rows = Vec::new();
        self.store
            .lock(TIMERS)?
            .scan(self.id, &[], None, &mut |row, value| {
                rows.push((row.to_vec(), value.to_vec()));
                Ok(ScanControl::Continue)
            })?;
        Ok(rows)
    }

    /// Adds the timers of snapshot `rows` (see [`rows`](Self::rows)).
    pub fn restore_rows<'r>(
        &mut self,
        rows: impl IntoIterator<Item = &'r Vec<u8>>,
    ) -> Result<(), StateError> {
        let mut key_groups = BTreeSet::new();
        {
            let mut store = self.store.lock(TIMERS)?;
            for row in rows {
                timestamp_of(row, self.name)?;
                store.put(self.id, row, &[])?;
                key_groups.insert(u16::try_from(key_group_of_row(row)).unwrap_or(u16::MAX));
            }
        }
        for key_group in key_groups {
            // Restored rows may sort before the last popped one.
            self.cursors.remove(&key_group);
            self.reload_head(key_group)?;
        }
        Ok(())
    }

    /// Adds a timer (registering it twice keeps one).
    pub fn register(&mut self, timestamp: i64, key: &K, namespace: &N) -> Result<(), StateError> {
        let key_group = self.write_timer_row(timestamp, key, namespace)?;
        if self
            .cursors
            .get(&key_group)
            .is_some_and(|cursor| self.row <= *cursor)
        {
            self.cursors.remove(&key_group);
        }
        self.store.lock(TIMERS)?.put(self.id, &self.row, &[])?;
        match self.heads.get(&key_group) {
            Some(&head) if head <= timestamp => {}
            previous => {
                if let Some(&head) = previous {
                    self.order.remove(&(head, key_group));
                }
                self.heads.insert(key_group, timestamp);
                self.order.insert((timestamp, key_group));
            }
        }
        Ok(())
    }

    /// Removes a timer, if registered.
    pub fn delete(&mut self, timestamp: i64, key: &K, namespace: &N) -> Result<(), StateError> {
        let key_group = self.write_timer_row(timestamp, key, namespace)?;
        self.store.lock(TIMERS)?.delete(self.id, &self.row)?;
        if self.heads.get(&key_group) == Some(&timestamp) {
            self.reload_head(key_group)?;
        }
        Ok(())
    }

    /// Reads the earliest timestamp of `key_group` from the store into the heads.
    fn reload_head(&mut self, key_group: u16) -> Result<(), StateError> {
        if let Some(head) = self.heads.remove(&key_group) {
            self.order.remove(&(head, key_group));
        }
        let prefix = key_group_prefix(u32::from(key_group));
        let to = prefix_end(&prefix);
        let from = self.scan_start(key_group);
        let mut head = None;
        self.store
            .lock(TIMERS)?
            .scan(self.id, &from, to.as_deref(), &mut |row, _| {
                head = Some(timestamp_of(row, self.name)?);
                Ok(ScanControl::Stop)
            })?;
        if let Some(head) = head {
            self.heads.insert(key_group, head);
            self.order.insert((head, key_group));
        }
        Ok(())
    }

    /// Where a scan of `key_group`'s timers starts: just after the last popped row, or at
    /// the key group's first row.
    fn scan_start(&self, key_group: u16) -> Vec<u8> {
        match self.cursors.get(&key_group) {
            Some(cursor) => {
                let mut after = Vec::with_capacity(cursor.len() + 1);
                after.extend_from_slice(cursor);
                after.push(0);
                after
            }
            None => key_group_prefix(u32::from(key_group)).to_vec(),
        }
    }

    /// Removes and returns the earliest timer if its timestamp is `<= time`.
    pub fn pop_due(&mut self, time: i64) -> Result<Option<(i64, K, N)>, StateError> {
        let Some(&(head, key_group)) = self.order.first() else {
            return Ok(None);
        };
        if head > time {
            return Ok(None);
        }
        let to = prefix_end(&key_group_prefix(u32::from(key_group)));
        let from = self.scan_start(key_group);
        let name = self.name;
        let mut first: Option<(Vec<u8>, i64, K, N)> = None;
        let mut next_head = None;
        let mut store = self.store.lock(TIMERS)?;
        store.scan(self.id, &from, to.as_deref(), &mut |row, _| {
            if first.is_none() {
                let (timestamp, key, namespace) = decode_timer_row(row, name)?;
                first = Some((row.to_vec(), timestamp, key, namespace));
                Ok(ScanControl::Continue)
            } else {
                next_head = Some(timestamp_of(row, name)?);
                Ok(ScanControl::Stop)
            }
        })?;
        self.order.remove(&(head, key_group));
        self.heads.remove(&key_group);
        if let Some(next) = next_head {
            self.heads.insert(key_group, next);
            self.order.insert((next, key_group));
        }
        let Some((row, timestamp, key, namespace)) = first else {
            return Err(StateError::Store {
                backend: store.backend_name(),
                message: format!(
                    "the timer queue '{name}' lost the timers of key group {key_group} \
                     (its head at {head} is not in the store)"
                ),
            });
        };
        store.delete(self.id, &row)?;
        self.cursors.insert(key_group, row);
        Ok(Some((timestamp, key, namespace)))
    }

    /// The earliest timer's timestamp.
    pub fn peek_timestamp(&self) -> Option<i64> {
        self.order.first().map(|&(timestamp, _)| timestamp)
    }

    /// Whether no timer is registered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Writes the row of a timer into `row` (cleared first) and returns its key group.
pub(crate) fn write_timer_row<K: Serialize, N: Serialize>(
    row: &mut Vec<u8>,
    max_parallelism: u32,
    timestamp: i64,
    key: &K,
    namespace: &N,
    name: &str,
) -> Result<u16, StateError> {
    let key_group = KeyHasher::new()
        .key_group(key, max_parallelism)
        .map_err(|e| StateError::Encode {
            state: name.to_owned(),
            message: e.to_string(),
        })? as u16;
    row.clear();
    row.extend_from_slice(&key_group_prefix(u32::from(key_group)));
    row.extend_from_slice(&ordered_i64(timestamp));
    encode_into(row, key, name)?;
    encode_into(row, namespace, name)?;
    Ok(key_group)
}

/// Decodes a timer row into its timestamp, key and namespace.
pub(crate) fn decode_timer_row<K: DeserializeOwned, N: DeserializeOwned>(
    row: &[u8],
    name: &str,
) -> Result<(i64, K, N), StateError> {
    let timestamp = timestamp_of(row, name)?;
    let rest = &row[HEADER_BYTES..];
    let (key, rest) =
        postcard::take_from_bytes::<K>(rest).map_err(|e| decode_error::<K>(name, e))?;
    let namespace = postcard::from_bytes::<N>(rest).map_err(|e| decode_error::<N>(name, e))?;
    Ok((timestamp, key, namespace))
}

/// The timestamp of a timer row.
fn timestamp_of(row: &[u8], name: &str) -> Result<i64, StateError> {
    let bytes: [u8; 8] = row
        .get(KEY_GROUP_BYTES..HEADER_BYTES)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StateError::Decode {
            state: name.to_owned(),
            expected: "a timer row",
            message: format!("the row has {} bytes, fewer than {HEADER_BYTES}", row.len()),
        })?;
    Ok((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}
