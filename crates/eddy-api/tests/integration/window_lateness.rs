//! Allowed lateness and late data (Flink's `WindowOperator` rules): re-firing within the
//! lateness, state cleanup at `max_timestamp + lateness`, late elements to the side output
//! with their own timestamps, sliding windows late only in part, sessions rescued by merging,
//! and results stamped with the window's max timestamp.

use crate::common;

use std::time::Duration;

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::*;

/// `(key, value)`; the event time travels beside it.
type Event = (u32, i64);
/// Results with their timestamps, in arrival order.
type Stamps = Vec<(Event, Option<i64>)>;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn sum(a: Event, b: Event) -> Event {
    (a.0, a.1 + b.1)
}

/// Sums with an aggregate function (the incremental path without a reduce).
#[derive(Clone)]
struct Sum;

impl AggregateFunction<Event, (u32, i64), Event> for Sum {
    fn create_accumulator(&mut self) -> (u32, i64) {
        (0, 0)
    }
    fn add(&mut self, value: Event, acc: &mut (u32, i64)) -> FnResult<()> {
        *acc = (value.0, acc.1 + value.1);
        Ok(())
    }
    fn get_result(&mut self, acc: &(u32, i64)) -> FnResult<Event> {
        Ok(*acc)
    }
    fn merge(&mut self, acc: &mut (u32, i64), other: (u32, i64)) -> FnResult<()> {
        acc.1 += other.1;
        Ok(())
    }
}

/// Sums over all buffered elements (the non-incremental path).
fn sum_all() -> impl ProcessWindowFunction<Event, Event, u32, TimeWindow> {
    process_window_fn(
        |key: &u32,
         _ctx: &mut WindowContext<'_, _, TimeWindow>,
         elements: Elements<'_, Event>,
         out: &mut Collector<'_, Event>| {
            out.collect((*key, elements.map(|e| e.1).sum()));
            Ok(())
        },
    )
}

/// The script of the allowed-lateness tests: tumbling windows of 10 ms, lateness 5 ms.
fn lateness_script() -> Vec<Step<Event>> {
    vec![
        elem((1, 1), 2),
        elem((1, 2), 7),
        wm(9),           // fires [0, 10): 3
        elem((1, 4), 5), // late but within the lateness: fires again at once, 7
        elem((1, 8), 12),
        wm(13),
        elem((1, 16), 1),   // still within (cleanup of [0, 10) is at 9 + 5 = 14): 23
        wm(14),             // [0, 10) is dropped: its cleanup fires nothing
        elem((1, 32), 3),   // 3 + 5 <= 14: late, to the side output
        elem((1, 64), 9),   // 9 + 5 <= 14: late too
        elem((1, 128), 10), // [10, 20) is live
        wm(19),             // fires [10, 20): 8 + 128 = 136
        elem((1, 256), 15), // within the lateness of [10, 20): 392
        elem((2, 512), 4),  // another key's [0, 10) is past its cleanup time: late
    ]
}

#[test]
fn allowed_lateness_refires_windows_and_late_elements_go_to_the_side_output() {
    for variant in ["reduce", "aggregate", "process"] {
        let (main, late) = bounded(move || {
            let env = common::env(2);
            let late_tag = OutputTag::<Event>::new("late");
            let windowed = scripted(&env, lateness_script())
                .key_by(|e: &Event| e.0)
                .window(TumblingEventTimeWindows::of(ms(10)))
                .allowed_lateness(ms(5))
                .side_output_late_data(&late_tag);
            let result = match variant {
                "reduce" => windowed.reduce(sum),
                "aggregate" => windowed.aggregate(Sum),
                _ => windowed.process(sum_all()),
            };
            let (main_sink, main) = StampedSink::new();
            let (late_sink, late) = StampedSink::new();
            result.add_sink(main_sink);
            result.get_side_output(&late_tag).add_sink(late_sink);
            env.execute("allowed lateness").unwrap();
            // One key in the main output: in order; the late elements of two keys: sorted.
            (stamped(&main), stamped_sorted(&late))
        });
        assert_eq!(
            main,
            vec![
                ((1, 3), Some(9)),
                ((1, 7), Some(9)),
                ((1, 23), Some(9)),
                ((1, 136), Some(19)),
                ((1, 392), Some(19)),
            ],
            "{variant}"
        );
        // Late elements keep their own timestamps.
        assert_eq!(
            late,
            vec![((1, 32), Some(3)), ((1, 64), Some(9)), ((2, 512), Some(4))],
            "{variant}"
        );
    }
}

