//! Restart strategies (Flink's `restart-strategy.*`): whether a job restarts after a failure,
//! and after how long; and the failover strategy (which subtasks restart).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use eddy_core::config::{ConfigError, ConfigOption, ConfigValue, Configuration};
use serde::{Deserialize, Serialize};

/// `restart-strategy.type`.
pub const RESTART_STRATEGY: ConfigOption<RestartStrategyType> = ConfigOption {
    key: "restart-strategy.type",
    fallback_keys: &["restart-strategy"],
    default: RestartStrategyType::Default,
    description: "none, fixed-delay, failure-rate or exponential-delay; unset: fixed-delay \
                  when checkpointing is on, none otherwise.",
};

/// `restart-strategy.fixed-delay.attempts`.
pub const FIXED_DELAY_ATTEMPTS: ConfigOption<u32> = ConfigOption {
    key: "restart-strategy.fixed-delay.attempts",
    fallback_keys: &[],
    default: 1,
    description: "Restarts before the job fails.",
};

/// `restart-strategy.fixed-delay.delay`.
pub const FIXED_DELAY_DELAY: ConfigOption<Duration> = ConfigOption {
    key: "restart-strategy.fixed-delay.delay",
    fallback_keys: &[],
    default: Duration::from_secs(1),
    description: "Time between a failure and the restart.",
};

/// `restart-strategy.failure-rate.max-failures-per-interval`.
pub const FAILURE_RATE_MAX_FAILURES: ConfigOption<u32> = ConfigOption {
    key: "restart-strategy.failure-rate.max-failures-per-interval",
    fallback_keys: &[],
    default: 1,
    description: "Failures within one interval before the job fails.",
};

/// `restart-strategy.failure-rate.failure-rate-interval`.
pub const FAILURE_RATE_INTERVAL: ConfigOption<Duration> = ConfigOption {
    key: "restart-strategy.failure-rate.failure-rate-interval",
    fallback_keys: &[],
    default: Duration::from_secs(60),
    description: "The interval failures are counted over.",
};

/// `restart-strategy.failure-rate.delay`.
pub const FAILURE_RATE_DELAY: ConfigOption<Duration> = ConfigOption {
    key: "restart-strategy.failure-rate.delay",
    fallback_keys: &[],
    default: Duration::from_secs(1),
    description: "Time between a failure and the restart.",
};

/// `restart-strategy.exponential-delay.initial-backoff`.
pub const EXPONENTIAL_INITIAL_BACKOFF: ConfigOption<Duration> = ConfigOption {
    key: "restart-strategy.exponential-delay.initial-backoff",
    fallback_keys: &[],
    default: Duration::from_secs(1),
    description: "The delay before the first restart.",
};

/// `restart-strategy.exponential-delay.max-backoff`.
pub const EXPONENTIAL_MAX_BACKOFF: ConfigOption<Duration> = ConfigOption {
    key: "restart-strategy.exponential-delay.max-backoff",
    fallback_keys: &[],
    default: Duration::from_secs(60),
    description: "The longest delay.",
};

/// `restart-strategy.exponential-delay.backoff-multiplier`.
pub const EXPONENTIAL_MULTIPLIER: ConfigOption<f64> = ConfigOption {
    key: "restart-strategy.exponential-delay.backoff-multiplier",
    fallback_keys: &[],
    default: 1.5,
    description: "How much longer each delay is than the one before.",
};

/// `restart-strategy.exponential-delay.reset-backoff-threshold`.
pub const EXPONENTIAL_RESET_THRESHOLD: ConfigOption<Duration> = ConfigOption {
    key: "restart-strategy.exponential-delay.reset-backoff-threshold",
    fallback_keys: &[],
    default: Duration::from_secs(3600),
    description: "A job running this long without failing starts over at the initial delay.",
};

/// `restart-strategy.exponential-delay.jitter-factor`.
pub const EXPONENTIAL_JITTER: ConfigOption<f64> = ConfigOption {
    key: "restart-strategy.exponential-delay.jitter-factor",
    fallback_keys: &[],
    default: 0.1,
    description: "Random share (0 to 1) added to or taken from each delay.",
};

