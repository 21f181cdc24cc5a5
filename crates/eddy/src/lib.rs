//! The `eddy` command's library: the bundled example jobs, the client that runs them, the
//! benchmark programs, the Nexmark tools, and the commands that act on a running job through
//! its REST endpoint.

pub mod bench;
pub mod cli;
pub mod detached;
pub mod examples;
pub mod nexmark;
pub mod remote;

/// Why a bundled program could not run.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// The program's arguments are wrong; the message says how to call it.
    #[error("{0}")]
    InvalidArguments(String),
    /// The job could not be built, or it failed.
    #[error(transparent)]
    Job(#[from] eddy_api::JobError),
    /// The job ran, but its output is wrong (test programs that check their output).
    #[error("the job's output is wrong: {0}")]
    Check(String),
}
