//! SocketWindowWordCount: counts the words of text read from a socket in 5-second
//! processing-time windows, as in Flink's example of the same name.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use eddy_api::prelude::*;

use crate::ProgramError;

/// The window length.
const WINDOW: Duration = Duration::from_secs(5);

/// A word and its count in one window; prints as `word : count` like Flink's `WordWithCount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordWithCount {
    /// The word.
    pub word: String,
    /// Its occurrences in the window.
    pub count: u64,
}

impl fmt::Display for WordWithCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} : {}", self.word, self.count)
    }
}

fn no_port(detail: &str) -> ProgramError {
    ProgramError::InvalidArguments(format!(
        "{detail}. Please run 'socket-window-wordcount --hostname <hostname> --port <port>', \
         where hostname (localhost by default) and port is the address of the text server.\n\
         To start a simple text server, run 'netcat -l <port>' and type the input text into \
         the command line"
    ))
}

/// `socket-window-wordcount [--hostname H] --port P`: connects to a text server, splits its
/// lines into words at whitespace, and prints `word : count` per word every 5 seconds of
/// processing time (tumbling windows), with a single printing subtask. The job ends when the
/// server closes the connection (windows still open then are not emitted, as in Flink).
pub fn socket_window_wordcount(args: &[String]) -> Result<(), ProgramError> {
    let params = ParameterTool::from_args(args).map_err(ProgramError::InvalidArguments)?;
    let hostname = match params.get("hostname") {
        None => "localhost",
        Some("") => return Err(no_port("--hostname needs a host name")),
        Some(host) => host,
    };
    let port: u16 = match params.get("port") {
        None => return Err(no_port("No port specified")),
        Some(raw) => raw
            .parse()
            .map_err(|_| no_port(&format!("Invalid port '{raw}' (expected 0 to 65535)")))?,
    };
    let env = StreamExecutionEnvironment::get_execution_environment();
    let window_counts = env
        .socket_text_stream(hostname, port)
        .flat_map(|line: String, out: &mut Collector<'_, WordWithCount>| {
            for word in line.split_whitespace() {
                out.collect(WordWithCount {
                    word: word.to_string(),
                    count: 1,
                });
            }
        })
        .name("split")
        .key_by(|wc: &WordWithCount| wc.word.clone())
        .window(TumblingProcessingTimeWindows::of(WINDOW))
        .reduce(|a: WordWithCount, b: WordWithCount| WordWithCount {
            word: a.word,
            count: a.count + b.count,
        })
        .name("window-count");
    // Print with a single subtask, rather than in parallel.
    window_counts.print().set_parallelism(1).name("print-sink");
    env.execute("Socket Window WordCount")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        socket_window_wordcount(&args).unwrap_err().to_string()
    }

    #[test]
    fn prints_like_flink_and_explains_a_missing_port() {
        let wc = WordWithCount {
            word: "flink".into(),
            count: 3,
        };
        assert_eq!(wc.to_string(), "flink : 3");
        assert!(run(&[]).starts_with("No port specified. Please run"));
        assert!(run(&["--port", "http"]).contains("Invalid port 'http'"));
        assert!(run(&["--port", "70000"]).contains("Invalid port '70000'"));
    }
}
