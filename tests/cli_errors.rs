//! Bad input: every case exits 2 with the file, the line and a fix — never a panic.

mod common;
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
        &["EVALH_TEST_KEY_THAT_IS_NOT_SET is not set"],
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
