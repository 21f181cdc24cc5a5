//! The checkpoint coordinator: one per job, run by its JobMaster.
//!
//! It is plain logic without threads or messages of its own: the JobMaster calls
//! [`on_timer`](CheckpointCoordinator::on_timer) when [`next_wakeup`] is due and passes on
//! what the subtasks report; the coordinator answers with what to do (trigger barrier n at
//! these source subtasks) and does the checkpoint I/O it owns (the finished subtasks' final
//! states, `_metadata`, discarding old checkpoints).
//!
//! A subtask that has finished (a bounded source, or anything downstream of finished inputs)
//! sends its final state once; every later checkpoint uses it for that subtask, so finished
//! tasks never hold checkpoints up (Flink's checkpoints after tasks finish). Its downstream
//! subtasks take the end of its stream in place of the barriers it no longer sends.
//!
//! [`next_wakeup`]: CheckpointCoordinator::next_wakeup

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_core::ids::JobId;
use eddy_graph::{JobGraph, VertexId};

use crate::barrier::CheckpointBarrier;
use crate::config::{CheckpointConfig, CheckpointRetention};
use crate::error::CheckpointError;
use crate::metadata::{
    CheckpointMetadata, OperatorCheckpointState, SubtaskStateHandle, METADATA_VERSION,
};
use crate::shared_registry::SharedStateRegistry;
use crate::storage::CheckpointStorage;

/// A subtask: its JobGraph vertex and subtask index.
pub type TaskId = (VertexId, u32);

/// One operator as checkpoints know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOperator {
    /// Its id (uid or graph-position hash).
    pub operator_id: String,
    /// Its name.
    pub name: String,
    /// Its parallelism.
    pub parallelism: u32,
    /// Its max parallelism.
    pub max_parallelism: u32,
}

/// One subtask as checkpoints know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTask {
    /// The subtask.
    pub task: TaskId,
    /// Whether its chain starts with a source (barriers are injected there).
    pub is_source: bool,
}

/// The operators and subtasks of a job, as the coordinator tracks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointPlan {
    /// Every operator, in JobGraph chain order.
    pub operators: Vec<PlannedOperator>,
    /// Every subtask.
    pub tasks: Vec<PlannedTask>,
}

impl CheckpointPlan {
    /// The plan of a JobGraph.
    pub fn from_job_graph(job: &JobGraph) -> Self {
        let graph = &job.stream_graph;
        let operators = job
            .vertices
            .iter()
            .flat_map(|v| &v.operators)
            .map(|&node| {
                let n = graph.node(node);
                PlannedOperator {
                    operator_id: graph.operator_id(node),
                    name: n.name.clone(),
                    parallelism: n.parallelism,
                    max_parallelism: n.max_parallelism,
                }
            })
            .collect();
        let tasks = job
            .vertices
            .iter()
            .flat_map(|v| {
                let is_source = graph.node(v.head()).num_inputs == 0;
                (0..v.parallelism).map(move |subtask| PlannedTask {
                    task: (v.id, subtask),
                    is_source,
                })
            })
            .collect();
        CheckpointPlan { operators, tasks }
    }
}

/// A subtask's report that its part of a checkpoint is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskAcknowledgement {
    /// The subtask.
    pub task: TaskId,
    /// The checkpoint.
    pub checkpoint_id: u64,
    /// Its operators' states: (operator id, where the state is), one per chained operator.
    pub states: Vec<(String, SubtaskStateHandle)>,
    /// How long the subtask's synchronous part took (its processing paused meanwhile).
    pub sync_duration: Duration,
}

/// A finished subtask's final state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedTaskState {
    /// The last checkpoint whose barrier the subtask passed on (0: none); its state stands for
    /// every later checkpoint.
    pub last_barrier: u64,
    /// Per chained operator: (operator id, encoded state; empty when it had none).
    pub states: Vec<(String, Vec<u8>)>,
}

