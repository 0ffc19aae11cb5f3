#!/usr/bin/env python3
"""Golden vectors for evalh's BFCL compatibility mode, made by running BFCL's own
checker (the `bfcl-eval` package from PyPI) on cases derived from BFCL's own data.

What runs: for every entry of BFCL v4's simple_python, multiple, parallel,
parallel_multiple and irrelevance categories and their live_ versions (the data
ships inside the package), this script builds model outputs in the OpenAI
function-calling format (a list of `{name: arguments-JSON-string}`), and asks
BFCL's evaluation pipeline for the verdict, exactly as `bfcl evaluate` does for an
FC model: `eval_runner._evaluate_single_ast_entry` (decode with the model
handler's `decode_ast`, format check, `ast_checker`) and
`eval_runner._evaluate_single_relevance_entry` for the irrelevance categories.
Nothing of BFCL is copied or patched; the model handler is the one BFCL uses for
`MODEL` (an OpenAI FC model, whose names BFCL expects with `.` replaced by `_`).
No request is sent: the OpenAI client the handler builds is never used, but it
refuses to be built without some key, so a placeholder is set if none is.

Model outputs per entry (each tagged with a `class`; see CLASSES below): the
answer key's own values (every listed alternative, optional parameters omitted
or given), wrong values, wrong types, extra and missing parameters, wrong and
dotted names, string case/punctuation variants (also of enum members), integral
floats, bool/int swaps, ints inside float arrays, nested strings, empty and
undecodable argument strings, reordered/missing/extra parallel calls, calls on
irrelevance items; plus hand-made entries for big integers and greedy-pairing
traps. Each case records BFCL's `valid` and `error_type`, and `greedy_trap` when
BFCL rejects a parallel answer that an optimal pairing of its own per-call
verdicts would accept (BFCL's known first-match bug, which evalh does not copy).

The committed file is a deterministic sample (every class of every category is
kept up to CAP cases; classes are never dropped) and every entry with an answer
key (evalh's strict-mode property test builds calls from them), with tool
descriptions stripped (the checker never reads them) and identical tool lists
stored once.

Setup (once), then run from the repository root:
    python3 -m venv /tmp/bfcl-venv
    /tmp/bfcl-venv/bin/pip install bfcl-eval==2026.3.23
    /tmp/bfcl-venv/bin/python scripts/golden/bfcl_agreement.py
The full install pulls heavy optional dependencies (torch via
sentence-transformers); importing the checker does not need them, so
`pip install --no-deps bfcl-eval==2026.3.23` plus the packages its handler
modules import (openai, anthropic, cohere, mistralai, google-genai, writer-sdk,
qwen-agent and its imports, tree_sitter==0.21.3, tree-sitter-java==0.21.0,
tree-sitter-javascript==0.21.4, boto3, ...) is enough.

Output: tests/data/golden/bfcl_agreement.json.gz (BFCL_GOLDEN_OUT=path and
BFCL_GOLDEN_CAP=n write another sample, e.g. every case with a huge n; the Rust
tests read EVALH_BFCL_GOLDEN=path instead of the committed file when set)
  {"generator", "reference", "model", "counts": {...},
   "tools": [[ToolDef...]...],                      tool lists, stored once
   "entries": [{"id", "category", "tools": i, "expected": [ExpectedCall]}],
   "cases": [{"e": entry index, "class", "actual": [ToolCall] | "text",
              "valid", "error_type", "greedy_trap"?}]}
  ExpectedCall = {"name", "arguments": {param: [acceptable values]}} (BFCL's answer)
  ToolCall     = {"name", "arguments": the JSON text the model sent}
  "actual" is a plain string when the model answered with text and no call.
"""

import copy
import importlib.metadata
import gzip
import json
import os
import random
import sys
from collections import Counter, defaultdict

os.environ.setdefault("OPENAI_API_KEY", "placeholder-no-request-is-sent")

