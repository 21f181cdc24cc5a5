//! Creating streams from sources.

use std::path::PathBuf;

use parking_lot::Mutex;

use eddy_connectors::{
    CollectionSource, GeneratorSource, NumberSequenceSource, SocketTextSource, TextFileSource,
};
use eddy_core::Data;
use eddy_functions::{SourceFunction, TimestampAssigner, WatermarkGenerator, WatermarkStrategy};
use eddy_graph::NodeKind;
use eddy_runtime::factory::SourceFactory;
use eddy_runtime::operators::SourceOperator;

use super::{NodeSpec, StreamExecutionEnvironment};
use crate::datastream::DataStream;

impl StreamExecutionEnvironment {
    /// A stream from any [`SourceFunction`], named `Source: Custom Source` (rename with
    /// `.name(…)`). Non-parallel sources run with parallelism 1.
    pub fn add_source<T: Data, S: SourceFunction<T>>(&self, source: S) -> DataStream<T> {
        self.add_named_source("Source: Custom Source", source)
    }

    /// A stream from a source, with an operator name.
    pub fn add_named_source<T: Data, S: SourceFunction<T>>(
        &self,
        name: &str,
        source: S,
    ) -> DataStream<T> {
        let parallelism_limit = (!source.is_parallel()).then_some(1);
        let boundedness = Some(source.boundedness());
        let prototype = Mutex::new(source);
        let factory = SourceFactory::<T>::new(move |setup, next| {
            Ok(SourceOperator::boxed(prototype.lock().clone(), setup, next))
        });
        self.add_node(
            NodeSpec {
                name,
                kind: NodeKind::Source,
                num_inputs: 0,
                parallelism_limit,
                boundedness,
            },
            factory,
            &[],
        )
    }

    /// A stream from a source with a watermark strategy (Flink's `fromSource`): the source's
    /// subtasks assign timestamps and generate watermarks right where the records originate.
    pub fn from_source<T: Data, S: SourceFunction<T>, G, A>(
        &self,
        source: S,
        strategy: WatermarkStrategy<G, A>,
        name: &str,
    ) -> DataStream<T>
    where
        G: WatermarkGenerator<T> + Sync,
        A: TimestampAssigner<T> + Sync,
    {
        self.add_named_source(&format!("Source: {name}"), source)
            .assign_timestamps_and_watermarks(strategy)
    }

    /// A bounded, non-parallel stream of the given elements, in order.
    pub fn from_elements<T: Data>(&self, elements: Vec<T>) -> DataStream<T> {
        self.add_named_source("Source: Collection Source", CollectionSource::new(elements))
    }

    /// A bounded, non-parallel stream of a collection's elements, in order.
    pub fn from_collection<T: Data>(&self, elements: impl IntoIterator<Item = T>) -> DataStream<T> {
        self.from_elements(elements.into_iter().collect())
    }

    /// A bounded, non-parallel stream of an iterator's elements (collected when called).
    pub fn from_iter<T: Data>(&self, iter: impl IntoIterator<Item = T>) -> DataStream<T> {
        self.from_collection(iter)
    }

    /// The numbers `from..=to`, as a parallel source (each subtask emits a contiguous range).
    pub fn from_sequence(&self, from: u64, to: u64) -> DataStream<u64> {
        self.add_named_source(
            "Source: Sequence Source",
            NumberSequenceSource::new(from, to),
        )
    }

    /// A parallel source calling `generator(index)` for indexes `0..count` (`None`: unbounded),
    /// optionally limited to `records_per_second` over all subtasks.
    pub fn from_generator<T: Data, F>(
        &self,
        count: Option<u64>,
        records_per_second: Option<u64>,
        generator: F,
    ) -> DataStream<T>
    where
        F: FnMut(u64) -> T + Clone + Send + 'static,
    {
        let mut source = GeneratorSource::new(count, generator);
        if let Some(rate) = records_per_second {
            source = source.with_rate_limit(rate);
        }
        self.add_named_source("Source: Generator Source", source)
    }

    /// The lines of a text file, or of every file in a directory (parallel by file).
    pub fn read_text_file(&self, path: impl Into<PathBuf>) -> DataStream<String> {
        self.read_text_files([path.into()])
    }

    /// The lines of several files or directories.
    pub fn read_text_files<P: Into<PathBuf>>(
        &self,
        paths: impl IntoIterator<Item = P>,
    ) -> DataStream<String> {
        self.add_named_source("Source: File Source", TextFileSource::from_paths(paths))
    }

    /// Lines read from a TCP socket (non-parallel; ends when the server closes the connection).
    pub fn socket_text_stream(&self, hostname: &str, port: u16) -> DataStream<String> {
        self.add_named_source(
            "Source: Socket Stream",
            SocketTextSource::new(hostname, port),
        )
    }
}
