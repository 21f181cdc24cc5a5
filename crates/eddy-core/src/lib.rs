//! Eddy's shared vocabulary.
//!
//! Everything every other layer speaks: stream records and watermarks, the [`Data`] and [`Key`]
//! bounds, key groups, configuration with Flink's key names, identifiers, the time domains and
//! the processing-time clock. State (and the contexts through which functions reach it) lives
//! in `eddy-state`, the user-function traits in `eddy-functions`.

pub mod batch;
pub mod config;
pub mod data;
pub mod error;
pub mod ids;
pub mod keygroup;
pub mod keyhash;
pub mod record;
pub mod time;

pub use batch::Batch;
pub use data::{Data, Key};
pub use error::{FnResult, FunctionError};
pub use record::{StreamRecord, Watermark, NO_TIMESTAMP};
