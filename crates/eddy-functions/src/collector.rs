//! The collector that flat-map style functions emit into.

use eddy_core::batch::Batch;

/// Collects the records a function emits for one input element.
///
/// Emitted records inherit the input element's timestamp. The collector appends to the
/// operator's output batch directly: emitting is a `Vec::push`, never a channel operation.
pub struct Collector<'a, T> {
    batch: &'a mut Batch<T>,
    timestamp: i64,
}

impl<'a, T> Collector<'a, T> {
    /// A collector appending to `batch` with the given timestamp (for operator implementations
    /// and tests).
    pub fn new(batch: &'a mut Batch<T>, timestamp: i64) -> Self {
        Collector { batch, timestamp }
    }

    /// Emits a value.
    #[inline]
    pub fn collect(&mut self, value: T) {
        self.batch.push(value, self.timestamp);
    }

    /// Emits a value with an explicit event timestamp.
    #[inline]
    pub fn collect_with_timestamp(&mut self, value: T, timestamp: i64) {
        self.batch.push(value, timestamp);
    }

    /// Sets the timestamp given to the following `collect` calls.
    pub fn set_timestamp(&mut self, timestamp: i64) {
        self.timestamp = timestamp;
    }
}
