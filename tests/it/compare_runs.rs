//! Run-to-run comparison and the run directories, end to end with the real binary: `evalh compare` flags a
//! candidate whose simulated quality dropped between two runs and not one that stayed the same, compares an
//! incomplete run on what it has; `evalh runs list|prune|index`, and `index.html` (checked in headless Chromium when
//! it is installed).

use crate::common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The demo classification suite (110 items) under one name, with a candidate `flash` of the given quality, an
/// unchanged candidate `steady`, and a seed: a later run of "the same suite" after the provider changed its model.
fn demo_suite(flash_quality: f64, seed: u64) -> String {
    let dataset = root().join("datasets/classify/tickets.jsonl");
    format!(
        r#"name: drift
task: classification
dataset: {{path: "{}", id: id, expected: label}}
labels: [billing, technical_issue, account_access, shipping, refund_request, feature_request]
prompt:
  system: "Classify into {{{{ labels | join(', ') }}}}."
  user: "Ticket: {{{{ text }}}}"
providers:
  - {{id: premium, role: baseline, kind: sim, model: sim-premium, price: {{input_per_mtok: 2.5, output_per_mtok: 10}}, sim: {{quality: 0.93}}}}
  - {{id: flash, kind: sim, model: sim-flash, price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}, sim: {{quality: {flash_quality}}}}}
  - {{id: steady, kind: sim, model: sim-steady, price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}, sim: {{quality: 0.9}}}}
run: {{seed: {seed}, concurrency: 32}}
"#,
        dataset.display()
    )
}

fn runs_under(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.join("suite.yaml").is_file())
        .collect();
    v.sort();
    v
}

/// Run `suite` (a file name in `d`) and return the new run directory.
fn run(d: &Path, suite: &str) -> PathBuf {
    let before = if d.join("reports").is_dir() {
        runs_under(&d.join("reports"))
    } else {
        vec![]
    };
    let out = evalh(d, &["run", suite, "--no-progress"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let after = runs_under(&d.join("reports"));
    after
        .into_iter()
        .find(|p| !before.contains(p))
        .expect("a new run directory")
}

fn provider<'a>(c: &'a Value, id: &str) -> &'a Value {
    c["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {c}"))
}

