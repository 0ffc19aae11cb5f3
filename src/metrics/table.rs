//! The metric table: every metric evalh computes, per task, in one typed list.
//!
//! Why this module exists: a metric name used to live as a string in five places (the validator's accepted list,
//! each task's computation, the resampling in `metric_on`, the charts, a "is this a mean?" helper), and nothing made
//! them agree — so the validator accepted extraction `micro_f1` as a gate metric that the bootstrap could not
//! resample, and the gate stayed INCONCLUSIVE forever. Now the validator, per-item scoring, resampling, intervals
//! and charts all read [`metrics`]; each row carries a typed [`Stat`] that the per-task code matches exhaustively,
//! so a metric added here cannot be left uncomputed or unresamplable.
//!
//! Two kinds of metric ([`MetricKind`]):
//! * **mean** — the mean of per-item scores (`ProviderScores::per_item` holds them; errors score 0). Gated with the
//!   paired t-test on `D = x − θ·y`; interval Wilson (0/1 scores) or Student t.
//! * **corpus** — a function of counts summed over items (confusion matrix, matched/predicted/expected leaves).
//!   `ProviderScores` keeps each item's counts, so the metric is recomputed exactly on any resample of item indices:
//!   gated with the paired percentile bootstrap; interval bootstrap.
//!
//! With a suite-level `judge:`, every task also has `judge_preference` (pairwise) or `judge_score` (rubric): mean
//! metrics over the judge's per-item values ([`judge_metrics`], `src/judge/tally.rs`).
//!
//! The first row of each task is its default gate metric. The table below is rendered by [`markdown_table`]; a unit
//! test keeps it equal to the code.
//!
//! | task | metric | kind | reference | what it measures |
//! |---|---|---|---|---|
//! | classification | `macro_f1` (default) | corpus | scikit-learn 1.9.1 `sklearn.metrics`, zero_division=0 | unweighted mean of per-label F1 (`f1_score(average="macro")`) |
//! | classification | `accuracy` | mean | scikit-learn 1.9.1 `sklearn.metrics`, zero_division=0 | share of items with the right label (`accuracy_score`) |
//! | classification | `micro_f1` | corpus | scikit-learn 1.9.1 `sklearn.metrics`, zero_division=0 | F1 of the counts summed over labels (`f1_score(average="micro")`) |
//! | classification | `weighted_f1` | corpus | scikit-learn 1.9.1 `sklearn.metrics`, zero_division=0 | per-label F1 weighted by support (`f1_score(average="weighted")`) |
//! | classification | `macro_precision` | corpus | scikit-learn 1.9.1 `sklearn.metrics`, zero_division=0 | unweighted mean of per-label precision (`precision_score(average="macro")`) |
//! | classification | `macro_recall` | corpus | scikit-learn 1.9.1 `sklearn.metrics`, zero_division=0 | unweighted mean of per-label recall (`recall_score(average="macro")`) |
//! | summarization | `rougeLsum_f` (default) | mean | rouge-score 0.1.2 `RougeScorer`, mean over items | summary-level LCS F-measure over newline-separated sentences (`rougeLsum`) |
//! | summarization | `rouge1_f` | mean | rouge-score 0.1.2 `RougeScorer`, mean over items | unigram overlap F-measure (`rouge1`) |
//! | summarization | `rouge2_f` | mean | rouge-score 0.1.2 `RougeScorer`, mean over items | bigram overlap F-measure (`rouge2`) |
//! | summarization | `rougeL_f` | mean | rouge-score 0.1.2 `RougeScorer`, mean over items | longest-common-subsequence F-measure (`rougeL`) |
//! | extraction | `field_f1` (default) | mean | this project (`src/metrics/extraction.rs`) | mean over items of the item's F1 of non-empty leaves (matched / predicted, matched / expected) |
//! | extraction | `field_accuracy` | mean | this project (`src/metrics/extraction.rs`) | mean over items of the item's share of expected leaves matched (results.json `details.field_accuracy` is the micro form) |
//! | extraction | `record_exact_match` | mean | this project (`src/metrics/extraction.rs`) | share of items whose every leaf matches with nothing extra |
//! | extraction | `parse_rate` | mean | this project (`src/metrics/extraction.rs`) | share of items whose answer contains a JSON value |
//! | extraction | `micro_f1` | corpus | this project (`src/metrics/extraction.rs`) | F1 of matched / predicted / expected non-empty leaves summed over items |
//! | function_calling | `full_call_accuracy` (default) | mean | BFCL AST checker rules (`src/metrics/function_call/`, two BFCL flaws fixed) | share of items whose expected calls are all made right (name, arguments) with no extra call |
//! | function_calling | `name_accuracy` | mean | BFCL AST checker rules (`src/metrics/function_call/`, two BFCL flaws fixed) | share of items whose calls pair one-to-one with the expected function names |
//! | function_calling | `argument_accuracy` | mean | BFCL AST checker rules (`src/metrics/function_call/`, two BFCL flaws fixed) | share of items whose every expected call is matched by a call passing every argument check |

