#!/usr/bin/env python3
"""Write every input of bench/vs_promptfoo.sh into one directory, deterministically.

Both harnesses must see the same items, the same prompt and the same endpoint, so
they are all generated here from one seed:

  dataset.jsonl        N support tickets {"id", "text", "label"} (six intents)
  evalh-suite.yaml     evalh suite: one `kind: openai` provider at the loopback endpoint
  promptfooconfig.yaml promptfoo config: the openai chat provider at the same endpoint,
                       the same two messages, one `equals` assertion per test
  prompt.json          promptfoo's chat prompt (system + user, Nunjucks variables)
  completion.json      the fixed chat.completion nginx answers with
  body.json            the request body evalh sends for item 1 (what wrk POSTs)
  nginx.conf           nginx on 127.0.0.1:PORT answering POST /v1/chat/completions
  wrk-post.lua         wrk script POSTing body.json

Usage: gen_vs_promptfoo.py OUTDIR --items N --port P --concurrency C [--nginx-workers W]
Ticket texts never contain a double quote or a backslash, so the rendered
promptfoo chat prompt stays valid JSON without escaping filters.
"""

import argparse
import json
import os
import random

LABELS = [
    "billing",
    "technical_issue",
    "account_access",
    "shipping",
    "refund_request",
    "feature_request",
]

# Per intent: openers and details; a ticket is opener + detail + a shared closing.
PHRASES = {
    "billing": (
        ["I was charged twice for", "My invoice shows the wrong amount for", "Why did my card get billed for",
         "There is an unexpected fee on", "The VAT on my latest invoice for"],
        ["the monthly plan", "our team subscription", "the annual licence", "last month's usage", "order {n}"],
    ),
    "technical_issue": (
        ["The dashboard keeps crashing when I open", "I get an error 500 whenever I load", "Nothing happens when I click",
         "The app freezes while syncing", "Export times out on"],
        ["the reports page", "the settings screen", "project {n}", "the mobile app", "the CSV export"],
    ),
    "account_access": (
        ["I cannot log in to", "The password reset link never arrives for", "Two-factor codes are rejected for",
         "I am locked out of", "SSO stopped working for"],
        ["my admin account", "the shared team login", "user {n}", "our company workspace", "my old email address"],
    ),
    "shipping": (
        ["Where is my package for", "Tracking has not updated for", "The courier left the wrong box for",
         "Delivery was promised last week for", "The parcel arrived damaged for"],
        ["order {n}", "the replacement unit", "our office delivery", "the two monitors", "the gift order"],
    ),
    "refund_request": (
        ["Please refund", "I would like my money back for", "Can you reverse the charge for",
         "I returned the item and still await a refund for", "Cancel and refund"],
        ["order {n}", "the unused months of my plan", "the duplicate purchase", "the broken headphones",
         "the annual upgrade"],
    ),
    "feature_request": (
        ["It would be great to have", "Please add", "Could you support", "Our team really needs",
         "Any plans to build"],
        ["dark mode", "custom roles for admins", "an API for bulk import", "Slack notifications",
         "export to Parquet"],
    ),
}
CLOSINGS = ["Thanks.", "This is urgent.", "Any help is appreciated.", "Regards, the ops team.",
            "Happy to share screenshots.", "We have been customers for {y} years."]

SYSTEM = (
    "You are a support triage assistant. Classify the customer's ticket into exactly one intent.\n"
    "Allowed intents: " + ", ".join(LABELS) + ".\n"
    "Answer with the intent name only."
)
MODEL = "bench-model"
ANSWER = "billing"


