//! The contexts of the checkpointed-function hooks every function trait has
//! (`initialize_state` and `snapshot_state`, Flink's `CheckpointedFunction`).
//!
//! The [`OperatorStateStore`] belongs to the operator, not to the function: the function gets
//! it in `initialize_state` (through [`FunctionInitializationContext`]) and again in
//! `snapshot_state`. In between it works on its own fields, keeping only the descriptors:
//!
//! ```ignore
//! fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
//!     // Empty unless restored; after a rescale, this subtask's share.
//!     self.buffer = ctx.operator_state_store().list_state(&self.descriptor)?.get()?;
//!     Ok(())
//! }
//!
//! fn snapshot_state(
//!     &mut self,
//!     _ctx: &FunctionSnapshotContext,
//!     store: &mut OperatorStateStore,
//! ) -> FnResult<()> {
//!     store.list_state(&self.descriptor)?.update(self.buffer.clone())
//! }
//! ```

use super::RuntimeContext;
use crate::OperatorStateStore;

/// What a function gets in `initialize_state`: whether its operator was restored, the
/// operator's [`OperatorStateStore`], and where it runs.
pub struct FunctionInitializationContext<'a> {
    restored: bool,
    store: &'a mut OperatorStateStore,
    runtime: &'a RuntimeContext,
}

impl<'a> FunctionInitializationContext<'a> {
    /// The context of a subtask whose operator state is `store` (for operator
    /// implementations); `restored` says whether the store was restored from a snapshot.
    pub fn new(
        restored: bool,
        store: &'a mut OperatorStateStore,
        runtime: &'a RuntimeContext,
    ) -> Self {
        FunctionInitializationContext {
            restored,
            store,
            runtime,
        }
    }

    /// Whether the operator's state was restored from a snapshot (a checkpoint or savepoint,
    /// possibly of another parallelism). `false` on a fresh start: the store is empty.
    pub fn is_restored(&self) -> bool {
        self.restored
    }

    /// The operator's operator state: register lists here (and read what was restored).
    pub fn operator_state_store(&mut self) -> &mut OperatorStateStore {
        self.store
    }

    /// Where this function runs (subtask index, parallelism, …).
    pub fn runtime_context(&self) -> &RuntimeContext {
        self.runtime
    }
}

/// What a function gets in `snapshot_state`: which checkpoint is being taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSnapshotContext {
    checkpoint_id: u64,
    checkpoint_timestamp: i64,
}

impl FunctionSnapshotContext {
    /// The context of checkpoint `checkpoint_id`, triggered at `checkpoint_timestamp` (ms since
    /// the epoch).
    pub fn new(checkpoint_id: u64, checkpoint_timestamp: i64) -> Self {
        FunctionSnapshotContext {
            checkpoint_id,
            checkpoint_timestamp,
        }
    }

    /// The checkpoint's id (increasing within a job).
    pub fn checkpoint_id(&self) -> u64 {
        self.checkpoint_id
    }

    /// When the checkpoint was triggered, in ms since the epoch.
    pub fn checkpoint_timestamp(&self) -> i64 {
        self.checkpoint_timestamp
    }
}
