//! Network writers: the end of a chain, partitioning batches into the consumers' channels.
//!
//! Records are gathered per channel and sent as whole batches when `batch_size` records are
//! pending, when the task flushes (its input ran dry, or the buffer timeout passed), and before
//! any control event, so events stay in order with the data.

mod edges;
mod selectors;

use std::marker::PhantomData;

use eddy_core::{Data, Watermark};

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

fn broadcast_event(
    channels: &[ChannelSender],
    event: impl Fn() -> ChannelEvent,
) -> Result<(), TaskError> {
    channels.iter().try_for_each(|c| c.send(event()))
}

/// Writes to exactly one channel (forward, global, or any partitioner with one consumer):
/// batches pass through without being split.
pub struct SingleChannelWriter<T> {
    channel: ChannelSender,
    all_channels: Vec<ChannelSender>,
    pending: Batch<T>,
    batch_size: usize,
}

impl<T: Data> SingleChannelWriter<T> {
    /// Sends to `channels[target]`; control events go to all `channels` (global partitioning
    /// still owes every consumer its watermarks and end of partition).
    pub fn new(channels: Vec<ChannelSender>, target: usize, batch_size: usize) -> Self {
        SingleChannelWriter {
            channel: channels[target].clone(),
            all_channels: channels,
            pending: Batch::new(),
            batch_size,
        }
    }
}

impl<T: Data> Output<T> for SingleChannelWriter<T> {
    fn open(&mut self) -> Result<(), TaskError> {
        Ok(())
    }

    fn push(&mut self, mut batch: Batch<T>) -> Result<(), TaskError> {
        if self.pending.is_empty() && batch.len() * 2 >= self.batch_size {
            return send_batch(&self.channel, batch);
        }
        self.pending.append(&mut batch);
        if self.pending.len() >= self.batch_size {
            self.flush()?;
        }
        Ok(())
    }

    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.flush()?;
        broadcast_event(&self.all_channels, || ChannelEvent::Watermark(watermark))
    }

    fn end_of_input(&mut self) -> Result<(), TaskError> {
        self.flush()?;
        broadcast_event(&self.all_channels, || ChannelEvent::EndOfPartition)
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.pending, Batch::with_capacity(self.batch_size));
        send_batch(&self.channel, batch)
    }

    fn close(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
}

/// Routes each record to one channel chosen by a [`ChannelSelector`].
pub struct PartitionedWriter<T, S> {
    channels: Vec<ChannelSender>,
    pending: Vec<Batch<T>>,
    selector: S,
    batch_size: usize,
}

impl<T: Data, S: ChannelSelector<T>> PartitionedWriter<T, S> {
    /// A writer over `channels`, routing with `selector`.
    pub fn new(channels: Vec<ChannelSender>, selector: S, batch_size: usize) -> Self {
        let pending = channels.iter().map(|_| Batch::new()).collect();
        PartitionedWriter {
            channels,
            pending,
            selector,
            batch_size,
        }
    }

    fn send_pending(&mut self, channel: usize) -> Result<(), TaskError> {
        let batch = std::mem::replace(
            &mut self.pending[channel],
            Batch::with_capacity(self.batch_size),
        );
        send_batch(&self.channels[channel], batch)
    }
}

impl<T: Data, S: ChannelSelector<T>> Output<T> for PartitionedWriter<T, S> {
    fn open(&mut self) -> Result<(), TaskError> {
        Ok(())
    }

    fn push(&mut self, batch: Batch<T>) -> Result<(), TaskError> {
        let n = self.channels.len() as u32;
        for record in batch.into_records() {
            let channel = self.selector.select(&record.value, n)? as usize;
            let pending = &mut self.pending[channel];
            pending.push(record.value, record.timestamp);
            if pending.len() >= self.batch_size {
                self.send_pending(channel)?;
            }
        }
        Ok(())
    }

    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.flush()?;
        broadcast_event(&self.channels, || ChannelEvent::Watermark(watermark))
    }

    fn end_of_input(&mut self) -> Result<(), TaskError> {
        self.flush()?;
        broadcast_event(&self.channels, || ChannelEvent::EndOfPartition)
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        for channel in 0..self.channels.len() {
            if !self.pending[channel].is_empty() {
                self.send_pending(channel)?;
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
}

/// Sends every record to every channel.
pub struct BroadcastWriter<T> {
    channels: Vec<ChannelSender>,
    pending: Batch<T>,
    batch_size: usize,
    _type: PhantomData<T>,
}

impl<T: Data> BroadcastWriter<T> {
    /// A writer copying every record to all `channels`.
    pub fn new(channels: Vec<ChannelSender>, batch_size: usize) -> Self {
        BroadcastWriter {
            channels,
            pending: Batch::new(),
            batch_size,
            _type: PhantomData,
        }
    }
}

impl<T: Data> Output<T> for BroadcastWriter<T> {
    fn open(&mut self) -> Result<(), TaskError> {
        Ok(())
    }

    fn push(&mut self, mut batch: Batch<T>) -> Result<(), TaskError> {
        self.pending.append(&mut batch);
        if self.pending.len() >= self.batch_size {
            self.flush()?;
        }
        Ok(())
    }

    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.flush()?;
        broadcast_event(&self.channels, || ChannelEvent::Watermark(watermark))
    }

    fn end_of_input(&mut self) -> Result<(), TaskError> {
        self.flush()?;
        broadcast_event(&self.channels, || ChannelEvent::EndOfPartition)
    }

    fn flush(&mut self) -> Result<(), TaskError> {
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

    fn close(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
}