/// `restart-strategy.exponential-delay.attempts-before-reset-backoff`.
pub const EXPONENTIAL_ATTEMPTS: ConfigOption<u32> = ConfigOption {
    key: "restart-strategy.exponential-delay.attempts-before-reset-backoff",
    fallback_keys: &[],
    default: i32::MAX as u32,
    description: "Restarts before the job fails, counted since the last reset.",
};

/// `jobmanager.execution.failover-strategy`.
pub const FAILOVER_STRATEGY: ConfigOption<FailoverStrategy> = ConfigOption {
    key: "jobmanager.execution.failover-strategy",
    fallback_keys: &[],
    default: FailoverStrategy::Region,
    description: "region: restart the failed pipelined region; full: restart every subtask.",
};

/// The value of `restart-strategy.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartStrategyType {
    /// Unset: fixed-delay when checkpointing is on, none otherwise.
    Default,
    /// `none`, `off`, `disable`.
    None,
    /// `fixed-delay`.
    FixedDelay,
    /// `failure-rate`.
    FailureRate,
    /// `exponential-delay`.
    ExponentialDelay,
}

impl ConfigValue for RestartStrategyType {
    fn parse_config(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "disable" => Ok(RestartStrategyType::None),
            "fixed-delay" | "fixeddelay" => Ok(RestartStrategyType::FixedDelay),
            "failure-rate" | "failurerate" => Ok(RestartStrategyType::FailureRate),
            "exponential-delay" | "exponentialdelay" => Ok(RestartStrategyType::ExponentialDelay),
            _ => Err("expected none, fixed-delay, failure-rate or exponential-delay".into()),
        }
    }
    fn to_config_string(&self) -> String {
        match self {
            RestartStrategyType::Default => "",
            RestartStrategyType::None => "none",
            RestartStrategyType::FixedDelay => "fixed-delay",
            RestartStrategyType::FailureRate => "failure-rate",
            RestartStrategyType::ExponentialDelay => "exponential-delay",
        }
        .into()
    }
}

/// Which subtasks restart after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailoverStrategy {
    /// The failed subtask's pipelined region: every vertex connected to it by data exchanges.
    Region,
    /// Every subtask of the job.
    Full,
}

impl ConfigValue for FailoverStrategy {
    fn parse_config(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "region" => Ok(FailoverStrategy::Region),
            "full" => Ok(FailoverStrategy::Full),
            _ => Err("expected region or full".into()),
        }
    }
    fn to_config_string(&self) -> String {
        match self {
            FailoverStrategy::Region => "region",
            FailoverStrategy::Full => "full",
        }
        .into()
    }
}

/// A job's restart strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RestartStrategy {
    /// A failure fails the job.
    None,
    /// Up to `attempts` restarts, each after `delay`.
    FixedDelay {
        /// Restarts allowed.
        attempts: u32,
        /// Wait before each.
        delay: Duration,
    },
    /// Restarts after `delay` while no more than `max_failures` failures fall in `interval`.
    FailureRate {
        /// Failures allowed per interval.
        max_failures: u32,
        /// The interval.
        interval: Duration,
        /// Wait before each restart.
        delay: Duration,
    },
    /// Restarts after growing delays.
    ExponentialDelay {
        /// The first delay.
        initial: Duration,
        /// The longest delay.
        max: Duration,
        /// Growth per failure.
        multiplier: f64,
        /// Running this long without failure resets the delay and the attempt count.
        reset_threshold: Duration,
        /// Random share of each delay (0 to 1).
        jitter: f64,
        /// Restarts allowed between resets.
        attempts: u32,
    },
}

