//! The broadcast state pattern: `rules.broadcast_with(&descriptor)` gives a
//! [`BroadcastStream`]; `stream.connect(&broadcast_stream)` (or
//! `keyed_stream.connect(&broadcast_stream)`) gives a connected stream whose `process` runs a
//! [`BroadcastProcessFunction`] (or a [`KeyedBroadcastProcessFunction`]).

use std::marker::PhantomData;

use eddy_core::{Data, Key};
use eddy_functions::{BroadcastProcessFunction, KeySelector, KeyedBroadcastProcessFunction};
use eddy_runtime::operators::{BroadcastProcessLogic, KeyedBroadcastProcessLogic};
use eddy_state::{BroadcastStateDeclaration, MapStateDescriptor};

use crate::connected::ConnectedStreams;
use crate::datastream::DataStream;
use crate::keyed::KeyedStream;

/// A stream whose elements go to every parallel subtask of the operator it feeds, together
/// with the broadcast states that operator keeps (Flink's `BroadcastStream`). Made by
/// [`DataStream::broadcast_with`]; connect a stream to it with `stream.connect(&this)`.
pub struct BroadcastStream<T> {
    stream: DataStream<T>,
    declarations: Vec<BroadcastStateDeclaration>,
}

impl<T> Clone for BroadcastStream<T> {
    fn clone(&self) -> Self {
        BroadcastStream {
            stream: self.stream.clone(),
            declarations: self.declarations.clone(),
        }
    }
}

impl<T: Data> DataStream<T> {
    /// Broadcasts this stream (every element to every subtask of the next operator) and
    /// declares the broadcast state `descriptor` names, which the operator connected to it
    /// keeps on every subtask (Flink's `broadcast(descriptor)`; plain
    /// [`broadcast`](Self::broadcast) is the partitioner alone). Declare more states with
    /// [`and`](BroadcastStream::and).
    pub fn broadcast_with<UK: Key, UV: Data>(
        &self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> BroadcastStream<T> {
        BroadcastStream {
            stream: self.broadcast(),
            declarations: vec![BroadcastStateDeclaration::of(descriptor)],
        }
    }
}

impl<T: Data> BroadcastStream<T> {
    /// Declares one more broadcast state. Declaring a name again with the same types has no
    /// effect; with other types it makes `execute` fail.
    pub fn and<UK: Key, UV: Data>(mut self, descriptor: &MapStateDescriptor<UK, UV>) -> Self {
        let declaration = BroadcastStateDeclaration::of(descriptor);
        match self
            .declarations
            .iter()
            .find(|d| d.name() == declaration.name())
        {
            Some(existing) if existing.same_as(&declaration) => {}
            Some(existing) => self.stream.env.record_error(format!(
                "broadcast state '{}' is declared twice, as a {} and as a {}; give broadcast \
                 states of different types different names",
                declaration.name(),
                existing.description(),
                declaration.description()
            )),
            None => self.declarations.push(declaration),
        }
        self
    }

    /// The broadcast states this stream declares.
    pub fn declarations(&self) -> &[BroadcastStateDeclaration] {
        &self.declarations
    }
}

/// What `connect` accepts: a stream to connect to a stream of type `S`, and what connecting
/// them makes. `&DataStream<U>` gives a [`ConnectedStreams`]; `&BroadcastStream<U>` gives a
/// [`BroadcastConnectedStream`] (for a [`DataStream`]) or a
/// [`KeyedBroadcastConnectedStream`] (for a [`KeyedStream`]).
pub trait Connectable<S> {
    /// The connected streams.
    type Connected;

    /// Connects `first` (the first input) with `self` (the second input).
    fn connect_to(self, first: &S) -> Self::Connected;
}

impl<T: Data, U: Data> Connectable<DataStream<T>> for &DataStream<U> {
    type Connected = ConnectedStreams<T, U>;

    fn connect_to(self, first: &DataStream<T>) -> ConnectedStreams<T, U> {
        ConnectedStreams::new(first.clone(), self.clone())
    }
}

impl<T, K, KS, U> Connectable<KeyedStream<T, K, KS>> for &DataStream<U>
where
    T: Data,
    K: Key,
    KS: KeySelector<T, K> + Sync,
    U: Data,
{
    type Connected = ConnectedStreams<T, U>;

    fn connect_to(self, first: &KeyedStream<T, K, KS>) -> ConnectedStreams<T, U> {
        ConnectedStreams::new(first.as_data_stream().clone(), self.clone())
    }
}

impl<T: Data, U: Data> Connectable<DataStream<T>> for &BroadcastStream<U> {
    type Connected = BroadcastConnectedStream<T, U>;

