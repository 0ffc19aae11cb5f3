#!/usr/bin/env python3
"""Golden vectors for evalh's classification metrics (src/metrics/classification.rs).

Reference: scikit-learn 1.9.1 (numpy 2.4.6), `sklearn.metrics`:
  accuracy_score, precision_recall_fscore_support(average=None|micro|macro|weighted,
  zero_division=0.0), multilabel_confusion_matrix (per-label predicted counts),
  confusion_matrix, sklearn.utils.multiclass.unique_labels (label order).

Output: tests/data/golden/sklearn_classification.json (relative to the repo root).

Encoding (kept compact so the file stays < 1 MB):
  * each case has a `vocab` (list of label strings) and `y_true` / `y_pred` as
    lists of indices into `vocab`; `labels` is null or a list of strings
    (passed to sklearn as `labels=`).
  * every float is written as a *string* holding Python's `repr` (shortest
    round-trip form). serde_json's default float parser is not guaranteed to be
    correctly rounded, Rust's `str::parse::<f64>` is, so the Rust test parses
    these strings to compare bit for bit.

Cases: the three worked examples of metrics.md section 4 (labels turned into
strings), hand-written degenerate cases, and 240 random multiclass cases
(2-8 labels from a mixed-case / non-ASCII pool, n = 1..300, optional
prediction-only labels, some with an explicit `labels=` list) plus a few cases
with many labels (> 8 and > 128) to exercise numpy's pairwise summation in the
macro / weighted means.

Deterministic: fixed seed, no dependence on dict/set iteration order.
Run:  python3 scripts/golden/sklearn.py
"""

import json
import os
import random
import sys
import warnings

# This file is named sklearn.py, so its own directory must not be on sys.path
# when the real scikit-learn is imported.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    confusion_matrix,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.utils.multiclass import unique_labels  # noqa: E402

warnings.simplefilter("ignore")  # UndefinedMetricWarning etc.; zero_division=0 is explicit

OUT = os.path.join(
    _HERE,
    "..",
    "..",
    "tests",
    "data",
    "golden",
    "sklearn_classification.json",
)


def f(x):
    """Float as its shortest round-trip repr string (see module docstring)."""
    return repr(float(x))


def prf(y_true, y_pred, labels, average):
    p, r, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=average, zero_division=0.0
    )
    return {"precision": f(p), "recall": f(r), "f1": f(f1)}


def expected(y_true, y_pred, labels):
    """Everything ClassificationReport holds, computed by scikit-learn."""
    used = list(labels) if labels is not None else [str(x) for x in unique_labels(y_true, y_pred)]
    p, r, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0.0
    )
    mcm = multilabel_confusion_matrix(y_true, y_pred, labels=labels)
    predicted = mcm[:, 1, 1] + mcm[:, 0, 1]
    per_class = [
        {
            "label": used[i],
            "precision": f(p[i]),
            "recall": f(r[i]),
            "f1": f(f1[i]),
            "support": int(support[i]),
            "predicted": int(predicted[i]),
        }
        for i in range(len(used))
    ]
    try:
        cm = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    except ValueError:
        # sklearn refuses a labels= list with no label present in y_true;
        # evalh returns an all-zero matrix there (tested separately in Rust).
        cm = None
    return {
        "accuracy": f(accuracy_score(y_true, y_pred)),
        "micro": prf(y_true, y_pred, labels, "micro"),
        "macro": prf(y_true, y_pred, labels, "macro"),
        "weighted": prf(y_true, y_pred, labels, "weighted"),
        "per_class": per_class,
        "labels": used,
        "confusion": cm,
        "n": len(y_true),
    }


def case(name, y_true, y_pred, labels=None):
    y_true = [str(x) for x in y_true]
    y_pred = [str(x) for x in y_pred]
    if labels is not None:
        labels = [str(x) for x in labels]
    vocab = sorted(set(y_true) | set(y_pred) | set(labels or []))
    idx = {v: i for i, v in enumerate(vocab)}
    return {
        "name": name,
        "vocab": vocab,
        "y_true": [idx[v] for v in y_true],
        "y_pred": [idx[v] for v in y_pred],
        "labels": labels,
        "expected": expected(y_true, y_pred, labels),
    }


def worked_examples():
    c = []
    # metrics.md section 4, example 1: a prediction-only label (fish) pulls macro down to 0.4375.
    c.append(
        case(
            "worked1_prediction_only_label",
            ["cat", "dog", "cat", "bird", "dog", "cat", "bird", "cat"],
            ["cat", "cat", "cat", "bird", "fish", "dog", "bird", "cat"],
        )
    )
    # Example 2: binary 0/1 (as strings; the sorted order "0" < "1" is the same).
    c.append(
        case(
            "worked2_binary",
            [1, 0, 1, 1, 0, 0, 1, 0, 1, 1],
            [1, 0, 0, 1, 1, 0, 1, 0, 0, 1],
        )
    )
    # Example 3: label 2 never predicted; then with labels=[0,1,2,3] (3 absent everywhere).
    y3t, y3p = [0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 1, 1, 1, 0]
    c.append(case("worked3_never_predicted", y3t, y3p))
    c.append(case("worked3_labels_superset", y3t, y3p, labels=[0, 1, 2, 3]))
    return c


