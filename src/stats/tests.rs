//! Golden-vector tests for the stats module. The vectors come from `scripts/golden/stats.py`
//! (statsmodels 0.15.0, scipy 1.17.1, numpy 2.4.6); floats are stored as Python `repr` strings
//! and parsed with `str::parse::<f64>`, which is correctly rounded.

use super::*;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const MAIN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/golden/stats.json"
));
const RATIO: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/golden/stats_ratio.json"
));
const QUANTILES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/golden/stats_quantiles.json"
));

fn load(s: &str) -> Value {
    serde_json::from_str(s).expect("golden file parses")
}

/// A float from the golden JSON (a repr string, a JSON number, or null = NaN).
fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().expect("float string"),
        Value::Number(n) => n.as_f64().expect("number"),
        Value::Null => f64::NAN,
        other => panic!("not a float: {other}"),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(num).collect()
}

fn opt(v: &Value) -> Option<f64> {
    if v.is_null() {
        None
    } else {
        Some(num(v))
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

fn int(v: &Value) -> u64 {
    v.as_u64().expect("integer")
}

/// `|a − b| <= rel·|b| + abs`; infinities must match exactly, NaN only matches NaN.
fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    if b.is_nan() {
        return a.is_nan();
    }
    if b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= rel * b.abs() + abs
}

// ------------------------------------------------------------------------------------------
// Wilson
// ------------------------------------------------------------------------------------------

#[test]
fn wilson_matches_statsmodels() {
    let g = load(MAIN);
    let cases = arr(&g["wilson"]);
    assert!(cases.len() > 500);
    let mut bit_exact = 0;
    for c in cases {
        let (k, n) = (int(&c["k"]), int(&c["n"]));
        let conf = num(&c["confidence"]);
        let two = c["two_sided"].as_bool().expect("bool");
        let got = wilson(k, n, conf, two);
        let (lo, hi) = (num(&c["lower"]), num(&c["upper"]));
        assert!(
            close(got.lower, lo, 1e-12, 1e-15) && close(got.upper, hi, 1e-12, 1e-15),
            "wilson({k}, {n}, {conf}, {two}) = {got:?}, statsmodels [{lo}, {hi}]"
        );
        if got.lower == lo && got.upper == hi {
            bit_exact += 1;
        }
    }
    // Most agree to the last bit; the rest differ by the normal quantile's last ulp.
    assert!(bit_exact * 2 > cases.len(), "only {bit_exact} bit-exact");
}

#[test]
fn wilson_metrics_md_checks() {
    let w = wilson(45, 50, 0.95, true);
    assert!(close(w.lower, 0.7863976856252034, 1e-15, 0.0), "{w:?}");
    assert!(close(w.upper, 0.9565242350681095, 1e-15, 0.0), "{w:?}");
    assert!(close(
        wilson(0, 50, 0.95, true).upper,
        0.07134759913335874,
        1e-15,
        0.0
    ));
    assert!(close(
        wilson(50, 50, 0.95, true).lower,
        0.9286524008666412,
        1e-15,
        0.0
    ));
}

#[test]
fn wilson_edge_cases() {
    assert_eq!(wilson(0, 0, 0.95, true), Interval::new(0.0, 1.0));
    assert_eq!(wilson(3, 0, 0.95, false), Interval::new(0.0, 1.0));
    let w = wilson(0, 10, 0.95, true);
    assert_eq!(w.lower, 0.0);
    assert_eq!(wilson(10, 10, 0.9, false).upper, 1.0);
    assert_eq!(wilson(12, 10, 0.95, true), wilson(10, 10, 0.95, true));
    for bad in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        let w = wilson(5, 10, bad, true);
        assert!(w.lower.is_nan() && w.upper.is_nan());
    }
    // One-sided bounds are tighter than two-sided ones at the same confidence.
    let one = wilson(40, 50, 0.95, false);
    let two = wilson(40, 50, 0.95, true);
    assert!(one.lower > two.lower && one.upper < two.upper);
}

// ------------------------------------------------------------------------------------------
// Means, variances, t intervals
// ------------------------------------------------------------------------------------------

#[test]
fn mean_var_sd_bit_exact_with_numpy() {
    let g = load(MAIN);
    for a in arr(&g["moments"]) {
        let xs = nums(&a["xs"]);
        let name = a["name"].as_str().expect("name");
        assert_eq!(
            mean(&xs).to_bits(),
            num(&a["mean"]).to_bits(),
            "mean {name}"
        );
        if xs.len() >= 2 {
            assert_eq!(
                sample_var(&xs).to_bits(),
                num(&a["var"]).to_bits(),
                "var {name}"
            );
            assert_eq!(
                sample_sd(&xs).to_bits(),
                num(&a["sd"]).to_bits(),
                "sd {name}"
            );
        } else {
            assert!(sample_var(&xs).is_nan());
        }
    }
    assert_eq!(mean(&[0.1; 10]), 0.1);
    assert!(mean(&[]).is_nan());
    assert!(sample_cov(&[1.0, 2.0], &[1.0]).is_nan());
}

