#!/usr/bin/env python3
"""Reference audit: the totals `evalh audit` must reproduce, computed independently in plain Python.

Reads LiteLLM spend logs or OpenAI-style request logs (JSON lines or CSV, gzipped or not) with the field paths
documented in docs/decision.md, prices every row on its own at the pinned prices (the numbers of src/cost.rs, from
litellm's model_prices_and_context_window.json as recorded in shared/reference/providers.md), applies the mapping
file's buckets, and writes per (feature, bucket): requests, errors, tokens, cost, and the nearest-rank p50/p99 of
tokens per request computed by sorting every value (no histogram). Malformed rows are counted the same way evalh
defines them (not a JSON object; a token count that is not a non-negative whole number; a CSV row with the wrong
number of cells).

    python3 scripts/golden/audit_reference.py LOG... --preset litellm --mapping mapping.yaml --out ref.json
    python3 scripts/golden/audit_reference.py LOG... --preset litellm --mapping mapping.yaml --compare evalh.json

With --compare, exits 1 unless evalh's `--json` output agrees: counts exactly, costs to 1e-9 relative, p50/p99
exactly (within 1/2048 above 65,536 tokens, the documented histogram precision).
"""

import argparse
import csv
import datetime as dt
import gzip
import json
import math
import sys

import yaml

# src/cost.rs MODELS: (input, output, cached) USD per million tokens.
PRICES = {
    "gpt-4o": (2.50, 10.00, 1.25),
    "gpt-4o-mini": (0.15, 0.60, 0.075),
    "gpt-4.1": (2.00, 8.00, 0.50),
    "gpt-4.1-mini": (0.40, 1.60, 0.10),
    "gpt-4.1-nano": (0.10, 0.40, 0.025),
    "o3-mini": (1.10, 4.40, 0.55),
    "claude-3-5-haiku": (0.80, 4.00, 0.08),
    "claude-3-7-sonnet": (3.00, 15.00, 0.30),
    "claude-sonnet-4": (3.00, 15.00, 0.30),
    "claude-sonnet-4-5": (3.00, 15.00, 0.30),
    "claude-haiku-4-5": (1.00, 5.00, 0.10),
    "gemini-2.0-flash": (0.10, 0.40, 0.025),
    "gemini-2.5-flash": (0.30, 2.50, 0.03),
    "deepseek-chat": (0.28, 0.42, 0.028),
    "llama-3.1-8b-instant": (0.05, 0.08, None),
    "mistral-small-latest": (0.15, 0.60, 0.015),
}

PRESETS = {
    "litellm": {
        "timestamp": ["startTime"],
        "model": ["model"],
        "input_tokens": ["prompt_tokens"],
        "output_tokens": ["completion_tokens"],
        "cached_tokens": ["metadata.usage_object.prompt_tokens_details.cached_tokens",
                          "metadata.additional_usage_values.cache_read_input_tokens"],
        "feature": ["metadata.spend_logs_metadata.feature", "tag:feature:", "metadata.original_model_group",
                    "model_group"],
        "tags": ["request_tags"],
        "status": ["status"],
    },
    "openai": {
        "timestamp": ["ts", "timestamp", "created"],
        "model": ["model", "response.model"],
        "input_tokens": ["usage.prompt_tokens", "response.usage.prompt_tokens"],
        "output_tokens": ["usage.completion_tokens", "response.usage.completion_tokens"],
        "cached_tokens": ["usage.prompt_tokens_details.cached_tokens",
                          "response.usage.prompt_tokens_details.cached_tokens"],
        "feature": ["feature", "metadata.feature", "tag:feature:"],
        "tags": ["tags", "metadata.tags"],
        "status": ["status"],
    },
}


def norm_model(m):
    m = m.strip().lower()
    return m.rsplit("/", 1)[-1]


def strip_date(name):
    parts = name.split("-")
    if len(parts[-1]) == 8 and parts[-1].isdigit():
        return "-".join(parts[:-1])
    if len(parts) >= 4 and len(parts[-1]) == 2 and len(parts[-2]) == 2 and len(parts[-3]) == 4 \
            and all(p.isdigit() for p in parts[-3:]):
        return "-".join(parts[:-3])
    return name


def price(model, mapping_prices):
    n = norm_model(model)
    for k, p in mapping_prices.items():
        if norm_model(k) == n:
            return (p["input_per_mtok"], p["output_per_mtok"], p.get("cached_input_per_mtok"))
    if n in PRICES:
        return PRICES[n]
    return PRICES.get(strip_date(n))


