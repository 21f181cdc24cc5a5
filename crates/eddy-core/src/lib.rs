//! Eddy's shared vocabulary.
//!
//! Everything every other layer speaks: stream records and watermarks, the [`Data`] and [`Key`]
//! bounds, key groups, configuration with Flink's key names, identifiers, and the user-function
//! traits (`MapFunction`, `SourceFunction`, …) that jobs implement and operators call.

/// Generates the checkpointed-function hooks (`initialize_state`, `snapshot_state`) with
/// empty defaults: Flink's `CheckpointedFunction`, available to every function.
macro_rules! checkpointed {
    () => {
        /// Called once per subtask before `open`, when the operator's state is set up:
        /// register operator state in `ctx.operator_state_store()` and, when
        /// `ctx.is_restored()`, read back this subtask's share of what `snapshot_state` wrote
        /// before. The store stays with the operator; keep the descriptors (and copies of what
        /// you need) in the function.
        fn initialize_state(
            &mut self,
            _ctx: &mut $crate::functions::FunctionInitializationContext<'_>,
        ) -> $crate::FnResult<()> {
            Ok(())
        }
        /// Called when a checkpoint snapshots the operator: write everything this function
        /// needs to resume into `store` (e.g. `store.list_state(&d)?.update(buffer)`); the
        /// store's contents then go into the snapshot. Checkpoints arrive in M1.4.
        fn snapshot_state(
            &mut self,
            _ctx: &$crate::functions::FunctionSnapshotContext,
            _store: &mut $crate::state::OperatorStateStore,
        ) -> $crate::FnResult<()> {
            Ok(())
        }
    };
}

/// Generates `open`/`close` lifecycle methods with empty defaults, and the `checkpointed!()`
/// hooks.
macro_rules! lifecycle {
    () => {
        checkpointed!();
        /// Called once per subtask before the first element.
        fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
            Ok(())
        }
        /// Called once per subtask after the last element (or on cancellation).
        fn close(&mut self) -> FnResult<()> {
            Ok(())
        }
    };
}

pub mod batch;
pub mod config;
pub mod data;
pub mod error;
pub mod functions;
pub mod ids;
pub mod keygroup;
pub mod keyhash;
pub mod record;
pub mod state;
pub mod time;
pub mod windowing;

pub use batch::Batch;
pub use data::{Data, Key};
pub use error::{FnResult, FunctionError};
pub use record::{StreamRecord, Watermark, NO_TIMESTAMP};