#[test]
fn t_interval_matches_scipy() {
    let g = load(MAIN);
    let arrays = arr(&g["moments"]);
    let cases = arr(&g["t_interval"]);
    assert!(!cases.is_empty());
    for c in cases {
        let xs = nums(&arrays[int(&c["array"]) as usize]["xs"]);
        let conf = num(&c["confidence"]);
        let got = t_interval(&xs, conf);
        let (lo, hi) = (num(&c["lower"]), num(&c["upper"]));
        assert!(
            close(got.lower, lo, 1e-9, 1e-12) && close(got.upper, hi, 1e-9, 1e-12),
            "t_interval n={} conf={conf}: {got:?} vs [{lo}, {hi}]",
            xs.len()
        );
    }
}

#[test]
fn t_interval_degenerate_inputs() {
    assert_eq!(t_interval(&[], 0.95), Interval::UNBOUNDED);
    assert_eq!(t_interval(&[0.7], 0.95), Interval::UNBOUNDED);
    assert_eq!(t_interval(&[2.0; 5], 0.95), Interval::new(2.0, 2.0));
    assert!(t_interval(&[1.0, 2.0], 1.0).lower.is_nan());
    assert_eq!(mean_stderr(&[1.0]), None);
    let se = mean_stderr(&[1.0, 0.0, 1.0, 1.0]).expect("n > 1");
    assert!(close(se, 0.25, 1e-15, 0.0));
}

// ------------------------------------------------------------------------------------------
// Percentiles
// ------------------------------------------------------------------------------------------

#[test]
fn percentiles_match_numpy() {
    let g = load(MAIN);
    let mut trap_rows = 0;
    for a in arr(&g["percentiles"]) {
        let sorted = nums(&a["sorted"]);
        let name = a["name"].as_str().expect("name");
        for r in arr(&a["rows"]) {
            let p = num(&r["p"]);
            let lin = percentile_linear(&sorted, p).expect("valid p");
            assert_eq!(
                lin.to_bits(),
                num(&r["linear"]).to_bits(),
                "linear {name} p{p}"
            );
            let nr = percentile_nearest_rank(&sorted, p).expect("valid p");
            assert_eq!(nr, num(&r["nearest_rank"]), "nearest rank {name} p{p}");
            if nr != num(&r["numpy_inverted_cdf"]) {
                trap_rows += 1;
            }
        }
    }
    // p7/p14/p28/p56 of 1..100 and p99.9 of 1..1000: numpy's f64 rank is one too high.
    assert_eq!(trap_rows, 5);
}

#[test]
fn percentile_metrics_md_examples() {
    let mut v = vec![12.0, 15.0, 11.0, 40.0, 13.0, 14.0, 250.0, 16.0, 12.5, 18.0];
    v.sort_by(f64::total_cmp);
    let lin: Vec<f64> = [50.0, 90.0, 95.0, 99.0]
        .iter()
        .map(|&p| percentile_linear(&v, p).expect("p"))
        .collect();
    assert_eq!(
        lin,
        [
            14.5,
            60.99999999999993,
            155.49999999999977,
            231.10000000000002
        ]
    );
    let nr: Vec<f64> = [50.0, 90.0, 95.0, 99.0]
        .iter()
        .map(|&p| percentile_nearest_rank(&v, p).expect("p"))
        .collect();
    assert_eq!(nr, [14.0, 40.0, 250.0, 250.0]);
    let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile_nearest_rank(&hundred, 7.0), Some(7.0));
    // A p that is not 7 in f64 is not treated as 7.
    assert_eq!(percentile_nearest_rank(&hundred, 0.07 * 100.0), Some(8.0));
    assert_eq!(percentile_nearest_rank(&hundred, 0.0), Some(1.0));
    assert_eq!(percentile_nearest_rank(&hundred, 100.0), Some(100.0));
}

