//! A source that emits the elements of an in-memory collection (Flink's `fromCollection` /
//! `fromElements`).

use std::sync::{Arc, Mutex, PoisonError};

use eddy_core::functions::{
    Boundedness, RuntimeContext, SourceFunction, SourceOutput, SourceStatus,
};
use eddy_core::FnResult;

/// A non-parallel, bounded source that emits the given elements in order.
///
/// The elements are shared behind an `Arc`, so cloning the source (which the runtime does once
/// per subtask) is cheap; each element is cloned as it is emitted.
///
/// The shared slice sits behind a `Mutex` (locked once per poll, never contended in practice)
/// because a plain `Arc<[T]>` is only `Send` when `T: Sync`, and stream elements are only
/// required to be `Send`.
#[derive(Debug)]
pub struct CollectionSource<T> {
    elements: Arc<Mutex<Box<[T]>>>,
    len: usize,
    position: usize,
}

impl<T> Clone for CollectionSource<T> {
    fn clone(&self) -> Self {
        CollectionSource {
            elements: Arc::clone(&self.elements),
            len: self.len,
            position: self.position,
        }
    }
}

impl<T: Clone + Send + 'static> CollectionSource<T> {
    /// A source emitting `elements` in order.
    pub fn new(elements: Vec<T>) -> Self {
        CollectionSource {
            len: elements.len(),
            elements: Arc::new(Mutex::new(elements.into_boxed_slice())),
            position: 0,
        }
    }

    /// How many elements the source emits in total.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the source emits nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: Clone + Send + 'static> SourceFunction<T> for CollectionSource<T> {
    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        self.position = 0;
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, T>) -> FnResult<SourceStatus> {
        if self.position >= self.len {
            return Ok(SourceStatus::Finished);
        }
        // The slice is never mutated, so a panic in another holder's `T::clone` leaves it intact.
        let elements = self.elements.lock().unwrap_or_else(PoisonError::into_inner);
        let n = (self.len - self.position).min(out.remaining().max(1));
        for element in &elements[self.position..self.position + n] {
            out.collect(element.clone());
        }
        self.position += n;
        Ok(SourceStatus::MoreAvailable)
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{run_parallel, run_subtask, CAPACITY};
    use eddy_core::Batch;

    #[test]
    fn emits_all_elements_in_order() {
        let source = CollectionSource::new(vec!["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(
            run_subtask(&source, 0, 1).unwrap(),
            vec!["a", "b", "c", "d", "e", "f", "g"]
        );
        assert!(!source.is_parallel());
        assert_eq!(source.boundedness(), Boundedness::Bounded);
        assert_eq!(source.len(), 7);
    }

    #[test]
    fn empty_collection_finishes_immediately() {
        let source = CollectionSource::<u8>::new(Vec::new());
        assert!(source.is_empty());
        assert_eq!(run_parallel(&source, 1).unwrap(), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn emits_at_most_remaining_per_poll() {
        let mut source = CollectionSource::new((1..=7).collect::<Vec<u32>>());
        let mut batch: Batch<u32> = Batch::new();
        let mut batches = Vec::new();
        loop {
            let mut out = SourceOutput::new(&mut batch, CAPACITY);
            let status = source.poll_next(&mut out).unwrap();
            if status == SourceStatus::Finished {
                break;
            }
            assert_eq!(status, SourceStatus::MoreAvailable);
            batches.push(std::mem::take(&mut batch).into_values());
        }
        assert_eq!(batches, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    }

    #[test]
    fn works_for_send_but_not_sync_elements() {
        let source = CollectionSource::new(vec![std::cell::Cell::new(1), std::cell::Cell::new(2)]);
        let values = run_subtask(&source, 0, 1).unwrap();
        assert_eq!(
            values.iter().map(|c| c.get()).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn clones_share_elements_and_start_over_on_open() {
        let source = CollectionSource::new(vec![String::from("x"), String::from("y")]);
        let first = run_subtask(&source, 0, 1).unwrap();
        let second = run_subtask(&source, 0, 1).unwrap();
        assert_eq!(first, vec!["x", "y"]);
        assert_eq!(second, first);
    }
}
