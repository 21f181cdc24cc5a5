//! Integration tests of the DataStream API: jobs run on the embedded mini-cluster, with complete outputs compared against references.
//!
//! One test binary for the whole crate (one module per area), so the workspace links a
//! handful of test executables instead of one per file. Run one area with
//! `cargo test -p eddy-api --test integration <module>::`.

mod common;

mod backpressure;
mod batch_sizes;
mod broadcast_state;
mod broadcast_state_errors;
mod cancellation;
mod chaining;
mod checkpoints;
mod client_context;
mod connectors_e2e;
mod failover;
mod failures;
mod fault_tolerance;
mod file_sink;
#[cfg(feature = "rocksdb")]
mod incremental_checkpoints;
mod ingestion_time;
mod joins;
mod keyed_aggregations;
mod keyed_functions;
mod keyed_state;
mod operator_state;
mod parallelism;
mod partitioners;
mod rest;
mod runtime_modes;
#[cfg(feature = "s3")]
mod s3_checkpoints;
mod savepoints;
mod side_outputs;
mod side_outputs_two_input;
mod slots;
mod smoke;
mod timers;
mod timers_processing_and_co;
mod watermarks;
mod watermarks_in_batches;
mod window_assigners;
mod window_evictors;
mod window_functions;
mod window_lateness;
mod window_sessions;
mod window_slicing;
mod window_state;
mod window_triggers;
mod window_validation;
