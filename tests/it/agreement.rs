//! The baseline as the reference (issue 21, `scoring.reference`): agreement metrics equal scikit-learn on golden
//! vectors through the real analysis, a baseline failure leaves the item without a reference (excluded and counted,
//! never scored 0), every output labels the figures as agreement, and the demo suite runs offline.

use crate::common;

use common::{evalh, fixture, root, run_dir, text};
use evalh::chat::{ErrorClass, Usage};
use evalh::journal::{ErrorInfo, Record};
use serde_json::Value;

const LABELS: [&str; 4] = ["billing", "bug", "feature", "refund"];

/// A classification suite over `n` unlabelled items (`label` on the first `labelled` only), scored against the
/// baseline's answers.
fn setup(
    n: usize,
    labelled: usize,
    reference: &str,
) -> (
    tempfile::TempDir,
    evalh::suite::LoadedSuite,
    Vec<evalh::dataset::Item>,
) {
    let dir = tempfile::tempdir().unwrap();
    let data: String = (0..n)
        .map(|i| {
            let label = if i < labelled {
                format!(", \"label\": \"{}\"", LABELS[i % 4])
            } else {
                String::new()
            };
            format!("{{\"id\": \"i{i}\", \"text\": \"t{i}\"{label}}}\n")
        })
        .collect();
    std::fs::write(dir.path().join("data.jsonl"), data).unwrap();
    let suite = format!(
        r#"name: agree
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature, refund]
prompt: {{user: "{{{{ text }}}}"}}
scoring: {{reference: {reference}}}
providers:
  - {{id: base, role: baseline, kind: sim, model: base, price: {{input_per_mtok: 2.5, output_per_mtok: 10}}}}
  - {{id: cand, kind: sim, model: cand, price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}}}
gate: {{metric: accuracy, decision: point, bootstrap_iters: 200}}
"#
    );
    std::fs::write(dir.path().join("s.yaml"), suite).unwrap();
    let (ls, items, _) = evalh::app::prepare(&dir.path().join("s.yaml"), None).unwrap();
    (dir, ls, items)
}

/// A journal record: `Ok(text)` answered, `Err(class)` failed.
fn record(item: usize, provider: &str, out: Result<&str, ErrorClass>) -> Record {
    let (text, class) = match out {
        Ok(t) => (t.to_string(), None),
        Err(c) => (String::new(), Some(c)),
    };
    let ok = class.is_none();
    Record {
        item_id: format!("i{item}"),
        provider_id: provider.into(),
        repeat: 0,
        request_hash: String::new(),
        output_text: text,
        tool_calls: vec![],
        finish_reason: None,
        usage: Usage {
            input_tokens: if ok { 100 } else { 0 },
            output_tokens: if ok { 2 } else { 0 },
            ..Usage::default()
        },
        cost_usd: if ok { 1e-4 } else { 0.0 },
        latency_ms: 100.0 + item as f64,
        ttft_ms: None,
        attempts: 1,
        error: class.map(|class| ErrorInfo::new(class, "m", None)),
        cached: false,
        est_input_tokens: Some(100),
        stream_compare: None,
        attempt_errors: vec![],
        min_concurrency: None,
        batch: None,
    }
}