#[test]
fn percentile_invalid_inputs() {
    assert_eq!(percentile_linear(&[], 50.0), None);
    assert_eq!(percentile_nearest_rank(&[], 50.0), None);
    for p in [-0.1, 100.1, f64::NAN] {
        assert_eq!(percentile_linear(&[1.0, 2.0], p), None);
        assert_eq!(percentile_nearest_rank(&[1.0, 2.0], p), None);
    }
    assert_eq!(quantile_linear(&[1.0], 0.3), Some(1.0));
    // Infinite replicates (bootstrap ratios with a zero baseline) do not produce NaN.
    let inf = f64::INFINITY;
    assert_eq!(quantile_linear(&[1.0, inf, inf], 0.75), Some(inf));
    assert_eq!(quantile_linear(&[1.0, 2.0, inf], 0.5), Some(2.0));
}

// ------------------------------------------------------------------------------------------
// McNemar
// ------------------------------------------------------------------------------------------

#[test]
fn mcnemar_matches_exact_and_statsmodels() {
    let g = load(MAIN);
    for c in arr(&g["mcnemar"]) {
        let (b, cc) = (int(&c["b"]), int(&c["c"]));
        let m = mcnemar_exact(b, cc);
        let exact_two = num(&c["p_two_sided_exact"]);
        let exact_worse = num(&c["p_candidate_worse_exact"]);
        assert!(
            close(m.p_two_sided, exact_two, 1e-12, 1e-300),
            "({b},{cc}) two-sided {} vs exact {exact_two}",
            m.p_two_sided
        );
        assert!(
            close(m.p_candidate_worse, exact_worse, 1e-12, 1e-300),
            "({b},{cc}) worse {} vs exact {exact_worse}",
            m.p_candidate_worse
        );
        let sm = num(&c["p_two_sided_statsmodels"]);
        assert!(
            close(m.p_two_sided, sm, 1e-9, 1e-300),
            "({b},{cc}) vs statsmodels {sm}"
        );
        assert_eq!((m.b, m.c), (b, cc));
    }
}

#[test]
fn mcnemar_metrics_md_checks() {
    assert_eq!(mcnemar_exact(10, 2).p_two_sided, 0.03857421875);
    assert!(close(
        mcnemar_exact(25, 12).p_two_sided,
        0.04703102743951604,
        1e-14,
        0.0
    ));
    assert!(close(
        mcnemar_exact(60, 45).p_two_sided,
        0.1715646971542424,
        1e-14,
        0.0
    ));
    assert_eq!(mcnemar_exact(0, 0).p_two_sided, 1.0);
    assert_eq!(mcnemar_exact(0, 0).p_candidate_worse, 1.0);
    assert_eq!(mcnemar_exact(7, 7).p_two_sided, 1.0);
    // Very many discordant pairs: no underflow, no overflow.
    let big = mcnemar_exact(1_000_000, 1_000_000);
    assert_eq!(big.p_two_sided, 1.0);
    assert!(close(
        big.p_candidate_worse,
        0.5 + 0.5 * 1.0 / (std::f64::consts::PI * 1e6).sqrt(),
        1e-9,
        0.0
    ));
    assert_eq!(binomial_half_cdf(0, 2000), 0.0); // 2^-2000 underflows to 0
    assert_eq!(binomial_half_cdf(5, 5), 1.0);
}

// ------------------------------------------------------------------------------------------
// Quantiles
// ------------------------------------------------------------------------------------------

#[test]
fn quantiles_match_reference() {
    let g = load(QUANTILES);
    let rel_err = |got: f64, want: f64| ((got - want) / want).abs();
    for c in arr(&g["normal"]) {
        let p = num(&c["p"]);
        let got = quantile_normal(p);
        assert!(close(got, num(&c["q_exact"]), 1e-13, 0.0), "normal p={p}");
        assert!(close(got, num(&c["q_scipy"]), 1e-13, 0.0), "normal p={p}");
    }
    let mut worst_usual = 0.0f64;
    for c in arr(&g["t"]) {
        let (p, df) = (num(&c["p"]), num(&c["df"]));
        let (exact, scipy) = (num(&c["q_exact"]), num(&c["q_scipy"]));
        let got = quantile_t(p, df);
        let err = rel_err(got, exact);
        // metrics.md §7: quantiles to 1e-9 (mpmath reference, 30+ digits).
        assert!(
            err <= 1e-9,
            "t p={p} df={df}: {got} vs exact {exact} (rel {err:e})"
        );
        // scipy itself is off by up to 4e-4 near the median for small df; allow its own error.
        assert!(
            (got - scipy).abs() <= 1e-9 * exact.abs() + (scipy - exact).abs(),
            "t p={p} df={df}: {got} vs scipy {scipy}"
        );
        if (0.001..=0.999).contains(&p) {
            worst_usual = worst_usual.max(err);
        }
    }
    assert!(
        worst_usual <= 1e-12,
        "worst relative error for p in [0.001, 0.999]: {worst_usual:e}"
    );
}