use serde::{Deserialize, Serialize};

/// The four task types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Pick one label from `labels`.
    Classification,
    /// Free-text summary scored with ROUGE.
    Summarization,
    /// A JSON record scored field by field.
    Extraction,
    /// Tool calls scored against expected calls.
    FunctionCalling,
}

impl TaskKind {
    /// The snake_case name used in YAML and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Classification => "classification",
            TaskKind::Summarization => "summarization",
            TaskKind::Extraction => "extraction",
            TaskKind::FunctionCalling => "function_calling",
        }
    }
}

/// How a metric aggregates over items (and so how it is resampled and gated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Mean of per-item scores (in `ProviderScores::per_item`).
    Mean,
    /// Recomputed from per-item sufficient statistics (counts) on any resample of item indices.
    Corpus,
}

impl MetricKind {
    /// `mean` or `corpus`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Mean => "mean",
            MetricKind::Corpus => "corpus",
        }
    }
}

/// What is computed, per task: the per-task scorers and the resampling match on this exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Classification, from the (truth, prediction) counts.
    Label(LabelStat),
    /// Summarization: a ROUGE F-measure per item.
    Rouge(RougeStat),
    /// Extraction, from each item's field comparison.
    Field(FieldStat),
    /// Function calling, from each item's call verdict.
    Call(CallStat),
    /// Any task with a `judge:`: the LLM judge's per-item value (`crate::judge`).
    Judge(JudgeStat),
}

/// LLM-judge metrics (this project's definitions, `src/judge/tally.rs`), reported when the suite has a judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgeStat {
    /// Pairwise: per item 1 (candidate better), ½ (tie), 0 (baseline better); the baseline's own is ½.
    Preference,
    /// Rubric: the normalised score in [0, 1].
    Score,
}

/// Classification metrics (scikit-learn, `zero_division=0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelStat {
    /// Correct / n.
    Accuracy,
    /// Unweighted mean of per-label F1.
    MacroF1,
    /// F1 of the summed counts.
    MicroF1,
    /// Support-weighted mean of per-label F1.
    WeightedF1,
    /// Unweighted mean of per-label precision.
    MacroPrecision,
    /// Unweighted mean of per-label recall.
    MacroRecall,
}

/// ROUGE F-measures (rouge-score 0.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RougeStat {
    /// Unigrams.
    Rouge1,
    /// Bigrams.
    Rouge2,
    /// Longest common subsequence.
    RougeL,
    /// Summary-level LCS over newline-separated sentences.
    RougeLsum,
}

/// Extraction metrics (this project's definition, `src/metrics/extraction.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldStat {
    /// Item F1 of non-empty leaves.
    F1,
    /// Item share of expected leaves matched.
    Accuracy,
    /// Every leaf matches and nothing is extra.
    RecordExact,
    /// The output parsed as JSON.
    Parsed,
    /// F1 of matched / predicted / expected leaves summed over items.
    MicroF1,
}

