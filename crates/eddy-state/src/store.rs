//! The interface of an ordered, byte-keyed store that holds keyed state on disk (the
//! `rocksdb` backend implements it in the `eddy-state` crate).
//!
//! The keyed-state handles serialize keys, namespaces and values (see [`super::layout`]) and
//! talk to the store in bytes, so a store knows nothing about Rust types. Each state has a
//! keyspace of its own (a column family in RocksDB); rows in a keyspace are ordered by their
//! bytes, which start with the key group, so a key-group range is one scan.

use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use super::layout::{stamp_of, walk_stamped_list};
use super::ttl::{expired, TtlClock};

/// How the values of a state with a time-to-live are stored, so a store can drop expired
/// rows itself (RocksDB's compaction filter).
#[derive(Clone)]
pub struct TtlRows {
    /// The time-to-live in milliseconds.
    pub ttl_millis: i64,
    /// How the last-access timestamps sit in a row's value.
    pub layout: TtlRowLayout,
    /// The clock expiry is judged by.
    pub clock: TtlClock,
    /// Drop expired rows during compaction, re-reading the clock after this many rows
    /// (`None`: leave them to be dropped when read).
    pub compaction_filter_query_time_after: Option<u64>,
}

/// Where the last-access timestamps are in a row's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlRowLayout {
    /// `[last access: i64 BE][value]` (values, map entries, reducing and aggregating state).
    Value,
    /// A list of `[last access: i64 BE][length: u32 BE][element]`.
    List,
}

impl TtlRows {
    /// Whether everything in the row value `value` expired at `now` (so the row can go). A
    /// list with some live elements stays: reads drop its expired elements.
    pub fn all_expired(&self, value: &[u8], now: i64) -> bool {
        match self.layout {
            TtlRowLayout::Value => {
                stamp_of(value).is_some_and(|stamp| expired(stamp, self.ttl_millis, now))
            }
            TtlRowLayout::List => {
                let mut all = true;
                let well_formed = walk_stamped_list(value, |stamp, _| {
                    all &= expired(stamp, self.ttl_millis, now);
                });
                well_formed && all
            }
        }
    }

    /// Removes from `rows` what had expired at `now`: rows whose every value expired, and the
    /// expired elements of lists (a full snapshot with `cleanup_full_snapshot`).
    pub fn drop_expired(&self, rows: &mut Vec<(Vec<u8>, Vec<u8>)>, now: i64) {
        rows.retain_mut(|(_, value)| {
            if self.all_expired(value, now) {
                return false;
            }
            if self.layout == TtlRowLayout::List {
                let mut live = Vec::with_capacity(value.len());
                self.append_live_elements(value, now, &mut live);
                *value = live;
            }
            true
        });
    }

    /// Appends to `out` the elements of the list row value `value` that had not expired at
    /// `now` (all of `value` if it is not a well-formed list, so nothing is lost to a
    /// misreading): how a store merging list appends drops expired elements.
    pub fn append_live_elements(&self, value: &[u8], now: i64, out: &mut Vec<u8>) {
        let start = out.len();
        let well_formed = walk_stamped_list(value, |stamp, element| {
            if !expired(stamp, self.ttl_millis, now) {
                out.extend_from_slice(&stamp.to_be_bytes());
                out.extend_from_slice(&(element.len() as u32).to_be_bytes());
                out.extend_from_slice(element);
            }
        });
        if !well_formed {
            out.truncate(start);
            out.extend_from_slice(value);
        }
    }
}

/// A state's keyspace in a store, as handed out by [`OrderedStateStore::register_state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreStateId(pub u32);

/// A failure of the store underneath the keyed state (I/O, corruption, a full disk).
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store failed.
    #[error("the {backend} state backend failed: {message}")]
    Store {
        /// The backend's name (e.g. `rocksdb`).
        backend: &'static str,
        /// What the store reported.
        message: String,
    },
    /// A stored value did not decode as the type the state declares.
    #[error("state '{state}' holds a value that does not decode as {expected}: {message}")]
    Decode {
        /// The state's name.
        state: String,
        /// The declared type.
        expected: &'static str,
        /// What the decoder reported.
        message: String,
    },
    /// The store was reached again while already in use on the same task: an internal error
    /// of the operator, reported instead of deadlocking.
    #[error(
        "the {what} reached the state store while it was already in use (re-entrant access; \
         an internal error of the operator)"
    )]
    InUse {
        /// What tried to use the store.
        what: &'static str,
    },
    /// A value could not be encoded.
    #[error("a value of state '{state}' could not be encoded: {message}")]
    Encode {
        /// The state's name.
        state: String,
        /// What the encoder reported.
        message: String,
    },
}