#[test]
fn without_lateness_or_a_side_output_late_elements_are_dropped() {
    let out = bounded(|| {
        let env = common::env(1);
        let steps = vec![
            elem((1, 1), 2),
            wm(9),
            elem((1, 2), 9), // [0, 10) fired and was dropped: 9 <= 9 is late
            elem((1, 4), 10),
            wm(10),
            elem((1, 8), 19), // not late: [10, 20) ends at 19 > 10
        ];
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(TumblingEventTimeWindows::of(ms(10)))
            .reduce(sum);
        collect_stamped(&windows, "dropped")
    });
    assert_eq!(out, vec![((1, 1), Some(9)), ((1, 12), Some(19))]);
}

#[test]
fn an_element_late_for_some_sliding_windows_still_counts_in_the_others() {
    let (main, late) = bounded(|| {
        let env = common::env(1);
        let late_tag = OutputTag::<Event>::new("late");
        let steps = vec![
            elem((1, 1), 3), // [-5, 5) and [0, 10)
            elem((1, 2), 7), // [0, 10) and [5, 15)
            wm(9),           // fires [-5, 5): 1 and [0, 10): 3
            elem((1, 4), 8), // [0, 10) is late, [5, 15) is not: counted there, not late
            elem((1, 8), 2), // both [-5, 5) and [0, 10) are late: side output
            elem((1, 16), 14),
        ];
        let result = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(SlidingEventTimeWindows::of(ms(10), ms(5)))
            .side_output_late_data(&late_tag)
            .reduce(sum);
        let (main_sink, main) = StampedSink::new();
        let (late_sink, late) = StampedSink::new();
        result.add_sink(main_sink);
        result.get_side_output(&late_tag).add_sink(late_sink);
        env.execute("sliding lateness").unwrap();
        (stamped(&main), stamped(&late))
    });
    assert_eq!(
        main,
        vec![
            ((1, 1), Some(4)),
            ((1, 3), Some(9)),
            ((1, 22), Some(14)), // [5, 15): 2 + 4 + 16
            ((1, 16), Some(19)), // [10, 20)
        ]
    );
    assert_eq!(late, vec![((1, 8), Some(2))]);
}

#[test]
fn a_late_element_that_merges_into_a_live_session_is_not_late() {
    let (main, late) = bounded(|| {
        let env = common::env(1);
        let late_tag = OutputTag::<Event>::new("late");
        let steps = vec![
            elem((1, 100), 100),
            elem((1, 105), 105), // session [100, 115)
            wm(112),
            elem((1, 95), 95), // [95, 105) alone would be late; merged: [95, 115), live
            elem((1, 80), 80), // [80, 90) merges with nothing: late
        ];
        let result = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(EventTimeSessionWindows::with_gap(ms(10)))
            .side_output_late_data(&late_tag)
            .reduce(sum);
        let (main_sink, main) = StampedSink::new();
        let (late_sink, late) = StampedSink::new();
        result.add_sink(main_sink);
        result.get_side_output(&late_tag).add_sink(late_sink);
        env.execute("session lateness").unwrap();
        (stamped(&main), stamped(&late))
    });
    assert_eq!(main, vec![((1, 300), Some(114))]);
    assert_eq!(late, vec![((1, 80), Some(80))]);
}

#[test]
fn a_purging_trigger_refires_with_only_the_late_elements() {
    let out = bounded(|| {
        let env = common::env(1);
        let steps = vec![
            elem((1, 1), 2),
            elem((1, 2), 5),
            wm(9),           // fires and purges [0, 10): 3
            elem((1, 4), 3), // within the lateness: fires (and purges) just 4
            elem((1, 8), 4),
            wm(30),           // cleanup of [0, 10) at 19
            elem((1, 16), 1), // late
        ];
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(TumblingEventTimeWindows::of(ms(10)))
            .trigger(PurgingTrigger::of(EventTimeTrigger::create()))
            .allowed_lateness(ms(10))
            .reduce(sum);
        collect_stamped(&windows, "purging lateness")
    });
    assert_eq!(
        out,
        vec![((1, 3), Some(9)), ((1, 4), Some(9)), ((1, 8), Some(9))]
    );
}

#[test]
fn window_results_are_stamped_with_the_window_max_timestamp_for_downstream_operators() {
    let out = bounded(|| {
        let env = common::env(2);
        let steps = vec![
            elem((1, 1), -15),
            elem((2, 2), 0),
            elem((1, 4), 19),
            wm(-1),
            elem((2, 8), 25),
        ];
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(TumblingEventTimeWindows::of(ms(20)))
            .process(sum_all())
            // A downstream process function (chained: the same subtask's watermark) reads
            // the timestamp and its watermark.
            .process(WithTimestampAndWatermark);
        let mut out = windows.execute_and_collect("stamps").unwrap();
        out.sort();
        out
    });
    assert_eq!(
        out,
        vec![
            // [-20, 0) fired by watermark -1, before which the watermark was the start.
            ((1, 1), Some(-1), i64::MIN),
            ((1, 4), Some(19), -1),
            ((2, 2), Some(19), -1),
            ((2, 8), Some(39), -1),
        ]
    );
}

