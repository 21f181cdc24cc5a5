//! Jobs: `GET /jobs`, `GET /jobs/overview`, `GET /jobs/:jobid`, `PATCH /jobs/:jobid`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use eddy_cluster::dispatcher::JobOverview;
use eddy_cluster::JobStatus;
use eddy_core::ids::JobId;
use eddy_graph::JobGraph;

use super::{now_millis, parse_job_id, vertex_id};
use crate::error::RestError;
use crate::server::RestState;

/// The state Flink reports for the subtasks of a job in `status` (Eddy tracks subtask states
/// in the JobMaster; the REST view derives them from the job's).
fn task_state(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Created => "SCHEDULED",
        JobStatus::Running => "RUNNING",
        JobStatus::Finished => "FINISHED",
        JobStatus::Failing | JobStatus::Cancelling => "CANCELING",
        JobStatus::Failed => "FAILED",
        JobStatus::Canceled => "CANCELED",
    }
}

/// Flink's per-state subtask counts, with `count` subtasks in the state of `status`.
fn task_counts(status: JobStatus, count: u32) -> Value {
    let mut counts = serde_json::Map::new();
    for state in [
        "CREATED",
        "SCHEDULED",
        "DEPLOYING",
        "RUNNING",
        "FINISHED",
        "CANCELING",
        "CANCELED",
        "FAILED",
        "RECONCILING",
        "INITIALIZING",
    ] {
        let n = if state == task_state(status) {
            count
        } else {
            0
        };
        counts.insert(state.to_string(), json!(n));
    }
    Value::Object(counts)
}

/// The job's timing as Flink reports it: start, end (-1 while it runs) and duration.
fn times(job: &JobOverview, now: i64) -> (i64, i64, i64) {
    let end = job.end_time.unwrap_or(-1);
    let duration = job.end_time.unwrap_or(now) - job.start_time;
    (job.start_time, end, duration)
}

/// Every job, newest first.
fn jobs(state: &RestState) -> Result<Vec<JobOverview>, RestError> {
    let mut jobs = state.dispatcher.list_jobs()?;
    jobs.sort_by_key(|j| std::cmp::Reverse(j.start_time));
    Ok(jobs)
}

fn job(state: &RestState, id: &str) -> Result<JobOverview, RestError> {
    let job_id = parse_job_id(id)?;
    jobs(state)?
        .into_iter()
        .find(|j| j.job_id == job_id)
        .ok_or_else(|| RestError::NotFound(format!("Job {job_id} not found")))
}

/// `GET /jobs`: `{"jobs": [{"id", "status"}]}`.
pub async fn list(State(state): State<Arc<RestState>>) -> Result<Json<Value>, RestError> {
    let jobs: Vec<Value> = jobs(&state)?
        .iter()
        .map(|j| json!({ "id": j.job_id.to_string(), "status": j.status.to_string() }))
        .collect();
    Ok(Json(json!({ "jobs": jobs })))
}

/// `GET /jobs/overview`: one line per job with its times and subtask counts.
pub async fn overview(State(state): State<Arc<RestState>>) -> Result<Json<Value>, RestError> {
    let now = now_millis();
    let jobs: Vec<Value> = jobs(&state)?
        .iter()
        .map(|j| {
            let (start, end, duration) = times(j, now);
            let tasks: u32 = j.vertices.iter().map(|v| v.parallelism).sum();
            let mut counts = task_counts(j.status, tasks);
            counts["total"] = json!(tasks);
            json!({
                "jid": j.job_id.to_string(),
                "name": j.job_name,
                "state": j.status.to_string(),
                "start-time": start,
                "end-time": end,
                "duration": duration,
                "last-modification": j.end_time.unwrap_or(start),
                "pending-operators": 0,
                "tasks": counts,
            })
        })
        .collect();
    Ok(Json(json!({ "jobs": jobs })))
}

