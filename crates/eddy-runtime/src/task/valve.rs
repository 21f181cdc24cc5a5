//! Combining watermarks across the input channels of one logical input.

use eddy_core::Watermark;

/// Tracks each channel's watermark; the input's watermark is the minimum over the channels that
/// have not ended, and only advances. `Watermark::MAX` (the end of a bounded input) passes
/// through like any other watermark.
#[derive(Debug, Clone)]
pub struct WatermarkValve {
    channels: Vec<i64>,
    ended: Vec<bool>,
    current: i64,
}

impl WatermarkValve {
    /// A valve over `channels` channels, all at the minimum watermark.
    pub fn new(channels: usize) -> Self {
        WatermarkValve {
            channels: vec![i64::MIN; channels],
            ended: vec![false; channels],
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

    /// A channel ended: it no longer holds the others back. Returns the input's new watermark if
    /// it advanced.
    pub fn channel_ended(&mut self, channel: usize) -> Option<Watermark> {
        self.ended[channel] = true;
        self.advance()
    }

    fn advance(&mut self) -> Option<Watermark> {
        let min = self
            .channels
            .iter()
            .zip(&self.ended)
            .filter(|(_, ended)| !**ended)
            .map(|(wm, _)| *wm)
            .min()?;
        if min > self.current {
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

    #[test]
    fn the_end_of_input_watermark_passes_through() {
        let mut valve = WatermarkValve::new(2);
        assert_eq!(valve.update(0, Watermark::MAX), None);
        assert_eq!(valve.update(1, Watermark::MAX), Some(Watermark::MAX));
        assert_eq!(valve.channel_ended(0), None);
        assert_eq!(valve.channel_ended(1), None, "nothing left to combine");
    }
}
