//! Property test of the evidence contract (issue 12): over random mixes of success / item-level error / reliability
//! error / unreachable error / missing record per item and provider, the analysis never yields PASS unless the
//! evidence holds, and any unsettled request makes the run INCOMPLETE with exit code 3.

use evalh::chat::{ErrorClass, Usage};
use evalh::gate::Verdict;
use evalh::journal::{ErrorInfo, Record};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LABELS: [&str; 3] = ["billing", "bug", "feature"];

#[derive(Clone, Copy, Debug)]
enum Fate {
    Correct,
    Wrong,
    ItemError,
    Reliability,
    Unreachable,
    Missing,
}

fn fixture(
    n: usize,
    decision: &str,
) -> (
    tempfile::TempDir,
    evalh::suite::LoadedSuite,
    Vec<evalh::dataset::Item>,
) {
    let dir = tempfile::tempdir().unwrap();
    let data: String = (0..n)
        .map(|i| {
            format!(
                "{{\"id\": \"i{i}\", \"text\": \"t{i}\", \"label\": \"{}\"}}\n",
                LABELS[i % 3]
            )
        })
        .collect();
    std::fs::write(dir.path().join("data.jsonl"), data).unwrap();
    let suite = format!(
        r#"name: prop
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt: {{user: "{{{{ text }}}}"}}
providers:
  - {{id: base, role: baseline, kind: sim, model: base, price: {{input_per_mtok: 2.5, output_per_mtok: 10}}}}
  - {{id: c1, kind: sim, model: c1, price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}}}
  - {{id: c2, kind: sim, model: c2, price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}}}
gate: {{decision: {decision}, bootstrap_iters: 200}}
"#
    );
    std::fs::write(dir.path().join("s.yaml"), suite).unwrap();
    let (ls, items, _) = evalh::app::prepare(&dir.path().join("s.yaml"), None).unwrap();
    (dir, ls, items)
}

fn record(item: usize, provider: &str, fate: Fate, rng: &mut ChaCha8Rng) -> Option<Record> {
    let label = LABELS[item % 3];
    let (text, class) = match fate {
        Fate::Missing => return None,
        Fate::Correct => (label.to_string(), None),
        Fate::Wrong => (LABELS[(item + 1) % 3].to_string(), None),
        Fate::ItemError => (String::new(), Some(ErrorClass::ContextLength)),
        Fate::Reliability => (
            String::new(),
            Some([ErrorClass::ServerError, ErrorClass::Timeout][rng.random_range(0..2)]),
        ),
        Fate::Unreachable => (
            String::new(),
            Some(
                [
                    ErrorClass::Auth,
                    ErrorClass::Connection,
                    ErrorClass::RateLimit,
                    ErrorClass::NotFound,
                ][rng.random_range(0..4)],
            ),
        ),
    };
    let ok = class.is_none();
    Some(Record {
        item_id: format!("i{item}"),
        provider_id: provider.into(),
        repeat: 0,
        request_hash: String::new(),
        output_text: text,
        tool_calls: vec![],
        finish_reason: None,
        usage: Usage {
            input_tokens: if ok { 100 } else { 0 },
            output_tokens: if ok { 2 } else { 0 },
            ..Usage::default()
        },
        cost_usd: if ok {
            if provider == "base" {
                2.7e-4
            } else {
                1.1e-5
            }
        } else {
            0.0
        },
        latency_ms: rng.random_range(100.0..900.0),
        ttft_ms: None,
        attempts: 1,
        error: class.map(|class| ErrorInfo::new(class, "m", None)),
        cached: false,
        est_input_tokens: Some(100),
        stream_compare: None,
        attempt_errors: vec![],
        min_concurrency: None,
        batch: None,
    })
}

/// A random distribution over fates: mostly clean runs (so PASS happens), sometimes any mix.
fn weights(rng: &mut ChaCha8Rng) -> [f64; 6] {
    if rng.random_bool(0.5) {
        [0.97, 0.0, 0.0, 0.0, 0.0, 0.0].map(|w| {
            if w == 0.0 && rng.random_bool(0.3) {
                rng.random_range(0.0..0.03)
            } else {
                w
            }
        })
    } else {
        [(); 6].map(|_| rng.random_range(0.0..1.0))
    }
}

