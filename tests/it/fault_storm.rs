//! Fault storm (issue 3): 2,000 requests through the real binary against the simulator injecting 5% 429s with
//! `Retry-After: 1`, 2% 500s, 1% malformed JSON and 1% truncated streams. Every item must end ok or with a classified
//! error, every attempt must be counted, no retry may arrive before the Retry-After it answers has passed (read from
//! the simulator's own request log), and the run must exit cleanly without a panic.

use crate::common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;

const N: usize = 2000;

/// Clock-granularity tolerance for "no retry before Retry-After". Both timestamps come from the same monotonic
/// clock in the same process (the sim logs when a request arrives); the client's wait is a tokio sleep, which never
/// fires early but is registered on a 1 ms timer wheel, and the log rounds nothing. 1 ms covers the wheel's
/// rounding of the sleep's start; a retry that ignored the header would arrive ~0-10 ms after the 429, not ~1,000.
const TOLERANCE_MS: f64 = 1.0;

fn dataset() -> String {
    let labels = ["billing", "bug", "feature"];
    let subjects = [
        "I was charged twice for order",
        "The app crashes when I open screen",
        "Please add an export option to page",
    ];
    (0..N)
        .map(|i| {
            format!(
                "{{\"id\": \"t{i:04}\", \"text\": \"{} {i}\", \"label\": \"{}\"}}\n",
                subjects[i % 3],
                labels[i % 3]
            )
        })
        .collect()
}

const SUITE: &str = r#"name: storm
task: classification
dataset: {path: data.jsonl, id: id, expected: label}
labels: [billing, bug, feature]
prompt:
  system: "Classify into billing, bug or feature."
  user: "{{ text }}"
providers:
  - id: flaky
    role: baseline
    kind: sim
    model: sim-flaky
    stream: true
    price: {input_per_mtok: 1.0, output_per_mtok: 2.0}
    sim:
      quality: 0.9
      latency_ms: {p50: 2, p99: 5}
      faults: {rate_limit: 0.05, retry_after_s: 1, server_error: 0.02, malformed: 0.01, truncated_stream: 0.01}
gate: {bootstrap_iters: 200}
run: {concurrency: 16, max_retries: 4, seed: 11}
"#;

#[test]
fn fault_storm_every_item_classified_and_retry_after_honoured() {
    let data = dataset();
    let d = fixture(&[("s.yaml", SUITE), ("data.jsonl", &data)]);
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
    assert_eq!(out.status.code(), Some(0), "{t}");

    // The journal: one record per item; ok or a classified error; attempts add up.
    let dir = run_dir(d.path());
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let records: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), N);
    let classes = [
        "rate_limit",
        "server_error",
        "overloaded",
        "timeout",
        "connection",
        "truncated_stream",
        "stream_error",
        "malformed_response",
        "auth",
        "bad_request",
        "context_length",
        "quota",
        "not_found",
    ];
    let mut attempts_by_item: HashMap<String, u64> = HashMap::new();
    let mut retried_records = 0;
    for r in &records {
        let attempts = r["attempts"].as_u64().unwrap();
        assert!((1..=5).contains(&attempts), "{r}");
        let failed: Vec<&str> = r["attempt_errors"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap()).collect())
            .unwrap_or_default();
        for c in &failed {
            assert!(classes.contains(c), "unclassified attempt error {c}: {r}");
        }
        match r["error"].as_object() {
            None => assert_eq!(failed.len() as u64 + 1, attempts, "{r}"),
            Some(e) => {
                let class = e["class"].as_str().unwrap();
                assert!(classes.contains(&class), "{r}");
                assert_eq!(failed.len() as u64, attempts, "{r}");
                assert_eq!(failed.last(), Some(&class), "{r}");
            }
        }
        if attempts > 1 {
            retried_records += 1;
        }
        attempts_by_item.insert(r["item_id"].as_str().unwrap().to_string(), attempts);
    }
    assert_eq!(attempts_by_item.len(), N);
    // ~9% of first attempts fail: far more than 100 of 2,000 records must show retries.
    assert!(retried_records > 100, "{retried_records}");

    // The simulator's log: one line per request that reached it.
    let log = std::fs::read_to_string(d.path().join("sim.jsonl")).unwrap();
    let mut by_attempt: HashMap<(String, u64), (f64, String)> = HashMap::new();
    for line in log.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let item = v["item"].as_str().unwrap().to_string();
        let attempt: u64 = v["attempt"].as_str().unwrap().parse().unwrap();
        let prev = by_attempt.insert(
            (item, attempt),
            (
                v["t_ms"].as_f64().unwrap(),
                v["outcome"].as_str().unwrap().to_string(),
            ),
        );
        assert!(prev.is_none(), "an attempt was sent twice: {line}");
    }
    // Every attempt the journal counts reached the server, and no other.
    let total_attempts: u64 = attempts_by_item.values().sum();
    assert_eq!(by_attempt.len() as u64, total_attempts);
    for (item, n) in &attempts_by_item {
        for a in 1..=*n {
            assert!(
                by_attempt.contains_key(&(item.clone(), a)),
                "{item} attempt {a}"
            );
        }
    }
    // No retry before its Retry-After.
    let mut checked = 0;
    let mut min_gap = f64::INFINITY;
    for ((item, attempt), (t, outcome)) in &by_attempt {
        if outcome != "rate_limit" {
            continue;
        }
        if let Some((next_t, _)) = by_attempt.get(&(item.clone(), attempt + 1)) {
            let gap = next_t - t;
            min_gap = min_gap.min(gap);
            assert!(
                gap >= 1000.0 - TOLERANCE_MS,
                "{item}: attempt {} sent {gap:.1} ms after a 429 with Retry-After: 1",
                attempt + 1
            );
            checked += 1;
        }
    }
    assert!(
        checked > 50,
        "only {checked} rate-limited attempts were retried"
    );
    eprintln!("checked {checked} retries after 429; smallest gap {min_gap:.1} ms");

    // results.json: throttling counted, adaptive concurrency came down, retries counted.
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let p = &results["providers"][0];
    let rate_limited_in_log = by_attempt
        .values()
        .filter(|(_, o)| o == "rate_limit")
        .count() as u64;
    assert_eq!(p["throttle"]["rate_limited"], rate_limited_in_log);
    let min_c = p["throttle"]["min_concurrency"].as_u64().unwrap();
    assert!((1..16).contains(&min_c), "{}", p["throttle"]);
    assert_eq!(
        p["retries"].as_u64().unwrap(),
        total_attempts - N as u64,
        "{p}"
    );
    assert_eq!(
        p["n_ok"].as_u64().unwrap() + p["n_errors"].as_u64().unwrap(),
        N as u64
    );
}

