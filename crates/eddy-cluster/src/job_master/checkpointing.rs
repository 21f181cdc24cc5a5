//! The JobMaster's side of checkpoints: it runs the job's checkpoint coordinator, injects the
//! barriers it triggers through the TaskExecutors, and feeds it the subtasks' reports.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use eddy_checkpoint::{
    CheckpointConfig, CheckpointCoordinator, CheckpointStorage, CompletedCheckpoint,
    FinishedTaskState, JobEnd, StorageOptions, TaskAcknowledgement, TaskId,
};
use eddy_core::ids::JobId;
use eddy_graph::JobGraph;
use eddy_runtime::checkpoint::{CheckpointResponder, TaskCheckpointing};
use eddy_runtime::restore::JobRestoreState;

use std::collections::HashMap;

use super::{JobMasterGateway, JobMasterMessage};
use crate::gateway::Reply;
use crate::job::JobStatus;
use crate::task_executor::{SubtaskKey, TaskExecutorGateway};
use crate::ClusterError;

/// Checkpoints the running subtasks are to be told about: (id, completed).
pub(super) type Notifications = Vec<(u64, bool)>;

/// Milliseconds since the epoch (barrier and metadata timestamps).
fn wall_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A job's checkpoint coordinator and where its barriers go.
pub(super) struct JobCheckpointing {
    coordinator: CheckpointCoordinator,
    job_id: JobId,
    /// Who waits for each savepoint in progress.
    savepoint_replies: HashMap<u64, Reply<Result<String, ClusterError>>>,
    /// The stop-with-savepoint in progress, if any.
    stop_in_progress: Option<u64>,
    /// The savepoint the job was stopped with.
    stopped_with: Option<String>,
}

impl JobCheckpointing {
    /// Opens the job's checkpoint storage and starts its coordinator.
    pub fn start(
        config: &CheckpointConfig,
        storage: &StorageOptions,
        job_id: JobId,
        job: &JobGraph,
    ) -> Result<Self, String> {
        let storage = CheckpointStorage::for_job(&config.directory, storage, job_id)
            .map_err(|e| format!("cannot checkpoint: {e}"))?;
        tracing::info!(job = %job_id, location = storage.location(), interval_ms = config.interval.as_millis() as u64, mode = %config.mode, "checkpointing");
        Ok(JobCheckpointing {
            coordinator: CheckpointCoordinator::new(
                config.clone(),
                std::sync::Arc::new(storage),
                job,
                job_id,
                Instant::now(),
            ),
            job_id,
            savepoint_replies: HashMap::new(),
            stop_in_progress: None,
            stopped_with: None,
        })
    }

    /// Triggers a savepoint into a new folder under `target` at the running sources; `reply`
    /// is answered when it ends. With `stop` (`Some(drain)`) the sources end their streams
    /// once it completed. `Err`: the job must fail.
    pub fn trigger_savepoint(
        &mut self,
        target: &str,
        stop: Option<bool>,
        reply: Reply<Result<String, ClusterError>>,
        tasks: impl Fn(TaskId) -> Option<(SubtaskKey, TaskExecutorGateway)>,
    ) -> Result<Notifications, String> {
        match self
            .coordinator
            .trigger_savepoint(target, Instant::now(), wall_millis())
        {
            Ok((id, outcome)) => {
                tracing::info!(job = %self.job_id, checkpoint = id, target, "triggering savepoint");
                self.savepoint_replies.insert(id, reply);
                if stop.is_some() {
                    self.stop_in_progress = Some(id);
                }
                if let Some(trigger) = outcome.trigger {
                    for task in trigger.tasks {
                        if let Some((key, gateway)) = tasks(task) {
                            match stop {
                                Some(drain) => {
                                    gateway.stop_with_savepoint(key, trigger.barrier, drain)
                                }
                                None => gateway.trigger_checkpoint(key, trigger.barrier),
                            }
                        }
                    }
                }
                Ok(self.notifications(outcome.completed))
            }
            Err(reason) => {
                let _ = reply.send(Err(ClusterError::Savepoint {
                    job_id: self.job_id,
                    reason,
                }));
                Ok(Vec::new())
            }
        }
    }

    /// Answers those waiting for savepoints that ended.
    fn answer_savepoints(&mut self) {
        for (id, result) in self.coordinator.take_savepoint_results() {
            if self.stop_in_progress == Some(id) {
                self.stop_in_progress = None;
                self.stopped_with = result.as_ref().ok().cloned();
            }
            if let Some(reply) = self.savepoint_replies.remove(&id) {
                let job_id = self.job_id;
                let _ =
                    reply.send(result.map_err(|reason| ClusterError::Savepoint { job_id, reason }));
            }
        }
    }

    /// What the subtasks deployed in run `run` are given to take part: their reports carry
    /// the run, so that those of a run replaced by a restart are ignored.
    pub fn for_tasks(&self, job_master: &JobMasterGateway, run: u32) -> TaskCheckpointing {
        TaskCheckpointing {
            storage: self.coordinator.storage().clone(),
            responder: std::sync::Arc::new(RunResponder {
                job_master: job_master.clone(),
                run,
            }),
            incremental: self.coordinator.config().incremental,
        }
    }

    /// When [`on_timer`](Self::on_timer) is due.
    pub fn next_wakeup(&self) -> Instant {
        self.coordinator.next_wakeup()
    }

