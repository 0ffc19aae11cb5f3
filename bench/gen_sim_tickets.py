#!/usr/bin/env python3
"""Write a deterministic N-item ticket-classification dataset and a two-provider sim suite that reads it.

Why this script exists: the memory benchmarks (bench/memory_100k.sh, interactive; bench/batch_1m.sh, batch mode)
measure the same workload at different sizes and through different paths; one generator keeps them comparable.

Usage: bench/gen_sim_tickets.py OUT_DIR --items N --name NAME [--batch]
  writes OUT_DIR/data.jsonl and OUT_DIR/suite.yaml; --batch sends both providers through the simulator's batch API
  (run.mode: batch, batches done at once).
"""
import argparse
import json
import os

LABELS = ["billing", "bug", "feature"]
WORDS = {
    "billing": ["charged", "invoice", "refund", "payment", "VAT", "receipt"],
    "bug": ["crash", "error", "broken", "freeze", "timeout", "blank page"],
    "feature": ["add", "dark mode", "export", "wish", "support", "integration"],
}

SUITE = """name: {name}
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  system: "Classify the ticket into {{{{ labels | join(', ') }}}}. Answer with the label only."
  user: "{{{{ text }}}}"
providers:
  - id: base
    role: baseline
    kind: sim
    model: sim-base
    price: {{input_per_mtok: 2.5, output_per_mtok: 10}}
    sim: {{quality: 0.93, latency_ms: {{p50: 0, p99: 0}}{batch}}}
  - id: cand
    kind: sim
    model: sim-cand
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
    sim: {{quality: 0.9, latency_ms: {{p50: 0, p99: 0}}{batch}}}
gate: {{metric: macro_f1, decision: point, bootstrap_iters: 200}}
run: {run}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--batch", action="store_true")
    a = ap.parse_args()
    with open(os.path.join(a.out, "data.jsonl"), "w") as f:
        for i in range(a.items):
            label = LABELS[i % 3]
            w = WORDS[label]
            text = " ".join(w[(i * 7 + k * 5) % len(w)] for k in range(8))
            f.write(json.dumps({"id": f"t{i:07d}", "text": f"Ticket {i}: {text} please help", "label": label}) + "\n")
    batch = ", batch: {completion_delay_s: 0}" if a.batch else ""
    run = "{seed: 1, mode: batch}" if a.batch else "{concurrency: 64, seed: 1}"
    with open(os.path.join(a.out, "suite.yaml"), "w") as f:
        f.write(SUITE.format(name=a.name, batch=batch, run=run))


if __name__ == "__main__":
    main()
