//! The metric table (`evalh::metrics::metrics`) against everything that reads it: for every (task, metric) pair the
//! validator accepts the metric as a gate metric, the scorer reports it, `metric_on` recomputes it on any subset of
//! items (equal to scoring that subset from scratch, finite for every non-empty one), the analysis gives it a finite
//! interval, and the gate reaches a decisive verdict on a clear-cut case: a candidate with the baseline's answers
//! PASSes the quality rule, a candidate that is mostly wrong FAILs it.
//!
//! The items are the demo suites' datasets (suites/*.yaml); the good answers are the simulator's correct answers
//! (`sim::answer`), the wrong ones a refusal, so every metric (parse rate and call names included) sees a
//! clear difference.

use crate::common;

use evalh::dataset::Item;
use evalh::gate::{RuleStatus, Verdict};
use evalh::journal::Record;
use evalh::metrics::{self, MetricKind};
use evalh::outcome::Outcome;
use evalh::score::Scorer;
use evalh::sim::{answer, Truth};
use evalh::suite::{LoadedSuite, ProviderRole, TaskKind};
use rand::SeedableRng;
use serde_json::{json, Value};

const REFUSAL: &str = "I cannot help with that request.";

fn suite_file(task: TaskKind) -> &'static str {
    match task {
        TaskKind::Classification => "suites/classify.yaml",
        TaskKind::Summarization => "suites/summarize.yaml",
        TaskKind::Extraction => "suites/extract.yaml",
        TaskKind::FunctionCalling => "suites/function_call.yaml",
    }
}

fn load(task: TaskKind) -> (LoadedSuite, Vec<Item>) {
    let ls = evalh::suite::load_suite(&common::root().join(suite_file(task)), None)
        .expect("demo suite loads");
    assert_eq!(ls.suite.task, task);
    let items = evalh::dataset::load(&ls.dataset_path, &ls.suite.dataset).expect("dataset");
    assert!(items.len() >= 50, "{} items", items.len());
    (ls, items)
}

/// The simulator's correct answer to an item, as a journal record of `provider` (cost and latency given).
fn record(ls: &LoadedSuite, item: &Item, provider: &str, correct: bool, cost: f64) -> Record {
    let (text, calls) = if correct {
        let fields = item.fields();
        let source_text = fields
            .values()
            .filter_map(Value::as_str)
            .max_by_key(|s| s.len())
            .unwrap_or_default()
            .to_string();
        let truth = Truth {
            expected: item.expected.clone(),
            source_text,
        };
        let tool_names: Vec<String> = ls.tools.iter().map(|t| t.name.clone()).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(item.index as u64);
        let a = answer(
            ls.suite.task,
            &truth,
            &ls.suite.labels,
            &tool_names,
            true,
            &mut rng,
        );
        let calls: Vec<Value> = a
            .tool_calls
            .iter()
            .map(|(name, args)| {
                json!({"name": name, "arguments": serde_json::from_str::<Value>(args).expect("sim args are JSON")})
            })
            .collect();
        (a.text, calls)
    } else {
        (REFUSAL.to_string(), Vec::new())
    };
    serde_json::from_value(json!({
        "item_id": item.id, "provider_id": provider, "repeat": 0, "request_hash": format!("{provider}/{}", item.id),
        "output_text": text, "tool_calls": calls, "finish_reason": "stop",
        "usage": {"input_tokens": 100, "output_tokens": 20, "cached_input_tokens": 0, "reasoning_tokens": 0},
        "cost_usd": cost, "latency_ms": 400.0, "attempts": 1, "error": null
    }))
    .expect("a journal record")
}

/// The clear-cut case: the baseline answers 90% of the items right; `same` gives the baseline's answers at a tenth
/// of the cost; `bad` answers 10% right at the same low cost.
fn records(ls: &LoadedSuite, items: &[Item]) -> (Vec<Record>, [String; 3]) {
    let base = ls.suite.baseline().expect("baseline").id.clone();
    let mut cands = ls
        .suite
        .providers
        .iter()
        .filter(|p| p.role != ProviderRole::Baseline)
        .map(|p| p.id.clone());
    let same = cands.next().expect("a first candidate");
    let bad = cands.next().expect("a second candidate");
    let mut out = Vec::new();
    for it in items {
        out.push(record(ls, it, &base, it.index % 10 != 0, 0.01));
        out.push(record(ls, it, &same, it.index % 10 != 0, 0.001));
        out.push(record(ls, it, &bad, it.index % 10 == 1, 0.001));
    }
    (out, [base, same, bad])
}

