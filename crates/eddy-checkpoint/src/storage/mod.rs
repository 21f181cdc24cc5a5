//! Checkpoint storage: `<dir>/<job-id>/chk-<n>/` folders written through `object_store`, in a
//! local folder or in S3 (`s3://bucket/prefix`, the `s3` cargo feature).
//!
//! Subtasks write their state files into the folder of the checkpoint they snapshot; the
//! coordinator writes `_metadata` last. A put is atomic (the local store writes a temporary
//! file and renames it; S3 shows an object, or a multipart upload, only once complete), so a
//! reader never sees half a file, and a folder without `_metadata` is an incomplete
//! checkpoint. All methods block and may be called from any thread that is not itself running
//! asynchronous code.

mod folder;
pub mod options;
mod s3;

use eddy_core::ids::JobId;

use crate::error::CheckpointError;
use crate::metadata::{CheckpointMetadata, SubtaskStateHandle, METADATA_FILE};
use folder::{local_path, Folder};
pub use options::{S3Options, StorageOptions};

/// The checkpoint folders of one job, and the folders of its savepoints in progress.
pub struct CheckpointStorage {
    job: Folder,
    /// How savepoint folders elsewhere are reached.
    options: StorageOptions,
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
    /// The folders of job `job_id` under `directory` (a local path, a `file://` URL — created
    /// if missing — or an `s3://` URL), reached as `options` say.
    pub fn for_job(
        directory: &str,
        options: &StorageOptions,
        job_id: JobId,
    ) -> Result<Self, CheckpointError> {
        let mut job = Folder::open(directory, options)?.child(&job_id.to_string());
        if let Some(local) = &options.local_recovery_directory {
            // The copy is local: a local folder's options need no S3 settings.
            let mirror = Folder::open(local, &StorageOptions::default())?;
            job = job.mirrored_in(mirror.child(&job_id.to_string()));
        }
        Ok(CheckpointStorage {
            job,
            options: options.clone(),
            savepoints: Default::default(),
        })
    }

