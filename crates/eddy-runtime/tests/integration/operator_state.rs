//! Checkpointed functions driven through the operator-level entry points: initialize (fresh or
//! from a snapshot), run, snapshot now, redistribute to another parallelism, restore.

use std::sync::{Arc, Mutex};

use eddy_core::{Batch, FnResult};
use eddy_functions::{
    FunctionInitializationContext, FunctionSnapshotContext, MapFunction, RuntimeContext,
    SideOutputs, SinkContext, SinkFunction,
};
use eddy_runtime::factory::{OperatorSetup, SideChannels, TaskSettings};
use eddy_runtime::operators::{
    Chained, MapLogic, OneInputLogic, OperatorStateHandler, SinkOperator,
};
use eddy_runtime::snapshot::RestoredOperatorState;
use eddy_state::time::ProcessingTimeService;
use eddy_state::OperatorStateStore;
use eddy_state::{redistribute, ListStateDescriptor, OperatorStateSnapshot};

/// What the functions report, in call order: `(function, subtask, event)`.
type Probe = Arc<Mutex<Vec<(&'static str, u32, String)>>>;

fn record(probe: &Probe, function: &'static str, subtask: u32, event: String) {
    probe.lock().unwrap().push((function, subtask, event));
}

/// Counts its elements per subtask (split-distribute: the counts are spread over the new
/// subtasks and summed) and tracks the largest element seen by any subtask (union: every
/// subtask gets all maxima).
#[derive(Clone)]
struct CountingMap {
    count: u64,
    max_seen: u32,
    subtask: Option<u32>,
    probe: Probe,
}

impl CountingMap {
    fn new(probe: &Probe) -> Self {
        CountingMap {
            count: 0,
            max_seen: 0,
            subtask: None,
            probe: probe.clone(),
        }
    }
    fn counts() -> ListStateDescriptor<u64> {
        ListStateDescriptor::new("count")
    }
    fn maxima() -> ListStateDescriptor<u32> {
        ListStateDescriptor::new("max-seen")
    }
}

impl MapFunction<u32, (u32, u64)> for CountingMap {
    fn map(&mut self, value: u32) -> FnResult<(u32, u64)> {
        self.count += 1;
        self.max_seen = self.max_seen.max(value);
        Ok((value, self.count))
    }

    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        let subtask = ctx.runtime_context().subtask_index;
        let restored = ctx.is_restored();
        let store = ctx.operator_state_store();
        self.count = store.list_state(&Self::counts())?.get()?.iter().sum();
        let maxima = store.union_list_state(&Self::maxima())?.get()?;
        self.max_seen = maxima.into_iter().max().unwrap_or(0);
        self.subtask = Some(subtask);
        let event = format!(
            "initialize_state restored={restored} count={} max_seen={}",
            self.count, self.max_seen
        );
        record(&self.probe, "map", subtask, event);
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        _ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        store
            .list_state(&Self::counts())?
            .update(vec![self.count])?;
        store
            .union_list_state(&Self::maxima())?
            .update(vec![self.max_seen])
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        if self.subtask.is_none() {
            return Err("open was called before initialize_state".into());
        }
        record(&self.probe, "map", ctx.subtask_index, "open".into());
        Ok(())
    }
}

/// Buffers everything it receives and never flushes: the buffer is its state.
#[derive(Clone)]
struct BufferingSink {
    buffer: Vec<(u32, u64)>,
    probe: Probe,
    subtask: u32,
}

impl BufferingSink {
    fn new(probe: &Probe) -> Self {
        BufferingSink {
            buffer: Vec::new(),
            probe: probe.clone(),
            subtask: 0,
        }
    }
    fn buffered() -> ListStateDescriptor<(u32, u64)> {
        ListStateDescriptor::new("buffered")
    }
}

impl SinkFunction<(u32, u64)> for BufferingSink {
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.subtask = ctx.runtime_context().subtask_index;
        let restored = ctx.is_restored();
        self.buffer = ctx
            .operator_state_store()
            .list_state(&Self::buffered())?
            .get()?;
        let event = format!(
            "initialize_state restored={restored} buffer={:?}",
            self.buffer
        );
        record(&self.probe, "sink", self.subtask, event);
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        _ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        store
            .list_state(&Self::buffered())?
            .update(self.buffer.clone())
    }

    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        record(&self.probe, "sink", self.subtask, "open".into());
        Ok(())
    }

    fn invoke(&mut self, value: (u32, u64), _ctx: &SinkContext) -> FnResult<()> {
        self.buffer.push(value);
        record(
            &self.probe,
            "sink",
            self.subtask,
            format!("invoke {value:?}"),
        );
        Ok(())
    }
}

