use serde::{Deserialize, Serialize, Serializer};

use super::{OperatorStateMode, OperatorStateSnapshot, OperatorStateStore};
use crate::ListStateDescriptor;

fn list<T>(name: &str) -> ListStateDescriptor<T> {
    ListStateDescriptor::new(name)
}

#[test]
fn list_state_supports_get_add_add_all_update_and_clear() {
    let mut store = OperatorStateStore::new();
    let buffer = list::<u32>("buffer");
    assert!(store.list_state(&buffer).unwrap().get().unwrap().is_empty());

    let mut state = store.list_state(&buffer).unwrap();
    state.add(1).unwrap();
    state.add_all([2, 3]).unwrap();
    assert_eq!(state.get().unwrap(), vec![1, 2, 3]);

    // A new handle sees what the previous one wrote.
    let mut state = store.list_state(&buffer).unwrap();
    assert_eq!(state.get().unwrap(), vec![1, 2, 3]);
    state.update(vec![7, 8]).unwrap();
    assert_eq!(
        store.list_state(&buffer).unwrap().get().unwrap(),
        vec![7, 8]
    );

    store.list_state(&buffer).unwrap().clear().unwrap();
    assert!(store.list_state(&buffer).unwrap().get().unwrap().is_empty());
    assert_eq!(store.state_names(), vec!["buffer"]);
    assert_eq!(
        store.mode("buffer"),
        Some(OperatorStateMode::SplitDistribute)
    );
}

#[test]
fn union_and_split_lists_are_separate_states_with_their_modes() {
    let mut store = OperatorStateStore::new();
    store
        .union_list_state(&list::<String>("offsets"))
        .unwrap()
        .add("a".into())
        .unwrap();
    store
        .list_state(&list::<u64>("counts"))
        .unwrap()
        .add(5)
        .unwrap();
    assert_eq!(
        store
            .union_list_state(&list::<String>("offsets"))
            .unwrap()
            .get()
            .unwrap(),
        vec!["a".to_string()]
    );
    assert_eq!(store.state_names(), vec!["counts", "offsets"]);
    assert_eq!(store.mode("offsets"), Some(OperatorStateMode::Union));
    assert_eq!(
        store.mode("counts"),
        Some(OperatorStateMode::SplitDistribute)
    );
    assert_eq!(store.mode("missing"), None);
}

