//! The suite schema (v1): the typed form of a suite YAML file.
//!
//! Why this module exists: the suite is the contract between a user and evalh. Every key is declared here once, with
//! `deny_unknown_fields` so a misspelt key is an error (with a did-you-mean) instead of a silently ignored setting.
//! Defaults live here too, so the resolved suite written into each run directory says exactly what was used.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::chat::ToolDef;
/// A provider's price (defined with the cost computation that reads it).
pub use crate::cost::Price;
/// The task type (defined with the metric table, which lists each task's metrics).
pub use crate::metrics::TaskKind;

/// A whole suite file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Schema version; only 1 exists.
    #[serde(default = "one_u32")]
    pub version: u32,
    /// Suite name; used in run-directory names.
    pub name: String,
    /// Free text shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The task type, which picks the scorer.
    pub task: TaskKind,
    /// Where the items come from.
    pub dataset: DatasetSpec,
    /// Classification labels (required for classification).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Prompt templates.
    pub prompt: PromptSpec,
    /// Tool definitions for function calling: a list, or a path (relative to the suite) to a JSON/YAML list.
    #[serde(default, skip_serializing_if = "ToolsSpec::is_empty")]
    pub tools: ToolsSpec,
    /// Task-specific scoring settings.
    #[serde(default)]
    pub scoring: ScoringSpec,
    /// One baseline and any number of candidates.
    #[serde(default)]
    pub providers: Vec<ProviderSpec>,
    /// The promotion rule.
    #[serde(default)]
    pub gate: GateSpec,
    /// Scheduling, retries, budget.
    #[serde(default)]
    pub run: RunSpec,
    /// An LLM judge comparing or scoring the providers' outputs (see `crate::judge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<super::judge::JudgeSpec>,
}

fn one_u32() -> u32 {
    1
}

/// Dataset location and field mapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Path relative to the suite file.
    pub path: String,
    /// Field holding the item id; the 1-based row number when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Field holding the ground truth.
    pub expected: String,
    /// Rows may lack the ground-truth field (set from `scoring.reference` when the suite is loaded: agreement
    /// scoring needs no labels).
    #[serde(skip)]
    pub unlabelled_ok: bool,
    /// `jsonl` or `csv`; inferred from the extension when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DatasetFormat>,
    /// Use only the first N items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Dataset file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated with a header row.
    Csv,
}

/// Prompt templates (minijinja, strict undefined).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// System message template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// User message template.
    pub user: String,
    /// Example turns placed between the system and user messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub few_shot: Vec<FewShot>,
}

/// One few-shot example.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FewShot {
    /// User turn (template).
    pub user: String,
    /// Assistant turn (template).
    pub assistant: String,
}

/// How a suite (or its tools file) writes a tool: no unknown keys, and `parameters` may be left out (a tool without
/// arguments). It becomes the one [`ToolDef`] of `chat`; the struct keeps that name so serde's messages name it alike.
pub(super) mod yaml_tool {
    use serde::Deserialize;
    use serde_json::Value;

    /// A tool as a suite declares it.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ToolDef {
        name: String,
        #[serde(default)]
        description: String,
        #[serde(default = "empty_object_schema")]
        parameters: Value,
    }

    fn empty_object_schema() -> Value {
        serde_json::json!({"type": "object", "properties": {}})
    }

    impl From<ToolDef> for crate::chat::ToolDef {
        fn from(t: ToolDef) -> Self {
            crate::chat::ToolDef {
                name: t.name,
                description: t.description,
                parameters: t.parameters,
            }
        }
    }

    /// Deserialize a suite's tool list.
    pub(crate) fn list<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<crate::chat::ToolDef>, D::Error> {
        Vec::<ToolDef>::deserialize(d).map(|v| v.into_iter().map(Into::into).collect())
    }
}

