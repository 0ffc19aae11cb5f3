//! Metrics: every score evalh computes, as pure functions of an answer and its expected value, and the table that
//! lists them per task.
//!
//! Why this module exists: a migration decision is only as good as its metric, so each metric equals a reference
//! implementation (scikit-learn, rouge-score, SQuAD v1.1, BFCL's AST rules) and is tested against golden vectors made
//! by running that reference. Nothing here knows a suite, a journal or a file: no I/O, no clock. `score` binds a
//! suite's task, items and journal outcomes to these functions; `evalh metrics` runs them on outputs produced
//! elsewhere; the suite's validation compiles their settings.

mod classification;
mod extraction;
mod function_call;
mod jsonparse;
mod label_counts;
mod labels;
mod rouge;
mod squad;
mod table;
mod task;

pub use classification::{
    report as classification_report, try_report as try_classification_report, ClassReport,
    ClassificationError, ClassificationReport, Prf,
};
pub use extraction::{
    aggregate as aggregate_extraction, CorpusScore, ExtractionConfig, ExtractionScorer, ItemScore,
    LeafCounts,
};
pub use function_call::{
    category_summary, check as check_calls, check_compat as check_calls_compat, may_hold_big_int,
    parse_exact_json, CallVerdict, Category, Compat, ExpectedCall, FunctionCallConfig, ToolSet,
};
pub use jsonparse::parse_model_json;
pub use label_counts::{
    classification_metric, report_without_marker, LabelCounts, LabelIds, UNPARSEABLE,
};
pub use labels::{LabelExtract, LabelExtractor};
pub use rouge::{tokenize as rouge_tokenize, Prf as RougePrf, RougeScorer, RougeScores};
pub use squad::{
    best as squad_best, exact_match as squad_exact_match, f1 as squad_f1, normalize_answer,
};
pub use table::{
    default_metric, judge_metrics, markdown_table, metric, metrics, CallStat, FieldStat, JudgeStat,
    LabelStat, MetricDef, MetricKind, RougeStat, Stat, TaskKind, JUDGE_PREFERENCE, JUDGE_SCORE,
    TASKS,
};
pub use task::{SettingError, TaskScorer};
