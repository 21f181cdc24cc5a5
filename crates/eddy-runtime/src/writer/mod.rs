//! Network writers: the end of a chain, partitioning batches into the consumers' channels.
//!
//! Records are gathered per channel and sent as whole batches when `batch_size` records are
//! pending, when the task flushes (its input ran dry, or the buffer timeout passed), and before
//! any other control event, so events stay in order with the data. Watermarks are held among
//! the pending records and travel with them (see [`held_watermarks`]).
//!
//! Each partitioning strategy is a [`Router`] (how records are gathered into per-channel
//! batches); [`Writer`] wraps any router into an operator [`Output`] and adds what all share:
//! control events go to every channel, after the pending data.

mod edges;
mod held_watermarks;
mod selectors;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use eddy_core::{Data, Watermark};

use crate::carried::CarriedBatch;
use crate::checkpoint::ChainSnapshot;
use crate::error::TaskError;
use crate::inbox::{ChannelEvent, ChannelSender, WatermarkAt};
use crate::output::{Batch, Output};
use crate::recycle::ReturnedBatches;
use held_watermarks::{send_held, HeldWatermarks};

pub use edges::{CustomEdge, KeyGroupEdge, StandardEdge};
pub use selectors::{
    ChannelSelector, CustomSelector, KeyGroupSelector, RoundRobinSelector, ShuffleSelector,
};

/// How a writer gathers records into batches for its channels.
pub trait Router<T>: Send {
    /// Takes a batch; sends whatever batches became full.
    fn route(&mut self, batch: Batch<T>) -> Result<(), TaskError>;
    /// Holds a watermark in every channel, behind the records pending there.
    fn hold_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError>;
    /// Takes a batch with watermarks among its records (see
    /// [`Output::push_with_watermarks`]).
    fn route_with_watermarks(
        &mut self,
        batch: Batch<T>,
        watermarks: &[WatermarkAt],
    ) -> Result<(), TaskError>;
    /// Sends every partially filled batch, and every held watermark.
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

    fn push_with_watermarks(
        &mut self,
        batch: Batch<T>,
        watermarks: &[WatermarkAt],
    ) -> Result<(), TaskError> {
        self.0.route_with_watermarks(batch, watermarks)
    }

    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.0.hold_watermark(watermark)
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
    held: HeldWatermarks,
}

impl<T: Data> SingleChannelWriter<T> {
    /// Sends data to `channels[target]`; control events go to all `channels` (global
    /// partitioning still owes every consumer its watermarks and end of partition).
    pub fn new(channels: Vec<ChannelSender>, target: usize, batch_size: usize) -> Writer<Self> {
        Writer(SingleChannelWriter {
            target,
            held: HeldWatermarks::new(channels.len(), batch_size),
            channels,
            pending: Batch::new(),
            batch_size,
        })
    }

    /// Sends `batch` to the target with the watermarks held there, then the watermarks held
    /// in the other channels.
    fn send(&mut self, batch: Batch<T>) -> Result<(), TaskError> {
        let held = self.held.take(self.target);
        send_held(&self.channels[self.target], batch, held)?;
        self.held.send_without_records::<T>(&self.channels, |_| 0)
    }
}

impl<T: Data> SingleChannelWriter<T> {
    /// Holds `watermark` in every channel: in the target after its `target_pending` records,
    /// in the others (which get no records) first; `true` when a channel must be sent.
    fn hold_everywhere(&mut self, target_pending: usize, watermark: Watermark) -> bool {
        let mut full = false;
        for channel in 0..self.channels.len() {
            let pending = if channel == self.target {
                target_pending
            } else {
                0
            };
            full |= self.held.hold(channel, pending, watermark);
        }
        full
    }
}

impl<T: Data> Router<T> for SingleChannelWriter<T> {
    #[inline]
    fn route(&mut self, mut batch: Batch<T>) -> Result<(), TaskError> {
        if self.pending.is_empty() && batch.len() * 2 >= self.batch_size {
            return self.send(batch);
        }
        self.pending.append(&mut batch);
        if self.pending.len() >= self.batch_size {
            self.send_pending()?;
        }
        Ok(())
    }

