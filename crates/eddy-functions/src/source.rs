//! The source contract user code implements.

use super::RuntimeContext;
use eddy_core::batch::Batch;
use eddy_core::error::FnResult;
use std::time::Duration;

/// Whether a source ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Boundedness {
    /// The source ends after a finite number of elements.
    Bounded,
    /// The source runs until the job is cancelled.
    ContinuousUnbounded,
}

/// What a source reports after a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    /// More elements are available right away: poll again.
    MoreAvailable,
    /// Nothing is available now; the task may wait up to this long (handling its mailbox in
    /// the meantime) before polling again.
    NothingAvailable(Duration),
    /// The source is exhausted; it will not be polled again.
    Finished,
}

/// Where a source emits its elements: the task's output batch.
pub struct SourceOutput<'a, T> {
    batch: &'a mut Batch<T>,
    capacity: usize,
}

impl<'a, T> SourceOutput<'a, T> {
    /// An output appending to `batch` until it holds `capacity` records (for the runtime and
    /// tests).
    pub fn new(batch: &'a mut Batch<T>, capacity: usize) -> Self {
        SourceOutput { batch, capacity }
    }

    /// Emits an element without a timestamp.
    #[inline]
    pub fn collect(&mut self, value: T) {
        self.batch.push_value(value);
    }

    /// Emits an element with an event timestamp (milliseconds).
    #[inline]
    pub fn collect_with_timestamp(&mut self, value: T, timestamp: i64) {
        self.batch.push(value, timestamp);
    }

    /// Emits every element of an iterator, without timestamps. Faster than calling
    /// [`collect`](Self::collect) in a loop for iterators of known length (ranges, slices).
    #[inline]
    pub fn extend(&mut self, values: impl Iterator<Item = T>) {
        self.batch.extend_values(values);
    }

    /// How many more elements fit into the current batch; a poll should emit about this many
    /// (it may emit more) and then return.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.capacity.saturating_sub(self.batch.len())
    }
}

/// A source of elements, polled by its task.
///
/// The task calls [`poll_next`](SourceFunction::poll_next) in a loop and handles its mailbox
/// (cancellation, and later checkpoints and timers) between polls, so a poll must return
/// promptly: emit up to `out.remaining()` elements, or report `NothingAvailable` instead of
/// blocking for long.
///
/// A parallel source ([`is_parallel`](SourceFunction::is_parallel)) runs as several subtasks;
/// each reads `subtask_index` and `parallelism` from the [`RuntimeContext`] in `open` and emits
/// its own share.
pub trait SourceFunction<T>: Clone + Send + 'static {
    eddy_state::checkpointed!();

    /// Called once per subtask before the first poll.
    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        Ok(())
    }

    /// Emits the next elements.
    fn poll_next(&mut self, out: &mut SourceOutput<'_, T>) -> FnResult<SourceStatus>;

    /// Called once after the last poll (or on cancellation).
    fn close(&mut self) -> FnResult<()> {
        Ok(())
    }

    /// Whether the source may run with parallelism > 1.
    fn is_parallel(&self) -> bool {
        false
    }

    /// Whether the source ends.
    fn boundedness(&self) -> Boundedness;
}
