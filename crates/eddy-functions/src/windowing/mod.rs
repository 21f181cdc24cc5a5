//! Windowing: windows, assigners, triggers, evictors and window functions, with Flink's
//! semantics (window-start formula, trigger behaviour, lateness rules).

mod assigners;
mod evictors;
mod functions;
mod triggers;
mod window;

/// The aggregate function lives with the other function traits; re-exported here, where window
/// code looks for it.
pub use crate::AggregateFunction;
pub use assigners::{
    DynamicGap, EventTimeSessionWindows, GlobalWindows, ProcessingTimeSessionWindows, SessionGap,
    Slicing, SlidingEventTimeWindows, SlidingProcessingTimeWindows, StaticGap,
    TumblingEventTimeWindows, TumblingProcessingTimeWindows, WindowAssigner,
};
pub use evictors::{CountEvictor, Evictor, EvictorContext, TimeEvictor, TimestampedValue};
pub use functions::{
    process_window_fn, Elements, PassThrough, ProcessWindowFn, ProcessWindowFunction,
    ReduceAggregate, WindowContext,
};
pub use triggers::{
    ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger, CountTrigger, EventTimeTrigger,
    NeverTrigger, ProcessingTimeTrigger, PurgingTrigger, TimerRequest, Trigger, TriggerContext,
    TriggerResult,
};
pub use window::{GlobalWindow, TimeWindow, Window};

/// An evictor that keeps everything (windows without an evictor).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvictor;

impl<T, W: Window> Evictor<T, W> for NoEvictor {
    fn evict_before(
        &mut self,
        _elements: &mut Vec<TimestampedValue<T>>,
        _window: &W,
        _ctx: &EvictorContext,
    ) -> eddy_core::FnResult<()> {
        Ok(())
    }

    fn evict_after(
        &mut self,
        _elements: &mut Vec<TimestampedValue<T>>,
        _window: &W,
        _ctx: &EvictorContext,
    ) -> eddy_core::FnResult<()> {
        Ok(())
    }
}
