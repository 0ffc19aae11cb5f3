//! `evalh dataset from-logs`: a reproducible, masked sample of logged requests as an evalh dataset.
//!
//! Why this module exists: a team has production requests long before it has labelled examples, and the premium
//! model's logged answers are what a cheaper one must match. This draws `n` requests from the logs `evalh audit`
//! reads (or a plain JSONL of chat messages) — the same sample for the same files and seed, stratified by feature,
//! model, task type, label or any field when asked — keeps the logged answer as `logged_answer` in the shape the
//! task's scorer expects, masks secrets and personal data (counted), and writes a sidecar `FILE.meta.json` that says
//! how the sample was drawn. The file loads as a suite's dataset (`expected: logged_answer`, prompt templates over
//! `system` and `input`).
//!
//! * `mask` – what is masked and how it is counted.
//! * `sample` – bottom-k sampling by a seeded hash, strata, allocation.

mod sample;

pub use crate::logs::{luhn, mask_text, mask_value, MaskCounts};
pub use sample::{allocate, key, Allocation, MAX_STRATA, NO_VALUE, OTHER_STRATA};

use crate::error::{Error, InputError, Result};
use crate::logs::content_text;
use crate::logs::{self, Field, Mapping, Preset, Record};
use crate::suite::TaskKind;
use sample::{Eligibility, Fetch, Picker};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `evalh dataset from-logs` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// Log files.
    pub logs: Vec<PathBuf>,
    /// Preset forced on the command line.
    pub preset: Option<Preset>,
    /// Mapping file (its `log:` section).
    pub mapping: Option<Mapping>,
    /// Task the dataset is for.
    pub task: TaskKind,
    /// Rows wanted.
    pub n: usize,
    /// Seed of the sampling hash.
    pub seed: u64,
    /// Field to stratify by.
    pub stratify: Option<String>,
    /// How `n` is shared between strata.
    pub allocation: Allocation,
    /// Only these features (empty: all).
    pub features: Vec<String>,
    /// Also draw requests whose status says they failed.
    pub include_failed: bool,
    /// Output file.
    pub out: PathBuf,
    /// Progress bar on a terminal.
    pub progress: bool,
}

/// What the stratify option names.
#[derive(Debug, Clone, PartialEq)]
enum Strat {
    None,
    Field(Field),
    Label,
    Path,
}

fn strat_of(name: Option<&str>) -> std::result::Result<Strat, String> {
    Ok(match name {
        None => Strat::None,
        Some("feature") => Strat::Field(Field::Feature),
        Some("model") => Strat::Field(Field::Model),
        Some("task_type") => Strat::Field(Field::TaskType),
        Some("label") => Strat::Label,
        Some(p) => {
            logs::Source::parse(p)?;
            if p.starts_with("tag:") {
                return Err(
                    "stratify by `feature`, `model`, `task_type`, `label` or a path, not a tag"
                        .into(),
                );
            }
            Strat::Path
        }
    })
}

struct Rules {
    strat: Strat,
    features: Vec<String>,
    include_failed: bool,
}

/// The logged answer as (text, tool calls).
fn answer_parts(a: &Value) -> (Option<String>, Option<Vec<Value>>) {
    match a {
        Value::String(s) => (Some(s.clone()), None),
        Value::Array(items)
            if items
                .iter()
                .all(|i| i.get("function").is_some() || i.get("name").is_some()) =>
        {
            (None, Some(items.clone()))
        }
        Value::Array(_) => (content_text(a), None),
        Value::Object(m) => {
            let calls = m
                .get("tool_calls")
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty())
                .cloned();
            let text = m
                .get("content")
                .and_then(content_text)
                .or_else(|| m.get("text").and_then(Value::as_str).map(str::to_string));
            (text, calls)
        }
        other => (Some(other.to_string()), None),
    }
}

/// The answer embedded as a trailing assistant message, when the log has no separate answer field.
fn split_messages(r: &Record) -> (Vec<Value>, Option<Value>) {
    let mut msgs = r.messages.clone().unwrap_or_default();
    let mut answer = r.answer.clone();
    if msgs
        .last()
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str)
        == Some("assistant")
    {
        let last = msgs.pop();
        if answer.is_none() {
            answer = last;
        }
    }
    (msgs, answer)
}