    /// Directs checkpoint `id`'s files to a new savepoint folder under `target_directory`
    /// (a local path or `file://` URL, created if missing, or an `s3://` URL): `savepoint-<first 6 digits of
    /// the job id>-<12 random hex digits>`, as Flink names them. Returns the folder.
    pub fn begin_savepoint(
        &self,
        id: u64,
        target_directory: &str,
        job_id: JobId,
    ) -> Result<String, CheckpointError> {
        let random = JobId::generate().to_string();
        let name = format!("savepoint-{}-{}", &job_id.to_string()[..6], &random[..12]);
        let folder = Folder::open(target_directory, &self.options)?.child(&name);
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
            shared: Vec::new(),
        })
    }

    /// Writes file `name` into checkpoint `id`'s folder (a file of an incremental snapshot
    /// written for this checkpoint only).
    pub fn write_private(
        &self,
        id: u64,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<(), CheckpointError> {
        self.folder(id).put(name, bytes)
    }

    /// Writes file `name` into the job's `shared/` folder (files incremental checkpoints
    /// share; see [`delete_shared`](Self::delete_shared)).
    pub fn write_shared(&self, name: &str, bytes: Vec<u8>) -> Result<(), CheckpointError> {
        self.shared_folder().put(name, bytes)
    }

    /// Reads file `name` of the job's `shared/` folder.
    pub fn read_shared(&self, name: &str) -> Result<Vec<u8>, CheckpointError> {
        self.shared_folder().get(name)
    }

    /// Deletes file `name` of the job's `shared/` folder (no retained checkpoint refers to
    /// it any more).
    pub fn delete_shared(&self, name: &str) -> Result<(), CheckpointError> {
        self.shared_folder().delete(name)
    }

    /// The names of the files in the job's `shared/` folder.
    pub fn shared_files(&self) -> Result<Vec<String>, CheckpointError> {
        self.shared_folder().files()
    }

    /// Deletes the job's `shared/` folder.
    pub fn discard_shared(&self) -> Result<(), CheckpointError> {
        self.shared_folder().delete_all()
    }

    /// Whether checkpoint `id` is a savepoint in progress (savepoints are always full).
    pub fn is_savepoint(&self, id: u64) -> bool {
        self.savepoints_in_progress().contains_key(&id)
    }

    fn shared_folder(&self) -> Folder {
        self.job.child(SHARED_FOLDER)
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

    /// Deletes the local copies of local recovery (the job ended: no failover will need
    /// them).
    pub fn discard_local_copies(&self) -> Result<(), CheckpointError> {
        match self.job.mirror() {
            Some(mirror) => mirror.delete_all(),
            None => Ok(()),
        }
    }

    /// Deletes checkpoint `id`'s folder (complete or not).
    pub fn discard(&self, id: u64) -> Result<(), CheckpointError> {
        self.folder(id).delete_all()
    }

    /// Deletes every `chk-<n>` folder of the job (complete or not, known to the coordinator
    /// or left behind by a late writer) except those in `keep`.
    pub fn discard_all_except(&self, keep: &[u64]) -> Result<(), CheckpointError> {
        for name in self.job.subfolders()? {
            let id = name
                .strip_prefix("chk-")
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(id) = id.filter(|id| !keep.contains(id)) {
                self.discard(id)?;
            }
        }
        Ok(())
    }

    /// A reader of completed checkpoint `id`.
    pub fn reader(&self, id: u64) -> Result<CheckpointReader, CheckpointError> {
        CheckpointReader::in_folder(self.folder(id), self.shared_folder())
    }
}

/// The subfolder of a job's checkpoint folder holding the files incremental checkpoints
/// share.
pub const SHARED_FOLDER: &str = "shared";

/// A completed checkpoint, read back for a restore.
pub struct CheckpointReader {
    folder: Folder,
    /// The `shared/` folder of the job that wrote it.
    shared: Folder,
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
    fn in_folder(folder: Folder, shared: Folder) -> Result<Self, CheckpointError> {
        let metadata = folder.read_metadata()?;
        Ok(CheckpointReader {
            folder,
            shared,
            metadata,
        })
    }

    /// Opens `path` (a local path, a `file://` URL or an `s3://` URL, reached as `options`
    /// say): a checkpoint folder (`chk-<n>` with a `_metadata` file), or a job's checkpoint
    /// folder, whose latest completed checkpoint is used.
    pub fn open(path: &str, options: &StorageOptions) -> Result<Self, CheckpointError> {
        let not_found = || CheckpointError::Directory {
            directory: path.to_string(),
            reason: "no completed checkpoint there: expected a chk-<n> folder with a _metadata \
                     file, or a job's checkpoint folder holding one"
                .into(),
        };
        // Opening a local folder creates it: a mistyped path must not leave one behind.
        if local_path(path)?.is_some_and(|folder| !folder.is_dir()) {
            return Err(not_found());
        }
        let folder = Folder::open(path, options)?;
        if folder.exists(METADATA_FILE)? {
            // A checkpoint folder: its job's folder is the one above.
            let trimmed = path.trim_end_matches('/');
            let parent = match trimmed.rsplit_once('/') {
                Some((parent, _)) if !parent.ends_with(':') && !parent.ends_with('/') => parent,
                _ => trimmed,
            };
            let shared = Folder::open(parent, options)?.child(SHARED_FOLDER);
            return Self::in_folder(folder, shared);
        }
        let latest = folder
            .completed_checkpoints()?
            .pop()
            .ok_or_else(not_found)?;
        Self::in_folder(
            folder.child(&format!("chk-{latest}")),
            folder.child(SHARED_FOLDER),
        )
    }

    /// The checkpoint's folder.
    pub fn location(&self) -> &str {
        &self.folder.location
    }

    /// Deletes the savepoint (or retained checkpoint) folder `path` — one holding a
    /// `_metadata` file, nothing else is touched — reached as `options` say.
    pub fn dispose(path: &str, options: &StorageOptions) -> Result<(), CheckpointError> {
        let not_a_savepoint = || CheckpointError::Directory {
            directory: path.to_string(),
            reason: "not a savepoint: it has no _metadata file (nothing was deleted)".into(),
        };
        let local = local_path(path)?;
        if local.as_ref().is_some_and(|folder| !folder.is_dir()) {
            return Err(not_a_savepoint());
        }
        let folder = Folder::open(path, options)?;
        if !folder.exists(METADATA_FILE)? {
            return Err(not_a_savepoint());
        }
        folder.delete_all()?;
        if let Some(local) = local {
            std::fs::remove_dir_all(&local).map_err(|e| CheckpointError::Directory {
                directory: path.to_string(),
                reason: format!("cannot remove the emptied folder: {e}"),
            })?;
        }
        Ok(())
    }

    /// Its metadata.
    pub fn metadata(&self) -> &CheckpointMetadata {
        &self.metadata
    }

    /// Reads one of its state files.
    pub fn read_state(&self, file: &str) -> Result<Vec<u8>, CheckpointError> {
        self.folder.get(file)
    }

    /// Reads file `name` of the `shared/` folder of the job that wrote it.
    pub fn read_shared(&self, name: &str) -> Result<Vec<u8>, CheckpointError> {
        self.shared.get(name)
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
        let storage = CheckpointStorage::for_job(&url, &StorageOptions::default(), job).unwrap();
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
        let storage = CheckpointStorage::for_job(
            dir.path().to_str().unwrap(),
            &StorageOptions::default(),
            job,
        )
        .unwrap();
        for id in [3, 7] {
            storage.write_state(id, "s", vec![id as u8]).unwrap();
            storage.write_metadata(&metadata(id)).unwrap();
        }
        // Checkpoint 9 never completed: it is not the latest.
        storage.write_state(9, "s", vec![9]).unwrap();
        let job_folder = dir.path().join(job.to_string());
        let latest = CheckpointReader::open(
            &format!("file://{}", job_folder.display()),
            &StorageOptions::default(),
        )
        .unwrap();
        assert_eq!(latest.metadata().checkpoint_id, 7);
        assert_eq!(latest.read_state("s").unwrap(), vec![7]);
        let third = CheckpointReader::open(
            job_folder.join("chk-3").to_str().unwrap(),
            &StorageOptions::default(),
        )
        .unwrap();
        assert_eq!(
            (
                third.metadata().checkpoint_id,
                third.read_state("s").unwrap()
            ),
            (3, vec![3])
        );
        assert_eq!(storage.reader(3).unwrap().metadata(), third.metadata());
        for missing in [job_folder.join("chk-9"), dir.path().join("nothing-here")] {
            let error =
                CheckpointReader::open(missing.to_str().unwrap(), &StorageOptions::default())
                    .unwrap_err()
                    .to_string();
            assert!(error.contains("no completed checkpoint there"), "{error}");
        }
    }

    #[test]
    fn unsupported_directories_are_named_in_the_error() {
        let options = StorageOptions::default();
        for (directory, expected) in [
            ("hdfs://namenode/x", "s3://"),
            ("file://relative", "absolute path"),
            ("s3:///no-bucket", "names a bucket"),
        ] {
            let error = CheckpointStorage::for_job(directory, &options, JobId::generate())
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(directory) && error.contains(expected),
                "{error}"
            );
        }
    }

    #[cfg(not(feature = "s3"))]
    #[test]
    fn without_the_s3_feature_an_s3_folder_says_how_to_get_it() {
        let error = CheckpointStorage::for_job(
            "s3://bucket/x",
            &StorageOptions::default(),
            JobId::generate(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("s3://bucket/x") && error.contains("--features s3"),
            "{error}"
        );
    }
}
