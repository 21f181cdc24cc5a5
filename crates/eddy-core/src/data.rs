//! The bounds that stream elements and keys must satisfy.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value that can flow through a stream.
///
/// Values are cloned when a stream fans out, moved between threads in batches, and (across
/// processes, and in state snapshots) encoded with serde — so every element type needs these
/// bounds. They are implemented automatically for every type that qualifies.
pub trait Data: Clone + Send + Serialize + DeserializeOwned + 'static {}

impl<T> Data for T where T: Clone + Send + Serialize + DeserializeOwned + 'static {}

/// A value that can key a stream (`key_by`): a [`Data`] that can be hashed and compared.
///
/// Partitioning never uses Rust's `Hash` (which is randomized per process): the key's serialized
/// bytes are hashed instead (see [`crate::keygroup`]), so every process agrees on a key's key
/// group. `Hash + Eq` serve only for the per-task state maps.
pub trait Key: Data + Hash + Eq {}

impl<T> Key for T where T: Data + Hash + Eq {}
