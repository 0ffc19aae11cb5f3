//! `evalh audit`: where the money goes and what could move, from a team's own request or usage logs.
//!
//! Why this module exists: the migration method starts with an audit — segment the requests by feature into bucket 1
//! (keep premium), 2 (migration target) and 3 (rules or the cheapest model), see each one's share of tokens and
//! spend — and ends with the savings a passing candidate would bring. Teams do this by hand in a spreadsheet from a
//! sample; this reads every line of the logs (millions, gzipped, in constant memory), prices them at the pinned
//! prices of `crate::cost`, lists what is unmapped or unpriced instead of hiding it, and projects the savings
//! from the runs' own cost-ratio intervals.
//!
//! * `buckets` – the mapping file's bucket rules, compiled.
//! * `aggregate` – the per-worker tallies (a [`crate::logs::Sink`]).
//! * `hist` – token counts per request: exact nearest-rank percentiles in bounded memory.
//! * `savings` – the monthly projection per passing candidate and rollout stage.
//! * `render` / `page` – the terminal table and the self-contained HTML page; the JSON is [`Audit`] itself.

mod aggregate;
mod buckets;
mod hist;
mod page;
mod render;
mod savings;

pub use aggregate::{MAX_FEATURES, MAX_MODELS, NO_FEATURE, NO_MODEL, OTHER_FEATURES, OTHER_MODELS};
pub use buckets::{first_text, normalize_model, Buckets};
pub use hist::{Hist, EXACT_BELOW};
pub use page::render as render_html;
pub use render::render as render_terminal;
pub use savings::{
    load_run, project, CandidateSavings, FeatureSpend, RunCandidate, RunResults, RunSavings,
    Savings, Stage, MONTH_DAYS, STAGES,
};

use crate::chat::Usage;
use crate::error::{InputError, Result};
use crate::logs::{self, Field, FileReport, Mapping, Preset, BUCKET_NAMES};
use crate::suite::Price;
use aggregate::{Group, Tally};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// How the percentiles are computed (stated in every output).
pub const QUANTILE_METHOD: &str =
    "nearest rank over a histogram of tokens per request: exact below 65,536 tokens, \
     within 0.05% (12 significant bits) above";

/// What `evalh audit` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Log files.
    pub logs: Vec<PathBuf>,
    /// Preset forced on the command line (`None`: the mapping's, else detected).
    pub preset: Option<Preset>,
    /// The mapping file.
    pub mapping: Option<Mapping>,
    /// Run directories for savings.
    pub runs: Vec<PathBuf>,
    /// Days the logs cover (overrides their timestamps).
    pub days: Option<f64>,
    /// Show a progress bar on a terminal.
    pub progress: bool,
}

/// Percentiles of tokens per request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantiles {
    /// Median.
    pub p50: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
}

impl Quantiles {
    fn of(h: &Hist) -> Quantiles {
        Quantiles {
            p50: h.quantile(0.5),
            p99: h.quantile(0.99),
        }
    }
}

/// One model's share of a feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRow {
    /// As logged.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Cached input tokens.
    pub cached_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost at the price in force (null: unpriced).
    pub cost_usd: Option<f64>,
    /// Where the price comes from: `pinned table: <model>` or `mapping file`.
    pub price_source: Option<String>,
}

/// One feature in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureRow {
    /// Feature name (or [`NO_FEATURE`]).
    pub feature: String,
    /// Bucket 1-3, null when unmapped.
    pub bucket: Option<u8>,
    /// Requests.
    pub requests: u64,
    /// Failed requests (by the logged status).
    pub errors: u64,
    /// Input tokens (cached included).
    pub input_tokens: u64,
    /// Cached input tokens.
    pub cached_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input + output.
    pub tokens: u64,
    /// Cost at the pinned prices (unpriced models count 0).
    pub cost_usd: f64,
    /// Share of all spend.
    pub cost_share: f64,
    /// Share of all tokens.
    pub token_share: f64,
    /// The log's own cost column, summed (null: the log has none).
    pub logged_cost_usd: Option<f64>,
    /// Input + output tokens per request.
    pub tokens_per_request: Quantiles,
    /// Input tokens per request.
    pub input_tokens_per_request: Quantiles,
    /// Output tokens per request.
    pub output_tokens_per_request: Quantiles,
    /// Per model, by cost.
    pub models: Vec<ModelRow>,
}

