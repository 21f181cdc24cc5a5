//! Eddy's cluster components and the embedded mini-cluster.
//!
//! - [`dispatcher`]: accepts jobs, starts one JobMaster per job, answers status and result
//!   requests.
//! - [`job_master`]: runs one job: requests slots, expands the JobGraph into the
//!   ExecutionGraph, deploys subtasks, tracks their states, fails or cancels the job.
//! - [`resource_manager`]: knows the TaskManagers and their slots (the SlotManager), and hands
//!   slots to JobMasters.
//! - [`task_executor`]: a TaskManager: offers slots, runs subtasks, reports their outcome.
//!
//! Each component is a thread that owns its state and reacts to messages from its inbox; the
//! others reach it only through its gateway (a typed handle on that inbox). The
//! [`mini_cluster::MiniCluster`] wires them together in one process.

pub mod dispatcher;
mod gateway;
pub mod job;
pub mod job_master;
pub mod mini_cluster;
pub mod resource_manager;
pub mod restart;
pub mod task_executor;

pub use dispatcher::DispatcherGateway;
pub use job::{JobConfig, JobResult, JobStatus};
pub use mini_cluster::{MiniCluster, MiniClusterConfig};

/// A request the cluster could not serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// No job with this id is known.
    #[error("no job with id {0} is known to the cluster")]
    JobNotFound(eddy_core::ids::JobId),
    /// A savepoint could not be taken.
    #[error("the savepoint of job {job_id} failed: {reason}")]
    Savepoint {
        /// The job.
        job_id: eddy_core::ids::JobId,
        /// Why.
        reason: String,
    },
    /// The component that should answer has stopped.
    #[error("the cluster has shut down")]
    ShutDown,
    /// A thread could not be started.
    #[error("could not start {what}: {reason}")]
    Spawn {
        /// What was being started.
        what: String,
        /// The OS error.
        reason: String,
    },
}