#[test]
fn quantiles_never_panic() {
    for p in [-1.0, 1.5, f64::NAN, f64::INFINITY] {
        assert!(quantile_normal(p).is_nan());
        assert!(quantile_t(p, 10.0).is_nan());
    }
    for df in [0.0, -3.0, f64::NAN] {
        assert!(quantile_t(0.9, df).is_nan());
    }
    assert_eq!(quantile_normal(0.0), f64::NEG_INFINITY);
    assert_eq!(quantile_normal(1.0), f64::INFINITY);
    assert_eq!(quantile_t(0.0, 5.0), f64::NEG_INFINITY);
    assert_eq!(quantile_t(1.0, 5.0), f64::INFINITY);
    assert_eq!(quantile_t(0.5, 5.0), 0.0);
    assert_eq!(quantile_t(0.95, f64::INFINITY), quantile_normal(0.95));
    // Huge df terminates (statrs' inverse CDF does not at df ≈ 1e9).
    assert!(close(
        quantile_t(0.95, 1e12),
        quantile_normal(0.95),
        1e-12,
        0.0
    ));
    assert!(close(quantile_normal(0.95), 1.6448536269514724, 0.0, 0.0));
    assert!(close(
        quantile_t(0.95, 199.0),
        1.6525467461665635,
        1e-12,
        0.0
    ));
}

// ------------------------------------------------------------------------------------------
// Ratio gate
// ------------------------------------------------------------------------------------------

struct Dataset {
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
}

fn datasets(g: &Value) -> Vec<Dataset> {
    arr(&g["datasets"])
        .iter()
        .map(|d| Dataset {
            name: d["name"].as_str().expect("name").to_string(),
            x: nums(&d["x"]),
            y: nums(&d["y"]),
        })
        .collect()
}

fn find<'a>(ds: &'a [Dataset], name: &str) -> &'a Dataset {
    ds.iter().find(|d| d.name == name).expect("dataset")
}

fn verdict(r: &RatioTest) -> &'static str {
    if r.lower_d > 0.0 {
        "PASS"
    } else if r.upper_d < 0.0 {
        "FAIL"
    } else {
        "INCONCLUSIVE"
    }
}

#[test]
fn ratio_test_matches_python() {
    let g = load(RATIO);
    let ds = datasets(&g);
    let cases = arr(&g["ratio_tests"]);
    assert!(cases.len() >= 40);
    for c in cases {
        let d = find(&ds, c["dataset"].as_str().expect("dataset"));
        let theta = num(&c["theta"]);
        let conf = num(&c["confidence"]);
        let r = paired_ratio_test(&d.x, &d.y, theta, conf, 0, 1);
        let ctx = format!("{} theta={theta} conf={conf}", d.name);
        assert_eq!(r.n, int(&c["n"]) as usize, "{ctx}");
        // numpy-order summation: bit-exact.
        assert_eq!(r.mean_x.to_bits(), num(&c["mean_x"]).to_bits(), "{ctx}");
        assert_eq!(r.mean_y.to_bits(), num(&c["mean_y"]).to_bits(), "{ctx}");
        assert_eq!(r.ratio.to_bits(), num(&c["ratio"]).to_bits(), "{ctx}");
        assert_eq!(r.mean_d.to_bits(), num(&c["mean_d"]).to_bits(), "{ctx}");
        assert_eq!(r.se_d.to_bits(), num(&c["se_d"]).to_bits(), "{ctx}");
        // Quantile-dependent values: 1e-9 (metrics.md §7).
        let t = num(&c["t_quantile"]);
        assert!(close(r.t_quantile, t, 1e-9, 0.0), "{ctx}");
        let tol = 1e-9 * t.abs() * r.se_d + 1e-15;
        assert!(close(r.lower_d, num(&c["lower_d"]), 0.0, tol), "{ctx}");
        assert!(close(r.upper_d, num(&c["upper_d"]), 0.0, tol), "{ctx}");
        assert_eq!(
            verdict(&r),
            c["verdict"].as_str().expect("verdict"),
            "{ctx}"
        );
        for (got, want) in [
            (r.fieller_lower, opt(&c["fieller_lower"])),
            (r.fieller_upper, opt(&c["fieller_upper"])),
        ] {
            match (got, want) {
                (Some(a), Some(b)) => assert!(close(a, b, 1e-9, 1e-9), "{ctx}: {a} vs {b}"),
                (None, None) => {}
                _ => panic!("{ctx}: Fieller {got:?} vs {want:?}"),
            }
        }
        // PASS iff the Fieller lower bound exceeds theta (same test, two formulations).
        if let Some(fl) = r.fieller_lower {
            if r.lower_d.abs() > 1e-12 {
                assert_eq!(r.lower_d > 0.0, fl > theta, "{ctx}");
            }
        }
        assert!(r.bootstrap_ratio_lower.is_nan() && r.bootstrap_share_ge_theta.is_nan());
    }
}

