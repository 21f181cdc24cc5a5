//! Watermarks held among a channel's pending records, so they travel with the records.
//!
//! A watermark must reach each consumer after every record emitted before it, and before every
//! record emitted after it. Sending the pending records early, then the watermark, keeps that
//! order but cuts the batches short: a watermark after every record (a punctuated generator)
//! made every record a batch of its own, and every record a channel operation per consumer.
//! Instead each channel remembers where among its pending records each watermark belongs, and
//! sends them together ([`ChannelEvent::MarkedBatch`]); the consumer applies each watermark
//! between the same records. A channel without pending records sends its watermark with the
//! next batch the writer sends on any channel, or when the task flushes (its input ran dry, or
//! the buffer timeout passed) — the same bound as for records. A channel holding its limit of
//! watermarks (set by the writer: about the number of watermarks that come with a batch of the
//! channel's records) is sent at once, so watermarks without records cannot pile up.

use eddy_core::{Data, Watermark};

use crate::error::TaskError;
use crate::inbox::{ChannelEvent, ChannelSender, WatermarkAt};
use crate::output::Batch;

/// The watermarks each channel owes its consumer, at their places among its pending records.
pub(super) struct HeldWatermarks {
    held: Vec<Vec<WatermarkAt>>,
    /// How many watermarks a channel holds at most before it must be sent (watermarks without
    /// records between them would otherwise pile up until the next flush).
    limit: usize,
}

impl HeldWatermarks {
    /// Nothing held, for `channels` channels that send after `limit` watermarks.
    pub(super) fn new(channels: usize, limit: usize) -> Self {
        HeldWatermarks {
            held: vec![Vec::new(); channels],
            limit: limit.max(1),
        }
    }

    /// Holds `watermark` in `channel` after the channel's `pending` records; `true` when the
    /// channel now holds as many as it may, and must be sent. Every watermark is kept, also
    /// one right after another: the consumer sees each, as it would have without holding (a
    /// timer fired by the first observes that watermark, not the next).
    #[inline]
    #[must_use]
    pub(super) fn hold(&mut self, channel: usize, pending: usize, watermark: Watermark) -> bool {
        let held = &mut self.held[channel];
        held.push(WatermarkAt {
            after: pending,
            watermark,
        });
        held.len() >= self.limit
    }

    /// Holds each of a batch's `watermarks` in `channel`, behind the channel's records that
    /// precede it: its `pending` records, then those of the batch (`targets`: each record's
    /// channel) before the watermark's place. One channel at a time, so a watermark per
    /// record costs a push per channel in a tight loop. Returns whether the channel is full.
    #[must_use]
    pub(super) fn hold_along(
        &mut self,
        channel: usize,
        pending: usize,
        targets: &[u32],
        watermarks: &[WatermarkAt],
    ) -> bool {
        let held = &mut self.held[channel];
        held.reserve(watermarks.len());
        let (mut counted, mut ahead) = (0, pending);
        for mark in watermarks {
            let upto = mark.after.clamp(counted, targets.len());
            ahead += targets[counted..upto]
                .iter()
                .filter(|&&target| target as usize == channel)
                .count();
            counted = upto;
            held.push(WatermarkAt {
                after: ahead,
                watermark: mark.watermark,
            });
        }
        held.len() >= self.limit
    }

    /// Whether `channel` holds as many watermarks as it may (and must be sent).
    #[inline]
    pub(super) fn is_full(&self, channel: usize) -> bool {
        self.held[channel].len() >= self.limit
    }

    /// Whether `channel` holds any watermark.
    #[inline]
    pub(super) fn holds(&self, channel: usize) -> bool {
        !self.held[channel].is_empty()
    }

    /// The watermarks `channel` holds, no longer held.
    #[inline]
    pub(super) fn take(&mut self, channel: usize) -> Vec<WatermarkAt> {
        // As many as this time are likely to follow: room for them up front rather than
        // growing from nothing each time.
        let expected = self.held[channel].len();
        std::mem::replace(&mut self.held[channel], Vec::with_capacity(expected))
    }

    /// Sends the watermarks of the channels without pending records (`pending(channel)` is
    /// their count).
    pub(super) fn send_without_records<T: Data>(
        &mut self,
        channels: &[ChannelSender],
        pending: impl Fn(usize) -> usize,
    ) -> Result<(), TaskError> {
        for (channel, sender) in channels.iter().enumerate() {
            if self.holds(channel) && pending(channel) == 0 {
                send_held(sender, Batch::<T>::new(), self.take(channel))?;
            }
        }
        Ok(())
    }
}

/// Sends a channel's pending records together with the watermarks held among them.
pub(super) fn send_held<T: Data>(
    channel: &ChannelSender,
    batch: Batch<T>,
    watermarks: Vec<WatermarkAt>,
) -> Result<(), TaskError> {
    let len = batch.len();
    match watermarks.as_slice() {
        [] if len == 0 => Ok(()),
        [] => channel.send(ChannelEvent::Batch(Box::new(batch), len)),
        [only] if len == 0 => channel.send(ChannelEvent::Watermark(only.watermark)),
        // Also without records: the watermarks in one event rather than one event each.
        _ => channel.send(ChannelEvent::MarkedBatch(Box::new(batch), len, watermarks)),
    }
}
