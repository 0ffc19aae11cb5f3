#!/usr/bin/env bash
# `evalh audit` on generated logs of 1,000,000 requests in every format it reads, each checked against the Python
# reference over the same file, with wall time and peak RSS; then 10,000,000 lines for the speed target.
#
# 1. scripts/golden/gen_logs.py writes ROWS requests (default 1,000,000; seed 7) as LiteLLM spend-log JSONL, the same
#    rows as a psql CSV export and as one JSON array, and an OpenAI-style request log; the JSONL is also gzipped.
#    About 0.2% of the lines are malformed on purpose.
# 2. Each file: `evalh audit FILE --mapping mapping.yaml --json` under /usr/bin/time -v (wall, peak RSS), then
#    scripts/golden/audit_reference.py over the same file with --compare: requests, malformed rows, tokens and
#    errors per feature and bucket exactly, cost to 1e-9, p50/p99 exactly (within 1/2048 above 65,536 tokens).
# 3. 10 x ROWS lines: the JSONL file given ten times on one command line; totals must be ten times the reference's.
# Targets: every comparison OK; peak RSS flat in the number of lines; 10,000,000 lines in < 30 s.
#
# Usage: bench/audit_1m.sh [ROWS]
# Env:   EVALH_BIN=path   binary to use (default target/release/evalh, built if missing or if BUILD=1)
#        KEEP=1           keep the temporary directory (about 2.5 GB at 1,000,000 rows)
set -euo pipefail

ROWS="${1:-1000000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVALH_BIN="${EVALH_BIN:-$ROOT/target/release/evalh}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/evalh-audit.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$TMP"' EXIT
else
  echo "temporary files in $TMP"
fi
if [[ ! -x "$EVALH_BIN" || "${BUILD:-0}" == 1 ]]; then
  (cd "$ROOT" && cargo build --release --quiet --bin evalh)
fi
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (GNU time)" >&2; exit 1; }

echo "generating $ROWS requests per format in $TMP ..." >&2
python3 "$ROOT/scripts/golden/gen_logs.py" "$TMP" --rows "$ROWS" --seed 7 --array
gzip -k -6 "$TMP/litellm.jsonl"
cd "$TMP"

# measure LABEL CMD... -> "wall_s rss_mb" of the command (its output to $TMP/LABEL.out)
measure() {
  local label="$1"; shift
  /usr/bin/time -v "$@" >"$label.out" 2>"$label.time"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$label.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$label.time")
  echo "$wall $rss"
}

printf '| file | lines | size | evalh wall | evalh peak RSS | Python reference wall | comparison |\n| --- | --- | --- | --- | --- | --- | --- |\n'
for f in litellm.jsonl litellm.jsonl.gz litellm.csv litellm-array.json openai.jsonl; do
  preset=litellm
  [[ $f == openai.jsonl ]] && preset=openai
  read -r wall rss < <(measure "evalh-$f" "$EVALH_BIN" audit "$f" --mapping mapping.yaml --format "$preset" --json "$f.audit.json" --no-progress)
  start=$(date +%s.%N)
  if python3 "$ROOT/scripts/golden/audit_reference.py" "$f" --preset "$preset" --mapping mapping.yaml --compare "$f.audit.json" >"ref-$f.out"; then
    verdict="OK ($(tail -1 "ref-$f.out" | sed 's/^OK: //'))"
  else
    verdict="FAIL: $(head -3 "ref-$f.out" | tr '\n' ' ')"
  fi
  ref_wall=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN {print a - b}')
  lines=$( (if [[ $f == *.gz ]]; then gzip -dc "$f"; else cat "$f"; fi) | wc -l)
  size=$(du -h "$f" | cut -f1)
  printf '| %s | %s | %s | %.2f s | %s MB | %.0f s | %s |\n' "$f" "$lines" "$size" "$wall" "$rss" "$ref_wall" "$verdict"
done

# Ten times the lines: the same file ten times.
files=()
for _ in 1 2 3 4 5 6 7 8 9 10; do files+=(litellm.jsonl); done
read -r wall rss < <(measure evalh-10x "$EVALH_BIN" audit "${files[@]}" --mapping mapping.yaml --format litellm --json ten.audit.json --no-progress)
python3 - "litellm.jsonl.audit.json" ten.audit.json "$wall" "$rss" <<'EOF'
import json, math, sys
one, ten = (json.load(open(p)) for p in sys.argv[1:3])
ok = ten["totals"]["requests"] == 10 * one["totals"]["requests"] and ten["malformed"] == 10 * one["malformed"] \
    and math.isclose(ten["totals"]["cost_usd"], 10 * one["totals"]["cost_usd"], rel_tol=1e-9)
lines = sum(f["lines"] for f in ten["inputs"])
print(f"\n10x: {lines:,} lines, {ten['totals']['requests']:,} requests in {float(sys.argv[3]):.2f} s "
      f"({lines / float(sys.argv[3]) / 1e6:.2f} M lines/s), peak RSS {sys.argv[4]} MB; totals ten times the 1x run: "
      f"{'OK' if ok else 'FAIL'}")
EOF
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $("$EVALH_BIN" --version)"
