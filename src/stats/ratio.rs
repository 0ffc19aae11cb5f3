//! The promotion gate's test "candidate ≥ θ × baseline" on paired per-item scores
//! (metrics.md §5.5), with the Fieller bounds of the ratio, a paired bootstrap cross-check and a
//! sample-size estimate.

use super::{
    mean, paired_bootstrap_ratio, pairwise_sum, quantile_normal, quantile_t, sample_cov, sample_sd,
    sample_var, valid_confidence, StatsError,
};

/// Result of [`paired_ratio_test`]: candidate scores `x`, baseline scores `y` on the same items,
/// null hypothesis `mean(x) < θ·mean(y)`.
///
/// Gate rule (metrics.md §5.5): **PASS iff `lower_d > 0`**, **FAIL iff `upper_d < 0`**, otherwise
/// INCONCLUSIVE. When the Fieller bounds exist, `lower_d > 0` is mathematically the same as
/// `fieller_lower > θ` (both reject `ratio <= θ` at `confidence`). Every bound here is
/// **one-sided** at `confidence`.
/// NaN fields (from invalid input) make both comparisons false, i.e. INCONCLUSIVE.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RatioTest {
    /// Number of paired items.
    pub n: usize,
    /// Candidate mean (numpy `mean`).
    pub mean_x: f64,
    /// Baseline mean.
    pub mean_y: f64,
    /// `mean_x / mean_y`; `+inf` when `mean_y == 0 < mean_x`, NaN when both are 0 (IEEE division).
    pub ratio: f64,
    /// `mean(D)`, `D_i = x_i − θ·y_i`.
    pub mean_d: f64,
    /// `sd(D, ddof=1) / √n`; `+inf` when `n < 2`.
    pub se_d: f64,
    /// `mean_d − t_{confidence, n−1}·se_d` (`-inf` when `n < 2`). PASS iff `> 0`.
    pub lower_d: f64,
    /// `mean_d + t_{confidence, n−1}·se_d` (`+inf` when `n < 2`). FAIL iff `< 0`.
    pub upper_d: f64,
    /// Fieller lower bound of the ratio; `None` = unbounded (see [`fieller_roots`]).
    pub fieller_lower: Option<f64>,
    /// Fieller upper bound of the ratio; `None` = unbounded.
    pub fieller_upper: Option<f64>,
    /// Paired percentile bootstrap `q(1 − confidence)` of `mean(x*)/mean(y*)` (shared indices);
    /// resamples with `mean(y*) = 0` count as `+inf` (see [`paired_bootstrap_ratio`]).
    /// NaN when `boot_iters == 0`.
    pub bootstrap_ratio_lower: f64,
    /// Paired percentile bootstrap `q(confidence)` of the ratio. NaN when `boot_iters == 0`.
    pub bootstrap_ratio_upper: f64,
    /// Share of bootstrap resamples with `mean(x*) >= θ·mean(y*)`. NaN when `boot_iters == 0`.
    pub bootstrap_share_ge_theta: f64,
    /// θ used.
    pub theta: f64,
    /// One-sided confidence level used.
    pub confidence: f64,
    /// The one-sided quantile `t_{confidence, n−1}` used for the D bounds and Fieller (NaN if `n < 2`).
    pub t_quantile: f64,
    /// Number of bootstrap resamples.
    pub boot_iters: usize,
    /// Seed of the bootstrap RNG (ChaCha8, see the `bootstrap` module docs).
    pub boot_seed: u64,
}

/// Like [`try_paired_ratio_test`] but never fails: on invalid input (length mismatch,
/// non-finite score, non-finite θ, confidence outside (0, 1)) every statistic is NaN / `None`,
/// which the gate reads as INCONCLUSIVE. Use [`try_paired_ratio_test`] to surface the error.
pub fn paired_ratio_test(
    x: &[f64],
    y: &[f64],
    theta: f64,
    confidence: f64,
    boot_iters: usize,
    seed: u64,
) -> RatioTest {
    try_paired_ratio_test(x, y, theta, confidence, boot_iters, seed).unwrap_or(RatioTest {
        n: x.len().min(y.len()),
        mean_x: f64::NAN,
        mean_y: f64::NAN,
        ratio: f64::NAN,
        mean_d: f64::NAN,
        se_d: f64::NAN,
        lower_d: f64::NAN,
        upper_d: f64::NAN,
        fieller_lower: None,
        fieller_upper: None,
        bootstrap_ratio_lower: f64::NAN,
        bootstrap_ratio_upper: f64::NAN,
        bootstrap_share_ge_theta: f64::NAN,
        theta,
        confidence,
        t_quantile: f64::NAN,
        boot_iters,
        boot_seed: seed,
    })
}

