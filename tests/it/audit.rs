//! `evalh audit` on the real binary: totals equal the Python reference (scripts/golden/audit_reference.py) on the
//! committed synthetic logs in every format, mistakes are bad input with file:line, savings follow the runs' verdicts.

use crate::common;

use common::{evalh, fixture, root, text};
use serde_json::{json, Value};
use std::path::Path;

fn golden(name: &str) -> std::path::PathBuf {
    root().join("tests/data/golden/logs").join(name)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-12
}

/// evalh's audit.json against the reference's output: counts exact, costs to 1e-9, percentiles exact below 65,536.
fn compare(ev: &Value, reference: &Value) {
    assert_eq!(ev["totals"]["requests"], reference["rows"]);
    assert_eq!(ev["malformed"], reference["malformed"]);
    assert!(
        close(
            ev["totals"]["cost_usd"].as_f64().unwrap(),
            reference["cost_usd"].as_f64().unwrap()
        ),
        "{} vs {}",
        ev["totals"]["cost_usd"],
        reference["cost_usd"]
    );
    let groups = reference["groups"].as_array().unwrap();
    assert_eq!(ev["features"].as_array().unwrap().len(), groups.len());
    for g in groups {
        let e = ev["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["feature"] == g["feature"] && f["bucket"] == g["bucket"])
            .unwrap_or_else(|| panic!("no group {} / {}", g["feature"], g["bucket"]));
        for k in [
            "requests",
            "errors",
            "input_tokens",
            "cached_tokens",
            "output_tokens",
        ] {
            assert_eq!(e[k], g[k], "{} / {}: {k}", g["feature"], g["bucket"]);
        }
        assert!(
            close(
                e["cost_usd"].as_f64().unwrap(),
                g["cost_usd"].as_f64().unwrap()
            ),
            "{}: {} vs {}",
            g["feature"],
            e["cost_usd"],
            g["cost_usd"]
        );
        for q in ["p50", "p99"] {
            let (got, want) = (
                e["tokens_per_request"][q].as_u64().unwrap(),
                g[q].as_u64().unwrap(),
            );
            if want < 65_536 {
                assert_eq!(got, want, "{} {q}", g["feature"]);
            } else {
                assert!(
                    got <= want && (want - got) as f64 <= want as f64 / 2048.0,
                    "{} {q}: {got} vs {want}",
                    g["feature"]
                );
            }
        }
    }
}

#[test]
fn every_format_audits_to_the_reference_totals() {
    let dir = fixture(&[]);
    let mapping = golden("mapping.yaml");
    for (log, reference, format) in [
        ("litellm.jsonl.gz", "litellm.jsonl.ref.json", "auto"),
        ("litellm.csv.gz", "litellm.csv.ref.json", "litellm"),
        ("litellm-array.json.gz", "litellm-array.ref.json", "litellm"),
        ("openai.jsonl.gz", "openai.jsonl.ref.json", "auto"),
    ] {
        let out = dir.path().join(format!("{log}.audit.json"));
        let o = evalh(
            dir.path(),
            &[
                "audit",
                golden(log).to_str().unwrap(),
                "--mapping",
                mapping.to_str().unwrap(),
                "--format",
                format,
                "--json",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{log}: {}", text(&o));
        let ev = read_json(&out);
        compare(&ev, &read_json(&golden(reference)));
        // Nothing hidden: the unmapped features and the unpriced model are listed with their spend.
        let t = text(&o);
        assert!(t.contains("unmapped:") && t.contains("translate"), "{t}");
        assert!(t.contains("unpriced: stub-model"), "{t}");
        assert_eq!(ev["inputs"][0]["gzip"], true);
        if log.ends_with("jsonl.gz") || log.starts_with("litellm.csv") {
            assert!(
                ev["malformed"].as_u64().unwrap() > 0 && t.contains("malformed:"),
                "{t}"
            );
        }
    }
}

#[test]
fn several_files_add_up_and_the_buckets_share_the_spend() {
    let dir = fixture(&[]);
    let out = dir.path().join("a.json");
    let o = evalh(
        dir.path(),
        &[
            "audit",
            golden("litellm.jsonl.gz").to_str().unwrap(),
            golden("litellm.csv.gz").to_str().unwrap(),
            "--format",
            "litellm",
            "--mapping",
            golden("mapping.yaml").to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
            "--no-progress",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let ev = read_json(&out);
    let one = read_json(&golden("litellm.jsonl.ref.json"));
    assert_eq!(
        ev["totals"]["requests"].as_u64(),
        Some(2 * one["rows"].as_u64().unwrap())
    );
    let buckets = ev["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 4);
    let share: f64 = buckets
        .iter()
        .map(|b| b["cost_share"].as_f64().unwrap())
        .sum();
    assert!((share - 1.0).abs() < 1e-9);
    let cost: f64 = buckets
        .iter()
        .map(|b| b["cost_usd"].as_f64().unwrap())
        .sum();
    assert!(close(cost, ev["totals"]["cost_usd"].as_f64().unwrap()));
    assert!(close(cost, 2.0 * one["cost_usd"].as_f64().unwrap()));
    assert_eq!(buckets[0]["name"], "keep premium");
    assert!(ev["period"]["days"].as_f64().unwrap() > 29.0);
    // Deterministic: the worker threads read the files in any order, the bytes are the same.
    let again = dir.path().join("b.json");
    let mut args: Vec<String> = std::iter::repeat_n(golden("litellm.jsonl.gz"), 3)
        .chain(std::iter::repeat_n(golden("litellm.csv.gz"), 3))
        .map(|p| p.display().to_string())
        .collect();
    args.extend(
        [
            "--format",
            "litellm",
            "--mapping",
            golden("mapping.yaml").to_str().unwrap(),
            "--no-progress",
        ]
        .map(String::from),
    );
    let run = |out: &Path| {
        let mut a = vec!["audit".to_string()];
        a.extend(args.iter().cloned());
        a.extend(["--json".to_string(), out.display().to_string()]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        assert!(evalh(dir.path(), &a).status.success());
        std::fs::read(out).unwrap()
    };
    let first = run(&out);
    for _ in 0..3 {
        assert_eq!(run(&again), first);
    }
}

#[test]
fn html_is_self_contained_and_escapes_logged_names() {
    let log = "{\"ts\": \"2026-11-01T00:00:00Z\", \"model\": \"gpt-4o\", \"feature\": \"<script>alert(1)</script>\", \"usage\": {\"prompt_tokens\": 100, \"completion_tokens\": 10}}\n\
               {\"ts\": \"2026-11-02T00:00:00Z\", \"model\": \"gpt-4o-mini\", \"feature\": \"tags\", \"usage\": {\"prompt_tokens\": 50, \"completion_tokens\": 5}}\n";
    let dir = fixture(&[("log.jsonl", log)]);
    let o = evalh(dir.path(), &["audit", "log.jsonl", "--html", "a.html"]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(dir.path().join("a.html")).unwrap();
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));
    assert!(html.contains("script-src 'none'"));
    assert!(!html.contains("<script>alert"), "unescaped feature name");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resource"
    );
    assert!(html.contains("<svg"), "charts are inline SVG");
}

#[test]
fn secrets_in_logged_names_or_bad_values_stay_out_of_the_outputs() {
    let log = "{\"ts\": \"2026-11-01T00:00:00Z\", \"model\": \"gpt-4o\", \"feature\": \"user alice@example.com\", \"usage\": {\"prompt_tokens\": 100, \"completion_tokens\": 10}}\n\
               {\"ts\": \"2026-11-01T00:00:00Z\", \"model\": \"gpt-4o\", \"feature\": \"x\", \"usage\": {\"prompt_tokens\": \"sk-proj-abcdefghijklmnop1234\", \"completion_tokens\": 10}}\n";
    let dir = fixture(&[("log.jsonl", log)]);
    let o = evalh(
        dir.path(),
        &["audit", "log.jsonl", "--html", "a.html", "--json", "a.json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let outputs = [
        text(&o),
        std::fs::read_to_string(dir.path().join("a.html")).unwrap(),
        std::fs::read_to_string(dir.path().join("a.json")).unwrap(),
    ];
    for out in &outputs {
        assert!(
            !out.contains("alice@example.com") && !out.contains("sk-proj-abcdefghijklmnop1234"),
            "{out}"
        );
    }
    assert!(
        outputs[0].contains("user [EMAIL]") && outputs[0].contains("[API_KEY]"),
        "{}",
        outputs[0]
    );
}

#[test]
fn mistakes_are_bad_input_with_the_line_and_the_fix() {
    let openai = "{\"ts\": \"2026-11-01T00:00:00Z\", \"model\": \"gpt-4o\", \"usage\": {\"prompt_tokens\": 10, \"completion_tokens\": 2}}\n";
    let dir = fixture(&[
        ("openai.jsonl", openai),
        ("other.jsonl", "{\"a\": 1}\n{\"b\": 2}\n"),
        (
            "bad-map.yaml",
            "buckets:\n  2:\n    features: [a]\n  5:\n    features: [b]\n",
        ),
        ("typo.yaml", "log:\n  fields:\n    input_tokns: usage.x\n"),
        ("garbage.jsonl", "not json\nstill not\n"),
    ]);
    let cases: [(&[&str], &str); 6] = [
        (
            &["audit", "openai.jsonl", "--format", "litellm"],
            "openai.jsonl:1: none of the first 1 rows has `input_tokens`",
        ),
        (
            &["audit", "other.jsonl"],
            "other.jsonl:1: cannot tell what kind of log this is",
        ),
        (
            &["audit", "openai.jsonl", "--mapping", "bad-map.yaml"],
            "bad-map.yaml:4:",
        ),
        (
            &["audit", "openai.jsonl", "--mapping", "typo.yaml"],
            "did you mean `input_tokens`",
        ),
        (
            &["audit", "garbage.jsonl", "--format", "openai"],
            "garbage.jsonl:1: none of the first 2 lines is a usable row",
        ),
        (
            &["audit", "missing.jsonl"],
            "missing.jsonl: cannot read the log",
        ),
    ];
    for (args, want) in cases {
        let o = evalh(dir.path(), args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(want), "{args:?}: {t}");
        assert!(t.contains("help:"), "{args:?} names no fix: {t}");
    }
    // The wrong preset's hint names the right one.
    let o = evalh(
        dir.path(),
        &["audit", "openai.jsonl", "--format", "litellm"],
    );
    assert!(text(&o).contains("pass --format openai"), "{}", text(&o));
}

fn results_json(suite: &str, candidates: &[(&str, &str, f64, f64, f64)], complete: bool) -> String {
    let mut providers =
        vec![json!({"id": "premium", "role": "baseline", "model": "gpt-4o", "gate": null})];
    for (id, verdict, r, lo, hi) in candidates {
        providers.push(json!({
            "id": id, "role": "candidate", "model": format!("{id}-model"),
            "gate": {"verdict": verdict, "reasons": [format!("{verdict} because of the rules")],
                     "evidence": {"cost": {"ratio": r, "lower": lo, "upper": hi}}}
        }));
    }
    json!({"suite": suite, "complete": complete, "providers": providers}).to_string()
}

#[test]
fn savings_project_passing_candidates_only() {
    // 30 requests of `classify` over exactly 10 days at gpt-4o prices: 1,000,000 input tokens each day -> $2.50 a
    // day, $25 in the logs, $75 a 30-day month.
    let mut log = String::new();
    for day in 0..=10 {
        let n = if day == 10 { 0 } else { 3 };
        for i in 0..n {
            let tokens = if i == 0 { 400_000 } else { 300_000 };
            log.push_str(&format!(
                "{{\"ts\": \"2026-11-{:02}T00:00:00Z\", \"model\": \"gpt-4o\", \"feature\": \"classify\", \"usage\": {{\"prompt_tokens\": {tokens}, \"completion_tokens\": 0}}}}\n",
                day + 1
            ));
        }
    }
    // The last timestamp closes the 10-day span.
    log.push_str("{\"ts\": \"2026-11-11T00:00:00Z\", \"model\": \"gpt-4o\", \"feature\": \"other\", \"usage\": {\"prompt_tokens\": 0, \"completion_tokens\": 0}}\n");
    let run_a = results_json(
        "tickets",
        &[
            ("mini", "PASS", 0.06, 0.05, 0.08),
            ("tiny", "FAIL", 0.02, 0.01, 0.03),
            ("flash", "INCONCLUSIVE", 0.1, 0.09, 0.11),
        ],
        true,
    );
    let run_b = results_json("tickets", &[("mini", "PASS", 0.06, 0.05, 0.08)], false);
    let dir = fixture(&[
        ("log.jsonl", &log),
        (
            "m.yaml",
            "buckets:\n  2: {features: [classify]}\nsuites:\n  tickets: classify\n",
        ),
        ("runs/a/results.json", &run_a),
        ("runs/b/results.json", &run_b),
    ]);
    let o = evalh(
        dir.path(),
        &[
            "audit",
            "log.jsonl",
            "--mapping",
            "m.yaml",
            "--runs",
            "runs/a",
            "runs/b",
            "--json",
            "s.json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let s = read_json(&dir.path().join("s.json"))["savings"].clone();
    assert!(close(s["period_days"].as_f64().unwrap(), 10.0));
    assert_eq!(s["stages"], json!([0.01, 0.05, 0.2, 0.5, 1.0]));
    let a = &s["runs"][0];
    assert!(
        close(a["feature_cost_usd"].as_f64().unwrap(), 75.0 / 3.0),
        "{a}"
    );
    assert!(close(a["feature_monthly_cost_usd"].as_f64().unwrap(), 75.0));
    let mini = &a["candidates"][0];
    let full = &mini["stages"][4];
    assert!(close(full["saving_usd"].as_f64().unwrap(), 75.0 * 0.94));
    assert!(close(full["lower_usd"].as_f64().unwrap(), 75.0 * 0.92));
    assert!(close(full["upper_usd"].as_f64().unwrap(), 75.0 * 0.95));
    assert!(close(
        mini["stages"][0]["saving_usd"].as_f64().unwrap(),
        0.75 * 0.94
    ));
    for (i, word) in [(1, "FAIL"), (2, "INCONCLUSIVE")] {
        let c = &a["candidates"][i];
        assert_eq!(c["stages"], json!([]), "{c}");
        assert!(c["note"].as_str().unwrap().starts_with(word), "{c}");
    }
    // An incomplete run projects nothing, even for a PASS written before it stopped.
    let b = &s["runs"][1]["candidates"][0];
    assert_eq!(b["stages"], json!([]));
    assert!(b["note"].as_str().unwrap().starts_with("INCOMPLETE"), "{b}");
    let t = text(&o);
    assert!(t.contains("100%: $70.50 [$69.00, $71.25]"), "{t}");

    // Without timestamps the month is unknown: --days is asked for, before the logs are read in full.
    let dir2 = fixture(&[
        ("log.jsonl", "{\"model\": \"gpt-4o\", \"feature\": \"classify\", \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 1}}\n"),
        ("m.yaml", "suites:\n  tickets: classify\n"),
        ("runs/a/results.json", &run_a),
    ]);
    let o = evalh(
        dir2.path(),
        &[
            "audit",
            "log.jsonl",
            "--mapping",
            "m.yaml",
            "--runs",
            "runs/a",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--days"), "{}", text(&o));
    let o = evalh(
        dir2.path(),
        &[
            "audit",
            "log.jsonl",
            "--mapping",
            "m.yaml",
            "--runs",
            "runs/a",
            "--days",
            "30",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    // A suite the mapping does not tie to a feature is bad input.
    let o = evalh(
        dir2.path(),
        &["audit", "log.jsonl", "--runs", "runs/a", "--days", "30"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("suite `tickets`") && text(&o).contains("suites:"),
        "{}",
        text(&o)
    );
}
