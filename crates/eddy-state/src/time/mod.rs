//! Timers: the event- and processing-time timers of keyed operators, per key and namespace,
//! on the heap or in the state store (Flink's `state.backend.rocksdb.timer-service.factory`),
//! snapshotted with the keyed state. The time domains and the processing-time clock are
//! `eddy-core`'s, re-exported here beside the timers that use them.

mod service;
mod store_timers;
mod timers;

pub use eddy_core::time::{ProcessingTimeService, TimeDomain};
pub use service::{InternalTimerService, TimerNamespace, TimerService};
pub use store_timers::StoreTimerQueue;
pub use timers::TimerQueue;

#[cfg(test)]
mod snapshot_tests;

#[cfg(test)]
mod store_timer_tests;