fn has_user(msgs: &[Value]) -> bool {
    msgs.iter()
        .any(|m| m.get("role").and_then(Value::as_str) == Some("user"))
}

fn label_of(r: &Record) -> Option<String> {
    let (_, a) = split_messages(r);
    let (text, _) = answer_parts(&a?);
    let t = text?.trim().to_string();
    (!t.is_empty()).then(|| t.chars().take(100).collect())
}

impl Eligibility for Rules {
    fn check(&self, r: &Record) -> std::result::Result<String, &'static str> {
        if !self.features.is_empty()
            && !r
                .feature
                .as_ref()
                .is_some_and(|f| self.features.contains(f))
        {
            return Err("other feature");
        }
        if !r.ok && !self.include_failed {
            return Err("failed request");
        }
        if !has_user(r.messages.as_deref().unwrap_or(&[])) {
            return Err("no prompt");
        }
        let v = match &self.strat {
            Strat::None => return Ok(String::new()),
            Strat::Field(Field::Feature) => r.feature.clone(),
            Strat::Field(Field::Model) => r.model.clone(),
            Strat::Field(_) => r.task_type.clone(),
            Strat::Label => label_of(r),
            Strat::Path => r.extra.first().cloned().flatten(),
        };
        Ok(v.unwrap_or_else(|| NO_VALUE.to_string()))
    }
}

/// One stratum in the sidecar.
#[derive(Debug, Clone, Serialize)]
pub struct StratumReport {
    /// Value of the field.
    pub value: String,
    /// Eligible rows with it.
    pub population: u64,
    /// Rows drawn.
    pub sampled: usize,
}

/// Stratification in the sidecar.
#[derive(Debug, Clone, Serialize)]
pub struct StratifyReport {
    /// The field.
    pub field: String,
    /// Proportional or equal.
    pub allocation: Allocation,
    /// Per stratum, by name.
    pub strata: Vec<StratumReport>,
}

/// The logged answers of the sample.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnswerReport {
    /// Rows with a usable logged answer.
    pub present: u64,
    /// Rows without one (`logged_answer: null`).
    pub missing: u64,
    /// Rows whose answer does not fit the task (extraction: not a JSON object): null too.
    pub unusable: u64,
}

/// `FILE.meta.json`: how the dataset was drawn.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// Always `evalh dataset from-logs`.
    pub created_by: String,
    /// evalh version.
    pub evalh_version: String,
    /// The dataset file.
    pub dataset: PathBuf,
    /// Inputs read.
    pub inputs: Vec<logs::FileReport>,
    /// How they were read.
    pub format: String,
    /// Task.
    pub task: String,
    /// Seed.
    pub seed: u64,
    /// Rows asked for.
    pub n_requested: usize,
    /// Rows written.
    pub n_sampled: usize,
    /// The method, in words.
    pub method: String,
    /// Rows that could be drawn.
    pub eligible: u64,
    /// Rows that could not, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Malformed rows in the inputs.
    pub malformed: u64,
    /// Only these features.
    pub features: Vec<String>,
    /// Stratification.
    pub stratify: Option<StratifyReport>,
    /// Masked strings by kind.
    pub masked: MaskCounts,
    /// Masked strings in all.
    pub masked_total: u64,
    /// Logged answers.
    pub logged_answers: AnswerReport,
    /// Classification: the logged labels and how often each occurs in the sample (for the suite's `labels:`).
    pub labels: Option<BTreeMap<String, u64>>,
    /// What each row holds.
    pub fields: BTreeMap<String, String>,
    /// A suite fragment that loads the dataset.
    pub suite_snippet: String,
}

/// The sidecar's path for a dataset file.
pub fn meta_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_os_string();
    s.push(".meta.json");
    PathBuf::from(s)
}

const METHOD: &str = "bottom-k by a seeded hash: each eligible row's key is the first 8 bytes of BLAKE3(seed as 8 \
     little-endian bytes || the row's bytes), and the rows with the n smallest keys are kept (per stratum when stratified, \
     then shared by the allocation). The same files and seed give the same sample whatever the file order or thread \
     count; identical rows are drawn once. Rows are written in key order, so the first k rows are themselves a random \
     sample of k.";

