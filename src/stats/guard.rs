//! Statistics for the gate's guard rules, error rate and tail latency (metrics.md §5.7, issue 22).
//!
//! Why this module exists: on 100–400 items, comparing two error rates or two sample p99s as point
//! estimates decides by chance (one extra error moves a rate by 0.9 pp at 110 items; the sample p99
//! of 110 values is the second largest), so an equal candidate failed those rules 38% of the time.
//! Each guard rule is judged like the quality rule instead, on a confidence bound:
//!
//! * [`newcombe_diff_interval`] – an interval for the difference of two error rates.
//! * [`quantile_upper_bound`], [`quantile_lower_bound`] (and their ranks) – distribution-free
//!   bounds of one provider's latency quantile from order statistics.
//! * [`min_items_for_quantile_bound`], [`largest_boundable_quantile`] – whether a sample can bound
//!   a quantile at all, and which one it can, for the gate's messages.
//! * [`error_rate_items_needed`] – "how many items would settle an error-rate rule".
//!
//! Everything is pure, takes and returns plain numbers, and returns `None` rather than NaN or an
//! infinity when the input cannot give an answer.

use super::{quantile_normal, valid_confidence};

/// Newcombe's hybrid score interval (Newcombe 1998, method 10) for `p1 − p2` with
/// `p1 = k1/n1`, `p2 = k2/n2` from two independent binomial samples, two-sided at level
/// `1 − alpha_two_sided`.
///
/// Equal to statsmodels `confint_proportions_2indep(k1, n1, k2, n2, method="newcomb",
/// compare="diff", alpha=alpha_two_sided)`: with `[l_i, u_i]` the two-sided Wilson interval of
/// sample `i` at `z = Φ⁻¹(1 − α/2)` (statsmodels' operation order, clipped to `[0, 1]`),
///
/// `lower = (p1 − p2) − sqrt((p1 − l1)² + (u2 − p2)²)`,
/// `upper = (p1 − p2) + sqrt((p2 − l2)² + (u1 − p1)²)`.
///
/// Golden vectors (`scripts/golden/guard_stats.py`, 260 cases with n from 1 to 100000 and alpha
/// from 0.001 to 0.5) agree to 1e-12 relative or 1e-15 absolute; the only difference from
/// statsmodels is the normal quantile (statrs instead of scipy). Example: 8 vs 2 errors in
/// 110 items each at alpha 0.10 gives `[0.0074, 0.1077]` (rounded), 2 vs 2 gives
/// `[-0.0373, 0.0373]`.
///
/// One-sided use (metrics.md §5.7): each bound of the interval at `alpha_two_sided = 0.10` is a
/// one-sided 95% bound. With `p1` the candidate's error rate and `p2` the baseline's, the
/// candidate is shown worse by more than `δ` iff `lower > δ`, and not worse by more than `δ` iff
/// `upper <= δ`.
///
/// `None` when `n1` or `n2` is 0, `k1 > n1`, `k2 > n2`, or `alpha_two_sided` is not in (0, 1).
pub fn newcombe_diff_interval(
    k1: u64,
    n1: u64,
    k2: u64,
    n2: u64,
    alpha_two_sided: f64,
) -> Option<(f64, f64)> {
    if n1 == 0 || n2 == 0 || k1 > n1 || k2 > n2 || !valid_confidence(alpha_two_sided) {
        return None;
    }
    // statsmodels: crit = norm.isf(alpha / 2) = −Φ⁻¹(alpha / 2).
    let crit = -quantile_normal(alpha_two_sided / 2.0);
    let p1 = k1 as f64 / n1 as f64;
    let p2 = k2 as f64 / n2 as f64;
    let (l1, u1) = wilson_with_crit(p1, n1, crit);
    let (l2, u2) = wilson_with_crit(p2, n2, crit);
    let diff = p1 - p2;
    let d_low = ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let d_upp = ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt();
    let (lower, upper) = (diff - d_low, diff + d_upp);
    (lower.is_finite() && upper.is_finite()).then_some((lower, upper))
}

