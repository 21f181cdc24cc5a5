//! A parallel source of consecutive numbers (Flink's `fromSequence` / `NumberSequenceSource`).

use eddy_core::FnResult;
use eddy_functions::{Boundedness, RuntimeContext, SourceFunction, SourceOutput, SourceStatus};
use eddy_state::ListStateDescriptor;

use crate::splits::{IndexSplit, IndexSplits};

/// The operator state holding a sequence source subtask's remaining ranges.
const SPLITS_STATE: &str = "sequence-source-splits";

/// A parallel, bounded source emitting the `u64` numbers `from..=to` (nothing when
/// `from > to`).
///
/// The range is split into contiguous chunks: with `n = to - from + 1` numbers and parallelism
/// `p`, subtask `i` emits the numbers at indexes `[i*n/p, (i+1)*n/p)`, in ascending order.
///
/// Its position is operator state: a snapshot holds each subtask's remaining range, and a
/// restored subtask (at any parallelism) continues the ranges it receives, so every number is
/// emitted once across a restore.
#[derive(Debug, Clone)]
pub struct NumberSequenceSource {
    from: u64,
    to: u64,
    /// This subtask's remaining ranges, as indexes from `from`.
    splits: IndexSplits,
    /// The ranges restored in `initialize_state` (`None`: start fresh in `open`).
    restored: Option<Vec<IndexSplit>>,
}

impl NumberSequenceSource {
    /// A source emitting `from..=to`, both inclusive.
    pub fn new(from: u64, to: u64) -> Self {
        let mut source = NumberSequenceSource {
            from,
            to,
            splits: IndexSplits::default(),
            restored: None,
        };
        source.assign(0, 1);
        source
    }

    /// The first number of the whole sequence.
    pub fn from(&self) -> u64 {
        self.from
    }

    /// The last number of the whole sequence (inclusive).
    pub fn to(&self) -> u64 {
        self.to
    }

    /// Selects the share of subtask `index` of `parallelism`.
    fn assign(&mut self, index: u32, parallelism: u32) {
        let total = if self.from > self.to {
            0
        } else {
            u128::from(self.to - self.from) + 1
        };
        let p = u128::from(parallelism.max(1));
        let i = u128::from(index);
        let split = IndexSplit::range(i * total / p, (i + 1) * total / p);
        self.splits = IndexSplits::new(vec![split]);
    }

    fn descriptor() -> ListStateDescriptor<IndexSplit> {
        ListStateDescriptor::new(SPLITS_STATE)
    }
}

