//! An aggregate over a sliding run of slices with amortized O(1) merges per window.
//!
//! The classic two-stack queue: new slices are pushed onto the back stack, which keeps their
//! running aggregate; the front stack holds, for each slice, the aggregate of it and every
//! newer slice in the front stack. Evicting pops the front; when the front is empty the back is
//! flipped onto it (computing those suffix aggregates once). A window's result is the front's
//! top merged with the back's aggregate: two clones and one merge, whatever the number of
//! slices in the window.

use eddy_core::FnResult;

/// A FIFO of slice accumulators with their combined aggregate.
pub(crate) struct SliceFifo<A> {
    /// Oldest slice last: `(slice start, aggregate of it and every newer slice in front)`.
    front: Vec<(i64, A)>,
    /// Oldest slice first: `(slice start, accumulator)` pushed since the last flip.
    back: Vec<(i64, A)>,
    back_aggregate: Option<A>,
    /// Every slice starting before this has been pushed.
    covered_until: i64,
}

impl<A: Clone> SliceFifo<A> {
    /// An empty FIFO whose next pushed slice starts at or after `from`.
    pub(crate) fn new(from: i64) -> Self {
        SliceFifo {
            front: Vec::new(),
            back: Vec::new(),
            back_aggregate: None,
            covered_until: from,
        }
    }

    /// Every slice starting before this has been pushed.
    pub(crate) fn covered_until(&self) -> i64 {
        self.covered_until
    }

    /// Appends the newest slice.
    pub(crate) fn push(
        &mut self,
        start: i64,
        acc: &A,
        merge: &mut impl FnMut(&mut A, A) -> FnResult<()>,
    ) -> FnResult<()> {
        match &mut self.back_aggregate {
            Some(aggregate) => merge(aggregate, acc.clone())?,
            None => self.back_aggregate = Some(acc.clone()),
        }
        self.back.push((start, acc.clone()));
        self.covered_until = self.covered_until.max(start + 1);
        Ok(())
    }

    /// Marks everything before `until` as pushed (no slice there had data).
    pub(crate) fn cover(&mut self, until: i64) {
        self.covered_until = self.covered_until.max(until);
    }

    /// Drops the slices starting before `bound`.
    pub(crate) fn evict_before(
        &mut self,
        bound: i64,
        merge: &mut impl FnMut(&mut A, A) -> FnResult<()>,
    ) -> FnResult<()> {
        loop {
            if let Some((start, _)) = self.front.last() {
                if *start >= bound {
                    return Ok(());
                }
                self.front.pop();
                continue;
            }
            match self.back.first() {
                Some((start, _)) if *start < bound => self.flip(merge)?,
                _ => return Ok(()),
            }
        }
    }

    /// Moves the back stack onto the front, computing suffix aggregates newest to oldest.
    fn flip(&mut self, merge: &mut impl FnMut(&mut A, A) -> FnResult<()>) -> FnResult<()> {
        self.back_aggregate = None;
        let mut suffix: Option<A> = None;
        while let Some((start, mut acc)) = self.back.pop() {
            if let Some(newer) = suffix {
                merge(&mut acc, newer)?;
            }
            suffix = Some(acc.clone());
            self.front.push((start, acc));
        }
        Ok(())
    }

    /// The aggregate of every slice in the FIFO, oldest first.
    pub(crate) fn aggregate(
        &self,
        merge: &mut impl FnMut(&mut A, A) -> FnResult<()>,
    ) -> FnResult<Option<A>> {
        let front = self.front.last().map(|(_, a)| a.clone());
        Ok(match (front, &self.back_aggregate) {
            (Some(mut front), Some(back)) => {
                merge(&mut front, back.clone())?;
                Some(front)
            }
            (Some(front), None) => Some(front),
            (None, back) => back.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Concatenation shows both the contents and their order.
    fn concat(a: &mut Vec<i64>, b: Vec<i64>) -> FnResult<()> {
        a.extend(b);
        Ok(())
    }

    #[test]
    fn windows_over_the_fifo_equal_direct_concatenation() {
        let mut fifo = SliceFifo::new(0);
        let mut merge = concat;
        let slices: Vec<(i64, Vec<i64>)> = (0..40).map(|s| (s * 10, vec![s, s * 100])).collect();
        let size = 7;
        for end in 1..=40usize {
            let (start, acc) = &slices[end - 1];
            fifo.push(*start, acc, &mut merge).unwrap();
            let first = end.saturating_sub(size);
            fifo.evict_before(slices[first].0, &mut merge).unwrap();
            let expected: Vec<i64> = slices[first..end]
                .iter()
                .flat_map(|(_, a)| a.clone())
                .collect();
            assert_eq!(
                fifo.aggregate(&mut merge).unwrap(),
                Some(expected),
                "window ending {end}"
            );
        }
    }
}
