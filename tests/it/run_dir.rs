//! Run directories never lose, never leak, never pay twice — against the real binary: one process per run directory
//! (the second names the first), distinct directories for runs started together, a dataset that changed or went away
//! refused, an edited suite.yaml refused, report files replaced atomically, corruption told apart from a torn write,
//! a cost JSON cannot hold refused loudly, and the interrupt message naming the real directory.

use crate::common;
use crate::durability_util;
use common::*;
use durability_util::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("EVALH_CACHE_DIR", dir.join(".evalh-cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn evalh")
}

fn run_ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = evalh(dir, args);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        text(&o)
    );
    o
}

/// Wait until `cond` holds (at most 60 s).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn journal_lines(run: &Path) -> usize {
    std::fs::read_to_string(run.join("journal.jsonl"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// A sim suite whose requests take ~0.4 s each, one at a time: a run of it lasts long enough to be raced.
fn slow_suite() -> String {
    suite(
        ", latency_ms: {p50: 400, p99: 500}",
        "concurrency: 1, seed: 3",
        "",
    )
}

#[test]
fn a_second_process_on_a_running_directory_is_refused_and_names_the_first() {
    let d = fixture(&[("s.yaml", &slow_suite()), ("data.jsonl", &dataset(40))]);
    let dir = d.path();
    let first = spawn(dir, &["run", "s.yaml", "--out", "reports", "--no-progress"]);
    let reports = dir.join("reports");
    wait_for("the first run's directory", || {
        std::fs::read_dir(&reports).is_ok_and(|mut r| r.next().is_some())
    });
    let run = run_dir(dir);
    wait_for("the first record", || journal_lines(&run) > 0);

    // A resume of the same directory: refused before sending anything, naming the holder.
    let o = evalh(
        dir,
        &["run", "--resume", run.to_str().unwrap(), "--no-progress"],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    assert!(t.contains(&format!("pid {}", first.id())), "{t}");
    assert!(
        t.contains("in use by another evalh") && t.contains("started "),
        "{t}"
    );
    // Scoring it meanwhile says the run is going on.
    let o = evalh(dir, &["score", run.to_str().unwrap()]);
    assert!(text(&o).contains("is being run right now"), "{}", text(&o));

    // A new run of the same suite is not told to resume a run that is in progress. (A zero budget stops it at once.)
    let o = evalh(
        dir,
        &[
            "run",
            "s.yaml",
            "--out",
            "reports",
            "--no-progress",
            "--max-cost",
            "0",
        ],
    );
    let t = text(&o);
    assert!(!t.contains("is incomplete"), "{t}");
    assert!(
        t.contains("in progress") && t.contains(&format!("pid {}", first.id())),
        "{t}"
    );

    // SIGTERM: the first run stops and names its real directory.
    let st = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = first.wait_with_output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    let name = run.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        t.contains(&format!("terminated: finishing in-flight requests; resume with `evalh run --resume reports/{name}`")),
        "{t}"
    );
    assert!(!t.contains("<run dir>"), "{t}");

    // The lock went with the process: the resume now runs, and completes the run.
    let n = journal_lines(&run);
    assert!(n < 80, "{n}");
    run_ok(
        dir,
        &["run", "--resume", run.to_str().unwrap(), "--no-progress"],
    );
    assert_eq!(journal_keys(&run, false).len(), 80);
}

#[test]
fn runs_started_together_get_their_own_directories() {
    let s = suite("", "concurrency: 4, seed: 5", "");
    let d = fixture(&[("s.yaml", &s), ("data.jsonl", &dataset(30))]);
    let dir = d.path();
    let children: Vec<Child> = (0..4)
        .map(|_| spawn(dir, &["run", "s.yaml", "--out", "reports", "--no-progress"]))
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    }
    // reports/ also holds index.html (every run of every suite): the run directories are its folders.
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 4, "{runs:?}");
    for r in &runs {
        // Each directory holds exactly one run: every request once.
        assert_eq!(journal_lines(r), 60, "{}", r.display());
        assert_eq!(journal_keys(r, false).len(), 60);
    }
}

fn results(run: &Path) -> String {
    without_wallclock(&std::fs::read(run.join("results.json")).unwrap())
}

