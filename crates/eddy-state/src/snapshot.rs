//! Snapshots of keyed state in one format for every backend, and restoring them.
//!
//! A [`KeyedStateSnapshot`] holds each state as the rows the on-disk backend would keep (see
//! [`super::layout`]): `[key group][key][namespace][user key]` → value bytes, ordered by row,
//! so the rows of a key group are contiguous. The heap backend encodes its typed values into
//! these rows only when a snapshot is taken, and the on-disk backend copies its rows as they
//! are; either backend restores either's snapshot (Flink's canonical savepoint format).
//!
//! Each state carries the description of its kind and type (e.g. `ValueState<u64>`), checked
//! when a function asks for the state again after a restore: a state whose type changed is a
//! clear error, not garbage. Restoring takes the rows of any number of snapshots (the old
//! subtasks) and keeps the key groups of the new subtask's range, which is how keyed state
//! rescales. Restored rows wait, still encoded, until a function first asks for their state:
//! only then are the value types known.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::layout::{decode, encode_into, key_and_rest_of_row, write_row, KEY_GROUP_BYTES};
use super::native_snapshot::NativeStateHandle;
use super::store::StateError;
use super::Namespace;
use eddy_core::keygroup::{KeyGroupRange, KeyHasher};

/// The version of the snapshot format this build writes and reads.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 2;

/// The bytes every encoded snapshot starts with.
const MAGIC: &[u8; 8] = b"EDDYKSS\0";

/// A row of a state: its row key (starting with the key group) and its value.
pub type StateRow = (Vec<u8>, Vec<u8>);

/// One state in a snapshot: what it is, and its rows in row order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRows {
    /// The kind and type of the state, e.g. `ValueState<u64>`.
    pub description: String,
    /// The rows, ordered by row key (so by key group first).
    pub rows: Vec<StateRow>,
}

/// Why a snapshot could not be read or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not a keyed-state snapshot.
    #[error(
        "the data is not an Eddy keyed-state snapshot (it does not start with the format's marker)"
    )]
    NotASnapshot,
    /// The snapshot was written in a format version this build does not read.
    #[error(
        "the keyed-state snapshot has format version {found}, but this build of Eddy reads \
         version {SNAPSHOT_FORMAT_VERSION}; restore it with the Eddy version that wrote it"
    )]
    Version {
        /// The version in the snapshot.
        found: u32,
    },
    /// The snapshot's body did not decode.
    #[error("the keyed-state snapshot is corrupt: {0}")]
    Corrupt(String),
    /// The snapshot's keys are of another type than the operator's.
    #[error(
        "the snapshot holds keys of type {snapshot}, but the operator's keys are {operator}; \
         a restored job must key its streams the same way"
    )]
    KeyType {
        /// The key type in the snapshot.
        snapshot: String,
        /// The operator's key type.
        operator: String,
    },
    /// The snapshot was taken with another number of key groups.
    #[error(
        "the snapshot was taken with max parallelism {snapshot}, but the job now has {job}; \
         the max parallelism (pipeline.max-parallelism) cannot change across a restore"
    )]
    MaxParallelism {
        /// The snapshot's max parallelism.
        snapshot: u32,
        /// The job's.
        job: u32,
    },
    /// Two snapshots describe one state differently.
    #[error("state '{state}' is a {first} in one snapshot and a {second} in another")]
    Conflict {
        /// The state's name.
        state: String,
        /// Its description in the first snapshot.
        first: String,
        /// Its description in the other.
        second: String,
    },
    /// A function asked for a restored state as another kind or type.
    #[error(
        "state '{state}' was restored as a {restored}, but the job asks for it as a {asked}; \
         a state's kind and type cannot change across a restore (give the new state another \
         name)"
    )]
    Incompatible {
        /// The state's name.
        state: String,
        /// The description in the snapshot.
        restored: String,
        /// The description the job asks for.
        asked: String,
    },
}

/// The keyed state of one operator subtask at one moment, in the backend-independent format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedStateSnapshot {
    key_type: String,
    max_parallelism: u32,
    states: BTreeMap<String, StateRows>,
    timers: BTreeMap<String, StateRows>,
    /// The event-time watermark the timers had reached (`None`: no timer service).
    watermark: Option<i64>,
    /// States kept as the files of an on-disk instance's checkpoint instead of rows (an
    /// incremental checkpoint); read back into rows before a restore.
    native: Option<NativeStateHandle>,
}

