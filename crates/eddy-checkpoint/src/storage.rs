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

/// The local folder a `state.checkpoints.dir` value names: a `file://` URL or a plain path.
fn local_folder(directory: &str) -> Result<std::path::PathBuf, CheckpointError> {
    match directory.split_once("://") {
        None => Ok(directory.into()),
        Some(("file", path)) if path.starts_with('/') => Ok(path.into()),
        Some(("file", _)) => Err(CheckpointError::Directory {
            directory: directory.to_string(),
            reason: "a file:// URL needs an absolute path, e.g. file:///tmp/checkpoints".into(),
        }),
        Some((scheme, _)) => Err(CheckpointError::Directory {
            directory: directory.to_string(),
            reason: format!(
                "the {scheme}:// scheme is not supported; use a file:// URL or a local path"
            ),
        }),
    }
}

/// A folder in an object store, with blocking access (the store's API is asynchronous).
#[derive(Clone)]
struct Folder {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// The folder as the user named it, for messages.
    location: String,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Folder {
    /// A local folder (created if missing) as `directory` names it.
    fn local(directory: &str) -> Result<Folder, CheckpointError> {
        let folder = local_folder(directory)?;
        let problem = |reason: String| CheckpointError::Directory {
            directory: directory.to_string(),
            reason,
        };
        std::fs::create_dir_all(&folder).map_err(|e| problem(format!("cannot create it: {e}")))?;
        let store = LocalFileSystem::new_with_prefix(&folder)
            .map_err(|e| problem(e.to_string()))?
            .with_automatic_cleanup(true);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("checkpoint-io")
            .build()
            .map_err(|e| problem(format!("cannot start the storage's I/O thread: {e}")))?;
        Ok(Folder {
            store: Arc::new(store),
            root: Path::default(),
            location: directory.trim_end_matches('/').to_string(),
            runtime: Arc::new(runtime),
        })
    }

    /// The subfolder `name`.
    fn child(&self, name: &str) -> Folder {
        Folder {
            root: self.root.child(name),
            location: format!("{}/{name}", self.location),
            ..self.clone()
        }
    }

    fn error(&self, what: String, source: object_store::Error) -> CheckpointError {
        CheckpointError::Storage {
            what,
            source: Box::new(source),
        }
    }

    fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), CheckpointError> {
        let path = self.root.child(name);
        let payload = PutPayload::from(Bytes::from(bytes));
        self.runtime
            .block_on(self.store.put(&path, payload))
            .map(|_| ())
            .map_err(|e| self.error(format!("writing {}/{name}", self.location), e))
    }

    fn get(&self, name: &str) -> Result<Vec<u8>, CheckpointError> {
        let path = self.root.child(name);
        self.runtime
            .block_on(async {
                let result = self.store.get(&path).await?;
                result.bytes().await
            })
            .map(|bytes| bytes.to_vec())
            .map_err(|e| self.error(format!("reading {}/{name}", self.location), e))
    }

    fn exists(&self, name: &str) -> Result<bool, CheckpointError> {
        let path = self.root.child(name);
        match self.runtime.block_on(self.store.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(format!("reading {}/{name}", self.location), e)),
        }
    }

    /// The ids of the `chk-<n>` subfolders that hold a `_metadata`, ascending.
    fn completed_checkpoints(&self) -> Result<Vec<u64>, CheckpointError> {
        let listing = self
            .runtime
            .block_on(self.store.list_with_delimiter(Some(&self.root)))
            .map_err(|e| self.error(format!("listing {}", self.location), e))?;
        let mut ids: Vec<u64> = Vec::new();
        for folder in listing.common_prefixes {
            let id = folder
                .filename()
                .and_then(|name| name.strip_prefix("chk-"))
                .and_then(|n| n.parse().ok());
            if let Some(id) = id {
                if self.child(&format!("chk-{id}")).exists(METADATA_FILE)? {
                    ids.push(id);
                }
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// Deletes everything in the folder.
    fn delete_all(&self) -> Result<(), CheckpointError> {
        self.runtime
            .block_on(async {
                let files: Vec<_> = self.store.list(Some(&self.root)).try_collect().await?;
                for file in files {
                    self.store.delete(&file.location).await?;
                }
                Ok(())
            })
            .map_err(|e| self.error(format!("deleting {}", self.location), e))
    }

    fn read_metadata(&self) -> Result<CheckpointMetadata, CheckpointError> {
        let bytes = self.get(METADATA_FILE)?;
        serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Metadata {
            location: self.location.clone(),
            reason: e.to_string(),
        })
    }
}

/// The checkpoint folders of one job, and the folders of its savepoints in progress.
pub struct CheckpointStorage {
    job: Folder,
    /// Savepoints being taken: their ids and folders (elsewhere than the job's folder).
    savepoints: std::sync::Mutex<std::collections::HashMap<u64, Folder>>,
}

impl std::fmt::Debug for CheckpointStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointStorage")
            .field("location", &self.job.location)
            .finish()
    }
}