#[test]
fn asking_for_a_name_in_another_mode_names_both_modes() {
    let mut store = OperatorStateStore::new();
    store.list_state(&list::<u32>("buffer")).unwrap();
    let message = store
        .union_list_state(&list::<u32>("buffer"))
        .err()
        .expect("mode mismatch")
        .to_string();
    assert_eq!(
        message,
        "operator state 'buffer' is a split-distribute list state of u32 but was asked for as a \
         union list state of u32; give states of different modes or types different names"
    );

    store.union_list_state(&list::<u32>("offsets")).unwrap();
    let message = store
        .list_state(&list::<u32>("offsets"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("'offsets' is a union list state of u32")
            && message.contains("asked for as a split-distribute list state of u32"),
        "{message}"
    );
}

#[test]
fn asking_for_a_name_with_another_type_names_both_types() {
    let mut store = OperatorStateStore::new();
    store
        .list_state(&list::<u32>("buffer"))
        .unwrap()
        .add(1)
        .unwrap();
    let message = store
        .list_state(&list::<String>("buffer"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("'buffer' is a split-distribute list state of u32")
            && message
                .contains("asked for as a split-distribute list state of alloc::string::String"),
        "{message}"
    );
    // The state is unharmed.
    assert_eq!(
        store
            .list_state(&list::<u32>("buffer"))
            .unwrap()
            .get()
            .unwrap(),
        vec![1]
    );
}

#[test]
fn snapshot_and_restore_round_trip_every_list_with_its_mode() {
    let mut store = OperatorStateStore::new();
    store
        .list_state(&list::<u32>("buffer"))
        .unwrap()
        .add_all([1, 2, 3])
        .unwrap();
    store
        .union_list_state(&list::<(String, i64)>("offsets"))
        .unwrap()
        .add(("p0".into(), -4))
        .unwrap();
    store.list_state(&list::<u8>("empty")).unwrap();
    let snapshot = store.snapshot().unwrap();

    assert_eq!(
        snapshot.state_names().collect::<Vec<_>>(),
        vec!["buffer", "empty", "offsets"]
    );
    let buffer = snapshot.state("buffer").unwrap();
    assert_eq!(buffer.mode(), OperatorStateMode::SplitDistribute);
    assert_eq!(buffer.len(), 3);
    assert!(snapshot.state("empty").unwrap().is_empty());
    assert_eq!(
        snapshot.state("offsets").unwrap().mode(),
        OperatorStateMode::Union
    );
    assert_eq!(
        snapshot.read_list::<u32>("buffer").unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(snapshot.read_list::<u32>("missing").unwrap(), None);

    // The snapshot is plain data: it survives its own serialization.
    let bytes = postcard::to_allocvec(&snapshot).unwrap();
    let decoded: OperatorStateSnapshot = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, snapshot);

    let mut restored = OperatorStateStore::restore(decoded);
    assert_eq!(restored.state_names(), vec!["buffer", "empty", "offsets"]);
    assert_eq!(
        restored
            .list_state(&list::<u32>("buffer"))
            .unwrap()
            .get()
            .unwrap(),
        vec![1, 2, 3]
    );
    assert_eq!(
        restored
            .union_list_state(&list::<(String, i64)>("offsets"))
            .unwrap()
            .get()
            .unwrap(),
        vec![("p0".to_string(), -4)]
    );
    assert_eq!(restored.snapshot().unwrap(), snapshot);
}

#[test]
fn restored_lists_never_asked_for_are_snapshotted_unchanged() {
    let mut store = OperatorStateStore::new();
    store
        .union_list_state(&list::<u64>("old"))
        .unwrap()
        .add(42)
        .unwrap();
    let first = store.snapshot().unwrap();

    let mut restored = OperatorStateStore::restore(first.clone());
    restored
        .list_state(&list::<u32>("new"))
        .unwrap()
        .add(1)
        .unwrap();
    let second = restored.snapshot().unwrap();
    assert_eq!(second.state("old"), first.state("old"));
    assert_eq!(second.read_list::<u32>("new").unwrap(), Some(vec![1]));
}

#[test]
fn a_restored_list_asked_for_in_another_mode_is_an_error() {
    let mut store = OperatorStateStore::new();
    store
        .list_state(&list::<u32>("buffer"))
        .unwrap()
        .add(1)
        .unwrap();
    let mut restored = OperatorStateStore::restore(store.snapshot().unwrap());
    let message = restored
        .union_list_state(&list::<u32>("buffer"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains(
            "'buffer' is a split-distribute list state (restored, not read yet) but was asked \
             for as a union list state of u32"
        ),
        "{message}"
    );
}

#[test]
fn a_restored_list_read_with_another_type_names_the_state_and_the_element() {
    let mut store = OperatorStateStore::new();
    store
        .list_state(&list::<String>("names"))
        .unwrap()
        .add_all(["hello".to_string()])
        .unwrap();
    store
        .list_state(&list::<u8>("flags"))
        .unwrap()
        .add(7)
        .unwrap();
    let mut restored = OperatorStateStore::restore(store.snapshot().unwrap());

    // "hello" decodes as a u8 (its length) with bytes left over.
    let message = restored
        .list_state(&list::<u8>("names"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with(
            "could not restore operator state 'names' as a split-distribute list state of u8: \
             element 0 of 1 has 5 bytes left over after decoding"
        ),
        "{message}"
    );
    // 7 is not a bool.
    let message = restored
        .list_state(&list::<bool>("flags"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("operator state 'flags'") && message.contains("does not decode"),
        "{message}"
    );
    // Nothing was lost: the right type still reads the elements.
    assert_eq!(
        restored
            .list_state(&list::<String>("names"))
            .unwrap()
            .get()
            .unwrap(),
        vec!["hello".to_string()]
    );
    assert_eq!(
        restored
            .list_state(&list::<u8>("flags"))
            .unwrap()
            .get()
            .unwrap(),
        vec![7]
    );
}

/// Serializes as a sequence of unknown length, which postcard cannot encode.
#[derive(Clone, Deserialize)]
struct UnknownLength(Vec<u8>);

impl Serialize for UnknownLength {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().filter(|_| true))
    }
}

#[test]
fn an_element_that_cannot_be_encoded_fails_the_snapshot_naming_the_state() {
    let mut store = OperatorStateStore::new();
    store
        .list_state(&list::<UnknownLength>("odd"))
        .unwrap()
        .add(UnknownLength(vec![1]))
        .unwrap();
    let message = store.snapshot().err().unwrap().to_string();
    assert!(
        message.starts_with("could not encode element 0 of operator state 'odd'"),
        "{message}"
    );
}

#[test]
fn an_empty_snapshot_restores_an_empty_store() {
    let store = OperatorStateStore::restore(OperatorStateSnapshot::new());
    assert!(store.state_names().is_empty());
    assert!(store.snapshot().unwrap().is_empty());
}
