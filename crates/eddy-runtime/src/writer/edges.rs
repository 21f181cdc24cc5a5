//! Edge factories: build the writer of an edge for each producing subtask.

use std::marker::PhantomData;

use eddy_core::Data;
use eddy_functions::{KeySelector, Partitioner};
use eddy_graph::PartitionerKind;

use super::{
    BroadcastWriter, CustomSelector, KeyGroupSelector, PartitionedWriter, RoundRobinSelector,
    ShuffleSelector, SingleChannelWriter,
};
use crate::error::TaskError;
use std::sync::Arc;

use crate::factory::{EdgeFactory, StreamType, TypeOps, WriterSetup};
use crate::inbox::ChannelSender;
use crate::output::{erase, ErasedOutput, Output};

/// An edge whose partitioner needs no user code: forward, rebalance, rescale, shuffle,
/// broadcast, global.
pub struct StandardEdge<T>(PhantomData<fn() -> T>);

impl<T: Data> StandardEdge<T> {
    /// The factory for a stream of `T`.
    pub fn new() -> Self {
        StandardEdge(PhantomData)
    }
}

impl<T: Data> Default for StandardEdge<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Data> EdgeFactory for StandardEdge<T> {
    fn create_writer(
        &self,
        channels: Vec<ChannelSender>,
        setup: &WriterSetup,
    ) -> Result<ErasedOutput, TaskError> {
        let size = setup.records_per_batch::<T>();
        let writer: Box<dyn Output<T>> = match setup.partitioner {
            _ if channels.len() == 1 => Box::new(SingleChannelWriter::new(channels, 0, size)),
            PartitionerKind::Forward | PartitionerKind::Global => {
                Box::new(SingleChannelWriter::new(channels, 0, size))
            }
            PartitionerKind::Rebalance => Box::new(PartitionedWriter::new(
                channels,
                RoundRobinSelector::new(setup.producer_subtask),
                size,
            )),
            PartitionerKind::Rescale => Box::new(PartitionedWriter::new(
                channels,
                RoundRobinSelector::new(0),
                size,
            )),
            PartitionerKind::Shuffle => Box::new(PartitionedWriter::new(
                channels,
                ShuffleSelector::new(),
                size,
            )),
            PartitionerKind::Broadcast => Box::new(BroadcastWriter::new(channels, size)),
            PartitionerKind::KeyGroup | PartitionerKind::Custom => {
                return Err(TaskError::Internal(format!(
                    "{:?} edge without a key selector",
                    setup.partitioner
                )))
            }
        };
        Ok(erase(writer))
    }

    fn stream_type(&self) -> Arc<dyn StreamType> {
        TypeOps::<T>::arc()
    }
}

/// A `key_by` edge: records go to the subtask owning their key's key group.
pub struct KeyGroupEdge<T, K, KS> {
    key_selector: KS,
    _types: PhantomData<fn(T) -> K>,
}

impl<T, K, KS> KeyGroupEdge<T, K, KS> {
    /// The factory for a stream keyed by `key_selector`.
    pub fn new(key_selector: KS) -> Self {
        KeyGroupEdge {
            key_selector,
            _types: PhantomData,
        }
    }
}

impl<T, K, KS> EdgeFactory for KeyGroupEdge<T, K, KS>
where
    T: Data,
    K: serde::Serialize + Send + 'static,
    KS: KeySelector<T, K> + Sync,
{
    fn create_writer(
        &self,
        channels: Vec<ChannelSender>,
        setup: &WriterSetup,
    ) -> Result<ErasedOutput, TaskError> {
        // With one consumer every key group belongs to it: no need to hash.
        if channels.len() == 1 {
            let writer: Box<dyn Output<T>> = Box::new(SingleChannelWriter::new(
                channels,
                0,
                setup.records_per_batch::<T>(),
            ));
            return Ok(erase(writer));
        }
        let mut selector = KeyGroupSelector::new(
            self.key_selector.clone(),
            setup.consumer_max_parallelism,
            setup.operator.clone(),
        );
        // A selector that builds keys owning heap memory (a cloned string) pays for each
        // here: the keyed operator downstream gets them instead of building them again.
        if !KS::LENDS_KEY && std::mem::needs_drop::<K>() {
            selector = selector.carrying_keys(channels.len());
        }
        let writer: Box<dyn Output<T>> = Box::new(PartitionedWriter::new(
            channels,
            selector,
            setup.records_per_batch::<T>(),
        ));
        Ok(erase(writer))
    }

    fn stream_type(&self) -> Arc<dyn StreamType> {
        TypeOps::<T>::arc()
    }
}

/// A `partition_custom` edge.
pub struct CustomEdge<T, K, KS, P> {
    key_selector: KS,
    partitioner: P,
    _types: PhantomData<fn(T) -> K>,
}

impl<T, K, KS, P> CustomEdge<T, K, KS, P> {
    /// The factory for a stream partitioned by `partitioner` over `key_selector`'s keys.
    pub fn new(key_selector: KS, partitioner: P) -> Self {
        CustomEdge {
            key_selector,
            partitioner,
            _types: PhantomData,
        }
    }
}

impl<T, K, KS, P> EdgeFactory for CustomEdge<T, K, KS, P>
where
    T: Data,
    K: 'static,
    KS: KeySelector<T, K> + Sync,
    P: Partitioner<K> + Sync,
{
    fn create_writer(
        &self,
        channels: Vec<ChannelSender>,
        setup: &WriterSetup,
    ) -> Result<ErasedOutput, TaskError> {
        let selector = CustomSelector::new(
            self.key_selector.clone(),
            self.partitioner.clone(),
            setup.operator.clone(),
        );
        let writer: Box<dyn Output<T>> = Box::new(PartitionedWriter::new(
            channels,
            selector,
            setup.records_per_batch::<T>(),
        ));
        Ok(erase(writer))
    }

    fn stream_type(&self) -> Arc<dyn StreamType> {
        TypeOps::<T>::arc()
    }
}
