//! Paired percentile bootstrap (metrics.md §5.2).
//!
//! Reproducibility contract: replicate `b` (0-based) draws its `n` indices from
//! `ChaCha8Rng::seed_from_u64(seed)` switched to stream `b` (`set_stream(b)`), each index being
//! Lemire's unbiased multiply-and-reject reduction of `next_u32()` to `[0, n)` (`next_u64()` if
//! `n >= 2^32`). Every replicate
//! therefore depends only on `(seed, b, n)` — not on the rayon thread count or scheduling, nor
//! on `rand`'s distribution code — and [`resample_indices`] reproduces any single replicate.
//! Both systems always use the same indices (paired resampling).

use super::{quantile_linear, valid_confidence, Interval};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Uniform integer in `[0, n)` for `1 <= n <= 2^32` (Lemire 2019, unbiased), from `next_u32`.
fn uniform_below_u32(rng: &mut ChaCha8Rng, n: u32) -> u32 {
    let mut m = u64::from(rng.next_u32()) * u64::from(n);
    let mut low = m as u32;
    if low < n {
        let threshold = n.wrapping_neg() % n;
        while low < threshold {
            m = u64::from(rng.next_u32()) * u64::from(n);
            low = m as u32;
        }
    }
    (m >> 32) as u32
}

/// Uniform integer in `[0, n)` for `n >= 1` (Lemire 2019, unbiased), from `next_u64`.
fn uniform_below_u64(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    let mut low = m as u64;
    if low < n {
        let threshold = n.wrapping_neg() % n;
        while low < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
            low = m as u64;
        }
    }
    (m >> 64) as u64
}

/// Fills `out` with the `n` resampled indices of replicate `replicate`, starting from the
/// generator `base` (= `ChaCha8Rng::seed_from_u64(seed)`).
fn fill_indices(base: &ChaCha8Rng, replicate: u64, n: usize, out: &mut Vec<usize>) {
    let mut rng = base.clone();
    rng.set_stream(replicate);
    out.clear();
    match u32::try_from(n) {
        Ok(n32) => out.extend((0..n).map(|_| uniform_below_u32(&mut rng, n32) as usize)),
        Err(_) => {
            let n64 = n as u64;
            out.extend((0..n).map(|_| uniform_below_u64(&mut rng, n64) as usize));
        }
    }
}

/// The indices (with replacement, each in `0..n`) that bootstrap replicate `replicate` uses
/// for `seed`; written into `out` (cleared first). Useful to reproduce or audit one replicate.
pub fn resample_indices(n: usize, seed: u64, replicate: u64, out: &mut Vec<usize>) {
    let base = ChaCha8Rng::seed_from_u64(seed);
    fill_indices(&base, replicate, n, out);
}

/// Evaluates `stat` on `iters` resamples (in replicate order), in parallel with rayon.
fn replicates<T, F>(n: usize, stat: &F, iters: usize, seed: u64) -> Vec<T>
where
    T: Send,
    F: Fn(&[usize]) -> T + Sync,
{
    let base = ChaCha8Rng::seed_from_u64(seed);
    (0..iters)
        .into_par_iter()
        .map_init(
            || Vec::with_capacity(n),
            |buf, b| {
                fill_indices(&base, b as u64, n, buf);
                stat(buf)
            },
        )
        .collect()
}

/// The bootstrap replicates `stat(indices_b)` for `b = 0..iters`, in replicate order
/// (deterministic for a given `seed`, see the module docs). Empty when `n == 0`.
pub fn bootstrap_replicates<F>(n: usize, stat: F, iters: usize, seed: u64) -> Vec<f64>
where
    F: Fn(&[usize]) -> f64 + Sync,
{
    if n == 0 {
        return Vec::new();
    }
    replicates(n, &stat, iters, seed)
}

