//! Assigning timestamps and generating watermarks mid-stream.

use std::marker::PhantomData;
use std::time::Instant;

use eddy_core::{Data, Watermark, NO_TIMESTAMP};
use eddy_functions::{TimestampAssigner, WatermarkGenerator, WatermarkOutput};

use crate::checkpoint::ChainSnapshot;
use crate::error::{call_user, TaskError};
use crate::factory::OperatorSetup;
use crate::inbox::WatermarkAt;
use crate::output::{Batch, Output};

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

    /// Sends records with the watermarks among them.
    fn emit(&mut self, records: Batch<T>, watermarks: Vec<WatermarkAt>) -> Result<(), TaskError> {
        if watermarks.is_empty() {
            if records.is_empty() {
                return Ok(());
            }
            return self.next.push(records);
        }
        self.next.push_with_watermarks(records, &watermarks)
    }

    /// Sends records cut where the stream's status changed: a change caused by record `i`
    /// goes out before it (becoming active again precedes the element that caused it), after
    /// the records and watermarks before it.
    fn emit_with_status_changes(
        &mut self,
        mut records: Batch<T>,
        watermarks: Vec<WatermarkAt>,
        changes: Vec<(usize, bool)>,
    ) -> Result<(), TaskError> {
        let (mut sent, mut watermarks) = (0, watermarks.into_iter().peekable());
        for (index, idle) in changes {
            let rest = records.split_off(index - sent);
            let part = std::mem::replace(&mut records, rest);
            let mut marks = Vec::new();
            while let Some(mark) = watermarks.next_if(|m| m.after <= index) {
                marks.push(WatermarkAt {
                    after: mark.after - sent,
                    watermark: mark.watermark,
                });
            }
            self.emit(part, marks)?;
            self.forward_status(idle)?;
            sent = index;
        }
        let marks = watermarks
            .map(|mark| WatermarkAt {
                after: mark.after - sent,
                watermark: mark.watermark,
            })
            .collect();
        self.emit(records, marks)
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
        // The records stay where they are: only their timestamps are written.
        let (values, previous) = batch.into_parts();
        let mut stamps = previous.unwrap_or_else(|| vec![NO_TIMESTAMP; values.len()]);
        // Watermarks with their places counted from the batch's start, and the status
        // changes with the index of the record that caused them.
        let (watermarks, changes) = call_user(&self.name, || {
            let (mut watermarks, mut changes) = (Vec::new(), Vec::new());
            for (index, (value, stamp)) in values.iter().zip(&mut stamps).enumerate() {
                let timestamp = assigner.extract_timestamp(value, *stamp);
                *stamp = timestamp;
                generator.on_event(value, timestamp, output);
                if let Some(idle) = output.take_status() {
                    changes.push((index, idle));
                }
                if let Some(watermark) = output.take().filter(|w| w.0 > current) {
                    current = watermark.0;
                    watermarks.push(WatermarkAt {
                        after: index + 1,
                        watermark,
                    });
                }
            }
            Ok((watermarks, changes))
        })?;
        self.current = current;
        let records = Batch::from_parts(values, stamps);
        if changes.is_empty() {
            return self.emit(records, watermarks);
        }
        self.emit_with_status_changes(records, watermarks, changes)
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use eddy_functions::RuntimeContext;
    use eddy_state::time::ProcessingTimeService;

    use super::*;
    use crate::factory::TaskSettings;

    /// What reached the operator's output, one record, watermark or status change at a time.
    #[derive(Debug, Clone, PartialEq)]
    enum Seen {
        Record(u64, i64),
        Watermark(i64),
        Idle(bool),
    }

    struct Recorder(Arc<Mutex<Vec<Seen>>>);

    impl Output<u64> for Recorder {
        fn open(&mut self) -> Result<(), TaskError> {
            Ok(())
        }
        fn push(&mut self, batch: Batch<u64>) -> Result<(), TaskError> {
            let mut seen = self.0.lock().unwrap();
            seen.extend(batch.iter().map(|(v, t)| Seen::Record(*v, t)));
            Ok(())
        }
        fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
            self.0.lock().unwrap().push(Seen::Watermark(watermark.0));
            Ok(())
        }
        fn stream_status(&mut self, idle: bool) -> Result<(), TaskError> {
            self.0.lock().unwrap().push(Seen::Idle(idle));
            Ok(())
        }
        fn end_of_input(&mut self) -> Result<(), TaskError> {
            Ok(())
        }
        fn flush(&mut self) -> Result<(), TaskError> {
            Ok(())
        }
        fn on_timer(&mut self, _now: Instant) -> Result<(), TaskError> {
            Ok(())
        }
        fn notify_checkpoint(&mut self, _id: u64, _completed: bool) -> Result<(), TaskError> {
            Ok(())
        }
        fn snapshot_state(&mut self, _snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
            Ok(())
        }
        fn close(&mut self) -> Result<(), TaskError> {
            Ok(())
        }
    }

    /// Emits a watermark one below every even timestamp, goes idle at a value ending in 5
    /// and active again at one ending in 7 (before its watermark, as a generator does).
    #[derive(Clone)]
    struct Scripted;

    impl WatermarkGenerator<u64> for Scripted {
        fn on_event(&mut self, event: &u64, timestamp: i64, output: &mut WatermarkOutput) {
            match event % 10 {
                5 => output.mark_idle(),
                7 => output.mark_active(),
                _ => {}
            }
            if timestamp % 2 == 0 {
                output.emit_watermark(Watermark(timestamp - 1));
            }
        }
        fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
    }

    /// The expected output of a batch, record by record as the reference loop of the
    /// operator's contract: a status change before the record that caused it, a watermark
    /// after it when it advances the stream's.
    fn expected(values: &[u64], timestamp: impl Fn(u64) -> i64) -> Vec<Seen> {
        let (mut out, mut current, mut idle) = (Vec::new(), i64::MIN, false);
        for &value in values {
            let ts = timestamp(value);
            let status = match value % 10 {
                5 => Some(true),
                7 => Some(false),
                _ => None,
            };
            if let Some(status) = status.filter(|s| *s != idle) {
                idle = status;
                out.push(Seen::Idle(status));
            }
            out.push(Seen::Record(value, ts));
            if ts % 2 == 0 && ts - 1 > current {
                current = ts - 1;
                out.push(Seen::Watermark(current));
            }
        }
        out
    }

    #[test]
    fn records_keep_their_place_among_watermarks_and_status_changes() {
        let timestamp = |v: u64| (v * 3 % 17) as i64 + v as i64;
        let runs: [&[u64]; 4] = [
            &[1, 2, 3, 4, 6, 8],
            &[5, 1, 2, 7, 3, 4, 15, 16, 17, 18],
            &[7, 5, 5, 2, 4, 27, 30, 35, 37],
            &[],
        ];
        for values in runs {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let setup = OperatorSetup {
                runtime: RuntimeContext::for_testing(0, 1),
                settings: TaskSettings::default(),
                clock: ProcessingTimeService::manual(0),
                operator_id: "timestamps".into(),
                restored: Default::default(),
            };
            let mut operator = TimestampsAndWatermarksOperator::boxed(
                Scripted,
                move |v: &u64, _| timestamp(*v),
                setup,
                Box::new(Recorder(seen.clone())),
            );
            // Half the runs arrive with timestamps already set (they are replaced).
            let batch = if values.len() % 2 == 0 {
                Batch::from_values(values.to_vec())
            } else {
                Batch::from_parts(values.to_vec(), vec![-5; values.len()])
            };
            operator.push(batch).unwrap();
            assert_eq!(
                *seen.lock().unwrap(),
                expected(values, timestamp),
                "{values:?}"
            );
        }
    }
}