#[test]
fn every_gate_metric_has_a_finite_interval_and_a_decisive_verdict() {
    let mut checked = 0;
    for task in metrics::TASKS {
        let (mut ls, items) = load(task);
        let (recs, [_, same, bad]) = records(&ls, &items);
        for def in metrics::metrics(task) {
            let what = format!("{} / {}", task.as_str(), def.name);
            ls.suite.gate.metric = Some(def.name.to_string());
            let errs = evalh::suite::validate(&ls);
            assert!(errs.is_empty(), "{what}: {errs:?}");
            let an = evalh::summary::analyse(&ls, &items, recs.clone()).expect("analyse");
            let r = &an.results;
            assert_eq!(r.gate_metric, def.name);
            for p in &r.providers {
                let v = p.metrics.get(def.name).copied();
                assert!(
                    v.is_some_and(f64::is_finite),
                    "{what}: {} value {v:?}",
                    p.id
                );
                let iv = p.metric_intervals.get(def.name);
                assert!(
                    iv.is_some_and(|iv| iv.lower.is_finite()
                        && iv.upper.is_finite()
                        && iv.lower <= iv.upper),
                    "{what}: {} interval {iv:?}",
                    p.id
                );
            }
            let gate = |id: &str| {
                let p = r.providers.iter().find(|p| p.id == id).expect("provider");
                let g = p.gate.as_ref().expect("a candidate has a gate result");
                let q = g
                    .rules
                    .iter()
                    .find(|rule| rule.name == "quality")
                    .expect("quality rule");
                (g.verdict, q.status, g.quality_ratio_lower)
            };
            let (verdict, quality, lower) = gate(&same);
            assert_eq!(quality, RuleStatus::Pass, "{what}: identical answers");
            assert_eq!(verdict, Verdict::Pass, "{what}: identical answers");
            assert!(lower.is_some_and(f64::is_finite), "{what}: bound {lower:?}");
            let (verdict, quality, lower) = gate(&bad);
            assert_eq!(quality, RuleStatus::Fail, "{what}: mostly wrong");
            assert_eq!(verdict, Verdict::Fail, "{what}: mostly wrong");
            assert!(lower.is_some_and(f64::is_finite), "{what}: bound {lower:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 18, "every row of the table was checked");
}

/// A small deterministic generator (no dependence on rand's algorithms for the subsets).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[test]
fn metric_on_equals_scoring_the_subset_from_scratch_for_every_metric() {
    let mut rng = Lcg(7);
    for task in metrics::TASKS {
        let (ls, items) = load(task);
        let scorer = Scorer::new(&ls).expect("scorer");
        let (recs, ids) = records(&ls, &items);
        let names: Vec<&str> = metrics::metrics(task).iter().map(|d| d.name).collect();
        for id in &ids {
            let outcomes: Vec<Outcome> = recs
                .iter()
                .filter(|r| &r.provider_id == id)
                .cloned()
                .map(Outcome::from)
                .collect();
            assert_eq!(outcomes.len(), items.len());
            let refs: Vec<Option<&Outcome>> = outcomes.iter().map(Some).collect();
            let s = scorer.score(&items, &refs);
            // The table, exactly: every metric reported, per-item scores for exactly the mean metrics.
            let reported: Vec<&str> = s.metrics.keys().map(String::as_str).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(reported, sorted, "{}", task.as_str());
            for def in metrics::metrics(task) {
                let has = s.per_item.get(def.name).map(|v| v.len());
                match def.kind {
                    MetricKind::Mean => assert_eq!(has, Some(items.len()), "{}", def.name),
                    MetricKind::Corpus => assert_eq!(has, None, "{}", def.name),
                }
            }
            let all: Vec<usize> = (0..items.len()).collect();
            let mut batch = vec![0.0; names.len()];
            scorer.metrics_on(&s, &names, &all, &mut batch);
            for (name, b) in names.iter().zip(&batch) {
                let full = s.metrics[*name];
                assert!(full.is_finite(), "{name}: {full}");
                let on = scorer.metric_on(&s, name, &all);
                assert!(
                    (on - full).abs() < 1e-12,
                    "{id} {name}: all items {on} vs {full}"
                );
                assert!((b - full).abs() < 1e-12, "{id} {name}: batch {b} vs {full}");
            }
            // Random subsets (distinct, in order, sizes 1..n) scored from scratch.
            for round in 0..25 {
                let size = if round == 0 {
                    1
                } else {
                    1 + rng.below(items.len())
                };
                let mut idx: Vec<usize> = (0..items.len()).collect();
                for i in 0..size {
                    let j = i + rng.below(items.len() - i);
                    idx.swap(i, j);
                }
                idx.truncate(size);
                idx.sort_unstable();
                let sub_items: Vec<Item> = idx.iter().map(|&i| items[i].clone()).collect();
                let sub_refs: Vec<Option<&Outcome>> = idx.iter().map(|&i| refs[i]).collect();
                let fresh = scorer.score(&sub_items, &sub_refs);
                scorer.metrics_on(&s, &names, &idx, &mut batch);
                for (name, b) in names.iter().zip(&batch) {
                    let on = scorer.metric_on(&s, name, &idx);
                    let want = fresh.metrics[*name];
                    assert!(on.is_finite(), "{id} {name} on {size} items: {on}");
                    assert!(
                        (on - want).abs() < 1e-12,
                        "{id} {name} on {idx:?}: {on} vs {want}"
                    );
                    assert_eq!(b.to_bits(), on.to_bits(), "{id} {name}: batch vs single");
                }
            }
            // A bootstrap resample (indices repeat) is finite too; an unknown name is not a metric.
            let resample: Vec<usize> = (0..items.len()).map(|_| rng.below(items.len())).collect();
            for name in &names {
                assert!(scorer.metric_on(&s, name, &resample).is_finite(), "{name}");
            }
            assert!(scorer.metric_on(&s, "no_such_metric", &all).is_nan());
        }
    }
}

#[test]
fn the_validator_accepts_exactly_the_table_and_lists_it() {
    for task in metrics::TASKS {
        let (mut ls, _) = load(task);
        let valid: Vec<&str> = metrics::metrics(task).iter().map(|d| d.name).collect();
        for other in metrics::TASKS {
            for def in metrics::metrics(other) {
                ls.suite.gate.metric = Some(def.name.to_string());
                let errs = evalh::suite::validate(&ls);
                let rejected = errs.iter().any(|e| e.to_string().contains("gate metric"));
                assert_eq!(
                    rejected,
                    !valid.contains(&def.name),
                    "{} gated on {}: {errs:?}",
                    task.as_str(),
                    def.name
                );
            }
        }
    }
}

#[test]
fn an_unknown_gate_metric_is_exit_2_with_line_suggestion_and_the_valid_names() {
    let suite = common::sim_suite("gate: {metric: macro_f}\n");
    let d = common::fixture(&[("suite.yaml", &suite), ("data.jsonl", common::TICKETS)]);
    let o = common::evalh(d.path(), &["validate", "suite.yaml"]);
    let t = common::text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("suite.yaml:"), "{t}");
    assert!(t.contains("unknown gate metric `macro_f`"), "{t}");
    assert!(t.contains("did you mean `macro_f1`?"), "{t}");
    let all: Vec<&str> = metrics::metrics(TaskKind::Classification)
        .iter()
        .map(|d| d.name)
        .collect();
    assert!(t.contains(&all.join(", ")), "{t}");

    // A metric of another task: no close name, still the list.
    let suite = common::sim_suite("gate: {metric: rougeLsum_f}\n");
    let d = common::fixture(&[("suite.yaml", &suite), ("data.jsonl", common::TICKETS)]);
    let o = common::evalh(d.path(), &["validate", "suite.yaml"]);
    let t = common::text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("classification gate metrics: macro_f1, accuracy"),
        "{t}"
    );
}

#[test]
fn docs_show_the_current_table() {
    let doc = std::fs::read_to_string(common::root().join("docs/metrics.md")).expect("docs");
    let table = metrics::markdown_table();
    assert!(
        doc.contains(&table),
        "docs/metrics.md is out of date: run python3 scripts/gen_metrics_doc.py; the table is\n{table}"
    );
}
