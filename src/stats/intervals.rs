//! Confidence intervals for a single system: Wilson for proportions (metrics.md §5.1), the
//! Student-t interval for means, and lm-evaluation-harness' `mean_stderr` (§5.4).

use super::{mean, quantile_normal, quantile_t, sample_sd, valid_confidence, Interval};

/// Wilson score interval for `k` successes in `n` trials, as statsmodels
/// `proportion_confint(k, n, alpha=1−confidence, method="wilson")`.
///
/// With `p̂ = k/n` and `z`: `denom = 1 + z²/n`, `center = (p̂ + z²/(2n)) / denom`,
/// `half = z·sqrt(p̂(1−p̂)/n + z²/(4n²)) / denom`, interval `[center − half, center + half]`
/// clipped to `[0, 1]` (statsmodels' operation order, so results agree to ~1e-15 relative; the
/// only difference is the normal quantile, statrs vs scipy).
///
/// * `two_sided = true`: `z = Φ⁻¹(1 − α/2)`, `α = 1 − confidence`; `[lower, upper]` covers p with
///   probability `confidence`. Checks: k = 45, n = 50 → [0.7863976856252034, 0.9565242350681095].
/// * `two_sided = false`: `z = Φ⁻¹(confidence)`; `lower` is the one-sided lower bound and `upper`
///   the one-sided upper bound, **each** at `confidence` (statsmodels `alternative="smaller"` /
///   `"larger"`). Use `lower` for "accuracy is at least …".
///
/// Edge cases: `n == 0` → `[0, 1]`; `k == 0` gives `lower = 0` and `k == n` gives `upper = 1`
/// exactly (their exact values; statsmodels can return ±1e-17 there); `k > n` is treated as
/// `k = n`; a confidence outside (0, 1) gives [`Interval::UNDEFINED`].
pub fn wilson(k: u64, n: u64, confidence: f64, two_sided: bool) -> Interval {
    if !valid_confidence(confidence) {
        return Interval::UNDEFINED;
    }
    if n == 0 {
        return Interval::new(0.0, 1.0);
    }
    let k = k.min(n);
    let alpha = 1.0 - confidence;
    let tail = if two_sided { alpha / 2.0 } else { alpha };
    // statsmodels: crit = norm.isf(tail) = −Φ⁻¹(tail).
    let crit = -quantile_normal(tail);
    let nf = n as f64;
    let q = k as f64 / nf;
    let crit2 = crit * crit;
    let denom = 1.0 + crit2 / nf;
    let center = (q + crit2 / (2.0 * nf)) / denom;
    let mut dist = crit * (q * (1.0 - q) / nf + crit2 / (4.0 * (nf * nf))).sqrt();
    dist /= denom;
    let mut lower = (center - dist).clamp(0.0, 1.0);
    let mut upper = (center + dist).clamp(0.0, 1.0);
    if k == 0 {
        lower = 0.0;
    }
    if k == n {
        upper = 1.0;
    }
    Interval::new(lower, upper)
}

/// Two-sided Student-t interval for the mean: `mean ± t_{(1+c)/2, n−1} · sd/√n`
/// (`sd` with ddof = 1; equals `scipy.stats.t.interval(c, n−1, loc=mean, scale=sem)`).
///
/// `n < 2` → [`Interval::UNBOUNDED`] (one value says nothing about the spread, so the interval
/// is deliberately not the degenerate `[m, m]`); an invalid confidence → [`Interval::UNDEFINED`].
/// A sample with zero spread gives `[m, m]`. Non-finite values propagate as NaN.
pub fn t_interval(xs: &[f64], confidence: f64) -> Interval {
    if !valid_confidence(confidence) {
        return Interval::UNDEFINED;
    }
    let n = xs.len();
    if n < 2 {
        return Interval::UNBOUNDED;
    }
    let m = mean(xs);
    let se = sample_sd(xs) / (n as f64).sqrt();
    let t = quantile_t((1.0 + confidence) / 2.0, (n - 1) as f64);
    let half = t * se;
    Interval::new(m - half, m + half)
}

/// Standard error of the mean, `sd(ddof=1)/√n`, as lm-evaluation-harness' `mean_stderr`
/// (metrics.md §5.4). `None` ("N/A" in lm-eval) when `n <= 1`.
pub fn mean_stderr(xs: &[f64]) -> Option<f64> {
    if xs.len() <= 1 {
        return None;
    }
    Some(sample_sd(xs) / (xs.len() as f64).sqrt())
}
