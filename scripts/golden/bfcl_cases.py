#!/usr/bin/env python3
"""Hand-written BFCL-style test cases for evalh's function-call checker
(src/metrics/function_call/mod.rs).

These cases are for the default `compat: strict` mode, which deliberately
differs from BFCL (see the difference table in the module docs), so their
verdicts are written by hand from the module docs; each case names the rule it
exercises. BFCL's own verdicts, made by running its checker, are in
bfcl_agreement.json.gz (scripts/golden/bfcl_agreement.py) and checked against
`compat: bfcl`.

Data format (one JSON document):
  {"cases": [{"name", "rule", "tools": [ToolDef], "expected": [ExpectedCall],
              "actual": [ToolCall], "want": {"correct", "error",
              optional "name_correct", "args_correct", "per_function"}}]}
  ToolDef      = {"name", "description", "parameters": JSON Schema (BFCL "dict" dialect ok)}
  ExpectedCall = {"name", "arguments": {arg: [acceptable values...]}}   ("" = may be omitted)
  ToolCall     = {"name", "arguments": object | string | anything}
  error        = snake_case CallError name or null.

Deterministic; run:  python3 scripts/golden/bfcl_cases.py
Output: tests/data/golden/function_call_cases.json
"""

import json
import os

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "..",
    "tests",
    "data",
    "golden",
    "function_call_cases.json",
)

# ---------------------------------------------------------------------------
# Tool library (BFCL-like schemas; several use the BFCL "dict"/"float"/"tuple" dialect)

