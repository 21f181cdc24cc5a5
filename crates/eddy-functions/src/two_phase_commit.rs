//! Exactly-once sinks by two-phase commit (Flink's `TwoPhaseCommitSinkFunction`).
//!
//! A [`TwoPhaseCommitSink`] writes into transactions. [`TwoPhaseCommitSinkFunction`] drives
//! it through checkpoints:
//!
//! 1. a transaction is begun when the sink opens and after every checkpoint barrier;
//! 2. at barrier n the current transaction is **pre-committed** (flushed, made durable but not
//!    visible) and kept, with n, in the sink's operator state;
//! 3. when checkpoint n **completes**, every pre-committed transaction up to n is committed
//!    (made visible);
//! 4. after a failure, the restored state lists the transactions pre-committed for the
//!    checkpoint restored from (or earlier) that may not have been committed: they are
//!    committed again, which is why `commit` must be idempotent; what was written after that
//!    checkpoint was never committed and is cleaned up ([`TwoPhaseCommitSink::recovered`]).
//!
//! At the end of a bounded input the last transaction is pre-committed and committed by the
//! final checkpoint the task waits for; without checkpointing it is committed right away.

use eddy_core::{Batch, Data, FnResult};
use eddy_state::{ListStateDescriptor, OperatorStateStore};

use crate::sink::{SinkContext, SinkFunction};
use crate::{FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext};

/// The error of an element arriving after the sink's input ended.
const INPUT_ENDED: &str = "the sink received an element after its input ended";

/// A sink that writes into transactions: the contract [`TwoPhaseCommitSinkFunction`] drives.
pub trait TwoPhaseCommitSink<T>: Clone + Send + 'static {
    /// What identifies a transaction durably (it is kept in checkpoints between pre-commit
    /// and commit): file names, a transactional id, …
    type Transaction: Data;

    /// Called once per subtask, before anything else.
    fn open(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        Ok(())
    }

    /// After a restore or a restart (`ctx.attempt_number > 0`), once the restored transactions
    /// are committed again and before the first new one begins: remove what the failed run
    /// wrote after its last checkpoint.
    fn recovered(&mut self, _ctx: &RuntimeContext) -> FnResult<()> {
        Ok(())
    }

    /// Starts a transaction.
    fn begin_transaction(&mut self) -> FnResult<Self::Transaction>;

    /// Writes one element into `transaction`.
    fn invoke(
        &mut self,
        transaction: &mut Self::Transaction,
        value: T,
        ctx: &SinkContext,
    ) -> FnResult<()>;

    /// Makes `transaction` durable without making it visible; it is committed once the
    /// checkpoint it belongs to completes.
    fn pre_commit(&mut self, transaction: &mut Self::Transaction) -> FnResult<()>;

    /// Makes a pre-committed transaction visible. Must be idempotent: after a failure, a
    /// transaction may be committed again.
    fn commit(&mut self, transaction: Self::Transaction) -> FnResult<()>;

    /// Discards a transaction that will not be committed (the sink closes on a failure or a
    /// cancellation before pre-committing it).
    fn abort(&mut self, transaction: Self::Transaction) -> FnResult<()>;

    /// Called once at the end.
    fn close(&mut self) -> FnResult<()> {
        Ok(())
    }
}

/// Runs a [`TwoPhaseCommitSink`] as a [`SinkFunction`], exactly-once with checkpoints.
#[derive(Clone)]
pub struct TwoPhaseCommitSinkFunction<S: TwoPhaseCommitSink<T>, T> {
    sink: S,
    /// Pre-committed transactions of every subtask by checkpoint (union list state: after a
    /// restore every subtask sees all of them; committing twice is harmless).
    state: ListStateDescriptor<(u64, S::Transaction)>,
    current: Option<S::Transaction>,
    pending: Vec<(u64, S::Transaction)>,
    restored: Vec<(u64, S::Transaction)>,
    /// Restored from a snapshot.
    recovering: bool,
    last_checkpoint: u64,
    checkpointing: bool,
    _input: std::marker::PhantomData<fn(T)>,
}

impl<S: TwoPhaseCommitSink<T>, T> TwoPhaseCommitSinkFunction<S, T> {
    /// The sink function driving `sink`.
    pub fn new(sink: S) -> Self {
        TwoPhaseCommitSinkFunction {
            sink,
            state: ListStateDescriptor::new("two-phase-commit-pending-transactions"),
            current: None,
            pending: Vec::new(),
            restored: Vec::new(),
            recovering: false,
            last_checkpoint: 0,
            checkpointing: false,
            _input: std::marker::PhantomData,
        }
    }

