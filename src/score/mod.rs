//! Scoring: turning journal records into per-item scores and corpus metrics, one submodule per task type.
//!
//! Why this module exists: a migration decision is only as good as its metric, so each metric equals a reference
//! implementation (scikit-learn, rouge-score, SQuAD v1.1, BFCL's AST rules) and is tested against golden vectors made
//! by running that reference. Scoring is pure — no I/O, no clock — so `evalh score RUN_DIR` recomputes it offline
//! and the statistics can resample it. Errored requests score 0 (they are never silently dropped) and are counted.

pub mod classification;
pub mod extraction;
pub mod function_call;
pub mod jsonparse;
pub mod labels;
pub mod rouge;
pub mod squad;
mod table;

pub use table::{
    default_metric, judge_metrics, markdown_table, metric, metrics, CallStat, FieldStat, JudgeStat,
    LabelStat, MetricDef, MetricKind, RougeStat, Stat, TASKS,
};

use crate::dataset::Item;
use crate::error::{InputError, Result};
use crate::outcome::Outcome;
use crate::suite::{LoadedSuite, TaskKind};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One provider's scores for one repeat, aligned with the dataset's items.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderScores {
    /// Every metric of the task's table ([`metrics`]), over all items.
    pub metrics: BTreeMap<String, f64>,
    /// Per-item scores of every [`MetricKind::Mean`] metric of the table (errors score 0).
    pub per_item: BTreeMap<String, Vec<f64>>,
    /// Whether the item's output could be parsed (label, JSON, tool call).
    pub valid: Vec<bool>,
    /// Whether the item has a successful record.
    pub answered: Vec<bool>,
    /// Per-item headline score (the gate metric's per-item value or correctness) for drill-downs.
    pub item_score: Vec<f64>,
    /// Per-item short explanation (predicted label, error type, missing fields...).
    pub notes: Vec<String>,
    /// Task-specific details (confusion matrix, per-class, per-function, per-field).
    pub details: Value,
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
                .map(|(k, v)| (k.clone(), lay(v, idx, n, f64::NAN)))
                .collect(),
            valid: lay(&self.valid, idx, n, false),
            answered: lay(&self.answered, idx, n, false),
            item_score: lay(&self.item_score, idx, n, f64::NAN),
            notes: lay(&self.notes, idx, n, "(no reference)".to_string()),
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
    Leaves(Vec<extraction::LeafCounts>),
}

/// Compiled scorers for one suite.
pub struct Scorer {
    task: TaskKind,
    by_task: ByTask,
    tools: Vec<function_call::ToolDef>,
    fc_compat: function_call::Compat,
}

/// The compiled scorer of the suite's task.
enum ByTask {
    Classification(labels::LabelExtractor),
    Summarization(rouge::RougeScorer),
    Extraction(extraction::ExtractionScorer),
    FunctionCalling,
}

impl Scorer {
    /// Build from a suite (compiles regexes, schemas).
    pub fn new(ls: &LoadedSuite) -> Result<Self> {
        let s = &ls.suite;
        let bad = |what: &str, e: String| {
            InputError::new(&ls.path, format!("scoring.{what}: {e}")).hint("see docs/metrics.md")
        };
        let by_task = match s.task {
            TaskKind::Classification => ByTask::Classification(
                labels::LabelExtractor::new(&s.scoring.label_extract, &s.labels)
                    .map_err(|e| bad("label_extract", e))?,
            ),
            TaskKind::Summarization => {
                ByTask::Summarization(rouge::RougeScorer::new(s.scoring.rouge_stem))
            }
            TaskKind::Extraction => {
                let mut cfg = s.scoring.extraction.clone();
                if let Some(Value::String(p)) = &cfg.schema {
                    // A schema given as a path relative to the suite file.
                    let path = ls
                        .path
                        .parent()
                        .unwrap_or(std::path::Path::new("."))
                        .join(p);
                    let text = crate::suite::load::read_user_file(&path, "extraction schema")?;
                    cfg.schema = Some(serde_json::from_str(&text).map_err(|e| {
                        InputError::new(&path, format!("schema is not JSON: {e}"))
                            .at(e.line(), e.column())
                    })?);
                }
                ByTask::Extraction(
                    extraction::ExtractionScorer::new(&cfg).map_err(|e| bad("extraction", e))?,
                )
            }
            TaskKind::FunctionCalling => ByTask::FunctionCalling,
        };
        let tools = ls
            .tools
            .iter()
            .map(|t| function_call::ToolDef {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: t.parameters.clone(),
            })
            .collect();
        Ok(Scorer {
            task: s.task,
            by_task,
            tools,
            fc_compat: s.scoring.function_call.compat,
        })
    }