/// Function-calling metrics (BFCL AST rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStat {
    /// Names and arguments of every call correct.
    Full,
    /// Function names correct.
    Name,
    /// Arguments correct.
    Arguments,
}

/// One metric: its name in suites and reports, its task, how it aggregates, and what it equals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDef {
    /// Name in `gate.metric`, results.json and reports.
    pub name: &'static str,
    /// The task that reports it.
    pub task: TaskKind,
    /// Mean of per-item scores, or corpus metric from per-item counts.
    pub kind: MetricKind,
    /// What is computed (matched exhaustively by the scorers).
    pub stat: Stat,
    /// The reference implementation it equals (or this project's definition).
    pub reference: &'static str,
    /// One line: what it measures.
    pub doc: &'static str,
}

const fn def(
    name: &'static str,
    task: TaskKind,
    kind: MetricKind,
    stat: Stat,
    reference: &'static str,
    doc: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        task,
        kind,
        stat,
        reference,
        doc,
    }
}

use MetricKind::{Corpus, Mean};
use TaskKind::{Classification, Extraction, FunctionCalling, Summarization};

const SKLEARN: &str = "scikit-learn 1.9.1 `sklearn.metrics`, zero_division=0";
const ROUGE: &str = "rouge-score 0.1.2 `RougeScorer`, mean over items";
const EXTRACTION: &str = "this project (`src/metrics/extraction.rs`)";
const BFCL: &str = "BFCL AST checker rules (`src/metrics/function_call/`, two BFCL flaws fixed)";

#[rustfmt::skip]
static CLASSIFICATION: [MetricDef; 6] = [
    def("macro_f1", Classification, Corpus, Stat::Label(LabelStat::MacroF1), SKLEARN,
        "unweighted mean of per-label F1 (`f1_score(average=\"macro\")`)"),
    def("accuracy", Classification, Mean, Stat::Label(LabelStat::Accuracy), SKLEARN,
        "share of items with the right label (`accuracy_score`)"),
    def("micro_f1", Classification, Corpus, Stat::Label(LabelStat::MicroF1), SKLEARN,
        "F1 of the counts summed over labels (`f1_score(average=\"micro\")`)"),
    def("weighted_f1", Classification, Corpus, Stat::Label(LabelStat::WeightedF1), SKLEARN,
        "per-label F1 weighted by support (`f1_score(average=\"weighted\")`)"),
    def("macro_precision", Classification, Corpus, Stat::Label(LabelStat::MacroPrecision), SKLEARN,
        "unweighted mean of per-label precision (`precision_score(average=\"macro\")`)"),
    def("macro_recall", Classification, Corpus, Stat::Label(LabelStat::MacroRecall), SKLEARN,
        "unweighted mean of per-label recall (`recall_score(average=\"macro\")`)"),
];

#[rustfmt::skip]
static SUMMARIZATION: [MetricDef; 4] = [
    def("rougeLsum_f", Summarization, Mean, Stat::Rouge(RougeStat::RougeLsum), ROUGE,
        "summary-level LCS F-measure over newline-separated sentences (`rougeLsum`)"),
    def("rouge1_f", Summarization, Mean, Stat::Rouge(RougeStat::Rouge1), ROUGE,
        "unigram overlap F-measure (`rouge1`)"),
    def("rouge2_f", Summarization, Mean, Stat::Rouge(RougeStat::Rouge2), ROUGE,
        "bigram overlap F-measure (`rouge2`)"),
    def("rougeL_f", Summarization, Mean, Stat::Rouge(RougeStat::RougeL), ROUGE,
        "longest-common-subsequence F-measure (`rougeL`)"),
];

