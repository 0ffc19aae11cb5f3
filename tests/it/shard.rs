//! Sharded runs (docs/scale.md): `evalh run --shard K/N` and `evalh merge`.

use crate::common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// 40 items, enough for every one of 4 shards to get some.
fn dataset() -> String {
    let labels = ["billing", "bug", "feature"];
    (0..40)
        .map(|i| {
            format!(
                "{{\"id\": \"x{i}\", \"text\": \"ticket {i} about {}\", \"label\": \"{}\"}}\n",
                labels[i % 3],
                labels[i % 3]
            )
        })
        .collect()
}

/// A suite whose verdicts do not hang on wall-clock latency (the one thing a sharded run legitimately changes).
fn suite() -> String {
    sim_suite("gate: {max_p99_latency_increase_ms: 1000000}\n").replace(
        "sim: {quality: 1.0}\n  - id: cand",
        "sim: {quality: 0.9}\n  - id: cand",
    )
}

fn setup() -> tempfile::TempDir {
    fixture(&[("s.yaml", &suite()), ("data.jsonl", &dataset())])
}

fn dirs_under(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn run_shard(d: &Path, k: u32, n: u32, out: &str) {
    let o = evalh(
        d,
        &[
            "run",
            "s.yaml",
            "--shard",
            &format!("{k}/{n}"),
            "--no-progress",
            "--no-cache",
            "--out",
            out,
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
}

/// results.json without what a sharded run changes legitimately: wall-clock latency (figures, intervals, details).
fn comparable(path: &Path) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| !k.contains("latency"));
                if m.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.contains("latency"))
                {
                    m.remove("detail");
                    m.remove("summary");
                    m.remove("interval");
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => {
                a.retain(|x| !x.as_str().is_some_and(|s| s.contains("latency")));
                a.iter_mut().for_each(strip)
            }
            _ => {}
        }
    }
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(path).expect("results")).expect("json");
    strip(&mut v);
    v
}

