//! Side outputs at run time: the buffers an operator's functions emit into
//! ([`SideOutputs`]), and the sinks that move them to the consumers of each tag.

use std::sync::Arc;
use std::time::Instant;

use eddy_core::{Data, Watermark};
use eddy_functions::SideOutputs;

use crate::checkpoint::ChainSnapshot;
use crate::error::TaskError;
use crate::factory::StreamType;
use crate::output::{ErasedOutput, Output};

/// Where one side output of an operator goes: its tag id and the (erased) consumers.
pub struct SideTarget {
    /// The tag id.
    pub id: String,
    /// An erased `Box<dyn Output<X>>` for the tag's element type.
    pub output: ErasedOutput,
}

/// Moves one side output's buffered records to its consumers, and passes control events on.
pub trait SideSink: Send {
    /// Opens the consumers.
    fn open(&mut self) -> Result<(), TaskError>;
    /// Sends what the operator buffered for this side output.
    fn drain(&mut self, buffers: &mut SideOutputs) -> Result<(), TaskError>;
    /// Passes a watermark on.
    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError>;
    /// Passes an idleness change on.
    fn stream_status(&mut self, idle: bool) -> Result<(), TaskError>;
    /// Ends the consumers' input.
    fn end_of_input(&mut self) -> Result<(), TaskError>;
    /// Flushes the consumers.
    fn flush(&mut self) -> Result<(), TaskError>;
    /// Passes the task's periodic tick on.
    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError>;
    /// Passes a checkpoint barrier on.
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError>;
    /// Passes a checkpoint notification on.
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError>;
    /// Closes the consumers.
    fn close(&mut self) -> Result<(), TaskError>;
}

struct TypedSideSink<X> {
    index: usize,
    output: Box<dyn Output<X>>,
}

impl<X: Data> SideSink for TypedSideSink<X> {
    fn open(&mut self) -> Result<(), TaskError> {
        self.output.open()
    }
    fn drain(&mut self, buffers: &mut SideOutputs) -> Result<(), TaskError> {
        let batch = buffers.take::<X>(self.index);
        if batch.is_empty() {
            return Ok(());
        }
        self.output.push(batch)
    }
    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.output.watermark(watermark)
    }
    fn stream_status(&mut self, idle: bool) -> Result<(), TaskError> {
        self.output.stream_status(idle)
    }
    fn end_of_input(&mut self) -> Result<(), TaskError> {
        self.output.end_of_input()
    }
    fn flush(&mut self) -> Result<(), TaskError> {
        self.output.flush()
    }
    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError> {
        self.output.on_timer(now)
    }
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        self.output.snapshot_state(snapshot)
    }
    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        self.output.notify_checkpoint(checkpoint_id, completed)
    }
    fn close(&mut self) -> Result<(), TaskError> {
        self.output.close()
    }
}

/// The sink that drains buffer `index` (of type `X`) into `output`.
pub(crate) fn typed_side_sink<X: Data>(
    index: usize,
    output: Box<dyn Output<X>>,
) -> Box<dyn SideSink> {
    Box::new(TypedSideSink { index, output })
}

/// The side outputs an operator must feed, ready to be drained.
pub struct SideChannels {
    /// The buffers the operator's functions emit into.
    pub buffers: SideOutputs,
    /// One sink per consumed tag.
    pub sinks: Vec<Box<dyn SideSink>>,
}

impl SideChannels {
    /// Registers every target; an operator without consumed side outputs gets empty channels.
    pub fn new(targets: Vec<(SideTarget, Arc<dyn StreamType>)>) -> Result<Self, TaskError> {
        let mut buffers = SideOutputs::new();
        let sinks = targets
            .into_iter()
            .map(|(target, ty)| ty.side_sink(target, &mut buffers))
            .collect::<Result<_, _>>()?;
        Ok(SideChannels { buffers, sinks })
    }

    /// Sends everything buffered; a type mismatch in an emit is an error.
    pub fn drain(&mut self, operator: &str) -> Result<(), TaskError> {
        if let Some(message) = self.buffers.take_error() {
            return Err(TaskError::Record {
                operator: operator.to_string(),
                message,
            });
        }
        for sink in &mut self.sinks {
            sink.drain(&mut self.buffers)?;
        }
        Ok(())
    }

    /// Opens every consumer.
    pub fn open(&mut self) -> Result<(), TaskError> {
        self.sinks.iter_mut().try_for_each(|s| s.open())
    }

    /// Passes a watermark to every consumer.
    pub fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.sinks
            .iter_mut()
            .try_for_each(|s| s.watermark(watermark))
    }

    /// Passes an idleness change to every consumer.
    pub fn stream_status(&mut self, idle: bool) -> Result<(), TaskError> {
        self.sinks
            .iter_mut()
            .try_for_each(|s| s.stream_status(idle))
    }

    /// Ends every consumer's input.
    pub fn end_of_input(&mut self) -> Result<(), TaskError> {
        self.sinks.iter_mut().try_for_each(|s| s.end_of_input())
    }

    /// Flushes every consumer.
    pub fn flush(&mut self) -> Result<(), TaskError> {
        self.sinks.iter_mut().try_for_each(|s| s.flush())
    }

    /// Passes the task's periodic tick to every consumer.
    pub fn on_timer(&mut self, now: Instant) -> Result<(), TaskError> {
        self.sinks.iter_mut().try_for_each(|s| s.on_timer(now))
    }

    /// Passes a checkpoint barrier to every consumer.
    pub fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        self.sinks
            .iter_mut()
            .try_for_each(|s| s.snapshot_state(snapshot))
    }

    /// Passes a checkpoint notification to every consumer.
    pub fn notify_checkpoint(
        &mut self,
        checkpoint_id: u64,
        completed: bool,
    ) -> Result<(), TaskError> {
        self.sinks
            .iter_mut()
            .try_for_each(|s| s.notify_checkpoint(checkpoint_id, completed))
    }

    /// Closes every consumer, even after one fails; the first failure is returned.
    pub fn close(&mut self) -> Result<(), TaskError> {
        let mut result = Ok(());
        for sink in &mut self.sinks {
            result = result.and(sink.close());
        }
        result
    }
}

/// Only operators with a function that can emit side outputs feed them; anything else asking
/// for them is a plan bug. operators emit side outputs; anything else asking for them is a plan bug.
pub(crate) fn no_side_outputs(
    side_outputs: &[(SideTarget, Arc<dyn StreamType>)],
) -> Result<(), TaskError> {
    match side_outputs.first() {
        None => Ok(()),
        Some((target, _)) => Err(TaskError::Internal(format!(
            "side output '{}' requested from an operator that cannot emit side outputs",
            target.id
        ))),
    }
}
