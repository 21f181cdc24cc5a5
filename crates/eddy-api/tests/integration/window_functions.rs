//! Window functions: reduce, aggregate, process and their combinations agree on the same
//! windows; field aggregations; what a process window function's context offers.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::*;

/// `(key, value)`; the event time travels beside it.
type Event = (u32, i64);
type Script = Vec<Step<Event>>;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn sum(a: Event, b: Event) -> Event {
    (a.0, a.1 + b.1)
}

/// The key and the sum of the values, as an aggregate.
#[derive(Clone)]
struct KeyedSum;

impl AggregateFunction<Event, (u32, i64), Event> for KeyedSum {
    fn create_accumulator(&mut self) -> (u32, i64) {
        (u32::MAX, 0)
    }
    fn add(&mut self, value: Event, acc: &mut (u32, i64)) -> FnResult<()> {
        acc.0 = value.0;
        acc.1 += value.1;
        Ok(())
    }
    fn get_result(&mut self, acc: &(u32, i64)) -> FnResult<Event> {
        Ok(*acc)
    }
    fn merge(&mut self, acc: &mut (u32, i64), other: (u32, i64)) -> FnResult<()> {
        acc.0 = acc.0.min(other.0);
        acc.1 += other.1;
        Ok(())
    }
}

/// The sum of the values, as an aggregate.
#[derive(Clone)]
struct SumOnly;

impl AggregateFunction<Event, i64, i64> for SumOnly {
    fn create_accumulator(&mut self) -> i64 {
        0
    }
    fn add(&mut self, value: Event, acc: &mut i64) -> FnResult<()> {
        *acc += value.1;
        Ok(())
    }
    fn get_result(&mut self, acc: &i64) -> FnResult<i64> {
        Ok(*acc)
    }
    fn merge(&mut self, acc: &mut i64, other: i64) -> FnResult<()> {
        *acc += other;
        Ok(())
    }
}

/// `(variant, key, sum)`; the window is the result's timestamp (its max timestamp).
type Summary = (u8, u32, i64);

/// Runs five window-function variants over the same windows of `assigner`: reduce,
/// aggregate, process, aggregate with process, reduce with process.
fn five_ways<A>(assigner: A, steps: Vec<Step<Event>>) -> Vec<Vec<(Event, Option<i64>)>>
where
    A: WindowAssigner<Event, TimeWindow> + Sync,
{
    let env = common::env(2);
    let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
    let (sink, records) = StampedSink::<Summary>::new();
    keyed
        .window(assigner.clone())
        .reduce(sum)
        .map(|(key, sum)| (0u8, key, sum))
        .add_sink(sink.clone());
    keyed
        .window(assigner.clone())
        .aggregate(KeyedSum)
        .map(|(key, sum)| (1u8, key, sum))
        .add_sink(sink.clone());
    keyed
        .window(assigner.clone())
        .process(process_window_fn(
            |key: &u32,
             _ctx: &mut WindowContext<'_, _, TimeWindow>,
             elements: Elements<'_, Event>,
             out: &mut Collector<'_, Summary>| {
                out.collect((2, *key, elements.map(|e| e.1).sum()));
                Ok(())
            },
        ))
        .add_sink(sink.clone());
    keyed
        .window(assigner.clone())
        .aggregate_with_process(
            SumOnly,
            process_window_fn(
                |key: &u32,
                 _ctx: &mut WindowContext<'_, _, TimeWindow>,
                 elements: Elements<'_, i64>,
                 out: &mut Collector<'_, Summary>| {
                    assert_eq!(elements.len(), 1, "one pre-aggregated result");
                    for sum in elements {
                        out.collect((3, *key, *sum));
                    }
                    Ok(())
                },
            ),
        )
        .add_sink(sink.clone());
    keyed
        .window(assigner)
        .reduce_with_process(
            sum,
            process_window_fn(
                |key: &u32,
                 _ctx: &mut WindowContext<'_, _, TimeWindow>,
                 elements: Elements<'_, Event>,
                 out: &mut Collector<'_, Summary>| {
                    assert_eq!(elements.len(), 1, "one pre-aggregated result");
                    for e in elements {
                        out.collect((4, *key, e.1));
                    }
                    Ok(())
                },
            ),
        )
        .add_sink(sink);
    env.execute("five ways").unwrap();
    let mut per_variant = vec![Vec::new(); 5];
    for ((variant, key, sum), ts) in stamped(&records) {
        per_variant[variant as usize].push(((key, sum), ts));
    }
    per_variant.iter_mut().for_each(|v| v.sort());
    per_variant
}

/// Out-of-order events of three keys with watermarks that leave none of them late for the
/// windows below (each watermark trails the smallest upcoming timestamp by more than 10 ms).
fn unordered(seed: u64) -> (Vec<(u32, i64, i64)>, Script) {
    let mut rng = Lcg::new(seed);
    let events: Vec<(u32, i64, i64)> = (0..150)
        .map(|i| (rng.below(3) as u32, i, rng.range(-100, 400)))
        .collect();
    let mut steps = Vec::new();
    for (i, &(key, value, ts)) in events.iter().enumerate() {
        steps.push(elem((key, value), ts));
        if let Some(min) = events[i + 1..].iter().map(|e| e.2).min() {
            steps.push(wm(min - 11));
        }
    }
    (events, steps)
}

