//! `eddy bench windows`: event-time window aggregation (tumbling and sliding) against a
//! keyed pass-through over the same source.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use eddy_api::prelude::*;

use super::common::median;

/// The window length of both window cases (ms).
pub const WINDOW_SIZE_MS: i64 = 100_000;

/// The slide of the sliding case (ms): every element is in `WINDOW_SIZE_MS / SLIDE_MS` windows.
pub const SLIDE_MS: i64 = 1_000;

/// Events per millisecond of event time: element `i` has timestamp `i / 10`.
pub const EVENTS_PER_MS: u64 = 10;

/// A benchmark case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WindowCase {
    /// Source → key_by → map → sink: what the window cases cost without windows.
    Baseline,
    /// Tumbling event-time windows of 100 s, aggregated (count + sum).
    Tumbling,
    /// Sliding event-time windows of 100 s every 1 s, aggregated (count + sum).
    Sliding,
}

impl WindowCase {
    /// Every case, in the order they run.
    pub const ALL: [WindowCase; 3] = [
        WindowCase::Baseline,
        WindowCase::Tumbling,
        WindowCase::Sliding,
    ];

    /// A short label for tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            WindowCase::Baseline => "baseline: key_by + map",
            WindowCase::Tumbling => "tumbling 100 s, aggregate",
            WindowCase::Sliding => "sliding 100 s / 1 s, aggregate",
        }
    }

    /// How many windows each element belongs to.
    pub fn windows_per_element(self) -> u64 {
        match self {
            WindowCase::Baseline | WindowCase::Tumbling => 1,
            WindowCase::Sliding => (WINDOW_SIZE_MS / SLIDE_MS) as u64,
        }
    }
}

/// The element with index `i`: `(key, value)`.
pub fn element(i: u64, keys: u64) -> (u64, u64) {
    (i % keys, i)
}

/// The event time of an element with value `value` (its index).
pub fn event_time(value: u64) -> i64 {
    i64::try_from(value / EVENTS_PER_MS).unwrap_or(i64::MAX)
}

/// Count and (wrapping) sum of `(key, value)` elements, computed incrementally.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountAndSum;

impl AggregateFunction<(u64, u64), (u64, u64), (u64, u64)> for CountAndSum {
    fn create_accumulator(&mut self) -> (u64, u64) {
        (0, 0)
    }

    #[inline]
    fn add(&mut self, value: (u64, u64), acc: &mut (u64, u64)) -> FnResult<()> {
        acc.0 += 1;
        acc.1 = acc.1.wrapping_add(value.1);
        Ok(())
    }

    fn get_result(&mut self, acc: &(u64, u64)) -> FnResult<(u64, u64)> {
        Ok(*acc)
    }

    fn merge(&mut self, acc: &mut (u64, u64), other: (u64, u64)) -> FnResult<()> {
        acc.0 += other.0;
        acc.1 = acc.1.wrapping_add(other.1);
        Ok(())
    }
}

/// What a run emitted, summed over its `(count, sum)` results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Result records.
    pub results: u64,
    /// Sum of the results' counts.
    pub count_sum: u64,
    /// Wrapping sum of the results' sums.
    pub value_sum: u64,
}

/// Adds every `(count, sum)` result to shared totals, once per batch.
#[derive(Clone)]
struct TotalsSink(Arc<Mutex<Totals>>);

impl SinkFunction<(u64, u64)> for TotalsSink {
    fn invoke(&mut self, value: (u64, u64), _ctx: &SinkContext) -> FnResult<()> {
        self.invoke_batch(Batch::from_values(vec![value]))
    }

    fn invoke_batch(&mut self, batch: Batch<(u64, u64)>) -> FnResult<()> {
        let mut local = Totals::default();
        for &(count, sum) in batch.values() {
            local.results += 1;
            local.count_sum += count;
            local.value_sum = local.value_sum.wrapping_add(sum);
        }
        let mut totals = self.0.lock();
        totals.results += local.results;
        totals.count_sum += local.count_sum;
        totals.value_sum = totals.value_sum.wrapping_add(local.value_sum);
        Ok(())
    }
}

