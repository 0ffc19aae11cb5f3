//! The paired t-test of two measurements of the same items (`evalh compare`: one provider's per-item scores in two
//! runs), as `scipy.stats.ttest_rel(after, before)` with the two-sided Student-t interval of the mean difference
//! (`scipy.stats.t.interval`). Golden vectors: `scripts/golden/paired_t.py` → `tests/data/golden/paired_t.json`.

use super::{mean, sample_sd, t_interval, valid_confidence, Interval, StatsError};
use statrs::function::beta::checked_beta_reg;

/// A paired t-test of `after − before`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PairedT {
    /// Pairs.
    pub n: usize,
    /// Mean of the differences (`after − before`).
    pub mean_diff: f64,
    /// t statistic, `mean / (sd / √n)` (`±inf` when the differences have no spread but a non-zero mean).
    pub t: f64,
    /// Degrees of freedom, `n − 1`.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Two-sided interval of the mean difference at the given confidence.
    pub interval: Interval,
}

/// Two-sided tail probability `P(|T| > |t|)` of Student's t with `df` degrees of freedom:
/// `I_{df/(df+t²)}(df/2, 1/2)`, the regularized incomplete beta function (as scipy's `t.sf`).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let x = df / (df + t * t);
    checked_beta_reg(0.5 * df, 0.5, x).unwrap_or(f64::NAN)
}

/// `scipy.stats.ttest_rel(after, before)` (two-sided) and the t interval of the mean difference.
///
/// Degenerate inputs, where scipy returns NaN: fewer than 2 pairs give `t = NaN`, `p = NaN` and an unbounded
/// interval; differences with no spread give `p = 1` when they are all 0 (nothing changed) and `p = 0` otherwise,
/// with the interval `[m, m]`. An invalid confidence gives an undefined interval.
pub fn paired_t_test(
    after: &[f64],
    before: &[f64],
    confidence: f64,
) -> Result<PairedT, StatsError> {
    if after.len() != before.len() {
        return Err(StatsError::LengthMismatch {
            x: after.len(),
            y: before.len(),
        });
    }
    let mut d = Vec::with_capacity(after.len());
    for (i, (a, b)) in after.iter().zip(before).enumerate() {
        for v in [a, b] {
            if !v.is_finite() {
                return Err(StatsError::NonFinite {
                    index: i,
                    value: *v,
                });
            }
        }
        d.push(a - b);
    }
    let n = d.len();
    let df = n.saturating_sub(1) as f64;
    let interval = if valid_confidence(confidence) {
        t_interval(&d, confidence)
    } else {
        Interval::UNDEFINED
    };
    if n < 2 {
        return Ok(PairedT {
            n,
            mean_diff: if n == 1 { d[0] } else { f64::NAN },
            t: f64::NAN,
            df,
            p_value: f64::NAN,
            interval,
        });
    }
    let m = mean(&d);
    let sd = sample_sd(&d);
    let (t, p) = if sd == 0.0 {
        if m == 0.0 {
            (0.0, 1.0)
        } else {
            (m.signum() * f64::INFINITY, 0.0)
        }
    } else {
        let t = m / (sd / (n as f64).sqrt());
        (t, t_two_sided_p(t, df))
    };
    Ok(PairedT {
        n,
        mean_diff: m,
        t,
        df,
        p_value: p,
        interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const GOLDEN: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/paired_t.json"
    ));

    fn num(v: &Value) -> f64 {
        v.as_str().expect("repr string").parse().expect("float")
    }

    fn nums(v: &Value) -> Vec<f64> {
        v.as_array().expect("array").iter().map(num).collect()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs() + 1e-300
    }

    #[test]
    fn equals_scipy_ttest_rel_and_t_interval() {
        let g: Value = serde_json::from_str(GOLDEN).unwrap();
        let cases = g["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for c in cases {
            let name = c["name"].as_str().unwrap();
            let r = paired_t_test(
                &nums(&c["after"]),
                &nums(&c["before"]),
                num(&c["confidence"]),
            )
            .unwrap();
            assert_eq!(r.df, num(&c["df"]), "{name}");
            assert!(
                close(r.mean_diff, num(&c["mean_diff"]), 1e-12),
                "{name}: mean {}",
                r.mean_diff
            );
            assert!(
                close(r.t, num(&c["t"]), 1e-10),
                "{name}: t {} vs {}",
                r.t,
                num(&c["t"])
            );
            assert!(
                close(r.p_value, num(&c["p_value"]), 1e-9),
                "{name}: p {} vs {}",
                r.p_value,
                num(&c["p_value"])
            );
            assert!(
                close(r.interval.lower, num(&c["lower"]), 1e-10),
                "{name}: lower {}",
                r.interval.lower
            );
            assert!(
                close(r.interval.upper, num(&c["upper"]), 1e-10),
                "{name}: upper {}",
                r.interval.upper
            );
        }
        for t in g["two_sided_p"].as_array().unwrap() {
            let (tv, df, p) = (num(&t["t"]), num(&t["df"]), num(&t["p"]));
            let got = t_two_sided_p(tv, df);
            assert!(close(got, p, 1e-9), "t={tv} df={df}: {got} vs {p}");
        }
    }

    #[test]
    fn degenerate_inputs_have_documented_results() {
        let same = paired_t_test(&[1.0, 0.0, 1.0], &[1.0, 0.0, 1.0], 0.95).unwrap();
        assert_eq!((same.t, same.p_value), (0.0, 1.0));
        assert_eq!((same.interval.lower, same.interval.upper), (0.0, 0.0));
        let shifted = paired_t_test(&[0.5, 0.5], &[0.0, 0.0], 0.95).unwrap();
        assert_eq!((shifted.t, shifted.p_value), (f64::INFINITY, 0.0));
        let one = paired_t_test(&[1.0], &[0.0], 0.95).unwrap();
        assert!(one.p_value.is_nan() && one.t.is_nan());
        assert_eq!(one.interval, Interval::UNBOUNDED);
        assert!(paired_t_test(&[1.0], &[], 0.95).is_err());
        assert!(paired_t_test(&[f64::NAN, 1.0], &[0.0, 1.0], 0.95).is_err());
    }

    /// Two runs of an unchanged provider (same accuracy, correlated item difficulty): the two-sided 95% test flags
    /// a change in about 5% of seeds, no more — `evalh compare` must not cry wolf.
    #[test]
    fn an_unchanged_provider_is_flagged_at_about_the_nominal_rate() {
        use rand::{Rng, SeedableRng};
        let mut flagged = 0;
        let seeds = 400;
        for seed in 0..seeds {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let n = 110;
            let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for _ in 0..n {
                let hard: f64 = rng.random();
                let draw = |rng: &mut rand_chacha::ChaCha8Rng| {
                    let u: f64 = if rng.random_bool(0.8) {
                        hard
                    } else {
                        rng.random()
                    };
                    f64::from(u8::from(u < 0.9))
                };
                a.push(draw(&mut rng));
                b.push(draw(&mut rng));
            }
            let r = paired_t_test(&b, &a, 0.95).unwrap();
            if r.interval.lower > 0.0 || r.interval.upper < 0.0 {
                flagged += 1;
            }
        }
        let rate = f64::from(flagged) / seeds as f64;
        assert!(
            rate <= 0.08,
            "flagged {flagged}/{seeds} unchanged providers"
        );
    }
}
