//! Percentiles of a sorted sample (metrics.md §6): numpy's default linear method, bit-exact, and
//! the nearest-rank method recommended for latency reports (every reported value was observed).

/// numpy `np.quantile(sorted, q)` with the default `method="linear"` (Hyndman–Fan type 7),
/// for `q` in `[0, 1]`; bit-identical to numpy on finite data.
///
/// `h = (n−1)·q`, `lo = floor(h)`, `g = h − lo`; the maximum when `h >= n−1`; otherwise numpy's
/// `_lerp`: `a + (b−a)·g` if `g < 0.5`, else `b − (b−a)·(1−g)`.
/// `sorted` must be ascending (not checked). Returns `None` for an empty slice or `q` outside
/// `[0, 1]` / NaN. Deviation from numpy only with infinite values: when `g == 0` or `a == b`
/// the result is `a` (numpy would produce NaN from `inf − inf` or `inf · 0`).
pub fn quantile_linear(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let last = n - 1;
    let h = last as f64 * q;
    if h >= last as f64 {
        return Some(sorted[last]);
    }
    let lo = h.floor();
    let g = h - lo;
    // 0 <= lo < n-1 here, so both indices are in bounds.
    let i = lo as usize;
    let a = sorted[i];
    let b = sorted[i + 1];
    if g == 0.0 || a == b {
        return Some(a);
    }
    let diff = b - a;
    Some(if g >= 0.5 {
        b - diff * (1.0 - g)
    } else {
        a + diff * g
    })
}

/// numpy `np.percentile(sorted, p)` (default linear method) for `p` in `[0, 100]`:
/// [`quantile_linear`] at `q = p / 100` (numpy divides the same way).
///
/// Example (metrics.md §6.2): for `[11, 12, 12.5, 13, 14, 15, 16, 18, 40, 250]`,
/// p50 = 14.5, p90 = 60.99999999999993, p95 = 155.49999999999977, p99 = 231.10000000000002.
pub fn percentile_linear(sorted: &[f64], p: f64) -> Option<f64> {
    if !(0.0..=100.0).contains(&p) {
        return None;
    }
    quantile_linear(sorted, p / 100.0)
}

/// Nearest-rank percentile (Hyndman–Fan type 1, numpy `method="inverted_cdf"`) for `p` in
/// `[0, 100]`: `rank = ceil(p/100 · n)` clamped to `[1, n]`, value `sorted[rank − 1]`.
///
/// The rank is computed **exactly** for the decimal the caller wrote (metrics.md §6.1 trap):
/// `p` is read as the shortest decimal with at most 9 fractional digits that rounds to it
/// (`7.0`, `99.9`, `99.99`, …) and `ceil(P·n / (100·10^d))` is evaluated in integer arithmetic.
/// So p7 of 1..=100 is 7, whereas numpy's `inverted_cdf` and hdrhistogram return 8 because
/// `0.07·100 = 7.000000000000001` in f64. Only a `p` with no such short decimal form falls back
/// to `ceil(p / 100 · n)` in f64. `sorted` must be ascending (not checked). Returns `None` for
/// an empty slice or `p` outside `[0, 100]` / NaN.
pub fn percentile_nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let rank = nearest_rank(n, p).clamp(1, n);
    Some(sorted[rank - 1])
}

/// `ceil(p/100 · n)` for `p` in `[0, 100]`, exact for decimal `p` (see [`percentile_nearest_rank`]).
fn nearest_rank(n: usize, p: f64) -> usize {
    let mut scale = 1.0f64;
    let mut scale_int: u128 = 1;
    for _ in 0..=9 {
        let scaled = (p * scale).round();
        if scaled / scale == p {
            // `scaled` is an integer in [0, 100·10^9], exactly representable.
            let num = scaled as u128 * n as u128;
            let den = 100 * scale_int;
            let rank = num.div_ceil(den);
            return usize::try_from(rank).unwrap_or(usize::MAX);
        }
        scale *= 10.0;
        scale_int *= 10;
    }
    let r = (p / 100.0 * n as f64).ceil();
    if r <= 0.0 {
        0
    } else if r >= n as f64 {
        n
    } else {
        r as usize
    }
}
