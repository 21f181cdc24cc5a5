//! A keyed-state snapshot in two parts: the short synchronous part, taken on the task's
//! thread while the operator holds still (a copy of the heap's typed entries, a point-in-time
//! view of the store), and the asynchronous part, which encodes and collects the rows and may
//! run on another thread while records keep flowing (Flink's `SnapshotStrategy`:
//! `syncPrepareResources`, then `asyncSnapshot`).

use super::snapshot::KeyedStateSnapshot;
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
}

impl PendingKeyedSnapshot {
    /// A snapshot with nothing left to do asynchronously.
    pub fn ready(snapshot: KeyedStateSnapshot) -> Self {
        PendingKeyedSnapshot {
            snapshot,
            deferred: Vec::new(),
            renames: Vec::new(),
        }
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
        if other.deferred.is_empty() && other.renames.is_empty() {
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

    /// Runs the asynchronous part: encodes and collects the deferred states.
    pub fn finish(self) -> FnResult<KeyedStateSnapshot> {
        let mut snapshot = self.snapshot;
        for part in self.deferred {
            part(&mut snapshot)?;
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
            .finish()
    }
}
