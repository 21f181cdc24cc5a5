//! Stream joins: window join and co-group (per key and window), and the interval join.

use std::marker::PhantomData;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use eddy_core::{Data, FnResult, Key};
use eddy_functions::windowing::{
    Elements, NoEvictor, ProcessWindowFunction, Trigger, Window, WindowAssigner, WindowContext,
};
use eddy_functions::{Collector, KeySelector, ProcessJoinFunction};
use eddy_runtime::operators::IntervalJoinLogic;

use crate::connected::KeyedConnectedStreams;
use crate::datastream::DataStream;
use crate::windowed::WindowedStream;

/// An element of either input of a window join, so both inputs can share one window operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaggedUnion<L, R> {
    /// From the first (left) input.
    One(L),
    /// From the second (right) input.
    Two(R),
}

/// Extracts the join key of either side.
#[derive(Clone)]
pub struct UnionKeySelector<KS1, KS2> {
    left: KS1,
    right: KS2,
}

impl<L, R, K, KS1, KS2> KeySelector<TaggedUnion<L, R>, K> for UnionKeySelector<KS1, KS2>
where
    KS1: KeySelector<L, K>,
    KS2: KeySelector<R, K>,
{
    #[inline]
    fn get_key(&self, value: &TaggedUnion<L, R>) -> K {
        match value {
            TaggedUnion::One(left) => self.left.get_key(left),
            TaggedUnion::Two(right) => self.right.get_key(right),
        }
    }
}

/// Splits a window's tagged elements into the two sides and calls the co-group function.
#[derive(Clone)]
pub struct CoGroupWindowFunction<F, L, R> {
    function: F,
    _types: PhantomData<fn(L, R)>,
}

impl<L, R, O, K, W, F> ProcessWindowFunction<TaggedUnion<L, R>, O, K, W>
    for CoGroupWindowFunction<F, L, R>
