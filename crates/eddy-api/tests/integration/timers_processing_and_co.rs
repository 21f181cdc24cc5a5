//! Processing-time timers of keyed process functions (fired by the wall clock, exactly once
//! per key and time; dropped at the end of a streaming job, fired at the end of a batch one)
//! and the timers of `KeyedCoProcessFunction`s.

use crate::common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bounded;
use common::event_time::*;
use eddy_api::prelude::*;

/// Registers, per key, one processing-time timer 50 ms after the key's first element (every
/// later element of the key registers the same time again); reports firings.
#[derive(Clone)]
struct ProcessingTimers {
    registered: Arc<Mutex<HashMap<u32, i64>>>,
}

/// `(key, timer, ctx.timestamp(), domain, clock at firing >= timer)`.
type ProcessingFired = (u32, i64, Option<i64>, Option<TimeDomain>, bool);

impl KeyedProcessFunction<u32, u32, ProcessingFired> for ProcessingTimers {
    fn process_element(
        &mut self,
        key: u32,
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, ProcessingFired>,
    ) -> FnResult<()> {
        let now = ctx.timer_service().current_processing_time();
        let time = *self
            .registered
            .lock()
            .unwrap()
            .entry(key)
            .or_insert(now + 50);
        ctx.timer_service().register_processing_time_timer(time);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, ProcessingFired>,
    ) -> FnResult<()> {
        let now = ctx.timer_service().current_processing_time();
        out.collect((
            *ctx.current_key(),
            timestamp,
            ctx.timestamp(),
            ctx.time_domain(),
            now >= timestamp,
        ));
        Ok(())
    }
}

#[test]
fn processing_time_timers_fire_once_per_key_with_their_time() {
    let registered: Arc<Mutex<HashMap<u32, i64>>> = Arc::new(Mutex::new(HashMap::new()));
    let in_registry = registered.clone();
    let out = bounded(move || {
        let env = common::env(2);
        let (sink, records) = StampedSink::<ProcessingFired>::new();
        let seen = records.clone();
        let all_fired = move || seen.lock().unwrap().len() >= 4;
        let fired_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
        // The source stays open until every key's timer fired, then a little longer (so a
        // timer firing twice would show), at most 20 s in all.
        let started = Instant::now();
        let grace = move || {
            let mut at = fired_at.lock().unwrap();
            let since = at.get_or_insert_with(Instant::now);
            since.elapsed() >= Duration::from_millis(150)
        };
        let mut script: Vec<Step<u32>> = Vec::new();
        for round in 0..3 {
            for key in 0..4u32 {
                script.push(elem(key, round));
            }
        }
        script.push(wait_until(move || {
            all_fired() || started.elapsed() > Duration::from_secs(20)
        }));
        script.push(wait_until(grace));
        scripted(&env, script)
            .key_by(|k: &u32| *k)
            .process(ProcessingTimers {
                registered: in_registry,
            })
            .add_sink(sink);
        env.execute("processing-time timers").unwrap();
        let mut out = stamped(&records);
        out.sort_by_key(|(fired, _)| (fired.0, fired.1));
        out
    });
    let registered = registered.lock().unwrap().clone();
    let mut expected: Vec<(ProcessingFired, Option<i64>)> = registered
        .iter()
        .map(|(&key, &time)| {
            (
                (key, time, None, Some(TimeDomain::ProcessingTime), true),
                None,
            )
        })
        .collect();
    expected.sort_by_key(|(fired, _)| (fired.0, fired.1));
    assert_eq!(registered.len(), 4);
    // Exactly once per key, at the registered time, in the processing-time domain, with no
    // timestamp on the timer's output.
    assert_eq!(out, expected);
}

/// `(key, timer, ctx.time_domain())`.
type CoFired = (u32, i64, Option<TimeDomain>);

/// Both inputs register event-time timers for their key (one timer per key and time, whichever
/// input registered it); firings are reported as [`CoFired`].
#[derive(Clone)]
struct CoTimers;

impl KeyedCoProcessFunction<u32, (u32, i64), (i64, u32), CoFired> for CoTimers {
    fn process_element1(
        &mut self,
        (_, time): (u32, i64),
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, CoFired>,
    ) -> FnResult<()> {
        ctx.timer_service().register_event_time_timer(time);
        Ok(())
    }

    fn process_element2(
        &mut self,
        (time, _): (i64, u32),
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, CoFired>,
    ) -> FnResult<()> {
        ctx.timer_service().register_event_time_timer(time);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, CoFired>,
    ) -> FnResult<()> {
        out.collect((*ctx.current_key(), timestamp, ctx.time_domain()));
        Ok(())
    }
}

