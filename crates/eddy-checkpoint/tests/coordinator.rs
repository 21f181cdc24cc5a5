//! The checkpoint coordinator against a real folder: triggers, acknowledgements, finished
//! subtasks, timeouts and the tolerance, retention, shared files of incremental checkpoints.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_checkpoint::{
    CheckpointConfig, CheckpointCoordinator, CheckpointRetention, CheckpointStorage,
    FinishedTaskState, JobEnd, SharedFileRef, SubtaskStateHandle, TaskAcknowledgement, Trigger,
};
use eddy_core::config::RuntimeMode;
use eddy_core::ids::JobId;
use eddy_graph::{
    ChainingStrategy, JobGraph, NodeKind, PartitionerKind, StreamEdge, StreamGraph, StreamNode,
};

fn node(id: u32, name: &str, kind: NodeKind, inputs: u8, uid: Option<&str>) -> StreamNode {
    StreamNode {
        id,
        name: name.into(),
        kind,
        parallelism: 2,
        max_parallelism: 128,
        uid: uid.map(String::from),
        slot_sharing_group: "default".into(),
        chaining: if inputs == 0 {
            ChainingStrategy::Head
        } else {
            ChainingStrategy::Always
        },
        num_inputs: inputs,
    }
}

/// Source -> Map (chained), then a keyed Sink: two vertices of two subtasks each.
fn job() -> JobGraph {
    let edge = |source, target, partitioner| StreamEdge {
        source,
        target,
        partitioner,
        input_index: 0,
        side_output: None,
    };
    let graph = StreamGraph {
        job_name: "j".into(),
        nodes: vec![
            node(1, "Source: S", NodeKind::Source, 0, Some("the-source")),
            node(2, "Map", NodeKind::Operator, 1, None),
            node(3, "Sink: K", NodeKind::Sink, 1, None),
        ],
        edges: vec![
            edge(1, 2, PartitionerKind::Forward),
            edge(2, 3, PartitionerKind::KeyGroup),
        ],
        chaining_enabled: true,
        runtime_mode: RuntimeMode::Streaming,
    };
    JobGraph::from_stream_graph(&graph).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    coordinator: CheckpointCoordinator,
    storage: Arc<CheckpointStorage>,
    ids: [String; 3],
    start: Instant,
}

