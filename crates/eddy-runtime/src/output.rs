//! Where an operator's output goes: the next chained operator, a fan-out, or a network writer.

use std::any::Any;
use std::time::Instant;

use eddy_core::{Data, Watermark};

use crate::checkpoint::ChainSnapshot;
use crate::error::TaskError;

/// A batch of records: the unit in which data moves everywhere in the runtime.
pub use eddy_core::Batch;

/// The consumer side of a typed stream inside a task.
///
/// Implemented by every chained operator (for its input type) and by network writers. One call
/// per batch, never per record.
pub trait Output<T>: Send {
    /// Opens this consumer and everything downstream of it (downstream first).
    fn open(&mut self) -> Result<(), TaskError>;

    /// Consumes a batch.
    fn push(&mut self, batch: Batch<T>) -> Result<(), TaskError>;

    /// Consumes a watermark (already combined across the task's input channels).
    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError>;

    /// The stream became idle (`true`: no watermarks to wait for) or active again.
    fn stream_status(&mut self, idle: bool) -> Result<(), TaskError>;

    /// The input has ended: emit anything held back, then end the downstream input.
    fn end_of_input(&mut self) -> Result<(), TaskError>;

    /// Sends partially filled batches downstream (network writers; operators pass it on).
    fn flush(&mut self) -> Result<(), TaskError>;

    /// The task's periodic processing-time tick (every `pipeline.auto-watermark-interval`):
    /// operators with periodic work do it, and every operator passes the tick on.
    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError>;

    /// A checkpoint barrier passes: this operator adds the synchronous part of its snapshot
    /// to `snapshot` and passes the call on downstream (network writers send their pending
    /// records, then the barrier into every channel).
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError>;

    /// Checkpoint `checkpoint_id` completed (`completed`) or was aborted: the operators' functions
    /// are told, here and downstream in the chain (network writers end the call: every task
    /// is told on its own).
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError>;

    /// Releases resources, here and downstream. Called once, also after failures.
    fn close(&mut self) -> Result<(), TaskError>;
}

/// A typed `Box<dyn Output<T>>` behind `dyn Any`, so chain building can pass it through
/// type-agnostic code.
pub type ErasedOutput = Box<dyn Any + Send>;

/// Erases an output's type.
pub fn erase<T: Data>(output: Box<dyn Output<T>>) -> ErasedOutput {
    Box::new(output)
}

/// Recovers a typed output; a mismatch is a bug in plan translation.
pub fn unerase<T: Data>(output: ErasedOutput) -> Result<Box<dyn Output<T>>, TaskError> {
    output
        .downcast::<Box<dyn Output<T>>>()
        .map(|b| *b)
        .map_err(|_| {
            TaskError::Internal(format!(
                "operator chain type mismatch: expected an output of {}",
                std::any::type_name::<T>()
            ))
        })
}

/// Sends every batch to several outputs (a stream consumed more than once).
pub struct FanOut<T> {
    outputs: Vec<Box<dyn Output<T>>>,
}

impl<T: Data> FanOut<T> {
    /// One output per consumer; with none the records are dropped, with one no fan-out is
    /// needed and that output should be used directly.
    pub fn new(outputs: Vec<Box<dyn Output<T>>>) -> Self {
        FanOut { outputs }
    }
}

impl<T: Data> Output<T> for FanOut<T> {
    fn open(&mut self) -> Result<(), TaskError> {
        self.outputs.iter_mut().try_for_each(|o| o.open())
    }

    fn push(&mut self, batch: Batch<T>) -> Result<(), TaskError> {
        if let Some((last, rest)) = self.outputs.split_last_mut() {
            for output in rest {
                output.push(batch.clone())?;
            }
            last.push(batch)?;
        }
        Ok(())
    }

    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.outputs
            .iter_mut()
            .try_for_each(|o| o.watermark(watermark))
    }

    fn stream_status(&mut self, idle: bool) -> Result<(), TaskError> {
        self.outputs
            .iter_mut()
            .try_for_each(|o| o.stream_status(idle))
    }

    fn end_of_input(&mut self) -> Result<(), TaskError> {
        self.outputs.iter_mut().try_for_each(|o| o.end_of_input())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.outputs.iter_mut().try_for_each(|o| o.flush())
    }

    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError> {
        self.outputs.iter_mut().try_for_each(|o| o.on_timer(now))
    }

    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        self.outputs
            .iter_mut()
            .try_for_each(|o| o.snapshot_state(snapshot))
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        self.outputs
            .iter_mut()
            .try_for_each(|o| o.notify_checkpoint(checkpoint_id, completed))
    }

    fn close(&mut self) -> Result<(), TaskError> {
        let mut first_error = None;
        for output in &mut self.outputs {
            if let Err(e) = output.close() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