    fn hold_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        if self.hold_everywhere(self.pending.len(), watermark) {
            self.send_pending()?;
        }
        Ok(())
    }

    fn route_with_watermarks(
        &mut self,
        mut batch: Batch<T>,
        watermarks: &[WatermarkAt],
    ) -> Result<(), TaskError> {
        let (before, len) = (self.pending.len(), batch.len());
        let mut full = false;
        for mark in watermarks {
            full |= self.hold_everywhere(before + mark.after.min(len), mark.watermark);
        }
        self.pending.append(&mut batch);
        if full || self.pending.len() >= self.batch_size {
            self.send_pending()?;
        }
        Ok(())
    }

    fn send_pending(&mut self) -> Result<(), TaskError> {
        let batch = if self.pending.is_empty() {
            Batch::new()
        } else {
            std::mem::replace(&mut self.pending, Batch::with_capacity(self.batch_size))
        };
        self.send(batch)
    }

    fn channels(&self) -> &[ChannelSender] {
        &self.channels
    }
}

/// Routes each record to one channel chosen by a [`ChannelSelector`].
pub struct PartitionedWriter<T, S> {
    channels: Vec<ChannelSender>,
    pending: Vec<Batch<T>>,
    held: HeldWatermarks,
    selector: S,
    batch_size: usize,
    /// The channel of each record of the batch being routed (kept to reuse its allocation).
    targets: Vec<u32>,
    /// Where the consumers hand lent batches back, when records own heap memory and there
    /// are several consumers (see [`crate::recycle`]).
    returns: Option<Arc<ReturnedBatches>>,
}

impl<T: Data, S: ChannelSelector<T>> PartitionedWriter<T, S> {
    /// A writer over `channels`, routing with `selector`.
    pub fn new(channels: Vec<ChannelSender>, selector: S, batch_size: usize) -> Writer<Self> {
        let pending = channels.iter().map(|_| Batch::new()).collect();
        // Every channel holds every watermark but only its share of the records: with a
        // watermark per record, a limit of one batch size would send each channel's batch
        // 1/n full. Room for n batch sizes (up to four, so what a writer holds stays bounded)
        // and one more (channels fill at different times) keeps batches full at small
        // parallelisms.
        let watermark_limit = batch_size * (channels.len().min(4) + 1);
        let returns = lend_batches::<T>(&channels, selector.carries_keys());
        Writer(PartitionedWriter {
            held: HeldWatermarks::new(channels.len(), watermark_limit),
            channels,
            pending,
            selector,
            batch_size,
            targets: Vec::new(),
            returns,
        })
    }

    /// Sends a channel's pending records (if any) and the watermarks held among them.
    fn send_channel(&mut self, channel: usize) -> Result<(), TaskError> {
        let batch = if self.pending[channel].is_empty() {
            Batch::new()
        } else {
            // Room for a batch plus a typical share of one more incoming batch: a channel's
            // pending batch is sent once it reaches the batch size, which the last share may
            // overshoot.
            let capacity = self.batch_size + self.batch_size / self.channels.len() + 2;
            std::mem::replace(&mut self.pending[channel], Batch::with_capacity(capacity))
        };
        let keys = self.selector.take_carried(channel);
        let held = self.held.take(channel);
        match keys {
            // Keys travel only with batches without watermarks among their records.
            Some(keys) if held.is_empty() => {
                let len = batch.len();
                let carried = CarriedBatch { batch, keys };
                self.channels[channel].send(ChannelEvent::Batch(Box::new(carried), len))?;
            }
            _ => send_held(&self.channels[channel], batch, held)?,
        }
        if let Some(returns) = &self.returns {
            returns.release();
        }
        Ok(())
    }
}

/// Lends the batches sent over `channels` to their consumers when records of `T` own heap
/// memory (need dropping), or keys are carried with them, and there are several consumers,
/// whose frees into this thread's memory would contend (see [`crate::recycle`]); returns
/// where they hand them back.
fn lend_batches<T>(channels: &[ChannelSender], carries_keys: bool) -> Option<Arc<ReturnedBatches>> {
    if channels.len() < 2 || !(std::mem::needs_drop::<T>() || carries_keys) {
        return None;
    }
    let returns = Arc::new(ReturnedBatches::new());
    for channel in channels {
        channel.lend_batches(returns.clone());
    }
    Some(returns)
}

