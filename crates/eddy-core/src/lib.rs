//! Eddy's shared vocabulary.
//!
//! Everything every other layer speaks: stream records and watermarks, the [`Data`] and [`Key`]
//! bounds, key groups, configuration with Flink's key names, identifiers, and the user-function
//! traits (`MapFunction`, `SourceFunction`, …) that jobs implement and operators call.

/// Generates `open`/`close` lifecycle methods with empty defaults.
macro_rules! lifecycle {
    () => {
        /// Called once per subtask before the first element.
        fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
            Ok(())
        }
        /// Called once per subtask after the last element (or on cancellation).
        fn close(&mut self) -> FnResult<()> {
            Ok(())
        }
    };
}

pub mod batch;
pub mod config;
pub mod data;
pub mod error;
pub mod functions;
pub mod ids;
pub mod keygroup;
pub mod keyhash;
pub mod record;
pub mod state;
pub mod time;
pub mod windowing;

pub use batch::Batch;
pub use data::{Data, Key};
pub use error::{FnResult, FunctionError};
pub use record::{StreamRecord, Watermark, NO_TIMESTAMP};
