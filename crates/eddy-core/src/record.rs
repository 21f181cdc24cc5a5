//! Stream records and watermarks.

use serde::{Deserialize, Serialize};

/// The timestamp of a record that carries none.
pub const NO_TIMESTAMP: i64 = i64::MIN;

/// One element of a stream: a value and its (optional) event timestamp in epoch milliseconds.
///
/// Records always move in batches (`Vec<StreamRecord<T>>`); the timestamp is stored inline so a
/// batch is a single allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecord<T> {
    /// The element itself.
    pub value: T,
    /// Event timestamp in milliseconds, or [`NO_TIMESTAMP`].
    pub timestamp: i64,
}

impl<T> StreamRecord<T> {
    /// A record without a timestamp.
    #[inline]
    pub fn new(value: T) -> Self {
        StreamRecord {
            value,
            timestamp: NO_TIMESTAMP,
        }
    }

    /// A record with an event timestamp.
    #[inline]
    pub fn with_timestamp(value: T, timestamp: i64) -> Self {
        StreamRecord { value, timestamp }
    }

    /// The event timestamp, if the record has one.
    #[inline]
    pub fn timestamp(&self) -> Option<i64> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }

    /// The same timestamp with another value (what a map does).
    #[inline]
    pub fn replace<U>(self, value: U) -> StreamRecord<U> {
        StreamRecord {
            value,
            timestamp: self.timestamp,
        }
    }
}

/// A watermark: the assertion that no more records with a timestamp `<=` this one will arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Watermark(pub i64);

impl Watermark {
    /// The watermark a bounded input emits at its end, so every pending timer fires.
    pub const MAX: Watermark = Watermark(i64::MAX);
    /// The initial watermark before any was received.
    pub const MIN: Watermark = Watermark(i64::MIN);
}
