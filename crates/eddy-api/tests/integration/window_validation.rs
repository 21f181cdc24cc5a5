//! Parameters Flink rejects: window assigners with offsets outside `(-slide, slide)`,
//! non-positive sizes, slides or session gaps, dynamic session gaps that are not positive (a
//! runtime failure in Flink: "Dynamic session time gap must satisfy 0 < gap"), and interval
//! joins whose lower bound exceeds the upper bound.

use crate::common;

use std::time::Duration;

use common::event_time::*;
use common::{bounded, failure_cause};
use eddy_api::prelude::*;

type Event = (u32, i64);
/// Builds a windowed job in an environment.
type Build = Box<dyn Fn(&StreamExecutionEnvironment) -> DataStream<Event>>;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The message of a program rejected before it runs; panics on any other outcome.
fn invalid_program<T: std::fmt::Debug>(result: Result<T, JobError>) -> String {
    match result {
        Err(JobError::InvalidProgram(message)) => message,
        other => panic!("expected an invalid program, got {other:?}"),
    }
}

fn events(env: &StreamExecutionEnvironment) -> KeyedStream<Event, u32, fn(&Event) -> u32> {
    let key: fn(&Event) -> u32 = |e| e.0;
    scripted(env, vec![elem((1, 1), 1), elem((1, 2), 2)]).key_by(key)
}

#[test]
fn aligned_window_assigners_reject_offsets_outside_the_slide_and_empty_sizes() {
    let cases: Vec<(&str, Build)> = vec![
        (
            "tumbling offset = size",
            Box::new(|env| {
                events(env)
                    .window(TumblingEventTimeWindows::of(ms(10)).with_offset(10))
                    .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
            }),
        ),
        (
            "tumbling offset = -size",
            Box::new(|env| {
                events(env)
                    .window(TumblingEventTimeWindows::of(ms(10)).with_offset(-10))
                    .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
            }),
        ),
        (
            "tumbling size 0",
            Box::new(|env| {
                events(env)
                    .window(TumblingEventTimeWindows::of(ms(0)))
                    .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
            }),
        ),
        (
            "sliding offset = slide",
            Box::new(|env| {
                events(env)
                    .window(SlidingEventTimeWindows::of(ms(10), ms(5)).with_offset(5))
                    .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
            }),
        ),
        (
            "sliding slide 0",
            Box::new(|env| {
                events(env)
                    .window(SlidingEventTimeWindows::of(ms(10), ms(0)))
                    .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
            }),
        ),
        (
            "session gap 0",
            Box::new(|env| {
                events(env)
                    .window(EventTimeSessionWindows::with_gap(ms(0)))
                    .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
            }),
        ),
    ];
    let mut accepted = Vec::new();
    for (case, build) in cases {
        let env = common::env(1);
        match build(&env).execute_and_collect(case) {
            Err(JobError::InvalidProgram(message)) => assert!(!message.is_empty(), "{case}"),
            other => accepted.push(format!("{case}: {other:?}")),
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
}

#[test]
fn a_slide_larger_than_the_size_leaves_elements_between_windows_out() {
    // Windows [0, 5), [10, 15), …: an element at 7 belongs to none (and is not late).
    let out = bounded(|| {
        let env = common::env(1);
        let steps = vec![elem((1, 1), 3), elem((1, 2), 7), elem((1, 4), 12)];
        let windows = scripted(&env, steps)
            .key_by(|e: &Event| e.0)
            .window(SlidingEventTimeWindows::of(ms(5), ms(10)))
            .reduce(|a: Event, b: Event| (a.0, a.1 + b.1));
        collect_stamped(&windows, "gaps between windows")
    });
    assert_eq!(out, vec![((1, 1), Some(4)), ((1, 4), Some(14))]);
}

#[test]
fn a_dynamic_session_gap_that_is_not_positive_fails_the_job() {
    for bad_gap in [0, -5] {
        let result = bounded(move || {
            let env = common::env(1);
            let steps = vec![elem((1, 10), 1), elem((1, 0), 2)];
            scripted(&env, steps)
                .key_by(|e: &Event| e.0)
                .window(EventTimeSessionWindows::with_dynamic_gap(
                    move |e: &Event| {
                        if e.1 == 0 {
                            bad_gap
                        } else {
                            e.1
                        }
                    },
                ))
                .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
                .execute_and_collect("bad dynamic gap")
        });
        let cause = failure_cause(result);
        assert!(cause.contains("gap"), "gap {bad_gap}: {cause}");
    }
}

#[test]
fn an_interval_join_with_the_lower_bound_above_the_upper_is_rejected() {
    let env = common::env(1);
    let a = events(&env);
    let b = events(&env);
    let joined = a.interval_join(&b).between(5, 4).process(
        |l: &Event, r: &Event, _ctx: &ProcessJoinContext, out: &mut Collector<'_, i64>| {
            out.collect(l.1 + r.1);
            Ok(())
        },
    );
    let message = invalid_program(joined.execute_and_collect("bad bounds"));
    assert!(message.contains("lower bound"), "{message}");
}

/// A trigger that cannot merge windows (the default of `Trigger::can_merge`).
#[derive(Clone)]
struct FireAtEnd;

impl Trigger<Event, TimeWindow> for FireAtEnd {
    type State = ();

    fn on_element(
        &mut self,
        _element: &Event,
        _timestamp: i64,
        window: &TimeWindow,
        ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        ctx.register_event_time_timer(window.max_timestamp());
        Ok(TriggerResult::Continue)
    }

    fn on_event_time(
        &mut self,
        _time: i64,
        _window: &TimeWindow,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Fire)
    }

    fn on_processing_time(
        &mut self,
        _time: i64,
        _window: &TimeWindow,
        _ctx: &mut TriggerContext<'_, ()>,
    ) -> FnResult<TriggerResult> {
        Ok(TriggerResult::Continue)
    }

    fn clear(&mut self, window: &TimeWindow, ctx: &mut TriggerContext<'_, ()>) -> FnResult<()> {
        ctx.delete_event_time_timer(window.max_timestamp());
        Ok(())
    }
}

#[test]
fn a_merging_assigner_rejects_a_trigger_that_cannot_merge() {
    // Flink: "A merging window assigner cannot be used with a trigger that does not support
    // merging." (when the program is built, before any element arrives).
    let env = common::env(1);
    let result = events(&env)
        .window(EventTimeSessionWindows::with_gap(ms(10)))
        .trigger(FireAtEnd)
        .reduce(|a: Event, b: Event| (a.0, a.1 + b.1))
        .execute_and_collect("non-merging trigger");
    let message = invalid_program(result);
    assert!(message.contains("merg"), "{message}");
}
