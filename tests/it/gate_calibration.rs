//! Calibration of the confident gate with the simulator's answer model: candidates of known true quality ratio
//! (0.90, 0.95, 1.00 of the baseline) over many seeds. At a true ratio of exactly 0.95 the gate must PASS at most
//! about alpha of the time (the test's size); at 0.90 essentially never; at 1.00 it should often PASS; and
//! `decision: point` reproduces the plain rule (PASS about half the time at the boundary).
//!
//! The per-item correctness comes from `sim::answers_correctly`, the same pure function the sim server
//! uses, so this exercises the sim's quality model and the gate's statistics without HTTP.

use evalh::gate::{
    self, Completeness, CostEvidence, ErrorEvidence, Evidence, LatencyEvidence, QualityEvidence,
    Verdict,
};
use evalh::sim::answers_correctly;
use evalh::stats;
use evalh::suite::{Decision, GateSpec, SimSpec};

const N: usize = 200;
const SEEDS: u64 = 400;
const BASE_QUALITY: f64 = 0.80;

fn scores(seed: u64, model: &str, quality: f64) -> Vec<f64> {
    let spec = SimSpec {
        quality,
        correlation: 0.8,
        ..SimSpec::default()
    };
    (0..N)
        .map(|i| {
            if answers_correctly(seed, model, &format!("item{i}"), "0", &spec) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

fn verdict(x: &[f64], y: &[f64], spec: &GateSpec) -> Verdict {
    let t = stats::paired_ratio_test(x, y, spec.min_quality_ratio, spec.confidence, 0, 1);
    let n = x.len() as u64;
    // Only quality varies here; the other rules get clean, complete evidence.
    let ev = Evidence {
        metric: "accuracy".into(),
        confidence: spec.confidence,
        n_items: x.len(),
        n_paired: x.len(),
        quality: QualityEvidence {
            ratio: Some(t.ratio),
            lower: t.fieller_lower,
            upper: t.fieller_upper,
            confident: if t.lower_d > 0.0 {
                Some(true)
            } else if t.upper_d < 0.0 {
                Some(false)
            } else {
                None
            },
            ..QualityEvidence::default()
        },
        cost: CostEvidence {
            ratio: Some(0.1),
            lower: Some(0.09),
            upper: Some(0.11),
        },
        errors: ErrorEvidence {
            cand_n: n,
            base_n: n,
            increase: Some(0.0),
            lower: Some(-0.01),
            upper: Some(0.004),
            ..ErrorEvidence::default()
        },
        latency: LatencyEvidence {
            quantile: 0.99,
            cand: Some(100.0),
            base: Some(100.0),
            cand_n: x.len(),
            base_n: x.len(),
            increase: Some(0.0),
            lower: Some(-10.0),
            upper: Some(10.0),
            ..LatencyEvidence::default()
        },
        format_valid: (n, n),
        format_validity_bounds: None,
        completeness: Completeness::default(),
        human: None,
    };
    gate::decide(spec, &ev, true).verdict
}

fn pass_rate(true_ratio: f64, spec: &GateSpec) -> f64 {
    let mut pass = 0;
    for seed in 0..SEEDS {
        let y = scores(seed, "base", BASE_QUALITY);
        let x = scores(seed, "cand", BASE_QUALITY * true_ratio);
        if verdict(&x, &y, spec) == Verdict::Pass {
            pass += 1;
        }
    }
    pass as f64 / SEEDS as f64
}

#[test]
fn sim_quality_is_what_was_asked() {
    let mut total = 0.0;
    for seed in 0..50 {
        total += scores(seed, "m", 0.7).iter().sum::<f64>();
    }
    let rate = total / (50.0 * N as f64);
    assert!((rate - 0.7).abs() < 0.01, "{rate}");
}

#[test]
fn false_pass_rate_at_the_boundary_stays_within_alpha() {
    let spec = GateSpec::default();
    let alpha = 1.0 - spec.confidence;
    // Tolerance: three binomial standard errors of the estimated rate over SEEDS runs.
    let tol = 3.0 * (alpha * (1.0 - alpha) / SEEDS as f64).sqrt();
    let at_boundary = pass_rate(0.95, &spec);
    assert!(
        at_boundary <= alpha + tol,
        "false-PASS rate {at_boundary} > {alpha} + {tol:.3}"
    );
    let worse = pass_rate(0.90, &spec);
    assert!(worse <= 0.01, "PASS rate at true ratio 0.90: {worse}");
    let equal = pass_rate(1.00, &spec);
    assert!(equal >= 0.5, "power at true ratio 1.00 only {equal}");
    eprintln!("confident gate, N={N}: PASS rate {worse:.3} @0.90, {at_boundary:.3} @0.95, {equal:.3} @1.00");
}

#[test]
fn point_decision_reproduces_the_plain_rule() {
    let spec = GateSpec {
        decision: Decision::Point,
        ..GateSpec::default()
    };
    // At the boundary the point estimate is above 0.95 about half the time: no confidence at all.
    let at_boundary = pass_rate(0.95, &spec);
    assert!((0.3..=0.7).contains(&at_boundary), "{at_boundary}");
    for seed in 0..20 {
        let y = scores(seed, "base", BASE_QUALITY);
        let x = scores(seed, "cand", BASE_QUALITY * 0.97);
        let ratio = x.iter().sum::<f64>() / y.iter().sum::<f64>();
        let expected = if ratio >= 0.95 {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        assert_eq!(
            verdict(&x, &y, &spec),
            expected,
            "seed {seed} ratio {ratio}"
        );
    }
}

#[test]
fn worked_example_of_metrics_md_does_not_pass() {
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("../data/golden/stats_ratio.json")).unwrap();
    let ds = golden["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "ratio_gate_example")
        .unwrap();
    let v = |k: &str| -> Vec<f64> {
        ds[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                x.as_f64()
                    .unwrap_or_else(|| x.as_str().unwrap().parse().unwrap())
            })
            .collect()
    };
    let (x, y) = (v("x"), v("y"));
    let ratio = x.iter().sum::<f64>() / y.iter().sum::<f64>();
    assert!(
        ratio > 0.95,
        "the example's point estimate is above the threshold: {ratio}"
    );
    assert_ne!(verdict(&x, &y, &GateSpec::default()), Verdict::Pass);
    assert_eq!(
        verdict(
            &x,
            &y,
            &GateSpec {
                decision: Decision::Point,
                ..GateSpec::default()
            }
        ),
        Verdict::Pass
    );
}
