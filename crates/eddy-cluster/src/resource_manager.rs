//! The ResourceManager and its SlotManager: which TaskManagers exist, which slots are free.

use crossbeam_channel::{unbounded, Receiver, Sender};

use eddy_core::ids::{JobId, ResourceId};

use crate::gateway::spawn_component;
use crate::job_master::JobMasterGateway;
use crate::task_executor::TaskExecutorGateway;
use crate::ClusterError;

/// One slot given to a job.
#[derive(Clone)]
pub struct AllocatedSlot {
    /// The TaskManager holding it.
    pub task_manager: ResourceId,
    /// The slot's index in that TaskManager.
    pub slot_index: u32,
    /// How to reach that TaskManager.
    pub gateway: TaskExecutorGateway,
}

/// What the ResourceManager tells a JobMaster about its slot request.
pub enum SlotRequestAnswer {
    /// The slots, all at once.
    Allocated(Vec<AllocatedSlot>),
    /// Not enough free slots now; the request stays pending until slots free up or the
    /// JobMaster gives up.
    Pending {
        /// Slots in the whole cluster.
        total: u32,
        /// Slots free right now.
        free: u32,
    },
}

/// One TaskManager as the ResourceManager sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskManagerInfo {
    /// Its id.
    pub id: ResourceId,
    /// Its slots.
    pub slots: u32,
    /// Its slots no job holds.
    pub free_slots: u32,
}

pub(crate) enum ResourceManagerMessage {
    TaskManagers(crate::gateway::Reply<Vec<TaskManagerInfo>>),
    RegisterTaskExecutor {
        id: ResourceId,
        slots: u32,
        gateway: TaskExecutorGateway,
    },
    RequestSlots {
        job: JobId,
        count: u32,
        job_master: JobMasterGateway,
    },
    CancelSlotRequest {
        job: JobId,
    },
    ReleaseSlots {
        job: JobId,
    },
    Shutdown,
}

/// Handle on the ResourceManager.
#[derive(Clone)]
pub struct ResourceManagerGateway {
    inbox: Sender<ResourceManagerMessage>,
}

impl ResourceManagerGateway {
    /// A TaskManager offers its slots.
    pub fn register_task_executor(&self, id: ResourceId, slots: u32, gateway: TaskExecutorGateway) {
        let _ = self
            .inbox
            .send(ResourceManagerMessage::RegisterTaskExecutor { id, slots, gateway });
    }

    /// A JobMaster asks for `count` slots; the answer comes as a JobMaster message.
    pub fn request_slots(&self, job: JobId, count: u32, job_master: JobMasterGateway) {
        let _ = self.inbox.send(ResourceManagerMessage::RequestSlots {
            job,
            count,
            job_master,
        });
    }

    /// The registered TaskManagers and their slots.
    pub fn task_managers(&self) -> Result<Vec<TaskManagerInfo>, ClusterError> {
        crate::gateway::ask(&self.inbox, ResourceManagerMessage::TaskManagers)
    }

    /// A JobMaster no longer waits for its pending request.
    pub fn cancel_slot_request(&self, job: JobId) {
        let _ = self
            .inbox
            .send(ResourceManagerMessage::CancelSlotRequest { job });
    }

    /// A job ended: its slots are free again.
    pub fn release_slots(&self, job: JobId) {
        let _ = self
            .inbox
            .send(ResourceManagerMessage::ReleaseSlots { job });
    }

    pub(crate) fn shutdown(&self) {
        let _ = self.inbox.send(ResourceManagerMessage::Shutdown);
    }
}

struct TaskManagerSlots {
    id: ResourceId,
    gateway: TaskExecutorGateway,
    slots: Vec<Option<JobId>>,
}

struct PendingRequest {
    job: JobId,
    count: u32,
    job_master: JobMasterGateway,
}

/// The slot bookkeeping: which slot of which TaskManager belongs to which job.
#[derive(Default)]
struct SlotManager {
    task_managers: Vec<TaskManagerSlots>,
    pending: Vec<PendingRequest>,
}

