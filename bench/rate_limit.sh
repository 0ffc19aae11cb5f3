#!/usr/bin/env bash
# How close a run gets to a provider's rate limit: evalh pacing from the limit headers, evalh with pacing off, and
# promptfoo, each against a fresh `evalh sim serve` enforcing the limit like a provider.
#
# Two settings (each against a simulator started afresh for every harness, so every run begins with full buckets):
#   requests  ITEMS items, --rpm RPM --tpm TPM_REQ, max_tokens MAX_TOKENS_REQ: the request limit binds;
#   tokens    ITEMS items, --rpm RPM --tpm TPM_TOK, max_tokens MAX_TOKENS_TOK: the token limit binds.
# The simulator (OpenAI headers: x-ratelimit-*, resets as durations; 429 with retry-after in whole seconds) keeps a
# bucket per limit that holds one minute's worth and refills continuously; a request costs one request and its
# prompt tokens plus max_tokens. The theoretical minimum of a setting is therefore, for the binding limit L per
# minute and a total cost C, (C - L) / (L / 60) seconds: the first minute's worth goes at once, the rest at the
# refill rate (latency and start-up excluded).
#
# For each harness: wall time of the whole command (/usr/bin/time), the span from the first to the last request the
# simulator saw, both against the minimum; requests answered 429 and retries (from the simulator's log); items
# answered. Written to $OUT/result.json and printed as a table.
#
# Usage: bench/rate_limit.sh
# Env:   ITEMS=5000 CONCURRENCY=50 RPM=3000 TPM_REQ=1000000 MAX_TOKENS_REQ=10 TPM_TOK=600000 MAX_TOKENS_TOK=200
#        P50_MS=5 P99_MS=20 (simulated latency)  SETTINGS="requests tokens"  HARNESSES="headers off promptfoo"
#        EVALH_BIN=path (else the release build)  OUT=bench/out/rate_limit
# Small-scale check with a debug build:
#        EVALH_BIN=target/debug/evalh ITEMS=300 RPM=240 TPM_TOK=60000 bench/rate_limit.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ITEMS="${ITEMS:-5000}"
CONCURRENCY="${CONCURRENCY:-50}"
RPM="${RPM:-3000}"
TPM_REQ="${TPM_REQ:-1000000}"
MAX_TOKENS_REQ="${MAX_TOKENS_REQ:-10}"
TPM_TOK="${TPM_TOK:-600000}"
MAX_TOKENS_TOK="${MAX_TOKENS_TOK:-200}"
P50_MS="${P50_MS:-5}"
P99_MS="${P99_MS:-20}"
SETTINGS="${SETTINGS:-requests tokens}"
HARNESSES="${HARNESSES:-headers off promptfoo}"
OUT="${OUT:-$BENCH_OUT/rate_limit}"

ensure_debs /usr/bin/time:time
EVALH="$(ensure_evalh)"
if [[ " $HARNESSES " == *" promptfoo "* ]]; then
  PROMPTFOO="$(ensure_promptfoo)"
  NODE_BIN="$(ensure_node22)"
fi

rm -rf "$OUT"
mkdir -p "$OUT"
SIM_PID=""
stop_sim() { if [[ -n "$SIM_PID" ]]; then kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=""; fi; }
trap stop_sim EXIT

# start_sim DIR RPM TPM LOG — a fresh simulator with full buckets on $PORT.
start_sim() {
  "$EVALH" sim serve "$1/sim-suite.yaml" --port "$PORT" --rpm "$2" --tpm "$3" --log "$4" \
    >"$1/sim.stdout" 2>"$1/sim.stderr" &
  SIM_PID=$!
  wait_port "$PORT"
}

# run_harness NAME DIR — one measured run; writes DIR/NAME.time, DIR/NAME.sim.jsonl and NAME's answers.
run_harness() {
  local name="$1" dir="$2"
  case "$name" in
    headers | off)
      /usr/bin/time -v -o "$dir/$name.time" "$EVALH" run "$dir/evalh-$name.yaml" --out "$dir/evalh-$name" \
        --no-progress $(evalh_run_flags "$EVALH") >"$dir/$name.stdout" 2>"$dir/$name.stderr" || true
      ;;
    promptfoo)
      mkdir -p "$dir/promptfoo-home"
      (
        cd "$dir"
        PATH="$NODE_BIN:$PATH" \
          PROMPTFOO_CONFIG_DIR="$dir/promptfoo-home" \
          PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CACHE_ENABLED=false \
          PROMPTFOO_DISABLE_SHARING=1 PROMPTFOO_DISABLE_REMOTE_GENERATION=true \
          OPENAI_API_KEY=sk-loopback-bench NO_COLOR=1 \
          /usr/bin/time -v -o "$dir/promptfoo.time" "$NODE_BIN/node" "$PROMPTFOO" eval \
          -c "$dir/promptfooconfig.yaml" -j "$CONCURRENCY" --no-cache \
          --no-progress-bar --no-table --no-share -o "$dir/promptfoo-results.json" \
          >"$dir/promptfoo.stdout" 2>"$dir/promptfoo.stderr" || true
      )
      ;;
    *) echo "unknown harness $name" >&2; exit 2 ;;
  esac
}