/// Barrier `barrier` is to be injected at `tasks` (running source subtasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The barrier.
    pub barrier: CheckpointBarrier,
    /// Where to inject it.
    pub tasks: Vec<TaskId>,
}

/// A checkpoint whose `_metadata` is written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CompletedCheckpoint {
    /// Its id.
    pub id: u64,
    /// Its folder.
    pub location: String,
    /// From trigger to completion.
    pub duration: Duration,
    /// Bytes the checkpoint wrote (for an incremental checkpoint, only its new files).
    pub state_size: u64,
    /// Bytes of all the state it holds, files shared with earlier checkpoints included.
    #[serde(default)]
    pub full_state_size: u64,
    /// Whether it is a savepoint (in a folder of its own, never discarded by the job).
    #[serde(default)]
    pub is_savepoint: bool,
    /// When it was triggered, in milliseconds since the epoch.
    #[serde(default)]
    pub trigger_timestamp: i64,
}

/// A checkpoint that failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailedCheckpoint {
    /// Its id.
    pub id: u64,
    /// When it was triggered, in milliseconds since the epoch.
    pub trigger_timestamp: i64,
    /// When it failed, in milliseconds since the epoch.
    pub failure_timestamp: i64,
    /// Why.
    pub message: String,
    /// Whether it was a savepoint.
    pub is_savepoint: bool,
}

/// The checkpoint a job's state was last restored from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RestoredCheckpoint {
    /// Its id.
    pub id: u64,
    /// Its folder.
    pub location: String,
    /// When the restore happened, in milliseconds since the epoch.
    pub restore_timestamp: i64,
    /// Whether it is a savepoint.
    pub is_savepoint: bool,
}

/// How a job ended, for the retention of its checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// Every task finished: checkpoints are deleted.
    Finished,
    /// Cancelled: kept only under RETAIN_ON_CANCELLATION.
    Canceled,
    /// Failed: kept unless NO_EXTERNALIZED_CHECKPOINTS.
    Failed,
}

/// A checkpoint failure the job does not tolerate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Exceeded checkpoint tolerable failure threshold ({tolerable} failed checkpoints in a row \
     allowed by execution.checkpointing.tolerable-failed-checkpoints); the last one: {last}"
)]
pub struct CoordinatorError {
    /// The tolerated number.
    pub tolerable: u32,
    /// The last failure's reason.
    pub last: String,
}

/// Counters over a job's checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckpointStats {
    /// Checkpoints triggered.
    pub triggered: u64,
    /// Checkpoints completed.
    pub completed: u64,
    /// Checkpoints that failed (timed out, declined, or not written).
    pub failed: u64,
    /// Failures since the last completed checkpoint.
    pub failed_in_a_row: u32,
    /// Every completed checkpoint, in order.
    pub history: Vec<CompletedCheckpoint>,
    /// The synchronous pause of every acknowledgement (one per subtask and checkpoint).
    pub sync_pauses: Vec<Duration>,
    /// The latest checkpoint that failed.
    #[serde(default)]
    pub latest_failed: Option<FailedCheckpoint>,
    /// How often the job's state was restored from a checkpoint (a start with `-s`, each
    /// failover that found a completed checkpoint).
    #[serde(default)]
    pub restored: u64,
    /// The latest of those restores.
    #[serde(default)]
    pub latest_restored: Option<RestoredCheckpoint>,
}

struct PendingCheckpoint {
    barrier: CheckpointBarrier,
    triggered_at: Instant,
    awaiting: HashSet<TaskId>,
    states: HashMap<String, BTreeMap<u32, SubtaskStateHandle>>,
    /// Subtasks whose final state stands in for their acknowledgement.
    finished: Vec<TaskId>,
    /// The folder when it is a savepoint.
    savepoint: Option<String>,
}

