//! From un-blinded decisions to the human-review evidence of one candidate: acceptable rate, win / tie / loss,
//! preference rate (each with a Wilson interval) and the reviewers' agreement (Cohen's or Fleiss' kappa).
//!
//! Why this module exists: it is the one place the review statistics are defined, so results.json, the report, the
//! terminal and the gate rule report the same numbers. Every decision counts once (an item reviewed by two people
//! counts twice: the rates estimate how often a reviewer finds the candidate acceptable); agreement is computed on
//! the items reviewed more than once.

use super::choice::Choice;
use super::import::{read_decisions, Decision};
use super::pack;
use crate::error::Result;
use crate::stats;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A proportion `k / n` with its two-sided Wilson interval; null rate and bounds when `n` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Successes.
    pub k: u64,
    /// Trials.
    pub n: u64,
    /// `k / n`.
    pub rate: Option<f64>,
    /// Wilson lower bound.
    pub lower: Option<f64>,
    /// Wilson upper bound.
    pub upper: Option<f64>,
}

impl Rate {
    /// `k / n` at `confidence` (two-sided Wilson, as `stats::wilson`).
    pub fn new(k: u64, n: u64, confidence: f64) -> Rate {
        if n == 0 {
            return Rate {
                k,
                n,
                rate: None,
                lower: None,
                upper: None,
            };
        }
        let iv = stats::wilson(k, n, confidence, true);
        let fin = |x: f64| x.is_finite().then_some(x);
        Rate {
            k,
            n,
            rate: Some(k as f64 / n as f64),
            lower: fin(iv.lower),
            upper: fin(iv.upper),
        }
    }
}

/// Decisions by un-blinded choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct ChoiceCounts {
    /// The candidate's output was better.
    pub candidate_better: u64,
    /// The baseline's output was better.
    pub baseline_better: u64,
    /// Both fine.
    pub tie_fine: u64,
    /// Both bad.
    pub tie_bad: u64,
}

/// How far the reviewers agree on the items more than one of them decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// `cohen` (exactly two reviewers) or `fleiss` (more).
    pub method: &'static str,
    /// Kappa over the four un-blinded choices (null when undefined: every rating in one category).
    pub kappa: Option<f64>,
    /// Items the kappa is computed on.
    pub n_items: usize,
    /// Ratings per item used (Fleiss: the fewest any of those items has; each item's first ones in import order).
    pub ratings_per_item: usize,
    /// Reviewers involved.
    pub reviewers: usize,
    /// Share of agreeing rating pairs (Cohen's p_o, Fleiss' P̄).
    pub observed_agreement: f64,
}

/// The human-review evidence of one candidate against the baseline (`human_review` in results.json).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HumanReview {
    /// The baseline compared with.
    pub baseline: String,
    /// Confidence of the intervals (the gate's).
    pub confidence: f64,
    /// Decisions counted.
    pub n_decisions: u64,
    /// Distinct items decided.
    pub n_items: usize,
    /// Reviewers, sorted.
    pub reviewers: Vec<String>,
    /// How each pack the decisions come from was drawn, by pack id.
    pub packs: BTreeMap<String, String>,
    /// Decisions by choice.
    pub counts: ChoiceCounts,
    /// Candidate better or both fine, of all decisions.
    pub acceptable_rate: Rate,
    /// Candidate better, of all decisions.
    pub win_rate: Rate,
    /// Both fine or both bad, of all decisions.
    pub tie_rate: Rate,
    /// Baseline better, of all decisions.
    pub loss_rate: Rate,
    /// Candidate better, of the decisions that prefer one side (wins / (wins + losses)); 0.5 is no preference.
    pub preference_rate: Rate,
    /// Agreement between reviewers (null unless some item was decided more than once).
    pub agreement: Option<Agreement>,
}

/// Every decision of a run, with how each pack was drawn.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// In import order.
    pub decisions: Vec<Decision>,
    /// Pack id → its draw in words.
    pub draws: BTreeMap<String, String>,
}

impl Decisions {
    /// The run's review/decisions.jsonl; `None` when nothing was imported.
    pub fn load(run_dir: &Path) -> Result<Option<Decisions>> {
        let decisions = read_decisions(run_dir)?;
        if decisions.is_empty() {
            return Ok(None);
        }
        let mut draws = BTreeMap::new();
        for d in &decisions {
            if !draws.contains_key(&d.pack_id) {
                let text = match pack::load(run_dir, &d.pack_id)? {
                    Some((_, p)) => p.draw.describe(),
                    None => "pack file missing".to_string(),
                };
                draws.insert(d.pack_id.clone(), text);
            }
        }
        Ok(Some(Decisions { decisions, draws }))
    }

