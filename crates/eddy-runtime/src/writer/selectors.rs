//! Per-record channel selection for the partitioners that route records individually.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use eddy_core::keygroup::{operator_index_for_key_group, KeyHasher};
use eddy_functions::{KeySelector, Partitioner};

use crate::error::TaskError;

/// Chooses the channel (0-based, `< num_channels`) of one record.
pub trait ChannelSelector<T>: Send {
    /// The channel for `value`.
    fn select(&mut self, value: &T, num_channels: u32) -> Result<u32, TaskError>;
}

/// Round-robin (rebalance and rescale), starting at a given channel.
pub struct RoundRobinSelector {
    next: u32,
}

impl RoundRobinSelector {
    /// Starts at channel `start` (taken modulo the channel count).
    pub fn new(start: u32) -> Self {
        RoundRobinSelector { next: start }
    }
}

impl<T> ChannelSelector<T> for RoundRobinSelector {
    #[inline]
    fn select(&mut self, _value: &T, num_channels: u32) -> Result<u32, TaskError> {
        let channel = self.next % num_channels;
        self.next = channel + 1;
        Ok(channel)
    }
}

/// Uniformly random channels (shuffle).
pub struct ShuffleSelector {
    rng: SmallRng,
}

impl ShuffleSelector {
    /// A selector with a random seed.
    pub fn new() -> Self {
        ShuffleSelector {
            rng: SmallRng::from_os_rng(),
        }
    }

    /// A selector with a fixed seed (reproducible routing).
    pub fn with_seed(seed: u64) -> Self {
        ShuffleSelector {
            rng: SmallRng::seed_from_u64(seed),
        }
    }
}

impl Default for ShuffleSelector {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ChannelSelector<T> for ShuffleSelector {
    #[inline]
    fn select(&mut self, _value: &T, num_channels: u32) -> Result<u32, TaskError> {
        Ok(self.rng.random_range(0..num_channels))
    }
}

/// By key: key → key group (stable hash of the key's bytes) → the subtask owning that group.
pub struct KeyGroupSelector<K, KS> {
    key_selector: KS,
    _key: std::marker::PhantomData<fn() -> K>,
    hasher: KeyHasher,
    max_parallelism: u32,
    operator: String,
}

impl<K, KS> KeyGroupSelector<K, KS> {
    /// Routes by the keys `key_selector` extracts, for a consumer with `max_parallelism` key
    /// groups; `operator` names the producer in errors.
    pub fn new(key_selector: KS, max_parallelism: u32, operator: String) -> Self {
        KeyGroupSelector {
            key_selector,
            _key: std::marker::PhantomData,
            hasher: KeyHasher::new(),
            max_parallelism,
            operator,
        }
    }
}

impl<T, K, KS> ChannelSelector<T> for KeyGroupSelector<K, KS>
where
    K: serde::Serialize,
    KS: KeySelector<T, K>,
{
    #[inline]
    fn select(&mut self, value: &T, num_channels: u32) -> Result<u32, TaskError> {
        let key = self.key_selector.get_key(value);
        let key_group = self
            .hasher
            .key_group(&key, self.max_parallelism)
            .map_err(|e| TaskError::Record {
                operator: self.operator.clone(),
                message: format!("cannot hash the record's key: {e}"),
            })?;
        Ok(operator_index_for_key_group(
            self.max_parallelism,
            num_channels,
            key_group,
        ))
    }
}

/// A user [`Partitioner`] over the records' keys (`partition_custom`).
pub struct CustomSelector<K, KS, P> {
    key_selector: KS,
    _key: std::marker::PhantomData<fn() -> K>,
    partitioner: P,
    operator: String,
}

impl<K, KS, P> CustomSelector<K, KS, P> {
    /// Routes `partitioner(key_selector(record), n)`; `operator` names the producer in errors.
    pub fn new(key_selector: KS, partitioner: P, operator: String) -> Self {
        CustomSelector {
            key_selector,
            _key: std::marker::PhantomData,
            partitioner,
            operator,
        }
    }
}

impl<T, K, KS, P> ChannelSelector<T> for CustomSelector<K, KS, P>
where
    KS: KeySelector<T, K>,
    P: Partitioner<K>,
{
    fn select(&mut self, value: &T, num_channels: u32) -> Result<u32, TaskError> {
        let key = self.key_selector.get_key(value);
        let (partitioner, operator) = (&self.partitioner, &self.operator);
        let channel =
            crate::error::call_user(operator, || Ok(partitioner.partition(&key, num_channels)))?;
        if channel >= num_channels {
            return Err(TaskError::Record {
                operator: self.operator.clone(),
                message: format!(
                    "the custom partitioner returned partition {channel}, but there are only {num_channels} (valid: 0..{num_channels})"
                ),
            });
        }
        Ok(channel)
    }
}
