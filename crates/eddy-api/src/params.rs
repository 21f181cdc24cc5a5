//! `--key value` program arguments, like Flink's `ParameterTool`.

use std::collections::BTreeMap;
use std::str::FromStr;

/// Parsed `--key value` / `--flag` arguments. A key may be given several times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterTool {
    values: BTreeMap<String, Vec<String>>,
}

impl ParameterTool {
    /// Parses arguments such as `--input a.txt --input b.txt --verbose`.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<ParameterTool, String> {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_ref();
            let key = arg
                .strip_prefix("--")
                .or_else(|| arg.strip_prefix('-'))
                .filter(|k| !k.is_empty())
                .ok_or_else(|| format!("unexpected argument '{arg}': expected --key value"))?;
            let value = match args.get(i + 1).map(|v| v.as_ref()) {
                Some(v) if !v.starts_with("--") => {
                    i += 1;
                    v.to_string()
                }
                _ => String::new(),
            };
            values.entry(key.to_string()).or_default().push(value);
            i += 1;
        }
        Ok(ParameterTool { values })
    }

    /// The last value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a key, in order.
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.values
            .get(key)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether the key was given.
    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// A key's value parsed as `T`, or `default` when absent; an unparsable value is an error
    /// naming the key.
    pub fn get_parsed<T: FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| format!("invalid value '{raw}' for --{key}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_flags_and_errors() {
        let p =
            ParameterTool::from_args(&["--input", "a", "--input", "b", "--verbose", "--n", "3"])
                .unwrap();
        assert_eq!(p.get_all("input"), vec!["a", "b"]);
        assert_eq!(p.get("input"), Some("b"));
        assert!(p.has("verbose"));
        assert_eq!(p.get_parsed("n", 0u32).unwrap(), 3);
        assert_eq!(p.get_parsed("missing", 7u32).unwrap(), 7);
        assert!(p
            .get_parsed::<u32>("input", 0)
            .unwrap_err()
            .contains("--input"));
        assert!(ParameterTool::from_args(&["oops"]).is_err());
    }
}
