//! Scattering a batch over per-channel batches: the data movement of a partitioned exchange.
//!
//! A partitioned writer knows each record's channel (one pass of the channel selector) and
//! moves the records into one pending batch per channel. Moving them one by one keeps each
//! channel's length in memory, so consecutive records for the same channel wait on each other
//! (a store-to-load chain through that length). For small records and few channels the records
//! are moved channel by channel instead: one pass per channel over the batch copies every
//! record into the channel's free space and advances the length only for its own, a loop
//! without branches whose length lives in a register. Two channels (the common keyed exchange
//! at parallelism 2) need no passes: both write positions live in registers, and each record
//! is moved once, to the position its target selects.

use std::mem::size_of;
use std::ptr;

use super::Batch;
use crate::record::NO_TIMESTAMP;

/// Channel-by-channel passes are used while `channels × record size` stays within this many
/// bytes: each pass copies every record once, so their cost grows with both.
const PASS_BYTES: usize = 128;

impl<T> Batch<T> {
    /// Moves every record `i` to the end of `outputs[targets[i]]`, keeping the records' order
    /// within each output, and their timestamps.
    ///
    /// # Panics
    /// If `targets` is not one channel per record or names a channel `outputs` does not have
    /// (programming errors of the caller, not data errors).
    pub fn scatter_into(self, targets: &[u32], outputs: &mut [Batch<T>]) {
        assert_eq!(targets.len(), self.len(), "one target per record");
        let channels = outputs.len();
        let (mut values, timestamps) = self.into_parts();
        if let [first, second] = outputs {
            scatter_two(values, timestamps, targets, first, second);
            return;
        }
        if channels * size_of::<T>().max(1) > PASS_BYTES {
            scatter_records(values, timestamps, targets, outputs);
            return;
        }
        let counts: Vec<usize> = (0..channels as u32)
            .map(|c| targets.iter().filter(|&&t| t == c).count())
            .collect();
        assert_eq!(
            counts.iter().sum::<usize>(),
            targets.len(),
            "every target must be one of the {channels} outputs"
        );
        let source = values.as_ptr();
        // From here the records belong to the outputs, bitwise: `values` keeps only its
        // allocation, so a panic below can leak records but never drop one twice.
        // SAFETY: 0 is within capacity, and no element is read through `values` again.
        unsafe { values.set_len(0) };
        for (channel, output) in outputs.iter_mut().enumerate() {
            let count = counts[channel];
            if count == 0 {
                continue;
            }
            // SAFETY: `source` holds `targets.len()` initialized records, none of them owned
            // by `values` any more; each record matches exactly one channel, so each is moved
            // into exactly one output.
            unsafe { move_channel(source, targets, channel as u32, count, &mut output.values) };
            match (&timestamps, &mut output.timestamps) {
                (Some(stamps), mine) => {
                    let len = output.values.len() - count;
                    let mine = mine.get_or_insert_with(|| vec![NO_TIMESTAMP; len]);
                    // SAFETY: as above; `i64` is `Copy`, so the timestamps stay valid in
                    // `stamps` too.
                    unsafe { move_channel(stamps.as_ptr(), targets, channel as u32, count, mine) };
                }
                (None, Some(mine)) => mine.resize(output.values.len(), NO_TIMESTAMP),
                (None, None) => {}
            }
        }
    }
}

/// Moves the records into two outputs, each to the write position of its target's output.
fn scatter_two<T>(
    mut values: Vec<T>,
    timestamps: Option<Vec<i64>>,
    targets: &[u32],
    first: &mut Batch<T>,
    second: &mut Batch<T>,
) {
    // One pass that vectorizes: the sum of the targets counts the seconds, and or-ing them
    // shows whether any is neither 0 nor 1.
    let (seconds, any) = targets
        .iter()
        .fold((0usize, 0u32), |(sum, any), &t| (sum + t as usize, any | t));
    assert!(any <= 1, "every target must be one of the 2 outputs");
    let firsts = targets.len() - seconds;
    let source = values.as_ptr();
    // SAFETY: as in `scatter_into`: 0 is within capacity, and the records now belong to the
    // outputs bitwise.
    unsafe { values.set_len(0) };
    // SAFETY: `source` holds `targets.len()` initialized records owned by nobody else, every
    // target is 0 or 1 (checked above), and the counts are those of the targets.
    unsafe {
        move_two(
            source,
            targets,
            (firsts, seconds),
            &mut first.values,
            &mut second.values,
        )
    };
    let (first_len, second_len) = (first.values.len(), second.values.len());
    match (timestamps, &mut first.timestamps, &mut second.timestamps) {
        (Some(stamps), first_stamps, second_stamps) => {
            let first_stamps =
                first_stamps.get_or_insert_with(|| vec![NO_TIMESTAMP; first_len - firsts]);
            let second_stamps =
                second_stamps.get_or_insert_with(|| vec![NO_TIMESTAMP; second_len - seconds]);
            // SAFETY: as above; `i64` is `Copy`.
            unsafe {
                move_two(
                    stamps.as_ptr(),
                    targets,
                    (firsts, seconds),
                    first_stamps,
                    second_stamps,
                )
            };
        }
        (None, first_stamps, second_stamps) => {
            if let Some(stamps) = first_stamps {
                stamps.resize(first_len, NO_TIMESTAMP);
            }
            if let Some(stamps) = second_stamps {
                stamps.resize(second_len, NO_TIMESTAMP);
            }
        }
    }
}

