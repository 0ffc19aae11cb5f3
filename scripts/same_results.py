#!/usr/bin/env python3
"""Compare two evalh binaries on every demo suite: same results, apart from wall-clock fields.

Why this script exists: a refactor that claims "behaviour unchanged" has to show it. For every suite in suites/:

* suites whose providers are all `kind: sim` are run with each binary (`--no-cache`); results.json is compared with
  the wall-clock fields masked (latency and time-to-first-token numbers, the p99 rule's numbers and text, the
  lowest adaptive concurrency, which depends on when responses arrived), and the journals are compared record by
  record with `latency_ms`, `ttft_ms` and `min_concurrency` masked;
* the first binary's run directory is then re-scored offline by both binaries (`evalh score` and `evalh report`):
  results.json, report.html and every chart must be byte-identical (same journal in, same bytes out);
* suites with real endpoints are compared on `evalh validate` and `evalh plan --no-cache` (dummy keys, nothing sent).

Usage: scripts/same_results.py BEFORE_BIN AFTER_BIN [--keep DIR]. Exit 0 when everything matches, 1 otherwise.
"""
import argparse
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MS = re.compile(r"-?\+?\d+(\.\d+)?( ms|ms)")
# min_concurrency: where the adaptive limit stood, which depends on when responses arrived.
WALL_KEYS = ("latency", "ttft", "min_concurrency")


def mask(v, wall=False):
    """Replace wall-clock numbers by a marker; `wall` is set under a latency/ttft key or the p99 rule."""
    if isinstance(v, dict):
        p99 = v.get("name") == "p99_latency"
        return {k: mask(x, wall or p99 or any(w in k for w in WALL_KEYS)) for k, x in v.items()}
    if isinstance(v, list):
        return [mask(x, wall) for x in v]
    if isinstance(v, str):
        # Latency sentences in rule details and reasons.
        return re.sub(r"-?\+?\d[\d.]*", "#", v) if (wall or " ms" in v) else v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and wall:
        return "#"
    return v


def run(binary, args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([binary] + args, capture_output=True, text=True, env=e, cwd=ROOT)


def run_dir_of(out):
    # The output folder also holds index.html (every run of every suite).
    dirs = [os.path.join(out, d) for d in os.listdir(out) if os.path.isdir(os.path.join(out, d))]
    assert len(dirs) == 1, dirs
    return dirs[0]


def journal(path):
    recs = []
    with open(os.path.join(path, "journal.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            for k in ("latency_ms", "ttft_ms", "min_concurrency"):
                if k in r and r[k] is not None:
                    r[k] = "#"
            sc = r.get("stream_compare")
            if sc:
                for k in ("latency_ms", "ttft_ms"):
                    if sc.get(k) is not None:
                        sc[k] = "#"
            recs.append(r)
    recs.sort(key=lambda r: (r["item_id"], r["provider_id"], r["repeat"]))
    return recs


def first_diff(a, b, path=""):
    if type(a) is not type(b):
        return f"{path}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'after' if k not in a else 'before'}"
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        if list(a) != list(b):
            return f"{path}: key order {list(a)} vs {list(b)}"
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} entries"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def same_files(a, b, label, problems):
    for root, _, files in os.walk(a):
        for f in sorted(files):
            if f in ("journal.jsonl",) or f.endswith(".lock"):
                continue
            pa = os.path.join(root, f)
            pb = os.path.join(b, os.path.relpath(pa, a))
            if not os.path.exists(pb):
                problems.append(f"{label}: {os.path.relpath(pa, a)} missing after")
            elif not filecmp.cmp(pa, pb, shallow=False):
                problems.append(f"{label}: {os.path.relpath(pa, a)} differs")


def sim_only(path):
    text = open(path).read()
    kinds = re.findall(r"^\s*(?:-\s*)?kind:\s*(\w+)", text, re.M)
    return kinds and all(k == "sim" for k in kinds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--keep", help="keep the run directories here")
    a = ap.parse_args()
    tmp = a.keep or tempfile.mkdtemp(prefix="same-results-")
    os.makedirs(tmp, exist_ok=True)
    problems = []
    suites = sorted(f for f in os.listdir(os.path.join(ROOT, "suites")) if f.endswith(".yaml"))
    for s in suites:
        path = os.path.join("suites", s)
        name = s[:-5]
        if not sim_only(os.path.join(ROOT, path)):
            env = {k: "dummy" for k in ("OPENAI_API_KEY", "DEEPSEEK_API_KEY", "GROQ_API_KEY",
                                        "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "AZURE_OPENAI_API_KEY",
                                        "MISTRAL_API_KEY")}
            for cmd in (["validate", path], ["plan", path, "--no-cache"]):
                rb, ra = run(a.before, cmd, env), run(a.after, cmd, env)
                same = (rb.returncode, rb.stdout, rb.stderr) == (ra.returncode, ra.stdout, ra.stderr)
                print(f"{name}: evalh {cmd[0]}: exit {rb.returncode}/{ra.returncode}, "
                      f"{'same output' if same else 'DIFFERENT output'}")
                if not same:
                    problems.append(f"{name}: {cmd[0]} output differs")
            continue
        outs = {}
        for label, binary in (("before", a.before), ("after", a.after)):
            out = os.path.join(tmp, name, label)
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            r = run(binary, ["run", path, "--no-cache", "--no-progress", "--out", out])
            outs[label] = (r.returncode, run_dir_of(out))
        (cb, db), (ca, da) = outs["before"], outs["after"]
        rb = json.load(open(os.path.join(db, "results.json")))
        ra = json.load(open(os.path.join(da, "results.json")))
        d = first_diff(mask(rb), mask(ra))
        jd = first_diff(journal(db), journal(da))
        print(f"{name}: run exit {cb}/{ca}; results.json (wall clock masked) "
              f"{'identical' if not d else 'DIFFERS at ' + d}; journal {'identical' if not jd else 'DIFFERS at ' + jd}")
        if cb != ca:
            problems.append(f"{name}: exit codes {cb} vs {ca}")
        if d:
            problems.append(f"{name}: results.json {d}")
        if jd:
            problems.append(f"{name}: journal {jd}")
        # Offline: the same journal scored by both binaries must give the same bytes.
        for cmd in ("score", "report"):
            copies = {}
            for label, binary in (("before", a.before), ("after", a.after)):
                c = os.path.join(tmp, name, f"{cmd}-{label}")
                shutil.rmtree(c, ignore_errors=True)
                shutil.copytree(db, c)
                r = run(binary, [cmd, c])
                copies[label] = (r.returncode, r.stdout.replace(c, "DIR"), c)
            (xb, ob, pb), (xa, oa, pa) = copies["before"], copies["after"]
            before = len(problems)
            if (xb, ob) != (xa, oa):
                problems.append(f"{name}: evalh {cmd}: exit/stdout differ")
            same_files(pb, pa, f"{name}: evalh {cmd}", problems)
            print(f"{name}: evalh {cmd} of the same journal: "
                  f"{'byte-identical' if len(problems) == before else 'DIFFERENT'}")
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    for p in problems:
        print("DIFF:", p)
    print("same results" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
