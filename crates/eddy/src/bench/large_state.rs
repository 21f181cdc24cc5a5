//! `eddy bench large-state`: checkpoints of large keyed state (about 1 GiB by default) on each
//! state backend: throughput without checkpoints, with full ones and (RocksDB) with
//! incremental ones; checkpoint duration, the bytes each checkpoint wrote against the whole
//! state it holds, the synchronous pause, and the time from a failure to the restored job's
//! redeployment.
//!
//! The job: `keys` keys, each with a `ValueState<Vec<u8>>` of `value_bytes` pseudo-random
//! bytes (incompressible, so the state's size on disk is its size). The first `keys` records
//! write every key once; the next `updates` records overwrite a hot set (`hot_percent` of the
//! keys) over and over, as a job whose state is large but whose working set is not.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_api::checkpoint::CheckpointStats;
use eddy_api::connectors::DiscardingSink;
use eddy_api::prelude::*;

use super::checkpoints::percentile;
use super::common::{process_cpu_seconds, quantile};

/// What `eddy bench large-state` runs.
#[derive(Debug, Clone)]
pub struct LargeStateSettings {
    /// Distinct keys.
    pub keys: u64,
    /// Bytes of state per key.
    pub value_bytes: usize,
    /// Records after the first write of every key.
    pub updates: u64,
    /// The share of keys (percent) the updates go to.
    pub hot_percent: u64,
    /// Checkpoint interval.
    pub interval: Duration,
    /// The backends to run (`hashmap`, `rocksdb`).
    pub backends: Vec<String>,
    /// Also print one JSON object per result line.
    pub json: bool,
}

/// Overwrites its key's value with fresh pseudo-random bytes; fails once, after a checkpoint
/// completed, when asked to.
#[derive(Clone)]
struct Overwrite {
    payload: ValueStateDescriptor<Vec<u8>>,
    value_bytes: usize,
    /// Set once a checkpoint completed (the failure needs one to restore from).
    checkpointed: Arc<AtomicBool>,
    /// `Some`: fail once (the flag says whether it did).
    fail: Option<Arc<AtomicBool>>,
    /// Records processed, and when (epoch milliseconds) the last of `total` was: checkpoints
    /// triggered later hold the finished task's final state, which is always full.
    seen: Arc<AtomicU64>,
    total: u64,
    input_ended_at: Arc<AtomicI64>,
}

impl KeyedProcessFunction<u64, u64, ()> for Overwrite {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Collector<'_, ()>,
    ) -> FnResult<()> {
        if let Some(failed) = &self.fail {
            if self.checkpointed.load(Ordering::Relaxed) && !failed.swap(true, Ordering::SeqCst) {
                return Err("bench: injected failure".into());
            }
        }
        // xorshift64* from the record's number: every value differs, and does not compress.
        let mut x = value.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut bytes = Vec::with_capacity(self.value_bytes);
        while bytes.len() < self.value_bytes {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let word = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            let take = word.len().min(self.value_bytes - bytes.len());
            bytes.extend_from_slice(&word[..take]);
        }
        ctx.state().value(&self.payload)?.update(bytes)?;
        if self.seen.fetch_add(1, Ordering::Relaxed) + 1 == self.total {
            self.input_ended_at.store(epoch_millis(), Ordering::Relaxed);
        }
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> FnResult<()> {
        self.checkpointed.store(true, Ordering::Relaxed);
        Ok(())
    }
}

fn epoch_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How a run checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Off,
    Full,
    Incremental,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Off => "no checkpoints",
            Mode::Full => "full checkpoints",
            Mode::Incremental => "incremental checkpoints",
        }
    }
}

/// One run's figures.
struct Run {
    /// From the start until the input ended (throughput is measured over this: the job's
    /// end waits for a last checkpoint holding the final state).
    input_seconds: f64,
    seconds: f64,
    cpu_seconds: f64,
    stats: Option<CheckpointStats>,
    recoveries: Vec<Duration>,
    /// When the input ended (epoch milliseconds).
    input_ended_at: i64,
}

fn run_job(
    settings: &LargeStateSettings,
    backend: &str,
    mode: Mode,
    fail: bool,
    config: &Configuration,
    dir: &std::path::Path,
) -> anyhow::Result<Run> {
    let mut config = config.clone();
    config.set_string("execution.runtime-mode", "STREAMING");
    config.set_string("state.backend.type", backend);
    if mode != Mode::Off {
        config.set_string(
            "execution.checkpointing.interval",
            format!("{} ms", settings.interval.as_millis()),
        );
        // A configured folder (e.g. -D state.checkpoints.dir=s3://bucket/x) is used as is.
        if config.get_string("state.checkpoints.dir").is_none() {
            config.set_string("state.checkpoints.dir", dir.display().to_string());
        }
        config.set_string(
            "execution.checkpointing.incremental",
            (mode == Mode::Incremental).to_string(),
        );
        config.set_string("restart-strategy.type", "fixed-delay");
        config.set_string("restart-strategy.fixed-delay.delay", "0 ms");
    }
    let env = StreamExecutionEnvironment::with_configuration(config);
    env.set_parallelism(1);
    let keys = settings.keys;
    let input_ended_at = Arc::new(AtomicI64::new(i64::MAX));
    let hot = (keys * settings.hot_percent / 100).max(1);
    env.from_generator(Some(keys + settings.updates), None, move |i| {
        if i < keys {
            i
        } else {
            (i - keys) % hot
        }
    })
    .key_by(|key: &u64| *key)
    .process(Overwrite {
        payload: ValueStateDescriptor::new("payload"),
        value_bytes: settings.value_bytes,
        checkpointed: Arc::new(AtomicBool::new(false)),
        fail: fail.then(|| Arc::new(AtomicBool::new(false))),
        seen: Arc::new(AtomicU64::new(0)),
        total: keys + settings.updates,
        input_ended_at: input_ended_at.clone(),
    })
    .add_sink(DiscardingSink);
    let (start, cpu_start, start_millis) = (Instant::now(), process_cpu_seconds(), epoch_millis());
    let result = env.execute("bench large-state")?;
    let seconds = start.elapsed().as_secs_f64();
    let ended = input_ended_at.load(Ordering::Relaxed);
    Ok(Run {
        input_seconds: if ended == i64::MAX {
            seconds
        } else {
            (ended - start_millis).max(1) as f64 / 1000.0
        },
        seconds,
        cpu_seconds: process_cpu_seconds() - cpu_start,
        stats: result.checkpoints,
        recoveries: result.recoveries,
        input_ended_at: input_ended_at.load(Ordering::Relaxed),
    })
}