/// Tools inline or in a file.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(untagged)]
pub enum ToolsSpec {
    /// None declared.
    #[default]
    None,
    /// A path relative to the suite file.
    Path(String),
    /// Inline list.
    Inline(#[serde(deserialize_with = "yaml_tool::list")] Vec<ToolDef>),
}

impl ToolsSpec {
    fn is_empty(&self) -> bool {
        matches!(self, ToolsSpec::None)
    }
}

/// Task-specific scoring settings.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScoringSpec {
    /// Classification: how an answer becomes a label.
    #[serde(default)]
    pub label_extract: crate::metrics::LabelExtract,
    /// Summarization: use the Porter stemmer (rouge-score `use_stemmer`).
    #[serde(default = "yes")]
    pub rouge_stem: bool,
    /// Extraction: per-field matching rules and an optional JSON Schema.
    #[serde(default)]
    pub extraction: crate::metrics::ExtractionConfig,
    /// Function calling: `compat: strict` (default) or `bfcl` (BFCL's checker, rule for rule).
    #[serde(default)]
    pub function_call: crate::metrics::FunctionCallConfig,
    /// What answers are scored against: `ground_truth` (default), `baseline` (the baseline's own answer: agreement)
    /// or `logged` (the dataset's `logged_answer`: agreement with production). See [`crate::agreement`].
    #[serde(default, skip_serializing_if = "is_ground_truth")]
    pub reference: Reference,
}

/// What each answer is scored against (`scoring.reference`; see `crate::summary::agreement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// The dataset's ground-truth field (`dataset.expected`): correctness.
    #[default]
    GroundTruth,
    /// The baseline provider's own answer to the item: agreement with the baseline.
    Baseline,
    /// The production answer kept in the dataset's `logged_answer` field: agreement with production.
    Logged,
}

impl Reference {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Reference::GroundTruth => "ground_truth",
            Reference::Baseline => "baseline",
            Reference::Logged => "logged",
        }
    }
}

fn is_ground_truth(r: &Reference) -> bool {
    *r == Reference::GroundTruth
}

fn yes() -> bool {
    true
}

/// Which side of the comparison a provider is on (not to be confused with a chat message's [`crate::chat::Role`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRole {
    /// The current provider everything is compared with.
    Baseline,
    /// A cheaper provider under evaluation.
    #[default]
    Candidate,
}

/// Provider client kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
    /// Azure OpenAI (api-key header, deployment, api-version).
    Azure,
    /// Anthropic Messages API.
    Anthropic,
    /// Google Gemini generateContent.
    Gemini,
    /// evalh's built-in simulator (an OpenAI-compatible server on loopback).
    Sim,
}

impl ProviderKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Azure => "azure",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Sim => "sim",
        }
    }
}

/// One provider entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    /// Unique id within the suite (used in journals and reports).
    pub id: String,
    /// Baseline or candidate.
    #[serde(default)]
    pub role: ProviderRole,
    /// Client kind.
    pub kind: ProviderKind,
    /// Model name sent to the API (the deployment for Azure).
    pub model: String,
    /// API base URL; each kind has a default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key (never the key itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// `none` for an endpoint that takes no credential (local vLLM, llama.cpp, Ollama); a hosted kind (openai, azure,
    /// anthropic, gemini) without `api_key_env` or an auth header is an error otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthMode>,
    /// Azure api-version query parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Price override; else the built-in price table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// Context window override (tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Request parameters (temperature, max_tokens, top_p, ...), passed through. A key given twice or a NaN or
    /// infinite number is an error (JSON cannot carry them; the last value or `null` would be sent silently).
    #[serde(
        default,
        skip_serializing_if = "Map::is_empty",
        deserialize_with = "strict_params"
    )]
    pub params: Map<String, Value>,
    /// Replaces the prompt's system message for this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Use the streaming API.
    #[serde(default)]
    pub stream: bool,
    /// Also send each item (repeat 0) once more with the other streaming mode and report in results.json whether
    /// text, tool calls and usage agree (`stream_equivalence`). The second calls are journaled inside the records
    /// and kept out of the provider's cost and latency figures (their cost is reported apart).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compare_stream: bool,
    /// Max requests in flight for this provider (default: run.concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Requests per minute limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Tokens per minute limit (estimated input + max output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u32>,
    /// Extra HTTP headers (values may reference env vars as `${NAME}`; never logged).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Simulator behaviour (kind: sim only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<SimSpec>,
    /// Send this provider's requests through its batch API (as `run.mode: batch` does for every provider).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub batch: bool,
}

