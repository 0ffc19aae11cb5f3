//! The LLM judge end to end through the real binary: the sim judge offline, position-bias cancellation, gating on a
//! judge metric, resume, an unreachable judge, `evalh score` offline, and judge-human agreement.

use crate::common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn judge_suite(judge: &str, gate: &str) -> String {
    let base = sim_suite("");
    // The candidate is often wrong, so the two answers differ on many items.
    let base = base.replacen(
        "model: m-cand\n    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}\n    sim: {quality: 1.0}",
        "model: m-cand\n    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}\n    sim: {quality: 0.3, correlation: 0}",
        1,
    );
    format!("{base}judge: {judge}\n{gate}\nrun: {{seed: 5, concurrency: 4}}\n")
}

fn results(dir: &Path) -> Value {
    let p = run_dir(dir).join("results.json");
    serde_json::from_str(&std::fs::read_to_string(p).expect("results.json")).expect("json")
}

fn cand(r: &Value) -> &Value {
    &r["providers"][1]
}

const SIM_JUDGE: &str =
    "{kind: sim, model: sim-judge, mode: pairwise, price: {input_per_mtok: 1, output_per_mtok: 2}";

#[test]
fn a_judge_that_always_prefers_side_a_yields_ties_not_wins() {
    let judge = format!("{SIM_JUDGE}, sim: {{judge: {{noise: 0, position_bias: 1.0}}}}}}");
    let d = fixture(&[
        ("s.yaml", &judge_suite(&judge, "")),
        ("data.jsonl", TICKETS),
    ]);
    let o = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        text(&o)
    );
    let r = results(d.path());
    let j = &cand(&r)["judge"];
    assert_eq!(j["counts"]["candidate_better"], 0, "{j}");
    assert_eq!(j["counts"]["baseline_better"], 0, "{j}");
    assert_eq!(j["counts"]["tie_fine"], 6, "{j}");
    assert_eq!(j["judge_preference"]["value"], 0.5);
    // 12 calls: two orders per item.
    assert_eq!(r["judge"]["calls"], 12);
}

#[test]
fn an_unbiased_judge_sees_the_worse_candidate_and_the_metric_is_gateable() {
    let judge = format!("{SIM_JUDGE}, sim: {{judge: {{noise: 0, position_bias: 0}}}}}}");
    let gate = "gate: {metric: judge_preference, min_quality_ratio: 0.95}";
    let d = fixture(&[
        ("s.yaml", &judge_suite(&judge, gate)),
        ("data.jsonl", TICKETS),
    ]);
    let o = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    let r = results(d.path());
    let j = &cand(&r)["judge"];
    let c = &j["counts"];
    let wrong = c["baseline_better"].as_u64().unwrap();
    assert!(wrong >= 2, "the 0.3-quality candidate loses items: {j}");
    assert_eq!(c["candidate_better"], 0, "{j}");
    let ties = c["tie_fine"].as_u64().unwrap() + c["tie_bad"].as_u64().unwrap();
    assert_eq!(wrong + ties, 6, "{j}");
    let pref = j["judge_preference"]["value"].as_f64().unwrap();
    assert!(
        (pref - 0.5 * ties as f64 / 6.0).abs() < 1e-12,
        "wins count 1, ties half: {j}"
    );
    // Through the metric table: the metric, its interval, the gate's quality rule.
    let iv = &cand(&r)["metric_intervals"]["judge_preference"];
    assert!(
        iv["lower"].as_f64().unwrap().is_finite() && iv["upper"].as_f64().unwrap().is_finite(),
        "{iv}"
    );
    assert_eq!(r["providers"][0]["metrics"]["judge_preference"], 0.5);
    let rules = cand(&r)["gate"]["rules"].to_string();
    assert!(rules.contains("judge_preference"), "{rules}");
    assert_ne!(cand(&r)["gate"]["verdict"], "PASS", "{}", text(&o));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // The judge's cost is evaluation cost, never the candidate's.
    let eval_cost = r["judge"]["evaluation_cost_usd"].as_f64().unwrap();
    assert!(eval_cost > 0.0);
    let cand_cost = cand(&r)["cost_usd_total"].as_f64().unwrap();
    assert!(
        cand_cost < eval_cost,
        "candidate {cand_cost} vs judge {eval_cost}"
    );
    assert!(text(&o).contains("LLM judge judge"), "{}", text(&o));
    // Resume: nothing is sent again.
    let dir = run_dir(d.path());
    let o = evalh(
        d.path(),
        &["run", "--resume", dir.to_str().unwrap(), "--no-progress"],
    );
    assert!(
        text(&o).contains("judge: 0 calls sent, 12 already journaled"),
        "{}",
        text(&o)
    );
    // `evalh score` recomputes the judge metric offline, from the journal.
    let before = results(d.path());
    std::fs::remove_file(dir.join("results.json")).unwrap();
    let o = evalh(d.path(), &["score", dir.to_str().unwrap()]);
    assert!(o.status.code().is_some(), "{}", text(&o));
    assert_eq!(
        results(d.path())["providers"][1]["judge"],
        before["providers"][1]["judge"]
    );
}