where
    L: Clone + 'static,
    R: Clone + 'static,
    K: 'static,
    W: Window,
    F: FnMut(&[L], &[R], &mut Collector<'_, O>) -> FnResult<()> + Clone + Send + 'static,
{
    fn process(
        &mut self,
        _key: &K,
        _ctx: &mut WindowContext<'_, K, W>,
        elements: Elements<'_, TaggedUnion<L, R>>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()> {
        let (mut left, mut right) = (Vec::new(), Vec::new());
        for element in elements {
            match element {
                TaggedUnion::One(l) => left.push(l.clone()),
                TaggedUnion::Two(r) => right.push(r.clone()),
            }
        }
        (self.function)(&left, &right, out)
    }
}

/// Marks a window join: the function gets each pair of elements.
#[derive(Debug, Clone, Copy)]
pub struct Join;

/// Marks a co-group: the function gets all elements of both sides per key and window.
#[derive(Debug, Clone, Copy)]
pub struct CoGroup;

/// Two streams to join (`J` = [`Join`]) or co-group (`J` = [`CoGroup`]) per key and window:
/// choose the key of the first input with [`where_key`](Self::where_key).
pub struct JoinedStreams<L, R, J = Join> {
    left: DataStream<L>,
    right: DataStream<R>,
    _kind: PhantomData<J>,
}

/// `a.co_group(&b)`: like a join, but the function sees all elements of both sides per key
/// and window (also when one side has none).
pub type CoGroupedStreams<L, R> = JoinedStreams<L, R, CoGroup>;

impl<L: Data, R: Data, J> JoinedStreams<L, R, J> {
    pub(crate) fn new(left: DataStream<L>, right: DataStream<R>) -> Self {
        JoinedStreams {
            left,
            right,
            _kind: PhantomData,
        }
    }

    /// The key of the first input (Flink's `where`, a keyword in Rust).
    pub fn where_key<K: Key, KS1: KeySelector<L, K> + Sync>(
        self,
        key_selector: KS1,
    ) -> JoinWhere<L, R, K, KS1, J> {
        JoinWhere {
            streams: self,
            key_selector,
            _key: PhantomData,
        }
    }
}

/// A join with the first input's key chosen: choose the second's with
/// [`equal_to`](Self::equal_to).
pub struct JoinWhere<L, R, K, KS1, J> {
    streams: JoinedStreams<L, R, J>,
    key_selector: KS1,
    _key: PhantomData<fn() -> K>,
}

impl<L: Data, R: Data, K: Key, KS1: KeySelector<L, K> + Sync, J> JoinWhere<L, R, K, KS1, J> {
    /// The key of the second input; elements join when the keys are equal.
    pub fn equal_to<KS2: KeySelector<R, K> + Sync>(
        self,
        key_selector: KS2,
    ) -> JoinEqualTo<L, R, K, KS1, KS2, J> {
        JoinEqualTo {
            streams: self.streams,
            keys: UnionKeySelector {
                left: self.key_selector,
                right: key_selector,
            },
            _key: PhantomData,
        }
    }
}

/// A join with both keys chosen: choose the windows with [`window`](Self::window).
pub struct JoinEqualTo<L, R, K, KS1, KS2, J> {
    streams: JoinedStreams<L, R, J>,
    keys: UnionKeySelector<KS1, KS2>,
    _key: PhantomData<fn() -> K>,
}

type Union<L, R, K, KS1, KS2, W, A, Tr> =
    WindowedStream<TaggedUnion<L, R>, K, UnionKeySelector<KS1, KS2>, W, A, Tr, NoEvictor>;

impl<L, R, K, KS1, KS2, J> JoinEqualTo<L, R, K, KS1, KS2, J>
where
    L: Data,
    R: Data,
    K: Key,
    KS1: KeySelector<L, K> + Sync,
    KS2: KeySelector<R, K> + Sync,
{
    /// The windows both inputs are grouped into.
    pub fn window<W: Window, A: WindowAssigner<TaggedUnion<L, R>, W>>(
        self,
        assigner: A,
    ) -> JoinWindow<L, R, K, KS1, KS2, W, A, A::DefaultTrigger, J> {
        let left = self.streams.left.map(TaggedUnion::<L, R>::One);
        let right = self.streams.right.map(TaggedUnion::<L, R>::Two);
        let keyed = left.union(&right).key_by(self.keys);
        JoinWindow {
            windowed: keyed.window(assigner),
            _kind: PhantomData,
        }
    }
}

/// A window join or co-group, ready for its function.
pub struct JoinWindow<L, R, K, KS1, KS2, W, A, Tr, J> {
    windowed: Union<L, R, K, KS1, KS2, W, A, Tr>,
    _kind: PhantomData<J>,
}

impl<L, R, K, KS1, KS2, W, A, Tr, J> JoinWindow<L, R, K, KS1, KS2, W, A, Tr, J>
where
    L: Data,
    R: Data,
    K: Key,
    KS1: KeySelector<L, K> + Sync,
    KS2: KeySelector<R, K> + Sync,
    W: Window,
    A: WindowAssigner<TaggedUnion<L, R>, W>,
    Tr: Trigger<TaggedUnion<L, R>, W>,
{
    /// Replaces the windows' default trigger.
    pub fn trigger<Tr2: Trigger<TaggedUnion<L, R>, W>>(
        self,
        trigger: Tr2,
    ) -> JoinWindow<L, R, K, KS1, KS2, W, A, Tr2, J> {
        JoinWindow {
            windowed: self.windowed.trigger(trigger),
            _kind: PhantomData,
        }
    }

    /// Allowed lateness of the windows.
    pub fn allowed_lateness(self, lateness: Duration) -> Self {
        JoinWindow {
            windowed: self.windowed.allowed_lateness(lateness),
            _kind: PhantomData,
        }
    }

    fn co_group_named<O: Data, F>(&self, name: &str, function: F) -> DataStream<O>
    where
        F: FnMut(&[L], &[R], &mut Collector<'_, O>) -> FnResult<()> + Clone + Send + 'static,
    {
        let function = CoGroupWindowFunction {
            function,
            _types: PhantomData,
        };
        self.windowed.process(function).name(name)
    }
}

impl<L, R, K, KS1, KS2, W, A, Tr> JoinWindow<L, R, K, KS1, KS2, W, A, Tr, Join>
where
    L: Data,
    R: Data,
    K: Key,
    KS1: KeySelector<L, K> + Sync,
    KS2: KeySelector<R, K> + Sync,
    W: Window,
    A: WindowAssigner<TaggedUnion<L, R>, W>,
    Tr: Trigger<TaggedUnion<L, R>, W>,
{
    /// One output per pair of elements with equal keys in the same window (an inner join);
    /// outputs carry the window's max timestamp.
    pub fn apply<O: Data, F>(&self, mut join: F) -> DataStream<O>
    where
        F: FnMut(&L, &R) -> O + Clone + Send + 'static,
    {
        self.flat_apply(move |l: &L, r: &R, out: &mut Collector<'_, O>| out.collect(join(l, r)))
    }

    /// Any number of outputs per pair of elements with equal keys in the same window.
    pub fn flat_apply<O: Data, F>(&self, mut join: F) -> DataStream<O>
    where
        F: FnMut(&L, &R, &mut Collector<'_, O>) + Clone + Send + 'static,
    {
        self.co_group_named(
            "Join",
            move |left: &[L], right: &[R], out: &mut Collector<'_, O>| {
                for l in left {
                    for r in right {
                        join(l, r, out);
                    }
                }
                Ok(())
            },
        )
    }
}

impl<L, R, K, KS1, KS2, W, A, Tr> JoinWindow<L, R, K, KS1, KS2, W, A, Tr, CoGroup>
where
    L: Data,
    R: Data,
    K: Key,
    KS1: KeySelector<L, K> + Sync,
    KS2: KeySelector<R, K> + Sync,
    W: Window,
    A: WindowAssigner<TaggedUnion<L, R>, W>,
    Tr: Trigger<TaggedUnion<L, R>, W>,
{
    /// Calls `function` with all elements of both sides (in arrival order) per key and window
    /// that has at least one element.
    pub fn apply<O: Data, F>(&self, function: F) -> DataStream<O>
    where
        F: FnMut(&[L], &[R], &mut Collector<'_, O>) -> FnResult<()> + Clone + Send + 'static,
    {
        self.co_group_named("CoGroup", function)
    }
}

/// `left.interval_join(&right)`: choose the bounds with [`between`](Self::between).
pub struct IntervalJoin<L, R, K, KS1, KS2> {
    left: (DataStream<L>, KS1),
    right: (DataStream<R>, KS2),
    _key: PhantomData<fn() -> K>,
}

impl<L: Data, R: Data, K: Key, KS1, KS2> IntervalJoin<L, R, K, KS1, KS2>
where
    KS1: KeySelector<L, K> + Sync,
    KS2: KeySelector<R, K> + Sync,
{
    pub(crate) fn new(left: (DataStream<L>, KS1), right: (DataStream<R>, KS2)) -> Self {
        IntervalJoin {
            left,
            right,
            _key: PhantomData,
        }
    }

    /// Joins a left element at `t` with right elements at `t + lower ..= t + upper`
    /// (milliseconds; `lower` may be negative).
    pub fn between(self, lower: i64, upper: i64) -> IntervalJoined<L, R, K, KS1, KS2> {
        if lower > upper {
            self.left.0.env.record_error(format!(
                "interval join: the lower bound ({lower} ms) must not be greater than the upper bound ({upper} ms)"
            ));
        }
        IntervalJoined {
            join: self,
            lower,
            upper,
        }
    }
}

/// An interval join with its bounds, ready for its function.
pub struct IntervalJoined<L, R, K, KS1, KS2> {
    join: IntervalJoin<L, R, K, KS1, KS2>,
    lower: i64,
    upper: i64,
}

impl<L: Data, R: Data, K: Key, KS1, KS2> IntervalJoined<L, R, K, KS1, KS2>
where
    KS1: KeySelector<L, K> + Sync,
    KS2: KeySelector<R, K> + Sync,
{
    /// Excludes the lower bound (`rt > t + lower`).
    pub fn lower_bound_exclusive(mut self) -> Self {
        self.lower = self.lower.saturating_add(1);
        self
    }

    /// Excludes the upper bound (`rt < t + upper`).
    pub fn upper_bound_exclusive(mut self) -> Self {
        self.upper = self.upper.saturating_sub(1);
        self
    }

    /// Emits the results of every joined pair with a [`ProcessJoinFunction`] (or a closure
    /// `|left, right, ctx, out| -> FnResult<()>`); outputs carry the later of the two
    /// timestamps.
    pub fn process<O: Data, F: ProcessJoinFunction<L, R, O>>(self, function: F) -> DataStream<O> {
        let IntervalJoin { left, right, .. } = self.join;
        let connected = KeyedConnectedStreams::new(left, right);
        let (ks1, ks2) = connected.key_selectors();
        let (lower, upper) = (self.lower, self.upper);
        connected
            .streams()
            .two_input("IntervalJoin", function, move |f, setup| {
                IntervalJoinLogic::new(
                    ks1.clone(),
                    ks2.clone(),
                    f,
                    (lower, upper),
                    setup.clock.clone(),
                    setup.settings.state_backend.clone(),
                )
            })
    }
}
