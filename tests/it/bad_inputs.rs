//! The bad-input corpus (tests/bad_inputs/): broken suites and datasets — truncated YAML, wrong types, tabs, a BOM,
//! empty files, duplicate keys, invalid UTF-8, very long lines, missing fields, CSV quoting errors, paths to
//! directories, alias bombs, deep nesting. `evalh validate` must exit 2 on each, name the broken file and a line
//! number, and never panic.
//!
//! - `suites/*.yaml` are broken suites (their dataset is the valid `ok/data.jsonl`, or `ok/extract.jsonl`);
//! - `datasets/*` are broken datasets, validated through a copy of the valid `ok/suite.yaml` pointing at them.
//!
//! A suite case whose first line is `# expect: TEXT` must also print TEXT and a fix (`help:`), and `evalh run` on it
//! must fail the same way before anything is created: no run directory, so nothing was sent (these are the settings
//! that used to be checked only after every request had been paid for).
//!
//! `numeric_fields_never_panic` feeds random finite and non-finite numbers into every numeric field of the schema.

use crate::common;
use common::*;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    root().join("tests/bad_inputs")
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus().join(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// `name:` followed by a line number somewhere in `text`.
fn names_file_and_line(text: &str, name: &str) -> bool {
    text.match_indices(&format!("{name}:")).any(|(i, m)| {
        text[i + m.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// The `# expect: TEXT` of a corpus case, if it has one.
fn expectation(case: &Path) -> Option<String> {
    let text = std::fs::read(case).ok()?;
    let first = String::from_utf8_lossy(&text).lines().next()?.to_string();
    first.strip_prefix("# expect: ").map(str::to_string)
}

fn check(dir: &Path, suite: &Path, culprit: &Path, failures: &mut Vec<String>) {
    let out = evalh(dir, &["validate", suite.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let name = culprit.file_name().unwrap().to_str().unwrap();
    let mut problems = Vec::new();
    if let Some(want) = expectation(culprit) {
        if !err.contains(&want) {
            problems.push(format!("no {want:?}"));
        }
        if !err.contains("help:") {
            problems.push("no fix (help:)".into());
        }
        let runs = dir.join(format!("runs-{name}"));
        let run = evalh(
            dir,
            &[
                "run",
                suite.to_str().unwrap(),
                "--out",
                runs.to_str().unwrap(),
                "--no-cache",
                "--no-progress",
            ],
        );
        let run_err = String::from_utf8_lossy(&run.stderr);
        if run.status.code() != Some(2) || !run_err.contains(&want) {
            problems.push(format!("run: exit {:?}", run.status.code()));
        }
        if runs.exists() {
            problems.push("run created a run directory".into());
        }
    }
    if out.status.code() != Some(2) {
        problems.push(format!("exit {:?}", out.status.code()));
    }
    if err.contains("panicked") {
        problems.push("panicked".into());
    }
    if !names_file_and_line(&err, name) {
        problems.push("no file:line".into());
    }
    if !problems.is_empty() {
        failures.push(format!("{name}: {} — {}", problems.join(", "), err.trim()));
    }
}

#[test]
fn every_broken_suite_and_dataset_exits_2_with_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // The corpus' base is valid: each case breaks exactly one thing.
    let ok = corpus().join("ok/suite.yaml");
    let out = evalh(dir, &["validate", ok.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let mut failures = Vec::new();
    let suites = files("suites");
    for s in &suites {
        check(dir, s, s, &mut failures);
    }
    let datasets = files("datasets");
    let template = std::fs::read_to_string(&ok).unwrap();
    for (i, ds) in datasets.iter().enumerate() {
        let suite = dir.join(format!("suite-{i}.yaml"));
        let text = template.replace(
            "path: data.jsonl",
            &format!("path: \"{}\"", ds.to_str().unwrap()),
        );
        assert_ne!(text, template);
        std::fs::write(&suite, text).unwrap();
        check(dir, &suite, ds, &mut failures);
    }
    let expecting = suites.iter().filter(|s| expectation(s).is_some()).count();
    assert!(expecting >= 45, "{expecting} cases with `# expect:`");
    assert!(
        suites.len() + datasets.len() >= 25,
        "the corpus has {} cases",
        suites.len() + datasets.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bom_and_crlf_line_endings_alone_are_fine() {
    let ok = std::fs::read_to_string(corpus().join("ok/suite.yaml")).unwrap();
    let data = std::fs::read_to_string(corpus().join("ok/data.jsonl")).unwrap();
    let d = fixture(&[]);
    std::fs::write(
        d.path().join("s.yaml"),
        format!("\u{feff}{}", ok.replace('\n', "\r\n")),
    )
    .unwrap();
    std::fs::write(
        d.path().join("data.jsonl"),
        format!("\u{feff}{}", data.replace('\n', "\r\n")),
    )
    .unwrap();
    let out = evalh(d.path(), &["validate", "s.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("5 items"), "{}", text(&out));
}

/// Run evalh in `dir` for at most `secs` seconds: (exit code, or None when it had to be killed; stderr).
fn run_for(dir: &Path, args: &[&str], secs: u64) -> (Option<i32>, String) {
    let err_path = dir.join(".stderr");
    let err_file = std::fs::File::create(&err_path).unwrap();
    let mut child = std::process::Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("EVALH_CACHE_DIR", dir.join(".evalh-cache"))
        .stdout(std::process::Stdio::null())
        .stderr(err_file)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (code, std::fs::read_to_string(&err_path).unwrap_or_default())
}

/// A classification suite over TICKETS that sets every numeric field of the schema explicitly, one per line.
const FULL_SUITE: &str = r#"version: 1
name: prop
task: classification
dataset:
  path: data.jsonl
  id: id
  expected: label
  limit: 5
labels: [billing, bug, feature]
scoring:
  label_extract:
    mode: regex
    pattern: '(\w+)'
    group: 1
prompt:
  user: "{{ text }}"
providers:
  - id: base
    role: baseline
    kind: sim
    model: m-base
    context_window: 100000
    concurrency: 4
    rpm: 100000
    tpm: 10000000
    params:
      temperature: 0
      max_tokens: 16
    price:
      input_per_mtok: 2.5
      output_per_mtok: 10
      cached_input_per_mtok: 1.25
      cache_write_per_mtok: 3
    sim:
      quality: 1.0
      correlation: 0.8
      token_factor: 1.0
      latency_ms:
        p50: 1
        p99: 2
      faults:
        rate_limit: 0
        retry_after_s: 0.01
        server_error: 0
        overloaded: 0
        malformed: 0
        truncated_stream: 0
        stream_error: 0
        slow_first_byte: 0
        slow_first_byte_ms: 1
  - id: cand
    kind: sim
    model: m-cand
    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}
    sim: {quality: 1.0}
gate:
  min_quality_ratio: 0.95
  max_cost_ratio: 0.4
  max_error_rate_increase: 0.005
  max_p99_latency_increase_ms: 200
  min_format_validity: 0.5
  confidence: 0.95
  bootstrap_iters: 200
  min_items: 1
run:
  concurrency: 4
  timeout_s: 30
  connect_timeout_s: 5
  first_byte_timeout_s: 30
  idle_timeout_s: 30
  max_retries: 1
  max_backoff_s: 0.1
  seed: 1
  repeats: 1
  max_cost_usd: 100
"#;

/// An extraction suite for the two extraction thresholds.
const EXTRACTION_SUITE: &str = r#"name: prop-extract
task: extraction
dataset: {path: extract.jsonl, id: id, expected: out}
prompt:
  user: "{{ text }}"
scoring:
  extraction:
    fuzzy_threshold: 0.85
    fields:
      vendor:
        mode: fuzzy
        threshold: 0.8
providers:
  - id: base
    role: baseline
    kind: sim
    model: m-base
    price: {input_per_mtok: 2.5, output_per_mtok: 10}
  - id: cand
    kind: sim
    model: m-cand
    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}
"#;

/// Every numeric line of the two suites above: (suite, the line's text up to and including `: `).
fn numeric_lines() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for suite in [FULL_SUITE, EXTRACTION_SUITE] {
        for line in suite.lines() {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            if value.parse::<f64>().is_ok() {
                out.push((suite, format!("{key}: ")));
            }
        }
    }
    out
}

/// A number as YAML: `.nan`, `.inf`, `-.inf`, or the shortest exponent form.
fn yaml_number(v: f64) -> String {
    if v.is_nan() {
        ".nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { ".inf" } else { "-.inf" }.into()
    } else if v == v.trunc() && v.abs() < 1e19 {
        format!("{v:.0}")
    } else {
        format!("{v:e}")
    }
}

#[test]
fn numeric_fields_never_panic() {
    use rand::{Rng, SeedableRng};
    let seed: u64 = std::env::var("EVALH_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_251_207);
    println!("seed {seed} (set EVALH_PROPTEST_SEED to replay another)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let d = fixture(&[
        ("data.jsonl", TICKETS),
        (
            "extract.jsonl",
            "{\"id\": \"e1\", \"text\": \"Acme, 12.50\", \"out\": {\"vendor\": \"Acme\", \"total\": 12.5}}\n",
        ),
    ]);
    let dir = d.path();
    for (suite, file) in [(FULL_SUITE, "full.yaml"), (EXTRACTION_SUITE, "ext.yaml")] {
        std::fs::write(dir.join(file), suite).unwrap();
        let (code, err) = run_for(dir, &["validate", file], 30);
        assert_eq!(code, Some(0), "the base suite is valid: {err}");
    }
    let specials = [
        ".nan",
        ".inf",
        "-.inf",
        "0",
        "-0.0",
        "-1",
        "0.5",
        "2",
        "1e308",
        "-1e308",
        "1e-300",
        "4294967295",
        "18446744073709551615",
    ];
    let lines = numeric_lines();
    assert!(lines.len() >= 45, "{} numeric fields", lines.len());
    let mut failures = Vec::new();
    // Per field, the accepted value of largest magnitude: planned, and a sample of them run.
    let mut accepted: Vec<(String, String)> = Vec::new();
    for (i, (suite, prefix)) in lines.iter().enumerate() {
        let file = format!("case-{i}.yaml");
        let mut values: Vec<String> = specials.iter().map(|s| s.to_string()).collect();
        for _ in 0..3 {
            let sign = if rng.random_bool(0.3) { -1.0 } else { 1.0 };
            values.push(yaml_number(sign * 10f64.powf(rng.random_range(-8.0..20.0))));
        }
        values.push(rng.random_range(0..1_000_000u64).to_string());
        let mut best: Option<(f64, String)> = None;
        for value in values {
            let v = match value.as_str() {
                ".nan" => f64::NAN,
                ".inf" => f64::INFINITY,
                "-.inf" => f64::NEG_INFINITY,
                x => x.parse().unwrap(),
            };
            let text: String = suite
                .lines()
                .map(|l| match l.strip_prefix(prefix.as_str()) {
                    Some(_) => format!("{prefix}{value}\n"),
                    None => format!("{l}\n"),
                })
                .collect();
            std::fs::write(dir.join(&file), &text).unwrap();
            let (code, err) = run_for(dir, &["validate", &file], 30);
            if !matches!(code, Some(0) | Some(2)) || err.contains("panicked") {
                failures.push(format!(
                    "validate `{}{value}`: exit {code:?}: {err}",
                    prefix.trim()
                ));
            }
            if code == Some(0) && best.as_ref().is_none_or(|(b, _)| v.abs() > b.abs()) {
                best = Some((v, text));
            }
        }
        if let Some((v, text)) = best {
            accepted.push((format!("{}{v}", prefix.trim()), text));
        }
    }
    for (i, (what, text)) in accepted.iter().enumerate() {
        let file = format!("accepted-{i}.yaml");
        std::fs::write(dir.join(&file), text).unwrap();
        let (code, err) = run_for(dir, &["plan", &file, "--no-cache"], 30);
        if code != Some(0) || err.contains("panicked") {
            failures.push(format!("plan `{what}`: exit {code:?}: {err}"));
        }
    }
    // Running takes a second or more each: a seeded sample of the accepted extremes, each for at most 8 s (a valid
    // ten-minute simulated latency is stopped, not waited for).
    let mut order: Vec<usize> = (0..accepted.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    for &i in order.iter().take(16) {
        let (what, _) = &accepted[i];
        let file = format!("accepted-{i}.yaml");
        let out = format!("runs-{i}");
        let (code, err) = run_for(
            dir,
            &["run", &file, "--no-cache", "--no-progress", "--out", &out],
            8,
        );
        if matches!(code, Some(2) | Some(70) | Some(101)) || err.contains("panicked") {
            failures.push(format!("run `{what}`: exit {code:?}: {err}"));
        }
    }
    for v in ["nan", "inf", "-inf", "-1", "1e308", "0"] {
        let (code, err) = run_for(
            dir,
            &[
                "run",
                "full.yaml",
                "--max-cost",
                v,
                "--no-cache",
                "--no-progress",
                "--out",
                "runs-cli",
            ],
            30,
        );
        if matches!(code, Some(70) | Some(101) | None) || err.contains("panicked") {
            failures.push(format!("run --max-cost {v}: exit {code:?}: {err}"));
        }
    }
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
}
