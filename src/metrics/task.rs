//! The compiled scorer of a task: its settings checked and compiled once (label patterns, extraction rules, the
//! JSON Schema), then used for every item.
//!
//! Why this module exists: the suite's validation builds exactly this value to check the scoring settings, and
//! scoring builds it again to score, so what validates is the code that will score.

use super::extraction::{ExtractionConfig, ExtractionScorer};
use super::labels::{LabelExtract, LabelExtractor};
use super::rouge::RougeScorer;
use super::table::TaskKind;

/// The compiled scorer of one task.
pub enum TaskScorer {
    /// How an answer becomes a label.
    Classification(LabelExtractor),
    /// ROUGE, with or without stemming.
    Summarization(RougeScorer),
    /// Field rules and the optional schema.
    Extraction(ExtractionScorer),
    /// Function calls need the tools, which the caller holds.
    FunctionCalling,
}

/// A setting [`TaskScorer::new`] rejects: the `scoring.<key>` it belongs to and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingError {
    /// `label_extract` or `extraction`.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl TaskScorer {
    /// Compile the settings `task` reads (the others are ignored). The extraction schema must already be a JSON
    /// value (the suite loader reads a schema file).
    pub fn new(
        task: TaskKind,
        label_extract: &LabelExtract,
        labels: &[String],
        rouge_stem: bool,
        extraction: &ExtractionConfig,
    ) -> Result<Self, SettingError> {
        let bad = |key, message| SettingError { key, message };
        Ok(match task {
            TaskKind::Classification => TaskScorer::Classification(
                LabelExtractor::new(label_extract, labels).map_err(|e| bad("label_extract", e))?,
            ),
            TaskKind::Summarization => TaskScorer::Summarization(RougeScorer::new(rouge_stem)),
            TaskKind::Extraction => TaskScorer::Extraction(
                ExtractionScorer::new(extraction).map_err(|e| bad("extraction", e))?,
            ),
            TaskKind::FunctionCalling => TaskScorer::FunctionCalling,
        })
    }
}