#[test]
fn ratio_gate_example_is_not_a_pass() {
    let g = load(RATIO);
    let ds = datasets(&g);
    let d = find(&ds, "ratio_gate_example");
    assert_eq!(d.x.len(), 200);
    let r = paired_ratio_test(&d.x, &d.y, 0.95, 0.95, 10_000, 42);
    let c = arr(&g["ratio_tests"])
        .iter()
        .find(|c| {
            c["dataset"] == "ratio_gate_example"
                && c["theta"] == "0.95"
                && c["confidence"] == "0.95"
        })
        .expect("case");
    assert!((0.956..0.958).contains(&r.ratio), "ratio {}", r.ratio);
    assert!(r.lower_d < 0.0, "L = {} must be negative", r.lower_d);
    assert!(r.upper_d > 0.0);
    assert_eq!(verdict(&r), "INCONCLUSIVE");
    let fl = r.fieller_lower.expect("bounded");
    assert!(close(fl, num(&c["fieller_lower"]), 1e-9, 0.0), "{fl}");
    assert!(fl < 0.95);
    assert!((r.bootstrap_ratio_lower - num(&c["bootstrap_ratio_lower"])).abs() < 0.01);
    assert!(r.bootstrap_ratio_lower < 0.95);
}

#[test]
fn ratio_bootstrap_matches_python_statistically() {
    let g = load(RATIO);
    let ds = datasets(&g);
    for c in arr(&g["ratio_tests"]) {
        if c["theta"] != "0.95" || c["confidence"] != "0.95" {
            continue;
        }
        let d = find(&ds, c["dataset"].as_str().expect("dataset"));
        let r = paired_ratio_test(&d.x, &d.y, 0.95, 0.95, 10_000, 7);
        let ctx = &d.name;
        for (got, want) in [
            (r.bootstrap_ratio_lower, num(&c["bootstrap_ratio_lower"])),
            (r.bootstrap_ratio_upper, num(&c["bootstrap_ratio_upper"])),
        ] {
            assert!(
                close(got, want, 0.0, 0.01),
                "{ctx}: bootstrap {got} vs python {want}"
            );
        }
        let share = num(&c["bootstrap_share_ge_theta"]);
        assert!(
            (r.bootstrap_share_ge_theta - share).abs() < 0.02,
            "{ctx}: share {} vs {share}",
            r.bootstrap_share_ge_theta
        );
    }
}

#[test]
fn bootstrap_interval_matches_python_statistically() {
    let g = load(RATIO);
    let ds = datasets(&g);
    let cases = arr(&g["bootstrap_mean_diff"]);
    assert!(!cases.is_empty());
    // The 95% cases only, to keep debug-build test time low (ChaCha at opt-level 0 is slow).
    for c in cases.iter().filter(|c| c["confidence"] == "0.95") {
        let d = find(&ds, c["dataset"].as_str().expect("dataset"));
        let diff: Vec<f64> = d.x.iter().zip(&d.y).map(|(a, b)| a - b).collect();
        let n = diff.len();
        let conf = num(&c["confidence"]);
        let iv = bootstrap_interval(
            n,
            |idx: &[usize]| idx.iter().map(|&i| diff[i]).sum::<f64>() / n as f64,
            conf,
            10_000,
            2024,
        );
        let binary = d.x.iter().chain(&d.y).all(|&v| v == 0.0 || v == 1.0);
        // ~5 Monte-Carlo standard errors, plus one lattice step for binary data.
        let tol = 0.15 * num(&c["bootstrap_sd"]) + if binary { 1.0 / n as f64 } else { 0.0 };
        let (lo, hi) = (num(&c["lower"]), num(&c["upper"]));
        assert!(
            close(iv.lower, lo, 0.0, tol) && close(iv.upper, hi, 0.0, tol),
            "{} conf={conf}: {iv:?} vs python [{lo}, {hi}] (tol {tol})",
            d.name
        );
    }
}

