//! `eddy bench checkpoints`: what checkpointing costs. Runs the keyed reduce of `eddy bench
//! pipeline` and the tumbling windows of `eddy bench windows` with checkpoints every interval
//! and without, and reports throughput and its ratio, checkpoint duration and size, the
//! synchronous pause per subtask and checkpoint (p50 / p99), and the recovery time after an
//! injected failure.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_api::checkpoint::CheckpointStats;
use eddy_api::prelude::*;

use super::common::{median, process_cpu_seconds, quantile, CountingSink};
use super::windows::{expected_totals, run_case_with_result, WindowCase};

/// Distinct keys of the keyed reduce (as in `eddy bench pipeline`).
const KEYED_KEYS: u64 = 1024;

/// What `eddy bench checkpoints` runs.
#[derive(Debug, Clone)]
pub struct CheckpointBenchSettings {
    /// Records of the keyed-reduce runs.
    pub records: u64,
    /// Records of the window runs.
    pub window_records: u64,
    /// Keys of the window runs.
    pub keys: u64,
    /// Parallelism of the keyed operators.
    pub parallelism: u32,
    /// Checkpoint interval.
    pub interval: Duration,
    /// Rounds (each runs every case with and without checkpoints); medians are shown.
    pub rounds: u32,
    /// Also print one JSON object per result line.
    pub json: bool,
}

/// One engine run.
struct Run {
    seconds: f64,
    /// Process CPU time (user + sys, every thread) the run took.
    cpu_seconds: f64,
    sink_records: u64,
    stats: Option<CheckpointStats>,
    recoveries: Vec<Duration>,
}

/// Fails the keyed reduce once, at record `at` of the job.
#[derive(Clone)]
struct FailOnceAt {
    at: u64,
    seen: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
}

impl MapFunction<(u64, u64), (u64, u64)> for FailOnceAt {
    fn map(&mut self, value: (u64, u64)) -> FnResult<(u64, u64)> {
        if self.seen.fetch_add(1, Ordering::Relaxed) + 1 == self.at
            && !self.failed.swap(true, Ordering::SeqCst)
        {
            return Err("bench: injected failure".into());
        }
        Ok(value)
    }
}

/// The keyed reduce over `records` records, failing once half-way when `fail`.
fn keyed_reduce(
    records: u64,
    parallelism: u32,
    config: &Configuration,
    fail: bool,
) -> anyhow::Result<Run> {
    let env = StreamExecutionEnvironment::with_configuration(config.clone());
    env.set_parallelism(parallelism);
    let counter = Arc::new(AtomicU64::new(0));
    let source = env.from_generator(Some(records), None, |i| (i % KEYED_KEYS, i));
    let source = if fail {
        source.map_function(FailOnceAt {
            at: records / 2,
            seen: Arc::new(AtomicU64::new(0)),
            failed: Arc::new(AtomicBool::new(false)),
        })
    } else {
        source
    };
    source
        .key_by(|t: &(u64, u64)| t.0)
        .reduce(|a, b| (a.0, a.1.wrapping_add(b.1)))
        .add_sink(CountingSink(counter.clone()));
    let (start, cpu_start) = (Instant::now(), process_cpu_seconds());
    let result = env.execute("bench checkpoints: keyed reduce")?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds() - cpu_start;
    let out = counter.load(Ordering::Relaxed);
    // After a failure the records since the restored checkpoint reach the sink twice (it is
    // not transactional); none may be missing.
    if (!fail && out != records) || out < records {
        anyhow::bail!("keyed reduce: {out} records reached the sink, expected {records}");
    }
    Ok(Run {
        seconds,
        cpu_seconds,
        sink_records: out,
        stats: result.checkpoints,
        recoveries: result.recoveries,
    })
}

fn windows(settings: &CheckpointBenchSettings, config: &Configuration) -> anyhow::Result<Run> {
    let case = WindowCase::Tumbling;
    let cpu_start = process_cpu_seconds();
    let (totals, seconds, result) = run_case_with_result(
        case,
        settings.window_records,
        settings.keys,
        settings.parallelism,
        config,
    )?;
    let cpu_seconds = process_cpu_seconds() - cpu_start;
    let expected = expected_totals(case, settings.window_records, settings.keys);
    if totals != expected {
        anyhow::bail!("tumbling windows: totals {totals:?}, expected {expected:?}");
    }
    Ok(Run {
        seconds,
        cpu_seconds,
        sink_records: totals.results,
        stats: result.checkpoints,
        recoveries: result.recoveries,
    })
}

