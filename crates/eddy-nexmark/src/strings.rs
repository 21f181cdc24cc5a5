//! Random strings as the reference builds them.

use crate::random::JavaRandom;

/// The shortest string `next_string` makes (before trimming).
const MIN_STRING_LENGTH: i32 = 3;

/// A string of 3 to `max_length - 1` characters: lowercase letters, and `special` with
/// probability 1/13, trimmed of surrounding whitespace.
pub fn next_string(random: &mut JavaRandom, max_length: i32, special: char) -> String {
    let len = MIN_STRING_LENGTH + random.next_int_below(max_length - MIN_STRING_LENGTH);
    let mut s = String::with_capacity(len as usize);
    for _ in 0..len {
        if random.next_int_below(13) == 0 {
            s.push(special);
        } else {
            s.push(char::from(b'a' + random.next_int_below(26) as u8));
        }
    }
    // Java's trim: every leading and trailing char up to U+0020.
    s.trim_matches(|c: char| c <= ' ').to_string()
}

/// A string of exactly `length` characters, six per random `int` (base 26 digits of it; a
/// negative `int` gives characters just below `a`, as in the reference).
pub fn next_exact_string(random: &mut JavaRandom, length: usize) -> String {
    let ints = length.div_ceil(6);
    // Written in place, twelve letters at a time (no length kept up per letter).
    let mut bytes = vec![0u8; ints * 6];
    let mut pairs = bytes.chunks_exact_mut(12);
    for twelve in &mut pairs {
        let (first, second) = random.next_int_pair();
        twelve[..6].copy_from_slice(&six_letters(first));
        twelve[6..].copy_from_slice(&six_letters(second));
    }
    let last = pairs.into_remainder();
    if !last.is_empty() {
        last.copy_from_slice(&six_letters(random.next_int()));
    }
    bytes.truncate(length);
    debug_assert!(bytes.is_ascii());
    // SAFETY: every byte comes from `LETTER_PAIRS`, whose letters are ASCII (b'H' to b'z'),
    // so the bytes are UTF-8; checking them again cost 4 % of a Nexmark source's time.
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// The two letters of each base-676 digit, the first in the low byte: the digit's base-26
/// digits, least significant first, up from `a` for a non-negative `int` ([0]) and down from
/// `a` for a negative one ([1]: Java's `%` keeps the sign).
static LETTER_PAIRS: [[u16; 676]; 2] = [letter_pairs(false), letter_pairs(true)];

const fn letter_pairs(negative: bool) -> [u16; 676] {
    let mut pairs = [0u16; 676];
    let mut digit = 0;
    while digit < 676 {
        let (low, high) = ((digit % 26) as u8, (digit / 26) as u8);
        let letters = if negative {
            [b'a' - low, b'a' - high]
        } else {
            [b'a' + low, b'a' + high]
        };
        pairs[digit] = u16::from_le_bytes(letters);
        digit += 1;
    }
    pairs
}

/// The six base-26 digits of `rnd`, least significant first, as letters: three lookups of
/// two letters each.
#[inline]
fn six_letters(rnd: i32) -> [u8; 6] {
    let pairs = &LETTER_PAIRS[usize::from(rnd < 0)];
    let magnitude = rnd.unsigned_abs();
    let [a, b] = pairs[(magnitude % 676) as usize].to_le_bytes();
    let [c, d] = pairs[(magnitude / 676 % 676) as usize].to_le_bytes();
    let [e, f] = pairs[(magnitude / (676 * 676) % 676) as usize].to_le_bytes();
    [a, b, c, d, e, f]
}

/// Padding such that `current_size` plus its length is `average_size` on average: uniform
/// within ±20 % of the missing bytes.
pub fn next_extra(random: &mut JavaRandom, current_size: usize, average_size: u32) -> String {
    let average = average_size as usize;
    if current_size > average {
        return String::new();
    }
    let missing = average - current_size;
    // Java's Math.round: half up, the floor of x + 0.5 (the cast's truncation, x ≥ 0).
    let delta = (missing as f64 * 0.2 + 0.5) as usize;
    let min_size = missing - delta;
    let size = if delta == 0 {
        min_size
    } else {
        min_size + random.next_int_below((2 * delta) as i32) as usize
    };
    next_exact_string(random, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's loop, character by character with Java's `int` arithmetic.
    fn exact_by_the_reference(random: &mut JavaRandom, length: usize) -> String {
        let mut s = String::new();
        let (mut rnd, mut left) = (0i32, 0);
        for _ in 0..length {
            if left == 0 {
                rnd = random.next_int();
                left = 6;
            }
            s.push(char::from((i32::from(b'a') + rnd % 26) as u8));
            rnd /= 26;
            left -= 1;
        }
        s
    }

    #[test]
    fn letter_pairs_are_ascii_letters_of_both_signs() {
        for (sign, pairs) in LETTER_PAIRS.iter().enumerate() {
            for (digit, pair) in pairs.iter().enumerate() {
                let [low, high] = pair.to_le_bytes();
                let expected = |d: usize| {
                    if sign == 0 {
                        b'a' + d as u8
                    } else {
                        b'a' - d as u8
                    }
                };
                assert_eq!((low, high), (expected(digit % 26), expected(digit / 26)));
                assert!((b'H'..=b'z').contains(&low) && (b'H'..=b'z').contains(&high));
            }
        }
    }

    #[test]
    fn exact_strings_match_the_reference_loop() {
        for seed in 0..200 {
            for length in [0, 1, 5, 6, 7, 13, 68, 377] {
                let mut a = JavaRandom::new(seed);
                let mut b = JavaRandom::new(seed);
                assert_eq!(
                    next_exact_string(&mut a, length),
                    exact_by_the_reference(&mut b, length),
                    "seed {seed}, length {length}"
                );
                assert_eq!(a.next_int(), b.next_int(), "the same draws were used");
            }
        }
    }

    #[test]
    fn strings_follow_the_reference_rules() {
        let mut random = JavaRandom::new(7);
        for _ in 0..1000 {
            let s = next_string(&mut random, 20, ' ');
            assert!(
                s.len() <= 19 && !s.starts_with(' ') && !s.ends_with(' '),
                "{s:?}"
            );
            assert!(
                s.chars().all(|c| c == ' ' || c.is_ascii_lowercase()),
                "{s:?}"
            );
            let u = next_string(&mut random, 5, '_');
            assert!((3..=4).contains(&u.len()), "{u:?}");
        }
        assert_eq!(next_exact_string(&mut random, 13).len(), 13);
        // 100 - 32 = 68 missing bytes: 68 ± 14 (Math.round(13.6) = 14), so 54..=81.
        for _ in 0..1000 {
            let extra = next_extra(&mut random, 32, 100);
            assert!((54..82).contains(&extra.len()), "{}", extra.len());
        }
        assert_eq!(next_extra(&mut random, 120, 100), "");
    }
}