/// How a provider authenticates, when `api_key_env` does not say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The endpoint takes no credential: nothing is sent, and no key is required.
    None,
}

/// Deserialize `params` as JSON, refusing what JSON cannot carry faithfully: a key given twice in one mapping (serde
/// would keep the last silently) and NaN or infinite numbers (they would be sent as `null`).
fn strict_params<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    match d.deserialize_any(StrictJson)? {
        Value::Object(m) => Ok(m),
        other => Err(serde::de::Error::custom(format!(
            "`params` must be a mapping of request parameters, not {other}"
        ))),
    }
}

/// A serde visitor that builds a [`Value`] like serde_json's own, with the checks of [`strict_params`].
struct StrictJson;

impl<'de> serde::de::Visitor<'de> for StrictJson {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON-compatible value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            E::custom(format!(
                "`params` holds the number {v}, which JSON cannot carry (it would be sent as null); use a finite number"
            ))
        })
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictJson)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = a.next_element_seed(StrictSeed)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = a.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(serde::de::Error::custom(format!(
                    "`params` sets `{k}` twice; keep one (only the last would be sent)"
                )));
            }
            let v = a.next_value_seed(StrictSeed)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// [`StrictJson`] for nested values.
struct StrictSeed;

impl<'de> serde::de::DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictJson)
    }
}

/// How a simulated model behaves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimSpec {
    /// Probability of answering with the ground truth.
    #[serde(default = "default_quality")]
    pub quality: f64,
    /// Latency distribution (log-normal through these two points).
    #[serde(default)]
    pub latency_ms: LatencySpec,
    /// Fault injection rates (each a probability per attempt).
    #[serde(default)]
    pub faults: FaultSpec,
    /// Share of items on which this model's success draw is the item's shared difficulty (the same draw for every
    /// sim model), so models of similar quality fail on mostly the same hard items, as real models do.
    #[serde(default = "default_correlation")]
    pub correlation: f64,
    /// Token estimate multiplier (models that tokenize differently).
    #[serde(default = "one_f64")]
    pub token_factor: f64,
    /// How the simulator behaves as a suite's `judge:` (see `crate::judge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<SimJudgeSpec>,
    /// Rate limits the simulator enforces for this model the way a provider does (token buckets, limit headers on
    /// every response, 429 with `retry-after` once a limit is crossed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<SimRateLimit>,
    /// How the simulator's batch endpoints behave (batch mode; see `crate::sim`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<SimBatchSpec>,
}

/// `sim.rate_limit`: per-minute limits, each a bucket holding one minute's worth that refills continuously.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct SimRateLimit {
    /// Requests per minute (none: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Tokens per minute, a request costing its prompt tokens plus its `max_tokens` (none: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u32>,
    /// Whose limit headers and 429 body to imitate.
    #[serde(default)]
    pub headers: RateLimitHeaders,
}

/// The rate-limit header sets the simulator can send (also `evalh sim serve --rate-limit-headers`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitHeaders {
    /// OpenAI and Azure: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, resets as durations (`6ms`).
    #[default]
    Openai,
    /// Anthropic: `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`, resets as RFC 3339 times.
    Anthropic,
}

/// The simulator's batch API: when a batch completes, and which of its requests fail or expire. Each line's fate
/// is a pure function of (seed, model, item, repeat), like every other decision of the sim.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SimBatchSpec {
    /// Seconds from creation until a batch is done (`in_progress` before).
    #[serde(default)]
    pub completion_delay_s: f64,
    /// Share of requests answered with an HTTP 500 error line (a partial failure).
    #[serde(default)]
    pub failure_rate: f64,
    /// Share of requests the batch does not run: the batch ends `expired` and these come back `batch_expired`.
    #[serde(default)]
    pub expire_rate: f64,
}