/// Runs one case on the engine: a generator source at parallelism 1 with monotonous
/// watermarks, the keyed operator at `parallelism`. Returns the totals and the seconds taken.
pub fn run_case(
    case: WindowCase,
    records: u64,
    keys: u64,
    parallelism: u32,
    config: &Configuration,
) -> anyhow::Result<(Totals, f64)> {
    run_case_with_result(case, records, keys, parallelism, config)
        .map(|(totals, seconds, _)| (totals, seconds))
}

/// [`run_case`], also returning the job's result (with its checkpoint statistics).
pub fn run_case_with_result(
    case: WindowCase,
    records: u64,
    keys: u64,
    parallelism: u32,
    config: &Configuration,
) -> anyhow::Result<(Totals, f64, JobExecutionResult)> {
    let env = StreamExecutionEnvironment::with_configuration(config.clone());
    env.set_parallelism(parallelism);
    let totals = Arc::new(Mutex::new(Totals::default()));
    let sink = TotalsSink(totals.clone());
    let strategy = WatermarkStrategy::for_monotonous_timestamps()
        .with_timestamp_assigner(|e: &(u64, u64), _| event_time(e.1));
    let keyed = env
        .from_generator(Some(records), None, move |i| element(i, keys))
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(strategy)
        .set_parallelism(1)
        .key_by(|e: &(u64, u64)| e.0);
    let size = Duration::from_millis(WINDOW_SIZE_MS as u64);
    let slide = Duration::from_millis(SLIDE_MS as u64);
    match case {
        WindowCase::Baseline => keyed
            .as_data_stream()
            .map(|(_, value): (u64, u64)| (1u64, value))
            .add_sink(sink),
        WindowCase::Tumbling => keyed
            .window(TumblingEventTimeWindows::of(size))
            .aggregate(CountAndSum)
            .add_sink(sink),
        WindowCase::Sliding => keyed
            .window(SlidingEventTimeWindows::of(size, slide))
            .aggregate(CountAndSum)
            .add_sink(sink),
    };
    let start = Instant::now();
    let result = env.execute(case.label())?;
    let seconds = start.elapsed().as_secs_f64();
    let totals = *totals.lock();
    Ok((totals, seconds, result))
}

/// The totals a correct run of `case` emits, in one pass over the elements: every element is
/// in `windows_per_element` windows, and per key the windows are counted as they first appear
/// (timestamps never decrease, so a key's windows appear in order).
pub fn expected_totals(case: WindowCase, records: u64, keys: u64) -> Totals {
    let per_element = case.windows_per_element();
    let mut totals = Totals {
        results: 0,
        count_sum: records * per_element,
        value_sum: 0,
    };
    // Per key: the start of the latest window seen (tumbling: its only window; sliding: the
    // last window containing the element).
    let mut latest: Vec<Option<i64>> = vec![None; keys as usize];
    for i in 0..records {
        let (key, value) = element(i, keys);
        totals.value_sum = totals
            .value_sum
            .wrapping_add(value.wrapping_mul(per_element));
        let ts = event_time(value);
        let (step, windows) = match case {
            WindowCase::Baseline => {
                totals.results += 1;
                continue;
            }
            WindowCase::Tumbling => (WINDOW_SIZE_MS, 1),
            WindowCase::Sliding => (SLIDE_MS, per_element),
        };
        let last_start = ts - ts.rem_euclid(step);
        let slot = &mut latest[key as usize];
        totals.results += match *slot {
            None => windows,
            Some(previous) => windows.min(((last_start - previous) / step) as u64),
        };
        *slot = Some(last_start);
    }
    totals
}

/// The options of `eddy bench windows`.
#[derive(Debug, Clone, Copy)]
pub struct WindowBenchSettings {
    /// Records per run.
    pub records: u64,
    /// Distinct keys.
    pub keys: u64,
    /// Parallelism of the keyed operators.
    pub parallelism: u32,
    /// Rounds; medians are shown.
    pub rounds: u32,
    /// Also print JSON lines.
    pub json: bool,
}

