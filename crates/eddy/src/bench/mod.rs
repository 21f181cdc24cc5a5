//! Benchmark programs (not tests): they print events/s and their ratio to a plain loop.

pub mod checkpoints;
mod common;
pub mod large_state;
pub mod nexmark;
mod pipeline;
pub mod state;
pub mod windows;

use clap::Subcommand;

/// `eddy bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Stateless chain (source → map → filter → sink) and keyed reduce (source → key_by →
    /// reduce → sink) over u64 values and short strings, each beside the same computation as a
    /// plain single-threaded loop.
    Pipeline {
        /// Records per run.
        #[arg(long, default_value_t = 10_000_000)]
        records: u64,
        /// Parallelisms to run the engine at.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        parallelism: Vec<u32>,
        /// Rounds per case (each: one plain-loop run, then one engine run); medians are shown.
        #[arg(long, default_value_t = 5)]
        rounds: u32,
        /// Only these cases: stateless-u64, stateless-string, keyed-u64, keyed-string, keyed-string-ref (the string key lent with key_by_ref), keyed-u64-watermarks (keyed-u64 in event time with a watermark after every record), stateless-u64-watermarks (stateless-u64 likewise), keyed-process-u64-watermarks (a running sum per key in a keyed process function's value state, likewise), keyed-process-string (that running sum per string key, the key cloned by the selector).
        #[arg(long, value_delimiter = ',')]
        cases: Vec<String>,
        /// Also print one JSON object per result line.
        #[arg(long)]
        json: bool,
        /// Engine configuration, e.g. `-D taskmanager.network.batch-size=4096` (repeatable).
        #[arg(short = 'D', value_name = "KEY=VALUE")]
        dynamic_properties: Vec<String>,
    },
    /// Event-time window aggregation (count + sum per key): tumbling windows of 100 s and
    /// sliding windows of 100 s every 1 s, beside a keyed pass-through baseline over the same
    /// source (10 events per ms of event time, monotonous watermarks).
    Windows {
        /// Records per run.
        #[arg(long, default_value_t = 10_000_000)]
        records: u64,
        /// Distinct keys.
        #[arg(long, default_value_t = 1024)]
        keys: u64,
        /// Parallelism of the keyed operators (the source always runs at parallelism 1).
        #[arg(short = 'p', long, default_value_t = 1)]
        parallelism: u32,
        /// Rounds (each runs every case once); medians are shown.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// Run only this case (for profiling; no ratios are printed).
        #[arg(long, value_enum)]
        case: Option<windows::WindowCase>,
        /// Also print one JSON object per result line.
        #[arg(long)]
        json: bool,
        /// Engine configuration, e.g. `-D pipeline.auto-watermark-interval=50ms` (repeatable).
        #[arg(short = 'D', value_name = "KEY=VALUE")]
        dynamic_properties: Vec<String>,
    },
    /// Throughput with checkpoints every interval against none (keyed reduce, tumbling
    /// windows), checkpoint duration and size, the synchronous pause, and recovery time.
    Checkpoints {
        /// Records of the keyed-reduce runs.
        #[arg(long, default_value_t = 500_000_000)]
        records: u64,
        /// Records of the tumbling-window runs.
        #[arg(long, default_value_t = 300_000_000)]
        window_records: u64,
        /// Distinct keys of the window runs.
        #[arg(long, default_value_t = 1024)]
        keys: u64,
        /// Parallelism of the keyed operators.
        #[arg(short = 'p', long, default_value_t = 1)]
        parallelism: u32,
        /// Checkpoint interval in milliseconds.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        /// Rounds; medians are shown.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// Also print one JSON object per result line.
        #[arg(long)]
        json: bool,
        /// Engine configuration, e.g. `-D state.backend.type=rocksdb` (repeatable).
        #[arg(short = 'D', value_name = "KEY=VALUE")]
        dynamic_properties: Vec<String>,
    },
    /// Checkpoints of large keyed state (about 1 GiB) on each backend: throughput without
    /// checkpoints, with full and (RocksDB) incremental ones, checkpoint duration, bytes
    /// written against the full state, the synchronous pause, and recovery time.
    LargeState {
        /// Distinct keys.
        #[arg(long, default_value_t = 4 << 20)]
        keys: u64,
        /// Bytes of state per key.
        #[arg(long, default_value_t = 256)]
        value_bytes: usize,
        /// Records after the first write of every key (they overwrite the hot keys).
        #[arg(long, default_value_t = 4 << 20)]
        updates: u64,
        /// The share of keys (percent) the updates overwrite.
        #[arg(long, default_value_t = 10)]
        hot_percent: u64,
        /// Checkpoint interval in milliseconds.
        #[arg(long, default_value_t = 5000)]
        interval_ms: u64,
        /// The backends to run.
        #[arg(long, value_delimiter = ',', default_value = "hashmap,rocksdb")]
        backends: Vec<String>,
        /// Also print one JSON object per result line.
        #[arg(long)]
        json: bool,
        /// Engine configuration, e.g. `-D state.checkpoints.dir=s3://bucket/x` (repeatable).
        #[arg(short = 'D', value_name = "KEY=VALUE")]
        dynamic_properties: Vec<String>,
    },
    /// The Nexmark queries (q0-q5, q7, q8) over a bounded generated stream: events/s, events/s
    /// per core (events / process CPU seconds), result rows and peak resident memory.
    Nexmark {
        /// Only these queries (e.g. `q0,q5`); all by default.
        #[arg(long, value_delimiter = ',')]
        queries: Vec<String>,
        /// Events per query.
        #[arg(long, default_value_t = 10_000_000)]
        events: u64,
        /// Parallelism of every operator.
        #[arg(short = 'p', long, default_value_t = 1)]
        parallelism: u32,
        /// A generator option with Flink's nexmark key, e.g. `--nexmark bid.proportion=40`
        /// (repeatable).
        #[arg(long = "nexmark", value_name = "KEY=VALUE")]
        generator_options: Vec<String>,
        /// Also print one JSON object per query.
        #[arg(long)]
        json: bool,
        /// Feed the events at this rate (events per second; also the generator's event-time
        /// rate) and report the latency percentiles of the results instead of throughput.
        #[arg(long)]
        tps: Option<u64>,
        /// Engine configuration, e.g. `-D taskmanager.network.batch-size=4096` (repeatable).
        #[arg(short = 'D', value_name = "KEY=VALUE")]
        dynamic_properties: Vec<String>,
    },
    /// `ValueState` get + update per key on each keyed-state backend, beside a plain hash
    /// map, with the process's resident memory.
    State {
        /// Distinct keys (each loaded once, then read and updated at random).
        #[arg(long, default_value_t = 1_000_000)]
        keys: u64,
        /// Get + update operations after the load.
        #[arg(long, default_value_t = 5_000_000)]
        operations: u64,
        /// Backends to measure: hashmap, rocksdb (rocksdb needs a build with it).
        #[arg(long, value_delimiter = ',', default_value = "hashmap")]
        backends: Vec<String>,
        /// Also print one JSON object per result line.
        #[arg(long)]
        json: bool,
        /// Backend configuration, e.g. `-D state.backend.rocksdb.memory.fixed-per-slot=128mb`.
        #[arg(short = 'D', value_name = "KEY=VALUE")]
        dynamic_properties: Vec<String>,
    },
}

