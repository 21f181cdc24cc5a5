//! The JobMaster: runs one job from slot request to terminal state.

mod checkpointing;
mod failover;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};

use eddy_checkpoint::CheckpointReader;
use eddy_checkpoint::{FinishedTaskState, TaskAcknowledgement, TaskId};
use eddy_core::ids::JobId;
use eddy_graph::{ExecutionGraph, JobGraph, VertexId};
use eddy_runtime::factory::JobCode;
use eddy_runtime::network::LocalNetwork;
use eddy_runtime::restore::JobRestoreState;
use eddy_runtime::task::{TaskDescriptor, TaskOutcome};

use checkpointing::{JobCheckpointing, Notifications};
use failover::{Failover, PendingRestart};

use crate::dispatcher::DispatcherMessage;
use crate::gateway::{spawn_component, Reply};
use crate::job::{JobConfig, JobResult, JobStatus};
use crate::resource_manager::{AllocatedSlot, ResourceManagerGateway, SlotRequestAnswer};
use crate::task_executor::{SubtaskKey, TaskExecutorGateway};
use crate::ClusterError;

pub(crate) enum JobMasterMessage {
    SlotAnswer(SlotRequestAnswer),
    TaskEnded(SubtaskKey, TaskOutcome),
    Cancel,
    /// Checkpoint reports, with the run of the subtask that sent them.
    CheckpointAcknowledged(u32, TaskAcknowledgement),
    CheckpointDeclined {
        run: u32,
        task: TaskId,
        checkpoint: u64,
        reason: String,
    },
    TaskFinishedState(u32, TaskId, FinishedTaskState),
    /// A savepoint into a folder (default: `state.savepoints.dir`); with `Some(drain)` the job
    /// stops after it.
    TriggerSavepoint(
        Option<String>,
        Option<bool>,
        Reply<Result<String, ClusterError>>,
    ),
    /// The job's checkpoint statistics and settings (`None`: checkpointing is off).
    CheckpointStatistics(Reply<Result<Option<JobCheckpointStatistics>, ClusterError>>),
}

/// A job's checkpoints so far and its checkpointing settings.
#[derive(Debug, Clone, PartialEq)]
pub struct JobCheckpointStatistics {
    /// Counters, completed checkpoints and savepoints, the latest failure and restore.
    pub stats: eddy_checkpoint::CheckpointStats,
    /// The settings.
    pub config: eddy_checkpoint::CheckpointConfig,
}

/// Handle on a JobMaster.
#[derive(Clone)]
pub struct JobMasterGateway {
    inbox: Sender<JobMasterMessage>,
}

impl JobMasterGateway {
    /// The ResourceManager answers the slot request.
    pub fn slot_answer(&self, answer: SlotRequestAnswer) {
        let _ = self.inbox.send(JobMasterMessage::SlotAnswer(answer));
    }

    /// A TaskExecutor reports that a subtask ended.
    pub fn task_ended(&self, key: SubtaskKey, outcome: TaskOutcome) {
        let _ = self.inbox.send(JobMasterMessage::TaskEnded(key, outcome));
    }

    /// Cancels the job.
    pub fn cancel(&self) {
        let _ = self.inbox.send(JobMasterMessage::Cancel);
    }

    /// Answers `reply` with the job's checkpoint statistics.
    pub(crate) fn checkpoint_statistics(
        &self,
        reply: Reply<Result<Option<JobCheckpointStatistics>, ClusterError>>,
    ) {
        if let Err(error) = self
            .inbox
            .send(JobMasterMessage::CheckpointStatistics(reply))
        {
            if let JobMasterMessage::CheckpointStatistics(reply) = error.into_inner() {
                let _ = reply.send(Err(ClusterError::ShutDown));
            }
        }
    }

