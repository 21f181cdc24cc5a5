//! Event-time timers of keyed process functions (Flink's `KeyedProcessFunction`,
//! `TimerService`): per key, deduplicated, in timestamp order, deletable (also from another
//! timer), cascading within one watermark advance, all fired by the end of a bounded input,
//! outputs stamped with the timer's time. Processing-time and co-process timers are in
//! `timers_processing_and_co.rs`.

use crate::common;

use std::collections::HashMap;

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::*;

const REGISTER: u8 = 0;
const DELETE: u8 = 1;

/// An instruction: `(key, REGISTER | DELETE, event-time timer)`.
type Op = (u32, u8, i64);

/// What `on_timer` reports: `(key, timer time, ctx.timestamp(), ctx.time_domain(),
/// watermark seen by the timer service)`.
type Fired = (u32, i64, Option<i64>, Option<TimeDomain>, i64);

/// Registers or deletes the event-time timers its elements name; reports every timer firing.
#[derive(Clone)]
struct Timers;

impl KeyedProcessFunction<u32, Op, Fired> for Timers {
    fn process_element(
        &mut self,
        (key, op, time): Op,
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, Fired>,
    ) -> FnResult<()> {
        assert_eq!(*ctx.current_key(), key);
        assert_eq!(ctx.time_domain(), None, "no time domain outside on_timer");
        match op {
            REGISTER => ctx.timer_service().register_event_time_timer(time),
            _ => ctx.timer_service().delete_event_time_timer(time),
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, Fired>,
    ) -> FnResult<()> {
        let watermark = ctx.timer_service().current_watermark();
        out.collect((
            *ctx.current_key(),
            timestamp,
            ctx.timestamp(),
            ctx.time_domain(),
            watermark,
        ));
        Ok(())
    }
}

#[test]
fn event_time_timers_fire_per_key_in_order_deduplicated_and_deletable() {
    let out = bounded(|| {
        let env = common::env(2);
        let script = vec![
            elem((1, REGISTER, 30), 1),
            elem((1, REGISTER, 10), 2),
            elem((1, REGISTER, 20), 3),
            elem((1, REGISTER, 10), 4), // the same timer again: fires once
            elem((2, REGISTER, 20), 5), // same time as key 1's: per key, both fire
            elem((2, REGISTER, 25), 6),
            elem((2, DELETE, 25), 7), // deleted before it fires
            elem((3, REGISTER, 15), 8),
            elem((3, DELETE, 99), 9), // deleting a timer that does not exist is harmless
            wm(19),
            // Registered at the current watermark: fires at the next advance, not at once.
            elem((1, REGISTER, 19), 20),
            elem((2, REGISTER, 100), 21),
            wm(22),
            elem((3, REGISTER, 22), 23), // already due: fires with the end of input
        ];
        let (sink, records) = StampedSink::new();
        scripted(&env, script)
            .key_by(|op: &Op| op.0)
            .process(Timers)
            // Chained to the keyed operator: what its subtask emits, with its watermark.
            .process(WithTimestampAndWatermark)
            .add_sink(sink)
            .set_parallelism(1);
        env.execute("timers").unwrap();
        stamped(&records)
    });

    let mut per_key: HashMap<u32, Vec<(Fired, Option<i64>, i64)>> = HashMap::new();
    for ((fired, timestamp, downstream_watermark), _) in out {
        per_key
            .entry(fired.0)
            .or_default()
            .push((fired, timestamp, downstream_watermark));
    }
    let event = Some(TimeDomain::EventTime);
    // (timer, watermark that fired it, watermark of the chained observer when the output
    // arrives: the one before that advance, as a timer's output precedes the watermark that
    // fired it).
    let expect = |key: u32, timers: &[(i64, i64, i64)]| -> Vec<(Fired, Option<i64>, i64)> {
        timers
            .iter()
            .map(|&(t, w, before)| ((key, t, Some(t), event, w), Some(t), before))
            .collect()
    };
    let max = i64::MAX;
    let min = i64::MIN;
    assert_eq!(
        per_key.remove(&1).unwrap_or_default(),
        expect(
            1,
            &[(10, 19, min), (19, 22, 19), (20, 22, 19), (30, max, 22)]
        )
    );
    assert_eq!(
        per_key.remove(&2).unwrap_or_default(),
        expect(2, &[(20, 22, 19), (100, max, 22)])
    );
    assert_eq!(
        per_key.remove(&3).unwrap_or_default(),
        expect(3, &[(15, 19, min), (22, max, 22)])
    );
    assert!(per_key.is_empty(), "timers of unknown keys: {per_key:?}");
}

/// Logs elements and timers in the order the function sees them; each timer before 70
/// registers another one 10 ms later.
#[derive(Clone)]
struct Cascade;

/// `(what, time, watermark)`: what is `"element"` (time = element timestamp) or `"timer"`.
type Logged = (String, i64, i64);

impl KeyedProcessFunction<u32, (u32, i64), Logged> for Cascade {
    fn process_element(
        &mut self,
        (_, timer): (u32, i64),
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, Logged>,
    ) -> FnResult<()> {
        out.collect((
            "element".into(),
            ctx.timestamp().unwrap(),
            ctx.current_watermark(),
        ));
        ctx.timer_service().register_event_time_timer(timer);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, Logged>,
    ) -> FnResult<()> {
        out.collect(("timer".into(), timestamp, ctx.current_watermark()));
        if timestamp + 10 <= 70 {
            ctx.timer_service()
                .register_event_time_timer(timestamp + 10);
        }
        Ok(())
    }
}

#[test]
fn timers_registered_in_on_timer_at_or_before_the_watermark_fire_in_the_same_advance() {
    let out = bounded(|| {
        let env = common::env(1);
        let script = vec![elem((7, 10), 5), wm(45), elem((7, 200), 50)];
        let logged = scripted(&env, script)
            .key_by(|e: &(u32, i64)| e.0)
            .process(Cascade);
        collect_stamped(&logged, "cascade")
    });
    // Outputs of process_element carry the element's timestamp, those of on_timer the timer's.
    let log =
        |what: &str, time: i64, watermark: i64| ((what.to_string(), time, watermark), Some(time));
    assert_eq!(
        out,
        vec![
            log("element", 5, i64::MIN),
            // Watermark 45: 10 fires and registers 20, which is due too, and so on up to 40.
            log("timer", 10, 45),
            log("timer", 20, 45),
            log("timer", 30, 45),
            log("timer", 40, 45),
            log("element", 50, 45),
            // End of input: everything left, including what the timers register.
            log("timer", 50, i64::MAX),
            log("timer", 60, i64::MAX),
            log("timer", 70, i64::MAX),
            log("timer", 200, i64::MAX),
        ]
    );
}

/// Registers a timer at each element's value; reports firings with the key as text.
#[derive(Clone)]
struct AtValue;

impl KeyedProcessFunction<String, (String, i64), (String, i64)> for AtValue {
    fn process_element(
        &mut self,
        (_, timer): (String, i64),
        ctx: &mut KeyedContext<'_, String>,
        _out: &mut Collector<'_, (String, i64)>,
    ) -> FnResult<()> {
        ctx.timer_service().register_event_time_timer(timer);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Collector<'_, (String, i64)>,
    ) -> FnResult<()> {
        out.collect((ctx.current_key().clone(), timestamp));
        Ok(())
    }
}

#[test]
fn the_end_of_a_bounded_input_fires_every_remaining_event_time_timer() {
    let timers = [
        ("a", 5),
        ("b", -1_000),
        ("a", 1_000_000),
        ("c", i64::MAX),
        ("b", 0),
        ("a", 5),
    ];
    let out = bounded(move || {
        let env = common::env(3);
        // No watermark at all before the end of the input.
        let script = elements(
            timers
                .iter()
                .enumerate()
                .map(|(i, (k, t))| ((k.to_string(), *t), i as i64)),
        );
        let fired = scripted(&env, script)
            .key_by(|e: &(String, i64)| e.0.clone())
            .process(AtValue);
        collect_stamped_sorted(&fired, "end of input")
    });
    let mut expected: Vec<((String, i64), Option<i64>)> = vec![
        (("a".into(), 5), Some(5)),
        (("a".into(), 1_000_000), Some(1_000_000)),
        (("b".into(), -1_000), Some(-1_000)),
        (("b".into(), 0), Some(0)),
        (("c".into(), i64::MAX), Some(i64::MAX)),
    ];
    expected.sort();
    assert_eq!(out, expected);
}

/// Registers a timer at each element's value; a timer at 10, 30, … deletes the key's timer
/// 10 ms later; elements and timers also report to a side output.
#[derive(Clone)]
struct DeleteAndSide {
    tag: OutputTag<(u32, i64)>,
}

impl KeyedProcessFunction<u32, (u32, i64), (u32, i64)> for DeleteAndSide {
    fn process_element(
        &mut self,
        (key, timer): (u32, i64),
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, (u32, i64)>,
    ) -> FnResult<()> {
        ctx.timer_service().register_event_time_timer(timer);
        ctx.output(&self.tag, (key, -timer));
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, i64)>,
    ) -> FnResult<()> {
        let key = *ctx.current_key();
        out.collect((key, timestamp));
        if timestamp % 20 == 10 {
            ctx.timer_service().delete_event_time_timer(timestamp + 10);
        }
        ctx.output(&self.tag, (key, timestamp));
        Ok(())
    }
}

