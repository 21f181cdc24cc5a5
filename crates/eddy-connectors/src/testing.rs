//! Test helpers: drive sources as the runtime would, and run bounded local TCP servers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eddy_core::{Batch, FnResult};
use eddy_functions::{
    FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext, SourceFunction,
    SourceOutput, SourceStatus,
};
use eddy_state::{redistribute, OperatorStateSnapshot, OperatorStateStore};

/// The batch capacity the helpers use: small, so that batching is exercised.
pub const CAPACITY: usize = 3;

/// The most polls a helper makes before giving up (so a broken source cannot hang a test).
const MAX_POLLS: usize = 100_000;

/// The longest a helper sleeps when a source reports `NothingAvailable`.
const MAX_SLEEP: Duration = Duration::from_millis(5);

/// How long test servers and clients wait for anything before giving up.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Polls an opened source until it finishes (or `limit` values were collected), with batches
/// of [`CAPACITY`], and returns the values in emission order.
pub fn drive<T, S: SourceFunction<T>>(source: &mut S, limit: Option<usize>) -> FnResult<Vec<T>> {
    let mut values = Vec::new();
    let mut batch: Batch<T> = Batch::new();
    for _ in 0..MAX_POLLS {
        let mut out = SourceOutput::new(&mut batch, CAPACITY);
        let status = source.poll_next(&mut out)?;
        values.extend(std::mem::take(&mut batch).into_values());
        if let Some(n) = limit {
            if values.len() >= n {
                values.truncate(n);
                return Ok(values);
            }
        }
        match status {
            SourceStatus::MoreAvailable => {}
            SourceStatus::NothingAvailable(d) => std::thread::sleep(d.min(MAX_SLEEP)),
            SourceStatus::Finished => return Ok(values),
        }
    }
    Err(format!("source did not finish within {MAX_POLLS} polls").into())
}

/// Runs subtask `index` of `parallelism` on a clone of `source` until it finishes.
pub fn run_subtask<T, S: SourceFunction<T>>(
    source: &S,
    index: u32,
    parallelism: u32,
) -> FnResult<Vec<T>> {
    take_subtask(source, index, parallelism, None)
}

/// Runs subtask `index` of `parallelism` on a clone of `source` until it finishes or `limit`
/// values were collected.
pub fn take_subtask<T, S: SourceFunction<T>>(
    source: &S,
    index: u32,
    parallelism: u32,
    limit: Option<usize>,
) -> FnResult<Vec<T>> {
    let mut instance = source.clone();
    instance.open(&RuntimeContext::for_testing(index, parallelism))?;
    let values = drive(&mut instance, limit)?;
    instance.close()?;
    Ok(values)
}

/// Runs every subtask of `parallelism` to completion; element `i` holds subtask `i`'s values.
pub fn run_parallel<T, S: SourceFunction<T>>(
    source: &S,
    parallelism: u32,
) -> FnResult<Vec<Vec<T>>> {
    (0..parallelism)
        .map(|i| run_subtask(source, i, parallelism))
        .collect()
}

/// A port on 127.0.0.1 on which nothing listens (bound and released right away).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Starts a one-connection server on 127.0.0.1 (ephemeral port). The thread gives up if no
/// client connects within [`IO_TIMEOUT`]; the accepted stream has read and write timeouts.
pub fn serve_once<R: Send + 'static>(
    handler: impl FnOnce(TcpStream) -> R + Send + 'static,
) -> (SocketAddr, JoinHandle<Option<R>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).ok()?;
                    stream.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
                    stream.set_write_timeout(Some(IO_TIMEOUT)).ok()?;
                    return Some(handler(stream));
                }
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => return None,
            }
        }
    });
    (addr, handle)
}

/// A server that sends `data` to its one client and then closes the connection.
pub fn serve_bytes(data: &'static [u8]) -> (SocketAddr, JoinHandle<Option<()>>) {
    serve_once(move |mut stream| {
        stream.write_all(data).ok();
    })
}

/// A server that returns everything its one client sent until the client closed.
pub fn serve_collect() -> (SocketAddr, JoinHandle<Option<Vec<u8>>>) {
    serve_once(|mut stream| {
        let mut received = Vec::new();
        stream.read_to_end(&mut received).ok();
        received
    })
}