#[test]
fn a_copied_dataset_makes_the_run_self_contained_and_a_changed_copy_is_refused() {
    let d = fixture(&[
        ("s.yaml", &suite("", "seed: 2", "")),
        ("data.jsonl", &dataset(30)),
    ]);
    let dir = d.path();
    run_ok(dir, &["run", "s.yaml", "--out", "reports", "--no-progress"]);
    let run = run_dir(dir);
    let before = results(&run);
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["dataset"]["copy"], "dataset.jsonl", "{m}");
    // The original is cut in half and then removed: the run still scores, reports and resumes from its copy.
    let half: String = dataset(30)
        .lines()
        .take(15)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("data.jsonl"), half).unwrap();
    run_ok(dir, &["score", run.to_str().unwrap()]);
    assert_eq!(results(&run), before);
    std::fs::remove_file(dir.join("data.jsonl")).unwrap();
    run_ok(dir, &["report", run.to_str().unwrap()]);
    run_ok(
        dir,
        &["run", "--resume", run.to_str().unwrap(), "--no-progress"],
    );
    assert_eq!(results(&run), before);
    // An edited copy is refused by score, report and --resume, naming the file and the fix.
    let copy = run.join("dataset.jsonl");
    let text_of_copy = std::fs::read_to_string(&copy).unwrap();
    std::fs::write(&copy, text_of_copy.replace("\"billing\"", "\"bug\"")).unwrap();
    for args in [
        vec!["score", run.to_str().unwrap()],
        vec!["report", run.to_str().unwrap()],
        vec!["run", "--resume", run.to_str().unwrap()],
    ] {
        let o = evalh(dir, &args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(
            t.contains(&copy.display().to_string()) && t.contains("changed"),
            "{t}"
        );
        assert!(t.contains("help: restore the dataset"), "{t}");
    }
    assert_eq!(results(&run), before, "nothing was rewritten");
}