impl SourceFunction<u64> for NumberSequenceSource {
    split_state_hooks!(|this| this.splits.to_vec());

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        if ctx.subtask_index >= ctx.parallelism.max(1) {
            return Err(format!(
                "sequence source: subtask index {} is out of range for parallelism {}",
                ctx.subtask_index, ctx.parallelism
            )
            .into());
        }
        match self.restored.take() {
            Some(splits) => self.splits = IndexSplits::new(splits),
            None => self.assign(ctx.subtask_index, ctx.parallelism),
        }
        Ok(())
    }

    #[inline]
    fn poll_next(&mut self, out: &mut SourceOutput<'_, u64>) -> FnResult<SourceStatus> {
        if self.splits.is_finished() {
            return Ok(SourceStatus::Finished);
        }
        let from = self.from;
        let run = self.splits.take(out.remaining().max(1) as u64);
        match run.consecutive() {
            Some(indexes) => out.extend(indexes.map(|i| from.wrapping_add(i))),
            None => out.extend(run.indexes().map(|i| from.wrapping_add(i))),
        }
        Ok(SourceStatus::MoreAvailable)
    }

    fn is_parallel(&self) -> bool {
        true
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{run_parallel, run_with_restore, take_subtask};

    #[test]
    fn restored_subtasks_continue_where_the_snapshot_was_taken() {
        // Two polls of 3: the one old subtask emitted 10..=15; the new subtask 0 receives its
        // remaining range, the others nothing.
        let source = NumberSequenceSource::new(10, 60);
        let run = run_with_restore(&source, 1, 2, 3, None).unwrap();
        assert_eq!(run.before, vec![(10..=15).collect::<Vec<u64>>()]);
        assert_eq!(
            run.after,
            vec![(16..=60).collect::<Vec<u64>>(), vec![], vec![]]
        );
    }

    #[test]
    fn every_number_once_across_a_restore_at_another_parallelism() {
        let source = NumberSequenceSource::new(10, 60);
        let expected: Vec<u64> = (10..=60).collect();
        for (old, polls, new) in [(1, 0, 1), (3, 2, 2), (2, 3, 1), (2, 100, 3), (3, 1, 4)] {
            let run = run_with_restore(&source, old, polls, new, None).unwrap();
            assert_eq!(
                run.all_sorted(),
                expected,
                "{old} -> {new} after {polls} polls"
            );
            // A subtask reads its ranges in turns; each old subtask's range stays ascending.
            let bounds: Vec<u64> = (0..=old as u64).map(|i| 10 + i * 51 / old as u64).collect();
            for share in &run.after {
                for range in bounds.windows(2) {
                    let part: Vec<u64> = share
                        .iter()
                        .copied()
                        .filter(|v| (range[0]..range[1]).contains(v))
                        .collect();
                    assert!(part.windows(2).all(|w| w[0] < w[1]), "{share:?}");
                }
            }
        }
    }

    #[test]
    fn union_of_subtasks_is_the_whole_range_once_in_order() {
        let source = NumberSequenceSource::new(10, 30);
        for p in 1..=5u32 {
            let shares = run_parallel(&source, p).unwrap();
            assert_eq!(shares.len(), p as usize);
            for share in &shares {
                assert!(
                    share.windows(2).all(|w| w[1] == w[0] + 1),
                    "p={p}: {share:?}"
                );
            }
            let union: Vec<u64> = shares.concat();
            assert_eq!(union, (10..=30).collect::<Vec<u64>>(), "p={p}");
        }
    }

    #[test]
    fn split_sizes_follow_the_contiguous_formula() {
        // 7 numbers over 3 subtasks: indexes [0,2), [2,4), [4,7).
        let shares = run_parallel(&NumberSequenceSource::new(0, 6), 3).unwrap();
        assert_eq!(shares, vec![vec![0, 1], vec![2, 3], vec![4, 5, 6]]);
    }

    #[test]
    fn more_subtasks_than_numbers() {
        let shares = run_parallel(&NumberSequenceSource::new(5, 6), 4).unwrap();
        assert_eq!(shares, vec![vec![], vec![5], vec![], vec![6]]);
    }

    #[test]
    fn single_number() {
        let shares = run_parallel(&NumberSequenceSource::new(9, 9), 1).unwrap();
        assert_eq!(shares, vec![vec![9]]);
    }

    #[test]
    fn from_greater_than_to_is_empty() {
        let source = NumberSequenceSource::new(5, 4);
        for p in 1..=3u32 {
            let shares = run_parallel(&source, p).unwrap();
            assert!(shares.iter().all(Vec::is_empty), "p={p}: {shares:?}");
        }
    }

    #[test]
    fn full_u64_range_does_not_overflow() {
        let source = NumberSequenceSource::new(0, u64::MAX);
        let first = take_subtask(&source, 0, 2, Some(4)).unwrap();
        assert_eq!(first, vec![0, 1, 2, 3]);
        let second = take_subtask(&source, 1, 2, Some(2)).unwrap();
        assert_eq!(second, vec![1 << 63, (1 << 63) + 1]);
        let tail = run_parallel(&NumberSequenceSource::new(u64::MAX - 4, u64::MAX), 2).unwrap();
        assert_eq!(
            tail,
            vec![
                vec![u64::MAX - 4, u64::MAX - 3],
                vec![u64::MAX - 2, u64::MAX - 1, u64::MAX]
            ]
        );
    }

    #[test]
    fn rejects_subtask_index_out_of_range() {
        let mut source = NumberSequenceSource::new(0, 10);
        let err = source.open(&RuntimeContext::for_testing(3, 2)).unwrap_err();
        assert!(err.to_string().contains("subtask index 3"), "{err}");
    }

    #[test]
    fn properties() {
        let source = NumberSequenceSource::new(1, 2);
        assert!(source.is_parallel());
        assert_eq!(source.boundedness(), Boundedness::Bounded);
        assert_eq!((source.from(), source.to()), (1, 2));
    }
}
