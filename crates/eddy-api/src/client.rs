//! Watching and controlling a submitted job.

use std::sync::Arc;
use std::time::Duration;

use eddy_checkpoint::CheckpointStats;

use eddy_cluster::{DispatcherGateway, JobStatus, MiniCluster};
use eddy_core::ids::JobId;
use eddy_web::RestServer;

use crate::error::JobError;

/// A job that finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobExecutionResult {
    /// The job.
    pub job_id: JobId,
    /// Its runtime, from submission to the end.
    pub net_runtime: Duration,
    /// Its checkpoints, when it took any.
    pub checkpoints: Option<CheckpointStats>,
    /// Per restart after a failure: from the failure to the restarted subtasks' deployment.
    pub recoveries: Vec<Duration>,
    /// The savepoint the job was stopped with (`stop_with_savepoint`, `eddy stop`), if it
    /// was: the job finished early, and resumes from there.
    pub stopped_with_savepoint: Option<String>,
}

/// The embedded cluster a job runs on, with its REST endpoint if one was asked for.
pub(crate) struct EmbeddedCluster {
    // Dropped first: the REST endpoint stops before the cluster it serves.
    pub(crate) rest: Option<RestServer>,
    // Held, never read: the cluster runs until the last client lets go of it.
    pub(crate) _cluster: MiniCluster,
}

/// A handle on a submitted job (`execute_async`).
#[derive(Clone)]
pub struct JobClient {
    job_id: JobId,
    dispatcher: DispatcherGateway,
    // Keeps the embedded cluster alive while anyone watches the job.
    cluster: Arc<EmbeddedCluster>,
}

impl JobClient {
    pub(crate) fn new(
        job_id: JobId,
        dispatcher: DispatcherGateway,
        cluster: Arc<EmbeddedCluster>,
    ) -> Self {
        JobClient {
            job_id,
            dispatcher,
            cluster,
        }
    }

    /// Where the embedded cluster's REST endpoint listens, if `rest.port` was set.
    pub fn rest_address(&self) -> Option<std::net::SocketAddr> {
        self.cluster.rest.as_ref().map(RestServer::address)
    }

    /// The job's id.
    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// The job's current state.
    pub fn get_job_status(&self) -> Result<JobStatus, JobError> {
        Ok(self.dispatcher.job_status(self.job_id)?)
    }

    /// Starts cancelling the job.
    pub fn cancel(&self) -> Result<(), JobError> {
        Ok(self.dispatcher.cancel_job(self.job_id)?)
    }

    /// Takes a savepoint of the running job into a new folder
    /// `savepoint-<job id prefix>-<random>` under `target_directory` (a `file://` URL or a
    /// local path; `None`: `state.savepoints.dir`) and returns that folder once the savepoint
    /// completed. The job goes on running. Restore from it with `eddy run -s <folder>` or
    /// `execution.state-recovery.path`. The job must have checkpointing enabled (the
    /// checkpoint coordinator takes the savepoint).
    pub fn trigger_savepoint(&self, target_directory: Option<&str>) -> Result<String, JobError> {
        Ok(self
            .dispatcher
            .trigger_savepoint(self.job_id, target_directory.map(str::to_string))?)
    }

    /// Stops the running job with a savepoint, as Flink's `stop` does: the sources emit the
    /// final watermark first when `drain` (every event-time window and timer fires), then the
    /// savepoint's barrier, and emit nothing more; once the savepoint (into a new folder under
    /// `target_directory`, or `state.savepoints.dir`) completed they end their streams without
    /// the final watermark (unless drained) and the job finishes. Returns the savepoint's
    /// folder; [`get_job_execution_result`](Self::get_job_execution_result) then reports the
    /// finished job. When the savepoint fails, the job goes on running.
    pub fn stop_with_savepoint(
        &self,
        target_directory: Option<&str>,
        drain: bool,
    ) -> Result<String, JobError> {
        Ok(self.dispatcher.stop_with_savepoint(
            self.job_id,
            target_directory.map(str::to_string),
            drain,
        )?)
    }

    /// Waits for the job to end: `Ok` if it finished, an error if it failed or was cancelled.
    pub fn get_job_execution_result(&self) -> Result<JobExecutionResult, JobError> {
        let result = self.dispatcher.request_job_result(self.job_id)?;
        match result.status {
            JobStatus::Finished => Ok(JobExecutionResult {
                job_id: self.job_id,
                net_runtime: result.runtime,
                checkpoints: result.checkpoints,
                recoveries: result.recoveries,
                stopped_with_savepoint: result.stopped_with_savepoint,
            }),
            JobStatus::Canceled => Err(JobError::Canceled {
                job_id: self.job_id,
            }),
            _ => Err(JobError::Failed {
                job_id: self.job_id,
                cause: result
                    .failure
                    .unwrap_or_else(|| format!("the job ended in state {}", result.status)),
            }),
        }
    }
}
