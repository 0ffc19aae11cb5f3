#!/usr/bin/env python3
"""Golden vectors for evalh's `stats` module (src/stats/).

Reference implementations: statsmodels 0.15.0, scipy 1.17.1, numpy 2.4.6 (CPython 3.11); mpmath
(arbitrary precision) for exact Student-t / normal quantiles.
See shared/reference/metrics.md sections 5 (statistics), 6 (percentiles) and 7 (tolerances).

Writes three files under tests/data/golden/ (inputs AND expected outputs):
  stats.json            Wilson intervals, numpy mean/var/std, t intervals, percentiles, exact McNemar
  stats_quantiles.json  normal and Student-t quantiles on a grid of (p, df): scipy and mpmath
  stats_ratio.json      the paired ratio gate (D test, Fieller, bootstrap), bootstrap intervals,
                        sample-size (power) estimates and simulated PASS rates

Every float is written as a string holding Python's repr(), which round-trips exactly; the Rust
tests parse it with `str::parse::<f64>` (correctly rounded; serde_json's default float parser
is not guaranteed to be). "inf", "-inf" and "nan" are used for non-finite values.

Deterministic: all randomness comes from numpy Generators with fixed seeds. Run from anywhere:
    python3 scripts/golden/stats.py
"""

import json
import math
import os
from fractions import Fraction

import mpmath as mp
import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.power import TTestPower
from statsmodels.stats.proportion import proportion_confint

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "golden")


def F(x):
    """Exact, round-trippable text form of a float."""
    return repr(float(x))


def FL(xs):
    return [F(v) for v in xs]


def versions():
    return {"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
            "mpmath": mp.__version__}


