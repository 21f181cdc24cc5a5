//! Operator state across rescales: snapshot every old subtask, redistribute, restore every new
//! subtask and read the lists back.

use eddy_state::{
    redistribute, ListStateDescriptor, OperatorStateMode, OperatorStateSnapshot,
    OperatorStateStore, RedistributionError,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SPLIT: OperatorStateMode = OperatorStateMode::SplitDistribute;
const UNION: OperatorStateMode = OperatorStateMode::Union;

/// The snapshot of a subtask whose store holds `lists` (name, mode, elements).
fn snapshot_of(lists: &[(&str, OperatorStateMode, Vec<u32>)]) -> OperatorStateSnapshot {
    let mut store = OperatorStateStore::new();
    for (name, mode, elements) in lists {
        let descriptor = ListStateDescriptor::<u32>::new(*name);
        let mut state = match mode {
            OperatorStateMode::SplitDistribute => store.list_state(&descriptor),
            OperatorStateMode::Union => store.union_list_state(&descriptor),
            OperatorStateMode::Broadcast => store.broadcast_list_state(&descriptor),
        }
        .unwrap();
        state.update(elements.clone()).unwrap();
    }
    store.snapshot().unwrap()
}

/// Redistributes to `parallelism` and restores each new subtask's store.
fn rescale(old: &[OperatorStateSnapshot], parallelism: u32) -> Vec<OperatorStateStore> {
    let new = redistribute(old, parallelism).unwrap();
    assert_eq!(new.len(), parallelism as usize);
    new.into_iter().map(OperatorStateStore::restore).collect()
}

/// The list `name` of every store, read in `mode`.
fn lists(stores: &mut [OperatorStateStore], name: &str, mode: OperatorStateMode) -> Vec<Vec<u32>> {
    let descriptor = ListStateDescriptor::<u32>::new(name);
    stores
        .iter_mut()
        .map(|store| {
            match mode {
                OperatorStateMode::SplitDistribute => store.list_state(&descriptor),
                OperatorStateMode::Union => store.union_list_state(&descriptor),
                OperatorStateMode::Broadcast => store.broadcast_list_state(&descriptor),
            }
            .unwrap()
            .get()
            .unwrap()
        })
        .collect()
}

fn sorted(lists: &[Vec<u32>]) -> Vec<u32> {
    let mut all = lists.concat();
    all.sort_unstable();
    all
}

#[test]
fn broadcast_lists_give_every_new_subtask_one_old_copy() {
    const BROADCAST: OperatorStateMode = OperatorStateMode::Broadcast;
    let old = [
        snapshot_of(&[("rules", BROADCAST, vec![1, 2])]),
        snapshot_of(&[("rules", BROADCAST, vec![1, 2])]),
    ];
    let mut new = rescale(&old, 3);
    assert_eq!(
        lists(&mut new, "rules", BROADCAST),
        vec![vec![1, 2], vec![1, 2], vec![1, 2]]
    );
}

#[test]
fn split_list_1_to_3_gives_the_first_subtask_the_extra_element() {
    let old = [snapshot_of(&[("buffer", SPLIT, (1..=7).collect())])];
    let mut new = rescale(&old, 3);
    let parts = lists(&mut new, "buffer", SPLIT);
    assert_eq!(parts, vec![vec![1, 2, 3], vec![4, 5], vec![6, 7]]);
    assert_eq!(sorted(&parts), (1..=7).collect::<Vec<_>>());
}

#[test]
fn split_list_3_to_2_concatenates_in_subtask_order_and_halves() {
    let old = [
        snapshot_of(&[("buffer", SPLIT, vec![1, 2, 3])]),
        snapshot_of(&[("buffer", SPLIT, vec![4])]),
        snapshot_of(&[("buffer", SPLIT, vec![5, 6, 7])]),
    ];
    let mut new = rescale(&old, 2);
    let parts = lists(&mut new, "buffer", SPLIT);
    assert_eq!(parts, vec![vec![1, 2, 3, 4], vec![5, 6, 7]]);
    assert_eq!(sorted(&parts), (1..=7).collect::<Vec<_>>());
}

#[test]
fn union_list_1_to_3_and_3_to_2_gives_every_subtask_everything() {
    let one = [snapshot_of(&[("offsets", UNION, vec![10, 20, 30])])];
    let mut three = rescale(&one, 3);
    assert_eq!(
        lists(&mut three, "offsets", UNION),
        vec![vec![10, 20, 30]; 3]
    );

    let old = [
        snapshot_of(&[("offsets", UNION, vec![1, 2])]),
        snapshot_of(&[("offsets", UNION, vec![])]),
        snapshot_of(&[("offsets", UNION, vec![3])]),
    ];
    let mut two = rescale(&old, 2);
    assert_eq!(lists(&mut two, "offsets", UNION), vec![vec![1, 2, 3]; 2]);
}

#[test]
fn unchanged_parallelism_keeps_split_lists_in_place_and_still_unions_union_lists() {
    let old = [
        snapshot_of(&[
            ("buffer", SPLIT, vec![1, 2, 3]),
            ("offsets", UNION, vec![7]),
        ]),
        snapshot_of(&[("buffer", SPLIT, vec![4]), ("offsets", UNION, vec![8])]),
    ];
    let mut new = rescale(&old, 2);
    // Uneven lists are not evened out when nothing is rescaled.
    assert_eq!(
        lists(&mut new, "buffer", SPLIT),
        vec![vec![1, 2, 3], vec![4]]
    );
    assert_eq!(
        lists(&mut new, "offsets", UNION),
        vec![vec![7, 8], vec![7, 8]]
    );
}

#[test]
fn more_subtasks_than_elements_leaves_the_last_subtasks_empty() {
    let old = [
        snapshot_of(&[("buffer", SPLIT, vec![1]), ("offsets", UNION, vec![9])]),
        snapshot_of(&[("buffer", SPLIT, vec![2, 3])]),
    ];
    let mut new = rescale(&old, 5);
    assert_eq!(
        lists(&mut new, "buffer", SPLIT),
        vec![vec![1], vec![2], vec![3], vec![], vec![]]
    );
    assert_eq!(lists(&mut new, "offsets", UNION), vec![vec![9]; 5]);
    // Every new subtask knows every state and its mode, even without elements.
    for store in &new {
        assert_eq!(store.state_names(), vec!["buffer", "offsets"]);
        assert_eq!(store.mode("buffer"), Some(SPLIT));
    }
}

#[test]
fn states_missing_from_some_old_subtasks_contribute_nothing_there() {
    let old = [
        snapshot_of(&[("a", SPLIT, vec![1, 2])]),
        snapshot_of(&[]),
        snapshot_of(&[("a", SPLIT, vec![3]), ("u", UNION, vec![5, 6])]),
    ];
    let mut new = rescale(&old, 2);
    assert_eq!(lists(&mut new, "a", SPLIT), vec![vec![1, 2], vec![3]]);
    assert_eq!(lists(&mut new, "u", UNION), vec![vec![5, 6]; 2]);

    // Unchanged parallelism: the subtask without the state gets an empty list.
    let mut same = rescale(&old, 3);
    assert_eq!(
        lists(&mut same, "a", SPLIT),
        vec![vec![1, 2], vec![], vec![3]]
    );
}

#[test]
fn a_state_with_different_modes_in_different_subtasks_is_an_error() {
    let old = [
        snapshot_of(&[("x", SPLIT, vec![1])]),
        snapshot_of(&[]),
        snapshot_of(&[("x", UNION, vec![2])]),
    ];
    let error = redistribute(&old, 2).unwrap_err();
    assert_eq!(
        error,
        RedistributionError::ModeMismatch {
            name: "x".into(),
            first_mode: SPLIT,
            first_subtask: 0,
            other_mode: UNION,
            other_subtask: 2,
        }
    );
    let message = error.to_string();
    assert!(
        message.contains("'x' is a split-distribute list state in old subtask 0")
            && message.contains("a union list state in old subtask 2"),
        "{message}"
    );
}

#[test]
fn parallelism_zero_is_an_error_and_no_old_subtasks_give_empty_state() {
    let old = [snapshot_of(&[("a", SPLIT, vec![1])])];
    assert_eq!(
        redistribute(&old, 0).unwrap_err(),
        RedistributionError::ZeroParallelism
    );
    let new = redistribute(&[], 3).unwrap();
    assert_eq!(new, vec![OperatorStateSnapshot::new(); 3]);
}

/// Sizes of an even split by dealing elements out one by one, round robin.
fn reference_sizes(total: usize, parallelism: usize) -> Vec<usize> {
    let mut sizes = vec![0; parallelism];
    for element in 0..total {
        sizes[element % parallelism] += 1;
    }
    sizes
}

#[test]
fn random_rescales_lose_and_duplicate_nothing() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for case in 0..400 {
        let old_parallelism = rng.random_range(1..=6usize);
        let new_parallelism = rng.random_range(1..=8u32);
        let mut next = 0u32;
        let mut old_split = Vec::new();
        let mut old_union = Vec::new();
        let old: Vec<OperatorStateSnapshot> = (0..old_parallelism)
            .map(|_| {
                let mut list = |rng: &mut StdRng| {
                    let len = rng.random_range(0..=12u32);
                    let list: Vec<u32> = (next..next + len).collect();
                    next += len;
                    list
                };
                let (split, union) = (list(&mut rng), list(&mut rng));
                old_split.push(split.clone());
                old_union.push(union.clone());
                snapshot_of(&[("split", SPLIT, split), ("union", UNION, union)])
            })
            .collect();

        // Snapshots are plain data: ship them through their serialization.
        let shipped: Vec<OperatorStateSnapshot> = old
            .iter()
            .map(|s| postcard::from_bytes(&postcard::to_allocvec(s).unwrap()).unwrap())
            .collect();
        let mut new = rescale(&shipped, new_parallelism);
        let split = lists(&mut new, "split", SPLIT);
        let union = lists(&mut new, "union", UNION);

        let context = format!("case {case}: {old_parallelism} -> {new_parallelism}");
        if old_parallelism == new_parallelism as usize {
            assert_eq!(split, old_split, "{context}");
        } else {
            // Same elements in the same order, cut into round-robin-sized parts.
            assert_eq!(split.concat(), old_split.concat(), "{context}");
            let sizes: Vec<usize> = split.iter().map(Vec::len).collect();
            let total = old_split.iter().map(Vec::len).sum();
            assert_eq!(
                sizes,
                reference_sizes(total, new_parallelism as usize),
                "{context}"
            );
        }
        assert_eq!(sorted(&split), sorted(&old_split), "{context}");
        for list in &union {
            assert_eq!(list, &old_union.concat(), "{context}");
        }
    }
}