/// One bucket's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketRow {
    /// 1-3, null for unmapped.
    pub bucket: Option<u8>,
    /// Its name.
    pub name: String,
    /// Features in it.
    pub features: usize,
    /// Requests.
    pub requests: u64,
    /// Input + output tokens.
    pub tokens: u64,
    /// Cost.
    pub cost_usd: f64,
    /// Share of spend.
    pub cost_share: f64,
    /// Share of tokens.
    pub token_share: f64,
}

/// All rows together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Cached input tokens.
    pub cached_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input + output.
    pub tokens: u64,
    /// Cost at the pinned prices.
    pub cost_usd: f64,
    /// The logs' own cost column (null when none).
    pub logged_cost_usd: Option<f64>,
    /// Requests on models with no price.
    pub unpriced_requests: u64,
}

/// A feature no bucket rule matches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unmapped {
    /// Feature name.
    pub feature: String,
    /// Requests.
    pub requests: u64,
    /// Cost at the pinned prices.
    pub cost_usd: f64,
    /// Share of spend.
    pub cost_share: f64,
}

/// A model with no price: its requests cost 0 in the audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unpriced {
    /// As logged.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Input + output tokens.
    pub tokens: u64,
}

/// The time the logs cover.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    /// First timestamp (RFC 3339, UTC).
    pub start: Option<String>,
    /// Last timestamp.
    pub end: Option<String>,
    /// Days used for monthly figures (null: unknown).
    pub days: Option<f64>,
    /// `timestamps`, `--days` or `unknown`.
    pub source: String,
    /// Rows without a timestamp.
    pub rows_without_timestamp: u64,
}

/// The audit: `audit.json` is this value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audit {
    /// evalh version.
    pub evalh_version: String,
    /// How the logs were read.
    pub format: String,
    /// The mapping file, if any.
    pub mapping: Option<PathBuf>,
    /// Per input file.
    pub inputs: Vec<FileReport>,
    /// The price table.
    pub price_table: String,
    /// How percentiles are computed.
    pub quantile_method: String,
    /// Time span.
    pub period: Period,
    /// Everything.
    pub totals: Totals,
    /// Per bucket (1, 2, 3, then unmapped).
    pub buckets: Vec<BucketRow>,
    /// Per feature and bucket, by cost.
    pub features: Vec<FeatureRow>,
    /// Features no rule puts in a bucket, by cost (the same rows as in `features`, listed so nothing hides).
    pub unmapped: Vec<Unmapped>,
    /// Models without a price.
    pub unpriced_models: Vec<Unpriced>,
    /// Malformed rows skipped.
    pub malformed: u64,
    /// The first of them.
    pub malformed_examples: Vec<String>,
    /// Savings, when run directories were given.
    pub savings: Option<Savings>,
    /// Caveats.
    pub notes: Vec<String>,
}

/// The price in force for a logged model: the mapping file's, else the pinned table's.
fn price_of(model: &str, mapping: Option<&Mapping>) -> Option<(Price, String)> {
    let norm = normalize_model(model);
    if let Some(m) = mapping {
        if let Some((_, p)) = m.prices.iter().find(|(k, _)| normalize_model(k) == norm) {
            return Some((*p, "mapping file".into()));
        }
    }
    crate::cost::lookup(model).map(|mi| (mi.price(), format!("pinned table: {}", mi.model)))
}

fn share(x: f64, total: f64) -> f64 {
    if total > 0.0 {
        x / total
    } else {
        0.0
    }
}

fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Read the logs and the runs, and build the audit.
pub fn audit(opts: &Options) -> Result<Audit> {
    let mapping = opts.mapping.as_ref();
    let inputs = logs::inputs(&opts.logs, mapping);
    let spec = logs::resolve(opts.preset, mapping, &inputs)?;
    let mut required = vec![Field::Model, Field::InputTokens];
    if !opts.runs.is_empty() && opts.days.is_none() {
        required.push(Field::Timestamp);
    }
    logs::check(&inputs, &spec, &required).map_err(|e| match e {
        crate::error::Error::Input(ie)
            if required.contains(&Field::Timestamp) && ie.message.contains("`timestamp`") =>
        {
            let hint = format!(
                "{}; or pass --days N (how many days the logs cover) for the monthly projection",
                ie.hint.clone().unwrap_or_default()
            );
            ie.hint(hint).into()
        }
        other => other,
    })?;
    // The runs before the long pass: a wrong directory or an unmapped suite is bad input now.
    let runs = load_runs(&opts.runs, mapping)?;
    let buckets = Arc::new(Buckets::new(
        &mapping.map(|m| m.buckets.clone()).unwrap_or_default(),
    ));
    let mut wanted = vec![
        Field::Timestamp,
        Field::Model,
        Field::InputTokens,
        Field::OutputTokens,
        Field::CachedTokens,
        Field::Feature,
        Field::Tags,
        Field::Status,
        Field::Cost,
    ];
    if buckets.needs_prompt() {
        wanted.push(Field::Messages);
    }
    let plan = logs::Plan::new(&spec, &wanted, &[]);
    let (tally, scan) = logs::scan(&inputs, &plan, opts.progress.then_some("audit"), || {
        Tally::new(buckets.clone())
    })?;
    let mut a = build(tally, &scan, mapping, opts.days)?;
    a.format = spec.describe();
    a.mapping = mapping.map(|m| m.path.clone());
    a.inputs = scan.files;
    if buckets.is_empty() {
        a.notes.push("no mapping file (or no `buckets:` in it): every feature is unmapped; see docs/decision.md for the mapping".into());
    }
    if !runs.is_empty() {
        a.savings = Some(savings_of(&a, &runs)?);
    }
    Ok(a)
}

fn load_runs(dirs: &[PathBuf], mapping: Option<&Mapping>) -> Result<Vec<(RunResults, String)>> {
    let mut out = Vec::new();
    for d in dirs {
        let run = savings::load_run(d)?;
        let feature = mapping.and_then(|m| m.suites.get(&run.suite)).cloned();
        let Some(feature) = feature else {
            let file = mapping.map(|m| m.path.clone()).unwrap_or_default();
            return Err(InputError::new(&file, format!("suite `{}` (run {}) is not mapped to a feature", run.suite, d.display()))
                .hint(format!(
                    "add `suites: {{{}: <feature>}}` to the mapping file (--mapping) to say whose traffic the suite stands for",
                    run.suite
                ))
                .into());
        };
        out.push((run, feature));
    }
    Ok(out)
}

fn savings_of(a: &Audit, runs: &[(RunResults, String)]) -> Result<Savings> {
    let Some(days) = a.period.days else {
        return Err(InputError::new("", "the logs' period is unknown (no timestamps, or all equal), so no monthly saving can be projected")
            .hint("pass --days N: how many days the logs cover")
            .into());
    };
    let mut out = Vec::new();
    for (run, feature) in runs {
        let rows: Vec<&FeatureRow> = a
            .features
            .iter()
            .filter(|f| &f.feature == feature)
            .collect();
        let mut models: BTreeMap<String, f64> = BTreeMap::new();
        for r in &rows {
            for m in &r.models {
                *models.entry(m.model.clone()).or_default() += m.cost_usd.unwrap_or(0.0);
            }
        }
        let mut models: Vec<(String, f64)> = models.into_iter().collect();
        models.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        let spend = savings::FeatureSpend {
            requests: rows.iter().map(|r| r.requests).sum(),
            cost_usd: rows.iter().map(|r| r.cost_usd).sum(),
            models,
        };
        out.push(savings::project(run, feature, &spend, days));
    }
    Ok(Savings {
        period_days: days,
        period_source: a.period.source.clone(),
        month_days: savings::MONTH_DAYS,
        stages: STAGES.to_vec(),
        runs: out,
    })
}