#[rustfmt::skip]
static EXTRACTION_METRICS: [MetricDef; 5] = [
    def("field_f1", Extraction, Mean, Stat::Field(FieldStat::F1), EXTRACTION,
        "mean over items of the item's F1 of non-empty leaves (matched / predicted, matched / expected)"),
    def("field_accuracy", Extraction, Mean, Stat::Field(FieldStat::Accuracy), EXTRACTION,
        "mean over items of the item's share of expected leaves matched (results.json `details.field_accuracy` is the micro form)"),
    def("record_exact_match", Extraction, Mean, Stat::Field(FieldStat::RecordExact), EXTRACTION,
        "share of items whose every leaf matches with nothing extra"),
    def("parse_rate", Extraction, Mean, Stat::Field(FieldStat::Parsed), EXTRACTION,
        "share of items whose answer contains a JSON value"),
    def("micro_f1", Extraction, Corpus, Stat::Field(FieldStat::MicroF1), EXTRACTION,
        "F1 of matched / predicted / expected non-empty leaves summed over items"),
];

#[rustfmt::skip]
static FUNCTION_CALLING: [MetricDef; 3] = [
    def("full_call_accuracy", FunctionCalling, Mean, Stat::Call(CallStat::Full), BFCL,
        "share of items whose expected calls are all made right (name, arguments) with no extra call"),
    def("name_accuracy", FunctionCalling, Mean, Stat::Call(CallStat::Name), BFCL,
        "share of items whose calls pair one-to-one with the expected function names"),
    def("argument_accuracy", FunctionCalling, Mean, Stat::Call(CallStat::Arguments), BFCL,
        "share of items whose every expected call is matched by a call passing every argument check"),
];

/// The judge's pairwise metric (a judge with `mode: pairwise`).
pub const JUDGE_PREFERENCE: &str = "judge_preference";
/// The judge's rubric metric (a judge with `mode: rubric`).
pub const JUDGE_SCORE: &str = "judge_score";

const JUDGE: &str = "this project (`src/judge/tally.rs`)";
const JUDGE_PREFERENCE_DOC: &str =
    "LLM judge, pairwise in both orders: share of items the candidate wins, ties counting half";
const JUDGE_SCORE_DOC: &str = "LLM judge, rubric: mean score normalised to [0, 1]";

/// The judge's rows, per task: mean metrics over the per-item values the judge's tally puts into the scores. They
/// are gate metrics of every task when the suite has a `judge:` of the matching mode (the validator checks).
#[rustfmt::skip]
static JUDGE_METRICS: [MetricDef; 8] = [
    def(JUDGE_PREFERENCE, Classification, Mean, Stat::Judge(JudgeStat::Preference), JUDGE, JUDGE_PREFERENCE_DOC),
    def(JUDGE_SCORE, Classification, Mean, Stat::Judge(JudgeStat::Score), JUDGE, JUDGE_SCORE_DOC),
    def(JUDGE_PREFERENCE, Summarization, Mean, Stat::Judge(JudgeStat::Preference), JUDGE, JUDGE_PREFERENCE_DOC),
    def(JUDGE_SCORE, Summarization, Mean, Stat::Judge(JudgeStat::Score), JUDGE, JUDGE_SCORE_DOC),
    def(JUDGE_PREFERENCE, Extraction, Mean, Stat::Judge(JudgeStat::Preference), JUDGE, JUDGE_PREFERENCE_DOC),
    def(JUDGE_SCORE, Extraction, Mean, Stat::Judge(JudgeStat::Score), JUDGE, JUDGE_SCORE_DOC),
    def(JUDGE_PREFERENCE, FunctionCalling, Mean, Stat::Judge(JudgeStat::Preference), JUDGE, JUDGE_PREFERENCE_DOC),
    def(JUDGE_SCORE, FunctionCalling, Mean, Stat::Judge(JudgeStat::Score), JUDGE, JUDGE_SCORE_DOC),
];

/// The judge's metric rows of `task` (see [`JUDGE_METRICS`]); not in [`metrics`], which lists what every run of the
/// task computes.
pub fn judge_metrics(task: TaskKind) -> impl Iterator<Item = &'static MetricDef> {
    JUDGE_METRICS.iter().filter(move |d| d.task == task)
}

