//! The context of a process function's call.

use eddy_core::record::NO_TIMESTAMP;
use eddy_state::RuntimeContext;

use crate::{OutputTag, SideOutputs};

/// The context of one `process_element` call of a process function.
pub struct ProcessContext<'a> {
    timestamp: i64,
    watermark: i64,
    runtime: &'a RuntimeContext,
    side_outputs: &'a mut SideOutputs,
}

impl<'a> ProcessContext<'a> {
    /// A context for an element with the given timestamp, at the operator's current watermark
    /// (for operator implementations).
    pub fn new(
        timestamp: i64,
        watermark: i64,
        runtime: &'a RuntimeContext,
        side_outputs: &'a mut SideOutputs,
    ) -> Self {
        ProcessContext {
            timestamp,
            watermark,
            runtime,
            side_outputs,
        }
    }

    /// The operator's current event-time watermark (`i64::MIN` before the first one).
    pub fn current_watermark(&self) -> i64 {
        self.watermark
    }

    /// Emits a value to a side output, with the current element's timestamp. Read it with
    /// `stream.get_side_output(&tag)`; values for tags nobody reads are dropped.
    #[inline]
    pub fn output<X: 'static>(&mut self, tag: &OutputTag<X>, value: X) {
        self.side_outputs.emit(tag, value, self.timestamp);
    }

    /// The element's event timestamp, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }

    /// Where this function runs.
    pub fn runtime_context(&self) -> &RuntimeContext {
        self.runtime
    }
}