impl KeyedStateSnapshot {
    /// An empty snapshot of keys of type `key_type` in `max_parallelism` key groups.
    pub fn new(key_type: &str, max_parallelism: u32) -> Self {
        KeyedStateSnapshot {
            key_type: key_type.to_owned(),
            max_parallelism,
            states: BTreeMap::new(),
            timers: BTreeMap::new(),
            watermark: None,
            native: None,
        }
    }

    /// An empty snapshot for keys of type `K`.
    pub fn for_key<K>(max_parallelism: u32) -> Self {
        Self::new(std::any::type_name::<K>(), max_parallelism)
    }

    /// The key type's name.
    pub fn key_type(&self) -> &str {
        &self.key_type
    }

    /// The number of key groups keys were hashed into.
    pub fn max_parallelism(&self) -> u32 {
        self.max_parallelism
    }

    /// The states, by name.
    pub fn states(&self) -> &BTreeMap<String, StateRows> {
        &self.states
    }

    /// The timer queues, by name.
    pub fn timers(&self) -> &BTreeMap<String, StateRows> {
        &self.timers
    }

    /// Adds state `name` with `description` and `rows` (sorted here).
    pub fn insert_state(&mut self, name: &str, description: String, mut rows: Vec<StateRow>) {
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.states
            .insert(name.to_owned(), StateRows { description, rows });
    }

    /// Adds every state of `other`, replacing states of the same name (an operator's own
    /// typed structures written beside its keyed state).
    pub fn insert_states_from(&mut self, other: KeyedStateSnapshot) {
        self.states.extend(other.states);
    }

    /// Renames state `from` to `to` (an operator that keeps one state under two names).
    pub fn rename_state(&mut self, from: &str, to: &str) {
        if let Some(state) = self.states.remove(from) {
            self.states.insert(to.to_owned(), state);
        }
        for state in self.native.iter_mut().flat_map(|n| n.states.iter_mut()) {
            if state.name == from {
                to.clone_into(&mut state.name);
            }
        }
    }

    /// Whether the snapshot holds state `name`.
    pub fn has_state(&self, name: &str) -> bool {
        self.states.contains_key(name)
            || self
                .native
                .iter()
                .any(|n| n.states.iter().any(|s| s.name == name))
    }

    /// The states kept as files of an on-disk instance's checkpoint, if any.
    pub fn native(&self) -> Option<&NativeStateHandle> {
        self.native.as_ref()
    }

    /// Keeps states as the files `handle` names (see [`native`](Self::native)).
    pub fn set_native(&mut self, handle: NativeStateHandle) {
        self.native = Some(handle);
    }

    /// Takes the native part out, leaving a snapshot of rows.
    pub fn take_native(&mut self) -> Option<NativeStateHandle> {
        self.native.take()
    }

    /// Adds the timer queue `name` with `description` and `rows` (sorted here).
    pub fn insert_timers(&mut self, name: &str, description: String, mut rows: Vec<StateRow>) {
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.timers
            .insert(name.to_owned(), StateRows { description, rows });
    }

    /// The event-time watermark the operator's timers had reached.
    pub fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    /// Records the watermark the operator's timers had reached.
    pub fn set_watermark(&mut self, watermark: i64) {
        self.watermark = Some(watermark);
    }

    /// The number of rows over all states and timers.
    pub fn row_count(&self) -> usize {
        self.states
            .values()
            .chain(self.timers.values())
            .map(|s| s.rows.len())
            .sum()
    }

