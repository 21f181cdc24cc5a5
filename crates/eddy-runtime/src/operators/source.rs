//! The operator that polls a [`SourceFunction`].

use eddy_core::{Data, Watermark};
use eddy_functions::{RuntimeContext, SourceFunction, SourceOutput, SourceStatus};

use super::OperatorStateHandler;
use crate::checkpoint::ChainSnapshot;
use crate::error::{call_user, TaskError};
use crate::factory::{OperatorSetup, SourceDriver};
use crate::output::{Batch, Output};

/// Runs a source function at the head of a chain.
pub struct SourceOperator<T, S> {
    source: S,
    operator_state: OperatorStateHandler,
    ctx: RuntimeContext,
    name: String,
    operator_id: String,
    batch: Batch<T>,
    batch_size: usize,
    next: Box<dyn Output<T>>,
}

impl<T: Data, S: SourceFunction<T>> SourceOperator<T, S> {
    /// The driver for `source`, feeding `next`.
    pub fn boxed(
        source: S,
        setup: OperatorSetup,
        next: Box<dyn Output<T>>,
    ) -> Box<dyn SourceDriver> {
        let batch_size = setup.settings.records_per_batch::<T>();
        Box::new(SourceOperator {
            source,
            name: setup.display_name(),
            operator_id: setup.operator_id,
            ctx: setup.runtime,
            operator_state: OperatorStateHandler::new(setup.restored.operator.clone()),
            batch: Batch::with_capacity(batch_size),
            batch_size,
            next,
        })
    }
}

impl<T: Data, S: SourceFunction<T>> SourceDriver for SourceOperator<T, S> {
    fn open(&mut self) -> Result<(), TaskError> {
        self.next.open()?;
        let (source, ctx, state) = (&mut self.source, &self.ctx, &mut self.operator_state);
        call_user(&self.name, || {
            state.initialize(ctx, |init| source.initialize_state(init))
        })?;
        call_user(&self.name, || source.open(ctx))
    }

    fn poll(&mut self) -> Result<SourceStatus, TaskError> {
        let (source, batch, size) = (&mut self.source, &mut self.batch, self.batch_size);
        let status = call_user(&self.name, || {
            source.poll_next(&mut SourceOutput::new(batch, size))
        })?;
        if !self.batch.is_empty() {
            let full = std::mem::replace(&mut self.batch, Batch::with_capacity(self.batch_size));
            self.next.push(full)?;
        }
        Ok(status)
    }

    fn finish(&mut self) -> Result<(), TaskError> {
        self.drain()?;
        self.stop()
    }

    fn drain(&mut self) -> Result<(), TaskError> {
        self.next.watermark(Watermark::MAX)
    }

    fn stop(&mut self) -> Result<(), TaskError> {
        self.next.end_of_input()
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.next.flush()
    }

    fn on_timer(&mut self, now: std::time::Instant) -> Result<(), TaskError> {
        self.next.on_timer(now)
    }

    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        snapshot.take_operator(
            (&self.operator_id, &self.name),
            &mut self.operator_state,
            &mut self.source,
            |source, context, store| source.snapshot_state(context, store),
            |_| Ok(None),
        )?;
        self.next.snapshot_state(snapshot)
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        let source = &mut self.source;
        call_user(&self.name, || {
            if completed {
                source.notify_checkpoint_complete(checkpoint_id)
            } else {
                source.notify_checkpoint_aborted(checkpoint_id)
            }
        })?;
        self.next.notify_checkpoint(checkpoint_id, completed)
    }

    fn close(&mut self) -> Result<(), TaskError> {
        let source = &mut self.source;
        let own = call_user(&self.name, || source.close());
        own.and(self.next.close())
    }
}