impl CheckpointStorage {
    /// The folders of job `job_id` under `directory` (a `file://` URL or a local path), which
    /// is created if missing.
    pub fn for_job(directory: &str, job_id: JobId) -> Result<Self, CheckpointError> {
        Ok(CheckpointStorage {
            job: Folder::local(directory)?.child(&job_id.to_string()),
            savepoints: Default::default(),
        })
    }

    /// Directs checkpoint `id`'s files to a new savepoint folder under `target_directory`
    /// (a `file://` URL or a local path, created if missing): `savepoint-<first 6 digits of
    /// the job id>-<12 random hex digits>`, as Flink names them. Returns the folder.
    pub fn begin_savepoint(
        &self,
        id: u64,
        target_directory: &str,
        job_id: JobId,
    ) -> Result<String, CheckpointError> {
        let random = JobId::generate().to_string();
        let name = format!("savepoint-{}-{}", &job_id.to_string()[..6], &random[..12]);
        let folder = Folder::local(target_directory)?.child(&name);
        let location = folder.location.clone();
        self.savepoints_in_progress().insert(id, folder);
        Ok(location)
    }

    /// Checkpoint `id`'s files go to the job's folder again (its savepoint completed or was
    /// discarded).
    pub fn end_savepoint(&self, id: u64) {
        self.savepoints_in_progress().remove(&id);
    }

