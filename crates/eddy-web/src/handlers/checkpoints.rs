//! Checkpoints: `GET /jobs/:jobid/checkpoints` (counts, summary, latest, history) and
//! `GET /jobs/:jobid/checkpoints/config`, in Flink's shapes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use eddy_checkpoint::{
    CheckpointRetention, CheckpointingMode, CompletedCheckpoint, FailedCheckpoint,
};
use eddy_cluster::job_master::JobCheckpointStatistics;
use eddy_core::ids::JobId;

use super::parse_job_id;
use crate::error::RestError;
use crate::server::RestState;

/// The job's checkpoint statistics, or 404 when it does not checkpoint.
fn statistics(state: &RestState, job_id: JobId) -> Result<JobCheckpointStatistics, RestError> {
    state
        .dispatcher
        .checkpoint_statistics(job_id)?
        .ok_or_else(|| {
            RestError::NotFound(format!("Checkpointing is not enabled for job {job_id}"))
        })
}

/// Flink's `StatsSummary` of some values: min, max, average and percentiles.
fn summary(mut values: Vec<u64>) -> Value {
    if values.is_empty() {
        return json!({ "min": 0, "max": 0, "avg": 0, "p50": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0, "p999": 0.0 });
    }
    values.sort_unstable();
    let percentile = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize] as f64;
    json!({
        "min": values[0],
        "max": values[values.len() - 1],
        "avg": values.iter().sum::<u64>() / values.len() as u64,
        "p50": percentile(0.5),
        "p90": percentile(0.9),
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "p999": percentile(0.999),
    })
}

/// Flink's `CompletedCheckpointStatistics`. `subtasks` all acknowledged it; `discarded` says
/// whether its folder is gone (subsumed, or deleted with the job).
fn completed(checkpoint: &CompletedCheckpoint, subtasks: u32) -> Value {
    let duration = checkpoint.duration.as_millis() as i64;
    let discarded = !std::path::Path::new(checkpoint.location.trim_start_matches("file://"))
        .join("_metadata")
        .exists();
    json!({
        "className": "completed",
        "id": checkpoint.id,
        "status": "COMPLETED",
        "is_savepoint": checkpoint.is_savepoint,
        "savepointFormat": if checkpoint.is_savepoint { json!("CANONICAL") } else { Value::Null },
        "trigger_timestamp": checkpoint.trigger_timestamp,
        "latest_ack_timestamp": checkpoint.trigger_timestamp + duration,
        "checkpointed_size": checkpoint.state_size,
        "state_size": checkpoint.full_state_size,
        "end_to_end_duration": duration,
        // Aligned checkpoints persist no in-flight data.
        "alignment_buffered": 0,
        "processed_data": 0,
        "persisted_data": 0,
        "num_subtasks": subtasks,
        "num_acknowledged_subtasks": subtasks,
        "checkpoint_type": if checkpoint.is_savepoint { "SAVEPOINT" } else { "CHECKPOINT" },
        "tasks": {},
        "external_path": checkpoint.location,
        "discarded": discarded,
    })
}

/// Flink's `FailedCheckpointStatistics`.
fn failed(checkpoint: &FailedCheckpoint, subtasks: u32) -> Value {
    json!({
        "className": "failed",
        "id": checkpoint.id,
        "status": "FAILED",
        "is_savepoint": checkpoint.is_savepoint,
        "savepointFormat": if checkpoint.is_savepoint { json!("CANONICAL") } else { Value::Null },
        "trigger_timestamp": checkpoint.trigger_timestamp,
        "latest_ack_timestamp": checkpoint.failure_timestamp,
        "checkpointed_size": 0,
        "state_size": 0,
        "end_to_end_duration": checkpoint.failure_timestamp - checkpoint.trigger_timestamp,
        "alignment_buffered": 0,
        "processed_data": 0,
        "persisted_data": 0,
        "num_subtasks": subtasks,
        "num_acknowledged_subtasks": 0,
        "checkpoint_type": if checkpoint.is_savepoint { "SAVEPOINT" } else { "CHECKPOINT" },
        "tasks": {},
        "failure_timestamp": checkpoint.failure_timestamp,
        "failure_message": checkpoint.message,
    })
}

