//! Reference counts of the files incremental checkpoints share (the job's `shared/` folder),
//! Flink's `SharedStateRegistry`: every checkpoint in progress or retained holds a reference
//! to each shared file its states name; a file no checkpoint refers to any more is deleted.

use std::collections::HashMap;

use crate::metadata::SubtaskStateHandle;

/// The shared files each checkpoint refers to, and how many checkpoints refer to each file.
#[derive(Debug, Default)]
pub(crate) struct SharedStateRegistry {
    references: HashMap<String, u32>,
    by_checkpoint: HashMap<u64, Vec<String>>,
}

impl SharedStateRegistry {
    /// Checkpoint `id` refers to the shared files of `handle`. A file the handle reuses (an
    /// earlier checkpoint uploaded it) must still be referred to by some checkpoint: a
    /// subtask may reuse a file of a checkpoint that was discarded meanwhile, and then the
    /// checkpoint must fail (`Err` names the file) instead of naming a deleted file.
    pub(crate) fn register(&mut self, id: u64, handle: &SubtaskStateHandle) -> Result<(), String> {
        if let Some(gone) = handle
            .shared
            .iter()
            .find(|f| !f.uploaded_now && !self.references.contains_key(&f.name))
        {
            return Err(format!(
                "its state reuses the shared file {}, which no retained checkpoint refers to \
                 any more (it was deleted)",
                gone.name
            ));
        }
        let names = self.by_checkpoint.entry(id).or_default();
        for file in &handle.shared {
            *self.references.entry(file.name.clone()).or_default() += 1;
            names.push(file.name.clone());
        }
        Ok(())
    }

    /// Checkpoint `id` is gone (aborted, subsumed or discarded): drops its references and
    /// returns the files no checkpoint refers to any more, to delete.
    pub(crate) fn release(&mut self, id: u64) -> Vec<String> {
        let mut unreferenced = Vec::new();
        for name in self.by_checkpoint.remove(&id).unwrap_or_default() {
            if let Some(count) = self.references.get_mut(&name) {
                *count -= 1;
                if *count == 0 {
                    self.references.remove(&name);
                    unreferenced.push(name);
                }
            }
        }
        unreferenced
    }

    /// Whether any checkpoint refers to file `name`.
    pub(crate) fn is_referenced(&self, name: &str) -> bool {
        self.references.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::SharedFileRef;

    fn handle(files: &[(&str, bool)]) -> SubtaskStateHandle {
        SubtaskStateHandle {
            shared: files
                .iter()
                .map(|&(name, uploaded_now)| SharedFileRef {
                    name: name.into(),
                    size: 1,
                    uploaded_now,
                })
                .collect(),
            ..SubtaskStateHandle::empty()
        }
    }

    #[test]
    fn a_file_goes_when_the_last_checkpoint_naming_it_goes() {
        let mut registry = SharedStateRegistry::default();
        registry
            .register(1, &handle(&[("a", true), ("b", true)]))
            .unwrap();
        registry
            .register(2, &handle(&[("b", false), ("c", true)]))
            .unwrap();
        assert_eq!(registry.release(1), vec!["a".to_string()]);
        assert!(registry.is_referenced("b") && registry.is_referenced("c"));
        // Reusing a deleted file fails the checkpoint; nothing is registered for it.
        let error = registry
            .register(3, &handle(&[("a", false), ("d", true)]))
            .unwrap_err();
        assert!(error.contains("shared file a"), "{error}");
        assert!(!registry.is_referenced("d"));
        let mut gone = registry.release(2);
        gone.sort();
        assert_eq!(gone, vec!["b".to_string(), "c".to_string()]);
        assert!(registry.release(2).is_empty());
    }
}