fn fixture(config: impl FnOnce(&mut CheckpointConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = CheckpointConfig::every(
        Duration::from_secs(1),
        dir.path().to_str().unwrap().to_string(),
    );
    config(&mut settings);
    let job_id = JobId::generate();
    let storage = Arc::new(
        CheckpointStorage::for_job(&settings.directory, &Default::default(), job_id).unwrap(),
    );
    let job = job();
    let ids = [1, 2, 3].map(|n| job.stream_graph.operator_id(n));
    let start = Instant::now();
    let coordinator = CheckpointCoordinator::new(settings, storage.clone(), &job, job_id, start);
    Fixture {
        _dir: dir,
        coordinator,
        storage,
        ids,
        start,
    }
}

impl Fixture {
    fn at(&self, millis: u64) -> Instant {
        self.start + Duration::from_millis(millis)
    }

    /// The coordinator's timer at `millis`: the barrier it triggers, if any.
    fn tick(&mut self, millis: u64) -> Option<Trigger> {
        let outcome = self
            .coordinator
            .on_timer(self.at(millis), millis as i64)
            .unwrap();
        assert_eq!(outcome.completed, None);
        outcome.trigger
    }

    /// Subtask `subtask` of vertex `vertex` writes a file per operator and acknowledges.
    fn ack(&mut self, vertex: usize, subtask: u32, id: u64, at: u64) -> Option<u64> {
        let operators: Vec<&String> = if vertex == 0 {
            vec![&self.ids[0], &self.ids[1]]
        } else {
            vec![&self.ids[2]]
        };
        let states = operators
            .into_iter()
            .map(|op| {
                let name = format!("{op}-{subtask}");
                let handle = self
                    .storage
                    .write_state(id, &name, vec![vertex as u8, subtask as u8])
                    .unwrap();
                (op.clone(), handle)
            })
            .collect();
        let ack = TaskAcknowledgement {
            task: (vertex, subtask),
            checkpoint_id: id,
            states,
            sync_duration: Duration::from_millis(1),
        };
        self.coordinator
            .acknowledge(ack, self.at(at), at as i64)
            .unwrap()
            .map(|c| c.id)
    }
}

impl Fixture {
    /// Subtask `subtask` of vertex `vertex` acknowledges with its first operator's state
    /// referring to shared files: `new` uploaded now (written here), `reused` from before.
    /// `Err`: the coordinator failed the job.
    fn ack_shared(
        &mut self,
        (vertex, subtask): (usize, u32),
        id: u64,
        new: &[&str],
        reused: &[&str],
    ) -> Option<u64> {
        let mut shared = Vec::new();
        for name in new {
            self.storage.write_shared(name, vec![1; 3]).unwrap();
            shared.push(SharedFileRef {
                name: name.to_string(),
                size: 3,
                uploaded_now: true,
            });
        }
        for name in reused {
            shared.push(SharedFileRef {
                name: name.to_string(),
                size: 3,
                uploaded_now: false,
            });
        }
        let operator = self.ids[if vertex == 0 { 0 } else { 2 }].clone();
        let mut handle = self
            .storage
            .write_state(id, &format!("{operator}-{subtask}"), vec![7])
            .unwrap();
        // As the task reports it: the bytes it wrote, uploads included.
        handle.size += 3 * new.len() as u64;
        handle.shared = shared;
        let ack = TaskAcknowledgement {
            task: (vertex, subtask),
            checkpoint_id: id,
            states: vec![(operator, handle)],
            sync_duration: Duration::from_millis(1),
        };
        let at = self.start + Duration::from_millis(id * 1000 + 100);
        self.coordinator
            .acknowledge(ack, at, 0)
            .unwrap()
            .map(|c| c.id)
    }

    /// The shared folder's files.
    fn shared(&self) -> Vec<String> {
        self.storage.shared_files().unwrap()
    }
}

#[test]
fn shared_files_live_while_a_retained_or_pending_checkpoint_names_them() {
    let mut f = fixture(|c| {
        c.tolerable_failures = 10;
        c.retention = CheckpointRetention::RetainOnCancellation;
    });
    let others = [(0, 1), (1, 0), (1, 1)];
    // 1: a and b uploaded.
    f.tick(1000).unwrap();
    f.ack_shared((0, 0), 1, &["a", "b"], &[]);
    for task in others {
        f.ack_shared(task, 1, &[], &[]);
    }
    assert_eq!(f.storage.completed_checkpoints().unwrap(), vec![1]);
    // 2 reuses a and uploads c; completing it discards 1 (one retained): b goes, a stays.
    f.tick(2000).unwrap();
    f.ack_shared((0, 0), 2, &["c"], &["a"]);
    for task in others {
        f.ack_shared(task, 2, &[], &[]);
    }
    assert_eq!(f.storage.completed_checkpoints().unwrap(), vec![2]);
    assert_eq!(f.shared(), ["a", "c"]);
    let metadata = f.storage.read_metadata(2).unwrap();
    assert_eq!(
        (metadata.state_size(), metadata.full_state_size()),
        (4 + 3, 4 + 6)
    );
    // 3 fails after one subtask uploaded d: d goes with it, 2's files stay. A late
    // acknowledgement of 3 that uploaded e deletes e at once.
    f.tick(3000).unwrap();
    f.ack_shared((0, 0), 3, &["d"], &["a", "c"]);
    f.coordinator.decline((1, 0), 3, "disk full").unwrap();
    assert_eq!(f.shared(), ["a", "c"]);
    f.ack_shared((0, 1), 3, &["e"], &[]);
    assert_eq!(f.shared(), ["a", "c"]);
    // 4 reuses b, which is gone: the checkpoint fails, naming it; nothing it uploaded stays.
    f.tick(4000).unwrap();
    f.ack_shared((0, 0), 4, &["f"], &["b"]);
    let failure = f.coordinator.stats().latest_failed.clone().unwrap();
    assert!(
        failure.id == 4 && failure.message.contains("shared file b"),
        "{failure:?}"
    );
    assert_eq!(f.shared(), ["a", "c"]);
    // The job ends keeping 2 (retained on cancellation): its files stay, strays go.
    f.storage.write_shared("stray", vec![0]).unwrap();
    f.coordinator.job_ended(JobEnd::Canceled);
    assert_eq!(f.shared(), ["a", "c"]);
}

#[test]
fn a_job_that_keeps_nothing_deletes_its_shared_files() {
    let mut f = fixture(|_| {});
    f.tick(1000).unwrap();
    f.ack_shared((0, 0), 1, &["a"], &[]);
    for task in [(0, 1), (1, 0), (1, 1)] {
        f.ack_shared(task, 1, &[], &[]);
    }
    assert_eq!(f.shared(), ["a"]);
    f.coordinator.job_ended(JobEnd::Finished);
    assert!(f.shared().is_empty());
    assert!(f.storage.completed_checkpoints().unwrap().is_empty());
}

#[test]
fn a_checkpoint_completes_when_every_subtask_acknowledged_and_names_every_operator() {
    let mut f = fixture(|_| {});
    assert_eq!(f.tick(999), None);
    let trigger = f.tick(1000).unwrap();
    assert_eq!(trigger.barrier.id, 1);
    assert_eq!(trigger.barrier.timestamp, 1000);
    assert_eq!(trigger.tasks, vec![(0, 0), (0, 1)]);
    // One pending at a time (max-concurrent-checkpoints 1).
    assert_eq!(f.tick(2500), None);
    assert_eq!(f.ack(0, 0, 1, 1100), None);
    assert_eq!(f.ack(1, 1, 1, 1200), None);
    assert_eq!(f.ack(0, 1, 1, 1300), None);
    assert!(f.storage.completed_checkpoints().unwrap().is_empty());
    assert_eq!(f.ack(1, 0, 1, 1400), Some(1));
    assert_eq!(f.storage.completed_checkpoints().unwrap(), vec![1]);
    let metadata = f.storage.read_metadata(1).unwrap();
    assert_eq!(metadata.checkpoint_id, 1);
    assert_eq!(
        (metadata.trigger_timestamp, metadata.completion_timestamp),
        (1000, 1400)
    );
    let mut expected_ids = f.ids.to_vec();
    expected_ids.sort();
    let ids: Vec<&str> = metadata
        .operators
        .iter()
        .map(|o| o.operator_id.as_str())
        .collect();
    assert_eq!(ids, expected_ids);
    assert_eq!(f.ids[0], "the-source");
    for (index, operator) in f.ids.iter().enumerate() {
        let state = metadata.operator(operator).unwrap();
        assert_eq!(state.parallelism, 2);
        let vertex = u8::from(index == 2);
        for subtask in 0..2u8 {
            let handle = &state.subtasks[subtask as usize];
            assert_eq!(handle.size, 2);
            assert!(!handle.finished);
            let file = handle.file.as_deref().unwrap();
            assert_eq!(
                f.storage.read_state(1, file).unwrap(),
                vec![vertex, subtask]
            );
        }
    }
    // The next one is due one interval after the last trigger.
    let next = f.tick(2500).unwrap();
    assert_eq!(next.barrier.id, 2);
}

#[test]
fn finished_subtasks_stand_in_with_their_final_state_for_later_checkpoints() {
    let mut f = fixture(|_| {});
    // Source subtask 1 finished before any checkpoint, with a position to keep.
    let final_state = FinishedTaskState {
        last_barrier: 0,
        states: vec![
            (f.ids[0].clone(), vec![9, 9, 9]),
            (f.ids[1].clone(), vec![]),
        ],
    };
    let none = f
        .coordinator
        .task_finished((0, 1), final_state, f.at(10), 10)
        .unwrap();
    assert!(none.is_empty());
    let trigger = f.tick(1000).unwrap();
    assert_eq!(
        trigger.tasks,
        vec![(0, 0)],
        "only running sources get barriers"
    );
    f.ack(0, 0, 1, 1001);
    f.ack(1, 0, 1, 1002);
    // Sink subtask 1 finishes after passing barrier 1 on: it still acknowledges 1 itself.
    let late_final = FinishedTaskState {
        last_barrier: 1,
        states: vec![(f.ids[2].clone(), vec![7])],
    };
    assert!(f
        .coordinator
        .task_finished((1, 1), late_final, f.at(1003), 1003)
        .unwrap()
        .is_empty());
    assert_eq!(f.ack(1, 1, 1, 1004), Some(1));
    let metadata = f.storage.read_metadata(1).unwrap();
    let source = metadata.operator("the-source").unwrap();
    assert!(source.subtasks[1].finished);
    let file = source.subtasks[1].file.as_deref().unwrap();
    assert_eq!(f.storage.read_state(1, file).unwrap(), vec![9, 9, 9]);
    assert_eq!(
        metadata.operator(&f.ids[1]).unwrap().subtasks[1],
        SubtaskStateHandle {
            finished: true,
            ..SubtaskStateHandle::empty()
        }
    );
    // Checkpoint 2 uses sink subtask 1's final state.
    let trigger = f.tick(2000).unwrap();
    assert_eq!(trigger.barrier.id, 2);
    f.ack(0, 0, 2, 2001);
    assert_eq!(f.ack(1, 0, 2, 2002), Some(2));
    let sink = f.storage.read_metadata(2).unwrap();
    let sink = sink.operator(&f.ids[2]).unwrap();
    assert!(sink.subtasks[1].finished && !sink.subtasks[0].finished);
    // Retention (num-retained 1): checkpoint 1 is gone.
    assert_eq!(f.storage.completed_checkpoints().unwrap(), vec![2]);
}

#[test]
fn timeouts_and_declines_count_against_the_tolerance() {
    let mut f = fixture(|c| {
        c.timeout = Duration::from_millis(500);
        c.tolerable_failures = 1;
    });
    f.tick(1000).unwrap();
    f.ack(0, 0, 1, 1100);
    assert_eq!(f.coordinator.next_wakeup(), f.at(1500));
    // Expired at 1500: the first failure is tolerated, and the next is triggered at 2000.
    assert_eq!(f.tick(1500), None);
    assert_eq!(f.coordinator.stats().failed, 1);
    let trigger = f.tick(2000).unwrap();
    assert_eq!(trigger.barrier.id, 2);
    // A late acknowledgement of the aborted checkpoint is ignored.
    assert_eq!(f.ack(0, 1, 1, 2001), None);
    let error = f
        .coordinator
        .decline((1, 0), 2, "the disk is full")
        .unwrap_err();
    assert!(error.to_string().contains("the disk is full"), "{error}");
    assert!(
        error.to_string().contains("tolerable-failed-checkpoints"),
        "{error}"
    );
}

#[test]
fn a_completed_checkpoint_resets_the_failure_count_and_retention_follows_the_setting() {
    for (retention, end, kept) in [
        (
            CheckpointRetention::NoExternalizedCheckpoints,
            JobEnd::Failed,
            false,
        ),
        (
            CheckpointRetention::DeleteOnCancellation,
            JobEnd::Failed,
            true,
        ),
        (
            CheckpointRetention::DeleteOnCancellation,
            JobEnd::Canceled,
            false,
        ),
        (
            CheckpointRetention::RetainOnCancellation,
            JobEnd::Canceled,
            true,
        ),
        (
            CheckpointRetention::RetainOnCancellation,
            JobEnd::Finished,
            false,
        ),
    ] {
        let mut f = fixture(|c| {
            c.retention = retention;
            c.num_retained = 2;
        });
        for (id, at) in [(1u64, 1000u64), (2, 2000), (3, 3000)] {
            f.tick(at).unwrap();
            for (vertex, subtask) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                f.ack(vertex, subtask, id, at + 1);
            }
        }
        assert_eq!(f.coordinator.stats().completed, 3);
        assert_eq!(f.storage.completed_checkpoints().unwrap(), vec![2, 3]);
        // A checkpoint left pending is discarded whatever the setting.
        f.tick(4000).unwrap();
        f.ack(0, 0, 4, 4001);
        f.coordinator.job_ended(end);
        let left = f.storage.completed_checkpoints().unwrap();
        assert_eq!(
            left,
            if kept { vec![2, 3] } else { vec![] },
            "{retention:?} {end:?}"
        );
        assert!(f.storage.read_state(4, &format!("{}-0", f.ids[0])).is_err());
    }
}