    /// The snapshot as bytes: a marker, the format version, then the body.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SnapshotError> {
        let mut out = Vec::with_capacity(64 + self.row_count() * 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_FORMAT_VERSION.to_be_bytes());
        postcard::to_extend(self, out).map_err(|e| SnapshotError::Corrupt(e.to_string()))
    }

    /// Reads a snapshot written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let body = bytes
            .strip_prefix(&MAGIC[..])
            .ok_or(SnapshotError::NotASnapshot)?;
        let version: [u8; 4] = body
            .get(..4)
            .and_then(|v| v.try_into().ok())
            .ok_or(SnapshotError::NotASnapshot)?;
        let found = u32::from_be_bytes(version);
        if found != SNAPSHOT_FORMAT_VERSION {
            return Err(SnapshotError::Version { found });
        }
        postcard::from_bytes(&body[4..]).map_err(|e| SnapshotError::Corrupt(e.to_string()))
    }

    /// Checks that the snapshot's keys are `K`s hashed into `max_parallelism` key groups.
    pub fn check_compatible<K>(&self, max_parallelism: u32) -> Result<(), SnapshotError> {
        let operator = std::any::type_name::<K>();
        if self.key_type != operator {
            return Err(SnapshotError::KeyType {
                snapshot: self.key_type.clone(),
                operator: operator.to_owned(),
            });
        }
        if self.max_parallelism != max_parallelism {
            return Err(SnapshotError::MaxParallelism {
                snapshot: self.max_parallelism,
                job: max_parallelism,
            });
        }
        Ok(())
    }
}

/// The key group a row belongs to.
pub(crate) fn key_group_of_row(row: &[u8]) -> u32 {
    row.get(..KEY_GROUP_BYTES)
        .map_or(0, |b| u32::from(u16::from_be_bytes([b[0], b[1]])))
}

/// Merges the rows of `parts` (states or timers of several snapshots) whose key group is in
/// `range`, per name, checking that every snapshot describes a state the same way.
pub(crate) fn merge_in_range<'s>(
    parts: impl Iterator<Item = &'s BTreeMap<String, StateRows>>,
    range: KeyGroupRange,
) -> Result<BTreeMap<String, RestoredState>, SnapshotError> {
    let mut merged: BTreeMap<String, RestoredState> = BTreeMap::new();
    for states in parts {
        for (name, state) in states {
            let restored = merged.entry(name.clone()).or_insert_with(|| RestoredState {
                description: state.description.clone(),
                rows: BTreeMap::new(),
            });
            if restored.description != state.description {
                return Err(SnapshotError::Conflict {
                    state: name.clone(),
                    first: restored.description.clone(),
                    second: state.description.clone(),
                });
            }
            restored.rows.extend(
                state
                    .rows
                    .iter()
                    .filter(|(row, _)| range.contains(key_group_of_row(row)))
                    .cloned(),
            );
        }
    }
    Ok(merged)
}

/// Checks every snapshot against the operator's key type and max parallelism.
pub(crate) fn check_all<K>(
    snapshots: &[KeyedStateSnapshot],
    max_parallelism: u32,
) -> Result<(), SnapshotError> {
    snapshots
        .iter()
        .try_for_each(|s| s.check_compatible::<K>(max_parallelism))
}

/// A restored state whose rows wait, still encoded, for a function to ask for the state.
#[derive(Debug, Clone, Default)]
pub(crate) struct RestoredState {
    pub(crate) description: String,
    pub(crate) rows: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Copies restored states no function has asked for yet into `snapshot`, as they are.
pub(crate) fn copy_restored_states(
    restored: &BTreeMap<String, RestoredState>,
    snapshot: &mut KeyedStateSnapshot,
) {
    for (name, state) in restored {
        let rows = state
            .rows
            .iter()
            .map(|(row, value)| (row.clone(), value.clone()))
            .collect();
        snapshot.insert_state(name, state.description.clone(), rows);
    }
}

impl RestoredState {
    /// Checks that the job asks for the state as it was snapshotted.
    pub(crate) fn check(&self, name: &str, asked: &str) -> Result<(), SnapshotError> {
        if self.description == asked {
            Ok(())
        } else {
            Err(SnapshotError::Incompatible {
                state: name.to_owned(),
                restored: self.description.clone(),
                asked: asked.to_owned(),
            })
        }
    }

    /// The keys of rows in `namespace` (`None`: any) and `range` (`None`: any), in row
    /// order, each once.
    pub(crate) fn keys<K: DeserializeOwned>(
        &self,
        name: &str,
        namespace: Option<Namespace>,
        range: Option<KeyGroupRange>,
    ) -> Result<Vec<K>, StateError> {
        let mut keys = Vec::new();
        let mut last: &[u8] = &[];
        for row in self.rows.keys() {
            if range.is_some_and(|range| !range.contains(key_group_of_row(row))) {
                continue;
            }
            let (key, rest) = key_and_rest_of_row::<K>(row, name)?;
            if let Some(namespace) = namespace {
                if decode_namespace(rest, name)?.0 != namespace {
                    continue;
                }
            }
            let key_bytes = &row[..row.len() - rest.len()];
            if key_bytes != last {
                keys.push(key);
                last = key_bytes;
            }
        }
        Ok(keys)
    }