/// Draw the sample and write the dataset and its sidecar; returns the sidecar's content.
pub fn run(o: &Options) -> Result<Meta> {
    if o.n == 0 {
        return Err(InputError::new("", "--n 0 draws nothing")
            .hint("ask for at least one row, e.g. --n 500")
            .into());
    }
    let strat = strat_of(o.stratify.as_deref()).map_err(|why| {
        Error::from(
            InputError::new("", format!("--stratify: {why}"))
                .hint("use feature, model, task_type, label, or a dotted path into the log line"),
        )
    })?;
    check_out(&o.out)?;
    let mapping = o.mapping.as_ref();
    let inputs = logs::inputs(&o.logs, mapping);
    let spec = logs::resolve(o.preset, mapping, &inputs)?;
    let mut required = vec![Field::Messages];
    match &strat {
        Strat::Field(f) => required.push(*f),
        Strat::Label => required.push(Field::Answer),
        _ => {}
    }
    logs::check(&inputs, &spec, &required)?;
    let extra: Vec<Vec<String>> = match (&strat, &o.stratify) {
        (Strat::Path, Some(p)) => vec![p.split('.').map(str::to_string).collect()],
        _ => vec![],
    };
    let wanted = [
        Field::Model,
        Field::Feature,
        Field::Tags,
        Field::TaskType,
        Field::Status,
        Field::Messages,
        Field::Answer,
        Field::Timestamp,
    ];
    let plan = logs::Plan::new(&spec, &wanted, &extra);
    let rules: Arc<dyn Eligibility> = Arc::new(Rules {
        strat: strat.clone(),
        features: o.features.clone(),
        include_failed: o.include_failed,
    });
    let progress = o.progress.then_some("sampling (1/2)");
    let (picker, scan) = logs::scan(&inputs, &plan, progress, || {
        Picker::new(o.seed, o.n, rules.clone())
    })?;
    let mut names: Vec<&String> = picker.strata.keys().collect();
    names.sort();
    let table: Vec<(String, u64, usize)> = names
        .iter()
        .map(|s| {
            (
                s.to_string(),
                picker.strata[*s].population,
                picker.strata[*s].sorted().len(),
            )
        })
        .collect();
    let eligible: u64 = table.iter().map(|t| t.1).sum();
    if eligible == 0 {
        let skipped: Vec<String> = picker
            .skipped
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        return Err(InputError::new(&o.logs[0], "no row can be drawn")
            .hint(format!(
                "rows skipped: {}; the logs must store the prompt (LiteLLM: store_prompts_in_spend_logs), and --feature must name logged features",
                if skipped.is_empty() { "none read".into() } else { skipped.join(", ") }
            ))
            .into());
    }
    let quota = allocate(o.n, &table, o.allocation);
    let mut chosen = HashMap::new();
    for ((name, _, _), q) in table.iter().zip(&quota) {
        for (k, at) in picker.strata[name].sorted().into_iter().take(*q) {
            chosen.insert(at, k);
        }
    }
    let chosen = Arc::new(chosen);
    let progress = o.progress.then_some("sampling (2/2)");
    let (fetch, _) = logs::scan(&inputs, &plan, progress, || {
        Fetch::new(o.seed, chosen.clone())
    })?;
    let mut rows = fetch.rows;
    rows.sort_by_key(|r| (r.0, r.1));
    let (counts, answers, labels, lines) =
        build_rows(o.task, &rows, &strat, o.stratify.as_deref(), &scan)?;
    write_atomic(&o.out, lines.as_bytes())?;
    let strata_report = (strat != Strat::None).then(|| StratifyReport {
        field: o.stratify.clone().unwrap_or_default(),
        allocation: o.allocation,
        strata: table
            .iter()
            .zip(&quota)
            .map(|((v, p, _), q)| StratumReport {
                value: mask_text(v, &mut MaskCounts::default()),
                population: *p,
                sampled: *q,
            })
            .collect(),
    });
    let suite_snippet = snippet(&o.out, o.task, labels.as_ref());
    let meta = Meta {
        created_by: "evalh dataset from-logs".into(),
        evalh_version: env!("CARGO_PKG_VERSION").into(),
        dataset: o.out.clone(),
        inputs: scan.files.clone(),
        format: spec.describe(),
        task: o.task.as_str().into(),
        seed: o.seed,
        n_requested: o.n,
        n_sampled: rows.len(),
        method: METHOD.into(),
        eligible,
        skipped: picker
            .skipped
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        malformed: scan.malformed,
        features: o.features.clone(),
        stratify: strata_report,
        masked: counts,
        masked_total: counts.total(),
        logged_answers: answers,
        labels,
        fields: field_docs(o.task),
        suite_snippet,
    };
    let meta_text = serde_json::to_string_pretty(&meta)
        .map_err(|e| Error::Internal(format!("serializing the sidecar: {e}")))?
        + "\n";
    write_atomic(&meta_path(&o.out), meta_text.as_bytes())?;
    Ok(meta)
}

