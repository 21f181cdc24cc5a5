//! What a function knows about where it runs, and its way to keyed state.

use eddy_core::ids::JobId;
use eddy_core::keygroup::KeyGroupRange;
use eddy_core::{FnResult, Key};

use crate::{ErasedKeyedStateStore, KeyedStateStore};

/// Information about the parallel subtask a function instance runs in.
#[derive(Debug, Clone)]
pub struct RuntimeContext {
    /// The job's id.
    pub job_id: JobId,
    /// The name of the task (the operator chain), e.g. `Source: Collection Source -> Map`.
    pub task_name: String,
    /// The name of the operator this function belongs to.
    pub operator_name: String,
    /// This subtask's index, 0-based.
    pub subtask_index: u32,
    /// The operator's parallelism.
    pub parallelism: u32,
    /// The operator's max parallelism (number of key groups).
    pub max_parallelism: u32,
    /// How many times this subtask has been restarted before (0 on the first run).
    pub attempt_number: u32,
    /// Whether the job takes checkpoints (Flink's `isCheckpointingEnabled`): transactional
    /// sinks commit on completed checkpoints then, and at the end of their input otherwise.
    pub checkpointing: bool,
    /// The keyed state of a function applied to a keyed stream (`None` elsewhere).
    pub keyed_state: Option<ErasedKeyedStateStore>,
}

impl RuntimeContext {
    /// The `Name (i/n)` form used in logs and errors, with a 1-based subtask index.
    pub fn task_name_with_subtask(&self) -> String {
        format!(
            "{} ({}/{})",
            self.operator_name,
            self.subtask_index + 1,
            self.parallelism
        )
    }

    /// The key groups this subtask owns (of a keyed operator).
    pub fn key_group_range(&self) -> KeyGroupRange {
        KeyGroupRange::for_subtask(self.max_parallelism, self.parallelism, self.subtask_index)
    }

    /// A context for tests and tools that run a function outside a job.
    pub fn for_testing(subtask_index: u32, parallelism: u32) -> Self {
        RuntimeContext {
            job_id: JobId([0; 16]),
            task_name: "test".into(),
            operator_name: "test".into(),
            subtask_index,
            parallelism,
            max_parallelism: eddy_core::keygroup::default_max_parallelism(parallelism),
            attempt_number: 0,
            checkpointing: false,
            keyed_state: None,
        }
    }

    /// The keyed state of a function applied to a keyed stream (Flink's
    /// `getRuntimeContext().getState(…)`): take it in `open` and reach the current element's
    /// key's state with [`KeyedStateStore::with_state`]. `K` is the stream's key type. On a
    /// stream that is not keyed this is an error naming the operator and subtask.
    pub fn keyed_state_store<K: Key>(&self) -> FnResult<KeyedStateStore<K>> {
        match &self.keyed_state {
            Some(store) => store.downcast(),
            None => Err(format!(
                "{}: keyed state is only available to functions applied to a keyed stream; \
                 call key_by(...) before this operator",
                self.task_name_with_subtask()
            )
            .into()),
        }
    }
}
