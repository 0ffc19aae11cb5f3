#!/usr/bin/env bash
# evalh vs promptfoo vs the wire, at zero latency, on one loopback OpenAI-compatible endpoint.
#
# 1. Generates (bench/gen_vs_promptfoo.py, fixed seed) a 5,000-item classification suite, the same suite
#    as a promptfoo config, an nginx config and a wrk script.
# 2. Starts nginx on 127.0.0.1 answering every POST /v1/chat/completions with one fixed chat.completion
#    (from memory, no logging): the provider costs ~nothing, so what is measured is the harness.
# 3. wrk: POSTs evalh's item-1 request body at the same concurrency for WRK_SECONDS — the request rate
#    the wire and server allow on this machine.
# 4. evalh (release build): `evalh run SUITE --no-progress` under /usr/bin/time -v (end to end: load,
#    requests, journal, scoring, gate, reports), EVALH_RUNS times; the median run is reported.
# 5. promptfoo (pinned): `promptfoo eval` with the openai chat provider at the same endpoint, the same
#    messages, maxConcurrency = the same concurrency, cache off, under /usr/bin/time -v.
# 6. Checks both answered every item, prints wall s, items/s, CPU s, peak RSS and the ratios, and writes
#    them to $OUT/result.json.
#
# Usage: bench/vs_promptfoo.sh
# Env:   ITEMS=5000 CONCURRENCY=50 WRK_SECONDS=10 WRK_THREADS="1 2" (best of) NGINX_WORKERS=1
#        PROMPTFOO_ITEMS=$ITEMS (promptfoo runs the first N tests; its items/s is N / its wall time)
#        EVALH_RUNS=3 (evalh is run this many times; the run with the median wall time is reported)
#        SKIP_PROMPTFOO=1 (evalh and wrk only)  EVALH_BIN=path  OUT=bench/out/vs_promptfoo
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ITEMS="${ITEMS:-5000}"
CONCURRENCY="${CONCURRENCY:-50}"
WRK_SECONDS="${WRK_SECONDS:-10}"
WRK_THREADS="${WRK_THREADS:-1 2}"
NGINX_WORKERS="${NGINX_WORKERS:-1}"
PROMPTFOO_ITEMS="${PROMPTFOO_ITEMS:-$ITEMS}"
EVALH_RUNS="${EVALH_RUNS:-3}"
OUT="${OUT:-$BENCH_OUT/vs_promptfoo}"

ensure_debs nginx:nginx-light wrk:wrk /usr/bin/time:time
EVALH="$(ensure_evalh)"
if [[ "${SKIP_PROMPTFOO:-0}" != 1 ]]; then
  PROMPTFOO="$(ensure_promptfoo)"
  NODE_BIN="$(ensure_node22)"
fi

rm -rf "$OUT"
mkdir -p "$OUT"
PORT="$(free_port)"
python3 "$BENCH_DIR/gen_vs_promptfoo.py" "$OUT" --items "$ITEMS" --port "$PORT" \
  --concurrency "$CONCURRENCY" --nginx-workers "$NGINX_WORKERS"
URL="http://127.0.0.1:$PORT/v1/chat/completions"

nginx -p "$OUT" -c "$OUT/nginx.conf"
stop_nginx() { [[ -f "$OUT/nginx.pid" ]] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null || true; }
trap stop_nginx EXIT
wait_port "$PORT"
log "nginx on $URL ($NGINX_WORKERS worker), $ITEMS items, concurrency $CONCURRENCY"

# --- the wire: wrk ------------------------------------------------------------------------------------
wrk_rps=0 wrk_best=""
for t in $WRK_THREADS; do # the best of the thread counts tried is the wire's limit
  wrk -t"$t" -c"$CONCURRENCY" -d2s -s "$OUT/wrk-post.lua" "$URL" >/dev/null # warm-up
  wrk -t"$t" -c"$CONCURRENCY" -d"${WRK_SECONDS}s" -s "$OUT/wrk-post.lua" "$URL" >"$OUT/wrk-t$t.txt"
  if grep -q 'Non-2xx' "$OUT/wrk-t$t.txt"; then
    echo "wrk got non-2xx answers:" >&2; cat "$OUT/wrk-t$t.txt" >&2; exit 1
  fi
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$OUT/wrk-t$t.txt")"
  log "wrk -t$t -c$CONCURRENCY: $rps requests/s"
  if python3 -c "import sys; sys.exit(not float('$rps') > float('$wrk_rps'))"; then
    wrk_rps="$rps" wrk_best="$t"
  fi
done
cp "$OUT/wrk-t$wrk_best.txt" "$OUT/wrk.txt"
log "wrk: $wrk_rps requests/s (best: $wrk_best threads)"

# --- evalh (EVALH_RUNS runs, the median by wall time is reported) ----------------------------------------
for r in $(seq 1 "$EVALH_RUNS"); do
  /usr/bin/time -v -o "$OUT/evalh-$r.time" "$EVALH" run "$OUT/evalh-suite.yaml" --out "$OUT/evalh-runs-$r" \
    --no-progress $(evalh_run_flags "$EVALH") >"$OUT/evalh.stdout" 2>"$OUT/evalh.stderr" || true # a failed gate exits non-zero
  run_dir="$(ls -d "$OUT/evalh-runs-$r"/*/ | head -1)"
  evalh_records="$(wc -l <"$run_dir/journal.jsonl")"
  evalh_errors="$(grep -c '"error":{' "$run_dir/journal.jsonl" || true)"
  if [[ "$evalh_records" != "$ITEMS" || "$evalh_errors" != 0 ]]; then
    echo "evalh: $evalh_records journal records, $evalh_errors errors (want $ITEMS, 0)" >&2
    cat "$OUT/evalh.stderr" >&2
    exit 1
  fi
  eval "$(timev "$OUT/evalh-$r.time" | sed 's/\([a-z_]*\)=/evalh_\1=/g')"
  log "evalh run $r: ${evalh_wall_s}s wall, ${evalh_cpu_s} CPU-s, ${evalh_rss_mb} MB"
  echo "$evalh_wall_s $r" >>"$OUT/evalh-walls.txt"
