#!/usr/bin/env python3
"""Golden vectors for evalh's paired t-test (src/stats/paired.rs), used by `evalh compare`.

Reference: scipy 1.17.1 `scipy.stats.ttest_rel(after, before)` (two-sided statistic and p-value) and
`scipy.stats.t.interval(confidence, n - 1, loc=mean(d), scale=sem(d))` for the interval of the mean
difference d = after - before; numpy 2.4.6 for the mean. Also `scipy.stats.t.sf` for the two-sided tail
probability on its own over a grid of (t, df).

Cases mirror what `evalh compare` feeds it: per-item 0/1 correctness of one provider in two runs (paired,
correlated), graded scores in [0, 1] (ROUGE, field F1), sizes from 2 to 2,000 items (the tail probabilities go to df = 100,000).

Every float is written as Python's repr() string, which round-trips exactly; the Rust test parses it with
`str::parse::<f64>`. Deterministic (numpy Generator with a fixed seed). Run from anywhere:
    python3 scripts/golden/paired_t.py
Writes tests/data/golden/paired_t.json.
"""

import json
import os

import numpy as np
import scipy
from scipy import stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "golden", "paired_t.json")


def F(x):
    return repr(float(x))


def case(name, after, before, confidence):
    after = np.asarray(after, dtype=float)
    before = np.asarray(before, dtype=float)
    d = after - before
    n = len(d)
    res = stats.ttest_rel(after, before)
    m = np.mean(d)
    sem = np.std(d, ddof=1) / np.sqrt(n)
    lo, hi = stats.t.interval(confidence, n - 1, loc=m, scale=sem)
    return {
        "name": name,
        "after": [F(v) for v in after],
        "before": [F(v) for v in before],
        "confidence": F(confidence),
        "mean_diff": F(m),
        "t": F(res.statistic),
        "df": F(n - 1),
        "p_value": F(res.pvalue),
        "lower": F(lo),
        "upper": F(hi),
    }


def main():
    rng = np.random.default_rng(20240516)
    cases = []
    # 0/1 correctness in two runs: shared item difficulty makes the runs correlated, as in real re-runs.
    for n, p_before, p_after, conf in [
        (30, 0.9, 0.9, 0.95),
        (110, 0.9, 0.6, 0.95),
        (110, 0.93, 0.9, 0.95),
        (500, 0.8, 0.82, 0.9),
        (2000, 0.7, 0.69, 0.99),
        (1500, 0.85, 0.84, 0.95),
    ]:
        hard = rng.random(n)
        before = (np.where(rng.random(n) < 0.8, hard, rng.random(n)) < p_before).astype(float)
        after = (np.where(rng.random(n) < 0.8, hard, rng.random(n)) < p_after).astype(float)
        cases.append(case(f"binary n={n} {p_before}->{p_after}", after, before, conf))
    # Graded scores in [0, 1].
    for n, shift, conf in [(2, 0.1, 0.95), (3, -0.05, 0.8), (25, 0.0, 0.95), (200, -0.03, 0.95), (1200, 0.004, 0.95)]:
        before = rng.beta(5, 2, n)
        after = np.clip(before + shift + rng.normal(0, 0.08, n), 0, 1)
        cases.append(case(f"graded n={n} shift={shift}", after, before, conf))
    # Hand-made: a single changed item among many equal ones; one-item differences of both signs.
    cases.append(case("one item fell", [1.0] * 49 + [0.0], [1.0] * 50, 0.95))
    cases.append(case("mixed small", [1, 0, 1, 1, 0, 1], [1, 1, 0, 1, 1, 1], 0.95))

    tails = []
    for df in [1, 2, 3, 9, 29, 109, 499, 1999, 19999, 100000]:
        for t in [0.0, 0.3, 1.0, 1.96, 2.5, 4.0, 8.0, -2.0]:
            tails.append({"t": F(t), "df": F(df), "p": F(2 * stats.t.sf(abs(t), df))})

    doc = {
        "generator": "scripts/golden/paired_t.py",
        "versions": {"scipy": scipy.__version__, "numpy": np.__version__},
        "cases": cases,
        "two_sided_p": tails,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases and {len(tails)} tail probabilities to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
