//! Triggers with Flink's semantics: the event-time trigger, count and purging triggers, the
//! continuous event-time trigger's firing sequence, processing-time windows, and a custom
//! trigger with per-window state.

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::*;

/// `(key, value)`; the event time travels beside it.
type Event = (u32, i64);
/// A result, its timestamp and the watermark of the operator receiving it.
type Observed = (Event, Option<i64>, i64);
/// `(key, window start, values)`.
type Fired = (u32, i64, Vec<i64>);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Emits `(key, window start, values in arrival order)` for time windows.
#[derive(Clone)]
struct Values;

impl ProcessWindowFunction<Event, (u32, i64, Vec<i64>), u32, TimeWindow> for Values {
    fn process(
        &mut self,
        key: &u32,
        ctx: &mut WindowContext<'_, u32, TimeWindow>,
        elements: Elements<'_, Event>,
        out: &mut Collector<'_, (u32, i64, Vec<i64>)>,
    ) -> FnResult<()> {
        out.collect((*key, ctx.window().start(), elements.map(|e| e.1).collect()));
        Ok(())
    }
}

fn sum(a: Event, b: Event) -> Event {
    (a.0, a.1 + b.1)
}

#[test]
fn event_time_trigger_fires_each_window_once_when_the_watermark_passes_its_end() {
    let (default, explicit) = bounded(|| {
        let env = common::env(2);
        let steps = vec![
            elem((1, 1), 1),
            elem((1, 2), 12),
            elem((2, 4), 5),
            wm(9), // [0, 10) of both keys
            elem((1, 8), 15),
            elem((1, 16), 25),
            wm(19), // [10, 20) of key 1
            elem((2, 32), 21),
        ];
        let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
        let tumbling = TumblingEventTimeWindows::of(ms(10));
        let (default_sink, default) = StampedSink::new();
        let (explicit_sink, explicit) = StampedSink::new();
        keyed
            .window(tumbling)
            .reduce(sum)
            .process(WithTimestampAndWatermark)
            .add_sink(default_sink);
        keyed
            .window(tumbling)
            .trigger(EventTimeTrigger::create())
            .reduce(sum)
            .process(WithTimestampAndWatermark)
            .add_sink(explicit_sink);
        env.execute("event time trigger").unwrap();
        (stamped_sorted(&default), stamped_sorted(&explicit))
    });
    // (result, its timestamp, the watermark before the one that fired it); the observer's
    // output keeps its input's timestamp, as in Flink.
    let expected: Vec<(Observed, Option<i64>)> = [
        ((1, 1), 9, i64::MIN),
        ((1, 10), 19, 9),
        ((1, 16), 29, 19),
        ((2, 4), 9, i64::MIN),
        ((2, 32), 29, 19),
    ]
    .into_iter()
    .map(|(result, ts, before)| ((result, Some(ts), before), Some(ts)))
    .collect();
    assert_eq!(default, expected);
    assert_eq!(explicit, expected);
}

#[test]
fn count_and_purging_triggers_replace_the_event_time_trigger() {
    let (counted, purged) = bounded(|| {
        let env = common::env(2);
        let steps = elements(
            [(1, 1), (2, 2), (3, 3), (4, 12), (5, 4), (6, 5), (7, 6)]
                .into_iter()
                .map(|(v, ts)| ((1u32, v), ts)),
        );
        let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
        let (counted_sink, counted) = StampedSink::new();
        let (purged_sink, purged) = StampedSink::new();
        keyed
            .window(TumblingEventTimeWindows::of(ms(10)))
            .trigger(CountTrigger::of(2))
            .process(Values)
            .add_sink(counted_sink);
        keyed
            .window(TumblingEventTimeWindows::of(ms(10)))
            .trigger(PurgingTrigger::of(CountTrigger::of(2)))
            .process(Values)
            .add_sink(purged_sink);
        env.execute("count triggers").unwrap();
        (stamped(&counted), stamped(&purged))
    });
    // [0, 10) gets 1, 2, 3, 5, 6, 7; [10, 20) gets 4. The window's end fires nothing: the
    // count trigger ignores time, and the window is dropped at its end.
    assert_eq!(
        counted,
        vec![
            ((1, 0, vec![1, 2]), Some(9)),
            ((1, 0, vec![1, 2, 3, 5]), Some(9)),
            ((1, 0, vec![1, 2, 3, 5, 6, 7]), Some(9)),
        ]
    );
    assert_eq!(
        purged,
        vec![
            ((1, 0, vec![1, 2]), Some(9)),
            ((1, 0, vec![3, 5]), Some(9)),
            ((1, 0, vec![6, 7]), Some(9)),
        ]
    );
}

