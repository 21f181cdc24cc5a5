//! Operator state in a running job: every subtask's functions get `initialize_state` before
//! `open`, with a fresh (not restored) store they can register lists in and read back.

use crate::common;

use std::sync::{Arc, Mutex};

use common::{bounded, env};
use eddy_api::prelude::*;

/// `(function, subtask, event)` in the order each subtask saw them.
type Events = Arc<Mutex<Vec<(&'static str, u32, String)>>>;

/// A non-parallel source that keeps its read offset in split-distribute operator state
/// (Flink's classic example): it starts from the stored offset, 0 on a fresh start.
#[derive(Clone)]
struct OffsetSource {
    offsets: ListStateDescriptor<u64>,
    next: Option<u64>,
    end: u64,
    events: Events,
}

impl SourceFunction<u64> for OffsetSource {
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        let restored = ctx.is_restored();
        let stored = ctx
            .operator_state_store()
            .list_state(&self.offsets)?
            .get()?;
        self.next = Some(stored.into_iter().max().unwrap_or(0));
        let event = format!(
            "initialize_state restored={restored} offset={:?}",
            self.next
        );
        self.events.lock().unwrap().push(("source", 0, event));
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        _ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        let offset = self.next.ok_or("snapshot before initialize_state")?;
        store.list_state(&self.offsets)?.update(vec![offset])
    }

    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        let next = self.next.ok_or("open was called before initialize_state")?;
        self.events
            .lock()
            .unwrap()
            .push(("source", 0, format!("open at {next}")));
        Ok(())
    }

    fn poll_next(&mut self, out: &mut SourceOutput<'_, u64>) -> FnResult<SourceStatus> {
        let next = self.next.as_mut().ok_or("poll before initialize_state")?;
        while *next < self.end && out.remaining() > 0 {
            out.collect(*next);
            *next += 1;
        }
        Ok(if *next == self.end {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        })
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

/// Classifies numbers by thresholds held in union operator state: on a fresh start every
/// subtask seeds the state with the defaults it was built with, then works from what the store
/// holds (after a restore that would be the thresholds of all old subtasks).
#[derive(Clone)]
struct Classify {
    thresholds: ListStateDescriptor<u64>,
    defaults: Vec<u64>,
    active: Vec<u64>,
    events: Events,
}

impl MapFunction<u64, (u64, usize)> for Classify {
    fn map(&mut self, value: u64) -> FnResult<(u64, usize)> {
        if self.active.is_empty() {
            return Err("map before initialize_state".into());
        }
        let class = self.active.iter().filter(|&&t| value >= t).count();
        Ok((value, class))
    }

    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        let restored = ctx.is_restored();
        let subtask = ctx.runtime_context().subtask_index;
        let mut thresholds = ctx
            .operator_state_store()
            .union_list_state(&self.thresholds)?;
        if !restored {
            thresholds.update(self.defaults.clone())?;
        }
        self.active = thresholds.get()?;
        let names = ctx.operator_state_store().state_names().join(",");
        let event = format!(
            "initialize_state restored={restored} states={names} thresholds={:?}",
            self.active
        );
        self.events.lock().unwrap().push(("map", subtask, event));
        Ok(())
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        let event = format!("open with {} thresholds", self.active.len());
        self.events
            .lock()
            .unwrap()
            .push(("map", ctx.subtask_index, event));
        Ok(())
    }
}

#[test]
fn functions_initialize_operator_state_before_open_in_every_subtask() {
    let events = Events::default();
    let job_events = events.clone();
    let mut output = bounded(move || {
        let env = env(3);
        let source = OffsetSource {
            offsets: ListStateDescriptor::new("offsets"),
            next: None,
            end: 30,
            events: job_events.clone(),
        };
        env.add_source(source)
            .rebalance()
            .map_function(Classify {
                thresholds: ListStateDescriptor::new("thresholds"),
                defaults: vec![10, 20],
                active: Vec::new(),
                events: job_events,
            })
            .execute_and_collect("operator-state")
            .unwrap()
    });
    output.sort_unstable();
    let expected: Vec<(u64, usize)> = (0..30).map(|x| (x, (x / 10) as usize)).collect();
    assert_eq!(output, expected);

    let events = events.lock().unwrap().clone();
    let of = |function: &str, subtask: u32| -> Vec<String> {
        events
            .iter()
            .filter(|(f, s, _)| *f == function && *s == subtask)
            .map(|(_, _, e)| e.clone())
            .collect()
    };
    assert_eq!(
        of("source", 0),
        vec![
            "initialize_state restored=false offset=Some(0)".to_string(),
            "open at 0".to_string(),
        ]
    );
    for subtask in 0..3 {
        assert_eq!(
            of("map", subtask),
            vec![
                "initialize_state restored=false states=thresholds thresholds=[10, 20]".to_string(),
                "open with 2 thresholds".to_string(),
            ],
            "map subtask {subtask}"
        );
    }
    assert_eq!(events.len(), 2 + 3 * 2);
}
