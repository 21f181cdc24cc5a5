//! A task's side of checkpoints: the snapshot its chain takes as a barrier passes through, the
//! asynchronous part that writes it, and where the acknowledgement goes.
//!
//! When barrier n reaches a task (injected at a source, or aligned over its input channels),
//! the task calls `snapshot_state` on its chain head with a [`ChainSnapshot`]. Every operator
//! takes the synchronous part of its snapshot, adds it, and passes the call on; network
//! writers send their pending records and then the barrier into every channel. The task hands
//! the collected snapshots to a thread of their own ([`TaskCheckpoints`]), which finishes them
//! (encoding, or scanning a RocksDB checkpoint), writes one file per operator with state into
//! the checkpoint's folder and acknowledges to the coordinator, while the task goes on
//! processing.

use std::sync::Arc;

use parking_lot::Mutex;

use eddy_checkpoint::{
    CheckpointBarrier, CheckpointStorage, FinishedTaskState, SubtaskStateHandle,
    TaskAcknowledgement, TaskId,
};
use eddy_core::FnResult;
use eddy_functions::FunctionSnapshotContext;
use eddy_state::{OperatorStateStore, PendingKeyedSnapshot};

use crate::error::{call_user, TaskError};
use crate::incremental::{shared_references, CheckpointUploader, SharedUploads};
use crate::operators::OperatorStateHandler;
use crate::snapshot::{OperatorSubtaskState, PendingSubtaskState};

/// Where a task's checkpoint reports go (the JobMaster's coordinator).
pub trait CheckpointResponder: Send + Sync {
    /// The task wrote its part of a checkpoint.
    fn acknowledge(&self, ack: TaskAcknowledgement);
    /// The task could not write its part of checkpoint `checkpoint`.
    fn decline(&self, task: TaskId, checkpoint: u64, reason: String);
    /// The task finished; `state` stands for it in later checkpoints.
    fn finished(&self, task: TaskId, state: FinishedTaskState);
}

/// What a task needs to take part in checkpoints.
#[derive(Clone)]
pub struct TaskCheckpointing {
    /// Where state files go.
    pub storage: Arc<CheckpointStorage>,
    /// Where reports go.
    pub responder: Arc<dyn CheckpointResponder>,
    /// Whether the on-disk backend's checkpoints are incremental
    /// (`execution.checkpointing.incremental`).
    pub incremental: bool,
}

impl std::fmt::Debug for TaskCheckpointing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskCheckpointing")
            .field("storage", &self.storage)
            .finish()
    }
}

/// The snapshots of a chain's operators, collected as a barrier passes through it.
pub struct ChainSnapshot {
    barrier: CheckpointBarrier,
    is_final: bool,
    operators: Vec<(String, PendingSubtaskState)>,
}

impl ChainSnapshot {
    /// A snapshot for `barrier`, passed on downstream.
    pub fn new(barrier: CheckpointBarrier) -> Self {
        ChainSnapshot {
            barrier,
            is_final: false,
            operators: Vec::new(),
        }
    }

    /// The final snapshot of a task whose input has ended: no barrier goes downstream.
    pub fn final_state(last_barrier: u64) -> Self {
        ChainSnapshot {
            barrier: CheckpointBarrier {
                id: last_barrier,
                timestamp: 0,
                mode: eddy_checkpoint::CheckpointingMode::ExactlyOnce,
            },
            is_final: true,
            operators: Vec::new(),
        }
    }

    /// The barrier.
    pub fn barrier(&self) -> &CheckpointBarrier {
        &self.barrier
    }

    /// Whether this is a task's final snapshot, which writers do not pass on.
    pub fn is_final(&self) -> bool {
        self.is_final
    }

    /// The operators' snapshots so far, in chain order.
    pub fn operators(&self) -> &[(String, PendingSubtaskState)] {
        &self.operators
    }