done
median_run="$(sort -n "$OUT/evalh-walls.txt" | awk '{r[NR] = $2} END {print r[int((NR + 1) / 2)]}')"
cp "$OUT/evalh-$median_run.time" "$OUT/evalh.time"
eval "$(timev "$OUT/evalh.time" | sed 's/\([a-z_]*\)=/evalh_\1=/g')"
log "evalh (median of $EVALH_RUNS): ${evalh_wall_s}s wall, ${evalh_cpu_s} CPU-s, ${evalh_rss_mb} MB"

# --- promptfoo ----------------------------------------------------------------------------------------
pf_items=0 pf_wall_s=0 pf_cpu_s=0 pf_rss_mb=0 pf_user_s=0 pf_sys_s=0
if [[ "${SKIP_PROMPTFOO:-0}" != 1 ]]; then
  mkdir -p "$OUT/promptfoo-home"
  (
    cd "$OUT"
    PATH="$NODE_BIN:$PATH" \
      PROMPTFOO_CONFIG_DIR="$OUT/promptfoo-home" \
      PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CACHE_ENABLED=false \
      PROMPTFOO_DISABLE_SHARING=1 PROMPTFOO_DISABLE_REMOTE_GENERATION=true \
      OPENAI_API_KEY=sk-loopback-bench NO_COLOR=1 \
      /usr/bin/time -v -o "$OUT/promptfoo.time" "$NODE_BIN/node" "$PROMPTFOO" eval \
      -c "$OUT/promptfooconfig.yaml" -j "$CONCURRENCY" -n "$PROMPTFOO_ITEMS" --no-cache \
      --no-progress-bar --no-table --no-share -o "$OUT/promptfoo-results.json" \
      >"$OUT/promptfoo.stdout" 2>"$OUT/promptfoo.stderr" || true # failed assertions exit non-zero
  )
  pf_items="$(python3 - "$OUT/promptfoo-results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["results"]["stats"]
if s.get("errors"):
    sys.exit("promptfoo: %d errors (see promptfoo-results.json)" % s["errors"])
print(s["successes"] + s["failures"])
EOF
)"
  if [[ "$pf_items" != "$PROMPTFOO_ITEMS" ]]; then
    echo "promptfoo ran $pf_items tests, want $PROMPTFOO_ITEMS" >&2; tail -20 "$OUT/promptfoo.stderr" >&2; exit 1
  fi
  eval "$(timev "$OUT/promptfoo.time" | sed 's/\([a-z_]*\)=/pf_\1=/g')"
  log "promptfoo: ${pf_wall_s}s wall, ${pf_cpu_s} CPU-s, ${pf_rss_mb} MB"
fi

python3 - "$OUT/result.json" <<EOF
import json, sys
items, pf_items, conc = $ITEMS, $pf_items, $CONCURRENCY
wrk = float("$wrk_rps")
e = dict(wall_s=$evalh_wall_s, cpu_s=$evalh_cpu_s, user_s=$evalh_user_s, sys_s=$evalh_sys_s, rss_mb=$evalh_rss_mb)
p = dict(wall_s=$pf_wall_s, cpu_s=$pf_cpu_s, user_s=$pf_user_s, sys_s=$pf_sys_s, rss_mb=$pf_rss_mb)
e["items"], p["items"] = items, pf_items
e["items_per_s"] = items / e["wall_s"]
p["items_per_s"] = pf_items / p["wall_s"] if pf_items else 0.0
res = {"concurrency": conc, "wrk_requests_per_s": wrk, "wrk_threads": int("$wrk_best"), "evalh": e, "promptfoo": p,
       "evalh_vs_promptfoo": e["items_per_s"] / p["items_per_s"] if pf_items else None,
       "evalh_vs_wrk": e["items_per_s"] / wrk}
json.dump(res, open(sys.argv[1], "w"), indent=2)
print()
print("zero latency, %d items, concurrency %d, nginx loopback" % (items, conc))
print("%-10s %8s %8s %11s %8s %9s %8s" % ("", "items", "wall s", "items/s", "CPU s", "CPU ms/it", "RSS MB"))
for name, r in (("evalh", e), ("promptfoo", p)):
    if r["items"]:
        print("%-10s %8d %8.2f %11.0f %8.2f %9.3f %8.1f" % (name, r["items"], r["wall_s"], r["items_per_s"],
              r["cpu_s"], 1000 * r["cpu_s"] / r["items"], r["rss_mb"]))
print("%-10s %8s %8s %11.0f   (requests/s, %s thread(s), %ds)" % ("wrk", "", "", wrk, "$wrk_best", $WRK_SECONDS))
if pf_items:
    print("evalh / promptfoo items/s : %8.1fx  (target >= 100x)" % res["evalh_vs_promptfoo"])
    print("promptfoo / evalh CPU/item: %8.1fx" % ((p["cpu_s"] / pf_items) / (e["cpu_s"] / items)))
print("evalh / wrk request rate  : %8.1f%%  (target >= 15%%)" % (100 * res["evalh_vs_wrk"]))
EOF
