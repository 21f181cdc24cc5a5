//! The fault-tolerance matrix, in the style of Flink's checkpointing ITCases: for keyed state,
//! rolling aggregations, tumbling / sliding / session event-time windows, an interval join and
//! operator state, a failure is injected at a random point — in the source, in a map, in the
//! sink, while snapshotting, while restoring — at parallelism 1 and 4, and the complete output
//! (collected exactly-once by a sink that keeps it in its operator state) must equal the
//! output computed by a plain loop: nothing lost, nothing duplicated. `scripts/test.sh` runs
//! this module on both state backends. In at-least-once mode records may be repeated but
//! never lost.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eddy_api::connectors::GeneratorSource;
use eddy_api::prelude::*;

use crate::common::checkpointed::{CheckpointedCollectSink, FailOnce};
use crate::common::event_time::Lcg;
use crate::common::{self, bounded};

const RECORDS: u64 = 4_000;
const RATE: u64 = 20_000;
const KEYS: u64 = 5;

/// Where the failure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailurePoint {
    Source,
    Map,
    Sink,
    Snapshot,
    Restore,
}

const POINTS: [FailurePoint; 5] = [
    FailurePoint::Source,
    FailurePoint::Map,
    FailurePoint::Sink,
    FailurePoint::Snapshot,
    FailurePoint::Restore,
];

/// One run of the matrix.
#[derive(Debug, Clone, Copy)]
struct Case {
    point: FailurePoint,
    parallelism: u32,
    /// Where exactly (records, polls or checkpoints, by point).
    at: u64,
}

/// Counts what was injected, over every instance and restart.
#[derive(Clone, Default)]
struct Injected {
    failures: Arc<AtomicU64>,
    restore_failed: Arc<AtomicBool>,
}

impl Injected {
    fn fail_once(&self, what: &str) -> FnResult<()> {
        if self.failures.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(format!("injected failure {what}").into());
        }
        self.failures.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Passes records on, failing in `map`, `snapshot_state` or `initialize_state` as the case
/// says (a restore failure follows a failure in `map`, which makes the first restore). A
/// failure in `map` waits for a completed checkpoint, so that the job restores one: it comes
/// with the first record, or the first completion, after both (the source holds its end back
/// until then).
#[derive(Clone)]
struct Injecting {
    case: Case,
    seen: u64,
    completed: bool,
    injected: Injected,
}

impl<T: Data> MapFunction<T, T> for Injecting {
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        if self.case.point == FailurePoint::Restore
            && ctx.is_restored()
            && !self.injected.restore_failed.swap(true, Ordering::SeqCst)
        {
            return Err("injected failure while restoring".into());
        }
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        _store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        if self.case.point == FailurePoint::Snapshot && ctx.checkpoint_id() >= self.case.at {
            self.injected.fail_once("while snapshotting")?;
        }
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> FnResult<()> {
        self.completed = true;
        self.maybe_fail()
    }

