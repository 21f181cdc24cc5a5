//! Identifiers shared by the client, the JobManager and the TaskManagers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A 128-bit identifier, shown as 32 lowercase hex digits like Flink's `JobID`.
macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// A new random identifier.
            pub fn generate() -> Self {
                $name(rand::random())
            }

            /// Parses 32 hex digits.
            pub fn parse(text: &str) -> Option<Self> {
                if text.len() != 32 || !text.is_ascii() {
                    return None;
                }
                let mut bytes = [0u8; 16];
                for (i, byte) in bytes.iter_mut().enumerate() {
                    *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
                }
                Some($name(bytes))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for byte in self.0 {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }
    };
}

hex_id!(
    /// Identifies a submitted job.
    JobId
);
hex_id!(
    /// Identifies a TaskManager (a `TaskExecutor` in Flink's code).
    ResourceId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_round_trips_through_hex() {
        let id = JobId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert!(text.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(JobId::parse(&text), Some(id));
        assert_eq!(JobId::parse("xyz"), None);
    }
}