/// `config` with checkpoints every `interval` into a fresh folder under `dir`.
fn checkpointed(
    config: &Configuration,
    interval: Duration,
    dir: &std::path::Path,
) -> Configuration {
    let mut config = config.clone();
    config.set_string(
        "execution.checkpointing.interval",
        format!("{} ms", interval.as_millis()),
    );
    config.set_string("state.checkpoints.dir", dir.display().to_string());
    config.set_string("restart-strategy.fixed-delay.delay", "0 ms");
    config
}

/// The `p` quantile (0..=1) of `values`, in milliseconds (0 when there are none).
pub(super) fn percentile(values: &mut [Duration], p: f64) -> f64 {
    let mut millis: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    quantile(&mut millis, p)
}

/// Prints one result line (and its JSON).
fn report(settings: &CheckpointBenchSettings, case: &str, records: u64, off: &[Run], on: &[Run]) {
    let rate = |runs: &[Run]| median(runs.iter().map(|r| records as f64 / r.seconds).collect());
    let (rate_off, rate_on) = (rate(off), rate(on));
    let stats: Vec<&CheckpointStats> = on.iter().filter_map(|r| r.stats.as_ref()).collect();
    let completed: usize = stats.iter().map(|s| s.history.len()).sum();
    let mut durations: Vec<Duration> = stats
        .iter()
        .flat_map(|s| s.history.iter().map(|c| c.duration))
        .collect();
    let sizes: Vec<f64> = stats
        .iter()
        .flat_map(|s| s.history.iter().map(|c| c.state_size as f64))
        .collect();
    let mut pauses: Vec<Duration> = stats.iter().flat_map(|s| s.sync_pauses.clone()).collect();
    let size = if sizes.is_empty() { 0.0 } else { median(sizes) };
    let per_core = median(
        on.iter()
            .map(|r| records as f64 / r.cpu_seconds.max(1e-9))
            .collect(),
    );
    println!(
        "{case:<28} p={} off {:>7.2} M/s  on {:>7.2} M/s  ratio {:.3}  ({:.2} M/s per core)  \
         {completed} checkpoints: duration p50 {:.1} ms max {:.1} ms, size p50 {:.0} B, \
         sync pause p50 {:.3} ms p99 {:.3} ms",
        settings.parallelism,
        rate_off / 1e6,
        rate_on / 1e6,
        rate_on / rate_off,
        per_core / 1e6,
        percentile(&mut durations, 0.5),
        percentile(&mut durations, 1.0),
        size,
        percentile(&mut pauses, 0.5),
        percentile(&mut pauses, 0.99),
    );
    if settings.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "checkpoints",
                "case": case,
                "parallelism": settings.parallelism,
                "interval_ms": settings.interval.as_millis() as u64,
                "events_per_second_off": rate_off,
                "events_per_second_on": rate_on,
                "ratio": rate_on / rate_off,
                "events_per_cpu_second_on": per_core,
                "checkpoints": completed,
                "duration_p50_ms": percentile(&mut durations, 0.5),
                "state_size_p50_bytes": size,
                "sync_pause_p50_ms": percentile(&mut pauses, 0.5),
                "sync_pause_p99_ms": percentile(&mut pauses, 0.99),
            })
        );
    }
}

/// Runs the benchmark.
pub fn run(settings: &CheckpointBenchSettings, config: &Configuration) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let on = checkpointed(config, settings.interval, dir.path());
    println!(
        "checkpoints every {} ms vs none; {} rounds, medians; keyed operators at parallelism {}",
        settings.interval.as_millis(),
        settings.rounds,
        settings.parallelism
    );
    let (mut keyed_off, mut keyed_on, mut windows_off, mut windows_on) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..settings.rounds {
        keyed_off.push(keyed_reduce(
            settings.records,
            settings.parallelism,
            config,
            false,
        )?);
        keyed_on.push(keyed_reduce(
            settings.records,
            settings.parallelism,
            &on,
            false,
        )?);
        windows_off.push(windows(settings, config)?);
        windows_on.push(windows(settings, &on)?);
    }
    report(
        settings,
        "keyed reduce, u64",
        settings.records,
        &keyed_off,
        &keyed_on,
    );
    report(
        settings,
        "tumbling windows",
        settings.window_records,
        &windows_off,
        &windows_on,
    );
    // Recovery: the keyed reduce fails once half-way and restarts at once (delay 0).
    let failed = keyed_reduce(settings.records, settings.parallelism, &on, true)?;
    let recovery: Vec<String> = failed
        .recoveries
        .iter()
        .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
        .collect();
    let plain = median(keyed_on.iter().map(|r| r.seconds).collect());
    println!(
        "recovery (keyed reduce failing once half-way): failure to redeployment {}; the run took \
         {:.2} s against {:.2} s without the failure ({} records reached the sink)",
        recovery.join(", "),
        failed.seconds,
        plain,
        failed.sink_records
    );
    Ok(())
}
