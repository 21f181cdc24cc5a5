//! Integration tests of the `eddy` binary: the CLI, the bundled example jobs and benchmarks.
//!
//! One test binary for the whole crate (one module per area), so the workspace links a
//! handful of test executables instead of one per file. Run one area with
//! `cargo test -p eddy --test integration <module>::`.

mod common;

mod bench_checkpoints;
mod bench_large_state;
mod bench_pipeline;
mod bench_windows;
mod broadcast_rules_example;
mod cli;
mod cluster_commands;
mod nexmark;
mod sequence_check;
mod socket_window_wordcount;
mod temperature_alert_example;
mod window_examples;