fn compare_json(d: &Path, a: &Path, b: &Path) -> Value {
    let out = evalh(
        d,
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn compare_flags_a_candidate_whose_quality_dropped_and_not_an_unchanged_one() {
    // The same seed: an unchanged (temperature-0) model gives the same answers again; flash's model got worse.
    // (How often a re-run with sampling noise is flagged by chance is measured in src/stats/paired.rs.)
    let d = fixture(&[
        ("a.yaml", &demo_suite(0.9, 7)),
        ("b.yaml", &demo_suite(0.6, 7)),
    ]);
    let a = run(d.path(), "a.yaml");
    let b = run(d.path(), "b.yaml");
    let c = compare_json(d.path(), &a, &b);
    assert_eq!(c["suite"], "drift");
    assert_eq!(c["shared_items"], 110);
    assert_eq!(c["gate_metric"], "macro_f1");
    let flash = provider(&c, "flash");
    assert_eq!(flash["status"], "worse", "{flash}");
    assert_eq!(flash["n_paired"], 110);
    let gate = flash["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["gate"] == true)
        .unwrap();
    assert_eq!(
        (gate["name"].as_str(), gate["test"].as_str()),
        (Some("macro_f1"), Some("paired bootstrap"))
    );
    assert!(gate["interval"]["upper"].as_f64().unwrap() < 0.0, "{gate}");
    let acc = flash["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "accuracy")
        .unwrap();
    assert_eq!(
        (acc["test"].as_str(), acc["direction"].as_str()),
        (Some("paired t"), Some("worse"))
    );
    assert!(acc["p_value"].as_f64().unwrap() < 0.01, "{acc}");
    assert!(
        flash["flips"]["worse"].as_u64().unwrap() > flash["flips"]["better"].as_u64().unwrap() + 10
    );
    assert_eq!(flash["flips"]["worse_ids"].as_array().unwrap().len(), 10);
    for id in ["steady", "premium"] {
        let p = provider(&c, id);
        assert_eq!(p["status"], "unchanged", "{p}");
        for m in p["metrics"].as_array().unwrap() {
            assert_eq!(
                (m["change"].as_f64(), m["direction"].as_str()),
                (Some(0.0), Some("unchanged")),
                "{p}"
            );
        }
        assert_eq!(
            (p["flips"]["worse"].as_u64(), p["flips"]["better"].as_u64()),
            (Some(0), Some(0))
        );
    }

    let out = evalh(
        d.path(),
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--flips",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(t.contains("flash (candidate): WORSE - macro_f1"), "{t}");
    assert!(
        t.contains("steady (candidate): no significant change"),
        "{t}"
    );
    assert!(t.contains("right -> wrong:") && t.contains("more)"), "{t}");
    assert!(
        t.lines().all(|l| l.chars().count() <= 100
            || l.contains(&*a.to_string_lossy())
            || l.contains(&*b.to_string_lossy())),
        "{t}"
    );

    // Unchanged run against itself: nothing flagged, every change exactly 0.
    let same = compare_json(d.path(), &a, &a);
    for p in same["providers"].as_array().unwrap() {
        assert_eq!(p["status"], "unchanged");
        assert_eq!(p["flips"]["worse"], 0);
    }
}

#[test]
fn compare_labels_an_incomplete_run_and_refuses_runs_of_different_suites() {
    let d = fixture(&[("s.yaml", &sim_suite("")), ("data.jsonl", TICKETS)]);
    let a = run(d.path(), "s.yaml");
    let b = run(d.path(), "s.yaml");
    // Cut run B's journal: two of its records are gone, so B is INCOMPLETE.
    let j = b.join("journal.jsonl");
    let kept: Vec<String> = std::fs::read_to_string(&j)
        .unwrap()
        .lines()
        .skip(2)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&j, kept.concat()).unwrap();
    let c = compare_json(d.path(), &a, &b);
    assert_eq!(c["complete"], serde_json::json!([true, false]));
    assert!(
        c["notes"][0]
            .as_str()
            .unwrap()
            .contains("run B is INCOMPLETE (2 request(s) unsettled)"),
        "{c}"
    );
    let paired: u64 = c["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["n_paired"].as_u64().unwrap())
        .sum();
    assert_eq!(paired, 2 * 6 - 2, "compared on what B has");
    let out = evalh(
        d.path(),
        &["compare", a.to_str().unwrap(), b.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("(INCOMPLETE, 6 items)"),
        "{}",
        text(&out)
    );

    // Another suite's run.
    std::fs::write(
        d.path().join("u.yaml"),
        sim_suite("").replace("name: t", "name: u"),
    )
    .unwrap();
    let u = run(d.path(), "u.yaml");
    let out = evalh(
        d.path(),
        &["compare", a.to_str().unwrap(), u.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not runs of the same suite"),
        "{}",
        text(&out)
    );
    // Not a run directory.
    let out = evalh(d.path(), &["compare", a.to_str().unwrap(), "reports"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a run directory"), "{}", text(&out));
}

/// A hostile suite name: it reaches the index page, which must show it as text.
const HOSTILE: &str = "x\"><img src=x onerror=alert(1)><script>alert(2)</script>";

fn assert_index_self_contained(html: &str) {
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external reference"
    );
    assert!(!html.contains("<script"), "the index needs no script");
    assert!(!html.contains("<img"), "an element from a name");
    assert!(!html.contains("<link") && !html.contains(" src=\""));
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));
}

#[test]
fn runs_list_prune_and_the_index_of_every_run() {
    let hostile = sim_suite("").replace("name: t", &format!("name: '{HOSTILE}'"));
    let d = fixture(&[
        ("t.yaml", &sim_suite("")),
        ("h.yaml", &hostile),
        ("data.jsonl", TICKETS),
    ]);
    let mut t_runs = Vec::new();
    for _ in 0..3 {
        t_runs.push(run(d.path(), "t.yaml"));
    }
    let h = run(d.path(), "h.yaml");
    let reports = d.path().join("reports");

    // index.html was rewritten by each run: every run, each linking its report.
    let html = std::fs::read_to_string(reports.join("index.html")).unwrap();
    assert_index_self_contained(&html);
    assert_eq!(html.matches("<tr class=\"run\"").count(), 4, "{html}");
    assert_eq!(html.matches("<section class=\"suite\"").count(), 2);
    for r in t_runs.iter().chain([&h]) {
        let name = r.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            html.contains(&format!("<a href=\"{name}/report.html\">")),
            "{name}"
        );
    }
    assert!(
        html.contains("x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;"),
        "escaped name"
    );
    assert!(html.contains("<svg"), "quality and cost charts");
    assert!(
        html.contains(">PASS</span>")
            || html.contains(">FAIL</span>")
            || html.contains(">INCONCLUSIVE</span>")
    );

    let out = evalh(d.path(), &["runs", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        list.contains("t (3 runs)") && list.contains("(1 run)"),
        "{list}"
    );
    let pos: Vec<usize> = t_runs
        .iter()
        .map(|r| {
            // The whole name up to its line end: two runs started in the same second are `<stamp>` and `<stamp>-2`.
            list.find(&format!("{}\n", r.file_name().unwrap().to_string_lossy()))
                .expect("listed")
        })
        .collect();
    assert!(pos[2] < pos[1] && pos[1] < pos[0], "newest first: {list}");

    // The oldest t run is in use (a process holds its lock): prune --keep 1 removes only the middle one.
    let lock = std::fs::File::create(t_runs[0].join("run.lock")).unwrap();
    fs4::FileExt::try_lock(&lock).unwrap();
    let out = evalh(d.path(), &["runs", "prune", "--keep", "1", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("would remove 1 run directory"),
        "{}",
        text(&out)
    );
    assert!(
        t_runs.iter().all(|r| r.is_dir()),
        "a dry run deletes nothing"
    );
    let out = evalh(d.path(), &["runs", "prune", "--keep", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("(a process is working in it)"),
        "{}",
        text(&out)
    );
    assert!(t_runs[0].is_dir(), "a locked run is never deleted");
    assert!(!t_runs[1].exists(), "the older unlocked run is deleted");
    assert!(
        t_runs[2].is_dir() && h.is_dir(),
        "the newest run of each suite is kept"
    );
    let html = std::fs::read_to_string(reports.join("index.html")).unwrap();
    assert_eq!(
        html.matches("<tr class=\"run\"").count(),
        3,
        "the index follows the prune"
    );
    assert!(
        html.contains("st-running"),
        "the locked run shows as running"
    );
    drop(lock);

    let out = evalh(d.path(), &["runs", "prune", "--keep", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // `runs index` on an empty folder writes a page that says so.
    let empty = tempfile::tempdir().unwrap();
    let out = evalh(empty.path(), &["runs", "index", "--out", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let page = std::fs::read_to_string(empty.path().join("index.html")).unwrap();
    assert!(page.contains("No run directories yet"));

    match chromium() {
        None => {
            eprintln!("note: /usr/bin/chromium not found; skipping the browser check of index.html")
        }
        Some(bin) => {
            let dom = dump_dom(&bin, &reports.join("index.html"));
            assert_eq!(dom.matches("<tr class=\"run\"").count(), 3, "{dom}");
            assert_eq!(dom.matches("<section class=\"suite\"").count(), 2, "{dom}");
            assert_eq!(
                dom.matches("<circle").count(),
                2 * 2 * 3,
                "2 charts x 2 providers x (2 + 1) runs with results"
            );
            assert!(!dom.contains("<img"), "an injected element reached the DOM");
            assert!(dom.contains(&format!(
                "{}/report.html",
                t_runs[2].file_name().unwrap().to_string_lossy()
            )));
        }
    }
}

fn chromium() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/chromium");
    p.exists().then_some(p)
}

fn dump_dom(bin: &Path, page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--dump-dom",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
