//! A parallel source that generates elements from their index (Flink's `DataGeneratorSource`).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_core::FnResult;
use eddy_functions::{Boundedness, RuntimeContext, SourceFunction, SourceOutput, SourceStatus};
use eddy_state::ListStateDescriptor;

use crate::splits::{IndexSplit, IndexSplits};

/// The operator state holding a generator subtask's remaining indexes.
const SPLITS_STATE: &str = "generator-source-splits";

/// Where the source reads the time from (replaceable in tests).
type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// A parallel source emitting `generator(index)` for a bounded or unbounded series of indexes,
/// optionally rate limited.
///
/// * Bounded (`count = Some(n)`): subtask `i` of `p` generates the contiguous index range
///   `[i*n/p, (i+1)*n/p)`, in ascending order; all subtasks together generate `0..n` once.
/// * Unbounded (`count = None`): subtask `i` generates indexes `i, i+p, i+2p, …`.
/// * Bounded and [`interleaved`](Self::interleaved): subtask `i` generates `i, i+p, …` below
///   `n`, so that the subtasks advance through the index space together (for generators whose
///   index is also their event time).
///
/// With a rate limit of `r` records per second for the whole source, every subtask gets exactly
/// `r/p` records per second (a fraction, so there is no remainder to distribute and every
/// subtask makes progress even when `r < p`): `elapsed` after `open`, a subtask has emitted at
/// most `floor(elapsed_seconds * r / p)` records. When it is ahead, `poll_next` returns
/// `NothingAvailable` with the time until its next record is due instead of sleeping.
///
/// Its position is operator state: a snapshot holds each subtask's remaining indexes (a range,
/// or the next index of its stride), and a restored subtask (at any parallelism) continues the
/// ones it receives, so every index is generated once across a restore. The rate limit
/// restarts with the restored subtask.
pub struct GeneratorSource<T, F> {
    generator: F,
    count: Option<u64>,
    rate: Option<u64>,
    interleaved: bool,
    /// This subtask's remaining indexes.
    splits: IndexSplits,
    /// The indexes restored in `initialize_state` (`None`: start fresh in `open`).
    restored: Option<Vec<IndexSplit>>,
    /// How many records this subtask emitted since `open`.
    emitted: u64,
    /// Rate limiting: `p * 10^9`, so that the allowed count is `elapsed_ns * rate / divisor`.
    divisor: u128,
    started: Option<Instant>,
    clock: Clock,
    _marker: PhantomData<fn() -> T>,
}

impl<T, F: Clone> Clone for GeneratorSource<T, F> {
    fn clone(&self) -> Self {
        GeneratorSource {
            generator: self.generator.clone(),
            count: self.count,
            rate: self.rate,
            interleaved: self.interleaved,
            splits: self.splits.clone(),
            restored: self.restored.clone(),
            emitted: self.emitted,
            divisor: self.divisor,
            started: self.started,
            clock: Arc::clone(&self.clock),
            _marker: PhantomData,
        }
    }
}

impl<T, F> std::fmt::Debug for GeneratorSource<T, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratorSource")
            .field("count", &self.count)
            .field("rate", &self.rate)
            .field("splits", &self.splits)
            .finish_non_exhaustive()
    }
}

