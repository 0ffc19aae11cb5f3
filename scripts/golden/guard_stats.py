#!/usr/bin/env python3
"""Golden vectors for the gate's guard-rule statistics (src/stats/guard.rs, issue 22).

Reference implementations: statsmodels 0.15.0, scipy 1.17.1, numpy 2.4.6 (CPython 3.11).
See shared/reference/metrics.md section 5.7. Set up and run (from anywhere):

    python3 -m venv /tmp/golden-venv
    /tmp/golden-venv/bin/pip install statsmodels==0.15.0 scipy==1.17.1 numpy==2.4.6
    /tmp/golden-venv/bin/python scripts/golden/guard_stats.py

Writes tests/data/golden/newcombe.json (inputs AND expected outputs):
  newcombe          Newcombe's hybrid score interval (his method 10) for p1 - p2:
                    statsmodels confint_proportions_2indep(k1, n1, k2, n2, method="newcomb",
                    compare="diff", alpha=alpha)
  order_stat_bounds the 1-based rank k of the distribution-free order-statistic bounds of the
                    p-quantile of n i.i.d. values, chosen with scipy.stats.binom:
                      upper: smallest k with BinomCDF(k-1; n, p) >= 1 - alpha  (null: none <= n)
                      lower: largest  k with BinomCDF(k-1; n, p) <= alpha      (null: none >= 1)
  min_items         smallest n with p^n <= alpha (the first n for which an upper bound exists),
                    exact in rational arithmetic on the binary values of p and alpha
  binom_cdf         scipy.stats.binom.cdf / .sf values, to check evalh's binomial sums directly
  guard_power       P(Newcombe's one-sided upper bound of p1 - p2 <= delta) when both counts are
                    independent Binomial(n, p): a full enumeration of statsmodels' interval at
                    alpha_two_sided = 2 * alpha, weighted with scipy.stats.binom.pmf

Every float is written as a string holding Python's repr(), which round-trips exactly; the Rust
tests parse it with str::parse::<f64>. Deterministic: random cases come from a seeded numpy
Generator.
"""

import json
import os
from fractions import Fraction

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "golden",
                   "newcombe.json")

# A rank decision is only kept when the binomial probability it compares is this far from its
# threshold (relative): closer than that, rounding in scipy or in evalh could legitimately pick the
# neighbouring rank. The number of dropped near-ties is recorded in the JSON.
TIE_MARGIN = 1e-9


def F(x):
    """Exact, round-trippable text form of a float."""
    return repr(float(x))