/// The engine configuration of a benchmark: its `-D key=value` overrides only (benchmarks
/// ignore `conf/config.yaml`).
fn engine_config(
    dynamic_properties: &[String],
) -> anyhow::Result<eddy_core::config::Configuration> {
    let mut config = eddy_core::config::Configuration::new();
    config.apply_dynamic_properties(dynamic_properties)?;
    Ok(config)
}

/// Runs a benchmark command.
pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Pipeline {
            records,
            parallelism,
            cases,
            rounds,
            json,
            dynamic_properties,
        } => {
            let config = engine_config(&dynamic_properties)?;
            pipeline::run(records, &parallelism, &cases, rounds, json, &config)
        }
        BenchCommand::Nexmark {
            queries,
            events,
            parallelism,
            generator_options,
            json,
            tps,
            dynamic_properties,
        } => {
            let config = engine_config(&dynamic_properties)?;
            let settings = nexmark::NexmarkBenchSettings {
                queries,
                events,
                parallelism,
                generator_options,
                json,
                tps,
            };
            nexmark::run(&settings, &config)
        }
        BenchCommand::Windows {
            records,
            keys,
            parallelism,
            rounds,
            case,
            json,
            dynamic_properties,
        } => {
            let config = engine_config(&dynamic_properties)?;
            let settings = windows::WindowBenchSettings {
                records,
                keys,
                parallelism,
                rounds,
                json,
            };
            match case {
                Some(case) => windows::run_single(case, &settings, &config),
                None => windows::run(&settings, &config),
            }
        }
        BenchCommand::Checkpoints {
            records,
            window_records,
            keys,
            parallelism,
            interval_ms,
            rounds,
            json,
            dynamic_properties,
        } => {
            let config = engine_config(&dynamic_properties)?;
            let settings = checkpoints::CheckpointBenchSettings {
                records,
                window_records,
                keys,
                parallelism,
                interval: std::time::Duration::from_millis(interval_ms.max(1)),
                rounds: rounds.max(1),
                json,
            };
            checkpoints::run(&settings, &config)
        }
        BenchCommand::LargeState {
            keys,
            value_bytes,
            updates,
            hot_percent,
            interval_ms,
            backends,
            json,
            dynamic_properties,
        } => {
            let config = engine_config(&dynamic_properties)?;
            let settings = large_state::LargeStateSettings {
                keys,
                value_bytes,
                updates,
                hot_percent,
                interval: std::time::Duration::from_millis(interval_ms.max(1)),
                backends,
                json,
            };
            large_state::run(&settings, &config)
        }
        BenchCommand::State {
            keys,
            operations,
            backends,
            json,
            dynamic_properties,
        } => {
            let config = engine_config(&dynamic_properties)?;
            let backends = backends
                .iter()
                .map(|name| {
                    <eddy_core::config::StateBackendType as eddy_core::config::ConfigValue>::parse_config(name)
                        .map_err(|reason| anyhow::anyhow!("--backends {name}: {reason}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let settings = state::StateBenchSettings {
                keys,
                operations,
                backends,
                json,
            };
            state::run(&settings, &config)
        }
    }
}