#[test]
fn once_every_subtask_finished_the_final_checkpoint_completes_at_its_trigger() {
    let mut f = fixture(|c| c.min_pause = Duration::from_millis(5));
    let finish = |f: &mut Fixture, task: (usize, u32), ids: &[usize], at: u64| {
        let states = ids
            .iter()
            .map(|&i| (f.ids[i].clone(), vec![i as u8]))
            .collect();
        let state = FinishedTaskState {
            last_barrier: 0,
            states,
        };
        f.coordinator
            .task_finished(task, state, f.at(at), at as i64)
            .unwrap()
    };
    assert!(finish(&mut f, (0, 0), &[0, 1], 10).is_empty());
    assert!(finish(&mut f, (0, 1), &[0, 1], 11).is_empty());
    assert!(finish(&mut f, (1, 0), &[2], 12).is_empty());
    assert!(finish(&mut f, (1, 1), &[2], 13).is_empty());
    // Every subtask finished: the next checkpoint is due after the min pause rather than the
    // interval, goes to no source, and completes from the final states as it is triggered.
    let outcome = f.coordinator.on_timer(f.at(18), 18).unwrap();
    let trigger = outcome.trigger.unwrap();
    assert!(trigger.tasks.is_empty());
    let completed = outcome.completed.expect("complete at once");
    assert_eq!(completed.id, trigger.barrier.id);
    let metadata = f.storage.read_metadata(completed.id).unwrap();
    assert!(metadata
        .operators
        .iter()
        .all(|o| o.subtasks.iter().all(|s| s.finished)));
    assert_eq!(f.coordinator.take_aborted(), Vec::<u64>::new());
}