# ---------------------------------------------------------------------------------------------
# 1. Newcombe's hybrid score interval for p1 - p2.
# ---------------------------------------------------------------------------------------------
def newcombe_cases():
    cases = []
    seen = set()

    def add(k1, n1, k2, n2, alpha):
        key = (k1, n1, k2, n2, alpha)
        if key in seen:
            return
        seen.add(key)
        lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=alpha)
        cases.append({"k1": k1, "n1": n1, "k2": k2, "n2": n2, "alpha": F(alpha),
                      "lower": F(lo), "upper": F(hi)})

    alphas = [0.10, 0.05, 0.01]
    # Edge cases: n = 1, zero and all-error counts, equal and unequal sizes.
    for alpha in alphas:
        for (n1, n2) in [(1, 1), (1, 10), (10, 1), (2, 3), (110, 110), (400, 400), (50, 200), (1000, 37)]:
            for k1 in sorted({0, 1, n1 // 2, n1 - 1, n1} & set(range(n1 + 1))):
                for k2 in sorted({0, n2} & set(range(n2 + 1))):
                    add(k1, n1, k2, n2, alpha)
        # Large n.
        add(0, 100000, 0, 100000, alpha)
        add(2000, 100000, 2000, 100000, alpha)
        add(2500, 100000, 2000, 100000, alpha)
        add(100000, 100000, 99999, 100000, alpha)
        add(31, 100000, 4, 250, alpha)
    # The scenarios: 2% vs 2% and 8% vs 2% errors at 110 and 400 items.
    for alpha in alphas:
        for n in [110, 400]:
            add(round(0.02 * n), n, round(0.02 * n), n, alpha)
            add(round(0.08 * n), n, round(0.02 * n), n, alpha)
    # Random cases, mostly small error rates as the gate sees them.
    rng = np.random.default_rng(20250522)
    while len(cases) < 260:
        n1 = int(rng.choice([int(rng.integers(1, 30)), int(rng.integers(30, 600)), int(rng.integers(600, 20000))]))
        n2 = n1 if rng.random() < 0.6 else int(rng.integers(1, 2 * n1 + 2))
        rate = float(rng.choice([0.0, 0.005, 0.02, 0.05, 0.3, rng.random()]))
        k1 = int(rng.binomial(n1, min(1.0, rate * float(rng.choice([1.0, 2.0, 4.0])))))
        k2 = int(rng.binomial(n2, rate))
        add(k1, n1, k2, n2, float(rng.choice(alphas + [0.2, 0.001, float(rng.uniform(0.001, 0.5))])))
    return cases


# ---------------------------------------------------------------------------------------------
# 2. Order-statistic ranks for distribution-free quantile bounds.
# ---------------------------------------------------------------------------------------------
def pick_ranks(n, p, alpha):
    """(upper_k, lower_k, near_tie) with ranks 1-based or None."""
    js = np.arange(0, n)  # j = k - 1 for k = 1..n
    cdf = stats.binom.cdf(js, n, p)  # P(X <= k-1)
    sf = stats.binom.sf(js, n, p)  # P(X >= k) = 1 - cdf
    near_tie = bool(np.any(np.abs(sf - alpha) <= TIE_MARGIN * alpha)
                    or np.any(np.abs(cdf - alpha) <= TIE_MARGIN * alpha))
    up_cdf = np.nonzero(cdf >= 1 - alpha)[0]
    up_sf = np.nonzero(sf <= alpha)[0]
    upper = int(up_sf[0]) + 1 if len(up_sf) else None
    upper_c = int(up_cdf[0]) + 1 if len(up_cdf) else None
    low = np.nonzero(cdf <= alpha)[0]
    lower = int(low[-1]) + 1 if len(low) else None
    if upper != upper_c:
        near_tie = True  # cdf and sf disagree: a rounding-level tie
    return upper, lower, near_tie


def order_stat_cases():
    cases = []
    dropped = 0
    ns = [1, 2, 3, 4, 5, 10, 22, 28, 29, 30, 44, 45, 58, 59, 60, 89, 90, 100, 110, 200, 230, 298, 299, 300,
          400, 459, 460, 1000, 2995, 2996, 5000, 100000]
    ps = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]
    alphas = [0.05, 0.10, 0.01, 0.025]
    for n in ns:
        for p in ps:
            for alpha in alphas:
                upper, lower, tie = pick_ranks(n, p, alpha)
                if tie:
                    dropped += 1
                    continue
                cases.append({"n": n, "p": F(p), "alpha": F(alpha), "upper_rank": upper, "lower_rank": lower})
    rng = np.random.default_rng(7)
    for _ in range(150):
        n = int(rng.integers(1, 3000))
        p = float(rng.uniform(0.001, 0.999))
        alpha = float(rng.uniform(0.001, 0.3))
        upper, lower, tie = pick_ranks(n, p, alpha)
        if tie:
            dropped += 1
            continue
        cases.append({"n": n, "p": F(p), "alpha": F(alpha), "upper_rank": upper, "lower_rank": lower})
    return cases, dropped


def min_items_cases():
    out = []
    for p in [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999]:
        for alpha in [0.05, 0.10, 0.01, 0.025, 0.2]:
            fp, fa = Fraction(p), Fraction(alpha)
            n = int(np.floor(np.log(alpha) / np.log(p)))  # start just below, then step exactly
            n = max(n - 2, 1)
            while fp ** n > fa:
                n += 1
            assert n == 1 or fp ** (n - 1) > fa
            # Cross-check with scipy: an upper rank exists at n and not at n - 1.
            assert pick_ranks(n, p, alpha)[0] is not None
            if n > 1:
                assert pick_ranks(n - 1, p, alpha)[0] is None
            out.append({"p": F(p), "alpha": F(alpha), "n": n})
    return out


def binom_cdf_cases():
    out = []
    for n, p in [(1, 0.5), (10, 0.3), (110, 0.99), (400, 0.99), (400, 0.5), (1000, 0.95), (100000, 0.99),
                 (100000, 0.5), (59, 0.95), (29, 0.9)]:
        mean = n * p
        sd = (n * p * (1 - p)) ** 0.5
        ks = sorted({0, n, max(0, int(mean - 3 * sd)), int(mean), min(n, int(mean + 3 * sd)), max(0, n - 1),
                     min(n, int(mean + sd))})
        for k in ks:
            out.append({"k": k, "n": n, "p": F(p), "cdf": F(stats.binom.cdf(k, n, p)),
                        "sf": F(stats.binom.sf(k, n, p))})
    return out


def guard_power_cases():
    out = []
    for n, p, delta, alpha in [(110, 0.02, 0.005, 0.05), (400, 0.02, 0.005, 0.05), (539, 0.001, 0.005, 0.05),
                               (538, 0.0, 0.005, 0.05), (539, 0.0, 0.005, 0.05), (97, 0.02, 0.05, 0.05),
                               (606, 0.02, 0.02, 0.05), (1237, 0.1, 0.03, 0.05), (9695, 0.02, 0.005, 0.05),
                               (400, 0.5, 0.1, 0.01), (50, 0.3, 0.2, 0.10), (1, 0.5, 0.5, 0.05),
                               (2000, 0.999, 0.01, 0.05), (400, 1.0, 0.01, 0.05), (3000, 0.01, 0.008, 0.025)]:
        ks = np.arange(0, n + 1)
        pmf = stats.binom.pmf(ks, n, p)
        keep = ks[pmf > 1e-20]
        w = stats.binom.pmf(keep, n, p)
        k1, k2 = np.meshgrid(keep, keep, indexing="ij")
        upper = confint_proportions_2indep(k1, n, k2, n, method="newcomb", compare="diff", alpha=2 * alpha)[1]
        power = float(np.sum(np.outer(w, w)[upper <= delta]))
        out.append({"n": n, "p": F(p), "delta": F(delta), "alpha": F(alpha), "power": F(power)})
    return out


def main():
    order, dropped = order_stat_cases()
    doc = {
        "generator": "scripts/golden/guard_stats.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
        "float_encoding": "every float is a string holding Python repr(); parse with str::parse::<f64>",
        "newcombe": newcombe_cases(),
        "order_stat_bounds": order,
        "order_stat_near_ties_dropped": dropped,
        "min_items": min_items_cases(),
        "binom_cdf": binom_cdf_cases(),
        "guard_power": guard_power_cases(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes): {len(doc['newcombe'])} newcombe, "
          f"{len(order)} order-stat ({dropped} near-ties dropped), {len(doc['min_items'])} min-items, "
          f"{len(doc['binom_cdf'])} binom")


if __name__ == "__main__":
    main()
