//! Timestamps and watermarks: strategies, punctuated and periodic generation, the minimum
//! across channels, and what process functions see.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{env, env_with, failure_cause};
use eddy_api::prelude::*;

/// An event with its own time.
type Event = (u64, i64);

/// What a process function saw: (value, element timestamp, current watermark).
type Seen = Arc<Mutex<Vec<(u64, Option<i64>, i64)>>>;

#[derive(Clone)]
struct Observe(Seen);

impl ProcessFunction<Event, Event> for Observe {
    fn process_element(
        &mut self,
        value: Event,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, Event>,
    ) -> FnResult<()> {
        self.0
            .lock()
            .unwrap()
            .push((value.0, ctx.timestamp(), ctx.current_watermark()));
        out.collect(value);
        Ok(())
    }
}

/// Emits `ts − 1` after every element (punctuated).
#[derive(Clone)]
struct EveryEvent;

impl WatermarkGenerator<Event> for EveryEvent {
    fn on_event(&mut self, _event: &Event, timestamp: i64, output: &mut WatermarkOutput) {
        output.emit_watermark(eddy_api::core::Watermark(timestamp.saturating_sub(1)));
    }
    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

fn seen() -> Seen {
    Arc::new(Mutex::new(Vec::new()))
}

/// Out-of-order event times, including negative ones.
fn events() -> Vec<Event> {
    [40, 10, 55, 30, -5, 70, 65, 90, 20, 100]
        .iter()
        .enumerate()
        .map(|(i, &ts)| (i as u64, ts))
        .collect()
}

#[test]
fn punctuated_watermarks_follow_each_element_chained_and_across_an_exchange() {
    for across_exchange in [false, true] {
        let env = env(1);
        let observed = seen();
        let stamped = env
            .from_elements(events())
            .assign_timestamps_and_watermarks(
                WatermarkStrategy::for_generator(EveryEvent)
                    .with_timestamp_assigner(|e: &Event, _| e.1),
            );
        let stamped = if across_exchange {
            stamped.rebalance()
        } else {
            stamped
        };
        stamped.process(Observe(observed.clone())).discard();
        env.execute("punctuated").unwrap();

        // Reference: element i sees the highest `ts - 1` of the elements before it.
        let mut expected = Vec::new();
        let mut watermark = i64::MIN;
        for (value, ts) in events() {
            expected.push((value, Some(ts), watermark));
            watermark = watermark.max(ts - 1);
        }
        assert_eq!(
            *observed.lock().unwrap(),
            expected,
            "across exchange: {across_exchange}"
        );
    }
}

/// Subtask 0 emits nothing and stays open until the consumer has processed every element of
/// subtask 1 (otherwise its final watermark could overtake subtask 1's backlog); subtask 1
/// emits `events()` with their timestamps.
#[derive(Clone)]
struct HeldOpen {
    subtask: u32,
    remaining: Vec<Event>,
    consumed: Seen,
}

impl SourceFunction<Event> for HeldOpen {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.subtask = ctx.subtask_index;
        if self.subtask == 0 {
            self.remaining.clear();
        }
        Ok(())
    }
    fn poll_next(&mut self, out: &mut SourceOutput<'_, Event>) -> FnResult<SourceStatus> {
        if self.subtask == 0 {
            return Ok(if self.consumed.lock().unwrap().len() >= events().len() {
                SourceStatus::Finished
            } else {
                SourceStatus::NothingAvailable(Duration::from_millis(1))
            });
        }
        match self.remaining.pop() {
            Some(event) => {
                out.collect_with_timestamp(event, event.1);
                Ok(SourceStatus::MoreAvailable)
            }
            None => Ok(SourceStatus::Finished),
        }
    }
    fn is_parallel(&self) -> bool {
        true
    }
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

#[test]
fn a_channel_without_watermarks_holds_the_downstream_watermark_back() {
    let env = env(2);
    let observed = seen();
    let mut reversed = events();
    reversed.reverse();
    env.add_source(HeldOpen {
        subtask: 0,
        remaining: reversed,
        consumed: observed.clone(),
    })
    .assign_timestamps_and_watermarks(WatermarkStrategy::for_generator(EveryEvent))
    .global()
    .process(Observe(observed.clone()))
    .set_parallelism(1)
    .discard();
    env.execute("min across channels").unwrap();
    // Subtask 1 advanced its own watermark after every element, but subtask 0 never emitted
    // one while subtask 1's elements arrived: the minimum stayed at the start.
    let expected: Vec<(u64, Option<i64>, i64)> = events()
        .into_iter()
        .map(|(value, ts)| (value, Some(ts), i64::MIN))
        .collect();
    assert_eq!(*observed.lock().unwrap(), expected);
}

/// Emits `first` in one poll, then pauses (reporting nothing available) for at least `pause`
/// and at least two polls, then emits `second` in one poll. Two empty polls guarantee the
/// task checked its tick after the first tick was due, whatever the scheduling.
#[derive(Clone)]
struct TwoBursts {
    first: Vec<Event>,
    second: Vec<Event>,
    pause: Duration,
    paused_since: Option<Instant>,
    empty_polls: u32,
}

impl SourceFunction<Event> for TwoBursts {
    fn poll_next(&mut self, out: &mut SourceOutput<'_, Event>) -> FnResult<SourceStatus> {
        if !self.first.is_empty() {
            for event in self.first.drain(..) {
                out.collect(event);
            }
            self.paused_since = Some(Instant::now());
            return Ok(SourceStatus::MoreAvailable);
        }
        let pausing = self
            .paused_since
            .is_some_and(|since| since.elapsed() < self.pause || self.empty_polls < 2);
        if pausing {
            self.empty_polls += 1;
            return Ok(SourceStatus::NothingAvailable(Duration::from_millis(1)));
        }
        if self.second.is_empty() {
            return Ok(SourceStatus::Finished);
        }
        for event in self.second.drain(..) {
            out.collect(event);
        }
        Ok(SourceStatus::MoreAvailable)
    }
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

#[test]
fn periodic_bounded_out_of_orderness_watermarks_trail_the_maximum() {
    let mut config = Configuration::new();
    config.set_string("pipeline.auto-watermark-interval", "1 ms");
    let env = env_with(config, 1);
    let observed = seen();
    let all = events();
    let (first, second) = all.split_at(5);
    env.from_source(
        TwoBursts {
            first: first.to_vec(),
            second: second.to_vec(),
            pause: Duration::from_millis(30),
            paused_since: None,
            empty_polls: 0,
        },
        WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_millis(10))
            .with_timestamp_assigner(|e: &Event, _| e.1),
        "bursts",
    )
    .process(Observe(observed.clone()))
    .discard();
    env.execute("periodic").unwrap();