/// Reference sums per key and window, stamped with the window's max timestamp.
fn reference_sums(
    events: &[(u32, i64, i64)],
    assign: impl Fn(i64) -> Vec<(i64, i64)>,
) -> Vec<(Event, Option<i64>)> {
    let mut sums: BTreeMap<(u32, i64), i64> = BTreeMap::new();
    for &(key, value, ts) in events {
        for (_, end) in assign(ts) {
            *sums.entry((key, end - 1)).or_default() += value;
        }
    }
    let mut out: Vec<(Event, Option<i64>)> = sums
        .into_iter()
        .map(|((key, max_ts), sum)| ((key, sum), Some(max_ts)))
        .collect();
    out.sort();
    out
}

#[test]
fn reduce_aggregate_and_process_agree_on_tumbling_and_sliding_windows() {
    let (events, steps) = unordered(5);
    let tumbling = bounded(move || five_ways(TumblingEventTimeWindows::of(ms(10)), steps));
    let expected = reference_sums(&events, |ts| vec![tumbling_window(ts, 10, 0)]);
    for (variant, out) in tumbling.iter().enumerate() {
        assert_eq!(*out, expected, "tumbling, variant {variant}");
    }
    let (events, steps) = unordered(6);
    let sliding = bounded(move || five_ways(SlidingEventTimeWindows::of(ms(10), ms(4)), steps));
    let expected = reference_sums(&events, |ts| sliding_windows(ts, 10, 4, 0));
    for (variant, out) in sliding.iter().enumerate() {
        assert_eq!(*out, expected, "sliding, variant {variant}");
    }
}

#[test]
fn reduce_aggregate_and_process_agree_on_session_windows() {
    let steps = vec![
        elem((1, 1), 0),
        elem((1, 2), 8),
        elem((2, 4), 3),
        elem((1, 8), 27),
        wm(5),
        elem((1, 16), 18), // bridges [0, 18) and [27, 37): merged accumulators
        elem((2, 32), 14), // [14, 24) touches [3, 13)? no: 14 > 13
    ];
    let out = bounded(move || five_ways(EventTimeSessionWindows::with_gap(ms(10)), steps));
    let expected = vec![
        ((1, 27), Some(36)), // [0, 37)
        ((2, 4), Some(12)),  // [3, 13)
        ((2, 32), Some(23)), // [14, 24)
    ];
    for (variant, out) in out.iter().enumerate() {
        assert_eq!(*out, expected, "sessions, variant {variant}");
    }
}

/// `(key, field, tag)`: field aggregations work on the field; the tag shows which element the
/// other fields come from.
type Tagged = (u32, i64, i64);

#[test]
fn field_aggregations_keep_the_other_fields_of_the_first_element() {
    let (sums, mins, maxes) = bounded(|| {
        let env = common::env(2);
        let steps = elements(
            [
                ((1, 5, 100), 1),
                ((1, 3, 200), 2),
                ((1, 9, 300), 3),
                ((1, 4, 400), 12),
            ]
            .into_iter()
            .chain([((2, -1, 500), 4)]),
        );
        let keyed = scripted(&env, steps).key_by(|e: &Tagged| e.0);
        let sinks: Vec<_> = (0..3).map(|_| StampedSink::<Tagged>::new()).collect();
        let window = || keyed.window(TumblingEventTimeWindows::of(ms(10)));
        window().sum(|t| &mut t.1).add_sink(sinks[0].0.clone());
        window().min(|t| &mut t.1).add_sink(sinks[1].0.clone());
        window().max(|t| &mut t.1).add_sink(sinks[2].0.clone());
        env.execute("field aggregations").unwrap();
        (
            stamped_sorted(&sinks[0].1),
            stamped_sorted(&sinks[1].1),
            stamped_sorted(&sinks[2].1),
        )
    });
    let expect = |first: Tagged| {
        let mut v = vec![
            (first, Some(9)),
            ((1, 4, 400), Some(19)),
            ((2, -1, 500), Some(9)),
        ];
        v.sort();
        v
    };
    assert_eq!(sums, expect((1, 17, 100)));
    assert_eq!(mins, expect((1, 3, 100)));
    assert_eq!(maxes, expect((1, 9, 100)));
}

#[test]
fn the_window_context_gives_the_watermark_and_side_outputs_stamped_with_the_window() {
    let (main, side) = bounded(|| {
        let env = common::env(1);
        let tag = OutputTag::<i64>::new("sums");
        let side_tag = tag.clone();
        let steps = vec![
            elem((1, 1), 2),
            wm(12),           // fires [0, 10)
            elem((1, 4), 5),  // within the lateness: fires [0, 10) again at once
            elem((1, 2), 15), // [10, 20), fired by the end of input
        ];
        let result = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(TumblingEventTimeWindows::of(ms(10)))
            .allowed_lateness(ms(10))
            .process(process_window_fn(
                move |key: &u32,
                      ctx: &mut WindowContext<'_, _, TimeWindow>,
                      elements: Elements<'_, Event>,
                      out: &mut Collector<'_, (u32, i64, i64, i64)>| {
                    let sum: i64 = elements.map(|e| e.1).sum();
                    let start = ctx.window().start();
                    out.collect((*key, start, sum, ctx.current_watermark()));
                    ctx.output(&side_tag, sum);
                    Ok(())
                },
            ));
        let (main_sink, main) = StampedSink::new();
        let (side_sink, side) = StampedSink::new();
        result.add_sink(main_sink);
        result.get_side_output(&tag).add_sink(side_sink);
        env.execute("window context").unwrap();
        (stamped(&main), stamped(&side))
    });
    assert_eq!(
        main,
        vec![
            ((1, 0, 1, 12), Some(9)),
            ((1, 0, 5, 12), Some(9)),
            ((1, 10, 2, i64::MAX), Some(19)),
        ]
    );
    assert_eq!(side, vec![(1, Some(9)), (5, Some(9)), (2, Some(19))]);
}