from bfcl_eval.constants.enums import Language, ReturnFormat  # noqa: E402
from bfcl_eval.eval_checker import eval_runner  # noqa: E402
from bfcl_eval.eval_checker.ast_eval import ast_checker as bfcl_ast  # noqa: E402
from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry  # noqa: E402

MODEL = "gpt-4.1-2025-04-14-FC"
CATEGORIES = [
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_irrelevance",
]
CAP = int(os.environ.get("BFCL_GOLDEN_CAP", "40"))  # committed cases per (category, class) at most
SEED = 20240613
OUT = os.environ.get("BFCL_GOLDEN_OUT") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "golden", "bfcl_agreement.json.gz"
)

# Classes that give way to a more specific one when two variants produce the same output.
GENERIC = ("correct", "alternative", "answer_param_absent_from_schema")
HANDLER = eval_runner.get_handler(MODEL)
PY_TYPES = bfcl_ast.PYTHON_TYPE_MAPPING
NONE = object()


# ---------------------------------------------------------------------------
# BFCL verdicts


def bfcl_verdict(entry, gt, category, model_result):
    """BFCL's verdict on one model result (FC format), via its evaluation pipeline."""
    prompt = {"id": entry["id"], "function": copy.deepcopy(entry["function"])}
    if "irrelevance" in category:
        r = eval_runner._evaluate_single_relevance_entry(
            HANDLER, entry["id"], copy.deepcopy(model_result), prompt, MODEL, category
        )
    else:
        r = eval_runner._evaluate_single_ast_entry(
            HANDLER,
            entry["id"],
            copy.deepcopy(model_result),
            copy.deepcopy(gt),
            prompt,
            MODEL,
            category,
            language=Language.PYTHON,
            return_format=ReturnFormat.PYTHON,
            has_tool_call_tag=False,
        )
    return bool(r["valid"]), (None if r["valid"] else r["error_type"])


def greedy_trap(entry, gt, model_result):
    """True if an optimal one-to-one pairing of BFCL's own per-call verdicts
    accepts a parallel answer (BFCL pairs greedily, first match first)."""
    try:
        calls = [{k: json.loads(v)} for c in model_result for k, v in c.items()]
    except Exception:
        return False
    if len(calls) != len(gt) or len(gt) < 2:
        return False
    ok = []
    for g in gt:
        desc = bfcl_ast.find_description(entry["function"], list(g.keys())[0])
        row = []
        for c in calls:
            try:
                r = bfcl_ast.simple_function_checker(
                    copy.deepcopy(desc), copy.deepcopy(c), copy.deepcopy(g), Language.PYTHON, MODEL
                )
                row.append(bool(r["valid"]))
            except Exception:
                row.append(False)
        ok.append(row)
    match = [None] * len(calls)

    def augment(i, seen):
        for j in range(len(calls)):
            if ok[i][j] and not seen[j]:
                seen[j] = True
                if match[j] is None or augment(match[j], seen):
                    match[j] = i
                    return True
        return False

    return all(augment(i, [False] * len(calls)) for i in range(len(gt)))


# ---------------------------------------------------------------------------
# Building model outputs


def fc_name(name):
    return name.replace(".", "_")


def first(alts):
    if not isinstance(alts, list):
        return alts
    for a in alts:
        if a != "":
            return a
    return NONE


def concrete(v, schema):
    """A concrete model value for an answer value: dict patterns (field -> alternatives)
    become dicts of first alternatives; lists of dict patterns likewise."""
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(v, dict):
        props = schema.get("properties", {}) if isinstance(schema.get("properties"), dict) else {}
        out = {}
        for k, alts in v.items():
            fv = first(alts)
            if fv is not NONE:
                out[k] = concrete(fv, props.get(k))
        return out
    if isinstance(v, list) and schema.get("type") in ("array", "tuple"):
        items = schema.get("items", {})
        if isinstance(items, dict) and items.get("type") == "dict":
            return [concrete(x, items) if isinstance(x, dict) else x for x in v]
    return v


