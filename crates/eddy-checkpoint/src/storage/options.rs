//! How checkpoint folders in object stores are reached: the `s3.*` options (Flink's keys for
//! its S3 file systems), read once per job and handed to every folder that is opened.

use std::borrow::Cow;
use std::time::Duration;

use eddy_core::config::{ConfigError, ConfigOption, Configuration, MemorySize};
use serde::{Deserialize, Serialize};

/// `s3.endpoint`: the S3-compatible service to use instead of AWS (e.g. `http://127.0.0.1:9000`).
pub const S3_ENDPOINT: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "s3.endpoint",
    fallback_keys: &[],
    default: Cow::Borrowed(""),
    description: "The S3 endpoint (an S3-compatible service such as MinIO); unset: AWS, or \
                  AWS_ENDPOINT_URL.",
};

/// `s3.access-key`.
pub const S3_ACCESS_KEY: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "s3.access-key",
    fallback_keys: &["s3.access.key"],
    default: Cow::Borrowed(""),
    description: "The access key id; unset: AWS_ACCESS_KEY_ID or the AWS credential chain.",
};

/// `s3.secret-key`.
pub const S3_SECRET_KEY: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "s3.secret-key",
    fallback_keys: &["s3.secret.key"],
    default: Cow::Borrowed(""),
    description: "The secret access key; unset: AWS_SECRET_ACCESS_KEY or the AWS credential chain.",
};

/// `s3.path.style.access`.
pub const S3_PATH_STYLE_ACCESS: ConfigOption<bool> = ConfigOption {
    key: "s3.path.style.access",
    fallback_keys: &[],
    default: false,
    description: "Address buckets as <endpoint>/<bucket> instead of <bucket>.<endpoint> (most \
                  S3-compatible services need this).",
};

/// `s3.region`.
pub const S3_REGION: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "s3.region",
    fallback_keys: &[],
    default: Cow::Borrowed(""),
    description: "The bucket's region; unset: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1.",
};

/// `s3.retry.limit`.
pub const S3_RETRY_LIMIT: ConfigOption<u32> = ConfigOption {
    key: "s3.retry.limit",
    fallback_keys: &[],
    default: 7,
    description: "How often a failed request is retried (with exponential backoff) before the \
                  read or write fails.",
};

/// `s3.connection.timeout`.
pub const S3_CONNECTION_TIMEOUT: ConfigOption<Duration> = ConfigOption {
    key: "s3.connection.timeout",
    fallback_keys: &[],
    default: Duration::from_secs(60),
    description: "The longest one request may take; a slower one fails (and is retried).",
};

/// `s3.upload.min.part.size`.
pub const S3_UPLOAD_PART_SIZE: ConfigOption<MemorySize> = ConfigOption {
    key: "s3.upload.min.part.size",
    fallback_keys: &[],
    default: MemorySize::mebibytes(5),
    description: "Files larger than this are uploaded in parts of this size (multipart upload; \
                  S3 needs at least 5 MiB per part but the last).",
};

/// Settings for folders in S3 (the `s3.*` options); unset ones fall back to the usual `AWS_*`
/// environment variables.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Options {
    /// `s3.endpoint`, if set.
    pub endpoint: Option<String>,
    /// `s3.access-key`, if set.
    pub access_key: Option<String>,
    /// `s3.secret-key`, if set.
    pub secret_key: Option<String>,
    /// `s3.path.style.access`.
    pub path_style_access: bool,
    /// `s3.region`, if set.
    pub region: Option<String>,
    /// `s3.retry.limit`.
    pub retry_limit: u32,
    /// `s3.connection.timeout`.
    pub request_timeout: Duration,
    /// `s3.upload.min.part.size`, in bytes.
    pub part_size: usize,
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "******"))
            .field("path_style_access", &self.path_style_access)
            .field("region", &self.region)
            .field("retry_limit", &self.retry_limit)
            .field("request_timeout", &self.request_timeout)
            .field("part_size", &self.part_size)
            .finish()
    }
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            endpoint: None,
            access_key: None,
            secret_key: None,
            path_style_access: S3_PATH_STYLE_ACCESS.default,
            region: None,
            retry_limit: S3_RETRY_LIMIT.default,
            request_timeout: S3_CONNECTION_TIMEOUT.default,
            part_size: S3_UPLOAD_PART_SIZE.default.bytes() as usize,
        }
    }
}

/// `state.backend.local-recovery` (Flink 2: `execution.state-recovery.from-local`).
pub const LOCAL_RECOVERY: ConfigOption<bool> = ConfigOption {
    key: "state.backend.local-recovery",
    fallback_keys: &["execution.state-recovery.from-local"],
    default: false,
    description: "Keep a local copy of every checkpoint file a job writes, and restore from it \
                  after a failure instead of reading the checkpoint storage.",
};

