//! State time-to-live: [`StateTtlConfig`] (Flink's `StateTtlConfig`), the clock it reads and
//! the timestamp kept beside every value of a state with a time-to-live.
//!
//! A value expires `ttl` after its last access (its creation and every write; with
//! [`UpdateType::OnReadAndWrite`] also every read). Time is processing time, read from a
//! [`TtlTimeProvider`]: the system clock in jobs, a [`ManualTtlClock`] in tests. Expired values
//! are dropped when they are read, by the heap backend's incremental cleanup and by the
//! on-disk backend's compaction filter.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// When a value's last-access timestamp is renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateType {
    /// On creation and every write (Flink's `OnCreateAndWrite`, the default).
    OnCreateAndWrite,
    /// On creation, every write and every read (Flink's `OnReadAndWrite`).
    OnReadAndWrite,
}

/// Whether an expired value that is still stored can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateVisibility {
    /// Expired values are never returned (Flink's `NeverReturnExpired`, the default).
    NeverReturnExpired,
    /// An expired value is returned if it has not been cleaned up yet; the read then cleans
    /// it up (Flink's `ReturnExpiredIfNotCleanedUp`).
    ReturnExpiredIfNotCleanedUp,
}

/// How expired values are cleaned up besides being dropped when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupStrategies {
    /// Leave expired values out of full snapshots (savepoints, full checkpoints).
    pub full_snapshot: bool,
    /// Heap backend: check `cleanup_size` entries on every state access (and, if
    /// `run_cleanup_for_every_record`, after every record) and drop the expired ones.
    pub incremental: Option<IncrementalCleanup>,
    /// On-disk backend: drop expired rows when RocksDB compacts them, re-reading the clock
    /// after this many rows (`None`: no compaction filter).
    pub compaction_filter_query_time_after: Option<u64>,
}

/// Settings of the heap backend's incremental cleanup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncrementalCleanup {
    /// Entries checked per step.
    pub cleanup_size: usize,
    /// Whether a step also runs after every processed record.
    pub run_cleanup_for_every_record: bool,
}

/// Flink's defaults: background cleanup on both backends (5 entries per access on the heap,
/// a compaction filter re-reading the clock every 1000 rows on disk).
impl Default for CleanupStrategies {
    fn default() -> Self {
        CleanupStrategies {
            full_snapshot: false,
            incremental: Some(IncrementalCleanup {
                cleanup_size: 5,
                run_cleanup_for_every_record: false,
            }),
            compaction_filter_query_time_after: Some(1000),
        }
    }
}

/// The time-to-live of a state, set on its descriptor with `enable_time_to_live`:
///
/// ```
/// # use std::time::Duration;
/// # use eddy_state::{StateTtlConfig, UpdateType, ValueStateDescriptor};
/// let ttl = StateTtlConfig::new_builder(Duration::from_secs(3600))
///     .set_update_type(UpdateType::OnReadAndWrite)
///     .cleanup_incrementally(10, false)
///     .build();
/// let last_seen = ValueStateDescriptor::<i64>::new("last-seen").with_time_to_live(ttl);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateTtlConfig {
    ttl: Duration,
    update_type: UpdateType,
    visibility: StateVisibility,
    cleanup: CleanupStrategies,
}

impl StateTtlConfig {
    /// A builder for values that live `ttl` after their last access.
    pub fn new_builder(ttl: Duration) -> StateTtlConfigBuilder {
        StateTtlConfigBuilder {
            config: StateTtlConfig {
                ttl,
                update_type: UpdateType::OnCreateAndWrite,
                visibility: StateVisibility::NeverReturnExpired,
                cleanup: CleanupStrategies::default(),
            },
        }
    }

    /// How long a value lives after its last access.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// When the last-access timestamp is renewed.
    pub fn update_type(&self) -> UpdateType {
        self.update_type
    }

    /// Whether expired values can still be read.
    pub fn state_visibility(&self) -> StateVisibility {
        self.visibility
    }

    /// The cleanup strategies.
    pub fn cleanup_strategies(&self) -> CleanupStrategies {
        self.cleanup
    }

    /// The time-to-live in milliseconds (at least 1).
    pub(crate) fn ttl_millis(&self) -> i64 {
        i64::try_from(self.ttl.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }
}

/// Builds a [`StateTtlConfig`] (see [`StateTtlConfig::new_builder`]).
#[derive(Debug, Clone, Copy)]
pub struct StateTtlConfigBuilder {
    config: StateTtlConfig,
}

impl StateTtlConfigBuilder {
    /// When the last-access timestamp is renewed (default: on create and write).
    pub fn set_update_type(mut self, update_type: UpdateType) -> Self {
        self.config.update_type = update_type;
        self
    }

    /// Whether expired values that are still stored can be read (default: never).
    pub fn set_state_visibility(mut self, visibility: StateVisibility) -> Self {
        self.config.visibility = visibility;
        self
    }

    /// Renews the timestamp on reads too (`set_update_type(OnReadAndWrite)`).
    pub fn update_ttl_on_read_and_write(self) -> Self {
        self.set_update_type(UpdateType::OnReadAndWrite)
    }

    /// Returns expired values until they are cleaned up.
    pub fn return_expired_if_not_cleaned_up(self) -> Self {
        self.set_state_visibility(StateVisibility::ReturnExpiredIfNotCleanedUp)
    }

