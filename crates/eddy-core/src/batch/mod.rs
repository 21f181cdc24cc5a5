//! Batches: the unit in which records move, stored by column.
//!
//! A batch keeps its values in one `Vec<T>` and their timestamps in a second column that exists
//! only when some record has a timestamp. Streams without event time (the common case for
//! stateless pipelines) therefore move nothing but their values, and a map over a batch is a
//! plain `Vec` map that can reuse the allocation.

mod scatter;

use crate::record::{StreamRecord, NO_TIMESTAMP};

/// A batch of records: values plus, when any record has one, their timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<T> {
    values: Vec<T>,
    // Invariant: when present, as long as `values`.
    timestamps: Option<Vec<i64>>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch::new()
    }
}

impl<T> Batch<T> {
    /// An empty batch.
    pub fn new() -> Self {
        Batch {
            values: Vec::new(),
            timestamps: None,
        }
    }

    /// An empty batch with room for `capacity` values.
    pub fn with_capacity(capacity: usize) -> Self {
        Batch {
            values: Vec::with_capacity(capacity),
            timestamps: None,
        }
    }

    /// An empty batch with room for `capacity` timestamped values.
    pub fn with_timestamped_capacity(capacity: usize) -> Self {
        Batch {
            values: Vec::with_capacity(capacity),
            timestamps: Some(Vec::with_capacity(capacity)),
        }
    }

    /// A batch of values without timestamps.
    pub fn from_values(values: Vec<T>) -> Self {
        Batch {
            values,
            timestamps: None,
        }
    }

    /// A batch of values with one timestamp each.
    ///
    /// # Panics
    /// If the two vectors differ in length (a programming error, not a data error).
    pub fn from_parts(values: Vec<T>, timestamps: Vec<i64>) -> Self {
        assert_eq!(values.len(), timestamps.len(), "one timestamp per value");
        Batch {
            values,
            timestamps: Some(timestamps),
        }
    }

    /// Records in the batch.
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the batch holds no record.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values.
    #[inline]
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// The values, mutably (timestamps stay attached by position).
    #[inline]
    pub fn values_mut(&mut self) -> &mut [T] {
        &mut self.values
    }

    /// The values, without their timestamps.
    #[inline]
    pub fn into_values(self) -> Vec<T> {
        self.values
    }

    /// The timestamps, if any record has one (`NO_TIMESTAMP` marks those that do not).
    #[inline]
    pub fn timestamps(&self) -> Option<&[i64]> {
        self.timestamps.as_deref()
    }

    /// The timestamp of record `index`, or [`NO_TIMESTAMP`].
    #[inline]
    pub fn timestamp(&self, index: usize) -> i64 {
        self.timestamps.as_ref().map_or(NO_TIMESTAMP, |t| t[index])
    }

    /// Appends a record with a timestamp (or [`NO_TIMESTAMP`]).
    #[inline]
    pub fn push(&mut self, value: T, timestamp: i64) {
        if timestamp != NO_TIMESTAMP || self.timestamps.is_some() {
            let len = self.values.len();
            self.timestamps
                .get_or_insert_with(|| vec![NO_TIMESTAMP; len])
                .push(timestamp);
        }
        self.values.push(value);
    }

    /// Appends a record without a timestamp.
    #[inline]
    pub fn push_value(&mut self, value: T) {
        if let Some(timestamps) = &mut self.timestamps {
            timestamps.push(NO_TIMESTAMP);
        }
        self.values.push(value);
    }

    /// Appends values without timestamps.
    #[inline]
    pub fn extend_values(&mut self, values: impl Iterator<Item = T>) {
        self.values.extend(values);
        if let Some(timestamps) = &mut self.timestamps {
            timestamps.resize(self.values.len(), NO_TIMESTAMP);
        }
    }

    /// Moves every record of `other` to the end of this batch.
    pub fn append(&mut self, other: &mut Batch<T>) {
        match (&mut self.timestamps, other.timestamps.take()) {
            (None, None) => {}
            (Some(mine), None) => mine.resize(self.values.len() + other.len(), NO_TIMESTAMP),
            (mine, Some(mut theirs)) => {
                let len = self.values.len();
                mine.get_or_insert_with(|| vec![NO_TIMESTAMP; len])
                    .append(&mut theirs);
            }
        }
        self.values.append(&mut other.values);
    }

    /// Splits the batch in two at `at`: this batch keeps the records before it, the returned
    /// one holds the rest (with their timestamps).
    ///
    /// # Panics
    /// If `at` is beyond the batch's length (a programming error, not a data error).
    pub fn split_off(&mut self, at: usize) -> Batch<T> {
        Batch {
            values: self.values.split_off(at),
            timestamps: self.timestamps.as_mut().map(|t| t.split_off(at)),
        }
    }

    /// Removes every record.
    pub fn clear(&mut self) {
        self.values.clear();
        self.timestamps = None;
    }

