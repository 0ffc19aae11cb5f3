//! Property test of the suite and dataset parsers: random mutations of valid suites and datasets (truncation, flipped
//! bytes, inserted tabs and byte-order marks, duplicated, deleted and swapped lines, stray YAML/JSON/Jinja tokens)
//! must never panic; each is either accepted or rejected as bad input (exit 2) naming a file and a line.
//!
//! Thousands of cases run in-process through `evalh::app::prepare` (what `validate` and `run` call); a sample also
//! runs through the real binary. Set EVALH_FUZZ_SEED to replay a seed, EVALH_FUZZ_CASES to run more.

use crate::common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

const TOKENS: &[&str] = &[
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "*a",
    "&a ",
    "\"",
    "'",
    "{{",
    "}}",
    "{%",
    "%}",
    "#",
    "\\",
    "\u{0}",
    "\t",
    "\u{feff}",
    "\r",
    "\n",
    "  ",
    ",",
    "null",
    "-1",
    "1e999",
    "NaN",
    "~",
    "!!binary ",
    "? ",
    "|",
    ">",
    "é",
    "\u{202e}",
];

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        let lines: Vec<usize> = std::iter::once(0)
            .chain(
                b.iter()
                    .enumerate()
                    .filter(|(_, c)| **c == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .filter(|&i| i <= b.len())
            .collect();
        let line_start = lines[rng.random_range(0..lines.len())];
        let line_end = b[line_start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |p| line_start + p + 1);
        let pos = rng.random_range(0..=b.len());
        match rng.random_range(0..9) {
            0 => b.truncate(pos),
            1 => {
                for _ in 0..rng.random_range(1..=3) {
                    if !b.is_empty() {
                        let i = rng.random_range(0..b.len());
                        b[i] = rng.random();
                    }
                }
            }
            2 => {
                b.insert(line_start, b'\t');
            }
            3 => {
                let at = if rng.random_bool(0.5) { 0 } else { line_start };
                b.splice(at..at, "\u{feff}".bytes());
            }
            4 => {
                // Duplicate a line: in YAML a duplicate key, in a dataset a duplicate id.
                let line = b[line_start..line_end].to_vec();
                b.splice(line_end..line_end, line);
            }
            5 => {
                b.drain(line_start..line_end);
            }
            6 => {
                let tok = TOKENS[rng.random_range(0..TOKENS.len())];
                b.splice(pos..pos, tok.bytes());
            }
            7 => {
                // Swap this line with another.
                let other = lines[rng.random_range(0..lines.len())];
                if other > line_end {
                    let other_end = b[other..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(b.len(), |p| other + p + 1);
                    let a = b[line_start..line_end].to_vec();
                    let c = b[other..other_end].to_vec();
                    b.splice(other..other_end, a);
                    b.splice(line_start..line_end, c);
                }
            }
            _ => {
                // Duplicate a key inside a JSON row / flow mapping: repeat a `"key": value` or `key: value` pair.
                if let Some(colon) = b[line_start..line_end].iter().position(|&c| c == b':') {
                    let start = b[line_start..line_start + colon]
                        .iter()
                        .rposition(|&c| c == b'{' || c == b',' || c == b' ')
                        .map_or(line_start, |p| line_start + p + 1);
                    let end = b[line_start + colon..line_end]
                        .iter()
                        .position(|&c| c == b',' || c == b'}' || c == b'\n')
                        .map_or(line_end, |p| line_start + colon + p);
                    if start < end {
                        let mut pair = b[start..end].to_vec();
                        pair.extend_from_slice(b", ");
                        b.splice(start..start, pair);
                    }
                }
            }
        }
    }
    b
}

struct Base {
    suite: String,
    dataset_name: &'static str,
    dataset: Vec<u8>,
}

/// The repository's example suites (datasets cut to 15 rows) plus a CSV variant; suites live in `<tmp>/suites/`,
/// next to a `<tmp>/datasets` link to the repository's datasets so their relative paths resolve.
fn bases(tmp: &Path) -> Vec<Base> {
    std::fs::create_dir_all(tmp.join("suites")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root().join("datasets"), tmp.join("datasets")).unwrap();
    let mut out = Vec::new();
    for (suite, data) in [
        ("classify.yaml", "classify/tickets.jsonl"),
        ("extract.yaml", "extract/invoices.jsonl"),
        ("function_call.yaml", "function_call/requests.jsonl"),
        ("summarize.yaml", "summarize/articles.jsonl"),
    ] {
        let s = std::fs::read_to_string(root().join("suites").join(suite)).unwrap();
        let d = std::fs::read_to_string(root().join("datasets").join(data)).unwrap();
        let cut: String = d.lines().take(15).map(|l| format!("{l}\n")).collect();
        out.push(Base {
            suite: s.replace(&format!("../datasets/{data}"), "DATASET"),
            dataset_name: "data.jsonl",
            dataset: cut.into_bytes(),
        });
    }
    let csv = "id,text,label\n1,\"charged twice, again\",billing\n2,app crashes,bug\n3,add dark mode,feature\n";
    let classify = &out[0].suite;
    out.push(Base {
        suite: classify
            .replace(
                "labels: [billing, technical_issue, account_access, shipping, refund_request, feature_request]",
                "labels: [billing, bug, feature]",
            ),
        dataset_name: "data.csv",
        dataset: csv.as_bytes().to_vec(),
    });
    out
}

enum Outcome {
    Accepted,
    Rejected { located: bool, message: String },
    Panicked(String),
    OtherError(String),
}

fn prepare_in_process(suite: &Path) -> Outcome {
    let r = std::panic::catch_unwind(|| evalh::app::prepare(suite, None));
    match r {
        Err(p) => Outcome::Panicked(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
        Ok(Ok(_)) => Outcome::Accepted,
        Ok(Err(e)) if e.exit_code() == 2 => {
            let located = match &e {
                evalh::error::Error::Input(ie) => ie.line.is_some(),
                evalh::error::Error::Inputs(v) => v.iter().all(|ie| ie.line.is_some()),
                _ => false,
            };
            Outcome::Rejected {
                located,
                message: e.to_string(),
            }
        }
        Ok(Err(e)) => Outcome::OtherError(format!("exit {}: {e}", e.exit_code())),
    }
}

fn seed() -> u64 {
    std::env::var("EVALH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// Write case `n` (mutating the suite or the dataset) and return the suite path.
fn write_case(tmp: &Path, base: &Base, n: usize, rng: &mut StdRng) -> (PathBuf, Vec<u8>, bool) {
    let dir = tmp.join("suites");
    let data_path = dir.join(format!("{n}-{}", base.dataset_name));
    let mutate_suite = rng.random_bool(0.5);
    let suite_text = base
        .suite
        .replace("DATASET", data_path.file_name().unwrap().to_str().unwrap());
    let (suite_bytes, data_bytes) = if mutate_suite {
        (mutate(rng, suite_text.as_bytes()), base.dataset.clone())
    } else {
        (suite_text.into_bytes(), mutate(rng, &base.dataset))
    };
    let suite_path = dir.join(format!("{n}.yaml"));
    std::fs::write(&suite_path, &suite_bytes).unwrap();
    std::fs::write(&data_path, &data_bytes).unwrap();
    let mutated = if mutate_suite {
        suite_bytes
    } else {
        data_bytes
    };
    (suite_path, mutated, mutate_suite)
}

#[test]
fn mutated_suites_and_datasets_never_panic_in_process() {
    let seed = seed();
    eprintln!("fuzz seed {seed} (EVALH_FUZZ_SEED to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let d = tempfile::tempdir().unwrap();
    let tmp = d.path();
    let bases = bases(tmp);
    // Every base is valid before mutation.
    for (i, b) in bases.iter().enumerate() {
        let data = tmp
            .join("suites")
            .join(format!("base-{i}-{}", b.dataset_name));
        std::fs::write(&data, &b.dataset).unwrap();
        let s = tmp.join("suites").join(format!("base-{i}.yaml"));
        std::fs::write(
            &s,
            b.suite
                .replace("DATASET", data.file_name().unwrap().to_str().unwrap()),
        )
        .unwrap();
        assert!(
            matches!(prepare_in_process(&s), Outcome::Accepted),
            "base {i} is invalid"
        );
    }
    let cases: usize = std::env::var("EVALH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2500);
    let (mut accepted, mut rejected, mut unlocated) = (0, 0, Vec::new());
    let mut failures = Vec::new();
    for n in 0..cases {
        let base = &bases[rng.random_range(0..bases.len())];
        let (suite, mutated, which) = write_case(tmp, base, n, &mut rng);
        match prepare_in_process(&suite) {
            Outcome::Accepted => accepted += 1,
            Outcome::Rejected { located, message } => {
                rejected += 1;
                if !located {
                    unlocated.push(message);
                }
            }
            Outcome::Panicked(m) => failures.push(format!(
                "case {n} ({}) panicked: {m}\ninput: {:?}",
                if which { "suite" } else { "dataset" },
                String::from_utf8_lossy(&mutated)
            )),
            Outcome::OtherError(m) => failures.push(format!("case {n}: {m}")),
        }
        let _ = std::fs::remove_file(&suite);
    }
    eprintln!(
        "{cases} mutations: {accepted} accepted, {rejected} rejected ({} without a line)",
        unlocated.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(rejected > cases / 4, "mutations should mostly break things");
    assert!(
        unlocated.is_empty(),
        "errors without a line:\n{}",
        unlocated.join("\n")
    );
}

#[test]
fn mutated_inputs_through_the_binary_exit_0_or_2() {
    let seed = seed() ^ 0x5eed;
    eprintln!("fuzz seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let d = tempfile::tempdir().unwrap();
    let tmp = d.path();
    let bases = bases(tmp);
    for n in 0..40 {
        let base = &bases[rng.random_range(0..bases.len())];
        let (suite, mutated, _) = write_case(tmp, base, n, &mut rng);
        let out = evalh(tmp, &["validate", suite.to_str().unwrap()]);
        let t = text(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 2)) && !t.contains("panicked"),
            "case {n}: exit {:?}\n{t}\ninput: {:?}",
            out.status.code(),
            String::from_utf8_lossy(&mutated)
        );
    }
}