PORT="$(free_port)"
URL="http://127.0.0.1:$PORT/v1"
log "evalh: $EVALH; $ITEMS items, concurrency $CONCURRENCY, simulator on $URL"
for setting in $SETTINGS; do
  case "$setting" in
    requests) tpm="$TPM_REQ" max_tokens="$MAX_TOKENS_REQ" ;;
    tokens) tpm="$TPM_TOK" max_tokens="$MAX_TOKENS_TOK" ;;
    *) echo "unknown setting $setting" >&2; exit 2 ;;
  esac
  dir="$OUT/$setting"
  python3 "$BENCH_DIR/gen_rate_limit.py" "$dir" --items "$ITEMS" --url "$URL" --concurrency "$CONCURRENCY" \
    --max-tokens "$max_tokens" --p50 "$P50_MS" --p99 "$P99_MS"
  echo "{\"rpm\": $RPM, \"tpm\": $tpm, \"max_tokens\": $max_tokens}" >"$dir/limits.json"
  for h in $HARNESSES; do
    start_sim "$dir" "$RPM" "$tpm" "$dir/$h.sim.jsonl"
    log "$setting: $h (rpm $RPM, tpm $tpm, max_tokens $max_tokens)"
    run_harness "$h" "$dir"
    stop_sim
    eval "$(timev "$dir/$h.time")"
    log "$setting: $h: ${wall_s}s wall"
  done
done

python3 - "$OUT" "$ITEMS" "$SETTINGS" "$HARNESSES" <<'EOF'
import glob, json, os, re, sys

out, items, settings, harnesses = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()


def wall(path):
    for line in open(path):
        if "Elapsed (wall clock)" in line:
            parts = line.rsplit(": ", 1)[1].strip().split(":")
            s = 0.0
            for p in parts:
                s = s * 60 + float(p)
            return s


def answered(dir_, h):
    """Items the harness got an answer for (no error)."""
    if h == "promptfoo":
        try:
            r = json.load(open(os.path.join(dir_, "promptfoo-results.json")))
        except (OSError, ValueError):
            return 0, items
        rows = r["results"]["results"]
        errors = sum(1 for x in rows if x.get("failureReason") == 2 or (x.get("error") and not x.get("success")))
        return len(rows) - errors, errors
    journals = glob.glob(os.path.join(dir_, "evalh-%s" % h, "*", "journal.jsonl"))
    ok = err = 0
    for j in journals:
        for line in open(j):
            rec = json.loads(line)
            if rec.get("error"):
                err += 1
            else:
                ok += 1
    return ok, err


def prompt_tokens(dir_):
    """The prompt tokens the simulator charged per item (it reports what it charges as usage)."""
    for h in ("headers", "off"):
        for j in glob.glob(os.path.join(dir_, "evalh-%s" % h, "*", "journal.jsonl")):
            tok = [json.loads(l)["usage"]["input_tokens"] for l in open(j)]
            if tok and all(tok):
                return tok
    return None


res = {"items": items, "settings": {}}
for s in settings:
    d = os.path.join(out, s)
    lim = json.load(open(os.path.join(d, "limits.json")))
    rpm, tpm, mt = lim["rpm"], lim["tpm"], lim["max_tokens"]
    toks = prompt_tokens(d)
    cost = sum(toks) + mt * len(toks) if toks else None
    need = [(items - rpm) / (rpm / 60.0)]
    if cost is not None:
        need.append((cost - tpm) / (tpm / 60.0))
    minimum = max(0.0, *need)
    row = {"rpm": rpm, "tpm": tpm, "max_tokens": mt, "tokens": cost, "theoretical_min_s": minimum, "harness": {}}
    for h in harnesses:
        log = [json.loads(l) for l in open(os.path.join(d, "%s.sim.jsonl" % h))]
        t = [x["t_ms"] for x in log]
        span = (max(t) - min(t)) / 1000.0 if t else 0.0
        limited = sum(1 for x in log if x["outcome"] == "rate_limited")
        ok, err = answered(d, h)
        w = wall(os.path.join(d, "%s.time" % h))
        row["harness"][h] = {
            "wall_s": w, "send_span_s": span, "requests": len(log), "answered_429": limited,
            "retries": len(log) - len({x["item"] for x in log}), "ok": ok, "errors": err,
            "wall_vs_min": w / minimum if minimum else None, "span_vs_min": span / minimum if minimum else None,
        }
    res["settings"][s] = row
json.dump(res, open(os.path.join(out, "result.json"), "w"), indent=2)

names = {"headers": "evalh (pace: headers)", "off": "evalh (pace: off)", "promptfoo": "promptfoo"}
for s, row in res["settings"].items():
    print()
    print("%s-bound: %d items, %d req/min, %d tok/min, max_tokens %d, %s tokens; theoretical minimum %.1f s"
          % (s, items, row["rpm"], row["tpm"], row["max_tokens"], row["tokens"], row["theoretical_min_s"]))
    print("%-22s %8s %8s %8s %8s %9s %8s %8s %7s" % ("", "wall s", "x min", "span s", "x min", "requests",
                                                    "429s", "429 %", "ok"))
    for h, r in row["harness"].items():
        print("%-22s %8.1f %8.3f %8.1f %8.3f %9d %8d %7.2f%% %7d" % (
            names.get(h, h), r["wall_s"], r["wall_vs_min"] or 0, r["send_span_s"], r["span_vs_min"] or 0,
            r["requests"], r["answered_429"], 100.0 * r["answered_429"] / max(1, r["requests"]), r["ok"]))
EOF
