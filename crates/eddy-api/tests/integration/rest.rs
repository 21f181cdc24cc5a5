//! The embedded cluster's REST endpoint (`rest.port`) against Flink's REST API: paths, JSON
//! field names and types (as Flink's REST API reference gives them: `ClusterOverviewWithVersion`,
//! `JobIdsWithStatusOverview`, `MultipleJobsDetails`, `JobDetailsInfo`, `TaskManagersInfo`,
//! `DashboardConfiguration`, `TriggerResponse`, `AsynchronousOperationResult<SavepointInfo>`,
//! `ErrorResponseBody`), and the operations: savepoint, stop, cancel.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy_api::prelude::*;
use serde_json::{json, Value};

use crate::common::http::{get, request};
use crate::common::{self, bounded};

/// JSON types as Flink's schemas name them.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Int,
    Str,
    Bool,
    Obj,
    Arr,
}

/// `value` has every field, each of its type.
fn assert_shape(value: &Value, fields: &[(&str, Kind)]) {
    for (field, kind) in fields {
        let v = &value[*field];
        let ok = match kind {
            Kind::Int => v.is_i64() || v.is_u64(),
            Kind::Str => v.is_string(),
            Kind::Bool => v.is_boolean(),
            Kind::Obj => v.is_object(),
            Kind::Arr => v.is_array(),
        };
        assert!(ok, "field {field} should be {kind:?} in {value}");
    }
}

/// A job's task counts: an integer per execution state.
fn assert_task_counts(tasks: &Value) {
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
        assert!(tasks[state].is_u64(), "{state} in {tasks}");
    }
}

/// A Flink error body: `{"errors": ["..."]}` with `status`.
fn assert_error(address: SocketAddr, method: &str, path: &str, body: Option<&str>, status: u16) {
    let (code, json) = request(address, method, path, body);
    assert_eq!(code, status, "{method} {path}: {json}");
    let errors = json["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{json}"));
    assert!(
        !errors.is_empty() && errors.iter().all(Value::is_string),
        "{json}"
    );
}