    fn map(&mut self, value: T) -> FnResult<T> {
        self.seen += 1;
        self.maybe_fail()?;
        Ok(value)
    }
}

impl Injecting {
    fn maybe_fail(&self) -> FnResult<()> {
        let fails_here = matches!(self.case.point, FailurePoint::Map | FailurePoint::Restore);
        if fails_here && self.seen >= self.case.at && self.completed {
            self.injected.fail_once("in a map")?;
        }
        Ok(())
    }
}

/// A generator source that fails at its `at`-th poll when the case says so.
#[derive(Clone)]
struct FailingSource<S> {
    inner: S,
    case: Case,
    polls: u64,
    injected: Injected,
}

impl<T, S: SourceFunction<T>> SourceFunction<T> for FailingSource<S> {
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
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.inner.open(ctx)
    }
    fn poll_next(&mut self, out: &mut SourceOutput<'_, T>) -> FnResult<SourceStatus> {
        self.polls += 1;
        if self.case.point == FailurePoint::Source && self.polls == self.case.at {
            self.injected.fail_once("in a source")?;
        }
        let status = self.inner.poll_next(out)?;
        // A map or snapshot failure is to come while the source runs (a slow state backend
        // may take longer than the whole stream to complete the checkpoints before it): hold
        // the source's end back until then.
        let later_failure = matches!(
            self.case.point,
            FailurePoint::Map | FailurePoint::Restore | FailurePoint::Snapshot
        );
        if matches!(status, SourceStatus::Finished)
            && later_failure
            && self.injected.failures.load(Ordering::SeqCst) == 0
        {
            return Ok(SourceStatus::NothingAvailable(Duration::from_millis(1)));
        }
        Ok(status)
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

/// A record: (key, value, event time).
type Event = (u64, u64, i64);

/// The records of the matrix: `i` has key `i % 5`, value `i`, and event time `i * 5` ms
/// plus, for session windows, a one-second pause after every 200 records.
fn event(i: u64) -> Event {
    (i % KEYS, i, (i * 5 + (i / 200) * 1000) as i64)
}

/// The environment of a case: checkpoints every 10 ms, quick restarts.
fn case_env(case: Case, checkpoints: &std::path::Path) -> StreamExecutionEnvironment {
    let env = common::env(case.parallelism);
    env.enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_storage(checkpoints.to_str().unwrap())
        .set_config("restart-strategy.type", "fixed-delay")
        .set_config("restart-strategy.fixed-delay.attempts", "5")
        .set_config("restart-strategy.fixed-delay.delay", "5 ms");
    env
}

/// The events of a case's source with event-time timestamps, through the injecting map.
fn events(env: &StreamExecutionEnvironment, case: Case, injected: &Injected) -> DataStream<Event> {
    let source = FailingSource {
        inner: GeneratorSource::new(Some(RECORDS), event).with_rate_limit(RATE),
        case,
        polls: 0,
        injected: injected.clone(),
    };
    env.add_source(source)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|e: &Event, _| e.2),
        )
        .map_function(Injecting {
            case,
            seen: 0,
            completed: false,
            injected: injected.clone(),
        })
}

/// Where a case fails, chosen by `rng` for `point` at `parallelism`, for a job whose
/// output has `outputs` records.
fn choose(point: FailurePoint, parallelism: u32, outputs: usize, rng: &mut Lcg) -> Case {
    let per_subtask = RECORDS / u64::from(parallelism);
    let at = match point {
        FailurePoint::Source => 2 + rng.below(10),
        FailurePoint::Snapshot => 1 + rng.below(2),
        FailurePoint::Sink => 1 + rng.below((outputs as u64 / u64::from(parallelism) / 4).max(1)),
        FailurePoint::Map | FailurePoint::Restore => per_subtask / 8 + rng.below(per_subtask / 4),
    };
    Case {
        point,
        parallelism,
        at,
    }
}

/// Runs `build` (which returns the stream to collect) for every failure point at parallelism
/// 1 and 4, and compares the collected output with `reference` (of the parallelism).
fn run_matrix<O: Data + Ord + std::fmt::Debug>(
    seed: u64,
    build: impl Fn(&StreamExecutionEnvironment, Case, &Injected) -> DataStream<O>,
    reference: impl Fn(u32) -> Vec<O>,
) {
    let mut rng = Lcg::new(seed);
    for parallelism in [1, 4] {
        let mut expected = reference(parallelism);
        expected.sort();
        for point in POINTS {
            let case = choose(point, parallelism, expected.len(), &mut rng);
            let checkpoints = tempfile::tempdir().unwrap();
            let env = case_env(case, checkpoints.path());
            let injected = Injected::default();
            let sink_probe = if point == FailurePoint::Sink {
                FailOnce::at(case.at)
            } else {
                FailOnce::never()
            };
            let (sink, published) = CheckpointedCollectSink::new();
            build(&env, case, &injected).add_sink(sink.failing(sink_probe.clone()));
            let result = env.execute("fault tolerance");
            result.unwrap_or_else(|e| panic!("{case:?}: {e}"));
            let failures = injected.failures.load(Ordering::SeqCst) + sink_probe.failures();
            assert_eq!(failures, 1, "{case:?}: the failure was injected");
            if point == FailurePoint::Restore {
                assert!(injected.restore_failed.load(Ordering::SeqCst), "{case:?}");
            }
            let mut output = std::mem::take(&mut *published.lock().unwrap());
            output.sort();
            if output != expected {
                let missing = expected.iter().filter(|e| !output.contains(e)).count();
                panic!(
                    "{case:?}: {} records out, {} expected, {missing} of those missing",
                    output.len(),
                    expected.len()
                );
            }
        }
    }
}

fn keys_of(events: impl Iterator<Item = Event>) -> std::collections::BTreeMap<u64, Vec<Event>> {
    let mut by_key: std::collections::BTreeMap<u64, Vec<Event>> = Default::default();
    for e in events {
        by_key.entry(e.0).or_default().push(e);
    }
    by_key
}