def dummy(schema):
    """A type-correct value for a schema parameter the answer does not mention."""
    if isinstance(schema, dict) and "default" in schema and schema["default"] not in (None, ""):
        return schema["default"]
    if isinstance(schema, dict) and isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    t = schema.get("type") if isinstance(schema, dict) else None
    return {
        "string": "something",
        "integer": 7,
        "float": 2.5,
        "boolean": True,
        "array": [],
        "tuple": [],
        "dict": {},
        "any": "something",
    }.get(t, "something")


def args_json(args):
    return json.dumps(args, ensure_ascii=False)


def string_variants(s):
    out = []
    if s.upper() != s:
        out.append(s.upper())
    if s.title() != s and s.title() != s.upper():
        out.append(s.title())
    if " " in s:
        out.append(s.replace(" ", "-"))
        out.append(s.replace(" ", "_").lower())
    return out


def upper_strings(v, depth):
    """Upper-case strings `depth` levels inside lists / dict values (depth 0 = v itself)."""
    if depth == 0:
        return v.upper() if isinstance(v, str) else v
    if isinstance(v, list):
        return [upper_strings(x, depth - 1) for x in v]
    if isinstance(v, dict):
        return {k: upper_strings(x, depth - 1) for k, x in v.items()}
    return v


def has_strings_at(v, depth):
    if depth == 0:
        return isinstance(v, str) and v.upper() != v
    if isinstance(v, list):
        return any(has_strings_at(x, depth - 1) for x in v)
    if isinstance(v, dict):
        return any(has_strings_at(x, depth - 1) for x in v.values())
    return False


def value_variants(param, alts, schema):
    """(class, value) variants of one parameter's value."""
    schema = schema if isinstance(schema, dict) else {}
    t = schema.get("type")
    alts = alts if isinstance(alts, list) else [alts]
    out = []
    py = PY_TYPES.get(t) if isinstance(t, str) else None
    ans_type = bfcl_ast.get_possible_answer_type(alts)
    overridden = ans_type is not None and py is not None and ans_type != py
    enum = schema.get("enum") if isinstance(schema.get("enum"), list) else None
    for a in alts:
        if a == "":
            out.append(("empty_string_value", ""))
            continue
        if overridden:
            cls = "answer_type_overrides_schema"
        elif enum and a not in enum:
            cls = "answer_value_outside_enum"
        else:
            cls = "alternative"
        out.append((cls, concrete(a, schema)))
    v = first(alts)
    if v is NONE:
        return out
    v = concrete(v, schema)
    if overridden:
        # BFCL treats such a value as a "variable": compared exactly, not standardised
        if isinstance(v, str):
            out.extend(("answer_type_overrides_schema", s) for s in string_variants(v)[:1])
        out.append(("answer_type_overrides_schema", 1 if not isinstance(v, int) else "1"))
        return out
    if isinstance(v, bool):
        out.append(("wrong_value", not v))
        out.append(("bool_strictness", int(v)))
        out.append(("bool_strictness", "true" if v else "false"))
    elif isinstance(v, int):
        out.append(("wrong_value", v + 1))
        out.append(("integral_float", float(v)))
        out.append(("wrong_type", str(v)))
        if v in (0, 1):
            out.append(("bool_strictness", bool(v)))
    elif isinstance(v, float):
        out.append(("wrong_value", v + 0.5))
        out.append(("wrong_type", str(v)))
        if v.is_integer() and abs(v) < 2**53:
            out.append(("int_for_float", int(v)))
    elif isinstance(v, str):
        cls = "enum_standardisation" if enum else "string_standardisation"
        for s in string_variants(v):
            out.append((cls, s))
        if enum:
            for m in enum[:3]:
                if isinstance(m, str) and m != v:
                    out.append(("enum_member_not_in_answer", m))
                    out.append(("enum_standardisation", m.upper()))
                    break
        out.append(("wrong_value", v + " extra"))
        out.append(("wrong_type", 1))
    elif v is None:
        out.append(("null_value", "null"))
    elif isinstance(v, list):
        if v and all(isinstance(x, float) and x.is_integer() and abs(x) < 2**53 for x in v):
            out.append(("ints_in_float_array", [int(x) for x in v]))
        if v and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            out.append(("floats_in_int_array", [float(x) for x in v]))
        if has_strings_at(v, 1):
            out.append(("list_string_standardisation", upper_strings(v, 1)))
        for d in (2, 3):
            if has_strings_at(v, d):
                out.append(("nested_string_standardisation", upper_strings(v, d)))
        if len(v) > 1 and list(reversed(v)) != v:
            out.append(("wrong_value", list(reversed(v))))
        out.append(("wrong_value", v + v[:1] if v else ["x"]))
        out.append(("wrong_type", "[]" if not v else json.dumps(v)))
    elif isinstance(v, dict):
        if has_strings_at(v, 1):
            out.append(("dict_string_standardisation", upper_strings(v, 1)))
        for d in (2, 3):
            if has_strings_at(v, d):
                out.append(("nested_string_standardisation", upper_strings(v, d)))
        if v:
            k0 = next(iter(v))
            out.append(("dict_missing_field", {k: x for k, x in v.items() if k != k0}))
        out.append(("dict_extra_field", {**v, "zz_extra": 1}))
        out.append(("wrong_type", "dict"))
    return out