TOOLS = {
    "triangle": {
        "name": "calculate_triangle_area",
        "description": "Area of a triangle.",
        "parameters": {
            "type": "dict",
            "properties": {
                "base": {"type": "integer"},
                "height": {"type": "integer"},
                "unit": {"type": "string"},
            },
            "required": ["base", "height"],
        },
    },
    "spotify": {
        "name": "spotify.play",
        "description": "Play songs of an artist for a duration in minutes.",
        "parameters": {
            "type": "dict",
            "properties": {
                "artist": {"type": "string"},
                "duration": {"type": "integer"},
            },
            "required": ["artist", "duration"],
        },
    },
    "weather": {
        "name": "get_weather",
        "description": "Weather forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 14},
            },
            "required": ["city"],
        },
    },
    "currency": {
        "name": "convert_currency",
        "description": "Convert an amount between currencies.",
        "parameters": {
            "type": "dict",
            "properties": {
                "amount": {"type": "float"},
                "from_currency": {"type": "string"},
                "to_currency": {"type": "string"},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
    },
    "alarm": {
        "name": "set_alarm",
        "description": "Set an alarm.",
        "parameters": {
            "type": "dict",
            "properties": {
                "time": {"type": "string"},
                "repeat": {"type": "boolean"},
            },
            "required": ["time"],
        },
    },
    "stats": {
        "name": "compute_stats",
        "description": "Statistics of a list of numbers.",
        "parameters": {
            "type": "dict",
            "properties": {
                "numbers": {"type": "array", "items": {"type": "float"}, "maxItems": 5},
                "method": {"type": "string"},
            },
            "required": ["numbers"],
        },
    },
    "flight": {
        "name": "book_flight",
        "description": "Book a flight.",
        "parameters": {
            "type": "dict",
            "properties": {
                "passenger": {
                    "type": "dict",
                    "properties": {
                        "name": {"type": "string"},
                        "age": {"type": "integer"},
                        "seat": {"type": "string"},
                    },
                    "required": ["name"],
                },
                "dates": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["passenger", "dates"],
        },
    },
    "hotels": {
        "name": "search_hotels",
        "description": "Search hotels.",
        "parameters": {
            "type": "dict",
            "properties": {
                "location": {"type": "string"},
                "price_range": {"type": "tuple", "items": {"type": "integer"}},
                "filters": {
                    "type": "array",
                    "items": {
                        "type": "dict",
                        "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                    },
                },
                "max_results": {"type": ["integer", "null"]},
                "extra": {"type": "any"},
            },
            "required": ["location"],
        },
    },
    "time": {
        "name": "get_time",
        "description": "Current time; no arguments.",
        "parameters": {"type": "object", "properties": {}},
    },
    "news": {
        "name": "get_news",
        "description": "Headlines for a topic.",
        "parameters": {
            "type": "dict",
            "properties": {"topic": {"type": "string"}},
            "required": ["topic"],
        },
    },
}

CASES = []


def add(name, rule, tools, expected, actual, correct, error=None, **extra):
    want = {"correct": correct, "error": error}
    want.update(extra)
    CASES.append(
        {
            "name": name,
            "rule": rule,
            "tools": [TOOLS[t] for t in tools],
            "expected": [{"name": n, "arguments": a} for n, a in expected],
            "actual": [{"name": n, "arguments": a} for n, a in actual],
            "want": want,
        }
    )


TRI = "calculate_triangle_area"
TRI_EXP = [(TRI, {"base": [10], "height": [5], "unit": ["units", ""]})]

# --- simple: one function, one call ------------------------------------------------
add("simple_exact", "all args exact", ["triangle"], TRI_EXP,
    [(TRI, {"base": 10, "height": 5, "unit": "units"})], True,
    name_correct=True, args_correct=True, per_function=[[TRI, True]])
add("simple_optional_omitted", "'' marks an omittable arg", ["triangle"], TRI_EXP,
    [(TRI, {"base": 10, "height": 5})], True)
add("simple_optional_wrong_value", "optional arg given must still be acceptable", ["triangle"], TRI_EXP,
    [(TRI, {"base": 10, "height": 5, "unit": "cm"})], False, "wrong_value",
    name_correct=True, args_correct=False, per_function=[[TRI, False]])
add("simple_optional_empty_string", "passing '' matches the '' alternative (BFCL-compatible)", ["triangle"], TRI_EXP,
    [(TRI, {"base": 10, "height": 5, "unit": ""})], True)
add("missing_required_schema", "schema 'required' arg missing", ["triangle"], TRI_EXP,
    [(TRI, {"base": 10})], False, "missing_required_arg")
add("missing_expected_non_optional", "expected arg without '' must be present even if schema-optional", ["triangle"],
    [(TRI, {"base": [10], "height": [5], "unit": ["units"]})],
    [(TRI, {"base": 10, "height": 5})], False, "missing_required_arg")
add("unexpected_arg", "arg outside schema and expected", ["triangle"], TRI_EXP,
    [(TRI, {"base": 10, "height": 5, "color": "red"})], False, "unexpected_arg")
add("schema_arg_not_in_expected_accepted", "schema arg absent from expected = unconstrained", ["weather"],
    [("get_weather", {"city": ["Paris"]})],
    [("get_weather", {"city": "Paris", "days": 3})], True)
add("wrong_type_string_for_integer", "type check by schema", ["triangle"], TRI_EXP,
    [(TRI, {"base": "10", "height": 5})], False, "wrong_type")
add("float_with_zero_fraction_for_integer", "10.0 is an integer in JSON Schema; value compares by number", ["triangle"], TRI_EXP,
    [(TRI, {"base": 10.0, "height": 5})], True)
add("float_with_fraction_for_integer", "10.5 is not an integer", ["triangle"], TRI_EXP,
    [(TRI, {"base": 10.5, "height": 5})], False, "wrong_type")
add("null_for_required_integer", "null is not an integer", ["triangle"], TRI_EXP,
    [(TRI, {"base": None, "height": 5})], False, "wrong_type")

CUR = "convert_currency"
add("integer_for_float", "int accepted where number expected, equal by value", ["currency"],
    [(CUR, {"amount": [100.0], "from_currency": ["USD"], "to_currency": ["EUR"]})],
    [(CUR, {"amount": 100, "from_currency": "usd", "to_currency": "eur"})], True)
add("float_value_wrong", "number value mismatch", ["currency"],
    [(CUR, {"amount": [100.0], "from_currency": ["USD"], "to_currency": ["EUR"]})],
    [(CUR, {"amount": 100.5, "from_currency": "USD", "to_currency": "EUR"})], False, "wrong_value")
add("string_for_float", "'100' is not a number", ["currency"],
    [(CUR, {"amount": [100.0], "from_currency": ["USD"], "to_currency": ["EUR"]})],
    [(CUR, {"amount": "100", "from_currency": "USD", "to_currency": "EUR"})], False, "wrong_type")

ALARM = "set_alarm"
add("bool_correct", "booleans equal", ["alarm"],
    [(ALARM, {"time": ["07:00"], "repeat": [True]})],
    [(ALARM, {"time": "07:00", "repeat": True})], True)
add("bool_strict_string", "'true' is not a boolean", ["alarm"],
    [(ALARM, {"time": ["07:00"], "repeat": [True]})],
    [(ALARM, {"time": "07:00", "repeat": "true"})], False, "wrong_type")
add("bool_strict_integer", "1 is not a boolean", ["alarm"],
    [(ALARM, {"time": ["07:00"], "repeat": [True]})],
    [(ALARM, {"time": "07:00", "repeat": 1})], False, "wrong_type")
add("bool_wrong_value", "false != true", ["alarm"],
    [(ALARM, {"time": ["07:00"], "repeat": [True]})],
    [(ALARM, {"time": "07:00", "repeat": False})], False, "wrong_value")

W = "get_weather"
add("string_standardized_punctuation", "standardize drops ' ,./-_*^' and case", ["weather"],
    [(W, {"city": ["San Francisco, CA"], "unit": ["celsius", ""]})],
    [(W, {"city": "san francisco ca"})], True)
add("string_standardized_hyphen_case", "'NEW-YORK' == 'New York'", ["weather"],
    [(W, {"city": ["New York"]})],
    [(W, {"city": "NEW-YORK"})], True)
add("string_wrong", "different city", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, {"city": "London"})], False, "wrong_value")
add("string_not_fuzzy", "standardisation is not fuzzy matching", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, {"city": "Paris, France"})], False, "wrong_value")
add("expected_scalar_not_list", "a non-list expected value is one acceptable value", ["weather"],
    [(W, {"city": "Paris"})],
    [(W, {"city": "paris"})], True)