    let observed = observed.lock().unwrap().clone();
    let timestamps: Vec<(u64, Option<i64>)> = observed.iter().map(|o| (o.0, o.1)).collect();
    let expected: Vec<(u64, Option<i64>)> = all.iter().map(|e| (e.0, Some(e.1))).collect();
    assert_eq!(
        timestamps, expected,
        "every element, in order, with its assigned timestamp"
    );
    // The first burst arrived in one poll, before any tick could emit a watermark.
    assert!(
        observed[..5].iter().all(|o| o.2 == i64::MIN),
        "{observed:?}"
    );
    // During the pause ticks emitted max(first burst) − 10 − 1; later ones never pass the
    // maximum seen so far − 11, and the watermark never goes back.
    let first_max = first.iter().map(|e| e.1).max().unwrap();
    let mut max_before = first_max;
    let mut previous = i64::MIN;
    for (value, ts, watermark) in &observed[5..] {
        assert!(*watermark >= first_max - 11, "element {value}: {watermark}");
        assert!(
            *watermark <= max_before - 11,
            "element {value}: {watermark}"
        );
        assert!(*watermark >= previous);
        previous = *watermark;
        max_before = max_before.max(ts.unwrap());
    }
}

#[test]
fn a_second_assigner_replaces_timestamps_and_upstream_watermarks() {
    let env = env(1);
    let observed = seen();
    env.from_elements(vec![(1u64, 10i64), (2, 20), (3, 30)])
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_generator(EveryEvent)
                .with_timestamp_assigner(|e: &Event, _| e.1),
        )
        .process(Observe(seen()))
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|e: &Event, _| e.1 * 100),
        )
        .process(Observe(observed.clone()))
        .discard();
    env.execute("reassign").unwrap();
    let observed = observed.lock().unwrap().clone();
    // Reassigned timestamps; upstream punctuated watermarks are dropped by the second
    // assigner, whose periodic watermarks need a tick (none is guaranteed in so short a job).
    let stamps: Vec<(u64, Option<i64>)> = observed.iter().map(|o| (o.0, o.1)).collect();
    assert_eq!(
        stamps,
        vec![(1, Some(1000)), (2, Some(2000)), (3, Some(3000))]
    );
    // Upstream watermarks (9, 19, 29) must not leak through; the new ones are max − 1 of the
    // reassigned timestamps before the element (at most 1999).
    for (_, _, watermark) in observed {
        assert!(
            watermark == i64::MIN || (999..=1999).contains(&watermark),
            "{watermark}"
        );
    }
}

#[test]
fn a_panicking_timestamp_assigner_fails_the_job_naming_the_operator() {
    let env = env(1);
    let result = env
        .from_elements(events())
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::no_watermarks().with_timestamp_assigner(|e: &Event, _| {
                assert!(e.1 >= 0, "negative event time {}", e.1);
                e.1
            }),
        )
        .execute_and_collect("bad assigner");
    let cause = failure_cause(result);
    assert!(
        cause.starts_with("Timestamps/Watermarks (1/1) panicked"),
        "{cause}"
    );
    assert!(cause.contains("negative event time -5"), "{cause}");
}