def base_args(g, props, full):
    args = {}
    for p, alts in g.items():
        alts_l = alts if isinstance(alts, list) else [alts]
        if not full and "" in alts_l:
            continue
        v = first(alts_l)
        if v is not NONE:
            args[p] = concrete(v, props.get(p))
    return args


def call_variants(entry, g_name, g_args):
    """(class, [name, args-or-raw-string]) variants of one expected call."""
    desc = bfcl_ast.find_description(entry["function"], g_name) or {}
    params = desc.get("parameters", {}) if isinstance(desc, dict) else {}
    props = params.get("properties", {}) or {}
    required = params.get("required", []) or []
    name = fc_name(g_name)
    lo = base_args(g_args, props, False)
    hi = base_args(g_args, props, True)
    absent_from_schema = [p for p in g_args if p not in props]
    ok_cls = "answer_param_absent_from_schema" if absent_from_schema else "correct"
    out = [(ok_cls, (name, lo))]
    if hi != lo:
        out.append((ok_cls, (name, hi)))
    for p, alts in g_args.items():
        for cls, v in value_variants(p, alts, props.get(p)):
            out.append((cls, (name, {**hi, p: v})))
        if p in hi:
            dropped = {k: x for k, x in hi.items() if k != p}
            if p in required:
                cls = "missing_required"
            elif "" in (alts if isinstance(alts, list) else [alts]):
                cls = "omitted_optional"
            else:
                cls = "missing_answer_param"
            out.append((cls, (name, dropped)))
    for p, s in props.items():
        if p not in g_args:
            out.append(("schema_param_absent_from_answer", (name, {**hi, p: dummy(s)})))
    out.append(("extra_param", (name, {**hi, "zz_unknown": 1})))
    out.append(("wrong_name", (name + "_v2", hi)))
    if "." in g_name:
        out.append(("dotted_name", (g_name, hi)))
    out.append(("empty_string_arguments", (name, "")))
    out.append(("empty_object_arguments", (name, "{}")))
    key = next(iter(hi), "x")
    out.append(("undecodable_arguments", (name, '{"%s": ' % key)))
    out.append(("non_object_arguments", (name, "[1]")))
    out.append(("non_object_arguments", (name, "null")))
    return out


def encode(call):
    name, args = call
    return {name: args if isinstance(args, str) else args_json(args)}