add("schema_invalid_enum", "AST ok but enum violated -> schema_invalid", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, {"city": "Paris", "unit": "kelvin"})], False, "schema_invalid")
add("schema_invalid_maximum", "AST ok but maximum violated -> schema_invalid", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, {"city": "Paris", "days": 30})], False, "schema_invalid")

STATS = "compute_stats"
add("list_correct_numeric_by_value", "lists element-wise; 2.0 == 2", ["stats"],
    [(STATS, {"numbers": [[1.0, 2.0, 3.5]], "method": ["mean", ""]})],
    [(STATS, {"numbers": [1, 2, 3.5]})], True)
add("list_order_matters", "lists compare in order", ["stats"],
    [(STATS, {"numbers": [[1.0, 2.0, 3.5]]})],
    [(STATS, {"numbers": [3.5, 2, 1]})], False, "wrong_value")
add("list_alternative_orders", "several acceptable lists", ["stats"],
    [(STATS, {"numbers": [[1.0, 2.0], [2.0, 1.0]]})],
    [(STATS, {"numbers": [2, 1]})], True)
add("list_item_type", "items type checked", ["stats"],
    [(STATS, {"numbers": [[1.0, 2.0]]})],
    [(STATS, {"numbers": ["1", 2]})], False, "wrong_type")
add("list_scalar_for_array", "a scalar is not an array", ["stats"],
    [(STATS, {"numbers": [[1.0]]})],
    [(STATS, {"numbers": 1.0})], False, "wrong_type")
add("list_schema_max_items", "maxItems violated by an unconstrained arg -> schema_invalid", ["stats"],
    [(STATS, {"method": ["mean"]})],
    [(STATS, {"numbers": [1, 2, 3, 4, 5, 6], "method": "mean"})], False, "schema_invalid")
add("listed_value_beats_schema", "a value the expected call lists is never rejected by the schema", ["stats"],
    [(STATS, {"numbers": [[1, 2, 3, 4, 5, 6]]})],
    [(STATS, {"numbers": [1, 2, 3, 4, 5, 6]})], True)
