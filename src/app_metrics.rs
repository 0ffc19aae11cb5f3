//! `evalh metrics ...`: the scorers as filters over JSONL, for outputs produced elsewhere (and for checking evalh's
//! numbers against a reference implementation line by line).

use crate::chat::{ToolCall, ToolDef};
use crate::cli::{MetricsCommand, RougeType};
use crate::error::{Error, InputError, Result};
use crate::metrics::{
    classification_report, squad_best, CallVerdict, Category, Compat, ExpectedCall, Prf, RougePrf,
    RougeScorer, ToolSet,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, BufWriter, Write};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClsLine {
    expected: Vec<String>,
    predicted: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RougeLine {
    reference: String,
    prediction: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SquadLine {
    prediction: String,
    answers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FcLine {
    expected: Vec<ExpectedCall>,
    actual: Vec<ToolCall>,
    #[serde(default)]
    tools: Vec<ToolDef>,
    /// A BFCL item id (names the category for `--compat bfcl`).
    #[serde(default)]
    id: Option<String>,
}

fn parse<T: serde::de::DeserializeOwned>(line: &str, n: usize, shape: &str) -> Result<T> {
    serde_json::from_str(line).map_err(|e| {
        Error::Input(
            InputError::new("<stdin>", format!("line is not a valid input object: {e}"))
                .at(n, e.column())
                .hint(format!("each line must be {shape}")),
        )
    })
}

/// One `function-call` line's verdict. BFCL's checker reads parameter types from the tool definitions, so
/// `--compat bfcl` refuses a line whose expected function has none.
fn function_call_verdict(l: &FcLine, compat: Compat, n: usize) -> Result<CallVerdict> {
    let set = ToolSet::cached(&l.tools);
    if compat == Compat::Bfcl {
        if let Some(e) = l.expected.iter().find(|e| !set.has(&e.name)) {
            return Err(InputError::new(
                "<stdin>",
                format!(
                    "--compat bfcl: no tool definition for the expected function {:?}",
                    e.name
                ),
            )
            .at_line(n)
            .hint("add the tool (name and parameters, as offered to the model) to the line's \"tools\"; BFCL reads the parameter types from it")
            .into());
        }
    }
    let category = l.id.as_deref().and_then(Category::from_id);
    Ok(set.check_compat(&l.expected, &l.actual, compat, category))
}

/// The requested ROUGE types of one pair, in rouge-score's names. All four together share one tokenization; a subset
/// computes only what it names (so `--types rougeLsum` times ROUGE-Lsum alone, as rouge-score with that one type).
fn rouge_line(s: &RougeScorer, types: &[RougeType], reference: &str, prediction: &str) -> Value {
    let rprf = |p: &RougePrf| json!([p.precision, p.recall, p.fmeasure]);
    let all = [
        RougeType::Rouge1,
        RougeType::Rouge2,
        RougeType::RougeL,
        RougeType::RougeLsum,
    ];
    let mut out = serde_json::Map::new();
    if all.iter().all(|t| types.contains(t)) {
        let x = s.score(reference, prediction);
        for (k, p) in [
            ("rouge1", x.rouge1),
            ("rouge2", x.rouge2),
            ("rougeL", x.rouge_l),
            ("rougeLsum", x.rouge_lsum),
        ] {
            out.insert(k.into(), rprf(&p));
        }
        return Value::Object(out);
    }
    for t in types {
        let (k, p) = match t {
            RougeType::Rouge1 => ("rouge1", s.rouge_n(reference, prediction, 1)),
            RougeType::Rouge2 => ("rouge2", s.rouge_n(reference, prediction, 2)),
            RougeType::RougeL => ("rougeL", s.rouge_l(reference, prediction)),
            RougeType::RougeLsum => ("rougeLsum", s.rouge_lsum(reference, prediction)),
        };
        out.insert(k.into(), rprf(&p));
    }
    Value::Object(out)
}

/// Run a metrics filter over stdin.
pub fn metrics(m: MetricsCommand) -> Result<i32> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let scorer = match m {
        MetricsCommand::Rouge { stem, .. } => Some(RougeScorer::new(stem)),
        _ => None,
    };
    let prf3 = |p: &Prf| json!([p.precision, p.recall, p.f1]);
    for (i, line) in stdin.lock().lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| {
            Error::Input(InputError::new("<stdin>", format!("cannot read input: {e}")).at_line(n))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = match &m {
            MetricsCommand::Classification => {
                let l: ClsLine = parse(
                    &line,
                    n,
                    r#"{"expected": [labels...], "predicted": [labels...]}"#,
                )?;
                if l.expected.len() != l.predicted.len() {
                    return Err(InputError::new(
                        "<stdin>",
                        format!(
                            "expected has {} labels but predicted has {}",
                            l.expected.len(),
                            l.predicted.len()
                        ),
                    )
                    .at_line(n)
                    .hint("both lists must have one label per item")
                    .into());
                }
                let t: Vec<&str> = l.expected.iter().map(String::as_str).collect();
                let p: Vec<&str> = l.predicted.iter().map(String::as_str).collect();
                let r = classification_report(&t, &p, None);
                json!({"accuracy": r.accuracy, "micro": prf3(&r.micro), "macro": prf3(&r.macro_avg), "weighted": prf3(&r.weighted)})
            }
            MetricsCommand::Rouge { types, .. } => {
                let l: RougeLine = parse(&line, n, r#"{"reference": str, "prediction": str}"#)?;
                let s = scorer.unwrap_or(RougeScorer::new(false));
                rouge_line(&s, types, &l.reference, &l.prediction)
            }
            MetricsCommand::Squad => {
                let l: SquadLine = parse(&line, n, r#"{"prediction": str, "answers": [str...]}"#)?;
                let (em, f1) = squad_best(&l.prediction, &l.answers);
                json!({"exact_match": em, "f1": f1})
            }
            MetricsCommand::FunctionCall { compat } => {
                let l: FcLine = parse(
                    &line,
                    n,
                    r#"{"expected": [{"name", "arguments": {arg: [values]}}], "actual": [{"name", "arguments"}], "tools": [...], "id"?: str}"#,
                )?;
                serde_json::to_value(function_call_verdict(&l, *compat, n)?)
                    .map_err(|e| Error::Internal(e.to_string()))?
            }
        };
        writeln!(out, "{v}").map_err(|e| Error::io("writing output", e))?;
    }
    out.flush().map_err(|e| Error::io("writing output", e))?;
    Ok(0)
}