    /// The key and namespace of every row, in row order, each pair once.
    pub(crate) fn entries<K: DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Vec<(K, Namespace)>, StateError> {
        let mut entries = EntryCollector::default();
        for row in self.rows.keys() {
            entries.add(row, name)?;
        }
        Ok(entries.entries)
    }

    /// Drops the rows of `key` in `namespace`.
    pub(crate) fn clear_namespace<K: serde::Serialize>(
        &mut self,
        key: &K,
        namespace: Namespace,
        max_parallelism: u32,
        name: &str,
    ) -> Result<(), StateError> {
        let key_group = KeyHasher::new()
            .key_group(key, max_parallelism)
            .map_err(|e| StateError::Encode {
                state: name.to_owned(),
                message: e.to_string(),
            })?;
        let mut prefix = Vec::new();
        write_row(&mut prefix, key_group, key, namespace, name)?;
        // The rows of one key and namespace are contiguous: remove that range only.
        let doomed: Vec<Vec<u8>> = self
            .rows
            .range(prefix.clone()..)
            .take_while(|(row, _)| row.starts_with(&prefix))
            .map(|(row, _)| row.clone())
            .collect();
        for row in doomed {
            self.rows.remove(&row);
        }
        Ok(())
    }
}

/// Collects the (key, namespace) pairs of rows in row order, once per pair (map state has a
/// row per entry).
pub(crate) struct EntryCollector<K> {
    pub(crate) entries: Vec<(K, Namespace)>,
    last: Vec<u8>,
}

impl<K> Default for EntryCollector<K> {
    fn default() -> Self {
        EntryCollector {
            entries: Vec::new(),
            last: Vec::new(),
        }
    }
}

impl<K: DeserializeOwned> EntryCollector<K> {
    /// Adds the pair of `row`, unless it is the previous row's.
    pub(crate) fn add(&mut self, row: &[u8], name: &str) -> Result<(), StateError> {
        let (key, rest) = key_and_rest_of_row::<K>(row, name)?;
        let (namespace, user_key) = decode_namespace(rest, name)?;
        let prefix = &row[..row.len() - user_key.len()];
        if prefix != self.last.as_slice() {
            self.last.clear();
            self.last.extend_from_slice(prefix);
            self.entries.push((key, namespace));
        }
        Ok(())
    }
}

/// Decodes the namespace at the start of `bytes`; returns it with the bytes after it.
pub(crate) fn decode_namespace<'b>(
    bytes: &'b [u8],
    state: &str,
) -> Result<(Namespace, &'b [u8]), StateError> {
    let bad = || StateError::Decode {
        state: state.to_owned(),
        expected: "a namespace",
        message: "the row ends inside its namespace".into(),
    };
    match bytes.first() {
        Some(0) => Ok((Namespace::Global, &bytes[1..])),
        Some(1) => Ok((Namespace::GlobalWindow, &bytes[1..])),
        Some(2) => {
            let field = |at: usize| -> Result<i64, StateError> {
                let raw: [u8; 8] = bytes
                    .get(at..at + 8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(bad)?;
                Ok((u64::from_be_bytes(raw) ^ (1 << 63)) as i64)
            };
            let namespace = Namespace::TimeWindow {
                start: field(1)?,
                end: field(9)?,
            };
            Ok((namespace, &bytes[17..]))
        }
        _ => Err(bad()),
    }
}

/// Builds the rows of one state from typed entries (the heap backend's snapshot, and
/// operators that keep their state in typed structures of their own).
pub struct RowWriter<'a> {
    name: &'a str,
    max_parallelism: u32,
    rows: Vec<StateRow>,
}

