//! What a simulated model answers: the ground truth with probability `quality`, else a plausible wrong answer
//! for the task type (another label; a lead-sentence summary; a JSON record with perturbed fields; a tool call with a
//! wrong or missing argument). Pure and deterministic given the RNG.

use crate::suite::TaskKind;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Map, Value};

/// The simulated output of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Text content.
    pub text: String,
    /// Tool calls as (name, arguments JSON string).
    pub tool_calls: Vec<(String, String)>,
}

impl Answer {
    fn text(t: impl Into<String>) -> Self {
        Answer {
            text: t.into(),
            tool_calls: Vec::new(),
        }
    }
}

/// What the sim knows about one item.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Ground truth from the dataset.
    pub expected: Value,
    /// The item's longest text field (used to make a plausible wrong summary).
    pub source_text: String,
}

/// Produce an answer. `correct` was drawn by the caller with probability `quality`.
pub fn answer<R: Rng>(
    task: TaskKind,
    truth: &Truth,
    labels: &[String],
    tool_names: &[String],
    correct: bool,
    rng: &mut R,
) -> Answer {
    match task {
        TaskKind::Classification => classification(truth, labels, correct, rng),
        TaskKind::Summarization => summarization(truth, correct, rng),
        TaskKind::Extraction => extraction(truth, correct, rng),
        TaskKind::FunctionCalling => function_calling(truth, tool_names, correct, rng),
    }
}

fn classification<R: Rng>(t: &Truth, labels: &[String], correct: bool, rng: &mut R) -> Answer {
    let truth = t.expected.as_str().unwrap_or_default().to_string();
    let label = if correct {
        truth
    } else {
        let others: Vec<&String> = labels.iter().filter(|l| **l != truth).collect();
        if others.is_empty() || rng.random_bool(0.05) {
            return Answer::text("I'm not sure which category this belongs to.");
        }
        others
            .choose(rng)
            .map(|s| s.to_string())
            .unwrap_or_default()
    };
    match rng.random_range(0..10) {
        0 => Answer::text(format!("Category: {label}")),
        1 => Answer::text(format!("{label}.")),
        _ => Answer::text(label),
    }
}

