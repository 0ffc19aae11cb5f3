#!/usr/bin/env bash
# Batch mode at scale: N items (default 1,000,000) x 2 providers through the providers' batch API (the simulator's,
# in the same process: its memory counts too), submitted, polled, collected, journaled and scored.
#
# 1. Writes a deterministic N-item classification dataset and a two-provider sim suite whose batches complete at
#    once (sim.batch.completion_delay_s: 0), in a temporary directory.
# 2. Runs `evalh run --batch` under /usr/bin/time -v (response cache off) and prints its peak RSS and wall time:
#    N/50,000 request files per provider are built, uploaded, created, polled, downloaded and journaled.
# 3. Checks the journal holds 2N records, each answered by a batch, and prints the batch journal's counts.
# Target: peak RSS <= 500 MB at N = 1,000,000.
#
# Usage: bench/batch_1m.sh [N]
# Env:   EVALH_BIN=path   binary to use (default target/release/evalh, built if missing or if BUILD=1)
#        KEEP=1           keep the temporary directory
set -euo pipefail

N="${1:-1000000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVALH_BIN="${EVALH_BIN:-$ROOT/target/release/evalh}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/evalh-batch.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$TMP"' EXIT
else
  echo "temporary files in $TMP"
fi
if [[ ! -x "$EVALH_BIN" || "${BUILD:-0}" == 1 ]]; then
  (cd "$ROOT" && cargo build --release --quiet)
fi
EVALH_BIN="$(realpath "$EVALH_BIN")"
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (GNU time: apt-get install time)" >&2; exit 1; }

python3 "$ROOT/bench/gen_sim_tickets.py" "$TMP" --items "$N" --name batch1m --batch

code=0
(cd "$TMP" && /usr/bin/time -v "$EVALH_BIN" run suite.yaml --out runs --no-cache --no-progress \
  >"$TMP/out.txt" 2>"$TMP/time.txt") || code=$?
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$TMP/time.txt")
echo "evalh: $EVALH_BIN; $N items x 2 providers = $((2 * N)) requests through batch mode"
printf 'run --batch (submit, poll, collect, score)  exit %s  peak RSS %.1f MB  wall %s\n' \
  "$code" "$(echo "$rss / 1024" | bc -l)" "$wall"
if [[ "$code" != 0 && "$code" != 1 ]]; then tail -20 "$TMP/time.txt" >&2; exit 1; fi
RUN_DIR="$(ls -d "$TMP"/runs/*/ | head -1)"
records=$(wc -l <"$RUN_DIR/journal.jsonl")
batched=$(grep -c '"batch":"' "$RUN_DIR/journal.jsonl" || true)
printf 'journal: %s records (%s answered by a batch), %s; batch journal: %s batches submitted, %s collected\n' \
  "$records" "$batched" "$(du -h "$RUN_DIR/journal.jsonl" | cut -f1)" \
  "$(grep -c '"event":"submitted"' "$RUN_DIR/batches.jsonl")" "$(grep -c '"event":"collected"' "$RUN_DIR/batches.jsonl")"
[[ "$records" == $((2 * N)) && "$batched" == $((2 * N)) ]] || { echo "expected $((2 * N)) batch records" >&2; exit 1; }