/// Wilson interval of the proportion `q` observed in `n` trials at critical value `crit`, in
/// statsmodels' `proportion_confint(method="wilson")` operation order, clipped to `[0, 1]`.
/// (Unlike [`super::wilson`] the ends at `k = 0` / `k = n` are not snapped, so the Newcombe
/// bounds follow statsmodels to the last bits.)
fn wilson_with_crit(q: f64, n: u64, crit: f64) -> (f64, f64) {
    let nf = n as f64;
    let crit2 = crit * crit;
    let denom = 1.0 + crit2 / nf;
    let center = (q + crit2 / (2.0 * nf)) / denom;
    let mut dist = crit * (q * (1.0 - q) / nf + crit2 / (4.0 * (nf * nf))).sqrt();
    dist /= denom;
    (
        (center - dist).clamp(0.0, 1.0),
        (center + dist).clamp(0.0, 1.0),
    )
}

/// The quantiles [`largest_boundable_quantile`] chooses from, largest first.
pub const BOUNDABLE_QUANTILES: [f64; 4] = [0.99, 0.95, 0.90, 0.50];

/// 1-based rank `k` of the order statistic `x_(k)` that is a distribution-free **upper**
/// confidence bound, at one-sided level `1 − alpha`, for the `p`-quantile of `n` i.i.d. values.
///
/// Definition: the smallest `k` in `1..=n` with `BinomCDF(k − 1; n, p) >= 1 − alpha`, computed as
/// `P(X >= k) <= alpha` for `X ~ Binomial(n, p)`. Why it is a bound: `x_(k) >= ξ_p` unless at
/// least `k` values fall below `ξ_p`, and the number below `ξ_p` is at most `Binomial(n, p)`
/// stochastically, so `P(x_(k) >= ξ_p) >= BinomCDF(k − 1; n, p)` for any distribution (equality
/// for continuous ones).
///
/// `None` when no such `k <= n` exists, i.e. when `p^n > alpha` (fewer than
/// [`min_items_for_quantile_bound`] values: for alpha 0.05 that is n < 299 for p99, 59 for p95,
/// 29 for p90), and for `n == 0` or `p`, `alpha` outside (0, 1).
/// Checked against `scipy.stats.binom` on 1,300 `(n, p, alpha)` cases (golden file
/// `newcombe.json`). Example: n = 400, p = 0.99, alpha = 0.05 → 400 (the maximum); alpha 0.10 → 399.
pub fn quantile_upper_rank(n: usize, p: f64, alpha: f64) -> Option<usize> {
    if n == 0 || !valid_confidence(p) || !valid_confidence(alpha) {
        return None;
    }
    let b = BinomialTerms::new(n, p);
    let limit = alpha * b.total;
    // Walk k down from n while P(X >= k) = Σ_{i>=k} t_i / total stays within alpha; the terms
    // above the mode grow as i falls, so the sum is accumulated smallest first.
    let mut tail = 0.0;
    let mut best = None;
    for k in (1..=n).rev() {
        tail += b.terms[k];
        if tail > limit {
            break;
        }
        best = Some(k);
    }
    best
}

/// 1-based rank `k` of the order statistic `x_(k)` that is a distribution-free **lower**
/// confidence bound, at one-sided level `1 − alpha`, for the `p`-quantile of `n` i.i.d. values.
///
/// Definition: the largest `k` in `1..=n` with `BinomCDF(k − 1; n, p) <= alpha`. Why it is a
/// bound: `x_(k) <= ξ_p` whenever at least `k` values are `<= ξ_p`, and that number is at least
/// `Binomial(n, p)` stochastically, so `P(x_(k) <= ξ_p) >= 1 − BinomCDF(k − 1; n, p)` for any
/// distribution.
///
/// `None` when no such `k >= 1` exists, i.e. when `(1 − p)^n > alpha`, and for `n == 0` or `p`,
/// `alpha` outside (0, 1). Checked against `scipy.stats.binom` like [`quantile_upper_rank`].
/// Example: n = 400, p = 0.99, alpha = 0.05 → 392.
pub fn quantile_lower_rank(n: usize, p: f64, alpha: f64) -> Option<usize> {
    if n == 0 || !valid_confidence(p) || !valid_confidence(alpha) {
        return None;
    }
    let b = BinomialTerms::new(n, p);
    let limit = alpha * b.total;
    let mut cdf = 0.0;
    let mut best = None;
    for k in 1..=n {
        cdf += b.terms[k - 1]; // P(X <= k − 1)
        if cdf > limit {
            break;
        }
        best = Some(k);
    }
    best
}

