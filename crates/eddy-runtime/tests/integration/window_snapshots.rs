//! The general window operator through snapshot → restore → rescale: tumbling and sliding
//! windows with late data within the allowed lateness, merging session windows, count windows
//! and evicting windows — each against a plain simulation of Flink's window rules.

use std::collections::BTreeMap;
use std::time::Duration;

use eddy_core::config::RuntimeMode;
use eddy_core::{FnResult, StreamRecord};
use eddy_functions::closures::ReduceFn;
use eddy_functions::windowing::{
    CountEvictor, CountTrigger, Elements, EventTimeSessionWindows, EventTimeTrigger, GlobalWindow,
    GlobalWindows, NoEvictor, ProcessWindowFunction, PurgingTrigger, ReduceAggregate,
    SlidingEventTimeWindows, TimeWindow, TumblingEventTimeWindows, WindowAssigner, WindowContext,
};
use eddy_functions::Collector;
use eddy_runtime::operators::window::{
    Aggregating, Buffering, SlicingSpec, SlicingWindowLogic, WindowOperatorLogic, WindowSpec,
};
use eddy_runtime::testing::HarnessInput;

use crate::common::check_every_interruption;

/// A record: (key, value).
type Pair = (u32, u64);
/// A window's result: (key, window start, window end, element count, sum).
type Summary = (u32, i64, i64, u64, u64);

fn key_of(value: &Pair) -> u32 {
    value.0
}

/// Sums `(count, sum)` of elements that are `(key, value)` pairs, or of pre-reduced
/// `(key, sum)` results (which then count as one).
#[derive(Clone)]
struct Summarize;

impl ProcessWindowFunction<Pair, Summary, u32, TimeWindow> for Summarize {
    fn process(
        &mut self,
        key: &u32,
        ctx: &mut WindowContext<'_, u32, TimeWindow>,
        elements: Elements<'_, Pair>,
        out: &mut Collector<'_, Summary>,
    ) -> FnResult<()> {
        let (count, sum) = elements.fold((0, 0), |(c, s), (_, v)| (c + 1, s + v));
        let window = ctx.window();
        out.collect((*key, window.start, window.end, count, sum));
        Ok(())
    }
}

impl ProcessWindowFunction<Pair, Summary, u32, GlobalWindow> for Summarize {
    fn process(
        &mut self,
        key: &u32,
        _ctx: &mut WindowContext<'_, u32, GlobalWindow>,
        elements: Elements<'_, Pair>,
        out: &mut Collector<'_, Summary>,
    ) -> FnResult<()> {
        let (count, sum) = elements.fold((0, 0), |(c, s), (_, v)| (c + 1, s + v));
        out.collect((*key, 0, 0, count, sum));
        Ok(())
    }
}

/// Records over 13 keys; timestamps rise with jitter, and every 9th record is up to 150 ms
/// behind the watermark (some within the allowed lateness, some beyond it). A watermark
/// every 40 records, then the final one.
fn inputs(late: bool) -> Vec<HarnessInput<Pair>> {
    let mut inputs = Vec::new();
    let mut watermark = i64::MIN;
    let mut max_timestamp = 0;
    for i in 0..1_200u64 {
        let mut timestamp = (i * 5 + i * 7 % 23) as i64;
        if late && i % 9 == 4 && watermark > 150 {
            timestamp = watermark - (i as i64 * 17 % 150);
        }
        max_timestamp = max_timestamp.max(timestamp);
        inputs.push(HarnessInput::Record(((i * 11 % 13) as u32, i), timestamp));
        if i % 40 == 39 {
            watermark = max_timestamp - 20;
            inputs.push(HarnessInput::Watermark(watermark));
        }
    }
    inputs.push(HarnessInput::Watermark(i64::MAX));
    inputs
}

