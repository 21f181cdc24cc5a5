//! The Dispatcher: the cluster's front door for jobs.

use std::collections::HashMap;
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};

use eddy_core::ids::JobId;
use eddy_graph::JobGraph;
use eddy_runtime::factory::JobCode;
use eddy_runtime::network::LocalNetwork;

use crate::gateway::{ask, spawn_component, Reply};
use crate::job::{JobConfig, JobResult, JobStatus};
use crate::job_master::{
    start_job_master, JobCheckpointStatistics, JobMasterGateway, JobMasterSetup,
};
use crate::resource_manager::ResourceManagerGateway;
use crate::ClusterError;

/// One line of the job list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOverview {
    /// The job.
    pub job_id: JobId,
    /// Its name.
    pub job_name: String,
    /// Its current state.
    pub status: JobStatus,
    /// When it was submitted, in milliseconds since the epoch.
    pub start_time: i64,
    /// When it ended (milliseconds since the epoch), if it has.
    pub end_time: Option<i64>,
    /// Its JobGraph vertices, in JobGraph order.
    pub vertices: Vec<VertexOverview>,
}

/// One JobGraph vertex (an operator chain) of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VertexOverview {
    /// The chain's name, e.g. `Source: Collection Source -> Map`.
    pub name: String,
    /// Its parallel subtasks.
    pub parallelism: u32,
    /// Its max parallelism (key groups).
    pub max_parallelism: u32,
}

/// Milliseconds since the epoch.
fn epoch_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) enum DispatcherMessage {
    SubmitJob {
        job_id: JobId,
        job: Arc<JobGraph>,
        code: Arc<JobCode>,
        config: Box<JobConfig>,
        reply: Reply<Result<(), ClusterError>>,
    },
    JobStatus(JobId, Reply<Result<JobStatus, ClusterError>>),
    JobResult(JobId, Reply<Result<JobResult, ClusterError>>),
    CancelJob(JobId, Reply<Result<(), ClusterError>>),
    JobGraph(JobId, Reply<Result<Arc<JobGraph>, ClusterError>>),
    CheckpointStatistics(
        JobId,
        Reply<Result<Option<JobCheckpointStatistics>, ClusterError>>,
    ),
    TriggerSavepoint {
        job_id: JobId,
        target: Option<String>,
        /// `Some(drain)`: stop the job after the savepoint.
        stop: Option<bool>,
        reply: Reply<Result<String, ClusterError>>,
    },
    ListJobs(Reply<Vec<JobOverview>>),
    StatusChanged(JobId, JobStatus),
    JobTerminated(Box<JobResult>),
    Shutdown,
}

/// Handle on the Dispatcher: how clients submit, watch and cancel jobs.
#[derive(Clone)]
pub struct DispatcherGateway {
    inbox: Sender<DispatcherMessage>,
}

impl DispatcherGateway {
    /// Submits a job under the given id.
    pub fn submit_job(
        &self,
        job_id: JobId,
        job: Arc<JobGraph>,
        code: Arc<JobCode>,
        config: JobConfig,
    ) -> Result<(), ClusterError> {
        ask(&self.inbox, |reply| DispatcherMessage::SubmitJob {
            job_id,
            job,
            code,
            config: Box::new(config),
            reply,
        })?
    }

    /// The job's current state.
    pub fn job_status(&self, job_id: JobId) -> Result<JobStatus, ClusterError> {
        ask(&self.inbox, |reply| {
            DispatcherMessage::JobStatus(job_id, reply)
        })?
    }

    /// Waits until the job is terminal and returns how it ended.
    pub fn request_job_result(&self, job_id: JobId) -> Result<JobResult, ClusterError> {
        ask(&self.inbox, |reply| {
            DispatcherMessage::JobResult(job_id, reply)
        })?
    }

    /// Cancels the job (returns once cancellation has started).
    pub fn cancel_job(&self, job_id: JobId) -> Result<(), ClusterError> {
        ask(&self.inbox, |reply| {
            DispatcherMessage::CancelJob(job_id, reply)
        })?
    }

