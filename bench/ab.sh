#!/usr/bin/env bash
# A/B several evalh binaries on the zero-latency nginx suite of vs_promptfoo.sh (no promptfoo, no wrk).
#
# For checking a performance fix: the binaries run alternately (A B C A B C ...), ROUNDS times each,
# against one nginx, and the median wall time, CPU seconds and peak RSS of each are printed. Alternating
# spreads the noise of other processes on the machine over all binaries alike.
#
# Usage: bench/ab.sh BIN_A BIN_B [BIN_C ...]
#        (copy a build aside first, e.g. cp target/release/evalh /tmp/evalh-before)
# Env:   ITEMS=5000 CONCURRENCY=50 ROUNDS=5 NGINX_WORKERS=1 OUT=bench/out/ab
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 1)) || { sed -n '2,11p' "$0"; exit 2; }
ITEMS="${ITEMS:-5000}"
CONCURRENCY="${CONCURRENCY:-50}"
ROUNDS="${ROUNDS:-5}"
NGINX_WORKERS="${NGINX_WORKERS:-1}"
OUT="${OUT:-$BENCH_OUT/ab}"

ensure_debs nginx:nginx-light /usr/bin/time:time
rm -rf "$OUT"
mkdir -p "$OUT"
PORT="$(free_port)"
python3 "$BENCH_DIR/gen_vs_promptfoo.py" "$OUT" --items "$ITEMS" --port "$PORT" \
  --concurrency "$CONCURRENCY" --nginx-workers "$NGINX_WORKERS"
nginx -p "$OUT" -c "$OUT/nginx.conf"
trap '[[ -f "$OUT/nginx.pid" ]] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null || true' EXIT
wait_port "$PORT"

: >"$OUT/runs.txt"
for r in $(seq 1 "$ROUNDS"); do
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    /usr/bin/time -v -o "$OUT/t.time" "$bin" run "$OUT/evalh-suite.yaml" --out "$OUT/runs-$i-$r" --no-progress \
      $(evalh_run_flags "$bin") >/dev/null 2>"$OUT/stderr-$i.txt" || true
    n="$(cat "$OUT"/runs-"$i"-"$r"/*/journal.jsonl | grep -vc '"error":{' || true)"
    if [[ "$n" != "$ITEMS" ]]; then
      echo "$bin: $n successful records, want $ITEMS" >&2; cat "$OUT/stderr-$i.txt" >&2; exit 1
    fi
    eval "$(timev "$OUT/t.time")"
    echo "$i $wall_s $cpu_s $rss_mb" >>"$OUT/runs.txt"
    rm -rf "$OUT/runs-$i-$r"
  done
done

python3 - "$OUT/runs.txt" "$ITEMS" "$@" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
items, bins = int(sys.argv[2]), sys.argv[3:]
print("%d items, zero latency (nginx), median of %d runs each, alternating" % (items, len(rows) // len(bins)))
print("%-40s %8s %10s %8s %8s" % ("binary", "wall s", "items/s", "CPU s", "RSS MB"))
for i, b in enumerate(bins, 1):
    mine = [r for r in rows if r[0] == str(i)]
    w = statistics.median(float(r[1]) for r in mine)
    c = statistics.median(float(r[2]) for r in mine)
    m = statistics.median(float(r[3]) for r in mine)
    print("%-40s %8.2f %10.0f %8.2f %8.1f" % (b[-40:], w, items / w, c, m))
EOF
