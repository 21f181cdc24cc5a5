//! A folder in an object store (a local folder or an `s3://bucket/prefix`), with blocking
//! access: the store's API is asynchronous, each folder drives it on an I/O thread of its own.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};

use super::options::StorageOptions;
use crate::error::CheckpointError;
use crate::metadata::{CheckpointMetadata, METADATA_FILE};

/// Where a folder name (`state.checkpoints.dir` and the like) points.
enum Location {
    /// A local folder.
    Local(std::path::PathBuf),
    /// `s3://<bucket>/<prefix>`.
    S3 { bucket: String, prefix: String },
}

impl Location {
    fn parse(directory: &str) -> Result<Location, CheckpointError> {
        let problem = |reason: &str| CheckpointError::Directory {
            directory: directory.to_string(),
            reason: reason.to_string(),
        };
        match directory.split_once("://") {
            None => Ok(Location::Local(directory.into())),
            Some(("file", path)) if path.starts_with('/') => Ok(Location::Local(path.into())),
            Some(("file", _)) => Err(problem(
                "a file:// URL needs an absolute path, e.g. file:///tmp/checkpoints",
            )),
            Some(("s3" | "s3a" | "s3p", rest)) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(problem(
                        "an s3:// URL names a bucket, e.g. s3://bucket/checkpoints",
                    ));
                }
                Ok(Location::S3 {
                    bucket: bucket.to_string(),
                    prefix: prefix.trim_matches('/').to_string(),
                })
            }
            Some((scheme, _)) => Err(problem(&format!(
                "the {scheme}:// scheme is not supported; use a local path, a file:// URL or an \
                 s3:// URL"
            ))),
        }
    }
}

/// The local folder `directory` names (a `file://` URL or a plain path), or `None` for a
/// folder in a remote store.
pub(super) fn local_path(directory: &str) -> Result<Option<std::path::PathBuf>, CheckpointError> {
    Ok(match Location::parse(directory)? {
        Location::Local(path) => Some(path),
        Location::S3 { .. } => None,
    })
}

/// A folder in an object store, with blocking access.
#[derive(Clone)]
pub(super) struct Folder {
    store: Arc<dyn ObjectStore>,
    pub(super) root: Path,
    /// The folder as the user named it, for messages.
    pub(super) location: String,
    /// Files larger than this are uploaded in parts of this size (`None`: in one piece).
    part_size: Option<usize>,
    runtime: Arc<tokio::runtime::Runtime>,
    /// A local copy of the folder (local recovery): written beside every write, read first,
    /// deleted with the folder's files. Best effort: its failures are logged, not returned.
    mirror: Option<Box<Folder>>,
}

impl Folder {
    /// The folder `directory` names — a local path, a `file://` URL or an `s3://` URL; a local
    /// one is created if missing.
    pub(super) fn open(
        directory: &str,
        options: &StorageOptions,
    ) -> Result<Folder, CheckpointError> {
        let problem = |reason: String| CheckpointError::Directory {
            directory: directory.to_string(),
            reason,
        };
        let (store, root, part_size): (Arc<dyn ObjectStore>, Path, Option<usize>) =
            match Location::parse(directory)? {
                Location::Local(folder) => {
                    std::fs::create_dir_all(&folder)
                        .map_err(|e| problem(format!("cannot create it: {e}")))?;
                    let store = LocalFileSystem::new_with_prefix(&folder)
                        .map_err(|e| problem(e.to_string()))?
                        .with_automatic_cleanup(true);
                    (Arc::new(store), Path::default(), None)
                }
                Location::S3 { bucket, prefix } => {
                    let store = super::s3::store(&bucket, &options.s3).map_err(problem)?;
                    let root = Path::parse(&prefix).map_err(|e| problem(e.to_string()))?;
                    (store, root, Some(options.s3.part_size))
                }
            };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("checkpoint-io")
            .enable_all()
            .build()
            .map_err(|e| problem(format!("cannot start the storage's I/O thread: {e}")))?;
        Ok(Folder {
            store,
            root,
            location: directory.trim_end_matches('/').to_string(),
            part_size,
            runtime: Arc::new(runtime),
            mirror: None,
        })
    }

    /// The folder with `mirror` as its local copy (see [`Folder::mirror`]).
    pub(super) fn mirrored_in(self, mirror: Folder) -> Folder {
        Folder {
            mirror: Some(Box::new(mirror)),
            ..self
        }
    }

    /// The local copy, if any.
    pub(super) fn mirror(&self) -> Option<&Folder> {
        self.mirror.as_deref()
    }