/// Subtask 0 emits nothing and stays open until the consumer has processed everything
/// subtask 1 emitted. Subtask 1 emits one element every other poll (pausing briefly in
/// between) until `advanced` is set or `cap` elements were emitted.
#[derive(Clone)]
struct QuietAndTrickle {
    subtask: u32,
    emitted: u64,
    cap: u64,
    pause_next: bool,
    advanced: Arc<AtomicBool>,
    /// How many elements subtask 1 emitted in all; `u64::MAX` until it has finished.
    total: Arc<AtomicU64>,
    consumed: Seen,
}

impl SourceFunction<Event> for QuietAndTrickle {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.subtask = ctx.subtask_index;
        Ok(())
    }
    fn poll_next(&mut self, out: &mut SourceOutput<'_, Event>) -> FnResult<SourceStatus> {
        if self.subtask == 0 {
            let total = self.total.load(Ordering::SeqCst);
            return Ok(if self.consumed.lock().unwrap().len() as u64 >= total {
                SourceStatus::Finished
            } else {
                SourceStatus::NothingAvailable(Duration::from_millis(1))
            });
        }
        if self.advanced.load(Ordering::SeqCst) || self.emitted >= self.cap {
            return Ok(SourceStatus::Finished);
        }
        if std::mem::take(&mut self.pause_next) {
            return Ok(SourceStatus::NothingAvailable(Duration::from_millis(2)));
        }
        let ts = self.emitted as i64 * 10;
        out.collect_with_timestamp((self.emitted, ts), ts);
        self.emitted += 1;
        self.pause_next = true;
        Ok(SourceStatus::MoreAvailable)
    }
    fn close(&mut self) -> FnResult<()> {
        if self.subtask == 1 {
            self.total.store(self.emitted, Ordering::SeqCst);
        }
        Ok(())
    }
    fn is_parallel(&self) -> bool {
        true
    }
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

/// Records what it sees (like [`Observe`]) and raises `advanced` once the watermark moved.
#[derive(Clone)]
struct ObserveUntilAdvanced {
    observe: Observe,
    advanced: Arc<AtomicBool>,
}

impl ProcessFunction<Event, Event> for ObserveUntilAdvanced {
    fn process_element(
        &mut self,
        value: Event,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, Event>,
    ) -> FnResult<()> {
        if ctx.current_watermark() > i64::MIN {
            self.advanced.store(true, Ordering::SeqCst);
        }
        self.observe.process_element(value, ctx, out)
    }
}

fn run_quiet_channel(idleness: Option<Duration>, cap: u64) -> (bool, Vec<(u64, Option<i64>, i64)>) {
    let mut config = Configuration::new();
    config.set_string("pipeline.auto-watermark-interval", "1 ms");
    let env = env_with(config, 2);
    let advanced = Arc::new(AtomicBool::new(false));
    let observed = seen();
    let source = env.add_source(QuietAndTrickle {
        subtask: 0,
        emitted: 0,
        cap,
        pause_next: false,
        advanced: advanced.clone(),
        total: Arc::new(AtomicU64::new(u64::MAX)),
        consumed: observed.clone(),
    });
    let stamped = match idleness {
        Some(timeout) => source.assign_timestamps_and_watermarks(
            WatermarkStrategy::for_generator(EveryEvent).with_idleness(timeout),
        ),
        None => {
            source.assign_timestamps_and_watermarks(WatermarkStrategy::for_generator(EveryEvent))
        }
    };
    stamped
        .global()
        .process(ObserveUntilAdvanced {
            observe: Observe(observed.clone()),
            advanced: advanced.clone(),
        })
        .set_parallelism(1)
        .discard();
    env.execute("quiet channel").unwrap();
    let observed = observed.lock().unwrap().clone();
    (advanced.load(Ordering::SeqCst), observed)
}

#[test]
fn an_idle_channel_stops_holding_the_watermark_back() {
    // Without idleness, the quiet subtask holds the watermark at the start for good.
    let (advanced, observed) = run_quiet_channel(None, 100);
    assert!(!advanced);
    assert_eq!(observed.len(), 100);
    assert!(observed.iter().all(|o| o.2 == i64::MIN));

    // With idleness, the quiet subtask is declared idle and the other one's watermarks pass.
    let (advanced, observed) = run_quiet_channel(Some(Duration::from_millis(10)), 100_000);
    assert!(
        advanced,
        "the watermark never advanced: {} elements",
        observed.len()
    );
    let mut previous = i64::MIN;
    for (i, (value, ts, watermark)) in observed.iter().enumerate() {
        assert_eq!(
            (*value, *ts),
            (i as u64, Some(i as i64 * 10)),
            "in order, stamped"
        );
        // Punctuated: at most the previous element's timestamp − 1.
        assert!(*watermark < (i as i64 - 1) * 10 || *watermark == i64::MIN);
        assert!(*watermark >= previous, "never backwards");
        previous = *watermark;
    }
}
