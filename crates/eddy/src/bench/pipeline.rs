//! `eddy bench pipeline`: engine throughput against a plain single-threaded loop.

use std::collections::hash_map::Entry;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashMap;

use eddy_api::core::Watermark;
use eddy_api::prelude::*;

use super::common::{median, process_cpu_seconds, CountingSink};

/// Short strings the string cases draw from (so the keyed case has this many keys).
const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

/// Distinct keys in the u64 keyed case.
const U64_KEYS: u64 = 10_000;

/// Event time of the window case: record `i` has timestamp `i / EVENTS_PER_MS` (ms).
const EVENTS_PER_MS: u64 = 10;

/// The window case's tumbling window length (ms).
const WINDOW_MS: i64 = 100_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    StatelessU64,
    StatelessString,
    KeyedU64,
    KeyedString,
    KeyedStringBorrowed,
    KeyedU64Watermarks,
    StatelessU64Watermarks,
    KeyedProcessU64Watermarks,
    KeyedProcessString,
    KeyedWindowString,
}

impl Case {
    fn id(self) -> &'static str {
        match self {
            Case::StatelessU64 => "stateless-u64",
            Case::StatelessString => "stateless-string",
            Case::KeyedU64 => "keyed-u64",
            Case::KeyedString => "keyed-string",
            Case::KeyedStringBorrowed => "keyed-string-ref",
            Case::KeyedU64Watermarks => "keyed-u64-watermarks",
            Case::StatelessU64Watermarks => "stateless-u64-watermarks",
            Case::KeyedProcessU64Watermarks => "keyed-process-u64-watermarks",
            Case::KeyedProcessString => "keyed-process-string",
            Case::KeyedWindowString => "keyed-window-string",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Case::StatelessU64 => "stateless map+filter, u64",
            Case::StatelessString => "stateless map+filter, string",
            Case::KeyedU64 => "keyed reduce, u64",
            Case::KeyedString => "keyed reduce, string",
            Case::KeyedStringBorrowed => "keyed reduce, string by ref",
            Case::KeyedU64Watermarks => "keyed reduce, u64, watermarks",
            Case::StatelessU64Watermarks => "stateless, u64, watermarks",
            Case::KeyedProcessU64Watermarks => "keyed process, u64, watermarks",
            Case::KeyedProcessString => "keyed process, string",
            Case::KeyedWindowString => "tumbling windows, string",
        }
    }
}

/// A punctuated watermark generator emitting a watermark after every record: the stream's
/// event time follows each record's timestamp (the worst case for moving watermarks with
/// batches).
#[derive(Clone)]
struct EveryRecord;

