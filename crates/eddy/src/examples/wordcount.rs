//! WordCount: the classic streaming word count, as in Flink's examples.

use std::fmt;

use serde::{Deserialize, Serialize};

use eddy_api::prelude::*;

use super::WORDS;
use crate::ProgramError;

/// A word and how often it has been seen; prints as `(word,count)` like Flink's tuples.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WordCount {
    /// The word, lower-cased.
    pub word: String,
    /// Occurrences so far.
    pub count: u64,
}

impl fmt::Display for WordCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.word, self.count)
    }
}

/// Lower-cases a line and splits it on runs of non-word characters (Java's `\W+`: anything but
/// ASCII letters, digits and `_`), emitting `(word, 1)` for every non-empty token.
fn tokenize(line: String, out: &mut Collector<'_, WordCount>) {
    let lower = line.to_lowercase();
    for token in lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if !token.is_empty() {
            out.collect(WordCount {
                word: token.to_string(),
                count: 1,
            });
        }
    }
}

/// `wordcount [--input PATH]... [--output PATH]`: counts the words of the inputs (or of an
/// embedded text), emitting `(word,count)` for every update in STREAMING mode and only the final
/// counts in BATCH mode, to stdout or to `--output`.
pub fn wordcount(args: &[String]) -> Result<(), ProgramError> {
    let params = ParameterTool::from_args(args).map_err(ProgramError::InvalidArguments)?;
    let env = StreamExecutionEnvironment::get_execution_environment();
    let text = if params.has("input") {
        let inputs = params.get_all("input");
        if inputs.iter().any(|p| p.is_empty()) {
            return Err(ProgramError::InvalidArguments(
                "--input needs a path: wordcount [--input PATH]... [--output PATH]".into(),
            ));
        }
        env.read_text_files(inputs).name("file-input")
    } else {
        eprintln!("Executing WordCount example with default input data set.");
        eprintln!("Use --input to specify file input.");
        env.from_elements(WORDS.iter().map(|line| line.to_string()).collect())
            .name("in-memory-input")
    };
    let counts = text
        .flat_map(tokenize)
        .name("tokenizer")
        .key_by(|wc: &WordCount| wc.word.clone())
        .sum(|wc| &mut wc.count)
        .name("counter");
    match params.get("output") {
        Some(path) if !path.is_empty() => {
            counts
                .write_as_text_with_mode(path, WriteMode::Overwrite)
                .name("file-sink");
        }
        Some(_) => {
            return Err(ProgramError::InvalidArguments(
                "--output needs a path: wordcount [--input PATH]... [--output PATH]".into(),
            ))
        }
        None => {
            eprintln!("Printing result to stdout. Use --output to specify output path.");
            counts.print().name("print-sink");
        }
    }
    env.execute("WordCount")?;
    Ok(())
}
