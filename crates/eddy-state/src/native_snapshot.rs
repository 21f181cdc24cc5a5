//! Incremental snapshots of the on-disk backend: instead of its rows, a snapshot names the
//! files of a RocksDB checkpoint of the instance ([`NativeStateHandle`]). The files are
//! immutable (SST files) or small (the manifest and options), so a checkpoint uploads only
//! the SST files earlier checkpoints have not; the uploading itself belongs to whoever writes
//! checkpoints ([`NativeFileUploader`]).
//!
//! A restore reads such a snapshot back into rows ([`KeyedStateSnapshot::materialize_native`]):
//! the files are fetched into a scratch folder, opened read-only, and each state's column
//! family scanned. The rows are the backend's own layout, the same as in a full snapshot, so a
//! restore from an incremental checkpoint equals one from a full checkpoint at any
//! parallelism and into either backend.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use eddy_core::FnResult;

use super::snapshot::KeyedStateSnapshot;

/// Where one file of a native snapshot was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredFile {
    /// In the checkpoint's own folder, under this name (written for this checkpoint only).
    Private(String),
    /// In the job's folder of files shared between checkpoints, under this name.
    Shared(String),
}

/// One file of a native snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeFile {
    /// Its name in the instance's checkpoint folder (e.g. `000012.sst`, `CURRENT`).
    pub name: String,
    /// Where it was stored.
    pub stored: StoredFile,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this checkpoint stored it (`false`: an earlier checkpoint's file, reused).
    pub uploaded_now: bool,
}

/// A state kept in a native snapshot: its name and description, and its column family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeState {
    /// The state's name.
    pub name: String,
    /// Its kind and type, e.g. `ValueState<u64>`.
    pub description: String,
    /// The column family holding its rows.
    pub family: String,
}

/// The states of an on-disk backend instance kept as the files of its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeStateHandle {
    /// The backend that wrote the files (`rocksdb`).
    pub backend: String,
    /// Every file of the instance's checkpoint.
    pub files: Vec<NativeFile>,
    /// The states in the files.
    pub states: Vec<NativeState>,
}

impl NativeStateHandle {
    /// The shared files it refers to (uploaded now or reused).
    pub fn shared_files(&self) -> impl Iterator<Item = &NativeFile> {
        self.files
            .iter()
            .filter(|f| matches!(f.stored, StoredFile::Shared(_)))
    }
}

/// The files of a point-in-time checkpoint of a store instance, as a snapshot view offers them.
#[derive(Debug, Clone)]
pub struct NativeFiles {
    /// The checkpoint's folder.
    pub dir: PathBuf,
    /// Names the instance uniquely within the process (files of one instance with the same
    /// name are the same file).
    pub instance: String,
    /// The names of the files in `dir`.
    pub files: Vec<String>,
    /// The column family of each store state id.
    pub families: Vec<String>,
}

/// Stores the files of a native snapshot (implemented by checkpoint writers).
pub trait NativeFileUploader {
    /// Stores `files` (what an instance's checkpoint holds) and says where each went:
    /// immutable files an earlier completed checkpoint stored may be referred to again.
    fn upload(&mut self, files: &NativeFiles) -> FnResult<Vec<NativeFile>>;
}

impl KeyedStateSnapshot {
    /// Reads the states of a native snapshot into rows (see the module's documentation):
    /// `fetch` returns the bytes of a stored file. Does nothing for a snapshot of rows.
    pub fn materialize_native(
        &mut self,
        fetch: &mut dyn FnMut(&StoredFile) -> FnResult<Vec<u8>>,
    ) -> FnResult<()> {
        let Some(handle) = self.take_native() else {
            return Ok(());
        };
        let scratch = scratch_dir()?;
        let result = (|| {
            for file in &handle.files {
                let bytes = fetch(&file.stored)?;
                std::fs::write(scratch.0.join(&file.name), bytes).map_err(|e| {
                    format!(
                        "cannot write {} into {}: {e}",
                        file.name,
                        scratch.0.display()
                    )
                })?;
            }
            read_states(&handle, &scratch.0)
        })();
        for (state, rows) in handle.states.iter().zip(result?) {
            self.insert_state(&state.name, state.description.clone(), rows);
        }
        Ok(())
    }
}

/// A scratch folder, removed when dropped.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir() -> FnResult<ScratchDir> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SCRATCH: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "eddy-restore-{}-{}",
        std::process::id(),
        SCRATCH.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the scratch folder {}: {e}", dir.display()))?;
    Ok(ScratchDir(dir))
}

/// The rows of each of `handle`'s states, from the files in `dir`.
#[cfg(feature = "rocksdb")]
fn read_states(handle: &NativeStateHandle, dir: &Path) -> FnResult<Vec<Vec<super::StateRow>>> {
    if handle.backend != "rocksdb" {
        return Err(format!(
            "a native snapshot of the unknown backend '{}'",
            handle.backend
        )
        .into());
    }
    Ok(super::rocksdb::read_checkpoint_rows(dir, &handle.states)?)
}

#[cfg(not(feature = "rocksdb"))]
fn read_states(handle: &NativeStateHandle, _dir: &Path) -> FnResult<Vec<Vec<super::StateRow>>> {
    Err(format!(
        "the checkpoint holds an incremental snapshot of the {} state backend, which this build \
         does not have; build eddy with the `rocksdb` cargo feature to restore it",
        handle.backend
    )
    .into())
}