type Built = (
    MaskCounts,
    AnswerReport,
    Option<BTreeMap<String, u64>>,
    String,
);

fn build_rows(
    task: TaskKind,
    rows: &[(u64, logs::Loc, blake3::Hash, Record)],
    strat: &Strat,
    strat_name: Option<&str>,
    scan: &logs::ScanReport,
) -> Result<Built> {
    let mut counts = MaskCounts::default();
    let mut answers = AnswerReport::default();
    let mut labels: BTreeMap<String, u64> = BTreeMap::new();
    let mut out = String::new();
    for (_, at, hash, r) in rows {
        let (mut msgs, answer) = split_messages(r);
        for m in &mut msgs {
            mask_value(m, &mut counts);
        }
        let system = msgs
            .iter()
            .filter(|m| m.get("role").and_then(Value::as_str) == Some("system"))
            .filter_map(|m| m.get("content").and_then(content_text))
            .collect::<Vec<_>>()
            .join("\n");
        let input = msgs
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|m| m.get("content").and_then(content_text))
            .unwrap_or_default();
        let mut logged = answer.map(|a| task_answer(task, &a));
        match &mut logged {
            None => answers.missing += 1,
            Some(None) => answers.unusable += 1,
            Some(Some(v)) => {
                answers.present += 1;
                mask_value(v, &mut counts);
                if task == TaskKind::Classification {
                    if let Value::String(l) = v {
                        *labels.entry(l.clone()).or_default() += 1;
                    }
                }
            }
        }
        let file = &scan.files[at.file as usize];
        let mut row = Map::new();
        row.insert("id".into(), json!(format!("r-{}", &hash.to_hex()[..16])));
        row.insert(
            "source".into(),
            json!(format!("{}:{}", file.path.display(), at.line)),
        );
        let mut context = Map::new();
        context.insert("feature".into(), json!(r.feature));
        context.insert("model".into(), json!(r.model));
        if r.task_type.is_some() {
            context.insert("task_type".into(), json!(r.task_type));
        }
        if let (Strat::Path, Some(name)) = (strat, strat_name) {
            context.insert(name.into(), json!(r.extra.first().cloned().flatten()));
        }
        let mut context = Value::Object(context);
        mask_value(&mut context, &mut counts);
        if let Value::Object(c) = context {
            row.extend(c);
        }
        row.insert("system".into(), json!(system));
        row.insert("input".into(), json!(input));
        row.insert("messages".into(), Value::Array(msgs));
        row.insert(
            "logged_answer".into(),
            logged.flatten().unwrap_or(Value::Null),
        );
        out.push_str(&Value::Object(row).to_string());
        out.push('\n');
    }
    Ok((
        counts,
        answers,
        (task == TaskKind::Classification).then_some(labels),
        out,
    ))
}

/// The logged answer in the shape the task's `expected` takes: a label, a summary, a JSON object, a list of calls.
/// `None` when it does not fit (extraction text that is not a JSON object).
fn task_answer(task: TaskKind, a: &Value) -> Option<Value> {
    let (text, calls) = answer_parts(a);
    match task {
        TaskKind::Classification => text.map(|t| json!(t.trim())),
        TaskKind::Summarization => text.map(|t| json!(t.trim())),
        TaskKind::Extraction => {
            let t = text?;
            let t = t.trim();
            let t = t
                .strip_prefix("```json")
                .or_else(|| t.strip_prefix("```"))
                .unwrap_or(t);
            let t = t.strip_suffix("```").unwrap_or(t).trim();
            serde_json::from_str::<Value>(t)
                .ok()
                .filter(Value::is_object)
        }
        TaskKind::FunctionCalling => Some(Value::Array(
            calls
                .unwrap_or_default()
                .iter()
                .filter_map(expected_call)
                .collect(),
        )),
    }
}

