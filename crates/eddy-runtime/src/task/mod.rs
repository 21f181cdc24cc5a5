//! Running one subtask: build its chain, open it, loop over input (or poll the source), close.

mod alignment;
mod chain;
mod valve;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use eddy_checkpoint::CheckpointBarrier;
use eddy_core::ids::JobId;
use eddy_functions::SourceStatus;
use eddy_graph::{ExecutionVertex, JobGraph, VertexId};
use eddy_state::time::ProcessingTimeService;

pub use chain::{ChainBuilder, ChainHead};
pub use valve::{ValveChange, WatermarkValve};

use alignment::{AlignmentStep, BarrierAligner};

use crate::checkpoint::{ChainSnapshot, TaskCheckpointing, TaskCheckpoints};
use crate::error::TaskError;
use crate::factory::{InputProcessor, JobCode, SourceDriver, TaskSettings};
use crate::inbox::{ChannelEvent, ChannelSender, InboxItem, Mail, TaskInbox, WatermarkAt};
use crate::network::{InboxKey, LocalNetwork};
use crate::recycle::ReturnedBatches;
use crate::restore::JobRestoreState;

/// What a TaskManager needs to run one subtask (plain data; the code comes from [`JobCode`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskDescriptor {
    /// The job.
    pub job_id: JobId,
    /// Which (re)start of the job this belongs to.
    pub run: u32,
    /// How often this subtask was restarted before.
    pub attempt_number: u32,
    /// The JobGraph vertex.
    pub vertex: VertexId,
    /// This subtask's index.
    pub subtask_index: u32,
    /// The slot the subtask runs in (`<TaskManager>/<slot index>`): keyed operators of one
    /// job in one slot share the slot's state-backend memory.
    pub slot: String,
    /// The subtask's channels.
    pub execution_vertex: ExecutionVertex,
    /// Runtime settings.
    pub settings: TaskSettings,
}

/// How a subtask ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskOutcome {
    /// All input consumed and all output delivered.
    Finished,
    /// Stopped on request (or because a downstream task went away).
    Canceled,
    /// Failed; the message names the operator and subtask, e.g. `Map (2/4) failed: …`.
    Failed(String),
}

/// A running subtask.
pub struct TaskHandle {
    /// `Chain name (i/n)`.
    pub name: String,
    inbox: Arc<TaskInbox>,
    cancelled: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TaskHandle {
    /// Asks the subtask to stop; it reports [`TaskOutcome::Canceled`].
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.inbox.post(Mail::Cancel);
    }

    /// Injects checkpoint barrier `barrier` (source subtasks).
    pub fn trigger_checkpoint(&self, barrier: CheckpointBarrier) {
        self.inbox.post(Mail::TriggerCheckpoint(barrier));
    }

    /// Injects the barrier of a stop-with-savepoint (source subtasks; see
    /// [`Mail::StopWithSavepoint`]).
    pub fn stop_with_savepoint(&self, barrier: CheckpointBarrier, drain: bool) {
        self.inbox.post(Mail::StopWithSavepoint { barrier, drain });
    }

    /// Tells the subtask that checkpoint `checkpoint_id` completed (or was aborted).
    pub fn notify_checkpoint(&self, checkpoint_id: u64, completed: bool) {
        self.inbox.post(if completed {
            Mail::CheckpointComplete(checkpoint_id)
        } else {
            Mail::CheckpointAborted(checkpoint_id)
        });
    }