#[test]
fn bootstrap_is_deterministic_across_thread_counts() {
    let x: Vec<f64> = (0..300).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
    let y: Vec<f64> = (0..300).map(|i| ((i * 53) % 13) as f64 / 12.0).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let r = paired_ratio_test(&x, &y, 0.95, 0.95, 3000, 99);
            let reps = bootstrap_replicates(x.len(), |idx: &[usize]| idx[0] as f64, 500, 5);
            (r, reps)
        })
    };
    let (r1, reps1) = run(1);
    let (r3, reps3) = run(3);
    assert_eq!(r1, r3);
    assert_eq!(reps1, reps3);
    let (r_again, _) = run(2);
    assert_eq!(r1, r_again);
    let other = paired_ratio_test(&x, &y, 0.95, 0.95, 3000, 100);
    assert_ne!(r1.bootstrap_ratio_lower, other.bootstrap_ratio_lower);
}

#[test]
fn resample_indices_reproduce_replicates() {
    let n = 37;
    let reps = bootstrap_replicates(
        n,
        |idx: &[usize]| {
            idx.iter()
                .enumerate()
                .map(|(j, &i)| (j * 1000 + i) as f64)
                .sum()
        },
        6,
        11,
    );
    let mut buf = Vec::new();
    for (b, &rep) in reps.iter().enumerate() {
        resample_indices(n, 11, b as u64, &mut buf);
        assert_eq!(buf.len(), n);
        assert!(buf.iter().all(|&i| i < n));
        let v: f64 = buf
            .iter()
            .enumerate()
            .map(|(j, &i)| (j * 1000 + i) as f64)
            .sum();
        assert_eq!(v, rep);
    }
    assert!(bootstrap_replicates(0, |_: &[usize]| 1.0, 10, 1).is_empty());
}

#[test]
fn resampled_indices_are_uniform() {
    // Chi-square goodness of fit over 7 cells; 6 df, 99.9% critical value 22.46.
    let n = 7;
    let mut counts = [0u64; 7];
    let mut buf = Vec::new();
    for b in 0..20_000u64 {
        resample_indices(n, 3, b, &mut buf);
        for &i in &buf {
            counts[i] += 1;
        }
    }
    let total = (20_000 * n) as f64;
    let expected = total / n as f64;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 22.46, "chi2 = {chi2}, counts {counts:?}");
}

#[test]
fn bootstrap_degenerate_inputs() {
    let s = |_: &[usize]| 1.0;
    assert!(bootstrap_interval(0, s, 0.95, 100, 1).lower.is_nan());
    assert!(bootstrap_interval(5, s, 0.95, 0, 1).lower.is_nan());
    assert!(bootstrap_interval(5, s, 1.0, 100, 1).lower.is_nan());
    assert!(bootstrap_interval(5, |_: &[usize]| f64::NAN, 0.95, 100, 1)
        .lower
        .is_nan());
    assert_eq!(
        bootstrap_interval(5, s, 0.95, 100, 1),
        Interval::new(1.0, 1.0)
    );
    let (lo, hi, share) = paired_bootstrap_ratio(4, |_: &[usize]| (1.0, 0.0), 0.95, 0.95, 50, 1);
    assert_eq!((lo, hi, share), (f64::INFINITY, f64::INFINITY, 1.0));
    let (lo, _, _) = paired_bootstrap_ratio(4, |_: &[usize]| (f64::NAN, 1.0), 0.95, 0.95, 50, 1);
    assert!(lo.is_nan());
}

#[test]
fn paired_bootstrap_ratio_for_corpus_metrics() {
    // A corpus metric computed on the resample (here: mean of the first half of the indices'
    // values over mean of the second system), checked against paired_ratio_test's bootstrap,
    // which uses the same indices for the same seed.
    let g = load(RATIO);
    let ds = datasets(&g);
    let d = find(&ds, "continuous_50");
    let n = d.x.len();
    let (lo, hi, share) = paired_bootstrap_ratio(
        n,
        |idx: &[usize]| {
            let sx: f64 = idx.iter().map(|&i| d.x[i]).sum();
            let sy: f64 = idx.iter().map(|&i| d.y[i]).sum();
            (sx / n as f64, sy / n as f64)
        },
        0.95,
        0.9,
        2000,
        77,
    );
    let r = paired_ratio_test(&d.x, &d.y, 0.95, 0.9, 2000, 77);
    assert_eq!(
        (lo, hi, share),
        (
            r.bootstrap_ratio_lower,
            r.bootstrap_ratio_upper,
            r.bootstrap_share_ge_theta
        )
    );
    assert!(lo < r.ratio && r.ratio < hi);
}

