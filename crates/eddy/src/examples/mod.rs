//! The bundled example jobs, runnable as `eddy run <name> [args…]` (like the jobs in Flink's
//! `examples/` folder). Each is an ordinary program against the DataStream API.

mod numbers;
mod wordcount;
mod wordcount_data;

use crate::ProgramError;

pub use numbers::numbers;
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
];

/// The example with the given name.
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}