    /// Waits for the subtask's thread to end.
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a subtask on its own thread; `on_exit` is called with its outcome when it ends.
/// With `checkpointing`, the subtask takes part in checkpoints; with `restore`, its operators
/// start from that checkpoint's state.
pub fn spawn_task(
    descriptor: TaskDescriptor,
    job: Arc<JobGraph>,
    code: Arc<JobCode>,
    network: Arc<LocalNetwork>,
    checkpointing: Option<TaskCheckpointing>,
    restore: Option<Arc<JobRestoreState>>,
    on_exit: impl FnOnce(TaskOutcome) + Send + 'static,
) -> std::io::Result<TaskHandle> {
    let name = descriptor.execution_vertex.name.clone();
    let inbox = network.inbox(
        InboxKey {
            job: descriptor.job_id,
            run: descriptor.run,
            vertex: descriptor.vertex,
            subtask: descriptor.subtask_index,
        },
        descriptor.settings.buffers_per_channel,
        descriptor.settings.floating_buffers_per_gate,
    );
    let cancelled = Arc::new(AtomicBool::new(false));
    let thread = {
        let (inbox, cancelled, name) = (inbox.clone(), cancelled.clone(), name.clone());
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let checkpoints = TaskCheckpoints::new(
                    checkpointing,
                    (descriptor.vertex, descriptor.subtask_index),
                    &name,
                );
                let task = RunningTask {
                    descriptor: &descriptor,
                    inbox: &inbox,
                    cancelled: &cancelled,
                    checkpoints,
                };
                let result = task.run(&job, &code, &network, restore.as_deref());
                inbox.close();
                let outcome = match result {
                    Ok(()) => TaskOutcome::Finished,
                    Err(e) if e.is_cancellation() => TaskOutcome::Canceled,
                    // Only internal errors lack the operator's name; the others
                    // (`Record` included) already start with `Operator (i/n)`.
                    Err(e @ TaskError::Internal(_)) => TaskOutcome::Failed(format!("{name}: {e}")),
                    Err(e) => TaskOutcome::Failed(e.to_string()),
                };
                tracing::debug!(task = %name, ?outcome, "task ended");
                on_exit(outcome);
            })?
    };
    Ok(TaskHandle {
        name,
        inbox,
        cancelled,
        thread: Some(thread),
    })
}

/// A subtask's thread: what its loops share.
struct RunningTask<'a> {
    descriptor: &'a TaskDescriptor,
    inbox: &'a TaskInbox,
    cancelled: &'a Arc<AtomicBool>,
    checkpoints: TaskCheckpoints,
}

impl RunningTask<'_> {
    fn run(
        mut self,
        job: &JobGraph,
        code: &JobCode,
        network: &LocalNetwork,
        restore: Option<&JobRestoreState>,
    ) -> Result<(), TaskError> {
        if let Some(states) = restore.and_then(|r| self.finished_on_restore(job, r)) {
            return self.end_finished(job, network, states);
        }
        let clock = ProcessingTimeService::new();
        let head = ChainBuilder {
            descriptor: self.descriptor,
            job,
            code,
            network,
            cancelled: self.cancelled,
            clock: clock.clone(),
            checkpointing: self.checkpoints.enabled(),
            restore,
        }
        .build()?;
        let ticker = Ticker::new(self.descriptor.settings.auto_watermark_interval, clock);
        match head {
            ChainHead::Source(mut driver) => {
                let result = driver.open().and_then(|()| {
                    self.source_loop(driver.as_mut(), ticker)?;
                    self.finish(driver.as_mut())
                });
                finish_with_close(result, driver.close())
            }
            ChainHead::Input(mut processor) => {
                let result = processor.open().and_then(|()| {
                    self.input_loop(processor.as_mut(), ticker)?;
                    self.finish(processor.as_mut())
                });
                finish_with_close(result, processor.close())
            }
        }
    }

    /// The final states of this subtask's operators if every one of them had finished in the
    /// checkpoint the job restores from (Flink's finished-on-restore tasks).
    fn finished_on_restore(
        &self,
        job: &JobGraph,
        restore: &JobRestoreState,
    ) -> Option<Vec<(String, Vec<u8>)>> {
        let graph = &job.stream_graph;
        let subtask = self.descriptor.subtask_index;
        job.vertices[self.descriptor.vertex]
            .operators
            .iter()
            .map(|&node| {
                let id = graph.operator_id(node);
                let parallelism = graph.node(node).parallelism;
                let state = restore.finished_state(&id, subtask, parallelism)?;
                Some((id, state.to_vec()))
            })
            .collect()
    }

    /// A subtask that had finished before the checkpoint: it ends every output channel (its
    /// consumers have already seen all it emitted) and reports its final state again, without
    /// running any operator: what its functions did at the end of their input is not redone.
    fn end_finished(
        &mut self,
        job: &JobGraph,
        network: &LocalNetwork,
        states: Vec<(String, Vec<u8>)>,
    ) -> Result<(), TaskError> {
        let d = self.descriptor;
        tracing::debug!(task = %d.execution_vertex.name, "finished before the checkpoint: not run again");
        for output in &d.execution_vertex.outputs {
            let target = job.edges[output.edge].target_vertex;
            for &(subtask, channel) in &output.consumers {
                let key = InboxKey {
                    job: d.job_id,
                    run: d.run,
                    vertex: target,
                    subtask,
                };
                let inbox = network.inbox(
                    key,
                    d.settings.buffers_per_channel,
                    d.settings.floating_buffers_per_gate,
                );
                ChannelSender::new(inbox, channel, self.cancelled.clone())
                    .send(ChannelEvent::EndOfPartition)?;
            }
        }
        self.checkpoints.report_finished(states);
        Ok(())
    }

    /// The input has ended. With checkpointing, the task reports its final state and stays
    /// until a checkpoint holding that state completes, so that what its functions commit on
    /// completion (transactional sinks) is covered by a checkpoint.
    fn finish<H: ChainHeadOps + ?Sized>(&mut self, head: &mut H) -> Result<(), TaskError> {
        if !self.checkpoints.finish(|s| head.snapshot(s))? {
            return Ok(());
        }
        let last_barrier = self.checkpoints.last_barrier();
        loop {
            match self.inbox.wait_mail(IDLE_WAIT) {
                Some(Mail::CheckpointComplete(id)) => {
                    self.checkpoints.notify(id, true);
                    head.notify(id, true)?;
                    if id > last_barrier {
                        return Ok(());
                    }
                }
                Some(Mail::CheckpointAborted(id)) => {
                    self.checkpoints.notify(id, false);
                    head.notify(id, false)?
                }
                Some(Mail::Cancel) => return Err(TaskError::Canceled),
                // The task passes no more barriers.
                Some(Mail::TriggerCheckpoint(_) | Mail::StopWithSavepoint { .. }) => {}
                None if self.cancelled.load(Ordering::Relaxed) => return Err(TaskError::Canceled),
                None => {}
            }
        }
    }
}