/// An OpenAI tool call (`{"function": {"name", "arguments": "<json>"}}`) as an expected call: each argument's value
/// becomes the one accepted value.
fn expected_call(c: &Value) -> Option<Value> {
    let f = c.get("function").unwrap_or(c);
    let name = f.get("name")?.as_str()?;
    let args = match f.get("arguments") {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok()?,
        Some(v) => v.clone(),
        None => json!({}),
    };
    let args = args
        .as_object()?
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect::<Map<_, _>>();
    Some(json!({"name": name, "arguments": args}))
}

fn field_docs(task: TaskKind) -> BTreeMap<String, String> {
    let answer = match task {
        TaskKind::Classification => "the logged answer's text, trimmed (a label)",
        TaskKind::Summarization => "the logged answer's text",
        TaskKind::Extraction => "the logged answer parsed as a JSON object (null when it is not one)",
        TaskKind::FunctionCalling => "the logged tool calls as expected calls ({name, arguments: {param: [value]}}); [] when the answer called no tool",
    };
    [
        (
            "id",
            "r- and 16 hex digits of BLAKE3 of the log row: stable whatever the seed",
        ),
        ("source", "file:line of the row in the logs"),
        ("feature", "the row's feature (null when not logged)"),
        ("model", "the model that answered in production"),
        ("system", "the system message(s), masked (\"\" when none)"),
        ("input", "the last user message, masked"),
        (
            "messages",
            "the prompt's messages, masked, without the logged answer",
        ),
        ("logged_answer", answer),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn snippet(out: &Path, task: TaskKind, labels: Option<&BTreeMap<String, u64>>) -> String {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = format!(
        "task: {}\ndataset: {{path: {name}, id: id, expected: logged_answer}}\nprompt:\n  system: \"{{{{ system }}}}\"\n  user: \"{{{{ input }}}}\"\n",
        task.as_str()
    );
    match labels {
        Some(l) if !l.is_empty() && l.len() <= 50 => {
            let names: Vec<String> = l
                .keys()
                .map(|k| serde_json::to_string(k).unwrap_or_default())
                .collect();
            s.push_str(&format!("labels: [{}]\n", names.join(", ")));
        }
        Some(_) => s.push_str(
            "labels: [...]   # the logged labels are counted in the sidecar's `labels`\n",
        ),
        None => {}
    }
    s
}

/// `--out` names a file in an existing folder.
fn check_out(out: &Path) -> Result<()> {
    if out.is_dir() {
        return Err(InputError::new(out, "--out names a directory")
            .hint("name a file, e.g. datasets/tickets-from-logs.jsonl")
            .into());
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(
            InputError::new(out, format!("folder {} does not exist", parent.display()))
                .hint("create it first (mkdir -p) or name a file in an existing folder")
                .into(),
        );
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_take_the_tasks_shape() {
        let msg = json!({"role": "assistant", "content": "  billing \n"});
        assert_eq!(
            task_answer(TaskKind::Classification, &msg),
            Some(json!("billing"))
        );
        let fenced = json!("```json\n{\"total\": 3}\n```");
        assert_eq!(
            task_answer(TaskKind::Extraction, &fenced),
            Some(json!({"total": 3}))
        );
        assert_eq!(task_answer(TaskKind::Extraction, &json!("not json")), None);
        let calls = json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"days\": 3}"}}]});
        assert_eq!(
            task_answer(TaskKind::FunctionCalling, &calls),
            Some(json!([{"name": "get_weather", "arguments": {"city": ["Paris"], "days": [3]}}]))
        );
        assert_eq!(
            task_answer(TaskKind::FunctionCalling, &json!("no tool fits")),
            Some(json!([]))
        );
    }

    #[test]
    fn a_trailing_assistant_message_is_the_answer() {
        let r = Record {
            messages: Some(vec![
                json!({"role": "user", "content": "hi"}),
                json!({"role": "assistant", "content": "yes"}),
            ]),
            ..Default::default()
        };
        let (msgs, a) = split_messages(&r);
        assert_eq!(msgs.len(), 1);
        assert_eq!(a, Some(json!({"role": "assistant", "content": "yes"})));
        assert_eq!(label_of(&r).as_deref(), Some("yes"));
        assert!(strat_of(Some("tag:x")).is_err());
        assert_eq!(strat_of(Some("metadata.team")), Ok(Strat::Path));
    }
}
