//! The task's side of incremental checkpoints: which files of an on-disk instance's checkpoint
//! were stored before, and storing the others.
//!
//! SST files are immutable and their names unique within an instance, so a file a completed
//! checkpoint stored need not be stored again: the next checkpoint refers to it in the job's
//! `shared/` folder. Only files of the last completed checkpoint the task was told of are
//! reused (a file of a checkpoint that failed may have been deleted); the coordinator still
//! checks that every reused file is referred to by a retained checkpoint. Other files (the
//! manifest, `CURRENT`, `OPTIONS`) change and are small: each checkpoint writes them into its
//! own folder.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use eddy_checkpoint::{CheckpointStorage, SharedFileRef};
use eddy_core::ids::JobId;
use eddy_core::FnResult;
use eddy_state::{NativeFile, NativeFileUploader, NativeFiles, StoredFile};

/// A stored shared file: its name in `shared/` and its size.
type Stored = (String, u64);

/// Per instance: file name in the instance's checkpoint → where it is stored.
type InstanceFiles = HashMap<String, HashMap<String, Stored>>;

/// What a task's instances stored, shared by its snapshot threads.
#[derive(Debug, Default)]
pub(crate) struct SharedUploads {
    /// A random token per instance, so that names stay unique beyond the process.
    tokens: HashMap<String, String>,
    /// The files of the last completed checkpoint the task was told of.
    confirmed: InstanceFiles,
    /// The files each checkpoint in progress refers to.
    pending: BTreeMap<u64, InstanceFiles>,
}

impl SharedUploads {
    /// Checkpoint `id` completed (its files may be reused) or was aborted (they may not).
    pub(crate) fn notify(&mut self, id: u64, completed: bool) {
        let files = self.pending.remove(&id);
        if completed {
            if let Some(files) = files {
                self.confirmed.extend(files);
            }
            self.pending.retain(|&pending, _| pending > id);
        }
    }
}

/// Stores the native files of one operator subtask's snapshot for checkpoint `id`.
pub(crate) struct CheckpointUploader<'a> {
    pub(crate) storage: &'a CheckpointStorage,
    pub(crate) uploads: &'a Arc<Mutex<SharedUploads>>,
    pub(crate) checkpoint_id: u64,
    /// `<operator id>-<subtask>`: the prefix of the names it writes.
    pub(crate) prefix: String,
}

impl NativeFileUploader for CheckpointUploader<'_> {
    fn upload(&mut self, files: &NativeFiles) -> FnResult<Vec<NativeFile>> {
        let (token, known) = {
            let mut uploads = self.uploads.lock();
            let token = uploads
                .tokens
                .entry(files.instance.clone())
                .or_insert_with(|| JobId::generate().to_string()[..8].to_string())
                .clone();
            let known = uploads
                .confirmed
                .get(&files.instance)
                .cloned()
                .unwrap_or_default();
            (token, known)
        };
        let mut stored = Vec::with_capacity(files.files.len());
        let mut referred = HashMap::new();
        for name in &files.files {
            let immutable = name.ends_with(".sst");
            if let Some((shared, size)) = known.get(name).filter(|_| immutable) {
                referred.insert(name.clone(), (shared.clone(), *size));
                stored.push(NativeFile {
                    name: name.clone(),
                    stored: StoredFile::Shared(shared.clone()),
                    size: *size,
                    uploaded_now: false,
                });
                continue;
            }
            let path = files.dir.join(name);
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let size = bytes.len() as u64;
            let location = if immutable {
                // Unique per upload: a late write of an aborted checkpoint's file never
                // lands on a name a later checkpoint uses.
                let shared = format!("{}-{token}-{}-{name}", self.prefix, self.checkpoint_id);
                self.storage.write_shared(&shared, bytes)?;
                referred.insert(name.clone(), (shared.clone(), size));
                StoredFile::Shared(shared)
            } else {
                let private = format!("{}-native-{name}", self.prefix);
                self.storage
                    .write_private(self.checkpoint_id, &private, bytes)?;
                StoredFile::Private(private)
            };
            stored.push(NativeFile {
                name: name.clone(),
                stored: location,
                size,
                uploaded_now: true,
            });
        }
        self.uploads
            .lock()
            .pending
            .entry(self.checkpoint_id)
            .or_default()
            .insert(files.instance.clone(), referred);
        Ok(stored)
    }
}

/// The shared files a native snapshot refers to, for the checkpoint's metadata, and the bytes
/// this checkpoint wrote for it.
pub(crate) fn shared_references(files: &[NativeFile]) -> (Vec<SharedFileRef>, u64) {
    let mut written = 0;
    let mut shared = Vec::new();
    for file in files {
        if file.uploaded_now {
            written += file.size;
        }
        if let StoredFile::Shared(name) = &file.stored {
            shared.push(SharedFileRef {
                name: name.clone(),
                size: file.size,
                uploaded_now: file.uploaded_now,
            });
        }
    }
    (shared, written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_completed_checkpoints_files_are_reused() {
        let mut uploads = SharedUploads::default();
        let files = |name: &str| -> InstanceFiles {
            HashMap::from([(
                "db".to_string(),
                HashMap::from([("1.sst".to_string(), (name.to_string(), 1))]),
            )])
        };
        uploads.pending.insert(1, files("a"));
        uploads.pending.insert(2, files("b"));
        uploads.notify(1, false);
        assert!(uploads.confirmed.is_empty());
        uploads.notify(2, true);
        assert_eq!(uploads.confirmed, files("b"));
        assert!(uploads.pending.is_empty());
    }
}
