//! Statistics behind evalh's promotion gate ("is the cheaper candidate at least θ × the baseline?").
//!
//! Why this module exists: a point estimate such as "accuracy 0.957 of baseline" is not evidence
//! on 50–500 items, so every comparison evalh reports carries an interval or a test, and the gate
//! decides on a one-sided confidence bound. The formulas follow `shared/reference/metrics.md`
//! §5 (statistics) and §6 (percentiles) and are checked against golden vectors produced by
//! statsmodels 0.15.0, scipy 1.17.1 and numpy 2.4.6 (`scripts/golden/stats.py`,
//! `tests/data/golden/stats*.json`):
//!
//! * [`wilson`] – statsmodels `proportion_confint(method="wilson")` (§5.1).
//! * [`mean`], [`sample_var`], [`sample_sd`] – numpy `mean` / `var(ddof=1)` with numpy's pairwise
//!   summation, so results are bit-identical to numpy (§7).
//! * [`t_interval`], [`mean_stderr`] – Student-t interval; the lm-evaluation-harness stderr (§5.4).
//! * [`bootstrap_interval`], [`paired_bootstrap_ratio`] – paired percentile bootstrap with a seeded
//!   ChaCha8 stream per replicate, deterministic for any rayon thread count (§5.2).
//! * [`mcnemar_exact`] – statsmodels `mcnemar(exact=True)`, computed as an exact pmf sum (§5.3, §5.6).
//! * [`paired_ratio_test`] – the recommended gate `D_i = x_i − θ·y_i` with one-sided t bounds, plus
//!   the Fieller bounds of the ratio and a bootstrap cross-check (§5.5), and
//!   [`items_needed_for_power`] for "how many items would make this conclusive".
//! * [`paired_t_test`] – scipy `ttest_rel` with the t interval of the mean difference, for `evalh
//!   compare` (golden file `paired_t.json` from `scripts/golden/paired_t.py`).
//! * [`percentile_linear`] (numpy default, bit-exact) and [`percentile_nearest_rank`] (§6).
//! * [`newcombe_diff_interval`] – statsmodels `confint_proportions_2indep(method="newcomb",
//!   compare="diff")`, Newcombe's hybrid score interval for a difference of error rates (§5.7,
//!   golden file `newcombe.json` from `scripts/golden/guard_stats.py`).
//! * [`quantile_upper_bound`], [`quantile_lower_bound`] (ranks: [`quantile_upper_rank`],
//!   [`quantile_lower_rank`]) – distribution-free order-statistic bounds of a quantile, ranks
//!   chosen as with `scipy.stats.binom`; [`min_items_for_quantile_bound`],
//!   [`largest_boundable_quantile`] say which quantile a sample can bound at all (§5.7).
//! * [`error_rate_items_needed`], [`error_rate_guard_power`] – items per provider to settle an
//!   error-rate guard, from the exact power of the Newcombe rule (checked against an enumeration
//!   of statsmodels' interval in the same golden file).
//! * [`cohen_kappa`] (scikit-learn `cohen_kappa_score`) and [`fleiss_kappa`] (statsmodels
//!   `inter_rater.fleiss_kappa`) – agreement between human reviewers beyond chance (golden file
//!   `kappa.json` from `scripts/golden/kappa.py`).
//! * [`quantile_normal`], [`quantile_t`] – panic-free quantiles. statrs' Student-t inverse CDF is
//!   inaccurate for large df (and does not terminate for df ≈ 1e9), so [`quantile_t`] only uses
//!   it where it was verified to 1e-12 and switches to closed forms / series elsewhere.
//!
//! Nothing here does I/O or panics on data: degenerate inputs give documented NaN / infinite /
//! `None` results, chosen so that the gate never PASSes on them (`NaN > 0` is false).

mod bootstrap;
mod dist;
mod guard;
mod intervals;
mod kappa;
mod mcnemar;
mod paired;
mod percentile;
mod ratio;
#[cfg(test)]
mod tests;

pub use bootstrap::{
    bootstrap_interval, bootstrap_intervals, bootstrap_replicates, paired_bootstrap_ratio,
    resample_indices,
};
pub use dist::{quantile_normal, quantile_t};
pub use guard::{
    error_rate_guard_power, error_rate_items_needed, largest_boundable_quantile,
    min_items_for_quantile_bound, newcombe_diff_interval, quantile_lower_bound,
    quantile_lower_rank, quantile_upper_bound, quantile_upper_rank, BOUNDABLE_QUANTILES,
};
pub use intervals::{mean_stderr, t_interval, wilson};
pub use kappa::{cohen_kappa, fleiss_kappa};
pub use mcnemar::{binomial_half_cdf, mcnemar_exact, McNemar};
pub use paired::{paired_t_test, t_two_sided_p, PairedT};
pub use percentile::{percentile_linear, percentile_nearest_rank, quantile_linear};
pub use ratio::{
    fieller_bounds, fieller_roots, items_needed_for_power, items_needed_from_effect,
    paired_ratio_test, try_paired_ratio_test, RatioTest,
};