fn golden_f64(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn label_agreement_and_kappa_equal_scikit_learn_through_the_analysis() {
    let g: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/golden/agreement.json")).unwrap(),
    )
    .unwrap();
    for (ci, case) in g["cases"].as_array().unwrap().iter().enumerate() {
        let reference = case["reference"].as_array().unwrap();
        let candidate = case["candidate"].as_array().unwrap();
        let n = reference.len();
        let (_d, ls, items) = setup(n, 0, "baseline");
        let mut recs = Vec::new();
        let mut excluded = 0;
        for i in 0..n {
            // A missing reference is a baseline failure: item-level (context length) or reliability (server error).
            recs.push(record(
                i,
                "base",
                match reference[i].as_str() {
                    Some(l) => Ok(l),
                    None => {
                        excluded += 1;
                        Err(if i % 2 == 0 {
                            ErrorClass::ContextLength
                        } else {
                            ErrorClass::ServerError
                        })
                    }
                },
            ));
            recs.push(record(
                i,
                "cand",
                Ok(candidate[i]
                    .as_str()
                    .unwrap_or("I'm not sure which category this is.")),
            ));
        }
        let an = evalh::summary::analyse(&ls, &items, recs).unwrap();
        let r = &an.results;
        let rf = r.reference.as_ref().expect("reference block");
        assert_eq!(rf.n_items_without_reference, excluded, "case {ci}");
        assert_eq!(
            rf.without_reference_by_reason
                .get("baseline_error")
                .copied(),
            (excluded > 0).then_some(excluded),
            "case {ci}"
        );
        let (base, cand) = (&r.providers[0], &r.providers[1]);
        let acc = cand.metrics["accuracy"];
        assert!(
            (acc - golden_f64(&case["accuracy"])).abs() < 1e-12,
            "case {ci}: accuracy {acc} vs {}",
            case["accuracy"]
        );
        let want_kappa = golden_f64(&case["kappa"]);
        let kappa = cand.agreement.as_ref().unwrap().cohen_kappa;
        match kappa {
            Some(k) => assert!(
                (k - want_kappa).abs() < 1e-12,
                "case {ci}: kappa {k} vs {want_kappa}"
            ),
            None => assert!(want_kappa.is_nan(), "case {ci}: kappa missing"),
        }
        // The baseline agrees with itself on every item with a reference, so the gate's ratio is the agreement.
        assert_eq!(base.metrics["accuracy"], 1.0, "case {ci}");
        let gate = cand.gate.as_ref().unwrap();
        assert_eq!(gate.evidence.n_paired, n - excluded, "case {ci}");
        assert!(
            (gate.quality_ratio.unwrap() - acc).abs() < 1e-12,
            "case {ci}"
        );
    }
}

#[test]
fn a_baseline_failure_leaves_the_item_without_a_reference_never_a_zero() {
    let n = 40;
    let (_d, ls, items) = setup(n, 10, "baseline");
    let mut recs = Vec::new();
    for i in 0..n {
        let label = LABELS[i % 4];
        let base = match i {
            0 | 1 => Err(ErrorClass::ServerError),
            2 => Err(ErrorClass::ContextLength),
            3 => Ok("no idea"),
            _ => Ok(label),
        };
        recs.push(record(i, "base", base));
        // The candidate answers every item with the ground-truth label, so it agrees wherever there is a reference.
        recs.push(record(i, "cand", Ok(label)));
    }
    let an = evalh::summary::analyse(&ls, &items, recs).unwrap();
    let r = &an.results;
    let rf = r.reference.as_ref().unwrap();
    assert_eq!(rf.n_items_with_reference, 36);
    assert_eq!(rf.n_items_without_reference, 4);
    assert_eq!(rf.without_reference_by_reason["baseline_error"], 3);
    assert_eq!(rf.without_reference_by_reason["baseline_unparseable"], 1);
    assert_eq!(rf.n_labelled, 10);
    let cand = &r.providers[1];
    // Excluded, not scored 0: 36/36, not 36/40.
    assert_eq!(cand.metrics["accuracy"], 1.0);
    assert_eq!(cand.gate.as_ref().unwrap().evidence.n_paired, 36);
    // The labelled subset is scored against the ground truth, baseline errors included (as correctness always is).
    let gt = cand
        .agreement
        .as_ref()
        .unwrap()
        .ground_truth
        .as_ref()
        .unwrap();
    assert_eq!(gt.n_items, 10);
    assert_eq!(gt.metrics["accuracy"], 1.0);
    let base_gt = r.providers[0].agreement.as_ref().unwrap();
    assert_eq!(
        base_gt.ground_truth.as_ref().unwrap().metrics["accuracy"],
        0.6
    );
    // The per-item views cover every item; an item without a reference says so.
    assert_eq!(an.scores[1].notes.len(), n);
    assert_eq!(an.scores[1].notes.get(0), Some("(no reference)"));
    assert_eq!(an.scores[1].notes.get(5), Some(LABELS[1]));
    // Every output says what is measured.
    let term = plain(&evalh::report::render_terminal(r, Default::default())).replace("\n  ", " ");
    assert!(term.contains("AGREEMENT, NOT CORRECTNESS"), "{term}");
    assert!(
        term.contains("4 have none (baseline_error 3, baseline_unparseable 1)"),
        "{term}"
    );
}