/// Sorts the non-NaN values ascending.
fn sorted_valid(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Two-sided percentile bootstrap interval of a statistic of `n` items:
/// `[q(α/2), q(1 − α/2)]`, `α = 1 − confidence`, where `q` is numpy's linear percentile
/// ([`quantile_linear`]) of the sorted replicates `stat(indices_b)`, `b = 0..iters`.
///
/// `stat` receives the resampled item indices (with repetitions) and returns the statistic,
/// e.g. `|idx| idx.iter().map(|&i| x[i] - y[i]).sum::<f64>() / idx.len() as f64` for a paired
/// mean difference. Replicates for which `stat` returns NaN are dropped; `±inf` are kept.
/// Returns [`Interval::UNDEFINED`] when `n == 0`, `iters == 0`, the confidence is outside
/// (0, 1) or every replicate is NaN. Use `iters >= 10_000` for reported intervals (§5.2).
pub fn bootstrap_interval<F>(
    n: usize,
    stat: F,
    confidence: f64,
    iters: usize,
    seed: u64,
) -> Interval
where
    F: Fn(&[usize]) -> f64 + Sync,
{
    if n == 0 || iters == 0 || !valid_confidence(confidence) {
        return Interval::UNDEFINED;
    }
    let sorted = sorted_valid(replicates(n, &stat, iters, seed).into_iter());
    let alpha = 1.0 - confidence;
    match (
        quantile_linear(&sorted, alpha / 2.0),
        quantile_linear(&sorted, 1.0 - alpha / 2.0),
    ) {
        (Some(lo), Some(hi)) => Interval::new(lo, hi),
        _ => Interval::UNDEFINED,
    }
}

/// [`bootstrap_interval`] of `k` statistics at once, on the same resamples: `stat(indices, out)` writes the `k`
/// values of one resample. Interval `j` equals `bootstrap_interval` of statistic `j` with the same `seed` (same
/// replicate indices), but the resamples are drawn once instead of `k` times.
pub fn bootstrap_intervals<F>(
    n: usize,
    k: usize,
    stat: F,
    confidence: f64,
    iters: usize,
    seed: u64,
) -> Vec<Interval>
where
    F: Fn(&[usize], &mut [f64]) + Sync,
{
    if n == 0 || iters == 0 || k == 0 || !valid_confidence(confidence) {
        return vec![Interval::UNDEFINED; k];
    }
    let reps: Vec<Vec<f64>> = replicates(
        n,
        &|idx: &[usize]| {
            let mut out = vec![f64::NAN; k];
            stat(idx, &mut out);
            out
        },
        iters,
        seed,
    );
    let alpha = 1.0 - confidence;
    (0..k)
        .map(|j| {
            let sorted = sorted_valid(reps.iter().map(|r| r[j]));
            match (
                quantile_linear(&sorted, alpha / 2.0),
                quantile_linear(&sorted, 1.0 - alpha / 2.0),
            ) {
                (Some(lo), Some(hi)) => Interval::new(lo, hi),
                _ => Interval::UNDEFINED,
            }
        })
        .collect()
}

/// Paired percentile bootstrap of a ratio of two corpus-level metrics (e.g. macro-F1 of the
/// candidate over macro-F1 of the baseline).
///
/// `stat(indices)` returns `(candidate_metric, baseline_metric)` computed on the same resample.
/// Returns `(ratio_lower, ratio_upper, share)` where, with `α = 1 − confidence`,
/// `ratio_lower = q(α)` and `ratio_upper = q(1 − α)` are **one-sided** bounds at `confidence`
/// (numpy linear percentiles of the sorted replicate ratios), and `share` is the fraction of
/// resamples with `candidate >= theta · baseline` (the bootstrap's "P(ratio ≥ θ)").
///
/// A resample whose baseline metric is 0 has an undefined ratio; it is counted as `+inf`
/// (`-inf` if the candidate metric is negative), because for non-negative metrics the candidate
/// cannot then be below θ × baseline — the same verdict as the `candidate >= θ·baseline`
/// comparison used for `share`. Resamples where either metric is NaN are dropped from all three
/// outputs. All three are NaN when `n == 0`, `iters == 0`, the confidence is outside (0, 1) or
/// no resample is usable.
pub fn paired_bootstrap_ratio<F>(
    n: usize,
    stat: F,
    theta: f64,
    confidence: f64,
    iters: usize,
    seed: u64,
) -> (f64, f64, f64)
where
    F: Fn(&[usize]) -> (f64, f64) + Sync,
{
    const UNDEF: (f64, f64, f64) = (f64::NAN, f64::NAN, f64::NAN);
    if n == 0 || iters == 0 || !valid_confidence(confidence) {
        return UNDEF;
    }
    let pairs: Vec<(f64, f64)> = replicates(n, &stat, iters, seed)
        .into_iter()
        .filter(|(c, b)| !c.is_nan() && !b.is_nan())
        .collect();
    if pairs.is_empty() {
        return UNDEF;
    }
    let at_least = pairs.iter().filter(|(c, b)| *c >= theta * *b).count();
    let share = at_least as f64 / pairs.len() as f64;
    let sorted = sorted_valid(pairs.iter().map(|&(c, b)| {
        if b == 0.0 {
            if c < 0.0 {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        } else {
            c / b
        }
    }));
    let alpha = 1.0 - confidence;
    match (
        quantile_linear(&sorted, alpha),
        quantile_linear(&sorted, 1.0 - alpha),
    ) {
        (Some(lo), Some(hi)) => (lo, hi, share),
        _ => UNDEF,
    }
}
