//! Calibration of the guard rules (issue 22): error rate and p99 latency are judged on intervals, so two identical
//! providers rarely fail them, while a truly worse candidate usually does.
//!
//! Each seed draws every request's fault and latency from `sim::draw` — the same pure function the
//! simulator's server uses — for a baseline and a candidate profile, journals them as records, and runs the whole
//! analysis (`summary::analyse`, the path `evalh run`/`score` take) to get the gate's rule statuses. The rates are
//! printed (run with `--nocapture`) and recorded in docs/gate.md.

use evalh::chat::{ErrorClass, Usage};
use evalh::journal::Record;
use evalh::sim::draw;
use evalh::suite::{LatencySpec, SimSpec};
use serde_json::Value;

const SEEDS: u64 = 100;

fn profile(p50: f64, p99: f64, server_error: f64) -> SimSpec {
    let mut s = SimSpec {
        latency_ms: LatencySpec { p50, p99 },
        ..SimSpec::default()
    };
    s.faults.server_error = server_error;
    s
}

struct Fixture {
    _dir: tempfile::TempDir,
    ls: evalh::suite::LoadedSuite,
    items: Vec<evalh::dataset::Item>,
}

fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data: String = (0..n)
        .map(|i| format!("{{\"id\": \"i{i}\", \"text\": \"t{i}\", \"label\": \"billing\"}}\n"))
        .collect();
    std::fs::write(dir.path().join("data.jsonl"), data).unwrap();
    let suite = r#"name: cal
task: classification
dataset: {path: data.jsonl, id: id, expected: label}
labels: [billing, bug, feature]
prompt: {user: "{{ text }}"}
providers:
  - {id: base, role: baseline, kind: sim, model: base, price: {input_per_mtok: 2.5, output_per_mtok: 10}}
  - {id: cand, kind: sim, model: cand, price: {input_per_mtok: 0.1, output_per_mtok: 0.4}}
gate: {metric: accuracy, bootstrap_iters: 200}
run: {max_retries: 0}
"#;
    std::fs::write(dir.path().join("s.yaml"), suite).unwrap();
    let (ls, items, _) = evalh::app::prepare(&dir.path().join("s.yaml"), None).unwrap();
    Fixture {
        _dir: dir,
        ls,
        items,
    }
}

fn records(seed: u64, n: usize, id: &str, model: &str, p: &SimSpec) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let item = format!("i{i}");
            let d = draw(seed, model, &item, "0", "1", p);
            let error = d.fault.map(|_| {
                evalh::journal::ErrorInfo::new(ErrorClass::ServerError, "HTTP 500", Some(500))
            });
            let ok = error.is_none();
            Record {
                item_id: item,
                provider_id: id.into(),
                repeat: 0,
                request_hash: String::new(),
                output_text: if ok { "billing".into() } else { String::new() },
                tool_calls: vec![],
                finish_reason: None,
                usage: Usage {
                    input_tokens: if ok { 100 } else { 0 },
                    output_tokens: if ok { 2 } else { 0 },
                    ..Usage::default()
                },
                cost_usd: if ok { 1e-4 } else { 0.0 },
                latency_ms: d.latency,
                ttft_ms: None,
                attempts: 1,
                error,
                cached: false,
                est_input_tokens: Some(100),
                stream_compare: None,
                attempt_errors: vec![],
                min_concurrency: None,
                batch: None,
            }
        })
        .collect()
}

/// Share of seeds in which the candidate FAILs `rule`.
fn fail_rate(n: usize, base: &SimSpec, cand: &SimSpec, rule: &str) -> f64 {
    let f = fixture(n);
    let mut fails = 0;
    for seed in 0..SEEDS {
        let mut recs = records(seed, n, "base", "base", base);
        recs.extend(records(seed, n, "cand", "cand", cand));
        let an = evalh::summary::analyse(&f.ls, &f.items, recs).unwrap();
        let g = serde_json::to_value(an.results.providers[1].gate.as_ref().unwrap()).unwrap();
        let status = g["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == rule)
            .map(|r| r["status"].clone())
            .unwrap_or(Value::Null);
        if status == "fail" {
            fails += 1;
        }
    }
    let rate = fails as f64 / SEEDS as f64;
    println!("{rule}: n={n}: candidate FAILs in {fails}/{SEEDS} seeds ({rate:.2})");
    rate
}

#[test]
fn identical_providers_rarely_fail_the_guard_rules() {
    let lat = profile(600.0, 1900.0, 0.0);
    let err = profile(600.0, 1900.0, 0.02);
    for n in [110, 400] {
        assert!(fail_rate(n, &lat, &lat, "p99_latency") <= 0.07);
        assert!(fail_rate(n, &err, &err, "error_rate") <= 0.07);
    }
}

#[test]
fn a_candidate_with_four_times_the_errors_fails_the_error_rule() {
    let base = profile(600.0, 1900.0, 0.02);
    let cand = profile(600.0, 1900.0, 0.08);
    assert!(fail_rate(400, &base, &cand, "error_rate") >= 0.80);
}

#[test]
fn a_candidate_with_a_much_longer_tail_fails_the_p99_rule() {
    let base = profile(600.0, 1900.0, 0.0);
    let cand = profile(600.0, 3500.0, 0.0);
    assert!(fail_rate(400, &base, &cand, "p99_latency") >= 0.75);
}
