//! Savepoints: `POST /jobs/:jobid/savepoints`, `POST /jobs/:jobid/stop` and
//! `GET /jobs/:jobid/savepoints/:triggerid`, asynchronous as in Flink: the trigger answers
//! with a request id at once, the status tells how the savepoint ended.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use eddy_core::ids::JobId;

use super::parse_job_id;
use crate::error::RestError;
use crate::server::{RestState, SavepointOperation, TrackedOperation};

/// The body of `POST /jobs/:jobid/savepoints`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavepointRequest {
    #[serde(rename = "target-directory")]
    target_directory: Option<String>,
    #[serde(rename = "cancel-job", default)]
    cancel_job: bool,
    #[serde(rename = "triggerId")]
    trigger_id: Option<String>,
    #[serde(rename = "formatType")]
    format_type: Option<String>,
}

/// The body of `POST /jobs/:jobid/stop`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StopRequest {
    #[serde(rename = "targetDirectory")]
    target_directory: Option<String>,
    #[serde(default)]
    drain: bool,
    #[serde(rename = "triggerId")]
    trigger_id: Option<String>,
    #[serde(rename = "formatType")]
    format_type: Option<String>,
}

/// A JSON body (an empty one is the default request).
fn parse_body<T: Default + for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, RestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        RestError::BadRequest(format!(
            "Bad request, could not parse the request body: {e}"
        ))
    })
}

/// Only the canonical savepoint format is written.
fn check_format(format: Option<&str>) -> Result<(), RestError> {
    match format {
        None | Some("CANONICAL") => Ok(()),
        Some(other) => Err(RestError::BadRequest(format!(
            "Bad request: formatType {other} is not supported; savepoints are written in the CANONICAL format"
        ))),
    }
}

/// Starts `run` (which takes the savepoint and blocks until it ended) on a thread of its own
/// and answers with its request id.
fn start_operation(
    state: Arc<RestState>,
    job_id: JobId,
    trigger_id: Option<String>,
    run: impl FnOnce(&RestState) -> Result<String, String> + Send + 'static,
) -> Result<(StatusCode, Json<Value>), RestError> {
    // Unknown jobs are refused now rather than reported by the operation later.
    state.dispatcher.job_status(job_id)?;
    let trigger = trigger_id.unwrap_or_else(|| JobId::generate().to_string());
    {
        let mut operations = state.operations();
        if operations.contains_key(&(job_id, trigger.clone())) {
            return Err(RestError::BadRequest(format!(
                "Bad request: trigger id {trigger} is already in use for job {job_id}"
            )));
        }
        operations.insert(
            (job_id, trigger.clone()),
            TrackedOperation {
                operation: SavepointOperation::InProgress,
                fetched: false,
            },
        );
    }
    let key = (job_id, trigger.clone());
    let worker = state.clone();
    std::thread::Builder::new()
        .name(format!(
            "rest-savepoint-{}",
            trigger.chars().take(8).collect::<String>()
        ))
        .spawn(move || {
            let outcome = match run(&worker) {
                Ok(location) => SavepointOperation::Completed(location),
                Err(reason) => SavepointOperation::Failed(reason),
            };
            worker.operations().insert(
                key,
                TrackedOperation {
                    operation: outcome,
                    fetched: false,
                },
            );
        })
        .map_err(|e| RestError::Internal(format!("cannot start the savepoint: {e}")))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "request-id": trigger }))))
}

/// `POST /jobs/:jobid/savepoints`: triggers a savepoint (and cancels the job after it with
/// `"cancel-job": true`).
pub async fn trigger(
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), RestError> {
    let job_id = parse_job_id(&id)?;
    let request: SavepointRequest = parse_body(&body)?;
    check_format(request.format_type.as_deref())?;
    let (target, cancel) = (request.target_directory, request.cancel_job);
    start_operation(state, job_id, request.trigger_id, move |state| {
        let location = state
            .dispatcher
            .trigger_savepoint(job_id, target)
            .map_err(|e| e.to_string())?;
        if cancel {
            state
                .dispatcher
                .cancel_job(job_id)
                .map_err(|e| e.to_string())?;
        }
        Ok(location)
    })
}

/// `POST /jobs/:jobid/stop`: stops the job with a savepoint (`"drain": true` advances event
/// time to its end first).
pub async fn stop(
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), RestError> {
    let job_id = parse_job_id(&id)?;
    let request: StopRequest = parse_body(&body)?;
    check_format(request.format_type.as_deref())?;
    let (target, drain) = (request.target_directory, request.drain);
    start_operation(state, job_id, request.trigger_id, move |state| {
        state
            .dispatcher
            .stop_with_savepoint(job_id, target, drain)
            .map_err(|e| e.to_string())
    })
}

/// `GET /jobs/:jobid/savepoints/:triggerid`: `IN_PROGRESS`, or `COMPLETED` with the folder
/// (`operation.location`) or the failure (`operation.failure-cause`).
pub async fn status(
    State(state): State<Arc<RestState>>,
    Path((id, trigger)): Path<(String, String)>,
) -> Result<Json<Value>, RestError> {
    let job_id = parse_job_id(&id)?;
    let operation = state
        .operations()
        .get_mut(&(job_id, trigger.clone()))
        .map(|tracked| {
            tracked.fetched |= tracked.operation != SavepointOperation::InProgress;
            tracked.operation.clone()
        });
    match operation {
        None => Err(RestError::NotFound(format!(
            "There is no savepoint operation with trigger id {trigger} for job {job_id}"
        ))),
        Some(SavepointOperation::InProgress) => {
            Ok(Json(json!({ "status": { "id": "IN_PROGRESS" } })))
        }
        Some(SavepointOperation::Completed(location)) => Ok(Json(json!({
            "status": { "id": "COMPLETED" },
            "operation": { "location": location },
        }))),
        Some(SavepointOperation::Failed(reason)) => Ok(Json(json!({
            "status": { "id": "COMPLETED" },
            "operation": {
                "failure-cause": {
                    "class": "eddy::SavepointError",
                    "stack-trace": reason,
                    "serialized-throwable": "",
                },
            },
        }))),
    }
}