/// The sums of `(key, window)` over every window each event falls in (`windows` gives them).
fn window_sums(windows: impl Fn(i64) -> Vec<i64>) -> Vec<(u64, i64, u64)> {
    let mut sums: std::collections::BTreeMap<(u64, i64), u64> = Default::default();
    for e in (0..RECORDS).map(event) {
        for start in windows(e.2) {
            *sums.entry((e.0, start)).or_default() += e.1;
        }
    }
    sums.into_iter().map(|((k, w), s)| (k, w, s)).collect()
}

#[test]
fn keyed_state_survives_failures() {
    #[derive(Clone)]
    struct Count(ValueStateDescriptor<u64>);
    impl KeyedProcessFunction<u64, Event, (u64, u64)> for Count {
        fn process_element(
            &mut self,
            e: Event,
            ctx: &mut KeyedContext<'_, u64>,
            out: &mut Collector<'_, (u64, u64)>,
        ) -> FnResult<()> {
            let mut count = ctx.state().value(&self.0)?;
            let next = count.value()?.unwrap_or(0) + 1;
            count.update(next)?;
            out.collect((e.0, next));
            Ok(())
        }
    }
    let reference: Vec<(u64, u64)> = keys_of((0..RECORDS).map(event))
        .into_iter()
        .flat_map(|(k, events)| (1..=events.len() as u64).map(move |c| (k, c)))
        .collect();
    bounded(move || {
        run_matrix(
            1,
            |env, case, injected| {
                events(env, case, injected)
                    .key_by(|e: &Event| e.0)
                    .process(Count(ValueStateDescriptor::new("count")))
            },
            move |_| reference.clone(),
        )
    });
}

/// The rolling aggregation's key: a quarter of the records each, so that at parallelism 1 and
/// 4 every key's records come from one source subtask, in order (running sums depend on it).
fn quarter(value: u64) -> u64 {
    value * 4 / RECORDS
}

#[test]
fn rolling_aggregations_survive_failures() {
    let mut sums = [0u64; 4];
    let reference: Vec<(u64, u64)> = (0..RECORDS)
        .map(|i| {
            sums[quarter(i) as usize] += i;
            (quarter(i), sums[quarter(i) as usize])
        })
        .collect();
    bounded(move || {
        run_matrix(
            2,
            |env, case, injected| {
                events(env, case, injected)
                    .map(|e: Event| (quarter(e.1), e.1))
                    .key_by(|e: &(u64, u64)| e.0)
                    .sum(|e: &mut (u64, u64)| &mut e.1)
            },
            move |_| reference.clone(),
        )
    });
}

/// `(key, window start, sum of values)` for each window.
fn windowed_sums<A>(
    env: &StreamExecutionEnvironment,
    case: Case,
    injected: &Injected,
    assigner: A,
) -> DataStream<(u64, i64, u64)>
where
    A: WindowAssigner<Event, TimeWindow> + 'static,
{
    events(env, case, injected)
        .key_by(|e: &Event| e.0)
        .window(assigner)
        .aggregate_with_process(SumValues, WithWindowStart)
}

/// Emits `(key, window start, sum)`.
#[derive(Clone)]
struct WithWindowStart;

impl ProcessWindowFunction<u64, (u64, i64, u64), u64, TimeWindow> for WithWindowStart {
    fn process(
        &mut self,
        key: &u64,
        ctx: &mut WindowContext<'_, u64, TimeWindow>,
        sums: Elements<'_, u64>,
        out: &mut Collector<'_, (u64, i64, u64)>,
    ) -> FnResult<()> {
        let start = ctx.window().start();
        for sum in sums {
            out.collect((*key, start, *sum));
        }
        Ok(())
    }
}

/// Sums the values of events.
#[derive(Clone)]
struct SumValues;

impl AggregateFunction<Event, u64, u64> for SumValues {
    fn create_accumulator(&mut self) -> u64 {
        0
    }
    fn add(&mut self, e: Event, acc: &mut u64) -> FnResult<()> {
        *acc += e.1;
        Ok(())
    }
    fn get_result(&mut self, acc: &u64) -> FnResult<u64> {
        Ok(*acc)
    }
    fn merge(&mut self, acc: &mut u64, other: u64) -> FnResult<()> {
        *acc += other;
        Ok(())
    }
}

