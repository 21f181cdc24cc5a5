//! Keys carried across a keyed exchange with their records.
//!
//! A `key_by` exchange over several channels extracts every record's key to route it. A key
//! selector that builds an owned key (`key_by(|e| e.name.clone())`, rather than lending a field
//! with `key_by_ref`) pays an allocation and a copy per record for it, and the receiving keyed
//! operator would pay them again to look the record's state up. So a keyed writer whose
//! selector builds keys that own heap memory keeps them, sorted by channel like the records,
//! and sends each channel's keys with its records as one [`CarriedBatch`]; a keyed operator
//! that can use them ([`crate::output::Output::push_with_keys`]) looks its state up by the
//! carried keys. Such batches are always lent (see [`crate::recycle`]): the consumer copies
//! the records, borrows the keys, and hands both back to the producer, which frees them.
//!
//! Batches with watermarks among their records travel without keys (the receiving operator
//! extracts them, as Flink's always does).

use std::any::Any;

use eddy_core::FnResult;

use crate::output::Batch;

/// A batch of records and their keys (a `Vec<K>`, one per record, behind `dyn Any`).
pub struct CarriedBatch<T> {
    /// The records.
    pub batch: Batch<T>,
    /// The records' keys, in the records' order.
    pub keys: Box<dyn Any + Send>,
}

/// The keys carried with a batch of `records` records, when they are keys of type `K` (`None`
/// otherwise: the operator extracts its own); an error when their count is not the records'.
pub fn carried_keys<K: 'static>(keys: &dyn Any, records: usize) -> FnResult<Option<&[K]>> {
    let Some(keys) = keys.downcast_ref::<Vec<K>>() else {
        return Ok(None);
    };
    if keys.len() != records {
        return Err(format!("{} keys came with a batch of {records} records", keys.len()).into());
    }
    Ok(Some(keys))
}
