#!/usr/bin/env bash
# Peak memory of a 100,000-item run: does evalh stream through the journal?
#
# 1. Writes a deterministic N-item (default 100000) classification dataset and a two-provider sim suite with zero
#    latency (so the run is CPU-bound and short), in a temporary directory.
# 2. Runs `evalh run` under /usr/bin/time -v (response cache off) and prints its peak RSS and wall time.
# 3. Runs `evalh score RUN_DIR` (journal -> results.json, offline) the same way.
# 4. Resumes the finished run (`evalh run --resume`: reads the journal, sends nothing) the same way.
# Target: peak RSS <= 150 MB for each step. The suite uses 200 bootstrap resamples (not 2,000): this measures memory,
# and the resampling's memory does not grow with the number of resamples, only its time does.
#
# Usage: bench/memory_100k.sh [N]
# Env:   EVALH_BIN=path   binary to use (default target/release/evalh, built if missing or if BUILD=1)
#        KEEP=1           keep the temporary directory
set -euo pipefail

N="${1:-100000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVALH_BIN="${EVALH_BIN:-$ROOT/target/release/evalh}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/evalh-mem.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$TMP"' EXIT
else
  echo "temporary files in $TMP"
fi
if [[ ! -x "$EVALH_BIN" || "${BUILD:-0}" == 1 ]]; then
  (cd "$ROOT" && cargo build --release --quiet)
fi
EVALH_BIN="$(realpath "$EVALH_BIN")"
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (GNU time)" >&2; exit 1; }

python3 "$ROOT/bench/gen_sim_tickets.py" "$TMP" --items "$N" --name mem100k

measure() { # label, then the command
  local label="$1"; shift
  local code=0
  (cd "$TMP" && /usr/bin/time -v "$@" >"$TMP/out.txt" 2>"$TMP/time.txt") || code=$?
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$TMP/time.txt")
  printf '%-34s exit %-3s peak RSS %7.1f MB   wall %s\n' "$label" "$code" "$(echo "$rss / 1024" | bc -l)" "$wall"
  if [[ "$code" != 0 && "$code" != 1 ]]; then tail -20 "$TMP/time.txt" >&2; fi
}

echo "evalh: $EVALH_BIN; $N items x 2 providers = $((2 * N)) requests"
measure "run (send, journal, score)" "$EVALH_BIN" run suite.yaml --out runs --no-cache --no-progress
RUN_DIR="$(ls -d "$TMP"/runs/*/ | head -1)"
printf 'journal: %s lines, %s\n' "$(wc -l <"$RUN_DIR/journal.jsonl")" "$(du -h "$RUN_DIR/journal.jsonl" | cut -f1)"
measure "score (journal -> results.json)" "$EVALH_BIN" score "$RUN_DIR"
measure "resume of a complete run" "$EVALH_BIN" run --resume "$RUN_DIR" --no-cache --no-progress
