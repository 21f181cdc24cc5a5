//! Integration tests of eddy-state: operator-state redistribution, and (with the `rocksdb`
//! feature) the RocksDB store: the backend conformance suite, memory and time-to-live cleanup.
//!
//! One test binary for the whole crate (one module per area), so the workspace links a
//! handful of test executables instead of one per file. Run one area with
//! `cargo test -p eddy-state --test integration <module>::`.

#[cfg(feature = "rocksdb")]
mod conformance;
#[cfg(feature = "rocksdb")]
mod memory;
#[cfg(feature = "rocksdb")]
mod native_snapshots;
mod operator_state_redistribution;
#[cfg(feature = "rocksdb")]
mod ttl;
