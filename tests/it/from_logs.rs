//! `evalh dataset from-logs` on the real binary: the same seed draws the same sample whatever the file order, every
//! planted secret and personal-data string is masked and counted, strata are honoured, and the dataset runs in a
//! suite.

use crate::common;

use common::{evalh, fixture, root, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

fn golden(name: &str) -> std::path::PathBuf {
    root().join("tests/data/golden/logs").join(name)
}

fn gunzip(p: &Path) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

fn meta(dir: &Path, out: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{out}.meta.json"))).unwrap())
        .unwrap()
}

fn rows(dir: &Path, out: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(out))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_planted_secret_is_masked_and_counted() {
    let dir = fixture(&[]);
    let log = golden("openai.jsonl.gz");
    let o = evalh(
        dir.path(),
        &[
            "dataset",
            "from-logs",
            log.to_str().unwrap(),
            "--task",
            "summarization",
            "--n",
            "100000",
            "--include-failed",
            "--out",
            "all.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let planted: Vec<Value> = serde_json::from_str(&gunzip(&golden("planted.json.gz"))).unwrap();
    let out = std::fs::read_to_string(dir.path().join("all.jsonl")).unwrap();
    // Every row with a prompt was drawn (malformed lines are not rows).
    let m = meta(dir.path(), "all.jsonl");
    assert_eq!(m["n_sampled"], m["eligible"]);
    assert_eq!(m["eligible"].as_u64(), Some(1498));
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for p in &planted {
        let s = p["text"].as_str().unwrap();
        assert!(!out.contains(s), "planted {} survived: {s}", p["kind"]);
        // Failed requests have no answer in the log: a string planted there was never in a row.
        if p["where"] != "answer" || p["ok"] == true {
            *want
                .entry(p["kind"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    for (kind, n) in &want {
        assert_eq!(
            m["masked"][kind].as_u64(),
            Some(*n),
            "{kind}: {}",
            m["masked"]
        );
    }
    assert_eq!(m["masked_total"].as_u64(), Some(want.values().sum::<u64>()));
    let t = text(&o);
    assert!(
        t.contains(&format!("masked: {} string(s)", want.values().sum::<u64>())),
        "{t}"
    );
    for placeholder in ["[EMAIL]", "[PHONE]", "[CARD]", "[API_KEY]", "[TOKEN]"] {
        assert!(out.contains(placeholder), "{placeholder}");
    }
}

#[test]
fn the_same_seed_draws_the_same_sample_in_any_file_order() {
    let all = gunzip(&golden("openai.jsonl.gz"));
    let lines: Vec<&str> = all.lines().collect();
    let (a, b) = lines.split_at(lines.len() / 2);
    let dir = fixture(&[
        ("a.jsonl", &(a.join("\n") + "\n")),
        ("b.jsonl", &(b.join("\n") + "\n")),
        ("all.jsonl", &all),
    ]);
    let draw = |files: &[&str], seed: &str, out: &str| {
        let mut args = vec!["dataset", "from-logs"];
        args.extend_from_slice(files);
        args.extend_from_slice(&[
            "--task",
            "summarization",
            "--n",
            "40",
            "--seed",
            seed,
            "--out",
            out,
        ]);
        let o = evalh(dir.path(), &args);
        assert!(o.status.success(), "{}", text(&o));
        rows(dir.path(), out)
    };
    let one = draw(&["a.jsonl", "b.jsonl"], "11", "s1.jsonl");
    draw(&["a.jsonl", "b.jsonl"], "11", "s2.jsonl");
    let swapped = draw(&["b.jsonl", "a.jsonl"], "11", "s3.jsonl");
    let other_seed = draw(&["a.jsonl", "b.jsonl"], "12", "s4.jsonl");
    assert_eq!(one.len(), 40);
    assert_eq!(
        std::fs::read(dir.path().join("s1.jsonl")).unwrap(),
        std::fs::read(dir.path().join("s2.jsonl")).unwrap()
    );
    let ids = |v: &[Value]| {
        v.iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&one), ids(&swapped), "file order changed the sample");
    assert_ne!(ids(&one), ids(&other_seed));
    // The ids do not depend on the seed or the file split: a row drawn from the whole file has the same id.
    let whole = draw(&["all.jsonl"], "11", "s5.jsonl");
    assert_eq!(ids(&one), ids(&whole));
    let uniq: std::collections::BTreeSet<_> = ids(&one).into_iter().collect();
    assert_eq!(uniq.len(), 40);
    // Each row names its source line, and the prompt fields a template needs are there.
    for r in &one {
        assert!(r["source"].as_str().unwrap().contains(".jsonl:"));
        assert!(r["system"].is_string() && r["input"].is_string() && r["messages"].is_array());
    }
}

#[test]
fn strata_follow_the_allocation() {
    let dir = fixture(&[]);
    let log = golden("openai.jsonl.gz");
    for (alloc, check) in [("proportional", true), ("equal", false)] {
        let out = format!("{alloc}.jsonl");
        let o = evalh(
            dir.path(),
            &[
                "dataset",
                "from-logs",
                log.to_str().unwrap(),
                "--task",
                "summarization",
                "--n",
                "70",
                "--stratify",
                "feature",
                "--allocation",
                alloc,
                "--out",
                &out,
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        let m = meta(dir.path(), &out);
        let strata = m["stratify"]["strata"].as_array().unwrap();
        assert_eq!(strata.len(), 7, "{strata:?}");
        let sampled: u64 = strata.iter().map(|s| s["sampled"].as_u64().unwrap()).sum();
        assert_eq!(sampled, 70);
        let drawn = rows(dir.path(), &out);
        for s in strata {
            let n = drawn.iter().filter(|r| r["feature"] == s["value"]).count() as u64;
            assert_eq!(n, s["sampled"].as_u64().unwrap(), "{s}");
            let share = s["population"].as_f64().unwrap() / m["eligible"].as_f64().unwrap() * 70.0;
            if check {
                assert!((n as f64 - share).abs() < 1.0, "{s}: {n} vs {share}");
            } else {
                assert_eq!(n, 10, "{s}");
            }
        }
    }
}

#[test]
fn the_dataset_runs_in_a_suite() {
    let dir = fixture(&[]);
    let log = golden("openai.jsonl.gz");
    let o = evalh(
        dir.path(),
        &[
            "dataset",
            "from-logs",
            log.to_str().unwrap(),
            "--task",
            "classification",
            "--feature",
            "classify-ticket",
            "--n",
            "30",
            "--seed",
            "5",
            "--out",
            "tickets.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    let snippet = &t[t.find("task: classification").expect("a suite snippet")..];
    let m = meta(dir.path(), "tickets.jsonl");
    assert_eq!(
        m["labels"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["billing", "bug", "feature"]
    );
    assert_eq!(m["logged_answers"]["present"].as_u64(), Some(30));
    let suite = format!(
        "name: from-logs\n{snippet}providers:\n  - {{id: base, role: baseline, kind: sim, model: m-base, price: {{input_per_mtok: 2.5, output_per_mtok: 10}}, sim: {{quality: 1.0}}}}\n  - {{id: cand, kind: sim, model: m-cand, price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}, sim: {{quality: 1.0}}}}\n"
    );
    std::fs::write(dir.path().join("suite.yaml"), suite).unwrap();
    let o = evalh(dir.path(), &["validate", "suite.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("30 items"), "{}", text(&o));
    let o = evalh(dir.path(), &["run", "suite.yaml", "--no-progress"]);
    assert!(
        o.status.success() || o.status.code() == Some(1),
        "{}",
        text(&o)
    );
    assert!(dir.path().join("reports").is_dir());
}

#[test]
fn chat_logs_keep_the_answer_in_the_tasks_shape() {
    let chat = concat!(
        r#"{"messages": [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather in Paris for 3 days? mail me at a@b.io"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"days\": 3}"}}]}]}"#,
        "\n",
        r#"{"messages": [{"role": "user", "content": "Tell me a joke"}], "answer": "no tool fits"}"#,
        "\n",
        r#"{"messages": [{"role": "system", "content": "only a system message"}]}"#,
        "\n"
    );
    let dir = fixture(&[("chat.jsonl", chat)]);
    let o = evalh(
        dir.path(),
        &[
            "dataset",
            "from-logs",
            "chat.jsonl",
            "--task",
            "function_calling",
            "--out",
            "fc.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let drawn = rows(dir.path(), "fc.jsonl");
    assert_eq!(drawn.len(), 2);
    let weather = drawn
        .iter()
        .find(|r| r["input"].as_str().unwrap().starts_with("Weather"))
        .unwrap();
    assert_eq!(
        weather["logged_answer"],
        serde_json::json!([{"name": "get_weather", "arguments": {"city": ["Paris"], "days": [3]}}])
    );
    assert_eq!(
        weather["input"],
        "Weather in Paris for 3 days? mail me at [EMAIL]"
    );
    assert_eq!(
        weather["messages"].as_array().unwrap().len(),
        2,
        "the answer is not part of the prompt"
    );
    let joke = drawn
        .iter()
        .find(|r| r["input"] == "Tell me a joke")
        .unwrap();
    assert_eq!(joke["logged_answer"], serde_json::json!([]));
    assert_eq!(joke["system"], "");
    assert_eq!(meta(dir.path(), "fc.jsonl")["skipped"]["no prompt"], 1);
}

#[test]
fn mistakes_are_bad_input() {
    let dir = fixture(&[(
        "chat.jsonl",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n",
    )]);
    let spend = golden("litellm.jsonl.gz");
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "dataset",
                "from-logs",
                spend.to_str().unwrap(),
                "--task",
                "summarization",
                "--out",
                "x.jsonl",
            ],
            "has `messages`",
        ),
        (
            &[
                "dataset",
                "from-logs",
                "chat.jsonl",
                "--task",
                "summarization",
                "--stratify",
                "tag:x",
                "--out",
                "x.jsonl",
            ],
            "--stratify",
        ),
        (
            &[
                "dataset",
                "from-logs",
                "chat.jsonl",
                "--task",
                "summarization",
                "--out",
                "nowhere/x.jsonl",
            ],
            "does not exist",
        ),
        (
            &[
                "dataset",
                "from-logs",
                "chat.jsonl",
                "--task",
                "summarization",
                "--n",
                "0",
                "--out",
                "x.jsonl",
            ],
            "draws nothing",
        ),
    ];
    for (args, want) in cases {
        let o = evalh(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
    }
    let o = evalh(
        dir.path(),
        &[
            "dataset",
            "from-logs",
            "chat.jsonl",
            "--task",
            "sorting",
            "--out",
            "x.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("x.jsonl").exists());
}

/// Issue 21, end to end: a dataset drawn from logs, with no labels, is scored against the baseline's own answers
/// (`scoring.reference: baseline`), and every output says it measures agreement, not correctness.
#[test]
fn a_dataset_from_logs_runs_with_the_baseline_as_the_reference() {
    let d = fixture(&[(
        "s.yaml",
        r#"name: from-logs-agreement
task: summarization
dataset: {path: d.jsonl, id: id, expected: label}
prompt:
  system: "{{ system }}"
  user: "{{ input }}"
scoring: {reference: baseline}
providers:
  - {id: premium, role: baseline, kind: sim, model: sim-premium, price: {input_per_mtok: 2.5, output_per_mtok: 10}, sim: {quality: 0.9}}
  - {id: flash, kind: sim, model: sim-flash, price: {input_per_mtok: 0.1, output_per_mtok: 0.4}, sim: {quality: 0.9}}
"#,
    )]);
    let dir = d.path();
    let log = golden("openai.jsonl.gz");
    let o = evalh(
        dir,
        &[
            "dataset",
            "from-logs",
            log.to_str().unwrap(),
            "--task",
            "summarization",
            "--n",
            "60",
            "--seed",
            "3",
            "--out",
            "d.jsonl",
            "--no-progress",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = evalh(dir, &["run", "s.yaml", "--out", "reports"]);
    let t = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{t}");
    assert!(t.contains("AGREEMENT, NOT CORRECTNESS"), "{t}");
    let run = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert!(r["reference"].is_object(), "{}", r["reference"]);
    assert_eq!(r["complete"], true);
    let flash = &r["providers"][1];
    let v = flash["metrics"]["rougeLsum_f"].as_f64().unwrap();
    assert!(v > 0.5 && v < 1.0, "{flash}");
    assert!(flash["gate"]["verdict"].is_string());
}
