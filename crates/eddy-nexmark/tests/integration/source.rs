//! The source in jobs: every parallelism generates the same stream.

use eddy_api::prelude::*;
use eddy_nexmark::{nexmark_source, Event, NexmarkConfig, NexmarkGenerator};

#[test]
fn every_parallelism_generates_the_stream_of_parallelism_one() {
    let config = NexmarkConfig::from_options([("events.num", "2500")]).unwrap();
    let generator = NexmarkGenerator::new(config.clone());
    let mut expected: Vec<String> = (0..2500)
        .map(|i| format!("{:?}", generator.event(i)))
        .collect();
    expected.sort();
    for parallelism in [1, 3] {
        let env = StreamExecutionEnvironment::get_execution_environment();
        env.set_parallelism(parallelism);
        let events: Vec<Event> = env
            .add_source(nexmark_source(&config, None))
            .execute_and_collect("nexmark source")
            .unwrap();
        let mut got: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
        got.sort();
        assert_eq!(got.len(), expected.len(), "p={parallelism}");
        assert!(
            got == expected,
            "p={parallelism}: the events differ from the reference"
        );
    }
}
