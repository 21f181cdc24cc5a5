//! Aligned windows with incremental aggregation run per slice; the general window operator
//! runs when a trigger is set explicitly. Both must equal a reference of Flink's semantics on
//! random out-of-order input with watermarks, allowed lateness and late data.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::event_time::{collect_stamped_sorted, elem, scripted, wm, Lcg, Step};
use eddy_api::prelude::*;

type Event = (u32, i64);
/// `(key, window start, window end, count, sum)`.
type Row = (u32, i64, i64, u64, i64);
/// Window results and late elements, each with its timestamp, sorted.
type Outcome = (Vec<(Row, Option<i64>)>, Vec<(Event, Option<i64>)>);

#[derive(Clone)]
struct CountSum;

impl AggregateFunction<Event, (u64, i64), (u64, i64)> for CountSum {
    fn create_accumulator(&mut self) -> (u64, i64) {
        (0, 0)
    }
    fn add(&mut self, value: Event, acc: &mut (u64, i64)) -> FnResult<()> {
        acc.0 += 1;
        acc.1 += value.1;
        Ok(())
    }
    fn get_result(&mut self, acc: &(u64, i64)) -> FnResult<(u64, i64)> {
        Ok(*acc)
    }
    fn merge(&mut self, acc: &mut (u64, i64), other: (u64, i64)) -> FnResult<()> {
        acc.0 += other.0;
        acc.1 += other.1;
        Ok(())
    }
}

fn label(key: &u32, ctx: &mut WindowContext<'_, u32, TimeWindow>, result: (u64, i64)) -> Row {
    let w = ctx.window();
    (*key, w.start, w.end, result.0, result.1)
}

#[derive(Clone, Copy)]
struct Geometry {
    size: i64,
    slide: i64,
    offset: i64,
    lateness: i64,
}

/// Random events (value = timestamp) with up to 120 ms disorder and a watermark of
/// `max - 60` after every third element; some elements are far behind (late).
fn script(seed: u64, count: usize) -> Vec<Step<Event>> {
    let mut rng = Lcg::new(seed);
    let mut steps = Vec::new();
    let mut max = i64::MIN;
    for i in 0..count {
        let base = i as i64 * 7 - 300;
        let ts = if rng.below(10) == 0 {
            base - rng.range(100, 400)
        } else {
            base + rng.range(-120, 0)
        };
        let key = rng.below(3) as u32;
        steps.push(elem((key, ts), ts));
        max = max.max(ts);
        if i % 3 == 2 {
            steps.push(wm(max - 60));
        }
    }
    steps
}

fn windows_of(ts: i64, g: Geometry) -> Vec<(i64, i64)> {
    let last = ts - (ts - g.offset).rem_euclid(g.slide);
    let mut out = Vec::new();
    let mut start = last;
    while start > ts - g.size {
        out.push((start, start + g.size));
        start -= g.slide;
    }
    out
}

/// Flink's window operator, written as a plain loop over the script: `(results, late)`.
fn reference(steps: &[Step<Event>], g: Geometry) -> Outcome {
    let mut state: BTreeMap<(u32, i64, i64), (u64, i64, bool)> = BTreeMap::new();
    let (mut out, mut late) = (Vec::new(), Vec::new());
    let mut watermark = i64::MIN;
    let advance = |state: &mut BTreeMap<(u32, i64, i64), (u64, i64, bool)>,
                   w: i64,
                   out: &mut Vec<(Row, Option<i64>)>| {
        for (&(key, start, end), entry) in state.iter_mut() {
            if !entry.2 && end - 1 <= w {
                entry.2 = true;
                out.push(((key, start, end, entry.0, entry.1), Some(end - 1)));
            }
        }
        state.retain(|&(_, _, end), _| end - 1 + g.lateness > w);
    };
    for step in steps {
        match step {
            Step::Element((key, value), ts) => {
                let mut skipped = true;
                for (start, end) in windows_of(*ts, g) {
                    if end - 1 + g.lateness <= watermark {
                        continue;
                    }
                    skipped = false;
                    let entry = state.entry((*key, start, end)).or_insert((0, 0, false));
                    entry.0 += 1;
                    entry.1 += value;
                    if end - 1 <= watermark {
                        entry.2 = true;
                        out.push(((*key, start, end, entry.0, entry.1), Some(end - 1)));
                    }
                }
                if skipped && ts + g.lateness <= watermark {
                    late.push(((*key, *value), Some(*ts)));
                }
            }
            Step::Watermark(w) if *w > watermark => {
                watermark = *w;
                advance(&mut state, watermark, &mut out);
            }
            _ => {}
        }
    }
    advance(&mut state, i64::MAX, &mut out);
    out.sort();
    late.sort();
    (out, late)
}

