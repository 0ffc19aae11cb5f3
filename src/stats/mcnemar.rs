//! Exact McNemar test for paired binary outcomes (metrics.md §5.3, §5.6).
//!
//! McNemar tests *equality* of the two systems, not "candidate ≥ θ·baseline", so evalh reports
//! it as a diagnostic next to the ratio gate, never as the gate itself.

/// Result of [`mcnemar_exact`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct McNemar {
    /// Items where only the baseline is correct.
    pub b: u64,
    /// Items where only the candidate is correct.
    pub c: u64,
    /// Two-sided exact p-value, `min(1, 2·P(X <= min(b, c)))`, `X ~ Bin(b + c, ½)`;
    /// 1 when `b + c == 0` (statsmodels `mcnemar(table, exact=True).pvalue`).
    pub p_two_sided: f64,
    /// One-sided p-value for "the candidate is worse": `P(X <= c)`, `X ~ Bin(b + c, ½)`.
    pub p_candidate_worse: f64,
}

/// Exact McNemar test from the discordant counts `b` (only the baseline correct) and `c` (only
/// the candidate correct).
///
/// The binomial CDF is an exact pmf sum ([`binomial_half_cdf`]), not statrs' `Binomial::cdf`
/// (which goes through `beta_reg` and is off by up to ~1e-13 relative: 2·cdf(2; 12) =
/// 0.038574218750000576 instead of 0.03857421875). Checks: (10, 2) → 0.03857421875,
/// (25, 12) → 0.04703102743951604, (60, 45) → 0.1715646971542424.
pub fn mcnemar_exact(b: u64, c: u64) -> McNemar {
    let m = b.saturating_add(c);
    let p_two_sided = (2.0 * binomial_half_cdf(b.min(c), m)).min(1.0);
    McNemar {
        b,
        c,
        p_two_sided,
        p_candidate_worse: binomial_half_cdf(c, m),
    }
}

/// `P(X <= k)` for `X ~ Binomial(m, ½)`, summed exactly from the pmf.
///
/// For `k < m/2` the terms `C(m, i)` are built by `t_{i+1} = (t_i·(m−i))/(i+1)` starting from 1
/// and summed in increasing order (so the largest terms come last), with the running total
/// rescaled by powers of two when large and multiplied by `2^−m` at the end (exact scaling, so
/// this equals metrics.md's "start at 2^−m" recipe without its underflow for m > 1074).
/// Terms `C(m, i)` are exact integers in f64 while below 2^53, so small cases are exact; the
/// relative error is at most about `k · 1e-16` otherwise. For `k >= m/2` the symmetry
/// `P(X <= k) = 1 − P(X <= m−k−1)` is used. Cost O(min(k, m − k)).
pub fn binomial_half_cdf(k: u64, m: u64) -> f64 {
    if k >= m {
        return 1.0;
    }
    if 2 * (k as u128) < m as u128 {
        lower_sum(k, m)
    } else {
        1.0 - lower_sum(m - k - 1, m)
    }
}

/// `Σ_{i=0..=k} C(m, i) · 2^−m` for `k < m/2` (increasing terms).
fn lower_sum(k: u64, m: u64) -> f64 {
    // Rescale when the running sum exceeds 2^900; track the binary exponent separately.
    const BIG: f64 = 8.452712498170644e270; // 2^900
    const INV_BIG: f64 = 1.1830521861667747e-271; // 2^-900
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    let mut exp2: i64 = 0;
    let mf = m as f64;
    let mut i = 0u64;
    while i < k {
        // Multiply first, then divide: exact while C(m, i)·(m − i) < 2^53.
        term = term * (mf - i as f64) / (i + 1) as f64;
        sum += term;
        if sum > BIG {
            sum *= INV_BIG;
            term *= INV_BIG;
            exp2 += 900;
        }
        i += 1;
    }
    ldexp(sum, exp2 - m as i64)
}

/// `x · 2^e` without intermediate overflow/underflow of the factor.
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    const STEP: i64 = 1000;
    let two_pow_step = 2f64.powi(STEP as i32);
    let two_pow_neg_step = 2f64.powi(-STEP as i32);
    while e > STEP {
        x *= two_pow_step;
        e -= STEP;
        if x.is_infinite() {
            return x;
        }
    }
    while e < -STEP {
        x *= two_pow_neg_step;
        e += STEP;
        if x == 0.0 {
            return 0.0;
        }
    }
    x * 2f64.powi(e as i32)
}
