//! Snapshots of the slicing window operator: each key's slices (as the contents a window of
//! the slice's span would keep), when its next window fires, and which of its windows still
//! wait for the end of their allowed lateness.
//!
//! The slices are written with the contents' own stored form under [`SLICES`]; a restore
//! renames them back and reads them through the same form. The general window operator keeps
//! windows, not slices: it restores a slicing snapshot by combining each window's slices
//! ([`windows_from_slices`]), so a heap snapshot of tumbling or sliding windows restores on
//! RocksDB. The other way works for tumbling windows, each window being one slice
//! ([`whole_windows_as_slices`]); whole sliding windows cannot be cut back into slices and are
//! refused with an error that says how to restore (see [`refuse_general_windows`]).

use eddy_core::{FnResult, Key};
use eddy_functions::windowing::{Slicing, Window};
use eddy_state::time::InternalTimerService;
use eddy_state::{
    KeyedState, KeyedStateBackend, KeyedStateSnapshot, Namespace, PendingKeyedSnapshot,
    ValueStateDescriptor,
};
use rustc_hash::FxHashMap;

use super::buckets::Buckets;
use super::contents::{WindowContents, STORED_CONTENTS};
use super::key_slices::KeySlices;
use super::slicing::gcd;
use super::states::STORED_TRIGGER;

/// The state holding each slice's contents, in the slice's namespace.
pub(super) const SLICES: &str = "_window-slices";
/// Each key's next window end to fire.
const NEXT_FIRE: &str = "_window-slices-next-fire";
/// Each key's window ends whose allowed lateness has not ended yet.
const CLEANUPS: &str = "_window-slices-cleanups";

/// What the slicing operator keeps besides the window function's keyed state.
pub(super) struct SliceState<'a, K, A> {
    pub(super) keys: &'a mut FxHashMap<K, KeySlices<A>>,
    pub(super) fires: &'a mut Buckets<K>,
    pub(super) cleanups: &'a mut Buckets<K>,
    /// The slices' length (ms).
    pub(super) slice: i64,
}

impl<K: Key, A: Clone> SliceState<'_, K, A> {
    /// The slices, next fires and pending cleanups as keyed state rows.
    pub(super) fn snapshot<T, W: Window, O, C>(
        &self,
        contents: &mut C,
        max_parallelism: u32,
    ) -> FnResult<PendingKeyedSnapshot>
    where
        C: WindowContents<T, K, W, O, Acc = A>,
    {
        let next_fire = ValueStateDescriptor::<i64>::new(NEXT_FIRE);
        let cleanups = ValueStateDescriptor::<Vec<i64>>::new(CLEANUPS);
        let mut written = KeyedStateBackend::heap();
        for (key, key_slices) in self.keys.iter() {
            for (start, acc) in key_slices.slices.iter().chain(key_slices.open.as_ref()) {
                let namespace = Namespace::TimeWindow {
                    start: *start,
                    end: start + self.slice,
                };
                contents.save_stored(
                    KeyedState::new(&mut written, key, namespace),
                    Some(acc.clone()),
                )?;
            }
            if key_slices.next_fire != i64::MAX {
                KeyedState::new(&mut written, key, Namespace::Global)
                    .value(&next_fire)?
                    .update(key_slices.next_fire)?;
            }
        }
        let mut pending: FxHashMap<&K, Vec<i64>> = FxHashMap::default();
        for (end, key) in self.cleanups.iter() {
            pending.entry(key).or_default().push(end);
        }
        for (key, ends) in pending {
            KeyedState::new(&mut written, key, Namespace::Global)
                .value(&cleanups)?
                .update(ends)?;
        }
        let mut snapshot = written.into_pending(max_parallelism)?;
        snapshot.rename_state(STORED_CONTENTS, SLICES);
        Ok(snapshot)
    }

    /// Moves the slices, next fires and pending cleanups restored into `backend` (with the
    /// slices under the contents' name, see [`restorable`]) into the operator's structures;
    /// returns the earliest window end to fire.
    pub(super) fn restore<T, W: Window, O, C>(
        &mut self,
        backend: &mut KeyedStateBackend<K>,
        contents: &mut C,
    ) -> FnResult<Option<i64>>
    where
        C: WindowContents<T, K, W, O, Acc = A>,
    {
        for (key, namespace) in backend.entries(STORED_CONTENTS)? {
            let Namespace::TimeWindow { start, .. } = namespace else {
                return Err(format!("a restored slice has the namespace {namespace:?}").into());
            };
            let acc = contents.load_stored(KeyedState::new(backend, &key, namespace))?;
            contents.save_stored(KeyedState::new(backend, &key, namespace), None)?;
            if let Some(acc) = acc {
                let key_slices = self.keys.entry(key).or_insert_with(KeySlices::new);
                key_slices.slice_for(start, move || acc);
            }
        }
        let next_fire = ValueStateDescriptor::<i64>::new(NEXT_FIRE);
        let mut earliest: Option<i64> = None;
        for (key, _) in backend.entries(NEXT_FIRE)? {
            let mut stored = KeyedState::new(backend, &key, Namespace::Global).value(&next_fire)?;
            if let (Some(end), Some(key_slices)) = (stored.value()?, self.keys.get_mut(&key)) {
                key_slices.next_fire = end;
                earliest = Some(earliest.map_or(end, |e| e.min(end)));
                self.fires.push(end, key.clone());
            }
            stored.clear()?;
        }
        let cleanups = ValueStateDescriptor::<Vec<i64>>::new(CLEANUPS);
        for (key, _) in backend.entries(CLEANUPS)? {
            let mut stored = KeyedState::new(backend, &key, Namespace::Global).value(&cleanups)?;
            for end in stored.value()?.unwrap_or_default() {
                self.cleanups.push(end, key.clone());
            }
            stored.clear()?;
        }
        Ok(earliest)
    }
}

