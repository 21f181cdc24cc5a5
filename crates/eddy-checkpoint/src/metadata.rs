//! The `_metadata` file: what a completed checkpoint holds and where.
//!
//! It is written last, when every subtask has acknowledged, so a checkpoint folder without it
//! is incomplete and never used. It is JSON, so a person (or a script) can read it; the state
//! files it names are binary.

use serde::{Deserialize, Serialize};

/// The name of the metadata file in a checkpoint folder.
pub const METADATA_FILE: &str = "_metadata";

/// The version of the metadata format written here.
pub const METADATA_VERSION: u32 = 1;

/// A completed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    /// [`METADATA_VERSION`] when written.
    pub version: u32,
    /// The job, as 32 hex digits.
    pub job_id: String,
    /// The checkpoint's id.
    pub checkpoint_id: u64,
    /// When it was triggered (milliseconds since the epoch).
    pub trigger_timestamp: i64,
    /// When its last acknowledgement arrived (milliseconds since the epoch).
    pub completion_timestamp: i64,
    /// Every operator of the job, in operator-id order.
    pub operators: Vec<OperatorCheckpointState>,
    /// Whether it is a savepoint (taken on request into a folder of its own).
    #[serde(default)]
    pub is_savepoint: bool,
}

impl CheckpointMetadata {
    /// The operator with id `operator_id`.
    pub fn operator(&self, operator_id: &str) -> Option<&OperatorCheckpointState> {
        self.operators.iter().find(|o| o.operator_id == operator_id)
    }

    /// Bytes of state files, summed over every subtask.
    pub fn state_size(&self) -> u64 {
        self.operators
            .iter()
            .flat_map(|o| &o.subtasks)
            .map(|s| s.size)
            .sum()
    }
}

/// One operator's state in a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorCheckpointState {
    /// The operator's id: its uid, or the hash of its graph position.
    pub operator_id: String,
    /// Its name, e.g. `Keyed Reduce` (for people; restores go by id).
    pub name: String,
    /// Its parallelism when the checkpoint was taken.
    pub parallelism: u32,
    /// Its max parallelism (number of key groups).
    pub max_parallelism: u32,
    /// Subtask `i`'s state at index `i`.
    pub subtasks: Vec<SubtaskStateHandle>,
}

/// Where one operator subtask's state is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtaskStateHandle {
    /// The state file, relative to the checkpoint folder (`None`: the subtask had no state).
    pub file: Option<String>,
    /// The file's size in bytes.
    pub size: u64,
    /// The subtask had finished before the checkpoint: this is its final state.
    pub finished: bool,
}

impl SubtaskStateHandle {
    /// A subtask without state.
    pub fn empty() -> Self {
        SubtaskStateHandle {
            file: None,
            size: 0,
            finished: false,
        }
    }
}
