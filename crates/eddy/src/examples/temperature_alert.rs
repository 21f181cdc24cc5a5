//! TemperatureAlert: keyed state in a `flat_map` on a keyed stream, as Flink's training
//! teaches it — each sensor's last reading in a `ValueState`, an alert when a reading jumps.

use eddy_api::prelude::*;

use crate::ProgramError;

/// Its arguments.
pub const TEMPERATURE_ALERT_USAGE: &str = "[--input PATH]... [--threshold DEGREES] [--output PATH]";

/// `(sensor, temperature)`.
pub type Reading = (String, f64);

/// An alert when a sensor's reading moves by more than the threshold from its previous one:
/// `(sensor, previous, current)`, printed like Flink's `Tuple3`.
#[derive(Clone)]
pub struct TemperatureChangeAlert {
    threshold: f64,
    last: ValueStateDescriptor<f64>,
    state: Option<KeyedStateStore<String>>,
}

impl TemperatureChangeAlert {
    /// Alerts on changes larger than `threshold` degrees.
    pub fn new(threshold: f64) -> Self {
        TemperatureChangeAlert {
            threshold,
            last: ValueStateDescriptor::new("last-temperature"),
            state: None,
        }
    }
}

impl FlatMapFunction<Reading, String> for TemperatureChangeAlert {
    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.state = Some(ctx.keyed_state_store::<String>()?);
        Ok(())
    }

    fn flat_map(
        &mut self,
        (sensor, temperature): Reading,
        out: &mut Collector<'_, String>,
    ) -> FnResult<()> {
        let state = self.state.as_ref().ok_or("the function was not opened")?;
        let previous = state.with_state(|key_state| {
            let mut last = key_state.value(&self.last)?;
            let previous = last.value()?;
            last.update(temperature)?;
            Ok(previous)
        })?;
        if let Some(previous) = previous {
            if (temperature - previous).abs() > self.threshold {
                out.collect(format!(
                    "({sensor},{},{})",
                    java_double(previous),
                    java_double(temperature)
                ));
            }
        }
        Ok(())
    }
}

/// A double as Java prints it for ordinary magnitudes (`26.0`, `20.5`).
fn java_double(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e16 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

/// Parses a `sensor,temperature` line.
pub fn parse_reading(line: &str) -> Result<Reading, String> {
    let invalid =
        || format!("invalid reading '{line}': expected sensor,temperature, e.g. sensor-1,21.5");
    let (sensor, temperature) = line.split_once(',').ok_or_else(invalid)?;
    let temperature: f64 = temperature.trim().parse().map_err(|_| invalid())?;
    let sensor = sensor.trim();
    if sensor.is_empty() || !temperature.is_finite() {
        return Err(invalid());
    }
    Ok((sensor.to_string(), temperature))
}

/// The readings used without `--input`: four sensors warming slowly, with a few jumps.
fn default_readings() -> Vec<String> {
    (0..40u32)
        .map(|i| {
            let jump = if i % 11 == 7 { 6.5 } else { 0.0 };
            format!(
                "sensor-{},{:.1}",
                i % 4,
                20.0 + f64::from(i / 4) * 0.5 + jump
            )
        })
        .collect()
}

/// `temperature-alert [--input PATH]... [--threshold DEGREES] [--output PATH]`: reads
/// `sensor,temperature` lines, keys them by sensor and emits `(sensor,previous,current)` when a
/// reading differs from the sensor's previous one by more than the threshold (default 5).
pub fn temperature_alert(args: &[String]) -> Result<(), ProgramError> {
    let params = ParameterTool::from_args(args).map_err(ProgramError::InvalidArguments)?;
    let usage = |what: &str| {
        ProgramError::InvalidArguments(format!(
            "{what}: temperature-alert {TEMPERATURE_ALERT_USAGE}"
        ))
    };
    let threshold = match params.get("threshold") {
        None => 5.0,
        Some(raw) => raw
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| usage(&format!("--threshold must be a number ≥ 0, not '{raw}'")))?,
    };
    let env = StreamExecutionEnvironment::get_execution_environment();
    let lines = if params.has("input") {
        let inputs = params.get_all("input");
        if inputs.iter().any(|p| p.is_empty()) {
            return Err(usage("--input needs a path"));
        }
        env.read_text_files(inputs).name("file-input")
    } else {
        eprintln!("Executing TemperatureAlert with default readings; use --input for a file.");
        env.from_elements(default_readings())
            .name("in-memory-input")
    };
    let alerts = lines
        .try_map(|line: String| parse_reading(&line))
        .name("parse")
        .key_by(|reading: &Reading| reading.0.clone())
        .flat_map_function(TemperatureChangeAlert::new(threshold))
        .name("temperature-change-alert");
    match params.get("output") {
        Some(path) if !path.is_empty() => {
            alerts
                .write_as_text_with_mode(path, WriteMode::Overwrite)
                .name("file-sink");
        }
        Some(_) => return Err(usage("--output needs a path")),
        None => {
            alerts.print().name("print-sink");
        }
    }
    env.execute("TemperatureAlert")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_parse_or_say_what_is_expected() {
        assert_eq!(parse_reading("s1, 21.5"), Ok(("s1".to_string(), 21.5)));
        for bad in ["s1", "s1,warm", ",20", "s1,NaN"] {
            let error = parse_reading(bad).unwrap_err();
            assert!(
                error.contains(bad) && error.contains("sensor,temperature"),
                "{error}"
            );
        }
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(java_double(26.0), "26.0");
        assert_eq!(java_double(20.5), "20.5");
        assert_eq!(java_double(-3.25), "-3.25");
    }
}
