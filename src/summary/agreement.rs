//! The baseline (or the logged production answer) as the reference: agreement instead of correctness.
//!
//! Why this module exists: a team has production requests long before it has labelled data, and the premium model's
//! answers to them are what a cheaper model has to match. With `scoring: {reference: baseline}` every answer is
//! scored, with the task's own metrics, against the baseline's answer to the same item (`reference: logged`: against
//! the dataset's `logged_answer` field, the production answer `evalh dataset from-logs` keeps). The figures then
//! measure *agreement with the reference*, not correctness, and every output (terminal, `results.json`,
//! `report.html`, Markdown, JUnit) says so.
//!
//! What the reference of an item is, per task (the baseline's answer read the way a candidate's answer is read):
//!
//! | task | reference | agreement metrics (the task's metric table) |
//! |---|---|---|
//! | classification | the label `scoring.label_extract` reads from the baseline's answer | `accuracy` = label agreement; F1s with the baseline's labels as the truth; Cohen's kappa beside them |
//! | summarization | the baseline's summary text | ROUGE of the candidate against the baseline summary |
//! | extraction | the JSON the baseline's answer holds (`parse_model_json`) | field agreement: field F1 / accuracy / exact record against the baseline's record |
//! | function calling | the baseline's tool calls, each argument's value the only acceptable one; no call = no call expected | call agreement: full call / name / arguments |
//!
//! Cohen's kappa (classification) is scikit-learn's `cohen_kappa_score(reference, candidate)` over the reference items
//! the provider answered or refused, an answer naming no label (or a refusal) being a category of its own; it is
//! reported beside the metrics (`agreement.cohen_kappa`), not gated. `scripts/golden/agreement.py` runs
//! scikit-learn's `accuracy_score` and `cohen_kappa_score` on random label vectors with baseline failures and
//! unreadable answers (`tests/data/golden/agreement.json`); `tests/it/agreement.rs` feeds them through the whole analysis
//! and compares to 1e-12.
//!
//! The evidence contract holds: an item whose reference is missing — a baseline error (item-level or reliability), no
//! settled baseline record, a baseline answer no label / JSON / text / call list can be read from, no logged answer —
//! has no reference; nor has one whose baseline answer does not agree with itself when scored as a candidate's
//! would be (a tool call that breaks its tool's schema, a summary without a word the ROUGE tokenizer keeps). Such an
//! item is left out of every quality figure of every provider (never scored 0) and counted by reason in
//! `results.json` `reference.without_reference_by_reason` (`baseline_error`, `baseline_unsettled`,
//! `baseline_unparseable`, `baseline_unusable`, `no_logged_answer`, `logged_unparseable`). The error-rate, cost and
//! latency rules still see every item, as under ground truth.
//!
//! The gate's quality ratio: the baseline's agreement with its own answers is 1 on every item that has a reference
//! (its answer is the reference), so the paired ratio candidate ÷ baseline that the gate always forms *is* the
//! candidate's agreement, with the interval from the same statistics (paired t / Fieller bound for mean metrics,
//! paired bootstrap for corpus metrics). `min_quality_ratio` is therefore a bound on the agreement itself: 0.85 means
//! "answers as the baseline does on at least 85% of items" with `gate.metric: accuracy`. Under `reference: logged`
//! the baseline is measured against production like every candidate and the ratio is candidate ÷ baseline agreement.
//!
//! Where part of the dataset carries the ground-truth field (`dataset.expected`; other rows may lack it under agreement
//! scoring), each provider's `agreement.ground_truth` gives the task's metrics against the ground truth on those items
//! (errors scoring 0, as under `reference: ground_truth`), printed side by side with the agreement.

use crate::chat::ToolCall;
use crate::dataset::Item;
use crate::dataset::LOGGED_FIELD;
use crate::metrics::LabelExtractor;
use crate::outcome::Outcome;
use crate::suite::{LoadedSuite, Reference, TaskKind};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The reference of every item that has one.
#[derive(Debug, Clone)]
pub(super) struct References {
    /// Dataset indices of the items with a reference, ascending.
    pub idx: Vec<usize>,
    /// Those items, with `expected` replaced by the reference (what the scorer compares with).
    pub items: Vec<Item>,
    /// Items without a reference, by reason.
    pub excluded: BTreeMap<String, usize>,
}