impl<'a> RowWriter<'a> {
    /// Rows of state `name`, keys hashed into `max_parallelism` key groups.
    pub fn new(name: &'a str, max_parallelism: u32) -> Self {
        RowWriter {
            name,
            max_parallelism,
            rows: Vec::new(),
        }
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// Adds the row of `key` in `namespace` (with `user_key`, for map state); `value`
    /// writes the value's bytes.
    pub fn row<K: serde::Serialize>(
        &mut self,
        key: &K,
        namespace: Namespace,
        user_key: Option<&dyn ErasedKey>,
        value: impl FnOnce(&mut Vec<u8>) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let key_group = KeyHasher::new()
            .key_group(key, self.max_parallelism)
            .map_err(|e| StateError::Encode {
                state: self.name.to_owned(),
                message: e.to_string(),
            })?;
        let mut row = Vec::with_capacity(32);
        write_row(&mut row, key_group, key, namespace, self.name)?;
        if let Some(user_key) = user_key {
            user_key.encode_into(&mut row, self.name)?;
        }
        let mut bytes = Vec::new();
        value(&mut bytes)?;
        self.rows.push((row, bytes));
        Ok(())
    }

    /// Adds the row of a value state: `value` in the binary codec.
    pub fn value_row<K: serde::Serialize, V: serde::Serialize>(
        &mut self,
        key: &K,
        namespace: Namespace,
        value: &V,
    ) -> Result<(), StateError> {
        let name = self.name;
        self.row(key, namespace, None, |out| encode_into(out, value, name))
    }

    /// The rows written.
    pub fn into_rows(self) -> Vec<StateRow> {
        self.rows
    }
}

/// A user key to write into a row, without making the writer generic over it.
pub trait ErasedKey {
    /// Appends the key's binary encoding.
    fn encode_into(&self, out: &mut Vec<u8>, state: &str) -> Result<(), StateError>;
}

impl<T: serde::Serialize> ErasedKey for T {
    fn encode_into(&self, out: &mut Vec<u8>, state: &str) -> Result<(), StateError> {
        encode_into(out, self, state)
    }
}

/// A decoded row of a restored state: the key, the namespace, the bytes of the user key (map
/// state; empty otherwise) and of the value.
pub struct DecodedRow<'r, K> {
    /// The key.
    pub key: K,
    /// The namespace.
    pub namespace: Namespace,
    /// The encoded user key (map state), empty for other states.
    pub user_key: &'r [u8],
    /// The encoded value.
    pub value: &'r [u8],
}

/// Decodes the key and namespace of a row.
pub(crate) fn decode_row<'r, K: DeserializeOwned>(
    row: &'r [u8],
    value: &'r [u8],
    name: &str,
) -> Result<DecodedRow<'r, K>, StateError> {
    let (key, rest) = key_and_rest_of_row::<K>(row, name)?;
    let (namespace, user_key) = decode_namespace(rest, name)?;
    Ok(DecodedRow {
        key,
        namespace,
        user_key,
        value,
    })
}

/// How a value state of `T` is described in snapshots (`ValueState<T>`): for operators that
/// keep such a state in typed structures of their own and snapshot it as one.
pub fn value_state_description<T>() -> String {
    format!("ValueState<{}>", std::any::type_name::<T>())
}