    /// Takes a savepoint of a running job into a new folder under `target_directory` (or
    /// `state.savepoints.dir`) and returns that folder once the savepoint completed.
    pub fn trigger_savepoint(
        &self,
        job_id: JobId,
        target_directory: Option<String>,
    ) -> Result<String, ClusterError> {
        ask(&self.inbox, |reply| DispatcherMessage::TriggerSavepoint {
            job_id,
            target: target_directory,
            stop: None,
            reply,
        })?
    }

    /// Stops a running job with a savepoint (Flink's `stop`): its sources emit the final
    /// watermark first if `drain`, then the savepoint's barrier, and end their streams once
    /// the savepoint into a new folder under `target_directory` (or `state.savepoints.dir`)
    /// completed; the job then finishes. Returns the savepoint's folder.
    pub fn stop_with_savepoint(
        &self,
        job_id: JobId,
        target_directory: Option<String>,
        drain: bool,
    ) -> Result<String, ClusterError> {
        ask(&self.inbox, |reply| DispatcherMessage::TriggerSavepoint {
            job_id,
            target: target_directory,
            stop: Some(drain),
            reply,
        })?
    }

    /// A job's JobGraph (its operator chains and the exchanges between them).
    pub fn job_graph(&self, job_id: JobId) -> Result<Arc<JobGraph>, ClusterError> {
        ask(&self.inbox, |reply| {
            DispatcherMessage::JobGraph(job_id, reply)
        })?
    }

    /// A job's checkpoint statistics and settings (`None`: it does not checkpoint).
    pub fn checkpoint_statistics(
        &self,
        job_id: JobId,
    ) -> Result<Option<JobCheckpointStatistics>, ClusterError> {
        ask(&self.inbox, |reply| {
            DispatcherMessage::CheckpointStatistics(job_id, reply)
        })?
    }

    /// Every job the Dispatcher knows.
    pub fn list_jobs(&self) -> Result<Vec<JobOverview>, ClusterError> {
        ask(&self.inbox, DispatcherMessage::ListJobs)
    }

    pub(crate) fn shutdown(&self) {
        let _ = self.inbox.send(DispatcherMessage::Shutdown);
    }
}

struct JobEntry {
    name: String,
    graph: Arc<JobGraph>,
    checkpointing: Option<eddy_checkpoint::CheckpointConfig>,
    started: i64,
    ended: Option<i64>,
    vertices: Vec<VertexOverview>,
    status: JobStatus,
    job_master: JobMasterGateway,
    result: Option<JobResult>,
    waiting: Vec<Reply<Result<JobResult, ClusterError>>>,
}

/// Starts the Dispatcher thread.
pub(crate) fn start_dispatcher(
    resource_manager: ResourceManagerGateway,
    network: Arc<LocalNetwork>,
) -> Result<(DispatcherGateway, std::thread::JoinHandle<()>), ClusterError> {
    let (tx, rx) = unbounded();
    let myself = tx.clone();
    let thread = spawn_component("dispatcher", move || {
        run(rx, myself, resource_manager, network)
    })?;
    Ok((DispatcherGateway { inbox: tx }, thread))
}