#[test]
fn ratio_test_invalid_and_degenerate_inputs() {
    assert_eq!(
        try_paired_ratio_test(&[1.0], &[1.0, 0.0], 0.95, 0.95, 0, 1),
        Err(StatsError::LengthMismatch { x: 1, y: 2 })
    );
    assert!(matches!(
        try_paired_ratio_test(&[1.0, 0.0], &[1.0, f64::NAN], 0.95, 0.95, 0, 1),
        Err(StatsError::NonFinite { index: 1, .. })
    ));
    assert_eq!(
        try_paired_ratio_test(&[1.0, 0.0], &[1.0, 1.0], 0.95, 1.0, 0, 1),
        Err(StatsError::InvalidConfidence(1.0))
    );
    assert!(matches!(
        try_paired_ratio_test(&[1.0, 0.0], &[1.0, 1.0], f64::NAN, 0.9, 0, 1),
        Err(StatsError::InvalidTheta(_))
    ));
    let bad = paired_ratio_test(&[1.0], &[1.0, 0.0], 0.95, 0.95, 100, 1);
    assert!(bad.lower_d.is_nan() && bad.upper_d.is_nan());
    assert_eq!(verdict(&bad), "INCONCLUSIVE");
    let one = paired_ratio_test(&[1.0], &[1.0], 0.95, 0.95, 100, 1);
    assert_eq!(
        (one.lower_d, one.upper_d),
        (f64::NEG_INFINITY, f64::INFINITY)
    );
    assert_eq!(one.fieller_lower, None);
    assert_eq!(verdict(&one), "INCONCLUSIVE");
    let empty = paired_ratio_test(&[], &[], 0.95, 0.95, 100, 1);
    assert_eq!(verdict(&empty), "INCONCLUSIVE");
    // Baseline all zero: ratio is +inf (candidate > 0) and the Fieller set is unbounded.
    let z = paired_ratio_test(&[1.0, 0.0, 1.0], &[0.0, 0.0, 0.0], 0.95, 0.95, 100, 1);
    assert_eq!(z.ratio, f64::INFINITY);
    assert_eq!((z.fieller_lower, z.fieller_upper), (None, None));
    assert_eq!(z.bootstrap_share_ge_theta, 1.0);
    // The struct serialises (non-finite values become null).
    let json = serde_json::to_value(&one).expect("serialize");
    assert!(json["lower_d"].is_null());
}

#[test]
fn fieller_roots_cases() {
    // Zero variance: both bounds equal the ratio.
    let (lo, hi) = fieller_roots(0.8, 1.0, 0.0, 0.0, 0.0, 1.645);
    assert!(close(lo.expect("lo"), 0.8, 1e-15, 0.0) && close(hi.expect("hi"), 0.8, 1e-15, 0.0));
    // my² <= q² vy: unbounded.
    assert_eq!(
        fieller_roots(0.5, 0.1, 0.01, 0.01, 0.0, 1.645),
        (None, None)
    );
    assert_eq!(
        fieller_roots(f64::NAN, 1.0, 0.0, 0.0, 0.0, 1.0),
        (None, None)
    );
    let (lo, hi) = fieller_roots(0.78, 0.8, 4e-4, 4e-4, 3e-4, 1.65);
    let (lo, hi) = (lo.expect("bounded"), hi.expect("bounded"));
    assert!(lo < 0.78 / 0.8 && 0.78 / 0.8 < hi);
    for r in [lo, hi] {
        let lhs = (0.78 - r * 0.8).powi(2);
        let rhs = 1.65f64.powi(2) * (4e-4 - 2.0 * r * 3e-4 + r * r * 4e-4);
        assert!((lhs - rhs).abs() < 1e-15, "{lhs} vs {rhs}");
    }
}

// ------------------------------------------------------------------------------------------
// Power / sample size
// ------------------------------------------------------------------------------------------

#[test]
fn items_needed_matches_python() {
    let g = load(RATIO);
    let ds = datasets(&g);
    let equal = {
        // Same construction as the Python case: 720 both correct, 80 only baseline,
        // 80 only candidate, 120 neither (item order does not matter here).
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (count, xv, yv) in [
            (720, 1.0, 1.0),
            (80, 0.0, 1.0),
            (80, 1.0, 0.0),
            (120, 0.0, 0.0),
        ] {
            x.extend(std::iter::repeat_n(xv, count));
            y.extend(std::iter::repeat_n(yv, count));
        }
        Dataset {
            name: "equal_acc_0.8_disc_16pct".into(),
            x,
            y,
        }
    };
    let cases = arr(&g["power"]);
    assert!(cases.len() >= 20);
    for c in cases {
        let name = c["dataset"].as_str().expect("dataset");
        let d = if name == equal.name {
            &equal
        } else {
            find(&ds, name)
        };
        let (theta, alpha, power) = (num(&c["theta"]), num(&c["alpha"]), num(&c["power"]));
        let got = items_needed_for_power(&d.x, &d.y, theta, alpha, power);
        let ctx = format!("{name} theta={theta} alpha={alpha} power={power}");
        match c["n"].as_u64() {
            None => assert_eq!(got, None, "{ctx}"),
            Some(want) => {
                let got = got.expect("some");
                assert!(got.abs_diff(want) <= 1, "{ctx}: {got} vs python {want}");
                let nct = int(&c["n_noncentral_t"]);
                assert!(got.abs_diff(nct) <= 2, "{ctx}: {got} vs noncentral t {nct}");
            }
        }
    }
}

