//! Eddy's task execution.
//!
//! A subtask runs on its own thread as a single-threaded loop over its [`inbox`]: batches of
//! records from its input channels, control events (watermarks, end of partition) in-band with
//! them, and mails (cancellation) from its TaskManager. The operators of a chain call each other
//! directly, one call per batch ([`output::Output`]); the last operator of a chain hands its
//! batches to a [`writer`] that partitions them into the consumers' bounded channels, which is
//! where backpressure comes from.
//!
//! Operators are built from type-erased [`factory`] objects that the DataStream API creates, so
//! that the graph layers can stay plain data.

pub mod carried;
pub mod checkpoint;
pub mod error;
pub mod factory;
pub mod inbox;
mod incremental;
pub mod network;
pub mod operators;
pub mod output;
pub mod recycle;
pub mod restore;
pub mod side_output;
pub mod snapshot;
pub mod state_backend;
pub mod task;
pub mod testing;
pub mod writer;

pub use error::TaskError;
pub use output::{Batch, Output};
