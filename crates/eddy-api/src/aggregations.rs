//! The reduce functions behind `sum`, `min`, `max`, `min_by` and `max_by`.

use std::ops::Add;

use eddy_core::FnResult;
use eddy_functions::ReduceFunction;

/// Adds the field of each new element into the accumulated element.
pub(crate) struct SumReducer<T, F> {
    pub field: fn(&mut T) -> &mut F,
}

/// Keeps the smaller field value in the accumulated element.
pub(crate) struct MinReducer<T, F> {
    pub field: fn(&mut T) -> &mut F,
}

/// Keeps the larger field value in the accumulated element.
pub(crate) struct MaxReducer<T, F> {
    pub field: fn(&mut T) -> &mut F,
}

/// Keeps the whole element with the smallest field value.
pub(crate) struct MinByReducer<T, F> {
    pub field: fn(&T) -> F,
}

/// Keeps the whole element with the largest field value.
pub(crate) struct MaxByReducer<T, F> {
    pub field: fn(&T) -> F,
}

macro_rules! copy_clone {
    ($($name:ident),*) => {$(
        impl<T, F> Clone for $name<T, F> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T, F> Copy for $name<T, F> {}
    )*};
}
copy_clone!(
    SumReducer,
    MinReducer,
    MaxReducer,
    MinByReducer,
    MaxByReducer
);

impl<T: Send + 'static, F: Add<Output = F> + Copy + 'static> ReduceFunction<T>
    for SumReducer<T, F>
{
    fn reduce(&mut self, mut accumulated: T, mut value: T) -> FnResult<T> {
        let added = *(self.field)(&mut value);
        let slot = (self.field)(&mut accumulated);
        *slot = *slot + added;
        Ok(accumulated)
    }
}

impl<T: Send + 'static, F: PartialOrd + Copy + 'static> ReduceFunction<T> for MinReducer<T, F> {
    fn reduce(&mut self, mut accumulated: T, mut value: T) -> FnResult<T> {
        let candidate = *(self.field)(&mut value);
        let slot = (self.field)(&mut accumulated);
        if candidate < *slot {
            *slot = candidate;
        }
        Ok(accumulated)
    }
}

impl<T: Send + 'static, F: PartialOrd + Copy + 'static> ReduceFunction<T> for MaxReducer<T, F> {
    fn reduce(&mut self, mut accumulated: T, mut value: T) -> FnResult<T> {
        let candidate = *(self.field)(&mut value);
        let slot = (self.field)(&mut accumulated);
        if candidate > *slot {
            *slot = candidate;
        }
        Ok(accumulated)
    }
}

impl<T: Send + 'static, F: PartialOrd + 'static> ReduceFunction<T> for MinByReducer<T, F> {
    fn reduce(&mut self, accumulated: T, value: T) -> FnResult<T> {
        Ok(if (self.field)(&value) < (self.field)(&accumulated) {
            value
        } else {
            accumulated
        })
    }
}

impl<T: Send + 'static, F: PartialOrd + 'static> ReduceFunction<T> for MaxByReducer<T, F> {
    fn reduce(&mut self, accumulated: T, value: T) -> FnResult<T> {
        Ok(if (self.field)(&value) > (self.field)(&accumulated) {
            value
        } else {
            accumulated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold<R: ReduceFunction<(char, i32, i32)>>(
        mut r: R,
        items: &[(char, i32, i32)],
    ) -> (char, i32, i32) {
        let mut acc = items[0];
        for item in &items[1..] {
            acc = r.reduce(acc, *item).unwrap();
        }
        acc
    }

    #[test]
    fn rolling_aggregations_follow_flink_field_semantics() {
        let items = [('a', 3, 30), ('b', 1, 10), ('c', 5, 50), ('d', 1, 11)];
        assert_eq!(
            fold(
                SumReducer {
                    field: |t: &mut (char, i32, i32)| &mut t.1
                },
                &items
            ),
            ('a', 10, 30)
        );
        assert_eq!(
            fold(
                MinReducer {
                    field: |t: &mut (char, i32, i32)| &mut t.1
                },
                &items
            ),
            ('a', 1, 30)
        );
        assert_eq!(
            fold(
                MaxReducer {
                    field: |t: &mut (char, i32, i32)| &mut t.1
                },
                &items
            ),
            ('a', 5, 30)
        );
        assert_eq!(
            fold(
                MinByReducer {
                    field: |t: &(char, i32, i32)| t.1
                },
                &items
            ),
            ('b', 1, 10)
        );
        assert_eq!(
            fold(
                MaxByReducer {
                    field: |t: &(char, i32, i32)| t.1
                },
                &items
            ),
            ('c', 5, 50)
        );
    }
}
