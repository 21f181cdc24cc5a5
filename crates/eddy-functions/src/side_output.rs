//! Side outputs: extra typed streams a process function can emit to (`ctx.output(&tag, v)`).

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use eddy_core::batch::Batch;

/// Names a side output and fixes its element type, like Flink's `OutputTag<T>`.
///
/// A function emits to it with `ctx.output(&tag, value)`; the program reads it with
/// `stream.get_side_output(&tag)`. Tags are equal when their ids are.
pub struct OutputTag<T> {
    id: Arc<str>,
    _type: PhantomData<fn() -> T>,
}

impl<T> OutputTag<T> {
    /// A tag with the given id.
    pub fn new(id: impl Into<String>) -> Self {
        OutputTag {
            id: Arc::from(id.into()),
            _type: PhantomData,
        }
    }

    /// The tag's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl<T> Clone for OutputTag<T> {
    fn clone(&self) -> Self {
        OutputTag {
            id: self.id.clone(),
            _type: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for OutputTag<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutputTag({})", self.id)
    }
}

struct SideBuffer {
    id: String,
    type_name: &'static str,
    // A `Batch<X>` for the tag's element type.
    batch: Box<dyn Any + Send>,
}

/// An operator's side-output buffers for one batch of input: one per consumed tag.
///
/// Values emitted to a tag nobody consumes are dropped (as in Flink). Emitting a value of
/// another type than the consumer's tag declares is an error, reported by
/// [`take_error`](SideOutputs::take_error).
#[derive(Default)]
pub struct SideOutputs {
    buffers: Vec<SideBuffer>,
    error: Option<String>,
}

impl SideOutputs {
    /// No side outputs.
    pub fn new() -> Self {
        SideOutputs::default()
    }

    /// Adds a buffer for tag `id` with elements of type `X`; returns its index.
    pub fn register<X: Send + 'static>(&mut self, id: &str) -> usize {
        self.buffers.push(SideBuffer {
            id: id.to_string(),
            type_name: std::any::type_name::<X>(),
            batch: Box::new(Batch::<X>::new()),
        });
        self.buffers.len() - 1
    }

    /// Whether any tag is consumed.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }

    /// Emits a value to a tag.
    #[inline]
    pub fn emit<X: 'static>(&mut self, tag: &OutputTag<X>, value: X, timestamp: i64) {
        let Some(buffer) = self.buffers.iter_mut().find(|b| b.id == tag.id()) else {
            return;
        };
        match buffer.batch.downcast_mut::<Batch<X>>() {
            Some(batch) => batch.push(value, timestamp),
            None => {
                self.error.get_or_insert_with(|| {
                    format!(
                        "side output '{}' carries {} but a value of {} was emitted to it; use one element type per tag id",
                        buffer.id,
                        buffer.type_name,
                        std::any::type_name::<X>()
                    )
                });
            }
        }
    }

    /// Takes the records buffered for buffer `index` (registered with type `X`).
    pub fn take<X: 'static>(&mut self, index: usize) -> Batch<X> {
        self.buffers
            .get_mut(index)
            .and_then(|b| b.batch.downcast_mut::<Batch<X>>())
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The first type mismatch seen, if any.
    pub fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_go_to_their_tag_unconsumed_tags_drop_and_mismatches_are_reported() {
        let mut side = SideOutputs::new();
        let late = side.register::<String>("late");
        side.emit(&OutputTag::<String>::new("late"), "x".to_string(), 5);
        side.emit(
            &OutputTag::<String>::new("nobody"),
            "dropped".to_string(),
            6,
        );
        assert_eq!(side.take_error(), None);
        side.emit(&OutputTag::<u64>::new("late"), 7u64, 7);
        let error = side.take_error().unwrap();
        assert!(error.contains("'late'") && error.contains("u64"), "{error}");
        let batch = side.take::<String>(late);
        let records: Vec<_> = batch
            .into_records()
            .map(|r| (r.value, r.timestamp))
            .collect();
        assert_eq!(records, vec![("x".to_string(), 5)]);
        assert!(side.take::<String>(late).is_empty());
    }
}
