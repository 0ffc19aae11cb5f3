#!/usr/bin/env bash
# Screenshot of a run's report.html with headless Chromium (how docs/report.png is made).
#
#   scripts/report_screenshot.sh RUN_DIR OUT.png [WIDTHxHEIGHT]
#
# Needs /usr/bin/chromium: on Debian/Ubuntu `apt-get install chromium` (.ci/run installs it too). The page is opened
# from disk; it makes no network requests (its Content-Security-Policy forbids them), and the browser's own background
# networking is switched off.
set -euo pipefail
RUN_DIR=${1:?usage: $0 RUN_DIR OUT.png [WIDTHxHEIGHT]}
OUT=${2:?usage: $0 RUN_DIR OUT.png [WIDTHxHEIGHT]}
SIZE=${3:-1400x2000}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "no $CHROMIUM: apt-get install chromium" >&2; exit 2; }
PAGE=$(cd "$RUN_DIR" && pwd)/report.html
[ -f "$PAGE" ] || { echo "no $PAGE: run 'evalh report $RUN_DIR' first" >&2; exit 2; }
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT
"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
  --hide-scrollbars --user-data-dir="$PROFILE" --window-size="${SIZE/x/,}" --screenshot="$OUT" \
  "file://$PAGE" >/dev/null 2>&1
[ -s "$OUT" ] || { echo "chromium wrote no screenshot" >&2; exit 1; }
echo "$OUT"
