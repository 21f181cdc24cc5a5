//! Integration tests of the RocksDB store: the backend conformance suite and time-to-live cleanup.
//!
//! One test binary for the whole crate (one module per area), so the workspace links a
//! handful of test executables instead of one per file. Run one area with
//! `cargo test -p eddy-state --test integration <module>::`.

mod conformance;
mod memory;
mod ttl;