/// Flink's rules for time windows with the event-time trigger and `lateness`: an element
/// whose window is past its cleanup time (`max timestamp + lateness <= watermark`) is
/// dropped; one in a window that already fired fires it again at once; a watermark fires the
/// windows it passes and cleans up those past their cleanup time.
fn time_window_reference(
    inputs: &[HarnessInput<Pair>],
    windows_of: impl Fn(i64) -> Vec<(i64, i64)>,
    lateness: i64,
    last_two_only: bool,
) -> Vec<StreamRecord<Summary>> {
    // Per (key, window): the elements in arrival order, and whether it fired.
    let mut open: BTreeMap<(u32, i64, i64), (Vec<u64>, bool)> = BTreeMap::new();
    let mut watermark = i64::MIN;
    let mut out = Vec::new();
    let summarize = |key: u32, start: i64, end: i64, values: &[u64]| {
        let kept = if last_two_only && values.len() > 2 {
            &values[values.len() - 2..]
        } else {
            values
        };
        StreamRecord {
            value: (key, start, end, kept.len() as u64, kept.iter().sum()),
            timestamp: end - 1,
        }
    };
    for input in inputs {
        match *input {
            HarnessInput::Record((key, value), timestamp) => {
                for (start, end) in windows_of(timestamp) {
                    if (end - 1).saturating_add(lateness) <= watermark {
                        continue;
                    }
                    let (values, fired) = open.entry((key, start, end)).or_default();
                    values.push(value);
                    if end - 1 <= watermark {
                        *fired = true;
                        out.push(summarize(key, start, end, values));
                    }
                }
            }
            HarnessInput::Watermark(w) => {
                watermark = w;
                for (&(key, start, end), (values, fired)) in open.iter_mut() {
                    if !*fired && end - 1 <= w {
                        *fired = true;
                        out.push(summarize(key, start, end, values));
                    }
                }
                open.retain(|&(_, _, end), _| (end - 1).saturating_add(lateness) > w);
            }
            HarnessInput::ProcessingTime(_) => {}
        }
    }
    out
}

#[test]
fn tumbling_windows_with_late_data_survive_snapshot_restore_and_rescale() {
    let inputs = inputs(true);
    let lateness = 60;
    let tumbling = |t: i64| vec![(t.div_euclid(100) * 100, t.div_euclid(100) * 100 + 100)];
    let want = time_window_reference(&inputs, tumbling, lateness, false);
    check_every_interruption(
        &inputs,
        &[0, 431, 1_100],
        key_of,
        &want,
        |backend, clock| {
            let spec = WindowSpec {
                key_selector: key_of,
                assigner: TumblingEventTimeWindows::of(Duration::from_millis(100)),
                trigger: EventTimeTrigger::create(),
                contents: Buffering::new(NoEvictor, Summarize),
                allowed_lateness: lateness,
                late_data: None,
            };
            WindowOperatorLogic::new(spec, clock, RuntimeMode::Streaming, backend.config())
        },
    );
}

/// Sums per window incrementally: the contents are one `(key, sum)` accumulator.
#[derive(Clone)]
struct SummarizeSum;

impl ProcessWindowFunction<Pair, Summary, u32, TimeWindow> for SummarizeSum {
    fn process(
        &mut self,
        key: &u32,
        ctx: &mut WindowContext<'_, u32, TimeWindow>,
        elements: Elements<'_, Pair>,
        out: &mut Collector<'_, Summary>,
    ) -> FnResult<()> {
        let window = ctx.window();
        for (_, sum) in elements {
            out.collect((*key, window.start, window.end, 0, *sum));
        }
        Ok(())
    }
}

