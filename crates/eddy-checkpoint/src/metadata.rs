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

    /// Bytes this checkpoint wrote, summed over every subtask (an incremental checkpoint's
    /// size: files it reuses from earlier checkpoints do not count).
    pub fn state_size(&self) -> u64 {
        self.operators
            .iter()
            .flat_map(|o| &o.subtasks)
            .map(|s| s.size)
            .sum()
    }

    /// Bytes of all the state the checkpoint holds, files reused from earlier checkpoints
    /// included (what a full checkpoint of the same state would write, roughly).
    pub fn full_state_size(&self) -> u64 {
        self.operators
            .iter()
            .flat_map(|o| &o.subtasks)
            .map(|s| {
                s.size
                    + s.shared
                        .iter()
                        .filter(|f| !f.uploaded_now)
                        .map(|f| f.size)
                        .sum::<u64>()
            })
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
    /// Files of the job's `shared/` folder the state refers to (incremental checkpoints).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<SharedFileRef>,
}

/// A file in the job's `shared/` folder that a subtask's state refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedFileRef {
    /// Its name in the shared folder.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this checkpoint uploaded it (else an earlier checkpoint did, and this one
    /// reuses it).
    pub uploaded_now: bool,
}

impl SubtaskStateHandle {
    /// A subtask without state.
    pub fn empty() -> Self {
        SubtaskStateHandle {
            file: None,
            size: 0,
            finished: false,
            shared: Vec::new(),
        }
    }
}