    fn savepoints_in_progress(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, Folder>> {
        // The map stays consistent even if a holder panicked: each operation is one insert or
        // remove.
        self.savepoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The job's folder, as configured: `<dir>/<job-id>`.
    pub fn location(&self) -> &str {
        &self.job.location
    }

    /// The folder of checkpoint `id`: `<dir>/<job-id>/chk-<id>`, or its savepoint folder
    /// while it is a savepoint in progress.
    pub fn checkpoint_location(&self, id: u64) -> String {
        self.folder(id).location
    }

    fn folder(&self, id: u64) -> Folder {
        if let Some(savepoint) = self.savepoints_in_progress().get(&id) {
            return savepoint.clone();
        }
        self.job.child(&format!("chk-{id}"))
    }

    /// Writes one subtask's state file `name` into checkpoint `id`'s folder.
    pub fn write_state(
        &self,
        id: u64,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<SubtaskStateHandle, CheckpointError> {
        let size = bytes.len() as u64;
        self.folder(id).put(name, bytes)?;
        Ok(SubtaskStateHandle {
            file: Some(name.to_string()),
            size,
            finished: false,
        })
    }

    /// Reads state file `file` of checkpoint `id`.
    pub fn read_state(&self, id: u64, file: &str) -> Result<Vec<u8>, CheckpointError> {
        self.folder(id).get(file)
    }

    /// Writes checkpoint `metadata.checkpoint_id`'s `_metadata`, completing it.
    pub fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<(), CheckpointError> {
        let folder = self.folder(metadata.checkpoint_id);
        let json = serde_json::to_vec_pretty(metadata).map_err(|e| CheckpointError::Metadata {
            location: folder.location.clone(),
            reason: e.to_string(),
        })?;
        folder.put(METADATA_FILE, json)
    }

    /// Reads checkpoint `id`'s `_metadata`.
    pub fn read_metadata(&self, id: u64) -> Result<CheckpointMetadata, CheckpointError> {
        self.folder(id).read_metadata()
    }

    /// The ids of the checkpoints whose `_metadata` exists, ascending.
    pub fn completed_checkpoints(&self) -> Result<Vec<u64>, CheckpointError> {
        self.job.completed_checkpoints()
    }

    /// Deletes checkpoint `id`'s folder (complete or not).
    pub fn discard(&self, id: u64) -> Result<(), CheckpointError> {
        self.folder(id).delete_all()
    }

    /// Deletes every `chk-<n>` folder of the job (complete or not, known to the coordinator
    /// or left behind by a late writer) except those in `keep`.
    pub fn discard_all_except(&self, keep: &[u64]) -> Result<(), CheckpointError> {
        let listing = self
            .job
            .runtime
            .block_on(self.job.store.list_with_delimiter(Some(&self.job.root)))
            .map_err(|e| self.job.error(format!("listing {}", self.job.location), e))?;
        for folder in listing.common_prefixes {
            let id = folder
                .filename()
                .and_then(|name| name.strip_prefix("chk-"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(id) = id.filter(|id| !keep.contains(id)) {
                self.discard(id)?;
            }
        }
        Ok(())
    }

    /// A reader of completed checkpoint `id`.
    pub fn reader(&self, id: u64) -> Result<CheckpointReader, CheckpointError> {
        CheckpointReader::in_folder(self.folder(id))
    }
}

/// A completed checkpoint, read back for a restore.
pub struct CheckpointReader {
    folder: Folder,
    metadata: CheckpointMetadata,
}

impl std::fmt::Debug for CheckpointReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointReader")
            .field("location", &self.folder.location)
            .finish()
    }
}

impl CheckpointReader {
    fn in_folder(folder: Folder) -> Result<Self, CheckpointError> {
        let metadata = folder.read_metadata()?;
        Ok(CheckpointReader { folder, metadata })
    }

    /// Opens `path` (a `file://` URL or a local path): a checkpoint folder (`chk-<n>` with a
    /// `_metadata` file), or a job's checkpoint folder, whose latest completed checkpoint is
    /// used.
    pub fn open(path: &str) -> Result<Self, CheckpointError> {
        let not_found = || CheckpointError::Directory {
            directory: path.to_string(),
            reason: "no completed checkpoint there: expected a chk-<n> folder with a _metadata \
                     file, or a job's checkpoint folder holding one"
                .into(),
        };
        if !local_folder(path)?.is_dir() {
            return Err(not_found());
        }
        let folder = Folder::local(path)?;
        if folder.exists(METADATA_FILE)? {
            return Self::in_folder(folder);
        }
        let latest = folder
            .completed_checkpoints()?
            .pop()
            .ok_or_else(not_found)?;
        Self::in_folder(folder.child(&format!("chk-{latest}")))
    }

    /// The checkpoint's folder.
    pub fn location(&self) -> &str {
        &self.folder.location
    }

    /// Its metadata.
    pub fn metadata(&self) -> &CheckpointMetadata {
        &self.metadata
    }

    /// Reads one of its state files.
    pub fn read_state(&self, file: &str) -> Result<Vec<u8>, CheckpointError> {
        self.folder.get(file)
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
            is_savepoint: false,
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
    fn readers_open_a_checkpoint_folder_or_a_jobs_latest_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let job = JobId::generate();
        let storage = CheckpointStorage::for_job(dir.path().to_str().unwrap(), job).unwrap();
        for id in [3, 7] {
            storage.write_state(id, "s", vec![id as u8]).unwrap();
            storage.write_metadata(&metadata(id)).unwrap();
        }
        // Checkpoint 9 never completed: it is not the latest.
        storage.write_state(9, "s", vec![9]).unwrap();
        let job_folder = dir.path().join(job.to_string());
        let latest = CheckpointReader::open(&format!("file://{}", job_folder.display())).unwrap();
        assert_eq!(latest.metadata().checkpoint_id, 7);
        assert_eq!(latest.read_state("s").unwrap(), vec![7]);
        let third = CheckpointReader::open(job_folder.join("chk-3").to_str().unwrap()).unwrap();
        assert_eq!(
            (
                third.metadata().checkpoint_id,
                third.read_state("s").unwrap()
            ),
            (3, vec![3])
        );
        assert_eq!(storage.reader(3).unwrap().metadata(), third.metadata());
        for missing in [job_folder.join("chk-9"), dir.path().join("nothing-here")] {
            let error = CheckpointReader::open(missing.to_str().unwrap())
                .unwrap_err()
                .to_string();
            assert!(error.contains("no completed checkpoint there"), "{error}");
        }
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