/// The one subfolder of `dir` (a savepoint folder), by name.
fn only_subfolder(dir: &std::path::Path) -> std::path::PathBuf {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

#[test]
fn a_savepoint_goes_to_its_own_folder_and_outlives_retention_and_the_job() {
    let mut f = fixture(|c| c.num_retained = 1);
    let target = tempfile::tempdir().unwrap();
    f.tick(1000).unwrap();
    let (id, outcome) = f
        .coordinator
        .trigger_savepoint(target.path().to_str().unwrap(), f.at(1100), 1100)
        .unwrap();
    assert_eq!(id, 2);
    let trigger = outcome.trigger.unwrap();
    assert_eq!(trigger.barrier.id, 2);
    assert_eq!(trigger.tasks, vec![(0, 0), (0, 1)]);
    assert_eq!(outcome.completed, None);
    // The savepoint completes first; checkpoint 1, older and still pending, is not subsumed
    // by it, and completes after it.
    for (vertex, subtask) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        f.ack(vertex, subtask, 2, 1200);
    }
    let folder = only_subfolder(target.path());
    let name = folder.file_name().unwrap().to_str().unwrap().to_string();
    let job_prefix = &f.storage.location().rsplit('/').next().unwrap()[..6];
    assert!(
        name.starts_with(&format!("savepoint-{job_prefix}-")) && name.len() == 29,
        "{name}"
    );
    let results = f.coordinator.take_savepoint_results();
    assert_eq!(results, vec![(2, Ok(folder.to_str().unwrap().to_string()))]);
    for (vertex, subtask) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        f.ack(vertex, subtask, 1, 1300);
    }
    // Every operator's files and the metadata are in the savepoint folder, none of it in the
    // job's folder, whose retained checkpoint is 1.
    let reader =
        eddy_checkpoint::CheckpointReader::open(folder.to_str().unwrap(), &Default::default())
            .unwrap();
    assert_eq!(reader.metadata().checkpoint_id, 2);
    assert_eq!(
        reader.read_state(&format!("{}-1", f.ids[2])).unwrap(),
        vec![1, 1]
    );
    assert_eq!(f.storage.completed_checkpoints().unwrap(), vec![1]);
    let history: Vec<(u64, bool)> = f
        .coordinator
        .stats()
        .history
        .iter()
        .map(|c| (c.id, c.is_savepoint))
        .collect();
    assert_eq!(history, vec![(2, true), (1, false)]);
    // Later checkpoints, retention and the job's end leave it alone.
    f.tick(2000).unwrap();
    for (vertex, subtask) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        f.ack(vertex, subtask, 3, 2001);
    }
    f.coordinator.job_ended(JobEnd::Finished);
    assert!(f.storage.completed_checkpoints().unwrap().is_empty());
    assert_eq!(only_subfolder(target.path()), folder);
    assert!(folder.join("_metadata").exists());
}