/// The `reference` block of results.json: what the quality figures measure, and on how many items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferenceSummary {
    /// `baseline` or `logged`.
    pub kind: String,
    /// The baseline provider (for `baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// One sentence every report prints: what the figures measure.
    pub measures: String,
    /// Items with a reference (the quality figures are over these).
    pub n_items_with_reference: usize,
    /// Items without one: left out of the quality figures, never scored 0.
    pub n_items_without_reference: usize,
    /// Why, by reason (`baseline_error`, `baseline_unsettled`, `baseline_unparseable`, `baseline_unusable`,
    /// `no_logged_answer`, `logged_unparseable`).
    pub without_reference_by_reason: BTreeMap<String, usize>,
    /// Items that also carry the ground-truth field (`dataset.expected`): each provider's `ground_truth` figures are
    /// over these.
    pub n_labelled: usize,
}

/// Per provider in agreement mode: Cohen's kappa against the reference (classification) and, when part of the
/// dataset is labelled, the task's metrics against the ground truth on that subset, side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ProviderAgreement {
    /// Classification: Cohen's kappa of the provider's labels against the reference labels (an unreadable answer
    /// or an item-level refusal is a category of its own), over the reference items the provider answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohen_kappa: Option<f64>,
    /// Items the kappa is over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kappa_n: Option<usize>,
    /// Correctness on the labelled subset: the task's metrics against `dataset.expected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ground_truth: Option<LabelledSubset>,
}

/// Correctness figures on the items that carry the ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledSubset {
    /// Labelled items.
    pub n_items: usize,
    /// The task's metrics against the ground truth (errors score 0, as in `reference: ground_truth`).
    pub metrics: BTreeMap<String, f64>,
}

impl References {
    /// The references of `items` from the baseline's repeat-0 records (`baseline[i]` for `items[i]`) or the logged
    /// answers.
    pub(super) fn new(
        ls: &LoadedSuite,
        scorer: &crate::score::Scorer,
        items: &[Item],
        baseline: &[Option<Outcome>],
    ) -> Self {
        let s = &ls.suite;
        let labels = (s.task == TaskKind::Classification)
            .then(|| LabelExtractor::new(&s.scoring.label_extract, &s.labels).ok())
            .flatten();
        let mut out = References {
            idx: Vec::new(),
            items: Vec::new(),
            excluded: BTreeMap::new(),
        };
        for (i, it) in items.iter().enumerate() {
            let r = match s.scoring.reference {
                Reference::Logged => logged(s.task, labels.as_ref(), it),
                _ => from_baseline(
                    s.task,
                    labels.as_ref(),
                    baseline.get(i).and_then(Option::as_ref),
                ),
            };
            match r {
                Ok(v) => {
                    let mut copy = it.clone();
                    copy.expected = v;
                    out.idx.push(i);
                    out.items.push(copy);
                }
                Err(reason) => *out.excluded.entry(reason.to_string()).or_insert(0) += 1,
            }
        }
        if s.scoring.reference == Reference::Baseline {
            out.drop_unusable(scorer, baseline);
        }
        out
    }

    /// A baseline answer that does not agree with itself cannot be a reference (a tool call that breaks its tool's
    /// schema, a summary without a word the ROUGE tokenizer keeps): such items are excluded as `baseline_unusable`,
    /// so the baseline's agreement is 1 on every item that keeps a reference.
    fn drop_unusable(&mut self, scorer: &crate::score::Scorer, baseline: &[Option<Outcome>]) {
        let recs: Vec<Option<&Outcome>> = self
            .idx
            .iter()
            .map(|&i| baseline.get(i).and_then(Option::as_ref))
            .collect();
        let own = scorer.score(&self.items, &recs);
        let keep: Vec<bool> = own.item_score.iter().map(|s| *s >= 1.0).collect();
        let dropped = keep.iter().filter(|k| !**k).count();
        if dropped == 0 {
            return;
        }
        *self
            .excluded
            .entry("baseline_unusable".to_string())
            .or_insert(0) += dropped;
        let mut k = keep.iter();
        self.idx.retain(|_| *k.next().unwrap_or(&false));
        let mut k = keep.iter();
        self.items.retain(|_| *k.next().unwrap_or(&false));
    }

