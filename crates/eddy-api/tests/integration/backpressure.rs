//! Backpressure: a slow sink behind a fast source keeps the number of records in flight
//! bounded by the network configuration, and no record is lost or duplicated.

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{bounded, env_with};
use eddy_api::core::Batch;
use eddy_api::prelude::*;

/// A non-parallel source emitting `0..total` as fast as it may, counting every emitted record.
#[derive(Clone)]
struct CountingSource {
    total: u64,
    next: u64,
    emitted: Arc<AtomicU64>,
}

impl SourceFunction<u64> for CountingSource {
    fn poll_next(&mut self, out: &mut SourceOutput<'_, u64>) -> FnResult<SourceStatus> {
        if self.next >= self.total {
            return Ok(SourceStatus::Finished);
        }
        let n = (out.remaining().max(1) as u64).min(self.total - self.next);
        for _ in 0..n {
            out.collect(self.next);
            self.next += 1;
            self.emitted.fetch_add(1, Ordering::SeqCst);
        }
        Ok(SourceStatus::MoreAvailable)
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

/// What the slow sink observed.
#[derive(Default)]
struct Observed {
    consumed: u64,
    max_in_flight: u64,
    values: Vec<u64>,
}

/// Sleeps about 1 ms per batch; before consuming each record, records how many records the
/// source has emitted that the sink has not consumed yet.
#[derive(Clone)]
struct SlowSink {
    emitted: Arc<AtomicU64>,
    observed: Arc<Mutex<Observed>>,
}

impl SinkFunction<u64> for SlowSink {
    fn invoke(&mut self, value: u64, _ctx: &SinkContext) -> FnResult<()> {
        let mut observed = self.observed.lock().unwrap();
        let in_flight = self.emitted.load(Ordering::SeqCst) - observed.consumed;
        observed.max_in_flight = observed.max_in_flight.max(in_flight);
        observed.consumed += 1;
        observed.values.push(value);
        Ok(())
    }

    fn invoke_batch(&mut self, batch: Batch<u64>) -> FnResult<()> {
        std::thread::sleep(Duration::from_millis(1));
        for record in batch.into_records() {
            self.invoke(record.value, &SinkContext::new(record.timestamp))?;
        }
        Ok(())
    }
}

/// The network settings under test.
#[derive(Clone, Copy)]
struct Network {
    batch_size: u64,
    buffers_per_channel: u64,
    floating_buffers_per_gate: u64,
}

fn run(network: Network, total: u64) -> Observed {
    bounded(move || {
        let env = env_with(Configuration::new(), 1);
        env.set_config(
            "taskmanager.network.batch-size",
            &network.batch_size.to_string(),
        );
        env.set_config(
            "taskmanager.network.memory.buffers-per-channel",
            &network.buffers_per_channel.to_string(),
        );
        env.set_config(
            "taskmanager.network.memory.floating-buffers-per-gate",
            &network.floating_buffers_per_gate.to_string(),
        );
        let emitted = Arc::new(AtomicU64::new(0));
        let observed = Arc::new(Mutex::new(Observed::default()));
        env.add_source(CountingSource {
            total,
            next: 0,
            emitted: emitted.clone(),
        })
        .add_sink(SlowSink {
            emitted,
            observed: observed.clone(),
        })
        .set_parallelism(1)
        // A network channel between source and sink, so that the bounded queue applies.
        .disable_chaining();
        assert_eq!(env.get_job_graph("backpressure").unwrap().edges.len(), 1);
        env.execute("backpressure").unwrap();
        let mut guard = observed.lock().unwrap();
        std::mem::take(&mut *guard)
    })
}

fn assert_bounded_and_complete(network: Network) {
    let total = 5_000;
    let observed = run(network, total);
    let Network {
        batch_size,
        buffers_per_channel,
        floating_buffers_per_gate,
    } = network;

    // Every record arrived exactly once, in order (one producer, one FIFO channel).
    assert_eq!(observed.values, (0..total).collect::<Vec<_>>());
    assert_eq!(observed.consumed, total);

    // Records the source emitted but the sink has not consumed can only be in:
    // - the queued batches of the sink's input channel: its buffers_per_channel exclusive
    //   batches, plus the floating_buffers_per_gate batches the inbox shares among its channels
    //   (all of them available to this single channel);
    // - the producer's pending batch (the source's output batch being filled);
    // - the batch being sent while the producer is blocked on the full channel;
    // - the batch the sink is consuming right now.
    // Hence the +3.
    let bound = batch_size * (buffers_per_channel + floating_buffers_per_gate + 3);
    assert!(
        observed.max_in_flight <= bound,
        "batch size {batch_size}, {buffers_per_channel} buffers per channel, \
         {floating_buffers_per_gate} floating: {} records in flight, bound {bound}",
        observed.max_in_flight
    );
    // When the sink consumes the first record, the source has emitted at least that whole
    // batch, so the measurement did observe records in flight.
    assert!(observed.max_in_flight >= batch_size.min(total));
}

#[test]
fn a_slow_sink_bounds_records_in_flight_with_small_batches() {
    assert_bounded_and_complete(Network {
        batch_size: 16,
        buffers_per_channel: 2,
        floating_buffers_per_gate: 0,
    });
}

#[test]
fn the_bound_follows_the_configuration() {
    assert_bounded_and_complete(Network {
        batch_size: 32,
        buffers_per_channel: 4,
        floating_buffers_per_gate: 3,
    });
}
