//! The in-process network: where producers find their consumers' inboxes.
//!
//! In the embedded mini-cluster every TaskManager shares one [`LocalNetwork`]; a producer looks
//! up (or creates, if the consumer is not deployed yet) the inbox of each consumer subtask by its
//! [`InboxKey`]. A multi-process cluster replaces this with network connections.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use eddy_core::ids::JobId;
use eddy_graph::VertexId;

use crate::inbox::TaskInbox;

/// Identifies one subtask's inbox within one run of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InboxKey {
    /// The job.
    pub job: JobId,
    /// Which (re)start of the job the subtask belongs to.
    pub run: u32,
    /// The consuming vertex.
    pub vertex: VertexId,
    /// The consuming subtask.
    pub subtask: u32,
}

/// Inboxes by key, shared by every task in the process.
#[derive(Default)]
pub struct LocalNetwork {
    inboxes: Mutex<HashMap<InboxKey, Arc<TaskInbox>>>,
}

impl LocalNetwork {
    /// An empty network.
    pub fn new() -> Arc<LocalNetwork> {
        Arc::new(LocalNetwork::default())
    }

    /// The inbox for `key`, created with the given exclusive per-channel capacity and shared
    /// floating capacity if absent.
    pub fn inbox(&self, key: InboxKey, capacity: usize, floating: usize) -> Arc<TaskInbox> {
        self.inboxes
            .lock()
            .entry(key)
            .or_insert_with(|| TaskInbox::new(capacity, floating))
            .clone()
    }

    /// Forgets every inbox of a job, closing them so no producer stays blocked.
    pub fn release_job(&self, job: JobId) {
        self.release(|key| key.job == job);
    }

    /// Forgets the inboxes of one vertex's subtasks in one run of a job (its region restarts).
    pub fn release_vertex(&self, job: JobId, run: u32, vertex: VertexId) {
        self.release(|key| key.job == job && key.run == run && key.vertex == vertex);
    }

    fn release(&self, matches: impl Fn(&InboxKey) -> bool) {
        let mut inboxes = self.inboxes.lock();
        inboxes.retain(|key, inbox| {
            let keep = !matches(key);
            if !keep {
                inbox.close();
            }
            keep
        });
    }
}