/// A logged name as the outputs show it: with anything that looks like a secret or personal data masked (a team
/// that keys features by user or API key must not find them in a report).
fn shown(name: &str) -> String {
    crate::logs::mask_text(name, &mut Default::default())
}

fn feature_row(
    feature: &str,
    bucket: Option<u8>,
    g: &Group,
    mapping: Option<&Mapping>,
    unpriced: &mut BTreeMap<String, (u64, u64)>,
) -> FeatureRow {
    let mut models: Vec<ModelRow> = g
        .models
        .iter()
        .map(|(m, t)| {
            let priced = if m == OTHER_MODELS || m == NO_MODEL {
                None
            } else {
                price_of(m, mapping)
            };
            if priced.is_none() {
                let e = unpriced.entry(shown(m)).or_default();
                e.0 += t.requests;
                e.1 += t.input + t.output;
            }
            ModelRow {
                model: shown(m),
                requests: t.requests,
                input_tokens: t.input,
                cached_tokens: t.cached,
                output_tokens: t.output,
                cost_usd: priced.as_ref().map(|(p, _)| {
                    crate::cost::cost_usd(
                        p,
                        &Usage {
                            input_tokens: t.input,
                            cached_input_tokens: t.cached,
                            output_tokens: t.output,
                            ..Default::default()
                        },
                    )
                }),
                price_source: priced.map(|(_, s)| s),
            }
        })
        .collect();
    models.sort_by(|a, b| {
        b.cost_usd
            .unwrap_or(0.0)
            .total_cmp(&a.cost_usd.unwrap_or(0.0))
            .then(a.model.cmp(&b.model))
    });
    let sum = |f: fn(&ModelRow) -> u64| models.iter().map(f).sum::<u64>();
    let (input, cached, output) = (
        sum(|m| m.input_tokens),
        sum(|m| m.cached_tokens),
        sum(|m| m.output_tokens),
    );
    FeatureRow {
        feature: shown(feature),
        bucket,
        requests: g.requests,
        errors: g.errors,
        input_tokens: input,
        cached_tokens: cached,
        output_tokens: output,
        tokens: input + output,
        cost_usd: models.iter().filter_map(|m| m.cost_usd).sum(),
        cost_share: 0.0,
        token_share: 0.0,
        logged_cost_usd: (g.logged_cost_rows > 0).then_some(g.logged_nano_usd as f64 * 1e-9),
        tokens_per_request: Quantiles::of(&g.total_hist),
        input_tokens_per_request: Quantiles::of(&g.input_hist),
        output_tokens_per_request: Quantiles::of(&g.output_hist),
        models,
    }
}