    /// Score one provider: `records[i]` is the record for `items[i]` (None = never answered).
    pub fn score(&self, items: &[Item], records: &[Option<&Outcome>]) -> ProviderScores {
        match &self.by_task {
            ByTask::Classification(x) => self.classification(x, items, records),
            ByTask::Summarization(r) => summarization(r, items, records),
            ByTask::Extraction(x) => extraction(x, items, records),
            ByTask::FunctionCalling => self.function_calling(items, records),
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
        let mut leaves: Option<extraction::LeafCounts> = None;
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
                        let mut sum = extraction::LeafCounts::default();
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

    fn classification(
        &self,
        x: &labels::LabelExtractor,
        items: &[Item],
        records: &[Option<&Outcome>],
    ) -> ProviderScores {
        let predicted: Vec<Option<String>> = records
            .iter()
            .map(|r| {
                r.filter(|r| r.error.is_none())
                    .and_then(|r| x.extract(&r.output_text))
            })
            .collect();
        let (t, p) = label_pairs(items, &predicted);
        debug_assert_eq!(t.len(), p.len());
        let rep = report_without_marker(&t, &p);
        let correct: Vec<f64> = t
            .iter()
            .zip(&p)
            .map(|(a, b)| f64::from(u8::from(a == b)))
            .collect();
        let (metrics, per_item) = fill_table(
            self.task,
            |stat| match stat {
                Stat::Label(LabelStat::Accuracy) => Some(correct.clone()),
                _ => None,
            },
            |stat| match stat {
                Stat::Label(m) => classification_metric(&rep, m),
                _ => f64::NAN,
            },
        );
        let valid: Vec<bool> = predicted.iter().map(Option::is_some).collect();
        let n_unparseable = records
            .iter()
            .zip(&predicted)
            .filter(|(r, p)| r.is_some_and(|r| r.error.is_none()) && p.is_none())
            .count();
        let notes = predicted
            .iter()
            .map(|p| p.clone().unwrap_or_else(|| "(unparseable)".into()))
            .collect();
        ProviderScores {
            metrics,
            per_item,
            valid,
            answered: answered(records),
            item_score: correct,
            notes,
            details: json!({
                "labels": rep.labels, "confusion": rep.confusion, "per_class": rep.per_class,
                "micro": rep.micro, "macro": rep.macro_avg, "weighted": rep.weighted,
                "unparseable": n_unparseable, "zero_division": 0
            }),
            counts: Counts::Labels(LabelIds::new(&t, &p)),
        }
    }

    fn function_calling(&self, items: &[Item], records: &[Option<&Outcome>]) -> ProviderScores {
        let tool_set = function_call::ToolSet::cached(&self.tools);
        let expected: Vec<Vec<function_call::ExpectedCall>> = items
            .par_iter()
            .map(|it| serde_json::from_value(it.expected.clone()).unwrap_or_default())
            .collect();
        // BFCL category from the item id, else from the shape of the expected calls.
        let categories: Vec<(function_call::Category, bool)> = items
            .iter()
            .zip(&expected)
            .map(|(it, e)| match function_call::Category::from_id(&it.id) {
                Some(c) => (c, true),
                None => (
                    function_call::Category::from_shape(e, self.tools.len()),
                    false,
                ),
            })
            .collect();
        let verdicts: Vec<function_call::CallVerdict> = expected
            .par_iter()
            .zip(records.par_iter())
            .zip(categories.par_iter())
            .map(|((expected, r), (category, _))| {
                let actual: &[function_call::ToolCall] = match r {
                    Some(r) if r.error.is_none() => &r.tool_calls,
                    _ => &[],
                };
                let mut v =
                    tool_set.check_compat(expected, actual, self.fc_compat, Some(*category));
                if r.is_none_or(|r| r.error.is_some()) {
                    v.correct = false;
                    v.name_correct = false;
                    v.args_correct = false;
                    v.detail = "request failed".into();
                }
                v
            })
            .collect();
        let b = |x: bool| f64::from(u8::from(x));
        let (metrics, per_item) = fill_table(
            self.task,
            |stat| {
                let Stat::Call(m) = stat else { return None };
                Some(
                    verdicts
                        .iter()
                        .map(|v| {
                            b(match m {
                                CallStat::Full => v.correct,
                                CallStat::Name => v.name_correct,
                                CallStat::Arguments => v.args_correct,
                            })
                        })
                        .collect(),
                )
            },
            |_| f64::NAN,
        );
        let item_score = verdicts.iter().map(|v| b(v.correct)).collect();
        let mut per_fn: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        let (mut irr_n, mut irr_ok) = (0u64, 0u64);
        for v in &verdicts {
            for (name, ok) in &v.per_function {
                let e = per_fn.entry(name.clone()).or_default();
                e.0 += 1;
                e.1 += u64::from(*ok);
            }
            if let Some(err) = v.error {
                *errors
                    .entry(
                        serde_json::to_value(err)
                            .ok()
                            .and_then(|x| x.as_str().map(str::to_string))
                            .unwrap_or_default(),
                    )
                    .or_default() += 1;
            }
            if v.irrelevance {
                irr_n += 1;
                irr_ok += u64::from(v.correct);
            }
        }
        let valid = records
            .iter()
            .map(|r| {
                r.is_some_and(|r| {
                    r.error.is_none() && r.tool_calls.iter().all(|c| c.arguments.is_object())
                })
            })
            .collect();
        let by_category = function_call::category_summary(
            categories
                .iter()
                .zip(&verdicts)
                .map(|((c, by_id), v)| (*c, *by_id, v.correct)),
        );
        ProviderScores {
            item_score,
            metrics,
            valid,
            answered: answered(records),
            notes: verdicts
                .iter()
                .map(|v| {
                    if v.correct {
                        "correct".to_string()
                    } else {
                        v.detail.clone()
                    }
                })
                .collect(),
            details: json!({
                "per_function": per_fn.iter().map(|(k, (n, ok))| (k.clone(), json!({"n": n, "correct": ok, "accuracy": *ok as f64 / (*n).max(1) as f64}))).collect::<serde_json::Map<_, _>>(),
                "error_types": errors,
                "irrelevance": {"n": irr_n, "correct": irr_ok},
                "compat": self.fc_compat,
                "per_category": by_category["per_category"],
                "category_source": by_category["category_source"],
                "bfcl_summary": by_category["bfcl_summary"],
            }),
            per_item,
            counts: Counts::None,
        }
    }
}

/// Every metric of `task`'s table: a mean metric from its per-item scores (`item`), a corpus metric from the full
/// computation (`corpus`). A mean metric without per-item scores is NaN (the table tests catch that).
fn fill_table(
    task: TaskKind,
    item: impl Fn(Stat) -> Option<Vec<f64>>,
    corpus: impl Fn(Stat) -> f64,
) -> (BTreeMap<String, f64>, BTreeMap<String, Vec<f64>>) {
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
fn leaf_metric(sum: &extraction::LeafCounts, n_items: usize, m: FieldStat) -> f64 {
    match m {
        FieldStat::MicroF1 => sum.micro_prf(n_items).2,
        // Mean metrics: resampled from their per-item scores, not from counts.
        FieldStat::F1 | FieldStat::Accuracy | FieldStat::RecordExact | FieldStat::Parsed => {
            f64::NAN
        }
    }
}

/// Expected and predicted label of every item. Unparseable or failed answers count as wrong: they are mapped to a
/// marker that is no real label, and the marker is excluded from the label set (so it adds a false negative for the
/// true class and no class of its own).
fn label_pairs(items: &[Item], predicted: &[Option<String>]) -> (Vec<String>, Vec<String>) {
    items
        .iter()
        .zip(predicted)
        .map(|(it, p)| {
            (
                it.expected.as_str().unwrap_or_default().to_string(),
                p.clone().unwrap_or_else(|| UNPARSEABLE.to_string()),
            )
        })
        .unzip()
}

fn summarization(
    scorer: &rouge::RougeScorer,
    items: &[Item],
    records: &[Option<&Outcome>],
) -> ProviderScores {
    let scores: Vec<Option<rouge::RougeScores>> = items
        .par_iter()
        .zip(records.par_iter())
        .map(|(it, r)| {
            let r = r.filter(|r| r.error.is_none())?;
            Some(match &it.expected {
                Value::Array(refs) => {
                    let refs: Vec<String> = refs
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect();
                    scorer.score_multi(&refs, &r.output_text)
                }
                Value::String(s) => scorer.score(s, &r.output_text),
                other => scorer.score(&other.to_string(), &r.output_text),
            })
        })
        .collect();
    let prf_of = |m: RougeStat| -> fn(&rouge::RougeScores) -> rouge::Prf {
        match m {
            RougeStat::Rouge1 => |x| x.rouge1,
            RougeStat::Rouge2 => |x| x.rouge2,
            RougeStat::RougeL => |x| x.rouge_l,
            RougeStat::RougeLsum => |x| x.rouge_lsum,
        }
    };
    let column = |f: &dyn Fn(&rouge::RougeScores) -> f64| -> Vec<f64> {
        scores
            .iter()
            .map(|s| s.as_ref().map(f).unwrap_or(0.0))
            .collect()
    };
    let (metrics, per_item) = fill_table(
        TaskKind::Summarization,
        |stat| {
            let Stat::Rouge(m) = stat else { return None };
            let f = prf_of(m);
            Some(column(&|x| f(x).fmeasure))
        },
        |_| f64::NAN,
    );
    let mut pr = BTreeMap::new();
    for (name, m) in [
        ("rouge1", RougeStat::Rouge1),
        ("rouge2", RougeStat::Rouge2),
        ("rougeL", RougeStat::RougeL),
        ("rougeLsum", RougeStat::RougeLsum),
    ] {
        let f = prf_of(m);
        let p = mean(&column(&|x| f(x).precision));
        let r = mean(&column(&|x| f(x).recall));
        let fm = mean(&column(&|x| f(x).fmeasure));
        pr.insert(
            name.to_string(),
            json!({"precision": p, "recall": r, "fmeasure": fm}),
        );
    }
    let item_score = column(&|x| x.rouge_lsum.fmeasure);
    let notes = scores
        .iter()
        .map(|s| {
            s.as_ref()
                .map(|x| format!("rougeLsum F {:.3}", x.rouge_lsum.fmeasure))
                .unwrap_or_else(|| "(error)".into())
        })
        .collect();
    ProviderScores {
        metrics,
        valid: scores.iter().map(Option::is_some).collect(),
        answered: answered(records),
        item_score,
        notes,
        details: json!({"means": pr, "stemmer": "nltk Porter (rouge-score 0.1.2 compatible)", "tokenizer": "rouge-score default (ASCII a-z0-9)"}),
        per_item,
        counts: Counts::None,
    }
}

fn extraction(
    x: &extraction::ExtractionScorer,
    items: &[Item],
    records: &[Option<&Outcome>],
) -> ProviderScores {
    let scored: Vec<Option<extraction::ItemScore>> = items
        .par_iter()
        .zip(records.par_iter())
        .map(|(it, r)| {
            r.filter(|r| r.error.is_none())
                .map(|r| x.score(&it.expected, &r.output_text))
        })
        .collect();
    // Errored items are scored as an unparseable answer so they count as failures.
    let full: Vec<extraction::ItemScore> = items
        .iter()
        .zip(&scored)
        .map(|(it, s)| s.clone().unwrap_or_else(|| x.score(&it.expected, "")))
        .collect();
    let corpus = extraction::aggregate(&full);
    let (metrics, per_item) = fill_table(
        TaskKind::Extraction,
        |stat| {
            let Stat::Field(m) = stat else { return None };
            let f: fn(&extraction::ItemScore) -> f64 = match m {
                FieldStat::F1 => |s| s.f1,
                FieldStat::Accuracy => |s| s.field_accuracy,
                FieldStat::RecordExact => |s| f64::from(u8::from(s.record_exact)),
                FieldStat::Parsed => |s| f64::from(u8::from(s.parsed)),
                FieldStat::MicroF1 => return None,
            };
            Some(full.iter().map(f).collect())
        },
        |stat| match stat {
            Stat::Field(FieldStat::MicroF1) => corpus.micro_f1,
            _ => f64::NAN,
        },
    );
    let notes = full
        .iter()
        .map(|s| {
            if !s.parsed {
                format!("unparseable: {}", s.parse_error.clone().unwrap_or_default())
            } else if s.missing_fields.is_empty() && s.extra_fields.is_empty() && s.record_exact {
                "exact".into()
            } else {
                let wrong: Vec<&str> = s
                    .fields
                    .iter()
                    .filter(|f| f.score < 1.0)
                    .map(|f| f.path.as_str())
                    .collect();
                format!(
                    "wrong: {}; extra: {}",
                    wrong.join(", "),
                    s.extra_fields.join(", ")
                )
            }
        })
        .collect();
    ProviderScores {
        item_score: full.iter().map(|s| s.f1).collect(),
        metrics,
        valid: full.iter().map(|s| s.parsed).collect(),
        answered: answered(records),
        notes,
        details: serde_json::to_value(&corpus).unwrap_or(Value::Null),
        per_item,
        counts: Counts::Leaves(full.iter().map(extraction::LeafCounts::of).collect()),
    }
}

const UNPARSEABLE: &str = "\u{0}unparseable";

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
struct LabelIds {
    n_labels: usize,
    cells: Vec<usize>,
}

impl LabelIds {
    fn new(t: &[String], p: &[String]) -> Self {
        let mut vocab: Vec<&str> = t
            .iter()
            .chain(p)
            .map(String::as_str)
            .filter(|l| *l != UNPARSEABLE)
            .collect();
        vocab.sort_unstable();
        vocab.dedup();
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
    fn count(&self, idx: &[usize]) -> LabelCounts {
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
struct LabelCounts {
    n: u64,
    tp: Vec<u64>,
    npred: Vec<u64>,
    ntrue: Vec<u64>,
    present: Vec<usize>,
}

impl LabelCounts {
    /// A classification metric, with scikit-learn's definitions and `zero_division = 0`.
    fn value(&self, metric: LabelStat) -> f64 {
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

fn report_without_marker(t: &[String], p: &[String]) -> classification::ClassificationReport {
    let mut labels: Vec<&str> = t
        .iter()
        .chain(p.iter())
        .map(String::as_str)
        .filter(|l| *l != UNPARSEABLE)
        .collect();
    labels.sort_unstable();
    labels.dedup();
    classification::report(
        &t.iter().map(String::as_str).collect::<Vec<_>>(),
        &p.iter().map(String::as_str).collect::<Vec<_>>(),
        Some(&labels),
    )
}

fn classification_metric(r: &classification::ClassificationReport, m: LabelStat) -> f64 {
    match m {
        LabelStat::Accuracy => r.accuracy,
        LabelStat::MacroF1 => r.macro_avg.f1,
        LabelStat::MicroF1 => r.micro.f1,
        LabelStat::WeightedF1 => r.weighted.f1,
        LabelStat::MacroPrecision => r.macro_avg.precision,
        LabelStat::MacroRecall => r.macro_avg.recall,
    }
}

fn answered(records: &[Option<&Outcome>]) -> Vec<bool> {
    records
        .iter()
        .map(|r| r.is_some_and(|r| r.error.is_none()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
            let ids = LabelIds::new(&t, &p);
            let idx: Vec<usize> = (0..n).map(|_| next(n as u64) as usize).collect();
            let ts: Vec<String> = idx.iter().map(|&i| t[i].clone()).collect();
            let ps: Vec<String> = idx.iter().map(|&i| p[i].clone()).collect();
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