/// Distribution-free upper confidence bound (one-sided level `1 − alpha`) for the `p`-quantile
/// of the i.i.d. values in `sorted`: `sorted[k − 1]` with `k` = [`quantile_upper_rank`]. For
/// example the p99 of 400 latencies at alpha 0.05 is bounded by the largest of them.
///
/// `None` when the sample is too small to bound that quantile (see [`quantile_upper_rank`]) or
/// when `sorted` is not ascending or holds a non-finite value.
pub fn quantile_upper_bound(sorted: &[f64], p: f64, alpha: f64) -> Option<f64> {
    if !ascending_finite(sorted) {
        return None;
    }
    quantile_upper_rank(sorted.len(), p, alpha).map(|k| sorted[k - 1])
}

/// Distribution-free lower confidence bound (one-sided level `1 − alpha`) for the `p`-quantile
/// of the i.i.d. values in `sorted`: `sorted[k − 1]` with `k` = [`quantile_lower_rank`], so
/// `P(bound <= true quantile) >= 1 − alpha`.
///
/// `None` when no order statistic qualifies (see [`quantile_lower_rank`]) or when `sorted` is not
/// ascending or holds a non-finite value.
pub fn quantile_lower_bound(sorted: &[f64], p: f64, alpha: f64) -> Option<f64> {
    if !ascending_finite(sorted) {
        return None;
    }
    quantile_lower_rank(sorted.len(), p, alpha).map(|k| sorted[k - 1])
}

fn ascending_finite(xs: &[f64]) -> bool {
    xs.iter().all(|v| v.is_finite()) && xs.windows(2).all(|w| w[0] <= w[1])
}

/// Smallest sample size `n` for which [`quantile_upper_bound`] exists: the smallest `n` with
/// `p^n <= alpha` (`n >= ln alpha / ln p`). For alpha = 0.05: 299 for p = 0.99, 59 for 0.95, 29
/// for 0.90, 5 for 0.50 (exact for the binary values of `p` and `alpha`; checked against rational
/// arithmetic in the golden file). `None` when `p` or `alpha` is outside (0, 1).
pub fn min_items_for_quantile_bound(p: f64, alpha: f64) -> Option<u64> {
    if !valid_confidence(p) || !valid_confidence(alpha) {
        return None;
    }
    let guess = (alpha.ln() / p.ln()).ceil();
    if !guess.is_finite() || guess > 1e15 {
        return None;
    }
    // The logarithms can be off by an ulp; settle the boundary on `p^n` itself.
    let mut n = (guess as u64).max(1);
    while n > 1 && p.powf((n - 1) as f64) <= alpha {
        n -= 1;
    }
    while p.powf(n as f64) > alpha {
        n += 1;
    }
    Some(n)
}

/// The largest of [`BOUNDABLE_QUANTILES`] (0.99, 0.95, 0.90, 0.50) whose upper bound a sample of
/// `n` values has at one-sided level `1 − alpha` ([`quantile_upper_rank`] is `Some`), for
/// messages such as "110 items cannot bound a p99; they can bound the p95". `None` when not even
/// the median can be bounded (n < 5 at alpha 0.05) or `alpha` is outside (0, 1).
/// (A lower bound of these quantiles needs `(1 − p)^n <= alpha`, which every n that has the
/// upper bound also meets.)
pub fn largest_boundable_quantile(n: usize, alpha: f64) -> Option<f64> {
    BOUNDABLE_QUANTILES
        .into_iter()
        .find(|&p| quantile_upper_rank(n, p, alpha).is_some())
}

