//! A sink that drops every element (Flink's `DiscardingSink`).

use eddy_core::{Batch, FnResult};
use eddy_functions::{SinkContext, SinkFunction};

/// A sink that drops every element, for any element type; useful for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscardingSink;

impl DiscardingSink {
    /// A discarding sink.
    pub fn new() -> Self {
        DiscardingSink
    }
}

impl<T: Send + 'static> SinkFunction<T> for DiscardingSink {
    #[inline]
    fn invoke(&mut self, _value: T, _ctx: &SinkContext) -> FnResult<()> {
        Ok(())
    }

    #[inline]
    fn invoke_batch(&mut self, batch: Batch<T>) -> FnResult<()> {
        drop(batch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_functions::RuntimeContext;
    use std::sync::Arc;

    #[test]
    fn drops_everything() {
        let value = Arc::new(5);
        let mut sink = DiscardingSink::new();
        SinkFunction::<Arc<i32>>::open(&mut sink, &RuntimeContext::for_testing(0, 1)).unwrap();
        sink.invoke(Arc::clone(&value), &SinkContext::new(0))
            .unwrap();
        sink.invoke_batch(Batch::from_values(vec![Arc::clone(&value); 3]))
            .unwrap();
        SinkFunction::<Arc<i32>>::finish(&mut sink).unwrap();
        SinkFunction::<Arc<i32>>::close(&mut sink).unwrap();
        // Every clone handed to the sink was dropped.
        assert_eq!(Arc::strong_count(&value), 1);
        SinkFunction::<String>::invoke(&mut sink, "any type".into(), &SinkContext::new(0)).unwrap();
    }
}