#[test]
fn a_timer_deleted_by_an_earlier_timer_of_the_same_advance_does_not_fire() {
    let (main, side) = bounded(|| {
        let env = common::env(2);
        let tag = OutputTag::<(u32, i64)>::new("side");
        let mut script = elements((1..=5).map(|i| ((1u32, i * 10), i)));
        script.push(elem((2, 20), 6)); // another key's timer at 20 is not deleted
        script.push(wm(25)); // 10 and 20 are due; 10 runs first and deletes 20
        let fired = scripted(&env, script)
            .key_by(|e: &(u32, i64)| e.0)
            .process(DeleteAndSide { tag: tag.clone() });
        let (main_sink, main) = StampedSink::new();
        let (side_sink, side) = StampedSink::new();
        fired.add_sink(main_sink);
        fired.get_side_output(&tag).add_sink(side_sink);
        env.execute("delete in on_timer").unwrap();
        (stamped_sorted(&main), stamped_sorted(&side))
    });
    let timers = [(1, 10), (1, 30), (1, 50), (2, 20)];
    let expected_main: Vec<((u32, i64), Option<i64>)> =
        timers.iter().map(|&(k, t)| ((k, t), Some(t))).collect();
    assert_eq!(main, expected_main);
    // Side outputs carry the element's timestamp, or the timer's in on_timer.
    let mut expected_side: Vec<((u32, i64), Option<i64>)> = (1..=5)
        .map(|i| ((1, -i * 10), Some(i)))
        .chain([((2, -20), Some(6))])
        .chain(expected_main.iter().cloned())
        .collect();
    expected_side.sort();
    assert_eq!(side, expected_side);
}
