//! Why a task stopped.

use eddy_core::FunctionError;

/// A task failure (or cancellation), naming the operator and subtask where it happened.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A user function returned an error.
    #[error("{operator} failed: {source}")]
    Function {
        /// The operator and subtask, e.g. `Map (2/4)`.
        operator: String,
        /// The function's error.
        source: FunctionError,
    },
    /// A user function panicked.
    #[error("{operator} panicked: {message}")]
    Panic {
        /// The operator and subtask, e.g. `Map (2/4)`.
        operator: String,
        /// The panic message.
        message: String,
    },
    /// A key or record that the runtime itself could not handle.
    #[error("{operator}: {message}")]
    Record {
        /// The operator and subtask.
        operator: String,
        /// What went wrong.
        message: String,
    },
    /// The task was cancelled (not a failure of its own).
    #[error("task was cancelled")]
    Canceled,
    /// A downstream task is gone, so this one cannot deliver its output.
    #[error("a downstream task has terminated")]
    ConsumerGone,
    /// A bug: the plan and the operator code disagree.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TaskError {
    /// Whether this is a cancellation rather than a failure.
    pub fn is_cancellation(&self) -> bool {
        matches!(self, TaskError::Canceled | TaskError::ConsumerGone)
    }
}

/// Runs user code, turning an error or a panic into a [`TaskError`] that names the operator.
#[inline]
pub fn call_user<R>(
    operator: &str,
    f: impl FnOnce() -> Result<R, FunctionError>,
) -> Result<R, TaskError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => Err(TaskError::Function {
            operator: operator.to_string(),
            source,
        }),
        Err(panic) => Err(TaskError::Panic {
            operator: operator.to_string(),
            message: panic_message(panic.as_ref()),
        }),
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}
