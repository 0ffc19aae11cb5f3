//! `evalh metrics classification` against golden vectors generated with scikit-learn 1.9.1
//! (scripts/golden/sklearn.py → tests/data/golden/sklearn_classification.json).

use crate::common;
use common::*;
use serde_json::{json, Value};

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_f64().unwrap(),
    }
}

#[test]
fn classification_matches_sklearn() {
    let golden: Value =
        serde_json::from_str(include_str!("../data/golden/sklearn_classification.json")).unwrap();
    let cases: Vec<&Value> = golden["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["labels"].is_null() && !c["y_true"].as_array().unwrap().is_empty())
        .collect();
    assert!(cases.len() > 100);
    let mut input = String::new();
    for c in &cases {
        let vocab: Vec<&str> = c["vocab"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let map = |k: &str| -> Vec<&str> {
            c[k].as_array()
                .unwrap()
                .iter()
                .map(|i| vocab[i.as_u64().unwrap() as usize])
                .collect()
        };
        input.push_str(&json!({"expected": map("y_true"), "predicted": map("y_pred")}).to_string());
        input.push('\n');
    }
    let out = evalh_stdin(&["metrics", "classification"], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len());
    for (c, got) in cases.iter().zip(&lines) {
        let e = &c["expected"];
        assert_eq!(
            got["accuracy"].as_f64().unwrap(),
            num(&e["accuracy"]),
            "{}",
            c["name"]
        );
        for avg in ["micro", "macro", "weighted"] {
            let g = got[avg].as_array().unwrap();
            for (i, k) in ["precision", "recall", "f1"].iter().enumerate() {
                assert_eq!(
                    g[i].as_f64().unwrap(),
                    num(&e[avg][k]),
                    "{} {avg} {k}",
                    c["name"]
                );
            }
        }
    }
}

#[test]
fn malformed_metrics_input_exits_2_with_line() {
    let out = evalh_stdin(
        &["metrics", "classification"],
        "{\"expected\": [\"a\"], \"predicted\": [\"a\"]}\n{\"expected\": [\"a\"]}\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("<stdin>:2:"), "{}", text(&out));
}

fn prf(v: &Value) -> [f64; 3] {
    let a = v.as_array().unwrap();
    [num(&a[0]), num(&a[1]), num(&a[2])]
}

/// `evalh metrics rouge [--stem]` equals rouge-score 0.1.2 on the trap cases and 320 random pairs
/// (scripts/golden/rouge.py), bit for bit.
#[test]
fn rouge_cli_matches_rouge_score() {
    let traps: Value = serde_json::from_str(include_str!("../data/golden/rouge.json")).unwrap();
    let mut cases: Vec<Value> = traps["cases"].as_array().unwrap().clone();
    cases.extend(
        include_str!("../data/golden/rouge_random.jsonl")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()),
    );
    assert!(cases.len() > 300);
    for (flag, key) in [(None, "nostem"), (Some("--stem"), "stem")] {
        let input: String = cases
            .iter()
            .map(|c| {
                format!(
                    "{}\n",
                    json!({"reference": c["reference"], "prediction": c["prediction"]})
                )
            })
            .collect();
        // All four types (one shared tokenization), then subsets, each computed alone.
        for types in [
            None,
            Some("rougeLsum"),
            Some("rougeL,rouge2"),
            Some("rouge1"),
        ] {
            let mut args = vec!["metrics", "rouge"];
            args.extend(flag);
            if let Some(t) = types {
                args.extend(["--types", t]);
            }
            let out = evalh_stdin(&args, &input);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out));
            let lines: Vec<Value> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(lines.len(), cases.len());
            let want: Vec<&str> = types
                .map_or(vec!["rouge1", "rouge2", "rougeL", "rougeLsum"], |t| {
                    t.split(',').collect()
                });
            for (c, got) in cases.iter().zip(&lines) {
                assert_eq!(got.as_object().unwrap().len(), want.len(), "{got}");
                for t in &want {
                    assert_eq!(prf(&got[t]), prf(&c[key][t]), "{} {key} {t}", c["name"]);
                }
            }
        }
    }
}

