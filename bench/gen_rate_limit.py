#!/usr/bin/env python3
"""Write every input of bench/rate_limit.sh for one setting into one directory, deterministically.

  dataset.jsonl          N support tickets (the generator of gen_vs_promptfoo.py, same seed)
  sim-suite.yaml         the suite `evalh sim serve` plays: one sim model, `bench-model`, answering each ticket
                         (found by its rendered prompt) after a short log-normal latency; the rate limit is given
                         on the command line (--rpm/--tpm)
  evalh-headers.yaml     evalh suite: one `kind: openai` provider at the simulator's URL, run.pace: headers
  evalh-off.yaml         the same with run.pace: off
  promptfooconfig.yaml   promptfoo config: the openai chat provider at the same URL, the same two messages, the same
                         max_tokens and concurrency
  prompt.json            promptfoo's chat prompt

Usage: gen_rate_limit.py OUTDIR --items N --url URL --concurrency C --max-tokens M [--p50 MS --p99 MS]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_vs_promptfoo import LABELS, MODEL, SYSTEM, tickets  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--url", default="http://127.0.0.1:1/v1")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--max-tokens", type=int, default=10)
    ap.add_argument("--max-retries", type=int, default=10)
    ap.add_argument("--p50", type=float, default=5.0)
    ap.add_argument("--p99", type=float, default=20.0)
    a = ap.parse_args()
    out = os.path.abspath(a.outdir)
    os.makedirs(out, exist_ok=True)
    items = list(tickets(a.items))

    def write(name, text):
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

    write("dataset.jsonl", "".join(json.dumps(t) + "\n" for t in items))
    head = [
        "version: 1",
        "name: bench-rate-limit",
        "task: classification",
        "dataset: {path: dataset.jsonl, id: id, expected: label}",
        "labels: " + json.dumps(LABELS),
        "prompt:",
        "  system: " + json.dumps(SYSTEM),
        '  user: "Ticket: {{ text }}"',
        "scoring: {label_extract: {mode: exact}}",
        "providers:",
    ]
    write("sim-suite.yaml", "\n".join(head + [
        "  - id: sim",
        "    role: baseline",
        "    kind: sim",
        "    model: " + MODEL,
        "    price: {input_per_mtok: 0.15, output_per_mtok: 0.60}",
        "    sim: {quality: 0.9, latency_ms: {p50: %g, p99: %g}}" % (a.p50, a.p99),
        "",
    ]))
    for pace in ("headers", "off"):
        write("evalh-%s.yaml" % pace, "\n".join(head + [
            "  - id: limited",
            "    role: baseline",
            "    kind: openai",
            "    auth: none",
            "    model: " + MODEL,
            "    base_url: " + a.url,
            "    price: {input_per_mtok: 0.15, output_per_mtok: 0.60}",
            "    params: {temperature: 0, max_tokens: %d}" % a.max_tokens,
            "run: {concurrency: %d, max_retries: %d, max_backoff_s: 120, timeout_s: 60, pace: %s}"
            % (a.concurrency, a.max_retries, pace),
            "",
        ]))
    write("prompt.json", json.dumps([
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Ticket: {{text}}"},
    ], indent=1) + "\n")
    lines = [
        "description: bench-rate-limit",
        "prompts: [file://prompt.json]",
        "providers:",
        "  - id: openai:chat:" + MODEL,
        "    config:",
        "      apiBaseUrl: " + a.url,
        "      apiKey: sk-loopback-bench",
        "      temperature: 0",
        "      max_tokens: %d" % a.max_tokens,
        "evaluateOptions: {maxConcurrency: %d, cache: false, showProgressBar: false}" % a.concurrency,
        "tests:",
    ]
    for t in items:
        lines.append("  - " + json.dumps({"vars": {"text": t["text"]}}))
    write("promptfooconfig.yaml", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
