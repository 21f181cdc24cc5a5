//! `eddy bench nexmark`: the Nexmark queries over a bounded generated stream, as fast as they
//! go, with events per second, events per second per core (events / process CPU seconds) and
//! peak resident memory per query; or, with `--tps`, at a fixed rate with the end-to-end
//! latency percentiles of their results (see `eddy_nexmark::latency`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use eddy_api::prelude::*;
use eddy_nexmark::latency::{events_with_entry_clock, LatencyRecorder};
use eddy_nexmark::queries::{add_query, events, Query, ResultSink};

use super::common::process_cpu_seconds;
use crate::nexmark::generator_config;

/// What to run.
pub struct NexmarkBenchSettings {
    /// The queries, in order (`q0` … `q8`); all when empty.
    pub queries: Vec<String>,
    /// Events per query run.
    pub events: u64,
    /// Parallelism of every operator.
    pub parallelism: u32,
    /// Generator options (`KEY=VALUE`, Flink's nexmark keys).
    pub generator_options: Vec<String>,
    /// Print one JSON object per query too.
    pub json: bool,
    /// Feed the events at this rate (events per second) and measure latency instead.
    pub tps: Option<u64>,
}

/// One query's run.
struct QueryRun {
    rows: u64,
    seconds: f64,
    cpu_seconds: f64,
    peak_rss_bytes: Option<u64>,
}

/// Runs the benchmark and prints its table.
pub fn run(settings: &NexmarkBenchSettings, config: &Configuration) -> anyhow::Result<()> {
    let queries: Vec<Query> = if settings.queries.is_empty() {
        Query::ALL.to_vec()
    } else {
        settings
            .queries
            .iter()
            .map(|q| q.parse().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?
    };
    anyhow::ensure!(settings.events > 0, "--events must be at least 1");
    anyhow::ensure!(settings.parallelism > 0, "-p must be at least 1");
    if let Some(tps) = settings.tps {
        return run_latency(settings, &queries, tps, config);
    }
    let generator = generator_config(settings.events, None, &settings.generator_options)?;
    println!(
        "eddy bench nexmark: {} events per query, parallelism {}, results counted and discarded",
        settings.events, settings.parallelism
    );
    println!(
        "{:<6} {:>12} {:>10} {:>8} {:>14} {:>8} {:>16} {:>10}",
        "query", "events", "rows", "wall s", "events/s", "CPU s", "events/s/core", "peak RSS"
    );
    for query in queries {
        let run = run_query(query, &generator, settings.parallelism, config)?;
        let events = settings.events as f64;
        let rss = run
            .peak_rss_bytes
            .map_or_else(|| "n/a".to_string(), |b| format!("{} MB", b / (1 << 20)));
        println!(
            "{:<6} {:>12} {:>10} {:>8.2} {:>14.0} {:>8.2} {:>16.0} {:>10}",
            query.name(),
            settings.events,
            run.rows,
            run.seconds,
            events / run.seconds,
            run.cpu_seconds,
            events / run.cpu_seconds,
            rss
        );
        if settings.json {
            println!(
                "{}",
                serde_json::json!({
                    "bench": "nexmark", "query": query.name(), "events": settings.events,
                    "parallelism": settings.parallelism, "rows": run.rows,
                    "seconds": run.seconds, "events_per_s": events / run.seconds,
                    "cpu_seconds": run.cpu_seconds,
                    "events_per_s_per_core": events / run.cpu_seconds,
                    "peak_rss_bytes": run.peak_rss_bytes,
                })
            );
        }
    }
    Ok(())
}

fn run_query(
    query: Query,
    generator: &eddy_nexmark::NexmarkConfig,
    parallelism: u32,
    config: &Configuration,
) -> anyhow::Result<QueryRun> {
    let env = StreamExecutionEnvironment::with_configuration(config.clone());
    env.set_parallelism(parallelism);
    let rows = Arc::new(AtomicU64::new(0));
    add_query(
        query,
        &events(&env, generator, None),
        &ResultSink::Count(rows.clone()),
    );
    reset_peak_rss();
    let (start, cpu_start) = (Instant::now(), process_cpu_seconds());
    env.execute(&format!("Nexmark {}", query.name()))?;
    Ok(QueryRun {
        rows: rows.load(Ordering::Relaxed),
        seconds: start.elapsed().as_secs_f64(),
        cpu_seconds: process_cpu_seconds() - cpu_start,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Runs each query at `tps` events per second and prints its result latencies.
fn run_latency(
    settings: &NexmarkBenchSettings,
    queries: &[Query],
    tps: u64,
    config: &Configuration,
) -> anyhow::Result<()> {
    let rate = u32::try_from(tps)
        .ok()
        .filter(|&r| r > 0)
        .ok_or_else(|| anyhow::anyhow!("--tps must be between 1 and {}", u32::MAX))?;
    let generator = generator_config(settings.events, Some(rate), &settings.generator_options)?;
    println!(
        "eddy bench nexmark: {} events per query at {tps} events/s, parallelism {}; latency from an event's entry to the result row it completes leaving the sink",
        settings.events, settings.parallelism
    );
    println!(
        "{:<6} {:>10} {:>10} {:>12} {:>8} {:>8} {:>9} {:>8}",
        "query", "events", "rows", "events/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms"
    );
    for &query in queries {
        let env = StreamExecutionEnvironment::with_configuration(config.clone());
        env.set_parallelism(settings.parallelism);
        let recorder = LatencyRecorder::new(generator.base_time);
        add_query(
            query,
            &events_with_entry_clock(&env, &generator, tps, &recorder),
            &ResultSink::Latency(recorder.clone()),
        );
        let start = Instant::now();
        env.execute(&format!("Nexmark {}", query.name()))?;
        let seconds = start.elapsed().as_secs_f64();
        let ms = |q: f64| {
            recorder
                .quantile(q)
                .map_or("-".to_string(), |v| v.to_string())
        };
        println!(
            "{:<6} {:>10} {:>10} {:>12.0} {:>8} {:>8} {:>9} {:>8}",
            query.name(),
            settings.events,
            recorder.count() + recorder.untimed(),
            settings.events as f64 / seconds,
            ms(0.5),
            ms(0.99),
            ms(0.999),
            ms(1.0)
        );
        if settings.json {
            println!(
                "{}",
                serde_json::json!({
                    "bench": "nexmark-latency", "query": query.name(), "events": settings.events,
                    "tps": tps, "parallelism": settings.parallelism,
                    "rows": recorder.count() + recorder.untimed(),
                    "events_per_s": settings.events as f64 / seconds,
                    "p50_ms": recorder.quantile(0.5), "p99_ms": recorder.quantile(0.99),
                    "p999_ms": recorder.quantile(0.999), "max_ms": recorder.quantile(1.0),
                })
            );
        }
    }
    Ok(())
}

/// Resets the process's peak resident set size (Linux: `5` into `/proc/self/clear_refs`), so
/// that each query reports its own peak; elsewhere the peak keeps growing over the queries.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident set size (`VmHWM`), where the system reports it.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