    /// The summary for results.json.
    pub(super) fn summary(&self, ls: &LoadedSuite, items: &[Item]) -> ReferenceSummary {
        let kind = ls.suite.scoring.reference;
        let baseline = ls
            .suite
            .providers
            .iter()
            .find(|p| p.role == crate::suite::ProviderRole::Baseline)
            .map(|p| p.id.clone());
        let measures = match kind {
            Reference::Logged => {
                "agreement with the logged production answers, not correctness".to_string()
            }
            _ => format!(
                "agreement with the baseline `{}`'s answers, not correctness",
                baseline.as_deref().unwrap_or("?")
            ),
        };
        ReferenceSummary {
            kind: kind.as_str().into(),
            provider: baseline.filter(|_| kind == Reference::Baseline),
            measures,
            n_items_with_reference: self.idx.len(),
            n_items_without_reference: self.excluded.values().sum(),
            without_reference_by_reason: self.excluded.clone(),
            n_labelled: labelled(items).len(),
        }
    }
}

/// Before anything is sent: `reference: logged` needs a `logged_answer` on at least one item (otherwise no item
/// would have a reference and the run would pay for nothing).
pub fn check_dataset(ls: &LoadedSuite, items: &[Item]) -> crate::error::Result<()> {
    if ls.suite.scoring.reference != Reference::Logged || items.is_empty() {
        return Ok(());
    }
    if items
        .iter()
        .any(|it| it.fields().get(LOGGED_FIELD).is_some_and(|v| !v.is_null()))
    {
        return Ok(());
    }
    let mut e = crate::error::InputError::new(
        &ls.path,
        format!(
            "`scoring.reference: logged` needs the production answer in a `{LOGGED_FIELD}` field, and no row of {} has one",
            ls.dataset_path.display()
        ),
    )
    .hint(format!(
        "make the dataset with `evalh dataset from-logs` (it keeps the production answer as `{LOGGED_FIELD}`), or score \
         against the baseline's answers with `reference: baseline`"
    ));
    if let Some((line, col)) = crate::suite::locate(&ls.src, "reference", Some("logged"), 0) {
        e = e.at(line, col);
    }
    Err(e.into())
}

/// What `evalh validate` adds under agreement scoring: what the figures will measure and how much is labelled.
pub fn validate_line(ls: &LoadedSuite, items: &[Item]) -> Option<String> {
    let what = match ls.suite.scoring.reference {
        Reference::GroundTruth => return None,
        Reference::Baseline => "the baseline's answers",
        Reference::Logged => "the logged production answers (`logged_answer`)",
    };
    Some(format!(
        "scoring.reference: {}: answers are scored against {what} (agreement, not correctness); {} of {} items carry the ground truth `{}`",
        ls.suite.scoring.reference.as_str(),
        labelled(items).len(),
        items.len(),
        ls.suite.dataset.expected
    ))
}

/// Under agreement scoring the recommendation's quality figure is an agreement: "96.4% of its quality" becomes
/// "96.4% agreement with its answers (not correctness)".
pub(super) fn reword(rec: &mut crate::summary::Recommendation) {
    rec.text = rec.text.replacen(
        "% of its quality",
        "% agreement with its answers (not correctness)",
        1,
    );
}

/// Indices of the items that carry the ground-truth field.
pub(super) fn labelled(items: &[Item]) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, it)| !it.expected.is_null())
        .map(|(i, _)| i)
        .collect()
}

/// The baseline's answer in the shape of the task's `expected`, or why there is none.
fn from_baseline(
    task: TaskKind,
    labels: Option<&LabelExtractor>,
    r: Option<&Outcome>,
) -> Result<Value, &'static str> {
    use crate::summary::{state_of, ItemState};
    match state_of(r) {
        ItemState::Answered => {}
        ItemState::Unsettled => return Err("baseline_unsettled"),
        ItemState::ItemError | ItemState::Reliability => return Err("baseline_error"),
    }
    let r = r.ok_or("baseline_unsettled")?;
    let text = &*r.output_text;
    let v = match task {
        TaskKind::Classification => labels.and_then(|x| x.extract(text)).map(Value::String),
        TaskKind::Summarization => (!text.trim().is_empty()).then(|| Value::String(text.into())),
        TaskKind::Extraction => crate::metrics::parse_model_json(text).ok(),
        TaskKind::FunctionCalling => calls_as_expected(r.tool_calls()),
    };
    v.ok_or("baseline_unparseable")
}

