//! Eddy's checkpoints.
//!
//! * [`barrier`]: the barriers that travel in-band with the records and cut every stream at
//!   the same logical point;
//! * [`config`]: the `execution.checkpointing.*` options;
//! * [`coordinator`]: the checkpoint coordinator a JobMaster runs: it triggers checkpoints at
//!   the sources, collects the subtasks' acknowledgements, completes checkpoints by writing
//!   their metadata last, aborts those that time out, and keeps the retained ones;
//! * [`storage`] and [`metadata`]: checkpoint folders (`<dir>/<job-id>/chk-<n>/`) written
//!   through `object_store` (locally or in S3, with the `s3.*` options of
//!   [`storage::options`]), and the `_metadata` file that names every operator's state.

pub mod barrier;
pub mod config;
pub mod coordinator;
pub mod error;
pub mod metadata;
mod shared_registry;
pub mod storage;
#[cfg(feature = "s3")]
pub mod testing;

pub use barrier::{CheckpointBarrier, CheckpointingMode};
pub use config::{CheckpointConfig, CheckpointRetention};
pub use coordinator::{
    CheckpointCoordinator, CheckpointPlan, CheckpointStats, CompletedCheckpoint, CoordinatorError,
    FailedCheckpoint, FinishedTaskState, JobEnd, RestoredCheckpoint, TaskAcknowledgement, TaskId,
    TimerOutcome, Trigger,
};
pub use error::CheckpointError;
pub use metadata::{
    CheckpointMetadata, OperatorCheckpointState, SharedFileRef, SubtaskStateHandle,
};
pub use storage::{CheckpointReader, CheckpointStorage, S3Options, StorageOptions};
