//! Command-line durations (`500ms`, `10s`, `2min`, `1h`) and window specifications
//! (`tumble:10s`, `hop:10s:2s`, `session:5s`, `count:N`, `count:N:SLIDE`).

use std::fmt;
use std::time::Duration;

/// The window specifications `--window` accepts, for error messages.
const WINDOW_FORMS: &str =
    "tumble:SIZE, hop:SIZE:SLIDE, session:GAP, count:N or count:N:SLIDE (e.g. tumble:10s)";

/// The longest duration accepted (2^60 ms, about 36 million years); see
/// [`MAX_EVENT_TIME_MS`](super::window_events::MAX_EVENT_TIME_MS).
pub const MAX_DURATION_MS: i64 = 1 << 60;

/// The most windows one element may belong to with `hop:SIZE:SLIDE` (SIZE ÷ SLIDE, rounded
/// up): every element updates that many windows, so larger ratios only make a job crawl.
pub const MAX_WINDOWS_PER_ELEMENT: u128 = 10_000;

/// Parses a duration with the configuration's syntax: a whole number followed by a unit such
/// as `ms`, `s`, `min` or `h`; a bare number means milliseconds. `option` names the option in
/// the error message (e.g. `--out-of-orderness`).
pub fn parse_duration(option: &str, raw: &str) -> Result<Duration, String> {
    let duration = eddy_core::config::parse_duration(raw).map_err(|reason| {
        format!(
            "invalid duration '{raw}' for {option}: {reason} (e.g. 500ms, 10s, 2min; a bare \
             number means ms)"
        )
    })?;
    if duration.as_millis() > MAX_DURATION_MS as u128 {
        return Err(format!(
            "duration '{raw}' for {option} is too large (at most {MAX_DURATION_MS} ms)"
        ));
    }
    Ok(duration)
}

