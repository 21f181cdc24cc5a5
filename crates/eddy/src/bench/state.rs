//! `eddy bench state`: `ValueState` get + update per key on each keyed-state backend, beside
//! the same operations on a plain hash map, with the process's resident memory.
//!
//! Each backend first loads every key once (an update per key, in a scrambled order), then
//! runs the operations: a pseudo-random key, its value read, incremented and written back.
//! The values are read back at the end and checked against the counts the plain map holds.

use std::time::Instant;

use rustc_hash::FxHashMap;

use eddy_core::config::{
    Configuration, StateBackendType, ROCKSDB_LOCAL_DIR, ROCKSDB_TIMER_SERVICE_FACTORY,
};
use eddy_core::FnResult;
use eddy_functions::RuntimeContext;
use eddy_runtime::state_backend::{check_state_backend_built, open_keyed_state_backend};
use eddy_state::{
    rocksdb_slot_budget, rocksdb_write_buffer_size, KeyedState, KeyedStateBackend, Namespace,
    StateBackendConfig, ValueStateDescriptor,
};

/// What to run.
#[derive(Debug, Clone)]
pub struct StateBenchSettings {
    /// Distinct keys.
    pub keys: u64,
    /// Get + update operations after the load.
    pub operations: u64,
    /// The backends to measure.
    pub backends: Vec<StateBackendType>,
    /// Also print one JSON object per result line.
    pub json: bool,
}

/// A pseudo-random walk over `0..keys` (SplitMix64), the same for every backend.
struct Keys {
    state: u64,
    keys: u64,
}

impl Keys {
    fn new(keys: u64) -> Self {
        Keys { state: 42, keys }
    }

    #[inline]
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % self.keys
    }
}

/// The `i`-th key of the load: every key once, scrambled (a multiplication by an odd constant
/// modulo a power of two is a bijection; keys beyond `keys` are skipped).
fn load_order(keys: u64) -> impl Iterator<Item = u64> {
    let span = keys.next_power_of_two();
    (0..span)
        .map(move |i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & (span - 1))
        .filter(move |&k| k < keys)
}

/// Resident and peak resident memory of this process, MiB (Linux; zeros elsewhere).
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Load and operation rates of one run, ops/s.
struct Rates {
    load: f64,
    operations: f64,
}

fn plain_map(settings: &StateBenchSettings) -> (Rates, FxHashMap<u64, u64>) {
    let mut map: FxHashMap<u64, u64> = FxHashMap::default();
    let started = Instant::now();
    for key in load_order(settings.keys) {
        map.insert(key, 1);
    }
    let load = settings.keys as f64 / started.elapsed().as_secs_f64();
    let mut keys = Keys::new(settings.keys);
    let started = Instant::now();
    for _ in 0..settings.operations {
        let key = keys.next();
        let value = map.get(&key).copied().unwrap_or(0);
        map.insert(key, value + 1);
    }
    let operations = settings.operations as f64 / started.elapsed().as_secs_f64();
    (Rates { load, operations }, map)
}

fn on_backend(
    backend: &mut KeyedStateBackend<u64>,
    settings: &StateBenchSettings,
    expected: &FxHashMap<u64, u64>,
) -> FnResult<Rates> {
    let counter = ValueStateDescriptor::<u64>::new("counter");
    let started = Instant::now();
    for key in load_order(settings.keys) {
        KeyedState::new(backend, &key, Namespace::Global)
            .value(&counter)?
            .update(1)?;
    }
    let load = settings.keys as f64 / started.elapsed().as_secs_f64();
    let mut keys = Keys::new(settings.keys);
    let started = Instant::now();
    for _ in 0..settings.operations {
        let key = keys.next();
        let mut state = KeyedState::new(backend, &key, Namespace::Global).value(&counter)?;
        let value = state.value()?.unwrap_or(0);
        state.update(value + 1)?;
    }
    let operations = settings.operations as f64 / started.elapsed().as_secs_f64();
    for key in 0..settings.keys {
        let got = KeyedState::new(backend, &key, Namespace::Global)
            .value(&counter)?
            .value()?;
        if got != expected.get(&key).copied() {
            return Err(format!(
                "key {key} holds {got:?}, the plain map {:?}",
                expected.get(&key)
            )
            .into());
        }
    }
    Ok(Rates { load, operations })
}

