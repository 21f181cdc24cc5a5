//! The TaskExecutor (TaskManager): offers slots and runs the subtasks deployed into them.

use std::collections::HashMap;
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};

use eddy_checkpoint::CheckpointBarrier;
use eddy_core::ids::{JobId, ResourceId};
use eddy_graph::{JobGraph, VertexId};
use eddy_runtime::checkpoint::TaskCheckpointing;
use eddy_runtime::factory::JobCode;
use eddy_runtime::network::LocalNetwork;
use eddy_runtime::restore::JobRestoreState;
use eddy_runtime::task::{spawn_task, TaskDescriptor, TaskHandle, TaskOutcome};

use crate::gateway::spawn_component;
use crate::job_master::JobMasterGateway;
use crate::resource_manager::ResourceManagerGateway;
use crate::ClusterError;

/// Identifies a subtask of one job run.
pub type SubtaskKey = (JobId, u32, VertexId, u32);

pub(crate) enum TaskExecutorMessage {
    SubmitTask {
        descriptor: Box<TaskDescriptor>,
        job: Arc<JobGraph>,
        code: Arc<JobCode>,
        job_master: JobMasterGateway,
        checkpointing: Option<TaskCheckpointing>,
        restore: Option<Arc<JobRestoreState>>,
    },
    CancelTask(SubtaskKey),
    TriggerCheckpoint(SubtaskKey, CheckpointBarrier),
    StopWithSavepoint(SubtaskKey, CheckpointBarrier, bool),
    NotifyCheckpoint(SubtaskKey, u64, bool),
    TaskEnded(SubtaskKey, TaskOutcome),
    Shutdown,
}

/// Handle on a TaskExecutor.
#[derive(Clone)]
pub struct TaskExecutorGateway {
    inbox: Sender<TaskExecutorMessage>,
}

impl TaskExecutorGateway {
    /// Deploys a subtask; its outcome is reported to `job_master`. With `checkpointing`, it
    /// takes part in checkpoints; with `restore`, it starts from that state.
    pub fn submit_task(
        &self,
        descriptor: TaskDescriptor,
        job: Arc<JobGraph>,
        code: Arc<JobCode>,
        job_master: JobMasterGateway,
        checkpointing: Option<TaskCheckpointing>,
        restore: Option<Arc<JobRestoreState>>,
    ) -> Result<(), ClusterError> {
        self.inbox
            .send(TaskExecutorMessage::SubmitTask {
                descriptor: Box::new(descriptor),
                job,
                code,
                job_master,
                checkpointing,
                restore,
            })
            .map_err(|_| ClusterError::ShutDown)
    }

    /// Tells a running subtask that a checkpoint completed (or was aborted).
    pub fn notify_checkpoint(&self, key: SubtaskKey, checkpoint_id: u64, completed: bool) {
        let _ = self.inbox.send(TaskExecutorMessage::NotifyCheckpoint(
            key,
            checkpoint_id,
            completed,
        ));
    }

    /// Injects a checkpoint barrier at a running source subtask.
    pub fn trigger_checkpoint(&self, key: SubtaskKey, barrier: CheckpointBarrier) {
        let _ = self
            .inbox
            .send(TaskExecutorMessage::TriggerCheckpoint(key, barrier));
    }

    /// Injects the barrier of a stop-with-savepoint at a running source subtask, which then
    /// ends its stream once the savepoint completed (after the final watermark first when
    /// `drain`).
    pub fn stop_with_savepoint(&self, key: SubtaskKey, barrier: CheckpointBarrier, drain: bool) {
        let _ = self
            .inbox
            .send(TaskExecutorMessage::StopWithSavepoint(key, barrier, drain));
    }

    /// Cancels a running subtask.
    pub fn cancel_task(&self, key: SubtaskKey) {
        let _ = self.inbox.send(TaskExecutorMessage::CancelTask(key));
    }

    pub(crate) fn shutdown(&self) {
        let _ = self.inbox.send(TaskExecutorMessage::Shutdown);
    }
}

/// Starts a TaskExecutor with `slots` slots and registers it with the ResourceManager.
pub fn start_task_executor(
    index: u32,
    slots: u32,
    network: Arc<LocalNetwork>,
    resource_manager: &ResourceManagerGateway,
) -> Result<(TaskExecutorGateway, std::thread::JoinHandle<()>), ClusterError> {
    let (tx, rx) = unbounded();
    let gateway = TaskExecutorGateway { inbox: tx.clone() };
    let id = ResourceId::generate();
    let thread = spawn_component(&format!("taskmanager-{index}"), move || {
        run(rx, tx, network)
    })?;
    resource_manager.register_task_executor(id, slots, gateway.clone());
    Ok((gateway, thread))
}

struct RunningTask {
    handle: TaskHandle,
    job_master: JobMasterGateway,
}

fn run(
    inbox: Receiver<TaskExecutorMessage>,
    myself: Sender<TaskExecutorMessage>,
    network: Arc<LocalNetwork>,
) {
    let mut tasks: HashMap<SubtaskKey, RunningTask> = HashMap::new();
    while let Ok(message) = inbox.recv() {
        match message {
            TaskExecutorMessage::SubmitTask {
                descriptor,
                job,
                code,
                job_master,
                checkpointing,
                restore,
            } => {
                let key = (
                    descriptor.job_id,
                    descriptor.run,
                    descriptor.vertex,
                    descriptor.subtask_index,
                );
                let notify = myself.clone();
                let on_exit = move |outcome| {
                    let _ = notify.send(TaskExecutorMessage::TaskEnded(key, outcome));
                };
                match spawn_task(
                    *descriptor,
                    job,
                    code,
                    network.clone(),
                    checkpointing,
                    restore,
                    on_exit,
                ) {
                    Ok(handle) => {
                        tasks.insert(key, RunningTask { handle, job_master });
                    }
                    Err(e) => job_master.task_ended(
                        key,
                        TaskOutcome::Failed(format!("could not start a task thread: {e}")),
                    ),
                }
            }
            TaskExecutorMessage::TriggerCheckpoint(key, barrier) => {
                if let Some(task) = tasks.get(&key) {
                    task.handle.trigger_checkpoint(barrier);
                }
            }
            TaskExecutorMessage::StopWithSavepoint(key, barrier, drain) => {
                if let Some(task) = tasks.get(&key) {
                    task.handle.stop_with_savepoint(barrier, drain);
                }
            }
            TaskExecutorMessage::NotifyCheckpoint(key, checkpoint_id, completed) => {
                if let Some(task) = tasks.get(&key) {
                    task.handle.notify_checkpoint(checkpoint_id, completed);
                }
            }
            TaskExecutorMessage::CancelTask(key) => {
                if let Some(task) = tasks.get(&key) {
                    task.handle.cancel();
                }
            }
            TaskExecutorMessage::TaskEnded(key, outcome) => {
                if let Some(task) = tasks.remove(&key) {
                    task.job_master.task_ended(key, outcome);
                    task.handle.join();
                }
            }
            TaskExecutorMessage::Shutdown => break,
        }
    }
    for task in tasks.values() {
        task.handle.cancel();
    }
}