impl RestartStrategy {
    /// The strategy `config` chooses; unset, Flink's default: fixed-delay with unlimited
    /// attempts (`restart-strategy.fixed-delay.delay` apart, 1 s by default) when
    /// `checkpointing`, none otherwise.
    pub fn from_configuration(
        config: &Configuration,
        checkpointing: bool,
    ) -> Result<Self, ConfigError> {
        Ok(match config.get(&RESTART_STRATEGY)? {
            RestartStrategyType::Default if checkpointing => RestartStrategy::FixedDelay {
                attempts: i32::MAX as u32,
                delay: config.get(&FIXED_DELAY_DELAY)?,
            },
            RestartStrategyType::Default | RestartStrategyType::None => RestartStrategy::None,
            RestartStrategyType::FixedDelay => RestartStrategy::FixedDelay {
                attempts: config.get(&FIXED_DELAY_ATTEMPTS)?,
                delay: config.get(&FIXED_DELAY_DELAY)?,
            },
            RestartStrategyType::FailureRate => RestartStrategy::FailureRate {
                max_failures: config.get(&FAILURE_RATE_MAX_FAILURES)?,
                interval: config.get(&FAILURE_RATE_INTERVAL)?,
                delay: config.get(&FAILURE_RATE_DELAY)?,
            },
            RestartStrategyType::ExponentialDelay => {
                let multiplier = config.get(&EXPONENTIAL_MULTIPLIER)?;
                if multiplier < 1.0 {
                    return Err(config.reject(&EXPONENTIAL_MULTIPLIER, "must be at least 1"));
                }
                let jitter = config.get(&EXPONENTIAL_JITTER)?;
                if !(0.0..=1.0).contains(&jitter) {
                    return Err(config.reject(&EXPONENTIAL_JITTER, "must be between 0 and 1"));
                }
                RestartStrategy::ExponentialDelay {
                    initial: config.get(&EXPONENTIAL_INITIAL_BACKOFF)?,
                    max: config.get(&EXPONENTIAL_MAX_BACKOFF)?,
                    multiplier,
                    reset_threshold: config.get(&EXPONENTIAL_RESET_THRESHOLD)?,
                    jitter,
                    attempts: config.get(&EXPONENTIAL_ATTEMPTS)?,
                }
            }
        })
    }

    /// How the strategy reads in a message, e.g. `fixed-delay (3 attempts, 1000 ms apart)`.
    pub fn describe(&self) -> String {
        match self {
            RestartStrategy::None => "none".into(),
            RestartStrategy::FixedDelay { attempts, delay } => format!(
                "fixed-delay ({attempts} attempts, {} ms apart)",
                delay.as_millis()
            ),
            RestartStrategy::FailureRate {
                max_failures,
                interval,
                ..
            } => format!(
                "failure-rate ({max_failures} failures per {} ms)",
                interval.as_millis()
            ),
            RestartStrategy::ExponentialDelay { attempts, .. } => {
                format!("exponential-delay ({attempts} attempts before a reset)")
            }
        }
    }
}

/// A restart strategy applied to a job's failures.
#[derive(Debug)]
pub struct RestartBackoff {
    strategy: RestartStrategy,
    /// Failures counted (since the last reset, for exponential-delay).
    failures: u32,
    /// Recent failure times (failure-rate).
    recent: VecDeque<Instant>,
    /// The delay the next exponential restart waits, before jitter.
    backoff: Duration,
    last_failure: Option<Instant>,
}

