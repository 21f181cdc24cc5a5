//! Checkpoint storage: `<dir>/<job-id>/chk-<n>/` folders written through `object_store`.
//!
//! Subtasks write their state files into the folder of the checkpoint they snapshot; the
//! coordinator writes `_metadata` last. A put is atomic (the local store writes a temporary
//! file and renames it), so a reader never sees half a file, and a folder without `_metadata`
//! is an incomplete checkpoint. All methods block and may be called from any thread that is
//! not itself running asynchronous code.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use eddy_core::ids::JobId;

use crate::error::CheckpointError;
use crate::metadata::{CheckpointMetadata, SubtaskStateHandle, METADATA_FILE};

/// The checkpoint folders of one job.
pub struct CheckpointStorage {
    store: Arc<dyn ObjectStore>,
    /// The job's folder inside the store.
    job_root: Path,
    /// The job's folder as the user named it, for messages.
    location: String,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for CheckpointStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointStorage")
            .field("location", &self.location)
            .finish()
    }
}

/// The local folder a `state.checkpoints.dir` value names: a `file://` URL or a plain path.
fn local_folder(directory: &str) -> Result<std::path::PathBuf, CheckpointError> {
    let unsupported = |scheme: &str| CheckpointError::Directory {
        directory: directory.to_string(),
        reason: format!(
            "the {scheme}:// scheme is not supported; use a file:// URL or a local path"
        ),
    };
    match directory.split_once("://") {
        None => Ok(directory.into()),
        Some(("file", path)) if path.starts_with('/') => Ok(path.into()),
        Some(("file", _)) => Err(CheckpointError::Directory {
            directory: directory.to_string(),
            reason: "a file:// URL needs an absolute path, e.g. file:///tmp/checkpoints".into(),
        }),
        Some((scheme, _)) => Err(unsupported(scheme)),
    }
}

impl CheckpointStorage {
    /// The folders of job `job_id` under `directory` (a `file://` URL or a local path), which
    /// is created if missing.
    pub fn for_job(directory: &str, job_id: JobId) -> Result<Self, CheckpointError> {
        let folder = local_folder(directory)?;
        std::fs::create_dir_all(&folder).map_err(|e| CheckpointError::Directory {
            directory: directory.to_string(),
            reason: format!("cannot create it: {e}"),
        })?;
        let store = LocalFileSystem::new_with_prefix(&folder)
            .map_err(|e| CheckpointError::Directory {
                directory: directory.to_string(),
                reason: e.to_string(),
            })?
            .with_automatic_cleanup(true);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("checkpoint-io")
            .build()
            .map_err(|e| CheckpointError::Directory {
                directory: directory.to_string(),
                reason: format!("cannot start the storage's I/O thread: {e}"),
            })?;
        Ok(CheckpointStorage {
            store: Arc::new(store),
            job_root: Path::from(job_id.to_string()),
            location: format!("{}/{job_id}", directory.trim_end_matches('/')),
            runtime: Arc::new(runtime),
        })
    }

    /// The job's folder, as configured: `<dir>/<job-id>`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The folder of checkpoint `id`: `<dir>/<job-id>/chk-<id>`.
    pub fn checkpoint_location(&self, id: u64) -> String {
        format!("{}/chk-{id}", self.location)
    }

    fn folder(&self, id: u64) -> Path {
        self.job_root.child(format!("chk-{id}"))
    }

    fn storage_error(&self, what: String, source: object_store::Error) -> CheckpointError {
        CheckpointError::Storage {
            what,
            source: Box::new(source),
        }
    }

    fn put(&self, path: Path, bytes: Vec<u8>) -> Result<(), CheckpointError> {
        let payload = PutPayload::from(Bytes::from(bytes));
        self.runtime
            .block_on(self.store.put(&path, payload))
            .map(|_| ())
            .map_err(|e| self.storage_error(format!("writing {path}"), e))
    }

    fn get(&self, path: Path) -> Result<Vec<u8>, CheckpointError> {
        self.runtime
            .block_on(async {
                let result = self.store.get(&path).await?;
                result.bytes().await
            })
            .map(|bytes| bytes.to_vec())
            .map_err(|e| self.storage_error(format!("reading {path}"), e))
    }