impl<T> WatermarkGenerator<T> for EveryRecord {
    fn on_event(&mut self, _event: &T, timestamp: i64, output: &mut WatermarkOutput) {
        output.emit_watermark(Watermark(timestamp - 1));
    }

    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

/// A running sum per key in value state, by a keyed process function (event-time timers
/// would fire at the watermarks; none are due here).
#[derive(Clone)]
struct RunningSum(ValueStateDescriptor<u64>);

impl KeyedProcessFunction<u64, (u64, u64), (u64, u64)> for RunningSum {
    fn process_element(
        &mut self,
        (key, value): (u64, u64),
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, (u64, u64)>,
    ) -> FnResult<()> {
        let mut sum = ctx.state().value(&self.0)?;
        let next = sum.value()?.unwrap_or(0).wrapping_add(value);
        sum.update(next)?;
        out.collect((key, next));
        Ok(())
    }
}

/// A running sum per string key in value state, by a keyed process function.
#[derive(Clone)]
struct RunningSumByWord(ValueStateDescriptor<u64>);

impl KeyedProcessFunction<String, (String, u64), (String, u64)> for RunningSumByWord {
    fn process_element(
        &mut self,
        (word, value): (String, u64),
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Collector<'_, (String, u64)>,
    ) -> FnResult<()> {
        let mut sum = ctx.state().value(&self.0)?;
        let next = sum.value()?.unwrap_or(0) + value;
        sum.update(next)?;
        out.collect((word, next));
        Ok(())
    }
}

fn word(i: u64) -> String {
    WORDS[(i % WORDS.len() as u64) as usize].to_string()
}

fn mark(mut s: String) -> String {
    s.push('!');
    s
}

/// One engine run: records that reached the sink, wall-clock seconds, and the CPU seconds
/// (user + system, every thread of the process) it took.
struct EngineRun {
    records_out: u64,
    seconds: f64,
    cpu_seconds: f64,
}

/// Runs one case on the engine.
fn engine(
    case: Case,
    records: u64,
    parallelism: u32,
    config: &Configuration,
) -> anyhow::Result<EngineRun> {
    let env = StreamExecutionEnvironment::with_configuration(config.clone());
    env.set_parallelism(parallelism);
    let counter = Arc::new(AtomicU64::new(0));
    let sink = CountingSink(counter.clone());
    match case {
        Case::StatelessU64 => {
            env.from_sequence(0, records - 1)
                .map(|x: u64| x.wrapping_mul(3) + 1)
                .filter(|x: &u64| !x.is_multiple_of(4))
                .add_sink(sink);
        }
        Case::StatelessU64Watermarks => {
            let strategy = WatermarkStrategy::for_generator(EveryRecord)
                .with_timestamp_assigner(|x: &u64, _| *x as i64);
            env.from_sequence(0, records - 1)
                .assign_timestamps_and_watermarks(strategy)
                .map(|x: u64| x.wrapping_mul(3) + 1)
                .filter(|x: &u64| !x.is_multiple_of(4))
                .add_sink(sink);
        }
        Case::StatelessString => {
            env.from_generator(Some(records), None, word)
                .map(mark)
                .filter(|s: &String| s.len().is_multiple_of(2))
                .add_sink(sink);
        }
        Case::KeyedU64 => {
            env.from_generator(Some(records), None, |i| (i % U64_KEYS, i))
                .key_by(|t: &(u64, u64)| t.0)
                .reduce(|a, b| (a.0, a.1.wrapping_add(b.1)))
                .add_sink(sink);
        }
        Case::KeyedU64Watermarks => {
            let strategy = WatermarkStrategy::for_generator(EveryRecord)
                .with_timestamp_assigner(|t: &(u64, u64), _| t.1 as i64);
            env.from_generator(Some(records), None, |i| (i % U64_KEYS, i))
                .assign_timestamps_and_watermarks(strategy)
                .key_by(|t: &(u64, u64)| t.0)
                .reduce(|a, b| (a.0, a.1.wrapping_add(b.1)))
                .add_sink(sink);
        }
        Case::KeyedProcessU64Watermarks => {
            let strategy = WatermarkStrategy::for_generator(EveryRecord)
                .with_timestamp_assigner(|t: &(u64, u64), _| t.1 as i64);
            env.from_generator(Some(records), None, |i| (i % U64_KEYS, i))
                .assign_timestamps_and_watermarks(strategy)
                .key_by(|t: &(u64, u64)| t.0)
                .process(RunningSum(ValueStateDescriptor::new("sum")))
                .add_sink(sink);
        }
        Case::KeyedString => {
            env.from_generator(Some(records), None, |i| (word(i), 1u64))
                .key_by(|t: &(String, u64)| t.0.clone())
                .reduce(|a, b| (a.0, a.1 + b.1))
                .add_sink(sink);
        }
        Case::KeyedProcessString => {
            env.from_generator(Some(records), None, |i| (word(i), 1u64))
                .key_by(|t: &(String, u64)| t.0.clone())
                .process(RunningSumByWord(ValueStateDescriptor::new("sum")))
                .add_sink(sink);
        }
        Case::KeyedStringBorrowed => {
            env.from_generator(Some(records), None, |i| (word(i), 1u64))
                .key_by_ref(|t: &(String, u64)| &t.0)
                .reduce(|a, b| (a.0, a.1 + b.1))
                .add_sink(sink);
        }
        Case::KeyedWindowString => {
            let strategy = WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|t: &(String, u64), _| window_event_time(t.1));
            env.from_generator(Some(records), None, |i| (word(i), i))
                .assign_timestamps_and_watermarks(strategy)
                .key_by(|t: &(String, u64)| t.0.clone())
                .window(TumblingEventTimeWindows::of(
                    std::time::Duration::from_millis(WINDOW_MS as u64),
                ))
                .reduce(|a, b| (a.0, a.1.wrapping_add(b.1)))
                .add_sink(sink);
        }
    }
    let (start, cpu_start) = (Instant::now(), process_cpu_seconds());
    env.execute(case.label())?;
    Ok(EngineRun {
        records_out: counter.load(Ordering::Relaxed),
        seconds: start.elapsed().as_secs_f64(),
        cpu_seconds: process_cpu_seconds() - cpu_start,
    })
}