/// Triggers, tracks and completes a job's checkpoints.
pub struct CheckpointCoordinator {
    config: CheckpointConfig,
    storage: Arc<CheckpointStorage>,
    plan: CheckpointPlan,
    job_id: JobId,
    next_id: u64,
    next_trigger: Instant,
    pending: BTreeMap<u64, PendingCheckpoint>,
    completed: VecDeque<CompletedCheckpoint>,
    finished: HashMap<TaskId, FinishedTaskState>,
    /// Checkpoints aborted since the last [`take_aborted`](CheckpointCoordinator::take_aborted).
    aborted: Vec<u64>,
    /// Savepoints that ended since the last
    /// [`take_savepoint_results`](CheckpointCoordinator::take_savepoint_results).
    savepoint_results: Vec<(u64, Result<String, String>)>,
    stats: CheckpointStats,
    /// The shared files of incremental checkpoints, and who refers to them.
    shared: SharedStateRegistry,
}

/// What [`CheckpointCoordinator::on_timer`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimerOutcome {
    /// A barrier to inject.
    pub trigger: Option<Trigger>,
    /// A checkpoint that completed at once (every subtask had finished).
    pub completed: Option<CompletedCheckpoint>,
}

impl CheckpointCoordinator {
    /// A coordinator whose first checkpoint is due one interval after `now`.
    pub fn new(
        config: CheckpointConfig,
        storage: Arc<CheckpointStorage>,
        job: &JobGraph,
        job_id: JobId,
        now: Instant,
    ) -> Self {
        CheckpointCoordinator {
            next_trigger: now + config.interval,
            config,
            storage,
            plan: CheckpointPlan::from_job_graph(job),
            job_id,
            next_id: 1,
            pending: BTreeMap::new(),
            completed: VecDeque::new(),
            finished: HashMap::new(),
            aborted: Vec::new(),
            savepoint_results: Vec::new(),
            stats: CheckpointStats::default(),
            shared: SharedStateRegistry::default(),
        }
    }

    /// The storage checkpoints are written to.
    pub fn storage(&self) -> &Arc<CheckpointStorage> {
        &self.storage
    }

    /// The settings.
    pub fn config(&self) -> &CheckpointConfig {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> &CheckpointStats {
        &self.stats
    }

    /// The job's state was restored from `checkpoint`.
    pub fn restored_from(&mut self, checkpoint: RestoredCheckpoint) {
        self.stats.restored += 1;
        self.stats.latest_restored = Some(checkpoint);
    }

    /// The retained completed checkpoints, oldest first.
    pub fn completed(&self) -> impl Iterator<Item = &CompletedCheckpoint> {
        self.completed.iter()
    }

    /// The newest completed checkpoint still retained.
    pub fn latest_completed(&self) -> Option<&CompletedCheckpoint> {
        self.completed.back()
    }

    /// Subtasks are being restarted (failover; `restarted` tells which): the pending
    /// checkpoints are dropped without counting as failures (the restarted subtasks will never
    /// acknowledge them), and the restarted subtasks count as running again. The next
    /// checkpoint is due one interval from `now`.
    pub fn restart(&mut self, restarted: impl Fn(TaskId) -> bool, now: Instant) {
        for (id, pending) in std::mem::take(&mut self.pending) {
            self.discard(id);
            self.savepoint_ended(id, &pending, || {
                Err("the job restarted after a failure before it completed".into())
            });
        }
        self.finished.retain(|&task, _| !restarted(task));
        self.next_trigger = now + self.config.interval;
    }

    /// When [`on_timer`](Self::on_timer) should run next: the next trigger or the earliest
    /// timeout.
    pub fn next_wakeup(&self) -> Instant {
        let timeouts = self
            .pending
            .values()
            .map(|p| p.triggered_at + self.config.timeout);
        timeouts.fold(self.next_trigger, Instant::min)
    }

    /// The checkpoints aborted since the last call (their subtasks are told).
    pub fn take_aborted(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.aborted)
    }

    /// The savepoints that ended since the last call: (id, its folder or why it failed).
    pub fn take_savepoint_results(&mut self) -> Vec<(u64, Result<String, String>)> {
        std::mem::take(&mut self.savepoint_results)
    }