/// A job at parallelism 2 that keeps running (a rate-limited generator → map, then by key →
/// map → sink: two vertices) with the REST endpoint on a free loopback port; checkpointing on
/// (savepoints need it) unless `plain`.
fn running_job(dir: &std::path::Path, plain: bool) -> (JobClient, SocketAddr) {
    let env = common::env(2);
    env.set_config("rest.port", "0");
    env.set_config("rest.address", "127.0.0.1");
    if !plain {
        env.enable_checkpointing(Duration::from_secs(3600))
            .set_checkpoint_storage(dir.to_str().unwrap());
    }
    env.from_generator(Some(10_000_000), Some(2_000), |i| i)
        .map(|i: u64| i + 1)
        .key_by(|i: &u64| i % 4)
        .map(|i: u64| i * 2)
        .add_sink(eddy_api::connectors::DiscardingSink);
    let client = env.execute_async("rest-job").unwrap();
    let address = client
        .rest_address()
        .expect("rest.port starts the endpoint");
    // Slots are allocated asynchronously: wait until the job runs.
    let deadline = Instant::now() + common::WATCHDOG;
    while get(address, "/jobs")["jobs"][0]["status"] != "RUNNING" {
        assert!(Instant::now() < deadline, "the job does not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    (client, address)
}

/// Polls a savepoint operation until it is `COMPLETED` and returns its `operation`.
fn await_operation(address: SocketAddr, job: &str, trigger: &str) -> Value {
    let deadline = Instant::now() + common::WATCHDOG;
    loop {
        let status = get(address, &format!("/jobs/{job}/savepoints/{trigger}"));
        match status["status"]["id"].as_str() {
            Some("COMPLETED") => return status["operation"].clone(),
            Some("IN_PROGRESS") => {}
            other => panic!("unexpected status {other:?} in {status}"),
        }
        assert!(Instant::now() < deadline, "the savepoint does not end");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_cluster_and_a_running_job_in_flinks_shapes() {
    bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        let (client, address) = running_job(dir.path(), false);
        let jid = client.job_id().to_string();

        let overview = get(address, "/overview");
        assert_shape(
            &overview,
            &[
                ("taskmanagers", Kind::Int),
                ("slots-total", Kind::Int),
                ("slots-available", Kind::Int),
                ("jobs-running", Kind::Int),
                ("jobs-finished", Kind::Int),
                ("jobs-cancelled", Kind::Int),
                ("jobs-failed", Kind::Int),
                ("flink-version", Kind::Str),
                ("flink-commit", Kind::Str),
            ],
        );
        assert_eq!(overview["jobs-running"], 1);
        assert_eq!(overview["jobs-finished"], 0);
        // Two vertices of parallelism 2 share two slots.
        let (total, free) = (
            overview["slots-total"].as_u64().unwrap(),
            overview["slots-available"].as_u64().unwrap(),
        );
        assert_eq!(total - free, 2, "{overview}");

        assert_eq!(
            get(address, "/jobs"),
            json!({ "jobs": [{ "id": jid, "status": "RUNNING" }] })
        );

        let jobs = get(address, "/jobs/overview");
        let line = &jobs["jobs"][0];
        assert_shape(
            line,
            &[
                ("jid", Kind::Str),
                ("name", Kind::Str),
                ("state", Kind::Str),
                ("start-time", Kind::Int),
                ("end-time", Kind::Int),
                ("duration", Kind::Int),
                ("last-modification", Kind::Int),
                ("tasks", Kind::Obj),
            ],
        );
        assert_eq!(line["jid"], jid.as_str());
        assert_eq!(line["name"], "rest-job");
        assert_eq!(line["state"], "RUNNING");
        assert_eq!(line["end-time"], -1);
        assert_task_counts(&line["tasks"]);
        assert_eq!(line["tasks"]["total"], 4);
        assert_eq!(line["tasks"]["RUNNING"], 4);

        let details = get(address, &format!("/jobs/{jid}"));
        assert_shape(
            &details,
            &[
                ("jid", Kind::Str),
                ("name", Kind::Str),
                ("isStoppable", Kind::Bool),
                ("state", Kind::Str),
                ("job-type", Kind::Str),
                ("start-time", Kind::Int),
                ("end-time", Kind::Int),
                ("duration", Kind::Int),
                ("maxParallelism", Kind::Int),
                ("now", Kind::Int),
                ("timestamps", Kind::Obj),
                ("vertices", Kind::Arr),
                ("status-counts", Kind::Obj),
                ("plan", Kind::Obj),
            ],
        );
        assert_eq!(details["state"], "RUNNING");
        let vertices = details["vertices"].as_array().unwrap();
        assert_eq!(
            vertices.len(),
            2,
            "source -> map, then the keyed map -> sink"
        );
        let vertex = &vertices[0];
        assert_shape(
            vertex,
            &[
                ("id", Kind::Str),
                ("name", Kind::Str),
                ("maxParallelism", Kind::Int),
                ("parallelism", Kind::Int),
                ("status", Kind::Str),
                ("start-time", Kind::Int),
                ("end-time", Kind::Int),
                ("duration", Kind::Int),
                ("tasks", Kind::Obj),
            ],
        );
        let id = vertex["id"].as_str().unwrap();
        assert!(
            id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
        assert_eq!(vertex["parallelism"], 2);
        assert_eq!(vertex["status"], "RUNNING");
        assert!(
            vertex["name"].as_str().unwrap().starts_with("Source: "),
            "{vertex}"
        );
        assert_task_counts(&vertex["tasks"]);

        // The plan: one node per vertex with the same ids, the keyed one fed by a HASH exchange.
        let plan = get(address, &format!("/jobs/{jid}/plan"));
        assert_eq!(plan["plan"], details["plan"]);
        assert_shape(
            &plan["plan"],
            &[
                ("jid", Kind::Str),
                ("name", Kind::Str),
                ("type", Kind::Str),
                ("nodes", Kind::Arr),
            ],
        );
        let nodes = plan["plan"]["nodes"].as_array().unwrap();
        let ids: Vec<&Value> = nodes.iter().map(|n| &n["id"]).collect();
        let vertex_ids: Vec<&Value> = vertices.iter().map(|v| &v["id"]).collect();
        assert_eq!(ids, vertex_ids);
        for node in nodes {
            assert_shape(
                node,
                &[
                    ("id", Kind::Str),
                    ("parallelism", Kind::Int),
                    ("operator", Kind::Str),
                    ("operator_strategy", Kind::Str),
                    ("description", Kind::Str),
                    ("optimizer_properties", Kind::Obj),
                ],
            );
        }
        assert_eq!(nodes[0]["inputs"], json!([]), "{}", nodes[0]);
        assert_eq!(
            nodes[1]["inputs"],
            json!([{ "num": 0, "id": vertex_ids[0], "ship_strategy": "HASH", "exchange": "pipelined_bounded" }])
        );

        let task_managers = get(address, "/taskmanagers");
        let list = task_managers["taskmanagers"].as_array().unwrap();
        assert_eq!(
            list.len() as u64,
            overview["taskmanagers"].as_u64().unwrap()
        );
        for tm in list {
            assert_shape(
                tm,
                &[
                    ("id", Kind::Str),
                    ("path", Kind::Str),
                    ("dataPort", Kind::Int),
                    ("slotsNumber", Kind::Int),
                    ("freeSlots", Kind::Int),
                ],
            );
        }

        let config = get(address, "/config");
        assert_shape(
            &config,
            &[
                ("refresh-interval", Kind::Int),
                ("timezone-name", Kind::Str),
                ("timezone-offset", Kind::Int),
                ("flink-version", Kind::Str),
                ("features", Kind::Obj),
            ],
        );
        let entries = get(address, "/jobmanager/config");
        assert!(
            entries
                .as_array()
                .unwrap()
                .contains(&json!({ "key": "rest.port", "value": "0" })),
            "{entries}"
        );

        // Bad requests: Flink's error body with the status.
        assert_error(address, "GET", "/jobs/not-a-job-id", None, 400);
        assert_error(
            address,
            "GET",
            &format!("/jobs/{}", "0".repeat(32)),
            None,
            404,
        );
        assert_error(address, "GET", "/no/such/path", None, 404);
        assert_error(
            address,
            "PATCH",
            &format!("/jobs/{jid}?mode=rescale"),
            None,
            400,
        );
        assert_error(
            address,
            "GET",
            &format!("/jobs/{jid}/savepoints/nope"),
            None,
            404,
        );
        assert_error(
            address,
            "POST",
            &format!("/jobs/{jid}/savepoints"),
            Some(r#"{"cancel-job": "yes"}"#),
            400,
        );

        // A savepoint: triggered, then polled to its folder; the job goes on.
        let target = dir.path().join("savepoints");
        let body = json!({ "target-directory": target.to_str().unwrap() }).to_string();
        let (code, trigger) = request(
            address,
            "POST",
            &format!("/jobs/{jid}/savepoints"),
            Some(&body),
        );
        assert_eq!(code, 202, "{trigger}");
        let request_id = trigger["request-id"].as_str().unwrap().to_string();
        let operation = await_operation(address, &jid, &request_id);
        let location = operation["location"]
            .as_str()
            .unwrap_or_else(|| panic!("{operation}"));
        assert!(std::path::Path::new(location).join("_metadata").exists());
        assert_eq!(get(address, "/jobs")["jobs"][0]["status"], "RUNNING");

        // The checkpoint statistics hold the savepoint (the interval is an hour: nothing else).
        let checkpoints = get(address, &format!("/jobs/{jid}/checkpoints"));
        assert_shape(
            &checkpoints,
            &[
                ("counts", Kind::Obj),
                ("summary", Kind::Obj),
                ("latest", Kind::Obj),
                ("history", Kind::Arr),
            ],
        );
        assert_eq!(
            checkpoints["counts"],
            json!({ "restored": 0, "total": 1, "in_progress": 0, "completed": 1, "failed": 0 })
        );
        for summary in ["checkpointed_size", "state_size", "end_to_end_duration"] {
            assert_shape(
                &checkpoints["summary"][summary],
                &[("min", Kind::Int), ("max", Kind::Int), ("avg", Kind::Int)],
            );
            assert!(checkpoints["summary"][summary]["p99"].is_number());
        }
        assert_eq!(checkpoints["latest"]["completed"], Value::Null);
        assert_eq!(checkpoints["latest"]["failed"], Value::Null);
        let savepoint = &checkpoints["latest"]["savepoint"];
        assert_shape(
            savepoint,
            &[
                ("id", Kind::Int),
                ("status", Kind::Str),
                ("is_savepoint", Kind::Bool),
                ("trigger_timestamp", Kind::Int),
                ("latest_ack_timestamp", Kind::Int),
                ("state_size", Kind::Int),
                ("end_to_end_duration", Kind::Int),
                ("num_subtasks", Kind::Int),
                ("num_acknowledged_subtasks", Kind::Int),
                ("checkpoint_type", Kind::Str),
                ("external_path", Kind::Str),
                ("discarded", Kind::Bool),
            ],
        );
        assert_eq!(savepoint["external_path"], location);
        assert_eq!(savepoint["checkpoint_type"], "SAVEPOINT");
        assert_eq!(savepoint["status"], "COMPLETED");
        assert_eq!(savepoint["discarded"], false);
        assert_eq!(savepoint["num_subtasks"], 4);
        assert_eq!(checkpoints["history"], json!([savepoint.clone()]));
        let config = get(address, &format!("/jobs/{jid}/checkpoints/config"));
        assert_shape(
            &config,
            &[
                ("mode", Kind::Str),
                ("interval", Kind::Int),
                ("timeout", Kind::Int),
                ("min_pause", Kind::Int),
                ("max_concurrent", Kind::Int),
                ("externalization", Kind::Obj),
                ("state_backend", Kind::Str),
                ("unaligned_checkpoints", Kind::Bool),
                ("tolerable_failed_checkpoints", Kind::Int),
            ],
        );
        assert_eq!(config["mode"], "exactly_once");
        assert_eq!(config["interval"], 3_600_000);

        // Stop with a savepoint: the job finishes.
        let body = json!({ "targetDirectory": target.to_str().unwrap(), "drain": false });
        let (code, trigger) = request(
            address,
            "POST",
            &format!("/jobs/{jid}/stop"),
            Some(&body.to_string()),
        );
        assert_eq!(code, 202, "{trigger}");
        let operation = await_operation(address, &jid, trigger["request-id"].as_str().unwrap());
        let stopped_at = operation["location"].as_str().unwrap();
        assert!(std::path::Path::new(stopped_at).join("_metadata").exists());
        client.get_job_execution_result().unwrap();
        assert_eq!(
            get(address, "/jobs"),
            json!({ "jobs": [{ "id": jid, "status": "FINISHED" }] })
        );
        let overview = get(address, "/overview");
        assert_eq!(
            (
                overview["jobs-running"].clone(),
                overview["jobs-finished"].clone()
            ),
            (json!(0), json!(1))
        );
        let line = &get(address, "/jobs/overview")["jobs"][0];
        assert!(line["end-time"].as_i64().unwrap() >= line["start-time"].as_i64().unwrap());
    });
}

#[test]
fn cancel_and_a_failed_savepoint_over_rest() {
    bounded(|| {
        let dir = tempfile::tempdir().unwrap();
        // Without checkpointing a savepoint fails: the operation reports why.
        let (client, address) = running_job(dir.path(), true);
        let jid = client.job_id().to_string();
        // The request names its own trigger id (any text; here one whose 8th byte is inside a
        // character).
        let body = json!({
            "target-directory": dir.path().to_str().unwrap(),
            "triggerId": "aééééé-1",
        })
        .to_string();
        let (code, trigger) = request(
            address,
            "POST",
            &format!("/jobs/{jid}/savepoints"),
            Some(&body),
        );
        assert_eq!(
            (code, &trigger),
            (202, &json!({ "request-id": "aééééé-1" }))
        );
        let operation = await_operation(address, &jid, "a%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9-1");
        let cause = &operation["failure-cause"];
        assert_shape(cause, &[("class", Kind::Str), ("stack-trace", Kind::Str)]);
        assert!(
            cause["stack-trace"]
                .as_str()
                .unwrap()
                .contains("execution.checkpointing.interval"),
            "{cause}"
        );

        // No checkpointing, no checkpoint statistics.
        assert_error(
            address,
            "GET",
            &format!("/jobs/{jid}/checkpoints"),
            None,
            404,
        );
        assert_error(
            address,
            "GET",
            &format!("/jobs/{jid}/checkpoints/config"),
            None,
            404,
        );

        let (code, body) = request(address, "PATCH", &format!("/jobs/{jid}?mode=cancel"), None);
        assert_eq!((code, body), (202, json!({})));
        assert!(matches!(
            client.get_job_execution_result(),
            Err(JobError::Canceled { .. })
        ));
        assert_eq!(
            get(address, "/jobs/overview")["jobs"][0]["state"],
            "CANCELED"
        );
        assert_eq!(get(address, "/overview")["jobs-cancelled"], 1);
    });
}