#[test]
fn a_large_dataset_is_checked_by_its_hash_when_gone_or_changed() {
    // Over the 32 MiB copy limit; `limit` keeps the run itself small.
    let mut big = dataset(12);
    let filler = "x".repeat(1 << 20);
    for i in 0.. {
        if big.len() > 33 << 20 {
            break;
        }
        big.push_str(&format!(
            "{{\"id\": \"pad{i}\", \"text\": \"{filler}\", \"label\": \"bug\"}}\n"
        ));
    }
    let s = suite("", "seed: 4", "").replace("expected: label}", "expected: label, limit: 12}");
    let d = fixture(&[("s.yaml", &s), ("data.jsonl", &big)]);
    let dir = d.path();
    run_ok(dir, &["run", "s.yaml", "--out", "reports", "--no-progress"]);
    let run = run_dir(dir);
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert!(m["dataset"]["copy"].is_null(), "{m}");
    assert_eq!(m["dataset"]["bytes"].as_u64(), Some(big.len() as u64));
    let before = results(&run);
    let data = dir.join("data.jsonl");
    let data_abs = std::fs::canonicalize(&data).unwrap();
    // Moved away: refused, naming where it must be.
    std::fs::rename(&data, dir.join("moved.jsonl")).unwrap();
    let o = evalh(dir, &["report", run.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("is gone") && t.contains(&data_abs.display().to_string()),
        "{t}"
    );
    // Half of it deleted: refused (it used to rescore half the items silently).
    std::fs::write(&data, &big[..big.len() / 2]).unwrap();
    for args in [
        vec!["score", run.to_str().unwrap()],
        vec!["run", "--resume", run.to_str().unwrap()],
    ] {
        let o = evalh(dir, &args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains("changed since the run started"), "{t}");
    }
    // Put back: accepted again.
    std::fs::rename(dir.join("moved.jsonl"), &data).unwrap();
    run_ok(dir, &["score", run.to_str().unwrap()]);
    assert_eq!(results(&run), before);
}

#[test]
fn an_edited_suite_yaml_does_not_get_the_old_answers() {
    let d = fixture(&[
        ("s.yaml", &suite("", "seed: 6", "")),
        ("data.jsonl", &dataset(20)),
    ]);
    let dir = d.path();
    run_ok(dir, &["run", "s.yaml", "--out", "reports", "--no-progress"]);
    let run = run_dir(dir);
    let n = journal_lines(&run);
    assert_eq!(n, 40);
    // The journal is cut short, as by a crash: a resume has requests to send.
    let journal = run.join("journal.jsonl");
    let kept: String = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .take(25)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&journal, kept).unwrap();
    let n = 25;
    let suite_file = run.join("suite.yaml");
    let original = std::fs::read_to_string(&suite_file).unwrap();
    // The candidate's model (or its prompt) edited: resume, score and report refuse, naming the provider.
    for edited in [
        original.replace("model: m-cand", "model: m-other"),
        original.replace("{{ text }}", "Ticket: {{ text }}"),
    ] {
        assert_ne!(edited, original);
        std::fs::write(&suite_file, &edited).unwrap();
        for args in [
            vec!["run", "--resume", run.to_str().unwrap()],
            vec!["score", run.to_str().unwrap()],
            vec!["report", run.to_str().unwrap()],
        ] {
            let o = evalh(dir, &args);
            let t = text(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
            assert!(t.contains(&suite_file.display().to_string()), "{t}");
            assert!(t.contains("`cand`") && t.contains("undo the edit"), "{t}");
        }
        assert_eq!(journal_lines(&run), n, "nothing was sent");
    }
    // The gate may be edited (that is what re-scoring is for); the original settings resume and complete the run.
    let gate_edited = original.replace("1000000", "2000000");
    assert_ne!(gate_edited, original);
    std::fs::write(&suite_file, gate_edited).unwrap();
    // The cut journal is an incomplete run: re-scoring it is allowed and says so (exit 3, no verdicts).
    let o = evalh(dir, &["score", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    run_ok(
        dir,
        &["run", "--resume", run.to_str().unwrap(), "--no-progress"],
    );
    assert_eq!(journal_keys(&run, true).len(), 40);
}

#[test]
fn report_files_are_replaced_not_rewritten_in_place() {
    let d = fixture(&[
        ("s.yaml", &suite("", "seed: 7", "")),
        ("data.jsonl", &dataset(12)),
    ]);
    let dir = d.path();
    run_ok(
        dir,
        &[
            "run",
            "s.yaml",
            "--out",
            "reports",
            "--no-progress",
            "--junit",
            "j.xml",
            "--markdown",
            "m.md",
        ],
    );
    let run = run_dir(dir);
    let files = [
        run.join("results.json"),
        run.join("report.html"),
        dir.join("j.xml"),
        dir.join("m.md"),
    ];
    // A second name for each file, through which the old content is then marked: a file rewritten in place would
    // show the new report through it too; a file replaced by a rename leaves the old one untouched.
    for (i, f) in files.iter().enumerate() {
        let link = dir.join(format!("old-{i}"));
        std::fs::hard_link(f, &link).unwrap();
        std::fs::write(&link, "OLD").unwrap();
    }
    run_ok(
        dir,
        &[
            "report",
            run.to_str().unwrap(),
            "--junit",
            "j.xml",
            "--markdown",
            "m.md",
        ],
    );
    for (i, f) in files.iter().enumerate() {
        assert_eq!(
            std::fs::read_to_string(dir.join(format!("old-{i}"))).unwrap(),
            "OLD"
        );
        let new = std::fs::read_to_string(f).unwrap();
        assert!(new.len() > 100 && new != "OLD", "{}", f.display());
    }
    serde_json::from_str::<Value>(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let leftovers: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_corrupt_line_is_not_called_a_torn_write() {
    let d = fixture(&[
        ("s.yaml", &suite("", "seed: 8", "")),
        ("data.jsonl", &dataset(10)),
    ]);
    let dir = d.path();
    run_ok(dir, &["run", "s.yaml", "--out", "reports", "--no-progress"]);
    let run = run_dir(dir);
    let journal = run.join("journal.jsonl");
    let text_before = std::fs::read_to_string(&journal).unwrap();
    let mut lines: Vec<&str> = text_before.lines().collect();
    lines.insert(5, "{\"item_id\": \"k00001\", \"provider_id\": broken");
    std::fs::write(&journal, lines.join("\n") + "\n").unwrap();
    let o = run_ok(dir, &["score", run.to_str().unwrap()]);
    let t = text(&o);
    assert!(t.contains("corrupt") && t.contains("line 6"), "{t}");
    assert!(!t.contains("torn write"), "{t}");
    // An unfinished last line is the torn write a crash leaves.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"item_id\": \"k0000").unwrap();
    drop(f);
    let o = run_ok(dir, &["score", run.to_str().unwrap()]);
    let t = text(&o);
    assert!(t.contains("line 6") && t.contains("corrupt"), "{t}");
    assert!(
        t.contains("unfinished last line 22") && t.contains("torn write"),
        "{t}"
    );
}

#[test]
fn a_cost_the_journal_cannot_hold_stops_the_run_loudly_and_leaves_no_unreadable_line() {
    for price in ["1.0e308", ".nan", ".inf"] {
        let s = suite("", "seed: 9", "").replace(
            "price: {input_per_mtok: 0.1, output_per_mtok: 0.4}",
            &format!("price: {{input_per_mtok: {price}, output_per_mtok: 0.4}}"),
        );
        let d = fixture(&[("s.yaml", &s), ("data.jsonl", &dataset(6))]);
        let dir = d.path();
        let o = evalh(dir, &["run", "s.yaml", "--out", "reports", "--no-progress"]);
        let t = text(&o);
        // Refused by validation (a price must be finite), or at the first record whose cost is not finite.
        assert_eq!(o.status.code(), Some(2), "{price}: {t}");
        assert!(t.contains("price"), "{price}: {t}");
        assert!(
            !t.contains("torn write") && !t.contains("NaN-"),
            "{price}: {t}"
        );
        if let Ok(rd) = std::fs::read_dir(dir.join("reports")) {
            for run in rd {
                let j = run.unwrap().path().join("journal.jsonl");
                for line in std::fs::read_to_string(&j).unwrap_or_default().lines() {
                    let v: Value = serde_json::from_str(line).unwrap();
                    assert!(v["cost_usd"].is_number(), "{price}: {line}");
                }
            }
        }
    }
}