fn journal_ids(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .expect("journal")
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("record")["item_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn four_shards_merged_equal_the_unsharded_run() {
    let d = setup();
    let o = evalh(
        d.path(),
        &[
            "run",
            "s.yaml",
            "--no-progress",
            "--no-cache",
            "--out",
            "full",
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let full = dirs_under(&d.path().join("full")).pop().expect("full run");
    for k in 1..=4 {
        run_shard(d.path(), k, 4, "shards");
    }
    let shards = dirs_under(&d.path().join("shards"));
    assert_eq!(shards.len(), 4);
    // Each shard ran only its own items, and together they ran each item exactly once per provider.
    let mut all: Vec<String> = Vec::new();
    for s in &shards {
        let ids = journal_ids(s);
        assert!(
            !ids.is_empty() && ids.len() < 80,
            "{}: {} records",
            s.display(),
            ids.len()
        );
        all.extend(ids);
        // A shard re-scores on its own items: complete, not 3/4 missing.
        let o = evalh(d.path(), &["score", s.to_str().unwrap()]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    }
    all.sort();
    let mut expect: Vec<String> = (0..40)
        .flat_map(|i| [format!("x{i}"), format!("x{i}")])
        .collect();
    expect.sort();
    assert_eq!(all, expect);

    // A dataset read from another place (another machine's checkout) with the same content is the same dataset.
    let suite4 = shards[3].join("suite.yaml");
    let text4 = std::fs::read_to_string(&suite4).unwrap();
    assert!(text4.contains("  path: dataset.jsonl\n"), "{text4}");
    std::fs::write(
        &suite4,
        text4.replace("  path: dataset.jsonl\n", "  path: /elsewhere/data.jsonl\n"),
    )
    .unwrap();
    let mut args = vec!["merge".to_string()];
    args.extend(shards.iter().map(|s| s.to_string_lossy().into_owned()));
    args.extend(["--out".into(), "merged".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = evalh(d.path(), &args);
    assert_eq!(
        o.status.code(),
        evalh(d.path(), &["score", full.to_str().unwrap()])
            .status
            .code(),
        "{}",
        text(&o)
    );
    let merged = d.path().join("merged");
    assert_eq!(
        comparable(&merged.join("results.json")),
        comparable(&full.join("results.json"))
    );
    assert!(merged.join("report.html").is_file());
    // The merged directory is an ordinary, unsharded run directory.
    let m: Value =
        serde_json::from_slice(&std::fs::read(merged.join("manifest.json")).unwrap()).unwrap();
    assert!(m.get("shard").is_none(), "{m}");
    let o = evalh(
        d.path(),
        &["run", "--resume", "merged", "--no-progress", "--no-cache"],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    assert_eq!(
        journal_ids(&merged).len(),
        80,
        "a resume of the merged run sends nothing"
    );
}

fn merge(d: &Path, dirs: &[PathBuf], out: &str) -> std::process::Output {
    let mut args = vec!["merge".to_string()];
    args.extend(dirs.iter().map(|s| s.to_string_lossy().into_owned()));
    args.extend(["--out".into(), out.into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    evalh(d, &args)
}

#[test]
fn overlapping_missing_and_foreign_shards_are_refused() {
    let d = setup();
    run_shard(d.path(), 1, 2, "a");
    run_shard(d.path(), 2, 2, "a");
    run_shard(d.path(), 1, 2, "b"); // shard 1/2 again
    run_shard(d.path(), 1, 3, "c"); // another split
    let a = dirs_under(&d.path().join("a"));
    let b = dirs_under(&d.path().join("b"));
    let c = dirs_under(&d.path().join("c"));

    let o = merge(d.path(), &[a[0].clone(), a[1].clone(), b[0].clone()], "m1");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("overlap") && text(&o).contains("shard 1/2"),
        "{}",
        text(&o)
    );
    assert!(
        !d.path().join("m1").exists(),
        "nothing is written when refused"
    );

    let o = merge(d.path(), &[a[1].clone()], "m2");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("shard(s) 1/2 missing"), "{}", text(&o));
    assert!(
        text(&o).contains("--shard K/2"),
        "the fix names the command: {}",
        text(&o)
    );

    let o = merge(d.path(), &[a[0].clone(), c[0].clone()], "m3");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("split the items differently"),
        "{}",
        text(&o)
    );

    // A shard of another suite (a changed prompt) is refused.
    std::fs::write(
        d.path().join("s.yaml"),
        suite().replace("Classify into", "Sort into"),
    )
    .unwrap();
    run_shard(d.path(), 2, 2, "e");
    let e = dirs_under(&d.path().join("e"));
    let o = merge(d.path(), &[a[0].clone(), e[0].clone()], "m4");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("ran different suites"), "{}", text(&o));

    // A shard on another dataset is refused.
    std::fs::write(d.path().join("s.yaml"), suite()).unwrap();
    std::fs::write(
        d.path().join("data.jsonl"),
        dataset() + "{\"id\": \"x99\", \"text\": \"t\", \"label\": \"bug\"}\n",
    )
    .unwrap();
    run_shard(d.path(), 2, 2, "f");
    let f = dirs_under(&d.path().join("f"));
    let o = merge(d.path(), &[a[0].clone(), f[0].clone()], "m5");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("another dataset"), "{}", text(&o));

    // An unsharded run is not a shard; an existing --out is never written into.
    let o = evalh(
        d.path(),
        &["run", "s.yaml", "--no-progress", "--no-cache", "--out", "g"],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let g = dirs_under(&d.path().join("g"));
    let o = merge(d.path(), &[g[0].clone()], "m6");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not a shard"), "{}", text(&o));
    let o = merge(d.path(), &[a[0].clone(), a[1].clone()], "a");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not empty"), "{}", text(&o));

    // A record planted in the wrong shard (a tampered or mixed-up journal) is refused.
    let j0 = std::fs::read_to_string(a[0].join("journal.jsonl")).unwrap();
    let j1 = std::fs::read_to_string(a[1].join("journal.jsonl")).unwrap();
    std::fs::write(
        a[0].join("journal.jsonl"),
        format!("{j0}{}\n", j1.lines().next().unwrap()),
    )
    .unwrap();
    let o = merge(d.path(), &[a[0].clone(), a[1].clone()], "m7");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("belongs to shard 2/2"), "{}", text(&o));
    assert!(!d.path().join("m7").exists());
}

#[test]
fn bad_shard_specs_exit_2_before_anything_runs() {
    let d = setup();
    for bad in ["0/4", "5/4", "2", "1/0"] {
        let o = evalh(
            d.path(),
            &["run", "s.yaml", "--shard", bad, "--no-progress"],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains("K/N"), "{}", text(&o));
        assert!(!d.path().join("reports").exists());
    }
}

#[test]
fn a_shard_resumes_and_rescores_on_its_own_items_only() {
    let d = setup();
    run_shard(d.path(), 3, 4, "r");
    let dir = dirs_under(&d.path().join("r")).pop().unwrap();
    let mut full = journal_ids(&dir);
    full.sort();
    // Lose the second half of the journal (as a kill would), then resume: only this shard's missing requests are sent.
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let keep: Vec<&str> = journal.lines().take(full.len() / 2).collect();
    std::fs::write(dir.join("journal.jsonl"), keep.join("\n") + "\n").unwrap();
    let o = evalh(
        d.path(),
        &[
            "run",
            "--resume",
            dir.to_str().unwrap(),
            "--no-progress",
            "--no-cache",
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let mut after = journal_ids(&dir);
    after.sort();
    assert_eq!(
        after, full,
        "the resume sent exactly the shard's missing requests"
    );
    let results: Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(
        results["n_items"].as_u64(),
        Some(full.len() as u64 / 2),
        "{results}"
    );
    assert_eq!(results["complete"], Value::Bool(true));
}
