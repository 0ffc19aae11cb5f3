//! Bad input: every case exits 2 with the file, the line and a fix — never a panic.

use crate::common;
use common::*;

fn expect_bad(files: &[(&str, &str)], args: &[&str], needles: &[&str]) {
    let d = fixture(files);
    let out = evalh(d.path(), args);
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, got {:?}:\n{t}",
        out.status.code()
    );
    assert!(!t.contains("panicked"), "{t}");
    for n in needles {
        assert!(t.contains(n), "missing {n:?} in:\n{t}");
    }
}

#[test]
fn misspelt_key_gets_location_and_did_you_mean() {
    let suite = sim_suite("run: {concurency: 4}\n");
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &[
            "s.yaml:",
            "unknown field `concurency`",
            "did you mean `concurrency`?",
        ],
    );
}

#[test]
fn wrong_type_is_located() {
    let suite = sim_suite("run: {concurrency: many}\n");
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &["s.yaml:", "invalid type"],
    );
}

#[test]
fn misspelt_task_variant() {
    let suite = sim_suite("").replace("task: classification", "task: clasification");
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &["s.yaml:2:", "did you mean `classification`?"],
    );
}

#[test]
fn no_baseline() {
    let suite = sim_suite("").replace("role: baseline", "role: candidate");
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &["no provider has `role: baseline`"],
    );
}

#[test]
fn two_baselines_point_at_the_second() {
    let suite = sim_suite("").replace(
        "    kind: sim\n    model: m-cand",
        "    role: baseline\n    kind: sim\n    model: m-cand",
    );
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &["s.yaml:16:", "exactly one is allowed"],
    );
}

#[test]
fn duplicate_provider_ids() {
    let suite = sim_suite("").replace("id: cand", "id: base");
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &["s.yaml:15:", "duplicate provider id `base`"],
    );
}

#[test]
fn missing_dataset_file() {
    expect_bad(
        &[("s.yaml", &sim_suite(""))],
        &["validate", "s.yaml"],
        &["s.yaml:3:", "dataset file", "does not exist"],
    );
}

#[test]
fn dataset_label_not_in_suite() {
    let data = format!("{TICKETS}{{\"id\": \"a7\", \"text\": \"x\", \"label\": \"shipping\"}}\n");
    expect_bad(
        &[("s.yaml", &sim_suite("")), ("data.jsonl", &data)],
        &["validate", "s.yaml"],
        &["data.jsonl:7:", "\"shipping\"", "does not list"],
    );
}

#[test]
fn duplicate_item_ids() {
    let data = TICKETS.replace("\"a2\"", "\"a1\"");
    expect_bad(
        &[("s.yaml", &sim_suite("")), ("data.jsonl", &data)],
        &["validate", "s.yaml"],
        &["data.jsonl:2:", "duplicate item id `a1`"],
    );
}

#[test]
fn broken_jsonl_row() {
    let data = TICKETS.replace("{\"id\": \"a3\"", "{\"id\": \"a3\",,");
    expect_bad(
        &[("s.yaml", &sim_suite("")), ("data.jsonl", &data)],
        &["validate", "s.yaml"],
        &["data.jsonl:3:", "not valid JSON"],
    );
}

#[test]
fn undefined_template_variable_names_template_and_item() {
    let suite = sim_suite("").replace("user: \"{{ text }}\"", "user: \"{{ txt }}\"");
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &["prompt.user", "item `a1`", "undefined"],
    );
}

/// Prompts are checked in parallel before anything is sent; the error reported must still be the first failing item
/// in dataset order (here rows 61 and 151 lack the field, and many rows sit on either side of both).
#[test]
fn template_check_reports_the_first_failing_item_in_dataset_order() {
    let mut data = String::new();
    for i in 0..400 {
        let label = ["billing", "bug", "feature"][i % 3];
        if i == 60 || i == 150 {
            data.push_str(&format!("{{\"id\": \"r{i}\", \"label\": \"{label}\"}}\n"));
        } else {
            data.push_str(&format!(
                "{{\"id\": \"r{i}\", \"text\": \"t {i}\", \"label\": \"{label}\"}}\n"
            ));
        }
    }
    for _ in 0..3 {
        expect_bad(
            &[("s.yaml", &sim_suite("")), ("data.jsonl", &data)],
            &["validate", "s.yaml"],
            &["prompt.user", "item `r60`", "line 61"],
        );
    }
}