    /// Takes a savepoint into a new folder under `target` (or `state.savepoints.dir`) and,
    /// with `stop` (`Some(drain)`), stops the job after it; `reply` gets its folder, or why it
    /// failed, once it ended.
    pub(crate) fn trigger_savepoint(
        &self,
        target: Option<String>,
        stop: Option<bool>,
        reply: Reply<Result<String, ClusterError>>,
    ) {
        if let Err(error) = self
            .inbox
            .send(JobMasterMessage::TriggerSavepoint(target, stop, reply))
        {
            if let JobMasterMessage::TriggerSavepoint(_, _, reply) = error.into_inner() {
                let _ = reply.send(Err(ClusterError::ShutDown));
            }
        }
    }
}

/// Everything a JobMaster is started with.
pub(crate) struct JobMasterSetup {
    pub job_id: JobId,
    pub job: Arc<JobGraph>,
    pub code: Arc<JobCode>,
    pub config: JobConfig,
    pub resource_manager: ResourceManagerGateway,
    pub network: Arc<LocalNetwork>,
    pub dispatcher: Sender<DispatcherMessage>,
}

/// Starts the JobMaster thread of one job.
pub(crate) fn start_job_master(setup: JobMasterSetup) -> Result<JobMasterGateway, ClusterError> {
    let (tx, rx) = unbounded();
    let gateway = JobMasterGateway { inbox: tx };
    let myself = gateway.clone();
    spawn_component(&format!("jobmaster-{}", setup.job_id), move || {
        JobMaster::new(setup, myself).run(rx)
    })?;
    Ok(gateway)
}

struct JobMaster {
    setup: JobMasterSetup,
    myself: JobMasterGateway,
    status: JobStatus,
    started: Instant,
    running: HashSet<SubtaskKey>,
    deployed_to: HashMap<SubtaskKey, TaskExecutorGateway>,
    /// The slot of each subtask (vertex, index), kept across restarts.
    placements: HashMap<(VertexId, u32), AllocatedSlot>,
    /// The run each vertex's subtasks belong to (a restart deploys its region in a new run).
    vertex_runs: Vec<u32>,
    /// How often each vertex was restarted.
    attempts: Vec<u32>,
    next_run: u32,
    checkpointing: Option<JobCheckpointing>,
    /// The state the job started from (`-s`), for restarts before any checkpoint completed.
    initial_restore: Option<Arc<JobRestoreState>>,
    failover: Failover,
    restart: Option<PendingRestart>,
    /// Per restart: from the failure to the deployment of the restarted subtasks.
    recoveries: Vec<Duration>,
    failure: Option<String>,
    last_slot_answer: Option<(u32, u32)>,
    deadline: Option<Instant>,
}

/// The run number of a job's first execution; each restart deploys in a new run.
const FIRST_RUN: u32 = 0;

impl JobMaster {
    fn new(setup: JobMasterSetup, myself: JobMasterGateway) -> Self {
        JobMaster {
            myself,
            status: JobStatus::Created,
            started: Instant::now(),
            running: HashSet::new(),
            deployed_to: HashMap::new(),
            placements: HashMap::new(),
            vertex_runs: vec![FIRST_RUN; setup.job.vertices.len()],
            attempts: vec![0; setup.job.vertices.len()],
            next_run: FIRST_RUN + 1,
            checkpointing: None,
            initial_restore: None,
            failover: Failover::new(
                &setup.job,
                setup.config.failover_strategy,
                setup.config.restart_strategy.clone(),
            ),
            restart: None,
            recoveries: Vec::new(),
            failure: None,
            last_slot_answer: None,
            deadline: None,
            setup,
        }
    }