    /// The subfolder `name`.
    pub(super) fn child(&self, name: &str) -> Folder {
        Folder {
            root: self.root.child(name),
            location: format!("{}/{name}", self.location),
            mirror: self.mirror.as_ref().map(|m| Box::new(m.child(name))),
            ..self.clone()
        }
    }

    pub(super) fn error(&self, what: String, source: object_store::Error) -> CheckpointError {
        CheckpointError::Storage {
            what,
            source: Box::new(source),
        }
    }

    /// Writes file `name` (replacing it): in one request, or in parts when it is larger than
    /// the store's part size (an upload that fails is aborted, leaving no parts behind).
    pub(super) fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), CheckpointError> {
        if let Some(mirror) = &self.mirror {
            if let Err(e) = mirror.put(name, bytes.clone()) {
                tracing::warn!("could not keep a local copy for local recovery: {e}");
            }
        }
        let path = self.root.child(name);
        let written = self.runtime.block_on(async {
            match self.part_size {
                Some(part_size) if bytes.len() > part_size => {
                    let upload = self.store.put_multipart(&path).await?;
                    let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
                    for part in bytes.chunks(part_size) {
                        // At most two parts in flight: bounded memory, and a failed part
                        // surfaces before the rest is sent.
                        if let Err(e) = writer.wait_for_capacity(2).await {
                            let _ = writer.abort().await;
                            return Err(e);
                        }
                        writer.write(part);
                    }
                    writer.finish().await.map(|_| ())
                }
                _ => {
                    let payload = PutPayload::from(Bytes::from(bytes));
                    self.store.put(&path, payload).await.map(|_| ())
                }
            }
        });
        written.map_err(|e| self.error(format!("writing {}/{name}", self.location), e))
    }

    pub(super) fn get(&self, name: &str) -> Result<Vec<u8>, CheckpointError> {
        if let Some(bytes) = self.mirror.as_ref().and_then(|m| m.get(name).ok()) {
            return Ok(bytes);
        }
        let path = self.root.child(name);
        self.runtime
            .block_on(async {
                let result = self.store.get(&path).await?;
                result.bytes().await
            })
            .map(|bytes| bytes.to_vec())
            .map_err(|e| self.error(format!("reading {}/{name}", self.location), e))
    }

    pub(super) fn exists(&self, name: &str) -> Result<bool, CheckpointError> {
        let path = self.root.child(name);
        match self.runtime.block_on(self.store.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(format!("reading {}/{name}", self.location), e)),
        }
    }

    /// Deletes file `name`.
    pub(super) fn delete(&self, name: &str) -> Result<(), CheckpointError> {
        if let Some(mirror) = &self.mirror {
            // The copy may never have been written.
            let _ = mirror.delete(name);
        }
        let path = self.root.child(name);
        self.runtime
            .block_on(self.store.delete(&path))
            .map_err(|e| self.error(format!("deleting {}/{name}", self.location), e))
    }

    /// The names of the files directly in the folder.
    pub(super) fn files(&self) -> Result<Vec<String>, CheckpointError> {
        let listing = self
            .runtime
            .block_on(self.store.list_with_delimiter(Some(&self.root)))
            .map_err(|e| self.error(format!("listing {}", self.location), e))?;
        let mut names: Vec<String> = listing
            .objects
            .iter()
            .filter_map(|object| object.location.filename().map(str::to_string))
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    /// The names of the folder's subfolders.
    pub(super) fn subfolders(&self) -> Result<Vec<String>, CheckpointError> {
        let listing = self
            .runtime
            .block_on(self.store.list_with_delimiter(Some(&self.root)))
            .map_err(|e| self.error(format!("listing {}", self.location), e))?;
        Ok(listing
            .common_prefixes
            .iter()
            .filter_map(|folder| folder.filename().map(str::to_string))
            .collect())
    }

    /// The ids of the `chk-<n>` subfolders that hold a `_metadata`, ascending.
    pub(super) fn completed_checkpoints(&self) -> Result<Vec<u64>, CheckpointError> {
        let mut ids: Vec<u64> = Vec::new();
        for name in self.subfolders()? {
            let id = name.strip_prefix("chk-").and_then(|n| n.parse().ok());
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
    pub(super) fn delete_all(&self) -> Result<(), CheckpointError> {
        if let Some(mirror) = &self.mirror {
            if let Err(e) = mirror.delete_all() {
                tracing::warn!("could not delete local copies: {e}");
            }
        }
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

    pub(super) fn read_metadata(&self) -> Result<CheckpointMetadata, CheckpointError> {
        let bytes = self.get(METADATA_FILE)?;
        serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Metadata {
            location: self.location.clone(),
            reason: e.to_string(),
        })
    }
}