#[test]
fn continuous_event_time_trigger_fires_at_every_interval_and_at_the_window_end() {
    let out = bounded(|| {
        let env = common::env(1);
        let steps = vec![
            elem((1, 1), 1_000),
            elem((1, 2), 2_500),
            wm(2_999),
            elem((1, 4), 4_000),
            wm(3_000),
            elem((1, 8), 7_000),
            wm(9_000),
            elem((1, 16), 9_500),
            elem((1, 32), 10_500),
        ];
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(TumblingEventTimeWindows::of(ms(10_000)))
            .trigger(ContinuousEventTimeTrigger::of(ms(3_000)))
            .reduce(sum);
        collect_stamped(&windows, "continuous")
    });
    // Window [0, 10000): first fire time 0 + 3000; at 3000 it fires (1 + 2 + 4) and registers
    // 6000; watermark 9000 fires 6000 and, registered by it, 9000; then the end (9999).
    // Window [10000, 20000): 9000 + 3000 = 12000, 15000, 18000, then its end 19999.
    let first = Some(9_999);
    let second = Some(19_999);
    assert_eq!(
        out,
        vec![
            ((1, 7), first),
            ((1, 15), first),
            ((1, 15), first),
            ((1, 31), first),
            ((1, 32), second),
            ((1, 32), second),
            ((1, 32), second),
            ((1, 32), second),
        ]
    );
}

#[test]
fn processing_time_windows_account_for_every_element() {
    const PER_KEY: i64 = 50;
    let out = bounded(|| {
        let env = common::env(2);
        let received = Arc::new(AtomicU64::new(0));
        let mut steps: Vec<Step<Event>> = Vec::new();
        for round in 0..5 {
            for v in 0..PER_KEY / 5 {
                for key in 0..3u32 {
                    steps.push(elem((key, round * 100 + v), 0));
                }
            }
            // A pause, so that elements spread over several windows.
            let since = Arc::new(std::sync::Mutex::new(None::<Instant>));
            steps.push(wait_until(move || {
                since
                    .lock()
                    .unwrap()
                    .get_or_insert_with(Instant::now)
                    .elapsed()
                    > ms(15)
            }));
        }
        // Stay open until every element came out of a window (timers pending at the end of a
        // streaming job are dropped), at most 20 s.
        let counter = received.clone();
        let started = Instant::now();
        steps.push(wait_until(move || {
            counter.load(Ordering::SeqCst) >= 3 * PER_KEY as u64
                || started.elapsed() > Duration::from_secs(20)
        }));
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(TumblingProcessingTimeWindows::of(ms(20)))
            .trigger(ProcessingTimeTrigger::create())
            .process(process_window_fn(
                move |key: &u32,
                      ctx: &mut WindowContext<'_, _, TimeWindow>,
                      elements: Elements<'_, Event>,
                      out: &mut Collector<'_, (u32, i64, i64, i64, usize)>| {
                    let values: Vec<i64> = elements.map(|e| e.1).collect();
                    received.fetch_add(values.len() as u64, Ordering::SeqCst);
                    let w = ctx.window();
                    out.collect((*key, w.start(), w.end(), values.iter().sum(), values.len()));
                    Ok(())
                },
            ));
        collect_stamped(&windows, "processing-time windows")
    });
    let mut totals: BTreeMap<u32, (i64, usize)> = BTreeMap::new();
    for ((key, start, end, sum, count), timestamp) in out {
        // Aligned 20 ms windows, results stamped with the window's max timestamp.
        assert_eq!(end - start, 20);
        assert_eq!(start.rem_euclid(20), 0);
        assert_eq!(timestamp, Some(end - 1));
        let total = totals.entry(key).or_default();
        total.0 += sum;
        total.1 += count;
    }
    let per_key_sum: i64 = (0..5)
        .flat_map(|round| (0..PER_KEY / 5).map(move |v| round * 100 + v))
        .sum();
    let expected: BTreeMap<u32, (i64, usize)> = (0..3)
        .map(|key| (key, (per_key_sum, PER_KEY as usize)))
        .collect();
    assert_eq!(totals, expected);
}

