//! Usage and request logs: the shared reader behind `evalh audit` and `evalh dataset from-logs`.
//!
//! Why this module exists: a migration starts from what a team already records — LiteLLM spend logs, its own
//! request log, a dump of chat messages — in files of millions of lines. This module reads JSON lines, JSON arrays
//! and CSV, gzipped or not, in constant memory and on every core, and turns each line into a [`Record`] through a
//! small field mapping ([`LogSpec`]: a built-in [`Preset`] or the `log:` section of a [`Mapping`]). A
//! malformed line is counted and named in the report, never fatal; a mapping that reads nothing from the logs is bad
//! input, found on the first rows before the whole file is read.
//!
//! * `fields` – the canonical fields, sources (dotted paths, `tag:` prefixes) and presets.
//! * `mapping` – the mapping file (`log:`, `buckets:`, `suites:`, `prices:`).
//! * `extract` – one serde pass per line that captures only the mapped paths.
//! * `record` – typed rows (timestamps, token counts, statuses).
//! * `read` – files, gzip, batches and the worker threads ([`scan`] with a [`Sink`] per worker).

mod extract;
mod fields;
mod mapping;
mod mask;
mod read;
mod record;

pub use extract::Plan;
pub use fields::{Field, LogSpec, Preset, Source, Syntax};
pub use mapping::{load as load_mapping, BucketRules, LogSection, Mapping, BUCKET_NAMES};
pub use mask::{luhn, mask_text, mask_value, MaskCounts};
pub use read::{
    scan, workers, FileReport, Input, Loc, Probe, ScanReport, Sink, MALFORMED_EXAMPLES,
    MAX_LINE_BYTES,
};
pub use record::{content_text, status_ok, timestamp_ms, Record};

use crate::error::{InputError, Result};

/// Rows of each input checked against the mapping before the real pass.
pub const PROBE_ROWS: usize = 1000;

/// The inputs as the reader takes them (the mapping's `log.syntax`, if any, applies to all).
pub fn inputs(paths: &[std::path::PathBuf], mapping: Option<&Mapping>) -> Vec<Input> {
    let syntax = mapping.and_then(|m| m.log.syntax);
    paths
        .iter()
        .map(|p| Input {
            path: p.clone(),
            syntax,
        })
        .collect()
}

/// The field mapping for these inputs: the preset named on the command line, else the mapping file's, else the one
/// the first input's first row looks like; the mapping file's `log.fields` replace the preset's.
pub fn resolve(
    preset: Option<Preset>,
    mapping: Option<&Mapping>,
    inputs: &[Input],
) -> Result<LogSpec> {
    let log = mapping.map(|m| m.log.clone()).unwrap_or_default();
    let chosen = match preset.or(log.preset) {
        Some(p) => Some(p),
        None => match inputs.first() {
            Some(first) => read::first_keys(first)?
                .and_then(|(_, keys)| Preset::detect(keys.iter().map(String::as_str))),
            None => None,
        },
    };
    let mut spec = match chosen {
        Some(p) => LogSpec::preset(p),
        None if !log.fields.is_empty() => LogSpec {
            preset: None,
            syntax: None,
            fields: Default::default(),
        },
        None => {
            let first = inputs.first().map(|i| i.path.clone()).unwrap_or_default();
            let keys = read::first_keys(&Input {
                path: first.clone(),
                syntax: log.syntax,
            })
            .ok()
            .flatten();
            let mut e = InputError::new(&first, "cannot tell what kind of log this is");
            let mut seen = String::new();
            if let Some((line, keys)) = keys {
                e = e.at_line(line as usize);
                seen = format!(" (the first row has: {})", keys.join(", "));
            }
            return Err(e
                .hint(format!(
                    "pass --format litellm|openai|chat, or map the fields in a mapping file (`log: {{fields: {{model: ..., input_tokens: ...}}}}`, see docs/decision.md){seen}"
                ))
                .into());
        }
    };
    spec.syntax = log.syntax;
    for (f, srcs) in log.fields {
        spec.fields.insert(f, srcs);
    }
    Ok(spec)
}

fn present(r: &Record, f: Field) -> bool {
    match f {
        Field::Model => r.model.is_some(),
        Field::InputTokens | Field::OutputTokens | Field::CachedTokens => r.has_tokens,
        Field::Messages => r.messages.is_some(),
        Field::Feature => r.feature.is_some(),
        Field::Timestamp => r.timestamp_ms.is_some(),
        Field::Answer => r.answer.is_some(),
        Field::TaskType => r.task_type.is_some(),
        Field::Cost => r.logged_cost.is_some(),
        Field::Tags => !r.tags.is_empty(),
        Field::Status => true,
    }
}

/// Check on the first [`PROBE_ROWS`] rows of every input that the mapping reads each of `required` from at least
/// one row (and that some rows are well-formed at all): a wrong preset or path is bad input now, not an empty
/// report after the whole file was read.
pub fn check(inputs: &[Input], spec: &LogSpec, required: &[Field]) -> Result<()> {
    let plan = Plan::new(spec, &Field::ALL, &[]);
    for input in inputs {
        let (rows, bad, _) = read::probe(input, &plan, PROBE_ROWS)?;
        if rows.is_empty() {
            if let Some((at, why)) = bad.first() {
                return Err(InputError::new(&input.path, format!("none of the first {} lines is a usable row: {why}", bad.len()))
                    .at_line(at.line as usize)
                    .hint("check that the file is JSON lines (one object per line) or CSV with a header, and the field mapping")
                    .into());
            }
            continue; // an empty file reads as zero rows
        }
        for f in required {
            if rows.iter().any(|(_, r)| present(r, *f)) {
                continue;
            }
            let line = rows[0].0.line as usize;
            let keys = read::first_keys(input)
                .ok()
                .flatten()
                .map(|(_, k)| k)
                .unwrap_or_default();
            let sources: Vec<String> = spec.sources(*f).iter().map(ToString::to_string).collect();
            let from = if sources.is_empty() {
                "which the mapping does not read".to_string()
            } else {
                format!("read from `{}` ({})", sources.join("`, `"), spec.describe())
            };
            let better =
                Preset::detect(keys.iter().map(String::as_str)).filter(|p| Some(*p) != spec.preset);
            let hint = match better {
                Some(p) => format!("these rows look like `{}` logs: pass --format {}", p.name(), p.name()),
                None => format!(
                    "map it in a mapping file: `log: {{fields: {{{f}: <path>}}}}` (the first row has: {})",
                    keys.join(", ")
                ),
            };
            return Err(InputError::new(
                &input.path,
                format!("none of the first {} rows has `{f}`, {from}", rows.len()),
            )
            .at_line(line)
            .hint(hint)
            .into());
        }
    }
    Ok(())
}
