#!/usr/bin/env python3
"""Golden vectors for agreement scoring (`scoring.reference: baseline`, src/agreement.rs): label agreement and
Cohen's kappa of a candidate's labels against the baseline's labels.

Reference implementation: scikit-learn `accuracy_score` and `cohen_kappa_score` (version in the output's
"versions" field; 1.9.1 when generated), called as `f(reference, candidate)` on the items that have a reference.

Each case is a labelled run of n items:
  reference: the baseline's label per item, or null where the baseline failed (no reference: the item is excluded
             before scikit-learn sees it, as evalh must exclude it);
  candidate: the candidate's label per item, or null where its answer names no label (scikit-learn sees the marker
             string "<unparseable>", a category of its own);
  accuracy, kappa: repr strings over the items with a reference ("nan" where kappa is undefined).
Deterministic (numpy Generator, fixed seed). Run from anywhere:
    python3 scripts/golden/agreement.py
"""

import json
import os
import sys

# scripts/golden/sklearn.py would shadow the scikit-learn package: import from the installed packages only.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, cohen_kappa_score

LABELS = ["billing", "bug", "feature", "refund"]
MARK = "<unparseable>"


def case(rng, n, k, p_agree, p_base_err, p_unparse):
    labels = LABELS[:k]
    ref, cand = [], []
    for _ in range(n):
        r = labels[rng.integers(k)]
        if rng.random() < p_agree:
            c = r
        else:
            c = labels[rng.integers(k)]
        if rng.random() < p_unparse:
            c = None
        if rng.random() < p_base_err:
            r = None
        ref.append(r)
        cand.append(c)
    kept = [(r, c if c is not None else MARK) for r, c in zip(ref, cand) if r is not None]
    y_ref = [r for r, _ in kept]
    y_cand = [c for _, c in kept]
    acc = accuracy_score(y_ref, y_cand)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kap = cohen_kappa_score(y_ref, y_cand)
    return {"reference": ref, "candidate": cand, "accuracy": repr(float(acc)), "kappa": repr(float(kap))}


def main():
    rng = np.random.default_rng(2121)
    cases = []
    for n, k, pa, pe, pu in [
        (40, 3, 0.8, 0.0, 0.0),
        (40, 3, 0.8, 0.1, 0.05),
        (60, 4, 0.5, 0.05, 0.1),
        (35, 2, 0.95, 0.2, 0.0),
        (50, 4, 0.0, 0.0, 0.0),
        (30, 3, 1.0, 0.1, 0.0),
        (45, 3, 0.7, 0.0, 0.3),
    ]:
        cases.append(case(rng, n, k, pa, pe, pu))
    # Degenerate: baseline and candidate both always the same single label -> kappa undefined.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same = ["bug"] * 31
        cases.append({
            "reference": same, "candidate": same,
            "accuracy": repr(float(accuracy_score(same, same))), "kappa": repr(float(cohen_kappa_score(same, same))),
        })
    out = {
        "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "labels": LABELS,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "golden", "agreement.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