#[test]
fn sliding_windows_with_incremental_sums_survive_snapshot_restore_and_rescale() {
    let inputs = inputs(true);
    let lateness = 40;
    let sliding = |t: i64| {
        let last_start = t.div_euclid(50) * 50;
        (0..3)
            .map(|i| (last_start - i * 50, last_start - i * 50 + 150))
            .collect()
    };
    let want: Vec<StreamRecord<Summary>> = time_window_reference(&inputs, sliding, lateness, false)
        .into_iter()
        .map(|r| StreamRecord {
            value: (r.value.0, r.value.1, r.value.2, 0, r.value.4),
            timestamp: r.timestamp,
        })
        .collect();
    check_every_interruption(&inputs, &[0, 777], key_of, &want, |backend, clock| {
        let sum = ReduceAggregate(ReduceFn(|a: Pair, b: Pair| (a.0, a.1 + b.1)));
        let spec = WindowSpec {
            key_selector: key_of,
            assigner: SlidingEventTimeWindows::of(
                Duration::from_millis(150),
                Duration::from_millis(50),
            ),
            trigger: EventTimeTrigger::create(),
            contents: Aggregating::new(sum, SummarizeSum),
            allowed_lateness: lateness,
            late_data: None,
        };
        // Small chunks: a watermark's windows leave in several calls.
        WindowOperatorLogic::new(spec, clock, RuntimeMode::Streaming, backend.config())
            .with_batch_size(5)
    });
}

#[test]
fn evicting_windows_survive_snapshot_restore_and_rescale() {
    let inputs = inputs(false);
    let tumbling = |t: i64| vec![(t.div_euclid(100) * 100, t.div_euclid(100) * 100 + 100)];
    let want = time_window_reference(&inputs, tumbling, 0, true);
    check_every_interruption(&inputs, &[0, 500], key_of, &want, |backend, clock| {
        let spec = WindowSpec {
            key_selector: key_of,
            assigner: TumblingEventTimeWindows::of(Duration::from_millis(100)),
            trigger: EventTimeTrigger::create(),
            contents: Buffering::new(CountEvictor::of(2), Summarize),
            allowed_lateness: 0,
            late_data: None,
        };
        WindowOperatorLogic::new(spec, clock, RuntimeMode::Streaming, backend.config())
    });
}

#[test]
fn merging_session_windows_survive_snapshot_restore_and_rescale() {
    // Keys get sessions of a few records 1..30 ms apart, separated by gaps of over 40 ms.
    let mut inputs = Vec::new();
    let mut max_timestamp = 0;
    for i in 0..900u64 {
        let key = (i % 7) as u32;
        let round = i / 7;
        let timestamp = (round / 4) as i64 * 120 + (round % 4) as i64 * (1 + (i as i64 * 13 % 29));
        max_timestamp = max_timestamp.max(timestamp);
        inputs.push(HarnessInput::Record((key, i), timestamp));
        if i % 30 == 29 {
            inputs.push(HarnessInput::Watermark(max_timestamp - 35));
        }
    }
    inputs.push(HarnessInput::Watermark(i64::MAX));
    let gap = 40;
    // The reference: per key, its open sessions; a new element's [t, t + gap) absorbs every
    // session it intersects (touching counts); a watermark fires and drops the sessions it
    // passes.
    let mut sessions: BTreeMap<u32, Vec<(i64, i64, u64, u64)>> = BTreeMap::new();
    let mut want = Vec::new();
    for input in &inputs {
        match *input {
            HarnessInput::Record((key, value), t) => {
                let of_key = sessions.entry(key).or_default();
                let (mut start, mut end, mut count, mut sum) = (t, t + gap, 1, value);
                of_key.retain(|&(s, e, c, v)| {
                    if s <= end && e >= start {
                        start = start.min(s);
                        end = end.max(e);
                        count += c;
                        sum += v;
                        false
                    } else {
                        true
                    }
                });
                of_key.push((start, end, count, sum));
            }
            HarnessInput::Watermark(w) => {
                for (&key, of_key) in sessions.iter_mut() {
                    of_key.retain(|&(start, end, count, sum)| {
                        if end - 1 <= w {
                            want.push(StreamRecord {
                                value: (key, start, end, count, sum),
                                timestamp: end - 1,
                            });
                            false
                        } else {
                            true
                        }
                    });
                }
            }
            HarnessInput::ProcessingTime(_) => {}
        }
    }
    assert!(
        want.iter().any(|r| r.value.3 > 2),
        "sessions merge several records"
    );
    check_every_interruption(&inputs, &[0, 333, 600], key_of, &want, |backend, clock| {
        let spec = WindowSpec {
            key_selector: key_of,
            assigner: EventTimeSessionWindows::with_gap(Duration::from_millis(gap as u64)),
            trigger: EventTimeTrigger::create(),
            contents: Buffering::new(NoEvictor, Summarize),
            allowed_lateness: 0,
            late_data: None,
        };
        WindowOperatorLogic::new(spec, clock, RuntimeMode::Streaming, backend.config())
    });
}