def ast_cases(entry, gt):
    """(class, model_result) for an entry with an answer key."""
    expected = [(list(g.keys())[0], list(g.values())[0]) for g in gt]
    base = []
    for g_name, g_args in expected:
        desc = bfcl_ast.find_description(entry["function"], g_name) or {}
        props = desc.get("parameters", {}).get("properties", {}) if isinstance(desc, dict) else {}
        base.append((fc_name(g_name), base_args(g_args, props, False)))
    out = []
    for k, (g_name, g_args) in enumerate(expected):
        for cls, call in call_variants(entry, g_name, g_args):
            calls = list(base)
            calls[k] = call
            out.append((cls, [encode(c) for c in calls]))
    out.append(("abstained", "I cannot help with that."))
    out.append(("no_calls_list", []))
    if len(base) > 1:
        out.append(("parallel_reordered", [encode(c) for c in reversed(base)]))
        out.append(("parallel_rotated", [encode(c) for c in base[1:] + base[:1]]))
        out.append(("parallel_missing_call", [encode(c) for c in base[:-1]]))
        out.append(("parallel_duplicate_call", [encode(c) for c in [base[0]] + base[:-1]]))
    out.append(("extra_call", [encode(c) for c in base + base[:1]]))
    others = [f for f in entry["function"] if f["name"] not in {n for n, _ in expected}]
    if others:
        f = others[0]
        props = f.get("parameters", {}).get("properties", {})
        req = f.get("parameters", {}).get("required", [])
        call = (fc_name(f["name"]), {p: dummy(props.get(p)) for p in req})
        out.append(("wrong_function", [encode(call)] + [encode(c) for c in base[1:]]))
    return out


def irrelevance_cases(entry):
    out = [("abstained", "None of the functions fits."), ("no_calls_list", [])]
    for f in entry["function"][:2]:
        props = f.get("parameters", {}).get("properties", {})
        req = f.get("parameters", {}).get("required", [])
        name = fc_name(f["name"])
        args = {p: dummy(props.get(p)) for p in req}
        out.append(("call_on_irrelevance", [{name: args_json(args)}]))
        out.append(("call_on_irrelevance_empty_object", [{name: "{}"}]))
        out.append(("undecodable_on_irrelevance", [{name: '{"x": '}]))
        out.append(("empty_string_arguments_on_irrelevance", [{name: ""}]))
        out.append(("non_object_arguments_on_irrelevance", [{name: "[1]"}]))
        if "." in f["name"]:
            out.append(("dotted_name_on_irrelevance", [{f["name"]: args_json(args)}]))
    return out


# ---------------------------------------------------------------------------
# Hand-made entries: big integers, greedy-pairing traps


