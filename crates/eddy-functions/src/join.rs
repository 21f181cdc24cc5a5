//! Functions of stream joins.

use super::Collector;
use eddy_core::error::FnResult;

/// The timestamps of a pair joined by an interval join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessJoinContext {
    left_timestamp: i64,
    right_timestamp: i64,
}

impl ProcessJoinContext {
    /// The context of a joined pair (for operator implementations).
    pub fn new(left_timestamp: i64, right_timestamp: i64) -> Self {
        ProcessJoinContext {
            left_timestamp,
            right_timestamp,
        }
    }

    /// The left element's timestamp.
    pub fn left_timestamp(&self) -> i64 {
        self.left_timestamp
    }

    /// The right element's timestamp.
    pub fn right_timestamp(&self) -> i64 {
        self.right_timestamp
    }

    /// The output's timestamp: the later of the two.
    pub fn timestamp(&self) -> i64 {
        self.left_timestamp.max(self.right_timestamp)
    }
}

/// Emits the results of one joined pair of an interval join. Closures
/// `|left, right, ctx, out| -> FnResult<()>` implement it.
pub trait ProcessJoinFunction<L, R, O>: Clone + Send + 'static {
    /// Processes a pair of elements with equal keys and timestamps within the bounds.
    fn process_element(
        &mut self,
        left: &L,
        right: &R,
        ctx: &ProcessJoinContext,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()>;
}

impl<L, R, O, F> ProcessJoinFunction<L, R, O> for F
where
    F: FnMut(&L, &R, &ProcessJoinContext, &mut Collector<'_, O>) -> FnResult<()>
        + Clone
        + Send
        + 'static,
{
    fn process_element(
        &mut self,
        left: &L,
        right: &R,
        ctx: &ProcessJoinContext,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()> {
        self(left, right, ctx, out)
    }
}