/// What the task loop needs of its chain's head for checkpoints.
trait ChainHeadOps {
    fn snapshot(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError>;
    fn notify(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError>;
}

impl ChainHeadOps for dyn SourceDriver + '_ {
    fn snapshot(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        self.snapshot_state(snapshot)
    }
    fn notify(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        self.notify_checkpoint(checkpoint_id, completed)
    }
}

impl ChainHeadOps for dyn InputProcessor + '_ {
    fn snapshot(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        self.snapshot_state(snapshot)
    }
    fn notify(&mut self, checkpoint_id: u64, completed: bool) -> Result<(), TaskError> {
        self.notify_checkpoint(checkpoint_id, completed)
    }
}

/// The loop's error wins over a close error (it is the root cause).
fn finish_with_close(
    result: Result<(), TaskError>,
    closed: Result<(), TaskError>,
) -> Result<(), TaskError> {
    result.and(closed)
}

/// The task's timer tick: periodic (`pipeline.auto-watermark-interval`, for periodic
/// watermarks) and whenever an operator's processing-time timer is due.
struct Ticker {
    period: Duration,
    next: Option<Instant>,
    clock: ProcessingTimeService,
}

impl Ticker {
    fn new(period: Duration, clock: ProcessingTimeService) -> Self {
        Ticker {
            period,
            next: (!period.is_zero()).then(|| Instant::now() + period),
            clock,
        }
    }

    /// The tick's time if it is due now.
    fn due(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let periodic = self.next.is_some_and(|next| now >= next);
        if periodic {
            self.next = Some(now + self.period);
        }
        let timers = self.clock.next_wakeup().is_some() && self.clock.take_due(self.clock.now());
        (periodic || timers).then_some(now)
    }

    /// How long the task may wait before the next tick is due (at most `limit`).
    fn wait_limit(&self, limit: Duration) -> Duration {
        let mut limit = self.next.map_or(limit, |next| {
            limit.min(next.saturating_duration_since(Instant::now()))
        });
        if let Some(wakeup) = self.clock.next_wakeup() {
            let millis = u64::try_from(wakeup.saturating_sub(self.clock.now())).unwrap_or(0);
            // One extra millisecond: the clock has millisecond resolution.
            limit = limit.min(Duration::from_millis(millis + 1));
        }
        limit
    }
}

