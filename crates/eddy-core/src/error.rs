//! Errors that cross layer boundaries.

/// The error a user function may return: any error type, boxed.
///
/// A function that returns an error (or panics) fails its task; the job reports it together with
/// the operator's name and subtask, e.g. `Map (2/4)`.
pub type FunctionError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of user functions.
pub type FnResult<T> = Result<T, FunctionError>;

/// Failure to encode or decode a value with Eddy's binary codec.
#[derive(Debug, thiserror::Error)]
#[error("could not encode a value with the binary codec: {0}")]
pub struct CodecError(pub String);
