//! Cost of local token estimates (`evalh::tokens`): how long building the o200k [`Tokenizer`] takes, what it adds
//! to the resident memory of a process, and how fast it counts. Exists because the tokenizer's load time and
//! memory were a quarter of a short run's CPU and ~50 MB of RSS before `src/tokens.rs`; this is how a change to it
//! is measured. Plain `harness = false`.
//!
//! Corpus: the 3,367 golden strings of `tests/data/tokens_o200k.jsonl`, plus every file under `docs/`, `src/` and
//! `datasets/` cut into blank-line-separated chunks (prompt-sized texts).
//!
//! Run: `cargo bench --bench tokens` (load + counting), `cargo bench --bench tokens -- load` (a process that only
//! loads it and counts one string: compare its peak RSS with `-- none`), `-- dump FILE` (write the corpus as JSONL,
//! one {"text"} per line, to time another tokenizer on the same texts).

use evalh::tokens::Tokenizer;
use std::path::Path;
use std::time::Instant;

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden =
        std::fs::read_to_string(root.join("tests/data/tokens_o200k.jsonl")).unwrap_or_default();
    let mut texts: Vec<String> = golden
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    let mut paths = Vec::new();
    for d in ["docs", "src", "datasets"] {
        files(&root.join(d), &mut paths);
    }
    for p in paths {
        if let Ok(s) = std::fs::read_to_string(&p) {
            texts.extend(
                s.split("\n\n")
                    .filter(|c| !c.trim().is_empty())
                    .map(str::to_string),
            );
        }
    }
    texts
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("none") => {
            println!("baseline process: VmHWM {} kB", rss_kb("VmHWM:"));
            return;
        }
        Some("load") => {
            let t = Tokenizer::o200k();
            let n = t.count("hello world");
            println!(
                "loaded, {n} tokens: VmRSS {} kB, VmHWM {} kB",
                rss_kb("VmRSS:"),
                rss_kb("VmHWM:")
            );
            return;
        }
        Some("dump") => {
            let path = args.get(1).map_or("tokens_corpus.jsonl", String::as_str);
            let lines: Vec<String> = corpus()
                .into_iter()
                .map(|t| serde_json::json!({ "text": t }).to_string())
                .collect();
            if let Err(e) = std::fs::write(path, lines.join("\n") + "\n") {
                eprintln!("{path}: {e}");
            }
            return;
        }
        _ => {}
    }

    let texts = corpus();
    let bytes: usize = texts.iter().map(String::len).sum();
    let rss0 = rss_kb("VmRSS:");
    let t = Instant::now();
    let tok = Tokenizer::o200k();
    let first = t.elapsed();
    let rss1 = rss_kb("VmRSS:");
    let mut loads = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let again = Tokenizer::o200k();
        loads.push(t.elapsed().as_secs_f64() * 1e3);
        drop(again);
    }
    loads.sort_by(f64::total_cmp);
    println!(
        "load: first {:.2} ms (RSS +{:.1} MB), then median {:.2} ms over 10",
        first.as_secs_f64() * 1e3,
        (rss1.saturating_sub(rss0)) as f64 / 1024.0,
        loads[5]
    );

    let mut best = f64::MAX;
    let mut tokens = 0;
    for _ in 0..5 {
        let t = Instant::now();
        tokens = texts.iter().map(|s| tok.count(s)).sum::<u64>();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "count: {} texts, {:.2} MB, {tokens} tokens in {:.1} ms (best of 5): {:.0} counts/s, {:.1} MB/s",
        texts.len(),
        bytes as f64 / 1e6,
        best * 1e3,
        texts.len() as f64 / best,
        bytes as f64 / best / 1e6
    );
    println!(
        "RSS after counting: {:.1} MB",
        rss_kb("VmRSS:") as f64 / 1024.0
    );
}
