//! The checkpointing options, under Flink's keys.

use std::borrow::Cow;
use std::time::Duration;

use eddy_core::config::{ConfigError, ConfigOption, ConfigValue, Configuration};
use serde::{Deserialize, Serialize};

use crate::barrier::CheckpointingMode;

/// `execution.checkpointing.interval`: how often checkpoints are triggered; unset disables
/// checkpointing.
pub const CHECKPOINTING_INTERVAL: ConfigOption<Duration> = ConfigOption {
    key: "execution.checkpointing.interval",
    fallback_keys: &[],
    default: Duration::ZERO,
    description: "Checkpoint every interval (e.g. 10 s); unset: checkpointing is off.",
};

/// `execution.checkpointing.mode`.
pub const CHECKPOINTING_MODE: ConfigOption<CheckpointingMode> = ConfigOption {
    key: "execution.checkpointing.mode",
    fallback_keys: &[],
    default: CheckpointingMode::ExactlyOnce,
    description: "EXACTLY_ONCE (align barriers) or AT_LEAST_ONCE (do not).",
};

/// `execution.checkpointing.timeout`.
pub const CHECKPOINTING_TIMEOUT: ConfigOption<Duration> = ConfigOption {
    key: "execution.checkpointing.timeout",
    fallback_keys: &[],
    default: Duration::from_secs(600),
    description: "A checkpoint not complete after this long is aborted.",
};

/// `execution.checkpointing.min-pause`.
pub const CHECKPOINTING_MIN_PAUSE: ConfigOption<Duration> = ConfigOption {
    key: "execution.checkpointing.min-pause",
    fallback_keys: &[],
    default: Duration::ZERO,
    description: "The least time between the end of one checkpoint and the start of the next.",
};

/// `execution.checkpointing.max-concurrent-checkpoints`.
pub const CHECKPOINTING_MAX_CONCURRENT: ConfigOption<u32> = ConfigOption {
    key: "execution.checkpointing.max-concurrent-checkpoints",
    fallback_keys: &[],
    default: 1,
    description: "How many checkpoints may be in progress at once.",
};

/// `execution.checkpointing.tolerable-failed-checkpoints`.
pub const CHECKPOINTING_TOLERABLE_FAILURES: ConfigOption<u32> = ConfigOption {
    key: "execution.checkpointing.tolerable-failed-checkpoints",
    fallback_keys: &[],
    default: 0,
    description: "Failed checkpoints in a row that the job tolerates; one more fails the job.",
};

/// `execution.checkpointing.externalized-checkpoint-retention`.
pub const CHECKPOINTING_RETENTION: ConfigOption<CheckpointRetention> = ConfigOption {
    key: "execution.checkpointing.externalized-checkpoint-retention",
    fallback_keys: &[],
    default: CheckpointRetention::NoExternalizedCheckpoints,
    description: "What happens to completed checkpoints when the job ends: \
                  NO_EXTERNALIZED_CHECKPOINTS, DELETE_ON_CANCELLATION or RETAIN_ON_CANCELLATION.",
};

/// `execution.checkpointing.num-retained` (Flink 1.x: `state.checkpoints.num-retained`).
pub const CHECKPOINTING_NUM_RETAINED: ConfigOption<u32> = ConfigOption {
    key: "execution.checkpointing.num-retained",
    fallback_keys: &["state.checkpoints.num-retained"],
    default: 1,
    description: "Completed checkpoints kept; older ones are deleted.",
};

/// `state.checkpoints.dir` (Flink 2: `execution.checkpointing.dir`): where checkpoints are
/// written: a local path, a `file://` URL or an `s3://` URL.
pub const CHECKPOINTS_DIRECTORY: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "state.checkpoints.dir",
    fallback_keys: &["execution.checkpointing.dir"],
    default: Cow::Borrowed(""),
    description:
        "Where checkpoints go: <dir>/<job-id>/chk-<n>/ (local path, file:// or s3:// URL).",
};

/// `state.savepoints.dir` (Flink 2: `execution.checkpointing.savepoint-dir`): where savepoints
/// go when their trigger names no folder.
pub const SAVEPOINTS_DIRECTORY: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "state.savepoints.dir",
    fallback_keys: &["execution.checkpointing.savepoint-dir"],
    default: Cow::Borrowed(""),
    description: "The default folder of savepoints: <dir>/savepoint-<job id prefix>-<random>/ \
                  (local path, file:// or s3:// URL).",
};

/// `execution.state-recovery.path` (Flink 1.x: `execution.savepoint.path`; the CLI's `-s`):
/// the checkpoint a new job starts from.
pub const STATE_RECOVERY_PATH: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "execution.state-recovery.path",
    fallback_keys: &["execution.savepoint.path"],
    default: Cow::Borrowed(""),
    description: "Start the job from this checkpoint: a chk-<n> folder, or a job's checkpoint \
                  folder (its latest completed checkpoint).",
};

