//! Checkpoint barriers: the markers that cut a stream into "before checkpoint n" and "after".

use serde::{Deserialize, Serialize};

/// How a task with several input channels treats barriers (`execution.checkpointing.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CheckpointingMode {
    /// Channels whose barrier has arrived are held back until every channel's has: the
    /// snapshot sees exactly the records before the barrier (`EXACTLY_ONCE`, the default).
    ExactlyOnce,
    /// Channels are never held back: the snapshot is taken when the last barrier arrives and
    /// may include records from after the barrier on the other channels, which a restore then
    /// replays a second time (`AT_LEAST_ONCE`).
    AtLeastOnce,
}

impl std::fmt::Display for CheckpointingMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CheckpointingMode::ExactlyOnce => "EXACTLY_ONCE",
            CheckpointingMode::AtLeastOnce => "AT_LEAST_ONCE",
        })
    }
}

/// Barrier `id`, injected at the sources at `timestamp` (milliseconds since the epoch) and
/// carried in-band with the records through every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBarrier {
    /// The checkpoint's id: 1, 2, … in trigger order within a job.
    pub id: u64,
    /// When the coordinator triggered it.
    pub timestamp: i64,
    /// Whether tasks align their channels for it.
    pub mode: CheckpointingMode,
}
