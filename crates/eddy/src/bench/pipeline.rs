//! `eddy bench pipeline`: engine throughput against a plain single-threaded loop.

use std::collections::hash_map::Entry;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashMap;

use eddy_api::prelude::*;

use super::common::{median, CountingSink};

/// Short strings the string cases draw from (so the keyed case has this many keys).
const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

/// Distinct keys in the u64 keyed case.
const U64_KEYS: u64 = 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    StatelessU64,
    StatelessString,
    KeyedU64,
    KeyedString,
}

impl Case {
    fn id(self) -> &'static str {
        match self {
            Case::StatelessU64 => "stateless-u64",
            Case::StatelessString => "stateless-string",
            Case::KeyedU64 => "keyed-u64",
            Case::KeyedString => "keyed-string",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Case::StatelessU64 => "stateless map+filter, u64",
            Case::StatelessString => "stateless map+filter, string",
            Case::KeyedU64 => "keyed reduce, u64",
            Case::KeyedString => "keyed reduce, string",
        }
    }
}

fn word(i: u64) -> String {
    WORDS[(i % WORDS.len() as u64) as usize].to_string()
}

fn mark(mut s: String) -> String {
    s.push('!');
    s
}

/// Runs one case on the engine; returns (records reaching the sink, seconds).
fn engine(
    case: Case,
    records: u64,
    parallelism: u32,
    config: &Configuration,
) -> anyhow::Result<(u64, f64)> {
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
        Case::KeyedString => {
            env.from_generator(Some(records), None, |i| (word(i), 1u64))
                .key_by(|t: &(String, u64)| t.0.clone())
                .reduce(|a, b| (a.0, a.1 + b.1))
                .add_sink(sink);
        }
    }
    let start = Instant::now();
    env.execute(case.label())?;
    Ok((
        counter.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
    ))
}

/// The same computation as a plain single-threaded loop; returns (records out, seconds).
fn plain_loop(case: Case, records: u64) -> (u64, f64) {
    let start = Instant::now();
    let mut out = 0u64;
    match case {
        Case::StatelessU64 => {
            for x in 0..records {
                let y = black_box(x).wrapping_mul(3) + 1;
                if !y.is_multiple_of(4) {
                    black_box(y);
                    out += 1;
                }
            }
        }
        Case::StatelessString => {
            for i in 0..records {
                let s = mark(word(black_box(i)));
                if s.len().is_multiple_of(2) {
                    black_box(&s);
                    out += 1;
                }
            }
        }
        Case::KeyedU64 => {
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
        }
        Case::KeyedString => {
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
        }
    }
    (out, start.elapsed().as_secs_f64())
}

/// One measured case: median engine rate, median loop rate, median of the per-round ratios.
struct Measurement {
    engine_rate: f64,
    loop_rate: f64,
    ratio: f64,
}

/// Alternates plain-loop and engine runs for `rounds` rounds. Each round's ratio compares runs
/// made back to back, so drifting machine speed (shared virtual machines) affects both sides.
fn measure(
    case: Case,
    records: u64,
    parallelism: u32,
    rounds: u32,
    config: &Configuration,
) -> anyhow::Result<Measurement> {
    let (mut engine_rates, mut loop_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let (loop_out, loop_secs) = plain_loop(case, records);
        let (engine_out, engine_secs) = engine(case, records, parallelism, config)?;
        anyhow::ensure!(
            engine_out == loop_out,
            "{}: the engine produced {engine_out} records but the plain loop {loop_out}",
            case.label()
        );
        engine_rates.push(records as f64 / engine_secs);
        loop_rates.push(records as f64 / loop_secs);
        ratios.push(loop_secs / engine_secs);
    }
    Ok(Measurement {
        engine_rate: median(engine_rates),
        loop_rate: median(loop_rates),
        ratio: median(ratios),
    })
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
    const ALL: [Case; 4] = [
        Case::StatelessU64,
        Case::StatelessString,
        Case::KeyedU64,
        Case::KeyedString,
    ];
    for wanted in cases {
        anyhow::ensure!(
            ALL.iter().any(|c| c.id() == wanted),
            "unknown case '{wanted}': use stateless-u64, stateless-string, keyed-u64 or keyed-string"
        );
    }
    anyhow::ensure!(records > 0, "--records must be at least 1");
    anyhow::ensure!(
        parallelisms.iter().all(|&p| p > 0),
        "--parallelism values must be at least 1"
    );
    println!(
        "eddy bench pipeline: {records} records per run; medians over {rounds} rounds, each a plain-loop run then an engine run"
    );
    println!(
        "{:<30} {:>3} {:>16} {:>16} {:>7}",
        "case", "p", "engine ev/s", "plain loop ev/s", "ratio"
    );
    for case in ALL
        .into_iter()
        .filter(|c| cases.is_empty() || cases.iter().any(|w| w == c.id()))
    {
        for &p in parallelisms {
            let Measurement {
                engine_rate,
                loop_rate,
                ratio,
            } = measure(case, records, p, rounds, config)?;
            println!(
                "{:<30} {:>3} {:>16.0} {:>16.0} {:>7.2}",
                case.label(),
                p,
                engine_rate,
                loop_rate,
                ratio
            );
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "bench": "pipeline", "case": case.label(), "parallelism": p,
                        "records": records, "engine_events_per_s": engine_rate,
                        "loop_events_per_s": loop_rate, "ratio": ratio,
                    })
                );
            }
        }
    }
    Ok(())
}
