//! Transformation function traits.

use super::{Collector, ProcessContext};
use eddy_core::batch::Batch;
use eddy_core::error::FnResult;

/// One output element per input element (`DataStream::map_function`).
pub trait MapFunction<I, O>: Clone + Send + 'static {
    /// Transforms one element.
    fn map(&mut self, value: I) -> FnResult<O>;

    /// Transforms a whole batch, keeping timestamps. The default calls [`map`](Self::map) per
    /// element; override it when a batch can be transformed faster as a whole.
    fn map_batch(&mut self, batch: Batch<I>) -> FnResult<Batch<O>> {
        batch.try_map_values(|value| self.map(value))
    }
    eddy_state::lifecycle!();
}

/// Zero or more output elements per input element.
pub trait FlatMapFunction<I, O>: Clone + Send + 'static {
    /// Emits the outputs for one element into `out`.
    fn flat_map(&mut self, value: I, out: &mut Collector<'_, O>) -> FnResult<()>;
    eddy_state::lifecycle!();
}

/// Keeps the elements for which it returns `true`.
pub trait FilterFunction<T>: Clone + Send + 'static {
    /// Whether to keep the element.
    fn filter(&mut self, value: &T) -> FnResult<bool>;

    /// Keeps the accepted elements of a batch, in place. The default calls
    /// [`filter`](Self::filter) per element; override it to filter a batch faster as a whole.
    fn filter_batch(&mut self, batch: &mut Batch<T>) -> FnResult<()> {
        batch.try_retain(|value| self.filter(value))
    }
    eddy_state::lifecycle!();
}

/// Combines two values into one, for rolling aggregation on a keyed stream.
pub trait ReduceFunction<T>: Clone + Send + 'static {
    /// Combines the accumulated value with a new one.
    fn reduce(&mut self, accumulated: T, value: T) -> FnResult<T>;
    eddy_state::lifecycle!();
}

/// Extracts the key of an element (`key_by`). Must be deterministic: the receiving task
/// extracts the key again, unless the exchange carried the key it built (see
/// [`LENDS_KEY`](Self::LENDS_KEY)) to an operator that uses it.
pub trait KeySelector<T, K>: Clone + Send + 'static {
    /// Whether [`with_key`](Self::with_key) lends the key out of the element (no owned key is
    /// built): then an exchange has nothing to gain from carrying the key it extracted to the
    /// receiving task.
    const LENDS_KEY: bool = false;

    /// The element's key.
    fn get_key(&self, value: &T) -> K;

    /// Calls `f` with the element's key. Selectors that can lend the key out of the element
    /// ([`BorrowedKey`]) do so without building an owned key: routing by key and looking a key
    /// up in keyed state then cost no clone per record.
    #[inline]
    fn with_key<R>(&self, value: &T, f: impl FnOnce(&K) -> R) -> R
    where
        Self: Sized,
    {
        f(&self.get_key(value))
    }
}

/// A key selector that lends a part of the element as its key (`key_by_ref(|t| &t.0)`), the
/// counterpart of a Java key selector returning a field: the key is cloned only where an owned
/// one must be kept (a new entry of keyed state), never to route or look up a record.
#[derive(Clone)]
pub struct BorrowedKey<F>(F);

impl<F> BorrowedKey<F> {
    /// The selector lending `field(element)`.
    pub fn new(field: F) -> Self {
        BorrowedKey(field)
    }
}

impl<T, K, F> KeySelector<T, K> for BorrowedKey<F>
where
    K: Clone,
    F: for<'a> Fn(&'a T) -> &'a K + Clone + Send + 'static,
{
    const LENDS_KEY: bool = true;

    #[inline]
    fn get_key(&self, value: &T) -> K {
        (self.0)(value).clone()
    }

    #[inline]
    fn with_key<R>(&self, value: &T, f: impl FnOnce(&K) -> R) -> R {
        f((self.0)(value))
    }
}

impl<T, K, F> KeySelector<T, K> for F
where
    F: Fn(&T) -> K + Clone + Send + 'static,
{
    #[inline]
    fn get_key(&self, value: &T) -> K {
        self(value)
    }
}

/// A low-level function with access to the element's context.
pub trait ProcessFunction<I, O>: Clone + Send + 'static {
    /// Processes one element; emits any number of outputs.
    fn process_element(
        &mut self,
        value: I,
        ctx: &mut ProcessContext<'_>,
        out: &mut Collector<'_, O>,
    ) -> FnResult<()>;
    eddy_state::lifecycle!();
}

/// A map over two connected streams: one method per input.
pub trait CoMapFunction<I1, I2, O>: Clone + Send + 'static {
    /// Maps an element of the first input.
    fn map1(&mut self, value: I1) -> FnResult<O>;
    /// Maps an element of the second input.
    fn map2(&mut self, value: I2) -> FnResult<O>;
    eddy_state::lifecycle!();
}

/// A flat map over two connected streams: one method per input.
pub trait CoFlatMapFunction<I1, I2, O>: Clone + Send + 'static {
    /// Emits the outputs for an element of the first input.
    fn flat_map1(&mut self, value: I1, out: &mut Collector<'_, O>) -> FnResult<()>;
    /// Emits the outputs for an element of the second input.
    fn flat_map2(&mut self, value: I2, out: &mut Collector<'_, O>) -> FnResult<()>;
    eddy_state::lifecycle!();
}

/// Chooses the downstream channel of a key (`partition_custom`).
pub trait Partitioner<K>: Clone + Send + 'static {
    /// The channel (0-based, `< num_partitions`) for the key.
    fn partition(&self, key: &K, num_partitions: u32) -> u32;
}

impl<K, F> Partitioner<K> for F
where
    F: Fn(&K, u32) -> u32 + Clone + Send + 'static,
{
    fn partition(&self, key: &K, num_partitions: u32) -> u32 {
        self(key, num_partitions)
    }
}