#[test]
fn an_unsettled_baseline_request_leaves_no_reference_and_the_run_incomplete() {
    let (_d, ls, items) = setup(5, 0, "baseline");
    let mut recs = Vec::new();
    for i in 0..5 {
        if i != 4 {
            recs.push(record(i, "base", Ok("bug")));
        }
        recs.push(record(i, "cand", Ok("bug")));
    }
    recs.push(record(4, "base", Err(ErrorClass::Auth)));
    let an = evalh::summary::analyse(&ls, &items, recs).unwrap();
    let rf = an.results.reference.as_ref().unwrap();
    assert_eq!(rf.without_reference_by_reason["baseline_unsettled"], 1);
    assert!(!an.results.complete);
}

#[test]
fn the_demo_suite_runs_offline_and_every_output_says_agreement() {
    let d = tempfile::tempdir().unwrap();
    let suite = root().join("suites/agreement.yaml");
    let v = evalh(d.path(), &["validate", suite.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    assert!(
        text(&v).contains("(agreement, not correctness); 30 of 110 items carry the ground truth"),
        "{}",
        text(&v)
    );
    let junit = d.path().join("junit.xml");
    let md = d.path().join("summary.md");
    let o = evalh(
        d.path(),
        &[
            "run",
            suite.to_str().unwrap(),
            "--out",
            "reports",
            "--no-cache",
            "--no-progress",
            "--junit",
            junit.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
        ],
    );
    let out = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{out}");
    assert!(out.contains("AGREEMENT, NOT CORRECTNESS"), "{out}");
    assert!(out.contains("accuracy agreement (CI)"), "{out}");
    assert!(
        out.contains(
            "flash can replace premium: 96.4% agreement with its answers (not correctness)"
        ),
        "{out}"
    );
    let dir = run_dir(d.path());
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["reference"]["kind"], "baseline");
    assert_eq!(r["reference"]["provider"], "premium");
    assert!(r["reference"]["measures"]
        .as_str()
        .unwrap()
        .contains("agreement with the baseline `premium`'s answers, not correctness"));
    assert_eq!(r["reference"]["n_labelled"], 30);
    assert_eq!(r["reference"]["n_items_with_reference"], 110);
    let acc = |i: usize| r["providers"][i]["metrics"]["accuracy"].as_f64().unwrap();
    // The weaker candidate agrees less with the baseline; both sides are reported on the labelled subset.
    assert_eq!(acc(0), 1.0);
    assert!(acc(1) > acc(2) + 0.1, "{} vs {}", acc(1), acc(2));
    for p in r["providers"].as_array().unwrap() {
        assert_eq!(p["agreement"]["ground_truth"]["n_items"], 30);
        assert!(p["agreement"]["cohen_kappa"].is_number());
    }
    assert_eq!(r["providers"][1]["gate"]["verdict"], "PASS");
    assert_eq!(r["providers"][2]["gate"]["verdict"], "FAIL");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("AGREEMENT, NOT CORRECTNESS"));
    assert!(html.contains("Labelled subset (30 items with the ground truth)"));
    assert!(html.contains("(unlabelled: scored against the reference)"));
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("AGREEMENT, NOT CORRECTNESS") && md.contains("accuracy (agreement) (95% CI)")
    );
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(xml.contains("quality measures agreement with the reference, not correctness"));
    // `evalh score` recomputes the same agreement offline from the journal (the run's suite keeps the reference).
    let o = evalh(d.path(), &["score", dir.to_str().unwrap()]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(again, r);
}

