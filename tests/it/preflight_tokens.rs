//! Context-window preflight and the token-count discrepancy, through the real binary and the simulator.
//!
//! Preflight: a provider with a small `context_window` never receives the prompts whose local estimate exceeds it;
//! each is journaled as a `context_length` error with 0 attempts and 0 cost, counted in `skipped_context`, and a
//! resumed run does not send it either. Discrepancy: a sim model with `token_factor: 1.3` reports 1.3× the local
//! estimate, and results.json shows that ratio.

use crate::common;
use common::*;
use serde_json::Value;

fn long_items() -> String {
    let words = "the invoice for my annual subscription was issued twice and the second charge has not been refunded ";
    format!(
        "{{\"id\": \"l1\", \"text\": \"{}\", \"label\": \"billing\"}}\n{{\"id\": \"l2\", \"text\": \"{}\", \"label\": \"billing\"}}\n",
        words.repeat(4),
        words.repeat(8)
    )
}

fn suite() -> String {
    sim_suite("").replace(
        "    model: m-cand\n",
        "    model: m-cand\n    context_window: 60\n",
    ) + "gate: {decision: point, bootstrap_iters: 200}\n"
}

fn read_jsonl(p: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn prompts_over_the_window_are_skipped_reported_and_never_sent() {
    let data = format!("{TICKETS}{}", long_items());
    let d = fixture(&[("s.yaml", &suite()), ("data.jsonl", &data)]);
    let out = evalh(
        d.path(),
        &[
            "run",
            "s.yaml",
            "--out",
            "reports",
            "--sim-log",
            "sim.jsonl",
        ],
    );
    let t = text(&out);
    assert!(!t.contains("panicked"), "{t}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{t}");
    let dir = run_dir(d.path());

    let records = read_jsonl(&dir.join("journal.jsonl"));
    assert_eq!(records.len(), 16);
    let skipped: Vec<&Value> = records.iter().filter(|r| r["attempts"] == 0).collect();
    let ids: Vec<&str> = skipped
        .iter()
        .map(|r| r["item_id"].as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 2, "{ids:?}");
    for r in &skipped {
        assert_eq!(r["provider_id"], "cand");
        assert!(["l1", "l2"].contains(&r["item_id"].as_str().unwrap()));
        assert_eq!(r["error"]["class"], "context_length");
        assert_eq!(r["cost_usd"], 0.0);
        let msg = r["error"]["message"].as_str().unwrap();
        let est = r["est_input_tokens"].as_u64().unwrap();
        assert!(est > 60);
        assert_eq!(
            msg,
            format!("preflight: {est} estimated tokens > window 60"),
            "{r}"
        );
    }
    // The baseline (no window) answered the long items; the short ones fit the candidate's window.
    assert!(records
        .iter()
        .filter(|r| r["attempts"] != 0)
        .all(|r| r["error"].is_null()));

    // The simulator never saw the skipped prompts from the candidate.
    let log = read_jsonl(&d.path().join("sim.jsonl"));
    assert_eq!(log.len(), 14);
    assert!(!log
        .iter()
        .any(|l| l["model"] == "m-cand" && (l["item"] == "l1" || l["item"] == "l2")));

    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let by_id = |id: &str| {
        results["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("cand")["skipped_context"], 2);
    assert_eq!(by_id("cand")["errors_by_class"]["context_length"], 2);
    assert_eq!(by_id("base")["skipped_context"], 0);

    // Resuming sends nothing: the skips are final.
    let out = evalh(
        d.path(),
        &[
            "run",
            "--resume",
            dir.to_str().unwrap(),
            "--sim-log",
            "sim2.jsonl",
        ],
    );
    let t = text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{t}");
    let resent = std::fs::read_to_string(d.path().join("sim2.jsonl")).unwrap_or_default();
    assert_eq!(resent.lines().count(), 0, "{resent}");
    assert_eq!(read_jsonl(&dir.join("journal.jsonl")).len(), 16);
}

#[test]
fn token_factor_shows_up_as_the_reported_to_estimated_ratio() {
    let s = sim_suite("gate: {decision: point, bootstrap_iters: 200}\n").replace(
        "    sim: {quality: 1.0}\n",
        "    sim: {quality: 1.0, token_factor: 1.3}\n",
    );
    // Only the first provider (base) keeps factor 1.0.
    let s = s.replacen(
        "    sim: {quality: 1.0, token_factor: 1.3}\n",
        "    sim: {quality: 1.0}\n",
        1,
    );
    let d = fixture(&[("s.yaml", &s), ("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["run", "s.yaml", "--out", "reports"]);
    let t = text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{t}");
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir(d.path()).join("results.json")).unwrap(),
    )
    .unwrap();
    let td = |i: usize| results["providers"][i]["token_discrepancy"].clone();
    assert_eq!(results["providers"][1]["id"], "cand");
    let (base, cand) = (td(0), td(1));
    assert_eq!(base["n"], 6);
    assert_eq!(cand["n"], 6);
    assert!(
        (base["ratio_mean"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{base}"
    );
    let m = cand["ratio_mean"].as_f64().unwrap();
    assert!((m - 1.3).abs() < 0.03, "{cand}");
    // Rounding to whole tokens gives a small but real spread.
    let (lo, hi) = (
        cand["ratio_min"].as_f64().unwrap(),
        cand["ratio_max"].as_f64().unwrap(),
    );
    assert!(lo <= m && m <= hi && hi - lo < 0.1, "{cand}");
}
