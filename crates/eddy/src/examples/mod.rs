//! The bundled example jobs, runnable as `eddy run <name> [args…]` (like the jobs in Flink's
//! `examples/` folder). Each is an ordinary program against the DataStream API.

mod broadcast_rules;
mod nexmark;
mod numbers;
mod sequence_check;
mod socket_window_wordcount;
mod temperature_alert;
mod window_aggregate;
mod window_events;
mod window_spec;
mod wordcount;
mod wordcount_data;

use crate::ProgramError;

pub use broadcast_rules::{
    broadcast_rules, parse_item, parse_rule, Item, MatchRules, Pending, Rule, RuleMatch,
    RuleVersions, BROADCAST_RULES_USAGE,
};
pub use nexmark::{nexmark, NEXMARK_USAGE};
pub use numbers::numbers;
pub use sequence_check::{
    sequence_check, verify_sequence_output, verify_sequence_prefix, SEQUENCE_CHECK_USAGE,
};
pub use socket_window_wordcount::{socket_window_wordcount, WordWithCount};
pub use temperature_alert::{
    parse_reading, temperature_alert, Reading, TemperatureChangeAlert, TEMPERATURE_ALERT_USAGE,
};
pub use window_aggregate::{window_aggregate, WINDOW_AGGREGATE_USAGE};
pub use window_events::{
    parse_event, AttachWindow, CountSum, CountSumAcc, Event, PunctuatedWatermarks, WindowBounds,
    WindowResult, MAX_EVENT_TIME_MS,
};
pub use window_spec::{
    millis, parse_duration, WindowSpec, MAX_DURATION_MS, MAX_WINDOWS_PER_ELEMENT,
};
pub use wordcount::{wordcount, WordCount};
pub use wordcount_data::WORDS;

/// A program's entry point: receives the job's arguments (after the job name).
pub type ProgramMain = fn(&[String]) -> Result<(), ProgramError>;

/// A bundled example job.
pub struct Example {
    /// The name given to `eddy run`.
    pub name: &'static str,
    /// One line describing it.
    pub description: &'static str,
    /// Its arguments.
    pub usage: &'static str,
    /// The program.
    pub main: ProgramMain,
}

/// Every bundled example, by name.
pub const EXAMPLES: &[Example] = &[
    Example {
        name: "wordcount",
        description: "Counts words in text files (or an embedded text), like Flink's WordCount.",
        usage: "[--input PATH]... [--output PATH]",
        main: wordcount,
    },
    Example {
        name: "numbers",
        description:
            "Prints generated numbers at a fixed rate; unbounded unless --count (Ctrl-C stops it).",
        usage: "[--rate R] [--count N]",
        main: numbers,
    },
    Example {
        name: "sequence-check",
        description: "Checks exactly-once end to end: per-key sequence numbers through keyed \
             state into the exactly-once file sink, with an optional injected failure; verifies \
             its own output.",
        usage: SEQUENCE_CHECK_USAGE,
        main: sequence_check,
    },
    Example {
        name: "window-aggregate",
        description: "Counts and sums key,event_time_ms,value events per key and event-time or \
             count window, with out-of-orderness, allowed lateness and late data.",
        usage: WINDOW_AGGREGATE_USAGE,
        main: window_aggregate,
    },
    Example {
        name: "socket-window-wordcount",
        description: "Counts words read from a socket in 5 s processing-time windows, like \
             Flink's SocketWindowWordCount.",
        usage: "[--hostname H] --port P",
        main: socket_window_wordcount,
    },
    Example {
        name: "broadcast-rules",
        description: "Matches ts,color,shape items against ts,rule_name,first_shape,second_shape \
             rules broadcast to every subtask (the broadcast state pattern): per color, a first \
             shape later followed by a second shape.",
        usage: BROADCAST_RULES_USAGE,
        main: broadcast_rules,
    },
    Example {
        name: "temperature-alert",
        description:
            "Alerts when a sensor's temperature (sensor,temperature lines) jumps from its \
             previous reading by more than a threshold: keyed state in a flat_map on a keyed \
             stream, as in Flink's training.",
        usage: TEMPERATURE_ALERT_USAGE,
        main: temperature_alert,
    },
    Example {
        name: "nexmark",
        description: "Runs a Nexmark benchmark query (q0-q5, q7, q8) over the generated \
             auction stream of persons, auctions and bids, with the semantics of Flink's \
             nexmark SQL queries; rows as CSV lines.",
        usage: NEXMARK_USAGE,
        main: nexmark,
    },
];

/// The example with the given name.
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}