/// Approximate number of items per provider for an error-rate rule "candidate rate − baseline
/// rate <= `delta`" to be shown (one-sided level `1 − alpha`) with probability `power` when both
/// providers truly fail at rate `p_base`.
///
/// Normal approximation for the difference of two independent proportions:
/// `n = (z_{1−α} + z_{power})² · 2·p(1−p) / δ²`, rounded up. Because that goes to 0 as
/// `p_base → 0` while the score interval never does, the result is at least
/// `z_{1−α}² · (1 − δ)/δ`, the size from which Newcombe's upper bound with **zero** errors on both
/// sides drops to `δ` (Wilson's upper bound of 0/n is `z²/(n + z²)`). Example: `p_base` 0.02,
/// δ 0.005, alpha 0.05, power 0.8 → 9,695 items; `p_base` 0 → 539.
///
/// `None` when `p_base` is outside `[0, 1]`, `delta` outside (0, 1], `alpha` outside (0, 0.5),
/// `power` outside [0.5, 1), or the answer exceeds 10^15.
pub fn error_rate_items_needed(p_base: f64, delta: f64, alpha: f64, power: f64) -> Option<u64> {
    let valid = (0.0..=1.0).contains(&p_base)
        && delta > 0.0
        && delta <= 1.0
        && alpha > 0.0
        && alpha < 0.5
        && (0.5..1.0).contains(&power);
    if !valid {
        return None;
    }
    let z_a = quantile_normal(1.0 - alpha);
    let z_b = quantile_normal(power);
    let normal = (z_a + z_b).powi(2) * 2.0 * p_base * (1.0 - p_base) / (delta * delta);
    let zero_errors = z_a * z_a * (1.0 - delta) / delta;
    let n = normal.max(zero_errors).ceil();
    (n.is_finite() && n <= 1e15).then_some((n as u64).max(1))
}

/// The probabilities of `Binomial(n, p)` up to one common factor: `terms[i] ∝ P(X = i)`, with the
/// mode's term equal to 1 and the others built outward by the pmf ratio
/// `P(i + 1)/P(i) = (n − i)/(i + 1) · p/(1 − p)`. Far tails underflow to 0 harmlessly.
///
/// Tail probabilities are `Σ terms / total`, summed from the small end so that no cancellation
/// occurs (unlike `1 − cdf`); each step adds a relative error of a few ulps, so a tail is accurate
/// to about `1e-13` relative at n = 100000 (checked against scipy in the golden file).
struct BinomialTerms {
    terms: Vec<f64>,
    total: f64,
}

#[allow(dead_code)] // used by the tests on the guard-stats branch
impl BinomialTerms {
    /// `n >= 1`, `0 < p < 1`.
    fn new(n: usize, p: f64) -> Self {
        let q = 1.0 - p;
        let nf = n as f64;
        let mode = (((nf + 1.0) * p).floor() as usize).min(n);
        let mut terms = vec![0.0; n + 1];
        terms[mode] = 1.0;
        for i in mode..n {
            let i_f = i as f64;
            terms[i + 1] = terms[i] * ((nf - i_f) * p) / ((i_f + 1.0) * q);
        }
        for i in (0..mode).rev() {
            let i_f = i as f64;
            terms[i] = terms[i + 1] * ((i_f + 1.0) * q) / ((nf - i_f) * p);
        }
        // Sum each side from its small end towards the mode.
        let below: f64 = terms[..mode].iter().sum();
        let above: f64 = terms[mode..].iter().rev().sum();
        BinomialTerms {
            terms,
            total: below + above,
        }
    }

    /// `P(X <= k)`.
    #[cfg(test)]
    fn cdf(&self, k: usize) -> f64 {
        let k = k.min(self.terms.len() - 1);
        self.terms[..=k].iter().sum::<f64>() / self.total
    }

    /// `P(X > k)`.
    #[cfg(test)]
    fn sf(&self, k: usize) -> f64 {
        if k + 1 >= self.terms.len() {
            return 0.0;
        }
        self.terms[k + 1..].iter().rev().sum::<f64>() / self.total
    }
}