add("listed_value_of_other_type", "a listed value of another type than the schema's is accepted", ["triangle"],
    [(TRI, {"base": [10], "height": [5], "unit": [None, ""]})],
    [(TRI, {"base": 10, "height": 5, "unit": None})], True)
add("enum_standardised", "enum compares after standardisation", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, {"city": "Paris", "unit": "Celsius"})], True)
add("listed_value_outside_enum", "a listed value outside the enum is accepted", ["weather"],
    [(W, {"city": ["Paris"], "unit": ["kelvin"]})],
    [(W, {"city": "Paris", "unit": "Kelvin"})], True)

FL = "book_flight"
FL_EXP = [(FL, {"passenger": [{"name": ["John Doe"], "age": [30], "seat": ["window", ""]}],
                "dates": [["2024-01-05", "2024-01-12"]]})]
add("dict_correct_optional_field_omitted", "dict fields list acceptable values; '' = omittable", ["flight"], FL_EXP,
    [(FL, {"passenger": {"name": "john doe", "age": 30}, "dates": ["20240105", "2024/01/12"]})], True)
add("dict_optional_field_given", "optional dict field with acceptable value", ["flight"], FL_EXP,
    [(FL, {"passenger": {"name": "John Doe", "age": 30, "seat": "Window"}, "dates": ["2024-01-05", "2024-01-12"]})], True)
add("dict_missing_field", "non-optional dict field missing", ["flight"], FL_EXP,
    [(FL, {"passenger": {"name": "John Doe"}, "dates": ["2024-01-05", "2024-01-12"]})], False, "wrong_value")
add("dict_extra_field", "dict field the expected dict lacks", ["flight"], FL_EXP,
    [(FL, {"passenger": {"name": "John Doe", "age": 30, "meal": "veg"}, "dates": ["2024-01-05", "2024-01-12"]})],
    False, "wrong_value")
add("dict_nested_type", "nested property types are checked", ["flight"], FL_EXP,
    [(FL, {"passenger": {"name": "John Doe", "age": "30"}, "dates": ["2024-01-05", "2024-01-12"]})],
    False, "wrong_type")
add("dict_nested_value", "nested value mismatch", ["flight"], FL_EXP,
    [(FL, {"passenger": {"name": "John Doe", "age": 31}, "dates": ["2024-01-05", "2024-01-12"]})],
    False, "wrong_value")

H = "search_hotels"
H_EXP = [(H, {"location": ["Rome"], "price_range": [[100, 200]],
              "filters": [[{"key": ["stars"], "value": ["5"]}, {"key": ["pool"], "value": ["yes", "true"]}], ""],
              "max_results": ["", None, 10]})]
add("list_of_dicts_correct", "lists of dicts, tuple dialect", ["hotels"], H_EXP,
    [(H, {"location": "rome", "price_range": [100, 200],
          "filters": [{"key": "Stars", "value": "5"}, {"key": "pool", "value": "True"}]})], True)
add("list_of_dicts_wrong_order", "list of dicts compared in order", ["hotels"], H_EXP,
    [(H, {"location": "Rome", "price_range": [100, 200],
          "filters": [{"key": "pool", "value": "yes"}, {"key": "stars", "value": "5"}]})], False, "wrong_value")
add("type_union_null", "['integer','null'] accepts null", ["hotels"], H_EXP,
    [(H, {"location": "Rome", "price_range": [100, 200], "max_results": None})], True)
add("type_union_wrong", "['integer','null'] rejects a string", ["hotels"], H_EXP,
    [(H, {"location": "Rome", "price_range": [100, 200], "max_results": "ten"})], False, "wrong_type")
add("type_any", "'any' accepts anything when not constrained by expected", ["hotels"], H_EXP,
    [(H, {"location": "Rome", "price_range": [100, 200], "extra": {"k": [1, "x"]}})], True)
add("tuple_item_type", "tuple items typed integer", ["hotels"], H_EXP,
    [(H, {"location": "Rome", "price_range": [100, "200"]})], False, "wrong_type")
add("bool_never_equals_number", "true is not 1 inside compared values (Python says it is)", ["hotels"],
    [(H, {"location": ["Rome"], "extra": [[1, 0]]})],
    [(H, {"location": "Rome", "extra": [True, False]})], False, "wrong_value")
