//! The REST handlers, one module per resource, and what they share.

pub mod checkpoints;
pub mod cluster;
pub mod jobs;
pub mod savepoints;

use eddy_core::ids::JobId;

use crate::error::RestError;

/// The version reported where Flink reports its own (`flink-version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A job id from a path: 32 hex digits, as Flink's `JobID`.
pub(crate) fn parse_job_id(text: &str) -> Result<JobId, RestError> {
    JobId::parse(text).ok_or_else(|| {
        RestError::BadRequest(format!(
            "Bad request, could not parse parameters: the job id '{text}' is not 32 hexadecimal digits"
        ))
    })
}

/// A JobGraph vertex's id in Flink's form (32 hex digits), unique within the job and the
/// same in every answer about it.
pub(crate) fn vertex_id(job_id: eddy_core::ids::JobId, index: usize) -> String {
    format!("{}{index:016x}", &job_id.to_string()[..16])
}

/// Milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