# ---------------------------------------------------------------------------------------------
# 1. Wilson score interval (metrics.md 5.1): statsmodels proportion_confint(method="wilson").
#    Rust: wilson(k, n, confidence, two_sided). alpha = 1 - confidence, computed the same way.
#    One-sided: lower from alternative="smaller", upper from alternative="larger" (each at
#    z = isf(alpha)); evalh returns both one-sided bounds in one Interval.
# ---------------------------------------------------------------------------------------------
def wilson_cases():
    cases = []
    seen = set()

    def add(k, n, conf, two_sided):
        key = (k, n, conf, two_sided)
        if key in seen:
            return
        seen.add(key)
        alpha = 1 - conf
        if n == 0:
            lo, hi = 0.0, 1.0  # evalh convention (statsmodels divides by zero)
            source = "evalh convention for n == 0"
        elif two_sided:
            lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
            source = "statsmodels"
        else:
            lo = proportion_confint(k, n, alpha=alpha, method="wilson", alternative="smaller")[0]
            hi = proportion_confint(k, n, alpha=alpha, method="wilson", alternative="larger")[1]
            source = "statsmodels"
        cases.append({"k": k, "n": n, "confidence": F(conf), "two_sided": two_sided,
                      "lower": F(lo), "upper": F(hi), "source": source})

    # metrics.md 5.1 checks
    add(45, 50, 0.95, True)
    add(0, 50, 0.95, True)
    add(50, 50, 0.95, True)
    for n in [0, 1, 2, 3, 5, 7, 10, 20, 50, 100, 200, 500, 1000, 10000, 1000000]:
        ks = sorted({0, 1, n // 4, n // 2, (3 * n) // 4, max(n - 1, 0), n} & set(range(n + 1)))
        for k in ks:
            for conf in [0.5, 0.8, 0.9, 0.95, 0.99, 0.999]:
                for two_sided in [True, False]:
                    add(k, n, conf, two_sided)
    return cases


# ---------------------------------------------------------------------------------------------
# 2. numpy mean / var(ddof=1) / std(ddof=1): pairwise summation, expected bit-exact.
# ---------------------------------------------------------------------------------------------
def moment_arrays():
    rng = np.random.default_rng(20240501)
    arrays = [("tenth_x10", [0.1] * 10), ("single", [3.25]), ("pair", [1.0, 2.0])]
    for n in [3, 7, 8, 9, 15, 16, 17, 64, 127, 128, 129, 130, 255, 256, 257, 1000, 4097]:
        arrays.append((f"normal_{n}", list(rng.standard_normal(n) * 3.7 + 11.0)))
    for n in [50, 200, 500]:
        arrays.append((f"binary_{n}", [float(v) for v in (rng.random(n) < 0.8)]))
        arrays.append((f"unit_{n}", list(rng.random(n))))
    arrays.append(("latency_ms", list(rng.lognormal(5.0, 1.2, 300))))
    out = []
    for name, xs in arrays:
        a = np.asarray(xs, dtype=np.float64)
        rec = {"name": name, "xs": FL(a), "mean": F(np.mean(a))}
        if len(a) >= 2:
            rec["var"] = F(np.var(a, ddof=1))
            rec["sd"] = F(np.std(a, ddof=1))
        out.append(rec)
    return out


# ---------------------------------------------------------------------------------------------
# 3. Student-t interval: mean +- t.ppf((1+c)/2, n-1) * std(ddof=1)/sqrt(n).
# ---------------------------------------------------------------------------------------------
def t_intervals(moments):
    out = []
    for i, rec in enumerate(moments):
        a = np.asarray([float(v) for v in rec["xs"]])
        n = len(a)
        if n < 2 or n > 1000:
            continue
        for conf in [0.8, 0.9, 0.95, 0.99]:
            m = np.mean(a)
            se = np.std(a, ddof=1) / np.sqrt(n)
            t = stats.t.ppf((1 + conf) / 2, n - 1)
            lo, hi = m - t * se, m + t * se
            if se == 0:  # scipy rejects scale == 0 (NaN); the formula gives [m, m]
                out.append({"array": i, "confidence": F(conf), "lower": F(lo), "upper": F(hi)})
                continue
            slo, shi = stats.t.interval(conf, n - 1, loc=m, scale=se)
            assert abs(slo - lo) <= 1e-12 * max(1, abs(lo)) and abs(shi - hi) <= 1e-12 * max(1, abs(hi))
            out.append({"array": i, "confidence": F(conf), "lower": F(lo), "upper": F(hi)})
    return out


# ---------------------------------------------------------------------------------------------
# 4. Percentiles (metrics.md 6): numpy linear (bit-exact) and nearest rank.
#    nearest_rank = exact rank ceil(p/100*n) for the decimal p as written (Fraction(repr(p))),
#    which is what evalh computes; numpy's inverted_cdf is recorded too and differs where f64
#    rounding pushes p/100*n just above an integer (p7 of 1..100: numpy 8, evalh 7).
# ---------------------------------------------------------------------------------------------
def percentiles():
    rng = np.random.default_rng(77)
    arrays = [
        ("metrics_example", [12, 15, 11, 40, 13, 14, 250, 16, 12.5, 18]),
        ("one_to_100", list(range(1, 101))),
        ("single", [42.0]),
        ("pair", [1.0, 3.0]),
        ("ties", [5, 5, 5, 1, 1, 9, 9, 9, 9, 2]),
        ("negatives", list(rng.normal(-3, 10, 37))),
        ("one_to_1000", list(range(1, 1001))),
        ("lognormal_250", list(rng.lognormal(4, 1, 250))),
        ("uniform_7", list(rng.random(7))),
        ("tiny_spread", list(1.0 + rng.random(64) * 1e-12)),
    ]
    ps = [0, 0.1, 1, 5, 7, 10, 12.5, 14, 25, 28, 29, 33.3, 50, 56, 57, 66.7, 75, 90, 95, 99, 99.5,
          99.9, 99.99, 100]
    ps += [round(float(v), 3) for v in rng.uniform(0, 100, 12)]
    ps += [float(v) for v in rng.uniform(0, 100, 6)]  # full precision: evalh's f64 fallback
    out = []
    for name, xs in arrays:
        a = np.sort(np.asarray(xs, dtype=np.float64))
        n = len(a)
        rows = []
        for p in ps:
            lin = np.percentile(a, p)
            inv = np.percentile(a, p, method="inverted_cdf")
            rank = math.ceil(Fraction(repr(float(p))) * n / 100)
            rank = min(max(rank, 1), n)
            nr = a[rank - 1]
            rows.append({"p": F(p), "linear": F(lin), "nearest_rank": F(nr), "numpy_inverted_cdf": F(inv)})
        out.append({"name": name, "sorted": FL(a), "rows": rows})
    # metrics.md 6.2 example values
    ex = out[0]["rows"]
    got = {r["p"]: r for r in ex}
    assert got["50.0"]["linear"] == "14.5" and got["90.0"]["linear"] == "60.99999999999993"
    assert got["95.0"]["linear"] == "155.49999999999977" and got["99.0"]["linear"] == "231.10000000000002"
    assert [got[p]["nearest_rank"] for p in ["50.0", "90.0", "95.0", "99.0"]] == ["14.0", "40.0", "250.0", "250.0"]
    p7 = {r["p"]: r for r in out[1]["rows"]}["7.0"]
    assert p7["nearest_rank"] == "7.0" and p7["numpy_inverted_cdf"] == "8.0"
    return out


# ---------------------------------------------------------------------------------------------
# 5. Exact McNemar (metrics.md 5.3): statsmodels mcnemar(exact=True) and the exact rational
#    value (Fraction) of p = min(1, 2*BinomCDF(min(b,c); b+c, 1/2)) and of P(X <= c).
# ---------------------------------------------------------------------------------------------
def binom_half_cdf_exact(k, m):
    if k >= m:
        return Fraction(1)
    total = 0
    c = 1
    for i in range(k + 1):
        total += c
        c = c * (m - i) // (i + 1)
    return Fraction(total, 2 ** m)


def mcnemar_cases():
    rng = np.random.default_rng(5)
    pairs = [(10, 2), (25, 12), (60, 45), (0, 0), (500, 480), (2, 10), (12, 25), (0, 1), (1, 0),
             (0, 5), (5, 0), (1, 1), (7, 7), (7, 8), (8, 7), (100, 0), (0, 100), (30, 10),
             (600, 700), (700, 600), (3000, 2900), (1200, 1000), (10000, 9800)]
    pairs += [(int(b), int(c)) for b, c in rng.integers(0, 60, size=(15, 2))]
    out = []
    for b, c in pairs:
        m = b + c
        sm = mcnemar([[0, b], [c, 0]], exact=True).pvalue
        two = min(Fraction(1), 2 * binom_half_cdf_exact(min(b, c), m))
        worse = binom_half_cdf_exact(c, m)
        out.append({"b": b, "c": c, "p_two_sided_exact": F(two), "p_candidate_worse_exact": F(worse),
                    "p_two_sided_statsmodels": F(sm), "p_candidate_worse_scipy": F(stats.binom.cdf(c, m, 0.5))})
    got = {(r["b"], r["c"]): r for r in out}
    assert got[(10, 2)]["p_two_sided_exact"] == "0.03857421875"
    assert abs(float(got[(25, 12)]["p_two_sided_statsmodels"]) - 0.04703102743951604) < 1e-15
    assert abs(float(got[(60, 45)]["p_two_sided_statsmodels"]) - 0.1715646971542424) < 1e-15
    return out


# ---------------------------------------------------------------------------------------------
# 6. Quantiles: scipy norm.ppf / t.ppf and high-precision mpmath values on a grid
#    (tolerance 1e-9 relative, metrics.md 7).
# ---------------------------------------------------------------------------------------------
def t_ppf_exact(p, nu):
    """Student-t quantile to ~30 significant digits with mpmath (root of the exact CDF written
    with the regularized incomplete beta function), for the binary value of p. scipy's t.ppf is
    inaccurate near the median for small df (e.g. 4e-4 relative at p = 0.5000001, df = 4), so
    the Rust tests use this as the primary reference and scipy as a secondary one."""
    if math.isinf(nu):
        return mp.sqrt(2) * mp.erfinv(2 * mp.mpf(p) - 1)
    p = mp.mpf(p)
    nu = mp.mpf(nu)

    def cdf(t):
        x = nu / (nu + t * t)
        half = mp.betainc(nu / 2, mp.mpf(1) / 2, 0, x, regularized=True) / 2
        return 1 - half if t > 0 else half

    t0 = mp.mpf(stats.t.ppf(float(p), float(nu)))
    return mp.findroot(lambda t: cdf(t) - p, t0, tol=mp.mpf(10) ** -32)


def quantiles():
    mp.mp.dps = 45
    ps = [1e-9, 1e-6, 1e-4, 0.001, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.49, 0.499, 0.4999,
          0.5000001, 0.5001, 0.501, 0.51, 0.55, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995,
          0.999, 0.9999, 0.99999, 1 - 1e-6]
    dfs = [1, 1.5, 2, 2.5, 3, 4, 5, 7, 9, 10, 19, 29, 30, 49, 99, 100, 199, 299, 449, 450, 499, 500, 501,
           999, 1000, 1e4, 1e5, 1e6, 1e9, math.inf]
    normal = [{"p": F(p), "q_scipy": F(stats.norm.ppf(p)), "q_exact": F(t_ppf_exact(p, math.inf))} for p in ps]
    t = []
    for df in dfs:
        for p in ps:
            scipy_q = stats.t.ppf(p, df) if math.isfinite(df) else stats.norm.ppf(p)
            t.append({"p": F(p), "df": F(df), "q_scipy": F(scipy_q), "q_exact": F(t_ppf_exact(p, df))})
    return {"normal": normal, "t": t}


# ---------------------------------------------------------------------------------------------
# 7. Paired ratio gate (metrics.md 5.5).
# ---------------------------------------------------------------------------------------------
def binary_dataset(counts, seed):
    """Paired binary scores with exact category counts (both, only_baseline, only_candidate,
    neither), in a seeded random item order. x = candidate, y = baseline."""
    both, only_b, only_c, neither = counts
    x = [1.0] * both + [0.0] * only_b + [1.0] * only_c + [0.0] * neither
    y = [1.0] * both + [1.0] * only_b + [0.0] * only_c + [0.0] * neither
    perm = np.random.default_rng(seed).permutation(len(x))
    return [x[i] for i in perm], [y[i] for i in perm]


def datasets():
    rng = np.random.default_rng(31337)
    ds = []
    # The ratio_gate_example: N = 200, baseline accuracy 0.82, candidate 0.785, ratio 0.9573,
    # 33 discordant items. The point estimate is above 0.95 but L < 0: NOT a PASS at theta = 0.95.
    x, y = binary_dataset((144, 20, 13, 23), seed=2024)
    ds.append(("ratio_gate_example", x, y))
    # Near-equal systems with many items: PASS.
    x, y = binary_dataset((380, 20, 22, 78), seed=7)
    ds.append(("binary_pass_500", x, y))
    # Clearly worse candidate: FAIL (upper bound below 0).
    x, y = binary_dataset((120, 60, 10, 10), seed=8)
    ds.append(("binary_fail_200", x, y))
    # ROUGE-like continuous scores in [0, 1].
    for n, shrink in [(50, 0.97), (500, 0.99)]:
        yb = rng.beta(5, 3, n)
        xc = np.clip(yb * shrink + rng.normal(0, 0.08, n), 0, 1)
        ds.append((f"continuous_{n}", list(xc), list(yb)))
    # Baseline almost always 0: my^2 <= q^2 vy, unbounded Fieller set.
    ds.append(("sparse_baseline_12", [0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))
    # Two items only.
    ds.append(("two_items", [1.0, 0.5], [1.0, 0.75]))
    # Latency-like positive values (lower is better, but the maths is the same).
    yl = rng.lognormal(6, 0.5, 80)
    ds.append(("lognormal_80", list(yl * rng.lognormal(0.0, 0.2, 80)), list(yl)))
    return [(name, [float(v) for v in x], [float(v) for v in y]) for name, x, y in ds]


def fieller(mx, my, vx, vy, cxy, q):
    """Roots of (mx - r my)^2 = q^2 (vx - 2 r cxy + r^2 vy); None = unbounded."""
    a = my * my - q * q * vy
    b = mx * my - q * q * cxy
    c = mx * mx - q * q * vx
    if not a > 0:
        return None, None
    disc = max(b * b - a * c, 0.0)
    s = math.sqrt(disc)
    return (b - s) / a, (b + s) / a


def pct_linear(sorted_vals, q):
    """numpy linear percentile, returning a when g == 0 or a == b (like evalh; avoids inf-inf)."""
    n = len(sorted_vals)
    h = (n - 1) * q
    if h >= n - 1:
        return sorted_vals[-1]
    lo = math.floor(h)
    g = h - lo
    a, b = sorted_vals[lo], sorted_vals[lo + 1]
    if g == 0 or a == b:
        return a
    d = b - a
    return b - d * (1 - g) if g >= 0.5 else a + d * g


def py_bootstrap_means(x, y, iters, seed):
    """Paired resampling (shared indices): returns mean(x*), mean(y*) for each resample."""
    x = np.asarray(x)
    y = np.asarray(y)
    n = len(x)
    rng = np.random.default_rng(seed)
    mxs, mys = [], []
    for start in range(0, iters, 5000):
        m = min(5000, iters - start)
        idx = rng.integers(0, n, size=(m, n))
        mxs.append(x[idx].mean(axis=1))
        mys.append(y[idx].mean(axis=1))
    return np.concatenate(mxs), np.concatenate(mys)


def py_bootstrap_ratio(mx, my, theta, conf):
    """Percentile bounds q(alpha), q(1-alpha) of mean(x*)/mean(y*) (mean(y*) == 0 counts as
    +inf) and the share of resamples with mean(x*) >= theta*mean(y*)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(my == 0, np.where(mx < 0, -np.inf, np.inf), mx / np.where(my == 0, 1, my))
    s = np.sort(r)
    alpha = 1 - conf
    return pct_linear(s, alpha), pct_linear(s, 1 - alpha), float(np.mean(mx >= theta * my))


BOOT_REF_ITERS = 40_000


def ratio_cases():
    out = []
    configs = [(0.95, 0.95), (0.9, 0.95), (1.0, 0.95), (0.95, 0.9), (0.95, 0.99)]
    for k, (name, x, y) in enumerate(datasets()):
        xa, ya = np.asarray(x), np.asarray(y)
        n = len(xa)
        boot_mx, boot_my = py_bootstrap_means(x, y, BOOT_REF_ITERS, seed=1000 + k)
        for theta, conf in configs:
            d = xa - theta * ya
            mean_d = np.mean(d)
            se_d = np.std(d, ddof=1) / np.sqrt(n)
            t = stats.t.ppf(conf, n - 1)
            z = stats.norm.ppf(conf)
            mx, my = np.mean(xa), np.mean(ya)
            vx = np.var(xa, ddof=1) / n
            vy = np.var(ya, ddof=1) / n
            cxy = np.cov(xa, ya, ddof=1)[0, 1] / n
            fl, fu = fieller(mx, my, vx, vy, cxy, t)
            fzl, fzu = fieller(mx, my, vx, vy, cxy, z)
            lower_d = mean_d - t * se_d
            upper_d = mean_d + t * se_d
            # Consistency of the two formulations: L > 0  <=>  Fieller lower > theta.
            if fl is not None and abs(lower_d) > 1e-12:
                assert (lower_d > 0) == (fl > theta), (name, theta, conf)
            bl, bu, share = py_bootstrap_ratio(boot_mx, boot_my, theta, conf)
            out.append({
                "dataset": name, "theta": F(theta), "confidence": F(conf), "n": n,
                "mean_x": F(mx), "mean_y": F(my), "ratio": F(mx / my) if my != 0 else F(math.inf),
                "mean_d": F(mean_d), "se_d": F(se_d), "t_quantile": F(t),
                "lower_d": F(lower_d), "upper_d": F(upper_d),
                "verdict": "PASS" if lower_d > 0 else ("FAIL" if upper_d < 0 else "INCONCLUSIVE"),
                "fieller_lower": None if fl is None else F(fl), "fieller_upper": None if fu is None else F(fu),
                "fieller_lower_z": None if fzl is None else F(fzl), "fieller_upper_z": None if fzu is None else F(fzu),
                "bootstrap_ratio_lower": F(bl), "bootstrap_ratio_upper": F(bu), "bootstrap_share_ge_theta": F(share),
                "bootstrap_reference_iters": BOOT_REF_ITERS,
            })
    ex = [c for c in out if c["dataset"] == "ratio_gate_example" and c["theta"] == "0.95" and c["confidence"] == "0.95"][0]
    assert abs(float(ex["ratio"]) - 0.957) < 0.001 and float(ex["lower_d"]) < 0, ex
    return out


# ---------------------------------------------------------------------------------------------
# 8. Two-sided percentile bootstrap of a paired mean difference (bootstrap_interval).
# ---------------------------------------------------------------------------------------------
def bootstrap_mean_diff_cases(dsets):
    out = []
    for name, x, y in dsets:
        if len(x) < 20:
            continue
        d = np.asarray(x) - np.asarray(y)
        n = len(d)
        rng = np.random.default_rng(99)
        iters = 200_000
        reps = np.empty(iters)
        for start in range(0, iters, 5000):
            idx = rng.integers(0, n, size=(5000, n))
            reps[start:start + 5000] = d[idx].mean(axis=1)
        reps.sort()
        for conf in [0.9, 0.95]:
            alpha = 1 - conf
            out.append({"dataset": name, "confidence": F(conf),
                        "lower": F(pct_linear(reps, alpha / 2)), "upper": F(pct_linear(reps, 1 - alpha / 2)),
                        "bootstrap_sd": F(np.std(reps)), "reference_iters": iters})
    return out


# ---------------------------------------------------------------------------------------------
# 9. Sample size for power (items_needed_for_power).
#    evalh: smallest n >= 2 with n >= ((t_{1-a,n-1} + t_{power,n-1}) sd/mean_d)^2, searched from
#    n0 = ((z_{1-a} + z_power) sd/mean_d)^2. Also recorded: statsmodels' exact noncentral-t
#    TTestPower answer and a Monte-Carlo power of the D test at evalh's N (normal D).
# ---------------------------------------------------------------------------------------------
def n_needed(mean_d, sd, alpha, power):
    if not mean_d > 0:
        return None
    if sd == 0:
        return 2
    r = sd / mean_d

    def ok(n):
        s = stats.t.ppf(1 - alpha, n - 1) + stats.t.ppf(power, n - 1)
        return n >= (max(s, 0) * r) ** 2

    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    n = max(2, math.ceil((z * r) ** 2))
    while not ok(n):
        n += 1
    return n


def power_cases(dsets):
    rng = np.random.default_rng(4242)
    # metrics.md 5.5 scenario: accuracy 0.8 for both, 16% discordant items (8% + 8%).
    x, y = binary_dataset((720, 80, 80, 120), seed=1)
    cases = [("equal_acc_0.8_disc_16pct", x, y)]
    cases += [(n, x, y) for n, x, y in dsets if n in ("ratio_gate_example", "continuous_50", "continuous_500", "binary_pass_500", "binary_fail_200", "lognormal_80")]
    out = []
    for name, x, y in cases:
        for theta, alpha, power in [(0.95, 0.05, 0.8), (0.95, 0.1, 0.8), (0.95, 0.05, 0.9), (0.9, 0.05, 0.8)]:
            d = np.asarray(x) - theta * np.asarray(y)
            md, sd = float(np.mean(d)), float(np.std(d, ddof=1))
            n = n_needed(md, sd, alpha, power)
            rec = {"dataset": name, "theta": F(theta), "alpha": F(alpha), "power": F(power),
                   "mean_d": F(md), "sd_d": F(sd), "n": n}
            if n is not None:
                rec["n_noncentral_t"] = int(math.ceil(TTestPower().solve_power(
                    effect_size=md / sd, alpha=alpha, power=power, alternative="larger")))
                if n <= 5000:
                    sims = 4000
                    dd = rng.normal(md, sd, size=(sims, n))
                    m = dd.mean(axis=1)
                    s = dd.std(axis=1, ddof=1) / math.sqrt(n)
                    rec["mc_power_at_n"] = F(np.mean(m - stats.t.ppf(1 - alpha, n - 1) * s > 0))
                    rec["mc_sims"] = sims
            out.append(rec)
    eq = [r for r in out if r["dataset"] == "equal_acc_0.8_disc_16pct" and r["alpha"] == "0.05"
          and r["power"] == "0.8" and r["theta"] == "0.95"][0]
    assert 570 <= eq["n"] <= 610, eq
    return out


def simulated_pass_rates():
    """PASS rate of the gate (L > 0 at theta = 0.95, one-sided alpha = 0.05) on simulated paired
    binary data, to compare with metrics.md 5.5 (19/27/42/74% at N = 50/100/200/500 for equal
    systems with accuracy 0.8 and 16% discordant items; about 5-7% at a true ratio of 0.95)."""
    rng = np.random.default_rng(555)
    scenarios = {
        "equal_acc_0.8": [0.72, 0.08, 0.08, 0.12],        # both, only baseline, only cand, neither
        "true_ratio_0.95": [0.70, 0.10, 0.06, 0.14],     # baseline 0.80, candidate 0.76
    }
    theta = 0.95
    out = []
    for name, probs in scenarios.items():
        for n in [50, 100, 200, 500]:
            sims = 20000
            cats = rng.choice(4, size=(sims, n), p=probs)
            x = np.isin(cats, [0, 2]).astype(float)
            y = np.isin(cats, [0, 1]).astype(float)
            d = x - theta * y
            m = d.mean(axis=1)
            s = d.std(axis=1, ddof=1) / math.sqrt(n)
            rate = float(np.mean(m - stats.t.ppf(0.95, n - 1) * s > 0))
            out.append({"scenario": name, "probs": FL(probs), "n": n, "theta": F(theta),
                        "confidence": "0.95", "pass_rate": F(rate), "sims": sims})
    return out


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    moments = moment_arrays()
    main_doc = {
        "generator": "scripts/golden/stats.py",
        "versions": versions(),
        "float_encoding": "every float is a string holding Python repr(); parse with str::parse::<f64>",
        "wilson": wilson_cases(),
        "moments": moments,
        "t_interval": t_intervals(moments),
        "percentiles": percentiles(),
        "mcnemar": mcnemar_cases(),
    }
    dsets = datasets()
    ratio_doc = {
        "generator": "scripts/golden/stats.py",
        "versions": versions(),
        "float_encoding": main_doc["float_encoding"],
        "datasets": [{"name": n, "x": FL(x), "y": FL(y)} for n, x, y in dsets],
        "ratio_tests": ratio_cases(),
        "bootstrap_mean_diff": bootstrap_mean_diff_cases(dsets),
        "power": power_cases(dsets),
        "simulated_pass_rates": simulated_pass_rates(),
    }
    q_doc = {"generator": "scripts/golden/stats.py", "versions": versions(),
             "float_encoding": main_doc["float_encoding"], **quantiles()}
    for fname, doc in [("stats.json", main_doc), ("stats_ratio.json", ratio_doc), ("stats_quantiles.json", q_doc)]:
        path = os.path.join(OUT_DIR, fname)
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
