#!/usr/bin/env bash
# Benchmark: `evalh report` on a 100,000-item run (target: charts + report.html in under 5 s).
#
# Builds a 100,000-item classification dataset, runs it against two zero-latency simulated providers (release build),
# then times `evalh report RUN_DIR` with EVALH_TIMINGS=1, which prints the time of each stage: the analysis (journal ->
# scores -> bootstrap intervals -> gate, shared with `evalh score`), the PNG charts and report.html. The target is for
# the whole `evalh report` command (wall time, analysis included); each stage's time is printed so a regression shows.
#
# Usage: bench/report_100k.sh [N]        (N items, default 100000; the work directory is kept and printed)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
TARGET_S=5
# The analysis resamples every corpus metric BOOTSTRAP_ITERS times over all items; the default is the suite default.
BOOTSTRAP_ITERS=${BOOTSTRAP_ITERS:-2000}

cargo build --release --quiet
BIN=$PWD/target/release/evalh
WORK=$(mktemp -d "${TMPDIR:-/tmp}/evalh-report-bench.XXXXXX")
cd "$WORK"

# Ticket-like texts; labels cycle through six intents.
awk -v n="$N" 'BEGIN {
  split("billing technical_issue account_access shipping refund_request feature_request", L, " ");
  for (i = 1; i <= n; i++)
    printf "{\"id\": \"T%06d\", \"text\": \"Ticket %d: the customer writes about issue %d and wants it solved today.\", \"label\": \"%s\"}\n", i, i, i % 977, L[(i % 6) + 1];
}' > tickets.jsonl

cat > bench.yaml <<'YAML'
version: 1
name: report-bench
task: classification
dataset: {path: tickets.jsonl, id: id, expected: label}
labels: [billing, technical_issue, account_access, shipping, refund_request, feature_request]
prompt:
  system: "Classify the ticket into one of: {{ labels | join(', ') }}."
  user: "{{ text }}"
providers:
  - {id: premium, role: baseline, kind: sim, model: sim-premium, price: {input_per_mtok: 2.5, output_per_mtok: 10}, sim: {quality: 0.93}}
  - {id: flash, kind: sim, model: sim-flash, price: {input_per_mtok: 0.1, output_per_mtok: 0.4}, sim: {quality: 0.92}}
run: {concurrency: 256, seed: 7}
gate: {bootstrap_iters: BOOTSTRAP_ITERS}
YAML
sed -i "s/BOOTSTRAP_ITERS}/$BOOTSTRAP_ITERS}/" bench.yaml

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
stage() { awk -v k="$1" -F': ' '$1 == "timing" && $2 == k { printf "%.2f", $3 + 0 }' report.log; }

t0=$(now)
"$BIN" run bench.yaml --no-progress --out reports > run.log 2>&1 || true
t1=$(now)
RUN_DIR=$(ls -d reports/*/ | head -n 1)
grep -q . "$RUN_DIR/journal.jsonl"

r0=$(now)
EVALH_TIMINGS=1 "$BIN" report "$RUN_DIR" > report.log 2>&1 || true
r1=$(now)

analysis_s=$(stage "analysis (journal, scores, intervals, gate)")
charts_s=$(stage charts)
html_s=$(stage report.html)
render_s=$(awk -v a="$charts_s" -v b="$html_s" 'BEGIN { printf "%.2f", a + b }')
html_kb=$(( $(wc -c < "$RUN_DIR/report.html") / 1024 ))
n_rows=$(grep -o '<article class="item"' "$RUN_DIR/report.html" | wc -l)

echo "items:                                      $N (bootstrap_iters $BOOTSTRAP_ITERS)"
echo "evalh run (sim, 0 ms latency, 2 providers): $(secs "$t0" "$t1") s"
report_s=$(secs "$r0" "$r1")
echo "evalh report RUN_DIR, wall time:            ${report_s} s   (target < ${TARGET_S} s)"
echo "  analysis (journal, scores, intervals):    ${analysis_s} s"
echo "  charts (PNG):                             ${charts_s} s"
echo "  report.html:                              ${html_s} s"
echo "report rendering (charts + report.html):    ${render_s} s"
echo "report.html: ${html_kb} KiB, ${n_rows} drill-down items embedded; charts: $(ls "$RUN_DIR/charts" | wc -l) PNGs"
echo "work directory: $WORK"
awk -v r="$report_s" -v t="$TARGET_S" 'BEGIN { exit !(r < t) }' || { echo "SLOW: evalh report took ${report_s} s"; exit 1; }
