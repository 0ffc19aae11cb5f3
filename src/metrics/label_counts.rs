//! Classification corpus metrics on a resample: the (truth, prediction) pairs of every item as small integers, so the
//! bootstrap recomputes macro-F1 and its siblings on thousands of resamples of item indices by counting.
//!
//! Why this module exists: the corpus metrics of the table are not means of per-item scores, so the resampling
//! needs each item's counts and a fast way to sum them; the result equals scikit-learn's report of the same
//! resample (checked by the tests below against [`super::classification::report`]).

use super::classification::{report, ClassificationReport};
use super::table::LabelStat;

/// The predicted label of an answer no label could be read from (or of a failed request): no real label, left out of
/// the label set, so it adds a false negative for the true class and no class of its own.
pub const UNPARSEABLE: &str = "\u{0}unparseable";

/// Expected and predicted labels as small integers, so a corpus metric on a bootstrap resample is a counting loop
/// instead of a string-keyed report. Semantics equal `report_without_marker` (scikit-learn with the label set taken
/// from the resample, unparseable answers counted as wrong but not as a class): checked by a unit test.
///
/// Each item is stored as one cell of the (truth, prediction) confusion table, `truth × (k + 1) + prediction`, where
/// index `k` stands for "no such label" (an expected label outside the vocabulary, or an unparseable answer). The
/// resample loop is then one branch-free increment per index; per-label counts are read off the table afterwards.
/// (With a branch per index — is the truth known, is there a prediction, is it right — the loop was dominated by
/// mispredictions on random resample indices: 19% of a 5,000-item zero-latency `evalh run`, docs/performance.md.)
#[derive(Debug, Clone)]
pub struct LabelIds {
    n_labels: usize,
    cells: Vec<usize>,
}

impl LabelIds {
    /// The ids of truth `t[i]` and prediction `p[i]` of every item.
    pub fn new(t: &[&str], p: &[&str]) -> Self {
        let vocab: Vec<&str> = distinct(t, p).into_iter().collect();
        let k = vocab.len();
        let id = |l: &str| vocab.binary_search(&l).unwrap_or(k);
        LabelIds {
            n_labels: k,
            cells: t
                .iter()
                .zip(p)
                .map(|(t, p)| id(t) * (k + 1) + id(p))
                .collect(),
        }
    }

    /// Confusion-table cells (up to 63 labels) are counted densely; more labels fall back to per-label counters.
    const DENSE_MAX_CELLS: usize = 64 * 64;

    /// The confusion counts of one resample: one branch-free increment per index.
    pub fn count(&self, idx: &[usize]) -> LabelCounts {
        let k = self.n_labels;
        let w = k + 1;
        let mut c = LabelCounts {
            n: idx.len() as u64,
            tp: vec![0; k],
            npred: vec![0; k],
            ntrue: vec![0; k],
            present: Vec::new(),
        };
        let mut count = |t: usize, p: usize, n: u64| {
            if t < k {
                c.ntrue[t] += n;
            }
            if p < k {
                c.npred[p] += n;
                if p == t {
                    c.tp[t] += n;
                }
            }
        };
        if w * w <= Self::DENSE_MAX_CELLS {
            // Two tables, alternating, so consecutive increments of one cell do not wait on each other.
            let mut table = vec![0u64; 2 * w * w];
            let (even, odd) = table.split_at_mut(w * w);
            let mut pairs = idx.chunks_exact(2);
            for pair in &mut pairs {
                even[self.cells[pair[0]]] += 1;
                odd[self.cells[pair[1]]] += 1;
            }
            for &i in pairs.remainder() {
                even[self.cells[i]] += 1;
            }
            for (cell, (e, o)) in even.iter().zip(odd.iter()).enumerate() {
                count(cell / w, cell % w, e + o);
            }
        } else {
            for &i in idx {
                let cell = self.cells[i];
                count(cell / w, cell % w, 1);
            }
        }
        c.present = (0..k).filter(|&l| c.ntrue[l] + c.npred[l] > 0).collect();
        c
    }
}

/// Per-label counts of a (resampled) set of items; the label set is the labels present in it.
pub struct LabelCounts {
    n: u64,
    tp: Vec<u64>,
    npred: Vec<u64>,
    ntrue: Vec<u64>,
    present: Vec<usize>,
}