def degenerate():
    c = []
    c.append(case("all_zero_binary", [0, 0, 0, 0], [0, 0, 0, 0]))
    c.append(case("true_1100_pred_all0", [1, 1, 0, 0], [0, 0, 0, 0]))
    c.append(case("single_sample_correct", ["yes"], ["yes"]))
    c.append(case("single_sample_wrong", ["yes"], ["no"]))
    c.append(case("all_wrong_disjoint", ["a", "a", "a"], ["b", "b", "b"]))
    c.append(case("all_correct_three", ["x", "y", "z", "x"], ["x", "y", "z", "x"]))
    c.append(case("mixed_case_distinct", ["Cat", "cat", "CAT", "cat"], ["cat", "cat", "Cat", "CAT"]))
    c.append(case("unicode_order", ["über", "éclair", "Zeta", "zeta", "über"], ["éclair", "éclair", "zeta", "Zeta", "über"]))
    c.append(case("empty_string_label", ["", "a", "b", "a"], ["a", "a", "", ""]))
    c.append(case("labels_subset", ["a", "b", "c", "a", "b"], ["a", "c", "c", "b", "b"], labels=["a", "b"]))
    c.append(case("labels_unsorted", ["a", "b", "c", "a", "b"], ["a", "c", "c", "b", "b"], labels=["c", "a", "b"]))
    c.append(case("labels_absent_from_truth", ["a", "b"], ["b", "c"], labels=["c", "a"]))
    c.append(case("labels_none_in_truth", ["a", "b"], ["b", "c"], labels=["z", "c"]))
    c.append(case("labels_all_absent", ["a", "b"], ["b", "a"], labels=["q", "r"]))
    c.append(case("one_label_only", ["k"] * 5, ["k"] * 5))
    c.append(case("prediction_only_many", ["a", "a", "a", "a"], ["b", "c", "d", "a"]))
    # numpy mean trap: ten labels whose per-label values are 0.1-ish.
    c.append(case("ten_labels_pairwise", list("abcdefghij") * 3, list("bcdefghija") * 2 + list("abcdefghij")))
    return c


POOL = [
    "cat", "Cat", "CAT", "dog", "Dog", "bird", "fish", "yes", "Yes", "YES", "no", "No",
    "positive", "Positive", "negative", "neutral", "Neutral", "spam", "ham", "A", "B", "C",
    "a", "b", "c", "Zeta", "zeta", "éclair", "Éclair", "über", "Ünïcode", "日本", "x_1", "x-2",
    "label 10", "label 9", "0", "1", "10", "2",
]


def random_cases(rng, count):
    c = []
    for k in range(count):
        n_true_labels = rng.randint(2, 8)
        labs = rng.sample(POOL, n_true_labels)
        rest = [x for x in POOL if x not in labs]
        pred_only = rng.sample(rest, rng.choice([0, 0, 1, 2]))
        n = rng.randint(1, 300)
        acc = rng.random()
        # skewed class distribution
        weights = [rng.random() ** 2 + 0.01 for _ in labs]
        y_true = rng.choices(labs, weights=weights, k=n)
        y_pred = []
        for t in y_true:
            if rng.random() < acc:
                y_pred.append(t)
            else:
                y_pred.append(rng.choice(labs + pred_only))
        labels = None
        if rng.random() < 0.2:
            present = sorted(set(y_true) | set(y_pred))
            mode = rng.choice(["superset", "subset", "shuffled"])
            if mode == "superset":
                labels = present + rng.sample([x for x in POOL if x not in present], 2)
                rng.shuffle(labels)
            elif mode == "subset":
                labels = rng.sample(present, max(1, len(present) - 1))
            else:
                labels = present[:]
                rng.shuffle(labels)
        c.append(case(f"random_{k:03d}", y_true, y_pred, labels))
    return c


def many_label_cases(rng):
    """More labels than numpy's 8-way unroll and its 128-element block."""
    c = []
    for k, n_labels in enumerate([9, 17, 64, 130, 200]):
        labs = [f"L{i:03d}" for i in range(n_labels)]
        n = 300
        y_true = [rng.choice(labs) for _ in range(n)]
        y_pred = [t if rng.random() < 0.6 else rng.choice(labs) for t in y_true]
        c.append(case(f"many_labels_{n_labels}", y_true, y_pred))
    return c


def main():
    rng = random.Random(20240611)
    cases = worked_examples() + degenerate() + random_cases(rng, 240) + many_label_cases(rng)
    doc = {
        "generator": "scripts/golden/sklearn.py",
        "reference": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}",
        "zero_division": 0.0,
        "float_encoding": "Python repr strings",
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