#[test]
fn keyed_co_process_timers_are_shared_by_both_inputs_of_a_key() {
    let first: Vec<(u32, i64)> = vec![(1, 10), (2, 10), (1, 30), (3, 7), (1, 10)];
    let second: Vec<(i64, u32)> = vec![(10, 1), (20, 2), (30, 1), (40, 4), (7, 3)];
    let (a, b) = (first.clone(), second.clone());
    let out = bounded(move || {
        let env = common::env(2);
        // Timestamps only; the watermark moves at the end of both inputs.
        let left = scripted(&env, elements(a.into_iter().map(|e| (e, e.1))));
        let right = scripted(&env, elements(b.into_iter().map(|e| (e, e.0))));
        let fired = left
            .connect(&right)
            .key_by(|e: &(u32, i64)| e.0, |e: &(i64, u32)| e.1)
            .process(CoTimers);
        let mut out = collect_stamped(&fired, "co timers");
        out.sort_by_key(|(fired, _)| (fired.0, fired.1));
        out
    });
    // Reference: one firing per distinct (key, time) over both inputs.
    let mut distinct: Vec<(u32, i64)> = first
        .iter()
        .copied()
        .chain(second.iter().map(|&(t, k)| (k, t)))
        .collect();
    distinct.sort();
    distinct.dedup();
    let expected: Vec<(CoFired, Option<i64>)> = distinct
        .into_iter()
        .map(|(k, t)| ((k, t, Some(TimeDomain::EventTime)), Some(t)))
        .collect();
    assert_eq!(out, expected);
}

/// A gate for the processing-time co-process test: set once the timer fired.
#[derive(Clone)]
struct CoProcessingTimer {
    fired: Arc<AtomicBool>,
}

impl KeyedCoProcessFunction<u32, u32, u32, (u32, Option<TimeDomain>, Option<i64>)>
    for CoProcessingTimer
{
    fn process_element1(
        &mut self,
        _value: u32,
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, (u32, Option<TimeDomain>, Option<i64>)>,
    ) -> FnResult<()> {
        let now = ctx.timer_service().current_processing_time();
        ctx.timer_service().register_processing_time_timer(now + 20);
        Ok(())
    }

    fn process_element2(
        &mut self,
        _value: u32,
        _ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, (u32, Option<TimeDomain>, Option<i64>)>,
    ) -> FnResult<()> {
        Ok(())
    }

    fn on_timer(
        &mut self,
        _timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, Option<TimeDomain>, Option<i64>)>,
    ) -> FnResult<()> {
        out.collect((*ctx.current_key(), ctx.time_domain(), ctx.timestamp()));
        self.fired.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn keyed_co_process_processing_time_timers_fire() {
    let out = bounded(|| {
        let env = common::env(1);
        let fired = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let gate = fired.clone();
        let left = scripted(
            &env,
            vec![
                elem(5u32, 1),
                wait_until(move || {
                    gate.load(Ordering::SeqCst) || started.elapsed() > Duration::from_secs(20)
                }),
            ],
        );
        let right = scripted(&env, vec![elem(5u32, 1)]);
        left.connect(&right)
            .key_by(|k: &u32| *k, |k: &u32| *k)
            .process(CoProcessingTimer { fired })
            .execute_and_collect("co processing time")
            .unwrap()
    });
    assert_eq!(out, vec![(5, Some(TimeDomain::ProcessingTime), None)]);
}

/// Registers an event-time timer at the element's timestamp + 1 and a processing-time timer
/// an hour from now; reports firings as `(key, time domain is event time)`.
#[derive(Clone)]
struct FarTimers;

impl KeyedProcessFunction<u32, u32, (u32, bool)> for FarTimers {
    fn process_element(
        &mut self,
        _value: u32,
        ctx: &mut KeyedContext<'_, u32>,
        _out: &mut Collector<'_, (u32, bool)>,
    ) -> FnResult<()> {
        let timestamp = ctx.timestamp().unwrap();
        let now = ctx.timer_service().current_processing_time();
        ctx.timer_service().register_event_time_timer(timestamp + 1);
        ctx.timer_service()
            .register_processing_time_timer(now + 3_600_000);
        Ok(())
    }

    fn on_timer(
        &mut self,
        _timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, bool)>,
    ) -> FnResult<()> {
        out.collect((
            *ctx.current_key(),
            ctx.time_domain() == Some(TimeDomain::EventTime),
        ));
        Ok(())
    }
}

fn far_timers(mode: &str) -> Vec<(u32, bool)> {
    let mode = mode.to_string();
    bounded(move || {
        let mut config = Configuration::new();
        config.set_string("execution.runtime-mode", &mode);
        let env = common::env_with(config, 2);
        let fired = scripted(&env, elements((0..3u32).map(|k| (k, k as i64))))
            .key_by(|k: &u32| *k)
            .process(FarTimers);
        collect_sorted(&fired, "far timers")
    })
}

#[test]
fn pending_processing_time_timers_are_dropped_at_the_end_of_a_streaming_job() {
    // Event-time timers fire with the final watermark; processing-time ones do not.
    assert_eq!(
        far_timers("STREAMING"),
        vec![(0, true), (1, true), (2, true)]
    );
}

#[test]
fn a_batch_job_fires_every_timer_at_the_end_of_its_input() {
    assert_eq!(
        far_timers("BATCH"),
        vec![
            (0, false),
            (0, true),
            (1, false),
            (1, true),
            (2, false),
            (2, true)
        ]
    );
}
