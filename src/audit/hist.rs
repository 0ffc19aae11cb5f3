//! Token counts per request as a histogram: nearest-rank percentiles over millions of requests in bounded memory.
//!
//! Counts below [`EXACT_BELOW`] (65,536 tokens) are kept exactly, so a percentile that falls there is the exact
//! nearest-rank value. Larger counts are kept to 12 significant bits: the reported value is the lower edge of a bin
//! no wider than 1/2048 of it (within 0.05 %). Memory does not grow with the number of requests, only with the
//! distinct values seen: an array for values below [`DENSE`] (grown to the largest one seen, at most 8 KiB) and one
//! hash-map entry per other distinct value or bin — at most 64,512 exact ones plus 2,048 bins per doubling above
//! 65,536, and typically a few thousand. The hash map keeps adding a value to a constant time (an ordered map was 8%
//! of the audit's time); the order is only needed when a percentile is asked for.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Values below this are exact.
pub const EXACT_BELOW: u64 = 1 << 16;
/// Values below this are counted in an array.
pub(super) const DENSE: u64 = 1024;
/// Significant bits kept above [`EXACT_BELOW`].
const BITS: u32 = 12;

/// Hashes a `u64` key by one multiplication (Fibonacci hashing): the keys are token counts, not attacker-chosen
/// strings, and SipHash would cost more than the rest of the insert.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CountHasher(u64);

impl Hasher for CountHasher {
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A histogram of token counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hist {
    dense: Vec<u64>,
    sparse: HashMap<u64, u64, BuildHasherDefault<CountHasher>>,
    n: u64,
}

/// The bin (its lower edge) that holds `v`.
fn bin(v: u64) -> u64 {
    if v < EXACT_BELOW {
        return v;
    }
    let shift = (64 - v.leading_zeros()).saturating_sub(BITS);
    (v >> shift) << shift
}

impl Hist {
    /// Count one value.
    pub fn add(&mut self, v: u64) {
        self.n += 1;
        if v < DENSE {
            let i = v as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, 0);
            }
            self.dense[i] += 1;
        } else {
            *self.sparse.entry(bin(v)).or_insert(0) += 1;
        }
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, o: &Hist) {
        if self.dense.len() < o.dense.len() {
            self.dense.resize(o.dense.len(), 0);
        }
        for (a, b) in self.dense.iter_mut().zip(&o.dense) {
            *a += b;
        }
        for (k, c) in &o.sparse {
            *self.sparse.entry(*k).or_insert(0) += c;
        }
        self.n += o.n;
    }

    /// Values counted.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The nearest-rank `q`-quantile (the value at rank `ceil(q·n)`, at least rank 1); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.n == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (v, c) in self.dense.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(v as u64);
            }
        }
        let mut rest: Vec<(u64, u64)> = self.sparse.iter().map(|(v, c)| (*v, *c)).collect();
        rest.sort_unstable();
        for (v, c) in rest {
            seen += c;
            if seen >= rank {
                return Some(v);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nearest_rank(sorted: &[u64], q: f64) -> u64 {
        let n = sorted.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        sorted[rank - 1]
    }

    #[test]
    fn exact_below_the_threshold_and_within_a_bin_above() {
        let mut rng_state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            rng_state
        };
        let mut vals = Vec::new();
        let (mut a, mut b) = (Hist::default(), Hist::default());
        for i in 0..20_000 {
            let v = match next() % 10 {
                0 => next() % 3_000_000,
                1..=3 => next() % 60_000,
                _ => next() % 2_000,
            };
            vals.push(v);
            if i % 2 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
        }
        a.merge(&b);
        vals.sort_unstable();
        assert_eq!(a.len(), 20_000);
        for q in [0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let exact = nearest_rank(&vals, q);
            let got = a.quantile(q).unwrap();
            if exact < EXACT_BELOW {
                assert_eq!(got, exact, "q={q}");
            } else {
                assert!(
                    got <= exact && (exact - got) as f64 <= exact as f64 / 2048.0,
                    "q={q}: {got} vs {exact}"
                );
            }
        }
        assert_eq!(Hist::default().quantile(0.5), None);
        assert_eq!(a.quantile(1.5), None);
    }

    #[test]
    fn bins_are_narrow_and_cover_u64() {
        assert_eq!(bin(65_535), 65_535);
        assert_eq!(bin(65_536), 65_536);
        assert_eq!(bin(65_537), 65_536);
        assert_eq!(bin(1_000_003), 1_000_003 >> 8 << 8);
        let mut h = Hist::default();
        h.add(u64::MAX);
        assert!(h.quantile(0.5).unwrap() > u64::MAX / 2);
    }
}
