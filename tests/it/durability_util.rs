//! Helpers for the durability tests (kill/resume, cache, budget, determinism): generated datasets, sim suites, the
//! sim's request log, and a comparison of results.json that ignores only wall-clock measurements.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A generated classification dataset of `n` items over billing/bug/feature (JSONL).
pub fn dataset(n: usize) -> String {
    let words = [
        (
            "billing",
            ["charged", "invoice", "refund", "payment", "VAT"],
        ),
        ("bug", ["crash", "error", "broken", "freeze", "timeout"]),
        ("feature", ["add", "dark mode", "export", "wish", "support"]),
    ];
    let mut s = String::with_capacity(n * 90);
    for i in 0..n {
        let (label, w) = words[i % 3];
        let text: Vec<&str> = (0..6).map(|k| w[(i * 7 + k * 3) % 5]).collect();
        s.push_str(&format!(
            "{{\"id\": \"k{i:05}\", \"text\": \"ticket {i}: {}\", \"label\": \"{label}\"}}\n",
            text.join(" ")
        ));
    }
    s
}

/// A two-provider sim suite over `data.jsonl`. `sim_extra` goes into both providers' `sim:` maps; `extra` is appended
/// at the top level. The gate compares accuracy at the point estimate with a latency allowance no run can exceed, so
/// the verdict never depends on wall-clock timing.
pub fn suite(sim_extra: &str, run: &str, extra: &str) -> String {
    format!(
        r#"name: dur
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  system: "Classify into {{{{ labels | join(', ') }}}}."
  user: "{{{{ text }}}}"
providers:
  - id: base
    role: baseline
    kind: sim
    model: m-base
    price: {{input_per_mtok: 2.5, output_per_mtok: 10}}
    sim: {{quality: 0.9{sim_extra}}}
  - id: cand
    kind: sim
    model: m-cand
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
    sim: {{quality: 0.85{sim_extra}}}
gate: {{metric: accuracy, decision: point, bootstrap_iters: 200, max_p99_latency_increase_ms: 1000000}}
run: {{{run}}}
{extra}"#
    )
}

/// results.json with the wall-clock measurements (latency and time-to-first-token percentiles, the p99 gate rule's
/// numbers) replaced by a placeholder: the only parts of results.json that differ between two runs that received the
/// same responses. Everything else — scores, intervals, costs, tokens, errors, verdicts — is compared byte for byte.
pub fn without_wallclock(results: &[u8]) -> String {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                // Wall-clock measurements, and the adaptive-concurrency floor (it depends on the configured
                // concurrency, which two live runs compared here may set differently).
                if let Some(Value::Object(t)) = m.get_mut("throttle") {
                    t.insert(
                        "min_concurrency".into(),
                        Value::String("<concurrency>".into()),
                    );
                }
                for k in [
                    "latency_ms",
                    "ttft_ms",
                    "p99_latency_increase_ms",
                    "latency",
                ] {
                    if m.contains_key(k) {
                        m.insert(k.into(), Value::String("<wall clock>".into()));
                    }
                }
                if m.get("name").and_then(Value::as_str) == Some("p99_latency") {
                    m.insert("detail".into(), Value::String("<wall clock>".into()));
                    m.insert("interval".into(), Value::String("<wall clock>".into()));
                }
                for (_, x) in m.iter_mut() {
                    walk(x);
                }
            }
            Value::Array(a) => {
                for x in a {
                    walk(x);
                }
            }
            Value::String(s) if s.contains("latency") && s.contains(" ms") => {
                *s = "<wall clock>".into();
            }
            _ => {}
        }
    }
    let mut v: Value = serde_json::from_slice(results).expect("results.json parses");
    walk(&mut v);
    serde_json::to_string_pretty(&v).expect("serialize")
}

/// One line of the sim's request log.
#[derive(Debug, Clone)]
pub struct SimLine {
    /// Model (= provider here).
    pub model: String,
    /// Item id.
    pub item: String,
    /// Repeat index.
    pub repeat: String,
    /// Attempt.
    pub attempt: String,
    /// `ok` or the injected fault.
    pub outcome: String,
}

/// Parse a sim log; a torn last line (the process was killed mid-write) is skipped.
pub fn sim_log(path: &Path) -> Vec<SimLine> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| SimLine {
            model: v["model"].as_str().unwrap_or_default().into(),
            item: v["item"].as_str().unwrap_or_default().into(),
            repeat: v["repeat"].as_str().unwrap_or_default().into(),
            attempt: v["attempt"].as_str().unwrap_or_default().into(),
            outcome: v["outcome"].as_str().unwrap_or_default().into(),
        })
        .collect()
}

/// (provider-or-model, item, repeat).
pub type Key = (String, String, String);

/// The keys of a run directory's journal records: (provider id, item, repeat); `only_ok` keeps successes only.
pub fn journal_keys(run_dir: &Path, only_ok: bool) -> BTreeSet<Key> {
    let text = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| !only_ok || v["error"].is_null())
        .map(|v| {
            (
                v["provider_id"].as_str().unwrap_or_default().to_string(),
                v["item_id"].as_str().unwrap_or_default().to_string(),
                v["repeat"].to_string(),
            )
        })
        .collect()
}

/// Journal records keyed by (provider, item, repeat) with the wall-clock fields removed: what the responses were.
pub fn journal_content(run_dir: &Path) -> BTreeMap<Key, Value> {
    let text = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    let mut m = BTreeMap::new();
    for l in text.lines() {
        let Ok(mut v) = serde_json::from_str::<Value>(l) else {
            continue;
        };
        let key = (
            v["provider_id"].as_str().unwrap().to_string(),
            v["item_id"].as_str().unwrap().to_string(),
            v["repeat"].to_string(),
        );
        let o = v.as_object_mut().unwrap();
        o.remove("latency_ms");
        o.remove("ttft_ms");
        // The adaptive-concurrency floor a throttled request saw depends on the configured concurrency.
        o.remove("min_concurrency");
        m.insert(key, v);
    }
    m
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The only directory directly under `dir`.
pub fn only_subdir(dir: &Path) -> std::path::PathBuf {
    let v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].clone()
}
