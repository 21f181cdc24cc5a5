//! How many records a batch between tasks holds: `taskmanager.network.batch-size` records
//! (1024), or, while that key is unset, as many small records as fill
//! `taskmanager.memory.segment-size` (32 KiB), at most 8192.

use crate::common;

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use common::{bounded, env_with};
use eddy_api::core::Batch;
use eddy_api::prelude::*;

const TOTAL: u64 = 10_000;

/// A non-parallel source filling every batch it is given with `make(0..TOTAL)`.
#[derive(Clone)]
struct FillingSource<T> {
    next: u64,
    make: fn(u64) -> T,
}

impl<T: Data> SourceFunction<T> for FillingSource<T> {
    fn poll_next(&mut self, out: &mut SourceOutput<'_, T>) -> FnResult<SourceStatus> {
        if self.next >= TOTAL {
            return Ok(SourceStatus::Finished);
        }
        let n = (out.remaining().max(1) as u64).min(TOTAL - self.next);
        for i in self.next..self.next + n {
            out.collect((self.make)(i));
        }
        self.next += n;
        Ok(SourceStatus::MoreAvailable)
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

/// Records the length of every batch that arrives over its network channel.
#[derive(Clone)]
struct BatchLengths<T> {
    lengths: Arc<Mutex<Vec<usize>>>,
    _records: PhantomData<fn(T)>,
}

impl<T: Data> SinkFunction<T> for BatchLengths<T> {
    fn invoke(&mut self, _value: T, _ctx: &SinkContext) -> FnResult<()> {
        self.lengths.lock().unwrap().push(1);
        Ok(())
    }

    fn invoke_batch(&mut self, batch: Batch<T>) -> FnResult<()> {
        self.lengths.lock().unwrap().push(batch.len());
        Ok(())
    }
}

/// The lengths of the batches a source → sink job moves between its two tasks, in order.
fn batch_lengths<T: Data>(settings: &[(&str, &str)], make: fn(u64) -> T) -> Vec<usize> {
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    bounded(move || {
        let env = env_with(Configuration::new(), 1);
        for (key, value) in &settings {
            env.set_config(key, value);
        }
        let lengths = Arc::new(Mutex::new(Vec::new()));
        env.add_source(FillingSource { next: 0, make })
            .add_sink(BatchLengths {
                lengths: lengths.clone(),
                _records: PhantomData,
            })
            .set_parallelism(1)
            .disable_chaining();
        env.execute("batch sizes").unwrap();
        let lengths = lengths.lock().unwrap().clone();
        lengths
    })
}

/// `TOTAL` records in full batches of `size` and the rest.
fn batches_of(size: usize) -> Vec<usize> {
    let total = TOTAL as usize;
    let mut expected = vec![size; total / size];
    if !total.is_multiple_of(size) {
        expected.push(total % size);
    }
    expected
}

#[test]
fn batches_of_small_records_fill_a_segment_unless_the_batch_size_is_set() {
    // 8-byte records: 32 KiB hold 4096.
    assert_eq!(batch_lengths(&[], |i| i), vec![4096, 4096, 1808]);
    assert_eq!(
        batch_lengths(&[("taskmanager.memory.segment-size", "64kb")], |i| i),
        vec![8192, 1808]
    );
    // At most 8192 records, however small.
    assert_eq!(
        batch_lengths(&[("taskmanager.memory.segment-size", "1mb")], |i| i as u8),
        vec![8192, 1808]
    );
    // A string is 24 bytes (its characters not counted): 1365 of them fill 32 KiB.
    assert_eq!(batch_lengths(&[], |i| i.to_string()), batches_of(1365));
}

#[test]
fn an_explicit_batch_size_fixes_the_count_and_large_records_keep_it() {
    assert_eq!(
        batch_lengths(&[("taskmanager.network.batch-size", "1024")], |i| i),
        batches_of(1024)
    );
    assert_eq!(
        batch_lengths(&[("taskmanager.network.batch-size", "3000")], |i| i),
        vec![3000, 3000, 3000, 1000]
    );
    // 64-byte records: a segment holds 512, fewer than the batch size.
    assert_eq!(batch_lengths(&[], |i| [i; 8]), batches_of(1024));
}