    /// The records as `(value, timestamp)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&T, i64)> {
        self.values
            .iter()
            .enumerate()
            .map(|(i, v)| (v, self.timestamp(i)))
    }

    /// The values and, if any record has one, the timestamps, consuming the batch.
    #[inline]
    pub fn into_parts(self) -> (Vec<T>, Option<Vec<i64>>) {
        (self.values, self.timestamps)
    }

    /// The records, consuming the batch.
    pub fn into_records(self) -> Records<T> {
        Records {
            values: self.values.into_iter(),
            timestamps: self.timestamps.map(Vec::into_iter),
        }
    }

    /// Transforms every value, keeping the timestamps (in place when the types' layouts allow).
    #[inline]
    pub fn map_values<U>(self, f: impl FnMut(T) -> U) -> Batch<U> {
        Batch {
            values: self.values.into_iter().map(f).collect(),
            timestamps: self.timestamps,
        }
    }

    /// Transforms every value with a fallible function, keeping the timestamps; stops at the
    /// first error.
    #[inline]
    pub fn try_map_values<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Batch<U>, E> {
        Ok(Batch {
            values: self.values.into_iter().map(f).collect::<Result<_, _>>()?,
            timestamps: self.timestamps,
        })
    }

    /// Keeps the records whose value satisfies `keep`, in order.
    #[inline]
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match &mut self.timestamps {
            None => self.values.retain(keep),
            Some(timestamps) => {
                let mut kept = Vec::with_capacity(self.values.len());
                self.values.retain(|v| {
                    let k = keep(v);
                    kept.push(k);
                    k
                });
                let mut flags = kept.into_iter();
                timestamps.retain(|_| flags.next().unwrap_or(false));
            }
        }
    }

    /// Like [`retain`](Self::retain) with a fallible predicate; on error the batch keeps the
    /// records decided so far and the error is returned.
    pub fn try_retain<E>(&mut self, mut keep: impl FnMut(&T) -> Result<bool, E>) -> Result<(), E> {
        let mut error = None;
        self.retain(|v| {
            error.is_none()
                && keep(v).unwrap_or_else(|e| {
                    error = Some(e);
                    false
                })
        });
        error.map_or(Ok(()), Err)
    }
}

impl<T> FromIterator<StreamRecord<T>> for Batch<T> {
    fn from_iter<I: IntoIterator<Item = StreamRecord<T>>>(iter: I) -> Self {
        let mut batch = Batch::new();
        for record in iter {
            batch.push(record.value, record.timestamp);
        }
        batch
    }
}

/// The records of a batch, by value (see [`Batch::into_records`]).
pub struct Records<T> {
    values: std::vec::IntoIter<T>,
    // As long as `values` when present.
    timestamps: Option<std::vec::IntoIter<i64>>,
}

impl<T> Iterator for Records<T> {
    type Item = StreamRecord<T>;

    #[inline]
    fn next(&mut self) -> Option<StreamRecord<T>> {
        let value = self.values.next()?;
        let timestamp = match &mut self.timestamps {
            Some(timestamps) => timestamps.next().unwrap_or(NO_TIMESTAMP),
            None => NO_TIMESTAMP,
        };
        Some(StreamRecord { value, timestamp })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.values.size_hint()
    }
}

impl<T> ExactSizeIterator for Records<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(batch: Batch<u32>) -> Vec<(u32, i64)> {
        batch
            .into_records()
            .map(|r| (r.value, r.timestamp))
            .collect()
    }

    #[test]
    fn timestamps_appear_only_when_needed_and_stay_aligned() {
        let mut batch = Batch::new();
        batch.push_value(1);
        batch.push(2, NO_TIMESTAMP);
        assert_eq!(batch.timestamps(), None);
        batch.push(3, 30);
        batch.push_value(4);
        assert_eq!(
            batch.timestamps(),
            Some(&[NO_TIMESTAMP, NO_TIMESTAMP, 30, NO_TIMESTAMP][..])
        );
        batch.retain(|v| v % 2 == 1);
        assert_eq!(records(batch.clone()), vec![(1, NO_TIMESTAMP), (3, 30)]);
        let doubled = batch.map_values(|v| v * 2);
        assert_eq!(records(doubled), vec![(2, NO_TIMESTAMP), (6, 30)]);
    }

    #[test]
    fn split_off_keeps_each_records_timestamp_with_it() {
        let mut batch = Batch::from_parts(vec![1, 2, 3, 4], vec![10, 20, 30, 40]);
        let tail = batch.split_off(1);
        assert_eq!(batch, Batch::from_parts(vec![1], vec![10]));
        assert_eq!(tail, Batch::from_parts(vec![2, 3, 4], vec![20, 30, 40]));
        let mut plain = Batch::from_values(vec!["a", "b"]);
        assert_eq!(plain.split_off(2), Batch::new());
        assert_eq!(plain.split_off(0), Batch::from_values(vec!["a", "b"]));
        assert!(plain.is_empty());
    }

    #[test]
    fn append_and_extend_mix_timestamped_and_plain_batches() {
        let mut plain = Batch::from_values(vec![1u32, 2]);
        let mut stamped = Batch::from_parts(vec![3u32], vec![33]);
        plain.append(&mut stamped);
        assert!(stamped.is_empty());
        plain.extend_values([4u32, 5].into_iter());
        assert_eq!(
            records(plain),
            vec![
                (1, NO_TIMESTAMP),
                (2, NO_TIMESTAMP),
                (3, 33),
                (4, NO_TIMESTAMP),
                (5, NO_TIMESTAMP)
            ]
        );
        let mut stamped = Batch::from_parts(vec![7u32], vec![77]);
        let mut plain = Batch::from_values(vec![8u32]);
        stamped.append(&mut plain);
        assert_eq!(records(stamped), vec![(7, 77), (8, NO_TIMESTAMP)]);
    }

    #[test]
    fn fallible_operations_stop_at_the_first_error() {
        let batch = Batch::from_values(vec![1u32, 2, 3]);
        let mapped: Result<Batch<u32>, String> = batch.try_map_values(|v| {
            if v == 2 {
                Err(format!("bad {v}"))
            } else {
                Ok(v)
            }
        });
        assert_eq!(mapped.unwrap_err(), "bad 2");
        let mut batch = Batch::from_values(vec![1u32, 2, 3]);
        let result = batch.try_retain(|&v| if v == 3 { Err("three") } else { Ok(v == 1) });
        assert_eq!(result, Err("three"));
        assert_eq!(batch.into_values(), vec![1]);
    }
}