    /// Commits the pre-committed transactions of checkpoints up to `checkpoint_id`.
    fn commit_up_to(&mut self, checkpoint_id: u64) -> FnResult<()> {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(id, _)| *id <= checkpoint_id);
        self.pending = later;
        due.into_iter()
            .try_for_each(|(_, transaction)| self.sink.commit(transaction))
    }
}

impl<S: TwoPhaseCommitSink<T>, T: Data> SinkFunction<T> for TwoPhaseCommitSinkFunction<S, T> {
    fn initialize_state(&mut self, ctx: &mut FunctionInitializationContext<'_>) -> FnResult<()> {
        self.recovering = ctx.is_restored();
        let list = ctx.operator_state_store().union_list_state(&self.state)?;
        if self.recovering {
            self.restored = list.get()?;
        }
        Ok(())
    }

    fn open(&mut self, ctx: &RuntimeContext) -> FnResult<()> {
        self.checkpointing = ctx.checkpointing;
        self.sink.open(ctx)?;
        for (_, transaction) in std::mem::take(&mut self.restored) {
            self.sink.commit(transaction)?;
        }
        if self.recovering || ctx.attempt_number > 0 {
            self.sink.recovered(ctx)?;
        }
        self.current = Some(self.sink.begin_transaction()?);
        Ok(())
    }

    fn invoke(&mut self, value: T, ctx: &SinkContext) -> FnResult<()> {
        let transaction = self.current.as_mut().ok_or(INPUT_ENDED)?;
        self.sink.invoke(transaction, value, ctx)
    }

    fn invoke_batch(&mut self, batch: Batch<T>) -> FnResult<()> {
        let mut transaction = self.current.take().ok_or(INPUT_ENDED)?;
        let result = batch.into_records().try_for_each(|record| {
            let ctx = SinkContext::new(record.timestamp);
            self.sink.invoke(&mut transaction, record.value, &ctx)
        });
        self.current = Some(transaction);
        result
    }

