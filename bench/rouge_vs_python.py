#!/usr/bin/env python3
"""Helper for bench/rouge_vs_python.sh: time rouge-score 0.1.2 and compare outputs.

  rouge_vs_python.py score PAIRS.jsonl OUT.jsonl [--stem] [--types rouge1,rouge2,rougeL,rougeLsum]
      Scores every {"reference","prediction"} line with rouge_score.RougeScorer (reference
      first), writes {"rouge1":[p,r,f],...} lines in the `evalh metrics rouge` output format,
      and prints the scoring time in seconds (file reading and JSON excluded) as
      `seconds=<float>`.
  rouge_vs_python.py compare A.jsonl B.jsonl
      Compares two output files value by value (exact float equality) and prints the number
      of differing values; exit status 1 if any differ.
"""

import json
import sys
import time

ALL_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def score(pairs_path, out_path, stem, types):
    from rouge_score import rouge_scorer

    pairs = []
    with open(pairs_path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                pairs.append((row["reference"], row["prediction"]))
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=stem)
    start = time.perf_counter()
    results = [scorer.score(ref, pred) for ref, pred in pairs]
    elapsed = time.perf_counter() - start
    with open(out_path, "w", encoding="utf-8") as fh:
        for res in results:
            fh.write(json.dumps({t: [float(res[t].precision), float(res[t].recall),
                                     float(res[t].fmeasure)] for t in types}) + "\n")
    print("seconds=%.6f" % elapsed)


def compare(a_path, b_path):
    with open(a_path, encoding="utf-8") as fa, open(b_path, encoding="utf-8") as fb:
        a = [json.loads(x) for x in fa if x.strip()]
        b = [json.loads(x) for x in fb if x.strip()]
    if len(a) != len(b):
        print("line counts differ: %d vs %d" % (len(a), len(b)))
        return 1
    bad = 0
    first = None
    for i, (x, y) in enumerate(zip(a, b)):
        for t in x:
            if t not in y or [float(v) for v in x[t]] != [float(v) for v in y[t]]:
                bad += 1
                if first is None:
                    first = (i + 1, t, x[t], y[t])
    print("compared %d lines, %d differing values%s" % (
        len(a), bad, "" if first is None else ", first at line %d %s: %s vs %s" % first))
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "score":
        stem = "--stem" in argv
        types = ALL_TYPES
        if "--types" in argv:
            types = argv[argv.index("--types") + 1].split(",")
        score(argv[1], argv[2], stem, types)
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