/// `GET /jobs/:jobid`: the job with its vertices.
pub async fn details(
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    let job = job(&state, &id)?;
    let now = now_millis();
    let (start, end, duration) = times(&job, now);
    let vertices: Vec<Value> = job
        .vertices
        .iter()
        .enumerate()
        .map(|(index, v)| {
            json!({
                "id": vertex_id(job.job_id, index),
                "name": v.name,
                "maxParallelism": v.max_parallelism,
                "parallelism": v.parallelism,
                "status": task_state(job.status),
                "start-time": start,
                "end-time": end,
                "duration": duration,
                "tasks": task_counts(job.status, v.parallelism),
            })
        })
        .collect();
    let mut timestamps = serde_json::Map::new();
    for status in [
        "INITIALIZING",
        "CREATED",
        "RUNNING",
        "FAILING",
        "FAILED",
        "CANCELLING",
        "CANCELED",
        "FINISHED",
        "RESTARTING",
        "SUSPENDED",
        "RECONCILING",
    ] {
        let at = match status {
            "INITIALIZING" | "CREATED" => start,
            s if s == job.status.to_string() && job.end_time.is_some() => end,
            _ => 0,
        };
        timestamps.insert(status.to_string(), json!(at));
    }
    let vertex_counts = task_counts(job.status, job.vertices.len() as u32);
    let graph = state.dispatcher.job_graph(job.job_id)?;
    let plan = plan_json(job.job_id, &graph);
    Ok(Json(json!({
        "jid": job.job_id.to_string(),
        "name": job.job_name,
        "isStoppable": false,
        "state": job.status.to_string(),
        "job-type": "STREAMING",
        "start-time": start,
        "end-time": end,
        "duration": duration,
        "maxParallelism": job.vertices.iter().map(|v| v.max_parallelism).max().unwrap_or(0),
        "now": now,
        "pending-operators": 0,
        "timestamps": timestamps,
        "vertices": vertices,
        "status-counts": vertex_counts,
        "plan": plan,
    })))
}

/// Flink's job plan: one node per JobGraph vertex with the exchanges feeding it.
fn plan_json(job_id: JobId, graph: &JobGraph) -> Value {
    let nodes: Vec<Value> = graph
        .vertices
        .iter()
        .enumerate()
        .map(|(index, vertex)| {
            let inputs: Vec<Value> = graph
                .edges
                .iter()
                .filter(|e| e.target_vertex == vertex.id)
                .enumerate()
                .map(|(num, e)| {
                    let source = graph
                        .vertices
                        .iter()
                        .position(|v| v.id == e.source_vertex)
                        .unwrap_or(e.source_vertex);
                    json!({
                        "num": num,
                        "id": vertex_id(job_id, source),
                        "ship_strategy": e.stream_edge.partitioner.ship_strategy(),
                        "exchange": "pipelined_bounded",
                    })
                })
                .collect();
            json!({
                "id": vertex_id(job_id, index),
                "parallelism": vertex.parallelism,
                "operator": "",
                "operator_strategy": "",
                "description": vertex.name,
                "inputs": inputs,
                "optimizer_properties": {},
            })
        })
        .collect();
    json!({
        "jid": job_id.to_string(),
        "name": graph.job_name,
        "type": "STREAMING",
        "nodes": nodes,
    })
}

/// `GET /jobs/:jobid/plan`: `{"plan": {"jid", "name", "type", "nodes"}}`.
pub async fn plan(
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    let job_id = parse_job_id(&id)?;
    let graph = state.dispatcher.job_graph(job_id)?;
    Ok(Json(json!({ "plan": plan_json(job_id, &graph) })))
}

/// `PATCH /jobs/:jobid?mode=cancel`: starts cancelling the job (202, `{}`).
pub async fn terminate(
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<(StatusCode, Json<Value>), RestError> {
    let job_id = parse_job_id(&id)?;
    match query.get("mode").map(String::as_str) {
        None | Some("cancel") => {}
        Some(other) => {
            return Err(RestError::BadRequest(format!(
                "Bad request, could not parse parameters: mode '{other}' is not supported; use mode=cancel (stop a job with POST /jobs/:jobid/stop)"
            )))
        }
    }
    state.dispatcher.cancel_job(job_id)?;
    Ok((StatusCode::ACCEPTED, Json(json!({}))))
}
