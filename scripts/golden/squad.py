#!/usr/bin/env python3
"""Golden vectors for evalh's SQuAD v1.1 exact match / token F1 (src/metrics/squad.rs).

Reference: the official SQuAD v1.1 evaluation script (`evaluate-v1.1.py`; the same code is
in huggingface/evaluate `metrics/squad/compute_score.py`). Its normalisation, EM, F1 and
max-over-golds are written out below from that definition (metrics.md section 3), run on
CPython 3.11 (Unicode 14.0.0), which defines `str.lower`, `str.split` and the `\\b` of `re`.

Writes to tests/data/golden/ (paths relative to the repo root):

* squad.json        -- trap cases + >= 300 seeded random answer pairs (prediction, gold,
                       both normalised strings, EM, F1) and multi-gold cases (max EM and
                       max F1 taken separately).
* squad_unicode.json -- CPython 3.11 facts about every code point that the Rust code
                       re-implements: the ranges of `re` word characters (`\\w`, which
                       defines `\\b`) and every code point whose `str.lower()` differs
                       from itself, with its lowercase.

Floats are written as repr() strings so the Rust test can parse them exactly.
Usage (from the repo root): python3 scripts/golden/squad.py
The output is deterministic (seeded RNG, sorted iteration).

Deriving the word-character exclusion table of squad.rs (only needed when the Rust
toolchain's Unicode version changes): dump every `c` with `c.is_alphanumeric() || c == '_'`
from Rust as hex, one per line, and run `python3 scripts/golden/squad.py --word-table DUMP`.
"""

import collections
import json
import os
import random
import re
import string
import sys
import unicodedata

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "data", "golden")