#[test]
fn count_windows_survive_snapshot_restore_and_rescale() {
    let inputs: Vec<HarnessInput<Pair>> = (0..1_000u64)
        .map(|i| HarnessInput::Record(((i * 7 % 11) as u32, i), i as i64))
        .collect();
    // The reference: every third element of a key fires the sum of its last three.
    let mut pending: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut want = Vec::new();
    for input in &inputs {
        let HarnessInput::Record((key, value), _) = *input else {
            unreachable!()
        };
        let of_key = pending.entry(key).or_default();
        of_key.push(value);
        if of_key.len() == 3 {
            want.push(StreamRecord {
                value: (key, 0, 0, 3, of_key.drain(..).sum()),
                timestamp: i64::MAX,
            });
        }
    }
    check_every_interruption(&inputs, &[0, 250, 999], key_of, &want, |backend, clock| {
        let spec = WindowSpec {
            key_selector: key_of,
            assigner: GlobalWindows::create(),
            trigger: PurgingTrigger::of(CountTrigger::of(3)),
            contents: Buffering::new(NoEvictor, Summarize),
            allowed_lateness: 0,
            late_data: None,
        };
        WindowOperatorLogic::new(spec, clock, RuntimeMode::Streaming, backend.config())
    });
}

/// The slicing operator (the heap backend's tumbling and sliding windows) for windows of
/// `size` every `slide` with an incremental sum and `lateness`.
fn slicing_sum(
    size: u64,
    slide: u64,
    lateness: i64,
    backend: crate::common::Backend,
    clock: eddy_state::time::ProcessingTimeService,
) -> impl eddy_runtime::operators::OneInputLogic<Pair, Summary> {
    let assigner =
        SlidingEventTimeWindows::of(Duration::from_millis(size), Duration::from_millis(slide));
    let slicing = WindowAssigner::<Pair, TimeWindow>::slicing(&assigner)
        .expect("aligned sliding windows slice");
    let spec = SlicingSpec {
        key_selector: key_of,
        contents: Aggregating::new(
            ReduceAggregate(ReduceFn(|a: Pair, b: Pair| (a.0, a.1 + b.1))),
            SummarizeSum,
        ),
        slicing,
        event_time: true,
        allowed_lateness: lateness,
        late_data: None,
    };
    SlicingWindowLogic::new(spec, clock, RuntimeMode::Streaming, 64, backend.config())
}

/// What [`slicing_sum`] and [`general_sum`] output for `inputs`: the reference with each
/// window's sum (the pre-reduced results count as none).
fn sliding_sum_reference(
    inputs: &[HarnessInput<Pair>],
    size: i64,
    slide: i64,
    lateness: i64,
) -> Vec<StreamRecord<Summary>> {
    let windows = |t: i64| {
        let last_start = t.div_euclid(slide) * slide;
        (0..)
            .map(|i| last_start - i * slide)
            .take_while(|start| start + size > t)
            .map(|start| (start, start + size))
            .collect()
    };
    time_window_reference(inputs, windows, lateness, false)
        .into_iter()
        .map(|r| StreamRecord {
            value: (r.value.0, r.value.1, r.value.2, 0, r.value.4),
            timestamp: r.timestamp,
        })
        .collect()
}

