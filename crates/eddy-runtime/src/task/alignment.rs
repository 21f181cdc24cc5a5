//! Barrier alignment: when has every input channel of a task delivered barrier n?
//!
//! Exactly-once: a channel whose barrier has arrived is held back until every other channel's
//! has, so the snapshot covers exactly the records before the barrier on every channel.
//! At-least-once: nothing is held back; the snapshot is taken when the last barrier arrives.
//! A channel that has ended counts as having delivered every later barrier (its producer
//! finished and sends none).

use eddy_checkpoint::{CheckpointBarrier, CheckpointingMode};

/// What the task does after a barrier or the end of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AlignmentStep {
    /// Hold this channel back.
    pub hold: bool,
    /// Release every held-back channel.
    pub release_all: bool,
    /// Every channel has delivered this barrier: snapshot now.
    pub ready: Option<CheckpointBarrier>,
}

/// Tracks the barriers of the checkpoint in progress over a task's channels.
pub(crate) struct BarrierAligner {
    ended: Vec<bool>,
    current: Option<(CheckpointBarrier, Vec<bool>)>,
}

impl BarrierAligner {
    /// An aligner over `channels` input channels.
    pub fn new(channels: usize) -> Self {
        BarrierAligner {
            ended: vec![false; channels],
            current: None,
        }
    }

    /// Barrier `barrier` arrived on `channel`.
    pub fn on_barrier(&mut self, channel: usize, barrier: CheckpointBarrier) -> AlignmentStep {
        let mut step = AlignmentStep::default();
        match &self.current {
            Some((current, _)) if barrier.id < current.id => return step,
            Some((current, _)) if barrier.id > current.id => {
                // A later checkpoint overtook this one (possible without alignment): the
                // older one cannot complete here any more.
                tracing::debug!(
                    abandoned = current.id,
                    by = barrier.id,
                    "checkpoint barrier overtaken"
                );
                step.release_all = true;
                self.current = None;
            }
            _ => {}
        }
        let channels = self.ended.len();
        let (_, arrived) = self
            .current
            .get_or_insert_with(|| (barrier, vec![false; channels]));
        arrived[channel] = true;
        if self.take_if_complete().is_some() {
            step.release_all = true;
            step.ready = Some(barrier);
        } else {
            step.hold = barrier.mode == CheckpointingMode::ExactlyOnce;
        }
        step
    }

    /// Channel `channel` ended: its missing barrier will not come.
    pub fn on_end_of_partition(&mut self, channel: usize) -> AlignmentStep {
        self.ended[channel] = true;
        match self.take_if_complete() {
            Some(barrier) => AlignmentStep {
                hold: false,
                release_all: true,
                ready: Some(barrier),
            },
            None => AlignmentStep::default(),
        }
    }

    fn take_if_complete(&mut self) -> Option<CheckpointBarrier> {
        let (barrier, arrived) = self.current.as_ref()?;
        let complete = arrived.iter().zip(&self.ended).all(|(&a, &e)| a || e);
        let barrier = *barrier;
        complete.then(|| {
            self.current = None;
            barrier
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn barrier(id: u64, mode: CheckpointingMode) -> CheckpointBarrier {
        CheckpointBarrier {
            id,
            timestamp: 0,
            mode,
        }
    }

    const EXACTLY_ONCE: CheckpointingMode = CheckpointingMode::ExactlyOnce;

    #[test]
    fn exactly_once_holds_channels_until_the_last_barrier() {
        let mut aligner = BarrierAligner::new(3);
        let b1 = barrier(1, EXACTLY_ONCE);
        let hold = AlignmentStep {
            hold: true,
            ..Default::default()
        };
        assert_eq!(aligner.on_barrier(2, b1), hold);
        assert_eq!(aligner.on_barrier(0, b1), hold);
        assert_eq!(
            aligner.on_barrier(1, b1),
            AlignmentStep {
                hold: false,
                release_all: true,
                ready: Some(b1)
            }
        );
        // A single channel's barrier is immediately complete.
        let mut single = BarrierAligner::new(1);
        assert_eq!(single.on_barrier(0, b1).ready, Some(b1));
    }

    #[test]
    fn at_least_once_never_holds() {
        let mut aligner = BarrierAligner::new(2);
        let b = barrier(4, CheckpointingMode::AtLeastOnce);
        assert_eq!(aligner.on_barrier(1, b), AlignmentStep::default());
        assert_eq!(aligner.on_barrier(0, b).ready, Some(b));
    }

    #[test]
    fn ended_channels_count_as_delivered() {
        let mut aligner = BarrierAligner::new(3);
        let b1 = barrier(1, EXACTLY_ONCE);
        assert_eq!(aligner.on_end_of_partition(0), AlignmentStep::default());
        assert!(aligner.on_barrier(1, b1).hold);
        let step = aligner.on_end_of_partition(2);
        assert_eq!(step.ready, Some(b1));
        assert!(step.release_all);
        // Later checkpoints only wait for the open channel.
        let b2 = barrier(2, EXACTLY_ONCE);
        assert_eq!(aligner.on_barrier(1, b2).ready, Some(b2));
    }

    #[test]
    fn stale_barriers_are_ignored_and_newer_ones_take_over() {
        let mut aligner = BarrierAligner::new(2);
        let (b1, b2) = (barrier(1, EXACTLY_ONCE), barrier(2, EXACTLY_ONCE));
        assert!(aligner.on_barrier(0, b2).hold);
        assert_eq!(aligner.on_barrier(1, b1), AlignmentStep::default());
        assert_eq!(aligner.on_barrier(1, b2).ready, Some(b2));
        let b3 = barrier(3, CheckpointingMode::AtLeastOnce);
        let b4 = barrier(4, CheckpointingMode::AtLeastOnce);
        aligner.on_barrier(0, b3);
        let step = aligner.on_barrier(0, b4);
        assert!(step.release_all && step.ready.is_none());
        assert_eq!(aligner.on_barrier(1, b4).ready, Some(b4));
    }
}