/// The item's `logged_answer` (already in the task's shape, as `evalh dataset from-logs` writes it), or why none.
fn logged(
    task: TaskKind,
    labels: Option<&LabelExtractor>,
    it: &Item,
) -> Result<Value, &'static str> {
    let v = match it.fields().remove(LOGGED_FIELD) {
        None | Some(Value::Null) => return Err("no_logged_answer"),
        Some(v) => v,
    };
    let ok = match (task, &v) {
        (TaskKind::Classification, Value::String(s)) => {
            labels.and_then(|x| x.extract(s)).map(Value::String)
        }
        (TaskKind::Summarization, Value::String(s)) => (!s.trim().is_empty()).then_some(v),
        (TaskKind::Summarization, Value::Array(a)) => (!a.is_empty()).then_some(v),
        (TaskKind::Extraction, Value::String(s)) => crate::metrics::parse_model_json(s).ok(),
        (TaskKind::Extraction, Value::Object(_)) => Some(v),
        (TaskKind::FunctionCalling, Value::Array(_)) => {
            serde_json::from_value::<Vec<crate::metrics::ExpectedCall>>(v.clone())
                .ok()
                .map(|_| v)
        }
        _ => None,
    };
    ok.ok_or("logged_unparseable")
}

/// The baseline's tool calls as expected calls (`{name, arguments: {param: [value]}}`): each argument must take the
/// baseline's value; `[]` when it called no tool (the candidate should not call one either). None when an argument
/// list is not a JSON object.
pub(super) fn calls_as_expected(calls: &[ToolCall]) -> Option<Value> {
    let mut out = Vec::with_capacity(calls.len());
    for c in calls {
        let args = match &c.arguments {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            Value::String(s) if s.trim().is_empty() => Map::new(),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => m,
                _ => return None,
            },
            _ => return None,
        };
        let args: Map<String, Value> = args.into_iter().map(|(k, v)| (k, json!([v]))).collect();
        out.push(json!({"name": c.name, "arguments": args}));
    }
    Some(Value::Array(out))
}

/// Cohen's kappa of predicted labels against reference labels, as scikit-learn's `cohen_kappa_score(reference,
/// predicted)` with an unreadable answer (`None`) as a category of its own. NaN when undefined (empty, or both sides
/// used one and the same category only).
pub(super) fn label_kappa(reference: &[&str], predicted: &[Option<&str>]) -> f64 {
    let mut vocab: Vec<&str> = reference
        .iter()
        .copied()
        .chain(predicted.iter().flatten().copied())
        .collect();
    vocab.sort_unstable();
    vocab.dedup();
    let none = vocab.len();
    let id = |l: &str| vocab.binary_search(&l).unwrap_or(none);
    let a: Vec<usize> = reference.iter().map(|l| id(l)).collect();
    let b: Vec<usize> = predicted.iter().map(|p| p.map_or(none, id)).collect();
    crate::stats::cohen_kappa(&a, &b, none + 1)
}

/// A provider's kappa against the reference labels over the reference items it answered or refused (`records[j]`
/// for `refs.items[j]`): (kappa, n). None for other tasks.
pub(super) fn provider_kappa(
    ls: &LoadedSuite,
    refs: &References,
    records: &[Option<&Outcome>],
) -> Option<(f64, usize)> {
    use crate::summary::{state_of, ItemState};
    let s = &ls.suite;
    if s.task != TaskKind::Classification {
        return None;
    }
    let x = LabelExtractor::new(&s.scoring.label_extract, &s.labels).ok()?;
    let mut truth = Vec::new();
    let mut pred = Vec::new();
    for (it, r) in refs.items.iter().zip(records) {
        match state_of(*r) {
            ItemState::Answered | ItemState::ItemError => {}
            _ => continue,
        }
        truth.push(it.expected.as_str().unwrap_or_default());
        pred.push(
            r.filter(|r| r.error().is_none())
                .and_then(|r| x.extract(&r.output_text)),
        );
    }
    let p: Vec<Option<&str>> = pred.iter().map(Option::as_deref).collect();
    let k = label_kappa(&truth, &p);
    Some((k, truth.len()))
}

