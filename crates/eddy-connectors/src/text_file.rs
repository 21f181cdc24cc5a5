//! A parallel source reading the lines of text files (Flink's `readTextFile`).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use eddy_core::FnResult;
use eddy_functions::{Boundedness, RuntimeContext, SourceFunction, SourceOutput, SourceStatus};
use eddy_state::ListStateDescriptor;
use serde::{Deserialize, Serialize};

/// The operator state holding a text file subtask's remaining files and positions.
const SPLITS_STATE: &str = "text-file-source-splits";

/// The buffer size of the file reader.
const READ_BUFFER: usize = 64 * 1024;

/// A parallel, bounded source emitting the lines of text files, without their line terminator
/// (`\n` or `\r\n`). A last line without a terminator is emitted too.
///
/// Each path is a file or a directory; a directory contributes all regular files inside it,
/// recursively, except those whose name (or the name of a directory on the way) starts with
/// `.` or `_` (hidden and temporary files, as in Flink). The files of all paths are sorted by
/// path and subtask `i` of `p` reads files `i, i+p, i+2p, …` of that list, each from start to
/// end. Paths given explicitly are never filtered; a file reached twice is read once.
///
/// `open` fails if a path does not exist; reading fails on invalid UTF-8, naming the file and
/// the 1-based line number.
///
/// Its position is operator state: a snapshot holds each subtask's current file with the byte
/// offset after its last emitted line, and the files it has not opened yet. A restored subtask
/// (at any parallelism) reads the files it receives from those offsets, so every line is
/// emitted once across a restore — provided the files did not change in between (a file now
/// shorter than its offset is an error naming it).
#[derive(Debug)]
pub struct TextFileSource {
    paths: Vec<PathBuf>,
    /// This subtask's files still to open, in reading order.
    files: Vec<FileSplit>,
    /// The index in `files` of the next file to open.
    next_file: usize,
    current: Option<OpenFile>,
    line: Vec<u8>,
    /// The files restored in `initialize_state` (`None`: list the paths in `open`).
    restored: Option<Vec<FileSplit>>,
}

/// A file still to read, from a byte offset on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileSplit {
    path: PathBuf,
    /// The byte offset to read from (the start of a line).
    offset: u64,
    /// The number of lines before `offset` (for line numbers in errors).
    line_number: u64,
}

impl FileSplit {
    fn whole(path: PathBuf) -> Self {
        FileSplit {
            path,
            offset: 0,
            line_number: 0,
        }
    }
}

/// The file being read.
#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    reader: BufReader<File>,
    /// The byte offset after the last line read.
    offset: u64,
    /// The number of lines read so far.
    line_number: u64,
}

impl Clone for TextFileSource {
    /// An unopened copy reading the same paths (the runtime clones sources before `open`,
    /// which decides what each copy reads).
    fn clone(&self) -> Self {
        Self::from_paths(self.paths.iter().cloned())
    }
}

impl TextFileSource {
    /// A source reading the file or directory `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::from_paths([path])
    }

    /// A source reading several files or directories.
    pub fn from_paths<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> Self {
        TextFileSource {
            paths: paths.into_iter().map(Into::into).collect(),
            files: Vec::new(),
            next_file: 0,
            current: None,
            line: Vec::new(),
            restored: None,
        }
    }

    fn descriptor() -> ListStateDescriptor<FileSplit> {
        ListStateDescriptor::new(SPLITS_STATE)
    }

    /// What this subtask has still to read: the current file from its offset, then the files
    /// not opened yet.
    fn remaining_splits(&self) -> Vec<FileSplit> {
        let current = self.current.as_ref().map(|file| FileSplit {
            path: file.path.clone(),
            offset: file.offset,
            line_number: file.line_number,
        });
        current
            .into_iter()
            .chain(
                self.files[self.next_file.min(self.files.len())..]
                    .iter()
                    .cloned(),
            )
            .collect()
    }

    /// The paths this source reads.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Lists all files of all paths, sorted and without duplicates.
    fn list_files(&self) -> FnResult<Vec<PathBuf>> {
        let mut files = Vec::new();
        let mut visited = HashSet::new();
        for path in &self.paths {
            let meta = fs::metadata(path).map_err(|e| {
                format!("text file source: cannot read path {}: {e}", path.display())
            })?;
            if meta.is_dir() {
                list_dir(path, &mut files, &mut visited)?;
            } else {
                files.push(path.clone());
            }
        }
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Reads the next line, opening the next file as needed; `None` when all files are done.
    fn next_line(&mut self) -> FnResult<Option<String>> {
        loop {
            let file = match &mut self.current {
                Some(file) => file,
                None => {
                    let Some(split) = self.files.get(self.next_file) else {
                        return Ok(None);
                    };
                    let file = open_split(split)?;
                    self.next_file += 1;
                    self.current.insert(file)
                }
            };
            self.line.clear();
            let read = file.reader.read_until(b'\n', &mut self.line).map_err(|e| {
                format!(
                    "text file source: cannot read {} at line {}: {e}",
                    file.path.display(),
                    file.line_number + 1
                )
            })?;
            if read == 0 {
                self.current = None;
                continue;
            }
            file.offset += read as u64;
            file.line_number += 1;
            let line = match self.line.strip_suffix(b"\n") {
                Some(rest) => rest.strip_suffix(b"\r").unwrap_or(rest),
                None => &self.line,
            };
            let text = std::str::from_utf8(line).map_err(|e| {
                format!(
                    "text file source: invalid UTF-8 in {} at line {}: {e}",
                    file.path.display(),
                    file.line_number
                )
            })?;
            return Ok(Some(text.to_owned()));
        }
    }
}

