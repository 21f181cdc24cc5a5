//! An operator's operator state: the store its functions share, and the two entry points
//! checkpoints use — initialize (fresh or from a snapshot) and snapshot now.

use eddy_core::FnResult;
use eddy_functions::{FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext};
use eddy_state::{OperatorStateSnapshot, OperatorStateStore};

/// The operator state of one operator in one subtask.
///
/// Every operator that runs user functions owns one, built from
/// [`OperatorSetup::operator_state`](crate::factory::OperatorSetup::operator_state) (`None`
/// today; a checkpoint restore will supply this subtask's share of the redistributed
/// snapshots). The operator calls [`initialize`](Self::initialize) once, before its functions'
/// `open`, handing the functions' `initialize_state` the store; a checkpoint calls
/// [`snapshot`](Self::snapshot), which lets the functions write their state and returns the
/// store's [`OperatorStateSnapshot`].
#[derive(Debug, Default)]
pub struct OperatorStateHandler {
    store: OperatorStateStore,
    restored: bool,
}

impl OperatorStateHandler {
    /// The state of an operator that starts fresh (`None`: an empty store, not restored) or
    /// from `snapshot` (restored, also when the snapshot is empty).
    pub fn new(snapshot: Option<OperatorStateSnapshot>) -> Self {
        match snapshot {
            None => OperatorStateHandler::default(),
            Some(snapshot) => OperatorStateHandler {
                store: OperatorStateStore::restore(snapshot),
                restored: true,
            },
        }
    }

    /// Whether the state was restored from a snapshot.
    pub fn is_restored(&self) -> bool {
        self.restored
    }

    /// The store, for inspection.
    pub fn store(&self) -> &OperatorStateStore {
        &self.store
    }

    /// Runs the functions' `initialize_state` (in `init`) with a context over this store. Call
    /// once per subtask, before the functions' `open`.
    pub fn initialize(
        &mut self,
        runtime: &RuntimeContext,
        init: impl FnOnce(&mut FunctionInitializationContext<'_>) -> FnResult<()>,
    ) -> FnResult<()> {
        init(&mut FunctionInitializationContext::new(
            self.restored,
            &mut self.store,
            runtime,
        ))
    }

    /// Runs the functions' `snapshot_state` (in `write`) against this store, then snapshots
    /// the store.
    pub fn snapshot(
        &mut self,
        ctx: &FunctionSnapshotContext,
        write: impl FnOnce(&FunctionSnapshotContext, &mut OperatorStateStore) -> FnResult<()>,
    ) -> FnResult<OperatorStateSnapshot> {
        write(ctx, &mut self.store)?;
        self.store.snapshot()
    }
}
