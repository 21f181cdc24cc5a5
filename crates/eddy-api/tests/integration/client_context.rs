//! Programs run under a client (the `eddy` CLI) go through its context, whichever way they
//! execute.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use eddy_api::environment::context::{
    clear_client_context, set_client_context, ClientContext, ClientMode,
};
use eddy_api::prelude::*;

#[test]
fn plan_capture_covers_execute_and_collect_and_runs_nothing() {
    let slot = Arc::new(Mutex::new(None));
    set_client_context(ClientContext {
        configuration: Configuration::new(),
        mode: ClientMode::CapturePlan(slot.clone()),
        current_job: Arc::new(Mutex::new(None)),
    });
    let env = StreamExecutionEnvironment::get_execution_environment();
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let result = env
        .from_elements(vec![1u64, 2, 3])
        .map(move |x| {
            counter.fetch_add(1, Ordering::Relaxed);
            x * 2
        })
        .execute_and_collect("captured");
    clear_client_context();
    assert!(matches!(result, Err(JobError::PlanCaptured)), "{result:?}");
    assert_eq!(calls.load(Ordering::Relaxed), 0, "the job must not run");
    let plan: serde_json::Value = serde_json::from_str(slot.lock().as_deref().unwrap()).unwrap();
    let types: Vec<&str> = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["Source: Collection Source", "Map", "Sink: Collect"]
    );
}

#[test]
fn executing_under_a_client_registers_the_job_until_it_ends() {
    let current_job = Arc::new(Mutex::new(None));
    set_client_context(ClientContext {
        configuration: Configuration::new(),
        mode: ClientMode::Execute,
        current_job: current_job.clone(),
    });
    let env = StreamExecutionEnvironment::get_execution_environment();
    let out = env
        .from_elements(vec![1u64, 2, 3])
        .map(|x| x + 1)
        .execute_and_collect("registered");
    clear_client_context();
    let mut out = out.unwrap();
    out.sort();
    assert_eq!(out, vec![2, 3, 4]);
    assert!(current_job.lock().is_none(), "cleared once the job ended");
}