    /// Takes an operator's part: its functions (in `logic`) write their operator state
    /// (`write`), then its keyed state is copied (`keyed`). Errors name the operator.
    pub fn take_operator<L>(
        &mut self,
        operator: (&str, &str),
        operator_state: &mut OperatorStateHandler,
        logic: &mut L,
        write: impl FnOnce(&mut L, &FunctionSnapshotContext, &mut OperatorStateStore) -> FnResult<()>,
        keyed: impl FnOnce(&mut L) -> FnResult<Option<PendingKeyedSnapshot>>,
    ) -> Result<(), TaskError> {
        let (operator_id, name) = operator;
        let context = FunctionSnapshotContext::new(self.barrier.id, self.barrier.timestamp);
        let operator = call_user(name, || {
            operator_state.snapshot(&context, |context, store| write(logic, context, store))
        })?;
        let keyed = call_user(name, || keyed(logic))?;
        self.operators.push((
            operator_id.to_string(),
            PendingSubtaskState { keyed, operator },
        ));
        Ok(())
    }

    fn into_operators(self) -> Vec<(String, PendingSubtaskState)> {
        self.operators
    }
}

/// A finished operator state encoded for a state file (`None`: nothing to store).
fn encode(state: OperatorSubtaskState) -> Result<Option<Vec<u8>>, String> {
    if state.keyed.is_none() && state.operator.is_empty() {
        return Ok(None);
    }
    postcard::to_allocvec(&state)
        .map(Some)
        .map_err(|e| format!("cannot encode the state: {e}"))
}

/// Decodes a state file written by a checkpoint.
pub fn decode_subtask_state(bytes: &[u8]) -> Result<OperatorSubtaskState, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("cannot decode a state file: {e}"))
}

/// A task's checkpoint bookkeeping: the last barrier it passed on, and where its snapshots go.
///
/// Dropping it waits for the snapshot threads still writing, so that a task has ended only
/// once nothing more is written on its behalf (the job's checkpoints are cleaned up after its
/// tasks ended).
pub(crate) struct TaskCheckpoints {
    checkpointing: Option<TaskCheckpointing>,
    task: TaskId,
    /// `Name (i/n)`, for messages and thread names.
    name: String,
    last_barrier: u64,
    writers: Vec<std::thread::JoinHandle<()>>,
    /// What the task's on-disk instances stored for incremental checkpoints.
    uploads: Arc<Mutex<SharedUploads>>,
}

impl Drop for TaskCheckpoints {
    fn drop(&mut self) {
        for writer in self.writers.drain(..) {
            let _ = writer.join();
        }
    }
}

impl TaskCheckpoints {
    pub(crate) fn new(checkpointing: Option<TaskCheckpointing>, task: TaskId, name: &str) -> Self {
        TaskCheckpoints {
            checkpointing,
            task,
            name: name.to_string(),
            last_barrier: 0,
            writers: Vec::new(),
            uploads: Arc::default(),
        }
    }

    /// Checkpoint `id` completed or was aborted: what it stored may be reused or not.
    pub(crate) fn notify(&self, id: u64, completed: bool) {
        self.uploads.lock().notify(id, completed);
    }

    /// Takes the chain's snapshot for `barrier` (`take` walks the chain), then writes it on a
    /// thread of its own and acknowledges.
    pub(crate) fn checkpoint(
        &mut self,
        barrier: CheckpointBarrier,
        take: impl FnOnce(&mut ChainSnapshot) -> Result<(), TaskError>,
    ) -> Result<(), TaskError> {
        let Some(checkpointing) = self.checkpointing.clone() else {
            return Ok(());
        };
        if barrier.id <= self.last_barrier {
            return Ok(());
        }
        self.last_barrier = barrier.id;
        let mut snapshot = ChainSnapshot::new(barrier);
        let started = std::time::Instant::now();
        take(&mut snapshot)?;
        let sync_duration = started.elapsed();
        let (task, name, id) = (self.task, self.name.clone(), barrier.id);
        let responder = checkpointing.responder.clone();
        let uploads = self.uploads.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{name} checkpoint {id}"))
            .spawn(move || {
                let storage = &checkpointing.storage;
                // Savepoints are always full and self-contained.
                let incremental =
                    (checkpointing.incremental && !storage.is_savepoint(id)).then_some(&uploads);
                let written = write_states(storage, id, task.1, snapshot, incremental);
                match written {
                    Ok(states) => responder.acknowledge(TaskAcknowledgement {
                        task,
                        checkpoint_id: id,
                        states,
                        sync_duration,
                    }),
                    Err(reason) => responder.decline(task, id, format!("{name}: {reason}")),
                }
            });
        match spawned {
            Ok(writer) => {
                self.writers.retain(|w| !w.is_finished());
                self.writers.push(writer);
            }
            Err(e) => checkpointing.responder.decline(
                task,
                id,
                format!("{}: cannot start a snapshot thread: {e}", self.name),
            ),
        }
        Ok(())
    }

