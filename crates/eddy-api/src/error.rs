//! Why a program could not be executed, or how its job failed.

use eddy_cluster::ClusterError;
use eddy_core::config::ConfigError;
use eddy_core::ids::JobId;
use eddy_graph::GraphError;

/// A program or job error.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The program's graph is invalid (e.g. a forward edge between different parallelisms).
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A configuration value is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The program uses the API in a way that cannot run.
    #[error("invalid program: {0}")]
    InvalidProgram(String),
    /// The cluster could not serve the request.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The REST endpoint could not start.
    #[error(transparent)]
    Rest(#[from] eddy_web::RestError),
    /// The job failed; `cause` names the operator and subtask where it failed.
    #[error("Job {job_id} failed: {cause}")]
    Failed {
        /// The job.
        job_id: JobId,
        /// The root cause.
        cause: String,
    },
    /// The job was cancelled.
    #[error("Job {job_id} was cancelled")]
    Canceled {
        /// The job.
        job_id: JobId,
    },
    /// The program ran only to capture its plan (`eddy info`); nothing was executed.
    #[error("the program's execution plan was captured; the job was not executed")]
    PlanCaptured,
}