    /// Triggers a savepoint into a new folder under `target_directory` (see
    /// [`CheckpointStorage::begin_savepoint`]): a checkpoint like the others, but written to
    /// its own folder, self-contained, and never subsumed, retained-over or discarded by the
    /// job. Its end is reported by [`take_savepoint_results`](Self::take_savepoint_results);
    /// its failure does not count against `tolerable-failed-checkpoints`. Returns its id and
    /// where to inject its barrier.
    pub fn trigger_savepoint(
        &mut self,
        target_directory: &str,
        now: Instant,
        wall_millis: i64,
    ) -> Result<(u64, TimerOutcome), String> {
        let id = self.next_id;
        let location = self
            .storage
            .begin_savepoint(id, target_directory, self.job_id)
            .map_err(|e| format!("cannot take a savepoint: {e}"))?;
        let outcome = self
            .begin(now, wall_millis, Some(location))
            .map_err(|e| e.to_string())?;
        Ok((id, outcome))
    }

    /// Aborts the checkpoints that timed out, then triggers the next one if it is due and
    /// fewer than `max-concurrent-checkpoints` are pending. The barrier goes to the running
    /// sources; when none runs any more, the checkpoint completes as the remaining subtasks
    /// finish (at once when all have: the final checkpoint that lets finished subtasks commit
    /// and end). `wall_millis` is the barrier's timestamp.
    pub fn on_timer(
        &mut self,
        now: Instant,
        wall_millis: i64,
    ) -> Result<TimerOutcome, CoordinatorError> {
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.triggered_at + self.config.timeout)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            let reason = format!(
                "checkpoint {id} expired before completing (execution.checkpointing.timeout: \
                 {} ms)",
                self.config.timeout.as_millis()
            );
            self.abort(id, reason)?;
        }
        if now < self.next_trigger || self.pending.len() >= self.config.max_concurrent as usize {
            return Ok(TimerOutcome::default());
        }
        self.next_trigger = now + self.config.interval;
        self.begin(now, wall_millis, None)
    }

    /// Starts checkpoint `next_id` (a savepoint into `savepoint` when given).
    fn begin(
        &mut self,
        now: Instant,
        wall_millis: i64,
        savepoint: Option<String>,
    ) -> Result<TimerOutcome, CoordinatorError> {
        let sources: Vec<TaskId> = self
            .plan
            .tasks
            .iter()
            .filter(|t| t.is_source && !self.finished.contains_key(&t.task))
            .map(|t| t.task)
            .collect();
        let barrier = CheckpointBarrier {
            id: self.next_id,
            timestamp: wall_millis,
            mode: self.config.mode,
        };
        self.next_id += 1;
        self.stats.triggered += 1;
        let mut pending = PendingCheckpoint {
            barrier,
            triggered_at: now,
            awaiting: HashSet::new(),
            states: HashMap::new(),
            finished: Vec::new(),
            savepoint,
        };
        for task in &self.plan.tasks {
            if self.finished.contains_key(&task.task) {
                pending.finished.push(task.task);
            } else {
                pending.awaiting.insert(task.task);
            }
        }
        tracing::debug!(job = %self.job_id, checkpoint = barrier.id, "triggering checkpoint");
        let all_finished = pending.awaiting.is_empty();
        self.pending.insert(barrier.id, pending);
        let completed = if all_finished {
            self.complete(barrier.id, now, wall_millis)?
        } else {
            None
        };
        Ok(TimerOutcome {
            trigger: Some(Trigger {
                barrier,
                tasks: sources,
            }),
            completed,
        })
    }

    /// A subtask wrote its part of a checkpoint. Returns the checkpoint if this completed it.
    pub fn acknowledge(
        &mut self,
        ack: TaskAcknowledgement,
        now: Instant,
        wall_millis: i64,
    ) -> Result<Option<CompletedCheckpoint>, CoordinatorError> {
        self.stats.sync_pauses.push(ack.sync_duration);
        let awaited = self
            .pending
            .get_mut(&ack.checkpoint_id)
            .is_some_and(|pending| pending.awaiting.remove(&ack.task));
        if !awaited {
            // Already aborted, or subsumed by a later checkpoint: the shared files it uploaded
            // (named for this checkpoint alone) are of no use to anyone.
            self.delete_unregistered_uploads(&ack);
            return Ok(None);
        }
        for (_, handle) in &ack.states {
            if let Err(reason) = self.shared.register(ack.checkpoint_id, handle) {
                self.delete_unregistered_uploads(&ack);
                let (operator, subtask) = ack.task;
                self.abort(
                    ack.checkpoint_id,
                    format!("subtask {operator}/{subtask}: {reason}"),
                )?;
                return Ok(None);
            }
        }
        let Some(pending) = self.pending.get_mut(&ack.checkpoint_id) else {
            return Ok(None);
        };
        for (operator_id, handle) in ack.states {
            pending
                .states
                .entry(operator_id)
                .or_default()
                .insert(ack.task.1, handle);
        }
        if pending.awaiting.is_empty() {
            return self.complete(ack.checkpoint_id, now, wall_millis);
        }
        Ok(None)
    }

    /// A subtask could not take its part of a checkpoint: the checkpoint fails.
    pub fn decline(&mut self, task: TaskId, id: u64, reason: &str) -> Result<(), CoordinatorError> {
        if self.pending.contains_key(&id) {
            self.abort(
                id,
                format!("subtask {}/{} declined it: {reason}", task.0, task.1),
            )?;
        }
        Ok(())
    }

    /// A subtask finished with `state`; the checkpoints waiting for it that it passed no
    /// barrier of take that state instead. Returns the checkpoints this completed.
    pub fn task_finished(
        &mut self,
        task: TaskId,
        state: FinishedTaskState,
        now: Instant,
        wall_millis: i64,
    ) -> Result<Vec<CompletedCheckpoint>, CoordinatorError> {
        let last_barrier = state.last_barrier;
        self.finished.insert(task, state);
        if self.finished.len() == self.plan.tasks.len() {
            // Every subtask has finished and waits for a checkpoint with its final state.
            self.next_trigger = self.next_trigger.min(now + self.config.min_pause);
        }
        let mut done = Vec::new();
        for (&id, pending) in self.pending.iter_mut() {
            if id > last_barrier && pending.awaiting.remove(&task) {
                pending.finished.push(task);
                if pending.awaiting.is_empty() {
                    done.push(id);
                }
            }
        }
        let mut completed = Vec::new();
        for id in done {
            if let Some(checkpoint) = self.complete(id, now, wall_millis)? {
                completed.push(checkpoint);
            }
        }
        Ok(completed)
    }

    /// The job ended: pending checkpoints are discarded, completed ones kept or deleted as
    /// `execution.checkpointing.externalized-checkpoint-retention` says. Call it once every
    /// subtask has ended: folders of checkpoints that were aborted but written to afterwards
    /// are removed too.
    pub fn job_ended(&mut self, end: JobEnd) {
        for (id, pending) in std::mem::take(&mut self.pending) {
            self.discard(id);
            self.savepoint_ended(id, &pending, || {
                Err("the job ended before it completed".into())
            });
        }
        let keep = match end {
            JobEnd::Finished => false,
            JobEnd::Canceled => self.config.retention == CheckpointRetention::RetainOnCancellation,
            JobEnd::Failed => {
                self.config.retention != CheckpointRetention::NoExternalizedCheckpoints
            }
        };
        if !keep {
            self.completed.clear();
        }
        if let Err(e) = self.storage.discard_local_copies() {
            tracing::warn!(job = %self.job_id, "could not delete the local copies: {e}");
        }
        let kept: Vec<u64> = self.completed.iter().map(|c| c.id).collect();
        if let Err(e) = self.storage.discard_all_except(&kept) {
            tracing::warn!(job = %self.job_id, "could not delete checkpoints: {e}");
        }
        if kept.is_empty() {
            if let Err(e) = self.storage.discard_shared() {
                tracing::warn!(job = %self.job_id, "could not delete the shared files: {e}");
            }
            return;
        }
        // Files uploaded for checkpoints that never completed (a snapshot thread still
        // writing when its checkpoint was aborted) are referred to by none.
        let unreferenced = self.storage.shared_files().map(|files| {
            files
                .into_iter()
                .filter(|name| !self.shared.is_referenced(name))
                .collect::<Vec<_>>()
        });
        match unreferenced {
            Ok(files) => {
                for name in files {
                    if let Err(e) = self.storage.delete_shared(&name) {
                        tracing::warn!(job = %self.job_id, file = %name, "could not delete a shared file: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!(job = %self.job_id, "could not list the shared files: {e}"),
        }
    }

    /// Deletes the shared files an acknowledgement uploaded that no checkpoint refers to (it
    /// came late, or its checkpoint failed on it).
    fn delete_unregistered_uploads(&self, ack: &TaskAcknowledgement) {
        let uploads = ack
            .states
            .iter()
            .flat_map(|(_, handle)| &handle.shared)
            .filter(|file| file.uploaded_now && !self.shared.is_referenced(&file.name));
        for file in uploads {
            if let Err(e) = self.storage.delete_shared(&file.name) {
                tracing::warn!(job = %self.job_id, file = %file.name, "could not delete a shared file: {e}");
            }
        }
    }

    /// Deletes checkpoint `id`'s folder, and the shared files only it referred to.
    fn discard(&mut self, id: u64) {
        if let Err(e) = self.storage.discard(id) {
            tracing::warn!(job = %self.job_id, checkpoint = id, "could not delete checkpoint: {e}");
        }
        for name in self.shared.release(id) {
            if let Err(e) = self.storage.delete_shared(&name) {
                tracing::warn!(job = %self.job_id, file = %name, "could not delete a shared file: {e}");
            }
        }
    }

    /// Reports the end of checkpoint `id` if it is a savepoint (`result` says how it ended)
    /// and sends its later files, if any, to the job's folder again.
    fn savepoint_ended(
        &mut self,
        id: u64,
        pending: &PendingCheckpoint,
        result: impl FnOnce() -> Result<String, String>,
    ) {
        if pending.savepoint.is_some() {
            self.storage.end_savepoint(id);
            self.savepoint_results.push((id, result()));
        }
    }

    fn abort(&mut self, id: u64, reason: String) -> Result<(), CoordinatorError> {
        let Some(pending) = self.pending.remove(&id) else {
            return Ok(());
        };
        tracing::warn!(job = %self.job_id, checkpoint = id, "checkpoint failed: {reason}");
        self.discard(id);
        self.aborted.push(id);
        self.stats.failed += 1;
        self.stats.latest_failed = Some(FailedCheckpoint {
            id,
            trigger_timestamp: pending.barrier.timestamp,
            failure_timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            message: reason.clone(),
            is_savepoint: pending.savepoint.is_some(),
        });
        if pending.savepoint.is_some() {
            // A failed savepoint is the caller's error to handle, not the job's.
            self.savepoint_ended(id, &pending, || Err(reason));
            return Ok(());
        }
        self.stats.failed_in_a_row += 1;
        if self.stats.failed_in_a_row > self.config.tolerable_failures {
            return Err(CoordinatorError {
                tolerable: self.config.tolerable_failures,
                last: reason,
            });
        }
        Ok(())
    }

    fn complete(
        &mut self,
        id: u64,
        now: Instant,
        wall_millis: i64,
    ) -> Result<Option<CompletedCheckpoint>, CoordinatorError> {
        let Some(pending) = self.pending.remove(&id) else {
            return Ok(None);
        };
        let metadata = match self.write_checkpoint(&pending, wall_millis) {
            Ok(metadata) => metadata,
            Err(e) => {
                // Put back so that `abort` counts and discards it.
                self.pending.insert(id, pending);
                self.abort(id, e.to_string())?;
                return Ok(None);
            }
        };
        self.stats.completed += 1;
        let checkpoint = CompletedCheckpoint {
            id,
            location: self.storage.checkpoint_location(id),
            duration: now.saturating_duration_since(pending.triggered_at),
            state_size: metadata.state_size(),
            full_state_size: metadata.full_state_size(),
            is_savepoint: pending.savepoint.is_some(),
            trigger_timestamp: pending.barrier.timestamp,
        };
        if checkpoint.is_savepoint {
            tracing::info!(
                job = %self.job_id,
                checkpoint = id,
                location = %checkpoint.location,
                bytes = checkpoint.state_size,
                "completed savepoint"
            );
            self.stats.history.push(checkpoint.clone());
            let location = checkpoint.location.clone();
            self.savepoint_ended(id, &pending, || Ok(location));
            return Ok(Some(checkpoint));
        }
        self.stats.failed_in_a_row = 0;
        tracing::info!(
            job = %self.job_id,
            checkpoint = id,
            duration_ms = checkpoint.duration.as_millis() as u64,
            bytes = checkpoint.state_size,
            "completed checkpoint"
        );
        // Older checkpoints still pending are subsumed by this one (savepoints are not: each
        // was asked for).
        let older: Vec<u64> = self
            .pending
            .range(..id)
            .filter(|(_, p)| p.savepoint.is_none())
            .map(|(&k, _)| k)
            .collect();
        for old in older {
            self.pending.remove(&old);
            self.discard(old);
            self.aborted.push(old);
        }
        self.stats.history.push(checkpoint.clone());
        self.completed.push_back(checkpoint.clone());
        while self.completed.len() > self.config.num_retained as usize {
            if let Some(old) = self.completed.pop_front() {
                self.discard(old.id);
            }
        }
        self.next_trigger = self.next_trigger.max(now + self.config.min_pause);
        Ok(Some(checkpoint))
    }

    /// Writes the finished subtasks' states and then `_metadata`.
    fn write_checkpoint(
        &self,
        pending: &PendingCheckpoint,
        wall_millis: i64,
    ) -> Result<CheckpointMetadata, CheckpointError> {
        let id = pending.barrier.id;
        let mut states = pending.states.clone();
        for task in &pending.finished {
            let Some(finished) = self.finished.get(task) else {
                continue;
            };
            for (operator_id, bytes) in &finished.states {
                let mut handle = if bytes.is_empty() {
                    SubtaskStateHandle::empty()
                } else {
                    let name = format!("{operator_id}-{}", task.1);
                    self.storage.write_state(id, &name, bytes.clone())?
                };
                handle.finished = true;
                states
                    .entry(operator_id.clone())
                    .or_default()
                    .insert(task.1, handle);
            }
        }
        let mut operators: Vec<OperatorCheckpointState> = self
            .plan
            .operators
            .iter()
            .map(|op| {
                let mut by_subtask = states.remove(&op.operator_id).unwrap_or_default();
                let subtasks = (0..op.parallelism)
                    .map(|s| {
                        by_subtask
                            .remove(&s)
                            .unwrap_or_else(SubtaskStateHandle::empty)
                    })
                    .collect();
                OperatorCheckpointState {
                    operator_id: op.operator_id.clone(),
                    name: op.name.clone(),
                    parallelism: op.parallelism,
                    max_parallelism: op.max_parallelism,
                    subtasks,
                }
            })
            .collect();
        operators.sort_by(|a, b| a.operator_id.cmp(&b.operator_id));
        let metadata = CheckpointMetadata {
            version: METADATA_VERSION,
            job_id: self.job_id.to_string(),
            checkpoint_id: id,
            trigger_timestamp: pending.barrier.timestamp,
            completion_timestamp: wall_millis,
            operators,
            is_savepoint: pending.savepoint.is_some(),
        };
        self.storage.write_metadata(&metadata)?;
        Ok(metadata)
    }
}
