//! The operator that hands records to a [`SinkFunction`].

use eddy_core::{Data, Watermark};
use eddy_functions::{RuntimeContext, SinkFunction};

use super::OperatorStateHandler;
use crate::checkpoint::ChainSnapshot;
use crate::error::{call_user, TaskError};
use crate::factory::OperatorSetup;
use crate::inbox::WatermarkAt;
use crate::output::{Batch, Output};

/// Runs a sink function; the end of a chain.
pub struct SinkOperator<S> {
    sink: S,
    operator_state: OperatorStateHandler,
    ctx: RuntimeContext,
    name: String,
    operator_id: String,
}

impl<S> SinkOperator<S> {
    /// The operator for `sink`.
    pub fn boxed<T: Data>(sink: S, setup: OperatorSetup) -> Box<dyn Output<T>>
    where
        S: SinkFunction<T>,
    {
        Box::new(SinkOperator {
            sink,
            name: setup.display_name(),
            operator_id: setup.operator_id,
            ctx: setup.runtime,
            operator_state: OperatorStateHandler::new(setup.restored.operator.clone()),
        })
    }
}

impl<T: Data, S: SinkFunction<T>> Output<T> for SinkOperator<S> {
    fn open(&mut self) -> Result<(), TaskError> {
        let (sink, ctx, state) = (&mut self.sink, &self.ctx, &mut self.operator_state);
        call_user(&self.name, || {
            state.initialize(ctx, |init| sink.initialize_state(init))
        })?;
        call_user(&self.name, || sink.open(ctx))
    }

    #[inline]
    fn push(&mut self, batch: Batch<T>) -> Result<(), TaskError> {
        let sink = &mut self.sink;
        call_user(&self.name, || sink.invoke_batch(batch))
    }

    /// Sinks do not see watermarks: the batch is written whole.
    fn push_with_watermarks(
        &mut self,
        batch: Batch<T>,
        _watermarks: &[WatermarkAt],
    ) -> Result<(), TaskError> {
        self.push(batch)
    }

    fn watermark(&mut self, _watermark: Watermark) -> Result<(), TaskError> {
        Ok(())
    }

    fn stream_status(&mut self, _idle: bool) -> Result<(), TaskError> {
        Ok(())
    }

    fn end_of_input(&mut self) -> Result<(), TaskError> {
        let sink = &mut self.sink;
        call_user(&self.name, || sink.finish())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        Ok(())
    }

    fn on_timer(&mut self, _now: std::time::Instant) -> Result<(), TaskError> {
        Ok(())
    }

    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        snapshot.take_operator(
            (&self.operator_id, &self.name),
            &mut self.operator_state,
            &mut self.sink,
            |sink, context, store| sink.snapshot_state(context, store),
            |_| Ok(None),
        )
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        let sink = &mut self.sink;
        call_user(&self.name, || {
            if completed {
                sink.notify_checkpoint_complete(checkpoint_id)
            } else {
                sink.notify_checkpoint_aborted(checkpoint_id)
            }
        })
    }

    fn close(&mut self) -> Result<(), TaskError> {
        let sink = &mut self.sink;
        call_user(&self.name, || sink.close())
    }
}
