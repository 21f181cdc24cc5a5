//! The counting job of the recovery and savepoint tests: generated numbers keyed by `i % 7`,
//! a running count per key in keyed state, and an exactly-once collecting sink; its complete
//! output is known in advance ([`reference`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_api::prelude::*;

use super::checkpointed::{CheckpointedCollectSink, FailOnce};

/// Keys of the counting job.
pub const KEYS: u64 = 7;

/// `(key, running count of the key)` after each record of `0..records`, sorted.
pub fn reference(records: u64) -> Vec<(u64, u64)> {
    let mut counts = [0u64; KEYS as usize];
    let mut out: Vec<(u64, u64)> = (0..records)
        .map(|i| {
            let key = i % KEYS;
            counts[key as usize] += 1;
            (key, counts[key as usize])
        })
        .collect();
    out.sort_unstable();
    out
}

/// A running count per key in keyed state; `probe` may fail it.
#[derive(Clone)]
pub struct RunningCount {
    /// Its keyed state.
    pub count: ValueStateDescriptor<u64>,
    /// What may fail it, and counts its records.
    pub probe: FailOnce,
}

impl KeyedProcessFunction<u64, u64, (u64, u64)> for RunningCount {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, (u64, u64)>,
    ) -> FnResult<()> {
        self.probe.check()?;
        let mut count = ctx.state().value(&self.count)?;
        let next = count.value()?.unwrap_or(0) + 1;
        count.update(next)?;
        out.collect((value % KEYS, next));
        Ok(())
    }

    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        self.probe.opened();
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> FnResult<()> {
        self.probe.checkpoint_completed()
    }
}

/// The environment of the recovery tests: checkpoints every 20 ms into `dir`, fixed-delay
/// restarts 10 ms apart.
pub fn checkpointed_env(
    dir: &std::path::Path,
    parallelism: u32,
    attempts: u32,
) -> StreamExecutionEnvironment {
    checkpointed_env_in(dir.to_str().unwrap(), parallelism, attempts)
}

/// [`checkpointed_env`] with checkpoints in `directory` (a path or a URL such as `s3://…`).
pub fn checkpointed_env_in(
    directory: &str,
    parallelism: u32,
    attempts: u32,
) -> StreamExecutionEnvironment {
    let env = super::env(parallelism);
    env.enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_storage(directory)
        .set_config("restart-strategy.type", "fixed-delay")
        .set_config(
            "restart-strategy.fixed-delay.attempts",
            &attempts.to_string(),
        )
        .set_config("restart-strategy.fixed-delay.delay", "10 ms");
    env
}

/// Adds generator(records, rate) → key_by → running count (which `probe` may fail) →
/// checkpointed collect sink to `env`; returns what the sink will hand over.
pub fn add_counting_job(
    env: &StreamExecutionEnvironment,
    records: u64,
    rate: u64,
    probe: FailOnce,
) -> Arc<Mutex<Vec<(u64, u64)>>> {
    let (sink, published) = CheckpointedCollectSink::new();
    env.from_generator(Some(records), Some(rate), |i| i)
        .key_by(|i: &u64| i % KEYS)
        .process(RunningCount {
            count: ValueStateDescriptor::new("count"),
            probe,
        })
        .add_sink(sink);
    published
}

/// Runs the counting job (see [`add_counting_job`]) to its end. Returns the job's outcome and
/// what the sink handed over, sorted.
pub fn run_counting_job(
    env: &StreamExecutionEnvironment,
    records: u64,
    rate: u64,
    probe: FailOnce,
) -> (Result<JobExecutionResult, JobError>, Vec<(u64, u64)>) {
    let published = add_counting_job(env, records, rate, probe);
    let result = env.execute("failover");
    let mut output = published.lock().unwrap().clone();
    output.sort_unstable();
    (result, output)
}