def tickets(n, seed=8):
    rng = random.Random(seed)
    for i in range(1, n + 1):
        label = LABELS[rng.randrange(len(LABELS))]
        openers, details = PHRASES[label]
        text = "%s %s. %s" % (
            rng.choice(openers),
            rng.choice(details).format(n=rng.randrange(10000, 99999)),
            rng.choice(CLOSINGS).format(y=rng.randrange(2, 12)),
        )
        assert '"' not in text and "\\" not in text
        yield {"id": "T%06d" % i, "text": text, "label": label}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--nginx-workers", type=int, default=1)
    a = ap.parse_args()
    out = os.path.abspath(a.outdir)
    os.makedirs(out, exist_ok=True)
    base_url = "http://127.0.0.1:%d/v1" % a.port
    items = list(tickets(a.items))

    def write(name, text):
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

    write("dataset.jsonl", "".join(json.dumps(t) + "\n" for t in items))

    # evalh: everything the two harnesses share is spelled out; YAML flow style keeps it short.
    write("evalh-suite.yaml", "\n".join([
        "version: 1",
        "name: bench-vs-promptfoo",
        "task: classification",
        "dataset: {path: dataset.jsonl, id: id, expected: label}",
        "labels: " + json.dumps(LABELS),
        "prompt:",
        "  system: " + json.dumps(SYSTEM),
        '  user: "Ticket: {{ text }}"',
        "scoring: {label_extract: {mode: exact}}",
        "providers:",
        "  - id: loopback",
        "    role: baseline",
        "    kind: openai",
        "    auth: none",
        "    model: " + MODEL,
        "    base_url: " + base_url,
        "    price: {input_per_mtok: 0.15, output_per_mtok: 0.60}",
        "    params: {temperature: 0, max_tokens: 10}",
        "run: {concurrency: %d, max_retries: 0, timeout_s: 30}" % a.concurrency,
        "",
    ]))

    write("prompt.json", json.dumps([
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Ticket: {{text}}"},
    ], indent=1) + "\n")

    # promptfoo: JSON is valid YAML, so the 5,000 inline tests are written as JSON lines.
    lines = [
        "description: bench-vs-promptfoo",
        "prompts: [file://prompt.json]",
        "providers:",
        "  - id: openai:chat:" + MODEL,
        "    config:",
        "      apiBaseUrl: " + base_url,
        "      apiKey: sk-loopback-bench",
        "      temperature: 0",
        "      max_tokens: 10",
        "evaluateOptions: {maxConcurrency: %d, cache: false, showProgressBar: false}" % a.concurrency,
        "tests:",
    ]
    for t in items:
        lines.append("  - " + json.dumps({
            "vars": {"text": t["text"]},
            "assert": [{"type": "equals", "value": t["label"]}],
        }))
    write("promptfooconfig.yaml", "\n".join(lines) + "\n")

    completion = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 62, "completion_tokens": 2, "total_tokens": 64},
    }
    completion_text = json.dumps(completion, separators=(",", ":"))
    write("completion.json", completion_text + "\n")

    body = {
        "model": MODEL,
        "messages": [{"role": "system", "content": SYSTEM},
                     {"role": "user", "content": "Ticket: " + items[0]["text"]}],
        "max_tokens": 10,
        "temperature": 0,
    }
    write("body.json", json.dumps(body, separators=(",", ":")))

    # nginx: `return` discards the request body and answers from memory; no logging on the hot path.
    assert "'" not in completion_text
    write("nginx.conf", "\n".join([
        "worker_processes %d;" % a.nginx_workers,
        "pid %s/nginx.pid;" % out,
        "error_log %s/nginx-error.log warn;" % out,
        "events { worker_connections 4096; }",
        "http {",
        "  access_log off;",
        "  client_body_temp_path %s/nginx-tmp;" % out,
        "  proxy_temp_path %s/nginx-tmp;" % out,
        "  fastcgi_temp_path %s/nginx-tmp;" % out,
        "  uwsgi_temp_path %s/nginx-tmp;" % out,
        "  scgi_temp_path %s/nginx-tmp;" % out,
        "  keepalive_requests 10000000;",
        "  keepalive_timeout 120s;",
        "  client_max_body_size 1m;",
        "  client_body_buffer_size 64k;",
        "  server {",
        "    listen 127.0.0.1:%d reuseport backlog=4096;" % a.port,
        "    location = /v1/chat/completions {",
        "      default_type application/json;",
        "      return 200 '%s';" % completion_text,
        "    }",
        "    location / { return 404; }",
        "  }",
        "}",
        "",
    ]))
    os.makedirs(os.path.join(out, "nginx-tmp"), exist_ok=True)

    write("wrk-post.lua", "\n".join([
        "-- POST the body evalh sends for item 1, as JSON, on every request.",
        'local f = assert(io.open("%s/body.json", "rb"))' % out,
        'wrk.method = "POST"',
        "wrk.body = f:read(\"*a\")",
        "f:close()",
        'wrk.headers["Content-Type"] = "application/json"',
        "",
    ]))


if __name__ == "__main__":
    main()
