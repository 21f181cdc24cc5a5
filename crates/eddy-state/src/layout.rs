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
pub(crate) fn ordered_i64(value: i64) -> [u8; 8] {
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

/// Bytes of the namespace in a row key.
pub(crate) fn namespace_len(namespace: Namespace) -> usize {
    match namespace {
        Namespace::Global | Namespace::GlobalWindow => 1,
        Namespace::TimeWindow { .. } => 17,
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

/// Bytes of the last-access timestamp in front of a value of a state with a time-to-live.
pub(crate) const STAMP_BYTES: usize = 8;

/// Appends `[last access: i64 big-endian][value]`: how a value (or a map entry) of a state
/// with a time-to-live is stored.
pub(crate) fn encode_stamped_into<T: Serialize>(
    out: &mut Vec<u8>,
    last_access: i64,
    value: &T,
    state: &str,
) -> Result<(), StateError> {
    out.extend_from_slice(&last_access.to_be_bytes());
    encode_into(out, value, state)
}

/// The last-access timestamp of a stamped value (`None` if it is too short).
pub(crate) fn stamp_of(bytes: &[u8]) -> Option<i64> {
    let stamp: [u8; STAMP_BYTES] = bytes.get(..STAMP_BYTES)?.try_into().ok()?;
    Some(i64::from_be_bytes(stamp))
}

/// Decodes a stamped value into its last-access timestamp and value.
pub(crate) fn decode_stamped<T: DeserializeOwned>(
    bytes: &[u8],
    state: &str,
) -> Result<(i64, T), StateError> {
    let stamp = stamp_of(bytes).ok_or_else(|| truncated::<T>(state))?;
    Ok((stamp, decode(&bytes[STAMP_BYTES..], state)?))
}

/// Appends one list element of a state with a time-to-live:
/// `[last access: i64 BE][length: u32 BE][element]`. The length lets a store's compaction
/// filter walk the elements without knowing their type.
pub(crate) fn encode_stamped_element_into<T: Serialize>(
    out: &mut Vec<u8>,
    last_access: i64,
    element: &T,
    state: &str,
) -> Result<(), StateError> {
    out.extend_from_slice(&last_access.to_be_bytes());
    let length_at = out.len();
    out.extend_from_slice(&[0; 4]);
    encode_into(out, element, state)?;
    let length = u32::try_from(out.len() - length_at - 4).map_err(|_| StateError::Encode {
        state: state.to_owned(),
        message: "a list element is over 4 GiB".into(),
    })?;
    out[length_at..length_at + 4].copy_from_slice(&length.to_be_bytes());
    Ok(())
}

/// Walks the elements of a stamped list: `visit(last access, element bytes)`; `false` if the
/// bytes are not a well-formed stamped list.
pub(crate) fn walk_stamped_list(mut bytes: &[u8], mut visit: impl FnMut(i64, &[u8])) -> bool {
    while !bytes.is_empty() {
        let (Some(stamp), Some(length)) = (
            stamp_of(bytes),
            bytes
                .get(STAMP_BYTES..STAMP_BYTES + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes),
        ) else {
            return false;
        };
        let start = STAMP_BYTES + 4;
        let Some(element) = bytes.get(start..start + length as usize) else {
            return false;
        };
        visit(stamp, element);
        bytes = &bytes[start + length as usize..];
    }
    true
}

/// Decodes a stamped list into `(last access, element)` pairs.
pub(crate) fn decode_stamped_list<T: DeserializeOwned>(
    bytes: &[u8],
    state: &str,
) -> Result<Vec<(i64, T)>, StateError> {
    let mut elements = Vec::new();
    let mut failure = None;
    let well_formed = walk_stamped_list(bytes, |stamp, element| {
        if failure.is_none() {
            match decode(element, state) {
                Ok(element) => elements.push((stamp, element)),
                Err(e) => failure = Some(e),
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None if !well_formed => Err(truncated::<T>(state)),
        None => Ok(elements),
    }
}

fn truncated<T>(state: &str) -> StateError {
    StateError::Decode {
        state: state.to_owned(),
        expected: std::any::type_name::<T>(),
        message: "the value is shorter than its time-to-live header says".into(),
    }
}

pub(crate) fn decode_error<T>(state: &str, error: postcard::Error) -> StateError {
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
    fn stamped_values_and_lists_round_trip() {
        let mut bytes = Vec::new();
        encode_stamped_into(&mut bytes, -5, &"v".to_string(), "s").unwrap();
        assert_eq!(
            decode_stamped::<String>(&bytes, "s").unwrap(),
            (-5, "v".to_string())
        );
        assert!(decode_stamped::<String>(&bytes[..4], "s").is_err());
        let mut list = Vec::new();
        for (stamp, element) in [(1i64, 10u64), (2, 300), (3, 70_000)] {
            encode_stamped_element_into(&mut list, stamp, &element, "s").unwrap();
        }
        assert_eq!(
            decode_stamped_list::<u64>(&list, "s").unwrap(),
            vec![(1, 10), (2, 300), (3, 70_000)]
        );
        let mut stamps = Vec::new();
        assert!(walk_stamped_list(&list, |stamp, _| stamps.push(stamp)));
        assert_eq!(stamps, vec![1, 2, 3]);
        assert!(!walk_stamped_list(&list[..list.len() - 1], |_, _| {}));
        assert!(decode_stamped_list::<u64>(&list[..list.len() - 1], "s").is_err());
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }
}
