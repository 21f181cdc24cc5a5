//! When a part file is closed and a new one started (Flink's `DefaultRollingPolicy`).
//!
//! Part files are always closed at a checkpoint (their transaction is pre-committed there),
//! and in between when one of these limits is reached.

use std::time::Duration;

/// Size and time limits of part files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultRollingPolicy {
    /// A part file reaching this size is closed (default 128 MiB).
    pub max_part_size: u64,
    /// A part file open this long is closed at its next element (default 60 s).
    pub rollover_interval: Duration,
    /// A part file without elements for this long is closed (default 60 s).
    pub inactivity_interval: Duration,
}

impl Default for DefaultRollingPolicy {
    fn default() -> Self {
        DefaultRollingPolicy {
            max_part_size: 128 * 1024 * 1024,
            rollover_interval: Duration::from_secs(60),
            inactivity_interval: Duration::from_secs(60),
        }
    }
}

impl DefaultRollingPolicy {
    /// Closes part files at `bytes`.
    pub fn with_max_part_size(self, bytes: u64) -> Self {
        DefaultRollingPolicy {
            max_part_size: bytes.max(1),
            ..self
        }
    }

    /// Closes part files open for `interval`.
    pub fn with_rollover_interval(self, interval: Duration) -> Self {
        DefaultRollingPolicy {
            rollover_interval: interval,
            ..self
        }
    }

    /// Closes part files that received nothing for `interval`.
    pub fn with_inactivity_interval(self, interval: Duration) -> Self {
        DefaultRollingPolicy {
            inactivity_interval: interval,
            ..self
        }
    }

    /// Whether a part file of `size` bytes, opened at `opened` (milliseconds), rolls after a
    /// write at `now`.
    pub fn rolls_after_write(&self, size: u64, opened: i64, now: i64) -> bool {
        size >= self.max_part_size || elapsed(opened, now) >= self.rollover_interval
    }

    /// Whether a part file last written at `last_write` rolls, at `now`, for inactivity.
    pub fn rolls_inactive(&self, last_write: i64, now: i64) -> bool {
        elapsed(last_write, now) >= self.inactivity_interval
    }
}

fn elapsed(since: i64, now: i64) -> Duration {
    Duration::from_millis(u64::try_from(now.saturating_sub(since)).unwrap_or(0))
}