fn summarization<R: Rng>(t: &Truth, correct: bool, rng: &mut R) -> Answer {
    let reference = match &t.expected {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        other => other.to_string(),
    };
    if correct {
        // Near-reference: occasionally drop one sentence of a multi-sentence reference.
        let lines: Vec<&str> = reference.lines().collect();
        if lines.len() > 1 && rng.random_bool(0.3) {
            let drop = rng.random_range(0..lines.len());
            return Answer::text(
                lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != drop)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        return Answer::text(reference);
    }
    // A lead-style summary: the first words of the source, about as long as the reference.
    let n = reference.split_whitespace().count().max(8);
    let words: Vec<&str> = t.source_text.split_whitespace().collect();
    let start = if words.len() > n * 2 {
        rng.random_range(0..words.len() / 3)
    } else {
        0
    };
    Answer::text(
        words
            .iter()
            .skip(start)
            .take(n)
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn extraction<R: Rng>(t: &Truth, correct: bool, rng: &mut R) -> Answer {
    let mut v = t.expected.clone();
    if !correct {
        if rng.random_bool(0.1) {
            let s = serde_json::to_string(&v).unwrap_or_default();
            return Answer::text(s[..s.len() / 2].to_string());
        }
        // A wrong record gets a third to a half of its fields wrong (dropped, reformatted or mistaken).
        let mut leaves = Vec::new();
        leaf_paths(&v, &mut Vec::new(), &mut leaves);
        let k = ((leaves.len() as f64 * rng.random_range(0.3..0.5)).round() as usize).max(1);
        for _ in 0..k {
            perturb(&mut v, rng);
        }
    }
    let body = serde_json::to_string_pretty(&v).unwrap_or_default();
    match rng.random_range(0..4) {
        0 => Answer::text(format!("```json\n{body}\n```")),
        1 => Answer::text(format!("Here is the extracted record:\n{body}")),
        _ => Answer::text(body),
    }
}

fn leaf_paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                prefix.push(PathStep::Key(k.clone()));
                leaf_paths(c, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                leaf_paths(c, prefix, out);
                prefix.pop();
            }
        }
        _ => out.push(prefix.clone()),
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn get_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match s {
            PathStep::Key(k) => cur.get_mut(k.as_str())?,
            PathStep::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

fn perturb<R: Rng>(v: &mut Value, rng: &mut R) {
    let mut paths = Vec::new();
    leaf_paths(v, &mut Vec::new(), &mut paths);
    let Some(path) = paths.choose(rng).cloned() else {
        return;
    };
    let Some(leaf) = get_mut(v, &path) else {
        return;
    };
    *leaf = match leaf.take() {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            json!(((x * 1.1) * 100.0).round() / 100.0 + 1.0)
        }
        Value::String(s) if rng.random_bool(0.5) => Value::String(s.chars().rev().collect()),
        Value::String(_) => Value::Null,
        Value::Null => json!("unknown"),
        Value::Bool(b) => json!(!b),
        other => other,
    };
}

fn first_acceptable(values: &Value) -> Option<Value> {
    match values {
        Value::Array(a) => a
            .iter()
            .find(|x| !matches!(x, Value::String(s) if s.is_empty()))
            .cloned(),
        other => Some(other.clone()),
    }
}

fn function_calling<R: Rng>(
    t: &Truth,
    tool_names: &[String],
    correct: bool,
    rng: &mut R,
) -> Answer {
    let expected = t.expected.as_array().cloned().unwrap_or_default();
    if expected.is_empty() {
        if correct {
            return Answer::text(
                "None of the available tools can help with that, but here is what I know.",
            );
        }
        let name = tool_names
            .choose(rng)
            .cloned()
            .unwrap_or_else(|| "unknown".into());
        return Answer {
            text: String::new(),
            tool_calls: vec![(name, "{}".into())],
        };
    }
    let mut calls: Vec<(String, Map<String, Value>)> = expected
        .iter()
        .map(|c| {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let mut args = Map::new();
            if let Some(Value::Object(m)) = c.get("arguments") {
                for (k, vals) in m {
                    if let Some(v) = first_acceptable(vals) {
                        args.insert(k.clone(), v);
                    }
                }
            }
            (name, args)
        })
        .collect();
    if !correct {
        match rng.random_range(0..4) {
            0 if calls.len() > 1 => {
                calls.pop();
            }
            1 => {
                let i = rng.random_range(0..calls.len());
                if let Some(other) = tool_names.iter().find(|n| **n != calls[i].0) {
                    calls[i].0 = other.clone();
                }
            }
            2 => {
                let i = rng.random_range(0..calls.len());
                let keys: Vec<String> = calls[i].1.keys().cloned().collect();
                if let Some(k) = keys.choose(rng) {
                    calls[i].1.remove(k);
                }
            }
            _ => {
                let i = rng.random_range(0..calls.len());
                let keys: Vec<String> = calls[i].1.keys().cloned().collect();
                if let Some(k) = keys.choose(rng) {
                    let nv = match calls[i].1.get(k) {
                        Some(Value::Number(n)) => json!(n.as_f64().unwrap_or(0.0) + 7.0),
                        Some(Value::String(s)) => json!(format!("{s} area")),
                        Some(Value::Bool(b)) => json!(!b),
                        _ => json!("other"),
                    };
                    calls[i].1.insert(k.clone(), nv);
                }
            }
        }
        if calls.is_empty() {
            return Answer::text("I could not determine which tool to use.");
        }
    }
    Answer {
        text: String::new(),
        tool_calls: calls
            .into_iter()
            .map(|(n, a)| (n, Value::Object(a).to_string()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn correct_answers_reproduce_the_truth() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let labels = vec!["a".to_string(), "b".to_string()];
        let t = Truth {
            expected: json!("b"),
            source_text: String::new(),
        };
        for _ in 0..20 {
            let a = answer(TaskKind::Classification, &t, &labels, &[], true, &mut rng);
            assert!(a.text.contains('b'));
        }
        let t = Truth {
            expected: json!([{"name": "f", "arguments": {"x": [1, 1.0], "y": ["", "z"]}}]),
            source_text: String::new(),
        };
        let a = answer(
            TaskKind::FunctionCalling,
            &t,
            &["f".into(), "g".into()],
            &["f".into(), "g".into()],
            true,
            &mut rng,
        );
        assert_eq!(
            a.tool_calls,
            vec![("f".to_string(), "{\"x\":1,\"y\":\"z\"}".to_string())]
        );
    }

    #[test]
    fn wrong_classification_is_another_label_or_unparseable() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let labels = vec!["alpha".to_string(), "beta".to_string()];
        let t = Truth {
            expected: json!("alpha"),
            source_text: String::new(),
        };
        for _ in 0..50 {
            let a = answer(TaskKind::Classification, &t, &labels, &[], false, &mut rng);
            assert!(!a.text.contains("alpha"), "{}", a.text);
        }
    }
}
