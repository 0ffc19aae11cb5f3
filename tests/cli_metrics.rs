//! `evalh metrics classification` against golden vectors generated with scikit-learn 1.9.1
//! (scripts/golden/sklearn.py → tests/data/golden/sklearn_classification.json).

mod common;
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
        serde_json::from_str(include_str!("data/golden/sklearn_classification.json")).unwrap();
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
    let traps: Value = serde_json::from_str(include_str!("data/golden/rouge.json")).unwrap();
    let mut cases: Vec<Value> = traps["cases"].as_array().unwrap().clone();
    cases.extend(
        include_str!("data/golden/rouge_random.jsonl")
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
        let mut args = vec!["metrics", "rouge"];
        args.extend(flag);
        let out = evalh_stdin(&args, &input);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), cases.len());
        for (c, got) in cases.iter().zip(&lines) {
            for t in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
                assert_eq!(prf(&got[t]), prf(&c[key][t]), "{} {key} {t}", c["name"]);
            }
        }
    }
}

/// `evalh metrics squad` equals the SQuAD v1.1 script (scripts/golden/squad.py), including max over several golds.
#[test]
fn squad_cli_matches_the_official_script() {
    let g: Value = serde_json::from_str(include_str!("data/golden/squad.json")).unwrap();
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
