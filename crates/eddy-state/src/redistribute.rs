//! Redistributing operator state when an operator's parallelism changes.

use std::collections::BTreeMap;

use super::operator::{ListStateSnapshot, OperatorStateMode, OperatorStateSnapshot};

/// Why operator state snapshots could not be redistributed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedistributionError {
    /// The new parallelism is 0.
    #[error(
        "cannot redistribute operator state to parallelism 0; the new parallelism must be at \
         least 1"
    )]
    ZeroParallelism,
    /// A state name has different redistribution modes in different old subtasks.
    #[error(
        "operator state '{name}' is a {first_mode} list state in old subtask {first_subtask} but \
         a {other_mode} list state in old subtask {other_subtask} (0-based); a state must be \
         registered in the same mode (list_state or union_list_state) in every subtask"
    )]
    ModeMismatch {
        /// The state's name.
        name: String,
        /// The mode in the first old subtask that has the state.
        first_mode: OperatorStateMode,
        /// That subtask's index.
        first_subtask: usize,
        /// The other mode.
        other_mode: OperatorStateMode,
        /// The index of the first old subtask that has the other mode.
        other_subtask: usize,
    },
}

/// Maps the operator state of the old subtasks (`old[i]` is subtask `i`'s snapshot) to
/// `new_parallelism` snapshots, one per new subtask, in subtask order.
///
/// Per state name (a name missing from some old snapshots contributes no elements there):
///
/// * **union** lists: every new subtask gets the concatenation of the old lists, in old
///   subtask order.
/// * **split-distribute** lists, parallelism changed: the old lists are concatenated in old
///   subtask order and cut into `new_parallelism` contiguous parts in that order. With `n`
///   elements and `p` new subtasks each part has `n / p` elements, and the **first** `n % p`
///   new subtasks get one more; so parts differ in size by at most one, and subtasks at the end
///   get empty lists when there are fewer elements than subtasks.
/// * **broadcast** lists: new subtask `i` gets old subtask `i mod old parallelism`'s list
///   (every old subtask held the same one).
/// * **split-distribute** lists, parallelism unchanged: each subtask keeps its own list as it
///   was (nothing is moved just to even out sizes).
///
/// Every new snapshot lists every state name (possibly with no elements), so a restored
/// subtask knows each state's mode. Fails if `new_parallelism` is 0 or if a name has different
/// modes in different old snapshots.
pub fn redistribute(
    old: &[OperatorStateSnapshot],
    new_parallelism: u32,
) -> Result<Vec<OperatorStateSnapshot>, RedistributionError> {
    if new_parallelism == 0 {
        return Err(RedistributionError::ZeroParallelism);
    }
    let parallelism = new_parallelism as usize;
    let mut new = vec![OperatorStateSnapshot::new(); parallelism];
    for (name, mode) in modes(old)? {
        // The old lists in subtask order; a subtask without the state has none.
        let lists: Vec<&[Vec<u8>]> = old
            .iter()
            .map(|snapshot| snapshot.state(name).map_or(&[][..], |list| list.elements()))
            .collect();
        let parts: Vec<Vec<Vec<u8>>> = match mode {
            OperatorStateMode::Union => {
                let all = lists.concat();
                vec![all; parallelism]
            }
            OperatorStateMode::Broadcast => (0..parallelism)
                .map(|subtask| {
                    lists
                        .get(subtask % lists.len().max(1))
                        .map_or_else(Vec::new, |l| l.to_vec())
                })
                .collect(),
            OperatorStateMode::SplitDistribute if old.len() == parallelism => {
                lists.iter().map(|list| list.to_vec()).collect()
            }
            OperatorStateMode::SplitDistribute => even_split(lists.concat(), parallelism),
        };
        for (snapshot, elements) in new.iter_mut().zip(parts) {
            snapshot.insert(name.to_owned(), ListStateSnapshot::new(mode, elements));
        }
    }
    Ok(new)
}

/// Every state name of the old snapshots with its mode, checking that the mode agrees.
fn modes(
    old: &[OperatorStateSnapshot],
) -> Result<BTreeMap<&str, OperatorStateMode>, RedistributionError> {
    // Per name: the mode and the first subtask that has it.
    let mut seen: BTreeMap<&str, (OperatorStateMode, usize)> = BTreeMap::new();
    for (subtask, snapshot) in old.iter().enumerate() {
        for (name, list) in snapshot.states() {
            let (first_mode, first_subtask) = *seen.entry(name).or_insert((list.mode(), subtask));
            if first_mode != list.mode() {
                return Err(RedistributionError::ModeMismatch {
                    name: name.to_owned(),
                    first_mode,
                    first_subtask,
                    other_mode: list.mode(),
                    other_subtask: subtask,
                });
            }
        }
    }
    Ok(seen
        .into_iter()
        .map(|(name, (mode, _))| (name, mode))
        .collect())
}

/// Cuts `elements` into `parts` contiguous runs; the first `len % parts` runs are one longer.
fn even_split<E>(elements: Vec<E>, parts: usize) -> Vec<Vec<E>> {
    let (base, extra) = (elements.len() / parts, elements.len() % parts);
    let mut rest = elements.into_iter();
    (0..parts)
        .map(|part| {
            let size = base + usize::from(part < extra);
            rest.by_ref().take(size).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_new_subtask_gets_one_old_subtasks_broadcast_list() {
        let old: Vec<OperatorStateSnapshot> = [vec![vec![1u8]], vec![vec![2u8], vec![3u8]]]
            .into_iter()
            .map(|elements| {
                let mut snapshot = OperatorStateSnapshot::new();
                snapshot.insert(
                    "rules".into(),
                    ListStateSnapshot::new(OperatorStateMode::Broadcast, elements),
                );
                snapshot
            })
            .collect();
        let lists = |new: Vec<OperatorStateSnapshot>| -> Vec<Vec<Vec<u8>>> {
            new.iter()
                .map(|s| s.state("rules").unwrap().elements().to_vec())
                .collect()
        };
        assert_eq!(
            lists(redistribute(&old, 3).unwrap()),
            vec![vec![vec![1]], vec![vec![2], vec![3]], vec![vec![1]]]
        );
        assert_eq!(lists(redistribute(&old, 1).unwrap()), vec![vec![vec![1]]]);
    }

    #[test]
    fn even_split_gives_the_first_subtasks_the_extra_elements() {
        assert_eq!(
            even_split((1..=7).collect(), 3),
            vec![vec![1, 2, 3], vec![4, 5], vec![6, 7]]
        );
        assert_eq!(
            even_split(vec![1, 2], 4),
            vec![vec![1], vec![2], vec![], vec![]]
        );
        assert_eq!(even_split(Vec::<u8>::new(), 2), vec![vec![], vec![]]);
        assert_eq!(
            even_split(vec![1, 2, 3, 4], 2),
            vec![vec![1, 2], vec![3, 4]]
        );
    }
}