/// Opens `split`'s file at its offset.
fn open_split(split: &FileSplit) -> FnResult<OpenFile> {
    let path = &split.path;
    let mut handle = File::open(path)
        .map_err(|e| format!("text file source: cannot open {}: {e}", path.display()))?;
    if split.offset > 0 {
        let len = handle
            .metadata()
            .map_err(|e| format!("text file source: cannot read {}: {e}", path.display()))?
            .len();
        if len < split.offset {
            return Err(format!(
                "text file source: {} is {len} bytes long, but the restored position is byte \
                 {} (after line {}); the file changed since the snapshot",
                path.display(),
                split.offset,
                split.line_number
            )
            .into());
        }
        handle.seek(SeekFrom::Start(split.offset)).map_err(|e| {
            format!(
                "text file source: cannot seek in {} to byte {}: {e}",
                path.display(),
                split.offset
            )
        })?;
    }
    Ok(OpenFile {
        path: path.clone(),
        reader: BufReader::with_capacity(READ_BUFFER, handle),
        offset: split.offset,
        line_number: split.line_number,
    })
}

/// Adds the regular files under `dir` (recursively, skipping `.` and `_` names) to `files`.
fn list_dir(dir: &Path, files: &mut Vec<PathBuf>, visited: &mut HashSet<PathBuf>) -> FnResult<()> {
    // Directories reached through symbolic links are listed once, so link cycles end.
    let canonical = fs::canonicalize(dir).map_err(|e| {
        format!(
            "text file source: cannot read directory {}: {e}",
            dir.display()
        )
    })?;
    if !visited.insert(canonical) {
        return Ok(());
    }
    let entries = fs::read_dir(dir).map_err(|e| {
        format!(
            "text file source: cannot list directory {}: {e}",
            dir.display()
        )
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            format!(
                "text file source: cannot list directory {}: {e}",
                dir.display()
            )
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = entry.path();
        // `metadata` follows symbolic links; a dangling link is reported like a missing file.
        let meta = fs::metadata(&path)
            .map_err(|e| format!("text file source: cannot read path {}: {e}", path.display()))?;
        if meta.is_dir() {
            list_dir(&path, files, visited)?;
        } else if meta.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

impl SourceFunction<String> for TextFileSource {
    split_state_hooks!(|this| this.remaining_splits());

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.files = match self.restored.take() {
            Some(splits) => splits,
            None => {
                let p = ctx.parallelism.max(1) as usize;
                let index = ctx.subtask_index as usize;
                self.list_files()?
                    .into_iter()
                    .skip(index)
                    .step_by(p)
                    .map(FileSplit::whole)
                    .collect()
            }
        };
        self.next_file = 0;
        self.current = None;
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, String>) -> FnResult<SourceStatus> {
        let wanted = out.remaining().max(1);
        let mut emitted = 0;
        while emitted < wanted {
            match self.next_line()? {
                Some(line) => out.collect(line),
                None => break,
            }
            emitted += 1;
        }
        Ok(if emitted == 0 {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        })
    }

    fn close(&mut self) -> FnResult<()> {
        self.current = None;
        Ok(())
    }

    fn is_parallel(&self) -> bool {
        true
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{
        restore_and_run, run_and_snapshot, run_parallel, run_subtask, run_with_restore,
    };

    #[test]
    fn restored_subtask_continues_at_the_byte_after_the_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lines.txt");
        write(&file, b"one\r\ntwo\n\nfour\r\nfive");
        let run = run_with_restore(&TextFileSource::new(&file), 1, 1, 1, None).unwrap();
        assert_eq!(run.before, vec![vec!["one", "two", ""]]);
        assert_eq!(run.after, vec![vec!["four", "five"]]);
    }

    #[test]
    fn every_line_once_across_a_restore_at_another_parallelism() {
        let dir = fixture();
        let source = TextFileSource::new(dir.path());
        let mut expected = run_subtask(&source, 0, 1).unwrap();
        expected.sort();
        for (old, polls, new) in [(2, 1, 3), (3, 1, 2), (1, 2, 2), (4, 0, 1), (2, 9, 1)] {
            let run = run_with_restore(&source, old, polls, new, None).unwrap();
            assert_eq!(
                run.all_sorted(),
                expected,
                "{old} -> {new} after {polls} polls"
            );
        }
    }

    #[test]
    fn a_file_shortened_since_the_snapshot_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lines.txt");
        write(&file, b"1\n2\n3\n4\n5\n");
        let source = TextFileSource::new(&file);
        let (_, snapshots) = run_and_snapshot(&source, 1, 1).unwrap();
        write(&file, b"1\n");
        let err = restore_and_run(&source, &snapshots, 1, None).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("lines.txt") && message.contains("changed"),
            "{message}"
        );
    }

    fn write(path: &Path, contents: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// A directory with nested files, hidden and temporary files, and an empty file.
    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("a.txt"), b"a1\na2\r\na3");
        write(&root.join("b/c.txt"), b"c1\n\nc3\n");
        write(&root.join("b/d/e.txt"), b"e1\n");
        write(&root.join("z.txt"), b"");
        write(&root.join(".hidden"), b"hidden\n");
        write(&root.join("_tmp"), b"temporary\n");
        write(&root.join("b/_in_progress/x.txt"), b"skipped\n");
        write(&root.join(".git/y.txt"), b"skipped\n");
        dir
    }

    #[test]
    fn reads_directory_recursively_skipping_hidden_files() {
        let dir = fixture();
        let source = TextFileSource::new(dir.path());
        assert_eq!(
            run_subtask(&source, 0, 1).unwrap(),
            vec!["a1", "a2", "a3", "c1", "", "c3", "e1"]
        );
        assert!(source.is_parallel());
        assert_eq!(source.boundedness(), Boundedness::Bounded);
    }

    #[test]
    fn files_are_assigned_round_robin() {
        let dir = fixture();
        // Sorted files: a.txt, b/c.txt, b/d/e.txt, z.txt.
        let shares = run_parallel(&TextFileSource::new(dir.path()), 2).unwrap();
        assert_eq!(
            shares,
            vec![vec!["a1", "a2", "a3", "e1"], vec!["c1", "", "c3"]]
        );
    }

    #[test]
    fn several_paths_and_explicit_files() {
        let dir = fixture();
        let root = dir.path();
        // The explicit file is also inside the directory: it is read once. An explicitly named
        // file is read even if its name starts with `_`.
        let source =
            TextFileSource::from_paths([root.join("b"), root.join("b/c.txt"), root.join("_tmp")]);
        assert_eq!(
            run_subtask(&source, 0, 1).unwrap(),
            vec!["temporary", "c1", "", "c3", "e1"]
        );
        assert_eq!(source.paths().len(), 3);
    }

    #[test]
    fn strips_line_terminators() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lines.txt");
        write(&file, b"one\r\ntwo\n\r\nthree\rx\nlast\r\n");
        assert_eq!(
            run_subtask(&TextFileSource::new(&file), 0, 1).unwrap(),
            vec!["one", "two", "", "three\rx", "last"]
        );
    }

    #[test]
    fn missing_path_fails_open_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-file.txt");
        let mut source = TextFileSource::new(&missing);
        let err = source
            .open(&RuntimeContext::for_testing(0, 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&missing.display().to_string()), "{err}");
    }

    #[test]
    fn invalid_utf8_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.txt");
        write(&file, b"ok\nfine\nbad \xff byte\nnever\n");
        let err = run_subtask(&TextFileSource::new(&file), 0, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("invalid UTF-8"), "{err}");
    }

    #[test]
    fn empty_directory_finishes_immediately() {
        let dir = tempfile::tempdir().unwrap();
        let shares = run_parallel(&TextFileSource::new(dir.path()), 2).unwrap();
        assert_eq!(shares, vec![Vec::<String>::new(), Vec::new()]);
    }
}
