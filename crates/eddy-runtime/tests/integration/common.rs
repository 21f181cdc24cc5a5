//! Helpers shared by the harness tests: the state backends to run on, and the check that runs
//! an operator through every interruption.

use eddy_core::config::{StateBackendType, TimerServiceFactory};
use eddy_core::StreamRecord;
use eddy_runtime::operators::OneInputLogic;
use eddy_runtime::testing::{run_with_restore_routed, HarnessInput, Route};
use eddy_state::time::ProcessingTimeService;
use eddy_state::StateBackendConfig;

/// The interruptions every operator goes through: (parallelism before, after).
const RESCALES: [(u32, u32); 3] = [(1, 1), (1, 3), (3, 2)];

/// A state backend to run on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    /// The heap backend.
    Heap,
    /// RocksDB, with timers where the factory says.
    RocksDb(TimerServiceFactory),
}

impl Backend {
    /// The backend's configuration.
    pub fn config(self) -> StateBackendConfig {
        match self {
            Backend::Heap => StateBackendConfig::default(),
            Backend::RocksDb(timers) => StateBackendConfig {
                backend: StateBackendType::RocksDb,
                timer_service: timers,
                ..StateBackendConfig::default()
            },
        }
    }
}

/// The (before, after) backend pairs of this build: the heap alone, and with RocksDB every
/// pairing, so snapshots cross between the backends in both directions.
fn backend_pairs() -> Vec<(Backend, Backend)> {
    let mut backends = vec![Backend::Heap];
    if cfg!(feature = "rocksdb") {
        backends.push(Backend::RocksDb(TimerServiceFactory::RocksDb));
        backends.push(Backend::RocksDb(TimerServiceFactory::Heap));
    }
    let mut pairs = Vec::new();
    for &before in &backends {
        for &after in &backends {
            pairs.push((before, after));
        }
    }
    pairs
}

/// Runs `inputs` interrupted after `cut` inputs at every rescale and backend pair, each
/// operator built by `make(backend, clock)`, and checks the complete output (as a multiset:
/// subtasks interleave) against `want`.
pub fn check_every_interruption<I, O, K, L>(
    inputs: &[HarnessInput<I>],
    cuts: &[usize],
    key_of: fn(&I) -> K,
    want: &[StreamRecord<O>],
    make: impl Fn(Backend, ProcessingTimeService) -> L,
) where
    I: eddy_core::Data,
    O: eddy_core::Data + Ord + std::fmt::Debug,
    K: eddy_core::Key,
    L: OneInputLogic<I, O>,
{
    check_interruptions(inputs, cuts, (key_of, |_| false), want, |_, _| true, make);
}

/// [`check_every_interruption`] for the backend pairs (before, after) that `pairs` accepts,
/// with the records `route.1` selects reaching every subtask (a broadcast input) and the
/// others the subtask of their key (`route.0`).
pub fn check_interruptions<I, O, K, L>(
    inputs: &[HarnessInput<I>],
    cuts: &[usize],
    route: Route<I, K>,
    want: &[StreamRecord<O>],
    pairs: impl Fn(Backend, Backend) -> bool,
    make: impl Fn(Backend, ProcessingTimeService) -> L,
) where
    I: eddy_core::Data,
    O: eddy_core::Data + Ord + std::fmt::Debug,
    K: eddy_core::Key,
    L: OneInputLogic<I, O>,
{
    let sorted = |records: &[StreamRecord<O>]| {
        let mut pairs: Vec<(O, i64)> = records
            .iter()
            .map(|r| (r.value.clone(), r.timestamp))
            .collect();
        pairs.sort();
        pairs
    };
    let want = sorted(want);
    for (before, after) in backend_pairs() {
        if !pairs(before, after) {
            continue;
        }
        for (p_before, p_after) in RESCALES {
            for &cut in cuts {
                let mut built = 0;
                let got =
                    run_with_restore_routed(inputs, cut, (p_before, p_after), route, |clock| {
                        let backend = if built < p_before { before } else { after };
                        built += 1;
                        make(backend, clock)
                    })
                    .unwrap_or_else(|e| {
                        panic!("{before:?} -> {after:?}, p {p_before} -> {p_after}: {e}")
                    });
                let got = sorted(&got);
                if got != want {
                    let missing: Vec<_> = difference(&want, &got);
                    let extra: Vec<_> = difference(&got, &want);
                    panic!(
                        "{before:?} -> {after:?}, p {p_before} -> {p_after}, cut after {cut} \
                         inputs: {} missing {missing:?}, {} extra {extra:?}",
                        missing.len(),
                        extra.len()
                    );
                }
            }
        }
    }
}

/// The elements of sorted `a` that sorted `b` lacks (as multisets), at most 20.
fn difference<T: Ord + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && out.len() < 20 {
        if j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && b[j] < a[i] {
            j += 1;
        } else {
            out.push(a[i].clone());
            i += 1;
        }
    }
    out
}
