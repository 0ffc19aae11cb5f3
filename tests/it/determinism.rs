//! Determinism: results.json is a pure function of the journal — byte-identical whatever the order the records were
//! written in (completion order) — and two runs that differ only in concurrency produce the same results.

use crate::common;
use crate::durability_util;
use common::*;
use durability_util::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;

fn run(dir: &std::path::Path, out: &str, concurrency: usize) -> std::path::PathBuf {
    std::fs::write(
        dir.join(format!("{out}.yaml")),
        suite(
            ", latency_ms: {p50: 2, p99: 12}, faults: {rate_limit: 0.05, retry_after_s: 0.01}",
            &format!("concurrency: {concurrency}, seed: 21, max_backoff_s: 0.05"),
            "",
        ),
    )
    .unwrap();
    let o = evalh(
        dir,
        &[
            "run",
            &format!("{out}.yaml"),
            "--out",
            out,
            "--no-cache",
            "--no-progress",
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    only_subdir(&dir.join(out))
}

#[test]
fn shuffled_journal_gives_byte_identical_results() {
    let d = fixture(&[("data.jsonl", &dataset(300))]);
    let dir = d.path();
    let run_a = run(dir, "a", 16);
    let original = std::fs::read(run_a.join("results.json")).unwrap();

    // `evalh score` reproduces it from the journal...
    let o = evalh(dir, &["score", run_a.to_str().unwrap()]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    assert_eq!(original, std::fs::read(run_a.join("results.json")).unwrap());

    // ...and so does any permutation of the journal's lines.
    let journal = std::fs::read_to_string(run_a.join("journal.jsonl")).unwrap();
    let mut lines: Vec<&str> = journal.lines().collect();
    for seed in [1u64, 2, 3] {
        lines.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let copy = dir.join(format!("shuffled-{seed}"));
        std::fs::create_dir_all(&copy).unwrap();
        // The run directory but its journal: suite, manifest and the run's copy of its dataset.
        for f in ["suite.yaml", "manifest.json", "dataset.jsonl"] {
            std::fs::copy(run_a.join(f), copy.join(f)).unwrap();
        }
        std::fs::write(copy.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
        let o = evalh(dir, &["score", copy.to_str().unwrap()]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
        assert_eq!(
            original,
            std::fs::read(copy.join("results.json")).unwrap(),
            "permutation {seed} changed results.json"
        );
    }
}

#[test]
fn concurrency_1_and_64_give_the_same_results() {
    let d = fixture(&[("data.jsonl", &dataset(300))]);
    let dir = d.path();
    let one = run(dir, "c1", 1);
    let many = run(dir, "c64", 64);
    // The same responses (retries included: faults are a function of item, repeat and attempt)...
    assert_eq!(journal_content(&one), journal_content(&many));
    // ...so the same results; only measured wall-clock latencies may differ between two live runs.
    let a = std::fs::read(one.join("results.json")).unwrap();
    let b = std::fs::read(many.join("results.json")).unwrap();
    assert_eq!(without_wallclock(&a), without_wallclock(&b));
    // ...although the journals were written in different orders.
    let order = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(p.join("journal.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{}/{}", v["provider_id"], v["item_id"])
            })
            .collect()
    };
    let (x, y) = (order(&one), order(&many));
    assert_eq!(x.len(), 600);
    assert_ne!(
        x, y,
        "completion order should differ between concurrency 1 and 64"
    );
}