add("big_integer_exact", "integers are never rounded to a double", ["hotels"],
    [(H, {"location": ["Rome"], "max_results": [9007199254740993]})],
    [(H, {"location": "Rome", "max_results": 9007199254740992.0})], False, "wrong_value")

# --- names, tool lookup ----------------------------------------------------------------
add("wrong_name", "called another (unknown) function", ["weather"],
    [(W, {"city": ["Paris"]})],
    [("get_weather_v2", {"city": "Paris"})], False, "wrong_name",
    name_correct=False, args_correct=False, per_function=[[W, False]])
add("dotted_name_as_underscore", "'spotify.play' may be called as 'spotify_play'", ["spotify"],
    [("spotify.play", {"artist": ["Taylor Swift"], "duration": [20]})],
    [("spotify_play", {"artist": "taylor swift", "duration": 20})], True)
add("multiple_right_tool", "several tools offered, right one called", ["weather", "news", "time"],
    [("get_news", {"topic": ["science"]})],
    [("get_news", {"topic": "Science"})], True)
add("multiple_wrong_tool", "several tools offered, a wrong (existing) one called", ["weather", "news", "time"],
    [("get_news", {"topic": ["science"]})],
    [(W, {"city": "science"})], False, "wrong_name")
add("no_tool_definition", "without a tool def only the expected call constrains", [],
    [("lookup", {"id": [7]})],
    [("lookup", {"id": 7})], True)
add("no_tool_definition_extra_arg", "without a tool def, args outside expected are unexpected", [],
    [("lookup", {"id": [7]})],
    [("lookup", {"id": 7, "verbose": True})], False, "unexpected_arg")

# --- argument payloads ------------------------------------------------------------------
add("args_json_string", "OpenAI wire format: arguments as a JSON string", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, "{\"city\": \"Paris\"}")], True)
add("args_unparseable_string", "non-JSON argument string", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, "{city: Paris")], False, "unparseable_arguments",
    per_function=[[W, False]])
add("args_array", "arguments must be an object", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, ["Paris"])], False, "unparseable_arguments")
add("args_json_string_not_object", "a JSON string holding an array is not an object", ["weather"],
    [(W, {"city": ["Paris"]})],
    [(W, "[\"Paris\"]")], False, "unparseable_arguments")
add("args_null_for_no_arg_function", "null arguments = {}", ["time"],
    [("get_time", {})],
    [("get_time", None)], True)
add("args_empty_string_for_no_arg_function", "'' arguments = {}", ["time"],
    [("get_time", {})],
    [("get_time", "")], True)

# --- irrelevance / abstention -----------------------------------------------------------------
add("irrelevance_abstains", "no call expected, none made", ["weather"], [], [], True,
    name_correct=True, args_correct=True, per_function=[])
add("irrelevance_calls", "no call expected, one made", ["weather"], [],
    [(W, {"city": "Paris"})], False, "wrong_call_on_irrelevance")
add("irrelevance_unparseable_call", "fix for BFCL #1362: an unparseable call is not an abstention", ["weather"], [],
    [(W, "{not json")], False, "wrong_call_on_irrelevance")
add("abstained", "call expected, none made", ["weather"],
    [(W, {"city": ["Paris"]})], [], False, "abstained",
    name_correct=False, args_correct=False, per_function=[[W, False]])

# --- parallel (same function, several calls) --------------------------------------------
SP = "spotify.play"
SP_EXP = [(SP, {"artist": ["Taylor Swift"], "duration": [20]}), (SP, {"artist": ["Maroon 5"], "duration": [15]})]
add("parallel_in_order", "parallel calls in expected order", ["spotify"], SP_EXP,
    [(SP, {"artist": "Taylor Swift", "duration": 20}), (SP, {"artist": "Maroon 5", "duration": 15})], True)
add("parallel_reversed", "order does not matter", ["spotify"], SP_EXP,
    [(SP, {"artist": "Maroon 5", "duration": 15}), (SP, {"artist": "Taylor Swift", "duration": 20})], True,
    per_function=[[SP, True], [SP, True]])
