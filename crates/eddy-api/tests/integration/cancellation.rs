//! Cancelling unbounded jobs (running, backpressured, idle, or still waiting for slots) and
//! collecting a prefix of an unbounded stream.

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{bounded, env, env_with};
use eddy_api::core::Batch;
use eddy_api::prelude::*;

/// Polling interval and maximum number of polls while waiting for a condition (the loop is
/// bounded; the watchdog in `bounded` catches anything else).
const POLL: Duration = Duration::from_millis(10);
const MAX_POLLS: usize = 2_000;

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..MAX_POLLS {
        if condition() {
            return;
        }
        std::thread::sleep(POLL);
    }
    panic!("gave up waiting until {what}");
}

/// Cancels a running job and checks it ends CANCELED.
fn cancel_and_check(client: &JobClient) {
    client.cancel().unwrap();
    match client.get_job_execution_result() {
        Err(JobError::Canceled { job_id }) => assert_eq!(job_id, client.job_id()),
        other => panic!("expected the job to be cancelled, got {other:?}"),
    }
    assert_eq!(client.get_job_status().unwrap(), JobStatus::Canceled);
}

/// Counts the records it receives.
#[derive(Clone)]
struct CountingSink {
    seen: Arc<AtomicU64>,
    delay_per_batch: Duration,
}

impl SinkFunction<u64> for CountingSink {
    fn invoke(&mut self, _value: u64, _ctx: &SinkContext) -> FnResult<()> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn invoke_batch(&mut self, batch: Batch<u64>) -> FnResult<()> {
        std::thread::sleep(self.delay_per_batch);
        self.seen.fetch_add(batch.len() as u64, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_running_unbounded_job_is_cancelled() {
    bounded(|| {
        let env = env(2);
        let seen = Arc::new(AtomicU64::new(0));
        env.from_generator(None, Some(2_000), |i| i)
            .rebalance()
            .map(|x| x + 1)
            .add_sink(CountingSink {
                seen: seen.clone(),
                delay_per_batch: Duration::ZERO,
            });
        let client = env.execute_async("unbounded").unwrap();
        wait_until("the job is RUNNING", || {
            client.get_job_status().unwrap() == JobStatus::Running
        });
        wait_until("records reach the sink", || seen.load(Ordering::SeqCst) > 0);
        assert_eq!(client.get_job_status().unwrap(), JobStatus::Running);
        cancel_and_check(&client);
    });
}

#[test]
fn a_backpressured_job_is_cancelled() {
    // The source blocks on a full channel most of the time; cancellation must still reach it.
    bounded(|| {
        let env = env(1);
        env.set_config("taskmanager.network.batch-size", "8");
        let seen = Arc::new(AtomicU64::new(0));
        env.from_generator(None, None, |i| i)
            .add_sink(CountingSink {
                seen: seen.clone(),
                delay_per_batch: Duration::from_millis(20),
            })
            .disable_chaining();
        let client = env.execute_async("backpressured").unwrap();
        wait_until("records reach the slow sink", || {
            seen.load(Ordering::SeqCst) > 0
        });
        cancel_and_check(&client);
    });
}

/// A source that never emits anything and never ends.
#[derive(Clone)]
struct IdleSource;

impl SourceFunction<u64> for IdleSource {
    fn poll_next(&mut self, _out: &mut SourceOutput<'_, u64>) -> FnResult<SourceStatus> {
        Ok(SourceStatus::NothingAvailable(Duration::from_secs(3600)))
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::ContinuousUnbounded
    }
}

#[test]
fn an_idle_unbounded_job_is_cancelled() {
    bounded(|| {
        let env = env(2);
        env.add_source(IdleSource).map(|x| x * 2).discard();
        let client = env.execute_async("idle").unwrap();
        wait_until("the job is RUNNING", || {
            client.get_job_status().unwrap() == JobStatus::Running
        });
        cancel_and_check(&client);
    });
}

#[test]
fn a_job_waiting_for_slots_is_cancelled() {
    bounded(|| {
        let mut config = Configuration::new();
        config.set_string("taskmanager.numberOfTaskSlots", "1");
        // The default slot.request.timeout (5 min) would outlast the test: cancel first.
        let env = env_with(config, 4);
        env.from_sequence(1, 10).discard();
        let client = env.execute_async("waiting").unwrap();
        assert_eq!(client.get_job_status().unwrap(), JobStatus::Created);
        cancel_and_check(&client);
    });
}

#[test]
fn collect_limit_returns_the_first_elements_of_an_unbounded_stream() {
    let out = bounded(|| {
        // Parallelism 1 everywhere: the generator emits 0, 1, 2, … in order.
        let env = env(1);
        env.from_generator(None, None, |i| i * 3)
            .execute_and_collect_limit("limit", 100)
            .unwrap()
    });
    let expected: Vec<u64> = (0..100u64).map(|i| i * 3).collect();
    assert_eq!(out, expected);
}

#[test]
fn collect_limit_after_a_filter_returns_the_first_matching_elements() {
    let out = bounded(|| {
        let env = env(1);
        env.from_generator(None, Some(100_000), |i| i)
            .filter(|x| x % 7 == 0)
            .map(|x| x.to_string())
            .execute_and_collect_limit("limit-filter", 50)
            .unwrap()
    });
    // The first 50 multiples of 7, starting at 0.
    let expected: Vec<String> = (0..50u64).map(|i| (i * 7).to_string()).collect();
    assert_eq!(out, expected);
}

#[test]
fn collect_limit_on_a_bounded_stream_shorter_than_the_limit_returns_everything() {
    let out = bounded(|| {
        let env = env(1);
        env.from_elements(vec![5u64, 4, 3])
            .execute_and_collect_limit("short", 10)
            .unwrap()
    });
    assert_eq!(out, vec![5, 4, 3]);
}