/// The number of subtasks of a job.
fn subtasks(state: &RestState, job_id: JobId) -> Result<u32, RestError> {
    Ok(state
        .dispatcher
        .list_jobs()?
        .iter()
        .find(|j| j.job_id == job_id)
        .map_or(0, |j| j.vertices.iter().map(|v| v.parallelism).sum()))
}

/// `GET /jobs/:jobid/checkpoints`.
pub async fn overview(
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    let job_id = parse_job_id(&id)?;
    let JobCheckpointStatistics { stats, .. } = statistics(&state, job_id)?;
    let subtasks = subtasks(&state, job_id)?;
    let completed_count = stats.completed;
    let in_progress = stats
        .triggered
        .saturating_sub(stats.completed + stats.failed);
    let latest_of = |savepoint: bool| {
        stats
            .history
            .iter()
            .rev()
            .find(|c| c.is_savepoint == savepoint)
            .map_or(Value::Null, |c| completed(c, subtasks))
    };
    let restored = stats.latest_restored.as_ref().map_or(Value::Null, |r| {
        json!({
            "id": r.id,
            "restore_timestamp": r.restore_timestamp,
            "is_savepoint": r.is_savepoint,
            "external_path": r.location,
        })
    });
    let sizes: Vec<u64> = stats.history.iter().map(|c| c.state_size).collect();
    let full_sizes: Vec<u64> = stats.history.iter().map(|c| c.full_state_size).collect();
    let durations: Vec<u64> = stats
        .history
        .iter()
        .map(|c| c.duration.as_millis() as u64)
        .collect();
    Ok(Json(json!({
        "counts": {
            "restored": stats.restored,
            "total": stats.triggered,
            "in_progress": in_progress,
            "completed": completed_count,
            "failed": stats.failed,
        },
        "summary": {
            "checkpointed_size": summary(sizes.clone()),
            "state_size": summary(full_sizes),
            "end_to_end_duration": summary(durations),
            "alignment_buffered": summary(Vec::new()),
            "processed_data": summary(Vec::new()),
            "persisted_data": summary(Vec::new()),
        },
        "latest": {
            "completed": latest_of(false),
            "savepoint": latest_of(true),
            "failed": stats.latest_failed.as_ref().map_or(Value::Null, |f| failed(f, subtasks)),
            "restored": restored,
        },
        // Newest first, as Flink lists them.
        "history": stats.history.iter().rev().map(|c| completed(c, subtasks)).collect::<Vec<_>>(),
    })))
}

/// `GET /jobs/:jobid/checkpoints/config`.
pub async fn config(
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    let job_id = parse_job_id(&id)?;
    let JobCheckpointStatistics { config, .. } = statistics(&state, job_id)?;
    let configured = |key: &str| {
        state
            .configuration
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let backend = configured("state.backend.type").unwrap_or_else(|| "hashmap".to_string());
    Ok(Json(json!({
        "mode": match config.mode {
            CheckpointingMode::ExactlyOnce => "exactly_once",
            CheckpointingMode::AtLeastOnce => "at_least_once",
        },
        "interval": config.interval.as_millis() as u64,
        "timeout": config.timeout.as_millis() as u64,
        "min_pause": config.min_pause.as_millis() as u64,
        "max_concurrent": config.max_concurrent,
        "externalization": {
            "enabled": config.retention != CheckpointRetention::NoExternalizedCheckpoints,
            "delete_on_cancellation": config.retention != CheckpointRetention::RetainOnCancellation,
        },
        "state_backend": backend,
        "checkpoint_storage": "FileSystemCheckpointStorage",
        "unaligned_checkpoints": false,
        "tolerable_failed_checkpoints": config.tolerable_failures,
        "aligned_checkpoint_timeout": 0,
        "checkpoints_after_tasks_finish": true,
        "state_changelog_enabled": false,
        "changelog_periodic_materialization_interval": 0,
        "changelog_storage": "",
    })))
}
