//! Adapters that turn plain closures into the function traits.

use super::{
    CoFlatMapFunction, CoMapFunction, Collector, FilterFunction, FlatMapFunction, MapFunction,
    ReduceFunction,
};
use eddy_core::batch::Batch;
use eddy_core::error::FnResult;

/// A closure as a [`MapFunction`].
#[derive(Clone)]
pub struct MapFn<F>(pub F);

impl<I, O, F> MapFunction<I, O> for MapFn<F>
where
    F: FnMut(I) -> O + Clone + Send + 'static,
{
    #[inline]
    fn map(&mut self, value: I) -> FnResult<O> {
        Ok((self.0)(value))
    }

    #[inline]
    fn map_batch(&mut self, batch: Batch<I>) -> FnResult<Batch<O>> {
        // Infallible: a plain map over the values, in place when the layouts allow.
        Ok(batch.map_values(&mut self.0))
    }
}

/// A fallible closure as a [`MapFunction`].
#[derive(Clone)]
pub struct TryMapFn<F>(pub F);

impl<I, O, E, F> MapFunction<I, O> for TryMapFn<F>
where
    F: FnMut(I) -> Result<O, E> + Clone + Send + 'static,
    E: Into<eddy_core::error::FunctionError>,
{
    #[inline]
    fn map(&mut self, value: I) -> FnResult<O> {
        (self.0)(value).map_err(Into::into)
    }
}

/// A closure as a [`FlatMapFunction`].
#[derive(Clone)]
pub struct FlatMapFn<F>(pub F);

impl<I, O, F> FlatMapFunction<I, O> for FlatMapFn<F>
where
    F: FnMut(I, &mut Collector<'_, O>) + Clone + Send + 'static,
{
    #[inline]
    fn flat_map(&mut self, value: I, out: &mut Collector<'_, O>) -> FnResult<()> {
        (self.0)(value, out);
        Ok(())
    }
}

/// A closure as a [`FilterFunction`].
#[derive(Clone)]
pub struct FilterFn<F>(pub F);

impl<T, F> FilterFunction<T> for FilterFn<F>
where
    F: FnMut(&T) -> bool + Clone + Send + 'static,
{
    #[inline]
    fn filter(&mut self, value: &T) -> FnResult<bool> {
        Ok((self.0)(value))
    }

    #[inline]
    fn filter_batch(&mut self, batch: &mut Batch<T>) -> FnResult<()> {
        batch.retain(&mut self.0);
        Ok(())
    }
}

/// A closure as a [`ReduceFunction`].
#[derive(Clone)]
pub struct ReduceFn<F>(pub F);

impl<T, F> ReduceFunction<T> for ReduceFn<F>
where
    F: FnMut(T, T) -> T + Clone + Send + 'static,
{
    #[inline]
    fn reduce(&mut self, accumulated: T, value: T) -> FnResult<T> {
        Ok((self.0)(accumulated, value))
    }
}

/// Two closures as a [`CoMapFunction`].
#[derive(Clone)]
pub struct CoMapFn<F1, F2>(pub F1, pub F2);

impl<I1, I2, O, F1, F2> CoMapFunction<I1, I2, O> for CoMapFn<F1, F2>
where
    F1: FnMut(I1) -> O + Clone + Send + 'static,
    F2: FnMut(I2) -> O + Clone + Send + 'static,
{
    fn map1(&mut self, value: I1) -> FnResult<O> {
        Ok((self.0)(value))
    }
    fn map2(&mut self, value: I2) -> FnResult<O> {
        Ok((self.1)(value))
    }
}

/// Two closures as a [`CoFlatMapFunction`].
#[derive(Clone)]
pub struct CoFlatMapFn<F1, F2>(pub F1, pub F2);

impl<I1, I2, O, F1, F2> CoFlatMapFunction<I1, I2, O> for CoFlatMapFn<F1, F2>
where
    F1: FnMut(I1, &mut Collector<'_, O>) + Clone + Send + 'static,
    F2: FnMut(I2, &mut Collector<'_, O>) + Clone + Send + 'static,
{
    fn flat_map1(&mut self, value: I1, out: &mut Collector<'_, O>) -> FnResult<()> {
        (self.0)(value, out);
        Ok(())
    }
    fn flat_map2(&mut self, value: I2, out: &mut Collector<'_, O>) -> FnResult<()> {
        (self.1)(value, out);
        Ok(())
    }
}