fn build(
    tally: Tally,
    scan: &logs::ScanReport,
    mapping: Option<&Mapping>,
    days: Option<f64>,
) -> Result<Audit> {
    let mut unpriced: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut features = Vec::new();
    for (f, slots) in &tally.groups {
        for (i, g) in slots.iter().enumerate() {
            if let Some(g) = g {
                features.push(feature_row(
                    f,
                    (i > 0).then_some(i as u8),
                    g,
                    mapping,
                    &mut unpriced,
                ));
            }
        }
    }
    // A fixed order before any float is summed: the same logs give the same bytes whatever the threads did.
    features.sort_by(|a, b| a.feature.cmp(&b.feature).then(a.bucket.cmp(&b.bucket)));
    let total_cost: f64 = features.iter().map(|f| f.cost_usd).sum();
    let total_tokens: u64 = features.iter().map(|f| f.tokens).sum();
    for f in &mut features {
        f.cost_share = share(f.cost_usd, total_cost);
        f.token_share = share(f.tokens as f64, total_tokens as f64);
    }
    features.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.tokens.cmp(&a.tokens))
            .then(a.feature.cmp(&b.feature))
            .then(a.bucket.cmp(&b.bucket))
    });
    let buckets: Vec<BucketRow> = [Some(1u8), Some(2), Some(3), None]
        .into_iter()
        .map(|b| {
            let rows: Vec<&FeatureRow> = features.iter().filter(|f| f.bucket == b).collect();
            let cost: f64 = rows.iter().map(|f| f.cost_usd).sum();
            let tokens: u64 = rows.iter().map(|f| f.tokens).sum();
            BucketRow {
                bucket: b,
                name: b.map_or("unmapped".to_string(), |n| {
                    BUCKET_NAMES[usize::from(n) - 1].to_string()
                }),
                features: rows.len(),
                requests: rows.iter().map(|f| f.requests).sum(),
                tokens,
                cost_usd: cost,
                cost_share: share(cost, total_cost),
                token_share: share(tokens as f64, total_tokens as f64),
            }
        })
        .collect();
    let logged: Vec<f64> = features.iter().filter_map(|f| f.logged_cost_usd).collect();
    let totals = Totals {
        requests: features.iter().map(|f| f.requests).sum(),
        errors: features.iter().map(|f| f.errors).sum(),
        input_tokens: features.iter().map(|f| f.input_tokens).sum(),
        cached_tokens: features.iter().map(|f| f.cached_tokens).sum(),
        output_tokens: features.iter().map(|f| f.output_tokens).sum(),
        tokens: total_tokens,
        cost_usd: total_cost,
        logged_cost_usd: (!logged.is_empty()).then(|| logged.iter().sum()),
        unpriced_requests: unpriced.values().map(|v| v.0).sum(),
    };
    let mut unpriced_models: Vec<Unpriced> = unpriced
        .into_iter()
        .map(|(model, (requests, tokens))| Unpriced {
            model,
            requests,
            tokens,
        })
        .collect();
    unpriced_models.sort_by(|a, b| b.tokens.cmp(&a.tokens).then(a.model.cmp(&b.model)));
    let span_days = tally
        .span
        .map(|(a, b)| (b - a) as f64 / 86_400_000.0)
        .filter(|d| *d > 0.0);
    let period = Period {
        start: tally.span.and_then(|s| rfc3339(s.0)),
        end: tally.span.and_then(|s| rfc3339(s.1)),
        days: days.or(span_days),
        source: if days.is_some() {
            "--days"
        } else if span_days.is_some() {
            "timestamps"
        } else {
            "unknown"
        }
        .into(),
        rows_without_timestamp: tally.no_timestamp,
    };
    let mut notes = Vec::new();
    if tally.groups.contains_key(OTHER_FEATURES) {
        notes.push(format!("more than {MAX_FEATURES} distinct features: the rest are pooled as `{OTHER_FEATURES}` (is the feature field a request id?)"));
    }
    if let Some(d) = period.days.filter(|d| *d < 1.0) {
        notes.push(format!("the logs cover {:.1} hours: monthly figures scale them ×{:.0} and assume that traffic is typical", d * 24.0, 30.0 / d));
    }
    let unmapped = features
        .iter()
        .filter(|f| f.bucket.is_none())
        .map(|f| Unmapped {
            feature: f.feature.clone(),
            requests: f.requests,
            cost_usd: f.cost_usd,
            cost_share: f.cost_share,
        })
        .collect();
    Ok(Audit {
        evalh_version: env!("CARGO_PKG_VERSION").to_string(),
        format: String::new(),
        mapping: None,
        inputs: Vec::new(),
        price_table: crate::cost::PRICE_TABLE_SOURCE.to_string(),
        quantile_method: QUANTILE_METHOD.to_string(),
        period,
        totals,
        buckets,
        features,
        unmapped,
        unpriced_models,
        malformed: scan.malformed,
        malformed_examples: scan.malformed_examples.clone(),
        savings: None,
        notes,
    })
}