    /// Writes one subtask's state file `name` into checkpoint `id`'s folder.
    pub fn write_state(
        &self,
        id: u64,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<SubtaskStateHandle, CheckpointError> {
        let size = bytes.len() as u64;
        self.put(self.folder(id).child(name), bytes)?;
        Ok(SubtaskStateHandle {
            file: Some(name.to_string()),
            size,
            finished: false,
        })
    }

    /// Reads state file `file` of checkpoint `id`.
    pub fn read_state(&self, id: u64, file: &str) -> Result<Vec<u8>, CheckpointError> {
        self.get(self.folder(id).child(file))
    }

    /// Writes checkpoint `metadata.checkpoint_id`'s `_metadata`, completing it.
    pub fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<(), CheckpointError> {
        let json = serde_json::to_vec_pretty(metadata).map_err(|e| CheckpointError::Metadata {
            location: self.checkpoint_location(metadata.checkpoint_id),
            reason: e.to_string(),
        })?;
        self.put(
            self.folder(metadata.checkpoint_id).child(METADATA_FILE),
            json,
        )
    }

    /// Reads checkpoint `id`'s `_metadata`.
    pub fn read_metadata(&self, id: u64) -> Result<CheckpointMetadata, CheckpointError> {
        let bytes = self.get(self.folder(id).child(METADATA_FILE))?;
        serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Metadata {
            location: self.checkpoint_location(id),
            reason: e.to_string(),
        })
    }

    /// The ids of the checkpoints whose `_metadata` exists, ascending.
    pub fn completed_checkpoints(&self) -> Result<Vec<u64>, CheckpointError> {
        let listing = self
            .runtime
            .block_on(self.store.list_with_delimiter(Some(&self.job_root)))
            .map_err(|e| self.storage_error(format!("listing {}", self.location), e))?;
        let mut ids: Vec<u64> = Vec::new();
        for folder in listing.common_prefixes {
            let Some(id) = folder
                .filename()
                .and_then(|name| name.strip_prefix("chk-"))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let metadata = folder.child(METADATA_FILE);
            let exists = self.runtime.block_on(self.store.head(&metadata));
            match exists {
                Ok(_) => ids.push(id),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.storage_error(format!("reading {metadata}"), e)),
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// Deletes checkpoint `id`'s folder (complete or not).
    pub fn discard(&self, id: u64) -> Result<(), CheckpointError> {
        let folder = self.folder(id);
        self.runtime
            .block_on(async {
                let files: Vec<_> = self.store.list(Some(&folder)).try_collect().await?;
                for file in files {
                    self.store.delete(&file.location).await?;
                }
                Ok(())
            })
            .map_err(|e| self.storage_error(format!("deleting {folder}"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::METADATA_VERSION;

    fn metadata(id: u64) -> CheckpointMetadata {
        CheckpointMetadata {
            version: METADATA_VERSION,
            job_id: "j".into(),
            checkpoint_id: id,
            trigger_timestamp: 1,
            completion_timestamp: 2,
            operators: Vec::new(),
        }
    }

    #[test]
    fn only_folders_with_metadata_are_completed_and_discard_removes_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        let job = JobId::generate();
        let storage = CheckpointStorage::for_job(&url, job).unwrap();
        let handle = storage.write_state(1, "a-0", vec![1, 2, 3]).unwrap();
        assert_eq!(handle.size, 3);
        storage.write_state(2, "a-0", vec![4]).unwrap();
        storage.write_metadata(&metadata(1)).unwrap();
        assert_eq!(storage.completed_checkpoints().unwrap(), vec![1]);
        assert_eq!(storage.read_metadata(1).unwrap(), metadata(1));
        assert_eq!(storage.read_state(1, "a-0").unwrap(), vec![1, 2, 3]);
        let on_disk = dir
            .path()
            .join(job.to_string())
            .join("chk-1")
            .join("_metadata");
        assert!(on_disk.is_file(), "{on_disk:?}");
        storage.discard(1).unwrap();
        storage.discard(2).unwrap();
        assert_eq!(storage.completed_checkpoints().unwrap(), Vec::<u64>::new());
        assert!(!dir.path().join(job.to_string()).join("chk-1").exists());
    }

    #[test]
    fn unsupported_directories_are_named_in_the_error() {
        let error = CheckpointStorage::for_job("s3://bucket/x", JobId::generate())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("s3://bucket/x") && error.contains("file://"),
            "{error}"
        );
        let error = CheckpointStorage::for_job("file://relative", JobId::generate())
            .unwrap_err()
            .to_string();
        assert!(error.contains("absolute path"), "{error}");
    }
}