/// Fires and purges when an element's value exceeds 100 or when its window (per key and
/// window: its state) received a third element since the last firing; also fires at the
/// window's end, which emits nothing for a window purged since.
#[derive(Clone)]
struct BigOrThird;

impl Trigger<Event, TimeWindow> for BigOrThird {
    type State = u32;

    fn on_element(
        &mut self,
        element: &Event,
        _timestamp: i64,
        window: &TimeWindow,
        ctx: &mut TriggerContext<'_, u32>,
    ) -> FnResult<TriggerResult> {
        ctx.register_event_time_timer(window.max_timestamp());
        *ctx.state() += 1;
        if element.1 > 100 || *ctx.state() == 3 {
            *ctx.state() = 0;
            return Ok(TriggerResult::FireAndPurge);
        }
        Ok(TriggerResult::Continue)
    }

    fn on_event_time(
        &mut self,
        time: i64,
        window: &TimeWindow,
        _ctx: &mut TriggerContext<'_, u32>,
    ) -> FnResult<TriggerResult> {
        Ok(if time == window.max_timestamp() {
            TriggerResult::Fire
        } else {
            TriggerResult::Continue
        })
    }

    fn on_processing_time(
        &mut self,
        _time: i64,
        _window: &TimeWindow,
        _ctx: &mut TriggerContext<'_, u32>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn clear(&mut self, window: &TimeWindow, ctx: &mut TriggerContext<'_, u32>) -> FnResult<()> {
        ctx.delete_event_time_timer(window.max_timestamp());
        Ok(())
    }
}

#[test]
fn a_custom_trigger_keeps_state_per_key_and_window() {
    let out = bounded(|| {
        let env = common::env(2);
        let steps = elements([
            ((1, 1), 1),
            ((1, 2), 2),
            ((1, 3), 12), // [10, 20): its own count
            ((2, 150), 3),
            ((1, 200), 5), // third of [0, 10), and big
            ((1, 4), 7),
            ((1, 5), 15),
            ((1, 6), 16), // third of [10, 20)
            ((2, 9), 4),
        ]);
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(TumblingEventTimeWindows::of(ms(10)))
            .trigger(BigOrThird)
            .process(Values);
        collect_stamped(&windows, "custom trigger")
    });
    let of_key = |key: u32| -> Vec<(Fired, Option<i64>)> {
        out.iter().filter(|o| o.0 .0 == key).cloned().collect()
    };
    assert_eq!(
        of_key(1),
        vec![
            ((1, 0, vec![1, 2, 200]), Some(9)),
            ((1, 10, vec![3, 5, 6]), Some(19)),
            // The end of input: [0, 10) holds 4; [10, 20) is empty and emits nothing.
            ((1, 0, vec![4]), Some(9)),
        ]
    );
    assert_eq!(
        of_key(2),
        vec![((2, 0, vec![150]), Some(9)), ((2, 0, vec![9]), Some(9))]
    );
}
