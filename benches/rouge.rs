//! Throughput benchmark for `evalh::metrics::RougeScorer` (plain `harness = false`).
//!
//! Run: `cargo bench --bench rouge` (optionally `-- 20000` for another pair count).
//! With `EVALH_ROUGE_PAIRS=/path/pairs.jsonl` it reads `{"reference","prediction"}` lines
//! instead (e.g. the file `scripts/golden/rouge.py --pairs 10000 FILE` writes, the same input
//! `bench/rouge_vs_python.sh` feeds to rouge-score). Otherwise it generates 10,000
//! deterministic multi-line summary pairs from a fixed xorshift seed.
//!
//! It prints pairs/s for rouge1, rouge2, rougeL and rougeLsum alone and for all four
//! together, with and without stemming, single-threaded. The first pass over the data
//! warms this thread's token/stem cache and is reported separately.

use std::time::{Duration, Instant};

use evalh::metrics::RougeScorer;

/// Small deterministic PRNG so the benchmark needs no extra dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "to",
    "in",
    "and",
    "for",
    "on",
    "with",
    "was",
    "is",
    "has",
    "have",
    "government",
    "governments",
    "policy",
    "policies",
    "company",
    "companies",
    "market",
    "markets",
    "report",
    "reported",
    "reporting",
    "study",
    "studies",
    "studied",
    "research",
    "researchers",
    "city",
    "cities",
    "national",
    "economy",
    "economic",
    "growth",
    "growing",
    "increase",
    "increased",
    "increasing",
    "rise",
    "rising",
    "fell",
    "record",
    "million",
    "billion",
    "percent",
    "year",
    "years",
    "people",
    "officials",
    "said",
    "says",
    "told",
    "announced",
    "announcement",
    "plan",
    "planned",
    "planning",
    "development",
    "relational",
    "generous",
    "generously",
    "general",
    "generalization",
    "happy",
    "happily",
    "happiness",
    "running",
    "runs",
    "ran",
    "walked",
    "talking",
    "building",
    "buildings",
    "hospital",
    "patients",
    "treatment",
    "river",
    "flooding",
    "storm",
    "police",
    "arrested",
    "court",
    "ruling",
    "election",
    "voters",
    "president",
    "minister",
    "leadership",
    "team",
    "players",
    "season",
    "championship",
    "technology",
    "computers",
    "software",
    "networks",
    "data",
    "information",
    "systems",
    "energy",
    "electricity",
    "nuclear",
    "climate",
    "change",
    "environmental",
    "emissions",
    "agreement",
    "agreed",
    "effective",
    "effectively",
    "4.5",
    "1,000",
    "1990s",
    "don't",
    "U.S.",
    "e-mail",
    "café",
    "Zürich",
];

fn sentence(rng: &mut XorShift) -> Vec<&'static str> {
    let n = 4 + rng.below(15);
    (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect()
}

fn perturb(rng: &mut XorShift, s: &[&'static str]) -> Vec<&'static str> {
    let rate = rng.below(60);
    let mut out = Vec::with_capacity(s.len() + 2);
    for &w in s {
        let r = rng.below(100);
        if r < rate / 3 {
            continue;
        } else if r < 2 * rate / 3 {
            out.push(WORDS[rng.below(WORDS.len())]);
        } else {
            out.push(w);
        }
    }
    if out.is_empty() {
        out.push(WORDS[rng.below(WORDS.len())]);
    }
    out
}

fn generate(n: usize) -> Vec<(String, String)> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|_| {
            let k = 1 + rng.below(6);
            let refs: Vec<Vec<&str>> = (0..k).map(|_| sentence(&mut rng)).collect();
            let mut preds: Vec<Vec<&str>> = refs.iter().map(|s| perturb(&mut rng, s)).collect();
            if rng.below(2) == 0 {
                preds.reverse();
            }
            let join = |v: &[Vec<&str>]| {
                v.iter()
                    .map(|s| format!("{}.", s.join(" ")))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            (join(&refs), join(&preds))
        })
        .collect()
}

fn read_jsonl(path: &str) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", i + 1))?;
            let get = |k: &str| {
                v[k].as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{path}:{}: missing string {k:?}", i + 1))
            };
            Ok((get("reference")?, get("prediction")?))
        })
        .collect()
}

fn time<F: FnMut(&str, &str) -> f64>(pairs: &[(String, String)], mut f: F) -> (Duration, f64) {
    let start = Instant::now();
    let mut checksum = 0.0;
    for (r, p) in pairs {
        checksum += f(r, p);
    }
    (start.elapsed(), checksum)
}

fn report(label: &str, n: usize, (d, checksum): (Duration, f64)) {
    let secs = d.as_secs_f64();
    println!(
        "{label:<28} {n:>7} pairs {:>9.3} ms {:>12.0} pairs/s   (mean F {:.6})",
        secs * 1e3,
        n as f64 / secs.max(1e-12),
        checksum / n.max(1) as f64
    );
}

fn main() {
    let count = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(10_000);
    let pairs = match std::env::var("EVALH_ROUGE_PAIRS") {
        Ok(path) => match read_jsonl(&path) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("cannot read pairs: {e}");
                std::process::exit(2);
            }
        },
        Err(_) => generate(count),
    };
    let n = pairs.len();
    if cfg!(debug_assertions) {
        println!("warning: debug build; use `cargo bench` for meaningful numbers");
    }
    let tokens: usize = pairs
        .iter()
        .map(|(r, p)| r.split_whitespace().count() + p.split_whitespace().count())
        .sum();
    println!(
        "{n} pairs, {:.1} whitespace tokens per pair",
        tokens as f64 / n.max(1) as f64
    );
    for stem in [true, false] {
        let sc = RougeScorer::new(stem);
        let tag = if stem { "stem" } else { "nostem" };
        report(
            &format!("all4 cold cache [{tag}]"),
            n,
            time(&pairs, |r, p| sc.score(r, p).rouge_lsum.fmeasure),
        );
        report(
            &format!("rouge1 [{tag}]"),
            n,
            time(&pairs, |r, p| sc.rouge_n(r, p, 1).fmeasure),
        );
        report(
            &format!("rouge2 [{tag}]"),
            n,
            time(&pairs, |r, p| sc.rouge_n(r, p, 2).fmeasure),
        );
        report(
            &format!("rougeL [{tag}]"),
            n,
            time(&pairs, |r, p| sc.rouge_l(r, p).fmeasure),
        );
        report(
            &format!("rougeLsum [{tag}]"),
            n,
            time(&pairs, |r, p| sc.rouge_lsum(r, p).fmeasure),
        );
        report(
            &format!("all4 [{tag}]"),
            n,
            time(&pairs, |r, p| sc.score(r, p).rouge_lsum.fmeasure),
        );
    }
}