/// Runs a counting map subtask from `restore` over `input` at the logic level and snapshots
/// it as checkpoint 1: returns the output and the snapshot.
fn run_map(
    probe: &Probe,
    restore: Option<OperatorStateSnapshot>,
    subtask: u32,
    parallelism: u32,
    input: Vec<u32>,
) -> (Vec<(u32, u64)>, OperatorStateSnapshot) {
    let ctx = RuntimeContext::for_testing(subtask, parallelism);
    let mut state = OperatorStateHandler::new(restore);
    let mut logic = MapLogic(CountingMap::new(probe));
    state
        .initialize(&ctx, |init| {
            OneInputLogic::<u32, (u32, u64)>::initialize_state(&mut logic, init)
        })
        .unwrap();
    OneInputLogic::<u32, (u32, u64)>::open(&mut logic, &ctx).unwrap();
    let output = logic
        .process(Batch::from_values(input), &ctx, &mut SideOutputs::new())
        .unwrap();
    let checkpoint = FunctionSnapshotContext::new(1, 1_000);
    let snapshot = state
        .snapshot(&checkpoint, |c, store| {
            OneInputLogic::<u32, (u32, u64)>::snapshot_state(&mut logic, c, store)
        })
        .unwrap();
    OneInputLogic::<u32, (u32, u64)>::close(&mut logic).unwrap();
    (output.into_values(), snapshot)
}

fn events(probe: &Probe, function: &str) -> Vec<(u32, String)> {
    probe
        .lock()
        .unwrap()
        .iter()
        .filter(|(f, _, _)| *f == function)
        .map(|(_, subtask, event)| (*subtask, event.clone()))
        .collect()
}

#[test]
fn counting_map_state_follows_rescales_3_to_2_to_4() {
    let probe = Probe::default();
    // Parallelism 3: counts 4, 1, 3; maxima 4, 5, 8.
    let inputs = [vec![1, 2, 3, 4], vec![5], vec![6, 7, 8]];
    let mut old = Vec::new();
    for (subtask, input) in inputs.into_iter().enumerate() {
        let (output, snapshot) = run_map(&probe, None, subtask as u32, 3, input);
        assert_eq!(
            output.last().map(|(_, count)| *count),
            output.len().try_into().ok()
        );
        old.push(snapshot);
    }
    assert_eq!(old[0].read_list::<u64>("count").unwrap(), Some(vec![4]));
    assert_eq!(old[2].read_list::<u32>("max-seen").unwrap(), Some(vec![8]));

    // 3 -> 2: counts [4, 1, 3] split as [4, 1] and [3]; every subtask gets all maxima.
    let shares = redistribute(&old, 2).unwrap();
    assert_eq!(
        shares[0].read_list::<u64>("count").unwrap(),
        Some(vec![4, 1])
    );
    assert_eq!(shares[1].read_list::<u64>("count").unwrap(), Some(vec![3]));
    probe.lock().unwrap().clear();
    let (out0, snap0) = run_map(&probe, Some(shares[0].clone()), 0, 2, vec![9]);
    let (out1, snap1) = run_map(&probe, Some(shares[1].clone()), 1, 2, vec![]);
    assert_eq!(out0, vec![(9, 6)]);
    assert!(out1.is_empty());
    assert_eq!(
        events(&probe, "map"),
        vec![
            (
                0,
                "initialize_state restored=true count=5 max_seen=8".into()
            ),
            (0, "open".into()),
            (
                1,
                "initialize_state restored=true count=3 max_seen=8".into()
            ),
            (1, "open".into()),
        ]
    );

    // 2 -> 4: counts [6, 3] become [6], [3], [], []; nothing is lost (9 elements in total).
    let shares = redistribute(&[snap0, snap1], 4).unwrap();
    probe.lock().unwrap().clear();
    for (subtask, share) in shares.into_iter().enumerate() {
        run_map(&probe, Some(share), subtask as u32, 4, vec![]);
    }
    let initialized: Vec<(u32, String)> = events(&probe, "map")
        .into_iter()
        .filter(|(_, event)| event.starts_with("initialize_state"))
        .collect();
    assert_eq!(
        initialized,
        vec![
            (
                0,
                "initialize_state restored=true count=6 max_seen=9".into()
            ),
            (
                1,
                "initialize_state restored=true count=3 max_seen=9".into()
            ),
            (
                2,
                "initialize_state restored=true count=0 max_seen=9".into()
            ),
            (
                3,
                "initialize_state restored=true count=0 max_seen=9".into()
            ),
        ]
    );
}

