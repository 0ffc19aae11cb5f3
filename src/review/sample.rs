//! Which items a review pack shows: a seeded uniform or stratified sample of the items both providers answered,
//! optionally with every item on which they disagree.
//!
//! Why this module exists: a human review is a sample, so how it was drawn decides what its rates estimate. A uniform
//! (or proportionally stratified) sample estimates the rate over the whole dataset; adding every disagreement
//! over-weights the items where the two differ, which the pack records so the reader knows. The draw is a pure
//! function of its inputs and the seed, so the same command gives the same pack.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An item that may be drawn.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Eligible {
    /// Position in the dataset.
    pub index: usize,
    /// Its stratum (label or category), when the draw is stratified.
    pub stratum: Option<String>,
    /// The two providers' outputs disagree on it.
    pub disagreement: bool,
}

/// How many eligible and drawn items one stratum has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StratumCount {
    /// Eligible items in the stratum.
    pub eligible: usize,
    /// Items of the stratum in the pack.
    pub sampled: usize,
}

/// How a pack was drawn (recorded in pack.json and shown with the results).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draw {
    /// `uniform` or `stratified`.
    pub method: String,
    /// The field the strata come from (`label` for classification, else the dataset's `category` field).
    pub stratified_by: Option<String>,
    /// Items asked for (`--n`, or `--sample` of the eligible items).
    pub requested: usize,
    /// Items both providers answered (the only ones that can be drawn).
    pub eligible: usize,
    /// Items in the dataset that were not eligible (a provider failed or has no record).
    pub not_answered_by_both: usize,
    /// Items in the pack.
    pub drawn: usize,
    /// The seed of the draw and of the side assignment.
    pub seed: u64,
    /// Per stratum (empty for a uniform draw).
    pub strata: BTreeMap<String, StratumCount>,
    /// Whether every disagreement was put in the pack (`--include-disagreements`).
    pub include_disagreements: bool,
    /// Eligible items on which the providers disagree.
    pub disagreements: usize,
    /// Of those, in the pack.
    pub disagreements_drawn: usize,
}

impl Draw {
    /// One line for reports: "60 of 200 eligible items, stratified by label (seed 7)".
    pub fn describe(&self) -> String {
        let how = match &self.stratified_by {
            Some(f) if self.method == "stratified" => format!("stratified by {f}"),
            _ => "uniform".to_string(),
        };
        let mut s = format!(
            "{} of {} eligible items, {how} (seed {})",
            self.drawn, self.eligible, self.seed
        );
        if self.include_disagreements {
            s.push_str(&format!(
                ", with all {} disagreements (not a uniform sample: disagreements are over-weighted)",
                self.disagreements
            ));
        }
        s
    }
}

/// Draw `n` of `eligible` (positions into it, in the pack's shuffled order) and the side of the candidate for each.
/// `not_eligible` only goes into the record. With `include_disagreements`, every disagreement is drawn first and the
/// rest of `n` (if any) is sampled from the other items.
pub(super) fn draw(
    eligible: &[Eligible],
    not_eligible: usize,
    n: usize,
    seed: u64,
    include_disagreements: bool,
    stratified_by: Option<&str>,
) -> (Vec<(usize, super::Side)>, Draw) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (forced, pool): (Vec<usize>, Vec<usize>) =
        (0..eligible.len()).partition(|&i| include_disagreements && eligible[i].disagreement);
    let k = n.saturating_sub(forced.len()).min(pool.len());
    let mut strata: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    if stratified_by.is_some() {
        for &i in &pool {
            let s = eligible[i].stratum.clone().unwrap_or_default();
            strata.entry(s).or_default().push(i);
        }
    }
    let stratified = strata.len() > 1;
    let mut chosen = forced.clone();
    if stratified {
        let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
        for (members, m) in strata.values().zip(allocate(k, &sizes)) {
            chosen.extend(sample(&mut rng, members, m));
        }
    } else {
        chosen.extend(sample(&mut rng, &pool, k));
    }
    chosen.shuffle(&mut rng);
    let picks: Vec<(usize, super::Side)> = chosen
        .iter()
        .map(|&i| {
            let side = if rand::Rng::random::<bool>(&mut rng) {
                super::Side::A
            } else {
                super::Side::B
            };
            (i, side)
        })
        .collect();
    let mut counts: BTreeMap<String, StratumCount> = BTreeMap::new();
    if stratified {
        for e in eligible {
            counts
                .entry(e.stratum.clone().unwrap_or_default())
                .or_default()
                .eligible += 1;
        }
        for &i in &chosen {
            counts
                .entry(eligible[i].stratum.clone().unwrap_or_default())
                .or_default()
                .sampled += 1;
        }
    }
    let disagreements = eligible.iter().filter(|e| e.disagreement).count();
    let record = Draw {
        method: if stratified { "stratified" } else { "uniform" }.into(),
        stratified_by: stratified_by.filter(|_| stratified).map(str::to_string),
        requested: n,
        eligible: eligible.len(),
        not_answered_by_both: not_eligible,
        drawn: chosen.len(),
        seed,
        strata: counts,
        include_disagreements,
        disagreements,
        disagreements_drawn: chosen.iter().filter(|&&i| eligible[i].disagreement).count(),
    };
    (picks, record)
}

