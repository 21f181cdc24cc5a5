//! Combining watermarks across the input channels of one logical input.

use eddy_core::Watermark;

/// Tracks each channel's watermark; the input's watermark is their minimum and only advances.
/// An ended channel no longer holds the minimum back.
#[derive(Debug, Clone)]
pub struct WatermarkValve {
    channels: Vec<i64>,
    current: i64,
}

impl WatermarkValve {
    /// A valve over `channels` channels, all at the minimum watermark.
    pub fn new(channels: usize) -> Self {
        WatermarkValve {
            channels: vec![i64::MIN; channels],
            current: i64::MIN,
        }
    }

    /// A channel's watermark; returns the input's new watermark if it advanced.
    pub fn update(&mut self, channel: usize, watermark: Watermark) -> Option<Watermark> {
        let slot = &mut self.channels[channel];
        if watermark.0 <= *slot {
            return None;
        }
        *slot = watermark.0;
        self.advance()
    }

    /// A channel ended; returns the input's new watermark if it advanced.
    pub fn channel_ended(&mut self, channel: usize) -> Option<Watermark> {
        self.channels[channel] = i64::MAX;
        self.advance()
    }

    fn advance(&mut self) -> Option<Watermark> {
        let min = self.channels.iter().copied().min().unwrap_or(i64::MAX);
        if min > self.current && min != i64::MAX {
            self.current = min;
            return Some(Watermark(min));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_across_channels_only_moves_forward() {
        let mut valve = WatermarkValve::new(3);
        assert_eq!(valve.update(0, Watermark(10)), None);
        assert_eq!(valve.update(1, Watermark(5)), None);
        assert_eq!(valve.update(2, Watermark(7)), Some(Watermark(5)));
        assert_eq!(valve.update(1, Watermark(3)), None, "never backwards");
        assert_eq!(valve.update(1, Watermark(20)), Some(Watermark(7)));
        assert_eq!(valve.channel_ended(2), Some(Watermark(10)));
        assert_eq!(valve.update(0, Watermark(9)), None);
    }
}
