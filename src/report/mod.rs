//! Reports: every way a run's results leave evalh — terminal table, results.json, JUnit XML, Markdown summary, and
//! (in `html` and `chart`) the self-contained HTML report with PNG charts.
//!
//! Why this module exists: the same [`crate::summary::Analysis`] feeds every format, so the verdict a CI job acts on,
//! the table an engineer reads and the report a reviewer opens can never disagree. Each format is one file here.

pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

/// Format a USD amount compactly.
pub fn usd(x: f64) -> String {
    if x == 0.0 {
        "$0".into()
    } else if x.abs() < 0.01 {
        format!("${x:.5}")
    } else {
        format!("${x:.2}")
    }
}

/// Format an optional number with `digits` decimals, "-" when absent.
pub fn opt(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "-".into())
}
