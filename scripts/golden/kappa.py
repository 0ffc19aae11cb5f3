#!/usr/bin/env python3
"""Golden vectors for evalh's inter-rater agreement statistics (src/stats/kappa.rs).

Reference implementations: scikit-learn `cohen_kappa_score` (two raters) and statsmodels
`statsmodels.stats.inter_rater.fleiss_kappa` (several raters per item, method="fleiss"), the versions printed in
the output's "versions" field (scikit-learn 1.9.1, statsmodels 0.15.0, numpy 2.4.6 when generated).

Writes tests/data/golden/kappa.json with inputs AND expected outputs:
  cohen:  {"k": categories, "a": [...], "b": [...], "kappa": repr-string}   (labels=range(k))
  fleiss: {"table": [[count per category] per item], "kappa": repr-string}

Floats are written as Python repr() strings ("nan" where the statistic is undefined: both raters, or every rating,
in a single category). Deterministic (numpy Generator with fixed seeds). Run from anywhere:
    python3 scripts/golden/kappa.py
"""

import json
import os
import sys
import warnings

# scripts/golden/sklearn.py would shadow the scikit-learn package: import from the installed packages only.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np
import sklearn
import statsmodels
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "golden", "kappa.json")


def F(x):
    return repr(float(x))


def cohen(a, b, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = cohen_kappa_score(a, b, labels=list(range(k)))
    return {"k": k, "a": [int(x) for x in a], "b": [int(x) for x in b], "kappa": F(v)}


def fleiss(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            v = fleiss_kappa(np.asarray(table), method="fleiss")
    return {"table": [[int(x) for x in row] for row in table], "kappa": F(v)}


def noisy_copy(rng, a, k, p_keep):
    """A second rater who agrees with `a` with probability p_keep and otherwise picks a category at random."""
    keep = rng.random(len(a)) < p_keep
    other = rng.integers(0, k, len(a))
    return np.where(keep, a, other)


def cohen_cases():
    rng = np.random.default_rng(17)
    cases = [
        # hand-checkable ones
        cohen([0, 1, 2, 3], [0, 1, 2, 3], 4),                     # perfect: 1
        cohen([0, 0, 1, 1], [1, 1, 0, 0], 2),                     # perfect disagreement: -1
        cohen([0, 0, 0, 0], [0, 0, 0, 0], 4),                     # one category only: undefined (nan)
        cohen([0, 0, 0, 0], [0, 0, 0, 1], 4),                     # p_e = p_o side case: 0
        cohen([0, 1, 0, 2, 1], [0, 1, 0, 0, 0], 4),
        cohen([2, 2, 3, 3, 0, 1, 2, 3, 3, 2], [2, 3, 3, 3, 0, 1, 2, 2, 3, 2], 4),
        cohen([1], [1], 4),                                       # one item: undefined
        cohen([0, 3], [3, 0], 4),
    ]
    for n in [2, 3, 5, 8, 10, 20, 37, 60, 100, 250, 1000]:
        for k in [2, 3, 4]:
            for p_keep in [0.0, 0.5, 0.8, 0.95]:
                probs = rng.dirichlet(np.ones(k))
                a = rng.choice(k, size=n, p=probs)
                b = noisy_copy(rng, a, k, p_keep)
                cases.append(cohen(a, b, k))
    return cases


def fleiss_cases():
    rng = np.random.default_rng(23)
    cases = [
        fleiss([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]]),  # perfect: 1
        fleiss([[3, 0, 0, 0], [3, 0, 0, 0]]),                               # one category only: undefined
        fleiss([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0]]),                 # no item agreed
        fleiss([[0, 0, 0, 14], [0, 2, 6, 6], [0, 0, 3, 11], [0, 3, 9, 2], [2, 2, 8, 2], [7, 7, 0, 0]]),
        fleiss([[2, 1, 0, 0], [0, 3, 0, 0], [1, 1, 1, 0], [0, 0, 0, 3], [0, 0, 2, 1]]),
    ]
    for n_items in [1, 2, 5, 12, 40, 150]:
        for raters in [2, 3, 4, 7]:
            for k in [2, 3, 4]:
                for p_keep in [0.3, 0.7, 0.9]:
                    truth = rng.integers(0, k, n_items)
                    ratings = np.stack([noisy_copy(rng, truth, k, p_keep) for _ in range(raters)], axis=1)
                    table, _ = aggregate_raters(ratings, n_cat=k)
                    cases.append(fleiss(table))
    return cases


def main():
    out = {
        "generator": "scripts/golden/kappa.py",
        "versions": {"scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__,
                     "numpy": np.__version__},
        "cohen": cohen_cases(),
        "fleiss": fleiss_cases(),
    }
    # One case per line: small, and a diff shows which case changed.
    lines = ["{", f'"generator": {json.dumps(out["generator"])},', f'"versions": {json.dumps(out["versions"])},']
    for key in ["cohen", "fleiss"]:
        cases = [json.dumps(c, separators=(",", ":")) for c in out[key]]
        lines.append(f'"{key}": [\n' + ",\n".join(cases) + "\n]" + ("," if key == "cohen" else ""))
    lines.append("}")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {OUT}: {len(out['cohen'])} Cohen and {len(out['fleiss'])} Fleiss cases")


if __name__ == "__main__":
    main()
