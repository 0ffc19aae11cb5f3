//! The bad-input corpus (tests/bad_inputs/): broken suites and datasets — truncated YAML, wrong types, tabs, a BOM,
//! empty files, duplicate keys, invalid UTF-8, very long lines, missing fields, CSV quoting errors, paths to
//! directories, alias bombs, deep nesting. `evalh validate` must exit 2 on each, name the broken file and a line
//! number, and never panic.
//!
//! - `suites/*.yaml` are broken suites (their dataset is the valid `ok/data.jsonl`);
//! - `datasets/*` are broken datasets, validated through a copy of the valid `ok/suite.yaml` pointing at them.

mod common;
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

fn check(dir: &Path, suite: &Path, culprit: &Path, failures: &mut Vec<String>) {
    let out = evalh(dir, &["validate", suite.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let name = culprit.file_name().unwrap().to_str().unwrap();
    let mut problems = Vec::new();
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