fn pick(w: &[f64; 6], rng: &mut ChaCha8Rng) -> Fate {
    let total: f64 = w.iter().sum();
    let mut x = rng.random_range(0.0..total);
    let fates = [
        Fate::Correct,
        Fate::Wrong,
        Fate::ItemError,
        Fate::Reliability,
        Fate::Unreachable,
        Fate::Missing,
    ];
    for (f, wi) in fates.iter().zip(w) {
        if x < *wi {
            return *f;
        }
        x -= wi;
    }
    Fate::Correct
}

#[test]
fn no_pass_without_evidence_over_random_mixes() {
    let mut rng = ChaCha8Rng::seed_from_u64(
        std::env::var("EVALH_PROPTEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(12),
    );
    let mut passes = 0;
    let mut incomplete = 0;
    let cases = 160;
    for case in 0..cases {
        let n = [5, 20, 40, 80][rng.random_range(0..4)];
        let decision = if rng.random_bool(0.5) {
            "point"
        } else {
            "confident"
        };
        let (_d, ls, items) = fixture(n, decision);
        let mut recs = Vec::new();
        let mut unsettled = std::collections::BTreeMap::new();
        let mut errors = std::collections::BTreeMap::new();
        let mut scored = std::collections::BTreeMap::new();
        for p in ["base", "c1", "c2"] {
            let w = weights(&mut rng);
            let mut fates = Vec::new();
            for i in 0..n {
                let f = pick(&w, &mut rng);
                fates.push(f);
                if let Some(r) = record(i, p, f, &mut rng) {
                    recs.push(r);
                }
            }
            unsettled.insert(
                p,
                fates
                    .iter()
                    .filter(|f| matches!(f, Fate::Unreachable | Fate::Missing))
                    .count(),
            );
            errors.insert(
                p,
                fates
                    .iter()
                    .filter(|f| matches!(f, Fate::ItemError | Fate::Reliability))
                    .count(),
            );
            scored.insert(
                p,
                fates
                    .iter()
                    .map(|f| matches!(f, Fate::Correct | Fate::Wrong | Fate::ItemError))
                    .collect::<Vec<bool>>(),
            );
        }
        let an = evalh::summary::analyse(&ls, &items, recs).unwrap();
        let r = &an.results;
        let any_unsettled = unsettled.values().any(|u| *u > 0);
        assert_eq!(r.complete, !any_unsettled, "case {case}");
        if any_unsettled {
            incomplete += 1;
            assert_eq!(r.gate_exit_code, 3, "case {case}");
        }
        for (ci, c) in ["c1", "c2"].iter().enumerate() {
            let g = r.providers[ci + 1].gate.as_ref().unwrap();
            let paired = scored[c]
                .iter()
                .zip(&scored["base"])
                .filter(|(a, b)| **a && **b)
                .count();
            if unsettled[c] + unsettled["base"] > 0 {
                assert_eq!(g.verdict, Verdict::Incomplete, "case {case} {c}");
            }
            if g.verdict == Verdict::Pass {
                passes += 1;
                let base_settled = n - unsettled["base"];
                assert!(
                    unsettled[c] == 0 && unsettled["base"] == 0,
                    "case {case} {c}: PASS with unsettled requests"
                );
                assert!(
                    paired >= 30,
                    "case {case} {c}: PASS on {paired} paired items"
                );
                assert!(
                    errors["base"] as f64 <= 0.05 * base_settled as f64,
                    "case {case} {c}: PASS with a failing baseline"
                );
                let q = g.quality_ratio.expect("a PASS has a defined quality ratio");
                assert!(q.is_finite() && g.cost_ratio.is_some_and(f64::is_finite));
                assert_eq!(g.evidence.n_paired, paired);
            }
            // No number in the result is infinite or NaN where it is shown.
            let json = serde_json::to_string(g).unwrap();
            assert!(
                !json.contains("Infinity") && !json.contains("NaN"),
                "{json}"
            );
        }
    }
    println!("{cases} cases: {passes} candidate PASSes, {incomplete} incomplete runs");
    assert!(
        passes > 10,
        "the generator must produce PASSes to test ({passes})"
    );
    assert!(incomplete > 10, "and incomplete runs ({incomplete})");
}