/// Appends the records of `source` whose target is 0 to `first` and those whose target is 1 to
/// `second`, in order, moving each record once: the target selects which of the two write
/// positions (both in registers) takes it.
///
/// # Safety
/// `source` must point to `targets.len()` initialized records that nobody else owns or drops;
/// every target must be 0 or 1, and `counts` the number of each.
#[inline]
unsafe fn move_two<T>(
    source: *const T,
    targets: &[u32],
    counts: (usize, usize),
    first: &mut Vec<T>,
    second: &mut Vec<T>,
) {
    first.reserve(counts.0);
    second.reserve(counts.1);
    let (first_start, second_start) = (first.len(), second.len());
    let mut to_first = first.as_mut_ptr().add(first_start);
    let mut to_second = second.as_mut_ptr().add(second_start);
    for (i, &target) in targets.iter().enumerate() {
        let is_second = target == 1;
        // A select, not a branch: targets follow the keys' hashes, which no predictor learns.
        let destination = std::hint::select_unpredictable(is_second, to_second, to_first);
        ptr::copy_nonoverlapping(source.add(i), destination, 1);
        to_first = to_first.add(usize::from(!is_second));
        to_second = to_second.add(usize::from(is_second));
    }
    first.set_len(first_start + counts.0);
    second.set_len(second_start + counts.1);
}

/// Appends the `count` records of `source` whose target is `channel` to `out`, in order.
///
/// # Safety
/// `source` must point to `targets.len()` initialized values that the caller treats as moved
/// out afterwards (for every record whose target is `channel`), and exactly `count` targets
/// must equal `channel`.
#[inline]
unsafe fn move_channel<T>(
    source: *const T,
    targets: &[u32],
    channel: u32,
    count: usize,
    out: &mut Vec<T>,
) {
    // One slot beyond the final length is scratch space: every record is copied to the next
    // free slot, and the length advances only past the channel's own.
    out.reserve(count + 1);
    let start = out.len();
    let base = out.as_mut_ptr().add(start);
    let mut moved = 0;
    for (i, &target) in targets.iter().enumerate() {
        ptr::copy_nonoverlapping(source.add(i), base.add(moved), 1);
        moved += usize::from(target == channel);
    }
    debug_assert_eq!(moved, count);
    out.set_len(start + moved);
}