impl LabelCounts {
    /// A classification metric, with scikit-learn's definitions and `zero_division = 0`.
    pub fn value(&self, metric: LabelStat) -> f64 {
        let div = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per = |l: usize| {
            (
                div(self.tp[l], self.npred[l]),
                div(self.tp[l], self.ntrue[l]),
                div(2 * self.tp[l], self.ntrue[l] + self.npred[l]),
            )
        };
        let macro_of = |f: fn((f64, f64, f64)) -> f64| {
            if self.present.is_empty() {
                0.0
            } else {
                self.present.iter().map(|&l| f(per(l))).sum::<f64>() / self.present.len() as f64
            }
        };
        let (stp, spred, strue): (u64, u64, u64) = (
            self.tp.iter().sum(),
            self.npred.iter().sum(),
            self.ntrue.iter().sum(),
        );
        match metric {
            LabelStat::Accuracy => div(stp, self.n),
            LabelStat::MicroF1 => div(2 * stp, spred + strue),
            LabelStat::MacroF1 => macro_of(|x| x.2),
            LabelStat::MacroPrecision => macro_of(|x| x.0),
            LabelStat::MacroRecall => macro_of(|x| x.1),
            LabelStat::WeightedF1 => {
                if strue == 0 {
                    macro_of(|x| x.2)
                } else {
                    self.present
                        .iter()
                        .map(|&l| per(l).2 * self.ntrue[l] as f64)
                        .sum::<f64>()
                        / strue as f64
                }
            }
        }
    }
}

/// scikit-learn's report of the pairs, with the label set of the pairs minus the [`UNPARSEABLE`] marker.
pub fn report_without_marker(t: &[&str], p: &[&str]) -> ClassificationReport {
    let labels: Vec<&str> = distinct(t, p).into_iter().collect();
    report(t, p, Some(&labels))
}

/// The distinct labels of the pairs, sorted, without the [`UNPARSEABLE`] marker (a set, not a sorted copy of all
/// `2n` labels: a million items have a handful of labels).
fn distinct<'a>(t: &[&'a str], p: &[&'a str]) -> std::collections::BTreeSet<&'a str> {
    // Inserted one by one: `collect()` into a BTreeSet first gathers and sorts every element (32 MB at 1,000,000
    // pairs).
    let mut set = std::collections::BTreeSet::new();
    for l in t.iter().chain(p) {
        if *l != UNPARSEABLE {
            set.insert(*l);
        }
    }
    set
}

/// A classification metric read off scikit-learn's report.
pub fn classification_metric(r: &ClassificationReport, m: LabelStat) -> f64 {
    match m {
        LabelStat::Accuracy => r.accuracy,
        LabelStat::MacroF1 => r.macro_avg.f1,
        LabelStat::MicroF1 => r.micro.f1,
        LabelStat::WeightedF1 => r.weighted.f1,
        LabelStat::MacroPrecision => r.macro_avg.precision,
        LabelStat::MacroRecall => r.macro_avg.recall,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::table::{metrics, Stat, TaskKind};

    #[test]
    fn fast_label_counts_equal_the_sklearn_report_on_subsets() {
        // 4 labels: the dense confusion-table path.
        check_label_counts_against_report(4, 200);
    }

    #[test]
    fn fast_label_counts_with_many_labels_equal_the_sklearn_report() {
        // 70 labels: 71 × 71 cells exceed DENSE_MAX_CELLS, so the per-label fallback runs.
        const { assert!(71 * 71 > LabelIds::DENSE_MAX_CELLS) };
        check_label_counts_against_report(70, 60);
    }

    fn check_label_counts_against_report(n_labels: u64, rounds: usize) {
        let names: Vec<String> = (0..n_labels).map(|i| format!("l{i}")).collect();
        let labels: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut state = 12345u64;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        for _ in 0..rounds {
            let n = 1 + next(10 * n_labels) as usize;
            let t: Vec<String> = (0..n)
                .map(|_| labels[next(n_labels - 1) as usize].to_string())
                .collect();
            let p: Vec<String> = (0..n)
                .map(|_| {
                    if next(6) == 0 {
                        UNPARSEABLE.to_string()
                    } else {
                        labels[next(n_labels) as usize].to_string()
                    }
                })
                .collect();
            let (t, p): (Vec<&str>, Vec<&str>) = (
                t.iter().map(String::as_str).collect(),
                p.iter().map(String::as_str).collect(),
            );
            let ids = LabelIds::new(&t, &p);
            let idx: Vec<usize> = (0..n).map(|_| next(n as u64) as usize).collect();
            let ts: Vec<&str> = idx.iter().map(|&i| t[i]).collect();
            let ps: Vec<&str> = idx.iter().map(|&i| p[i]).collect();
            let r = report_without_marker(&ts, &ps);
            let counts = ids.count(&idx);
            for def in metrics(TaskKind::Classification) {
                let Stat::Label(m) = def.stat else {
                    unreachable!("{} is not a label metric", def.name)
                };
                let (fast, slow) = (counts.value(m), classification_metric(&r, m));
                assert!(
                    (fast - slow).abs() < 1e-12,
                    "{}: {fast} vs {slow}",
                    def.name
                );
            }
        }
    }
}
