//! Eddy's REST API: Flink's paths and JSON shapes over a cluster's Dispatcher and
//! ResourceManager, so that Flink's habits and tools work against an Eddy cluster.
//!
//! - [`server`]: the HTTP server (axum on a small Tokio runtime of its own), started by the
//!   embedded cluster when `rest.port` is set, stopped when dropped.
//! - [`handlers`]: one module per resource: the cluster (`/overview`, `/config`,
//!   `/taskmanagers`), jobs (`/jobs`, `/jobs/overview`, `/jobs/:jobid`, cancellation),
//!   checkpoints (`/jobs/:jobid/checkpoints`, its `config`) and savepoints
//!   (`/jobs/:jobid/savepoints`, `/jobs/:jobid/stop`, their asynchronous status).
//! - [`config`]: `rest.port` and `rest.address`.
//! - [`error`]: Flink's error body, `{"errors": [...]}`, with the right status code.

pub mod config;
pub mod error;
pub mod handlers;
pub mod server;

pub use error::RestError;
pub use server::{RestServer, RestServerConfig, RestState};
