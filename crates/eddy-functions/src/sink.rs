//! The sink contract user code implements.

use super::RuntimeContext;
use eddy_core::batch::Batch;
use eddy_core::error::FnResult;
use eddy_core::record::NO_TIMESTAMP;

/// What a sink knows about the element it receives.
#[derive(Debug, Clone, Copy)]
pub struct SinkContext {
    timestamp: i64,
}

impl SinkContext {
    /// A context for an element with the given timestamp.
    pub fn new(timestamp: i64) -> Self {
        SinkContext { timestamp }
    }

    /// The element's event timestamp, if any.
    pub fn timestamp(&self) -> Option<i64> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }
}

/// Writes the elements of a stream somewhere.
pub trait SinkFunction<T>: Clone + Send + 'static {
    eddy_state::checkpointed!();

    /// Called once per subtask before the first element.
    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        Ok(())
    }

    /// Writes one element.
    fn invoke(&mut self, value: T, ctx: &SinkContext) -> FnResult<()>;

    /// Writes a batch; override to write batches more efficiently than element by element.
    fn invoke_batch(&mut self, batch: Batch<T>) -> FnResult<()> {
        for record in batch.into_records() {
            let ctx = SinkContext::new(record.timestamp);
            self.invoke(record.value, &ctx)?;
        }
        Ok(())
    }

    /// Called when the input has ended (bounded streams), before `close`: flush here.
    fn finish(&mut self) -> FnResult<()> {
        Ok(())
    }

    /// Called once at the end (also on cancellation and failure).
    fn close(&mut self) -> FnResult<()> {
        Ok(())
    }
}
