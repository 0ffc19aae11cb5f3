//! Throughput of the token-F1 metrics over 10,000 pairs (plain `harness = false`): SQuAD v1.1 EM/F1 per pair, and
//! scikit-learn-equivalent macro F1 over 10,000 labels. Run: `cargo bench --bench f1`.

use evalh::metrics::{classification_report, squad_best};
use std::time::Instant;

const WORDS: &[&str] = &[
    "the", "Denver", "Broncos", "won", "Super", "Bowl", "50", "in", "2016", "a", "1,000", "A.M.",
    "Santa", "Clara", "an", "team",
];

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut next = |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    let mut phrase = |len: usize| {
        (0..len)
            .map(|_| WORDS[next(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let pairs: Vec<(String, Vec<String>)> = (0..n)
        .map(|_| (phrase(1 + n % 7 + 3), vec![phrase(4), phrase(6)]))
        .collect();

    let t = Instant::now();
    let mut acc = 0.0;
    for (p, golds) in &pairs {
        let (em, f1) = squad_best(p, golds);
        acc += em + f1;
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "squad EM+F1 (2 golds each): {n} pairs in {dt:.3} s = {:.0} pairs/s (checksum {acc:.3})",
        n as f64 / dt
    );

    let labels = [
        "billing",
        "technical_issue",
        "account_access",
        "shipping",
        "refund_request",
        "feature_request",
    ];
    let mut lab = || labels[next(labels.len())];
    let y_true: Vec<&str> = (0..n).map(|_| lab()).collect();
    let y_pred: Vec<&str> = (0..n).map(|_| lab()).collect();
    let t = Instant::now();
    let reps = 100;
    let mut f = 0.0;
    for _ in 0..reps {
        f += classification_report(&y_true, &y_pred, None).macro_avg.f1;
    }
    let dt = t.elapsed().as_secs_f64() / reps as f64;
    println!("classification report (macro/micro/weighted F1, confusion) over {n} items: {:.3} ms (checksum {f:.3})", dt * 1000.0);
}