/// `execution.state-recovery.ignore-unclaimed-state` (Flink 1.x:
/// `execution.savepoint.ignore-unclaimed-state`; the CLI's `-n` / `--allowNonRestoredState`):
/// whether a job may start from a checkpoint holding state of an operator it no longer has
/// (that state is then dropped).
pub const STATE_RECOVERY_IGNORE_UNCLAIMED_STATE: ConfigOption<bool> = ConfigOption {
    key: "execution.state-recovery.ignore-unclaimed-state",
    fallback_keys: &["execution.savepoint.ignore-unclaimed-state"],
    default: false,
    description: "Allow starting from a checkpoint whose state some operator of the job no \
                  longer claims (the state is skipped).",
};

/// `execution.checkpointing.incremental` (Flink 1.x: `state.backend.incremental`).
pub const CHECKPOINTING_INCREMENTAL: ConfigOption<bool> = ConfigOption {
    key: "execution.checkpointing.incremental",
    fallback_keys: &["state.backend.incremental"],
    default: false,
    description: "Incremental checkpoints: the RocksDB backend uploads only the files earlier \
                  retained checkpoints have not; savepoints stay full.",
};

/// What becomes of a job's completed checkpoints when it ends (Flink's externalized-checkpoint
/// retention). Checkpoints of a job that finishes are always deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointRetention {
    /// Deleted whenever the job ends (they only serve restarts within the job).
    NoExternalizedCheckpoints,
    /// Kept when the job fails, deleted when it is cancelled.
    DeleteOnCancellation,
    /// Kept when the job fails or is cancelled.
    RetainOnCancellation,
}

impl ConfigValue for CheckpointRetention {
    fn parse_config(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "NO_EXTERNALIZED_CHECKPOINTS" => Ok(CheckpointRetention::NoExternalizedCheckpoints),
            "DELETE_ON_CANCELLATION" => Ok(CheckpointRetention::DeleteOnCancellation),
            "RETAIN_ON_CANCELLATION" => Ok(CheckpointRetention::RetainOnCancellation),
            _ => Err(
                "expected NO_EXTERNALIZED_CHECKPOINTS, DELETE_ON_CANCELLATION or \
                      RETAIN_ON_CANCELLATION"
                    .into(),
            ),
        }
    }
    fn to_config_string(&self) -> String {
        match self {
            CheckpointRetention::NoExternalizedCheckpoints => "NO_EXTERNALIZED_CHECKPOINTS",
            CheckpointRetention::DeleteOnCancellation => "DELETE_ON_CANCELLATION",
            CheckpointRetention::RetainOnCancellation => "RETAIN_ON_CANCELLATION",
        }
        .into()
    }
}

impl ConfigValue for CheckpointingMode {
    fn parse_config(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "EXACTLY_ONCE" => Ok(CheckpointingMode::ExactlyOnce),
            "AT_LEAST_ONCE" => Ok(CheckpointingMode::AtLeastOnce),
            _ => Err("expected EXACTLY_ONCE or AT_LEAST_ONCE".into()),
        }
    }
    fn to_config_string(&self) -> String {
        self.to_string()
    }
}

/// A job's checkpointing settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointConfig {
    /// Time between checkpoint triggers.
    pub interval: Duration,
    /// Aligned or not.
    pub mode: CheckpointingMode,
    /// A checkpoint still pending after this long is aborted.
    pub timeout: Duration,
    /// Least time between one checkpoint's end and the next one's trigger.
    pub min_pause: Duration,
    /// Checkpoints in progress at once.
    pub max_concurrent: u32,
    /// Failed checkpoints in a row that do not fail the job.
    pub tolerable_failures: u32,
    /// What is kept when the job ends.
    pub retention: CheckpointRetention,
    /// Completed checkpoints kept while the job runs.
    pub num_retained: u32,
    /// Where checkpoints are written (local path, `file://` or `s3://` URL).
    pub directory: String,
    /// Whether the on-disk backend's checkpoints are incremental.
    #[serde(default)]
    pub incremental: bool,
}

impl CheckpointConfig {
    /// Checkpointing every `interval` into `directory`, other settings at Flink's defaults.
    pub fn every(interval: Duration, directory: impl Into<String>) -> Self {
        CheckpointConfig {
            interval,
            mode: CHECKPOINTING_MODE.default,
            timeout: CHECKPOINTING_TIMEOUT.default,
            min_pause: CHECKPOINTING_MIN_PAUSE.default,
            max_concurrent: CHECKPOINTING_MAX_CONCURRENT.default,
            tolerable_failures: CHECKPOINTING_TOLERABLE_FAILURES.default,
            retention: CHECKPOINTING_RETENTION.default,
            num_retained: CHECKPOINTING_NUM_RETAINED.default,
            directory: directory.into(),
            incremental: CHECKPOINTING_INCREMENTAL.default,
        }
    }