/// Runs `steps` through windows of `assigner` with `lateness`, summing per key; returns the
/// main output in arrival order and the late side output.
fn sums_with_late_output<A>(
    assigner: A,
    lateness: Duration,
    steps: Vec<Step<Event>>,
) -> (Stamps, Stamps)
where
    A: WindowAssigner<Event, TimeWindow> + Sync,
{
    let env = common::env(1);
    let late_tag = OutputTag::<Event>::new("late");
    let result = scripted(&env, steps)
        .key_by(|e: &Event| e.0)
        .window(assigner)
        .allowed_lateness(lateness)
        .side_output_late_data(&late_tag)
        .reduce(sum);
    let (main_sink, main) = StampedSink::new();
    let (late_sink, late) = StampedSink::new();
    result.add_sink(main_sink);
    result.get_side_output(&late_tag).add_sink(late_sink);
    env.execute("lateness").unwrap();
    (stamped(&main), stamped(&late))
}

/// Compares `actual` with consecutive groups of `expected`: the groups in order, the results
/// within a group in any order (one element re-firing several windows).
fn assert_groups(actual: &[(Event, Option<i64>)], expected: &[&[(i64, i64)]]) {
    let flat: usize = expected.iter().map(|g| g.len()).sum();
    assert_eq!(actual.len(), flat, "{actual:?}");
    let mut rest = actual;
    for group in expected {
        let (head, tail) = rest.split_at(group.len());
        let mut got: Vec<(i64, i64)> = head.iter().map(|((_, s), ts)| (*s, ts.unwrap())).collect();
        let mut want = group.to_vec();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{actual:?}");
        rest = tail;
    }
}

#[test]
fn late_elements_refire_every_fired_sliding_window_they_belong_to() {
    let steps = vec![
        elem((1, 1), 3), // [-5, 5), [0, 10)
        elem((1, 2), 7), // [0, 10), [5, 15)
        wm(9),
        elem((1, 4), 6),   // [0, 10) fired: again; [5, 15) not yet
        elem((1, 8), 1),   // [0, 10) and [-5, 5) (cleanup at 14) fire again
        wm(14),            // [5, 15) fires; [-5, 5) is dropped
        elem((1, 16), 9),  // [5, 15) and [0, 10) fire again
        elem((1, 32), 2),  // [0, 10) again; [-5, 5) is gone (not late overall)
        elem((1, 64), -3), // [-5, 5) and [-10, 0) both gone: late
    ];
    let (main, late) = bounded(move || {
        sums_with_late_output(SlidingEventTimeWindows::of(ms(10), ms(5)), ms(10), steps)
    });
    // (sum, window max timestamp)
    assert_groups(
        &main,
        &[
            &[(1, 4)],
            &[(3, 9)],
            &[(7, 9)],
            &[(15, 9), (9, 4)],
            &[(6, 14)],
            &[(22, 14), (31, 9)],
            &[(63, 9)],
        ],
    );
    assert_eq!(late, vec![((1, 64), Some(-3))]);
}

#[test]
fn session_windows_with_lateness_refire_after_merging() {
    let steps = vec![
        elem((1, 1), 0),   // [0, 10)
        wm(9),             // fires 1
        elem((1, 2), 5),   // merges into [0, 15): not due yet
        wm(14),            // fires 3
        elem((1, 4), 12),  // [0, 22)
        wm(30),            // fires 7
        elem((1, 8), 3),   // inside [0, 22), alive until 41: fires 15 at once
        wm(41),            // [0, 22) is dropped
        elem((1, 16), 25), // a new session [25, 35), already due: fires 16
        elem((1, 32), 30), // merges into [25, 40), due: fires 48
        elem((1, 64), 1),  // [1, 11) is past its cleanup time: late
    ];
    let (main, late) = bounded(move || {
        sums_with_late_output(EventTimeSessionWindows::with_gap(ms(10)), ms(20), steps)
    });
    let expected: Vec<(Event, Option<i64>)> =
        [(1, 9), (3, 14), (7, 21), (15, 21), (16, 34), (48, 39)]
            .into_iter()
            .map(|(s, ts)| ((1, s), Some(ts)))
            .collect();
    assert_eq!(main, expected);
    assert_eq!(late, vec![((1, 64), Some(1))]);
}