/// The entries of value state `name` with value type `V` in `snapshots`, keeping the key
/// groups of `range`: how an operator that keeps its state in typed structures of its own
/// restores it. The state's description must be `description`.
pub fn restore_value_rows<K: DeserializeOwned, V: DeserializeOwned>(
    snapshots: &[KeyedStateSnapshot],
    range: KeyGroupRange,
    name: &str,
    description: &str,
    mut visit: impl FnMut(K, Namespace, V) -> Result<(), StateError>,
) -> eddy_core::FnResult<()> {
    let merged = merge_in_range(snapshots.iter().map(|s| &s.states), range)?;
    if let Some(state) = merged.get(name) {
        state.check(name, description)?;
        for (row, value) in &state.rows {
            let decoded = decode_row::<K>(row, value, name)?;
            visit(decoded.key, decoded.namespace, decode(value, name)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::push_namespace;

    #[test]
    fn bytes_round_trip_and_other_data_is_refused_clearly() {
        let mut snapshot = KeyedStateSnapshot::for_key::<u64>(128);
        let mut writer = RowWriter::new("count", 128);
        writer.value_row(&7u64, Namespace::Global, &3u32).unwrap();
        snapshot.insert_state("count", "ValueState<u32>".into(), writer.into_rows());
        let bytes = snapshot.to_bytes().unwrap();
        assert_eq!(KeyedStateSnapshot::from_bytes(&bytes).unwrap(), snapshot);
        assert!(matches!(
            KeyedStateSnapshot::from_bytes(b"hello"),
            Err(SnapshotError::NotASnapshot)
        ));
        let mut newer = bytes.clone();
        newer[8..12].copy_from_slice(&(SNAPSHOT_FORMAT_VERSION + 1).to_be_bytes());
        let err = KeyedStateSnapshot::from_bytes(&newer).unwrap_err();
        let expected = format!("format version {}", SNAPSHOT_FORMAT_VERSION + 1);
        assert!(err.to_string().contains(&expected), "{err}");
        let err = KeyedStateSnapshot::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(err, SnapshotError::Corrupt(_)), "{err}");
        let err = snapshot.check_compatible::<String>(128).unwrap_err();
        assert!(err.to_string().contains("alloc::string::String"), "{err}");
        let err = snapshot.check_compatible::<u64>(256).unwrap_err();
        assert!(
            err.to_string().contains("pipeline.max-parallelism"),
            "{err}"
        );
    }

    #[test]
    fn clearing_a_namespace_of_restored_rows_drops_exactly_that_key_there() {
        let window = Namespace::TimeWindow { start: 0, end: 10 };
        let mut writer = RowWriter::new("m", 16);
        for key in [1u32, 2, 300] {
            for namespace in [Namespace::Global, window] {
                for user_key in [5u8, 6] {
                    writer
                        .row(&key, namespace, Some(&user_key), |out| {
                            encode_into(out, &key, "m")
                        })
                        .unwrap();
                }
            }
        }
        let mut restored = RestoredState {
            description: "MapState<u8, u32>".into(),
            rows: writer.into_rows().into_iter().collect(),
        };
        restored.clear_namespace(&2u32, window, 16, "m").unwrap();
        let mut left: Vec<(u32, Namespace)> = restored.entries("m").unwrap();
        left.sort_by_key(|(key, namespace)| (*key, *namespace != Namespace::Global));
        assert_eq!(
            left,
            vec![
                (1, Namespace::Global),
                (1, window),
                (2, Namespace::Global),
                (300, Namespace::Global),
                (300, window)
            ]
        );
        assert_eq!(restored.rows.len(), 10);
    }

    #[test]
    fn namespaces_decode_as_they_were_written() {
        for namespace in [
            Namespace::Global,
            Namespace::GlobalWindow,
            Namespace::TimeWindow {
                start: -5,
                end: i64::MAX,
            },
        ] {
            let mut bytes = Vec::new();
            push_namespace(&mut bytes, namespace);
            bytes.push(42);
            assert_eq!(
                decode_namespace(&bytes, "s").unwrap(),
                (namespace, &[42u8][..])
            );
        }
        assert!(decode_namespace(&[2, 0, 0], "s").is_err());
        assert!(decode_namespace(&[9], "s").is_err());
    }

    #[test]
    fn merging_keeps_the_rows_of_the_range_and_rejects_conflicting_descriptions() {
        let mut a = KeyedStateSnapshot::for_key::<u32>(16);
        let mut b = KeyedStateSnapshot::for_key::<u32>(16);
        let (mut wa, mut wb) = (RowWriter::new("v", 16), RowWriter::new("v", 16));
        for key in 0..50u32 {
            let writer = if key % 2 == 0 { &mut wa } else { &mut wb };
            writer.value_row(&key, Namespace::Global, &key).unwrap();
        }
        a.insert_state("v", "ValueState<u32>".into(), wa.into_rows());
        b.insert_state("v", "ValueState<u32>".into(), wb.into_rows());
        let range = KeyGroupRange { start: 4, end: 9 };
        let merged = merge_in_range([&a, &b].into_iter().map(|s| &s.states), range).unwrap();
        let mut keys: Vec<u32> = merged["v"].keys("v", None, None).unwrap();
        keys.sort_unstable();
        let want: Vec<u32> = (0..50u32)
            .filter(|k| range.contains(KeyHasher::new().key_group(k, 16).unwrap()))
            .collect();
        assert_eq!(keys, want);
        b.insert_state("v", "ValueState<u64>".into(), Vec::new());
        let err = merge_in_range([&a, &b].into_iter().map(|s| &s.states), range).unwrap_err();
        assert!(err.to_string().contains("ValueState<u64>"), "{err}");
    }
}
