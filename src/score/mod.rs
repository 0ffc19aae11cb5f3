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

use crate::dataset::Item;
use crate::error::{InputError, Result};
use crate::outcome::Outcome;
use crate::suite::{LoadedSuite, TaskKind};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The metric the gate uses when the suite names none.
pub fn default_metric(task: TaskKind) -> &'static str {
    match task {
        TaskKind::Classification => "macro_f1",
        TaskKind::Summarization => "rougeLsum_f",
        TaskKind::Extraction => "field_f1",
        TaskKind::FunctionCalling => "full_call_accuracy",
    }
}

/// Every metric a task reports (the gate can use any of them).
pub fn metric_names(task: TaskKind) -> &'static [&'static str] {
    match task {
        TaskKind::Classification => &[
            "accuracy",
            "macro_f1",
            "micro_f1",
            "weighted_f1",
            "macro_precision",
            "macro_recall",
        ],
        TaskKind::Summarization => &["rouge1_f", "rouge2_f", "rougeL_f", "rougeLsum_f"],
        TaskKind::Extraction => &[
            "field_f1",
            "field_accuracy",
            "record_exact_match",
            "micro_f1",
            "parse_rate",
        ],
        TaskKind::FunctionCalling => &["full_call_accuracy", "name_accuracy", "argument_accuracy"],
    }
}

/// Whether a metric is the mean of per-item scores (gated with the paired t-test) rather than a corpus metric
/// (gated with the paired bootstrap).
pub fn is_mean_metric(metric: &str) -> bool {
    !matches!(
        metric,
        "macro_f1" | "micro_f1" | "weighted_f1" | "macro_precision" | "macro_recall"
    )
}

/// One provider's scores for one repeat, aligned with the dataset's items.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderScores {
    /// Corpus metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Per-item scores of every mean metric (errors score 0).
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
    /// Classification only: label ids per item, for fast corpus-metric resampling.
    #[serde(skip)]
    label_ids: Option<LabelIds>,
}

/// Compiled scorers for one suite.
pub struct Scorer {
    task: TaskKind,
    extractor: Option<labels::LabelExtractor>,
    rouge: rouge::RougeScorer,
    extraction: Option<extraction::ExtractionScorer>,
    tools: Vec<function_call::ToolDef>,
    fc_compat: function_call::Compat,
}