    fn connect_to(self, first: &DataStream<T>) -> BroadcastConnectedStream<T, U> {
        BroadcastConnectedStream {
            streams: ConnectedStreams::new(first.clone(), self.stream.clone()),
            declarations: self.declarations.clone(),
        }
    }
}

impl<T, K, KS, U> Connectable<KeyedStream<T, K, KS>> for &BroadcastStream<U>
where
    T: Data,
    K: Key,
    KS: KeySelector<T, K> + Sync,
    U: Data,
{
    type Connected = KeyedBroadcastConnectedStream<T, K, KS, U>;

    fn connect_to(
        self,
        first: &KeyedStream<T, K, KS>,
    ) -> KeyedBroadcastConnectedStream<T, K, KS, U> {
        let (stream, key_selector) = first.clone_parts();
        KeyedBroadcastConnectedStream {
            streams: ConnectedStreams::new(stream, self.stream.clone()),
            key_selector,
            declarations: self.declarations.clone(),
            _key: PhantomData,
        }
    }
}

/// A (non-keyed) stream connected with a broadcast stream (Flink's `BroadcastConnectedStream`):
/// [`process`](Self::process) it with a [`BroadcastProcessFunction`].
pub struct BroadcastConnectedStream<A, B> {
    streams: ConnectedStreams<A, B>,
    declarations: Vec<BroadcastStateDeclaration>,
}

impl<A: Data, B: Data> BroadcastConnectedStream<A, B> {
    /// Processes both inputs with a [`BroadcastProcessFunction`] (operator
    /// `Co-Process-Broadcast`): the first input with read-only broadcast state, the broadcast
    /// input with read-write broadcast state. The first input keeps its partitioning (forward
    /// when the parallelism matches, else rebalance, unless set); every subtask receives every
    /// broadcast element. It may emit to side outputs (`ctx.output(&tag, v)`), read with
    /// `get_side_output`.
    pub fn process<O: Data, F: BroadcastProcessFunction<A, B, O>>(
        &self,
        function: F,
    ) -> DataStream<O> {
        let declarations = self.declarations.clone();
        self.streams
            .two_input("Co-Process-Broadcast", function, move |f, setup| {
                BroadcastProcessLogic::new(f, &declarations, setup.clock.clone())
            })
            .allow_side_outputs()
    }
}

/// A keyed stream connected with a broadcast stream: [`process`](Self::process) it with a
/// [`KeyedBroadcastProcessFunction`].
pub struct KeyedBroadcastConnectedStream<A, K, KS, B> {
    streams: ConnectedStreams<A, B>,
    key_selector: KS,
    declarations: Vec<BroadcastStateDeclaration>,
    _key: PhantomData<fn() -> K>,
}

impl<A, K, KS, B> KeyedBroadcastConnectedStream<A, K, KS, B>
where
    A: Data,
    K: Key,
    KS: KeySelector<A, K> + Sync,
    B: Data,
{
    /// Processes both inputs with a [`KeyedBroadcastProcessFunction`] (operator
    /// `Co-Process-Broadcast-Keyed`): the keyed input per key, with keyed state, timers and
    /// read-only broadcast state; the broadcast input with read-write broadcast state and
    /// `apply_to_keyed_state`. The keyed input is partitioned by key; every subtask receives
    /// every broadcast element. It may emit to side outputs (`ctx.output(&tag, v)`), read with
    /// `get_side_output`.
    pub fn process<O: Data, F: KeyedBroadcastProcessFunction<K, A, B, O>>(
        &self,
        function: F,
    ) -> DataStream<O> {
        let declarations = self.declarations.clone();
        let key_selector = self.key_selector.clone();
        self.streams
            .two_input("Co-Process-Broadcast-Keyed", function, move |f, setup| {
                KeyedBroadcastProcessLogic::new(
                    key_selector.clone(),
                    f,
                    &declarations,
                    setup.clock.clone(),
                    setup.settings.runtime_mode,
                    setup.settings.state_backend.clone(),
                )
            })
            .allow_side_outputs()
    }
}
