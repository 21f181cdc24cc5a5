//! Integration tests of the runtime's operators: operator state through its entry points, and
//! keyed operators through snapshots, restores and rescaling in the operator test harness.

mod common;
mod keyed_snapshots;
mod operator_state;
mod two_input_snapshots;
mod window_snapshots;
