//! A reproducible sample of log rows in bounded memory: bottom-k by a seeded hash, per stratum when asked.
//!
//! Every eligible row gets the key `BLAKE3(seed ‖ row bytes)` (first 8 bytes); the sample is the `n` smallest keys
//! (per stratum: each stratum keeps its own `n` smallest, and the allocation picks how many of each are used). The
//! key depends only on the seed and the row's content, so the same files and seed give the same sample whatever the
//! order of the files, the thread count or how the work was split — and identical rows share a key, so a row logged
//! twice is sampled at most once. Memory is `n` keys per stratum; the rows themselves are fetched in a second pass.

use crate::logs::{Loc, Record, Sink};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

/// Strata told apart; later values are pooled under [`OTHER_STRATA`].
pub const MAX_STRATA: usize = 1000;
/// The pooled stratum.
pub const OTHER_STRATA: &str = "(other values)";
/// Rows without a value for the stratify field.
pub const NO_VALUE: &str = "(none)";

/// The sampling key of a row.
pub fn key(seed: u64, raw: &[u8]) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(raw);
    let b = h.finalize();
    u64::from_le_bytes(b.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

/// What the sampler keeps: which rows can be drawn and their stratum.
pub(super) trait Eligibility: Send + Sync {
    /// `Ok(stratum)` when the row can be drawn (the stratum is "" without stratification), else `Err(reason)`.
    fn check(&self, r: &Record) -> Result<String, &'static str>;
}

/// One stratum's population count and its `n` smallest keys.
#[derive(Debug, Clone, Default)]
pub(super) struct Stratum {
    /// Eligible rows.
    pub population: u64,
    heap: BinaryHeap<(u64, Loc)>,
    keys: HashSet<u64>,
}

impl Stratum {
    fn offer(&mut self, k: u64, at: Loc, n: usize) {
        if self.keys.contains(&k) {
            return; // an identical row: sampled once
        }
        if self.heap.len() < n {
            self.heap.push((k, at));
            self.keys.insert(k);
        } else if let Some(&(top, _)) = self.heap.peek() {
            if k < top {
                if let Some((old, _)) = self.heap.pop() {
                    self.keys.remove(&old);
                }
                self.heap.push((k, at));
                self.keys.insert(k);
            }
        }
    }

    /// The kept keys, smallest first.
    pub(super) fn sorted(&self) -> Vec<(u64, Loc)> {
        let mut v: Vec<(u64, Loc)> = self.heap.iter().copied().collect();
        v.sort_unstable();
        v
    }
}

/// Pass 1: count every stratum and keep its smallest keys.
pub(super) struct Picker {
    seed: u64,
    n: usize,
    rules: Arc<dyn Eligibility>,
    /// Per stratum.
    pub strata: HashMap<String, Stratum>,
    /// Rows not eligible, by reason.
    pub skipped: HashMap<&'static str, u64>,
}

impl Picker {
    /// An empty picker.
    pub(super) fn new(seed: u64, n: usize, rules: Arc<dyn Eligibility>) -> Picker {
        Picker {
            seed,
            n,
            rules,
            strata: HashMap::new(),
            skipped: HashMap::new(),
        }
    }

    fn stratum(&mut self, mut s: String) -> &mut Stratum {
        if self.strata.len() >= MAX_STRATA && !self.strata.contains_key(&s) {
            s = OTHER_STRATA.to_string();
        }
        self.strata.entry(s).or_default()
    }
}

impl Sink for Picker {
    fn row(&mut self, r: Record, at: Loc, raw: &[u8]) {
        match self.rules.check(&r) {
            Err(why) => *self.skipped.entry(why).or_default() += 1,
            Ok(s) => {
                let k = key(self.seed, raw);
                let n = self.n;
                let st = self.stratum(s);
                st.population += 1;
                st.offer(k, at, n);
            }
        }
    }

    fn merge(&mut self, o: Picker) {
        for (why, c) in o.skipped {
            *self.skipped.entry(why).or_default() += c;
        }
        let n = self.n;
        for (s, st) in o.strata {
            let mine = self.stratum(s);
            mine.population += st.population;
            for (k, at) in st.heap {
                mine.offer(k, at, n);
            }
        }
    }
}

/// Pass 2: fetch the chosen rows.
pub(super) struct Fetch {
    seed: u64,
    chosen: Arc<HashMap<Loc, u64>>,
    /// The rows found, with their key and content hash.
    pub rows: Vec<(u64, Loc, blake3::Hash, Record)>,
}

impl Fetch {
    /// Fetch the rows at these locations (with the keys pass 1 gave them).
    pub(super) fn new(seed: u64, chosen: Arc<HashMap<Loc, u64>>) -> Fetch {
        Fetch {
            seed,
            chosen,
            rows: Vec::new(),
        }
    }
}

impl Sink for Fetch {
    fn row(&mut self, r: Record, at: Loc, raw: &[u8]) {
        if let Some(k) = self.chosen.get(&at) {
            // The same bytes as in pass 1 (a file rewritten in between would not match and is left out).
            if key(self.seed, raw) == *k {
                self.rows.push((*k, at, blake3::hash(raw), r));
            }
        }
    }

    fn merge(&mut self, o: Fetch) {
        self.rows.extend(o.rows);
    }
}

/// How `n` is shared between strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Allocation {
    /// In proportion to each stratum's population.
    Proportional,
    /// The same number from each stratum.
    Equal,
}