add("parallel_greedy_fails", "greedy first-match fails, optimal matching succeeds", ["triangle"],
    [(TRI, {"base": [10, 20], "height": [5]}), (TRI, {"base": [10], "height": [5]})],
    [(TRI, {"base": 10, "height": 5}), (TRI, {"base": 20, "height": 5})], True,
    per_function=[[TRI, True], [TRI, True]])
add("parallel_greedy_fails_three", "3-way chain where greedy leaves one expected call unmatched", ["triangle"],
    [(TRI, {"base": [1, 2, 3], "height": [1]}), (TRI, {"base": [1, 2], "height": [1]}), (TRI, {"base": [1], "height": [1]})],
    [(TRI, {"base": 1, "height": 1}), (TRI, {"base": 2, "height": 1}), (TRI, {"base": 3, "height": 1})], True)
add("parallel_fewer_calls", "wrong count; per_function shows which matched", ["spotify"], SP_EXP,
    [(SP, {"artist": "Maroon 5", "duration": 15})], False, "wrong_count",
    name_correct=False, args_correct=False, per_function=[[SP, False], [SP, True]])
add("parallel_extra_call", "wrong count with all expected calls matched", ["spotify"], SP_EXP,
    [(SP, {"artist": "Taylor Swift", "duration": 20}), (SP, {"artist": "Maroon 5", "duration": 15}),
     (SP, {"artist": "Adele", "duration": 10})], False, "wrong_count",
    name_correct=False, args_correct=True, per_function=[[SP, True], [SP, True]])
add("parallel_one_wrong_value", "one call has a wrong value", ["spotify"], SP_EXP,
    [(SP, {"artist": "Taylor Swift", "duration": 25}), (SP, {"artist": "Maroon 5", "duration": 15})],
    False, "wrong_value", name_correct=True, args_correct=False, per_function=[[SP, False], [SP, True]])
add("parallel_duplicate_call", "the same call twice cannot cover two expected calls", ["spotify"], SP_EXP,
    [(SP, {"artist": "Taylor Swift", "duration": 20}), (SP, {"artist": "Taylor Swift", "duration": 20})],
    False, "wrong_value", per_function=[[SP, True], [SP, False]])
add("parallel_one_unparseable", "an unparseable call in a parallel set", ["spotify"], SP_EXP,
    [(SP, {"artist": "Taylor Swift", "duration": 20}), (SP, "{\"artist\": \"Maroon 5\", ")],
    False, "unparseable_arguments", per_function=[[SP, True], [SP, False]])

# --- parallel multiple (several functions) ------------------------------------------------
add("parallel_multiple_reversed", "different functions, any order", ["weather", "spotify"],
    [(W, {"city": ["Paris"], "unit": ["celsius", ""]}), (SP, {"artist": ["Adele"], "duration": [10]})],
    [(SP, {"artist": "Adele", "duration": 10}), (W, {"city": "Paris", "unit": "celsius"})], True,
    per_function=[[W, True], [SP, True]])
add("parallel_multiple_wrong_name", "one of the functions is wrong", ["weather", "spotify", "news"],
    [(W, {"city": ["Paris"]}), (SP, {"artist": ["Adele"], "duration": [10]})],
    [(SP, {"artist": "Adele", "duration": 10}), ("get_news", {"topic": "Paris"})], False, "wrong_name",
    name_correct=False, per_function=[[W, False], [SP, True]])
add("parallel_multiple_missing_arg", "names right, one call misses a required arg", ["weather", "spotify"],
    [(W, {"city": ["Paris"]}), (SP, {"artist": ["Adele"], "duration": [10]})],
    [(W, {"city": "Paris"}), (SP, {"artist": "Adele"})], False, "missing_required_arg",
    name_correct=True, args_correct=False, per_function=[[W, True], [SP, False]])


def main():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {
        "generator": "scripts/golden/bfcl_cases.py",
        "reference": "BFCL AST checker semantics (hand-written verdicts; see module docs of src/score/function_call.rs)",
        "cases": CASES,
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    print(f"wrote {len(CASES)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
