//! Network writers: the end of a chain, partitioning batches into the consumers' channels.
//!
//! Records are gathered per channel and sent as whole batches when `batch_size` records are
//! pending, when the task flushes (its input ran dry, or the buffer timeout passed), and before
//! any control event, so events stay in order with the data.
//!
//! Each partitioning strategy is a [`Router`] (how records are gathered into per-channel
//! batches); [`Writer`] wraps any router into an operator [`Output`] and adds what all share:
//! control events go to every channel, after the pending data.

mod edges;
mod selectors;

use eddy_core::{Data, Watermark};

use crate::checkpoint::ChainSnapshot;
use crate::error::TaskError;
use crate::inbox::{ChannelEvent, ChannelSender};
use crate::output::{Batch, Output};

pub use edges::{CustomEdge, KeyGroupEdge, StandardEdge};
pub use selectors::{
    ChannelSelector, CustomSelector, KeyGroupSelector, RoundRobinSelector, ShuffleSelector,
};

fn send_batch<T: Data>(channel: &ChannelSender, batch: Batch<T>) -> Result<(), TaskError> {
    let len = batch.len();
    channel.send(ChannelEvent::Batch(Box::new(batch), len))
}

/// How a writer gathers records into batches for its channels.
pub trait Router<T>: Send {
    /// Takes a batch; sends whatever batches became full.
    fn route(&mut self, batch: Batch<T>) -> Result<(), TaskError>;
    /// Sends every partially filled batch.
    fn send_pending(&mut self) -> Result<(), TaskError>;
    /// Every channel (all of them receive the control events).
    fn channels(&self) -> &[ChannelSender];
}

/// A [`Router`] as an operator output.
pub struct Writer<R>(R);

impl<T: Data, R: Router<T>> Output<T> for Writer<R> {
    fn open(&mut self) -> Result<(), TaskError> {
        Ok(())
    }

    #[inline]
    fn push(&mut self, batch: Batch<T>) -> Result<(), TaskError> {
        self.0.route(batch)
    }

    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.0.send_pending()?;
        let channels = self.0.channels();
        channels
            .iter()
            .try_for_each(|c| c.send(ChannelEvent::Watermark(watermark)))
    }

    fn stream_status(&mut self, idle: bool) -> Result<(), TaskError> {
        self.0.send_pending()?;
        let channels = self.0.channels();
        channels
            .iter()
            .try_for_each(|c| c.send(ChannelEvent::Status(idle)))
    }

    fn end_of_input(&mut self) -> Result<(), TaskError> {
        self.0.send_pending()?;
        let channels = self.0.channels();
        channels
            .iter()
            .try_for_each(|c| c.send(ChannelEvent::EndOfPartition))
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.0.send_pending()
    }

    fn notify_checkpoint(
        &mut self,
        _checkpoint_id: u64,
        _completed: bool,
    ) -> Result<(), TaskError> {
        Ok(())
    }

    fn snapshot_state(&mut self, snapshot: &mut ChainSnapshot) -> Result<(), TaskError> {
        if snapshot.is_final() {
            return Ok(());
        }
        self.0.send_pending()?;
        let barrier = *snapshot.barrier();
        let channels = self.0.channels();
        channels
            .iter()
            .try_for_each(|c| c.send(ChannelEvent::Barrier(barrier)))
    }

    fn on_timer(&mut self, _now: std::time::Instant) -> Result<(), TaskError> {
        Ok(())
    }

    fn close(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
}

/// Writes to exactly one channel (forward, global, or any partitioner with one consumer):
/// batches pass through without being split.
pub struct SingleChannelWriter<T> {
    target: usize,
    channels: Vec<ChannelSender>,
    pending: Batch<T>,
    batch_size: usize,
}

impl<T: Data> SingleChannelWriter<T> {
    /// Sends data to `channels[target]`; control events go to all `channels` (global
    /// partitioning still owes every consumer its watermarks and end of partition).
    pub fn new(channels: Vec<ChannelSender>, target: usize, batch_size: usize) -> Writer<Self> {
        Writer(SingleChannelWriter {
            target,
            channels,
            pending: Batch::new(),
            batch_size,
        })
    }
}