#[test]
fn missing_api_key_env_is_reported_before_any_request() {
    let suite = sim_suite("").replace(
        "    kind: sim\n    model: m-cand\n    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}\n    sim: {quality: 1.0}",
        "    kind: openai\n    model: gpt-4o-mini\n    base_url: http://127.0.0.1:9\n    api_key_env: EVALH_TEST_KEY_THAT_IS_NOT_SET",
    );
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["run", "s.yaml"],
        &[
            "s.yaml:19:",
            "1 environment variable is not set: EVALH_TEST_KEY_THAT_IS_NOT_SET (cand.api_key_env)",
            "help: export EVALH_TEST_KEY_THAT_IS_NOT_SET=...",
        ],
    );
}

#[test]
fn unknown_model_without_price() {
    let suite = sim_suite("")
        .replace(
            "    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}\n",
            "",
        )
        .replace(
            "kind: sim\n    model: m-cand",
            "kind: openai\n    model: my-model",
        );
    let suite = suite.replace("    sim: {quality: 1.0}\n", "").replacen(
        "model: m-base\n",
        "model: m-base\n    sim: {quality: 1.0}\n",
        1,
    );
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &["no price known for model `my-model`"],
    );
}

#[test]
fn empty_suite_file() {
    expect_bad(
        &[("s.yaml", "")],
        &["validate", "s.yaml"],
        &["s.yaml:1:", "empty"],
    );
}

