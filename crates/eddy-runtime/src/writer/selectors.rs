//! Per-record channel selection for the partitioners that route records individually.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use eddy_core::keygroup::KeyGroupRouting;
use eddy_core::keyhash::stable_hash;
use eddy_functions::{KeySelector, Partitioner};

use crate::error::TaskError;

/// Chooses the channel (0-based, `< num_channels`) of one record.
pub trait ChannelSelector<T>: Send {
    /// The channel for `value`.
    fn select(&mut self, value: &T, num_channels: u32) -> Result<u32, TaskError>;

    /// The channels of a whole batch's values, into `channels` (replacing what it held).
    /// Selectors whose per-record work has a batch-level form override this.
    fn select_all(
        &mut self,
        values: &[T],
        num_channels: u32,
        channels: &mut Vec<u32>,
    ) -> Result<(), TaskError> {
        channels.clear();
        channels.reserve(values.len());
        for value in values {
            channels.push(self.select(value, num_channels)?);
        }
        Ok(())
    }
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
    max_parallelism: u32,
    /// The routing for the channel count it was built for.
    routing: Option<(u32, KeyGroupRouting)>,
    operator: String,
}

impl<K, KS> KeyGroupSelector<K, KS> {
    /// Routes by the keys `key_selector` extracts, for a consumer with `max_parallelism` key
    /// groups; `operator` names the producer in errors.
    pub fn new(key_selector: KS, max_parallelism: u32, operator: String) -> Self {
        KeyGroupSelector {
            key_selector,
            _key: std::marker::PhantomData,
            max_parallelism,
            routing: None,
            operator,
        }
    }

    fn routing(&mut self, num_channels: u32) -> &KeyGroupRouting {
        let max_parallelism = self.max_parallelism;
        if self.routing.as_ref().map(|(n, _)| *n) != Some(num_channels) {
            let routing = KeyGroupRouting::new(max_parallelism, num_channels);
            self.routing = Some((num_channels, routing));
        }
        &self.routing.as_ref().expect("routing was just built").1
    }

    fn hash_error(&self, error: eddy_core::error::CodecError) -> TaskError {
        TaskError::Record {
            operator: self.operator.clone(),
            message: format!("cannot hash the record's key: {error}"),
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
        let hash = self
            .key_selector
            .with_key(value, |key| stable_hash(key))
            .map_err(|e| self.hash_error(e))?;
        Ok(self.routing(num_channels).owner(hash))
    }

    /// One pass over the batch: key, hash and owner per value, with the routing table looked
    /// up once per batch.
    fn select_all(
        &mut self,
        values: &[T],
        num_channels: u32,
        channels: &mut Vec<u32>,
    ) -> Result<(), TaskError> {
        // Sized first, then written in place: no capacity check per record.
        channels.clear();
        channels.resize(values.len(), 0);
        self.routing(num_channels);
        let (key_selector, routing) = (&self.key_selector, &self.routing);
        let routing = &routing.as_ref().expect("routing was just built").1;
        for (channel, value) in channels.iter_mut().zip(values) {
            match key_selector.with_key(value, |key| stable_hash(key)) {
                Ok(hash) => *channel = routing.owner(hash),
                Err(e) => return Err(self.hash_error(e)),
            }
        }
        Ok(())
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
