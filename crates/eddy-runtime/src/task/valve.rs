//! Combining watermarks across the input channels of one logical input.

use eddy_core::Watermark;

/// What a channel event changed about an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValveChange {
    /// The input's new watermark, if it advanced.
    pub watermark: Option<Watermark>,
    /// The input's new idleness, if it changed.
    pub idle: Option<bool>,
}

/// Tracks each channel's watermark and idleness. The input's watermark is the minimum over the
/// channels that are neither ended nor idle, and only advances; `Watermark::MAX` (the end of a
/// bounded input) passes through like any other. The input is idle when every channel that has
/// not ended is idle.
#[derive(Debug, Clone)]
pub struct WatermarkValve {
    channels: Vec<i64>,
    ended: Vec<bool>,
    idle: Vec<bool>,
    current: i64,
    input_idle: bool,
}

impl WatermarkValve {
    /// A valve over `channels` channels, all active at the minimum watermark.
    pub fn new(channels: usize) -> Self {
        WatermarkValve {
            channels: vec![i64::MIN; channels],
            ended: vec![false; channels],
            idle: vec![false; channels],
            current: i64::MIN,
            input_idle: false,
        }
    }

    /// A channel's watermark; returns the input's new watermark if it advanced.
    pub fn update(&mut self, channel: usize, watermark: Watermark) -> Option<Watermark> {
        let slot = &mut self.channels[channel];
        if watermark.0 <= *slot {
            return None;
        }
        let previous = std::mem::replace(slot, watermark.0);
        // After every change the input's watermark is at least the minimum over the live
        // channels, so a channel that was above it was no minimum: raising it changes nothing
        // (with watermarks from several producers, the common case).
        if previous > self.current {
            return None;
        }
        self.advance()
    }

    /// A channel became idle or active again.
    pub fn set_idle(&mut self, channel: usize, idle: bool) -> ValveChange {
        self.idle[channel] = idle;
        self.recompute()
    }

    /// A channel ended: it no longer holds the others back.
    pub fn channel_ended(&mut self, channel: usize) -> ValveChange {
        self.ended[channel] = true;
        self.recompute()
    }

    fn recompute(&mut self) -> ValveChange {
        let live = (0..self.channels.len()).filter(|&i| !self.ended[i]);
        let input_idle = live.clone().count() > 0 && live.clone().all(|i| self.idle[i]);
        let idle = (input_idle != self.input_idle).then(|| {
            self.input_idle = input_idle;
            input_idle
        });
        ValveChange {
            watermark: self.advance(),
            idle,
        }
    }

    fn advance(&mut self) -> Option<Watermark> {
        let min = self
            .channels
            .iter()
            .zip(self.ended.iter().zip(&self.idle))
            .filter(|(_, (&ended, &idle))| !ended && !idle)
            .map(|(&watermark, _)| watermark)
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
        assert_eq!(valve.channel_ended(2).watermark, Some(Watermark(10)));
        assert_eq!(valve.update(0, Watermark(9)), None);
    }

    #[test]
    fn idle_channels_do_not_hold_the_watermark_back() {
        let mut valve = WatermarkValve::new(3);
        assert_eq!(valve.update(0, Watermark(10)), None);
        assert_eq!(valve.update(1, Watermark(20)), None);
        // Channel 2 never sent a watermark; once idle, the others decide.
        let change = valve.set_idle(2, true);
        assert_eq!(
            change,
            ValveChange {
                watermark: Some(Watermark(10)),
                idle: None
            }
        );
        // Channel 0 idle too: only channel 1 (at 20) decides.
        assert_eq!(
            valve.set_idle(0, true),
            ValveChange {
                watermark: Some(Watermark(20)),
                idle: None
            }
        );
        // All live channels idle: the input is idle; nothing advances.
        assert_eq!(
            valve.set_idle(1, true),
            ValveChange {
                watermark: None,
                idle: Some(true)
            }
        );
        // Channel 2 comes back behind the others: active again, but never backwards.
        assert_eq!(
            valve.set_idle(2, false),
            ValveChange {
                watermark: None,
                idle: Some(false)
            }
        );
        assert_eq!(
            valve.update(2, Watermark(15)),
            None,
            "behind 20: never backwards"
        );
        assert_eq!(valve.update(2, Watermark(25)), Some(Watermark(25)));
        // An ended channel leaves the idle ones: the input is idle.
        assert_eq!(
            valve.channel_ended(2),
            ValveChange {
                watermark: None,
                idle: Some(true)
            }
        );
    }

    /// Random watermarks, idleness changes and ends on four channels against a reference that
    /// takes the minimum over the live channels after every event and emits it when it is
    /// above everything emitted before.
    #[test]
    fn matches_a_reference_minimum_over_random_events() {
        use rand::{Rng, SeedableRng};
        for seed in 0..200u64 {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
            let channels = 4;
            let mut valve = WatermarkValve::new(channels);
            let mut marks = vec![i64::MIN; channels];
            let (mut idle, mut ended) = (vec![false; channels], vec![false; channels]);
            let mut emitted = i64::MIN;
            for _ in 0..300 {
                let channel = rng.random_range(0..channels);
                if ended[channel] {
                    continue;
                }
                let got = match rng.random_range(0..10) {
                    0 => {
                        idle[channel] = !idle[channel];
                        valve.set_idle(channel, idle[channel]).watermark
                    }
                    1 if rng.random_range(0..20) == 0 => {
                        ended[channel] = true;
                        valve.channel_ended(channel).watermark
                    }
                    _ => {
                        let watermark = rng.random_range(0..1_000);
                        marks[channel] = marks[channel].max(watermark);
                        valve.update(channel, Watermark(watermark))
                    }
                };
                let live_min = (0..channels)
                    .filter(|&c| !idle[c] && !ended[c])
                    .map(|c| marks[c])
                    .min();
                let expected = live_min.filter(|&min| min > emitted).map(|min| {
                    emitted = min;
                    Watermark(min)
                });
                assert_eq!(got, expected, "seed {seed}");
            }
        }
    }

    #[test]
    fn the_end_of_input_watermark_passes_through() {
        let mut valve = WatermarkValve::new(2);
        assert_eq!(valve.update(0, Watermark::MAX), None);
        assert_eq!(valve.update(1, Watermark::MAX), Some(Watermark::MAX));
        assert_eq!(valve.channel_ended(0), ValveChange::default());
        assert_eq!(
            valve.channel_ended(1),
            ValveChange::default(),
            "nothing left to combine"
        );
    }
}