# --------------------------------------------------------------------------
# Official SQuAD v1.1 definitions
# --------------------------------------------------------------------------
def normalize_answer(s):
    """Lower text and remove punctuation, articles and extra whitespace."""

    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def exact_match_score(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    scores_for_ground_truths = []
    for ground_truth in ground_truths:
        score = metric_fn(prediction, ground_truth)
        scores_for_ground_truths.append(score)
    return max(scores_for_ground_truths)


def f(x):
    """Float (or bool/int) as a repr string of a Python float."""
    return repr(float(x))


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
TRAPS = [
    # (name, prediction, gold)
    ("am_dots", "A.M.", "am"),
    ("thousands_comma", "1,000", "1000"),
    ("the_end_hyphen", "the-end", "theend"),
    ("l_apostrophe_the", "l'the", "lthe"),
    ("articles_removed", "The Eiffel Tower", "eiffel tower"),
    ("article_an", "an apple a day", "apple day"),
    ("article_inside_words", "anthem theatre banana", "anthem theatre banana"),
    ("only_articles", "a an the", ""),
    ("articles_adjacent", "the a an the", "The"),
    ("article_uppercase", "THE AN A cat", "cat"),
    ("unicode_punct_kept_dash", "1990—2000", "1990 2000"),
    ("unicode_punct_kept_quotes", "\u201cquoted\u201d", "quoted"),
    ("unicode_apostrophe", "Ireland\u2019s", "irelands"),
    ("unicode_question", "\u00bfqu\u00e9?", "qu\u00e9"),
    ("unicode_ellipsis", "wait\u2026", "wait"),
    ("fs_split_1c", "new\x1cyork", "new york"),
    ("gs_us_rs_split", "a\x1db\x1ec\x1fd", "b c d"),
    ("nbsp_split", "new\u00a0york", "new york"),
    ("ideographic_space", "new\u3000york", "new york"),
    ("zwsp_not_space", "new\u200byork", "new york"),
    ("combining_after_the", "the\u0301 cat", "cat"),
    ("combining_after_the_vs_kept", "the\u0301 cat", "the\u0301 cat"),
    ("precomposed_the_acute", "th\u00e9 cat", "cat"),
    ("spacing_mark_after_the", "the\u0903 cat", "\u0903 cat"),
    ("circled_letter_after_the", "the\u24d0 cat", "\u24d0 cat"),
    ("superscript_digit_after_the", "the\u00b2 cat", "cat"),
    ("combining_before_a", "\u0301a cat", "\u0301 cat"),
    ("underscore_is_punct", "the_cat", "thecat"),
    ("underscore_around_the", "_the_", ""),
    ("digit_after_article", "a1 the2", "a1 the2"),
    ("cyrillic_a", "\u0430 cat", "cat"),
    ("dotted_capital_i", "\u0130stanbul", "istanbul"),
    ("dotted_capital_i_eq", "\u0130stanbul", "i\u0307stanbul"),
    ("kelvin", "5 \u212a", "5 k"),
    ("final_sigma", "\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2"),
    ("final_sigma_wrong", "\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c3"),
    ("sigma_before_punct", "\u039f\u03a3.\u0391", "\u03bf\u03c2\u03b1"),
    ("empty_vs_empty", "", ""),
    ("empty_pred", "", "something"),
    ("empty_gold", "something", ""),
    ("punct_vs_empty", "!!!", ""),
    ("counter_intersection", "the cat cat cat", "cat cat dog"),
    ("f1_partial", "Denver Broncos won", "the Denver Broncos"),
    ("f1_reordered", "York New", "New York"),
    ("whitespace_variety", " \t the\n\ncat \r\n sat\x0b\x0c ", "cat sat"),
    ("numbers_decimal", "3.14", "314"),
    ("percent_dollar", "$5 (50%)", "5 50"),
    ("non_latin", "\u6771\u4eac\u30bf\u30ef\u30fc", "\u6771\u4eac \u30bf\u30ef\u30fc"),
    ("emoji", "the \U0001F600 cat", "\U0001F600 cat"),
    ("tab_article", "\tthe\tcat", "cat"),
]

MULTI = [
    # max EM and max F1 are taken separately over the golds
    ("separate_maxima", "Denver", ["denver", "Denver Broncos win the title", "Broncos"]),
    ("f1_best_second", "Denver Broncos", ["Carolina Panthers", "the Denver Broncos team", "Denver"]),
    ("no_match", "Paris", ["London", "Rome"]),
    ("empty_prediction", "", ["", "x"]),
    ("single_gold", "the cat", ["a cat"]),
    ("duplicate_golds", "cat dog", ["dog cat", "dog cat"]),
]

WORDS = """Denver Broncos Carolina Panthers Super Bowl 50 Santa Clara California Levi's Stadium
February 7 2016 Peyton Manning Cam Newton MVP the a an The A An THE of in on at for by with
Norman conquest 1066 William England France Duke Normandy Harold Godwinson Hastings Battle
French Revolution 1789 Paris Bastille Napoleon Bonaparte emperor empire Europe war wars
Amazon rainforest Brazil Peru Colombia river basin square kilometres species 390 billion
trees oxygen carbon 16,000 1.5 3.14 A.M. P.M. U.S. Dr. St. Mr. Mrs. e.g. i.e. etc.
Nikola Tesla alternating current AC DC Edison Westinghouse patents 300 induction motor
café naïve Zürich Müller São Paulo Ñandú Ελλάδα Москва 東京 北京 नमस्ते""".split()
PUNCT = [".", ",", ";", ":", "!", "?", "'", "\"", "(", ")", "-", "_", "\u2014", "\u2019",
         "\u201c", "\u201d", "\u2026", "\u00bf", "%", "$", "/"]
SPACES = [" ", " ", " ", " ", "  ", "\t", "\n", "\u00a0", "\x1c", "\u3000", "\u2009"]


def random_answer(rng):
    n = rng.randint(1, 7)
    toks = []
    for _ in range(n):
        w = rng.choice(WORDS)
        r = rng.random()
        if r < 0.1:
            w = w + rng.choice(PUNCT)
        elif r < 0.15:
            w = rng.choice(PUNCT) + w
        elif r < 0.18:
            w = w + "\u0301"  # combining mark
        elif r < 0.22:
            w = w.upper()
        toks.append(w)
    out = toks[0]
    for t in toks[1:]:
        out += rng.choice(SPACES) + t
    return out


def perturb(rng, ans):
    kind = rng.random()
    if kind < 0.15:
        return random_answer(rng)
    toks = ans.split()
    if kind < 0.3:
        return rng.choice(["the ", "a ", "The ", "an ", ""]) + ans + rng.choice(["", ".", "!", " "])
    if kind < 0.45:
        return ans.lower().replace(" ", rng.choice(SPACES))
    if kind < 0.6 and len(toks) > 1:
        del toks[rng.randrange(len(toks))]
    elif kind < 0.75:
        toks.insert(rng.randrange(len(toks) + 1), rng.choice(WORDS))
    elif kind < 0.85:
        rng.shuffle(toks)
    return " ".join(toks)


def word_char_ranges():
    """Ranges [lo, hi] of code points matched by Python `re` `\\w` (str patterns)."""
    out = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        if re.match(r"\w", chr(cp)):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return out


def lower_map():
    rows = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        if c.lower() != c:
            rows.append([cp, [ord(x) for x in c.lower()]])
    return rows


def word_table_from_rust_dump(path):
    """Print the NOT_PY_WORD exclusion table for squad.rs from a Rust alphanumeric dump."""
    rust = set(int(line, 16) for line in open(path) if line.strip())
    py = set()
    for lo, hi in word_char_ranges():
        py.update(range(lo, hi + 1))
    extra = sorted(c for c in rust - py if c >= 0x80)
    ranges = []
    for c in extra:
        # merge across gaps that Rust does not call alphanumeric (they are non-word anyway)
        if ranges and all(x not in rust for x in range(ranges[-1][1] + 1, c)):
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    print("const NOT_PY_WORD: &[(u32, u32)] = &[")
    for lo, hi in ranges:
        print("    (0x%04X, 0x%04X)," % (lo, hi))
    print("];")


def case_row(name, pred, gold):
    return {
        "name": name,
        "prediction": pred,
        "gold": gold,
        "norm_prediction": normalize_answer(pred),
        "norm_gold": normalize_answer(gold),
        "em": f(exact_match_score(pred, gold)),
        "f1": f(f1_score(pred, gold)),
    }


def main():
    assert sys.version_info[:2] == (3, 11), sys.version
    os.makedirs(OUT_DIR, exist_ok=True)
    cases = [case_row(n, p, g) for n, p, g in TRAPS]
    by = {c["name"]: c for c in cases}
    # documented facts (metrics.md section 3)
    assert by["am_dots"]["norm_prediction"] == "am"
    assert by["l_apostrophe_the"]["norm_prediction"] == "lthe"
    assert by["empty_vs_empty"]["em"] == "1.0" and by["empty_vs_empty"]["f1"] == "0.0"
    assert by["combining_after_the"]["norm_prediction"] == "\u0301 cat"
    assert by["fs_split_1c"]["norm_prediction"] == "new york"

    rng = random.Random(1100)
    for i in range(320):
        gold = random_answer(rng)
        pred = perturb(rng, gold)
        if rng.random() < 0.5:
            pred, gold = gold, pred
        cases.append(case_row("random_%d" % i, pred, gold))

    multi = []
    for name, pred, golds in MULTI:
        multi.append({
            "name": name,
            "prediction": pred,
            "golds": golds,
            "em": f(metric_max_over_ground_truths(exact_match_score, pred, golds)),
            "f1": f(metric_max_over_ground_truths(f1_score, pred, golds)),
        })
    for i in range(40):
        golds = [random_answer(rng) for _ in range(rng.randint(1, 4))]
        pred = perturb(rng, rng.choice(golds))
        multi.append({
            "name": "random_multi_%d" % i,
            "prediction": pred,
            "golds": golds,
            "em": f(metric_max_over_ground_truths(exact_match_score, pred, golds)),
            "f1": f(metric_max_over_ground_truths(f1_score, pred, golds)),
        })

    with open(os.path.join(OUT_DIR, "squad.json"), "w", encoding="utf-8") as fh:
        json.dump({
            "generator": "scripts/golden/squad.py",
            "reference": "SQuAD v1.1 evaluate-v1.1.py definitions on CPython %d.%d.%d" % sys.version_info[:3],
            "cases": cases,
            "multi": multi,
        }, fh, ensure_ascii=False, indent=1)
        fh.write("\n")

    with open(os.path.join(OUT_DIR, "squad_unicode.json"), "w", encoding="utf-8") as fh:
        json.dump({
            "generator": "scripts/golden/squad.py",
            "python": "%d.%d.%d" % sys.version_info[:3],
            "unidata_version": unicodedata.unidata_version,
            "word_char_ranges": word_char_ranges(),
            "lower_map": lower_map(),
        }, fh, separators=(",", ":"))
        fh.write("\n")
    print("cases=%d multi=%d" % (len(cases), len(multi)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--word-table":
        word_table_from_rust_dump(sys.argv[2])
    else:
        main()