#[test]
fn items_needed_edge_cases() {
    assert_eq!(items_needed_from_effect(0.0, 0.3, 0.05, 0.8), None);
    assert_eq!(items_needed_from_effect(-0.01, 0.3, 0.05, 0.8), None);
    assert_eq!(items_needed_from_effect(0.01, 0.0, 0.05, 0.8), Some(2));
    assert_eq!(items_needed_from_effect(0.01, 0.3, 0.0, 0.8), None);
    assert_eq!(items_needed_from_effect(0.01, 0.3, 0.05, 1.0), None);
    assert_eq!(items_needed_from_effect(1e-12, 1.0, 0.05, 0.8), None);
    // Huge effect: the minimum of 2 items.
    assert_eq!(items_needed_from_effect(10.0, 0.1, 0.05, 0.8), Some(2));
    // Closed form for large N: ((z_.95 + z_.8) · 10)² ≈ 618.3, t refinement adds ~1-2.
    let n = items_needed_from_effect(0.1, 1.0, 0.05, 0.8).expect("some");
    assert!((619..=622).contains(&n), "{n}");
    assert_eq!(
        items_needed_for_power(&[1.0], &[1.0], 0.95, 0.05, 0.8),
        None
    );
    assert_eq!(
        items_needed_for_power(&[1.0, 0.0], &[1.0], 0.95, 0.05, 0.8),
        None
    );
}

/// Uniform [0, 1) from the top 53 bits.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[test]
fn simulated_pass_rates_match_metrics_md() {
    // metrics.md §5.5: PASS rate 42% / 74% at N = 200 / 500 for equal systems (accuracy 0.8,
    // 16% discordant), about 5-7% at a true ratio of 0.95. Compared with the Python simulation.
    let g = load(RATIO);
    let mut rng = ChaCha8Rng::seed_from_u64(12345);
    let sims = 2000;
    for c in arr(&g["simulated_pass_rates"]) {
        let n = int(&c["n"]) as usize;
        if n != 200 && n != 500 {
            continue;
        }
        let probs = nums(&c["probs"]);
        let theta = num(&c["theta"]);
        let mut passes = 0;
        let mut x = vec![0.0; n];
        let mut y = vec![0.0; n];
        for _ in 0..sims {
            for i in 0..n {
                let u = unit(&mut rng);
                let cat = if u < probs[0] {
                    0
                } else if u < probs[0] + probs[1] {
                    1
                } else if u < probs[0] + probs[1] + probs[2] {
                    2
                } else {
                    3
                };
                x[i] = if cat == 0 || cat == 2 { 1.0 } else { 0.0 };
                y[i] = if cat == 0 || cat == 1 { 1.0 } else { 0.0 };
            }
            if paired_ratio_test(&x, &y, theta, 0.95, 0, 0).lower_d > 0.0 {
                passes += 1;
            }
        }
        let rate = passes as f64 / sims as f64;
        let want = num(&c["pass_rate"]);
        assert!(
            (rate - want).abs() < 0.04,
            "{} N={n}: PASS rate {rate} vs python {want}",
            c["scenario"]
        );
    }
}

#[test]
fn multi_statistic_bootstrap_equals_one_pass_per_statistic() {
    let x: Vec<f64> = (0..57).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
    let stats_of = |idx: &[usize], out: &mut [f64]| {
        out[0] = idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
        out[1] = idx.iter().map(|&i| x[i] * x[i]).fold(0.0, f64::max);
        out[2] = if idx[0] % 2 == 0 {
            f64::NAN
        } else {
            idx.len() as f64
        };
    };
    let multi = bootstrap_intervals(x.len(), 3, stats_of, 0.9, 300, 11);
    for (j, iv) in multi.iter().enumerate() {
        let one = bootstrap_interval(
            x.len(),
            |idx| {
                let mut out = [0.0; 3];
                stats_of(idx, &mut out);
                out[j]
            },
            0.9,
            300,
            11,
        );
        assert_eq!(iv.lower.to_bits(), one.lower.to_bits(), "stat {j}");
        assert_eq!(iv.upper.to_bits(), one.upper.to_bits(), "stat {j}");
    }
}