/// A duration's whole milliseconds as `i64` (saturating; durations from [`parse_duration`]
/// always fit).
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The windows of `eddy run window-aggregate --window SPEC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    /// `tumble:SIZE`: event-time tumbling windows.
    Tumble {
        /// The window length.
        size: Duration,
    },
    /// `hop:SIZE:SLIDE`: event-time sliding windows.
    Hop {
        /// The window length.
        size: Duration,
        /// The distance between window starts.
        slide: Duration,
    },
    /// `session:GAP`: event-time session windows.
    Session {
        /// The inactivity gap that ends a session.
        gap: Duration,
    },
    /// `count:N`: tumbling count windows of `size` elements per key.
    Count {
        /// Elements per window.
        size: u64,
    },
    /// `count:N:SLIDE`: the last `size` elements of a key, every `slide` elements.
    CountSliding {
        /// Elements per window (at most).
        size: u64,
        /// Elements between firings.
        slide: u64,
    },
}

impl WindowSpec {
    /// Parses a `--window` value.
    pub fn parse(raw: &str) -> Result<WindowSpec, String> {
        let parts: Vec<&str> = raw.trim().split(':').collect();
        let positive_duration = |text: &str, what: &str| -> Result<Duration, String> {
            let duration = parse_duration(&format!("the {what} of --window '{raw}'"), text)?;
            if duration.is_zero() {
                return Err(format!(
                    "invalid --window '{raw}': the {what} must be at least 1 ms"
                ));
            }
            Ok(duration)
        };
        let positive_count = |text: &str, what: &str| -> Result<u64, String> {
            match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!(
                    "invalid --window '{raw}': the {what} must be a whole number of at least 1, \
                     not '{text}'"
                )),
            }
        };
        match parts.as_slice() {
            ["tumble", size] => Ok(WindowSpec::Tumble {
                size: positive_duration(size, "size")?,
            }),
            ["hop", size, slide] => {
                let size = positive_duration(size, "size")?;
                let slide = positive_duration(slide, "slide")?;
                if size.as_millis().div_ceil(slide.as_millis()) > MAX_WINDOWS_PER_ELEMENT {
                    return Err(format!(
                        "invalid --window '{raw}': every element would belong to more than \
                         {MAX_WINDOWS_PER_ELEMENT} windows (size ÷ slide); use a larger slide"
                    ));
                }
                Ok(WindowSpec::Hop { size, slide })
            }
            ["session", gap] => Ok(WindowSpec::Session {
                gap: positive_duration(gap, "gap")?,
            }),
            ["count", size] => Ok(WindowSpec::Count {
                size: positive_count(size, "size")?,
            }),
            ["count", size, slide] => Ok(WindowSpec::CountSliding {
                size: positive_count(size, "size")?,
                slide: positive_count(slide, "slide")?,
            }),
            _ => Err(format!("invalid --window '{raw}': expected {WINDOW_FORMS}")),
        }
    }
}

impl fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowSpec::Tumble { size } => write!(f, "tumble:{}ms", size.as_millis()),
            WindowSpec::Hop { size, slide } => {
                write!(f, "hop:{}ms:{}ms", size.as_millis(), slide.as_millis())
            }
            WindowSpec::Session { gap } => write!(f, "session:{}ms", gap.as_millis()),
            WindowSpec::Count { size } => write!(f, "count:{size}"),
            WindowSpec::CountSliding { size, slide } => write!(f, "count:{size}:{slide}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_take_units_and_default_to_milliseconds() {
        let parse = |raw| parse_duration("--x", raw);
        assert_eq!(parse("250"), Ok(ms(250)));
        assert_eq!(parse("500ms"), Ok(ms(500)));
        assert_eq!(parse("10s"), Ok(ms(10_000)));
        assert_eq!(parse("2min"), Ok(ms(120_000)));
        assert_eq!(parse("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse("0"), Ok(ms(0)));
        assert_eq!(parse("10 s"), Ok(ms(10_000)));
        for bad in ["", "s", "-5", "1.5s", "10 parsecs", "ten"] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.contains(&format!("'{bad}'")) && err.contains("--x"),
                "{err}"
            );
        }
        assert!(parse("99999999999999999h").is_err());
        assert!(parse("9999999999999999999")
            .unwrap_err()
            .contains("too large"));
        assert!(parse("1152921504606846977")
            .unwrap_err()
            .contains("too large"));
        assert_eq!(parse("1152921504606846976"), Ok(ms(MAX_DURATION_MS as u64)));
    }

    #[test]
    fn window_specs_parse_every_form_and_reject_the_rest() {
        assert_eq!(
            WindowSpec::parse("tumble:10s"),
            Ok(WindowSpec::Tumble { size: ms(10_000) })
        );
        assert_eq!(
            WindowSpec::parse("hop:10s:2s"),
            Ok(WindowSpec::Hop {
                size: ms(10_000),
                slide: ms(2_000)
            })
        );
        assert_eq!(
            WindowSpec::parse("session:500ms"),
            Ok(WindowSpec::Session { gap: ms(500) })
        );
        assert_eq!(
            WindowSpec::parse("count:3"),
            Ok(WindowSpec::Count { size: 3 })
        );
        assert_eq!(
            WindowSpec::parse("count:4:2"),
            Ok(WindowSpec::CountSliding { size: 4, slide: 2 })
        );
        for bad in [
            "tumble",
            "tumble:0",
            "hop:10s",
            "hop:10s:0s",
            "session:x",
            "count:0",
            "count:3:0",
            "count:-1",
            "slide:1s",
            "tumble:1s:2s",
            "hop:1h:1ms",
        ] {
            let err = WindowSpec::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert!(
            WindowSpec::parse("hop:10s:1ms").is_ok(),
            "10 000 windows are fine"
        );
        assert!(
            WindowSpec::parse("hop:1s:5s").is_ok(),
            "gaps between windows are fine"
        );
        assert_eq!(
            WindowSpec::parse("hop:2min:30s").unwrap().to_string(),
            "hop:120000ms:30000ms"
        );
    }
}