#[test]
fn sliced_windows_with_late_data_survive_snapshot_restore_and_rescale() {
    let inputs = inputs(true);
    for (size, slide, lateness) in [(100, 100, 60), (150, 50, 40), (200, 30, 0)] {
        let want = sliding_sum_reference(&inputs, size, slide, lateness);
        check_every_interruption(&inputs, &[0, 640], key_of, &want, |backend, clock| {
            slicing_sum(size as u64, slide as u64, lateness, backend, clock)
        });
    }
}

/// The general window operator for windows of `size` every `slide` with the same sum as
/// [`slicing_sum`].
fn general_sum(
    size: u64,
    slide: u64,
    lateness: i64,
    backend: crate::common::Backend,
    clock: eddy_state::time::ProcessingTimeService,
) -> impl eddy_runtime::operators::OneInputLogic<Pair, Summary> {
    let spec = WindowSpec {
        key_selector: key_of,
        assigner: SlidingEventTimeWindows::of(
            Duration::from_millis(size),
            Duration::from_millis(slide),
        ),
        trigger: EventTimeTrigger::create(),
        contents: Aggregating::new(
            ReduceAggregate(ReduceFn(|a: Pair, b: Pair| (a.0, a.1 + b.1))),
            SummarizeSum,
        ),
        allowed_lateness: lateness,
        late_data: None,
    };
    WindowOperatorLogic::new(spec, clock, RuntimeMode::Streaming, backend.config())
}

/// As the DataStream API builds aggregated tumbling and sliding windows: slices on the heap,
/// whole windows on RocksDB. A heap snapshot restores on RocksDB (each window combines its
/// slices, with its trigger and cleanup timers), and a RocksDB snapshot of tumbling windows
/// on the heap (each window one slice); sliding windows cannot become slices (below).
#[test]
fn window_snapshots_cross_between_slices_and_whole_windows() {
    use crate::common::{check_interruptions, Backend};
    use eddy_runtime::operators::EitherLogic;
    let inputs = inputs(true);
    for (size, slide, lateness) in [(100, 100, 60), (150, 50, 40), (200, 30, 0)] {
        let want = sliding_sum_reference(&inputs, size, slide, lateness);
        let (size, slide) = (size as u64, slide as u64);
        check_interruptions(
            &inputs,
            &[0, 333, 640],
            (key_of, |_| false),
            &want,
            // Heap to heap and RocksDB to RocksDB are the tests above.
            |before, after| {
                (before == Backend::Heap) != (after == Backend::Heap)
                    && (before == Backend::Heap || size == slide)
            },
            |backend, clock| match backend {
                Backend::Heap => {
                    EitherLogic::Left(slicing_sum(size, slide, lateness, backend, clock))
                }
                Backend::RocksDb(_) => {
                    EitherLogic::Right(general_sum(size, slide, lateness, backend, clock))
                }
            },
        );
    }
}

#[test]
fn whole_sliding_windows_do_not_restore_as_slices() {
    use eddy_runtime::testing::KeyedHarness;
    let inputs: Vec<HarnessInput<Pair>> = (0..50u64)
        .map(|i| HarnessInput::Record(((i % 5) as u32, i), i as i64 * 10))
        .collect();
    let backend = crate::common::Backend::Heap;
    let general = |clock| general_sum(150, 50, 0, backend, clock);
    let mut harness = KeyedHarness::open(1, key_of, general, None, 0).unwrap();
    harness.feed(inputs.clone()).unwrap();
    let windows = harness.snapshot().unwrap();
    let err = KeyedHarness::open(
        1,
        key_of,
        |clock| slicing_sum(150, 50, 0, backend, clock),
        Some(&windows),
        0,
    )
    .err()
    .expect("slices cannot come from whole windows")
    .to_string();
    assert!(err.contains("state.backend.type"), "{err}");
}