/// The same computation as a plain single-threaded loop; returns (records out, seconds).
fn plain_loop(case: Case, records: u64) -> (u64, f64) {
    let start = Instant::now();
    let out = match case {
        Case::StatelessU64 | Case::StatelessU64Watermarks => stateless_u64_loop(records),
        Case::StatelessString => stateless_string_loop(records),
        Case::KeyedU64 | Case::KeyedU64Watermarks | Case::KeyedProcessU64Watermarks => {
            keyed_u64_loop(records)
        }
        Case::KeyedString | Case::KeyedStringBorrowed | Case::KeyedProcessString => {
            keyed_string_loop(records)
        }
        Case::KeyedWindowString => window_string_loop(records),
    };
    (out, start.elapsed().as_secs_f64())
}

// Each loop is a function of its own, never inlined: as arms of one function their speed
// moved up to 3× between builds of unrelated code (where the hot loop landed).

#[inline(never)]
fn stateless_u64_loop(records: u64) -> u64 {
    let mut out = 0u64;
    for x in 0..records {
        let y = black_box(x).wrapping_mul(3) + 1;
        if !y.is_multiple_of(4) {
            black_box(y);
            out += 1;
        }
    }
    out
}

#[inline(never)]
fn stateless_string_loop(records: u64) -> u64 {
    let mut out = 0u64;
    for i in 0..records {
        let s = mark(word(black_box(i)));
        if s.len().is_multiple_of(2) {
            black_box(&s);
            out += 1;
        }
    }
    out
}

#[inline(never)]
fn keyed_u64_loop(records: u64) -> u64 {
    let mut out = 0u64;
    let mut state: FxHashMap<u64, (u64, u64)> = FxHashMap::default();
    for i in 0..records {
        let (key, value) = (black_box(i) % U64_KEYS, i);
        let updated = match state.entry(key) {
            Entry::Occupied(mut e) => {
                let acc = e.get_mut();
                acc.1 = acc.1.wrapping_add(value);
                *acc
            }
            Entry::Vacant(e) => *e.insert((key, value)),
        };
        black_box(updated);
        out += 1;
    }
    out
}

#[inline(never)]
fn keyed_string_loop(records: u64) -> u64 {
    let mut out = 0u64;
    let mut state: FxHashMap<String, (String, u64)> = FxHashMap::default();
    for i in 0..records {
        let record = (word(black_box(i)), 1u64);
        let updated = match state.entry(record.0.clone()) {
            Entry::Occupied(mut e) => {
                let acc = e.get_mut();
                acc.1 += record.1;
                acc.clone()
            }
            Entry::Vacant(e) => e.insert(record).clone(),
        };
        black_box(&updated);
        out += 1;
    }
    out
}

/// Event time of the window case's record with value `i`.
fn window_event_time(i: u64) -> i64 {
    (i / EVENTS_PER_MS) as i64
}

/// The window case: a sum per word and tumbling window; returns the number of windows (the
/// engine emits one result per word and window).
#[inline(never)]
fn window_string_loop(records: u64) -> u64 {
    let mut windows: FxHashMap<(String, i64), (String, u64)> = FxHashMap::default();
    for i in 0..records {
        let record = (word(black_box(i)), i);
        let time = window_event_time(record.1);
        let start = time - time.rem_euclid(WINDOW_MS);
        match windows.entry((record.0.clone(), start)) {
            Entry::Occupied(mut e) => {
                let acc = e.get_mut();
                acc.1 = acc.1.wrapping_add(record.1);
            }
            Entry::Vacant(e) => {
                e.insert(record);
            }
        }
    }
    black_box(&windows);
    windows.len() as u64
}

/// One case at one parallelism over all rounds: the median engine rate and CPU nanoseconds
/// per record, the median loop rate, the median of the per-round engine/loop ratios, and the
/// median of the per-round ratios against the first parallelism (throughput, CPU per record).
struct Measurement {
    engine_rate: f64,
    engine_cpu_ns: f64,
    loop_rate: f64,
    ratio: f64,
    scaling: Option<(f64, f64)>,
}

