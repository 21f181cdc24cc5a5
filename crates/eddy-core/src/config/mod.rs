//! Configuration with Flink's key names.
//!
//! A [`Configuration`] is a flat map of dotted keys to string values, read from
//! `conf/config.yaml` (nested or flat YAML, as Flink 1.19+ accepts) and `-D key=value` overrides.
//! Typed access goes through [`ConfigOption`]s, which carry the key, the default, and a
//! description; a value that does not parse is a [`ConfigError`] naming the key, the value and
//! where it came from.

mod memory;
mod options;
mod value;
mod yaml;

use std::collections::BTreeMap;
use std::path::Path;

pub use memory::MemorySize;
pub use options::*;
pub use value::{
    format_duration, parse_duration, ConfigValue, RuntimeMode, StateBackendType,
    TimerServiceFactory,
};

/// A configuration problem, always naming the offending key or file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse as the option's type.
    #[error("invalid value '{value}' for configuration key '{key}'{origin}: {reason}")]
    InvalidValue {
        /// The option's key.
        key: String,
        /// The raw value.
        value: String,
        /// Where the value came from, e.g. ` (from conf/config.yaml)`.
        origin: String,
        /// Why it is invalid, including what is expected.
        reason: String,
    },
    /// A `-D` argument without `=`.
    #[error("invalid dynamic property '{0}': expected key=value, e.g. -D parallelism.default=4")]
    MalformedProperty(String),
    /// The configuration file could not be read or parsed.
    #[error("could not read configuration file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong, with the line where the parser knows it.
        reason: String,
    },
}

/// A typed configuration key with its default.
#[derive(Debug, Clone, Copy)]
pub struct ConfigOption<T: 'static> {
    /// The key, e.g. `parallelism.default`.
    pub key: &'static str,
    /// Older or alternative keys read when `key` is absent.
    pub fallback_keys: &'static [&'static str],
    /// The default when no key is set.
    pub default: T,
    /// What the option does (shown in docs and `eddy` help).
    pub description: &'static str,
}

/// Flat key/value configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    values: BTreeMap<String, String>,
    origins: BTreeMap<String, String>,
}

impl Configuration {
    /// An empty configuration (every option at its default).
    pub fn new() -> Self {
        Configuration::default()
    }

    /// Sets a raw value.
    pub fn set_string(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        self.origins.remove(&key);
        self.values.insert(key, value.into());
        self
    }

    /// Sets a typed option.
    pub fn set<T: ConfigValue>(&mut self, option: &ConfigOption<T>, value: T) -> &mut Self {
        self.set_string(option.key, value.to_config_string())
    }