/// Paired test of "candidate ≥ θ × baseline" (metrics.md §5.5).
///
/// * `D_i = x_i − θ·y_i` (evaluated in that order), `mean_d = mean(D)`,
///   `se_d = sd(D, ddof=1)/√n`, `lower_d / upper_d = mean_d ∓ t_{confidence, n−1}·se_d`
///   (Student t, one-sided). Means and variances use numpy's summation ([`mean`]).
/// * Fieller bounds from [`fieller_bounds`] with the same t quantile.
/// * Bootstrap: [`paired_bootstrap_ratio`] of `(mean(x*), mean(y*))` with `boot_iters`
///   resamples and `seed` (skipped, NaN, when `boot_iters == 0`).
///
/// `n < 2`: no variance is available, so `se_d = +inf`, `lower_d = -inf`, `upper_d = +inf`
/// (INCONCLUSIVE) and the Fieller bounds are `None`. Note that a sample with zero spread in D
/// (e.g. every item correct for both systems) gives `lower_d = upper_d = mean_d`, which can PASS
/// on very few items; the gate should enforce a minimum N.
///
/// Errors: [`StatsError::LengthMismatch`], [`StatsError::NonFinite`] (NaN/inf score),
/// [`StatsError::InvalidTheta`], [`StatsError::InvalidConfidence`].
pub fn try_paired_ratio_test(
    x: &[f64],
    y: &[f64],
    theta: f64,
    confidence: f64,
    boot_iters: usize,
    seed: u64,
) -> Result<RatioTest, StatsError> {
    validate(x, y)?;
    if !theta.is_finite() {
        return Err(StatsError::InvalidTheta(theta));
    }
    if !valid_confidence(confidence) {
        return Err(StatsError::InvalidConfidence(confidence));
    }
    let n = x.len();
    let mean_x = mean(x);
    let mean_y = mean(y);
    let d: Vec<f64> = x.iter().zip(y).map(|(&a, &b)| a - theta * b).collect();
    let mean_d = mean(&d);
    let (se_d, lower_d, upper_d, t_quantile) = if n < 2 {
        (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NAN)
    } else {
        let se = sample_sd(&d) / (n as f64).sqrt();
        let t = quantile_t(confidence, (n - 1) as f64);
        (se, mean_d - t * se, mean_d + t * se, t)
    };
    let (fieller_lower, fieller_upper) = fieller_bounds(x, y, confidence);
    let (bootstrap_ratio_lower, bootstrap_ratio_upper, bootstrap_share_ge_theta) =
        if boot_iters == 0 || n == 0 {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            let nf = n as f64;
            paired_bootstrap_ratio(
                n,
                |idx: &[usize]| {
                    let mut sx = 0.0;
                    let mut sy = 0.0;
                    for &i in idx {
                        sx += x[i];
                        sy += y[i];
                    }
                    (sx / nf, sy / nf)
                },
                theta,
                confidence,
                boot_iters,
                seed,
            )
        };
    Ok(RatioTest {
        n,
        mean_x,
        mean_y,
        ratio: mean_x / mean_y,
        mean_d,
        se_d,
        lower_d,
        upper_d,
        fieller_lower,
        fieller_upper,
        bootstrap_ratio_lower,
        bootstrap_ratio_upper,
        bootstrap_share_ge_theta,
        theta,
        confidence,
        t_quantile,
        boot_iters,
        boot_seed: seed,
    })
}

/// Checks equal lengths and finite scores.
fn validate(x: &[f64], y: &[f64]) -> Result<(), StatsError> {
    if x.len() != y.len() {
        return Err(StatsError::LengthMismatch {
            x: x.len(),
            y: y.len(),
        });
    }
    for (index, &value) in x.iter().chain(y).enumerate() {
        if !value.is_finite() {
            return Err(StatsError::NonFinite {
                index: index % x.len().max(1),
                value,
            });
        }
    }
    Ok(())
}

/// One-sided Fieller bounds `(lower, upper)` of `mean(x)/mean(y)` at `confidence`, using the
/// Student t quantile `q = t_{confidence, n−1}` and the variances/covariance **of the means**
/// (`var(ddof=1)/n`, `cov(ddof=1)/n`). See [`fieller_roots`]. `(None, None)` when `n < 2`, the
/// lengths differ, or the confidence is invalid.
pub fn fieller_bounds(x: &[f64], y: &[f64], confidence: f64) -> (Option<f64>, Option<f64>) {
    let n = x.len();
    if n < 2 || n != y.len() || !valid_confidence(confidence) {
        return (None, None);
    }
    let nf = n as f64;
    let q = quantile_t(confidence, (n - 1) as f64);
    fieller_roots(
        mean(x),
        mean(y),
        sample_var(x) / nf,
        sample_var(y) / nf,
        sample_cov(x, y) / nf,
        q,
    )
}