    /// Whether the job takes checkpoints.
    pub(crate) fn enabled(&self) -> bool {
        self.checkpointing.is_some()
    }

    /// The last barrier the task passed on (0: none).
    pub(crate) fn last_barrier(&self) -> u64 {
        self.last_barrier
    }

    /// The subtask had finished before the checkpoint it restores from: it reports the final
    /// state it had then (per operator: id and encoded state) and runs no code.
    pub(crate) fn report_finished(&self, states: Vec<(String, Vec<u8>)>) {
        if let Some(checkpointing) = &self.checkpointing {
            checkpointing.responder.finished(
                self.task,
                FinishedTaskState {
                    last_barrier: 0,
                    states,
                },
            );
        }
    }

    /// The task's input ended: takes its final snapshot and reports it, so that later
    /// checkpoints use it. `false` when the job does not checkpoint.
    pub(crate) fn finish(
        &mut self,
        take: impl FnOnce(&mut ChainSnapshot) -> Result<(), TaskError>,
    ) -> Result<bool, TaskError> {
        let Some(checkpointing) = &self.checkpointing else {
            return Ok(false);
        };
        let mut snapshot = ChainSnapshot::final_state(self.last_barrier);
        take(&mut snapshot)?;
        let mut states = Vec::new();
        for (operator_id, pending) in snapshot.into_operators() {
            let bytes = pending
                .finish()
                .map_err(|e| format!("cannot finish the final snapshot: {e}"))
                .and_then(encode)
                .map_err(|message| TaskError::Record {
                    operator: self.name.clone(),
                    message,
                })?;
            states.push((operator_id, bytes.unwrap_or_default()));
        }
        checkpointing.responder.finished(
            self.task,
            FinishedTaskState {
                last_barrier: self.last_barrier,
                states,
            },
        );
        Ok(true)
    }
}

/// The asynchronous part: finishes every operator's snapshot and writes the non-empty ones.
/// With `incremental`, on-disk backends store the files of their checkpoints instead of rows,
/// reusing what earlier checkpoints stored.
fn write_states(
    storage: &CheckpointStorage,
    id: u64,
    subtask: u32,
    snapshot: ChainSnapshot,
    incremental: Option<&Arc<Mutex<SharedUploads>>>,
) -> Result<Vec<(String, SubtaskStateHandle)>, String> {
    let mut states = Vec::new();
    for (operator_id, pending) in snapshot.into_operators() {
        let prefix = format!("{operator_id}-{subtask}");
        let finished = match incremental {
            Some(uploads) => pending.finish_with(Some(&mut CheckpointUploader {
                storage,
                uploads,
                checkpoint_id: id,
                prefix: prefix.clone(),
            })),
            None => pending.finish(),
        }
        .map_err(|e| e.to_string())?;
        let (shared, native_bytes) = finished
            .keyed
            .as_ref()
            .and_then(|keyed| keyed.native())
            .map(|native| shared_references(&native.files))
            .unwrap_or_default();
        let mut handle = match encode(finished)? {
            None => SubtaskStateHandle::empty(),
            Some(bytes) => storage
                .write_state(id, &prefix, bytes)
                .map_err(|e| e.to_string())?,
        };
        handle.size += native_bytes;
        handle.shared = shared;
        states.push((operator_id, handle));
    }
    Ok(states)
}