def cell(v):
    v = v.strip()
    if not v:
        return None
    if v[0] in "{[":
        try:
            return json.loads(v)
        except ValueError:
            return v
    if v[0].isdigit() or v[0] == "-":
        try:
            return int(v)
        except ValueError:
            try:
                f = float(v)
                if math.isfinite(f):
                    return f
            except ValueError:
                pass
    return v


def get(row, path):
    cur = row
    for seg in path.split("."):
        if isinstance(cur, str) and cur.lstrip()[:1] in ("{", "["):
            try:
                cur = json.loads(cur)
            except ValueError:
                return None
        if isinstance(cur, dict):
            cur = cur.get(seg)
        elif isinstance(cur, list) and seg.isdigit() and int(seg) < len(cur):
            cur = cur[int(seg)]
        else:
            return None
        if cur is None:
            return None
    return cur


def as_tags(v):
    if v is None:
        return []
    if isinstance(v, str) and v.lstrip().startswith("["):
        try:
            v = json.loads(v)
        except ValueError:
            return [v]
    if isinstance(v, list):
        return [str(x).strip() for x in v if isinstance(x, (str, int, float)) and str(x).strip()]
    return [str(v)]


def first(row, sources, tags):
    for s in sources:
        if s.startswith("tag:"):
            for t in tags:
                if t.startswith(s[4:]) and len(t) > len(s) - 4:
                    return t[len(s) - 4:]
            continue
        v = get(row, s)
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        return v
    return None


