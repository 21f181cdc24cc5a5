//! Time: the two time domains and the processing-time clock (timers are state: they live in
//! `eddy-state`).
//!
//! Event time is carried by records and watermarks (milliseconds, `i64`). Processing time is
//! the wall clock in milliseconds since the Unix epoch, read through a task's
//! [`ProcessingTimeService`], which also lets operators ask the task loop to wake them up when
//! their next processing-time timer is due.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Which clock a timer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeDomain {
    /// Fires when the watermark reaches the timer.
    EventTime,
    /// Fires when the wall clock reaches the timer.
    ProcessingTime,
}

/// A task's processing-time clock and wake-up request.
///
/// Every operator of a task shares one service. Operators with processing-time timers call
/// [`request_wakeup`](Self::request_wakeup) with their earliest timer; the task loop waits at
/// most until then and ticks the chain.
#[derive(Debug, Clone, Default)]
pub struct ProcessingTimeService {
    next_wakeup: Arc<AtomicI64Max>,
    /// The time of a manual clock (tests and operator harnesses); `None`: the wall clock.
    manual: Option<Arc<AtomicI64>>,
}

/// An `AtomicI64` that starts at `i64::MAX` (no wake-up requested).
#[derive(Debug)]
struct AtomicI64Max(AtomicI64);

impl Default for AtomicI64Max {
    fn default() -> Self {
        AtomicI64Max(AtomicI64::new(i64::MAX))
    }
}

impl ProcessingTimeService {
    /// A clock with no wake-up requested.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock that shows `now` until [`set_manual_time`](Self::set_manual_time) moves it
    /// (for operator test harnesses: processing time under the test's control).
    pub fn manual(now: i64) -> Self {
        ProcessingTimeService {
            next_wakeup: Arc::default(),
            manual: Some(Arc::new(AtomicI64::new(now))),
        }
    }

    /// Sets a manual clock's time; `false` (and nothing changes) on the wall clock.
    pub fn set_manual_time(&self, now: i64) -> bool {
        match &self.manual {
            Some(time) => {
                time.store(now, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The time: the wall clock in milliseconds since the Unix epoch, or a manual clock's.
    pub fn now(&self) -> i64 {
        if let Some(time) = &self.manual {
            return time.load(Ordering::Relaxed);
        }
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// Asks to be ticked once the clock reaches `time` (earlier requests win).
    pub fn request_wakeup(&self, time: i64) {
        self.next_wakeup.0.fetch_min(time, Ordering::Relaxed);
    }

    /// The earliest requested wake-up, if any.
    pub fn next_wakeup(&self) -> Option<i64> {
        let next = self.next_wakeup.0.load(Ordering::Relaxed);
        (next != i64::MAX).then_some(next)
    }

    /// Whether a wake-up is due at `now`; if so the request is consumed (operators ticked now
    /// request their next one again).
    pub fn take_due(&self, now: i64) -> bool {
        if self.next_wakeup.0.load(Ordering::Relaxed) > now {
            return false;
        }
        self.next_wakeup.0.store(i64::MAX, Ordering::Relaxed);
        true
    }
}
