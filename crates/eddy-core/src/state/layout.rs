//! How keyed state is laid out in an ordered store.
//!
//! A row key is `[key group: u16, big-endian][key][namespace]`, followed by the user key for
//! map state. The key and user key are in the binary codec (postcard), whose encodings are
//! self-delimiting, so no row key is a prefix of another key's rows; the namespace has a fixed
//! width per kind and orders windows by start. Since the key group comes first, the rows of a
//! key-group range are one contiguous scan.
//!
//! Values are in the binary codec too; a list is the concatenation of its elements'
//! encodings (self-delimiting, so appending an element is appending its bytes).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::store::StateError;
use super::Namespace;

/// Bytes of the key-group prefix.
pub(crate) const KEY_GROUP_BYTES: usize = 2;

/// Maps a signed timestamp to bytes that sort like the numbers.
fn ordered_i64(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

/// Appends the namespace's bytes.
pub(crate) fn push_namespace(row: &mut Vec<u8>, namespace: Namespace) {
    match namespace {
        Namespace::Global => row.push(0),
        Namespace::GlobalWindow => row.push(1),
        Namespace::TimeWindow { start, end } => {
            row.push(2);
            row.extend_from_slice(&ordered_i64(start));
            row.extend_from_slice(&ordered_i64(end));
        }
    }
}

/// The row-key prefix of a key group.
pub(crate) fn key_group_prefix(key_group: u32) -> [u8; KEY_GROUP_BYTES] {
    (key_group as u16).to_be_bytes()
}

/// Writes `[key group][key][namespace]` into `row` (cleared first).
pub(crate) fn write_row<K: Serialize>(
    row: &mut Vec<u8>,
    key_group: u32,
    key: &K,
    namespace: Namespace,
    state: &str,
) -> Result<(), StateError> {
    row.clear();
    row.extend_from_slice(&key_group_prefix(key_group));
    encode_into(row, key, state)?;
    push_namespace(row, namespace);
    Ok(())
}

/// Decodes the key of a row (after its key-group prefix).
pub(crate) fn key_of_row<K: DeserializeOwned>(row: &[u8], state: &str) -> Result<K, StateError> {
    key_and_rest_of_row(row, state).map(|(key, _)| key)
}

/// Decodes the key of a row and returns it with the rest of the row (namespace, user key).
pub(crate) fn key_and_rest_of_row<'r, K: DeserializeOwned>(
    row: &'r [u8],
    state: &str,
) -> Result<(K, &'r [u8]), StateError> {
    let bytes = row.get(KEY_GROUP_BYTES..).unwrap_or_default();
    postcard::take_from_bytes::<K>(bytes).map_err(|e| decode_error::<K>(state, e))
}

/// The smallest byte string greater than every string starting with `prefix` (`None`: there
/// is none, every byte is 0xff).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Appends the binary encoding of `value`.
pub(crate) fn encode_into<T: Serialize>(
    out: &mut Vec<u8>,
    value: &T,
    state: &str,
) -> Result<(), StateError> {
    let buffer = std::mem::take(out);
    match postcard::to_extend(value, buffer) {
        Ok(extended) => {
            *out = extended;
            Ok(())
        }
        Err(e) => Err(StateError::Encode {
            state: state.to_owned(),
            message: e.to_string(),
        }),
    }
}

/// Decodes one value that fills `bytes`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], state: &str) -> Result<T, StateError> {
    postcard::from_bytes(bytes).map_err(|e| decode_error::<T>(state, e))
}

/// Decodes the concatenated elements of a list.
pub(crate) fn decode_list<T: DeserializeOwned>(
    mut bytes: &[u8],
    state: &str,
) -> Result<Vec<T>, StateError> {
    let mut elements = Vec::new();
    while !bytes.is_empty() {
        let (element, rest) =
            postcard::take_from_bytes::<T>(bytes).map_err(|e| decode_error::<T>(state, e))?;
        elements.push(element);
        bytes = rest;
    }
    Ok(elements)
}

fn decode_error<T>(state: &str, error: postcard::Error) -> StateError {
    StateError::Decode {
        state: state.to_owned(),
        expected: std::any::type_name::<T>(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_order_by_key_group_then_windows_by_start() {
        let row = |kg, key: &str, ns| {
            let mut row = Vec::new();
            write_row(&mut row, kg, &key.to_string(), ns, "s").unwrap();
            row
        };
        let window = |start, end| Namespace::TimeWindow { start, end };
        assert!(row(1, "zzz", Namespace::Global) < row(2, "a", Namespace::Global));
        assert!(row(3, "k", window(-20, -10)) < row(3, "k", window(-10, 0)));
        assert!(row(3, "k", window(-10, 0)) < row(3, "k", window(0, 10)));
        assert!(row(3, "k", window(0, 10)) < row(3, "k", window(0, 20)));
        assert_eq!(
            key_of_row::<String>(&row(7, "abc", window(1, 2)), "s").unwrap(),
            "abc"
        );
    }

    #[test]
    fn no_key_is_a_prefix_of_another_keys_rows() {
        let keys = ["", "a", "ab", "abc", "b"];
        for a in keys {
            for b in keys {
                let mut ra = Vec::new();
                let mut rb = Vec::new();
                write_row(&mut ra, 0, &a.to_string(), Namespace::Global, "s").unwrap();
                write_row(&mut rb, 0, &b.to_string(), Namespace::GlobalWindow, "s").unwrap();
                assert!(
                    !rb.starts_with(&ra[..ra.len() - 1]) || a == b,
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn lists_decode_from_concatenated_elements() {
        let mut bytes = Vec::new();
        for element in [1u64, 300, 70_000] {
            encode_into(&mut bytes, &element, "s").unwrap();
        }
        assert_eq!(
            decode_list::<u64>(&bytes, "s").unwrap(),
            vec![1, 300, 70_000]
        );
        assert!(decode::<u64>(&[0xff], "s").is_err());
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }
}
