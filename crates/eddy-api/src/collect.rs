//! `execute_and_collect`: running a job and bringing its output back to the program.

use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use eddy_core::{Batch, Data, FnResult};
use eddy_functions::{SinkContext, SinkFunction};

use crate::datastream::DataStream;
use crate::error::JobError;

/// Sends every batch it receives to the program over a bounded channel (so a slow reader
/// backpressures the job).
#[derive(Clone)]
struct CollectSink<T> {
    sender: Sender<Vec<T>>,
}

impl<T: Data> SinkFunction<T> for CollectSink<T> {
    fn invoke(&mut self, value: T, _ctx: &SinkContext) -> FnResult<()> {
        self.sender
            .send(vec![value])
            .map_err(|_| "the program stopped collecting results".into())
    }

    fn invoke_batch(&mut self, batch: Batch<T>) -> FnResult<()> {
        self.sender
            .send(batch.into_values())
            .map_err(|_| "the program stopped collecting results".into())
    }
}

/// How often the collecting program checks whether the job ended while no results arrive.
const POLL: Duration = Duration::from_millis(20);

impl<T: Data> DataStream<T> {
    /// Runs the job and returns every element of this stream (for bounded jobs; order across
    /// parallel subtasks is unspecified).
    pub fn execute_and_collect(&self, job_name: &str) -> Result<Vec<T>, JobError> {
        self.collect_up_to(job_name, None)
    }

    /// Runs the job until this stream produced `limit` elements (or ended), cancels it, and
    /// returns those elements. Works for unbounded jobs.
    pub fn execute_and_collect_limit(
        &self,
        job_name: &str,
        limit: usize,
    ) -> Result<Vec<T>, JobError> {
        self.collect_up_to(job_name, Some(limit))
    }

    fn collect_up_to(&self, job_name: &str, limit: Option<usize>) -> Result<Vec<T>, JobError> {
        let (sender, receiver) = bounded(16);
        self.add_sink(CollectSink { sender }).name("Sink: Collect");
        let client = self.env.execute_async(job_name)?;
        let result = receive(&client, receiver, limit);
        self.env.job_ended();
        result
    }
}

/// Receives the collected batches until the job ends (or `limit` elements arrived, then
/// cancels the job).
fn receive<T>(
    client: &crate::JobClient,
    receiver: crossbeam_channel::Receiver<Vec<T>>,
    limit: Option<usize>,
) -> Result<Vec<T>, JobError> {
    let mut collected = Vec::new();
    loop {
        if limit.is_some_and(|n| collected.len() >= n) {
            client.cancel()?;
            // Stop collecting before waiting for the job: a sink blocked on the full channel
            // then fails its send and stops at once (its error is ignored, the job is
            // already cancelling) instead of holding the job until
            // task.cancellation.timeout.
            drop(receiver);
            let _ = client.get_job_execution_result();
            collected.truncate(limit.unwrap_or(usize::MAX));
            return Ok(collected);
        }
        match receiver.recv_timeout(POLL) {
            Ok(values) => collected.extend(values),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                if client.get_job_status()?.is_terminal() {
                    collected.extend(receiver.try_iter().flatten());
                    client.get_job_execution_result()?;
                    if let Some(n) = limit {
                        collected.truncate(n);
                    }
                    return Ok(collected);
                }
            }
        }
    }
}