impl RunningTask<'_> {
    /// Handles a mail; `Err` ends the task.
    fn on_mail<H: ChainHeadOps + ?Sized>(
        &mut self,
        mail: Mail,
        head: &mut H,
    ) -> Result<(), TaskError> {
        match mail {
            Mail::Cancel => Err(TaskError::Canceled),
            Mail::TriggerCheckpoint(barrier) => {
                self.checkpoints.checkpoint(barrier, |s| head.snapshot(s))
            }
            Mail::CheckpointComplete(id) => {
                self.checkpoints.notify(id, true);
                head.notify(id, true)
            }
            Mail::CheckpointAborted(id) => {
                self.checkpoints.notify(id, false);
                head.notify(id, false)
            }
            // Only source tasks stop; anything else passes the barrier on as it comes.
            Mail::StopWithSavepoint { barrier, .. } => {
                self.checkpoints.checkpoint(barrier, |s| head.snapshot(s))
            }
        }
    }

    /// Stop-with-savepoint at a source: the final watermark first when draining, then the
    /// savepoint's barrier; then the source emits nothing more while it waits for the
    /// savepoint's outcome. Returns `true` when the savepoint completed (the stream is to end
    /// now, without the final watermark unless drained), `false` when it was aborted (the
    /// source goes on).
    fn stop_source(
        &mut self,
        driver: &mut dyn SourceDriver,
        barrier: CheckpointBarrier,
        drain: bool,
    ) -> Result<bool, TaskError> {
        if drain {
            driver.drain()?;
        }
        self.checkpoints
            .checkpoint(barrier, |s| driver.snapshot_state(s))?;
        driver.flush()?;
        loop {
            match self.inbox.wait_mail(IDLE_WAIT) {
                Some(Mail::CheckpointComplete(id)) => {
                    self.checkpoints.notify(id, true);
                    driver.notify_checkpoint(id, true)?;
                    if id == barrier.id {
                        return Ok(true);
                    }
                }
                Some(Mail::CheckpointAborted(id)) => {
                    self.checkpoints.notify(id, false);
                    driver.notify_checkpoint(id, false)?;
                    if id == barrier.id {
                        return Ok(false);
                    }
                }
                Some(Mail::Cancel) => return Err(TaskError::Canceled),
                // The source's position does not move meanwhile, so other barriers pass.
                Some(
                    Mail::TriggerCheckpoint(other) | Mail::StopWithSavepoint { barrier: other, .. },
                ) => {
                    self.checkpoints
                        .checkpoint(other, |s| driver.snapshot_state(s))?;
                    driver.flush()?;
                }
                None if self.cancelled.load(Ordering::Relaxed) => return Err(TaskError::Canceled),
                None => {}
            }
        }
    }

    fn source_loop(
        &mut self,
        driver: &mut dyn SourceDriver,
        mut ticker: Ticker,
    ) -> Result<(), TaskError> {
        let settings = &self.descriptor.settings;
        let mut last_flush = Instant::now();
        loop {
            if self.cancelled.load(Ordering::Relaxed) {
                return Err(TaskError::Canceled);
            }
            // Between two polls the source's position matches what it emitted: the place
            // for a barrier.
            if let Some(mail) = self.inbox.try_mail() {
                if let Mail::StopWithSavepoint { barrier, drain } = mail {
                    if self.stop_source(driver, barrier, drain)? {
                        return driver.stop();
                    }
                    continue;
                }
                self.on_mail(mail, driver)?;
            }
            match driver.poll()? {
                SourceStatus::MoreAvailable => {
                    if last_flush.elapsed() >= settings.buffer_timeout {
                        driver.flush()?;
                        last_flush = Instant::now();
                    }
                }
                SourceStatus::NothingAvailable(wait) => {
                    driver.flush()?;
                    last_flush = Instant::now();
                    let wait = ticker.wait_limit(wait.min(settings.buffer_timeout));
                    if let Some(mail) = self.inbox.wait_mail(wait) {
                        if let Mail::StopWithSavepoint { barrier, drain } = mail {
                            if self.stop_source(driver, barrier, drain)? {
                                return driver.stop();
                            }
                            continue;
                        }
                        self.on_mail(mail, driver)?;
                    }
                }
                SourceStatus::Finished => return driver.finish(),
            }
            if let Some(now) = ticker.due() {
                driver.on_timer(now)?;
            }
        }
    }

    /// Passes a checkpoint alignment step on: snapshot when ready, hold or release channels.
    fn align(
        &mut self,
        processor: &mut dyn InputProcessor,
        channel: usize,
        step: AlignmentStep,
    ) -> Result<(), TaskError> {
        if let Some(barrier) = step.ready {
            self.checkpoints
                .checkpoint(barrier, |s| processor.snapshot_state(s))?;
        }
        if step.release_all {
            self.inbox.unblock_all();
        }
        if step.hold {
            self.inbox.block(channel);
        }
        Ok(())
    }

    fn input_loop(
        &mut self,
        processor: &mut dyn InputProcessor,
        mut ticker: Ticker,
    ) -> Result<(), TaskError> {
        let (inbox, cancelled) = (self.inbox, self.cancelled);
        let settings = &self.descriptor.settings;
        let vertex = &self.descriptor.execution_vertex;
        // Per channel: its logical input and its position among that input's channels.
        let mut per_input = [0usize; 2];
        let channels: Vec<(u8, usize)> = vertex
            .inputs
            .iter()
            .map(|c| {
                let input = c.input_index.min(1);
                let local = per_input[usize::from(input)];
                per_input[usize::from(input)] += 1;
                (input, local)
            })
            .collect();
        let mut valves = [
            WatermarkValve::new(per_input[0]),
            WatermarkValve::new(per_input[1]),
        ];
        let mut aligner = BarrierAligner::new(channels.len());
        // Per channel, looked up at its first batch (its producer has registered by then):
        // where the producer takes lent batches back, if it lends them.
        let mut returns: Vec<Option<Option<Arc<ReturnedBatches>>>> = vec![None; channels.len()];
        let mut open_channels = per_input;
        let mut remaining = channels.len();
        if remaining == 0 {
            return Err(TaskError::Internal(format!(
                "{} has no input channels",
                vertex.name
            )));
        }
        let mut last_flush = Instant::now();
        loop {
            if let Some(now) = ticker.due() {
                processor.on_timer(now)?;
            }
            let item = match inbox.try_next() {
                Some(item) => item,
                None => {
                    processor.flush()?;
                    last_flush = Instant::now();
                    match inbox.next(ticker.wait_limit(IDLE_WAIT)) {
                        Some(item) => item,
                        None if cancelled.load(Ordering::Relaxed) => {
                            return Err(TaskError::Canceled)
                        }
                        None => continue,
                    }
                }
            };
            match item {
                InboxItem::Mail(mail) => self.on_mail(mail, processor)?,
                InboxItem::Event(channel, event) => {
                    let (input, local) = channels[channel];
                    let valve = &mut valves[usize::from(input)];
                    match event {
                        ChannelEvent::Batch(batch, _) => {
                            let returns = returns[channel]
                                .get_or_insert_with(|| inbox.returns(channel))
                                .as_deref();
                            processor.process_batch(input, batch, returns)?
                        }
                        ChannelEvent::MarkedBatch(batch, _, watermarks) => {
                            // The valve first: where among the records the input's watermark
                            // advances (the valve's state does not depend on the records).
                            let advanced: Vec<WatermarkAt> = watermarks
                                .iter()
                                .filter_map(|mark| {
                                    let watermark = valve.update(local, mark.watermark)?;
                                    Some(WatermarkAt { watermark, ..*mark })
                                })
                                .collect();
                            let returns = returns[channel]
                                .get_or_insert_with(|| inbox.returns(channel))
                                .as_deref();
                            processor.process_marked_batch(input, batch, &advanced, returns)?
                        }
                        ChannelEvent::Watermark(watermark) => {
                            if let Some(advanced) = valve.update(local, watermark) {
                                processor.process_watermark(input, advanced)?;
                            }
                        }
                        ChannelEvent::Status(idle) => {
                            let change = valve.set_idle(local, idle);
                            apply_valve_change(processor, input, change)?;
                        }
                        ChannelEvent::Barrier(barrier) => {
                            let step = aligner.on_barrier(channel, barrier);
                            self.align(processor, channel, step)?;
                        }
                        ChannelEvent::EndOfPartition => {
                            // The end of a channel stands for the barriers it will not send:
                            // a checkpoint waiting for them is taken before the input ends.
                            let step = aligner.on_end_of_partition(channel);
                            self.align(processor, channel, step)?;
                            let change = valves[usize::from(input)].channel_ended(local);
                            apply_valve_change(processor, input, change)?;
                            open_channels[usize::from(input)] -= 1;
                            if open_channels[usize::from(input)] == 0 {
                                processor.end_of_input(input)?;
                            }
                            remaining -= 1;
                            if remaining == 0 {
                                return processor.flush();
                            }
                        }
                    }
                }
            }
            if last_flush.elapsed() >= settings.buffer_timeout {
                processor.flush()?;
                last_flush = Instant::now();
            }
        }
    }
}

/// Passes what a channel event changed about an input to the chain: idleness first (so an
/// input that turns active is active before its watermark moves), then the watermark.
fn apply_valve_change(
    processor: &mut dyn InputProcessor,
    input: u8,
    change: ValveChange,
) -> Result<(), TaskError> {
    if let Some(idle) = change.idle {
        processor.process_stream_status(input, idle)?;
    }
    if let Some(watermark) = change.watermark {
        processor.process_watermark(input, watermark)?;
    }
    Ok(())
}

/// How long an idle task waits for input before checking its cancellation flag again.
const IDLE_WAIT: Duration = Duration::from_millis(500);
