//! Failover: which subtasks a failure restarts, and when.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use eddy_graph::{JobGraph, VertexId};

use crate::restart::{FailoverStrategy, RestartBackoff, RestartStrategy};
use crate::task_executor::SubtaskKey;

/// A restart in progress: the failed region's subtasks are stopping; once they all have and
/// the restart delay has passed, the region is deployed again.
#[derive(Debug)]
pub(super) struct PendingRestart {
    /// The vertices to deploy again.
    pub vertices: BTreeSet<VertexId>,
    /// Subtasks asked to stop that have not ended yet.
    pub stopping: HashSet<SubtaskKey>,
    /// When the (first) failure was reported.
    pub failed_at: Instant,
    /// The restart delay ends here.
    pub not_before: Instant,
    /// Subtasks still stopping here fail the job.
    pub give_up_at: Instant,
}

impl PendingRestart {
    /// When the JobMaster must look at this restart again.
    pub fn wakeup(&self) -> Instant {
        if self.stopping.is_empty() {
            self.not_before
        } else {
            self.give_up_at
        }
    }
}

/// The job's failover strategy, restart strategy and regions.
pub(super) struct Failover {
    strategy: FailoverStrategy,
    backoff: RestartBackoff,
    regions: Vec<Vec<VertexId>>,
    all: Vec<VertexId>,
}

impl Failover {
    pub fn new(job: &JobGraph, strategy: FailoverStrategy, restart: RestartStrategy) -> Self {
        Failover {
            strategy,
            backoff: RestartBackoff::new(restart),
            regions: job.pipelined_regions(),
            all: (0..job.vertices.len()).collect(),
        }
    }

    /// The restart strategy, for messages.
    pub fn restart_strategy(&self) -> &RestartStrategy {
        self.backoff.strategy()
    }

    /// A subtask of `vertex` failed at `now`: the vertices to restart and the delay, or
    /// `None` when the restart strategy allows no more restarts.
    pub fn on_failure(
        &mut self,
        vertex: VertexId,
        now: Instant,
    ) -> Option<(Vec<VertexId>, Duration)> {
        let delay = self.backoff.on_failure(now)?;
        let vertices = match self.strategy {
            FailoverStrategy::Full => self.all.clone(),
            FailoverStrategy::Region => self
                .regions
                .iter()
                .find(|r| r.contains(&vertex))
                .cloned()
                .unwrap_or_else(|| self.all.clone()),
        };
        Some((vertices, delay))
    }
}