/// The simulator as a judge: its flaws, each a probability per judge call.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SimJudgeSpec {
    /// Answer at random instead of by closeness to the reference.
    #[serde(default)]
    pub noise: f64,
    /// Pick side A whatever the answers (pairwise).
    #[serde(default)]
    pub position_bias: f64,
}

fn default_correlation() -> f64 {
    0.8
}

impl Default for SimSpec {
    fn default() -> Self {
        SimSpec {
            quality: default_quality(),
            latency_ms: LatencySpec::default(),
            faults: FaultSpec::default(),
            correlation: default_correlation(),
            token_factor: 1.0,
            judge: None,
            rate_limit: None,
            batch: None,
        }
    }
}

fn default_quality() -> f64 {
    0.9
}
fn one_f64() -> f64 {
    1.0
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Default for LatencySpec {
    fn default() -> Self {
        LatencySpec { p50: 0.0, p99: 0.0 }
    }
}

/// Fault-injection rates for the simulator.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// 429 with a Retry-After header.
    #[serde(default)]
    pub rate_limit: f64,
    /// Seconds announced in Retry-After.
    #[serde(default)]
    pub retry_after_s: Option<f64>,
    /// HTTP 500.
    #[serde(default)]
    pub server_error: f64,
    /// HTTP 529 overloaded.
    #[serde(default)]
    pub overloaded: f64,
    /// A 200 whose body is not valid JSON.
    #[serde(default)]
    pub malformed: f64,
    /// A stream cut before it finishes.
    #[serde(default)]
    pub truncated_stream: f64,
    /// An error event inside a 200 stream.
    #[serde(default)]
    pub stream_error: f64,
    /// Extra delay before the first byte (probability; the delay is `slow_first_byte_ms`).
    #[serde(default)]
    pub slow_first_byte: f64,
    /// Delay used by `slow_first_byte`.
    #[serde(default)]
    pub slow_first_byte_ms: Option<f64>,
}

/// How a verdict is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Statistical: PASS only when the lower confidence bound clears the threshold.
    #[default]
    Confident,
    /// The plain rule on point estimates.
    Point,
}

/// What an INCONCLUSIVE verdict does to the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnInconclusive {
    /// Exit 1.
    #[default]
    Fail,
    /// Exit 0 with a warning.
    Warn,
    /// Exit 0.
    Pass,
}

/// Which verdicts a complete run needs to exit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Require {
    /// Every gated candidate must PASS (CI promotion of a proposed provider).
    #[default]
    All,
    /// At least one gated candidate must PASS (exploring several candidates: is there any?).
    Any,
}

impl Require {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Require::All => "all",
            Require::Any => "any",
        }
    }
}

/// The promotion rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// Metric compared (default per task: macro_f1, rougeLsum_f, field_f1, full_call_accuracy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Candidate quality must be at least this share of the baseline's.
    #[serde(default = "default_min_quality_ratio")]
    pub min_quality_ratio: f64,
    /// Candidate cost per item must be at most this share of the baseline's.
    #[serde(default = "default_max_cost_ratio")]
    pub max_cost_ratio: f64,
    /// Allowed increase of the error rate (absolute).
    #[serde(default = "default_max_error_rate_increase")]
    pub max_error_rate_increase: f64,
    /// Allowed increase of p99 latency in ms.
    #[serde(default = "default_max_p99_increase")]
    pub max_p99_latency_increase_ms: f64,
    /// Minimum share of parseable outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_format_validity: Option<f64>,
    /// Confidence level of the statistical decision.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Statistical or point decision.
    #[serde(default)]
    pub decision: Decision,
    /// Exit-code effect of INCONCLUSIVE.
    #[serde(default)]
    pub on_inconclusive: OnInconclusive,
    /// Candidates that are gated (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<String>>,
    /// Exit 0 when every gated candidate passes (`all`, the default) or when at least one does (`any`).
    #[serde(default)]
    pub require: Require,
    /// Items the workload sends a month (optional): the recommendation says what the cheapest passing candidate
    /// saves a month at this volume. No rule reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_volume: Option<u64>,
    /// Bootstrap resamples.
    #[serde(default = "default_bootstrap")]
    pub bootstrap_iters: usize,
    /// Below this many items a confident quality decision is never PASS (a zero-variance sample of 2 items proves
    /// nothing); the verdict is INCONCLUSIVE with sample-size advice.
    #[serde(default = "default_min_items")]
    pub min_items: usize,
    /// When the baseline's own requests fail on more than this share of items, the comparison is not valid and no
    /// candidate PASSes (docs/gate.md, "The evidence contract").
    #[serde(default = "default_max_baseline_error_rate")]
    pub max_baseline_error_rate: f64,
    /// How the error-rate and p99 rules treat a difference the data can neither show nor rule out.
    #[serde(default)]
    pub guards: GuardsSpec,
    /// Blind human review rule (docs/review.md): without imported decisions it is not measured, never PASS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human: Option<HumanGateSpec>,
}

