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
//! * [`error_rate_items_needed`], [`error_rate_guard_power`] – "how many items would settle an
//!   error-rate rule", and the chance that a given number does.
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
    let (lower, upper) = newcombe_with_crit(k1, n1, k2, n2, crit);
    (lower.is_finite() && upper.is_finite()).then_some((lower, upper))
}

/// [`newcombe_diff_interval`] for valid counts, with the critical value `z` given.
fn newcombe_with_crit(k1: u64, n1: u64, k2: u64, n2: u64, crit: f64) -> (f64, f64) {
    let p1 = k1 as f64 / n1 as f64;
    let p2 = k2 as f64 / n2 as f64;
    let (l1, u1) = wilson_with_crit(p1, n1, crit);
    let (l2, u2) = wilson_with_crit(p2, n2, crit);
    let diff = p1 - p2;
    let d_low = ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let d_upp = ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt();
    (diff - d_low, diff + d_upp)
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
/// Checked against `scipy.stats.binom` on 1,295 `(n, p, alpha)` cases (golden file
/// `newcombe.json`). Example: n = 400, p = 0.99, alpha = 0.05 → 400 (the maximum); alpha 0.10 → 399.
pub fn quantile_upper_rank(n: usize, p: f64, alpha: f64) -> Option<usize> {
    if n == 0 || !valid_confidence(p) || !valid_confidence(alpha) {
        return None;
    }
    let b = BinomialTerms::new(n, p, 0.0);
    let limit = alpha * b.total;
    // Walk k down from n while P(X >= k) = Σ_{i>=k} t_i / total stays within alpha; the terms
    // above the mode grow as i falls, so the sum is accumulated smallest first.
    let mut tail = 0.0;
    let mut best = None;
    for k in (1..=n).rev() {
        tail += b.get(k);
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
    let b = BinomialTerms::new(n, p, 0.0);
    let limit = alpha * b.total;
    let mut cdf = 0.0;
    let mut best = None;
    for k in 1..=n {
        cdf += b.get(k - 1); // P(X <= k − 1)
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

/// Number of items per provider for an error-rate rule "candidate rate − baseline rate <=
/// `delta`" to be shown, by Newcombe's one-sided upper bound at level `1 − alpha`, with
/// probability `power` when both providers truly fail at rate `p_base` (independently per item).
///
/// Two steps:
/// 1. a start value from the normal approximation for two independent proportions,
///    `n₀ = (z_{1−α} + z_{power})² · 2·p(1−p) / δ²`, raised to at least `z_{1−α}² · (1 − δ)/δ`
///    (below that even zero errors on both sides leave Newcombe's upper bound above `δ`, since
///    Wilson's upper bound of 0/n is `z²/(n + z²)`);
/// 2. a bisection on the **exact** power of the rule ([`error_rate_guard_power`]) from `n₀`,
///    returning an `n` with power `>= power` where `n − 1` falls short. The normal approximation
///    alone is good when both providers expect many errors (0.798 instead of 0.8 at `p_base`
///    0.02, δ 0.005) but not for few expected errors (0.589 at `p_base` 0.001, δ 0.005, and 0.637
///    at 0.02, δ 0.05), which is the usual case for error rates.
///
/// The exact power is saw-toothed in `n` (counts are integers), so an isolated smaller `n` can
/// also reach the power; read the result as "about". Examples (alpha 0.05, power 0.8):
/// `p_base` 0.02, δ 0.005 → 9,754 items (normal approximation 9,695); `p_base` 0.001 → 1,021
/// (539); `p_base` 0 → 539, exactly where the upper bound of 0/n − 0/n reaches 0.005.
///
/// `None` when `p_base` is outside `[0, 1]`, `delta` outside (0, 1], `alpha` outside (0, 0.5),
/// `power` outside [0.5, 1), or more than 4,000,000 items would be needed.
pub fn error_rate_items_needed(p_base: f64, delta: f64, alpha: f64, power: f64) -> Option<u64> {
    const LIMIT: u64 = 4_000_000;
    let n0 = error_rate_items_normal(p_base, delta, alpha, power)?;
    if n0 > LIMIT {
        return None;
    }
    let crit = -quantile_normal(alpha);
    let reaches = |n: u64| exact_guard_power(n, p_base, delta, crit) >= power;
    // Invariant: `lo == 0` or `reaches(lo)` is false; `reaches(hi)` is true.
    let (mut lo, mut hi);
    if reaches(n0) {
        hi = n0;
        lo = n0 / 2;
        while lo > 0 && reaches(lo) {
            hi = lo;
            lo /= 2;
        }
    } else {
        lo = n0;
        hi = n0.saturating_mul(2);
        while !reaches(hi) {
            if hi > LIMIT {
                return None;
            }
            lo = hi;
            hi = hi.saturating_mul(2);
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reaches(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Step 1 of [`error_rate_items_needed`]: the normal approximation with the zero-error floor,
/// rounded up. Validates the arguments as documented there (without the 4,000,000 limit).
fn error_rate_items_normal(p_base: f64, delta: f64, alpha: f64, power: f64) -> Option<u64> {
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

/// Probability that an error-rate rule is shown to hold with `n` items per provider: that
/// Newcombe's one-sided upper bound (level `1 − alpha`, i.e. [`newcombe_diff_interval`] at
/// `2·alpha`) of `p_c − p_b` is at most `delta` when both error counts are independent
/// `Binomial(n, p_base)`. Exact enumeration over both counts (probabilities below ~1e-17 of the
/// most likely count are left out); checked against an enumeration with statsmodels in the
/// golden file to 1e-9.
///
/// `None` when `n == 0`, `p_base` is outside `[0, 1]`, `delta` is NaN, or `alpha` is outside
/// (0, 0.5).
pub fn error_rate_guard_power(n: u64, p_base: f64, delta: f64, alpha: f64) -> Option<f64> {
    let valid =
        n > 0 && (0.0..=1.0).contains(&p_base) && !delta.is_nan() && alpha > 0.0 && alpha < 0.5;
    valid.then(|| exact_guard_power(n, p_base, delta, -quantile_normal(alpha)))
}

/// [`error_rate_guard_power`] for valid arguments, with the critical value given.
///
/// The upper bound increases with the candidate's count and decreases with the baseline's (checked
/// exhaustively for n <= 60 in the tests), so for each baseline count the passing candidate counts
/// are a prefix, found with one pointer that only moves forward.
fn exact_guard_power(n: u64, p: f64, delta: f64, crit: f64) -> f64 {
    let (start, w) = binomial_pmf_window(n, p);
    let mut cdf = Vec::with_capacity(w.len());
    let mut acc = 0.0;
    for &x in &w {
        acc += x;
        cdf.push(acc);
    }
    let upper = |kc: usize, kb: usize| {
        newcombe_with_crit((start + kc) as u64, n, (start + kb) as u64, n, crit).1
    };
    let mut passing = 0usize; // number of candidate counts (from `start`) that pass
    let mut power = 0.0;
    for (kb, &wb) in w.iter().enumerate() {
        while passing < w.len() && upper(passing, kb) <= delta {
            passing += 1;
        }
        if passing > 0 {
            power += wb * cdf[passing - 1];
        }
    }
    power.min(1.0)
}

/// Probabilities of `Binomial(n, p)` for `0 <= p <= 1`: `(start, w)` with `w[j] = P(X = start + j)`
/// over the counts whose probability is at least ~1e-17 of the most likely one.
fn binomial_pmf_window(n: u64, p: f64) -> (usize, Vec<f64>) {
    if p <= 0.0 {
        return (0, vec![1.0]);
    }
    if p >= 1.0 {
        return (n as usize, vec![1.0]);
    }
    let b = BinomialTerms::new(n as usize, p, 1e-17);
    let w = b.terms.iter().map(|t| t / b.total).collect();
    (b.start, w)
}

/// The probabilities of `Binomial(n, p)` up to one common factor: `terms[j] ∝ P(X = start + j)`,
/// with the mode's term equal to 1 and the others built outward by the pmf ratio
/// `P(i + 1)/P(i) = (n − i)/(i + 1) · p/(1 − p)`, stopping where a term falls below `cutoff`
/// (relative to the mode's) or underflows to 0; [`BinomialTerms::get`] is 0 outside.
///
/// Tail probabilities are `Σ terms / total`, summed from the small end so that no cancellation
/// occurs (unlike `1 − cdf`); each step adds a relative error of a few ulps, so a tail is accurate
/// to about `1e-13` relative at n = 100000 (checked against scipy in the golden file).
struct BinomialTerms {
    start: usize,
    terms: Vec<f64>,
    total: f64,
}

impl BinomialTerms {
    /// `n >= 1`, `0 < p < 1`, `cutoff >= 0` (0 keeps every representable term).
    fn new(n: usize, p: f64, cutoff: f64) -> Self {
        let q = 1.0 - p;
        let nf = n as f64;
        let mode = (((nf + 1.0) * p).floor() as usize).min(n);
        let keep = |t: f64| t > 0.0 && t >= cutoff;
        // Below the mode, collected downwards and reversed.
        let mut below = Vec::new();
        let mut t = 1.0;
        for i in (0..mode).rev() {
            let i_f = i as f64;
            t = t * ((i_f + 1.0) * q) / ((nf - i_f) * p);
            if !keep(t) {
                break;
            }
            below.push(t);
        }
        let start = mode - below.len();
        below.reverse();
        // Sum each side from its small end towards the mode.
        let below_sum: f64 = below.iter().sum();
        let mut terms = below;
        let first_above = terms.len();
        terms.push(1.0);
        let mut t = 1.0;
        for i in mode..n {
            let i_f = i as f64;
            t = t * ((nf - i_f) * p) / ((i_f + 1.0) * q);
            if !keep(t) {
                break;
            }
            terms.push(t);
        }
        let above_sum: f64 = terms[first_above..].iter().rev().sum();
        BinomialTerms {
            start,
            terms,
            total: below_sum + above_sum,
        }
    }

    /// The term of count `i` (0 outside the kept window).
    fn get(&self, i: usize) -> f64 {
        i.checked_sub(self.start)
            .and_then(|j| self.terms.get(j))
            .copied()
            .unwrap_or(0.0)
    }

    /// `P(X <= k)`.
    #[cfg(test)]
    fn cdf(&self, k: usize) -> f64 {
        (0..=k).map(|i| self.get(i)).sum::<f64>() / self.total
    }

    /// `P(X > k)`.
    #[cfg(test)]
    fn sf(&self, k: usize) -> f64 {
        let end = self.start + self.terms.len();
        (k + 1..end).rev().map(|i| self.get(i)).sum::<f64>() / self.total
    }
}

#[cfg(test)]
mod tests {
    //! Golden vectors from `scripts/golden/guard_stats.py` (statsmodels 0.15.0, scipy 1.17.1),
    //! hand-computed sizes, and a coverage simulation of the order-statistic bounds.

    use super::*;
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::Value;

    const GOLDEN: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/newcombe.json"
    ));

    fn golden() -> Value {
        serde_json::from_str(GOLDEN).expect("golden file parses")
    }

    /// A float stored as a Python `repr` string.
    fn num(v: &Value) -> f64 {
        v.as_str().expect("float string").parse().expect("float")
    }

    fn int(v: &Value) -> u64 {
        v.as_u64().expect("integer")
    }

    fn cases<'a>(g: &'a Value, key: &str) -> &'a Vec<Value> {
        g[key].as_array().expect("array")
    }

    #[test]
    fn newcombe_matches_statsmodels() {
        let g = golden();
        let cases = cases(&g, "newcombe");
        assert!(cases.len() >= 200);
        let (mut exact, mut worst_rel) = (0, 0.0f64);
        for c in cases {
            let (k1, n1, k2, n2) = (int(&c["k1"]), int(&c["n1"]), int(&c["k2"]), int(&c["n2"]));
            let alpha = num(&c["alpha"]);
            let want = (num(&c["lower"]), num(&c["upper"]));
            let got = newcombe_diff_interval(k1, n1, k2, n2, alpha).expect("valid input");
            for (a, b) in [(got.0, want.0), (got.1, want.1)] {
                let err = (a - b).abs();
                assert!(
                    err <= 1e-12 * b.abs() + 1e-15,
                    "{k1}/{n1} vs {k2}/{n2} alpha {alpha}: got {got:?}, statsmodels {want:?}"
                );
                if a == b {
                    exact += 1;
                } else if b != 0.0 {
                    worst_rel = worst_rel.max(err / b.abs());
                }
            }
        }
        println!(
            "newcombe: {} bounds, {exact} bit-identical, worst relative error {worst_rel:e}",
            2 * cases.len()
        );
    }

    #[test]
    fn newcombe_edges() {
        assert_eq!(newcombe_diff_interval(0, 0, 1, 10, 0.1), None);
        assert_eq!(newcombe_diff_interval(1, 10, 0, 0, 0.1), None);
        assert_eq!(newcombe_diff_interval(11, 10, 0, 10, 0.1), None);
        assert_eq!(newcombe_diff_interval(1, 10, 11, 10, 0.1), None);
        for alpha in [0.0, 1.0, -0.1, f64::NAN, f64::INFINITY] {
            assert_eq!(newcombe_diff_interval(1, 10, 1, 10, alpha), None);
        }
        // Swapping the samples mirrors the interval; equal data give a symmetric interval
        // around 0 that contains it, and it narrows as n grows.
        let (lo, hi) = newcombe_diff_interval(8, 110, 2, 110, 0.1).unwrap();
        let (lo2, hi2) = newcombe_diff_interval(2, 110, 8, 110, 0.1).unwrap();
        assert_eq!((lo, hi), (-hi2, -lo2));
        let (a, b) = newcombe_diff_interval(2, 110, 2, 110, 0.1).unwrap();
        assert!(a < 0.0 && b > 0.0 && (a + b).abs() < 1e-15);
        let (c, d) = newcombe_diff_interval(8, 440, 8, 440, 0.1).unwrap();
        assert!(d - c < b - a);
        // Every bound stays in [-1, 1] and never NaN, including all-or-nothing counts.
        for (k1, n1, k2, n2) in [(0, 1, 1, 1), (1, 1, 0, 1), (0, 100000, 100000, 100000)] {
            let (lo, hi) = newcombe_diff_interval(k1, n1, k2, n2, 0.01).unwrap();
            assert!((-1.0..=1.0).contains(&lo) && (-1.0..=1.0).contains(&hi) && lo <= hi);
        }
    }

    #[test]
    fn order_statistic_ranks_match_scipy() {
        let g = golden();
        let cases = cases(&g, "order_stat_bounds");
        assert!(cases.len() > 1000);
        for c in cases {
            let n = int(&c["n"]) as usize;
            let (p, alpha) = (num(&c["p"]), num(&c["alpha"]));
            let want_up = c["upper_rank"].as_u64().map(|k| k as usize);
            let want_lo = c["lower_rank"].as_u64().map(|k| k as usize);
            assert_eq!(
                quantile_upper_rank(n, p, alpha),
                want_up,
                "upper n={n} p={p} a={alpha}"
            );
            assert_eq!(
                quantile_lower_rank(n, p, alpha),
                want_lo,
                "lower n={n} p={p} a={alpha}"
            );
        }
        // The bounds are the order statistics of those ranks: on 1..=n the value is the rank.
        let sorted: Vec<f64> = (1..=400).map(f64::from).collect();
        assert_eq!(quantile_upper_bound(&sorted, 0.99, 0.05), Some(400.0));
        assert_eq!(quantile_upper_bound(&sorted, 0.99, 0.10), Some(399.0));
        assert_eq!(quantile_upper_bound(&sorted, 0.99, 0.01), None);
        assert_eq!(quantile_lower_bound(&sorted, 0.99, 0.05), Some(392.0));
        assert_eq!(quantile_upper_bound(&sorted[..298], 0.99, 0.05), None);
        assert_eq!(
            quantile_upper_bound(&sorted[..299], 0.99, 0.05),
            Some(299.0)
        );
    }

    #[test]
    fn order_statistic_bounds_reject_bad_input() {
        let mut xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert!(quantile_upper_bound(&xs, 0.9, 0.05).is_some());
        for (p, alpha) in [
            (0.0, 0.05),
            (1.0, 0.05),
            (0.9, 0.0),
            (0.9, 1.0),
            (f64::NAN, 0.05),
        ] {
            assert_eq!(quantile_upper_bound(&xs, p, alpha), None);
            assert_eq!(quantile_lower_bound(&xs, p, alpha), None);
        }
        assert_eq!(quantile_upper_bound(&[], 0.5, 0.05), None);
        assert_eq!(quantile_lower_rank(0, 0.5, 0.05), None);
        xs.swap(3, 4);
        assert_eq!(quantile_upper_bound(&xs, 0.9, 0.05), None);
        xs.swap(3, 4);
        xs[99] = f64::INFINITY;
        assert_eq!(quantile_lower_bound(&xs, 0.5, 0.05), None);
        xs[99] = f64::NAN;
        assert_eq!(quantile_upper_bound(&xs, 0.5, 0.05), None);
    }

    #[test]
    fn binomial_tails_match_scipy() {
        let g = golden();
        let mut worst = 0.0f64;
        for c in cases(&g, "binom_cdf") {
            let (k, n) = (int(&c["k"]) as usize, int(&c["n"]) as usize);
            let p = num(&c["p"]);
            let b = BinomialTerms::new(n, p, 0.0);
            for (got, want) in [(b.cdf(k), num(&c["cdf"])), (b.sf(k), num(&c["sf"]))] {
                // Relative where it matters; probabilities below 1e-280 may lose the last terms.
                let err = (got - want).abs();
                assert!(
                    err <= 1e-11 * want + 1e-280,
                    "k={k} n={n} p={p}: {got} vs scipy {want}"
                );
                if want > 1e-280 {
                    worst = worst.max(err / want);
                }
            }
        }
        println!("binomial tails: worst relative error {worst:e}");
    }

    #[test]
    fn min_items_and_boundable_quantile() {
        assert_eq!(min_items_for_quantile_bound(0.99, 0.05), Some(299));
        assert_eq!(min_items_for_quantile_bound(0.95, 0.05), Some(59));
        assert_eq!(min_items_for_quantile_bound(0.90, 0.05), Some(29));
        for (p, alpha) in [
            (0.0, 0.05),
            (1.0, 0.05),
            (0.5, 0.0),
            (0.5, 1.0),
            (f64::NAN, 0.1),
        ] {
            assert_eq!(min_items_for_quantile_bound(p, alpha), None);
        }
        let g = golden();
        for c in cases(&g, "min_items") {
            let (p, alpha) = (num(&c["p"]), num(&c["alpha"]));
            let n = int(&c["n"]);
            assert_eq!(
                min_items_for_quantile_bound(p, alpha),
                Some(n),
                "p={p} alpha={alpha}"
            );
            // Consistent with the rank search: the bound exists from n on, not before.
            assert!(quantile_upper_rank(n as usize, p, alpha).is_some());
            assert!(quantile_upper_rank(n as usize - 1, p, alpha).is_none());
        }
        let expect = [
            (4, None),
            (5, Some(0.5)),
            (28, Some(0.5)),
            (29, Some(0.9)),
            (58, Some(0.9)),
            (59, Some(0.95)),
            (110, Some(0.95)),
            (298, Some(0.95)),
            (299, Some(0.99)),
            (100000, Some(0.99)),
        ];
        for (n, want) in expect {
            assert_eq!(largest_boundable_quantile(n, 0.05), want, "n={n}");
        }
        assert_eq!(largest_boundable_quantile(230, 0.10), Some(0.99));
        assert_eq!(largest_boundable_quantile(500, 0.0), None);
    }

    /// Exponential(1) values from a seeded ChaCha8 stream.
    fn exponential_sample(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        let mut xs: Vec<f64> = (0..n)
            .map(|_| {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
                -(1.0 - u).ln()
            })
            .collect();
        xs.sort_by(f64::total_cmp);
        xs
    }

    #[test]
    fn order_statistic_bounds_cover_at_their_level() {
        // 2000 samples of 400 exponential values; the true quantile is −ln(1 − p).
        const SAMPLES: usize = 2000;
        const N: usize = 400;
        let alpha = 0.05;
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let targets: [(f64, bool); 5] = [
            (0.99, true),
            (0.95, true),
            (0.95, false),
            (0.5, true),
            (0.5, false),
        ];
        let mut hits = [0usize; 5];
        for _ in 0..SAMPLES {
            let xs = exponential_sample(&mut rng, N);
            for (j, &(p, upper)) in targets.iter().enumerate() {
                let truth = -(1.0 - p).ln();
                let covered = if upper {
                    quantile_upper_bound(&xs, p, alpha).unwrap() >= truth
                } else {
                    quantile_lower_bound(&xs, p, alpha).unwrap() <= truth
                };
                hits[j] += usize::from(covered);
            }
        }
        for (j, &(p, upper)) in targets.iter().enumerate() {
            // For a continuous distribution the coverage is exactly BinomCDF(k − 1; n, p) for the
            // upper bound and 1 − BinomCDF(k − 1; n, p) for the lower one.
            let b = BinomialTerms::new(N, p, 0.0);
            let exact = if upper {
                b.cdf(quantile_upper_rank(N, p, alpha).unwrap() - 1)
            } else {
                b.sf(quantile_lower_rank(N, p, alpha).unwrap() - 1)
            };
            let seen = hits[j] as f64 / SAMPLES as f64;
            let se = (exact * (1.0 - exact) / SAMPLES as f64).sqrt();
            let side = if upper { "upper" } else { "lower" };
            println!("p{p} {side} bound: coverage {seen:.4} (exact {exact:.4}, level 0.95)");
            assert!(exact >= 1.0 - alpha);
            assert!(seen >= 1.0 - alpha - 0.02, "p{p} {side}: coverage {seen}");
            assert!(
                (seen - exact).abs() <= 4.0 * se + 1e-9,
                "p{p} {side}: {seen} vs {exact}"
            );
        }
    }

    #[test]
    fn error_rate_normal_start_by_hand() {
        // z_0.95 = 1.6448536269514722, z_0.8 = 0.8416212335729143:
        // (2.4864748605243865)² · 2 · 0.02 · 0.98 / 0.005² = 9694.2497… → 9695.
        assert_eq!(error_rate_items_normal(0.02, 0.005, 0.05, 0.8), Some(9695));
        // No errors: z² · (1 − δ)/δ = 2.7055434… · 0.995/0.005 = 538.403… → 539.
        assert_eq!(error_rate_items_normal(0.0, 0.005, 0.05, 0.8), Some(539));
        // 5% errors, a 5 pp margin: 6.1825… · 2 · 0.0475 / 0.0025 = 234.9… → 235.
        assert_eq!(error_rate_items_normal(0.05, 0.05, 0.05, 0.8), Some(235));
        for (p, d, a, pw) in [
            (-0.1, 0.005, 0.05, 0.8),
            (1.1, 0.005, 0.05, 0.8),
            (0.02, 0.0, 0.05, 0.8),
            (0.02, 0.005, 0.5, 0.8),
            (0.02, 0.005, 0.05, 1.0),
            (0.02, 0.005, 0.05, 0.4),
            (f64::NAN, 0.005, 0.05, 0.8),
        ] {
            assert_eq!(
                error_rate_items_normal(p, d, a, pw),
                None,
                "{p} {d} {a} {pw}"
            );
            assert_eq!(
                error_rate_items_needed(p, d, a, pw),
                None,
                "{p} {d} {a} {pw}"
            );
        }
        // Beyond the search limit.
        assert_eq!(error_rate_items_needed(0.5, 1e-4, 0.05, 0.8), None);
    }

    #[test]
    fn guard_power_matches_statsmodels_enumeration() {
        let g = golden();
        for c in cases(&g, "guard_power") {
            let n = int(&c["n"]);
            let (p, delta, alpha) = (num(&c["p"]), num(&c["delta"]), num(&c["alpha"]));
            let want = num(&c["power"]);
            let got = error_rate_guard_power(n, p, delta, alpha).unwrap();
            assert!(
                (got - want).abs() <= 1e-9,
                "n {n} p {p} delta {delta}: {got} vs {want}"
            );
        }
        assert_eq!(error_rate_guard_power(0, 0.02, 0.005, 0.05), None);
        assert_eq!(error_rate_guard_power(100, 1.5, 0.005, 0.05), None);
        assert_eq!(error_rate_guard_power(100, 0.02, 0.005, 0.5), None);
    }

    #[test]
    fn newcombe_upper_is_monotone_in_both_counts() {
        // exact_guard_power relies on this; checked for every count pair up to n = 60.
        for alpha in [0.2, 0.1, 0.05, 0.02] {
            let crit = -quantile_normal(alpha / 2.0);
            for n in 1..=60u64 {
                for k1 in 0..=n {
                    for k2 in 0..=n {
                        let u = newcombe_with_crit(k1, n, k2, n, crit).1;
                        if k1 < n {
                            assert!(newcombe_with_crit(k1 + 1, n, k2, n, crit).1 >= u);
                        }
                        if k2 < n {
                            assert!(newcombe_with_crit(k1, n, k2 + 1, n, crit).1 <= u);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn error_rate_items_needed_reaches_the_power() {
        let cases = [
            (0.02, 0.005),
            (0.02, 0.02),
            (0.1, 0.03),
            (0.001, 0.005),
            (0.005, 0.005),
            (0.01, 0.01),
            (0.02, 0.05),
            (0.3, 0.05),
            (0.0, 0.005),
        ];
        for (p, delta) in cases {
            let normal = error_rate_items_normal(p, delta, 0.05, 0.8).unwrap();
            let n = error_rate_items_needed(p, delta, 0.05, 0.8).unwrap();
            let at = error_rate_guard_power(n, p, delta, 0.05).unwrap();
            let before = error_rate_guard_power(n - 1, p, delta, 0.05).unwrap();
            let at_normal = error_rate_guard_power(normal, p, delta, 0.05).unwrap();
            println!(
                "p_base {p}, delta {delta}: {n} items (power {at:.3}; normal approximation {normal} \
                 items, power {at_normal:.3})"
            );
            assert!(
                at >= 0.8 && before < 0.8,
                "p {p} delta {delta}: {before} / {at}"
            );
        }
        // With no errors at all the answer is where the upper bound of 0/n − 0/n reaches delta.
        assert_eq!(error_rate_items_needed(0.0, 0.005, 0.05, 0.8), Some(539));
        assert!(newcombe_diff_interval(0, 539, 0, 539, 0.1).unwrap().1 <= 0.005);
        assert!(newcombe_diff_interval(0, 538, 0, 538, 0.1).unwrap().1 > 0.005);
    }
}
