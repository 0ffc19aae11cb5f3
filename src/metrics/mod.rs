//! Metrics: every score evalh computes, as pure functions of an answer and its expected value, and the table that
//! lists them per task.
//!
//! Why this module exists: a migration decision is only as good as its metric, so each metric equals a reference
//! implementation (scikit-learn, rouge-score, SQuAD v1.1, BFCL's AST rules) and is tested against golden vectors made
//! by running that reference. Nothing here knows a suite, a journal or a file: no I/O, no clock. `score` binds a
//! suite's task, items and journal outcomes to these functions; `evalh metrics` runs them on outputs produced
//! elsewhere; the suite's validation compiles their settings.

pub mod classification;
pub mod extraction;
pub mod function_call;
pub mod jsonparse;
mod label_counts;
pub mod labels;
pub mod rouge;
pub mod squad;
mod table;
mod task;

pub use extraction::ExtractionConfig;
pub use function_call::FunctionCallConfig;
pub use label_counts::{
    classification_metric, report_without_marker, LabelCounts, LabelIds, UNPARSEABLE,
};
pub use labels::LabelExtract;
pub use table::{
    default_metric, judge_metrics, markdown_table, metric, metrics, CallStat, FieldStat, JudgeStat,
    LabelStat, MetricDef, MetricKind, RougeStat, Stat, TaskKind, JUDGE_PREFERENCE, JUDGE_SCORE,
    TASKS,
};
pub use task::{SettingError, TaskScorer};
