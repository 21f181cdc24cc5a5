//! A standalone Eddy job, written the way it would be in a project of its own.
//!
//! A parallel, rate-limited generator produces temperature readings from four sensors; invalid
//! readings are dropped, the stream is partitioned by sensor, and for every reading the hottest
//! reading of its sensor so far is printed (`max_by` is a rolling aggregation: in STREAMING mode
//! it emits an update per input element).
//!
//! ```text
//! cargo run -p eddy-api --example streaming_job
//! ```
//!
//! The generator is bounded (it emits `READINGS` elements and ends), so the job finishes on its
//! own. Pass `None` as the count to make it unbounded; the job then runs until Ctrl-C.

use std::fmt;

use eddy_api::prelude::*;
use serde::{Deserialize, Serialize};

/// How many readings the generator emits in total (over all its parallel subtasks).
const READINGS: u64 = 40;
/// The generator's rate limit, in records per second over all subtasks.
const READINGS_PER_SECOND: u64 = 100;

/// One measurement. Stream elements must be `Clone + Send + Serialize + Deserialize + 'static`
/// (the `Data` bound); `print()` also needs `Display`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SensorReading {
    sensor: String,
    celsius: f64,
}

impl fmt::Display for SensorReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:.1} °C", self.sensor, self.celsius)
    }
}

/// Deterministic fake data: reading `i` comes from sensor `i % 4`; every 7th reading is a
/// sensor fault (`NaN`).
fn reading(i: u64) -> SensorReading {
    let celsius = if i % 7 == 6 {
        f64::NAN
    } else {
        15.0 + ((i * 37) % 100) as f64 / 10.0
    };
    SensorReading {
        sensor: format!("sensor-{}", i % 4),
        celsius,
    }
}

fn main() -> Result<(), JobError> {
    // Locally this configures itself from conf/config.yaml (or $EDDY_CONF_DIR) if present.
    let env = StreamExecutionEnvironment::get_execution_environment();
    // Without this, a local job runs every operator at parallelism = number of CPU cores.
    env.set_parallelism(2);

    env.from_generator(Some(READINGS), Some(READINGS_PER_SECOND), reading)
        .name("sensor-readings")
        .filter(|r: &SensorReading| !r.celsius.is_nan())
        .name("drop-faults")
        .key_by(|r: &SensorReading| r.sensor.clone())
        .max_by(|r| r.celsius)
        .name("hottest-per-sensor")
        .print();

    let result = env.execute("Sensor maxima")?;
    eprintln!(
        "Job {} finished in {} ms",
        result.job_id,
        result.net_runtime.as_millis()
    );
    Ok(())
}
