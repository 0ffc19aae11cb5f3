//! Each task's binding: the outcomes of one provider's requests scored item by item with the task's metrics, then
//! the table filled, the details for the reports written and the counts for resampling kept.

use super::details::{
    ClassificationDetails, Details, FunctionAccuracy, FunctionCallDetails, Irrelevance, MeanPrf,
    SummarizationDetails,
};
use super::{answered, fill_table, mean, Counts, ProviderScores};
use crate::chat::{ToolCall, ToolDef};
use crate::dataset::Item;
use crate::metrics::{
    aggregate_extraction, category_summary, classification_metric, may_hold_big_int,
    parse_exact_json, report_without_marker, CallStat, CallVerdict, Category, Compat, ExpectedCall,
    ExtractionScorer, FieldStat, ItemScore, LabelExtractor, LabelIds, LabelStat, LeafCounts,
    RougePrf, RougeScorer, RougeScores, RougeStat, Stat, TaskKind, ToolSet, UNPARSEABLE,
};
use crate::outcome::{Interner, Outcome};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Classification: each answer's label (exact, normalised or found, per `label_extract`), scikit-learn's report.
pub(super) fn classification(
    x: &LabelExtractor,
    items: &[Item],
    records: &[Option<&Outcome>],
) -> ProviderScores {
    // Borrowed labels, and one extraction per distinct short answer: a million answers of a classifier are a handful
    // of texts, so scoring them allocates next to nothing.
    // The pairs are built once and dropped as soon as the report, the scores and the resampling cells are taken
    // from them (at 1,000,000 items each list is 16 MB).
    let mut seen: HashMap<&str, Option<&str>> = HashMap::new();
    let mut valid: Vec<bool> = Vec::with_capacity(records.len());
    let p: Vec<&str> = records
        .iter()
        .map(|r| {
            let label = r.filter(|r| r.is_ok()).and_then(|r| {
                let text = &*r.output_text;
                if text.len() > Interner::MAX_LEN {
                    return x.extract_str(text);
                }
                *seen.entry(text).or_insert_with(|| x.extract_str(text))
            });
            valid.push(label.is_some());
            label.unwrap_or(UNPARSEABLE)
        })
        .collect();
    let t = truth_labels(items);
    debug_assert_eq!(t.len(), p.len());
    let rep = report_without_marker(&t, &p);
    // One list for the accuracy metric and the headline score (shared, not copied).
    let correct: Arc<[f64]> = t
        .iter()
        .zip(&p)
        .map(|(a, b)| f64::from(u8::from(a == b)))
        .collect();
    let (metrics, per_item) = fill_table(
        TaskKind::Classification,
        |stat| match stat {
            Stat::Label(LabelStat::Accuracy) => Some(correct.clone()),
            _ => None,
        },
        |stat| match stat {
            Stat::Label(m) => classification_metric(&rep, m),
            _ => f64::NAN,
        },
    );
    let cells = LabelIds::new(&t, &p);
    drop(t);
    let n_unparseable = records
        .iter()
        .zip(&valid)
        .filter(|(r, v)| r.is_some_and(|r| r.error().is_none()) && !**v)
        .count();
    let notes = p
        .iter()
        .zip(&valid)
        .map(|(p, v)| if *v { p } else { "(unparseable)" })
        .collect();
    drop(p);
    ProviderScores {
        metrics,
        per_item,
        valid,
        answered: answered(records),
        item_score: correct,
        notes,
        details: Details::Classification(ClassificationDetails {
            labels: rep.labels,
            confusion: rep.confusion,
            per_class: rep.per_class,
            micro: rep.micro,
            macro_avg: rep.macro_avg,
            weighted: rep.weighted,
            unparseable: n_unparseable,
            zero_division: 0,
        }),
        counts: Counts::Labels(cells),
    }
}

