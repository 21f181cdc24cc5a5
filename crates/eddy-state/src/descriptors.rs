//! State descriptors: a state's name and type (and, for reducing and aggregating state, its
//! function). A function keeps its descriptors and names the state through them on every
//! access.

use std::marker::PhantomData;
use std::sync::Arc;

use super::heap::TableSlot;
use super::ttl::StateTtlConfig;
use crate::AggregateFunction;

/// The methods every descriptor has: its name and its time-to-live.
macro_rules! name_and_ttl {
    ($descriptor:ident<$($param:ident),+>) => {
        impl<$($param),+> $descriptor<$($param),+> {
            /// The state's name.
            pub fn name(&self) -> &str {
                &self.name
            }

            /// Gives the state's values a time-to-live (Flink's `enableTimeToLive`).
            pub fn enable_time_to_live(&mut self, config: StateTtlConfig) {
                self.ttl = Some(config);
            }

            /// This descriptor with a time-to-live on the state's values.
            pub fn with_time_to_live(mut self, config: StateTtlConfig) -> Self {
                self.ttl = Some(config);
                self
            }

            /// The time-to-live, if enabled.
            pub fn ttl_config(&self) -> Option<&StateTtlConfig> {
                self.ttl.as_ref()
            }

            /// Where the heap backend found this state last.
            pub(crate) fn slot(&self) -> &TableSlot {
                &self.slot
            }
        }
    };
}

name_and_ttl!(ValueStateDescriptor<T>);
name_and_ttl!(ListStateDescriptor<T>);
name_and_ttl!(MapStateDescriptor<UK, UV>);
name_and_ttl!(ReducingStateDescriptor<T>);
name_and_ttl!(AggregatingStateDescriptor<IN, ACC, OUT, F>);

/// Describes a [`ValueState`](super::ValueState) holding one `T` per key (and namespace).
pub struct ValueStateDescriptor<T> {
    name: String,
    ttl: Option<StateTtlConfig>,
    slot: TableSlot,
    _type: PhantomData<fn() -> T>,
}

impl<T> ValueStateDescriptor<T> {
    /// A value state called `name` (unique within the operator).
    pub fn new(name: impl Into<String>) -> Self {
        ValueStateDescriptor {
            name: name.into(),
            ttl: None,
            slot: TableSlot::default(),
            _type: PhantomData,
        }
    }
}

impl<T> Clone for ValueStateDescriptor<T> {
    fn clone(&self) -> Self {
        ValueStateDescriptor {
            name: self.name.clone(),
            ttl: self.ttl,
            slot: self.slot.clone(),
            _type: PhantomData,
        }
    }
}

/// Describes a [`ListState`](super::ListState) holding a list of `T` per key (and namespace).
pub struct ListStateDescriptor<T> {
    name: String,
    ttl: Option<StateTtlConfig>,
    slot: TableSlot,
    _type: PhantomData<fn() -> T>,
}

impl<T> ListStateDescriptor<T> {
    /// A list state called `name` (unique within the operator).
    pub fn new(name: impl Into<String>) -> Self {
        ListStateDescriptor {
            name: name.into(),
            ttl: None,
            slot: TableSlot::default(),
            _type: PhantomData,
        }
    }
}

impl<T> Clone for ListStateDescriptor<T> {
    fn clone(&self) -> Self {
        ListStateDescriptor {
            name: self.name.clone(),
            ttl: self.ttl,
            slot: self.slot.clone(),
            _type: PhantomData,
        }
    }
}

/// Describes a [`MapState`](super::MapState) holding a map from `UK` to `UV` per key (and
/// namespace).
pub struct MapStateDescriptor<UK, UV> {
    name: String,
    ttl: Option<StateTtlConfig>,
    slot: TableSlot,
    _type: PhantomData<fn() -> (UK, UV)>,
}

impl<UK, UV> MapStateDescriptor<UK, UV> {
    /// A map state called `name` (unique within the operator).
    pub fn new(name: impl Into<String>) -> Self {
        MapStateDescriptor {
            name: name.into(),
            ttl: None,
            slot: TableSlot::default(),
            _type: PhantomData,
        }
    }
}

impl<UK, UV> Clone for MapStateDescriptor<UK, UV> {
    fn clone(&self) -> Self {
        MapStateDescriptor {
            name: self.name.clone(),
            ttl: self.ttl,
            slot: self.slot.clone(),
            _type: PhantomData,
        }
    }
}

/// The function of a reducing state: combines the held value with an added one.
pub type ReduceFn<T> = Arc<dyn Fn(T, T) -> T + Send + Sync>;

/// Describes a [`ReducingState`](super::ReducingState): added values are combined with
/// `reduce(held, added)` into one `T` per key (and namespace).
pub struct ReducingStateDescriptor<T> {
    name: String,
    ttl: Option<StateTtlConfig>,
    slot: TableSlot,
    reduce: ReduceFn<T>,
}

impl<T> ReducingStateDescriptor<T> {
    /// A reducing state called `name` combining values with `reduce`.
    pub fn new(
        name: impl Into<String>,
        reduce: impl Fn(T, T) -> T + Send + Sync + 'static,
    ) -> Self {
        ReducingStateDescriptor {
            name: name.into(),
            ttl: None,
            slot: TableSlot::default(),
            reduce: Arc::new(reduce),
        }
    }

    pub(crate) fn reduce_fn(&self) -> ReduceFn<T> {
        self.reduce.clone()
    }
}

impl<T> Clone for ReducingStateDescriptor<T> {
    fn clone(&self) -> Self {
        ReducingStateDescriptor {
            name: self.name.clone(),
            ttl: self.ttl,
            slot: self.slot.clone(),
            reduce: self.reduce.clone(),
        }
    }
}

/// Describes an [`AggregatingState`](super::AggregatingState): added `IN` values go into one
/// accumulator `ACC` per key (and namespace) through an [`AggregateFunction`], which gives the
/// `OUT` result.
pub struct AggregatingStateDescriptor<IN, ACC, OUT, F> {
    name: String,
    ttl: Option<StateTtlConfig>,
    slot: TableSlot,
    function: F,
    _types: PhantomData<fn(IN) -> (ACC, OUT)>,
}

impl<IN, ACC, OUT, F: AggregateFunction<IN, ACC, OUT>> AggregatingStateDescriptor<IN, ACC, OUT, F> {
    /// An aggregating state called `name` computed by `function`.
    pub fn new(name: impl Into<String>, function: F) -> Self {
        AggregatingStateDescriptor {
            name: name.into(),
            ttl: None,
            slot: TableSlot::default(),
            function,
            _types: PhantomData,
        }
    }

    pub(crate) fn function(&self) -> F {
        self.function.clone()
    }
}

impl<IN, ACC, OUT, F: Clone> Clone for AggregatingStateDescriptor<IN, ACC, OUT, F> {
    fn clone(&self) -> Self {
        AggregatingStateDescriptor {
            name: self.name.clone(),
            ttl: self.ttl,
            slot: self.slot.clone(),
            function: self.function.clone(),
            _types: PhantomData,
        }
    }
}