    /// Expires timed-out checkpoints and triggers the next one at the running sources.
    /// `Err`: the job must fail.
    pub fn on_timer(
        &mut self,
        tasks: impl Fn(TaskId) -> Option<(SubtaskKey, TaskExecutorGateway)>,
    ) -> Result<Notifications, String> {
        let outcome = self
            .coordinator
            .on_timer(Instant::now(), wall_millis())
            .map_err(|e| e.to_string())?;
        if let Some(trigger) = outcome.trigger {
            for task in trigger.tasks {
                if let Some((key, gateway)) = tasks(task) {
                    gateway.trigger_checkpoint(key, trigger.barrier);
                }
            }
        }
        Ok(self.notifications(outcome.completed))
    }

    /// A subtask's acknowledgement.
    pub fn acknowledge(&mut self, ack: TaskAcknowledgement) -> Result<Notifications, String> {
        let completed = self
            .coordinator
            .acknowledge(ack, Instant::now(), wall_millis())
            .map_err(|e| e.to_string())?;
        Ok(self.notifications(completed))
    }

    /// A subtask could not take its part.
    pub fn decline(
        &mut self,
        task: TaskId,
        checkpoint: u64,
        reason: &str,
    ) -> Result<Notifications, String> {
        self.coordinator
            .decline(task, checkpoint, reason)
            .map_err(|e| e.to_string())?;
        Ok(self.notifications(None))
    }

    /// A subtask finished with its final state.
    pub fn task_finished(
        &mut self,
        task: TaskId,
        state: FinishedTaskState,
    ) -> Result<Notifications, String> {
        let completed = self
            .coordinator
            .task_finished(task, state, Instant::now(), wall_millis())
            .map_err(|e| e.to_string())?;
        let mut notifications = self.notifications(None);
        notifications.extend(completed.iter().map(|c| {
            log_completed(c);
            (c.id, true)
        }));
        Ok(notifications)
    }

    /// What the running subtasks are to be told: the checkpoints aborted meanwhile, then
    /// `completed`.
    fn notifications(&mut self, completed: Option<CompletedCheckpoint>) -> Notifications {
        self.answer_savepoints();
        let mut notifications: Notifications = self
            .coordinator
            .take_aborted()
            .into_iter()
            .map(|id| (id, false))
            .collect();
        if let Some(checkpoint) = completed {
            log_completed(&checkpoint);
            notifications.push((checkpoint.id, true));
        }
        notifications
    }

    /// Subtasks restart (`restarted` tells which): pending checkpoints are dropped.
    pub fn restart(&mut self, restarted: impl Fn(TaskId) -> bool) {
        self.coordinator.restart(restarted, Instant::now());
        self.answer_savepoints();
    }

    /// The state of the latest completed checkpoint, for `job`'s operators.
    pub fn latest_restore(&self, job: &JobGraph) -> Result<Option<JobRestoreState>, String> {
        let Some(latest) = self.coordinator.latest_completed() else {
            return Ok(None);
        };
        let reader = self
            .coordinator
            .storage()
            .reader(latest.id)
            .map_err(|e| format!("cannot read checkpoint {}: {e}", latest.id))?;
        // The job's own checkpoint: every operator it holds state of is still there.
        JobRestoreState::load(&reader, job, false).map(Some)
    }

    /// The job's state is being restored from `restore`.
    pub fn restored_from(&mut self, restore: &JobRestoreState) {
        self.coordinator
            .restored_from(eddy_checkpoint::RestoredCheckpoint {
                id: restore.checkpoint_id,
                location: restore.location.clone(),
                restore_timestamp: wall_millis(),
                is_savepoint: restore.is_savepoint,
            });
    }

    /// The checkpointing settings.
    pub fn config(&self) -> &CheckpointConfig {
        self.coordinator.config()
    }

    /// The savepoint a completed stop-with-savepoint wrote.
    pub fn stopped_with_savepoint(&self) -> Option<&str> {
        self.stopped_with.as_deref()
    }

    /// The checkpoints so far.
    pub fn stats(&self) -> &eddy_checkpoint::CheckpointStats {
        self.coordinator.stats()
    }

    /// The job reached a terminal state: keep or delete its checkpoints.
    pub fn job_ended(&mut self, status: JobStatus) {
        let end = match status {
            JobStatus::Finished => JobEnd::Finished,
            JobStatus::Canceled => JobEnd::Canceled,
            _ => JobEnd::Failed,
        };
        self.coordinator.job_ended(end);
        self.answer_savepoints();
    }
}

fn log_completed(checkpoint: &CompletedCheckpoint) {
    tracing::debug!(checkpoint = checkpoint.id, location = %checkpoint.location, "checkpoint completed");
}

/// Where the subtasks of one run report.
struct RunResponder {
    job_master: JobMasterGateway,
    run: u32,
}

impl CheckpointResponder for RunResponder {
    fn acknowledge(&self, ack: TaskAcknowledgement) {
        let message = JobMasterMessage::CheckpointAcknowledged(self.run, ack);
        let _ = self.job_master.inbox.send(message);
    }

    fn decline(&self, task: TaskId, checkpoint: u64, reason: String) {
        let _ = self
            .job_master
            .inbox
            .send(JobMasterMessage::CheckpointDeclined {
                run: self.run,
                task,
                checkpoint,
                reason,
            });
    }

    fn finished(&self, task: TaskId, state: FinishedTaskState) {
        let message = JobMasterMessage::TaskFinishedState(self.run, task, state);
        let _ = self.job_master.inbox.send(message);
    }
}