impl Scorer {
    /// Build from a suite (compiles regexes, schemas).
    pub fn new(ls: &LoadedSuite) -> Result<Self> {
        let s = &ls.suite;
        let bad = |what: &str, e: String| {
            InputError::new(&ls.path, format!("scoring.{what}: {e}")).hint("see docs/metrics.md")
        };
        let extractor = match s.task {
            TaskKind::Classification => Some(
                labels::LabelExtractor::new(&s.scoring.label_extract, &s.labels)
                    .map_err(|e| bad("label_extract", e))?,
            ),
            _ => None,
        };
        let extraction = match s.task {
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
                Some(extraction::ExtractionScorer::new(&cfg).map_err(|e| bad("extraction", e))?)
            }
            _ => None,
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
            extractor,
            rouge: rouge::RougeScorer::new(s.scoring.rouge_stem),
            extraction,
            tools,
            fc_compat: s.scoring.function_call.compat,
        })
    }

    /// Score one provider: `records[i]` is the record for `items[i]` (None = never answered).
    pub fn score(&self, items: &[Item], records: &[Option<&Outcome>]) -> ProviderScores {
        match self.task {
            TaskKind::Classification => self.classification(items, records),
            TaskKind::Summarization => self.summarization(items, records),
            TaskKind::Extraction => self.extraction(items, records),
            TaskKind::FunctionCalling => self.function_calling(items, records),
        }
    }

    /// A metric recomputed on a resample of item indices (for the paired bootstrap).
    pub fn metric_on(&self, s: &ProviderScores, metric: &str, idx: &[usize]) -> f64 {
        if let Some(v) = s.per_item.get(metric) {
            if idx.is_empty() {
                return 0.0;
            }
            return idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64;
        }
        if self.task == TaskKind::Classification {
            if let Some(ids) = &s.label_ids {
                return ids.metric(metric, idx);
            }
        }
        f64::NAN
    }

    /// Several corpus metrics recomputed on one resample (`out[j]` for `names[j]`): one pass over the resample
    /// instead of one per metric, for the bootstrap intervals.
    pub fn metrics_on(&self, s: &ProviderScores, names: &[&str], idx: &[usize], out: &mut [f64]) {
        match &s.label_ids {
            Some(ids) if names.iter().all(|n| !s.per_item.contains_key(*n)) => {
                ids.metrics(names, idx, out)
            }
            _ => {
                for (o, n) in out.iter_mut().zip(names) {
                    *o = self.metric_on(s, n, idx);
                }
            }
        }
    }

    fn label_pairs(
        &self,
        items: &[Item],
        predicted: &[Option<String>],
        idx: impl Iterator<Item = usize>,
    ) -> (Vec<String>, Vec<String>) {
        // Unparseable or failed answers count as wrong: they are mapped to a marker that is no real label, and the
        // marker is excluded from the label set (so it adds a false negative for the true class and no class of its own).
        let mut t = Vec::new();
        let mut p = Vec::new();
        for i in idx {
            t.push(items[i].expected.as_str().unwrap_or_default().to_string());
            p.push(
                predicted[i]
                    .clone()
                    .unwrap_or_else(|| UNPARSEABLE.to_string()),
            );
        }
        (t, p)
    }

    fn classification(&self, items: &[Item], records: &[Option<&Outcome>]) -> ProviderScores {
        let predicted: Vec<Option<String>> = records
            .iter()
            .map(|r| {
                r.filter(|r| r.error.is_none()).and_then(|r| {
                    self.extractor
                        .as_ref()
                        .and_then(|x| x.extract(&r.output_text))
                })
            })
            .collect();
        let (t, p) = self.label_pairs(items, &predicted, 0..items.len());
        debug_assert_eq!(t.len(), p.len());
        let rep = report_without_marker(&t, &p);
        let correct: Vec<f64> = t
            .iter()
            .zip(&p)
            .map(|(a, b)| f64::from(u8::from(a == b)))
            .collect();
        let mut metrics = BTreeMap::new();
        for m in metric_names(TaskKind::Classification) {
            metrics.insert(m.to_string(), classification_metric(&rep, m));
        }
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
            per_item: BTreeMap::from([("accuracy".to_string(), correct.clone())]),
            valid,
            answered: answered(records),
            item_score: correct,
            notes,
            details: json!({
                "labels": rep.labels, "confusion": rep.confusion, "per_class": rep.per_class,
                "micro": rep.micro, "macro": rep.macro_avg, "weighted": rep.weighted,
                "unparseable": n_unparseable, "zero_division": 0
            }),
            label_ids: Some(LabelIds::new(&t, &p)),
        }
    }

    fn summarization(&self, items: &[Item], records: &[Option<&Outcome>]) -> ProviderScores {
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
                        self.rouge.score_multi(&refs, &r.output_text)
                    }
                    Value::String(s) => self.rouge.score(s, &r.output_text),
                    other => self.rouge.score(&other.to_string(), &r.output_text),
                })
            })
            .collect();
        let mut per_item: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let get = |s: &Option<rouge::RougeScores>, f: fn(&rouge::RougeScores) -> f64| {
            s.as_ref().map(f).unwrap_or(0.0)
        };
        per_item.insert(
            "rouge1_f".into(),
            scores
                .iter()
                .map(|s| get(s, |x| x.rouge1.fmeasure))
                .collect(),
        );
        per_item.insert(
            "rouge2_f".into(),
            scores
                .iter()
                .map(|s| get(s, |x| x.rouge2.fmeasure))
                .collect(),
        );
        per_item.insert(
            "rougeL_f".into(),
            scores
                .iter()
                .map(|s| get(s, |x| x.rouge_l.fmeasure))
                .collect(),
        );
        per_item.insert(
            "rougeLsum_f".into(),
            scores
                .iter()
                .map(|s| get(s, |x| x.rouge_lsum.fmeasure))
                .collect(),
        );
        let mut means = BTreeMap::new();
        for (k, v) in &per_item {
            means.insert(k.clone(), mean(v));
        }
        let mut pr = BTreeMap::new();
        for (name, f) in [
            (
                "rouge1",
                (|x: &rouge::RougeScores| x.rouge1) as fn(&rouge::RougeScores) -> rouge::Prf,
            ),
            ("rouge2", |x| x.rouge2),
            ("rougeL", |x| x.rouge_l),
            ("rougeLsum", |x| x.rouge_lsum),
        ] {
            let p: Vec<f64> = scores
                .iter()
                .map(|s| s.as_ref().map(|x| f(x).precision).unwrap_or(0.0))
                .collect();
            let r: Vec<f64> = scores
                .iter()
                .map(|s| s.as_ref().map(|x| f(x).recall).unwrap_or(0.0))
                .collect();
            pr.insert(name.to_string(), json!({"precision": mean(&p), "recall": mean(&r), "fmeasure": means[&format!("{name}_f")]}));
        }
        let item_score = per_item["rougeLsum_f"].clone();
        let notes = scores
            .iter()
            .map(|s| {
                s.as_ref()
                    .map(|x| format!("rougeLsum F {:.3}", x.rouge_lsum.fmeasure))
                    .unwrap_or_else(|| "(error)".into())
            })
            .collect();
        ProviderScores {
            metrics: means,
            valid: scores.iter().map(Option::is_some).collect(),
            answered: answered(records),
            item_score,
            notes,
            details: json!({"means": pr, "stemmer": "nltk Porter (rouge-score 0.1.2 compatible)", "tokenizer": "rouge-score default (ASCII a-z0-9)"}),
            per_item,
            label_ids: None,
        }
    }

    fn extraction(&self, items: &[Item], records: &[Option<&Outcome>]) -> ProviderScores {
        let Some(x) = &self.extraction else {
            return ProviderScores::empty(items.len());
        };
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
        let mut per_item = BTreeMap::new();
        per_item.insert(
            "field_f1".to_string(),
            full.iter().map(|s| s.f1).collect::<Vec<_>>(),
        );
        per_item.insert(
            "field_accuracy".to_string(),
            full.iter().map(|s| s.field_accuracy).collect(),
        );
        per_item.insert(
            "record_exact_match".to_string(),
            full.iter()
                .map(|s| f64::from(u8::from(s.record_exact)))
                .collect(),
        );
        per_item.insert(
            "parse_rate".to_string(),
            full.iter().map(|s| f64::from(u8::from(s.parsed))).collect(),
        );
        let mut metrics = BTreeMap::new();
        for (k, v) in &per_item {
            metrics.insert(k.clone(), mean(v));
        }
        metrics.insert("micro_f1".into(), corpus.micro_f1);
        let notes = full
            .iter()
            .map(|s| {
                if !s.parsed {
                    format!("unparseable: {}", s.parse_error.clone().unwrap_or_default())
                } else if s.missing_fields.is_empty() && s.extra_fields.is_empty() && s.record_exact
                {
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
            item_score: per_item["field_f1"].clone(),
            metrics,
            valid: full.iter().map(|s| s.parsed).collect(),
            answered: answered(records),
            notes,
            details: serde_json::to_value(&corpus).unwrap_or(Value::Null),
            per_item,
            label_ids: None,
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
        let mut per_item = BTreeMap::new();
        per_item.insert(
            "full_call_accuracy".to_string(),
            verdicts.iter().map(|v| b(v.correct)).collect::<Vec<_>>(),
        );
        per_item.insert(
            "name_accuracy".to_string(),
            verdicts.iter().map(|v| b(v.name_correct)).collect(),
        );
        per_item.insert(
            "argument_accuracy".to_string(),
            verdicts.iter().map(|v| b(v.args_correct)).collect(),
        );
        let mut metrics = BTreeMap::new();
        for (k, v) in &per_item {
            metrics.insert(k.clone(), mean(v));
        }
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
            item_score: per_item["full_call_accuracy"].clone(),
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
            label_ids: None,
        }
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

    fn metric(&self, metric: &str, idx: &[usize]) -> f64 {
        let mut out = [0.0];
        self.metrics(&[metric], idx, &mut out);
        out[0]
    }

    /// Several metrics of one resample from a single count of its confusion table.
    fn metrics(&self, names: &[&str], idx: &[usize], out: &mut [f64]) {
        let k = self.n_labels;
        let w = k + 1;
        let (mut tp, mut npred, mut ntrue) = (vec![0u64; k], vec![0u64; k], vec![0u64; k]);
        let mut count = |t: usize, p: usize, c: u64| {
            if t < k {
                ntrue[t] += c;
            }
            if p < k {
                npred[p] += c;
                if p == t {
                    tp[t] += c;
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
        let present: Vec<usize> = (0..k).filter(|&l| ntrue[l] + npred[l] > 0).collect();
        let div = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per = |l: usize| {
            (
                div(tp[l], npred[l]),
                div(tp[l], ntrue[l]),
                div(2 * tp[l], ntrue[l] + npred[l]),
            )
        };
        let macro_of = |f: fn((f64, f64, f64)) -> f64| {
            if present.is_empty() {
                0.0
            } else {
                present.iter().map(|&l| f(per(l))).sum::<f64>() / present.len() as f64
            }
        };
        let (stp, spred, strue): (u64, u64, u64) =
            (tp.iter().sum(), npred.iter().sum(), ntrue.iter().sum());
        for (o, metric) in out.iter_mut().zip(names) {
            *o = match *metric {
                "accuracy" => div(stp, idx.len() as u64),
                "micro_f1" => div(2 * stp, spred + strue),
                "macro_f1" => macro_of(|x| x.2),
                "macro_precision" => macro_of(|x| x.0),
                "macro_recall" => macro_of(|x| x.1),
                "weighted_f1" => {
                    if strue == 0 {
                        macro_of(|x| x.2)
                    } else {
                        present
                            .iter()
                            .map(|&l| per(l).2 * ntrue[l] as f64)
                            .sum::<f64>()
                            / strue as f64
                    }
                }
                _ => f64::NAN,
            };
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

fn classification_metric(r: &classification::ClassificationReport, m: &str) -> f64 {
    match m {
        "accuracy" => r.accuracy,
        "macro_f1" => r.macro_avg.f1,
        "micro_f1" => r.micro.f1,
        "weighted_f1" => r.weighted.f1,
        "macro_precision" => r.macro_avg.precision,
        "macro_recall" => r.macro_avg.recall,
        _ => f64::NAN,
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

impl ProviderScores {
    fn empty(n: usize) -> Self {
        ProviderScores {
            metrics: BTreeMap::new(),
            per_item: BTreeMap::new(),
            valid: vec![false; n],
            answered: vec![false; n],
            item_score: vec![0.0; n],
            notes: vec![String::new(); n],
            details: Value::Null,
            label_ids: None,
        }
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
            for m in metric_names(TaskKind::Classification) {
                let (fast, slow) = (ids.metric(m, &idx), classification_metric(&r, m));
                assert!((fast - slow).abs() < 1e-12, "{m}: {fast} vs {slow}");
            }
        }
    }
}
