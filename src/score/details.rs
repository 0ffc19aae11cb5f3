//! What each task reports beside its metrics (results.json `providers[].details`), as types.
//!
//! Why this module exists: the charts and the HTML report draw per-class F1, confusion matrices, per-field and
//! per-function accuracy and error types from these details. Read as JSON keys, a renamed field silently emptied a
//! chart; as typed fields, a rename does not compile. Each variant serialises to exactly the object results.json has
//! always held.

use crate::metrics::{ClassReport, Compat, CorpusScore, Prf};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One provider's task-specific details.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Details {
    /// Nothing (`null`).
    None,
    /// Classification: labels, confusion matrix, per-class and averaged P/R/F1.
    Classification(ClassificationDetails),
    /// Summarization: mean P/R/F of each ROUGE type.
    Summarization(SummarizationDetails),
    /// Extraction: the corpus scores (micro P/R/F1, per-field accuracy, schema validity).
    Extraction(CorpusScore),
    /// Function calling: per-function accuracy, error types, irrelevance, BFCL categories.
    FunctionCalling(FunctionCallDetails),
}

impl Details {
    /// The classification details, if these are.
    pub fn classification(&self) -> Option<&ClassificationDetails> {
        match self {
            Details::Classification(c) => Some(c),
            _ => None,
        }
    }

    /// The extraction details, if these are.
    pub fn extraction(&self) -> Option<&CorpusScore> {
        match self {
            Details::Extraction(c) => Some(c),
            _ => None,
        }
    }

    /// The function-calling details, if these are.
    pub fn function_calling(&self) -> Option<&FunctionCallDetails> {
        match self {
            Details::FunctionCalling(d) => Some(d),
            _ => None,
        }
    }
}

/// Classification details (scikit-learn's report with `zero_division = 0`).
#[derive(Debug, Clone, Serialize)]
pub struct ClassificationDetails {
    /// Label order (of the confusion matrix and `per_class`).
    pub labels: Vec<String>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
    /// Per-label precision, recall, F1, support.
    pub per_class: Vec<ClassReport>,
    /// Micro average.
    pub micro: Prf,
    /// Macro average.
    #[serde(rename = "macro")]
    pub macro_avg: Prf,
    /// Support-weighted average.
    pub weighted: Prf,
    /// Successful answers no label could be read from.
    pub unparseable: usize,
    /// scikit-learn's `zero_division` (always 0).
    pub zero_division: u8,
}

/// Mean precision, recall and F-measure of one ROUGE type over items.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MeanPrf {
    /// Mean precision.
    pub precision: f64,
    /// Mean recall.
    pub recall: f64,
    /// Mean F-measure.
    pub fmeasure: f64,
}

/// Summarization details.
#[derive(Debug, Clone, Serialize)]
pub struct SummarizationDetails {
    /// `rouge1`, `rouge2`, `rougeL`, `rougeLsum` → means.
    pub means: BTreeMap<String, MeanPrf>,
    /// The stemmer.
    pub stemmer: &'static str,
    /// The tokenizer.
    pub tokenizer: &'static str,
}

/// One function's expected calls and how many were made right.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FunctionAccuracy {
    /// Expected calls of the function.
    pub n: u64,
    /// Made right.
    pub correct: u64,
    /// `correct / n`.
    pub accuracy: f64,
}

/// Irrelevance items (no call expected) and how many the provider abstained on.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Irrelevance {
    /// Items.
    pub n: u64,
    /// Correct abstentions.
    pub correct: u64,
}

/// Function-calling details.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionCallDetails {
    /// Per function name.
    pub per_function: BTreeMap<String, FunctionAccuracy>,
    /// Items per error type.
    pub error_types: BTreeMap<String, u64>,
    /// Irrelevance items.
    pub irrelevance: Irrelevance,
    /// The checker's rules.
    pub compat: Compat,
    /// Accuracy per BFCL category (`metrics::category_summary`).
    pub per_category: Value,
    /// Where the categories came from.
    pub category_source: Value,
    /// BFCL's own summary figures.
    pub bfcl_summary: Value,
}
