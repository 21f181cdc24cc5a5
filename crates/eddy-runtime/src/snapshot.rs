//! The state of an operator subtask at a snapshot, and how the states of the old subtasks are
//! handed to the new ones when a job restores at another parallelism.
//!
//! Keyed state and timers travel as [`KeyedStateSnapshot`]s (backend-independent rows by key
//! group): every new subtask receives all of the old snapshots and keeps the key groups of its
//! own range while restoring. Operator state is redistributed by [`redistribute`] (lists split
//! among the new subtasks, union lists given to each in full).

use std::sync::Arc;

use eddy_core::{FnResult, Key};
use eddy_functions::RuntimeContext;
use eddy_state::time::{InternalTimerService, TimerNamespace};
use eddy_state::{
    redistribute, KeyedStateBackend, KeyedStateSnapshot, NativeFileUploader, OperatorStateSnapshot,
    PendingKeyedSnapshot, RedistributionError,
};
use serde::{Deserialize, Serialize};

/// What one operator subtask held at a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSubtaskState {
    /// Keyed state and timers (`None`: the operator keeps none).
    pub keyed: Option<KeyedStateSnapshot>,
    /// Operator state (per-subtask lists of the functions, source positions).
    pub operator: OperatorStateSnapshot,
}

/// What one operator subtask held at a snapshot, with the synchronous part taken: the operator
/// state is written, the keyed state copied or viewed. [`finish`](Self::finish) runs the
/// asynchronous part (on any thread: the subtask goes on processing meanwhile).
#[derive(Debug)]
pub struct PendingSubtaskState {
    /// Keyed state and timers, still to be finished.
    pub keyed: Option<PendingKeyedSnapshot>,
    /// Operator state.
    pub operator: OperatorStateSnapshot,
}

impl PendingSubtaskState {
    /// Runs the asynchronous part (a full snapshot).
    pub fn finish(self) -> FnResult<OperatorSubtaskState> {
        self.finish_with(None)
    }

    /// Runs the asynchronous part; with an `uploader`, an on-disk backend's states are kept
    /// as the files of its checkpoint, stored by the uploader (an incremental snapshot).
    pub fn finish_with(
        self,
        uploader: Option<&mut dyn NativeFileUploader>,
    ) -> FnResult<OperatorSubtaskState> {
        Ok(OperatorSubtaskState {
            keyed: self.keyed.map(|k| k.finish_with(uploader)).transpose()?,
            operator: self.operator,
        })
    }
}

/// What one subtask of a restored operator starts from.
#[derive(Debug, Clone, Default)]
pub struct RestoredOperatorState {
    /// The keyed-state snapshots of every old subtask; the new subtask keeps the key groups
    /// of its range.
    pub keyed: Arc<Vec<KeyedStateSnapshot>>,
    /// This subtask's share of the redistributed operator state (`None`: start fresh).
    pub operator: Option<OperatorStateSnapshot>,
}

impl RestoredOperatorState {
    /// The states the `new_parallelism` subtasks of an operator restore from the states of
    /// its old subtasks (`old[i]` is subtask `i`'s), in subtask order.
    pub fn rescale(
        old: &[OperatorSubtaskState],
        new_parallelism: u32,
    ) -> Result<Vec<RestoredOperatorState>, RedistributionError> {
        let keyed: Arc<Vec<KeyedStateSnapshot>> =
            Arc::new(old.iter().filter_map(|s| s.keyed.clone()).collect());
        let operator_states: Vec<OperatorStateSnapshot> =
            old.iter().map(|s| s.operator.clone()).collect();
        let shares = redistribute(&operator_states, new_parallelism)?;
        Ok(shares
            .into_iter()
            .map(|share| RestoredOperatorState {
                keyed: keyed.clone(),
                operator: Some(share),
            })
            .collect())
    }
}

/// The keyed state and the timers of a keyed operator subtask, in one snapshot.
/// The synchronous part copies the state (see [`KeyedStateBackend::snapshot_pending`]) and
/// writes the timers.
pub(crate) fn snapshot_keyed<K: Key, N: TimerNamespace>(
    state: &mut KeyedStateBackend<K>,
    timers: Option<&InternalTimerService<K, N>>,
    ctx: &RuntimeContext,
) -> FnResult<PendingKeyedSnapshot> {
    let mut snapshot = state.snapshot_pending(ctx.max_parallelism)?;
    if let Some(timers) = timers {
        timers.snapshot_into(snapshot.written())?;
    }
    Ok(snapshot)
}

/// Restores the keyed state and the timers of this subtask's key groups (after the backend
/// and the timer service have opened).
pub(crate) fn restore_keyed<K: Key, N: TimerNamespace>(
    snapshots: &[KeyedStateSnapshot],
    state: &mut KeyedStateBackend<K>,
    timers: Option<&mut InternalTimerService<K, N>>,
    ctx: &RuntimeContext,
) -> FnResult<()> {
    let range = ctx.key_group_range();
    state.restore(snapshots, range, ctx.max_parallelism)?;
    if let Some(timers) = timers {
        timers.restore(snapshots, range)?;
    }
    Ok(())
}

/// The error of an operator without keyed state asked to restore some.
pub(crate) fn refuse_keyed_state(snapshots: &[KeyedStateSnapshot]) -> FnResult<()> {
    if snapshots.iter().all(|s| s.row_count() == 0) {
        return Ok(());
    }
    Err(
        "the operator keeps no keyed state, but the snapshot it restores from has some; \
         was the job changed so that another operator now has this one's place?"
            .into(),
    )
}
