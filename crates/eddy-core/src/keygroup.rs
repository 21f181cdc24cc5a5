//! Key groups: how keys map to parallel subtasks.
//!
//! A key is hashed (from its serialized bytes, never from Rust's randomized `Hash`) into one of
//! `max_parallelism` key groups; each of the `parallelism` subtasks owns a contiguous range of key
//! groups. State is kept per key group, which is what lets a later restore hand the ranges to a
//! different number of subtasks. The formulas follow Flink's `KeyGroupRangeAssignment`.

use serde::{Deserialize, Serialize};

use crate::error::CodecError;

/// The lowest default max parallelism (Flink: 128).
pub const DEFAULT_LOWER_BOUND_MAX_PARALLELISM: u32 = 1 << 7;
/// The highest max parallelism (Flink: 32768).
pub const UPPER_BOUND_MAX_PARALLELISM: u32 = 1 << 15;

/// Flink's default max parallelism for an operator of the given parallelism: parallelism × 1.5
/// rounded up to a power of two, clamped to `[128, 32768]`.
pub fn default_max_parallelism(parallelism: u32) -> u32 {
    let wanted = u64::from(parallelism) + u64::from(parallelism) / 2;
    let rounded = wanted.max(1).next_power_of_two();
    rounded.clamp(
        u64::from(DEFAULT_LOWER_BOUND_MAX_PARALLELISM),
        u64::from(UPPER_BOUND_MAX_PARALLELISM),
    ) as u32
}

/// The key group of a key hash.
#[inline]
pub fn key_group_for_hash(hash: u64, max_parallelism: u32) -> u32 {
    (hash % u64::from(max_parallelism)) as u32
}

/// The subtask (0-based) that owns a key group.
#[inline]
pub fn operator_index_for_key_group(max_parallelism: u32, parallelism: u32, key_group: u32) -> u32 {
    (u64::from(key_group) * u64::from(parallelism) / u64::from(max_parallelism)) as u32
}

/// Key groups of hashes and their owning subtasks, for one `max_parallelism` and one
/// parallelism, at the cost of a mask and a table lookup per key: the same results as
/// [`key_group_for_hash`] and [`operator_index_for_key_group`], without their two 64-bit
/// divisions per record (a power-of-two max parallelism, the default, needs no division at
/// all).
#[derive(Debug, Clone)]
pub struct KeyGroupRouting {
    max_parallelism: u32,
    /// `max_parallelism - 1` when it is a power of two.
    mask: Option<u64>,
    /// The owning subtask of each key group.
    owners: Vec<u32>,
}

impl KeyGroupRouting {
    /// The routing of `max_parallelism` key groups onto `parallelism` subtasks.
    pub fn new(max_parallelism: u32, parallelism: u32) -> Self {
        let max_parallelism = max_parallelism.max(1);
        KeyGroupRouting {
            max_parallelism,
            mask: max_parallelism
                .is_power_of_two()
                .then(|| u64::from(max_parallelism) - 1),
            owners: (0..max_parallelism)
                .map(|kg| operator_index_for_key_group(max_parallelism, parallelism, kg))
                .collect(),
        }
    }

    /// The key group of a key hash.
    #[inline(always)]
    pub fn key_group(&self, hash: u64) -> u32 {
        match self.mask {
            Some(mask) => (hash & mask) as u32,
            None => (hash % u64::from(self.max_parallelism)) as u32,
        }
    }

    /// The subtask owning the key group of a key hash.
    #[inline(always)]
    pub fn owner(&self, hash: u64) -> u32 {
        self.owners[self.key_group(hash) as usize]
    }

    /// For a power-of-two max parallelism, the mask that gives a hash's key group and the
    /// owner of each key group (exactly `mask + 1` of them, so a masked index needs no bounds
    /// check): a loop over a batch can decide the formula once instead of per record.
    #[inline]
    pub fn masked_owners(&self) -> Option<(u64, &[u32])> {
        let mask = self.mask?;
        Some((mask, &self.owners[..=mask as usize]))
    }
}

/// A contiguous, inclusive range of key groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGroupRange {
    /// First key group in the range.
    pub start: u32,
    /// Last key group in the range (inclusive); `end < start` means empty.
    pub end: u32,
}

impl KeyGroupRange {
    /// The key groups owned by `subtask` out of `parallelism` (the inverse of
    /// [`operator_index_for_key_group`]).
    pub fn for_subtask(max_parallelism: u32, parallelism: u32, subtask: u32) -> Self {
        let max = u64::from(max_parallelism);
        let par = u64::from(parallelism);
        let sub = u64::from(subtask);
        let start = (sub * max).div_ceil(par);
        let end_exclusive = ((sub + 1) * max).div_ceil(par);
        KeyGroupRange {
            start: start as u32,
            end: end_exclusive as u32 - 1,
        }
    }

    /// Whether the range holds the key group.
    pub fn contains(&self, key_group: u32) -> bool {
        key_group >= self.start && key_group <= self.end
    }

    /// How many key groups the range holds.
    pub fn len(&self) -> u32 {
        if self.end < self.start {
            0
        } else {
            self.end - self.start + 1
        }
    }

    /// Whether the range holds no key group.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hashes keys to key groups (see [`crate::keyhash`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher;

impl KeyHasher {
    /// A hasher.
    pub fn new() -> Self {
        KeyHasher
    }

    /// The stable 64-bit hash of a key.
    #[inline]
    pub fn hash<K: serde::Serialize + ?Sized>(&mut self, key: &K) -> Result<u64, CodecError> {
        crate::keyhash::stable_hash(key)
    }

    /// The key group of a key.
    #[inline]
    pub fn key_group<K: serde::Serialize + ?Sized>(
        &mut self,
        key: &K,
        max_parallelism: u32,
    ) -> Result<u32, CodecError> {
        Ok(key_group_for_hash(self.hash(key)?, max_parallelism))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_max_parallelism_follows_flink_rule() {
        assert_eq!(default_max_parallelism(1), 128);
        assert_eq!(default_max_parallelism(85), 128);
        assert_eq!(default_max_parallelism(86), 256);
        assert_eq!(default_max_parallelism(200), 512);
        assert_eq!(default_max_parallelism(30000), 32768);
    }

    #[test]
    fn routing_matches_the_division_formulas() {
        for max in [1u32, 7, 128, 1000, 4096] {
            for par in [1u32, 2, 3, 7] {
                let routing = KeyGroupRouting::new(max, par);
                let mut hash = 0x1234_5678_9abc_def0u64;
                for _ in 0..2000 {
                    hash = hash
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let key_group = key_group_for_hash(hash, max);
                    assert_eq!(routing.key_group(hash), key_group, "max {max}");
                    assert_eq!(
                        routing.owner(hash),
                        operator_index_for_key_group(max, par, key_group),
                        "max {max} par {par}"
                    );
                }
            }
        }
    }

    #[test]
    fn ranges_partition_all_key_groups_and_match_operator_index() {
        for max in [1u32, 7, 128, 1000] {
            for par in 1..=max.min(13) {
                let mut next = 0;
                for sub in 0..par {
                    let range = KeyGroupRange::for_subtask(max, par, sub);
                    assert_eq!(range.start, next, "max {max} par {par} sub {sub}");
                    for kg in range.start..=range.end {
                        assert_eq!(operator_index_for_key_group(max, par, kg), sub);
                    }
                    next = range.end + 1;
                }
                assert_eq!(next, max);
            }
        }
    }

    // Key hashes and key groups are pinned with literal values in tests/integration/key_placement.rs.
}
