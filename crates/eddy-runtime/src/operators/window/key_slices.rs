//! One key's slices in the slicing window operator.

use std::collections::VecDeque;

use super::fifo::SliceFifo;

/// One key's slice accumulators, sorted by start, and the running aggregate of the last fired
/// window.
///
/// The newest slice is held in the entry itself (`open`), not in the deque: in-order elements
/// all land there, so an element touches the key's hash entry and nothing else. Every slice in
/// `slices` starts before `open`'s.
pub(crate) struct KeySlices<A> {
    pub(crate) open: Option<(i64, A)>,
    pub(crate) slices: VecDeque<(i64, A)>,
    pub(crate) fifo: Option<SliceFifo<A>>,
    /// The end of the earliest window waiting to fire (`i64::MAX`: none).
    pub(crate) next_fire: i64,
    /// How many slices at the front of `slices` the FIFO has seen.
    pub(crate) pushed: usize,
}

impl<A> KeySlices<A> {
    /// A key without slices.
    pub(crate) fn new() -> Self {
        KeySlices {
            open: None,
            slices: VecDeque::new(),
            fifo: None,
            next_fire: i64::MAX,
            pushed: 0,
        }
    }

    /// The accumulator of the slice starting at `start`, created with `create` if missing;
    /// `true` if it was created.
    #[inline]
    pub(crate) fn slice_for(&mut self, start: i64, create: impl FnOnce() -> A) -> (&mut A, bool) {
        match &self.open {
            // `create` is not called: the slice exists.
            Some((open, _)) if *open == start => (
                &mut self.open.get_or_insert_with(|| (start, create())).1,
                false,
            ),
            Some((open, _)) if *open < start => {
                if let Some(previous) = self.open.take() {
                    self.slices.push_back(previous);
                }
                (&mut self.open.insert((start, create())).1, true)
            }
            None if self.slices.back().is_none_or(|(last, _)| *last < start) => {
                (&mut self.open.insert((start, create())).1, true)
            }
            _ => slice_in(&mut self.slices, start, create),
        }
    }

    /// Moves the open slice into `slices` if it starts before `bound`, so every slice before
    /// `bound` is in `slices` (what firing, re-firing and expiring work on).
    pub(crate) fn settle(&mut self, bound: i64) {
        if let Some(open) = self.open.take_if(|(start, _)| *start < bound) {
            self.slices.push_back(open);
        }
    }

    /// Drops the slices starting before `bound` (call [`settle`](Self::settle) first).
    pub(crate) fn pop_before(&mut self, bound: i64) {
        while self.slices.front().is_some_and(|(start, _)| *start < bound) {
            self.slices.pop_front();
            self.pushed = self.pushed.saturating_sub(1);
        }
    }

    /// The start of the earliest slice starting at or after `bound`.
    pub(crate) fn first_start_from(&self, bound: i64) -> Option<i64> {
        let in_deque = match self.slices.front() {
            Some((start, _)) if *start >= bound => Some(*start),
            _ => {
                let first = self.slices.partition_point(|(start, _)| *start < bound);
                self.slices.get(first).map(|(start, _)| *start)
            }
        };
        in_deque.or_else(|| {
            self.open
                .as_ref()
                .map(|(start, _)| *start)
                .filter(|start| *start >= bound)
        })
    }

    /// Whether the key has no slice left.
    pub(crate) fn is_empty(&self) -> bool {
        self.open.is_none() && self.slices.is_empty()
    }
}

/// The slice starting at `start` in sorted `slices`, inserted if missing; `true` if it was
/// created.
fn slice_in<A>(
    slices: &mut VecDeque<(i64, A)>,
    start: i64,
    create: impl FnOnce() -> A,
) -> (&mut A, bool) {
    let (index, created) = match slices.binary_search_by_key(&start, |(s, _)| *s) {
        Ok(index) => (index, false),
        Err(index) => {
            slices.insert(index, (start, create()));
            (index, true)
        }
    };
    (&mut slices[index].1, created)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slice: `(start, accumulator)`.
    type Slice = (i64, u32);

    fn starts(key: &KeySlices<u32>) -> (Vec<Slice>, Option<Slice>) {
        (key.slices.iter().copied().collect(), key.open)
    }

    #[test]
    fn newest_slice_stays_open_and_older_ones_are_sorted() {
        let mut key = KeySlices::new();
        for start in [10, 10, 20, 5, 15, 20, 30, 15] {
            let (acc, _) = key.slice_for(start, || 0);
            *acc += 1;
        }
        assert_eq!(
            starts(&key),
            (vec![(5, 1), (10, 2), (15, 2), (20, 2)], Some((30, 1)))
        );
        assert_eq!(key.first_start_from(16), Some(20));
        assert_eq!(key.first_start_from(21), Some(30));
        assert_eq!(key.first_start_from(31), None);
        key.settle(30);
        assert!(key.open.is_some());
        key.settle(31);
        assert!(key.open.is_none());
        key.pop_before(20);
        assert_eq!(starts(&key), (vec![(20, 2), (30, 1)], None));
        let (acc, created) = key.slice_for(25, || 7);
        assert_eq!((*acc, created), (7, true));
        assert_eq!(starts(&key), (vec![(20, 2), (25, 7), (30, 1)], None));
        let (_, created) = key.slice_for(40, || 0);
        assert!(created);
        assert_eq!(key.first_start_from(31), Some(40));
        key.settle(100);
        key.pop_before(100);
        assert!(key.is_empty());
    }
}