/// The snapshots with the slices under the contents' name, so the contents' stored form reads
/// them back. Snapshots of the general window operator (whole windows) pass unchanged when
/// `tumbling` (each window is one slice, see [`whole_windows_as_slices`]) and are refused
/// otherwise.
pub(super) fn restorable(
    snapshots: &[KeyedStateSnapshot],
    tumbling: bool,
) -> FnResult<Vec<KeyedStateSnapshot>> {
    snapshots
        .iter()
        .map(|snapshot| {
            if !tumbling {
                refuse_general_windows(snapshot)?;
            }
            let mut snapshot = snapshot.clone();
            snapshot.rename_state(SLICES, STORED_CONTENTS);
            Ok(snapshot)
        })
        .collect()
}

/// Whether the snapshots are the general window operator's (whole windows, with their trigger
/// state; a slicing operator that restored whole windows keeps the emptied trigger state).
pub(super) fn has_whole_windows(snapshots: &[KeyedStateSnapshot]) -> bool {
    snapshots.iter().any(has_trigger_rows)
}

fn has_trigger_rows(snapshot: &KeyedStateSnapshot) -> bool {
    snapshot
        .states()
        .get(STORED_TRIGGER)
        .is_some_and(|state| !state.rows.is_empty())
}

/// Turns the tumbling windows of a general window operator's snapshot, restored into
/// `backend` (contents under the contents' name: each window is exactly one slice), into what
/// [`SliceState::restore`] reads: each key's next window to fire (the earliest window whose
/// trigger timer at its max timestamp was pending in `timers`) and, with `lateness`, the
/// fired windows waiting for their cleanup. The windows' trigger state is dropped.
pub(super) fn whole_windows_as_slices<K: Key, W: Window>(
    backend: &mut KeyedStateBackend<K>,
    timers: &mut InternalTimerService<K, W>,
    lateness: i64,
) -> FnResult<()> {
    timers.advance_watermark(i64::MAX);
    let mut pending: FxHashMap<K, i64> = FxHashMap::default();
    let mut note = |time: i64, key: K, window: W| {
        if time == window.max_timestamp() {
            let end = time.saturating_add(1);
            let next = pending.entry(key).or_insert(i64::MAX);
            *next = (*next).min(end);
        }
    };
    while let Some((time, key, window)) = timers.pop_event_time_due()? {
        note(time, key, window);
    }
    while let Some((time, key, window)) = timers.pop_processing_time_due(i64::MAX)? {
        note(time, key, window);
    }
    let mut waiting: FxHashMap<K, Vec<i64>> = FxHashMap::default();
    for (key, namespace) in backend.entries(STORED_CONTENTS)? {
        let Namespace::TimeWindow { end, .. } = namespace else {
            return Err(format!("a restored window has the namespace {namespace:?}").into());
        };
        if lateness > 0 && end < pending.get(&key).copied().unwrap_or(i64::MAX) {
            waiting.entry(key).or_default().push(end);
        }
    }
    // The default triggers, the only ones slices serve, keep no state.
    let trigger = ValueStateDescriptor::<()>::new(STORED_TRIGGER);
    for (key, namespace) in backend.entries(STORED_TRIGGER)? {
        KeyedState::new(backend, &key, namespace)
            .value(&trigger)?
            .clear()?;
    }
    let next_fire = ValueStateDescriptor::<i64>::new(NEXT_FIRE);
    for (key, end) in pending {
        KeyedState::new(backend, &key, Namespace::Global)
            .value(&next_fire)?
            .update(end)?;
    }
    let cleanups = ValueStateDescriptor::<Vec<i64>>::new(CLEANUPS);
    for (key, ends) in waiting {
        KeyedState::new(backend, &key, Namespace::Global)
            .value(&cleanups)?
            .update(ends)?;
    }
    Ok(())
}

