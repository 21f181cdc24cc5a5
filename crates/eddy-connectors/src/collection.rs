//! A source that emits the elements of an in-memory collection (Flink's `fromCollection` /
//! `fromElements`).

use std::sync::{Arc, Mutex, PoisonError};

use eddy_core::FnResult;
use eddy_functions::{Boundedness, RuntimeContext, SourceFunction, SourceOutput, SourceStatus};
use eddy_state::ListStateDescriptor;

use crate::splits::{IndexSplit, IndexSplits};

/// The operator state holding the collection source's position.
const SPLITS_STATE: &str = "collection-source-position";

/// A non-parallel, bounded source that emits the given elements in order.
///
/// The elements are shared behind an `Arc`, so cloning the source (which the runtime does once
/// per subtask) is cheap; each element is cloned as it is emitted.
///
/// The shared slice sits behind a `Mutex` (locked once per poll, never contended in practice)
/// because a plain `Arc<[T]>` is only `Send` when `T: Sync`, and stream elements are only
/// required to be `Send`.
///
/// Its position is operator state: a restored source continues after the last element it had
/// emitted at the snapshot.
#[derive(Debug)]
pub struct CollectionSource<T> {
    elements: Arc<Mutex<Box<[T]>>>,
    len: usize,
    /// The indexes still to emit.
    remaining: IndexSplits,
    /// The position restored in `initialize_state` (`None`: start at the first element).
    restored: Option<Vec<IndexSplit>>,
}

impl<T> Clone for CollectionSource<T> {
    fn clone(&self) -> Self {
        CollectionSource {
            elements: Arc::clone(&self.elements),
            len: self.len,
            remaining: self.remaining.clone(),
            restored: self.restored.clone(),
        }
    }
}

impl<T: Clone + Send + 'static> CollectionSource<T> {
    /// A source emitting `elements` in order.
    pub fn new(elements: Vec<T>) -> Self {
        CollectionSource {
            len: elements.len(),
            remaining: IndexSplits::new(vec![IndexSplit::range(0, elements.len() as u128)]),
            elements: Arc::new(Mutex::new(elements.into_boxed_slice())),
            restored: None,
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

impl<T: Clone + Send + 'static> CollectionSource<T> {
    fn descriptor() -> ListStateDescriptor<IndexSplit> {
        ListStateDescriptor::new(SPLITS_STATE)
    }
}

impl<T: Clone + Send + 'static> SourceFunction<T> for CollectionSource<T> {
    split_state_hooks!(|this| this.remaining.to_vec());

    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        let splits = self
            .restored
            .take()
            .unwrap_or_else(|| vec![IndexSplit::range(0, self.len as u128)]);
        if let Some(beyond) = splits.iter().find(|s| {
            s.stride != 1
                || s.remaining
                    .is_none_or(|n| u128::from(s.next) + n > self.len as u128)
        }) {
            return Err(format!(
                "collection source: the restored position {beyond:?} lies beyond the {} \
                 elements of the collection; was the job changed to another collection?",
                self.len
            )
            .into());
        }
        self.remaining = IndexSplits::new(splits);
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, T>) -> FnResult<SourceStatus> {
        if self.remaining.is_finished() {
            return Ok(SourceStatus::Finished);
        }
        let run = self.remaining.take(out.remaining().max(1) as u64);
        // The slice is never mutated, so a panic in another holder's `T::clone` leaves it intact.
        let elements = self.elements.lock().unwrap_or_else(PoisonError::into_inner);
        // `open` checked that every run lies within the slice.
        let start = run.first as usize;
        for element in &elements[start..start + run.len as usize] {
            out.collect(element.clone());
        }
        Ok(SourceStatus::MoreAvailable)
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{
        restore_and_run, run_and_snapshot, run_parallel, run_subtask, run_with_restore, CAPACITY,
    };
    use eddy_core::Batch;

    #[test]
    fn restored_source_continues_after_the_last_emitted_element() {
        let source = CollectionSource::new((1..=8).collect::<Vec<u32>>());
        let run = run_with_restore(&source, 1, 2, 1, None).unwrap();
        assert_eq!(run.before, vec![vec![1, 2, 3, 4, 5, 6]]);
        assert_eq!(run.after, vec![vec![7, 8]]);
        let finished = run_with_restore(&source, 1, 10, 1, None).unwrap();
        assert_eq!(finished.after, vec![Vec::<u32>::new()]);
    }

    #[test]
    fn restoring_into_a_shorter_collection_is_an_error() {
        let long = CollectionSource::new((1..=8).collect::<Vec<u32>>());
        let (_, snapshots) = run_and_snapshot(&long, 1, 1).unwrap();
        let short = CollectionSource::new(vec![1u32, 2]);
        let err = restore_and_run(&short, &snapshots, 1, None).unwrap_err();
        assert!(err.to_string().contains("beyond the 2 elements"), "{err}");
    }

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