    /// The evidence on `candidate` vs `baseline`, or `None` when no decision compares them.
    pub fn review_for(
        &self,
        candidate: &str,
        baseline: &str,
        confidence: f64,
    ) -> Option<HumanReview> {
        let ds: Vec<&Decision> = self
            .decisions
            .iter()
            .filter(|d| d.candidate == candidate && d.baseline == baseline)
            .collect();
        if ds.is_empty() {
            return None;
        }
        let mut r = tally(&ds, confidence);
        r.baseline = baseline.to_string();
        r.packs = ds
            .iter()
            .map(|d| {
                (
                    d.pack_id.clone(),
                    self.draws.get(&d.pack_id).cloned().unwrap_or_default(),
                )
            })
            .collect();
        Some(r)
    }
}

/// The statistics of a set of decisions on one candidate/baseline pair.
pub fn tally(ds: &[&Decision], confidence: f64) -> HumanReview {
    let mut c = ChoiceCounts::default();
    for d in ds {
        match d.choice {
            Choice::CandidateBetter => c.candidate_better += 1,
            Choice::BaselineBetter => c.baseline_better += 1,
            Choice::TieFine => c.tie_fine += 1,
            Choice::TieBad => c.tie_bad += 1,
        }
    }
    let n = ds.len() as u64;
    let mut reviewers: Vec<String> = ds.iter().map(|d| d.reviewer.clone()).collect();
    reviewers.sort();
    reviewers.dedup();
    let mut items: Vec<&str> = ds.iter().map(|d| d.item_id.as_str()).collect();
    items.sort_unstable();
    items.dedup();
    HumanReview {
        baseline: ds.first().map(|d| d.baseline.clone()).unwrap_or_default(),
        confidence,
        n_decisions: n,
        n_items: items.len(),
        reviewers,
        packs: BTreeMap::new(),
        counts: c,
        acceptable_rate: Rate::new(c.candidate_better + c.tie_fine, n, confidence),
        win_rate: Rate::new(c.candidate_better, n, confidence),
        tie_rate: Rate::new(c.tie_fine + c.tie_bad, n, confidence),
        loss_rate: Rate::new(c.baseline_better, n, confidence),
        preference_rate: Rate::new(
            c.candidate_better,
            c.candidate_better + c.baseline_better,
            confidence,
        ),
        agreement: agreement(ds),
    }
}

/// Cohen's kappa when exactly two reviewers decided the multiply-decided items, Fleiss' kappa when more did.
fn agreement(ds: &[&Decision]) -> Option<Agreement> {
    let mut by_item: BTreeMap<&str, Vec<&Decision>> = BTreeMap::new();
    for d in ds {
        by_item.entry(d.item_id.as_str()).or_default().push(d);
    }
    let multi: Vec<&Vec<&Decision>> = by_item.values().filter(|v| v.len() > 1).collect();
    if multi.is_empty() {
        return None;
    }
    let mut who: Vec<&str> = multi
        .iter()
        .flat_map(|v| v.iter().map(|d| d.reviewer.as_str()))
        .collect();
    who.sort_unstable();
    who.dedup();
    if who.len() == 2 {
        // Each of these items was decided by both (a reviewer decides an item once); rater order by name.
        let pick = |v: &Vec<&Decision>, r: &str| {
            v.iter().find(|d| d.reviewer == r).map(|d| d.choice.index())
        };
        let a: Vec<usize> = multi.iter().filter_map(|v| pick(v, who[0])).collect();
        let b: Vec<usize> = multi.iter().filter_map(|v| pick(v, who[1])).collect();
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        let kappa = stats::cohen_kappa(&a, &b, Choice::ALL.len());
        return Some(Agreement {
            method: "cohen",
            kappa: kappa.is_finite().then_some(kappa),
            n_items: a.len(),
            ratings_per_item: 2,
            reviewers: 2,
            observed_agreement: same as f64 / a.len() as f64,
        });
    }
    let m = multi.iter().map(|v| v.len()).min().unwrap_or(2);
    let table: Vec<Vec<u64>> = multi
        .iter()
        .map(|v| {
            let mut row = vec![0u64; Choice::ALL.len()];
            for d in v.iter().take(m) {
                row[d.choice.index()] += 1;
            }
            row
        })
        .collect();
    let mf = m as f64;
    let observed = table
        .iter()
        .map(|r| (r.iter().map(|&c| (c * c) as f64).sum::<f64>() - mf) / (mf * (mf - 1.0)))
        .sum::<f64>()
        / table.len() as f64;
    let kappa = stats::fleiss_kappa(&table);
    Some(Agreement {
        method: "fleiss",
        kappa: kappa.is_finite().then_some(kappa),
        n_items: table.len(),
        ratings_per_item: m,
        reviewers: who.len(),
        observed_agreement: observed,
    })
}

