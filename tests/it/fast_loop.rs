//! The fast loop, end to end with the real binary: `evalh init` for every task type (then validate and run offline
//! with no edit), `.env` loading, `--limit` and `--only` on run, plan and validate, and what a resume keeps.

use crate::common;
use common::*;
use std::path::Path;
use std::process::Output;

const TASKS: [&str; 4] = [
    "classification",
    "summarization",
    "extraction",
    "function_calling",
];

fn results(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

fn provider_ids(r: &serde_json::Value) -> Vec<String> {
    r["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// evalh in `dir` with extra environment variables.
fn evalh_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = std::process::Command::new(bin());
    c.args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("EVALH_CACHE_DIR", dir.join(".evalh-cache"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run evalh")
}

/// providers.yaml with its commented real-provider entries uncommented and the sim entries removed.
fn real_providers(text: &str) -> String {
    let body = text
        .split("\n\n")
        .nth(1)
        .expect("a blank line between the sim entries and the commented ones");
    let mut out = String::from("providers:\n");
    for line in body.lines() {
        let l = line.strip_prefix("  # ").expect("a commented entry line");
        out.push_str("  ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[test]
fn init_writes_a_suite_for_every_task_that_validates_and_runs_offline_with_no_edit() {
    let d = tempfile::tempdir().unwrap();
    for task in TASKS {
        let out = evalh(d.path(), &["init", "--task", task, "--dir", task]);
        assert_eq!(out.status.code(), Some(0), "{task}: {}", text(&out));
        for f in ["suite.yaml", "data.jsonl", "providers.yaml"] {
            assert!(d.path().join(task).join(f).is_file(), "{task}: {f}");
        }
        let data = std::fs::read_to_string(d.path().join(task).join("data.jsonl")).unwrap();
        assert_eq!(data.lines().count(), 5, "{task}: 5 items");
        let suite = std::fs::read_to_string(d.path().join(task).join("suite.yaml")).unwrap();
        assert!(suite.contains(&format!("task: {task}")), "{task}");
        assert!(
            suite
                .lines()
                .filter(|l| l.contains(" # ") || l.starts_with('#'))
                .count()
                >= 10,
            "{task}: commented"
        );

        // From inside the folder, as the printed next steps say.
        let w = d.path().join(task);
        let out = evalh(&w, &["validate", "suite.yaml"]);
        assert_eq!(out.status.code(), Some(0), "{task}: {}", text(&out));
        assert!(
            text(&out).contains("5 items, 2 providers"),
            "{task}: {}",
            text(&out)
        );
        let out = evalh(&w, &["run", "suite.yaml", "--no-progress"]);
        assert_eq!(out.status.code(), Some(0), "{task}: {}", text(&out));
        let r = results(&run_dir(&w));
        assert_eq!(r["complete"], true, "{task}");
        assert_eq!(r["task"], task);
        assert_eq!(r["n_items"], 5);
        assert_eq!(
            r["providers"][1]["gate"]["verdict"], "INCONCLUSIVE",
            "{task}: 5 items settle nothing"
        );
        // Exit 0 by `on_inconclusive: warn`, and the last line says so: nothing "passed".
        let said = text(&out).replace("\n  ", " ");
        assert!(
            said.contains("exit 0: no gated candidate failed; cheap INCONCLUSIVE, let through by gate.on_inconclusive: warn"),
            "{task}: {said}"
        );
        assert!(!said.contains("passed"), "{task}: {said}");
        let html = std::fs::read_to_string(run_dir(&w).join("report.html")).unwrap();
        assert!(
            html.contains("Gate: no gated candidate failed; the INCONCLUSIVE ones are let through by gate.on_inconclusive"),
            "{task}: report.html"
        );
        // The providers file, as written, runs offline too.
        let out = evalh(
            &w,
            &[
                "run",
                "suite.yaml",
                "--providers",
                "providers.yaml",
                "--no-progress",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{task}: {}", text(&out));
        // Its commented real-provider entries are valid once uncommented (keys from the environment).
        let real = real_providers(&std::fs::read_to_string(w.join("providers.yaml")).unwrap());
        assert!(real.contains("kind: anthropic") && real.contains("api_key_env: OPENAI_API_KEY"));
        std::fs::write(w.join("real.yaml"), &real).unwrap();
        let keys = [
            ("OPENAI_API_KEY", "k1"),
            ("ANTHROPIC_API_KEY", "k2"),
            ("GEMINI_API_KEY", "k3"),
        ];
        let out = evalh_env(
            &w,
            &["validate", "suite.yaml", "--providers", "real.yaml"],
            &keys,
        );
        assert_eq!(out.status.code(), Some(0), "{task}: {}\n{real}", text(&out));
        assert!(
            text(&out).contains("5 providers (baseline: gpt-4o)"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn init_never_overwrites_and_says_what_to_do() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(evalh(d.path(), &["init"]).status.code(), Some(0));
    let before = std::fs::read_to_string(d.path().join("suite.yaml")).unwrap();
    std::fs::write(d.path().join("data.jsonl"), "mine\n").unwrap();
    let out = evalh(d.path(), &["init", "--task", "extraction"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("would overwrite") && t.contains("suite.yaml") && t.contains("data.jsonl"),
        "{t}"
    );
    assert!(t.contains("help: pick another folder with --dir"), "{t}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("suite.yaml")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("data.jsonl")).unwrap(),
        "mine\n"
    );
    // A file where the folder should be.
    let out = evalh(d.path(), &["init", "--dir", "data.jsonl"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("names a file, not a folder"));
    // An unknown task is a usage error.
    assert_eq!(
        evalh(d.path(), &["init", "--task", "translation"])
            .status
            .code(),
        Some(2)
    );
}

/// A suite whose baseline is a hosted kind: `validate` needs its key (the preflight), nothing is sent.
fn keyed_suite() -> String {
    sim_suite("")
        .replace(
            "  - id: base\n    role: baseline\n    kind: sim\n    model: m-base\n",
            "  - id: base\n    role: baseline\n    kind: openai\n    model: gpt-4o\n    api_key_env: EVALH_LOOP_TEST_KEY\n",
        )
        .replacen("    sim: {quality: 1.0}\n", "", 1)
}

#[test]
fn dot_env_is_read_from_the_current_directory_and_next_to_the_suite() {
    let secret = "sk-loop-test-0123456789";
    let d = fixture(&[("s/s.yaml", &keyed_suite()), ("s/data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["validate", "s/s.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no key anywhere: {}",
        text(&out)
    );
    assert!(text(&out).contains("EVALH_LOOP_TEST_KEY"), "{}", text(&out));

    // Next to the suite.
    std::fs::write(
        d.path().join("s/.env"),
        format!("EVALH_LOOP_TEST_KEY={secret}\n"),
    )
    .unwrap();
    let out = evalh(d.path(), &["validate", "s/s.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("set EVALH_LOOP_TEST_KEY"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(secret), "a value was printed");

    // In the current directory (and not next to the suite).
    std::fs::remove_file(d.path().join("s/.env")).unwrap();
    std::fs::write(
        d.path().join(".env"),
        format!("# keys\nexport EVALH_LOOP_TEST_KEY=\"{secret}\"\n"),
    )
    .unwrap();
    let out = evalh(d.path(), &["plan", "s/s.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(secret));

    // A variable already set in the environment wins over the file, and the file says so.
    let out = evalh_env(
        d.path(),
        &["validate", "s/s.yaml"],
        &[("EVALH_LOOP_TEST_KEY", "from-env")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("already set, kept: EVALH_LOOP_TEST_KEY"),
        "{}",
        text(&out)
    );

    // A malformed file is bad input at file:line, without its value.
    std::fs::write(
        d.path().join(".env"),
        format!("OK=1\nEVALH_LOOP_TEST_KEY='{secret}\n"),
    )
    .unwrap();
    let out = evalh(d.path(), &["validate", "s/s.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(".env:2:1: the value of `EVALH_LOOP_TEST_KEY` never ends"),
        "{}",
        text(&out)
    );
    assert!(
        !text(&out).contains(secret),
        "a value was printed: {}",
        text(&out)
    );
}

fn three_providers() -> String {
    format!(
        "{}  - id: c2\n    kind: sim\n    model: m-c2\n    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}\n    sim: {{quality: 0.9}}\n",
        sim_suite("")
    )
}

#[test]
fn limit_and_only_select_items_and_candidates_and_a_resume_keeps_them() {
    let d = fixture(&[("s.yaml", &three_providers()), ("data.jsonl", TICKETS)]);
    let out = evalh(
        d.path(),
        &["validate", "s.yaml", "--limit", "2", "--only", "c2"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("2 items, 2 providers"),
        "{}",
        text(&out)
    );
    let out = evalh(
        d.path(),
        &["plan", "s.yaml", "--limit", "2", "--only", "c2"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan = text(&out);
    assert!(
        plan.contains("c2") && plan.contains("base") && !plan.contains("cand"),
        "{plan}"
    );

    let out = evalh(
        d.path(),
        &[
            "run",
            "s.yaml",
            "--limit",
            "4",
            "--only",
            "c2",
            "--no-progress",
        ],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let dir = run_dir(d.path());
    let r = results(&dir);
    assert_eq!(r["n_items"], 4);
    assert_eq!(provider_ids(&r), ["base", "c2"]);
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 8, "4 items x 2 providers");
    let resolved = std::fs::read_to_string(dir.join("suite.yaml")).unwrap();
    assert!(resolved.contains("limit: 4"), "{resolved}");
    assert!(!resolved.contains("id: cand"), "{resolved}");

    // A resume keeps the selection; giving it again is refused.
    let rd = dir.to_str().unwrap();
    let out = evalh(d.path(), &["run", "--resume", rd, "--limit", "5"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cannot be given with --resume"),
        "{}",
        text(&out)
    );
    let out = evalh(d.path(), &["run", "--resume", rd, "--no-progress"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let r = results(&dir);
    assert_eq!(
        (r["n_items"].as_u64(), provider_ids(&r)),
        (Some(4), vec!["base".to_string(), "c2".into()])
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("journal.jsonl")).unwrap(),
        journal,
        "nothing resent"
    );

    // --limit overrides dataset.limit; bad selections are bad input with the fix.
    let limited = three_providers().replace("expected: label}", "expected: label, limit: 1}");
    std::fs::write(d.path().join("s.yaml"), limited).unwrap();
    let out = evalh(d.path(), &["validate", "s.yaml", "--limit", "3"]);
    assert!(
        text(&out).contains("3 items, 3 providers"),
        "{}",
        text(&out)
    );
    let out = evalh(d.path(), &["run", "s.yaml", "--only", "cnad"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--only cnad: no provider has the id `cnad`"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("did you mean `cand`?"),
        "{}",
        text(&out)
    );
    let out = evalh(d.path(), &["plan", "s.yaml", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--limit 0 selects no item"),
        "{}",
        text(&out)
    );
}