def handmade():
    """(entry, gt, category, [(class, model_result)])."""
    out = []
    big = 2**53 + 1  # 9007199254740993
    u64 = 2**64 - 1
    tools = [
        {
            "name": "store.put",
            "description": "",
            "parameters": {
                "type": "dict",
                "properties": {
                    "key": {"type": "integer"},
                    "weight": {"type": "float"},
                    "ids": {"type": "array", "items": {"type": "integer"}},
                    "values": {"type": "array", "items": {"type": "float"}},
                    "blob": {"type": "any"},
                },
                "required": ["key"],
            },
        }
    ]
    gt = [
        {
            "store.put": {
                "key": [big],
                "weight": [big, ""],
                "ids": [[big, u64], ""],
                "values": [[big], ""],
                "blob": [u64, ""],
            }
        }
    ]
    raw = [
        ('{"key": 9007199254740993}', True),
        ('{"key": 9007199254740992}', False),
        ('{"key": 9007199254740993.0}', False),
        ('{"key": 9007199254740992.0}', False),
        ('{"key": 9007199254740993, "weight": 9007199254740993}', False),
        ('{"key": 9007199254740993, "weight": 9007199254740992.0}', False),
        ('{"key": 9007199254740993, "ids": [9007199254740993, 18446744073709551615]}', True),
        ('{"key": 9007199254740993, "ids": [9007199254740992, 18446744073709551615]}', False),
        ('{"key": 9007199254740993, "ids": [9007199254740993, 18446744073709551614]}', False),
        ('{"key": 9007199254740993, "ids": [9007199254740993.0, 18446744073709551615]}', False),
        ('{"key": 9007199254740993, "values": [9007199254740993]}', True),
        ('{"key": 9007199254740993, "values": [9007199254740992.0]}', False),
        ('{"key": 9007199254740993, "values": [9007199254740994.0]}', False),
        ('{"key": 9007199254740993, "blob": 18446744073709551615}', True),
        ('{"key": 9007199254740993, "blob": 18446744073709551614}', False),
        ('{"key": 9007199254740993, "blob": 18446744073709551615.0}', False),
        ('{"key": 9007199254740993, "blob": "18446744073709551615"}', False),
    ]
    entry = {"id": "simple_python_handmade_bigint", "function": tools}
    out.append((entry, gt, "simple_python", [("big_integer", [{"store_put": r}]) for r, _ in raw]))

    f_tools = [
        {
            "name": "set_timer",
            "description": "",
            "parameters": {
                "type": "dict",
                "properties": {"minutes": {"type": "integer"}, "label": {"type": "string"}},
                "required": ["minutes"],
            },
        }
    ]
    gt2 = [
        {"set_timer": {"minutes": [5, 10], "label": ["tea", ""]}},
        {"set_timer": {"minutes": [5], "label": ["eggs", "tea", ""]}},
    ]
    entry2 = {"id": "parallel_handmade_greedy", "function": f_tools}
    cases2 = [
        ("greedy_pairing", [{"set_timer": '{"minutes": 5, "label": "tea"}'}, {"set_timer": '{"minutes": 10}'}]),
        ("greedy_pairing", [{"set_timer": '{"minutes": 5}'}, {"set_timer": '{"minutes": 10}'}]),
        ("greedy_pairing", [{"set_timer": '{"minutes": 10}'}, {"set_timer": '{"minutes": 5}'}]),
        ("greedy_pairing", [{"set_timer": '{"minutes": 5}'}, {"set_timer": '{"minutes": 5}'}]),
    ]
    out.append((entry2, gt2, "parallel", cases2))
    gt3 = [
        {"set_timer": {"minutes": [1, 2, 3]}},
        {"set_timer": {"minutes": [1, 2]}},
        {"set_timer": {"minutes": [1]}},
    ]
    entry3 = {"id": "parallel_handmade_greedy3", "function": f_tools}
    perms = [(1, 2, 3), (3, 2, 1), (2, 1, 3), (1, 1, 2)]
    cases3 = [("greedy_pairing", [{"set_timer": json.dumps({"minutes": m})} for m in p]) for p in perms]
    out.append((entry3, gt3, "parallel", cases3))
    return out


# ---------------------------------------------------------------------------
# Output


def strip_descriptions(schema):
    """Drop `description` keys of schema nodes (never property names)."""
    if isinstance(schema, dict):
        out = {}
        for k, v in schema.items():
            if k == "description":
                continue
            if k == "properties" and isinstance(v, dict):
                out[k] = {p: strip_descriptions(s) for p, s in v.items()}
            else:
                out[k] = strip_descriptions(v)
        return out
    if isinstance(schema, list):
        return [strip_descriptions(x) for x in schema]
    return schema


def to_actual(model_result):
    if isinstance(model_result, str):
        return model_result
    return [{"name": list(c.keys())[0], "arguments": list(c.values())[0]} for c in model_result]