/// Function calling: each item's calls checked against its expected calls (`compat` rules), per-category accuracy.
pub(super) fn function_calling(
    tools: &[ToolDef],
    compat: Compat,
    expected_field: &str,
    items: &[Item],
    records: &[Option<&Outcome>],
) -> ProviderScores {
    let tool_set = ToolSet::cached(tools);
    let expected: Vec<Vec<ExpectedCall>> = items
        .par_iter()
        .map(|it| serde_json::from_value(exact_expected(it, expected_field)).unwrap_or_default())
        .collect();
    // BFCL category from the item id, else from the shape of the expected calls.
    let categories: Vec<(Category, bool)> = items
        .iter()
        .zip(&expected)
        .map(|(it, e)| match Category::from_id(&it.id) {
            Some(c) => (c, true),
            None => (Category::from_shape(e, tools.len()), false),
        })
        .collect();
    let verdicts: Vec<CallVerdict> = expected
        .par_iter()
        .zip(records.par_iter())
        .zip(categories.par_iter())
        .map(|((expected, r), (category, _))| {
            let actual: &[ToolCall] = match r {
                Some(r) if r.error().is_none() => r.tool_calls(),
                _ => &[],
            };
            let mut v = tool_set.check_compat(expected, actual, compat, Some(*category));
            if r.is_none_or(|r| r.error().is_some()) {
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
        TaskKind::FunctionCalling,
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
                r.error().is_none() && r.tool_calls().iter().all(|c| c.arguments.is_object())
            })
        })
        .collect();
    let by_category = category_summary(
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
        details: Details::FunctionCalling(FunctionCallDetails {
            per_function: per_fn
                .iter()
                .map(|(k, &(n, correct))| {
                    let accuracy = correct as f64 / n.max(1) as f64;
                    (
                        k.clone(),
                        FunctionAccuracy {
                            n,
                            correct,
                            accuracy,
                        },
                    )
                })
                .collect(),
            error_types: errors,
            irrelevance: Irrelevance {
                n: irr_n,
                correct: irr_ok,
            },
            compat,
            per_category: by_category["per_category"].clone(),
            category_source: by_category["category_source"].clone(),
            bfcl_summary: by_category["bfcl_summary"].clone(),
        }),
        per_item,
        counts: Counts::None,
    }
}

/// Each item's true label (a non-string answer key is the empty label: `check_labels` refuses it at load). The
/// predicted labels beside them map unparseable or failed answers to a marker that is no real label and is excluded
/// from the label set (so it adds a false negative for the true class and no class of its own).
fn truth_labels(items: &[Item]) -> Vec<&str> {
    items
        .iter()
        .map(|it| it.expected.as_str().unwrap_or_default())
        .collect()
}

/// Summarization: ROUGE of each answer against its reference(s).
pub(super) fn summarization(
    scorer: &RougeScorer,
    items: &[Item],
    records: &[Option<&Outcome>],
) -> ProviderScores {
    let scores: Vec<Option<RougeScores>> = items
        .par_iter()
        .zip(records.par_iter())
        .map(|(it, r)| {
            let r = r.filter(|r| r.error().is_none())?;
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
    let prf_of = |m: RougeStat| -> fn(&RougeScores) -> RougePrf {
        match m {
            RougeStat::Rouge1 => |x| x.rouge1,
            RougeStat::Rouge2 => |x| x.rouge2,
            RougeStat::RougeL => |x| x.rouge_l,
            RougeStat::RougeLsum => |x| x.rouge_lsum,
        }
    };
    let column = |f: &dyn Fn(&RougeScores) -> f64| -> Arc<[f64]> {
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
            MeanPrf {
                precision: p,
                recall: r,
                fmeasure: fm,
            },
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
        details: Details::Summarization(SummarizationDetails {
            means: pr,
            stemmer: "nltk Porter (rouge-score 0.1.2 compatible)",
            tokenizer: "rouge-score default (ASCII a-z0-9)",
        }),
        per_item,
        counts: Counts::None,
    }
}

/// Extraction: each answer's JSON compared field by field with the expected record.
pub(super) fn extraction(
    x: &ExtractionScorer,
    items: &[Item],
    records: &[Option<&Outcome>],
) -> ProviderScores {
    let scored: Vec<Option<ItemScore>> = items
        .par_iter()
        .zip(records.par_iter())
        .map(|(it, r)| {
            r.filter(|r| r.error().is_none())
                .map(|r| x.score(&it.expected, &r.output_text))
        })
        .collect();
    // Errored items are scored as an unparseable answer so they count as failures.
    let full: Vec<ItemScore> = items
        .iter()
        .zip(&scored)
        .map(|(it, s)| s.clone().unwrap_or_else(|| x.score(&it.expected, "")))
        .collect();
    let corpus = aggregate_extraction(&full);
    let (metrics, per_item) = fill_table(
        TaskKind::Extraction,
        |stat| {
            let Stat::Field(m) = stat else { return None };
            let f: fn(&ItemScore) -> f64 = match m {
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
        details: Details::Extraction(corpus),
        per_item,
        counts: Counts::Leaves(full.iter().map(LeafCounts::of).collect()),
    }
}

/// An item's expected calls, with integers beyond 64 bits kept exact: the row is decoded again with
/// [`parse_exact_json`] (the dataset's own decoding rounds them to doubles, as serde_json does).
fn exact_expected(it: &Item, field: &str) -> serde_json::Value {
    if !may_hold_big_int(it.fields_json()) {
        return it.expected.clone();
    }
    match parse_exact_json(it.fields_json()) {
        Ok(serde_json::Value::Object(mut row)) => {
            row.remove(field).unwrap_or_else(|| it.expected.clone())
        }
        _ => it.expected.clone(),
    }
}