#[test]
fn tumbling_windows_survive_failures() {
    let reference = window_sums(|t| vec![t - t.rem_euclid(100)]);
    bounded(move || {
        run_matrix(
            3,
            |env, case, injected| {
                windowed_sums(
                    env,
                    case,
                    injected,
                    TumblingEventTimeWindows::of(Duration::from_millis(100)),
                )
            },
            move |_| reference.clone(),
        )
    });
}

#[test]
fn sliding_windows_survive_failures() {
    let reference = window_sums(|t| {
        let last = t - t.rem_euclid(50);
        vec![last - 50, last]
    });
    bounded(move || {
        run_matrix(
            4,
            |env, case, injected| {
                windowed_sums(
                    env,
                    case,
                    injected,
                    SlidingEventTimeWindows::of(
                        Duration::from_millis(100),
                        Duration::from_millis(50),
                    ),
                )
            },
            move |_| reference.clone(),
        )
    });
}

#[test]
fn session_windows_survive_failures() {
    // Each key's events are 25 ms apart within a block of 200 records, and blocks are a
    // second apart: with a 30 ms gap, a session is one key's part of one block.
    let reference: Vec<(u64, i64, u64)> = keys_of((0..RECORDS).map(event))
        .into_values()
        .flat_map(|events| {
            let mut sessions: Vec<(u64, i64, u64)> = Vec::new();
            let mut last = i64::MIN;
            for e in events {
                match sessions.last_mut() {
                    Some(s) if e.2 - last < 30 => s.2 += e.1,
                    _ => sessions.push((e.0, e.2, e.1)),
                }
                last = e.2;
            }
            sessions
        })
        .collect();
    bounded(move || {
        run_matrix(
            5,
            |env, case, injected| {
                windowed_sums(
                    env,
                    case,
                    injected,
                    EventTimeSessionWindows::with_gap(Duration::from_millis(30)),
                )
            },
            move |_| reference.clone(),
        )
    });
}

#[test]
fn an_interval_join_survives_failures() {
    // Every event joins the other side's events of its key within 30 ms: the right side is
    // the same series shifted by 3 ms, so an event joins its own index and the neighbours of
    // its key (25 ms apart) where the shift keeps them within the bounds.
    let shifted = |i: u64| {
        let e = event(i);
        (e.0, e.1, e.2 + 3)
    };
    let mut reference = Vec::new();
    for l in (0..RECORDS).map(event) {
        for r in (0..RECORDS).map(shifted) {
            if l.0 == r.0 && r.2 >= l.2 - 30 && r.2 <= l.2 + 30 {
                reference.push((l.1, r.1));
            }
        }
    }
    bounded(move || {
        run_matrix(
            6,
            |env, case, injected| {
                let right = env
                    .from_generator(Some(RECORDS), Some(RATE), shifted)
                    .assign_timestamps_and_watermarks(
                        WatermarkStrategy::for_monotonous_timestamps()
                            .with_timestamp_assigner(|e: &Event, _| e.2),
                    );
                events(env, case, injected)
                    .key_by(|e: &Event| e.0)
                    .interval_join(&right.key_by(|e: &Event| e.0))
                    .between(-30, 30)
                    .process(
                        |l: &Event,
                         r: &Event,
                         _: &ProcessJoinContext,
                         out: &mut Collector<'_, (u64, u64)>| {
                            out.collect((l.1, r.1));
                            Ok(())
                        },
                    )
            },
            move |_| reference.clone(),
        )
    });
}

/// A replayable parallel source of `lens[i]` numbers for subtask `i` (`i * 1_000_000 + n`),
/// one per poll, keeping its position in operator state.
#[derive(Clone)]
struct Uneven {
    lens: [u64; 2],
    position: ListStateDescriptor<u64>,
    next: u64,
    subtask: usize,
}

impl SourceFunction<u64> for Uneven {
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.subtask = ctx.runtime_context().subtask_index as usize;
        let stored = ctx
            .operator_state_store()
            .list_state(&self.position)?
            .get()?;
        self.next = stored.first().copied().unwrap_or(0);
        Ok(())
    }
    fn snapshot_state(
        &mut self,
        _ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        store.list_state(&self.position)?.update(vec![self.next])
    }
    fn poll_next(&mut self, out: &mut SourceOutput<'_, u64>) -> FnResult<SourceStatus> {
        if self.next == self.lens[self.subtask] {
            return Ok(SourceStatus::Finished);
        }
        out.collect(self.subtask as u64 * 1_000_000 + self.next);
        self.next += 1;
        Ok(SourceStatus::NothingAvailable(Duration::from_micros(500)))
    }
    fn is_parallel(&self) -> bool {
        true
    }
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

