#!/usr/bin/env python3
"""Synthetic usage logs for `evalh audit` and `evalh dataset from-logs` (tests and benchmarks).

Writes, into OUT_DIR, one file per requested format, all from one seeded stream of requests:

  litellm.jsonl   LiteLLM_SpendLogs rows (reference/litellm.md 6.1-6.5): `metadata` and `request_tags` sometimes
                  JSON-encoded strings, the feature in `metadata.spend_logs_metadata`, in a `feature:` tag, or only
                  in the model group; failure rows; rows from before the `status` column.
  litellm.csv     the same rows as a psql CSV export (JSONB as JSON text, timestamps without zone).
  openai.jsonl    an OpenAI-style request log (reference/litellm.md 7): `usage`, `status`, the prompt's `messages`
                  and the `response`, with planted secrets and personal data in the prompts and answers.
  litellm-array.json  (with --array) the LiteLLM rows as one JSON array, as `/spend/logs` returns them.
  mapping.yaml    a mapping file (buckets, a price for the fine-tuned model) shared by all formats.
  planted.json    (openai) every planted secret / personal-data string with its kind and line.

About 0.2% of the lines are malformed on purpose (cut short, not an object, a token count that is not a number);
blank lines are sprinkled in. `--gzip` compresses every log file (`.gz`).

    python3 scripts/golden/gen_logs.py OUT_DIR --rows 1500 --seed 7 --formats litellm-jsonl,litellm-csv,openai-jsonl
"""

import argparse
import csv
import datetime as dt
import gzip
import io
import json
import os
import random

FEATURES = [
    # name, weight, models (weight), prompt prefix, typical input tokens
    ("summarize", 30, [("openai/gpt-4o", 8), ("openai/gpt-4o-2024-08-06", 2)], "Summarize the article", 1800),
    ("classify-ticket", 25, [("gpt-4o", 6), ("openai/gpt-4o-mini", 4)], "Classify the support ticket", 400),
    ("extract-invoice", 12, [("anthropic/claude-sonnet-4-5-20250929", 1)], "Extract the invoice fields", 1200),
    ("legal-review", 8, [("anthropic/claude-sonnet-4-5", 1)], "Review the contract", 6000),
    ("chat-support", 15, [("openai/gpt-4o", 5), ("gemini/gemini-2.5-flash", 3), ("my-finetune", 2)], "You are a helpful support agent", 900),
    ("translate", 6, [("deepseek-chat", 1), ("stub-model", 1)], "Translate to French", 300),
    ("batch-tagging", 4, [("openai/gpt-4.1-nano", 1)], "Tag the product", 250),
]

START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
SPAN_S = 29 * 86400 + 7 * 3600