impl<T, F> GeneratorSource<T, F>
where
    T: Send + 'static,
    F: FnMut(u64) -> T + Clone + Send + 'static,
{
    /// A source generating `count` elements (`None`: unbounded) with `generator(index)`.
    pub fn new(count: Option<u64>, generator: F) -> Self {
        let mut source = GeneratorSource {
            generator,
            count,
            rate: None,
            interleaved: false,
            splits: IndexSplits::default(),
            restored: None,
            emitted: 0,
            divisor: NANOS_PER_SECOND,
            started: None,
            clock: Arc::new(Instant::now),
            _marker: PhantomData,
        };
        source.assign(0, 1);
        source
    }

    /// A bounded source generating `generator(0..count)`.
    pub fn bounded(count: u64, generator: F) -> Self {
        Self::new(Some(count), generator)
    }

    /// An unbounded source generating `generator(0..)`.
    pub fn unbounded(generator: F) -> Self {
        Self::new(None, generator)
    }

    /// Limits the whole source (all subtasks together) to `records_per_second`; `0` means no
    /// limit.
    pub fn with_rate_limit(mut self, records_per_second: u64) -> Self {
        self.rate = (records_per_second > 0).then_some(records_per_second);
        self
    }

    /// Interleaves the subtasks' shares of a bounded source (subtask `i` of `p` generates
    /// `i, i+p, …`) instead of giving each a contiguous range: all subtasks then move through
    /// the indexes, and so through event time when that grows with the index, at one pace.
    pub fn interleaved(mut self) -> Self {
        self.interleaved = true;
        self
    }

    /// How many elements the whole source generates (`None`: unbounded).
    pub fn count(&self) -> Option<u64> {
        self.count
    }

    /// The rate limit of the whole source in records per second, if any.
    pub fn rate_limit(&self) -> Option<u64> {
        self.rate
    }

    /// Replaces the time source (for tests).
    #[cfg(test)]
    fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

impl<T, F> GeneratorSource<T, F> {
    /// Selects the share of subtask `index` of `parallelism`.
    fn assign(&mut self, index: u32, parallelism: u32) {
        let p = u64::from(parallelism.max(1));
        let i = u64::from(index);
        let split = match self.count {
            Some(count) if self.interleaved => IndexSplit::strided_below(i, p, count),
            Some(count) => {
                let (n, p, i) = (u128::from(count), u128::from(p), u128::from(i));
                IndexSplit::range(i * n / p, (i + 1) * n / p)
            }
            None => IndexSplit::strided(i, p),
        };
        self.splits = IndexSplits::new(vec![split]);
        self.divisor = u128::from(p) * NANOS_PER_SECOND;
        self.emitted = 0;
        self.started = None;
    }

    fn descriptor() -> ListStateDescriptor<IndexSplit> {
        ListStateDescriptor::new(SPLITS_STATE)
    }

    /// How many more records the rate limit allows now, or how long until the next one.
    fn rate_budget(&mut self, rate: u64) -> Result<u64, Duration> {
        let now = (self.clock)();
        let started = *self.started.get_or_insert(now);
        let elapsed = now.saturating_duration_since(started).as_nanos();
        let allowed = elapsed * u128::from(rate) / self.divisor;
        let emitted = u128::from(self.emitted);
        if allowed > emitted {
            return Ok(u64::try_from(allowed - emitted).unwrap_or(u64::MAX));
        }
        // The next record is due once `elapsed * rate / divisor >= emitted + 1`.
        let due = ((emitted + 1) * self.divisor).div_ceil(u128::from(rate));
        let wait = due.saturating_sub(elapsed);
        Err(Duration::from_nanos(
            u64::try_from(wait).unwrap_or(u64::MAX),
        ))
    }
}

impl<T, F> SourceFunction<T> for GeneratorSource<T, F>
where
    T: Send + 'static,
    F: FnMut(u64) -> T + Clone + Send + 'static,
{
    split_state_hooks!(|this| this.splits.to_vec());

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        if ctx.subtask_index >= ctx.parallelism.max(1) {
            return Err(format!(
                "generator source: subtask index {} is out of range for parallelism {}",
                ctx.subtask_index, ctx.parallelism
            )
            .into());
        }
        self.assign(ctx.subtask_index, ctx.parallelism);
        if let Some(splits) = self.restored.take() {
            self.splits = IndexSplits::new(splits);
        }
        self.started = self.rate.map(|_| (self.clock)());
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, T>) -> FnResult<SourceStatus> {
        if self.splits.is_finished() {
            return Ok(SourceStatus::Finished);
        }
        let mut n = out.remaining().max(1) as u64;
        if let Some(rate) = self.rate {
            match self.rate_budget(rate) {
                Ok(budget) => n = n.min(budget),
                Err(wait) => return Ok(SourceStatus::NothingAvailable(wait)),
            }
        }
        let run = self.splits.take(n);
        match run.consecutive() {
            Some(indexes) => out.extend(indexes.map(&mut self.generator)),
            None => out.extend(run.indexes().map(&mut self.generator)),
        }
        self.emitted += run.len;
        Ok(SourceStatus::MoreAvailable)
    }

    fn is_parallel(&self) -> bool {
        true
    }

    fn boundedness(&self) -> Boundedness {
        match self.count {
            Some(_) => Boundedness::Bounded,
            None => Boundedness::ContinuousUnbounded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{run_parallel, run_with_restore, take_subtask};
    use eddy_core::Batch;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn bounded_restore_generates_every_index_once() {
        let source = GeneratorSource::bounded(40, |i| i * 10);
        let expected: Vec<u64> = (0..40).map(|i| i * 10).collect();
        for (old, polls, new) in [(1, 2, 3), (3, 2, 2), (2, 1, 1), (2, 0, 2), (4, 50, 3)] {
            let run = run_with_restore(&source, old, polls, new, None).unwrap();
            assert_eq!(
                run.all_sorted(),
                expected,
                "{old} -> {new} after {polls} polls"
            );
        }
    }

    #[test]
    fn unbounded_restore_continues_each_stride_in_turns() {
        // Two subtasks emitted 0,2,..,10 and 1,3,..,11; the one restored subtask continues
        // both strides, a batch of each in turn.
        let source = GeneratorSource::unbounded(|i| i);
        let run = run_with_restore(&source, 2, 2, 1, Some(12)).unwrap();
        assert_eq!(
            run.before,
            vec![vec![0, 2, 4, 6, 8, 10], vec![1, 3, 5, 7, 9, 11]]
        );
        assert_eq!(
            run.after,
            vec![vec![12, 14, 16, 13, 15, 17, 18, 20, 22, 19, 21, 23]]
        );
        // Scaled up, the second new subtask has no stride left and finishes.
        let run = run_with_restore(&source, 1, 1, 2, Some(6)).unwrap();
        assert_eq!(run.after, vec![vec![3, 4, 5, 6, 7, 8], vec![]]);
    }

    #[test]
    fn bounded_union_across_three_subtasks_is_the_reference() {
        let source = GeneratorSource::bounded(10, |i| format!("item-{i}"));
        let shares = run_parallel(&source, 3).unwrap();
        // 10 over 3: [0,3), [3,6), [6,10).
        let expected: Vec<Vec<String>> = [0..3u64, 3..6, 6..10]
            .into_iter()
            .map(|r| r.map(|i| format!("item-{i}")).collect())
            .collect();
        assert_eq!(shares, expected);
        let reference: Vec<String> = (0..10).map(|i| format!("item-{i}")).collect();
        assert_eq!(shares.concat(), reference);
        assert_eq!(source.boundedness(), Boundedness::Bounded);
    }

    #[test]
    fn interleaved_shares_take_turns_and_restore_at_other_parallelisms() {
        let source = GeneratorSource::bounded(11, |i| i).interleaved();
        let shares = run_parallel(&source, 3).unwrap();
        assert_eq!(
            shares,
            vec![vec![0, 3, 6, 9], vec![1, 4, 7, 10], vec![2, 5, 8]]
        );
        let expected: Vec<u64> = (0..11).collect();
        for (old, polls, new) in [(3, 1, 2), (2, 1, 3), (4, 2, 1)] {
            let run = run_with_restore(&source, old, polls, new, None).unwrap();
            assert_eq!(
                run.all_sorted(),
                expected,
                "{old} -> {new} after {polls} polls"
            );
        }
    }

    #[test]
    fn bounded_zero_count_is_empty() {
        let shares = run_parallel(&GeneratorSource::bounded(0, |i| i), 2).unwrap();
        assert_eq!(shares, vec![Vec::<u64>::new(), Vec::new()]);
    }

    #[test]
    fn unbounded_subtasks_are_strided() {
        let source = GeneratorSource::unbounded(|i| i * 10);
        assert_eq!(source.boundedness(), Boundedness::ContinuousUnbounded);
        for i in 0..3u32 {
            let first = take_subtask(&source, i, 3, Some(5)).unwrap();
            let expected: Vec<u64> = (0..5).map(|k| (u64::from(i) + 3 * k) * 10).collect();
            assert_eq!(first, expected, "subtask {i}");
        }
    }

    /// A clock that only moves when the test says so.
    fn manual_clock() -> (Clock, Arc<AtomicU64>) {
        let base = Instant::now();
        let offset = Arc::new(AtomicU64::new(0));
        let handle = Arc::clone(&offset);
        let clock: Clock =
            Arc::new(move || base + Duration::from_nanos(handle.load(Ordering::SeqCst)));
        (clock, offset)
    }

    fn poll(source: &mut GeneratorSource<u64, fn(u64) -> u64>) -> (SourceStatus, Vec<u64>) {
        let mut batch: Batch<u64> = Batch::new();
        let mut out = SourceOutput::new(&mut batch, 100);
        let status = source.poll_next(&mut out).unwrap();
        (status, batch.into_values())
    }

    #[test]
    fn rate_limit_splits_the_rate_over_subtasks() {
        // 10 records/s over 2 subtasks: each may emit 5 per second, i.e. one per 200 ms.
        let (clock, offset) = manual_clock();
        let identity: fn(u64) -> u64 = |i| i;
        let template = GeneratorSource::unbounded(identity)
            .with_rate_limit(10)
            .with_clock(clock);
        let mut source = template.clone();
        source.open(&RuntimeContext::for_testing(1, 2)).unwrap();

        let ms = |m: u64| m * 1_000_000;
        assert_eq!(
            poll(&mut source),
            (
                SourceStatus::NothingAvailable(Duration::from_millis(200)),
                vec![]
            )
        );
        offset.store(ms(450), Ordering::SeqCst);
        assert_eq!(poll(&mut source), (SourceStatus::MoreAvailable, vec![1, 3]));
        // An immediate second poll is ahead of the limit: the third record is due at 600 ms.
        assert_eq!(
            poll(&mut source),
            (
                SourceStatus::NothingAvailable(Duration::from_millis(150)),
                vec![]
            )
        );
        offset.store(ms(1000), Ordering::SeqCst);
        assert_eq!(
            poll(&mut source),
            (SourceStatus::MoreAvailable, vec![5, 7, 9])
        );
    }

    #[test]
    fn rate_below_parallelism_still_progresses() {
        // 1 record/s over 3 subtasks: each emits one record every 3 s.
        let (clock, offset) = manual_clock();
        let identity: fn(u64) -> u64 = |i| i;
        let mut source = GeneratorSource::bounded(3, identity)
            .with_rate_limit(1)
            .with_clock(clock);
        source.open(&RuntimeContext::for_testing(2, 3)).unwrap();
        assert_eq!(
            poll(&mut source),
            (
                SourceStatus::NothingAvailable(Duration::from_secs(3)),
                vec![]
            )
        );
        offset.store(3_000_000_000, Ordering::SeqCst);
        assert_eq!(poll(&mut source), (SourceStatus::MoreAvailable, vec![2]));
        assert_eq!(poll(&mut source), (SourceStatus::Finished, vec![]));
    }

    #[test]
    fn rate_limited_bounded_source_finishes_with_all_records() {
        // A high rate so the real clock lets records through quickly.
        let source = GeneratorSource::bounded(6, |i| i).with_rate_limit(1_000_000);
        assert_eq!(source.rate_limit(), Some(1_000_000));
        assert_eq!(source.count(), Some(6));
        let shares = run_parallel(&source, 2).unwrap();
        assert_eq!(shares, vec![vec![0, 1, 2], vec![3, 4, 5]]);
    }
}
