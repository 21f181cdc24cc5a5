//! Where the watermarks of a batch processed whole land among an operator's outputs.

use std::iter::Peekable;
use std::slice;

use eddy_core::Watermark;

use crate::inbox::WatermarkAt;

/// Walks a batch's watermarks along its inputs while an operator turns them into outputs, and
/// places each watermark among the outputs: after those emitted for the inputs before it (and,
/// for an operator that emits at a watermark, after those too).
pub(crate) struct PlacedWatermarks<'a> {
    marks: Peekable<slice::Iter<'a, WatermarkAt>>,
    placed: Vec<WatermarkAt>,
}

impl<'a> PlacedWatermarks<'a> {
    pub(crate) fn new(watermarks: &'a [WatermarkAt]) -> Self {
        PlacedWatermarks {
            marks: watermarks.iter().peekable(),
            placed: Vec::with_capacity(watermarks.len()),
        }
    }

    /// Before input `seen`, with `emitted` outputs so far: places the watermarks due there;
    /// returns the last of them.
    #[inline]
    pub(crate) fn before_input(&mut self, seen: usize, emitted: usize) -> Option<Watermark> {
        let mut last = None;
        while let Some(mark) = self.next_due(seen) {
            self.place(mark, emitted);
            last = Some(mark.watermark);
        }
        last
    }

    /// The next watermark due before input `seen`, if any (to be [`place`](Self::place)d).
    #[inline]
    pub(crate) fn next_due(&mut self, seen: usize) -> Option<WatermarkAt> {
        self.marks.next_if(|mark| mark.after <= seen).copied()
    }

    /// Places `mark` after `emitted` outputs.
    #[inline]
    pub(crate) fn place(&mut self, mark: WatermarkAt, emitted: usize) {
        self.placed.push(WatermarkAt {
            after: emitted,
            ..mark
        });
    }

    /// After the last input, with `emitted` outputs in all: the placed watermarks.
    pub(crate) fn finish(mut self, emitted: usize) -> Vec<WatermarkAt> {
        let rest = self.marks.map(|mark| WatermarkAt {
            after: emitted,
            ..*mark
        });
        self.placed.extend(rest);
        self.placed
    }
}
