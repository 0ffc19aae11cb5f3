#!/usr/bin/env bash
# evalh with a slow provider: does the run take the time the concurrency allows, and no more?
#
# The built-in simulator (`kind: sim`) answers every request after exactly LATENCY_MS
# (sim.latency_ms p50 = p99 = LATENCY_MS), and evalh runs ITEMS items at CONCURRENCY in flight.
# No harness can beat the bound  ITEMS × LATENCY_MS / CONCURRENCY;  the script reports evalh's
# end-to-end wall time (process start to exit: load, requests, journal, scoring, reports) against it.
# Target: bound / wall >= 0.95.
#
# Usage: bench/latency_bound.sh
# Env:   ITEMS=2000 CONCURRENCY=50 LATENCY_MS=200 EVALH_BIN=path OUT=bench/out/latency_bound
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ITEMS="${ITEMS:-2000}"
CONCURRENCY="${CONCURRENCY:-50}"
LATENCY_MS="${LATENCY_MS:-200}"
OUT="${OUT:-$BENCH_OUT/latency_bound}"

ensure_debs /usr/bin/time:time
EVALH="$(ensure_evalh)"
rm -rf "$OUT"
mkdir -p "$OUT"
# The same deterministic tickets as vs_promptfoo.sh (the port is unused here).
python3 "$BENCH_DIR/gen_vs_promptfoo.py" "$OUT" --items "$ITEMS" --port 1
cat >"$OUT/suite.yaml" <<EOF
version: 1
name: bench-latency-bound
task: classification
dataset: {path: dataset.jsonl, id: id, expected: label}
labels: [billing, technical_issue, account_access, shipping, refund_request, feature_request]
prompt:
  system: "Classify the ticket. Allowed intents: {{ labels | join(', ') }}. Answer with the intent only."
  user: "Ticket: {{ text }}"
providers:
  - id: slow
    role: baseline
    kind: sim
    model: sim-slow
    price: {input_per_mtok: 0.15, output_per_mtok: 0.60}
    sim: {quality: 0.9, latency_ms: {p50: $LATENCY_MS, p99: $LATENCY_MS}}
run: {concurrency: $CONCURRENCY, max_retries: 0, timeout_s: 30, seed: 1}
EOF

/usr/bin/time -v -o "$OUT/evalh.time" "$EVALH" run "$OUT/suite.yaml" --out "$OUT/runs" --no-progress \
  $(evalh_run_flags "$EVALH") >"$OUT/evalh.stdout" 2>"$OUT/evalh.stderr" || true # a failed gate exits non-zero
run_dir="$(ls -d "$OUT"/runs/*/ | head -1)"
records="$(wc -l <"$run_dir/journal.jsonl")"
errors="$(grep -c '"error":{' "$run_dir/journal.jsonl" || true)"
if [[ "$records" != "$ITEMS" || "$errors" != 0 ]]; then
  echo "evalh: $records journal records, $errors errors (want $ITEMS, 0)" >&2
  cat "$OUT/evalh.stderr" >&2
  exit 1
fi
eval "$(timev "$OUT/evalh.time")"

python3 - "$OUT/result.json" <<EOF
import json, sys
items, conc, lat = $ITEMS, $CONCURRENCY, $LATENCY_MS / 1000
ideal = items * lat / conc
res = {"items": items, "concurrency": conc, "latency_ms": $LATENCY_MS, "ideal_s": ideal,
       "wall_s": $wall_s, "cpu_s": $cpu_s, "rss_mb": $rss_mb, "efficiency": ideal / $wall_s}
json.dump(res, open(sys.argv[1], "w"), indent=2)
print()
print("latency %d ms, %d items, concurrency %d (sim)" % ($LATENCY_MS, items, conc))
print("ideal bound items x latency / concurrency : %7.2f s" % ideal)
print("evalh wall (end to end)                   : %7.2f s  (CPU %.2f s, RSS %.1f MB)"
      % ($wall_s, $cpu_s, $rss_mb))
print("bound / wall                              : %7.3f   (target >= 0.95)" % res["efficiency"])
EOF