impl<T: Data> Router<T> for SingleChannelWriter<T> {
    #[inline]
    fn route(&mut self, mut batch: Batch<T>) -> Result<(), TaskError> {
        if self.pending.is_empty() && batch.len() * 2 >= self.batch_size {
            return send_batch(&self.channels[self.target], batch);
        }
        self.pending.append(&mut batch);
        if self.pending.len() >= self.batch_size {
            self.send_pending()?;
        }
        Ok(())
    }

    fn send_pending(&mut self) -> Result<(), TaskError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.pending, Batch::with_capacity(self.batch_size));
        send_batch(&self.channels[self.target], batch)
    }

    fn channels(&self) -> &[ChannelSender] {
        &self.channels
    }
}

/// Routes each record to one channel chosen by a [`ChannelSelector`].
pub struct PartitionedWriter<T, S> {
    channels: Vec<ChannelSender>,
    pending: Vec<Batch<T>>,
    selector: S,
    batch_size: usize,
    /// The channel of each record of the batch being routed (kept to reuse its allocation).
    targets: Vec<u32>,
}

impl<T: Data, S: ChannelSelector<T>> PartitionedWriter<T, S> {
    /// A writer over `channels`, routing with `selector`.
    pub fn new(channels: Vec<ChannelSender>, selector: S, batch_size: usize) -> Writer<Self> {
        let pending = channels.iter().map(|_| Batch::new()).collect();
        Writer(PartitionedWriter {
            channels,
            pending,
            selector,
            batch_size,
            targets: Vec::new(),
        })
    }

    fn send_channel(&mut self, channel: usize) -> Result<(), TaskError> {
        // Room for a batch plus a typical share of one more incoming batch: a channel's pending
        // batch is sent once it reaches the batch size, which the last share may overshoot.
        let capacity = self.batch_size + self.batch_size / self.channels.len() + 2;
        let batch = std::mem::replace(&mut self.pending[channel], Batch::with_capacity(capacity));
        send_batch(&self.channels[channel], batch)
    }
}

impl<T: Data, S: ChannelSelector<T>> Router<T> for PartitionedWriter<T, S> {
    /// Selects every record's channel in one pass over the batch, moves the records into the
    /// channels' pending batches (see [`Batch::scatter_into`]), and sends those that are full.
    fn route(&mut self, batch: Batch<T>) -> Result<(), TaskError> {
        let n = self.channels.len() as u32;
        let mut targets = std::mem::take(&mut self.targets);
        self.selector.select_all(batch.values(), n, &mut targets)?;
        batch.scatter_into(&targets, &mut self.pending);
        self.targets = targets;
        for channel in 0..self.channels.len() {
            if self.pending[channel].len() >= self.batch_size {
                self.send_channel(channel)?;
            }
        }
        Ok(())
    }

    fn send_pending(&mut self) -> Result<(), TaskError> {
        for channel in 0..self.channels.len() {
            if !self.pending[channel].is_empty() {
                self.send_channel(channel)?;
            }
        }
        Ok(())
    }

    fn channels(&self) -> &[ChannelSender] {
        &self.channels
    }
}

/// Sends every record to every channel.
pub struct BroadcastWriter<T> {
    channels: Vec<ChannelSender>,
    pending: Batch<T>,
    batch_size: usize,
}

impl<T: Data> BroadcastWriter<T> {
    /// A writer copying every record to all `channels`.
    pub fn new(channels: Vec<ChannelSender>, batch_size: usize) -> Writer<Self> {
        Writer(BroadcastWriter {
            channels,
            pending: Batch::new(),
            batch_size,
        })
    }
}

impl<T: Data> Router<T> for BroadcastWriter<T> {
    fn route(&mut self, mut batch: Batch<T>) -> Result<(), TaskError> {
        self.pending.append(&mut batch);
        if self.pending.len() >= self.batch_size {
            self.send_pending()?;
        }
        Ok(())
    }

    fn send_pending(&mut self) -> Result<(), TaskError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.pending, Batch::with_capacity(self.batch_size));
        if let Some((last, rest)) = self.channels.split_last() {
            for channel in rest {
                send_batch(channel, batch.clone())?;
            }
            send_batch(last, batch)?;
        }
        Ok(())
    }

    fn channels(&self) -> &[ChannelSender] {
        &self.channels
    }
}