/// `gate.human`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanGateSpec {
    /// The share of review decisions finding the candidate acceptable (better, or both fine) must be at least this,
    /// judged on the Wilson lower bound.
    pub min_acceptable_rate: f64,
}

/// The guard rules' (error rate, p99 latency) treatment of an unsettled comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GuardsSpec {
    /// `harm` or `non_inferiority`.
    #[serde(default)]
    pub mode: GuardMode,
}

/// What an unsettled guard rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GuardMode {
    /// Fail only on evidence of harm (the interval lies above the allowed increase); otherwise pass and report the
    /// largest increase the data rule out.
    #[default]
    Harm,
    /// Pass only when the data show the increase is within the allowance; otherwise INCONCLUSIVE.
    NonInferiority,
}

fn default_max_baseline_error_rate() -> f64 {
    0.05
}

fn default_min_items() -> usize {
    30
}

fn default_min_quality_ratio() -> f64 {
    0.95
}
fn default_max_cost_ratio() -> f64 {
    0.40
}
fn default_max_error_rate_increase() -> f64 {
    0.005
}
fn default_max_p99_increase() -> f64 {
    200.0
}
fn default_confidence() -> f64 {
    0.95
}
fn default_bootstrap() -> usize {
    2000
}

impl Default for GateSpec {
    fn default() -> Self {
        GateSpec {
            metric: None,
            min_quality_ratio: default_min_quality_ratio(),
            max_cost_ratio: default_max_cost_ratio(),
            max_error_rate_increase: default_max_error_rate_increase(),
            max_p99_latency_increase_ms: default_max_p99_increase(),
            min_format_validity: None,
            confidence: default_confidence(),
            decision: Decision::default(),
            on_inconclusive: OnInconclusive::default(),
            candidates: None,
            bootstrap_iters: default_bootstrap(),
            min_items: default_min_items(),
            require: Require::default(),
            monthly_volume: None,
            max_baseline_error_rate: default_max_baseline_error_rate(),
            guards: GuardsSpec::default(),
            human: None,
        }
    }
}

/// Scheduling, retries and budget.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Default max in-flight requests per provider.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Total time limit per attempt, seconds.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Connect timeout, seconds.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_s: f64,
    /// Time to first byte limit, seconds (default: timeout_s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_timeout_s: Option<f64>,
    /// Max gap between stream chunks, seconds.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_s: f64,
    /// Retries after the first attempt for retryable errors.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Cap for one backoff wait (Retry-After above this is capped), seconds.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_s: f64,
    /// Seed for the simulator and the bootstrap.
    #[serde(default)]
    pub seed: u64,
    /// Each item is sent this many times per provider.
    #[serde(default = "default_repeats")]
    pub repeats: u32,
    /// Stop sending before spending more than this (USD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// Whether each provider's sending is paced to the limits its rate-limit headers announce.
    #[serde(default)]
    pub pace: Pace,
    /// `interactive` (default) or `batch`: every provider through its batch API (`--batch`).
    #[serde(default, skip_serializing_if = "RunMode::is_interactive")]
    pub mode: RunMode,
}