/// Per round: one plain-loop run, then one engine run at each parallelism, back to back, so
/// drifting machine speed (shared virtual machines) affects every side of a round's ratios.
fn measure(
    case: Case,
    records: u64,
    parallelisms: &[u32],
    rounds: u32,
    config: &Configuration,
) -> anyhow::Result<Vec<Measurement>> {
    // Per parallelism: (engine rate, CPU ns per record, loop rate, ratio) of each round.
    let mut samples: Vec<Vec<(f64, f64, f64, f64)>> = vec![Vec::new(); parallelisms.len()];
    for _ in 0..rounds.max(1) {
        let (loop_out, loop_secs) = plain_loop(case, records);
        for (i, &parallelism) in parallelisms.iter().enumerate() {
            let run = engine(case, records, parallelism, config)?;
            anyhow::ensure!(
                run.records_out == loop_out,
                "{} at parallelism {parallelism}: the engine produced {} records but the plain loop {loop_out}",
                case.label(),
                run.records_out
            );
            samples[i].push((
                records as f64 / run.seconds,
                run.cpu_seconds * 1e9 / records as f64,
                records as f64 / loop_secs,
                loop_secs / run.seconds,
            ));
        }
    }
    let column = |p: usize, f: fn(&(f64, f64, f64, f64)) -> f64| -> Vec<f64> {
        samples[p].iter().map(f).collect()
    };
    Ok((0..parallelisms.len())
        .map(|p| {
            let scaling = (p > 0).then(|| {
                let per_round = |f: fn(&(f64, f64, f64, f64)) -> f64| {
                    median(
                        samples[p]
                            .iter()
                            .zip(&samples[0])
                            .map(|(this, first)| f(this) / f(first))
                            .collect(),
                    )
                };
                (per_round(|s| s.0), per_round(|s| s.1))
            });
            Measurement {
                engine_rate: median(column(p, |s| s.0)),
                engine_cpu_ns: median(column(p, |s| s.1)),
                loop_rate: median(column(p, |s| s.2)),
                ratio: median(column(p, |s| s.3)),
                scaling,
            }
        })
        .collect())
}

/// Runs every case at every parallelism and prints the table.
pub fn run(
    records: u64,
    parallelisms: &[u32],
    cases: &[String],
    rounds: u32,
    json: bool,
    config: &Configuration,
) -> anyhow::Result<()> {
    const ALL: [Case; 10] = [
        Case::StatelessU64,
        Case::StatelessString,
        Case::KeyedU64,
        Case::KeyedString,
        Case::KeyedStringBorrowed,
        Case::KeyedU64Watermarks,
        Case::StatelessU64Watermarks,
        Case::KeyedProcessU64Watermarks,
        Case::KeyedProcessString,
        Case::KeyedWindowString,
    ];
    for wanted in cases {
        anyhow::ensure!(
            ALL.iter().any(|c| c.id() == wanted),
            "unknown case '{wanted}': use stateless-u64, stateless-string, keyed-u64, keyed-string, keyed-string-ref, keyed-u64-watermarks, stateless-u64-watermarks, keyed-process-u64-watermarks, keyed-process-string or keyed-window-string"
        );
    }
    anyhow::ensure!(records > 0, "--records must be at least 1");
    anyhow::ensure!(
        parallelisms.iter().all(|&p| p > 0),
        "--parallelism values must be at least 1"
    );
    println!(
        "eddy bench pipeline: {records} records per run; medians over {rounds} rounds, each a plain-loop run then an engine run at every parallelism"
    );
    println!(
        "CPU ns/rec: the process's user + system time per record, all threads (the plain loop uses one core)"
    );
    println!(
        "{:<30} {:>3} {:>14} {:>11} {:>16} {:>11} {:>7}",
        "case", "p", "engine ev/s", "CPU ns/rec", "plain loop ev/s", "loop ns/rec", "ratio"
    );
    for case in ALL
        .into_iter()
        .filter(|c| cases.is_empty() || cases.iter().any(|w| w == c.id()))
    {
        let measurements = measure(case, records, parallelisms, rounds, config)?;
        for (&p, m) in parallelisms.iter().zip(&measurements) {
            println!(
                "{:<30} {:>3} {:>14.0} {:>11.2} {:>16.0} {:>11.2} {:>7.2}",
                case.label(),
                p,
                m.engine_rate,
                m.engine_cpu_ns,
                m.loop_rate,
                1e9 / m.loop_rate,
                m.ratio
            );
            if let Some((throughput, cpu)) = m.scaling {
                println!(
                    "{:<30} {:>3} throughput p{p}/p{first} {throughput:.2}, CPU per record p{p}/p{first} {cpu:.2} (medians of per-round ratios)",
                    "",
                    "",
                    first = parallelisms[0],
                );
            }
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "bench": "pipeline", "case": case.label(), "parallelism": p,
                        "records": records, "engine_events_per_s": m.engine_rate,
                        "engine_cpu_ns_per_record": m.engine_cpu_ns,
                        "loop_events_per_s": m.loop_rate, "ratio": m.ratio,
                        "throughput_vs_first_parallelism": m.scaling.map(|s| s.0),
                        "cpu_per_record_vs_first_parallelism": m.scaling.map(|s| s.1),
                    })
                );
            }
        }
    }
    Ok(())
}
