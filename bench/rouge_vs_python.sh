#!/usr/bin/env bash
# ROUGE speed and parity: Python rouge-score 0.1.2 vs `evalh metrics rouge --stem`.
#
# 1. Writes N (default 10000) deterministic summary pairs as JSONL
#    {"reference": str, "prediction": str} (scripts/golden/rouge.py --pairs).
# 2. Times rouge-score (use_stemmer=True) over them, scoring only (no file I/O):
#    once with all four types (rouge1, rouge2, rougeL, rougeLsum) and once with rougeLsum only.
# 3. Times `evalh metrics rouge --stem < pairs.jsonl` end to end (process start, JSON
#    parsing and printing included), once with all four types and once with `--types rougeLsum`
#    (the best of 3 runs each).
# 4. Prints the times and the ratios (all four vs all four, Lsum vs Lsum), and checks that every
#    value evalh printed equals rouge-score's, for both runs (exact float equality).
#
# Usage: bench/rouge_vs_python.sh [N]
# Env:   EVALH_BIN=path   binary to use (default target/release/evalh, built if missing
#                         or if BUILD=1)
#        KEEP=1           keep the temporary directory
# Needs: python3 with rouge-score 0.1.2 and nltk; cargo (unless EVALH_BIN is given).
set -euo pipefail

N="${1:-10000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVALH_BIN="${EVALH_BIN:-$ROOT/target/release/evalh}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/rouge-bench.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$TMP"' EXIT
else
  echo "temporary files in $TMP"
fi

if [[ ! -x "$EVALH_BIN" || "${BUILD:-0}" == 1 ]]; then
  echo "building $EVALH_BIN (cargo build --release --bin evalh)..." >&2
  (cd "$ROOT" && cargo build --release --bin evalh >&2)
fi

python3 "$ROOT/scripts/golden/rouge.py" --pairs "$N" "$TMP/pairs.jsonl"
echo "pairs: $N ($(wc -c <"$TMP/pairs.jsonl") bytes)"

py_all=$(python3 "$ROOT/bench/rouge_vs_python.py" score "$TMP/pairs.jsonl" "$TMP/python.jsonl" --stem |
  sed -n 's/^seconds=//p')
py_lsum=$(python3 "$ROOT/bench/rouge_vs_python.py" score "$TMP/pairs.jsonl" "$TMP/python_lsum.jsonl" --stem \
  --types rougeLsum | sed -n 's/^seconds=//p')

# best_of3 OUT ARGS...: the shortest wall time of three runs of `evalh metrics rouge ARGS < pairs.jsonl > OUT`.
best_of3() {
  local out="$1" best="" t start end
  shift
  for _ in 1 2 3; do
    start=$(date +%s.%N)
    "$EVALH_BIN" metrics rouge "$@" <"$TMP/pairs.jsonl" >"$out"
    end=$(date +%s.%N)
    t=$(python3 -c "print('%.6f' % ($end - $start))")
    if [[ -z "$best" ]] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best="$t"; fi
  done
  echo "$best"
}
rs_all=$(best_of3 "$TMP/evalh.jsonl" --stem)
rs_lsum=$(best_of3 "$TMP/evalh_lsum.jsonl" --stem --types rougeLsum)

python3 - "$N" "$py_all" "$py_lsum" "$rs_all" "$rs_lsum" <<'EOF'
import sys
n, py_all, py_lsum, rs_all, rs_lsum = int(sys.argv[1]), *map(float, sys.argv[2:])
print("python rouge-score, 4 types, scoring only : %9.3f s  %10.0f pairs/s" % (py_all, n / py_all))
print("python rouge-score, rougeLsum only        : %9.3f s  %10.0f pairs/s" % (py_lsum, n / py_lsum))
print("evalh metrics rouge --stem, 4 types, e2e  : %9.3f s  %10.0f pairs/s" % (rs_all, n / rs_all))
print("evalh ... --types rougeLsum, e2e          : %9.3f s  %10.0f pairs/s" % (rs_lsum, n / rs_lsum))
print("speedup, 4 types                          : %9.1fx" % (py_all / rs_all))
print("speedup, rougeLsum only (target >= 100x)  : %9.1fx" % (py_lsum / rs_lsum))
print("speedup, python Lsum-only vs evalh 4 types: %9.1fx (the most conservative ratio)" % (py_lsum / rs_all))
EOF

python3 "$ROOT/bench/rouge_vs_python.py" compare "$TMP/python.jsonl" "$TMP/evalh.jsonl"
python3 "$ROOT/bench/rouge_vs_python.py" compare "$TMP/python_lsum.jsonl" "$TMP/evalh_lsum.jsonl"