/// `run.pace`: how the runner uses the rate-limit headers of the responses.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// Learn each provider's request and token limits from its headers and send just under both.
    #[default]
    Headers,
    /// Ignore the headers (only `rpm`/`tpm`, the adaptive concurrency and Retry-After pace the run).
    Off,
}

/// How requests are sent.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// One HTTP request per request, answered within seconds.
    #[default]
    Interactive,
    /// The providers' batch APIs: half the price, answered within hours (see `crate::batch`).
    Batch,
}

impl RunMode {
    fn is_interactive(&self) -> bool {
        *self == RunMode::Interactive
    }
}

fn default_concurrency() -> usize {
    8
}
fn default_timeout() -> f64 {
    120.0
}
fn default_connect_timeout() -> f64 {
    10.0
}
fn default_idle_timeout() -> f64 {
    60.0
}
fn default_max_retries() -> u32 {
    4
}
fn default_max_backoff() -> f64 {
    60.0
}
fn default_repeats() -> u32 {
    1
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            concurrency: default_concurrency(),
            timeout_s: default_timeout(),
            connect_timeout_s: default_connect_timeout(),
            first_byte_timeout_s: None,
            idle_timeout_s: default_idle_timeout(),
            max_retries: default_max_retries(),
            max_backoff_s: default_max_backoff(),
            seed: 0,
            repeats: default_repeats(),
            max_cost_usd: None,
            pace: Pace::default(),
            mode: RunMode::Interactive,
        }
    }
}

/// A `--providers FILE`: just a provider list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersFile {
    /// The providers that replace the suite's.
    pub providers: Vec<ProviderSpec>,
}

impl ProviderSpec {
    /// The built-in table's row for this provider's model (never for the simulator, whose models are priced in the
    /// suite).
    pub fn table_entry(&self) -> Option<&'static crate::cost::ModelInfo> {
        match self.kind {
            ProviderKind::Sim => None,
            _ => crate::cost::lookup(&self.model),
        }
    }

    /// The price in force: the provider's own `price:` or the table's.
    pub fn price_in_force(&self) -> Option<Price> {
        self.price
            .or_else(|| self.table_entry().map(crate::cost::ModelInfo::price))
    }

    /// The context window in force: the provider's override or the table's.
    pub fn context_window_in_force(&self) -> Option<u64> {
        self.context_window
            .or_else(|| self.table_entry().map(|mi| mi.context_window))
    }
}

impl Suite {
    /// The baseline provider (validation guarantees exactly one).
    pub fn baseline(&self) -> Option<&ProviderSpec> {
        self.providers
            .iter()
            .find(|p| p.role == ProviderRole::Baseline)
    }

    /// The gate metric, with the task's default.
    pub fn gate_metric(&self) -> String {
        self.gate
            .metric
            .clone()
            .unwrap_or_else(|| crate::metrics::default_metric(self.task).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(yaml: &str) -> ProviderSpec {
        serde_yaml::from_str(yaml).expect("provider")
    }

    #[test]
    fn prices_in_force_come_from_the_suite_then_the_table_never_for_the_simulator() {
        let real = provider("{id: a, kind: openai, model: gpt-4o-2024-08-06}");
        assert_eq!(real.table_entry().map(|m| m.model), Some("gpt-4o"));
        assert_eq!(real.price_in_force().map(|p| p.input_per_mtok), Some(2.50));
        assert_eq!(real.context_window_in_force(), Some(128_000));
        let sim = provider("{id: b, kind: sim, model: gpt-4o}");
        assert!(sim.table_entry().is_none() && sim.price_in_force().is_none());
        let own = provider(
            "{id: c, kind: sim, model: x, price: {input_per_mtok: 1, output_per_mtok: 2}, context_window: 9}",
        );
        assert_eq!(own.price_in_force().map(|p| p.output_per_mtok), Some(2.0));
        assert_eq!(own.context_window_in_force(), Some(9));
    }
}
