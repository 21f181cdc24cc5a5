//! Batches handed back to the task that produced them, so that the heap memory their records
//! own is freed by the thread that allocated it.
//!
//! A record that owns heap memory (a `String` key, a boxed event) is allocated by the producing
//! task's thread and, once moved through a channel, freed by the consuming task's. With the
//! process's allocator (mimalloc) such a free from another thread is an atomic push onto the
//! allocating page's list of remote frees; when a producer partitions its records over two or
//! more consumers, all of them push onto the same pages, and those pushes contend for the same
//! cache lines. That contention, not the partitioning, made a keyed exchange of string records
//! cost a quarter more CPU per record at parallelism 2 than at 1 (`eddy bench pipeline`).
//!
//! So a partitioned writer whose records need dropping lends each batch instead of giving it:
//! the consumer takes a copy (its own thread allocates it, and later frees it locally) and
//! hands the original back through the producer's [`ReturnedBatches`]; the producer drops what
//! came back each time it sends (Flink's network buffers go back to their pool likewise). A
//! copy and two local frees cost less than a contended remote free; with one consumer there is
//! no contention, and batches are moved as before.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

/// Batches (each a `Batch<T>` behind `dyn Any`) that consumers handed back to their producer.
#[derive(Default)]
pub struct ReturnedBatches {
    batches: Mutex<Vec<Box<dyn Any + Send>>>,
    /// Whether `batches` may hold something: the producer checks it without taking the lock.
    waiting: AtomicBool,
}

impl ReturnedBatches {
    /// An empty return place.
    pub fn new() -> Self {
        Self::default()
    }

    /// A consumer hands back a batch it has copied.
    pub fn give_back(&self, batch: Box<dyn Any + Send>) {
        self.batches.lock().push(batch);
        self.waiting.store(true, Ordering::Release);
    }

    /// The producer drops every batch handed back so far, on its own thread.
    #[inline]
    pub fn release(&self) {
        if self.waiting.load(Ordering::Acquire) {
            self.release_waiting();
        }
    }

    #[inline(never)]
    fn release_waiting(&self) {
        self.waiting.store(false, Ordering::Relaxed);
        let batches = std::mem::take(&mut *self.batches.lock());
        drop(batches);
    }

    /// Batches handed back and not yet released.
    pub fn len(&self) -> usize {
        self.batches.lock().len()
    }

    /// Whether no batch waits to be released.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn batches_given_back_by_other_threads_are_dropped_by_release() {
        let returns = Arc::new(ReturnedBatches::new());
        let marker = Arc::new(());
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (returns, marker) = (returns.clone(), marker.clone());
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        returns.give_back(Box::new(vec![marker.clone(), marker.clone()]));
                    }
                })
            })
            .collect();
        for consumer in consumers {
            consumer.join().unwrap();
        }
        assert_eq!(returns.len(), 20);
        assert_eq!(Arc::strong_count(&marker), 1 + 2 * 20);
        returns.release();
        assert!(returns.is_empty());
        assert_eq!(Arc::strong_count(&marker), 1);
        returns.give_back(Box::new(marker.clone()));
        returns.release();
        assert_eq!(Arc::strong_count(&marker), 1);
    }
}