/// `evalh metrics squad` equals the SQuAD v1.1 script (scripts/golden/squad.py), including max over several golds.
#[test]
fn squad_cli_matches_the_official_script() {
    let g: Value = serde_json::from_str(include_str!("../data/golden/squad.json")).unwrap();
    let single = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (json!([c["gold"]]), c));
    let multi = g["multi"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["golds"].clone(), c));
    let all: Vec<(Value, &Value)> = single.chain(multi).collect();
    let input: String = all
        .iter()
        .map(|(golds, c)| {
            format!(
                "{}\n",
                json!({"prediction": c["prediction"], "answers": golds})
            )
        })
        .collect();
    let out = evalh_stdin(&["metrics", "squad"], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), all.len());
    for ((_, c), got) in all.iter().zip(&lines) {
        assert_eq!(
            got["exact_match"].as_f64().unwrap(),
            num(&c["em"]),
            "{}",
            c["name"]
        );
        assert_eq!(got["f1"].as_f64().unwrap(), num(&c["f1"]), "{}", c["name"]);
    }
}

/// `evalh metrics function-call` gives the verdict and error type of each BFCL-style case.
#[test]
fn function_call_cli_gives_verdicts() {
    let tools = json!([{"name": "get_weather", "description": "", "parameters": {"type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}]);
    let expected = json!([{"name": "get_weather", "arguments": {"city": ["Paris", "Paris, France"], "unit": ["celsius", ""]}}]);
    let lines = [
        json!({"expected": expected, "actual": [{"name": "get_weather", "arguments": {"city": "paris"}}], "tools": tools}),
        json!({"expected": expected, "actual": [{"name": "get_weather", "arguments": {"city": "Lyon"}}], "tools": tools}),
        json!({"expected": expected, "actual": [], "tools": tools}),
        json!({"expected": [], "actual": [{"name": "get_weather", "arguments": {"city": "Paris"}}], "tools": tools}),
        json!({"expected": expected, "actual": [{"name": "get_weather", "arguments": {"city": "Paris", "country": "FR"}}], "tools": tools}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = evalh_stdin(&["metrics", "function-call"], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let got: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got[0]["correct"], true);
    assert_eq!(
        (got[1]["correct"].as_bool(), got[1]["error"].as_str()),
        (Some(false), Some("wrong_value"))
    );
    assert_eq!(got[2]["error"], "abstained");
    assert_eq!(got[3]["error"], "wrong_call_on_irrelevance");
    assert_eq!(got[4]["error"], "unexpected_arg");
}

/// `evalh metrics function-call --compat bfcl` gives BFCL's verdict and error type on every golden case
/// (made by running bfcl-eval's checker: scripts/golden/bfcl_agreement.py), greedy-pairing traps excepted:
/// there evalh accepts what BFCL's first-match pairing rejects.
#[test]
fn function_call_bfcl_compat_matches_bfcl() {
    let gz = std::fs::read(root().join("tests/data/golden/bfcl_agreement.json.gz")).unwrap();
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut json).unwrap();
    let golden: Value = serde_json::from_str(&json).unwrap();
    let (tools, entries, cases) = (
        &golden["tools"],
        &golden["entries"],
        golden["cases"].as_array().unwrap(),
    );
    let mut input = String::new();
    for c in cases {
        let e = &entries[c["e"].as_u64().unwrap() as usize];
        let actual = if c["actual"].is_string() {
            json!([])
        } else {
            c["actual"].clone()
        };
        let line = json!({"id": e["id"], "expected": e["expected"], "actual": actual,
            "tools": tools[e["tools"].as_u64().unwrap() as usize]});
        input.push_str(&format!("{line}\n"));
    }
    let out = evalh_stdin(&["metrics", "function-call", "--compat", "bfcl"], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let got: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), cases.len());
    let (mut traps, mut agree) = (0, 0);
    for (k, (c, v)) in cases.iter().zip(&got).enumerate() {
        if c["greedy_trap"] == true {
            assert_eq!(
                (c["valid"].as_bool(), v["correct"].as_bool()),
                (Some(false), Some(true)),
                "case {k}"
            );
            traps += 1;
            continue;
        }
        assert_eq!(v["correct"], c["valid"], "case {k}: {v}");
        if c["actual"].is_string() && c["valid"] == false {
            // a text answer: BFCL fails to decode it, evalh sees no call at all
            assert_eq!(v["error"], "abstained", "case {k}");
        } else {
            assert_eq!(
                v.get("bfcl_error").unwrap_or(&Value::Null),
                &c["error_type"],
                "case {k}: {v}"
            );
        }
        agree += 1;
    }
    assert!(agree > 5000 && traps >= 3, "{agree} agree, {traps} traps");
}

/// The two modes differ where docs/metrics.md says they do: dotted names, `arguments: ""`, undecodable
/// arguments on an irrelevance item, integral floats.
#[test]
fn function_call_compat_modes_differ_as_documented() {
    let tools = json!([{"name": "math.factorial", "parameters": {"type": "dict",
        "properties": {"number": {"type": "integer"}}, "required": ["number"]}},
        {"name": "get_time", "parameters": {"type": "dict", "properties": {"tz": {"type": "string"}}, "required": []}}]);
    let fact = json!([{"name": "math.factorial", "arguments": {"number": [5]}}]);
    let time = json!([{"name": "get_time", "arguments": {"tz": ["", "UTC"]}}]);
    let lines = [
        json!({"expected": fact, "actual": [{"name": "math.factorial", "arguments": "{\"number\": 5}"}], "tools": tools}),
        json!({"expected": fact, "actual": [{"name": "math_factorial", "arguments": "{\"number\": 5}"}], "tools": tools}),
        json!({"expected": fact, "actual": [{"name": "math_factorial", "arguments": "{\"number\": 5.0}"}], "tools": tools}),
        json!({"expected": time, "actual": [{"name": "get_time", "arguments": ""}], "tools": tools}),
        json!({"expected": [], "actual": [{"name": "get_time", "arguments": "{\"tz\": "}], "tools": tools}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let run = |compat: &str| -> Vec<Value> {
        let out = evalh_stdin(&["metrics", "function-call", "--compat", compat], &input);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let strict = run("strict");
    let bfcl = run("bfcl");
    let correct = |vs: &[Value]| {
        vs.iter()
            .map(|v| v["correct"].as_bool().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(correct(&strict), [true, true, true, true, false]);
    assert_eq!(correct(&bfcl), [false, true, false, false, true]);
    assert_eq!(
        bfcl[0]["bfcl_error"],
        "simple_function_checker:wrong_func_name"
    );
    assert_eq!(bfcl[2]["bfcl_error"], "type_error:simple");
    assert_eq!(bfcl[3]["bfcl_error"], "ast_decoder:decoder_failed");
    assert_eq!(strict[4]["error"], "wrong_call_on_irrelevance");
    assert!(strict.iter().all(|v| v.get("bfcl_error").is_none()));
    // the default is strict
    let default = evalh_stdin(&["metrics", "function-call"], &input);
    let default: Vec<Value> = String::from_utf8(default.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(default, strict);
}

/// BFCL reads parameter types from the tool definitions: `--compat bfcl` refuses a line without the expected
/// function's tool (exit 2, line number, the fix); an unknown mode is refused by the parser; --help names both.
#[test]
fn function_call_compat_bad_input_and_help() {
    let ok = json!({"expected": [{"name": "f", "arguments": {"x": [1]}}], "actual": [{"name": "f", "arguments": {"x": 1}}],
        "tools": [{"name": "f", "parameters": {"type": "dict", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}]});
    let missing = json!({"expected": [{"name": "g", "arguments": {}}], "actual": [], "tools": []});
    let out = evalh_stdin(
        &["metrics", "function-call", "--compat", "bfcl"],
        &format!("{ok}\n{missing}\n"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("<stdin>:2") && t.contains("\"g\"") && t.contains("tools"),
        "{t}"
    );
    // strict mode does not need the tool
    let out = evalh_stdin(&["metrics", "function-call"], &format!("{missing}\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = evalh_stdin(&["metrics", "function-call", "--compat", "gorilla"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("strict") && text(&out).contains("bfcl"),
        "{}",
        text(&out)
    );

    let out = evalh_stdin(&["metrics", "function-call", "--help"], "");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("--compat") && help.contains("strict") && help.contains("bfcl"),
        "{help}"
    );
}

const FC_TOOLS: &str = r#"[{"name": "get_weather", "description": "Weather", "parameters": {"type": "dict",
  "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}},
 {"name": "math.factorial", "description": "n!", "parameters": {"type": "dict",
  "properties": {"number": {"type": "integer"}}, "required": ["number"]}}]"#;

const FC_DATA: &str = r#"{"id": "simple_python_0", "q": "weather in Paris", "calls": [{"name": "get_weather", "arguments": {"city": ["Paris"], "unit": ["celsius", ""]}}]}
{"id": "multiple_1", "q": "5!", "calls": [{"name": "math.factorial", "arguments": {"number": [5]}}]}
{"id": "live_multiple_2-0-0", "q": "weather in Oslo", "calls": [{"name": "get_weather", "arguments": {"city": ["Oslo"]}}]}
{"id": "live_parallel_3-1-0", "q": "weather in Rome and Bern", "calls": [{"name": "get_weather", "arguments": {"city": ["Rome"]}}, {"name": "get_weather", "arguments": {"city": ["Bern"]}}]}
{"id": "irrelevance_4", "q": "tell me a joke", "calls": []}
{"id": "T-5", "q": "weather in Nice", "calls": [{"name": "get_weather", "arguments": {"city": ["Nice"]}}]}
"#;

fn fc_suite(scoring: &str) -> String {
    format!(
        r#"name: fc
task: function_calling
dataset: {{path: data.jsonl, id: id, expected: calls}}
tools: tools.json
prompt:
  user: "{{{{ q }}}}"
{scoring}
providers:
  - id: base
    role: baseline
    kind: sim
    model: m-base
    price: {{input_per_mtok: 2.5, output_per_mtok: 10}}
    sim: {{quality: 1.0}}
  - id: cand
    kind: sim
    model: m-cand
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
    sim: {{quality: 1.0}}
"#
    )
}

/// `scoring: {function_call: {compat: bfcl}}` scores a run with BFCL's rules, and results.json carries the
/// accuracy per BFCL category (from the item ids; `T-5` by the shape of its calls) with BFCL's summary.
#[test]
fn function_call_suite_compat_and_per_category_accuracy() {
    for compat in ["bfcl", "strict"] {
        let suite = fc_suite(&format!("scoring: {{function_call: {{compat: {compat}}}}}"));
        let d = fixture(&[
            ("s.yaml", &suite),
            ("data.jsonl", FC_DATA),
            ("tools.json", FC_TOOLS),
        ]);
        let out = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
        let results: Value = serde_json::from_str(
            &std::fs::read_to_string(run_dir(d.path()).join("results.json")).unwrap(),
        )
        .unwrap();
        let found: Vec<&Value> = find_all(&results, "per_category");
        assert!(!found.is_empty(), "no per_category in results.json");
        let details = find_parent(&results, "per_category").expect("details");
        assert_eq!(details["compat"], compat);
        let per = &details["per_category"];
        // T-5: one call expected, two tools offered: multiple
        for (cat, n) in [
            ("simple_python", 1),
            ("multiple", 2),
            ("live_multiple", 1),
            ("live_parallel", 1),
            ("irrelevance", 1),
        ] {
            assert_eq!(per[cat]["n"], n, "{cat}: {per}");
        }
        // The simulated model answers right, calling `math.factorial` by its dotted name: BFCL's FC rules want
        // `math_factorial`, strict mode takes both.
        assert_eq!(
            per["multiple"]["correct"],
            if compat == "bfcl" { 1 } else { 2 },
            "{per}"
        );
        assert_eq!(details["category_source"], "mixed");
        assert!(
            details["bfcl_summary"]["non_live_ast"].is_number(),
            "{details}"
        );
        assert!(details["bfcl_summary"]["live_ast"].is_number(), "{details}");
    }
}

/// A bad `compat` value is found by `evalh validate` with the file and line, before anything is sent.
#[test]
fn function_call_suite_bad_compat_is_an_input_error() {
    let suite = fc_suite("scoring:\n  function_call: {compat: gorilla}");
    let d = fixture(&[
        ("s.yaml", &suite),
        ("data.jsonl", FC_DATA),
        ("tools.json", FC_TOOLS),
    ]);
    let out = evalh(d.path(), &["validate", "s.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("s.yaml:") && t.contains("gorilla"), "{t}");
}

fn find_all<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    out.push(x);
                }
                out.extend(find_all(x, key));
            }
        }
        Value::Array(a) => a.iter().for_each(|x| out.extend(find_all(x, key))),
        _ => {}
    }
    out
}

fn find_parent<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) if m.contains_key(key) => Some(v),
        Value::Object(m) => m.values().find_map(|x| find_parent(x, key)),
        Value::Array(a) => a.iter().find_map(|x| find_parent(x, key)),
        _ => None,
    }
}