#[test]
fn the_logged_answer_can_be_the_reference() {
    let suite = std::fs::read_to_string(root().join("suites/agreement.yaml"))
        .unwrap()
        .replace("reference: baseline", "reference: logged");
    let data = std::fs::read_to_string(root().join("datasets/agreement/tickets.jsonl")).unwrap();
    let suite = suite.replace("../datasets/agreement/tickets.jsonl", "tickets.jsonl");
    let d = fixture(&[("s.yaml", &suite), ("tickets.jsonl", &data)]);
    let o = evalh(
        d.path(),
        &[
            "run",
            "s.yaml",
            "--out",
            "reports",
            "--no-cache",
            "--no-progress",
        ],
    );
    let out = plain(&text(&o)).replace("\n  ", " ");
    assert!(
        out.contains("agreement with the logged production answers"),
        "{out}"
    );
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir(d.path()).join("results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(r["reference"]["kind"], "logged");
    assert_eq!(r["reference"]["n_items_with_reference"], 110);
    // Every provider, the baseline too, is measured against production; none agrees with it perfectly.
    let base = r["providers"][0]["metrics"]["accuracy"].as_f64().unwrap();
    assert!(base < 1.0 && base > 0.8, "{base}");
}

#[test]
fn a_logged_reference_without_logged_answers_is_refused_before_sending() {
    let suite = common::sim_suite("scoring: {reference: logged}\n");
    let d = fixture(&[("s.yaml", &suite), ("data.jsonl", common::TICKETS)]);
    let o = evalh(d.path(), &["validate", "s.yaml"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("s.yaml:"), "{out}");
    assert!(out.contains("logged_answer"), "{out}");
    assert!(out.contains("evalh dataset from-logs"), "{out}");
    let bad = common::sim_suite("scoring: {reference: labels}\n");
    let d = fixture(&[("s.yaml", &bad), ("data.jsonl", common::TICKETS)]);
    let o = evalh(d.path(), &["validate", "s.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("reference"), "{}", text(&o));
}

#[test]
fn rows_without_the_ground_truth_are_refused_under_ground_truth_scoring() {
    let data = "{\"id\": \"a\", \"text\": \"x\"}\n";
    let d = fixture(&[("s.yaml", &common::sim_suite("")), ("data.jsonl", data)]);
    let o = evalh(d.path(), &["validate", "s.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no expected field `label`"),
        "{}",
        text(&o)
    );
}

#[test]
fn every_task_scores_agreement_with_the_baseline_answer() {
    // The shipped demo suites of the other tasks, switched to `reference: baseline`: ROUGE against the baseline's
    // summary, field agreement against its JSON record, call agreement against its tool calls.
    for (suite, metric) in [
        ("summarize", "rougeLsum_f"),
        ("extract", "field_f1"),
        ("function_call", "full_call_accuracy"),
    ] {
        let orig = std::fs::read_to_string(root().join(format!("suites/{suite}.yaml"))).unwrap();
        let data_dir = root().join("datasets");
        let mut yaml = orig.replace("../datasets", data_dir.to_str().unwrap());
        yaml.push_str("\nscoring: {reference: baseline}\n");
        if yaml.matches("\nscoring:").count() > 1 {
            // The suite has its own scoring block: add the key to it instead.
            yaml = orig
                .replace("../datasets", data_dir.to_str().unwrap())
                .replacen("\nscoring:\n", "\nscoring:\n  reference: baseline\n", 1);
        }
        let d = fixture(&[("s.yaml", &yaml)]);
        let o = evalh(
            d.path(),
            &[
                "run",
                "s.yaml",
                "--out",
                "reports",
                "--no-cache",
                "--no-progress",
            ],
        );
        let out = text(&o);
        assert!(out.contains("AGREEMENT, NOT CORRECTNESS"), "{suite}: {out}");
        let r: Value = serde_json::from_str(
            &std::fs::read_to_string(run_dir(d.path()).join("results.json")).unwrap(),
        )
        .unwrap();
        let rf = &r["reference"];
        assert_eq!(rf["kind"], "baseline", "{suite}");
        assert_eq!(
            rf["n_items_with_reference"].as_u64().unwrap()
                + rf["n_items_without_reference"].as_u64().unwrap(),
            r["n_items"].as_u64().unwrap(),
            "{suite}"
        );
        let m = |i: usize| r["providers"][i]["metrics"][metric].as_f64().unwrap();
        // The baseline agrees with itself on every item that has a reference; no candidate agrees perfectly.
        assert_eq!(m(0), 1.0, "{suite}");
        for i in 1..r["providers"].as_array().unwrap().len() {
            assert!(m(i) < 1.0, "{suite}: provider {i} agrees perfectly");
            let gt = r["providers"][i]["agreement"]["ground_truth"]["metrics"][metric]
                .as_f64()
                .unwrap();
            assert!(gt.is_finite(), "{suite}");
        }
        assert!(
            (r["providers"][1]["gate"]["quality_ratio"].as_f64().unwrap() - m(1)).abs() < 1e-9,
            "{suite}: the quality ratio is the agreement"
        );
    }
}

/// Terminal text without ANSI styling (`ESC [ ... m`).
fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
