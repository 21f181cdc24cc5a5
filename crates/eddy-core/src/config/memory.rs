//! Memory sizes in configuration values (`64mb`, `1 gb`, `512k`, `1048576`), read like Flink's
//! `MemorySize`: a number with an optional unit, units in powers of 1024.

use std::fmt;

use super::ConfigValue;

/// A number of bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct MemorySize(pub u64);

impl MemorySize {
    /// `n` kibibytes.
    pub const fn kibibytes(n: u64) -> Self {
        MemorySize(n << 10)
    }

    /// `n` mebibytes.
    pub const fn mebibytes(n: u64) -> Self {
        MemorySize(n << 20)
    }

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

const UNITS: [(&[&str], u32); 5] = [
    (&["", "b", "bytes"], 0),
    (&["k", "kb", "kibibytes"], 10),
    (&["m", "mb", "mebibytes"], 20),
    (&["g", "gb", "gibibytes"], 30),
    (&["t", "tb", "tebibytes"], 40),
];

impl ConfigValue for MemorySize {
    fn parse_config(raw: &str) -> Result<Self, String> {
        let text = raw.trim().to_ascii_lowercase();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let expected = || {
            format!(
                "expected a memory size such as 64mb, 1gb, 512kb or a number of bytes, got '{raw}'"
            )
        };
        let number: u64 = text[..digits].parse().map_err(|_| expected())?;
        let unit = text[digits..].trim();
        let shift = UNITS
            .iter()
            .find(|(names, _)| names.contains(&unit))
            .map(|(_, shift)| *shift)
            .ok_or_else(expected)?;
        number
            .checked_mul(1u64 << shift)
            .map(MemorySize)
            .ok_or_else(|| format!("memory size '{raw}' is too large"))
    }

    fn to_config_string(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MemorySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        for (names, shift) in UNITS.iter().rev() {
            if *shift > 0 && bytes != 0 && bytes.is_multiple_of(1u64 << shift) {
                return write!(f, "{}{}", bytes >> shift, names[1]);
            }
        }
        write!(f, "{bytes}b")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units_in_powers_of_1024() {
        let parse = |raw| MemorySize::parse_config(raw).map(|m| m.0);
        assert_eq!(parse("1024"), Ok(1024));
        assert_eq!(parse("64mb"), Ok(64 << 20));
        assert_eq!(parse(" 1 GB "), Ok(1 << 30));
        assert_eq!(parse("512k"), Ok(512 << 10));
        assert_eq!(parse("3 bytes"), Ok(3));
        assert!(parse("lots").unwrap_err().contains("64mb"));
        assert!(parse("12 parsecs").is_err());
        assert!(parse("99999999999999tb").unwrap_err().contains("too large"));
        assert_eq!(MemorySize(64 << 20).to_string(), "64mb");
        assert_eq!(MemorySize(1000).to_string(), "1000b");
    }
}