    /// The raw value of a key.
    pub fn get_string(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Whether the option (or one of its fallback keys) is set explicitly.
    pub fn contains<T>(&self, option: &ConfigOption<T>) -> bool {
        self.raw(option).is_some()
    }

    fn raw<T>(&self, option: &ConfigOption<T>) -> Option<(&str, &str)> {
        std::iter::once(option.key)
            .chain(option.fallback_keys.iter().copied())
            .find_map(|k| self.values.get_key_value(k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The typed value of an option, or its default when unset.
    pub fn get<T: ConfigValue + Clone>(&self, option: &ConfigOption<T>) -> Result<T, ConfigError> {
        Ok(self
            .get_optional(option)?
            .unwrap_or_else(|| option.default.clone()))
    }

    /// The typed value of an option if it is set.
    pub fn get_optional<T: ConfigValue>(
        &self,
        option: &ConfigOption<T>,
    ) -> Result<Option<T>, ConfigError> {
        let Some((key, raw)) = self.raw(option) else {
            return Ok(None);
        };
        T::parse_config(raw)
            .map(Some)
            .map_err(|reason| self.invalid_value(key, raw, reason))
    }

    /// The error for an option whose value parses but cannot be used here (e.g. a state
    /// backend this build lacks), naming the key, the value, where it came from and `reason`.
    /// An unset option is reported with its default.
    pub fn reject<T: ConfigValue>(
        &self,
        option: &ConfigOption<T>,
        reason: impl Into<String>,
    ) -> ConfigError {
        match self.raw(option) {
            Some((key, raw)) => self.invalid_value(key, raw, reason.into()),
            None => ConfigError::InvalidValue {
                key: option.key.to_string(),
                value: option.default.to_config_string(),
                origin: " (the default)".to_string(),
                reason: reason.into(),
            },
        }
    }

    fn invalid_value(&self, key: &str, raw: &str, reason: String) -> ConfigError {
        ConfigError::InvalidValue {
            key: key.to_string(),
            value: raw.to_string(),
            origin: self
                .origins
                .get(key)
                .map(|o| format!(" (from {o})"))
                .unwrap_or_default(),
            reason,
        }
    }

    /// Applies `key=value` dynamic properties (the CLI's `-D`), overriding earlier values.
    pub fn apply_dynamic_properties<S: AsRef<str>>(
        &mut self,
        properties: &[S],
    ) -> Result<(), ConfigError> {
        for property in properties {
            let property = property.as_ref();
            let (key, value) = property
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| ConfigError::MalformedProperty(property.to_string()))?;
            self.set_string(key.trim(), value.trim());
            self.origins
                .insert(key.trim().to_string(), format!("-D {property}"));
        }
        Ok(())
    }

    /// Overlays another configuration: its keys win.
    pub fn merge(&mut self, other: &Configuration) {
        for (k, v) in &other.values {
            self.values.insert(k.clone(), v.clone());
            match other.origins.get(k) {
                Some(origin) => self.origins.insert(k.clone(), origin.clone()),
                None => self.origins.remove(k),
            };
        }
    }

    /// Parses YAML text (nested maps flatten into dotted keys). `origin` names the source in
    /// error messages.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Configuration, ConfigError> {
        let values = yaml::flatten_yaml(text).map_err(|reason| ConfigError::File {
            path: origin.to_string(),
            reason,
        })?;
        let origins = values
            .keys()
            .map(|k| (k.clone(), origin.to_string()))
            .collect();
        Ok(Configuration { values, origins })
    }

    /// Reads `config.yaml` from a configuration directory; a missing file is an empty config.
    pub fn load_from_dir(dir: &Path) -> Result<Configuration, ConfigError> {
        let path = dir.join("config.yaml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Configuration::from_yaml(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Configuration::new()),
            Err(e) => Err(ConfigError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// All keys and values, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_rejected_option_names_key_value_origin_and_reason() {
        let mut conf = Configuration::new();
        let unset = conf.reject(&STATE_BACKEND_TYPE, "not here").to_string();
        assert_eq!(
            unset,
            "invalid value 'hashmap' for configuration key 'state.backend.type' (the default): \
             not here"
        );
        conf.apply_dynamic_properties(&["state.backend.type=rocksdb"])
            .unwrap();
        let set = conf.reject(&STATE_BACKEND_TYPE, "not built").to_string();
        assert_eq!(
            set,
            "invalid value 'rocksdb' for configuration key 'state.backend.type' (from -D \
             state.backend.type=rocksdb): not built"
        );
    }

    #[test]
    fn typed_get_uses_default_then_value_then_reports_bad_value() {
        let mut conf = Configuration::new();
        assert_eq!(conf.get(&PARALLELISM_DEFAULT).unwrap(), 1);
        conf.apply_dynamic_properties(&["parallelism.default=4"])
            .unwrap();
        assert_eq!(conf.get(&PARALLELISM_DEFAULT).unwrap(), 4);
        conf.apply_dynamic_properties(&["parallelism.default=four"])
            .unwrap();
        let err = conf.get(&PARALLELISM_DEFAULT).unwrap_err().to_string();
        assert!(err.contains("'four'"), "{err}");
        assert!(err.contains("parallelism.default"), "{err}");
        assert!(err.contains("-D parallelism.default=four"), "{err}");
    }

    #[test]
    fn malformed_dynamic_property_is_rejected() {
        let mut conf = Configuration::new();
        let err = conf
            .apply_dynamic_properties(&["parallelism.default"])
            .unwrap_err();
        assert!(matches!(err, ConfigError::MalformedProperty(_)));
    }

    #[test]
    fn yaml_nested_and_flat_keys_flatten() {
        let conf = Configuration::from_yaml(
            "parallelism:\n  default: 3\ntaskmanager.numberOfTaskSlots: 2\nexecution:\n  runtime-mode: BATCH\n  buffer-timeout:\n    interval: 5 ms\n",
            "config.yaml",
        )
        .unwrap();
        assert_eq!(conf.get(&PARALLELISM_DEFAULT).unwrap(), 3);
        assert_eq!(conf.get(&TASK_MANAGER_NUM_TASK_SLOTS).unwrap(), 2);
        assert_eq!(conf.get(&RUNTIME_MODE).unwrap(), RuntimeMode::Batch);
        assert_eq!(conf.get(&BUFFER_TIMEOUT).unwrap(), Duration::from_millis(5));
    }

    #[test]
    fn yaml_syntax_error_names_file_and_line() {
        let err = Configuration::from_yaml("a: [1, 2\nb: 3\n", "conf/config.yaml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("conf/config.yaml"), "{text}");
        assert!(text.contains("line"), "{text}");
    }
}