SECRETS = {
    "email": ["jane.doe@example.com", "m.rossi+billing@corp.example.it", "ops@sub.domain.example.org"],
    "phone": ["+1 (415) 555-0132", "+44 20 7946 0958", "415-555-0199", "06 12 34 56 78"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "api_key": ["sk-proj-Ab12Cd34Ef56Gh78Ij90KlMn", "AKIAIOSFODNN7EXAMPLE", "sk-ant-api03-Zy98Xw76Vu54Ts32"],
    "bearer_token": ["Bearer eyJhbGciOi.abcDEF123456.ghiJKL789", "bearer 0123456789abcdefXYZ"],
}


def pick(rng, weighted):
    total = sum(w for _, w in weighted)
    x = rng.uniform(0, total)
    for v, w in weighted:
        x -= w
        if x <= 0:
            return v
    return weighted[-1][0]


def tokens(rng, typical):
    v = int(rng.lognormvariate(0, 0.6) * typical)
    if rng.random() < 0.001:
        v = rng.randint(70_000, 200_000)  # a rare very long prompt
    return max(1, v)


def requests(n, seed):
    rng = random.Random(seed)
    feats = [(f, f[1]) for f in FEATURES]
    for i in range(n):
        f = pick(rng, feats)
        name, _, models, prefix, typical = f
        model = pick(rng, models)
        inp = tokens(rng, typical)
        out = max(1, int(inp * rng.uniform(0.02, 0.3)))
        cached = rng.choice([0, 0, 0, int(inp * 0.5) // 128 * 128])
        t = START + dt.timedelta(seconds=rng.uniform(0, SPAN_S))
        status = "failure" if rng.random() < 0.02 else "success"
        yield {
            "i": i, "feature": name, "model": model, "input": inp, "output": out, "cached": cached,
            "time": t, "status": status, "prefix": prefix,
            "channel": rng.choices(["meta", "tag", "group"], [6, 3, 1])[0],
            "encoded_meta": rng.random() < 0.1, "encoded_tags": rng.random() < 0.1,
            "old_row": rng.random() < 0.03, "rng": rng.random(),
        }


def malformed(rng):
    return rng.choice([
        '{"request_id": "cut", "prompt_tokens": 12, "model": "gpt-4o"',
        '[1, 2, 3]',
        '"just a string"',
        '{"request_id": "x", "model": "gpt-4o", "prompt_tokens": "lots", "completion_tokens": 3}',
    ])


def litellm_row(r):
    ts = r["time"].strftime("%Y-%m-%dT%H:%M:%S.") + f"{r['time'].microsecond // 1000:03d}"
    ok = r["status"] == "success"
    meta = {
        "user_api_key": "4f2d8c9a61b0e7d35c8a1f0b2e4d6c8a",
        "usage_object": {"prompt_tokens": r["input"], "completion_tokens": r["output"],
                         "prompt_tokens_details": {"cached_tokens": r["cached"]}},
        "litellm_call_id": f"call-{r['i']}",
    }
    tags = ["app:web"]
    if r["channel"] == "meta":
        meta["spend_logs_metadata"] = {"feature": r["feature"]}
    elif r["channel"] == "tag":
        tags.append("feature:" + r["feature"])
    row = {
        "request_id": f"chatcmpl-{r['i']:08d}",
        "call_type": "acompletion",
        "api_key": "4f2d8c9a61b0e7d35c8a1f0b2e4d6c8a",
        "spend": round((r["input"] * 2.5e-6 + r["output"] * 1e-5) * (1 if ok else 0), 8),
        "total_tokens": r["input"] + r["output"],
        "prompt_tokens": r["input"],
        "completion_tokens": r["output"],
        "startTime": ts,
        "endTime": ts,
        "model": r["model"],
        "model_group": r["feature"] + "-group" if r["channel"] == "group" else "",
        "metadata": json.dumps(meta) if r["encoded_meta"] else meta,
        "request_tags": json.dumps(tags) if r["encoded_tags"] else tags,
        "cache_hit": "None",
        "messages": {},
        "response": {},
        "status": r["status"],
    }
    if r["old_row"]:
        del row["status"]
    return row


def openai_row(r, rng, planted, line):
    ts = r["time"].strftime("%Y-%m-%dT%H:%M:%S.") + f"{r['time'].microsecond // 1000:03d}Z"
    user = f"{r['prefix']}: item {r['i']}."
    answer = {"classify-ticket": rng.choice(["billing", "bug", "feature"])}.get(r["feature"], f"Answer {r['i']}.")
    if r["rng"] < 0.3:
        kind = rng.choice(sorted(SECRETS))
        s = rng.choice(SECRETS[kind])
        where = rng.choice(["user", "system"] if r["feature"] == "classify-ticket" else ["user", "system", "answer"])
        planted.append({"line": line, "kind": kind, "text": s, "where": where, "ok": r["status"] == "success"})
        if where == "user":
            user += f" Contact: {s} please."
        elif where == "answer":
            answer += f" (reach {s})"
        else:
            r = dict(r, prefix=r["prefix"] + f" [owner {s}]")
    row = {
        "ts": ts,
        "request_id": f"chatcmpl-{r['i']:08d}",
        "model": r["model"],
        "status": 200 if r["status"] == "success" else 500,
        "usage": {"prompt_tokens": r["input"], "completion_tokens": r["output"],
                  "total_tokens": r["input"] + r["output"],
                  "prompt_tokens_details": {"cached_tokens": r["cached"]}},
        "messages": [{"role": "system", "content": r["prefix"]}, {"role": "user", "content": user}],
    }
    if r["channel"] == "meta":
        row["feature"] = r["feature"]
    elif r["channel"] == "tag":
        row["tags"] = ["feature:" + r["feature"]]
    else:
        row["metadata"] = {"feature": r["feature"]}
    if r["status"] == "success":
        row["response"] = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
    return row


def csv_value(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return "" if v is None else str(v)


CSV_COLS = ["request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens", "completion_tokens",
            "startTime", "endTime", "model", "model_group", "metadata", "request_tags", "cache_hit", "status"]


def opener(path, gz):
    if gz:
        return io.TextIOWrapper(gzip.GzipFile(path + ".gz", "wb", mtime=0), encoding="utf-8", newline="")
    return open(path, "w", encoding="utf-8", newline="")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--formats", default="litellm-jsonl,litellm-csv,openai-jsonl")
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--array", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    formats = a.formats.split(",")
    noise = random.Random(a.seed + 1)
    files = {}
    if "litellm-jsonl" in formats:
        files["lj"] = opener(os.path.join(a.out, "litellm.jsonl"), a.gzip)
    if "litellm-csv" in formats:
        files["lc"] = opener(os.path.join(a.out, "litellm.csv"), a.gzip)
        writer = csv.writer(files["lc"], lineterminator="\n")
        writer.writerow(CSV_COLS)
    if "openai-jsonl" in formats:
        files["oj"] = opener(os.path.join(a.out, "openai.jsonl"), a.gzip)
    array = opener(os.path.join(a.out, "litellm-array.json"), a.gzip) if a.array else None
    if array:
        array.write("[\n")
    planted = []
    lines = {"lj": 0, "oj": 0}
    first = True
    for r in requests(a.rows, a.seed):
        bad = noise.random() < 0.002
        blank = noise.random() < 0.002
        if "lj" in files:
            row = litellm_row(r)
            if blank:
                files["lj"].write("\n")
            files["lj"].write((malformed(noise) if bad else json.dumps(row)) + "\n")
            if array:
                array.write(("" if first else ",\n") + json.dumps(row, indent=1))
                first = False
        if "lc" in files:
            row = litellm_row(r)
            cells = [csv_value(row.get(c)) for c in CSV_COLS]
            cells[7] = cells[7].replace("T", " ")
            cells[8] = cells[8].replace("T", " ")
            if bad:
                cells = cells[:5]  # a short row
            writer.writerow(cells)
        if "oj" in files:
            if blank:
                files["oj"].write("\n")
                lines["oj"] += 1
            lines["oj"] += 1
            if bad:
                files["oj"].write(malformed(noise) + "\n")
            else:
                files["oj"].write(json.dumps(openai_row(r, noise, planted, lines["oj"])) + "\n")
    for f in files.values():
        f.close()
    if array:
        array.write("\n]\n")
        array.close()
    if "oj" in files:
        with opener(os.path.join(a.out, "planted.json"), a.gzip) as f:
            json.dump(planted, f)
    with open(os.path.join(a.out, "mapping.yaml"), "w") as f:
        f.write(MAPPING)


MAPPING = """# evalh audit mapping for the synthetic logs (scripts/golden/gen_logs.py)
buckets:
  1:
    features: [legal-review]
  2:
    features: [summarize, classify-ticket, extract-invoice]
    models: ["gemini-2.5-flash*"]
  3:
    features: [batch-tagging]
    tags: ["app:batch"]
suites:
  support-tickets: classify-ticket
prices:
  my-finetune: {input_per_mtok: 3.0, output_per_mtok: 12.0}
"""

if __name__ == "__main__":
    main()
