//! End-to-end: the real binary runs suites against the built-in simulator.

use crate::common;
use common::*;
use serde_json::Value;

#[test]
fn demo_suite_runs_scores_and_gates() {
    let d = tempfile::tempdir().unwrap();
    let suite = root().join("suites/classify.yaml");
    let out = evalh(
        d.path(),
        &[
            "run",
            suite.to_str().unwrap(),
            "--out",
            "reports",
            "--junit",
            "junit.xml",
            "--markdown",
            "summary.md",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("flash") && t.contains("PASS"), "{t}");
    let dir = run_dir(d.path());
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["task"], "classification");
    assert_eq!(results["n_items"], 110);
    let providers = results["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 4);
    let by_id = |id: &str| providers.iter().find(|p| p["id"] == id).unwrap().clone();
    assert!(by_id("premium")["gate"].is_null());
    assert_eq!(by_id("flash")["gate"]["verdict"], "PASS");
    assert_eq!(by_id("haiku")["gate"]["verdict"], "FAIL");
    assert_eq!(by_id("tiny")["gate"]["verdict"], "FAIL");
    for p in providers {
        assert_eq!(
            p["n_ok"].as_u64().unwrap() + p["n_errors"].as_u64().unwrap(),
            110
        );
        assert!(p["metrics"]["macro_f1"].as_f64().unwrap() > 0.3);
        assert!(p["cost_usd_total"].as_f64().unwrap() > 0.0);
        assert!(
            p["latency_ms"]["p99"].as_f64().unwrap() >= p["latency_ms"]["p50"].as_f64().unwrap()
        );
    }
    // tiny has injected 429s: retries happened and were counted.
    assert!(by_id("tiny")["retries"].as_u64().unwrap() > 0);
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 440);
    let first: Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    for key in [
        "item_id",
        "provider_id",
        "repeat",
        "request_hash",
        "output_text",
        "tool_calls",
        "finish_reason",
        "usage",
        "cost_usd",
        "latency_ms",
        "attempts",
        "error",
    ] {
        assert!(
            first.get(key).is_some(),
            "journal record lacks {key}: {first}"
        );
    }
    for key in [
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "reasoning_tokens",
    ] {
        assert!(first["usage"].get(key).is_some(), "usage lacks {key}");
    }
    assert!(dir.join("suite.yaml").exists());
    let junit = std::fs::read_to_string(d.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuites")
            && junit.contains("tiny quality")
            && junit.contains("<failure"),
        "{junit}"
    );
    let md = std::fs::read_to_string(d.path().join("summary.md")).unwrap();
    assert!(md.contains("| flash |") && md.contains("PASS"), "{md}");

    // The journal alone reproduces results.json byte for byte.
    let before = std::fs::read(dir.join("results.json")).unwrap();
    let out = evalh(d.path(), &["score", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(before, std::fs::read(dir.join("results.json")).unwrap());
}

#[test]
fn equal_candidate_passes_with_exit_0() {
    let d = fixture(&[
        (
            "s.yaml",
            &sim_suite("gate: {decision: point, min_items: 5}\n"),
        ),
        ("data.jsonl", TICKETS),
    ]);
    let out = evalh(d.path(), &["run", "s.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn six_items_are_never_enough_for_a_verdict_even_with_point_decisions() {
    let d = fixture(&[
        ("s.yaml", &sim_suite("gate: {decision: point}\n")),
        ("data.jsonl", TICKETS),
    ]);
    let out = evalh(d.path(), &["run", "s.yaml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("INCONCLUSIVE") && t.contains("only 6 paired items (< min_items 30)"),
        "{t}"
    );
}

#[test]
fn validate_reports_ok() {
    let d = fixture(&[("s.yaml", &sim_suite("")), ("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["validate", "s.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("6 items"));
}

#[test]
fn providers_file_replaces_the_suites_providers() {
    let providers = r#"providers:
  - {id: p1, role: baseline, kind: sim, model: x1, price: {input_per_mtok: 1, output_per_mtok: 1}, sim: {quality: 1.0}}
  - {id: p2, kind: sim, model: x2, price: {input_per_mtok: 0.1, output_per_mtok: 0.1}, sim: {quality: 1.0}}
"#;
    let d = fixture(&[
        (
            "s.yaml",
            &sim_suite("gate: {decision: point, min_items: 5}\n"),
        ),
        ("data.jsonl", TICKETS),
        ("p.yaml", providers),
    ]);
    let out = evalh(d.path(), &["run", "s.yaml", "--providers", "p.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir(d.path()).join("results.json")).unwrap(),
    )
    .unwrap();
    let ids: Vec<&str> = results["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p1", "p2"]);
}

#[test]
fn exit_3_when_the_budget_stops_the_run() {
    let d = fixture(&[
        (
            "s.yaml",
            &sim_suite("gate: {decision: point}\nrun: {concurrency: 1}\n"),
        ),
        ("data.jsonl", TICKETS),
    ]);
    let out = evalh(d.path(), &["run", "s.yaml", "--max-cost", "0.00003"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("budget reached") && t.contains("--resume"),
        "{t}"
    );
}

#[test]
fn inconclusive_exit_code_follows_on_inconclusive() {
    // 6 items is below min_items, so a confident decision is INCONCLUSIVE.
    let d = fixture(&[("s.yaml", &sim_suite("")), ("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["run", "s.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("INCONCLUSIVE"));
    let d = fixture(&[
        ("s.yaml", &sim_suite("gate: {on_inconclusive: warn}\n")),
        ("data.jsonl", TICKETS),
    ]);
    let out = evalh(d.path(), &["run", "s.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