/// One provider's agreement extras: kappa against the reference labels (classification) and the task's metrics
/// against the ground truth on the labelled subset. `records[i]` is the provider's repeat-0 record for `items[i]`.
pub(super) fn provider_agreement(
    ls: &LoadedSuite,
    scorer: &crate::score::Scorer,
    refs: &References,
    items: &[Item],
    records: &[Option<Outcome>],
) -> ProviderAgreement {
    let on_refs: Vec<Option<&Outcome>> = refs.idx.iter().map(|&i| records[i].as_ref()).collect();
    let kappa = provider_kappa(ls, refs, &on_refs);
    let lab = labelled(items);
    let ground_truth = (!lab.is_empty()).then(|| {
        let its: Vec<Item> = lab.iter().map(|&i| items[i].clone()).collect();
        let recs: Vec<Option<&Outcome>> = lab.iter().map(|&i| records[i].as_ref()).collect();
        LabelledSubset {
            n_items: lab.len(),
            metrics: scorer.score(&its, &recs).metrics,
        }
    });
    ProviderAgreement {
        cohen_kappa: kappa.map(|k| k.0).filter(|k| k.is_finite()),
        kappa_n: kappa.map(|k| k.1),
        ground_truth,
    }
}

/// What every report says under agreement scoring (nothing under ground truth): that the quality figures measure
/// agreement with the reference, not correctness; the items left without a reference; correctness on the labelled
/// subset beside the agreement; and kappa.
pub fn report_lines(r: &crate::summary::Results) -> Vec<String> {
    let Some(rf) = &r.reference else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let reasons: Vec<String> = rf
        .without_reference_by_reason
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    out.push(format!(
        "AGREEMENT, NOT CORRECTNESS: the quality figures measure {}. {} item(s) have a reference; {} have none{} and are left out of them (not scored 0).",
        rf.measures,
        rf.n_items_with_reference,
        rf.n_items_without_reference,
        if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) }
    ));
    let m = &r.gate_metric;
    if rf.n_labelled > 0 {
        let side: Vec<String> = r
            .providers
            .iter()
            .filter_map(|p| {
                let gt = p.agreement.as_ref()?.ground_truth.as_ref()?;
                Some(format!(
                    "{} {:.3} correct vs {:.3} agreement",
                    p.id,
                    gt.metrics.get(m).copied().unwrap_or(f64::NAN),
                    p.metrics.get(m).copied().unwrap_or(f64::NAN)
                ))
            })
            .collect();
        out.push(format!(
            "Labelled subset ({} items with the ground truth), {m}: {}.",
            rf.n_labelled,
            side.join("; ")
        ));
    }
    let kappas: Vec<String> = r
        .providers
        .iter()
        .filter_map(|p| {
            let a = p.agreement.as_ref()?;
            Some(format!(
                "{} {:.3} (n={})",
                p.id,
                a.cohen_kappa?,
                a.kappa_n.unwrap_or(0)
            ))
        })
        .collect();
    if !kappas.is_empty() {
        out.push(format!(
            "Cohen's kappa against the reference: {}.",
            kappas.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kappa_treats_an_unreadable_answer_as_its_own_category() {
        // Perfect agreement: 1.
        assert_eq!(
            label_kappa(&["a", "b", "a"], &[Some("a"), Some("b"), Some("a")]),
            1.0
        );
        // sklearn: cohen_kappa_score(["a","b","a","b"], ["a","b","<none>","a"]) = 0.2
        let k = label_kappa(
            &["a", "b", "a", "b"],
            &[Some("a"), Some("b"), None, Some("a")],
        );
        assert!((k - 0.2).abs() < 1e-12, "{k}");
        assert!(label_kappa(&["a", "a"], &[Some("a"), Some("a")]).is_nan());
    }

    #[test]
    fn tool_calls_become_expected_calls_with_one_acceptable_value() {
        let calls = vec![
            ToolCall {
                name: "f".into(),
                arguments: json!({"x": 1, "y": "z"}),
            },
            ToolCall {
                name: "g".into(),
                arguments: json!("{\"a\": [1]}"),
            },
        ];
        assert_eq!(
            calls_as_expected(&calls),
            Some(json!([
                {"name": "f", "arguments": {"x": [1], "y": ["z"]}},
                {"name": "g", "arguments": {"a": [[1]]}}
            ]))
        );
        assert_eq!(calls_as_expected(&[]), Some(json!([])));
        let bad = [ToolCall {
            name: "f".into(),
            arguments: json!("not json"),
        }];
        assert_eq!(calls_as_expected(&bad), None);
    }
}