#[test]
fn a_failed_savepoint_is_reported_and_removed_without_failing_the_job() {
    let mut f = fixture(|c| c.tolerable_failures = 0);
    let target = tempfile::tempdir().unwrap();
    let (id, _) = f
        .coordinator
        .trigger_savepoint(target.path().to_str().unwrap(), f.at(100), 100)
        .unwrap();
    f.ack(0, 0, id, 150);
    f.coordinator
        .decline((1, 0), id, "the disk is full")
        .expect("a failed savepoint does not count against the tolerance");
    let results = f.coordinator.take_savepoint_results();
    assert_eq!(results.len(), 1);
    let (failed, reason) = &results[0];
    assert_eq!(*failed, id);
    assert!(
        reason.as_ref().unwrap_err().contains("the disk is full"),
        "{reason:?}"
    );
    assert_eq!(f.coordinator.take_aborted(), vec![id]);
    assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
    // A savepoint pending when the job ends fails too, and leaves nothing behind.
    let (pending, _) = f
        .coordinator
        .trigger_savepoint(target.path().to_str().unwrap(), f.at(200), 200)
        .unwrap();
    f.ack(0, 0, pending, 250);
    f.coordinator.job_ended(JobEnd::Canceled);
    let results = f.coordinator.take_savepoint_results();
    assert_eq!(results.len(), 1);
    assert!(results[0].1.as_ref().unwrap_err().contains("ended"));
    assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
}