/// `m` of `members` uniformly without replacement, in `members` order.
fn sample(rng: &mut ChaCha8Rng, members: &[usize], m: usize) -> Vec<usize> {
    let mut idx = rand::seq::index::sample(rng, members.len(), m.min(members.len())).into_vec();
    idx.sort_unstable();
    idx.into_iter().map(|i| members[i]).collect()
}

/// Split `k` draws over strata of `sizes` in proportion to their sizes (largest remainder; ties to the earlier
/// stratum), never more than a stratum holds.
fn allocate(k: usize, sizes: &[usize]) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    if total == 0 {
        return vec![0; sizes.len()];
    }
    let k = k.min(total);
    let mut quota: Vec<usize> = sizes.iter().map(|&s| k * s / total).collect();
    let mut rest: Vec<(usize, usize)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| ((k * s) % total, i))
        .collect();
    // Largest remainder first; equal remainders go to the earlier stratum.
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = k - quota.iter().sum::<usize>();
    for (_, i) in rest.iter().cycle().take(2 * sizes.len()) {
        if left == 0 {
            break;
        }
        if quota[*i] < sizes[*i] {
            quota[*i] += 1;
            left -= 1;
        }
    }
    quota
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize, strata: &[&str], every_dis: usize) -> Vec<Eligible> {
        (0..n)
            .map(|i| Eligible {
                index: i,
                stratum: Some(strata[i % strata.len()].to_string()),
                disagreement: every_dis > 0 && i % every_dis == 0,
            })
            .collect()
    }

    #[test]
    fn allocation_is_proportional_and_sums_to_k() {
        assert_eq!(allocate(10, &[50, 30, 20]), vec![5, 3, 2]);
        assert_eq!(
            allocate(7, &[1, 1, 1]),
            vec![1, 1, 1],
            "never more than a stratum holds"
        );
        assert_eq!(allocate(4, &[10, 10, 10]), vec![2, 1, 1]);
        assert_eq!(allocate(0, &[3, 4]), vec![0, 0]);
        for k in 0..40 {
            let a = allocate(k, &[13, 7, 19, 1]);
            assert_eq!(a.iter().sum::<usize>(), k.min(40));
        }
    }

    #[test]
    fn the_draw_is_seeded_distinct_and_stratified() {
        let e = pool(90, &["billing", "bug", "feature"], 0);
        let (a, d) = draw(&e, 10, 30, 7, false, Some("label"));
        let (b, _) = draw(&e, 10, 30, 7, false, Some("label"));
        let (c, _) = draw(&e, 10, 30, 8, false, Some("label"));
        assert_eq!(a, b, "same seed, same pack");
        assert_ne!(a, c, "another seed, another pack");
        let mut ids: Vec<usize> = a.iter().map(|p| p.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 30);
        assert_eq!(d.method, "stratified");
        assert_eq!(d.stratified_by.as_deref(), Some("label"));
        for s in ["billing", "bug", "feature"] {
            assert_eq!(
                d.strata[s],
                StratumCount {
                    eligible: 30,
                    sampled: 10
                },
                "{s}"
            );
        }
        assert_eq!((d.eligible, d.not_answered_by_both, d.drawn), (90, 10, 30));
        // Both sides occur; the assignment is not all-A or all-B.
        let on_a = a.iter().filter(|p| p.1 == super::super::Side::A).count();
        assert!(on_a > 5 && on_a < 25, "{on_a}");
    }

    #[test]
    fn one_stratum_is_a_uniform_draw_and_small_pools_are_taken_whole() {
        let e = pool(12, &["x"], 0);
        let (p, d) = draw(&e, 0, 60, 1, false, Some("label"));
        assert_eq!(p.len(), 12);
        assert_eq!(d.method, "uniform");
        assert_eq!(d.stratified_by, None);
        assert!(d.strata.is_empty());
        let (p, d) = draw(&e, 0, 5, 1, false, None);
        assert_eq!((p.len(), d.drawn, d.requested), (5, 5, 5));
    }

    #[test]
    fn every_disagreement_is_included_on_request() {
        let e = pool(100, &["a", "b"], 4); // 25 disagreements
        let (p, d) = draw(&e, 0, 40, 3, true, Some("category"));
        assert_eq!(p.len(), 40);
        assert_eq!((d.disagreements, d.disagreements_drawn), (25, 25));
        assert!(p.iter().filter(|x| e[x.0].disagreement).count() == 25);
        // More disagreements than asked for: all of them, nothing else.
        let (p, d) = draw(&e, 0, 10, 3, true, None);
        assert_eq!((p.len(), d.drawn), (25, 25));
        assert!(d.describe().contains("over-weighted"), "{}", d.describe());
        let (_, d) = draw(&e, 0, 10, 3, false, None);
        assert!(!d.describe().contains("over-weighted"));
    }
}
