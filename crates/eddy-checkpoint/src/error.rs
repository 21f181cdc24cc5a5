//! What can go wrong with checkpoints.

/// A checkpoint storage or coordination error.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The checkpoint directory cannot be used.
    #[error("checkpoint directory '{directory}': {reason}")]
    Directory {
        /// The directory as configured.
        directory: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("checkpoint storage: {what}: {source}")]
    Storage {
        /// What was being done, naming the file.
        what: String,
        /// The store's error.
        source: Box<object_store::Error>,
    },
    /// A `_metadata` file could not be written or read.
    #[error("checkpoint metadata of {location}: {reason}")]
    Metadata {
        /// The checkpoint folder.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
}
