//! How `get_execution_environment()` learns it runs under the `eddy` CLI.
//!
//! The CLI installs a [`ClientContext`] on the thread that runs a job's program (as Flink's
//! `ContextEnvironment` does): it carries the configuration (from `conf/config.yaml`, `-D` and
//! `-p`), whether to announce the submission, and — for `eddy info` — where to put the plan
//! instead of executing it.

use std::cell::RefCell;
use std::sync::Arc;

use parking_lot::Mutex;

use eddy_core::config::Configuration;

use crate::client::JobClient;

/// What `execute` does under a client.
#[derive(Clone)]
pub enum ClientMode {
    /// Runs the job, printing `Job has been submitted with JobID …` like Flink's CLI.
    Execute,
    /// Stores the execution plan JSON here and does not run the job.
    CapturePlan(Arc<Mutex<Option<String>>>),
}

/// The environment a client (the CLI) sets up for programs.
#[derive(Clone)]
pub struct ClientContext {
    /// The effective configuration.
    pub configuration: Configuration,
    /// Execute or capture the plan.
    pub mode: ClientMode,
    /// The job being executed, so that the client can cancel it (Ctrl-C).
    pub current_job: Arc<Mutex<Option<JobClient>>>,
}

thread_local! {
    static CONTEXT: RefCell<Option<ClientContext>> = const { RefCell::new(None) };
}

/// Installs the context for programs run on this thread (until [`clear_client_context`]).
pub fn set_client_context(context: ClientContext) {
    CONTEXT.with(|c| *c.borrow_mut() = Some(context));
}

/// Removes the context of this thread.
pub fn clear_client_context() {
    CONTEXT.with(|c| *c.borrow_mut() = None);
}

pub(crate) fn current_client_context() -> Option<ClientContext> {
    CONTEXT.with(|c| c.borrow().clone())
}