impl SlotManager {
    fn total(&self) -> u32 {
        self.task_managers
            .iter()
            .map(|t| t.slots.len() as u32)
            .sum()
    }

    fn free(&self) -> u32 {
        self.task_managers
            .iter()
            .flat_map(|t| &t.slots)
            .filter(|s| s.is_none())
            .count() as u32
    }

    /// Takes `count` free slots for `job`, filling TaskManagers in registration order.
    fn allocate(&mut self, job: JobId, count: u32) -> Option<Vec<AllocatedSlot>> {
        if self.free() < count {
            return None;
        }
        let mut allocated = Vec::with_capacity(count as usize);
        'outer: for tm in &mut self.task_managers {
            for (index, slot) in tm.slots.iter_mut().enumerate() {
                if allocated.len() == count as usize {
                    break 'outer;
                }
                if slot.is_none() {
                    *slot = Some(job);
                    allocated.push(AllocatedSlot {
                        task_manager: tm.id,
                        slot_index: index as u32,
                        gateway: tm.gateway.clone(),
                    });
                }
            }
        }
        Some(allocated)
    }

    fn release(&mut self, job: JobId) {
        for slot in self.task_managers.iter_mut().flat_map(|t| &mut t.slots) {
            if *slot == Some(job) {
                *slot = None;
            }
        }
    }

    /// Serves pending requests in arrival order while slots suffice.
    fn serve_pending(&mut self) {
        while let Some(first) = self.pending.first() {
            let (job, count) = (first.job, first.count);
            match self.allocate(job, count) {
                Some(slots) => {
                    let request = self.pending.remove(0);
                    request
                        .job_master
                        .slot_answer(SlotRequestAnswer::Allocated(slots));
                }
                None => break,
            }
        }
    }
}

/// Starts the ResourceManager thread.
pub fn start_resource_manager(
) -> Result<(ResourceManagerGateway, std::thread::JoinHandle<()>), ClusterError> {
    let (tx, rx) = unbounded();
    let thread = spawn_component("resource-manager", move || run(rx))?;
    Ok((ResourceManagerGateway { inbox: tx }, thread))
}

fn run(inbox: Receiver<ResourceManagerMessage>) {
    let mut slots = SlotManager::default();
    while let Ok(message) = inbox.recv() {
        match message {
            ResourceManagerMessage::RegisterTaskExecutor {
                id,
                slots: n,
                gateway,
            } => {
                tracing::debug!(task_manager = %id, slots = n, "TaskManager registered");
                slots.task_managers.push(TaskManagerSlots {
                    id,
                    gateway,
                    slots: vec![None; n as usize],
                });
                slots.serve_pending();
            }
            ResourceManagerMessage::RequestSlots {
                job,
                count,
                job_master,
            } => {
                if slots.pending.is_empty() {
                    if let Some(allocated) = slots.allocate(job, count) {
                        job_master.slot_answer(SlotRequestAnswer::Allocated(allocated));
                        continue;
                    }
                }
                job_master.slot_answer(SlotRequestAnswer::Pending {
                    total: slots.total(),
                    free: slots.free(),
                });
                slots.pending.push(PendingRequest {
                    job,
                    count,
                    job_master,
                });
            }
            ResourceManagerMessage::CancelSlotRequest { job } => {
                slots.pending.retain(|r| r.job != job);
                slots.serve_pending();
            }
            ResourceManagerMessage::ReleaseSlots { job } => {
                slots.release(job);
                slots.serve_pending();
            }
            ResourceManagerMessage::TaskManagers(reply) => {
                let info = slots
                    .task_managers
                    .iter()
                    .map(|tm| TaskManagerInfo {
                        id: tm.id,
                        slots: tm.slots.len() as u32,
                        free_slots: tm.slots.iter().filter(|s| s.is_none()).count() as u32,
                    })
                    .collect();
                let _ = reply.send(info);
            }
            ResourceManagerMessage::Shutdown => break,
        }
    }
}
