//! Per-record channel selection for the partitioners that route records individually.

use std::any::Any;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use eddy_core::keygroup::KeyGroupRouting;
use eddy_core::keyhash::stable_hash;
use eddy_core::Batch;
use eddy_functions::{KeySelector, Partitioner};

use crate::error::TaskError;

/// Chooses the channel (0-based, `< num_channels`) of one record.
pub trait ChannelSelector<T>: Send {
    /// The channel for `value`.
    fn select(&mut self, value: &T, num_channels: u32) -> Result<u32, TaskError>;

    /// Whether the selector carries the keys it extracts to the receiving tasks (see
    /// [`crate::carried`]): `select_all` keeps them, [`scatter_carried`](Self::scatter_carried)
    /// sorts them by channel and [`take_carried`](Self::take_carried) hands a channel's over.
    fn carries_keys(&self) -> bool {
        false
    }

    /// Moves the keys the last `select_all` extracted to their channels' pending keys, in the
    /// order of `targets` (the channels it selected).
    fn scatter_carried(&mut self, _targets: &[u32]) {}

    /// The keys pending for `channel` (a `Vec<K>` behind `dyn Any`, one per record pending
    /// there), taken; `None` when the selector carries no keys or none are pending.
    fn take_carried(&mut self, _channel: usize) -> Option<Box<dyn Any + Send>> {
        None
    }

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
    /// The keys extracted to route records, when they are carried along.
    carried: Option<CarriedKeys<K>>,
}

/// Owned keys a selector extracted: those of the batch last selected, then per channel those
/// of the records pending there.
struct CarriedKeys<K> {
    selected: Vec<K>,
    pending: Vec<Batch<K>>,
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
            carried: None,
        }
    }

    /// Also carries the keys it extracts to the receiving tasks over `num_channels` channels
    /// (see [`crate::carried`]).
    pub fn carrying_keys(mut self, num_channels: usize) -> Self {
        self.carried = Some(CarriedKeys {
            selected: Vec::new(),
            pending: (0..num_channels).map(|_| Batch::new()).collect(),
        });
        self
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

/// Writes the owner of each value's key hash (`hash_of`) into `channels` (as long as
/// `values`), choosing the key-group formula once for the batch.
#[inline(always)]
fn route_all<T>(
    routing: &KeyGroupRouting,
    values: &[T],
    channels: &mut [u32],
    mut hash_of: impl FnMut(&T) -> Result<u64, eddy_core::error::CodecError>,
) -> Result<(), eddy_core::error::CodecError> {
    match routing.masked_owners() {
        Some((mask, owners)) => {
            for (channel, value) in channels.iter_mut().zip(values) {
                *channel = owners[(hash_of(value)? & mask) as usize];
            }
        }
        None => {
            for (channel, value) in channels.iter_mut().zip(values) {
                *channel = routing.owner(hash_of(value)?);
            }
        }
    }
    Ok(())
}

impl<T, K, KS> ChannelSelector<T> for KeyGroupSelector<K, KS>
where
    K: serde::Serialize + Send + 'static,
    KS: KeySelector<T, K>,
{
    fn carries_keys(&self) -> bool {
        self.carried.is_some()
    }

    fn scatter_carried(&mut self, targets: &[u32]) {
        if let Some(carried) = &mut self.carried {
            let selected = std::mem::take(&mut carried.selected);
            Batch::from_values(selected).scatter_into(targets, &mut carried.pending);
        }
    }

    fn take_carried(&mut self, channel: usize) -> Option<Box<dyn Any + Send>> {
        let pending = &mut self.carried.as_mut()?.pending[channel];
        if pending.is_empty() {
            return None;
        }
        Some(Box::new(std::mem::take(pending).into_values()))
    }

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
        let routed = match &mut self.carried {
            Some(carried) => {
                // The owned key is built anyway (the selector lends none): keep it.
                let selected = &mut carried.selected;
                selected.clear();
                selected.reserve(values.len());
                route_all(
                    routing,
                    values,
                    channels,
                    #[inline(always)]
                    |value| {
                        let key = key_selector.get_key(value);
                        let hash = stable_hash(&key)?;
                        selected.push(key);
                        Ok(hash)
                    },
                )
            }
            None => route_all(routing, values, channels, |value| {
                key_selector.with_key(value, |key| stable_hash(key))
            }),
        };
        routed.map_err(|e| self.hash_error(e))
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