/// Polls an opened source `polls` times (or until it finishes) and returns every value the
/// polls emitted.
pub fn poll_times<T, S: SourceFunction<T>>(source: &mut S, polls: usize) -> FnResult<Vec<T>> {
    let mut values = Vec::new();
    let mut batch: Batch<T> = Batch::new();
    for _ in 0..polls {
        let mut out = SourceOutput::new(&mut batch, CAPACITY);
        let status = source.poll_next(&mut out)?;
        values.extend(std::mem::take(&mut batch).into_values());
        if status == SourceStatus::Finished {
            break;
        }
    }
    Ok(values)
}

/// What every subtask emitted before a snapshot, and what the restored subtasks emitted after.
#[derive(Debug)]
pub struct RestoredRun<T> {
    /// Element `i`: what old subtask `i` emitted before the snapshot.
    pub before: Vec<Vec<T>>,
    /// Element `i`: what new subtask `i` emitted after the restore, to the end.
    pub after: Vec<Vec<T>>,
}

impl<T: Ord + Clone> RestoredRun<T> {
    /// Everything emitted, before and after, sorted.
    pub fn all_sorted(&self) -> Vec<T> {
        let mut all: Vec<T> = self
            .before
            .iter()
            .chain(&self.after)
            .flatten()
            .cloned()
            .collect();
        all.sort();
        all
    }
}

/// Runs `source` at `old_parallelism` for `polls` polls per subtask, snapshots every subtask's
/// operator state (as a checkpoint would: `snapshot_state`, then the store), redistributes the
/// snapshots to `new_parallelism`, and runs restored clones of `source` to the end (or until
/// each has emitted `limit` values).
pub fn run_with_restore<T, S: SourceFunction<T>>(
    source: &S,
    old_parallelism: u32,
    polls: usize,
    new_parallelism: u32,
    limit: Option<usize>,
) -> FnResult<RestoredRun<T>> {
    let (before, snapshots) = run_and_snapshot(source, old_parallelism, polls)?;
    let after = restore_and_run(source, &snapshots, new_parallelism, limit)?;
    Ok(RestoredRun { before, after })
}

/// Runs every subtask of `source` at `parallelism` for `polls` polls, then snapshots its
/// operator state; returns what each emitted and each snapshot.
pub fn run_and_snapshot<T, S: SourceFunction<T>>(
    source: &S,
    parallelism: u32,
    polls: usize,
) -> FnResult<(Vec<Vec<T>>, Vec<OperatorStateSnapshot>)> {
    let mut emitted = Vec::new();
    let mut snapshots = Vec::new();
    for index in 0..parallelism {
        let runtime = RuntimeContext::for_testing(index, parallelism);
        let mut store = OperatorStateStore::new();
        let mut instance = source.clone();
        instance.initialize_state(&mut FunctionInitializationContext::new(
            false, &mut store, &runtime,
        ))?;
        instance.open(&runtime)?;
        emitted.push(poll_times(&mut instance, polls)?);
        instance.snapshot_state(&FunctionSnapshotContext::new(1, 0), &mut store)?;
        snapshots.push(store.snapshot()?);
        instance.close()?;
    }
    Ok((emitted, snapshots))
}

/// Redistributes `snapshots` to `parallelism` subtasks and runs restored clones of `source` to
/// the end (or until each has emitted `limit` values); returns what each emitted.
pub fn restore_and_run<T, S: SourceFunction<T>>(
    source: &S,
    snapshots: &[OperatorStateSnapshot],
    parallelism: u32,
    limit: Option<usize>,
) -> FnResult<Vec<Vec<T>>> {
    let shares = redistribute(snapshots, parallelism)?;
    let mut emitted = Vec::new();
    for (index, share) in (0..parallelism).zip(shares) {
        let runtime = RuntimeContext::for_testing(index, parallelism);
        let mut store = OperatorStateStore::restore(share);
        let mut instance = source.clone();
        instance.initialize_state(&mut FunctionInitializationContext::new(
            true, &mut store, &runtime,
        ))?;
        instance.open(&runtime)?;
        emitted.push(drive(&mut instance, limit)?);
        instance.close()?;
    }
    Ok(emitted)
}
