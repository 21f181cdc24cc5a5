//! Eddy's built-in connectors: the sources and sinks Flink's DataStream API offers out of the
//! box.
//!
//! Sources ([`SourceFunction`](eddy_functions::SourceFunction)):
//!
//! * [`CollectionSource`]: the elements of a `Vec`, in order (`fromCollection`).
//! * [`NumberSequenceSource`]: the numbers `from..=to`, split over subtasks (`fromSequence`).
//! * [`GeneratorSource`]: `f(index)` for a bounded or unbounded series of indexes, optionally
//!   rate limited (`DataGeneratorSource`).
//! * [`TextFileSource`]: the lines of files and directories (`readTextFile`).
//! * [`SocketTextSource`]: delimited text from a TCP server (`socketTextStream`).
//!
//! Sinks ([`SinkFunction`](eddy_functions::SinkFunction)):
//!
//! * [`PrintSink`]: one line per element on stdout or stderr (`print`, `printToErr`).
//! * [`TextFileSink`]: one line per element into files (`writeAsText`).
//! * [`FileSink`]: exactly-once part files, bucketed and rolled, committed on checkpoints
//!   (`FileSink.forRowFormat`).
//! * [`SocketSink`]: serialized elements to a TCP server (`writeToSocket`).
//! * [`DiscardingSink`]: drops everything.
//!
//! Every connector is `Clone`: the runtime clones the instance the program built once per
//! parallel subtask and then calls `open` with that subtask's
//! [`RuntimeContext`](eddy_functions::RuntimeContext), which decides what the subtask
//! reads or writes. Sources never block for long in `poll_next`; a poll that reports
//! `Finished` emits nothing.
//!
//! The collection, sequence, generator and text file sources keep their position as operator
//! state (what each subtask has still to read, see `splits`): restored from a snapshot, at the
//! same or another parallelism, they continue where the snapshot was taken. The socket source
//! cannot be replayed and keeps no position.

#![warn(missing_docs)]

/// Implements a source's `initialize_state` / `snapshot_state` over its splits (see
/// `splits`): the restored splits go to the field `restored`, and a snapshot writes what
/// `$remaining` evaluates to, with `$this` bound to the source. The source has a
/// `descriptor()` naming its list state.
macro_rules! split_state_hooks {
    (|$this:ident| $remaining:expr) => {
        fn initialize_state(
            &mut self,
            ctx: &mut eddy_functions::FunctionInitializationContext<'_>,
        ) -> eddy_core::FnResult<()> {
            self.restored = crate::splits::restored_splits(ctx, &Self::descriptor())?;
            Ok(())
        }

        fn snapshot_state(
            &mut self,
            ctx: &eddy_functions::FunctionSnapshotContext,
            store: &mut eddy_state::OperatorStateStore,
        ) -> eddy_core::FnResult<()> {
            let $this = &*self;
            crate::splits::snapshot_splits(ctx, store, &Self::descriptor(), $remaining)
        }
    };
}

pub mod collection;
pub mod discard;
pub mod file_sink;
pub mod generator;
mod net;
pub mod print;
pub mod sequence;
pub mod socket;
pub mod socket_sink;
mod splits;
pub mod text_file;
pub mod text_file_sink;

#[cfg(test)]
mod testing;

pub use collection::CollectionSource;
pub use discard::DiscardingSink;
pub use file_sink::{DefaultRollingPolicy, FileSink};
pub use generator::GeneratorSource;
pub use print::PrintSink;
pub use sequence::NumberSequenceSource;
pub use socket::SocketTextSource;
pub use socket_sink::SocketSink;
pub use text_file::TextFileSource;
pub use text_file_sink::{TextFileSink, WriteMode};
