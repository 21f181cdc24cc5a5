//! A task's inbox: its bounded input channels and its mailbox, behind one wait point.
//!
//! Producers append whole batches to a channel's queue. Each channel owns `capacity` exclusive
//! slots; beyond them it may borrow from the inbox's `floating` slots, shared by all channels
//! (Flink's exclusive and floating buffers). A producer whose channel has neither blocks — that
//! is the backpressure. The consumer task takes from the channels in
//! round-robin order, but mails (cancellation, later checkpoints) first.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use eddy_checkpoint::CheckpointBarrier;
use eddy_core::Watermark;

use crate::error::TaskError;
use crate::recycle::ReturnedBatches;

/// What travels through a channel, in order.
pub enum ChannelEvent {
    /// A batch of records (a `Batch<T>` behind `dyn Any`) and its length.
    Batch(Box<dyn Any + Send>, usize),
    /// A batch of records (a `Batch<T>` behind `dyn Any`), its length, and the watermarks the
    /// producer emitted between its records, in order: watermarks travel with the records
    /// instead of cutting the producer's batches short.
    MarkedBatch(Box<dyn Any + Send>, usize, Vec<WatermarkAt>),
    /// A watermark from the producer.
    Watermark(Watermark),
    /// The producer's stream became idle (`true`) or active again (`false`).
    Status(bool),
    /// Checkpoint barrier: everything before it on this channel belongs to the checkpoint.
    Barrier(CheckpointBarrier),
    /// The producer will send nothing more on this channel.
    EndOfPartition,
}

impl ChannelEvent {
    /// The records the event carries.
    fn records(&self) -> usize {
        match self {
            ChannelEvent::Batch(_, len) | ChannelEvent::MarkedBatch(_, len, _) => *len,
            _ => 0,
        }
    }
}

/// A watermark among a batch's records: it follows the batch's first `after` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatermarkAt {
    /// How many of the batch's records precede the watermark.
    pub after: usize,
    /// The watermark.
    pub watermark: Watermark,
}

/// A message for the task itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mail {
    /// Stop as soon as possible and report CANCELED.
    Cancel,
    /// Inject this barrier (source tasks): snapshot the chain and pass the barrier on.
    TriggerCheckpoint(CheckpointBarrier),
    /// Stop-with-savepoint (source tasks): emit the final watermark first when `drain`,
    /// inject the savepoint's barrier, emit nothing more, and end the stream once the
    /// savepoint completed (or go on if it was aborted).
    StopWithSavepoint {
        /// The savepoint's barrier.
        barrier: CheckpointBarrier,
        /// Whether event time advances to its end first.
        drain: bool,
    },
    /// Checkpoint n completed: tell the functions (sinks commit what they pre-committed).
    CheckpointComplete(u64),
    /// Checkpoint n was aborted: tell the functions.
    CheckpointAborted(u64),
}

/// What the task takes out of its inbox.
pub enum InboxItem {
    /// A mail.
    Mail(Mail),
    /// An event from input channel `channel`.
    Event(usize, ChannelEvent),
}

struct InboxState {
    channels: Vec<VecDeque<ChannelEvent>>,
    /// Channels held back while the task aligns checkpoint barriers.
    blocked: Vec<bool>,
    /// Where each channel's producer takes its batches back, if it lends them (see
    /// [`crate::recycle`]).
    returns: Vec<Option<Arc<ReturnedBatches>>>,
    mails: VecDeque<Mail>,
    next_channel: usize,
    queued_records: usize,
    queued_events: usize,
    floating_used: usize,
    closed: bool,
}

/// A task's input channels and mailbox.
pub struct TaskInbox {
    state: Mutex<InboxState>,
    data_available: Condvar,
    space_available: Condvar,
    capacity: usize,
    floating: usize,
}

/// How long blocked producers and consumers sleep between checks of their cancellation flags.
const WAIT_SLICE: Duration = Duration::from_millis(20);

impl TaskInbox {
    /// An inbox whose channels each queue `capacity` events, plus up to `floating` more shared
    /// by all channels.
    pub fn new(capacity: usize, floating: usize) -> Arc<TaskInbox> {
        Arc::new(TaskInbox {
            state: Mutex::new(InboxState {
                channels: Vec::new(),
                blocked: Vec::new(),
                returns: Vec::new(),
                mails: VecDeque::new(),
                next_channel: 0,
                queued_records: 0,
                queued_events: 0,
                floating_used: 0,
                closed: false,
            }),
            data_available: Condvar::new(),
            space_available: Condvar::new(),
            capacity: capacity.max(1),
            floating,
        })
    }

