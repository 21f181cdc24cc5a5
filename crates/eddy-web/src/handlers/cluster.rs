//! The cluster: `GET /overview`, `GET /config`, `GET /jobmanager/config`, `GET /taskmanagers`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use eddy_cluster::JobStatus;

use super::VERSION;
use crate::error::RestError;
use crate::server::RestState;

/// `GET /overview`: TaskManagers, slots and jobs by state.
pub async fn overview(State(state): State<Arc<RestState>>) -> Result<Json<Value>, RestError> {
    let task_managers = state.resource_manager.task_managers()?;
    let jobs = state.dispatcher.list_jobs()?;
    let count = |status: JobStatus| jobs.iter().filter(|j| j.status == status).count();
    let running = jobs.iter().filter(|j| !j.status.is_terminal()).count();
    Ok(Json(json!({
        "taskmanagers": task_managers.len(),
        "slots-total": task_managers.iter().map(|t| t.slots).sum::<u32>(),
        "slots-available": task_managers.iter().map(|t| t.free_slots).sum::<u32>(),
        "slots-free-and-blocked": 0,
        "taskmanagers-blocked": 0,
        "jobs-running": running,
        "jobs-finished": count(JobStatus::Finished),
        "jobs-cancelled": count(JobStatus::Canceled),
        "jobs-failed": count(JobStatus::Failed),
        "flink-version": VERSION,
        "flink-commit": "",
    })))
}

/// `GET /config`: the dashboard's settings.
pub async fn dashboard_config() -> Json<Value> {
    Json(json!({
        "refresh-interval": 3000,
        "timezone-name": "Coordinated Universal Time",
        "timezone-offset": 0,
        "flink-version": VERSION,
        "flink-revision": "",
        "features": {
            "web-submit": false,
            "web-cancel": true,
            "web-rescale": false,
            "web-history": false,
        },
    }))
}

/// `GET /jobmanager/config`: the cluster's configuration as `[{"key", "value"}]`.
pub async fn configuration(State(state): State<Arc<RestState>>) -> Json<Value> {
    Json(Value::Array(
        state
            .configuration
            .iter()
            .map(|(key, value)| json!({ "key": key, "value": value }))
            .collect(),
    ))
}

/// `GET /taskmanagers`: every TaskManager with its slots.
pub async fn task_managers(State(state): State<Arc<RestState>>) -> Result<Json<Value>, RestError> {
    let task_managers = state.resource_manager.task_managers()?;
    Ok(Json(json!({
        "taskmanagers": task_managers
            .iter()
            .map(|t| json!({
                "id": t.id.to_string(),
                // An embedded TaskManager has no address of its own.
                "path": format!("embedded://{}", t.id),
                "dataPort": -1,
                "jmxPort": -1,
                "timeSinceLastHeartbeat": 0,
                "slotsNumber": t.slots,
                "freeSlots": t.free_slots,
            }))
            .collect::<Vec<_>>(),
    })))
}