/// The error for a snapshot of the general window operator restored into the slicing one.
fn refuse_general_windows(snapshot: &KeyedStateSnapshot) -> FnResult<()> {
    if has_trigger_rows(snapshot) {
        return Err(
            "this window operator was snapshotted with its windows kept whole (the \
                    general window operator, which the rocksdb state backend or a custom \
                    trigger selects), but now runs on slices (the heap backend's operator for \
                    tumbling and sliding windows); restore it with the state backend it was \
                    snapshotted with (state.backend.type)"
                .into(),
        );
    }
    Ok(())
}

/// Whether the snapshots are the slicing window operator's.
pub(super) fn has_slices(snapshots: &[KeyedStateSnapshot]) -> bool {
    snapshots.iter().any(|s| s.has_state(SLICES))
}

/// The error for a snapshot of the slicing window operator restored into a general window
/// operator whose windows are not aligned ones (the job's window assigner changed).
pub(super) fn refuse_slices() -> FnResult<()> {
    Err(
        "this window operator was snapshotted on slices (tumbling or sliding windows), but \
         its window assigner now makes other windows; restore it with the assigner it was \
         snapshotted with"
            .into(),
    )
}

/// One window of a restored slicing snapshot, for the general window operator.
pub(super) struct RestoredWindow<K, W, A> {
    pub(super) key: K,
    pub(super) window: W,
    /// The window's slices combined.
    pub(super) acc: A,
    /// Whether the window had fired (it waits for late elements until its cleanup).
    pub(super) fired: bool,
}

/// The windows of the slices restored into `backend` (from snapshots prepared by
/// [`restorable`]), each with its slices combined in start order: what the general window
/// operator keeps for the same elements. The slices, next fires and cleanups are removed from
/// `backend`.
pub(super) fn windows_from_slices<T, K, W, O, C>(
    backend: &mut KeyedStateBackend<K>,
    contents: &mut C,
    slicing: &Slicing<W>,
) -> FnResult<Vec<RestoredWindow<K, W, C::Acc>>>
where
    K: Key,
    W: Window,
    C: WindowContents<T, K, W, O>,
    C::Acc: Clone,
{
    let slice = gcd(slicing.size.max(1), slicing.slide.max(1));
    let (mut keys, mut fires, mut cleanups) =
        (FxHashMap::default(), Buckets::default(), Buckets::default());
    SliceState {
        keys: &mut keys,
        fires: &mut fires,
        cleanups: &mut cleanups,
        slice,
    }
    .restore(backend, contents)?;
    let mut restored = Vec::new();
    for (key, key_slices) in keys {
        let mut windows: std::collections::BTreeMap<i64, C::Acc> = Default::default();
        for (start, acc) in key_slices.slices.into_iter().chain(key_slices.open) {
            // The windows `[ws, ws + size)` holding the slice `[start, start + slice)`.
            let mut ws = start - (start - slicing.offset).rem_euclid(slicing.slide);
            while ws + slicing.size >= start + slice {
                match windows.entry(ws) {
                    std::collections::btree_map::Entry::Vacant(entry) => {
                        entry.insert(acc.clone());
                    }
                    std::collections::btree_map::Entry::Occupied(mut entry) => {
                        contents.merge(entry.get_mut(), acc.clone())?
                    }
                }
                ws -= slicing.slide;
            }
        }
        for (start, acc) in windows {
            let end = start + slicing.size;
            restored.push(RestoredWindow {
                key: key.clone(),
                window: (slicing.make_window)(start, end),
                acc,
                fired: end < key_slices.next_fire,
            });
        }
    }
    Ok(restored)
}