#[test]
fn suite_path_is_a_directory() {
    let d = fixture(&[("dir/x", "")]);
    let out = evalh(d.path(), &["validate", "dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("is a directory"));
}

#[test]
fn csv_quoting_error_names_the_row() {
    let csv = "id,text,label\n1,\"ok\",billing\n2,\"never closed,bug\n3,x,bug\n";
    let suite = sim_suite("").replace("data.jsonl", "data.csv");
    expect_bad(
        &[("s.yaml", &suite), ("data.csv", csv)],
        &["validate", "s.yaml"],
        &["data.csv:3"],
    );
}

#[test]
fn usage_error_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let out = evalh(d.path(), &["run", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A suite whose candidates are three hosted providers: two share one unset key, one has an unset header variable.
fn hosted_suite() -> String {
    sim_suite("").replace(
        "  - id: cand\n    kind: sim\n    model: m-cand\n    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}\n    sim: {quality: 1.0}\n",
        "  - id: mini\n    kind: openai\n    model: gpt-4o-mini\n    api_key_env: EVALH_TEST_UNSET_KEY_A\n\
         \x20 - id: nano\n    kind: openai\n    model: gpt-4.1-nano\n    api_key_env: EVALH_TEST_UNSET_KEY_A\n\
         \x20 - id: claude\n    kind: anthropic\n    model: claude-haiku-4-5\n    api_key_env: EVALH_TEST_UNSET_KEY_B\n\
         \x20   headers: {X-Route: \"${EVALH_TEST_UNSET_ROUTE}\"}\n",
    )
}

#[test]
fn every_unset_variable_is_reported_at_once_and_nothing_is_created() {
    let files = [
        ("s.yaml", hosted_suite()),
        ("data.jsonl", TICKETS.to_string()),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let d = fixture(&files);
    for cmd in ["validate", "plan", "run"] {
        let out = evalh(d.path(), &[cmd, "s.yaml"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {t}");
        assert!(
            t.contains("3 environment variables are not set: EVALH_TEST_UNSET_KEY_A (mini.api_key_env, nano.api_key_env); \
                        EVALH_TEST_UNSET_KEY_B (claude.api_key_env); \
                        EVALH_TEST_UNSET_ROUTE (claude.headers.X-Route)"),
            "{cmd}: {t}"
        );
        assert!(t.contains("s.yaml:18:"), "{cmd}: {t}");
        assert_eq!(
            t.matches("environment variable").count(),
            1,
            "one error: {t}"
        );
    }
    assert!(!d.path().join("reports").exists(), "no run directory");
}

#[test]
fn a_hosted_provider_needs_a_credential_unless_it_says_auth_none() {
    let suite = sim_suite("").replace(
        "    kind: sim\n    model: m-cand\n    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}\n    sim: {quality: 1.0}",
        "    kind: openai\n    model: local-llama\n    base_url: http://127.0.0.1:9/v1\n    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}",
    );
    expect_bad(
        &[("s.yaml", &suite), ("data.jsonl", TICKETS)],
        &["validate", "s.yaml"],
        &[
            "s.yaml:15:",
            "provider `cand` (kind openai) has no credential",
            "`auth: none`",
        ],
    );
    let local = suite.replace("kind: openai\n", "kind: openai\n    auth: none\n");
    let d = fixture(&[("s.yaml", &local), ("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["validate", "s.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // An auth header counts as a credential too.
    let header = suite.replace(
        "kind: openai\n",
        "kind: openai\n    headers: {Authorization: \"Bearer ${EVALH_TEST_HEADER_TOKEN}\"}\n",
    );
    let d = fixture(&[("s.yaml", &header), ("data.jsonl", TICKETS)]);
    let out = std::process::Command::new(bin())
        .args(["validate", "s.yaml"])
        .current_dir(d.path())
        .env("EVALH_TEST_HEADER_TOKEN", "t0k3n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn unwritable_report_paths_are_bad_input_before_the_run() {
    let files = [
        ("s.yaml", sim_suite("")),
        ("data.jsonl", TICKETS.to_string()),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let d = fixture(&files);
    std::fs::create_dir(d.path().join("a-dir")).unwrap();
    let cases: [(&[&str], &str); 2] = [
        (
            &["--junit", "no/such/dir/j.xml"],
            "--junit: folder no/such/dir does not exist",
        ),
        (&["--markdown", "a-dir"], "--markdown names a directory"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["run", "s.yaml", "--no-cache", "--no-progress"];
        args.extend_from_slice(extra);
        let out = evalh(d.path(), &args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains(needle) && t.contains("help:"), "{t}");
    }
    let out = std::process::Command::new(bin())
        .args(["run", "s.yaml", "--no-cache", "--no-progress"])
        .current_dir(d.path())
        .env("EVALH_CACHE_DIR", d.path().join(".cache"))
        .env("GITHUB_STEP_SUMMARY", d.path().join("missing/summary.md"))
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("$GITHUB_STEP_SUMMARY: folder"), "{t}");
    assert!(!d.path().join("reports").exists(), "nothing ran: {t}");
    // The checks leave nothing behind, and a writable path passes.
    let out = evalh(
        d.path(),
        &[
            "run",
            "s.yaml",
            "--no-cache",
            "--no-progress",
            "--junit",
            "j.xml",
            "--markdown",
            "a-dir/s.md",
        ],
    );
    // Six items are too few for a verdict: INCONCLUSIVE, exit 1 — the gate's code, not an I/O error.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(d.path().join("j.xml").is_file() && d.path().join("a-dir/s.md").is_file());
}

#[test]
fn resume_with_a_suite_or_providers_is_a_usage_error() {
    let d = fixture(&[
        ("s.yaml", &sim_suite("")),
        ("data.jsonl", TICKETS),
        ("p.yaml", "providers: []\n"),
    ]);
    for extra in [&["s.yaml"][..], &["--providers", "p.yaml"][..]] {
        let mut args = vec!["run", "--resume", "reports/x"];
        args.extend_from_slice(extra);
        let out = evalh(d.path(), &args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains("cannot be used with"), "{t}");
    }
}

#[test]
fn devices_and_oversized_files_are_refused_without_reading_them() {
    let d = fixture(&[("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["validate", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("/dev/zero:1: suite file is a device, not a file"),
        "{}",
        text(&out)
    );
    // A dataset path naming a device, and a (sparse) dataset file above the cap.
    for (path, needle) in [
        ("/dev/zero", "dataset is a device"),
        ("big.jsonl", "dataset is larger than 1024 MiB"),
    ] {
        let f = std::fs::File::create(d.path().join("big.jsonl")).unwrap();
        f.set_len(evalh::dataset::MAX_DATASET_BYTES + 1).unwrap();
        let suite =
            sim_suite("").replace("path: data.jsonl", &format!("path: {path}, format: jsonl"));
        std::fs::write(d.path().join("s.yaml"), suite).unwrap();
        let started = std::time::Instant::now();
        let out = evalh(d.path(), &["validate", "s.yaml"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains(needle) && t.contains("help:"), "{t}");
        assert!(
            started.elapsed().as_secs() < 10,
            "not read: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn huge_repeats_fail_plan_at_once() {
    let suite = sim_suite("run: {repeats: 4294967295}\n");
    let d = fixture(&[("s.yaml", &suite), ("data.jsonl", TICKETS)]);
    let started = std::time::Instant::now();
    let out = evalh(d.path(), &["plan", "s.yaml", "--no-cache"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("s.yaml:20:7:") && t.contains("run.repeats must be between 1 and 100"),
        "{t}"
    );
    assert!(started.elapsed().as_secs() < 10);
}

/// Standard output closed before evalh writes (`evalh … | head -0`): status 141 as a tool stopped by SIGPIPE, no
/// panic message, never 0 — for a command that prints a verdict and one that lists.
#[test]
fn a_closed_stdout_ends_the_command_quietly_with_141() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        &["init"][..],
        &["validate", "suite.yaml"],
        &["run", "suite.yaml", "--no-progress"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_evalh"))
            .args(args)
            .current_dir(d.path())
            .env("EVALH_CACHE_DIR", d.path().join("cache"))
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