    /// Appends an event to a channel, blocking while the channel is full.
    ///
    /// Returns [`TaskError::Canceled`] when `cancelled` is raised while waiting and
    /// [`TaskError::ConsumerGone`] when the consuming task has terminated.
    pub fn send(
        &self,
        channel: usize,
        event: ChannelEvent,
        cancelled: &AtomicBool,
    ) -> Result<(), TaskError> {
        let mut state = self.state.lock();
        if state.channels.len() <= channel {
            state.channels.resize_with(channel + 1, VecDeque::new);
        }
        loop {
            if state.closed {
                return Err(TaskError::ConsumerGone);
            }
            if cancelled.load(Ordering::Relaxed) {
                return Err(TaskError::Canceled);
            }
            if state.channels[channel].len() < self.capacity {
                break;
            }
            if state.floating_used < self.floating {
                state.floating_used += 1;
                break;
            }
            self.space_available.wait_for(&mut state, WAIT_SLICE);
        }
        state.queued_records += event.records();
        state.queued_events += 1;
        state.channels[channel].push_back(event);
        drop(state);
        self.data_available.notify_one();
        Ok(())
    }

    /// Delivers a mail to the task.
    pub fn post(&self, mail: Mail) {
        self.state.lock().mails.push_back(mail);
        self.data_available.notify_one();
    }

    /// Takes the next mail or channel event, waiting at most `timeout`; `None` on timeout.
    pub fn next(&self, timeout: Duration) -> Option<InboxItem> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock();
        loop {
            if let Some(item) = self.take(&mut state) {
                self.wake_producers(state);
                return Some(item);
            }
            if self
                .data_available
                .wait_until(&mut state, deadline)
                .timed_out()
            {
                let item = self.take(&mut state);
                self.wake_producers(state);
                return item;
            }
        }
    }

    /// Wakes blocked producers once the inbox has drained to half its capacity, rather than
    /// after every event: a producer that is faster than its consumer then refills several
    /// slots per wake-up instead of paying a wake-up per batch.
    fn wake_producers(&self, state: parking_lot::MutexGuard<'_, InboxState>) {
        let capacity = state.channels.len() * self.capacity + self.floating;
        let wake = state.queued_events <= capacity / 2;
        drop(state);
        if wake {
            self.space_available.notify_all();
        }
    }

    /// Takes the next mail or channel event if there is one, without waiting.
    pub fn try_next(&self) -> Option<InboxItem> {
        let mut state = self.state.lock();
        let item = self.take(&mut state);
        if item.is_some() {
            self.wake_producers(state);
        }
        item
    }

    /// Takes the next mail if there is one (source tasks, which have no input channels).
    pub fn try_mail(&self) -> Option<Mail> {
        self.state.lock().mails.pop_front()
    }

    /// Waits at most `timeout` for a mail.
    pub fn wait_mail(&self, timeout: Duration) -> Option<Mail> {
        let mut state = self.state.lock();
        if state.mails.is_empty() {
            self.data_available.wait_for(&mut state, timeout);
        }
        state.mails.pop_front()
    }

    /// Holds channel `channel` back: [`next`](Self::next) and [`try_next`](Self::try_next)
    /// skip it (its producer fills its slots and then blocks) until it is unblocked.
    pub fn block(&self, channel: usize) {
        let mut state = self.state.lock();
        if state.blocked.len() <= channel {
            state.blocked.resize(channel + 1, false);
        }
        state.blocked[channel] = true;
    }

    /// Releases every held-back channel.
    pub fn unblock_all(&self) {
        self.state
            .lock()
            .blocked
            .iter_mut()
            .for_each(|b| *b = false);
        self.data_available.notify_one();
    }

    /// Records that the producer of `channel` lends its batches: the consumer copies each and
    /// hands the original back to `returns`.
    pub fn lend_batches(&self, channel: usize, returns: Arc<ReturnedBatches>) {
        let mut state = self.state.lock();
        if state.returns.len() <= channel {
            state.returns.resize(channel + 1, None);
        }
        state.returns[channel] = Some(returns);
    }

    /// Where the producer of `channel` takes its batches back, if it lends them.
    pub fn returns(&self, channel: usize) -> Option<Arc<ReturnedBatches>> {
        self.state.lock().returns.get(channel).cloned().flatten()
    }

    /// Records queued in the channels right now (for backpressure metrics and tests).
    pub fn queued_records(&self) -> usize {
        self.state.lock().queued_records
    }

    /// Marks the consumer as terminated: producers stop waiting and get
    /// [`TaskError::ConsumerGone`]; queued events are dropped.
    pub fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        state.channels.iter_mut().for_each(VecDeque::clear);
        state.queued_records = 0;
        state.queued_events = 0;
        state.floating_used = 0;
        drop(state);
        self.space_available.notify_all();
    }

    fn take(&self, state: &mut InboxState) -> Option<InboxItem> {
        if let Some(mail) = state.mails.pop_front() {
            return Some(InboxItem::Mail(mail));
        }
        let n = state.channels.len();
        for offset in 0..n {
            let channel = (state.next_channel + offset) % n;
            if state.blocked.get(channel).copied().unwrap_or(false) {
                continue;
            }
            let borrowed = state.channels[channel].len() > self.capacity;
            if let Some(event) = state.channels[channel].pop_front() {
                if borrowed {
                    state.floating_used -= 1;
                }
                state.next_channel = (channel + 1) % n;
                state.queued_records -= event.records();
                state.queued_events -= 1;
                return Some(InboxItem::Event(channel, event));
            }
        }
        None
    }
}