    /// Leaves expired values out of full snapshots.
    pub fn cleanup_full_snapshot(mut self) -> Self {
        self.config.cleanup.full_snapshot = true;
        self
    }

    /// Heap backend: checks `cleanup_size` entries on every access to the state (and after
    /// every record if `run_cleanup_for_every_record`), dropping the expired ones.
    pub fn cleanup_incrementally(
        mut self,
        cleanup_size: usize,
        run_cleanup_for_every_record: bool,
    ) -> Self {
        self.config.cleanup.incremental = Some(IncrementalCleanup {
            cleanup_size: cleanup_size.max(1),
            run_cleanup_for_every_record,
        });
        self
    }

    /// On-disk backend: drops expired rows during compaction, re-reading the clock after
    /// every `query_time_after_num_entries` rows.
    pub fn cleanup_in_rocksdb_compact_filter(mut self, query_time_after_num_entries: u64) -> Self {
        self.config.cleanup.compaction_filter_query_time_after =
            Some(query_time_after_num_entries.max(1));
        self
    }

    /// Turns off the background cleanup (incremental and compaction filter): expired values
    /// are then only dropped when read (or left out of full snapshots, if asked).
    pub fn disable_cleanup_in_background(mut self) -> Self {
        self.config.cleanup.incremental = None;
        self.config.cleanup.compaction_filter_query_time_after = None;
        self
    }

    /// The configuration.
    pub fn build(self) -> StateTtlConfig {
        self.config
    }
}

/// The processing-time clock state time-to-live reads (milliseconds since the epoch).
pub trait TtlTimeProvider: Send + Sync {
    /// The current time in milliseconds.
    fn current_timestamp(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTtlClock;

impl TtlTimeProvider for SystemTtlClock {
    fn current_timestamp(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests, tools). Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualTtlClock(Arc<AtomicI64>);

impl ManualTtlClock {
    /// A clock showing `now` (ms).
    pub fn new(now: i64) -> Self {
        ManualTtlClock(Arc::new(AtomicI64::new(now)))
    }

    /// Sets the time (ms).
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `millis`.
    pub fn advance(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl TtlTimeProvider for ManualTtlClock {
    fn current_timestamp(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The clock a backend's states with a time-to-live read.
pub type TtlClock = Arc<dyn TtlTimeProvider>;

/// Whether a value last accessed at `last_access` has expired at `now` (Flink: expired once
/// `last_access + ttl <= now`).
pub(crate) fn expired(last_access: i64, ttl_millis: i64, now: i64) -> bool {
    last_access.saturating_add(ttl_millis) <= now
}

/// A value with the time of its last access (ms), as states with a time-to-live keep it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stamped<T> {
    pub(crate) value: T,
    pub(crate) last_access: i64,
}

impl<T: fmt::Debug> fmt::Debug for Stamped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}@{}", self.value, self.last_access)
    }
}

/// What one access to a state with a time-to-live needs: its settings and the time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TtlNow {
    pub(crate) ttl_millis: i64,
    pub(crate) update_on_read: bool,
    pub(crate) return_expired: bool,
    pub(crate) now: i64,
}

impl TtlNow {
    pub(crate) fn new(config: &StateTtlConfig, now: i64) -> Self {
        TtlNow {
            ttl_millis: config.ttl_millis(),
            update_on_read: config.update_type == UpdateType::OnReadAndWrite,
            return_expired: config.visibility == StateVisibility::ReturnExpiredIfNotCleanedUp,
            now,
        }
    }

    pub(crate) fn is_expired(&self, last_access: i64) -> bool {
        expired(last_access, self.ttl_millis, self.now)
    }

    /// `value` stamped now.
    pub(crate) fn stamp<T>(&self, value: T) -> Stamped<T> {
        Stamped {
            value,
            last_access: self.now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_expires_exactly_ttl_after_its_last_access() {
        assert!(!expired(1_000, 500, 1_499));
        assert!(expired(1_000, 500, 1_500));
        assert!(!expired(i64::MAX - 1, 500, i64::MAX - 1));
    }

    #[test]
    fn the_builder_keeps_flinks_defaults_and_its_settings() {
        let default = StateTtlConfig::new_builder(Duration::from_secs(1)).build();
        assert_eq!(default.update_type(), UpdateType::OnCreateAndWrite);
        assert_eq!(
            default.state_visibility(),
            StateVisibility::NeverReturnExpired
        );
        assert_eq!(default.cleanup_strategies(), CleanupStrategies::default());
        let custom = StateTtlConfig::new_builder(Duration::from_millis(0))
            .update_ttl_on_read_and_write()
            .return_expired_if_not_cleaned_up()
            .disable_cleanup_in_background()
            .cleanup_full_snapshot()
            .build();
        assert_eq!(custom.ttl_millis(), 1);
        assert_eq!(
            custom.cleanup_strategies(),
            CleanupStrategies {
                full_snapshot: true,
                incremental: None,
                compaction_filter_query_time_after: None,
            }
        );
        let clock = ManualTtlClock::new(10);
        let shared = clock.clone();
        clock.advance(5);
        assert_eq!(shared.current_timestamp(), 15);
    }
}
