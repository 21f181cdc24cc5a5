//! Job states, results and per-job settings.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use eddy_checkpoint::{CheckpointConfig, CheckpointStats, StorageOptions};
use eddy_core::ids::JobId;
use eddy_runtime::factory::TaskSettings;

use crate::restart::{FailoverStrategy, RestartStrategy};

/// A job's lifecycle state, as in Flink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    /// Accepted, waiting for slots.
    Created,
    /// Subtasks deployed and running.
    Running,
    /// Every subtask finished.
    Finished,
    /// A subtask failed; the others are being cancelled.
    Failing,
    /// The job failed.
    Failed,
    /// Cancellation requested; subtasks are stopping.
    Cancelling,
    /// The job was cancelled.
    Canceled,
}

impl JobStatus {
    /// Whether the job will not change state any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Finished | JobStatus::Failed | JobStatus::Canceled
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobStatus::Created => "CREATED",
            JobStatus::Running => "RUNNING",
            JobStatus::Finished => "FINISHED",
            JobStatus::Failing => "FAILING",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelling => "CANCELLING",
            JobStatus::Canceled => "CANCELED",
        })
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    /// The job.
    pub job_id: JobId,
    /// Its name.
    pub job_name: String,
    /// FINISHED, FAILED or CANCELED.
    pub status: JobStatus,
    /// From submission to the terminal state.
    pub runtime: Duration,
    /// The root cause, for failed jobs: names the operator and subtask.
    pub failure: Option<String>,
    /// The job's checkpoints, when it took any.
    pub checkpoints: Option<CheckpointStats>,
    /// Per restart: from the failure to the restarted subtasks' deployment.
    pub recoveries: Vec<Duration>,
    /// The savepoint the job was stopped with (`stop_with_savepoint`), if it was.
    pub stopped_with_savepoint: Option<String>,
}

/// Settings of one job run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobConfig {
    /// What every subtask gets.
    pub task_settings: TaskSettings,
    /// How long to wait for slots (`slot.request.timeout`).
    pub slot_request_timeout: Duration,
    /// How long to wait for cancelled subtasks to stop before giving up on them.
    pub cancellation_timeout: Duration,
    /// Checkpointing settings (`None`: no checkpoints).
    pub checkpointing: Option<CheckpointConfig>,
    /// Whether and when the job restarts after a failure.
    pub restart_strategy: RestartStrategy,
    /// Which subtasks a failure restarts.
    pub failover_strategy: FailoverStrategy,
    /// The checkpoint to start from (`eddy run -s`, `execution.state-recovery.path`).
    pub restore_path: Option<String>,
    /// Whether state of operators the job no longer has may be skipped when it starts from
    /// `restore_path` (`eddy run -n`, `execution.state-recovery.ignore-unclaimed-state`).
    pub allow_non_restored_state: bool,
    /// Where savepoints go when their trigger names no folder (`state.savepoints.dir`).
    pub savepoint_directory: Option<String>,
    /// How checkpoint and savepoint folders in object stores are reached (`s3.*`).
    pub storage: StorageOptions,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            task_settings: TaskSettings::default(),
            slot_request_timeout: Duration::from_secs(300),
            cancellation_timeout: Duration::from_secs(180),
            checkpointing: None,
            restart_strategy: RestartStrategy::None,
            failover_strategy: FailoverStrategy::Region,
            restore_path: None,
            allow_non_restored_state: false,
            savepoint_directory: None,
            storage: StorageOptions::default(),
        }
    }
}
