//! Helpers shared by the integration tests: run the real binary, write fixture suites into temp dirs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// Path of the built binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_evalh"))
}

/// Run evalh with args in `dir`.
pub fn evalh(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "true")
        // Each test directory gets its own response cache: tests never share (or pollute) ~/.cache/evalh.
        .env("EVALH_CACHE_DIR", dir.join(".evalh-cache"))
        .output()
        .expect("run evalh")
}

/// Run evalh with stdin.
pub fn evalh_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = std::process::Command::new(bin())
        .args(args)
        .env(
            "EVALH_CACHE_DIR",
            std::env::temp_dir().join("evalh-test-cache-unused"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn evalh");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    out
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Write `files` (relative path, content) into a fresh temp dir.
pub fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for (p, c) in files {
        let path = d.path().join(p);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, c).expect("write");
    }
    d
}

/// A small classification dataset (JSONL).
pub const TICKETS: &str = r#"{"id": "a1", "text": "I was charged twice this month", "label": "billing"}
{"id": "a2", "text": "The app crashes when I open settings", "label": "bug"}
{"id": "a3", "text": "Please refund my last payment", "label": "billing"}
{"id": "a4", "text": "Login page shows error 500", "label": "bug"}
{"id": "a5", "text": "Can you add dark mode?", "label": "feature"}
{"id": "a6", "text": "Invoice shows the wrong VAT number", "label": "billing"}
"#;

/// A valid sim suite over TICKETS; `extra` is appended (top-level keys).
pub fn sim_suite(extra: &str) -> String {
    format!(
        r#"name: t
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  system: "Classify into {{{{ labels | join(', ') }}}}."
  user: "{{{{ text }}}}"
providers:
  - id: base
    role: baseline
    kind: sim
    model: m-base
    price: {{input_per_mtok: 2.5, output_per_mtok: 10}}
    sim: {{quality: 1.0}}
  - id: cand
    kind: sim
    model: m-cand
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
    sim: {{quality: 1.0}}
{extra}"#
    )
}

/// The single run directory under `dir/reports`.
pub fn run_dir(dir: &Path) -> PathBuf {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir.join("reports"))
        .expect("reports dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    entries.pop().expect("a run directory")
}

/// stdout + stderr as one string.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