/// The other injected faults: 529 overloaded (throttles like a 429), an in-band error event inside a 200 stream, and
/// a slow first byte that trips the first-byte timeout. Each is classified and retried.
#[test]
fn overloaded_stream_errors_and_slow_first_bytes_are_classified() {
    let data: String = dataset()
        .lines()
        .take(150)
        .map(|l| format!("{l}\n"))
        .collect();
    let suite = SUITE
        .replace(
            "faults: {rate_limit: 0.05, retry_after_s: 1, server_error: 0.02, malformed: 0.01, truncated_stream: 0.01}",
            "faults: {overloaded: 0.1, stream_error: 0.1, slow_first_byte: 0.1, slow_first_byte_ms: 1500}",
        )
        .replace(
            "run: {concurrency: 16, max_retries: 4, seed: 11}",
            "run: {concurrency: 8, max_retries: 8, max_backoff_s: 0.5, first_byte_timeout_s: 0.3, seed: 5}",
        );
    assert!(suite.contains("overloaded: 0.1") && suite.contains("max_retries: 8"));
    let d = fixture(&[("s.yaml", &suite), ("data.jsonl", &data)]);
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
    assert_eq!(out.status.code(), Some(0), "{t}");
    let dir = run_dir(d.path());
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut n = 0;
    for l in journal.lines() {
        let r: Value = serde_json::from_str(l).unwrap();
        n += 1;
        let failed = r["attempt_errors"].as_array().cloned().unwrap_or_default();
        let expected_failed = r["attempts"].as_u64().unwrap() - u64::from(r["error"].is_null());
        assert_eq!(failed.len() as u64, expected_failed, "{r}");
        for c in failed {
            *seen.entry(c.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    assert_eq!(n, 150);
    for class in ["overloaded", "stream_error", "timeout"] {
        assert!(
            seen.get(class).copied().unwrap_or(0) > 0,
            "{class}: {seen:?}"
        );
    }
    let log = std::fs::read_to_string(d.path().join("sim.jsonl")).unwrap();
    // A slow first byte delays the 529 past the client's first-byte timeout: those count as timeouts.
    let overloaded_in_log = log
        .lines()
        .filter(|l| l.contains("\"overloaded\"") && !l.contains("slow_first_byte"))
        .count() as u64;
    assert_eq!(seen["overloaded"], overloaded_in_log);
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let th = &results["providers"][0]["throttle"];
    assert_eq!(th["overloaded"], overloaded_in_log, "{th}");
    assert_eq!(th["rate_limited"], 0, "{th}");
    assert!(th["min_concurrency"].as_u64().unwrap() < 8, "{th}");
}