    fn snapshot_state(
        &mut self,
        ctx: &FunctionSnapshotContext,
        store: &mut OperatorStateStore,
    ) -> FnResult<()> {
        if let Some(mut transaction) = self.current.take() {
            self.sink.pre_commit(&mut transaction)?;
            self.pending.push((ctx.checkpoint_id(), transaction));
            self.current = Some(self.sink.begin_transaction()?);
        }
        self.last_checkpoint = ctx.checkpoint_id();
        store
            .union_list_state(&self.state)?
            .update(self.pending.clone())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> FnResult<()> {
        self.commit_up_to(checkpoint_id)
    }

    fn finish(&mut self) -> FnResult<()> {
        if let Some(mut transaction) = self.current.take() {
            self.sink.pre_commit(&mut transaction)?;
            // Committed by the final checkpoint, whose id is after every earlier one.
            self.pending.push((self.last_checkpoint + 1, transaction));
        }
        if !self.checkpointing {
            self.commit_up_to(u64::MAX)?;
        }
        Ok(())
    }

    fn close(&mut self) -> FnResult<()> {
        // Pre-committed transactions stay: a restore may still commit them.
        let aborted = match self.current.take() {
            Some(transaction) => self.sink.abort(transaction),
            None => Ok(()),
        };
        aborted.and(self.sink.close())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Transactions are numbered lists of values (numbers shared by every instance);
    /// committing appends a list to `visible` once.
    #[derive(Clone, Default)]
    struct ListSink {
        log: Arc<Mutex<Vec<String>>>,
        visible: Arc<Mutex<Vec<u32>>>,
        next: Arc<Mutex<u32>>,
    }

    impl TwoPhaseCommitSink<u32> for ListSink {
        type Transaction = (u32, Vec<u32>);
        fn begin_transaction(&mut self) -> FnResult<(u32, Vec<u32>)> {
            let mut next = self.next.lock().unwrap();
            *next += 1;
            Ok((*next, Vec::new()))
        }
        fn invoke(&mut self, t: &mut (u32, Vec<u32>), value: u32, _: &SinkContext) -> FnResult<()> {
            t.1.push(value);
            Ok(())
        }
        fn pre_commit(&mut self, t: &mut (u32, Vec<u32>)) -> FnResult<()> {
            self.log.lock().unwrap().push(format!("pre-commit {}", t.0));
            Ok(())
        }
        fn commit(&mut self, t: (u32, Vec<u32>)) -> FnResult<()> {
            let mut log = self.log.lock().unwrap();
            let entry = format!("commit {}", t.0);
            if !log.contains(&entry) {
                self.visible.lock().unwrap().extend(t.1);
            }
            log.push(entry);
            Ok(())
        }
        fn abort(&mut self, t: (u32, Vec<u32>)) -> FnResult<()> {
            self.log.lock().unwrap().push(format!("abort {}", t.0));
            Ok(())
        }
    }

    fn context(checkpointing: bool) -> RuntimeContext {
        let mut ctx = RuntimeContext::for_testing(0, 1);
        ctx.checkpointing = checkpointing;
        ctx
    }

    fn open(
        sink: &ListSink,
        restore: Option<eddy_state::OperatorStateSnapshot>,
        checkpointing: bool,
    ) -> (
        TwoPhaseCommitSinkFunction<ListSink, u32>,
        OperatorStateStore,
    ) {
        let ctx = context(checkpointing);
        let restored = restore.is_some();
        let mut store = restore.map(OperatorStateStore::restore).unwrap_or_default();
        let mut function = TwoPhaseCommitSinkFunction::new(sink.clone());
        function
            .initialize_state(&mut FunctionInitializationContext::new(
                restored, &mut store, &ctx,
            ))
            .unwrap();
        function.open(&ctx).unwrap();
        (function, store)
    }

    fn write(function: &mut TwoPhaseCommitSinkFunction<ListSink, u32>, values: &[u32]) {
        for &v in values {
            function.invoke(v, &SinkContext::new(0)).unwrap();
        }
    }

    #[test]
    fn transactions_become_visible_when_their_checkpoint_completes() {
        let sink = ListSink::default();
        let (mut function, mut store) = open(&sink, None, true);
        write(&mut function, &[1, 2]);
        function
            .snapshot_state(&FunctionSnapshotContext::new(1, 0), &mut store)
            .unwrap();
        write(&mut function, &[3]);
        function
            .snapshot_state(&FunctionSnapshotContext::new(2, 0), &mut store)
            .unwrap();
        assert!(sink.visible.lock().unwrap().is_empty());
        function.notify_checkpoint_complete(1).unwrap();
        assert_eq!(*sink.visible.lock().unwrap(), vec![1, 2]);
        write(&mut function, &[4]);
        // The end of the input: the last transaction waits for the final checkpoint (3).
        function.finish().unwrap();
        assert_eq!(*sink.visible.lock().unwrap(), vec![1, 2]);
        function.notify_checkpoint_complete(3).unwrap();
        assert_eq!(*sink.visible.lock().unwrap(), vec![1, 2, 3, 4]);
        function.close().unwrap();
    }

    #[test]
    fn a_restore_commits_what_its_checkpoint_pre_committed_and_nothing_later() {
        let sink = ListSink::default();
        let (mut function, mut store) = open(&sink, None, true);
        write(&mut function, &[1, 2]);
        function
            .snapshot_state(&FunctionSnapshotContext::new(1, 0), &mut store)
            .unwrap();
        let checkpoint_1 = store.snapshot().unwrap();
        write(&mut function, &[3]);
        // Checkpoint 1 completed, but the sink failed before it heard so.
        function.close().unwrap();
        assert!(sink.log.lock().unwrap().contains(&"abort 2".to_string()));
        let (mut restored, _) = open(&sink, Some(checkpoint_1.clone()), true);
        assert_eq!(*sink.visible.lock().unwrap(), vec![1, 2]);
        // A second restore from the same checkpoint commits nothing twice.
        let _ = open(&sink, Some(checkpoint_1), true);
        assert_eq!(*sink.visible.lock().unwrap(), vec![1, 2]);
        write(&mut restored, &[3]);
        restored.finish().unwrap();
        restored.notify_checkpoint_complete(2).unwrap();
        assert_eq!(*sink.visible.lock().unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn without_checkpointing_the_end_of_input_commits() {
        let sink = ListSink::default();
        let (mut function, _) = open(&sink, None, false);
        write(&mut function, &[5, 6]);
        function.finish().unwrap();
        assert_eq!(*sink.visible.lock().unwrap(), vec![5, 6]);
    }
}