    /// The checkpointing settings in `config`: `None` when `execution.checkpointing.interval`
    /// is unset (or zero). An interval without a checkpoint directory is an error.
    pub fn from_configuration(config: &Configuration) -> Result<Option<Self>, ConfigError> {
        let interval = config.get(&CHECKPOINTING_INTERVAL)?;
        if interval.is_zero() {
            return Ok(None);
        }
        let directory = config.get(&CHECKPOINTS_DIRECTORY)?.trim().to_string();
        if directory.is_empty() {
            return Err(config.reject(
                &CHECKPOINTS_DIRECTORY,
                format!(
                    "checkpointing is on ({} is set) but no checkpoint directory is configured; \
                     set {} to a folder, e.g. file:///tmp/eddy-checkpoints",
                    CHECKPOINTING_INTERVAL.key, CHECKPOINTS_DIRECTORY.key
                ),
            ));
        }
        let max_concurrent = config.get(&CHECKPOINTING_MAX_CONCURRENT)?;
        if max_concurrent == 0 {
            return Err(config.reject(&CHECKPOINTING_MAX_CONCURRENT, "must be at least 1"));
        }
        let num_retained = config.get(&CHECKPOINTING_NUM_RETAINED)?;
        if num_retained == 0 {
            return Err(config.reject(&CHECKPOINTING_NUM_RETAINED, "must be at least 1"));
        }
        let timeout = config.get(&CHECKPOINTING_TIMEOUT)?;
        if timeout.is_zero() {
            return Err(config.reject(&CHECKPOINTING_TIMEOUT, "must be longer than zero"));
        }
        Ok(Some(CheckpointConfig {
            interval,
            mode: config.get(&CHECKPOINTING_MODE)?,
            timeout,
            min_pause: config.get(&CHECKPOINTING_MIN_PAUSE)?,
            max_concurrent,
            tolerable_failures: config.get(&CHECKPOINTING_TOLERABLE_FAILURES)?,
            retention: config.get(&CHECKPOINTING_RETENTION)?,
            num_retained,
            directory,
            incremental: config.get(&CHECKPOINTING_INCREMENTAL)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_interval_means_no_checkpointing() {
        assert_eq!(
            CheckpointConfig::from_configuration(&Configuration::new()).unwrap(),
            None
        );
    }

    #[test]
    fn reads_flinks_keys() {
        let mut config = Configuration::new();
        config
            .set_string("execution.checkpointing.interval", "2 s")
            .set_string("execution.checkpointing.mode", "at_least_once")
            .set_string("execution.checkpointing.timeout", "1 min")
            .set_string("execution.checkpointing.min-pause", "500 ms")
            .set_string("execution.checkpointing.max-concurrent-checkpoints", "2")
            .set_string("execution.checkpointing.tolerable-failed-checkpoints", "3")
            .set_string(
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION",
            )
            .set_string("state.checkpoints.num-retained", "4")
            .set_string("execution.checkpointing.dir", "file:///tmp/x")
            .set_string("state.backend.incremental", "true");
        let read = CheckpointConfig::from_configuration(&config)
            .unwrap()
            .unwrap();
        assert_eq!(
            read,
            CheckpointConfig {
                interval: Duration::from_secs(2),
                mode: CheckpointingMode::AtLeastOnce,
                timeout: Duration::from_secs(60),
                min_pause: Duration::from_millis(500),
                max_concurrent: 2,
                tolerable_failures: 3,
                retention: CheckpointRetention::RetainOnCancellation,
                num_retained: 4,
                directory: "file:///tmp/x".into(),
                incremental: true,
            }
        );
    }

    #[test]
    fn an_interval_without_a_directory_is_a_clear_error() {
        let mut config = Configuration::new();
        config.set_string("execution.checkpointing.interval", "1 s");
        let error = CheckpointConfig::from_configuration(&config)
            .unwrap_err()
            .to_string();
        assert!(error.contains("state.checkpoints.dir"), "{error}");
        assert!(error.contains("no checkpoint directory"), "{error}");
        config.set_string("execution.checkpointing.mode", "sometimes");
        config.set_string("state.checkpoints.dir", "/tmp/x");
        let error = CheckpointConfig::from_configuration(&config)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("execution.checkpointing.mode") && error.contains("EXACTLY_ONCE"),
            "{error}"
        );
    }
}