impl RestartBackoff {
    /// The backoff of `strategy`, before any failure.
    pub fn new(strategy: RestartStrategy) -> Self {
        let backoff = match &strategy {
            RestartStrategy::ExponentialDelay { initial, .. } => *initial,
            _ => Duration::ZERO,
        };
        RestartBackoff {
            strategy,
            failures: 0,
            recent: VecDeque::new(),
            backoff,
            last_failure: None,
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> &RestartStrategy {
        &self.strategy
    }

    /// A failure at `now`: how long to wait before restarting, or `None` when the strategy
    /// allows no more restarts.
    pub fn on_failure(&mut self, now: Instant) -> Option<Duration> {
        let previous = self.last_failure.replace(now);
        match &self.strategy {
            RestartStrategy::None => None,
            RestartStrategy::FixedDelay { attempts, delay } => {
                self.failures += 1;
                (self.failures <= *attempts).then_some(*delay)
            }
            RestartStrategy::FailureRate {
                max_failures,
                interval,
                delay,
            } => {
                self.recent.push_back(now);
                while self
                    .recent
                    .front()
                    .is_some_and(|&t| now.saturating_duration_since(t) > *interval)
                {
                    self.recent.pop_front();
                }
                (self.recent.len() <= *max_failures as usize).then_some(*delay)
            }
            RestartStrategy::ExponentialDelay {
                initial,
                max,
                multiplier,
                reset_threshold,
                jitter,
                attempts,
            } => {
                if previous.is_some_and(|p| now.saturating_duration_since(p) >= *reset_threshold) {
                    self.failures = 0;
                    self.backoff = *initial;
                }
                self.failures += 1;
                if self.failures > *attempts {
                    return None;
                }
                let base = self.backoff.min(*max);
                self.backoff = base.mul_f64(*multiplier).min(*max);
                let spread = base.as_secs_f64() * jitter;
                let offset = if spread > 0.0 {
                    rand::random_range(-spread..=spread)
                } else {
                    0.0
                };
                Some(Duration::from_secs_f64(
                    (base.as_secs_f64() + offset).max(0.0),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    #[test]
    fn defaults_follow_checkpointing_and_keys_are_read() {
        let empty = Configuration::new();
        assert_eq!(
            RestartStrategy::from_configuration(&empty, false).unwrap(),
            RestartStrategy::None
        );
        assert_eq!(
            RestartStrategy::from_configuration(&empty, true).unwrap(),
            RestartStrategy::FixedDelay {
                attempts: i32::MAX as u32,
                delay: Duration::from_secs(1)
            }
        );
        let mut config = Configuration::new();
        config
            .set_string("restart-strategy.type", "failure-rate")
            .set_string(
                "restart-strategy.failure-rate.max-failures-per-interval",
                "2",
            )
            .set_string(
                "restart-strategy.failure-rate.failure-rate-interval",
                "10 s",
            )
            .set_string("restart-strategy.failure-rate.delay", "5 ms");
        assert_eq!(
            RestartStrategy::from_configuration(&config, true).unwrap(),
            RestartStrategy::FailureRate {
                max_failures: 2,
                interval: Duration::from_secs(10),
                delay: Duration::from_millis(5)
            }
        );
        config.set_string("restart-strategy.type", "sometimes");
        let error = RestartStrategy::from_configuration(&config, true)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("restart-strategy.type") && error.contains("fixed-delay"),
            "{error}"
        );
    }

    #[test]
    fn fixed_delay_allows_its_attempts() {
        let start = Instant::now();
        let mut backoff = RestartBackoff::new(RestartStrategy::FixedDelay {
            attempts: 2,
            delay: Duration::from_millis(7),
        });
        assert_eq!(backoff.on_failure(start), Some(Duration::from_millis(7)));
        assert_eq!(
            backoff.on_failure(at(start, 1)),
            Some(Duration::from_millis(7))
        );
        assert_eq!(backoff.on_failure(at(start, 2)), None);
        assert_eq!(
            RestartBackoff::new(RestartStrategy::None).on_failure(start),
            None
        );
    }

    #[test]
    fn failure_rate_counts_failures_within_the_interval() {
        let start = Instant::now();
        let mut backoff = RestartBackoff::new(RestartStrategy::FailureRate {
            max_failures: 2,
            interval: Duration::from_millis(100),
            delay: Duration::ZERO,
        });
        assert!(backoff.on_failure(start).is_some());
        assert!(backoff.on_failure(at(start, 50)).is_some());
        // A third within 100 ms of the first two: too many.
        assert!(backoff.on_failure(at(start, 90)).is_none());
        // Much later only the recent ones count.
        assert!(backoff.on_failure(at(start, 500)).is_some());
    }

    #[test]
    fn exponential_delay_grows_to_its_maximum_and_resets_after_a_quiet_period() {
        let start = Instant::now();
        let mut backoff = RestartBackoff::new(RestartStrategy::ExponentialDelay {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(35),
            multiplier: 2.0,
            reset_threshold: Duration::from_secs(1),
            jitter: 0.0,
            attempts: 4,
        });
        let delays: Vec<Option<u128>> = (0..5)
            .map(|i| backoff.on_failure(at(start, i)).map(|d| d.as_millis()))
            .collect();
        assert_eq!(delays, vec![Some(10), Some(20), Some(35), Some(35), None]);
        assert_eq!(
            backoff.on_failure(at(start, 2000)).map(|d| d.as_millis()),
            Some(10)
        );
    }
}
