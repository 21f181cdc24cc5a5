//! Source positions as operator state: the parts of its input a source subtask still has to
//! read ("splits", as in Flink's FLIP-27 sources), written on every snapshot and handed to the
//! new subtasks on restore.
//!
//! A source keeps its splits in a split-distribute list state: after a change of parallelism
//! the splits of all old subtasks are dealt out among the new ones, so every part of the input
//! is read exactly once, by whichever subtask received its split. A split is never divided: a
//! job scaled up from one source subtask keeps reading with one (the others get no split and
//! finish at once).

use eddy_core::{Data, FnResult};
use eddy_functions::{FunctionInitializationContext, FunctionSnapshotContext};
use eddy_state::{ListStateDescriptor, OperatorStateStore};
use serde::{Deserialize, Serialize};

/// The splits a source subtask restored, if its operator was restored from a snapshot that
/// holds the source's list `descriptor`. `None` means start fresh: the operator was not
/// restored, or the snapshot has no state of this source (it was added to the job since).
pub(crate) fn restored_splits<S: Data>(
    ctx: &mut FunctionInitializationContext<'_>,
    descriptor: &ListStateDescriptor<S>,
) -> FnResult<Option<Vec<S>>> {
    let store = ctx.operator_state_store();
    if !store.state_names().contains(&descriptor.name()) {
        return Ok(None);
    }
    store.list_state(descriptor)?.get().map(Some)
}

/// Writes a source subtask's remaining splits into its list `descriptor`.
pub(crate) fn snapshot_splits<S: Data>(
    _ctx: &FunctionSnapshotContext,
    store: &mut OperatorStateStore,
    descriptor: &ListStateDescriptor<S>,
    splits: Vec<S>,
) -> FnResult<()> {
    store.list_state(descriptor)?.update(splits)
}

/// A part of an index series: the indexes `next, next + stride, next + 2·stride, …`, ending
/// after `remaining` of them (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexSplit {
    /// The next index to emit.
    pub next: u64,
    /// The distance between consecutive indexes (at least 1).
    pub stride: u64,
    /// How many indexes remain (up to 2^64, hence `u128`); `None`: unbounded.
    pub remaining: Option<u128>,
}

impl IndexSplit {
    /// The contiguous indexes `[start, end)`.
    pub fn range(start: u128, end: u128) -> Self {
        IndexSplit {
            // `start` is below 2^64 whenever the split is non-empty; an empty one never emits.
            next: start as u64,
            stride: 1,
            remaining: Some(end.saturating_sub(start)),
        }
    }

    /// The unbounded indexes `first, first + stride, …`.
    /// The indexes `first, first + stride, …` below `end`.
    pub fn strided_below(first: u64, stride: u64, end: u64) -> Self {
        let stride = stride.max(1);
        IndexSplit {
            next: first,
            stride,
            remaining: Some(u128::from(end.saturating_sub(first).div_ceil(stride))),
        }
    }

    pub fn strided(first: u64, stride: u64) -> Self {
        IndexSplit {
            next: first,
            stride: stride.max(1),
            remaining: None,
        }
    }

    fn is_exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// The index splits of one source subtask, read in turns: each call to
/// [`emit`](IndexSplits::emit) takes from one split and moves on to the next, so several
/// unbounded splits all make progress.
#[derive(Debug, Clone, Default)]
pub(crate) struct IndexSplits {
    splits: Vec<IndexSplit>,
    /// The split the next `emit` takes from.
    turn: usize,
}

impl IndexSplits {
    /// Reads `splits` (exhausted ones are dropped).
    pub fn new(splits: Vec<IndexSplit>) -> Self {
        let splits = splits.into_iter().filter(|s| !s.is_exhausted()).collect();
        IndexSplits { splits, turn: 0 }
    }

    /// Whether every split is exhausted.
    pub fn is_finished(&self) -> bool {
        self.splits.is_empty()
    }

    /// The remaining splits, for a snapshot.
    pub fn to_vec(&self) -> Vec<IndexSplit> {
        self.splits.clone()
    }

    /// Takes up to `max` (at least 1) indexes from the split whose turn it is: the run
    /// `first, first + stride, …` of `len` indexes (`len` 0: every split is exhausted).
    pub fn take(&mut self, max: u64) -> IndexRun {
        if self.splits.is_empty() {
            return IndexRun::default();
        }
        let turn = self.turn % self.splits.len();
        let split = &mut self.splits[turn];
        let mut len = max.max(1);
        if let Some(remaining) = split.remaining {
            len = len.min(u64::try_from(remaining).unwrap_or(u64::MAX));
        }
        let run = IndexRun {
            first: split.next,
            stride: split.stride,
            len,
        };
        split.next = run.first.wrapping_add(len.wrapping_mul(run.stride));
        if let Some(remaining) = &mut split.remaining {
            *remaining -= u128::from(len);
        }
        if split.is_exhausted() {
            self.splits.remove(turn);
            self.turn = turn;
        } else {
            self.turn = turn + 1;
        }
        run
    }
}

/// Consecutive indexes of one split: `first, first + stride, …`, `len` of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IndexRun {
    /// The first index.
    pub first: u64,
    /// The distance between indexes.
    pub stride: u64,
    /// How many indexes.
    pub len: u64,
}

impl IndexRun {
    /// The indexes, in order.
    #[inline]
    pub fn indexes(self) -> impl Iterator<Item = u64> {
        (0..self.len).map(move |k| self.first.wrapping_add(k.wrapping_mul(self.stride)))
    }

    /// The indexes, in order, if they are consecutive (stride 1): without the multiplication,
    /// which keeps filling a batch from a range as fast as a plain loop.
    #[inline]
    pub fn consecutive(self) -> Option<impl Iterator<Item = u64>> {
        (self.stride == 1).then(move || (0..self.len).map(move |k| self.first.wrapping_add(k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(splits: &mut IndexSplits, max: u64, polls: usize) -> Vec<u64> {
        let mut out = Vec::new();
        for _ in 0..polls {
            out.extend(splits.take(max).indexes());
        }
        out
    }

    #[test]
    fn bounded_splits_are_read_in_turns_to_the_end() {
        let mut splits = IndexSplits::new(vec![IndexSplit::range(0, 3), IndexSplit::range(10, 12)]);
        assert_eq!(drain(&mut splits, 2, 10), vec![0, 1, 10, 11, 2]);
        assert!(splits.is_finished());
        assert_eq!(splits.take(5), IndexRun::default());
    }

    #[test]
    fn unbounded_splits_all_progress() {
        let mut splits =
            IndexSplits::new(vec![IndexSplit::strided(0, 3), IndexSplit::strided(1, 3)]);
        assert_eq!(drain(&mut splits, 2, 3), vec![0, 3, 1, 4, 6, 9]);
        assert_eq!(
            splits.to_vec(),
            vec![IndexSplit::strided(12, 3), IndexSplit::strided(7, 3)]
        );
    }

    #[test]
    fn empty_splits_are_dropped_and_the_top_of_u64_is_reached() {
        let top = u128::from(u64::MAX);
        let mut splits = IndexSplits::new(vec![
            IndexSplit::range(5, 5),
            IndexSplit::range(top - 1, top + 1),
        ]);
        assert_eq!(drain(&mut splits, 8, 2), vec![u64::MAX - 1, u64::MAX]);
        assert!(splits.is_finished());
    }
}
