//! Evictors with Flink's semantics: `CountEvictor` and `TimeEvictor` before and after the
//! window function (evictions are permanent), a custom evictor, and incremental functions
//! computed over what remains.

use crate::common;

use std::time::Duration;

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::*;

/// `(key, value)`; the event time travels beside it.
type Event = (u32, i64);
/// A global window's `(key, values)` with its timestamp.
type Fired = ((u32, Vec<i64>), Option<i64>);

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

/// Emits `(key, values in arrival order)` for global windows.
#[derive(Clone)]
struct GlobalValues;

impl ProcessWindowFunction<Event, (u32, Vec<i64>), u32, GlobalWindow> for GlobalValues {
    fn process(
        &mut self,
        key: &u32,
        _ctx: &mut WindowContext<'_, u32, GlobalWindow>,
        elements: Elements<'_, Event>,
        out: &mut Collector<'_, (u32, Vec<i64>)>,
    ) -> FnResult<()> {
        out.collect((*key, elements.map(|e| e.1).collect()));
        Ok(())
    }
}

fn sum(a: Event, b: Event) -> Event {
    (a.0, a.1 + b.1)
}

/// Evicts odd values before the window function.
#[derive(Clone)]
struct EvictOdd;

impl Evictor<Event, GlobalWindow> for EvictOdd {
    fn evict_before(
        &mut self,
        elements: &mut Vec<TimestampedValue<Event>>,
        _window: &GlobalWindow,
        _ctx: &EvictorContext,
    ) -> FnResult<()> {
        elements.retain(|e| e.value.1 % 2 == 0);
        Ok(())
    }

    fn evict_after(
        &mut self,
        _elements: &mut Vec<TimestampedValue<Event>>,
        _window: &GlobalWindow,
        _ctx: &EvictorContext,
    ) -> FnResult<()> {
        Ok(())
    }
}

#[test]
fn count_time_and_custom_evictors() {
    let (before, after, odd) = bounded(|| {
        let env = common::env(1);
        let steps = elements((1..=6).map(|v| ((1u32, v), v)));
        let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
        let sinks: Vec<_> = (0..3).map(|_| StampedSink::new()).collect();
        let global = || {
            keyed
                .window(GlobalWindows::create())
                .trigger(CountTrigger::of(2))
        };
        global()
            .evictor(CountEvictor::of(3))
            .process(GlobalValues)
            .add_sink(sinks[0].0.clone());
        global()
            .evictor(CountEvictor::of_after(3))
            .process(GlobalValues)
            .add_sink(sinks[1].0.clone());
        keyed
            .window(GlobalWindows::create())
            .trigger(CountTrigger::of(3))
            .evictor(EvictOdd)
            .process(GlobalValues)
            .add_sink(sinks[2].0.clone());
        env.execute("evictors").unwrap();
        (
            stamped(&sinks[0].1),
            stamped(&sinks[1].1),
            stamped(&sinks[2].1),
        )
    });
    let fired = |v: Vec<Vec<i64>>| -> Vec<Fired> {
        v.into_iter().map(|v| ((1, v), Some(i64::MAX))).collect()
    };
    // Before: the oldest elements beyond 3 go (for good) before the function sees them.
    assert_eq!(
        before,
        fired(vec![vec![1, 2], vec![2, 3, 4], vec![4, 5, 6]])
    );
    // After: the function sees everything, then the oldest beyond 3 go.
    assert_eq!(
        after,
        fired(vec![vec![1, 2], vec![1, 2, 3, 4], vec![2, 3, 4, 5, 6]])
    );
    // A custom evictor: odd values removed before each firing, permanently.
    assert_eq!(odd, fired(vec![vec![2], vec![2, 4, 6]]));
}

#[test]
fn time_evictor_keeps_elements_within_its_span_of_the_newest() {
    let (before, after, reduced) = bounded(|| {
        let env = common::env(1);
        // Value = timestamp, arriving out of order within one window [0, 100).
        let steps = elements([35, 10, 31, 20, 34].into_iter().map(|t| ((1u32, t), t)));
        let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
        let (before_sink, before) = StampedSink::new();
        let (after_sink, after) = StampedSink::new();
        let (reduced_sink, reduced) = StampedSink::new();
        keyed
            .window(TumblingEventTimeWindows::of(ms(100)))
            .evictor(TimeEvictor::of(ms(5)))
            .process(Values)
            .add_sink(before_sink);
        keyed
            .window(TumblingEventTimeWindows::of(ms(100)))
            .evictor(TimeEvictor::of_after(ms(5)))
            .process(Values)
            .add_sink(after_sink);
        // With an evictor, a reduce runs over the remaining elements.
        keyed
            .window(TumblingEventTimeWindows::of(ms(100)))
            .evictor(CountEvictor::of(2))
            .reduce(sum)
            .add_sink(reduced_sink);
        env.execute("time evictor").unwrap();
        (stamped(&before), stamped(&after), stamped(&reduced))
    });
    // Newest 35: everything at or before 30 goes; the rest keep their arrival order.
    assert_eq!(before, vec![((1, 0, vec![35, 31, 34]), Some(99))]);
    assert_eq!(after, vec![((1, 0, vec![35, 10, 31, 20, 34]), Some(99))]);
    // The last two arrivals: 20 + 34.
    assert_eq!(reduced, vec![((1, 54), Some(99))]);
}

#[test]
fn evictors_apply_per_window_of_overlapping_sliding_windows() {
    let (reduced, aggregated) = bounded(|| {
        let env = common::env(1);
        let steps =
            elements([(1, 1), (2, 2), (4, 6), (8, 7), (16, 8)].map(|(v, t)| ((1u32, v), t)));
        let keyed = scripted(&env, steps).key_by(|e: &Event| e.0);
        let sliding = || {
            keyed
                .window(SlidingEventTimeWindows::of(ms(10), ms(5)))
                .evictor(CountEvictor::of(2))
        };
        let (reduced_sink, reduced) = StampedSink::new();
        let (aggregated_sink, aggregated) = StampedSink::new();
        sliding().reduce(sum).add_sink(reduced_sink);
        sliding().aggregate(Sum).add_sink(aggregated_sink);
        env.execute("sliding evictor").unwrap();
        (stamped_sorted(&reduced), stamped_sorted(&aggregated))
    });
    // Each window keeps its own last two arrivals: [-5, 5) 1 + 2, [0, 10) 8 + 16,
    // [5, 15) 8 + 16.
    let expected = vec![((1, 3), Some(4)), ((1, 24), Some(9)), ((1, 24), Some(14))];
    assert_eq!(reduced, expected);
    assert_eq!(aggregated, expected);
}

/// Sums with an aggregate function.
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