def count(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if v >= 0 else None
    if isinstance(v, str):
        try:
            v = float(v.strip())
        except ValueError:
            return None
    if isinstance(v, float) and math.isfinite(v) and v >= 0 and v == int(v):
        return int(v)
    return None


def ok_status(v):
    if v is None:
        return True
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return 200 <= v < 300
    s = str(v).strip().lower()
    if s.isdigit():
        return 200 <= int(s) < 300
    return s in ("success", "succeeded", "ok", "completed", "complete", "true", "none", "")


def ts_ms(v):
    if isinstance(v, (int, float)):
        return int(v) if v > 1e11 else int(v * 1000)
    s = str(v).strip().replace("Z", "+00:00").replace(" ", "T")
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return int(t.replace(microsecond=0).timestamp()) * 1000 + t.microsecond // 1000


def rows_of(path):
    op = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    name = path[:-3] if path.endswith(".gz") else path
    with op(path, "rt", encoding="utf-8", newline="") as f:
        if name.endswith(".csv"):
            csv.field_size_limit(1 << 30)
            r = csv.reader(f)
            header = [h.strip() for h in next(r)]
            for rec in r:
                if rec == [] or (len(rec) == 1 and not rec[0].strip()):
                    continue
                if len(rec) != len(header):
                    yield None
                    continue
                yield {h: cell(c) for h, c in zip(header, rec) if cell(c) is not None}
        elif f.read(1) == "[":  # a JSON array document (LiteLLM /spend/logs)
            f.seek(0)
            for v in json.load(f):
                yield v if isinstance(v, dict) else None
        else:
            f.seek(0)
            for line in f:
                if not line.strip():
                    continue
                try:
                    v = json.loads(line)
                except ValueError:
                    yield None
                    continue
                yield v if isinstance(v, dict) else None


def bucket_of(feature, tags, model, m):
    b = m["features"].get(feature)
    if b is not None:
        return b
    hits = [m["tags"][t] for t in tags if t in m["tags"]]
    if hits:
        return min(hits)
    n = norm_model(model)
    if n in m["models"]:
        return m["models"][n]
    for p, b in sorted(m["model_prefixes"], key=lambda x: (-len(x[0]), x[1])):
        if n.startswith(p):
            return b
    return None


def load_mapping(path):
    raw = yaml.safe_load(open(path)) if path else {}
    m = {"features": {}, "tags": {}, "models": {}, "model_prefixes": [], "prices": raw.get("prices") or {}}
    for b, rules in (raw.get("buckets") or {}).items():
        for f in rules.get("features", []):
            m["features"][f] = b
        for t in rules.get("tags", []):
            m["tags"][t] = b
        for mo in rules.get("models", []):
            mo = norm_model(mo)
            if mo.endswith("*"):
                m["model_prefixes"].append((mo[:-1], b))
            else:
                m["models"][mo] = b
    return m


def nearest_rank(sorted_vals, q):
    n = len(sorted_vals)
    rank = min(max(math.ceil(q * n), 1), n)
    return sorted_vals[rank - 1]


def audit(paths, preset, mapping_path):
    spec = PRESETS[preset]
    m = load_mapping(mapping_path)
    groups = {}
    malformed = rows = 0
    span = [None, None]
    for p in paths:
        for row in rows_of(p):
            if row is None:
                malformed += 1
                continue
            tags = as_tags(first(row, spec["tags"], []))
            vals = {}
            bad = False
            for k in ("input_tokens", "output_tokens", "cached_tokens"):
                v = first(row, spec[k], tags)
                if v is None:
                    vals[k] = 0
                else:
                    c = count(v)
                    if c is None:
                        bad = True
                    vals[k] = c
            if bad:
                malformed += 1
                continue
            rows += 1
            t = first(row, spec["timestamp"], tags)
            if t is not None:
                ms = ts_ms(t)
                span = [ms if span[0] is None else min(span[0], ms), ms if span[1] is None else max(span[1], ms)]
            model = first(row, spec["model"], tags)
            model = str(model).strip() if model is not None else "(no model)"
            feature = first(row, spec["feature"], tags)
            feature = str(feature).strip() if feature is not None else "(no feature)"
            b = bucket_of(feature, tags, model, m)
            g = groups.setdefault((feature, b), {"requests": 0, "errors": 0, "input": 0, "cached": 0, "output": 0,
                                                 "cost": 0.0, "totals": []})
            inp, out = vals["input_tokens"], vals["output_tokens"]
            cached = min(vals["cached_tokens"], inp)
            g["requests"] += 1
            g["errors"] += 0 if ok_status(first(row, spec["status"], tags)) else 1
            g["input"] += inp
            g["cached"] += cached
            g["output"] += out
            g["totals"].append(inp + out)
            pr = price(model, m["prices"]) if model != "(no model)" else None
            if pr:
                cp = pr[2] if pr[2] is not None else pr[0]
                g["cost"] += ((inp - cached) * pr[0] + cached * cp + out * pr[1]) * 1e-6
    out = []
    for (f, b), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        vals = sorted(g["totals"])
        out.append({"feature": f, "bucket": b, "requests": g["requests"], "errors": g["errors"],
                    "input_tokens": g["input"], "cached_tokens": g["cached"], "output_tokens": g["output"],
                    "cost_usd": g["cost"], "p50": nearest_rank(vals, 0.5), "p99": nearest_rank(vals, 0.99)})
    return {"rows": rows, "malformed": malformed, "groups": out,
            "cost_usd": sum(g["cost_usd"] for g in out),
            "period_ms": span}


def compare(ref, ev):
    errs = []
    if ev["totals"]["requests"] != ref["rows"]:
        errs.append(f"requests {ev['totals']['requests']} != {ref['rows']}")
    if ev["malformed"] != ref["malformed"]:
        errs.append(f"malformed {ev['malformed']} != {ref['malformed']}")
    if not math.isclose(ev["totals"]["cost_usd"], ref["cost_usd"], rel_tol=1e-9):
        errs.append(f"cost {ev['totals']['cost_usd']!r} != {ref['cost_usd']!r}")
    by = {(f["feature"], f["bucket"]): f for f in ev["features"]}
    if len(by) != len(ref["groups"]):
        errs.append(f"{len(by)} groups != {len(ref['groups'])}")
    for g in ref["groups"]:
        e = by.get((g["feature"], g["bucket"]))
        if e is None:
            errs.append(f"missing group {g['feature']}/{g['bucket']}")
            continue
        for k in ("requests", "errors", "input_tokens", "cached_tokens", "output_tokens"):
            if e[k] != g[k]:
                errs.append(f"{g['feature']}/{g['bucket']} {k}: {e[k]} != {g[k]}")
        if not math.isclose(e["cost_usd"], g["cost_usd"], rel_tol=1e-9, abs_tol=1e-12):
            errs.append(f"{g['feature']}/{g['bucket']} cost: {e['cost_usd']!r} != {g['cost_usd']!r}")
        for q in ("p50", "p99"):
            got, want = e["tokens_per_request"][q], g[q]
            if want < 65536 and got != want or want >= 65536 and not (got <= want and want - got <= want / 2048):
                errs.append(f"{g['feature']}/{g['bucket']} {q}: {got} != {want}")
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
    ap.add_argument("--mapping")
    ap.add_argument("--out")
    ap.add_argument("--compare")
    a = ap.parse_args()
    ref = audit(a.logs, a.preset, a.mapping)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(ref, f, indent=1)
            f.write("\n")
    if a.compare:
        errs = compare(ref, json.load(open(a.compare)))
        for e in errs[:30]:
            print("MISMATCH", e)
        print(f"{'OK' if not errs else 'FAIL'}: {ref['rows']} rows, {ref['malformed']} malformed, "
              f"{len(ref['groups'])} groups, cost {ref['cost_usd']:.6f}")
        sys.exit(1 if errs else 0)


if __name__ == "__main__":
    main()
