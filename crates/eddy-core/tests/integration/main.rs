//! Integration tests of eddy-core: key placement.
//!
//! One test binary for the whole crate (one module per area), so the workspace links a
//! handful of test executables instead of one per file. Run one area with
//! `cargo test -p eddy-core --test integration <module>::`.

mod key_placement;