impl<T: Data, S: ChannelSelector<T>> Router<T> for PartitionedWriter<T, S> {
    /// Selects every record's channel in one pass over the batch, moves the records into the
    /// channels' pending batches (see [`Batch::scatter_into`]), and sends those that are full
    /// (and with them the watermarks of channels without pending records).
    fn route(&mut self, batch: Batch<T>) -> Result<(), TaskError> {
        self.route_with_watermarks(batch, &[])
    }

    /// As [`route`](Router::route); each watermark is held in every channel behind the
    /// channel's records that precede it in the batch (counted along the records' targets).
    fn route_with_watermarks(
        &mut self,
        batch: Batch<T>,
        watermarks: &[WatermarkAt],
    ) -> Result<(), TaskError> {
        let n = self.channels.len() as u32;
        let mut targets = std::mem::take(&mut self.targets);
        self.selector.select_all(batch.values(), n, &mut targets)?;
        let mut full = false;
        if !watermarks.is_empty() {
            for (channel, pending) in self.pending.iter().enumerate() {
                full |= self
                    .held
                    .hold_along(channel, pending.len(), &targets, watermarks);
            }
        }
        batch.scatter_into(&targets, &mut self.pending);
        self.selector.scatter_carried(&targets);
        self.targets = targets;
        let mut sent = false;
        for channel in 0..self.channels.len() {
            if self.pending[channel].len() >= self.batch_size
                || (full && self.held.is_full(channel))
            {
                self.send_channel(channel)?;
                sent = true;
            }
        }
        if sent {
            let pending = &self.pending;
            self.held
                .send_without_records::<T>(&self.channels, |c| pending[c].len())?;
        }
        Ok(())
    }

    fn hold_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        for channel in 0..self.channels.len() {
            if self
                .held
                .hold(channel, self.pending[channel].len(), watermark)
            {
                self.send_channel(channel)?;
            }
        }
        Ok(())
    }

    fn send_pending(&mut self) -> Result<(), TaskError> {
        for channel in 0..self.channels.len() {
            if !self.pending[channel].is_empty() || self.held.holds(channel) {
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
    /// The same for every channel: all receive every record.
    held: HeldWatermarks,
    batch_size: usize,
}

impl<T: Data> BroadcastWriter<T> {
    /// A writer copying every record to all `channels`.
    pub fn new(channels: Vec<ChannelSender>, batch_size: usize) -> Writer<Self> {
        Writer(BroadcastWriter {
            channels,
            pending: Batch::new(),
            held: HeldWatermarks::new(1, batch_size),
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

    fn hold_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        if self.held.hold(0, self.pending.len(), watermark) {
            self.send_pending()?;
        }
        Ok(())
    }

    fn route_with_watermarks(
        &mut self,
        mut batch: Batch<T>,
        watermarks: &[WatermarkAt],
    ) -> Result<(), TaskError> {
        let (before, len) = (self.pending.len(), batch.len());
        let mut full = false;
        for mark in watermarks {
            full |= self
                .held
                .hold(0, before + mark.after.min(len), mark.watermark);
        }
        self.pending.append(&mut batch);
        if full || self.pending.len() >= self.batch_size {
            self.send_pending()?;
        }
        Ok(())
    }

    fn send_pending(&mut self) -> Result<(), TaskError> {
        if self.pending.is_empty() && !self.held.holds(0) {
            return Ok(());
        }
        let batch = if self.pending.is_empty() {
            Batch::new()
        } else {
            std::mem::replace(&mut self.pending, Batch::with_capacity(self.batch_size))
        };
        let held = self.held.take(0);
        if let Some((last, rest)) = self.channels.split_last() {
            for channel in rest {
                send_held(channel, batch.clone(), held.clone())?;
            }
            send_held(last, batch, held)?;
        }
        Ok(())
    }

    fn channels(&self) -> &[ChannelSender] {
        &self.channels
    }
}