/// What [`OrderedStateStore::scan`] does after visiting a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanControl {
    /// Visit the next row.
    Continue,
    /// Stop scanning.
    Stop,
}

/// What [`OrderedStateStore::scan`] calls with each row's key and value.
pub type RowVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<ScanControl, StateError> + 'a;

/// An ordered store of byte rows, one keyspace per state. One store belongs to one operator
/// subtask, which uses it from one thread.
pub trait OrderedStateStore: Send {
    /// The backend's name for messages (e.g. `rocksdb`).
    fn backend_name(&self) -> &'static str;

    /// Opens the keyspace of state `name`, creating it if needed. `ttl` describes the
    /// time-to-live of a state that has one, for stores that drop expired rows themselves.
    fn register_state(
        &mut self,
        name: &str,
        ttl: Option<&TtlRows>,
    ) -> Result<StoreStateId, StateError>;

    /// Reads the row `key` into `value` (cleared first); `false` if there is none.
    fn get(&self, state: StoreStateId, key: &[u8], value: &mut Vec<u8>)
        -> Result<bool, StateError>;

    /// Writes the row `key`.
    fn put(&mut self, state: StoreStateId, key: &[u8], value: &[u8]) -> Result<(), StateError>;

    /// Appends `value` to the bytes of row `key` (a missing row counts as empty): list state
    /// adds elements without reading the list.
    fn append(&mut self, state: StoreStateId, key: &[u8], value: &[u8]) -> Result<(), StateError>;

    /// Deletes the row `key`, if any.
    fn delete(&mut self, state: StoreStateId, key: &[u8]) -> Result<(), StateError>;

    /// Visits the rows with `from <= key < to` (`to: None`: to the end) in key order.
    fn scan(
        &self,
        state: StoreStateId,
        from: &[u8],
        to: Option<&[u8]>,
        visit: &mut RowVisitor<'_>,
    ) -> Result<(), StateError>;

    /// Deletes the rows with `from <= key < to`.
    fn delete_range(
        &mut self,
        state: StoreStateId,
        from: &[u8],
        to: &[u8],
    ) -> Result<(), StateError>;

    /// A point-in-time view of every keyspace, for the synchronous part of a snapshot: the
    /// view keeps showing the rows as they are now while the store goes on changing, and can
    /// be read on another thread.
    fn snapshot_view(&mut self) -> Result<Box<dyn StoreSnapshotView>, StateError>;
}

/// The rows of a store at one moment (see [`OrderedStateStore::snapshot_view`]), read in the
/// asynchronous part of a snapshot.
pub trait StoreSnapshotView: Send {
    /// Visits every row of `state` in key order.
    fn scan(&mut self, state: StoreStateId, visit: &mut RowVisitor<'_>) -> Result<(), StateError>;

    /// The files of the view, when it is a checkpoint of an on-disk instance that an
    /// incremental snapshot can store instead of rows.
    fn native_files(&self) -> Option<crate::NativeFiles> {
        None
    }

    /// The backend that made the view (named in native snapshots).
    fn backend_name(&self) -> &'static str {
        "memory"
    }
}

/// The store of one operator subtask, shared by its keyed state and its timers (which keep
/// their queues in the same store, as Flink's RocksDB backend does). Only the subtask's own
/// thread uses it; the lock exists because two owners hold it, and it is never contended.
#[derive(Clone)]
pub struct SharedStore(Arc<Mutex<Box<dyn OrderedStateStore>>>);

impl SharedStore {
    /// Shares `store`.
    pub fn new(store: Box<dyn OrderedStateStore>) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// The store, for `what` (named in the error if the store is already in use).
    pub fn lock(
        &self,
        what: &'static str,
    ) -> Result<MutexGuard<'_, Box<dyn OrderedStateStore>>, StateError> {
        self.0.try_lock().ok_or(StateError::InUse { what })
    }
}