/// The setup of subtask `subtask` of `parallelism`, restoring `state`.
fn setup(subtask: u32, parallelism: u32, state: Option<OperatorStateSnapshot>) -> OperatorSetup {
    OperatorSetup {
        runtime: RuntimeContext::for_testing(subtask, parallelism),
        settings: TaskSettings::default(),
        clock: ProcessingTimeService::new(),
        operator_id: "tested".into(),
        restored: RestoredOperatorState {
            operator: state,
            ..RestoredOperatorState::default()
        },
    }
}

#[test]
fn chained_operators_restore_from_their_setup_and_initialize_before_open() {
    let probe = Probe::default();
    // A buffering sink at parallelism 1 received five elements, then a checkpoint.
    let mut sink = BufferingSink::new(&probe);
    let mut handler = OperatorStateHandler::new(None);
    let ctx = RuntimeContext::for_testing(0, 1);
    handler
        .initialize(&ctx, |init| sink.initialize_state(init))
        .unwrap();
    sink.open(&ctx).unwrap();
    let received: Vec<(u32, u64)> = (1..=5).map(|i| (i * 10, u64::from(i))).collect();
    sink.invoke_batch(Batch::from_values(received.clone()))
        .unwrap();
    let checkpoint = FunctionSnapshotContext::new(7, 42);
    let sink_snapshot = handler
        .snapshot(&checkpoint, |c, store| sink.snapshot_state(c, store))
        .unwrap();
    assert_eq!(
        sink_snapshot.read_list::<(u32, u64)>("buffered").unwrap(),
        Some(received)
    );

    // Rescaled to 3 chains `Map -> Sink`; the map starts without state of its own.
    let sink_shares = redistribute(&[sink_snapshot], 3).unwrap();
    probe.lock().unwrap().clear();
    let mut chains = Vec::new();
    for (subtask, share) in sink_shares.into_iter().enumerate() {
        let subtask = subtask as u32;
        let sink = SinkOperator::boxed(BufferingSink::new(&probe), setup(subtask, 3, Some(share)));
        let map = Chained::boxed(
            MapLogic(CountingMap::new(&probe)),
            setup(subtask, 3, None),
            sink,
            SideChannels::new(Vec::new()).unwrap(),
        );
        chains.push(map);
    }
    for chain in &mut chains {
        chain.open().unwrap();
    }
    chains[2].push(Batch::from_values(vec![60])).unwrap();
    for chain in &mut chains {
        chain.close().unwrap();
    }

    let log: Vec<(&str, u32, String)> = probe.lock().unwrap().clone();
    let expected: Vec<(&str, u32, String)> = vec![
        (
            "sink",
            0,
            "initialize_state restored=true buffer=[(10, 1), (20, 2)]".into(),
        ),
        ("sink", 0, "open".into()),
        (
            "map",
            0,
            "initialize_state restored=false count=0 max_seen=0".into(),
        ),
        ("map", 0, "open".into()),
        (
            "sink",
            1,
            "initialize_state restored=true buffer=[(30, 3), (40, 4)]".into(),
        ),
        ("sink", 1, "open".into()),
        (
            "map",
            1,
            "initialize_state restored=false count=0 max_seen=0".into(),
        ),
        ("map", 1, "open".into()),
        (
            "sink",
            2,
            "initialize_state restored=true buffer=[(50, 5)]".into(),
        ),
        ("sink", 2, "open".into()),
        (
            "map",
            2,
            "initialize_state restored=false count=0 max_seen=0".into(),
        ),
        ("map", 2, "open".into()),
        ("sink", 2, "invoke (60, 1)".into()),
    ];
    assert_eq!(log, expected);
}

#[test]
fn a_state_error_in_initialize_state_fails_open_naming_the_operator() {
    #[derive(Clone)]
    struct Confused;
    impl MapFunction<u32, (u32, u64)> for Confused {
        fn map(&mut self, value: u32) -> FnResult<(u32, u64)> {
            Ok((value, 0))
        }
        fn initialize_state(
            &mut self,
            ctx: &mut FunctionInitializationContext<'_>,
        ) -> FnResult<()> {
            let store = ctx.operator_state_store();
            store.list_state(&ListStateDescriptor::<u32>::new("s"))?;
            store.union_list_state(&ListStateDescriptor::<u32>::new("s"))?;
            Ok(())
        }
    }
    let probe = Probe::default();
    let sink = SinkOperator::boxed(BufferingSink::new(&probe), setup(1, 2, None));
    let mut chain = Chained::boxed(
        MapLogic(Confused),
        setup(1, 2, None),
        sink,
        SideChannels::new(Vec::new()).unwrap(),
    );
    let message = chain.open().unwrap_err().to_string();
    assert!(
        message.contains("test (2/2) failed")
            && message.contains(
                "operator state 's' is a split-distribute list state of u32 but was asked for \
                 as a union list state of u32"
            ),
        "{message}"
    );
    chain.close().unwrap();
}