fn mib(bytes: f64) -> f64 {
    bytes / (1 << 20) as f64
}

/// Prints one result line (and its JSON).
fn report(settings: &LargeStateSettings, backend: &str, mode: Mode, run: &Run, off: &Run) {
    let records = (settings.keys + settings.updates) as f64;
    let rate = records / run.input_seconds;
    // Checkpoints of the running job (those after the input ended hold the finished task's
    // final state, which is always written in full).
    let completed: Vec<_> = run
        .stats
        .iter()
        .flat_map(|s| s.history.iter())
        .filter(|c| !c.is_savepoint && c.trigger_timestamp < run.input_ended_at)
        .collect();
    let mut durations: Vec<Duration> = completed.iter().map(|c| c.duration).collect();
    let mut written: Vec<f64> = completed.iter().map(|c| c.state_size as f64).collect();
    let mut full: Vec<f64> = completed.iter().map(|c| c.full_state_size as f64).collect();
    let mut pauses: Vec<Duration> = run
        .stats
        .iter()
        .flat_map(|s| s.sync_pauses.clone())
        .collect();
    println!(
        "{backend:<8} {:<24} {:>6.2} M rec/s (ratio {:.3}, {:.2} M rec/s per CPU second); \
         {} checkpoints: duration p50 {:.0} ms max {:.0} ms, written p50 {:.1} MiB max {:.1} \
         MiB of full state p50 {:.1} MiB, sync pause p50 {:.1} ms max {:.1} ms",
        mode.label(),
        rate / 1e6,
        off.input_seconds / run.input_seconds,
        records / run.cpu_seconds.max(1e-9) / 1e6,
        completed.len(),
        percentile(&mut durations, 0.5),
        percentile(&mut durations, 1.0),
        mib(quantile(&mut written, 0.5)),
        mib(quantile(&mut written, 1.0)),
        mib(quantile(&mut full, 0.5)),
        percentile(&mut pauses, 0.5),
        percentile(&mut pauses, 1.0),
    );
    if settings.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "large-state", "backend": backend, "mode": mode.label(),
                "keys": settings.keys, "value_bytes": settings.value_bytes,
                "records_per_second": rate, "ratio_to_no_checkpoints": off.input_seconds / run.input_seconds,
                "checkpoints": completed.len(),
                "duration_p50_ms": percentile(&mut durations, 0.5),
                "written_p50_bytes": quantile(&mut written, 0.5),
                "full_state_p50_bytes": quantile(&mut full, 0.5),
                "sync_pause_p50_ms": percentile(&mut pauses, 0.5),
                "sync_pause_max_ms": percentile(&mut pauses, 1.0),
            })
        );
    }
}

/// Runs the benchmark.
pub fn run(settings: &LargeStateSettings, config: &Configuration) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.keys > 0 && settings.value_bytes > 0,
        "--keys and --value-bytes must be at least 1"
    );
    anyhow::ensure!(
        (1..=100).contains(&settings.hot_percent),
        "--hot-percent must be between 1 and 100"
    );
    println!(
        "large keyed state: {} keys x {} B = {:.0} MiB written once, then {} updates of {}% of \
         the keys; checkpoints every {} ms; parallelism 1",
        settings.keys,
        settings.value_bytes,
        mib((settings.keys * settings.value_bytes as u64) as f64),
        settings.updates,
        settings.hot_percent,
        settings.interval.as_millis()
    );
    for backend in &settings.backends {
        let modes: &[Mode] = if backend == "rocksdb" {
            &[Mode::Full, Mode::Incremental]
        } else {
            &[Mode::Full]
        };
        let dir = tempfile::tempdir()?;
        let off = run_job(settings, backend, Mode::Off, false, config, dir.path())?;
        report(settings, backend, Mode::Off, &off, &off);
        for &mode in modes {
            let dir = tempfile::tempdir()?;
            let on = run_job(settings, backend, mode, false, config, dir.path())?;
            report(settings, backend, mode, &on, &off);
            let dir = tempfile::tempdir()?;
            let failed = run_job(settings, backend, mode, true, config, dir.path())?;
            let mut recoveries: Vec<String> = failed
                .recoveries
                .iter()
                .map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
                .collect();
            if recoveries.is_empty() {
                recoveries.push("none (no checkpoint completed before the input ended)".into());
            }
            println!(
                "{backend:<8} {:<24} recovery: failure to the restored job's redeployment {}; \
                 the run took {:.1} s against {:.1} s without the failure",
                mode.label(),
                recoveries.join(", "),
                failed.seconds,
                on.seconds
            );
            if settings.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "bench": "large-state", "backend": backend, "mode": mode.label(),
                        "recovery_ms": failed.recoveries.iter().map(|d| d.as_secs_f64() * 1000.0).collect::<Vec<_>>(),
                        "seconds_with_failure": failed.seconds, "seconds": on.seconds,
                    })
                );
            }
        }
    }
    Ok(())
}