/// Share `n` between strata (`(name, population, available)`, sorted by name): in proportion to the weights
/// (populations or all equal), never more than a stratum has, what a full stratum cannot take going to the others;
/// rounding by largest remainder, ties to the earlier name. Returns the count per stratum.
pub fn allocate(n: usize, strata: &[(String, u64, usize)], how: Allocation) -> Vec<usize> {
    let mut out = vec![0usize; strata.len()];
    let available: usize = strata.iter().map(|s| s.2).sum();
    if available <= n {
        return strata.iter().map(|s| s.2).collect();
    }
    let weight = |i: usize| -> f64 {
        match how {
            Allocation::Proportional => strata[i].1 as f64,
            Allocation::Equal => 1.0,
        }
    };
    let mut active: Vec<usize> = (0..strata.len()).filter(|&i| strata[i].2 > 0).collect();
    let mut left = n;
    loop {
        let total: f64 = active.iter().map(|&i| weight(i)).sum();
        if active.is_empty() || left == 0 || total <= 0.0 {
            return out;
        }
        // Strata whose share reaches what they have are filled and leave the pool.
        let full: Vec<usize> = active
            .iter()
            .copied()
            .filter(|&i| left as f64 * weight(i) / total >= strata[i].2 as f64)
            .collect();
        if !full.is_empty() {
            for &i in &full {
                out[i] = strata[i].2;
                left -= strata[i].2;
            }
            active.retain(|i| !full.contains(i));
            continue;
        }
        let shares: Vec<(usize, f64)> = active
            .iter()
            .map(|&i| (i, left as f64 * weight(i) / total))
            .collect();
        let mut given = 0;
        for &(i, s) in &shares {
            out[i] = s.floor() as usize;
            given += out[i];
        }
        let mut rest: Vec<(usize, f64)> = shares.iter().map(|&(i, s)| (i, s - s.floor())).collect();
        rest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (i, _) in rest.into_iter().take(left - given) {
            out[i] += 1;
        }
        return out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, pop: u64, avail: usize) -> (String, u64, usize) {
        (name.into(), pop, avail)
    }

    #[test]
    fn allocation_is_proportional_capped_and_exact() {
        let strata = [s("a", 900, 100), s("b", 90, 90), s("c", 10, 10)];
        assert_eq!(
            allocate(100, &strata, Allocation::Proportional),
            vec![90, 9, 1]
        );
        assert_eq!(allocate(30, &strata, Allocation::Equal), vec![10, 10, 10]);
        // c has only 10: the rest is shared by a and b.
        assert_eq!(allocate(60, &strata, Allocation::Equal), vec![25, 25, 10]);
        // Fewer rows than asked: everything.
        assert_eq!(
            allocate(500, &strata, Allocation::Proportional),
            vec![100, 90, 10]
        );
        let strata = [s("a", 1, 5), s("b", 1, 5), s("c", 1, 5)];
        let got = allocate(4, &strata, Allocation::Proportional);
        assert_eq!(got.iter().sum::<usize>(), 4);
        assert_eq!(got, vec![2, 1, 1]);
    }

    #[test]
    fn bottom_k_is_order_free_and_deduplicates() {
        struct All;
        impl Eligibility for All {
            fn check(&self, _: &Record) -> Result<String, &'static str> {
                Ok(String::new())
            }
        }
        let rows: Vec<Vec<u8>> = (0..500)
            .map(|i| format!("{{\"i\": {}}}", i % 400).into_bytes())
            .collect();
        let pick = |order: &[usize], split: usize| {
            let mut a = Picker::new(7, 20, Arc::new(All));
            let mut b = Picker::new(7, 20, Arc::new(All));
            for (j, &i) in order.iter().enumerate() {
                let at = Loc {
                    file: 0,
                    line: i as u64 + 1,
                };
                let p = if j % split == 0 { &mut a } else { &mut b };
                p.row(Record::default(), at, &rows[i]);
            }
            a.merge(b);
            let st = &a.strata[""];
            assert_eq!(st.population, 500);
            st.sorted().into_iter().map(|(k, _)| k).collect::<Vec<_>>()
        };
        let fwd: Vec<usize> = (0..500).collect();
        let rev: Vec<usize> = (0..500).rev().collect();
        let one = pick(&fwd, 1);
        assert_eq!(one.len(), 20);
        assert_eq!(one, pick(&rev, 3));
        let mut uniq = one.clone();
        uniq.dedup();
        assert_eq!(uniq.len(), 20, "identical rows are sampled once");
        assert_ne!(key(7, b"x"), key(8, b"x"));
    }
}
