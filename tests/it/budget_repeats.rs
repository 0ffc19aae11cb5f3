//! The budget (stop before exceeding it, exit 3, say why, resume) and repeats (consistency and pass^k), end to end.

use crate::common;
use crate::durability_util;
use common::*;
use durability_util::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

fn journal_cost(run_dir: &std::path::Path) -> f64 {
    std::fs::read_to_string(run_dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["cost_usd"].as_f64().unwrap())
        .sum()
}

fn results(run_dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run_dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn budget_stops_before_exceeding_exits_3_and_resumes() {
    let d = fixture(&[
        (
            "s.yaml",
            &suite(
                ", latency_ms: {p50: 3, p99: 8}",
                "concurrency: 8, seed: 3",
                "",
            )
            .replace(
                "sim: {quality: 0.9",
                "params: {max_tokens: 5}\n    sim: {quality: 0.9",
            ),
        ),
        ("data.jsonl", &dataset(300)),
    ]);
    let dir = d.path();
    let budget = 0.01;
    let out = evalh(
        dir,
        &[
            "run",
            "s.yaml",
            "--max-cost",
            &budget.to_string(),
            "--no-progress",
            "--no-cache",
            "--sim-log",
            "sim.log",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("budget reached"), "{t}");
    assert!(t.contains("evalh run --resume"), "{t}");
    let run = run_dir(dir);
    let spent = journal_cost(&run);
    assert!(
        spent > 0.5 * budget && spent <= budget,
        "spent {spent} of {budget}"
    );
    let first = sim_log(&dir.join("sim.log")).len();
    assert!(first > 0 && first < 600, "{first} requests");
    // Partial results are still written, with the missing requests counted.
    let r = results(&run);
    let missing: u64 = r["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["n_missing"].as_u64().unwrap())
        .sum();
    assert_eq!(missing as usize, 600 - first);

    // The budget is recorded in the run: resuming without raising it sends (almost) nothing and stops again.
    let out = evalh(
        dir,
        &[
            "run",
            "--resume",
            run.to_str().unwrap(),
            "--no-progress",
            "--no-cache",
            "--sim-log",
            "sim.log",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(journal_cost(&run) <= budget);

    // With a larger budget the resume completes, sending only what is missing.
    let out = evalh(
        dir,
        &[
            "run",
            "--resume",
            run.to_str().unwrap(),
            "--max-cost",
            "5",
            "--no-progress",
            "--no-cache",
            "--sim-log",
            "sim.log",
        ],
    );
    let t = text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{t}");
    let log = sim_log(&dir.join("sim.log"));
    assert_eq!(log.len(), 600, "every request sent exactly once overall");
    let mut per_key: HashMap<(String, String, String), usize> = HashMap::new();
    for l in &log {
        *per_key
            .entry((l.model.clone(), l.item.clone(), l.repeat.clone()))
            .or_default() += 1;
    }
    assert!(per_key.values().all(|&n| n == 1));
    let r = results(&run);
    for p in r["providers"].as_array().unwrap() {
        assert_eq!(p["n_missing"], 0);
        assert_eq!(p["n_ok"], 300);
    }
}

fn normalise_label(s: &str) -> String {
    s.trim()
        .trim_start_matches("Category: ")
        .trim_end_matches('.')
        .to_string()
}

#[test]
fn repeats_report_consistency_and_pass_hat_k() {
    let extra = r#"  - id: coin
    kind: sim
    model: m-coin
    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}
    sim: {quality: 0.5, correlation: 0.0}
  - id: never
    kind: sim
    model: m-never
    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}
    sim: {quality: 0.0}
"#;
    let s = suite("", "concurrency: 16, seed: 5, repeats: 3", "")
        .replace("sim: {quality: 0.9}", "sim: {quality: 1.0}")
        .replace("gate:", &format!("{extra}gate:"));
    let d = fixture(&[("s.yaml", &s), ("data.jsonl", &dataset(120))]);
    let dir = d.path();
    let out = evalh(
        dir,
        &["run", "s.yaml", "--no-progress", "--sim-log", "sim.log"],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let run = run_dir(dir);

    // Every item went to every provider three times, as three distinct requests.
    let log = sim_log(&dir.join("sim.log"));
    assert_eq!(log.len(), 120 * 4 * 3);
    let repeats: std::collections::BTreeSet<&str> = log.iter().map(|l| l.repeat.as_str()).collect();
    assert_eq!(repeats.into_iter().collect::<Vec<_>>(), ["0", "1", "2"]);

    // Recompute consistency and pass^3 from the journal.
    let labels: HashMap<String, String> = dataset(120)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                v["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut correct: BTreeMap<(String, String), Vec<bool>> = BTreeMap::new();
    for l in std::fs::read_to_string(run.join("journal.jsonl"))
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(l).unwrap();
        let item = v["item_id"].as_str().unwrap().to_string();
        let ok = normalise_label(v["output_text"].as_str().unwrap()) == labels[&item];
        correct
            .entry((v["provider_id"].as_str().unwrap().to_string(), item))
            .or_default()
            .push(ok);
    }
    let r = results(&run);
    for p in r["providers"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        assert_eq!(p["n_requests"], 360, "{id}");
        let c = &p["consistency"];
        assert_eq!(c["repeats"], 3, "{id}: {c}");
        let rows: Vec<&Vec<bool>> = correct
            .iter()
            .filter(|((pid, _), _)| pid == id)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(rows.len(), 120);
        let all_pass = rows.iter().filter(|v| v.iter().all(|b| *b)).count() as f64 / 120.0;
        let agree = rows.iter().filter(|v| v.iter().all(|b| *b == v[0])).count() as f64 / 120.0;
        assert_eq!(c["pass_hat_k"].as_f64().unwrap(), all_pass, "{id}: {c}");
        assert_eq!(c["consistent_items"].as_f64().unwrap(), agree, "{id}: {c}");
        match id {
            "base" => {
                assert_eq!(all_pass, 1.0);
                assert_eq!(agree, 1.0);
            }
            "never" => {
                assert_eq!(all_pass, 0.0);
                assert_eq!(agree, 1.0);
            }
            "coin" => {
                // Independent coin flips: pass^3 near 1/8, all-agree near 1/4 — far from pass^1.
                assert!(all_pass > 0.03 && all_pass < 0.3, "{all_pass}");
                assert!(agree > 0.1 && agree < 0.45, "{agree}");
            }
            _ => {}
        }
    }
}