def main():
    rng = random.Random(SEED)
    work = []  # (entry, gt, category, cases)
    for cat in CATEGORIES:
        entries = load_dataset_entry(cat, include_prereq=False, include_language_specific_hint=False)
        if "irrelevance" in cat:
            for e in entries:
                work.append((e, [], cat, irrelevance_cases(e)))
        else:
            gts = {g["id"]: g["ground_truth"] for g in load_ground_truth_entry(cat)}
            for e in entries:
                work.append((e, gts[e["id"]], cat, ast_cases(e, gts[e["id"]])))
    work.extend(handmade())

    tool_index = {}
    tools_out = []
    entries_out = []
    by_bucket = defaultdict(list)
    counts = Counter()
    crashes = Counter()
    for entry, gt, cat, cases in work:
        tools = [
            {"name": f["name"], "parameters": strip_descriptions(f.get("parameters", {}))}
            for f in entry["function"]
        ]
        key = json.dumps(tools, sort_keys=True)
        if key not in tool_index:
            tool_index[key] = len(tools_out)
            tools_out.append(tools)
        e_idx = len(entries_out)
        entries_out.append(
            {
                "id": entry["id"],
                "category": cat,
                "tools": tool_index[key],
                "expected": [
                    {"name": list(g.keys())[0], "arguments": list(g.values())[0]} for g in gt
                ],
            }
        )
        # One case per distinct model output; it keeps the most specific class it was made for.
        unique = {}
        for cls, model_result in cases:
            sig = json.dumps(model_result, sort_keys=True)
            if sig not in unique or unique[sig][0] in GENERIC:
                unique[sig] = (cls, model_result)
        for cls, model_result in unique.values():
            try:
                valid, err = bfcl_verdict(entry, gt, cat, model_result)
            except Exception as ex:  # BFCL itself crashes on this input: not a verdict
                crashes[(cat, cls, type(ex).__name__)] += 1
                continue
            case = {"e": e_idx, "class": cls, "actual": to_actual(model_result), "valid": valid, "error_type": err}
            if not valid and "parallel" in cat and isinstance(model_result, list) and greedy_trap(entry, gt, model_result):
                case["greedy_trap"] = True
                case["class"] = "greedy_pairing"
            counts[(cat, case["class"], valid)] += 1
            by_bucket[(cat, case["class"])].append(case)

    cases_out = []
    for bucket in sorted(by_bucket):
        cs = by_bucket[bucket]
        if len(cs) > CAP and bucket[1] not in ("greedy_pairing", "big_integer"):
            # keep both verdicts represented: sample valid and invalid separately
            valid = [c for c in cs if c["valid"]]
            invalid = [c for c in cs if not c["valid"]]
            k_valid = min(len(valid), max(CAP // 2, CAP - len(invalid)))
            k_invalid = min(len(invalid), CAP - k_valid)
            cs = rng.sample(valid, k_valid) + rng.sample(invalid, k_invalid)
            cs.sort(key=lambda c: (c["e"], json.dumps(c["actual"], sort_keys=True)))
        cases_out.extend(cs)

    # Every entry with an answer key stays (the strict-mode property test builds calls from all of them);
    # irrelevance entries only where a committed case uses them.
    used = sorted({c["e"] for c in cases_out} | {i for i, e in enumerate(entries_out) if e["expected"]})
    remap = {old: new for new, old in enumerate(used)}
    entries_kept = [entries_out[i] for i in used]
    used_tools = sorted({e["tools"] for e in entries_kept})
    tremap = {old: new for new, old in enumerate(used_tools)}
    for e in entries_kept:
        e["tools"] = tremap[e["tools"]]
    for c in cases_out:
        c["e"] = remap[c["e"]]

    summary = defaultdict(lambda: [0, 0])
    for (cat, cls, valid), n in counts.items():
        summary[f"{cat}/{cls}"][0 if valid else 1] += n
    doc = {
        "generator": "scripts/golden/bfcl_agreement.py",
        "reference": f"bfcl-eval {importlib.metadata.version('bfcl-eval')} (eval_runner + ast_checker, unchanged)",
        "model": MODEL,
        "counts": {
            "generated": sum(counts.values()),
            "committed": len(cases_out),
            "bfcl_crashed_skipped": sum(crashes.values()),
            "by_category_class_valid_invalid": dict(sorted(summary.items())),
        },
        "tools": [tools_out[i] for i in used_tools],
        "entries": entries_kept,
        "cases": cases_out,
    }
    # Gzipped (mtime 0, no name: byte-identical on every run), so the committed file stays small.
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(OUT, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:
            fh.write(text.encode("utf-8"))
    print(f"generated {sum(counts.values())} cases, committed {len(cases_out)} "
          f"({len(entries_kept)} entries, {len(used_tools)} tool lists) to {os.path.normpath(OUT)}")
    if crashes:
        print("BFCL raised on (skipped):", dict(crashes), file=sys.stderr)


if __name__ == "__main__":
    main()