    fn run(mut self, inbox: Receiver<JobMasterMessage>) {
        let required = self.setup.job.required_slots();
        self.setup
            .resource_manager
            .request_slots(self.setup.job_id, required, self.myself.clone());
        self.deadline = Some(Instant::now() + self.setup.config.slot_request_timeout);
        while !self.status.is_terminal() {
            let checkpoint_due = self
                .checkpointing
                .as_ref()
                .filter(|_| self.status == JobStatus::Running && self.restart.is_none())
                .map(JobCheckpointing::next_wakeup);
            let restart_due = self.restart.as_ref().map(PendingRestart::wakeup);
            let wake = [self.deadline, checkpoint_due, restart_due]
                .into_iter()
                .flatten()
                .min();
            let message = match wake {
                Some(deadline) => inbox.recv_deadline(deadline),
                None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match message {
                Ok(message) => self.on_message(message),
                Err(RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    if self.deadline.is_some_and(|d| now >= d) {
                        self.on_deadline();
                    }
                    if checkpoint_due.is_some_and(|d| now >= d) {
                        self.on_checkpoint_timer();
                    }
                    if restart_due.is_some_and(|d| now >= d) {
                        self.continue_restart();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some(checkpointing) = &mut self.checkpointing {
            checkpointing.job_ended(self.status);
        }
        self.setup.resource_manager.release_slots(self.setup.job_id);
        self.setup.network.release_job(self.setup.job_id);
        let result = JobResult {
            job_id: self.setup.job_id,
            job_name: self.setup.job.job_name.clone(),
            status: self.status,
            runtime: self.started.elapsed(),
            failure: self.failure.take(),
            checkpoints: self.checkpointing.as_ref().map(|c| c.stats().clone()),
            recoveries: std::mem::take(&mut self.recoveries),
            stopped_with_savepoint: self
                .checkpointing
                .as_ref()
                .and_then(|c| c.stopped_with_savepoint().map(String::from)),
        };
        let _ = self
            .setup
            .dispatcher
            .send(DispatcherMessage::JobTerminated(Box::new(result)));
    }

    fn on_message(&mut self, message: JobMasterMessage) {
        match message {
            JobMasterMessage::SlotAnswer(answer) => self.on_slot_answer(answer),
            JobMasterMessage::TaskEnded(key, outcome) => self.on_task_ended(key, outcome),
            JobMasterMessage::Cancel => self.on_cancel(),
            // Reports of subtasks a restart replaced are stale: a finished state of the
            // old run must not stand for the new run's subtask.
            JobMasterMessage::CheckpointAcknowledged(run, ack) => {
                if self.is_current(run, ack.task) {
                    self.with_checkpointing(|c| c.acknowledge(ack))
                }
            }
            JobMasterMessage::CheckpointDeclined {
                run,
                task,
                checkpoint,
                reason,
            } => {
                if self.is_current(run, task) {
                    self.with_checkpointing(|c| c.decline(task, checkpoint, &reason))
                }
            }
            JobMasterMessage::TaskFinishedState(run, task, state) => {
                if self.is_current(run, task) {
                    self.with_checkpointing(|c| c.task_finished(task, state))
                }
            }
            JobMasterMessage::TriggerSavepoint(target, stop, reply) => {
                self.on_trigger_savepoint(target, stop, reply)
            }
            JobMasterMessage::CheckpointStatistics(reply) => {
                let statistics = self
                    .checkpointing
                    .as_ref()
                    .map(|c| JobCheckpointStatistics {
                        stats: c.stats().clone(),
                        config: c.config().clone(),
                    });
                // Before deployment the coordinator has not started: the settings, no counts.
                let statistics =
                    statistics.or_else(|| {
                        self.setup.config.checkpointing.clone().map(|config| {
                            JobCheckpointStatistics {
                                stats: Default::default(),
                                config,
                            }
                        })
                    });
                let _ = reply.send(Ok(statistics));
            }
        }
    }

    /// Starts a savepoint, or answers at once why it cannot be taken.
    fn on_trigger_savepoint(
        &mut self,
        target: Option<String>,
        stop: Option<bool>,
        reply: Reply<Result<String, ClusterError>>,
    ) {
        let job_id = self.setup.job_id;
        let refuse = |reason: String| {
            let _ = reply.send(Err(ClusterError::Savepoint { job_id, reason }));
        };
        let Some(target) = target.or_else(|| self.setup.config.savepoint_directory.clone()) else {
            return refuse(
                "no target directory: name one, or set state.savepoints.dir".to_string(),
            );
        };
        if self.status != JobStatus::Running || self.restart.is_some() {
            let state = if self.restart.is_some() {
                "restarting".to_string()
            } else {
                self.status.to_string()
            };
            return refuse(format!("the job is not running (it is {state})"));
        }
        if self.checkpointing.is_none() {
            return refuse(
                "savepoints are taken by the checkpoint coordinator, which runs when \
                 checkpointing is enabled: set execution.checkpointing.interval (a long \
                 interval, e.g. 1 h, if only savepoints are wanted) and state.checkpoints.dir"
                    .to_string(),
            );
        }
        self.warn_of_generated_operator_ids();
        let lookup = self.running_task_lookup();
        let Some(checkpointing) = self.checkpointing.as_mut() else {
            return;
        };
        match checkpointing.trigger_savepoint(&target, stop, reply, lookup) {
            Ok(notifications) => self.notify_running(&notifications),
            Err(message) => self.fail(message),
        }
    }

    /// Whether `run` is the run the subtask `task` is deployed in now, and that run is not
    /// being replaced by a restart.
    fn is_current(&self, run: u32, task: TaskId) -> bool {
        let restarting = self
            .restart
            .as_ref()
            .is_some_and(|r| r.vertices.contains(&task.0));
        self.vertex_runs.get(task.0) == Some(&run) && !restarting
    }

    /// Runs a checkpoint step while the job runs and tells the running subtasks about the
    /// checkpoints it completed or aborted; its error fails the job.
    fn with_checkpointing(
        &mut self,
        step: impl FnOnce(&mut JobCheckpointing) -> Result<Notifications, String>,
    ) {
        if self.status != JobStatus::Running {
            return;
        }
        match self.checkpointing.as_mut().map(step) {
            Some(Ok(notifications)) => self.notify_running(&notifications),
            Some(Err(message)) => self.fail(message),
            None => {}
        }
    }

    /// Tells every running subtask which checkpoints completed or were aborted.
    fn notify_running(&self, notifications: &Notifications) {
        for &(checkpoint, completed) in notifications {
            for key in &self.running {
                if let Some(gateway) = self.deployed_to.get(key) {
                    gateway.notify_checkpoint(*key, checkpoint, completed);
                }
            }
        }
    }

    /// A savepoint matches state to operators by id: a generated id changes with the job's
    /// graph, so operators without a `uid` may not find their state in a changed job.
    fn warn_of_generated_operator_ids(&self) {
        let graph = &self.setup.job.stream_graph;
        let unnamed: Vec<&str> = graph
            .nodes
            .iter()
            .filter(|node| node.uid.is_none())
            .map(|node| node.name.as_str())
            .collect();
        if !unnamed.is_empty() {
            tracing::warn!(
                job = %self.setup.job_id,
                "operators without a uid: {}; their state in the savepoint is matched by an id \
                 generated from their place in the job, which changes when the job does; set \
                 a uid on every stateful operator (.uid(\"...\")) to restore after changes",
                unnamed.join(", ")
            );
        }
    }

    /// Finds the running subtask of a coordinator task id and where it is deployed (a
    /// snapshot of the current deployment, so that the coordinator can be borrowed meanwhile).
    fn running_task_lookup(
        &self,
    ) -> impl Fn(TaskId) -> Option<(SubtaskKey, TaskExecutorGateway)> + use<> {
        let job_id = self.setup.job_id;
        let runs = self.vertex_runs.clone();
        let deployed: HashMap<SubtaskKey, TaskExecutorGateway> = self
            .running
            .iter()
            .filter_map(|key| self.deployed_to.get(key).map(|g| (*key, g.clone())))
            .collect();
        move |(vertex, subtask): TaskId| {
            let key = (job_id, *runs.get(vertex)?, vertex, subtask);
            deployed.get(&key).map(|g| (key, g.clone()))
        }
    }

    fn on_checkpoint_timer(&mut self) {
        let lookup = self.running_task_lookup();
        let result = match &mut self.checkpointing {
            Some(checkpointing) => checkpointing.on_timer(lookup),
            None => return,
        };
        match result {
            Ok(notifications) => self.notify_running(&notifications),
            Err(message) => self.fail(message),
        }
    }

    fn transition(&mut self, status: JobStatus) {
        tracing::info!(job = %self.setup.job_id, from = %self.status, to = %status, "job status changed");
        self.status = status;
        let _ = self
            .setup
            .dispatcher
            .send(DispatcherMessage::StatusChanged(self.setup.job_id, status));
    }

    fn on_slot_answer(&mut self, answer: SlotRequestAnswer) {
        match answer {
            SlotRequestAnswer::Pending { total, free } => {
                self.last_slot_answer = Some((total, free))
            }
            SlotRequestAnswer::Allocated(slots) if self.status == JobStatus::Created => {
                self.deadline = None;
                self.transition(JobStatus::Running);
                if let Err(message) = self.deploy(slots) {
                    self.fail(message);
                }
            }
            SlotRequestAnswer::Allocated(_) => {
                self.setup.resource_manager.release_slots(self.setup.job_id)
            }
        }
    }

    /// Places subtask i of every vertex in slot i of its slot-sharing group and deploys it,
    /// starting checkpointing and the state to start from (`-s`) first.
    fn deploy(&mut self, slots: Vec<AllocatedSlot>) -> Result<(), String> {
        let job = self.setup.job.clone();
        let mut remaining = slots.into_iter();
        let group_slots: BTreeMap<String, Vec<AllocatedSlot>> = job
            .slot_sharing_groups()
            .into_iter()
            .map(|(group, n)| (group, remaining.by_ref().take(n as usize).collect()))
            .collect();
        for vertex in &job.vertices {
            for subtask in 0..vertex.parallelism {
                let slot = group_slots
                    .get(&vertex.slot_sharing_group)
                    .and_then(|s| s.get(subtask as usize))
                    .ok_or_else(|| {
                        format!(
                            "no slot was allocated for {} ({}/{})",
                            vertex.name,
                            subtask + 1,
                            vertex.parallelism
                        )
                    })?;
                self.placements.insert((vertex.id, subtask), slot.clone());
            }
        }
        if let Some(config) = &self.setup.config.checkpointing {
            self.checkpointing = Some(JobCheckpointing::start(
                config,
                &self.setup.config.storage,
                self.setup.job_id,
                &job,
            )?);
        }
        if let Some(path) = &self.setup.config.restore_path {
            let reader = CheckpointReader::open(path, &self.setup.config.storage)
                .map_err(|e| format!("cannot restore the job from {path}: {e}"))?;
            let allow = self.setup.config.allow_non_restored_state;
            let restore = JobRestoreState::load(&reader, &job, allow)?;
            tracing::info!(job = %self.setup.job_id, checkpoint = restore.checkpoint_id, location = %restore.location, "restoring the job");
            if let Some(checkpointing) = &mut self.checkpointing {
                checkpointing.restored_from(&restore);
            }
            self.initial_restore = Some(Arc::new(restore));
        }
        let all: Vec<VertexId> = (0..job.vertices.len()).collect();
        self.deploy_vertices(&all, self.initial_restore.clone())
    }

    /// Deploys every subtask of `vertices` into its slot, restoring `restore` if given.
    fn deploy_vertices(
        &mut self,
        vertices: &[VertexId],
        restore: Option<Arc<JobRestoreState>>,
    ) -> Result<(), String> {
        let job = self.setup.job.clone();
        let execution = ExecutionGraph::from_job_graph(&job);
        // One deployment: every vertex in it belongs to the same run.
        let run = vertices.first().map_or(FIRST_RUN, |&v| self.vertex_runs[v]);
        let task_checkpointing = self
            .checkpointing
            .as_ref()
            .map(|c| c.for_tasks(&self.myself, run));
        for subtask in execution.all_subtasks() {
            if !vertices.contains(&subtask.vertex) {
                continue;
            }
            let slot = &self.placements[&(subtask.vertex, subtask.subtask_index)];
            let run = self.vertex_runs[subtask.vertex];
            let key = (
                self.setup.job_id,
                run,
                subtask.vertex,
                subtask.subtask_index,
            );
            let descriptor = TaskDescriptor {
                job_id: self.setup.job_id,
                run,
                attempt_number: self.attempts[subtask.vertex],
                vertex: subtask.vertex,
                subtask_index: subtask.subtask_index,
                slot: format!("{}/{}", slot.task_manager, slot.slot_index),
                execution_vertex: subtask.clone(),
                settings: self.setup.config.task_settings.clone(),
            };
            tracing::debug!(task = %subtask.name, task_manager = %slot.task_manager, slot = slot.slot_index, run, "deploying");
            slot.gateway
                .submit_task(
                    descriptor,
                    job.clone(),
                    self.setup.code.clone(),
                    self.myself.clone(),
                    task_checkpointing.clone(),
                    restore.clone(),
                )
                .map_err(|e| format!("could not deploy {}: {e}", subtask.name))?;
            self.running.insert(key);
            self.deployed_to.insert(key, slot.gateway.clone());
        }
        Ok(())
    }

    /// A subtask failed while the job runs: restart its region if the restart strategy
    /// allows, otherwise fail the job.
    fn on_task_failure(&mut self, key: SubtaskKey, message: String) {
        let now = Instant::now();
        let Some((vertices, delay)) = self.failover.on_failure(key.2, now) else {
            tracing::info!(job = %self.setup.job_id, strategy = %self.failover.restart_strategy().describe(), "the restart strategy allows no more restarts");
            self.fail(message);
            return;
        };
        tracing::warn!(job = %self.setup.job_id, delay_ms = delay.as_millis() as u64, vertices = vertices.len(), "restarting after a failure: {message}");
        let restart = self.restart.get_or_insert_with(|| PendingRestart {
            vertices: Default::default(),
            stopping: Default::default(),
            failed_at: now,
            not_before: now,
            give_up_at: now + self.setup.config.cancellation_timeout,
        });
        restart.vertices.extend(vertices.iter().copied());
        restart.not_before = restart.not_before.max(now + delay);
        let stopping: Vec<SubtaskKey> = self
            .running
            .iter()
            .filter(|k| restart.vertices.contains(&k.2))
            .copied()
            .collect();
        for key in stopping {
            if restart.stopping.insert(key) {
                if let Some(gateway) = self.deployed_to.get(&key) {
                    gateway.cancel_task(key);
                }
            }
        }
        if let Some(checkpointing) = &mut self.checkpointing {
            let restarted = &restart.vertices;
            checkpointing.restart(|(vertex, _)| restarted.contains(&vertex));
        }
        self.continue_restart();
    }

    /// Deploys the restarting region once its subtasks stopped and the delay passed; fails the
    /// job if they do not stop in time.
    fn continue_restart(&mut self) {
        let Some(restart) = &self.restart else {
            return;
        };
        let now = Instant::now();
        if !restart.stopping.is_empty() {
            if now >= restart.give_up_at {
                let stuck = restart.stopping.len();
                self.restart = None;
                self.fail(format!(
                    "{stuck} subtasks did not stop within the cancellation timeout while the \
                     job was restarting"
                ));
            }
            return;
        }
        if now < restart.not_before {
            return;
        }
        let Some(restart) = self.restart.take() else {
            return;
        };
        let vertices: Vec<VertexId> = restart.vertices.into_iter().collect();
        match self.redeploy(&vertices) {
            Ok(()) => self.recoveries.push(restart.failed_at.elapsed()),
            Err(message) => self.fail(message),
        }
    }

    /// Deploys `vertices` again in a new run, from the latest completed checkpoint.
    fn redeploy(&mut self, vertices: &[VertexId]) -> Result<(), String> {
        let job = self.setup.job.clone();
        let restore = match &self.checkpointing {
            Some(checkpointing) => checkpointing.latest_restore(&job)?.map(Arc::new),
            None => None,
        }
        .or_else(|| self.initial_restore.clone());
        if let (Some(checkpointing), Some(restore)) = (&mut self.checkpointing, &restore) {
            checkpointing.restored_from(restore);
        }
        let run = self.next_run;
        self.next_run += 1;
        for &vertex in vertices {
            let old_run = self.vertex_runs[vertex];
            self.setup
                .network
                .release_vertex(self.setup.job_id, old_run, vertex);
            self.vertex_runs[vertex] = run;
            self.attempts[vertex] += 1;
        }
        self.deployed_to
            .retain(|key, _| !vertices.contains(&key.2) || key.1 == run);
        tracing::info!(
            job = %self.setup.job_id,
            run,
            checkpoint = restore.as_ref().map(|r| r.checkpoint_id),
            "deploying the restarted subtasks"
        );
        self.deploy_vertices(vertices, restore)
    }

    fn on_task_ended(&mut self, key: SubtaskKey, outcome: TaskOutcome) {
        if !self.running.remove(&key) {
            return;
        }
        if let Some(restart) = &mut self.restart {
            if restart.stopping.remove(&key) {
                self.continue_restart();
                return;
            }
        }
        if let TaskOutcome::Failed(message) = outcome {
            if self.status == JobStatus::Running {
                self.on_task_failure(key, message);
            } else {
                self.fail(message);
            }
        }
        if self.running.is_empty() && self.restart.is_none() {
            match self.status {
                JobStatus::Running => self.transition(JobStatus::Finished),
                JobStatus::Failing => self.transition(JobStatus::Failed),
                JobStatus::Cancelling => self.transition(JobStatus::Canceled),
                _ => {}
            }
        }
    }

    /// The first failure is the root cause; it fails the job and cancels the other subtasks.
    fn fail(&mut self, message: String) {
        if matches!(self.status, JobStatus::Running | JobStatus::Created) {
            tracing::error!(job = %self.setup.job_id, "{message}");
            self.restart = None;
            self.failure = Some(message);
            if self.running.is_empty() {
                self.transition(JobStatus::Failed);
            } else {
                self.transition(JobStatus::Failing);
                self.cancel_running();
            }
        }
    }

    fn on_cancel(&mut self) {
        match self.status {
            JobStatus::Created => {
                self.setup
                    .resource_manager
                    .cancel_slot_request(self.setup.job_id);
                self.transition(JobStatus::Canceled);
            }
            JobStatus::Running if self.running.is_empty() => self.transition(JobStatus::Canceled),
            JobStatus::Running => {
                self.restart = None;
                self.transition(JobStatus::Cancelling);
                self.cancel_running();
            }
            _ => {}
        }
    }

    fn cancel_running(&mut self) {
        for (key, gateway) in &self.deployed_to {
            if self.running.contains(key) {
                gateway.cancel_task(*key);
            }
        }
        self.deadline = Some(Instant::now() + self.setup.config.cancellation_timeout);
    }

    fn on_deadline(&mut self) {
        match self.status {
            JobStatus::Created => {
                self.setup
                    .resource_manager
                    .cancel_slot_request(self.setup.job_id);
                let message = self.no_slots_message();
                self.fail(message);
            }
            JobStatus::Failing | JobStatus::Cancelling => {
                let stuck = self.running.len();
                tracing::error!(job = %self.setup.job_id, stuck, "subtasks did not stop within the cancellation timeout");
                self.running.clear();
                let terminal = if self.status == JobStatus::Failing {
                    JobStatus::Failed
                } else {
                    JobStatus::Canceled
                };
                self.transition(terminal);
            }
            _ => self.deadline = None,
        }
    }

    fn no_slots_message(&self) -> String {
        let job = &self.setup.job;
        let groups: Vec<String> = job
            .slot_sharing_groups()
            .iter()
            .map(|(g, n)| format!("'{g}' needs {n}"))
            .collect();
        let (total, free) = self.last_slot_answer.unwrap_or((0, 0));
        format!(
            "Could not acquire the required slots within slot.request.timeout ({} ms): the job needs {} slots (one per subtask of the largest operator in each slot-sharing group: {}) but the cluster has {} slots ({} free). Start more TaskManagers, raise taskmanager.numberOfTaskSlots, or lower the parallelism.",
            Duration::as_millis(&self.setup.config.slot_request_timeout),
            job.required_slots(),
            groups.join(", "),
            total,
            free
        )
    }
}