/// `taskmanager.state.local.root-dirs`.
pub const LOCAL_RECOVERY_DIRECTORY: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "taskmanager.state.local.root-dirs",
    fallback_keys: &[],
    default: Cow::Borrowed(""),
    description: "Where local recovery keeps its copies (the first of a comma-separated list); \
                  unset: <temp dir>/eddy-local-state.",
};

/// How checkpoint and savepoint folders are reached, for every scheme that needs settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageOptions {
    /// For `s3://` folders.
    pub s3: S3Options,
    /// With local recovery: the local folder that keeps a copy of the job's checkpoints.
    #[serde(default)]
    pub local_recovery_directory: Option<String>,
}

impl StorageOptions {
    /// The storage settings in `config`.
    pub fn from_configuration(config: &Configuration) -> Result<Self, ConfigError> {
        let text =
            |option: &ConfigOption<Cow<'static, str>>| -> Result<Option<String>, ConfigError> {
                let value = config.get(option)?;
                Ok(Some(value.trim().to_string()).filter(|v| !v.is_empty()))
            };
        let endpoint = text(&S3_ENDPOINT)?;
        if let Some(endpoint) = &endpoint {
            if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
                return Err(config.reject(
                    &S3_ENDPOINT,
                    "expected an http:// or https:// URL, e.g. http://127.0.0.1:9000",
                ));
            }
        }
        let part_size = config.get(&S3_UPLOAD_PART_SIZE)?.bytes();
        if part_size < MemorySize::mebibytes(5).bytes() {
            return Err(config.reject(
                &S3_UPLOAD_PART_SIZE,
                "must be at least 5mb (S3's smallest part)",
            ));
        }
        let request_timeout = config.get(&S3_CONNECTION_TIMEOUT)?;
        if request_timeout.is_zero() {
            return Err(config.reject(&S3_CONNECTION_TIMEOUT, "must be longer than zero"));
        }
        let local_recovery_directory = if config.get(&LOCAL_RECOVERY)? {
            let configured = config.get(&LOCAL_RECOVERY_DIRECTORY)?;
            let first = configured.split(',').map(str::trim).find(|d| !d.is_empty());
            Some(match first {
                Some(directory) => directory.to_string(),
                None => std::env::temp_dir()
                    .join("eddy-local-state")
                    .display()
                    .to_string(),
            })
        } else {
            None
        };
        Ok(StorageOptions {
            local_recovery_directory,
            s3: S3Options {
                endpoint,
                access_key: text(&S3_ACCESS_KEY)?,
                secret_key: text(&S3_SECRET_KEY)?,
                path_style_access: config.get(&S3_PATH_STYLE_ACCESS)?,
                region: text(&S3_REGION)?,
                retry_limit: config.get(&S3_RETRY_LIMIT)?,
                request_timeout,
                part_size: usize::try_from(part_size).unwrap_or(usize::MAX),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flinks_keys_are_read_and_bad_values_named() {
        let mut config = Configuration::new();
        config
            .set_string("s3.endpoint", "http://127.0.0.1:9000")
            .set_string("s3.access.key", "minio")
            .set_string("s3.secret-key", "secret")
            .set_string("s3.path.style.access", "true")
            .set_string("s3.retry.limit", "2")
            .set_string("s3.connection.timeout", "5 s")
            .set_string("s3.upload.min.part.size", "8mb");
        let options = StorageOptions::from_configuration(&config).unwrap();
        assert_eq!(
            options.s3,
            S3Options {
                endpoint: Some("http://127.0.0.1:9000".into()),
                access_key: Some("minio".into()),
                secret_key: Some("secret".into()),
                path_style_access: true,
                region: None,
                retry_limit: 2,
                request_timeout: Duration::from_secs(5),
                part_size: 8 << 20,
            }
        );
        assert!(!format!("{options:?}").contains("secret\""), "{options:?}");
        assert_eq!(options.local_recovery_directory, None);
        assert_eq!(
            StorageOptions::from_configuration(&Configuration::new()).unwrap(),
            StorageOptions::default()
        );
        let mut local = Configuration::new();
        local
            .set_string("state.backend.local-recovery", "true")
            .set_string("taskmanager.state.local.root-dirs", " /data/a, /data/b");
        assert_eq!(
            StorageOptions::from_configuration(&local)
                .unwrap()
                .local_recovery_directory
                .as_deref(),
            Some("/data/a")
        );
        local.set_string("taskmanager.state.local.root-dirs", "");
        let default = StorageOptions::from_configuration(&local)
            .unwrap()
            .local_recovery_directory
            .unwrap();
        assert!(default.ends_with("eddy-local-state"), "{default}");
        for (key, value, expected) in [
            ("s3.endpoint", "127.0.0.1:9000", "http://"),
            ("s3.upload.min.part.size", "1mb", "at least 5mb"),
            ("s3.connection.timeout", "0 s", "longer than zero"),
        ] {
            let mut config = Configuration::new();
            config.set_string(key, value);
            let error = StorageOptions::from_configuration(&config)
                .unwrap_err()
                .to_string();
            assert!(error.contains(key) && error.contains(expected), "{error}");
        }
    }
}