/// Roots of the Fieller equation `(mx − r·my)² = q²·(vx − 2r·cxy + r²·vy)`, i.e. of
/// `a r² − 2 b r + c = 0` with `a = my² − q²vy`, `b = mx·my − q²cxy`, `c = mx² − q²vx`.
///
/// `vx`, `vy`, `cxy` are the variances/covariance of the *means*. Returns `(lower, upper)` when
/// `a > 0` (the confidence set is then the bounded interval between the roots; a slightly
/// negative discriminant from rounding is treated as 0). When `my² <= q²vy` (`a <= 0`) the set
/// is unbounded (the complement of an interval or the whole line) and `(None, None)` is
/// returned, as are non-finite inputs.
pub fn fieller_roots(
    mx: f64,
    my: f64,
    vx: f64,
    vy: f64,
    cxy: f64,
    q: f64,
) -> (Option<f64>, Option<f64>) {
    let q2 = q * q;
    let a = my * my - q2 * vy;
    let b = mx * my - q2 * cxy;
    let c = mx * mx - q2 * vx;
    // `a <= 0` or NaN: unbounded / undefined.
    if a.is_nan() || a <= 0.0 || !b.is_finite() || !c.is_finite() {
        return (None, None);
    }
    let disc = (b * b - a * c).max(0.0);
    let s = disc.sqrt();
    // Numerically stable pair of roots: the larger-magnitude one by the usual formula, the
    // other from the product of the roots c/a.
    let (lo, hi) = if b >= 0.0 {
        let big = b + s;
        let hi = big / a;
        let lo = if big != 0.0 { c / big } else { 0.0 };
        (lo, hi)
    } else {
        let big = b - s;
        let lo = big / a;
        let hi = if big != 0.0 { c / big } else { 0.0 };
        (lo, hi)
    };
    (Some(lo.min(hi)), Some(lo.max(hi)))
}

/// Number of paired items that would give the one-sided D test (PASS iff `lower_d > 0`) power
/// `power` at level `alpha`, if the true `mean(D)` and `sd(D)` equalled the ones observed on
/// `x`, `y` (`D_i = x_i − θ·y_i`). A planning estimate, not a guarantee.
///
/// See [`items_needed_from_effect`] for the formula. `None` when the observed `mean(D) <= 0`
/// (the candidate is not above θ × baseline, so no N makes PASS likely — more items would only
/// confirm a FAIL), when fewer than 2 items or unequal lengths are given, when a score is not
/// finite, or when `alpha`/`power` are outside (0, 1).
pub fn items_needed_for_power(
    x: &[f64],
    y: &[f64],
    theta: f64,
    alpha: f64,
    power: f64,
) -> Option<u64> {
    if x.len() < 2 || validate(x, y).is_err() || !theta.is_finite() {
        return None;
    }
    let d: Vec<f64> = x.iter().zip(y).map(|(&a, &b)| a - theta * b).collect();
    let m = pairwise_sum(&d) / d.len() as f64;
    items_needed_from_effect(m, sample_sd(&d), alpha, power)
}

/// Smallest `n >= 2` with `n >= ((t_{1−α, n−1} + t_{power, n−1}) · sd_d / mean_d)²`.
///
/// This is the normal-theory size `n₀ = ((z_{1−α} + z_{power}) · sd_d/mean_d)²` refined with t
/// quantiles (the right-hand side decreases with n, so the smallest such n is found by a
/// doubling + bisection search starting at `n₀`). Compared with the exact noncentral-t
/// calculation (statsmodels `TTestPower`), it is within about 2 items for N ≥ 10.
///
/// `None` when `mean_d <= 0` or not finite, `sd_d` is negative or not finite, `alpha` or
/// `power` is outside (0, 1), or the answer exceeds 10^15. `sd_d == 0` gives `Some(2)`.
pub fn items_needed_from_effect(mean_d: f64, sd_d: f64, alpha: f64, power: f64) -> Option<u64> {
    const MAX_N: f64 = 1e15;
    if !mean_d.is_finite()
        || mean_d <= 0.0
        || !sd_d.is_finite()
        || sd_d < 0.0
        || !valid_confidence(alpha)
        || !valid_confidence(power)
    {
        return None;
    }
    if sd_d == 0.0 {
        return Some(2);
    }
    let r = sd_d / mean_d;
    let required = |n: u64| -> f64 {
        let df = (n - 1) as f64;
        let s = quantile_t(1.0 - alpha, df) + quantile_t(power, df);
        if s <= 0.0 {
            0.0
        } else {
            (s * r) * (s * r)
        }
    };
    let ok = |n: u64| n as f64 >= required(n);
    let z = quantile_normal(1.0 - alpha) + quantile_normal(power);
    let n0 = if z > 0.0 { (z * r) * (z * r) } else { 0.0 };
    if !n0.is_finite() || n0 > MAX_N {
        return None;
    }
    // The t-based requirement is at least n0 when both quantiles are positive, so start there.
    let mut lo = if alpha <= 0.5 && power >= 0.5 {
        (n0.ceil() as u64).max(2)
    } else {
        2
    };
    if ok(lo) {
        return Some(lo);
    }
    // Invariant: !ok(lo). Double until ok(hi).
    let mut hi = lo.saturating_mul(2);
    while !ok(hi) {
        if hi as f64 > MAX_N {
            return None;
        }
        lo = hi;
        hi = hi.saturating_mul(2);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}
