//! Parsing and printing of configuration values.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// A type that configuration values parse into.
pub trait ConfigValue: Sized {
    /// Parses a raw value; the error says what was expected.
    fn parse_config(raw: &str) -> Result<Self, String>;
    /// The raw form of a value.
    fn to_config_string(&self) -> String;
}

macro_rules! integer_value {
    ($($t:ty),*) => {$(
        impl ConfigValue for $t {
            fn parse_config(raw: &str) -> Result<Self, String> {
                raw.trim().parse().map_err(|_| format!("expected an integer ({})", stringify!($t)))
            }
            fn to_config_string(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_value!(u32, u64, i32, i64, usize);

impl ConfigValue for f64 {
    fn parse_config(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| "expected a number, e.g. 1.5".into())
    }
    fn to_config_string(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for bool {
    fn parse_config(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false".into()),
        }
    }
    fn to_config_string(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for String {
    fn parse_config(raw: &str) -> Result<Self, String> {
        Ok(raw.to_string())
    }
    fn to_config_string(&self) -> String {
        self.clone()
    }
}

/// Text options: the default is a borrowed `&'static str` (so options stay `const`), a value
/// read from the configuration is owned.
impl ConfigValue for Cow<'static, str> {
    fn parse_config(raw: &str) -> Result<Self, String> {
        Ok(Cow::Owned(raw.to_string()))
    }
    fn to_config_string(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for Duration {
    fn parse_config(raw: &str) -> Result<Self, String> {
        parse_duration(raw)
    }
    fn to_config_string(&self) -> String {
        format_duration(*self)
    }
}

/// Parses a duration the way Flink does: a number with an optional unit (`ms`, `s`, `min`, `h`,
/// `d`, and their long forms); a bare number is milliseconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let amount: u64 = number
        .parse()
        .map_err(|_| "expected a duration such as '100 ms', '5 s' or '1 min'".to_string())?;
    let millis_per_unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        other => {
            return Err(format!(
                "unknown time unit '{other}' (use ms, s, min, h or d)"
            ))
        }
    };
    amount
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| "duration is too large".to_string())
}

/// Prints a duration in the form [`parse_duration`] reads.
pub fn format_duration(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}

/// `execution.runtime-mode`: how bounded and unbounded programs execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RuntimeMode {
    /// Continuous processing: every update is emitted as it happens (the default).
    Streaming,
    /// Bounded processing: keyed aggregations emit only their final results.
    Batch,
    /// BATCH when every source is bounded, STREAMING otherwise.
    Automatic,
}

impl ConfigValue for RuntimeMode {
    fn parse_config(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "STREAMING" => Ok(RuntimeMode::Streaming),
            "BATCH" => Ok(RuntimeMode::Batch),
            "AUTOMATIC" => Ok(RuntimeMode::Automatic),
            _ => Err("expected STREAMING, BATCH or AUTOMATIC".into()),
        }
    }
    fn to_config_string(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for RuntimeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuntimeMode::Streaming => "STREAMING",
            RuntimeMode::Batch => "BATCH",
            RuntimeMode::Automatic => "AUTOMATIC",
        })
    }
}

/// `state.backend.type`: where keyed state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum StateBackendType {
    /// Objects on the heap (`hashmap`; Flink's legacy names `jobmanager` and `filesystem` mean
    /// the same).
    HashMap,
    /// An embedded RocksDB on local disk (`rocksdb`).
    RocksDb,
}

impl ConfigValue for StateBackendType {
    fn parse_config(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "hashmap" | "jobmanager" | "filesystem" => Ok(StateBackendType::HashMap),
            "rocksdb" => Ok(StateBackendType::RocksDb),
            _ => Err("expected hashmap or rocksdb".into()),
        }
    }
    fn to_config_string(&self) -> String {
        match self {
            StateBackendType::HashMap => "hashmap".into(),
            StateBackendType::RocksDb => "rocksdb".into(),
        }
    }
}

/// `state.backend.rocksdb.timer-service.factory`: where the `rocksdb` backend keeps timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TimerServiceFactory {
    /// On the heap, beside the operator (`HEAP`): fastest, limited by memory.
    Heap,
    /// In the RocksDB instance with the keyed state (`ROCKSDB`, the default).
    RocksDb,
}

impl ConfigValue for TimerServiceFactory {
    fn parse_config(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "HEAP" => Ok(TimerServiceFactory::Heap),
            "ROCKSDB" => Ok(TimerServiceFactory::RocksDb),
            _ => Err("expected HEAP or ROCKSDB".into()),
        }
    }
    fn to_config_string(&self) -> String {
        match self {
            TimerServiceFactory::Heap => "HEAP".into(),
            TimerServiceFactory::RocksDb => "ROCKSDB".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_flink() {
        assert_eq!(parse_duration("100").unwrap(), Duration::from_millis(100));
        assert_eq!(
            parse_duration("100 ms").unwrap(),
            Duration::from_millis(100)
        );
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2 min").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("parsecs"));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn text_options_read_owned_values_and_borrowed_defaults() {
        use crate::config::{Configuration, PIPELINE_NAME};
        let mut config = Configuration::new();
        assert!(matches!(
            config.get(&PIPELINE_NAME).unwrap(),
            Cow::Borrowed("Eddy Streaming Job")
        ));
        config.set_string("pipeline.name", "orders");
        let read = config.get(&PIPELINE_NAME).unwrap();
        assert!(matches!(read, Cow::Owned(_)));
        assert_eq!(read, "orders");
    }
}
