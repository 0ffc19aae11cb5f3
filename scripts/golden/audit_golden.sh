#!/bin/sh
# Regenerates tests/data/golden/logs/: synthetic logs in every format evalh audit reads (gzipped, 1,500 requests,
# seed 7, from gen_logs.py) and, for each, the audit computed by the Python reference (audit_reference.py), which
# tests/it/audit.rs compares evalh's `--json` against. Deterministic: the same files every time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../tests/data/golden/logs
rm -rf "$out" && mkdir -p "$out"
python3 "$here/gen_logs.py" "$out" --rows 1500 --seed 7 --gzip --array
cd "$out"
python3 "$here/audit_reference.py" litellm.jsonl.gz --preset litellm --mapping mapping.yaml --out litellm.jsonl.ref.json
python3 "$here/audit_reference.py" litellm.csv.gz --preset litellm --mapping mapping.yaml --out litellm.csv.ref.json
python3 "$here/audit_reference.py" litellm-array.json.gz --preset litellm --mapping mapping.yaml --out litellm-array.ref.json
python3 "$here/audit_reference.py" openai.jsonl.gz --preset openai --mapping mapping.yaml --out openai.jsonl.ref.json
ls -l "$out"