#[test]
fn a_subtask_that_finished_before_the_checkpoint_is_not_run_again() {
    bounded(|| {
        // Subtask 0 (source and sink, chained) finishes at once and, once a checkpoint holds
        // its final state, publishes; subtask 1 fails later. Run again, subtask 0 would
        // publish a second time.
        let checkpoints = tempfile::tempdir().unwrap();
        let case = Case {
            point: FailurePoint::Sink,
            parallelism: 2,
            at: 600,
        };
        let env = case_env(case, checkpoints.path());
        let probe = FailOnce::at(case.at);
        let (sink, published) = CheckpointedCollectSink::new();
        env.add_source(Uneven {
            lens: [10, 1_000],
            position: ListStateDescriptor::new("position"),
            next: 0,
            subtask: 0,
        })
        .add_sink(sink.failing(probe.clone()));
        env.execute("finished on restore").unwrap();
        assert_eq!(probe.failures(), 1);
        let mut output = std::mem::take(&mut *published.lock().unwrap());
        output.sort_unstable();
        let expected: Vec<u64> = (0..10).chain((0..1_000).map(|n| 1_000_000 + n)).collect();
        assert_eq!(output.len(), expected.len());
        assert_eq!(output, expected);
    });
}

/// Sums groups of four consecutive values, keeping the open group in operator state.
#[derive(Clone)]
struct GroupsOfFour {
    state: ListStateDescriptor<u64>,
    open: Vec<u64>,
}

impl FlatMapFunction<Event, u64> for GroupsOfFour {
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.open = ctx.operator_state_store().list_state(&self.state)?.get()?;
        Ok(())
    }
    fn snapshot_state(
        &mut self,
        _ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        store.list_state(&self.state)?.update(self.open.clone())
    }
    fn flat_map(&mut self, e: Event, out: &mut Collector<'_, u64>) -> FnResult<()> {
        self.open.push(e.1);
        if self.open.len() == 4 {
            out.collect(self.open.drain(..).sum());
        }
        Ok(())
    }
}

#[test]
fn operator_state_survives_failures() {
    // Chained to the source, each subtask sums its own range of values in groups of four.
    let reference = |parallelism: u32| {
        let per_subtask = RECORDS / u64::from(parallelism);
        (0..RECORDS / 4)
            .map(|g| {
                let (subtask, offset) = (g * 4 / per_subtask, g * 4 % per_subtask);
                let first = subtask * per_subtask + offset;
                (first..first + 4).sum()
            })
            .collect()
    };
    bounded(move || {
        run_matrix(
            7,
            |env, case, injected| {
                events(env, case, injected).flat_map_function(GroupsOfFour {
                    state: ListStateDescriptor::new("open-group"),
                    open: Vec::new(),
                })
            },
            reference,
        )
    });
}

#[test]
fn at_least_once_checkpoints_repeat_records_but_never_lose_one() {
    bounded(|| {
        let mut rng = Lcg::new(8);
        for point in [FailurePoint::Map, FailurePoint::Sink] {
            let case = choose(point, 4, RECORDS as usize, &mut rng);
            let checkpoints = tempfile::tempdir().unwrap();
            let env = case_env(case, checkpoints.path());
            env.set_config("execution.checkpointing.mode", "AT_LEAST_ONCE");
            let injected = Injected::default();
            let probe = if point == FailurePoint::Sink {
                FailOnce::at(case.at)
            } else {
                FailOnce::never()
            };
            let (sink, published) = CheckpointedCollectSink::new();
            // Every sink subtask reads all four source subtasks: its barriers are not aligned.
            events(&env, case, &injected)
                .rebalance()
                .map(|e: Event| e.1)
                .add_sink(sink.failing(probe.clone()));
            env.execute("at least once")
                .unwrap_or_else(|e| panic!("{case:?}: {e}"));
            assert_eq!(
                injected.failures.load(Ordering::SeqCst) + probe.failures(),
                1
            );
            let output = published.lock().unwrap();
            let mut seen = vec![0u32; RECORDS as usize];
            for &v in output.iter() {
                seen[v as usize] += 1;
            }
            let lost = seen.iter().filter(|&&n| n == 0).count();
            assert_eq!(lost, 0, "{case:?}: {lost} records lost");
        }
    });
}
