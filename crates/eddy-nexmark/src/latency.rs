//! End-to-end latency of query results at a fixed event rate.
//!
//! With the source emitting `R` events per second and the generator's event time advancing at
//! the same rate (`first-event.rate = R`), an event's time says when it entered the job:
//! `origin + (dateTime − base time)` in wall-clock milliseconds. A result row carries the
//! timestamp of the event that completed it (a map keeps its input's, a join the later
//! input's, a window its last millisecond), so the row's latency is the wall-clock time it
//! leaves the sink minus that event's entry time. For windows this includes the wait for the
//! watermark (4 s of out-of-orderness), as a user of event-time results sees it. The origin is
//! when the first source subtask opened ([`events_with_entry_clock`]), so the job's start-up
//! does not count.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use eddy_api::prelude::*;

use crate::config::NexmarkConfig;
use crate::model::Event;
use crate::source::{nexmark_source, watermark_strategy};

/// Latencies are counted per millisecond up to this many; longer ones in the last bucket.
const BUCKETS: usize = 120_001;

/// A histogram of row latencies in milliseconds, shared by the sink's subtasks.
#[derive(Clone)]
pub struct LatencyRecorder {
    buckets: Arc<Mutex<Vec<u64>>>,
    untimed: Arc<AtomicU64>,
    /// Wall-clock milliseconds at which event time `base_time` entered the job: when the
    /// first source subtask opened (`i64::MAX` until then).
    origin_wall_ms: Arc<AtomicI64>,
    base_time: i64,
}

impl std::fmt::Debug for LatencyRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyRecorder")
            .field(
                "origin_wall_ms",
                &self.origin_wall_ms.load(Ordering::Relaxed),
            )
            .field("base_time", &self.base_time)
            .finish_non_exhaustive()
    }
}

impl LatencyRecorder {
    /// A recorder for a job whose event time `base_time` enters when its source opens.
    pub fn new(base_time: i64) -> Self {
        LatencyRecorder {
            buckets: Arc::new(Mutex::new(vec![0; BUCKETS])),
            untimed: Arc::new(AtomicU64::new(0)),
            origin_wall_ms: Arc::new(AtomicI64::new(i64::MAX)),
            base_time,
        }
    }

    /// The sink recording into this recorder.
    pub fn sink(&self) -> LatencySink {
        LatencySink {
            recorder: self.clone(),
            local: Vec::new(),
        }
    }

    /// Rows recorded (with a timestamp).
    pub fn count(&self) -> u64 {
        self.buckets.lock().expect("latency histogram").iter().sum()
    }

    /// Rows without a timestamp (not in the histogram).
    pub fn untimed(&self) -> u64 {
        self.untimed.load(Ordering::Relaxed)
    }

    /// The latency in milliseconds below which the fraction `q` (0..=1) of the rows lie.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let buckets = self.buckets.lock().expect("latency histogram");
        let total: u64 = buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (ms, &n) in buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(ms as u64);
            }
        }
        None
    }
}

/// Records the latency of every row, into a histogram of its own that it adds to the shared one
/// when the input ends.
#[derive(Clone)]
pub struct LatencySink {
    recorder: LatencyRecorder,
    local: Vec<u64>,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl<T: Send + 'static> SinkFunction<T> for LatencySink {
    fn invoke(&mut self, _value: T, ctx: &SinkContext) -> FnResult<()> {
        self.record(&[ctx.timestamp().unwrap_or(eddy_core::NO_TIMESTAMP)]);
        Ok(())
    }

    fn invoke_batch(&mut self, batch: eddy_core::Batch<T>) -> FnResult<()> {
        match batch.timestamps() {
            Some(timestamps) => self.record(timestamps),
            None => {
                let untimed = batch.len() as u64;
                self.recorder.untimed.fetch_add(untimed, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> FnResult<()> {
        let mut shared = self.recorder.buckets.lock().expect("latency histogram");
        for (total, n) in shared.iter_mut().zip(&self.local) {
            *total += n;
        }
        self.local.clear();
        Ok(())
    }
}

impl LatencySink {
    /// Records rows with these timestamps (`NO_TIMESTAMP`: a row without one).
    fn record(&mut self, timestamps: &[i64]) {
        if self.local.is_empty() {
            self.local = vec![0; BUCKETS];
        }
        let now = wall_ms();
        let origin = self
            .recorder
            .origin_wall_ms
            .load(Ordering::Relaxed)
            .min(now);
        let entered = origin - self.recorder.base_time;
        let mut untimed = 0;
        for &t in timestamps {
            if t == eddy_core::NO_TIMESTAMP {
                untimed += 1;
                continue;
            }
            let latency = (now - (entered + t)).max(0) as usize;
            self.local[latency.min(BUCKETS - 1)] += 1;
        }
        if untimed > 0 {
            self.recorder.untimed.fetch_add(untimed, Ordering::Relaxed);
        }
    }
}

/// The event stream of `config` at `events_per_second`, with event time and watermarks as
/// [`events`](crate::queries::events), whose source records in `recorder` when it opened.
pub fn events_with_entry_clock(
    env: &StreamExecutionEnvironment,
    config: &NexmarkConfig,
    events_per_second: u64,
    recorder: &LatencyRecorder,
) -> DataStream<Event> {
    let source = EntryClock {
        inner: nexmark_source(config, Some(events_per_second)),
        opened: recorder.origin_wall_ms.clone(),
    };
    env.add_source(source)
        .name("Source: Nexmark")
        .uid("nexmark-source")
        .assign_timestamps_and_watermarks(watermark_strategy())
}

/// A source that records when its first subtask opened.
#[derive(Clone)]
struct EntryClock<S> {
    inner: S,
    opened: Arc<AtomicI64>,
}

impl<T, S: SourceFunction<T>> SourceFunction<T> for EntryClock<S> {
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.inner.initialize_state(ctx)
    }
    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        self.inner.snapshot_state(ctx, store)
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.inner.notify_checkpoint_aborted(checkpoint_id)
    }
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.inner.open(ctx)?;
        self.opened.fetch_min(wall_ms(), Ordering::Relaxed);
        Ok(())
    }
    fn poll_next(&mut self, out: &mut SourceOutput<'_, T>) -> FnResult<SourceStatus> {
        self.inner.poll_next(out)
    }
    fn close(&mut self) -> FnResult<()> {
        self.inner.close()
    }
    fn is_parallel(&self) -> bool {
        self.inner.is_parallel()
    }
    fn boundedness(&self) -> Boundedness {
        self.inner.boundedness()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_histogram() {
        let recorder = LatencyRecorder::new(0);
        {
            let mut buckets = recorder.buckets.lock().unwrap();
            buckets[1] = 50;
            buckets[10] = 49;
            buckets[500] = 1;
        }
        assert_eq!(recorder.count(), 100);
        assert_eq!(recorder.quantile(0.5), Some(1));
        assert_eq!(recorder.quantile(0.51), Some(10));
        assert_eq!(recorder.quantile(0.99), Some(10));
        assert_eq!(recorder.quantile(0.999), Some(500));
        assert_eq!(LatencyRecorder::new(0).quantile(0.5), None);
    }
}
