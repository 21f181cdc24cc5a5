//! A stable, allocation-free hash of a key's serialized form.
//!
//! Keys are hashed through serde: a [`serde::Serializer`] that, instead of writing bytes,
//! folds every primitive (integers as little-endian 64-bit words, strings and byte strings as
//! their bytes plus length) into a 64-bit state. The result depends only on the key's value and
//! its serde shape — never on the process, the platform's endianness or Rust's randomized
//! `Hash` — so every process agrees on a key's key group.

use std::fmt::Display;

use serde::ser::{self, Serialize};

use crate::error::CodecError;

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// The finalizer's multiplier (an odd constant with well-spread bits).
const FOLD_MULTIPLIER: u64 = 0xa076_1d64_78bd_642f;

/// A folded multiply: the 128-bit product of the state and a constant, its two halves xor'ed.
/// The high half depends on every bit of the state, so the low bits (which pick the key group)
/// do too, at the cost of one multiplication. (Until 2026-12 this was Murmur3's 64-bit
/// finalizer, two multiplications and three shifts; no release had shipped state to restore.)
#[inline(always)]
fn finish(state: u64) -> u64 {
    let product = u128::from(state) * u128::from(FOLD_MULTIPLIER);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Folds values into a 64-bit state.
struct Folder {
    state: u64,
}

impl Folder {
    #[inline]
    fn word(&mut self, word: u64) {
        self.state = (self.state.rotate_left(23) ^ word).wrapping_mul(MULTIPLIER);
    }

    #[inline]
    fn bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8-byte chunk")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.word(tail_word(rest));
        }
        self.word(bytes.len() as u64);
    }
}

/// The 1 to 7 bytes of `rest` as a little-endian word padded with zeros, read with (possibly
/// overlapping) loads instead of a copy of variable length: short keys (words, ids) are mostly
/// tail.
#[inline(always)]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    debug_assert!((1..8).contains(&n));
    if n >= 4 {
        let low = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let high = u32::from_le_bytes([rest[n - 4], rest[n - 3], rest[n - 2], rest[n - 1]]);
        // The overlapping bytes land on the same bits in both halves.
        u64::from(low) | (u64::from(high) << (8 * (n - 4)))
    } else {
        let (first, middle, last) = (rest[0], rest[n / 2], rest[n - 1]);
        u64::from(first) | (u64::from(middle) << (8 * (n / 2))) | (u64::from(last) << (8 * (n - 1)))
    }
}

/// The stable 64-bit hash of a key.
#[inline]
pub fn stable_hash<K: Serialize + ?Sized>(key: &K) -> Result<u64, CodecError> {
    let mut folder = Folder { state: 0 };
    key.serialize(&mut folder)?;
    Ok(finish(folder.state))
}

impl ser::Error for CodecError {
    fn custom<T: Display>(msg: T) -> Self {
        CodecError(msg.to_string())
    }
}

macro_rules! fold_int {
    ($($method:ident: $t:ty),*) => {$(
        #[inline]
        fn $method(self, v: $t) -> Result<(), CodecError> {
            self.word(v as u64);
            Ok(())
        }
    )*};
}

impl ser::Serializer for &mut Folder {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fold_int!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);

    fn serialize_bool(self, v: bool) -> Result<(), CodecError> {
        self.word(u64::from(v));
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), CodecError> {
        self.bytes(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), CodecError> {
        self.bytes(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), CodecError> {
        self.word(u64::from(v.to_bits()));
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), CodecError> {
        self.word(v.to_bits());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), CodecError> {
        self.word(u64::from(v));
        Ok(())
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), CodecError> {
        self.bytes(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CodecError> {
        self.bytes(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), CodecError> {
        self.word(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CodecError> {
        self.word(1);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CodecError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CodecError> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
    ) -> Result<(), CodecError> {
        self.word(u64::from(variant_index));
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        self.word(u64::from(variant_index));
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, CodecError> {
        self.word(len.unwrap_or(usize::MAX) as u64);
        Ok(self)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, CodecError> {
        self.word(u64::from(variant_index));
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, CodecError> {
        self.word(len.unwrap_or(usize::MAX) as u64);
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, CodecError> {
        self.word(u64::from(variant_index));
        Ok(self)
    }
}

macro_rules! compound {
    ($($trait:ident: $method:ident),*) => {$(
        impl ser::$trait for &mut Folder {
            type Ok = ();
            type Error = CodecError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), CodecError> {
                Ok(())
            }
        }
    )*};
}
compound!(SerializeSeq: serialize_element, SerializeTuple: serialize_element,
    SerializeTupleStruct: serialize_field, SerializeTupleVariant: serialize_field);

impl ser::SerializeMap for &mut Folder {
    type Ok = ();
    type Error = CodecError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CodecError> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

/// Struct fields fold in declaration order; their names do not take part in the hash.
macro_rules! named_fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut Folder {
            type Ok = ();
            type Error = CodecError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                _key: &'static str,
                value: &T,
            ) -> Result<(), CodecError> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), CodecError> {
                Ok(())
            }
        }
    )*};
}
named_fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_shapes_are_distinguished() {
        assert_eq!(
            stable_hash("flink").unwrap(),
            stable_hash(&"flink".to_string()).unwrap()
        );
        assert_ne!(stable_hash("ab").unwrap(), stable_hash("ba").unwrap());
        assert_ne!(stable_hash("").unwrap(), stable_hash("\0").unwrap());
        assert_ne!(
            stable_hash(&(1u64, 2u64)).unwrap(),
            stable_hash(&(2u64, 1u64)).unwrap()
        );
        assert_ne!(
            stable_hash(&Some(0u8)).unwrap(),
            stable_hash(&None::<u8>).unwrap()
        );
    }

    #[test]
    fn tail_words_are_the_zero_padded_little_endian_bytes() {
        let bytes: Vec<u8> = (1..=7u8).map(|b| b.wrapping_mul(37) | 0x80).collect();
        for n in 1..8 {
            let mut padded = [0u8; 8];
            padded[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                tail_word(&bytes[..n]),
                u64::from_le_bytes(padded),
                "{n} bytes"
            );
        }
    }

    // The hash of every key shape is pinned with literal values, computed independently, in
    // tests/integration/key_placement.rs.

    #[test]
    fn small_integer_keys_spread_over_key_groups() {
        let mut counts = [0u32; 128];
        for key in 0..128_000u64 {
            counts[(stable_hash(&key).unwrap() % 128) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