/// Reviews needed in all, at the observed acceptable rate, before its Wilson interval at `confidence` lies wholly on
/// one side of `min` (`None` when the observed rate equals `min`, or no decision exists, or it would take over a
/// million).
pub fn reviews_needed(k: u64, n: u64, min: f64, confidence: f64) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let p = k as f64 / n as f64;
    if (p - min).abs() < 1e-12 {
        return None;
    }
    let settled = |m: u64| {
        let iv = stats::wilson((p * m as f64).round() as u64, m, confidence, true);
        if p > min {
            iv.lower >= min
        } else {
            iv.upper < min
        }
    };
    const CAP: u64 = 1_000_000;
    let mut hi = n.max(1);
    while !settled(hi) {
        if hi >= CAP {
            return None;
        }
        hi = (hi * 2).min(CAP);
    }
    let mut lo = n.max(1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if settled(mid) {
            hi = mid
        } else {
            lo = mid + 1
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::{BlindChoice, Side};

    fn d(reviewer: &str, item: &str, choice: Choice) -> Decision {
        Decision {
            pack_id: "0123456789abcdef".into(),
            candidate: "c".into(),
            baseline: "b".into(),
            reviewer: reviewer.into(),
            item_id: item.into(),
            choice,
            blind_choice: BlindChoice::BothFine,
            candidate_side: Side::A,
            note: None,
            decided_at: String::new(),
            imported_at: String::new(),
        }
    }

    #[test]
    fn rates_count_every_decision() {
        use Choice::*;
        let ds = [
            d("r1", "1", CandidateBetter),
            d("r1", "2", TieFine),
            d("r1", "3", TieFine),
            d("r1", "4", BaselineBetter),
            d("r1", "5", TieBad),
        ];
        let refs: Vec<&Decision> = ds.iter().collect();
        let h = tally(&refs, 0.95);
        assert_eq!((h.n_decisions, h.n_items, h.reviewers.len()), (5, 5, 1));
        assert_eq!((h.acceptable_rate.k, h.acceptable_rate.n), (3, 5));
        assert_eq!((h.win_rate.k, h.tie_rate.k, h.loss_rate.k), (1, 3, 1));
        assert_eq!((h.preference_rate.k, h.preference_rate.n), (1, 2));
        let w = stats::wilson(3, 5, 0.95, true);
        assert_eq!(h.acceptable_rate.lower, Some(w.lower));
        assert_eq!(h.agreement, None, "nothing reviewed twice");
        let none = Rate::new(0, 0, 0.95);
        assert_eq!((none.rate, none.lower), (None, None));
    }

    #[test]
    fn two_reviewers_give_cohen_more_give_fleiss() {
        use Choice::*;
        let two = [
            d("ann", "1", TieFine),
            d("bob", "1", TieFine),
            d("ann", "2", CandidateBetter),
            d("bob", "2", TieFine),
            d("ann", "3", TieBad),
            d("bob", "3", TieBad),
            d("ann", "4", TieFine),
        ];
        let refs: Vec<&Decision> = two.iter().collect();
        let a = tally(&refs, 0.95).agreement.unwrap();
        assert_eq!((a.method, a.n_items, a.reviewers), ("cohen", 3, 2));
        let want = stats::cohen_kappa(&[2, 0, 3], &[2, 2, 3], 4);
        assert_eq!(a.kappa, Some(want));
        assert!((a.observed_agreement - 2.0 / 3.0).abs() < 1e-15);
        let three = [
            d("ann", "1", TieFine),
            d("bob", "1", TieFine),
            d("cy", "1", TieFine),
            d("ann", "2", TieBad),
            d("cy", "2", TieFine),
        ];
        let refs: Vec<&Decision> = three.iter().collect();
        let a = tally(&refs, 0.95).agreement.unwrap();
        assert_eq!(
            (a.method, a.n_items, a.ratings_per_item, a.reviewers),
            ("fleiss", 2, 2, 3)
        );
        assert_eq!(
            a.kappa,
            Some(stats::fleiss_kappa(&[vec![0, 0, 2, 0], vec![0, 0, 1, 1]]))
        );
    }

    #[test]
    fn reviews_needed_settles_the_interval() {
        // 58 of 60 acceptable (96.7%) against 0.90: the Wilson lower bound at n reviews clears 0.90 from then on.
        let n = reviews_needed(58, 60, 0.90, 0.95).unwrap();
        let p = 58.0 / 60.0;
        assert!(stats::wilson((p * n as f64).round() as u64, n, 0.95, true).lower >= 0.90);
        assert!(stats::wilson((p * (n - 1) as f64).round() as u64, n - 1, 0.95, true).lower < 0.90);
        // Below the threshold: the upper bound has to drop under it.
        let n = reviews_needed(40, 50, 0.95, 0.95).unwrap();
        assert!(stats::wilson((0.8 * n as f64).round() as u64, n, 0.95, true).upper < 0.95);
        assert_eq!(
            reviews_needed(19, 20, 0.95, 0.95),
            None,
            "exactly at the threshold never settles"
        );
        assert_eq!(reviews_needed(0, 0, 0.95, 0.95), None);
    }
}
