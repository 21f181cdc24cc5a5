//! Assigning timestamps and generating watermarks mid-stream.

use std::marker::PhantomData;
use std::time::Instant;

use eddy_core::{Data, Watermark};
use eddy_functions::{TimestampAssigner, WatermarkGenerator, WatermarkOutput};

use crate::checkpoint::ChainSnapshot;
use crate::error::{call_user, TaskError};
use crate::factory::OperatorSetup;
use crate::inbox::WatermarkAt;
use crate::output::{Batch, Output};

/// What one input batch turns into: records with the watermarks among them, and stream status
/// changes between such parts.
enum Emission<T> {
    Records(Batch<T>, Vec<WatermarkAt>),
    Status(bool),
}

/// Stamps every record with its assigned timestamp and emits the generator's watermarks: right
/// after the record that caused them (punctuated) and on the task's periodic tick (periodic).
/// Watermarks from upstream are dropped, except the final maximum one that ends the input (as
/// Flink's `TimestampsAndWatermarksOperator` does).
pub struct TimestampsAndWatermarksOperator<T, G, A> {
    generator: G,
    assigner: A,
    name: String,
    next: Box<dyn Output<T>>,
    current: i64,
    idle: bool,
    output: WatermarkOutput,
    _type: PhantomData<fn(T)>,
}

impl<T: Data, G: WatermarkGenerator<T>, A: TimestampAssigner<T>>
    TimestampsAndWatermarksOperator<T, G, A>
{
    /// The operator for one subtask.
    pub fn boxed(
        generator: G,
        assigner: A,
        setup: OperatorSetup,
        next: Box<dyn Output<T>>,
    ) -> Box<dyn Output<T>> {
        Box::new(TimestampsAndWatermarksOperator {
            generator,
            assigner,
            name: setup.display_name(),
            next,
            current: i64::MIN,
            idle: false,
            output: WatermarkOutput::new(),
            _type: PhantomData,
        })
    }

    fn forward_status(&mut self, idle: bool) -> Result<(), TaskError> {
        if idle != self.idle {
            self.idle = idle;
            self.next.stream_status(idle)?;
        }
        Ok(())
    }

    fn forward_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        if watermark.0 > self.current {
            self.current = watermark.0;
            self.next.watermark(watermark)?;
        }
        Ok(())
    }
}

impl<T: Data, G: WatermarkGenerator<T>, A: TimestampAssigner<T>> Output<T>
    for TimestampsAndWatermarksOperator<T, G, A>
{
    fn open(&mut self) -> Result<(), TaskError> {
        self.next.open()
    }

    /// Stamps the batch's records and places each watermark the generator emits right after
    /// the record that caused it (if it advances the stream's watermark); the records and
    /// watermarks go downstream together, cut only where the stream's status changes.
    fn push(&mut self, batch: Batch<T>) -> Result<(), TaskError> {
        let (generator, assigner, output) =
            (&mut self.generator, &mut self.assigner, &mut self.output);
        let mut current = self.current;
        let emissions = call_user(&self.name, || {
            let mut emissions = Vec::new();
            let mut records = Batch::with_capacity(batch.len());
            let mut watermarks = Vec::new();
            for record in batch.into_records() {
                let timestamp = assigner.extract_timestamp(&record.value, record.timestamp);
                generator.on_event(&record.value, timestamp, output);
                // Becoming active again must precede the element that caused it.
                if let Some(idle) = output.take_status() {
                    let part = (
                        std::mem::take(&mut records),
                        std::mem::take(&mut watermarks),
                    );
                    emissions.push(Emission::Records(part.0, part.1));
                    emissions.push(Emission::Status(idle));
                }
                records.push(record.value, timestamp);
                if let Some(watermark) = output.take().filter(|w| w.0 > current) {
                    current = watermark.0;
                    watermarks.push(WatermarkAt {
                        after: records.len(),
                        watermark,
                    });
                }
            }
            emissions.push(Emission::Records(records, watermarks));
            Ok(emissions)
        })?;
        self.current = current;
        for emission in emissions {
            match emission {
                Emission::Records(records, watermarks) if watermarks.is_empty() => {
                    if !records.is_empty() {
                        self.next.push(records)?;
                    }
                }
                Emission::Records(records, watermarks) => {
                    self.next.push_with_watermarks(records, &watermarks)?
                }
                Emission::Status(idle) => self.forward_status(idle)?,
            }
        }
        Ok(())
    }

    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        if watermark == Watermark::MAX {
            self.forward_watermark(watermark)?;
        }
        Ok(())
    }

    /// Upstream idleness is not passed on: this operator's own generator decides.
    fn stream_status(&mut self, _idle: bool) -> Result<(), TaskError> {
        Ok(())
    }

    fn end_of_input(&mut self) -> Result<(), TaskError> {
        self.next.end_of_input()
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.next.flush()
    }

    fn on_timer(&mut self, now: Instant) -> Result<(), TaskError> {
        let (generator, output) = (&mut self.generator, &mut self.output);
        let (emitted, status) = call_user(&self.name, || {
            generator.on_periodic_emit(output);
            Ok((output.take(), output.take_status()))
        })?;
        if let Some(idle) = status {
            self.forward_status(idle)?;
        }
        if let Some(watermark) = emitted {
            // Writers send their pending records before any watermark, so it never overtakes
            // them.
            self.forward_watermark(watermark)?;
        }
        self.next.on_timer(now)
    }

    fn notify_checkpoint(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        self.next.notify_checkpoint(checkpoint_id, completed)
    }

    /// The watermark generator keeps no state (as in Flink): after a restore it starts over.
    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        self.next.snapshot_state(snapshot)
    }

    fn close(&mut self) -> Result<(), TaskError> {
        self.next.close()
    }
}
