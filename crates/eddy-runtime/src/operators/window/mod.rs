//! Window operators.
//!
//! [`WindowOperatorLogic`] implements every combination of assigner, trigger, evictor and
//! window function, including merging (session) windows. [`SlicingWindowLogic`] is the fast
//! path the DataStream API picks for tumbling and sliding windows with their default trigger,
//! no evictor and an incremental (`reduce`/`aggregate`) function.

mod buckets;
mod contents;
mod fifo;
mod general;
mod key_slices;
mod slicing;
mod slicing_snapshot;
mod states;

use eddy_core::FunctionError;
use eddy_functions::OutputTag;

pub use contents::{AggregateElements, Aggregating, Buffering, WindowContents};
pub use general::WindowOperatorLogic;
pub use slicing::{SlicingSpec, SlicingWindowLogic};

/// The settings of a window operator (cloned for every subtask).
#[derive(Clone)]
pub struct WindowSpec<T, KS, A, Tr, C> {
    /// Extracts the key.
    pub key_selector: KS,
    /// Assigns windows.
    pub assigner: A,
    /// Decides when windows fire.
    pub trigger: Tr,
    /// Contents and window function.
    pub contents: C,
    /// Allowed lateness (ms, event time only).
    pub allowed_lateness: i64,
    /// Where late elements go (none: dropped).
    pub late_data: Option<OutputTag<T>>,
}

/// The error for an element without timestamp in an event-time window.
pub(crate) fn missing_timestamp() -> FunctionError {
    "an element has no timestamp, but event-time windows need one; assign timestamps with \
     assign_timestamps_and_watermarks (or from_source with a WatermarkStrategy), or use \
     processing-time windows"
        .into()
}
