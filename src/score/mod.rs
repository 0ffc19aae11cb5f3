//! Scoring: one provider's journal outcomes turned into per-item scores and the task's metrics, and those metrics
//! recomputed on resamples of items.
//!
//! Why this module exists: it binds a suite (its task, settings and tools), the dataset's items and the journal's
//! outcomes to the pure metrics of [`crate::metrics`], and keeps what the statistics need to resample them (the
//! per-item scores of mean metrics, the per-item counts of corpus metrics, per the metric table). Scoring is pure —
//! no I/O, no clock — so `evalh score RUN_DIR` recomputes it offline. Errored requests score 0 (they are never
//! silently dropped) and are counted.

mod details;
mod notes;
mod tasks;

pub use details::{
    ClassificationDetails, Details, FunctionAccuracy, FunctionCallDetails, Irrelevance, MeanPrf,
    SummarizationDetails,
};
pub use notes::Notes;

use crate::metrics::{
    metric, metrics, Compat, FieldStat, LabelCounts, LabelIds, LeafCounts, MetricKind, Stat,
    TaskScorer,
};

use crate::chat::ToolDef;
use crate::dataset::Item;
use crate::error::Result;
use crate::outcome::Outcome;
use crate::suite::{LoadedSuite, TaskKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One provider's scores for one repeat, aligned with the dataset's items.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderScores {
    /// Every metric of the task's table ([`metrics`]), over all items.
    pub metrics: BTreeMap<String, f64>,
    /// Per-item scores of every [`MetricKind::Mean`] metric of the table (errors score 0).
    pub per_item: PerItem,
    /// Whether the item's output could be parsed (label, JSON, tool call).
    pub valid: Vec<bool>,
    /// Whether the item has a successful record.
    pub answered: Vec<bool>,
    /// Per-item headline score (the gate metric's per-item value or correctness) for drill-downs.
    pub item_score: Arc<[f64]>,
    /// Per-item short explanation (predicted label, error type, missing fields...).
    /// Stored once per distinct text ([`Notes`]): a classifier's million notes are a handful of labels.
    pub notes: Notes,
    /// Task-specific details (confusion matrix, per-class, per-function, per-field).
    pub details: Details,
    /// Per-item sufficient statistics of the [`MetricKind::Corpus`] metrics, for resampling.
    #[serde(skip)]
    counts: Counts,
}

impl ProviderScores {
    /// Agreement scoring: scores of the items with a reference (`idx[j]` is the dataset index of `self`'s item `j`)
    /// laid out over all `n` items for the per-item views (drill-down, review pack). An item without a reference has
    /// NaN scores, is neither valid nor answered, and notes `(no reference)`; corpus metrics cannot be resampled.
    pub fn spread(&self, idx: &[usize], n: usize) -> ProviderScores {
        fn lay<T: Clone>(v: &[T], idx: &[usize], n: usize, fill: T) -> Vec<T> {
            let mut out = vec![fill; n];
            for (x, &i) in v.iter().zip(idx) {
                out[i] = x.clone();
            }
            out
        }
        ProviderScores {
            metrics: self.metrics.clone(),
            per_item: self
                .per_item
                .iter()
                .map(|(k, v)| (k.clone(), lay(v, idx, n, f64::NAN).into()))
                .collect(),
            valid: lay(&self.valid, idx, n, false),
            answered: lay(&self.answered, idx, n, false),
            item_score: lay(&self.item_score, idx, n, f64::NAN).into(),
            notes: self.notes.spread(idx, n, "(no reference)"),
            details: self.details.clone(),
            counts: Counts::None,
        }
    }
}

/// What a corpus metric is recomputed from on a resample of item indices.
#[derive(Debug, Clone)]
enum Counts {
    /// No corpus metric (summarization, function calling).
    None,
    /// Classification: each item's (truth, prediction) cell.
    Labels(LabelIds),
    /// Extraction: each item's matched / predicted / expected leaves.
    Leaves(Vec<LeafCounts>),
}

/// Compiled scorers for one suite.
pub struct Scorer {
    task: TaskKind,
    by_task: TaskScorer,
    tools: Vec<ToolDef>,
    fc_compat: Compat,
    /// The dataset field holding the ground truth (re-read exactly for function calling).
    expected_field: String,
}

impl Scorer {
    /// Build from a suite (compiles regexes, schemas).
    pub fn new(ls: &LoadedSuite) -> Result<Self> {
        Ok(Scorer {
            task: ls.suite.task,
            by_task: ls.task_scorer()?,
            tools: ls.tools.clone(),
            fc_compat: ls.suite.scoring.function_call.compat,
            expected_field: ls.suite.dataset.expected.clone(),
        })
    }

    /// Score one provider: `records[i]` is the record for `items[i]` (None = never answered).
    pub fn score(&self, items: &[Item], records: &[Option<&Outcome>]) -> ProviderScores {
        match &self.by_task {
            TaskScorer::Classification(x) => tasks::classification(x, items, records),
            TaskScorer::Summarization(r) => tasks::summarization(r, items, records),
            TaskScorer::Extraction(x) => tasks::extraction(x, items, records),
            TaskScorer::FunctionCalling => tasks::function_calling(
                &self.tools,
                self.fc_compat,
                &self.expected_field,
                items,
                records,
            ),
        }
    }

    /// A metric of the task's table recomputed on a resample of item indices (for the paired bootstrap): the mean
    /// of the per-item scores of a mean metric, a corpus metric from the items' counts. Finite for every table
    /// metric and any non-empty `idx`; with `idx = 0..n` it equals `s.metrics[metric]`. NaN for a name not in the
    /// table.
    pub fn metric_on(&self, s: &ProviderScores, metric: &str, idx: &[usize]) -> f64 {
        let mut out = [0.0];
        self.metrics_on(s, &[metric], idx, &mut out);
        out[0]
    }

    /// Several metrics recomputed on one resample (`out[j]` for `names[j]`): the items' counts are summed once for
    /// all corpus metrics, instead of once per metric, for the bootstrap intervals.
    pub fn metrics_on(&self, s: &ProviderScores, names: &[&str], idx: &[usize], out: &mut [f64]) {
        let mut labels: Option<LabelCounts> = None;
        let mut leaves: Option<LeafCounts> = None;
        for (o, name) in out.iter_mut().zip(names) {
            let Some(def) = metric(self.task, name) else {
                *o = f64::NAN;
                continue;
            };
            *o = match (def.kind, def.stat, &s.counts) {
                (MetricKind::Mean, _, _) => match s.per_item.get(def.name) {
                    Some(_) if idx.is_empty() => 0.0,
                    Some(v) => idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64,
                    None => f64::NAN,
                },
                (MetricKind::Corpus, Stat::Label(m), Counts::Labels(ids)) => {
                    labels.get_or_insert_with(|| ids.count(idx)).value(m)
                }
                (MetricKind::Corpus, Stat::Field(m), Counts::Leaves(c)) => {
                    let sum = leaves.get_or_insert_with(|| {
                        let mut sum = LeafCounts::default();
                        for &i in idx {
                            sum.add(c[i]);
                        }
                        sum
                    });
                    leaf_metric(sum, idx.len(), m)
                }
                (MetricKind::Corpus, _, _) => f64::NAN,
            };
        }
    }
}

/// Per-item scores of the mean metrics, by metric name.
type PerItem = BTreeMap<String, Arc<[f64]>>;

/// Every metric of `task`'s table: a mean metric from its per-item scores (`item`), a corpus metric from the full
/// computation (`corpus`). A mean metric without per-item scores is NaN (the table tests catch that).
fn fill_table(
    task: TaskKind,
    item: impl Fn(Stat) -> Option<Arc<[f64]>>,
    corpus: impl Fn(Stat) -> f64,
) -> (BTreeMap<String, f64>, PerItem) {
    let mut values = BTreeMap::new();
    let mut per_item = BTreeMap::new();
    for def in metrics(task) {
        let value = match def.kind {
            MetricKind::Mean => match item(def.stat) {
                Some(v) => {
                    let m = mean(&v);
                    per_item.insert(def.name.to_string(), v);
                    m
                }
                None => f64::NAN,
            },
            MetricKind::Corpus => corpus(def.stat),
        };
        values.insert(def.name.to_string(), value);
    }
    (values, per_item)
}

/// An extraction corpus metric from the leaf counts summed over `n_items` items.
fn leaf_metric(sum: &LeafCounts, n_items: usize, m: FieldStat) -> f64 {
    match m {
        FieldStat::MicroF1 => sum.micro_prf(n_items).2,
        // Mean metrics: resampled from their per-item scores, not from counts.
        FieldStat::F1 | FieldStat::Accuracy | FieldStat::RecordExact | FieldStat::Parsed => {
            f64::NAN
        }
    }
}

fn answered(records: &[Option<&Outcome>]) -> Vec<bool> {
    records
        .iter()
        .map(|r| r.is_some_and(|r| r.error().is_none()))
        .collect()
}

/// Arithmetic mean (0 for an empty slice).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}