/// The record-by-record scatter, for large records or many channels.
fn scatter_records<T>(
    values: Vec<T>,
    timestamps: Option<Vec<i64>>,
    targets: &[u32],
    outputs: &mut [Batch<T>],
) {
    match timestamps {
        None => {
            for (value, &target) in values.into_iter().zip(targets) {
                outputs[target as usize].push_value(value);
            }
        }
        Some(timestamps) => {
            let records = values.into_iter().zip(timestamps);
            for ((value, timestamp), &target) in records.zip(targets) {
                outputs[target as usize].push(value, timestamp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: each output's records are its previous ones, then the batch's records
    /// that target it, in order.
    fn reference<T: Clone>(
        batch: &Batch<T>,
        targets: &[u32],
        outputs: &[Batch<T>],
    ) -> Vec<Vec<(T, i64)>> {
        let mut expected: Vec<Vec<(T, i64)>> = outputs
            .iter()
            .map(|o| o.iter().map(|(v, t)| (v.clone(), t)).collect())
            .collect();
        for ((value, timestamp), &target) in batch.iter().zip(targets) {
            expected[target as usize].push((value.clone(), timestamp));
        }
        expected
    }

    fn contents<T: Clone>(outputs: &[Batch<T>]) -> Vec<Vec<(T, i64)>> {
        outputs
            .iter()
            .map(|o| o.iter().map(|(v, t)| (v.clone(), t)).collect())
            .collect()
    }

    fn targets(len: usize, channels: u32, seed: u64) -> Vec<u32> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 33) % u64::from(channels)) as u32
            })
            .collect()
    }

    /// Checks one scatter against the reference, for outputs that start with or without
    /// timestamps and records.
    fn check<T: Clone + PartialEq + std::fmt::Debug>(
        batch: Batch<T>,
        channels: u32,
        prefill: &[T],
    ) {
        let targets = targets(batch.len(), channels, batch.len() as u64 + 7);
        let mut outputs: Vec<Batch<T>> = (0..channels as usize)
            .map(|c| {
                let mut output = Batch::new();
                if c % 2 == 1 {
                    for (i, v) in prefill.iter().enumerate() {
                        output.push(v.clone(), if c % 4 == 1 { i as i64 } else { NO_TIMESTAMP });
                    }
                }
                output
            })
            .collect();
        let expected = reference(&batch, &targets, &outputs);
        batch.scatter_into(&targets, &mut outputs);
        assert_eq!(contents(&outputs), expected, "{channels} channels");
        for output in &outputs {
            if let Some(stamps) = output.timestamps() {
                assert_eq!(stamps.len(), output.len());
            }
        }
    }

    #[test]
    fn small_records_scatter_channel_by_channel_like_the_reference() {
        for channels in [1, 2, 3, 8] {
            for len in [0, 1, 5, 1000] {
                let values: Vec<u64> = (0..len as u64).collect();
                check(Batch::from_values(values.clone()), channels, &[90, 91]);
                let stamps: Vec<i64> = (0..len as i64).map(|t| t * 10).collect();
                check(Batch::from_parts(values, stamps), channels, &[90, 91]);
            }
        }
    }

    #[test]
    fn owned_values_move_exactly_once() {
        // Strings (24 bytes) take the passes up to 5 channels and the record-by-record path
        // beyond: every string arrives once, and nothing is dropped twice (the test would
        // crash or leak-check under a sanitizer otherwise).
        for channels in [2, 4, 5, 16] {
            let values: Vec<String> = (0..777).map(|i| format!("value-{i}")).collect();
            check(
                Batch::from_values(values.clone()),
                channels,
                &["x".to_string()],
            );
            let stamps: Vec<i64> = (0..777).collect();
            check(
                Batch::from_parts(values, stamps),
                channels,
                &["y".to_string()],
            );
        }
    }

    #[test]
    fn two_channels_append_after_what_each_output_held() {
        // Every combination of outputs holding records with or without timestamps, or none,
        // against batches with and without timestamps.
        let prefills: [Option<bool>; 3] = [None, Some(false), Some(true)];
        for first in prefills {
            for second in prefills {
                for stamped in [false, true] {
                    let values: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
                    let batch = if stamped {
                        Batch::from_parts(values, (0..300).map(|t| t * 3).collect())
                    } else {
                        Batch::from_values(values)
                    };
                    let mut outputs: Vec<Batch<String>> = [first, second]
                        .iter()
                        .map(|prefill| {
                            let mut output = Batch::new();
                            match prefill {
                                Some(true) => output.push("p".to_string(), 5),
                                Some(false) => output.push_value("p".to_string()),
                                None => {}
                            }
                            output
                        })
                        .collect();
                    let targets = targets(batch.len(), 2, 11);
                    let expected = reference(&batch, &targets, &outputs);
                    batch.scatter_into(&targets, &mut outputs);
                    assert_eq!(
                        contents(&outputs),
                        expected,
                        "{first:?} {second:?} {stamped}"
                    );
                    for output in &outputs {
                        if let Some(stamps) = output.timestamps() {
                            assert_eq!(stamps.len(), output.len());
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "every target must be one of the 2 outputs")]
    fn a_target_beyond_the_outputs_is_a_programming_error() {
        let mut outputs = vec![Batch::<u64>::new(), Batch::new()];
        Batch::from_values(vec![1u64, 2]).scatter_into(&[0, 2], &mut outputs);
    }
}
