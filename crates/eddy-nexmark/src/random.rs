//! The random numbers of the reference generator: `java.util.Random`'s 48-bit linear
//! congruential generator, seeded per event (see
//! [`event_seed`](crate::generator::event_seed)), so that every event is a pure function of its
//! id.

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const INCREMENT: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// Two steps as one: `seed · M² + (M · B + B)` (mod 2^48).
const MULTIPLIER_TWICE: u64 = MULTIPLIER.wrapping_mul(MULTIPLIER) & MASK;
const INCREMENT_TWICE: u64 = MULTIPLIER.wrapping_mul(INCREMENT).wrapping_add(INCREMENT) & MASK;

/// `java.util.Random`, bit for bit.
#[derive(Debug, Clone)]
pub struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    /// A generator seeded as `new Random(seed)`.
    pub fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    /// The next `bits` random bits (`next(bits)`), as Java's `int`.
    #[inline]
    fn next(&mut self, bits: u32) -> i32 {
        self.seed = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(INCREMENT) & MASK;
        (self.seed >> (48 - bits)) as u32 as i32
    }

    /// `nextInt()`: any `i32`.
    #[inline]
    pub fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// Two `nextInt()`s, in order. The second state is computed from the current one
    /// directly (one step of the generator squared), so the two multiplications do not wait
    /// on each other.
    #[inline]
    pub fn next_int_pair(&mut self) -> (i32, i32) {
        let first = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(INCREMENT) & MASK;
        let second = self
            .seed
            .wrapping_mul(MULTIPLIER_TWICE)
            .wrapping_add(INCREMENT_TWICE)
            & MASK;
        self.seed = second;
        ((first >> 16) as u32 as i32, (second >> 16) as u32 as i32)
    }

    /// `nextInt(bound)`: uniform in `[0, bound)`; `bound` must be positive.
    #[inline]
    pub fn next_int_below(&mut self, bound: i32) -> i32 {
        debug_assert!(bound > 0, "bound must be positive");
        if bound & bound.wrapping_neg() == bound {
            return ((i64::from(bound) * i64::from(self.next(31))) >> 31) as i32;
        }
        loop {
            let bits = self.next(31);
            let value = bits % bound;
            // Java's `int` arithmetic overflows here on purpose: it rejects the values of the
            // last, incomplete range of `bound`.
            if bits.wrapping_sub(value).wrapping_add(bound - 1) >= 0 {
                return value;
            }
        }
    }

    /// `nextLong()`.
    #[inline]
    pub fn next_long(&mut self) -> i64 {
        let high = i64::from(self.next(32)) << 32;
        high.wrapping_add(i64::from(self.next(32)))
    }

    /// `nextDouble()`: uniform in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn next_double(&mut self) -> f64 {
        let bits = (i64::from(self.next(26)) << 27) + i64::from(self.next(27));
        bits as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// The reference's `LongGenerator.nextLong(random, n)`: `[0, n)` through `nextInt` when `n`
    /// fits an `int`, otherwise `|nextLong() % n|` (skewed, as in the reference).
    #[inline]
    pub fn next_long_below(&mut self, n: i64) -> i64 {
        if n < i64::from(i32::MAX) {
            i64::from(self.next_int_below(n as i32))
        } else {
            (self.next_long() % n).wrapping_abs()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The values were printed by `java.util.Random` (OpenJDK 17) for the same seeds and calls.
    #[test]
    fn matches_java_util_random() {
        let mut r = JavaRandom::new(42);
        assert_eq!(r.next_int(), -1170105035);
        assert_eq!(r.next_int_below(10), 3);
        assert_eq!(r.next_int_below(13), 9);
        assert_eq!(r.next_int_below(1 << 20), 50268);
        assert_eq!(r.next_long(), 5694868678511409995);
        assert_eq!(r.next_double(), 0.27707849007413665);
        assert_eq!(r.next_int_below(1_000_000_007), 429255512);
        let mut r = JavaRandom::new(-7);
        assert_eq!(r.next_int(), 1155869324);
        assert_eq!(r.next_int_below(26), 7);
        assert_eq!(r.next_long(), -6028743012628894217);
        assert_eq!(r.next_double(), 0.5214896372918163);
    }

    #[test]
    fn pairs_are_two_ints_in_order() {
        for seed in [0, 1, -7, 42, i64::MAX, i64::MIN] {
            let (mut pairs, mut singles) = (JavaRandom::new(seed), JavaRandom::new(seed));
            for _ in 0..1000 {
                let (a, b) = pairs.next_int_pair();
                assert_eq!(
                    (a, b),
                    (singles.next_int(), singles.next_int()),
                    "seed {seed}"
                );
            }
            assert_eq!(pairs.next_long(), singles.next_long());
        }
    }
}
