//! A keyed-state snapshot in two parts: the short synchronous part, taken on the task's
//! thread while the operator holds still (a copy of the heap's typed entries, a point-in-time
//! view of the store), and the asynchronous part, which encodes and collects the rows and may
//! run on another thread while records keep flowing (Flink's `SnapshotStrategy`:
//! `syncPrepareResources`, then `asyncSnapshot`).

use super::native_snapshot::{NativeFileUploader, NativeState, NativeStateHandle};
use super::snapshot::KeyedStateSnapshot;
use super::store::{ScanControl, StoreSnapshotView, StoreStateId, TtlRows};
use eddy_core::error::FnResult;

/// Work of the asynchronous part: puts states into the snapshot.
type DeferredPart = Box<dyn FnOnce(&mut KeyedStateSnapshot) -> FnResult<()> + Send>;

/// A snapshot whose synchronous part has been taken. [`finish`](Self::finish) runs the
/// asynchronous part and returns the [`KeyedStateSnapshot`]; the operator may change its state
/// in between without changing what the snapshot holds.
#[must_use = "a pending snapshot holds nothing until it is finished"]
pub struct PendingKeyedSnapshot {
    /// The parts written in the synchronous part (metadata, timers, restored rows).
    snapshot: KeyedStateSnapshot,
    /// The parts still to write, in order.
    deferred: Vec<DeferredPart>,
    /// States to rename once every part is written, in order.
    renames: Vec<(String, String)>,
    /// A point-in-time view of the store's states, read first.
    store: Option<StorePart>,
}

/// One registered state of a store: name, description, id, and the time-to-live whose
/// expired rows a full snapshot leaves out.
pub(crate) type StoreState = (String, String, StoreStateId, Option<TtlRows>);

/// The store's part of a snapshot: a view of it, its states, and the time that decides which
/// rows have expired.
pub(crate) struct StorePart {
    pub(crate) view: Box<dyn StoreSnapshotView>,
    pub(crate) states: Vec<StoreState>,
    pub(crate) now: i64,
}

impl StorePart {
    /// Every state's rows, expired ones left out (a full snapshot).
    fn scan_into(mut self, snapshot: &mut KeyedStateSnapshot) -> FnResult<()> {
        for (name, description, id, ttl) in self.states {
            let mut rows = Vec::new();
            self.view.scan(id, &mut |row, value| {
                rows.push((row.to_vec(), value.to_vec()));
                Ok(ScanControl::Continue)
            })?;
            if let Some(ttl) = ttl {
                ttl.drop_expired(&mut rows, self.now);
            }
            snapshot.insert_state(&name, description, rows);
        }
        Ok(())
    }

    /// The view's files, stored by `uploader`, standing for the states (an incremental
    /// snapshot); `None` when the store has no files to offer (then rows are read).
    fn upload(&self, uploader: &mut dyn NativeFileUploader) -> FnResult<Option<NativeStateHandle>> {
        let Some(files) = self.view.native_files() else {
            return Ok(None);
        };
        let stored = uploader.upload(&files)?;
        let mut states = Vec::with_capacity(self.states.len());
        for (name, description, id, _) in &self.states {
            let family = files
                .families
                .get(id.0 as usize)
                .ok_or_else(|| format!("state '{name}' has no column family in the checkpoint"))?;
            states.push(NativeState {
                name: name.clone(),
                description: description.clone(),
                family: family.clone(),
            });
        }
        Ok(Some(NativeStateHandle {
            backend: self.view.backend_name().to_string(),
            files: stored,
            states,
        }))
    }
}

impl PendingKeyedSnapshot {
    /// A snapshot with nothing left to do asynchronously.
    pub fn ready(snapshot: KeyedStateSnapshot) -> Self {
        PendingKeyedSnapshot {
            snapshot,
            deferred: Vec::new(),
            renames: Vec::new(),
            store: None,
        }
    }

    /// Reads the store's states from `part` first when finished.
    pub(crate) fn set_store_part(&mut self, part: StorePart) {
        self.store = Some(part);
    }

    /// The part written synchronously, to add to (timers, the watermark).
    pub fn written(&mut self) -> &mut KeyedStateSnapshot {
        &mut self.snapshot
    }

    /// Defers `part` to the asynchronous part. It must own everything it writes (a copy, or a
    /// point-in-time view): the operator goes on changing its state meanwhile.
    pub fn defer(
        &mut self,
        part: impl FnOnce(&mut KeyedStateSnapshot) -> FnResult<()> + Send + 'static,
    ) {
        self.deferred.push(Box::new(part));
    }

    /// Adds every state of `other` once both are finished, replacing states of the same name
    /// (an operator's own typed structures written beside its keyed state).
    pub fn insert_states_from(&mut self, other: PendingKeyedSnapshot) {
        if other.deferred.is_empty() && other.renames.is_empty() && other.store.is_none() {
            self.snapshot.insert_states_from(other.snapshot);
            return;
        }
        self.defer(move |snapshot| {
            snapshot.insert_states_from(other.finish()?);
            Ok(())
        });
    }

    /// Renames state `from` to `to` once every part is written.
    pub fn rename_state(&mut self, from: &str, to: &str) {
        self.renames.push((from.to_owned(), to.to_owned()));
    }

    /// Runs the asynchronous part: encodes and collects the deferred states (a full
    /// snapshot, in rows).
    pub fn finish(self) -> FnResult<KeyedStateSnapshot> {
        self.finish_with(None)
    }

    /// [`finish`](Self::finish), but with an `uploader` the store's states are kept as the
    /// files of its checkpoint, stored by the uploader (an incremental snapshot), when the
    /// store has files to offer (RocksDB).
    pub fn finish_with(
        self,
        uploader: Option<&mut dyn NativeFileUploader>,
    ) -> FnResult<KeyedStateSnapshot> {
        let mut snapshot = self.snapshot;
        if let Some(store) = self.store {
            let native = match uploader {
                Some(uploader) => store.upload(uploader)?,
                None => None,
            };
            match native {
                Some(handle) => snapshot.set_native(handle),
                None => store.scan_into(&mut snapshot)?,
            }
        }
        for part in self.deferred {
            part(&mut snapshot)?;
        }
        // A state written by a later part replaces the store's state of that name.
        if let Some(mut native) = snapshot.take_native() {
            native
                .states
                .retain(|s| !snapshot.states().contains_key(&s.name));
            snapshot.set_native(native);
        }
        for (from, to) in &self.renames {
            snapshot.rename_state(from, to);
        }
        Ok(snapshot)
    }
}

impl std::fmt::Debug for PendingKeyedSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingKeyedSnapshot")
            .field("written", &self.snapshot)
            .field("deferred_parts", &self.deferred.len())
            .field("renames", &self.renames)
            .field("store", &self.store.is_some())
            .finish()
    }
}