fn backend_config(
    backend: StateBackendType,
    config: &Configuration,
) -> anyhow::Result<StateBackendConfig> {
    Ok(StateBackendConfig {
        backend,
        local_dir: config.get(&ROCKSDB_LOCAL_DIR)?.into_owned(),
        // The benchmark's one instance has a slot to itself.
        memory_budget: rocksdb_slot_budget(config, 1)?,
        slot: None,
        timer_service: config.get(&ROCKSDB_TIMER_SERVICE_FACTORY)?,
        write_buffer_size: rocksdb_write_buffer_size(config)?,
    })
}

/// Runs the benchmark and prints one line per backend.
pub fn run(settings: &StateBenchSettings, config: &Configuration) -> anyhow::Result<()> {
    anyhow::ensure!(settings.keys > 0, "--keys must be at least 1");
    for &backend in &settings.backends {
        check_state_backend_built(backend)
            .map_err(|reason| anyhow::anyhow!("cannot measure {backend:?}: {reason}"))?;
    }
    println!(
        "eddy bench state: ValueState<u64> get + update, {} keys, {} operations after the load",
        settings.keys, settings.operations
    );
    println!(
        "{:<10} {:>14} {:>16} {:>10} {:>10} {:>10}",
        "backend", "load ops/s", "get+update/s", "vs map", "rss MiB", "peak MiB"
    );
    let (baseline, expected) = plain_map(settings);
    let (rss, peak) = memory_mib();
    print_row("plain map", &baseline, 1.0, rss, peak, settings.json);
    drop(expected);
    for &backend in &settings.backends {
        let (_, expected) = plain_map(settings);
        let ctx = RuntimeContext::for_testing(0, 1);
        let mut state = open_keyed_state_backend::<u64>(&backend_config(backend, config)?, &ctx)
            .map_err(|e| anyhow::anyhow!("opening the {backend:?} backend: {e}"))?;
        let rates = on_backend(&mut state, settings, &expected)
            .map_err(|e| anyhow::anyhow!("{backend:?}: {e}"))?;
        let (rss, peak) = memory_mib();
        let label = match backend {
            StateBackendType::HashMap => "hashmap",
            StateBackendType::RocksDb => "rocksdb",
        };
        print_row(
            label,
            &rates,
            rates.operations / baseline.operations,
            rss,
            peak,
            settings.json,
        );
    }
    Ok(())
}

fn print_row(label: &str, rates: &Rates, ratio: f64, rss: f64, peak: f64, json: bool) {
    println!(
        "{label:<10} {:>14.0} {:>16.0} {ratio:>10.3} {rss:>10.0} {peak:>10.0}",
        rates.load, rates.operations
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "backend": label,
                "load_ops_per_s": rates.load,
                "get_update_ops_per_s": rates.operations,
                "vs_plain_map": ratio,
                "rss_mib": rss,
                "peak_rss_mib": peak,
            })
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_visits_every_key_once() {
        for keys in [1, 5, 1000, 1025] {
            let mut seen: Vec<u64> = load_order(keys).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..keys).collect::<Vec<_>>(), "{keys} keys");
        }
    }

    #[test]
    fn a_small_run_agrees_with_the_plain_map_on_the_heap() {
        let settings = StateBenchSettings {
            keys: 100,
            operations: 1000,
            backends: vec![StateBackendType::HashMap],
            json: false,
        };
        let (_, expected) = plain_map(&settings);
        assert_eq!(expected.values().sum::<u64>(), 100 + 1000);
        let mut backend = KeyedStateBackend::<u64>::heap();
        on_backend(&mut backend, &settings, &expected).unwrap();
    }
}