/// How a run is set up: which operator, at what parallelism, with what batch size (a small
/// one makes a watermark's firing go out in many chunks).
#[derive(Clone, Copy, Debug)]
struct Setup {
    general: bool,
    parallelism: u32,
    batch_size: usize,
}

fn run(steps: Vec<Step<Event>>, g: Geometry, setup: Setup) -> Outcome {
    let Setup {
        general,
        parallelism,
        batch_size,
    } = setup;
    let mut config = Configuration::new();
    config
        .apply_dynamic_properties(&[format!("taskmanager.network.batch-size={batch_size}")])
        .expect("a valid batch size");
    let env = common::env_with(config, parallelism);
    let late_tag = OutputTag::<Event>::new("late");
    let windowed = scripted(&env, steps)
        .key_by(|e: &Event| e.0)
        .window(
            SlidingEventTimeWindows::of(
                Duration::from_millis(g.size as u64),
                Duration::from_millis(g.slide as u64),
            )
            .with_offset(g.offset),
        )
        .allowed_lateness(Duration::from_millis(g.lateness as u64))
        .side_output_late_data(&late_tag);
    let pwf = process_window_fn(
        |key: &u32,
         ctx: &mut WindowContext<'_, _, TimeWindow>,
         results: Elements<'_, (u64, i64)>,
         out: &mut Collector<'_, Row>| {
            for r in results {
                out.collect(label(key, ctx, *r));
            }
            Ok(())
        },
    );
    let results = if general {
        windowed
            .trigger(EventTimeTrigger::create())
            .aggregate_with_process(CountSum, pwf)
    } else {
        windowed.aggregate_with_process(CountSum, pwf)
    };
    let late_sink = common::RecordingSink::new();
    results
        .get_side_output(&late_tag)
        .process(common::event_time::WithTimestamp)
        .add_sink(late_sink.0);
    let rows = collect_stamped_sorted(&results, "windows");
    let mut late: Vec<(Event, Option<i64>)> = common::recorded(&late_sink.1)
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    late.sort();
    (rows, late)
}

fn check(seed: u64, g: Geometry) {
    let steps = script(seed, 400);
    let expected = reference(&steps, g);
    assert!(
        !expected.0.is_empty() && !expected.1.is_empty(),
        "the fixture exercises results and late data"
    );
    for (general, parallelism, batch_size) in [
        (false, 1, 1024),
        (false, 1, 2),
        (false, 3, 3),
        (true, 2, 1024),
    ] {
        let setup = Setup {
            general,
            parallelism,
            batch_size,
        };
        let actual = run(steps.clone(), g, setup);
        assert_eq!(actual.0, expected.0, "results, {setup:?}");
        assert_eq!(actual.1, expected.1, "late data, {setup:?}");
    }
}

#[test]
fn tumbling_with_offset_and_lateness_matches_the_reference() {
    check(
        7,
        Geometry {
            size: 50,
            slide: 50,
            offset: -20,
            lateness: 30,
        },
    );
}

#[test]
fn sliding_without_lateness_matches_the_reference() {
    check(
        11,
        Geometry {
            size: 100,
            slide: 30,
            offset: 0,
            lateness: 0,
        },
    );
}

#[test]
fn sliding_with_lateness_and_offset_matches_the_reference() {
    check(
        13,
        Geometry {
            size: 90,
            slide: 20,
            offset: 7,
            lateness: 45,
        },
    );
}
