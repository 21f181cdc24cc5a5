//! Keyed state in process window functions: per-window state lives as long as its window
//! (across late re-firings) and is handed to `clear` at cleanup; global state is the key's
//! across all windows; merging windows have no per-window state.

use crate::common;

use std::time::Duration;

use common::event_time::*;
use common::{bounded, failure_cause};
use eddy_api::prelude::*;

/// `(key, value)`; the event time travels beside it.
type Event = (u32, i64);
/// `(key, window start, firings of this window, firings of the key, sum)`.
type Firing = (u32, i64, u32, u32, i64);
/// `(key, window start, firings of the window)` as seen by `clear`.
type Cleared = (u32, i64, u32);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Sums with an aggregate function (the incremental, sliced path).
#[derive(Clone)]
struct Sum;

impl AggregateFunction<Event, Event, Event> for Sum {
    fn create_accumulator(&mut self) -> Event {
        (0, 0)
    }
    fn add(&mut self, value: Event, acc: &mut Event) -> FnResult<()> {
        *acc = (value.0, acc.1 + value.1);
        Ok(())
    }
    fn get_result(&mut self, acc: &Event) -> FnResult<Event> {
        Ok(*acc)
    }
    fn merge(&mut self, acc: &mut Event, other: Event) -> FnResult<()> {
        acc.1 += other.1;
        Ok(())
    }
}

/// Counts firings per window (window state) and per key (global state), and reports each
/// window's count when it is cleaned up.
#[derive(Clone)]
struct FiringCounter {
    window_firings: ValueStateDescriptor<u32>,
    key_firings: ValueStateDescriptor<u32>,
    cleared: OutputTag<Cleared>,
}

impl FiringCounter {
    fn new(cleared: &OutputTag<Cleared>) -> Self {
        FiringCounter {
            window_firings: ValueStateDescriptor::new("window-firings"),
            key_firings: ValueStateDescriptor::new("key-firings"),
            cleared: cleared.clone(),
        }
    }
}

impl ProcessWindowFunction<Event, Firing, u32, TimeWindow> for FiringCounter {
    fn process(
        &mut self,
        key: &u32,
        ctx: &mut WindowContext<'_, u32, TimeWindow>,
        elements: Elements<'_, Event>,
        out: &mut Collector<'_, Firing>,
    ) -> FnResult<()> {
        let mut window_firings = ctx.window_state()?.value(&self.window_firings)?;
        let in_window = window_firings.value()?.unwrap_or(0) + 1;
        window_firings.update(in_window)?;
        let mut key_firings = ctx.global_state().value(&self.key_firings)?;
        let for_key = key_firings.value()?.unwrap_or(0) + 1;
        key_firings.update(for_key)?;
        let sum = elements.map(|e| e.1).sum();
        out.collect((*key, ctx.window().start(), in_window, for_key, sum));
        Ok(())
    }

    fn clear(&mut self, key: &u32, ctx: &mut WindowContext<'_, u32, TimeWindow>) -> FnResult<()> {
        let firings = ctx.window_state()?.value(&self.window_firings)?.value()?;
        let start = ctx.window().start();
        ctx.output(&self.cleared, (*key, start, firings.unwrap_or(0)));
        Ok(())
    }
}

/// Runs `steps` through tumbling windows of 10 ms with the given lateness, or sliding ones
/// (10 ms every 5 ms), counting firings; `sliced` picks the incremental operator (aggregate +
/// process) over the general one (process over buffered elements).
fn run_counter(
    steps: Vec<Step<Event>>,
    sliding: bool,
    lateness: u64,
    sliced: bool,
) -> (Vec<Firing>, Vec<Cleared>) {
    bounded(move || {
        let env = common::env(2);
        let cleared = OutputTag::<Cleared>::new("cleared");
        let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
        let counter = FiringCounter::new(&cleared);
        let firings = if sliding {
            let windowed = keyed.window(SlidingEventTimeWindows::of(ms(10), ms(5)));
            if sliced {
                windowed.aggregate_with_process(Sum, counter)
            } else {
                windowed.process(counter)
            }
        } else {
            let windowed = keyed
                .window(TumblingEventTimeWindows::of(ms(10)))
                .allowed_lateness(ms(lateness));
            if sliced {
                windowed.aggregate_with_process(Sum, counter)
            } else {
                windowed.process(counter)
            }
        };
        let (sink, records) = StampedSink::new();
        let (cleared_sink, cleared_records) = StampedSink::new();
        firings.add_sink(sink);
        firings.get_side_output(&cleared).add_sink(cleared_sink);
        env.execute("window state").unwrap();
        let firings = stamped(&records).into_iter().map(|(f, _)| f).collect();
        let cleared = stamped(&cleared_records)
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        (firings, cleared)
    })
}

