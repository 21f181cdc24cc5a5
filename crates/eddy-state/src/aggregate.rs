//! Incremental aggregation: the function behind window `aggregate` and `AggregatingState`.

use eddy_core::error::FnResult;

/// Incremental aggregation: one accumulator per key (and window), updated per element; used by
/// window `aggregate` and by `AggregatingState`.
pub trait AggregateFunction<IN, ACC, OUT>: Clone + Send + 'static {
    /// A new, empty accumulator.
    fn create_accumulator(&mut self) -> ACC;
    /// Adds an element.
    fn add(&mut self, value: IN, accumulator: &mut ACC) -> FnResult<()>;
    /// The result for an accumulator.
    fn get_result(&mut self, accumulator: &ACC) -> FnResult<OUT>;
    /// Folds `other` into `accumulator` (merging session windows, combining slices of sliding
    /// windows).
    fn merge(&mut self, accumulator: &mut ACC, other: ACC) -> FnResult<()>;
    lifecycle!();
}