/// A producer's handle on one input channel of a consumer task.
#[derive(Clone)]
pub struct ChannelSender {
    inbox: Arc<TaskInbox>,
    channel: usize,
    cancelled: Arc<AtomicBool>,
}

impl ChannelSender {
    /// A handle on `channel` of `inbox`, giving up when `cancelled` (the producer's flag) is set.
    pub fn new(inbox: Arc<TaskInbox>, channel: usize, cancelled: Arc<AtomicBool>) -> Self {
        ChannelSender {
            inbox,
            channel,
            cancelled,
        }
    }

    /// Sends an event, blocking while the channel is full.
    pub fn send(&self, event: ChannelEvent) -> Result<(), TaskError> {
        self.inbox.send(self.channel, event, &self.cancelled)
    }

    /// From now on this channel's batches are lent: the consumer hands each back to `returns`
    /// (see [`crate::recycle`]).
    pub fn lend_batches(&self, returns: Arc<ReturnedBatches>) {
        self.inbox.lend_batches(self.channel, returns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mails_come_before_data_and_channels_alternate() {
        let inbox = TaskInbox::new(4, 0);
        let flag = AtomicBool::new(false);
        for ch in [0usize, 0, 1] {
            inbox
                .send(ch, ChannelEvent::Watermark(Watermark(ch as i64)), &flag)
                .unwrap();
        }
        inbox.post(Mail::Cancel);
        assert!(matches!(
            inbox.try_next(),
            Some(InboxItem::Mail(Mail::Cancel))
        ));
        let order: Vec<usize> = std::iter::from_fn(|| match inbox.try_next() {
            Some(InboxItem::Event(ch, _)) => Some(ch),
            _ => None,
        })
        .collect();
        assert_eq!(order, vec![0, 1, 0]);
    }

    #[test]
    fn channels_borrow_floating_slots_up_to_the_shared_limit() {
        let inbox = TaskInbox::new(1, 2);
        let flag = AtomicBool::new(false);
        // Channel 0: one exclusive + two floating slots.
        for _ in 0..3 {
            inbox.send(0, ChannelEvent::EndOfPartition, &flag).unwrap();
        }
        // Channel 1 still has its exclusive slot.
        inbox.send(1, ChannelEvent::EndOfPartition, &flag).unwrap();
        // Nothing left for a second event on channel 1: it would block, so cancel it first.
        flag.store(true, Ordering::Relaxed);
        assert!(matches!(
            inbox.send(1, ChannelEvent::EndOfPartition, &flag),
            Err(TaskError::Canceled)
        ));
        flag.store(false, Ordering::Relaxed);
        // Taking from channel 0 returns a floating slot, which channel 1 can then use.
        assert!(matches!(inbox.try_next(), Some(InboxItem::Event(0, _))));
        inbox.send(1, ChannelEvent::EndOfPartition, &flag).unwrap();
    }

    #[test]
    fn full_channel_blocks_until_cancelled_and_closed_inbox_rejects() {
        let inbox = TaskInbox::new(1, 0);
        let flag = Arc::new(AtomicBool::new(false));
        inbox.send(0, ChannelEvent::EndOfPartition, &flag).unwrap();
        let blocked = {
            let inbox = inbox.clone();
            let flag = flag.clone();
            std::thread::spawn(move || inbox.send(0, ChannelEvent::EndOfPartition, &flag))
        };
        flag.store(true, Ordering::Relaxed);
        assert!(matches!(blocked.join().unwrap(), Err(TaskError::Canceled)));
        inbox.close();
        let fresh = AtomicBool::new(false);
        assert!(matches!(
            inbox.send(0, ChannelEvent::EndOfPartition, &fresh),
            Err(TaskError::ConsumerGone)
        ));
    }
}
