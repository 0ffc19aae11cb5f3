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