/// A confidence interval (or a pair of one-sided bounds, see each function).
///
/// Unbounded sides are `±inf` (serialised by `serde_json` as `null`); an undefined interval is
/// `NaN` on both sides.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

impl Interval {
    /// `[-inf, +inf]`: nothing is known.
    pub const UNBOUNDED: Interval = Interval {
        lower: f64::NEG_INFINITY,
        upper: f64::INFINITY,
    };
    /// `[NaN, NaN]`: the interval is undefined (invalid input such as a confidence outside (0, 1)).
    pub const UNDEFINED: Interval = Interval {
        lower: f64::NAN,
        upper: f64::NAN,
    };

    /// Creates an interval from its bounds.
    pub fn new(lower: f64, upper: f64) -> Self {
        Interval { lower, upper }
    }

    /// `upper - lower`.
    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }

    /// Whether `lower <= v <= upper` (false when a bound is NaN).
    pub fn contains(&self, v: f64) -> bool {
        self.lower <= v && v <= self.upper
    }
}

/// Errors for inputs the statistics cannot be computed on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// Paired inputs of different lengths.
    #[error("paired inputs differ in length: {x} candidate scores vs {y} baseline scores")]
    LengthMismatch {
        /// Length of the candidate vector.
        x: usize,
        /// Length of the baseline vector.
        y: usize,
    },
    /// A confidence level outside the open interval (0, 1).
    #[error("confidence must be in (0, 1), got {0}")]
    InvalidConfidence(f64),
    /// A non-finite ratio threshold θ.
    #[error("theta must be finite, got {0}")]
    InvalidTheta(f64),
    /// A NaN or infinite per-item score.
    #[error("score of item {index} is not finite ({value})")]
    NonFinite {
        /// Zero-based item index.
        index: usize,
        /// The offending value.
        value: f64,
    },
}

/// Whether `c` is a usable confidence level, i.e. in the open interval (0, 1).
pub(crate) fn valid_confidence(c: f64) -> bool {
    c > 0.0 && c < 1.0
}

/// Sum of `xs` in numpy's order (`pairwise_sum` in numpy's `loops_utils.h`), so that
/// `pairwise_sum(xs) / n` is bit-identical to `np.mean(xs)` for a contiguous float64 array.
///
/// Blocks of fewer than 8 values are summed left to right; blocks of up to 128 values use 8
/// interleaved accumulators combined as `((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))` followed by the
/// remainder; larger blocks are split at `n/2` rounded down to a multiple of 8 and recursed.
/// The rounding error grows like O(log n) instead of O(n) for a sequential sum.
pub fn pairwise_sum(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in xs {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&xs[..8]);
        let end = n - n % 8;
        let mut i = 8;
        while i < end {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += xs[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &xs[end..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&xs[..n2]) + pairwise_sum(&xs[n2..])
    }
}

/// Arithmetic mean, bit-identical to numpy's `np.mean` on a float64 array.
///
/// Summation order: numpy's pairwise summation ([`pairwise_sum`]), then one true division by
/// `n`. (Python's `sum`, used by the SQuAD script and lm-eval, is sequential; the two agree to a
/// relative 1e-12 on evalh's sizes, e.g. `np.mean([0.1]*10) == 0.1` whereas `sum(...)/10` is
/// `0.09999999999999999`.) The mean of an empty slice is `NaN` (as in numpy).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    pairwise_sum(xs) / xs.len() as f64
}

/// Sample variance with `ddof = 1`, bit-identical to `np.var(xs, ddof=1)`:
/// `pairwise_sum((x - mean)²) / (n - 1)`. `NaN` when `n < 2`.
pub fn sample_var(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return f64::NAN;
    }
    let m = mean(xs);
    let sq: Vec<f64> = xs
        .iter()
        .map(|&v| {
            let d = v - m;
            d * d
        })
        .collect();
    pairwise_sum(&sq) / (n - 1) as f64
}

/// Sample standard deviation with `ddof = 1` (`np.std(xs, ddof=1)`, bit-identical). `NaN` when `n < 2`.
pub fn sample_sd(xs: &[f64]) -> f64 {
    sample_var(xs).sqrt()
}

/// Sample covariance with `ddof = 1`: `pairwise_sum((x - mx)(y - my)) / (n - 1)`.
/// `NaN` when the lengths differ or `n < 2`. (Equal to `np.cov(x, y)[0, 1]` to rounding; numpy
/// uses a dot product there, so it is not bit-identical.)
pub fn sample_cov(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n != y.len() || n < 2 {
        return f64::NAN;
    }
    let mx = mean(x);
    let my = mean(y);
    let prod: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(&a, &b)| (a - mx) * (b - my))
        .collect();
    pairwise_sum(&prod) / (n - 1) as f64
}
