//! Where an operator's output goes: the next chained operator, a fan-out, or a network writer.

use std::any::Any;
use std::time::Instant;

use eddy_core::{Data, Watermark};

use crate::checkpoint::ChainSnapshot;
use crate::error::TaskError;
use crate::inbox::WatermarkAt;

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

    /// Consumes a batch whose records' keys came with them (`keys`: a `Vec<K>` behind `dyn
    /// Any`, one per record; see [`crate::carried`]). Keyed operators that can look their
    /// state up by them do; by default the keys are ignored.
    fn push_with_keys(&mut self, batch: Batch<T>, _keys: &dyn Any) -> Result<(), TaskError> {
        self.push(batch)
    }

    /// Consumes a batch with watermarks among its records (each follows the batch's first
    /// `after` records), as if its records and watermarks came one after another: by default
    /// the batch is cut at the watermarks. Network writers keep it whole and send the
    /// watermarks with the records.
    fn push_with_watermarks(
        &mut self,
        batch: Batch<T>,
        watermarks: &[WatermarkAt],
    ) -> Result<(), TaskError> {
        for_segments(batch, watermarks, |segment| match segment {
            Segment::Records(records) => self.push(records),
            Segment::Watermark(watermark) => self.watermark(watermark),
        })
    }

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

/// A part of a batch with watermarks among its records.
pub(crate) enum Segment<T> {
    /// Records between two watermarks (never empty).
    Records(Batch<T>),
    /// A watermark, after the records before it.
    Watermark(Watermark),
}

/// Cuts `batch` at its `watermarks` and hands `apply` the records and watermarks in their
/// order. The cuts are made from the back, so each record moves at most once.
pub(crate) fn for_segments<T>(
    mut batch: Batch<T>,
    watermarks: &[WatermarkAt],
    mut apply: impl FnMut(Segment<T>) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    let mut tails = Vec::with_capacity(watermarks.len());
    for mark in watermarks.iter().rev() {
        tails.push(batch.split_off(mark.after.min(batch.len())));
    }
    let mut segments = std::iter::once(batch).chain(tails.into_iter().rev());
    for mark in watermarks {
        if let Some(records) = segments.next().filter(|records| !records.is_empty()) {
            apply(Segment::Records(records))?;
        }
        apply(Segment::Watermark(mark.watermark))?;
    }
    segments
        .filter(|records| !records.is_empty())
        .try_for_each(|records| apply(Segment::Records(records)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_core::Watermark;

    #[test]
    fn a_marked_batch_comes_apart_into_its_records_and_watermarks_in_order() {
        let at = |after, watermark| WatermarkAt {
            after,
            watermark: Watermark(watermark),
        };
        // Watermarks before the first record, two at one place, and after the last record.
        let marks = [at(0, 1), at(2, 5), at(2, 6), at(3, 7), at(5, 9)];
        let batch = Batch::from_parts(vec![10, 11, 12, 13, 14], vec![100, 110, 120, 130, 140]);
        let mut seen = Vec::new();
        for_segments(batch, &marks, |segment| {
            seen.push(match segment {
                Segment::Records(records) => Err(records.iter().map(|(v, t)| (*v, t)).collect()),
                Segment::Watermark(watermark) => Ok(watermark.0),
            });
            Ok(())
        })
        .expect("no error");
        let records = |r: &[(i32, i64)]| Err(r.to_vec());
        assert_eq!(
            seen,
            vec![
                Ok(1),
                records(&[(10, 100), (11, 110)]),
                Ok(5),
                Ok(6),
                records(&[(12, 120)]),
                Ok(7),
                records(&[(13, 130), (14, 140)]),
                Ok(9),
            ]
        );
    }
}
