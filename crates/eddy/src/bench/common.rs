//! Helpers shared by the benchmark programs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use eddy_api::prelude::*;

/// Counts what reaches it, once per batch.
#[derive(Clone)]
pub struct CountingSink(pub Arc<AtomicU64>);

impl<T: Send + 'static> SinkFunction<T> for CountingSink {
    fn invoke(&mut self, _value: T, _ctx: &SinkContext) -> FnResult<()> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn invoke_batch(&mut self, batch: eddy_core::Batch<T>) -> FnResult<()> {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// The median of a non-empty list.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The `p` quantile (0..=1) of `values` (0 when there are none).
pub fn quantile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// The CPU time (user + system) the whole process, all its threads, has used so far.
pub fn process_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