fn run(
    inbox: Receiver<DispatcherMessage>,
    myself: Sender<DispatcherMessage>,
    resource_manager: ResourceManagerGateway,
    network: Arc<LocalNetwork>,
) {
    let mut jobs: HashMap<JobId, JobEntry> = HashMap::new();
    while let Ok(message) = inbox.recv() {
        match message {
            DispatcherMessage::SubmitJob {
                job_id,
                job,
                code,
                config,
                reply,
            } => {
                let name = job.job_name.clone();
                let graph = job.clone();
                let checkpointing = config.checkpointing.clone();
                let vertices = job
                    .vertices
                    .iter()
                    .map(|v| VertexOverview {
                        name: v.name.clone(),
                        parallelism: v.parallelism,
                        max_parallelism: v.max_parallelism,
                    })
                    .collect();
                let started = start_job_master(JobMasterSetup {
                    job_id,
                    job,
                    code,
                    config: *config,
                    resource_manager: resource_manager.clone(),
                    network: network.clone(),
                    dispatcher: myself.clone(),
                });
                let answer = started.map(|job_master| {
                    tracing::info!(job = %job_id, name = %name, "job submitted");
                    jobs.insert(
                        job_id,
                        JobEntry {
                            name,
                            graph,
                            checkpointing,
                            started: epoch_millis(),
                            ended: None,
                            vertices,
                            status: JobStatus::Created,
                            job_master,
                            result: None,
                            waiting: Vec::new(),
                        },
                    );
                });
                let _ = reply.send(answer);
            }
            DispatcherMessage::JobStatus(id, reply) => {
                let answer = jobs
                    .get(&id)
                    .map(|j| j.status)
                    .ok_or(ClusterError::JobNotFound(id));
                let _ = reply.send(answer);
            }
            DispatcherMessage::JobResult(id, reply) => match jobs.get_mut(&id) {
                None => {
                    let _ = reply.send(Err(ClusterError::JobNotFound(id)));
                }
                Some(entry) => match &entry.result {
                    Some(result) => {
                        let _ = reply.send(Ok(result.clone()));
                    }
                    None => entry.waiting.push(reply),
                },
            },
            DispatcherMessage::CancelJob(id, reply) => {
                let answer = jobs
                    .get(&id)
                    .map(|j| j.job_master.cancel())
                    .ok_or(ClusterError::JobNotFound(id));
                let _ = reply.send(answer);
            }
            DispatcherMessage::TriggerSavepoint {
                job_id: id,
                target,
                stop,
                reply,
            } => match jobs.get(&id) {
                // The JobMaster answers once the savepoint ended.
                Some(entry) if entry.result.is_none() => {
                    entry.job_master.trigger_savepoint(target, stop, reply)
                }
                Some(entry) => {
                    let _ = reply.send(Err(ClusterError::Savepoint {
                        job_id: id,
                        reason: format!("the job is not running (it is {})", entry.status),
                    }));
                }
                None => {
                    let _ = reply.send(Err(ClusterError::JobNotFound(id)));
                }
            },
            DispatcherMessage::JobGraph(id, reply) => {
                let answer = jobs
                    .get(&id)
                    .map(|j| j.graph.clone())
                    .ok_or(ClusterError::JobNotFound(id));
                let _ = reply.send(answer);
            }
            DispatcherMessage::CheckpointStatistics(id, reply) => match jobs.get(&id) {
                // A running job's JobMaster answers; an ended job's statistics are kept here.
                Some(entry) if entry.result.is_none() => {
                    entry.job_master.checkpoint_statistics(reply)
                }
                Some(entry) => {
                    let statistics =
                        entry
                            .checkpointing
                            .clone()
                            .map(|config| JobCheckpointStatistics {
                                stats: entry
                                    .result
                                    .as_ref()
                                    .and_then(|r| r.checkpoints.clone())
                                    .unwrap_or_default(),
                                config,
                            });
                    let _ = reply.send(Ok(statistics));
                }
                None => {
                    let _ = reply.send(Err(ClusterError::JobNotFound(id)));
                }
            },
            DispatcherMessage::ListJobs(reply) => {
                let list = jobs
                    .iter()
                    .map(|(id, j)| JobOverview {
                        job_id: *id,
                        job_name: j.name.clone(),
                        status: j.status,
                        start_time: j.started,
                        end_time: j.ended,
                        vertices: j.vertices.clone(),
                    })
                    .collect();
                let _ = reply.send(list);
            }
            DispatcherMessage::StatusChanged(id, status) => {
                if let Some(entry) = jobs.get_mut(&id) {
                    entry.status = status;
                }
            }
            DispatcherMessage::JobTerminated(result) => {
                if let Some(entry) = jobs.get_mut(&result.job_id) {
                    entry.status = result.status;
                    entry.ended = Some(epoch_millis());
                    for waiter in entry.waiting.drain(..) {
                        let _ = waiter.send(Ok((*result).clone()));
                    }
                    entry.result = Some(*result);
                }
            }
            DispatcherMessage::Shutdown => {
                for entry in jobs.values() {
                    if entry.result.is_none() {
                        entry.job_master.cancel();
                    }
                }
                break;
            }
        }
    }
}