#[test]
fn window_state_lives_across_late_firings_and_global_state_across_windows() {
    // Tumbling windows of 10 ms, lateness 5 ms: [0, 10) fires on time and twice more for late
    // elements, then is cleaned up at watermark 14; [10, 20) fires twice and is cleaned up by
    // the end of input.
    let script = vec![
        elem((1, 1), 2),
        elem((1, 2), 7),
        wm(9),
        elem((1, 4), 5),
        elem((1, 8), 12),
        wm(13),
        elem((1, 16), 1),
        wm(14),
        elem((1, 32), 3), // late for good: no firing
        elem((1, 128), 10),
        wm(19),
        elem((1, 256), 15),
    ];
    for sliced in [true, false] {
        let (firings, cleared) = run_counter(script.clone(), false, 5, sliced);
        assert_eq!(
            firings,
            vec![
                (1, 0, 1, 1, 3),
                (1, 0, 2, 2, 7),
                (1, 0, 3, 3, 23),
                (1, 10, 1, 4, 136),
                (1, 10, 2, 5, 392),
            ],
            "sliced: {sliced}"
        );
        assert_eq!(cleared, vec![(1, 0, 3), (1, 10, 2)], "sliced: {sliced}");
    }
}

#[test]
fn sliding_windows_without_lateness_clear_each_window_after_its_firing() {
    // Windows [-5, 5), [0, 10), [5, 15), [10, 20) fire once each, in end order.
    let script = vec![elem((1, 1), 1), elem((1, 2), 7), elem((1, 4), 12)];
    for sliced in [true, false] {
        let (firings, cleared) = run_counter(script.clone(), true, 0, sliced);
        assert_eq!(
            firings,
            vec![
                (1, -5, 1, 1, 1),
                (1, 0, 1, 2, 3),
                (1, 5, 1, 3, 6),
                (1, 10, 1, 4, 4)
            ],
            "sliced: {sliced}"
        );
        assert_eq!(
            cleared,
            vec![(1, -5, 1), (1, 0, 1), (1, 5, 1), (1, 10, 1)],
            "sliced: {sliced}"
        );
    }
}

#[test]
fn the_global_window_has_its_own_state_apart_from_the_keys_global_state() {
    // Count windows of 2 elements: one global window per key, purged after each firing; its
    // window state outlives the purge, and the same descriptor in global state is another
    // value.
    let out = bounded(|| {
        let env = common::env(2);
        let values: Vec<Event> = (1..=8).map(|v| (v as u32 % 2, v)).collect();
        let counter = ValueStateDescriptor::<i64>::new("counter");
        let windows = env
            .from_collection(values)
            .key_by(|e: &Event| e.0)
            .count_window(2)
            .process(process_window_fn(
                move |key: &u32,
                      ctx: &mut WindowContext<'_, _, GlobalWindow>,
                      elements: Elements<'_, Event>,
                      out: &mut Collector<'_, (u32, i64, i64, i64)>| {
                    let mut in_window = ctx.window_state()?.value(&counter)?;
                    let window_value = in_window.value()?.unwrap_or(0) + 10;
                    in_window.update(window_value)?;
                    let mut global = ctx.global_state().value(&counter)?;
                    let global_value = global.value()?.unwrap_or(0) + 1;
                    global.update(global_value)?;
                    let sum = elements.map(|e| e.1).sum();
                    out.collect((*key, sum, window_value, global_value));
                    Ok(())
                },
            ));
        collect_sorted(&windows, "count window state")
    });
    // Key 1 gets 1, 3 | 5, 7 and key 0 gets 2, 4 | 6, 8: two firings each.
    assert_eq!(
        out,
        vec![(0, 6, 10, 1), (0, 14, 20, 2), (1, 4, 10, 1), (1, 12, 20, 2)]
    );
}

#[test]
fn per_window_state_in_session_windows_is_a_clear_error() {
    let cause = bounded(|| {
        let env = common::env(1);
        let windows = scripted(&env, vec![elem((1, 1), 1), elem((1, 2), 3)])
            .key_by(|e: &Event| e.0)
            .window(EventTimeSessionWindows::with_gap(ms(5)))
            .process(FiringCounter::new(&OutputTag::new("cleared")));
        windows.add_sink(StampedSink::new().0);
        failure_cause(env.execute("session window state"))
    });
    assert!(
        cause.contains("per-window state") && cause.contains("merging (session) windows"),
        "{cause}"
    );
}