/// Every metric a task reports, the default gate metric first. The gate accepts exactly these.
pub fn metrics(task: TaskKind) -> &'static [MetricDef] {
    match task {
        Classification => &CLASSIFICATION,
        Summarization => &SUMMARIZATION,
        Extraction => &EXTRACTION_METRICS,
        FunctionCalling => &FUNCTION_CALLING,
    }
}

/// The row for `name` in `task`'s table.
pub fn metric(task: TaskKind, name: &str) -> Option<&'static MetricDef> {
    metrics(task)
        .iter()
        .chain(judge_metrics(task))
        .find(|d| d.name == name)
}

/// The metric the gate uses when the suite names none (the first row of the task's table).
pub fn default_metric(task: TaskKind) -> &'static str {
    metrics(task)[0].name
}

/// Every task, in the order docs list them.
pub const TASKS: [TaskKind; 4] = [Classification, Summarization, Extraction, FunctionCalling];

/// The table as Markdown (one row per metric), as shown in `docs/metrics.md`.
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| task | metric | kind | reference | what it measures |\n|---|---|---|---|---|\n",
    );
    for task in TASKS {
        for (i, d) in metrics(task).iter().enumerate() {
            let default = if i == 0 { " (default)" } else { "" };
            s.push_str(&format!(
                "| {} | `{}`{default} | {} | {} | {} |\n",
                task.as_str(),
                d.name,
                d.kind.as_str(),
                d.reference,
                d.doc
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unique_per_task_and_belong_to_their_task() {
        for task in TASKS {
            let rows = metrics(task);
            assert!(!rows.is_empty());
            for (i, d) in rows.iter().enumerate() {
                assert_eq!(d.task, task, "{}", d.name);
                assert!(
                    rows[..i].iter().all(|o| o.name != d.name),
                    "duplicate {}",
                    d.name
                );
                let stat_task = match d.stat {
                    Stat::Label(_) => Classification,
                    Stat::Rouge(_) => Summarization,
                    Stat::Field(_) => Extraction,
                    Stat::Call(_) => FunctionCalling,
                    Stat::Judge(_) => panic!("judge rows are not in `metrics`: {}", d.name),
                };
                assert_eq!(stat_task, task, "{}", d.name);
                assert!(
                    rows[..i].iter().all(|o| o.stat != d.stat),
                    "stat twice: {}",
                    d.name
                );
                assert!(metric(task, d.name) == Some(d));
            }
            assert_eq!(default_metric(task), rows[0].name);
        }
        assert_eq!(default_metric(Classification), "macro_f1");
        assert_eq!(default_metric(Summarization), "rougeLsum_f");
        assert_eq!(default_metric(Extraction), "field_f1");
        assert_eq!(default_metric(FunctionCalling), "full_call_accuracy");
        assert!(metric(Summarization, "micro_f1").is_none());
    }

    #[test]
    fn judge_rows_are_mean_metrics_of_every_task_and_shadow_nothing() {
        for task in TASKS {
            let rows: Vec<_> = judge_metrics(task).collect();
            assert_eq!(rows.len(), 2);
            for d in rows {
                assert_eq!((d.task, d.kind), (task, Mean));
                assert!(matches!(d.stat, Stat::Judge(_)));
                assert!(metrics(task).iter().all(|o| o.name != d.name));
                assert_eq!(metric(task, d.name), Some(d));
            }
        }
    }

    #[test]
    fn the_module_doc_shows_the_table() {
        // docs/metrics.md is generated from this module doc (scripts/gen_metrics_doc.py).
        let src = include_str!("table.rs");
        let doc: String = markdown_table()
            .lines()
            .map(|l| format!("//! {l}\n"))
            .collect();
        assert!(
            src.contains(&doc),
            "update the module doc of src/metrics/table.rs to:\n{doc}"
        );
    }
}