#[test]
fn an_unreachable_judge_leaves_the_run_incomplete_and_a_wrong_gate_metric_is_refused() {
    let judge = "{kind: openai, model: gpt-judge, base_url: 'http://127.0.0.1:9/v1', auth: none, mode: rubric, \
                 price: {input_per_mtok: 1, output_per_mtok: 1}}";
    let suite = judge_suite(judge, "").replace(
        "run: {seed: 5, concurrency: 4}",
        "run: {seed: 5, concurrency: 4, max_retries: 0}",
    );
    let d = fixture(&[("s.yaml", &suite), ("data.jsonl", TICKETS)]);
    let o = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let r = results(d.path());
    assert_eq!(r["complete"], false);
    assert_eq!(
        r["unsettled_by_reason"]["judge_unsettled"], 12,
        "{}",
        r["unsettled_by_reason"]
    );
    assert!(
        text(&o).contains("the judge could not answer 12 calls"),
        "{}",
        text(&o)
    );

    let bad = judge_suite(&format!("{SIM_JUDGE}}}"), "gate: {metric: judge_score}");
    let d = fixture(&[("s.yaml", &bad), ("data.jsonl", TICKETS)]);
    let o = evalh(d.path(), &["validate", "s.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("needs a rubric judge"), "{}", text(&o));
    let typo = judge_suite(
        "{kind: sim, model: j, mode: rubric, prompt: {user: '{{ ouput }}'}}",
        "",
    );
    let d = fixture(&[("s.yaml", &typo), ("data.jsonl", TICKETS)]);
    let o = evalh(d.path(), &["validate", "s.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("judge.prompt.user"), "{}", text(&o));
}

#[test]
fn judge_human_agreement_is_cohens_kappa_over_the_shared_choices() {
    let judge = format!("{SIM_JUDGE}, sim: {{judge: {{noise: 0, position_bias: 0}}}}}}");
    let d = fixture(&[
        ("s.yaml", &judge_suite(&judge, "")),
        ("data.jsonl", TICKETS),
    ]);
    let _ = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    let dir = run_dir(d.path());
    let r = results(d.path());
    // The judge's verdicts per item are needed for the hand computation: re-derive them from the counts is not
    // enough, so read them through the library the way the binary does.
    let judged = evalh::judge::read_records(&dir).unwrap().0;
    let mut judge_choice = std::collections::BTreeMap::new();
    for id in ["a1", "a2", "a3", "a4", "a5", "a6"] {
        let t = |o| {
            judged[&(id.to_string(), "cand".to_string(), o)]
                .output_text
                .clone()
        };
        let x = evalh::judge::parse_pairwise(&t(evalh::judge::Order::BaselineFirst)).unwrap();
        let y = evalh::judge::parse_pairwise(&t(evalh::judge::Order::CandidateFirst)).unwrap();
        judge_choice.insert(id, evalh::judge::combine(x, y));
    }
    // One reviewer agrees with the judge on a1-a4 and picks `tie_bad` on a5, `candidate_better` on a6.
    use evalh::review::Choice;
    let human: Vec<(&str, Choice)> = vec![
        ("a1", judge_choice["a1"]),
        ("a2", judge_choice["a2"]),
        ("a3", judge_choice["a3"]),
        ("a4", judge_choice["a4"]),
        ("a5", Choice::TieBad),
        ("a6", Choice::CandidateBetter),
    ];
    std::fs::create_dir_all(dir.join("review")).unwrap();
    let mut lines = String::new();
    for (id, c) in &human {
        lines.push_str(&format!(
            "{{\"pack_id\":\"p1\",\"candidate\":\"cand\",\"baseline\":\"base\",\"reviewer\":\"ann\",\"item_id\":\"{id}\",\
             \"choice\":\"{}\",\"blind_choice\":\"both_fine\",\"candidate_side\":\"A\",\"decided_at\":\"t\",\"imported_at\":\"t\"}}\n",
            c.as_str()
        ));
    }
    std::fs::write(dir.join("review/decisions.jsonl"), lines).unwrap();
    let o = evalh(d.path(), &["score", dir.to_str().unwrap()]);
    let r2 = results(d.path());
    let a = &cand(&r2)["judge"]["human_agreement"];
    assert_eq!(a["n_pairs"], 6, "{}\n{}", a, text(&o));
    let hs: Vec<usize> = human.iter().map(|(_, c)| c.index()).collect();
    let js: Vec<usize> = human
        .iter()
        .map(|(id, _)| judge_choice[id].index())
        .collect();
    let same = hs.iter().zip(&js).filter(|(a, b)| a == b).count();
    assert_eq!(a["observed_agreement"].as_f64().unwrap(), same as f64 / 6.0);
    let k = evalh::stats::cohen_kappa(&hs, &js, 4);
    match a["kappa"].as_f64() {
        Some(x) => assert!((x - k).abs() < 1e-12, "{x} vs {k}"),
        None => assert!(!k.is_finite()),
    }
    let confusion_total: u64 = a["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(confusion_total, 6);
    assert!(
        text(&o).contains("agrees with the human reviewers"),
        "{}",
        text(&o)
    );
    let _ = r;
}

#[test]
fn the_demo_suite_runs_offline_with_its_documented_verdicts() {
    let d = tempfile::tempdir().unwrap();
    let suite = root().join("suites/summarize-judge.yaml");
    let o = evalh(
        d.path(),
        &[
            "run",
            suite.to_str().unwrap(),
            "--no-progress",
            "--markdown",
            "summary.md",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = results(d.path());
    assert_eq!(r["judge"]["calls"], 240);
    // The CI step summary carries the judge's lines too: calls, parse failures, evaluation cost.
    let md = std::fs::read_to_string(d.path().join("summary.md")).unwrap();
    assert!(md.contains("**LLM judge**"), "{md}");
    assert!(
        md.contains("240 calls") && md.contains("0 parse failures"),
        "{md}"
    );
    assert_eq!(r["judge"]["parse_failures"], 0);
    assert_eq!(r["providers"][1]["gate"]["verdict"], "PASS");
    assert_eq!(r["providers"][2]["gate"]["verdict"], "INCONCLUSIVE");
    let pref = r["providers"][1]["judge"]["judge_preference"]["value"]
        .as_f64()
        .unwrap();
    assert!((pref - 0.517).abs() < 0.001, "{pref}");
}

#[test]
fn the_budget_covers_the_judge_and_a_resume_finishes_its_calls() {
    let judge = "{kind: sim, model: sim-judge, mode: pairwise, price: {input_per_mtok: 100, output_per_mtok: 100}, \
                 params: {max_tokens: 100}}";
    let suite = judge_suite(judge, "").replace(
        "run: {seed: 5, concurrency: 4}",
        "run: {seed: 5, concurrency: 1, max_cost_usd: 0.1}",
    );
    let d = fixture(&[("s.yaml", &suite), ("data.jsonl", TICKETS)]);
    // The plan counts the judge's calls (6 items x 2 orders x 1 candidate) and prices them into the total.
    let plan = evalh(d.path(), &["plan", "s.yaml", "--no-cache"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let row = text(&plan)
        .lines()
        .find(|l| l.starts_with("judge (sim-judge)"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no judge row: {}", text(&plan)));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[2], "12", "{row}");
    assert_eq!(cols[4], "1200", "12 calls x max_tokens 100: {row}");
    // The plan counts the judge's calls (6 items x 2 orders x 1 candidate) and prices them into the total.
    let plan = evalh(d.path(), &["plan", "s.yaml", "--no-cache"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let row = text(&plan)
        .lines()
        .find(|l| l.starts_with("judge (sim-judge)"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no judge row: {}", text(&plan)));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[2], "12", "{row}");
    assert_eq!(cols[4], "1200", "12 calls x max_tokens 100: {row}");
    let o = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("budget reached during the judge phase"),
        "{}",
        text(&o)
    );
    let r = results(d.path());
    let paid = r["judge"]["evaluation_cost_usd"].as_f64().unwrap();
    let providers: f64 = r["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cost_usd_paid"].as_f64().unwrap())
        .sum();
    assert!(
        paid + providers <= 0.1,
        "judge {paid} + providers {providers}"
    );
    let calls = r["judge"]["calls"].as_u64().unwrap();
    assert!(calls > 0 && calls < 12, "{calls}");
    let dir = run_dir(d.path());
    let o = evalh(
        d.path(),
        &[
            "run",
            "--resume",
            dir.to_str().unwrap(),
            "--max-cost",
            "10",
            "--no-progress",
        ],
    );
    assert!(
        text(&o).contains(&format!(
            "judge: {} calls sent, {calls} already journaled",
            12 - calls
        )),
        "{}",
        text(&o)
    );
    assert_eq!(results(d.path())["complete"], true);
}

#[test]
fn a_rubric_judge_scores_every_answer_and_judge_score_is_gateable() {
    let judge = "{kind: sim, model: sim-judge, mode: rubric, scale: pass_fail, price: {input_per_mtok: 1, output_per_mtok: 1}, \
                 sim: {judge: {noise: 0, position_bias: 0}}}";
    let d = fixture(&[
        (
            "s.yaml",
            &judge_suite(judge, "gate: {metric: judge_score, min_quality_ratio: 0.9}"),
        ),
        ("data.jsonl", TICKETS),
    ]);
    let o = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    let r = results(d.path());
    assert_eq!(r["judge"]["calls"], 12, "{}", text(&o));
    // The baseline always answers the label: every answer passes.
    assert_eq!(r["providers"][0]["judge"]["judge_score"]["value"], 1.0);
    let c = cand(&r)["judge"]["judge_score"]["value"].as_f64().unwrap();
    assert!(c < 1.0, "the 0.3-quality candidate fails some items: {c}");
    assert_eq!(cand(&r)["metrics"]["judge_score"].as_f64().unwrap(), c);
    assert!(cand(&r)["gate"]["rules"]
        .to_string()
        .contains("judge_score"));
    assert_ne!(cand(&r)["gate"]["verdict"], "PASS");
}