impl WindowBenchSettings {
    /// Checks the options and prints the header line.
    fn start(&self) -> anyhow::Result<()> {
        let WindowBenchSettings {
            records,
            keys,
            parallelism,
            rounds,
            ..
        } = *self;
        anyhow::ensure!(records > 0, "--records must be at least 1");
        anyhow::ensure!(keys > 0, "--keys must be at least 1");
        anyhow::ensure!(parallelism > 0, "--parallelism must be at least 1");
        println!(
            "eddy bench windows: {records} records per run, {keys} keys, {EVENTS_PER_MS} events \
             per ms of event time, window parallelism {parallelism}; medians over {} rounds",
            rounds.max(1)
        );
        Ok(())
    }
}

/// Runs one case `rounds` times and prints its median events/s (for profiling one case).
pub fn run_single(
    case: WindowCase,
    settings: &WindowBenchSettings,
    config: &Configuration,
) -> anyhow::Result<()> {
    settings.start()?;
    let WindowBenchSettings {
        records,
        keys,
        parallelism,
        ..
    } = *settings;
    let expected = expected_totals(case, records, keys);
    let mut rates = Vec::new();
    for _ in 0..settings.rounds.max(1) {
        let (totals, seconds) = run_case(case, records, keys, parallelism, config)?;
        anyhow::ensure!(
            totals == expected,
            "{}: the engine emitted {totals:?} but a correct run emits {expected:?}",
            case.label()
        );
        rates.push(records as f64 / seconds);
    }
    let rate = median(rates);
    println!("{:<32} {:>16} {:>12}", "case", "events/s", "results");
    println!("{:<32} {rate:>16.0} {:>12}", case.label(), expected.results);
    if settings.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "windows", "case": case.label(), "parallelism": parallelism,
                "records": records, "keys": keys, "events_per_s": rate,
                "results": expected.results,
            })
        );
    }
    Ok(())
}

/// Runs every case `rounds` times (alternating cases within a round) and prints events/s and
/// the ratios, as medians over the rounds.
pub fn run(settings: &WindowBenchSettings, config: &Configuration) -> anyhow::Result<()> {
    settings.start()?;
    let WindowBenchSettings {
        records,
        keys,
        parallelism,
        json,
        ..
    } = *settings;
    let rounds = settings.rounds.max(1);
    let expected = WindowCase::ALL.map(|case| expected_totals(case, records, keys));
    let mut rates: [Vec<f64>; 3] = Default::default();
    let mut ratios: [Vec<f64>; 3] = Default::default();
    for _ in 0..rounds {
        let mut round = [0.0; 3];
        for (index, case) in WindowCase::ALL.into_iter().enumerate() {
            let (totals, seconds) = run_case(case, records, keys, parallelism, config)?;
            anyhow::ensure!(
                totals == expected[index],
                "{}: the engine emitted {totals:?} but a correct run emits {:?}",
                case.label(),
                expected[index]
            );
            round[index] = records as f64 / seconds;
            rates[index].push(round[index]);
        }
        ratios[0].push(round[1] / round[0]);
        ratios[1].push(round[2] / round[0]);
        ratios[2].push(round[2] / round[1]);
    }
    let rates = rates.map(median);
    let [tumbling_vs_base, sliding_vs_base, sliding_vs_tumbling] = ratios.map(median);
    let vs_baseline = [1.0, tumbling_vs_base, sliding_vs_base];
    println!(
        "{:<32} {:>16} {:>12} {:>12}",
        "case", "events/s", "results", "vs baseline"
    );
    for (index, case) in WindowCase::ALL.into_iter().enumerate() {
        println!(
            "{:<32} {:>16.0} {:>12} {:>12.3}",
            case.label(),
            rates[index],
            expected[index].results,
            vs_baseline[index]
        );
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "bench": "windows", "case": case.label(), "parallelism": parallelism,
                    "records": records, "keys": keys, "events_per_s": rates[index],
                    "results": expected[index].results, "vs_baseline": vs_baseline[index],
                })
            );
        }
    }
    println!("sliding / tumbling: {sliding_vs_tumbling:.3}");
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "windows", "case": "sliding/tumbling", "parallelism": parallelism,
                "records": records, "keys": keys, "ratio": sliding_vs_tumbling,
            })
        );
    }
    Ok(())
}
