//! What a log line means: the canonical fields evalh reads, where each one sits in a line (a path, with
//! alternatives), and the built-in presets for LiteLLM spend logs, OpenAI-style request logs and plain chat JSONL.

use std::collections::BTreeMap;
use std::fmt;

/// The fields evalh reads from a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// When the request started (RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` in UTC, or epoch seconds/milliseconds).
    Timestamp,
    /// The model that served the request.
    Model,
    /// Input (prompt) tokens, cached ones included.
    InputTokens,
    /// Output (completion) tokens, reasoning included.
    OutputTokens,
    /// Cached input tokens (a subset of the input tokens).
    CachedTokens,
    /// The product feature the request belongs to.
    Feature,
    /// Request tags (a list of strings, or a JSON-encoded list).
    Tags,
    /// An optional task type (classification, summarization, ...).
    TaskType,
    /// Success or failure (`success`/`failure`, an HTTP status, ...).
    Status,
    /// The cost the log itself recorded, USD (LiteLLM `spend`); shown next to the cost at the pinned prices.
    Cost,
    /// The prompt: a list of chat messages, or one string (a single user message).
    Messages,
    /// The logged answer: text, a message object, or a list of tool calls.
    Answer,
}

impl Field {
    /// Every field, in documentation order.
    pub const ALL: [Field; 12] = [
        Field::Timestamp,
        Field::Model,
        Field::InputTokens,
        Field::OutputTokens,
        Field::CachedTokens,
        Field::Feature,
        Field::Tags,
        Field::TaskType,
        Field::Status,
        Field::Cost,
        Field::Messages,
        Field::Answer,
    ];

    /// The name used in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            Field::Timestamp => "timestamp",
            Field::Model => "model",
            Field::InputTokens => "input_tokens",
            Field::OutputTokens => "output_tokens",
            Field::CachedTokens => "cached_tokens",
            Field::Feature => "feature",
            Field::Tags => "tags",
            Field::TaskType => "task_type",
            Field::Status => "status",
            Field::Cost => "cost",
            Field::Messages => "messages",
            Field::Answer => "answer",
        }
    }

    /// The field with this mapping-file name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A dotted path into the line: `usage.prompt_tokens`, `choices.0.message.content`. In CSV the first segment is
    /// the column; later segments read into a cell that holds JSON. A JSON-encoded string met on the way is decoded.
    Path(Vec<String>),
    /// The first tag starting with this prefix, without it (`tag:feature:` reads `feature:summarize` as
    /// `summarize`).
    TagPrefix(String),
}

impl Source {
    /// Parse the mapping-file spelling: `a.b.0.c` or `tag:PREFIX`. `Err` says what is wrong.
    pub fn parse(s: &str) -> Result<Source, String> {
        if let Some(prefix) = s.strip_prefix("tag:") {
            if prefix.is_empty() {
                return Err("`tag:` needs a prefix, e.g. `tag:feature:`".into());
            }
            return Ok(Source::TagPrefix(prefix.to_string()));
        }
        if s.trim().is_empty() {
            return Err("empty path".into());
        }
        let segs: Vec<String> = s.split('.').map(str::to_string).collect();
        if segs.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "`{s}` has an empty segment; write keys separated by single dots, e.g. `usage.prompt_tokens`"
            ));
        }
        Ok(Source::Path(segs))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Path(p) => f.write_str(&p.join(".")),
            Source::TagPrefix(p) => write!(f, "tag:{p}"),
        }
    }
}

/// Line syntax of a log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Syntax {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated with a header row; cells may hold JSON.
    Csv,
}

/// A built-in field mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// LiteLLM `LiteLLM_SpendLogs` rows (`/spend/logs` JSON, JSONL, or a psql CSV export).
    Litellm,
    /// An OpenAI-style request log: the request's context plus the `chat.completion` response's `usage`.
    Openai,
    /// Plain JSONL of chat messages (`{"messages": [...]}`), for datasets; no tokens.
    Chat,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 3] = [Preset::Litellm, Preset::Openai, Preset::Chat];

    /// Its name on the command line and in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Litellm => "litellm",
            Preset::Openai => "openai",
            Preset::Chat => "chat",
        }
    }

    /// The preset with this name.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The preset's sources per field, first match wins.
    pub fn fields(self) -> BTreeMap<Field, Vec<Source>> {
        let table: &[(Field, &[&str])] = match self {
            Preset::Litellm => &[
                (Field::Timestamp, &["startTime"]),
                (Field::Model, &["model"]),
                (Field::InputTokens, &["prompt_tokens"]),
                (Field::OutputTokens, &["completion_tokens"]),
                (
                    Field::CachedTokens,
                    &[
                        "metadata.usage_object.prompt_tokens_details.cached_tokens",
                        "metadata.additional_usage_values.cache_read_input_tokens",
                    ],
                ),
                (
                    Field::Feature,
                    &[
                        "metadata.spend_logs_metadata.feature",
                        "tag:feature:",
                        "metadata.original_model_group",
                        "model_group",
                    ],
                ),
                (Field::Tags, &["request_tags"]),
                (
                    Field::TaskType,
                    &["metadata.spend_logs_metadata.task_type", "tag:task:"],
                ),
                (Field::Status, &["status"]),
                (Field::Cost, &["spend"]),
                (
                    Field::Messages,
                    &["messages", "proxy_server_request.messages"],
                ),
                (
                    Field::Answer,
                    &["response.choices.0.message", "response.choices.0.text"],
                ),
            ],
            Preset::Openai => &[
                (Field::Timestamp, &["ts", "timestamp", "created"]),
                (Field::Model, &["model", "response.model"]),
                (
                    Field::InputTokens,
                    &["usage.prompt_tokens", "response.usage.prompt_tokens"],
                ),
                (
                    Field::OutputTokens,
                    &[
                        "usage.completion_tokens",
                        "response.usage.completion_tokens",
                    ],
                ),
                (
                    Field::CachedTokens,
                    &[
                        "usage.prompt_tokens_details.cached_tokens",
                        "response.usage.prompt_tokens_details.cached_tokens",
                    ],
                ),
                (
                    Field::Feature,
                    &["feature", "metadata.feature", "tag:feature:"],
                ),
                (Field::Tags, &["tags", "metadata.tags"]),
                (
                    Field::TaskType,
                    &["task_type", "metadata.task_type", "tag:task:"],
                ),
                (Field::Status, &["status"]),
                (Field::Cost, &["cost_usd"]),
                (Field::Messages, &["messages", "request.messages"]),
                (
                    Field::Answer,
                    &["response.choices.0.message", "choices.0.message", "answer"],
                ),
            ],
            Preset::Chat => &[
                (Field::Timestamp, &["timestamp", "ts"]),
                (Field::Model, &["model"]),
                (Field::Feature, &["feature", "metadata.feature"]),
                (Field::Tags, &["tags"]),
                (Field::TaskType, &["task_type"]),
                (Field::Messages, &["messages", "prompt"]),
                (Field::Answer, &["answer", "completion", "response"]),
            ],
        };
        table
            .iter()
            .map(|(f, srcs)| {
                let v = srcs
                    .iter()
                    .map(|s| Source::parse(s).expect("preset paths are valid"))
                    .collect();
                (*f, v)
            })
            .collect()
    }

    /// Guess the preset from the keys of a log's first row (JSON keys or CSV header), `None` when nothing fits.
    pub fn detect<'a>(keys: impl IntoIterator<Item = &'a str>) -> Option<Preset> {
        let keys: Vec<&str> = keys.into_iter().collect();
        let has = |k: &str| keys.contains(&k);
        if has("spend") && (has("startTime") || has("request_id")) {
            Some(Preset::Litellm)
        } else if has("usage") || (has("response") && has("model")) {
            Some(Preset::Openai)
        } else if has("messages") || has("prompt") {
            Some(Preset::Chat)
        } else {
            None
        }
    }
}

/// How to read one kind of log: the line syntax (None: from the file name) and each field's sources.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSpec {
    /// The preset it starts from (for messages).
    pub preset: Option<Preset>,
    /// Forced syntax; `None` decides per file from its extension.
    pub syntax: Option<Syntax>,
    /// Sources per field.
    pub fields: BTreeMap<Field, Vec<Source>>,
}

impl LogSpec {
    /// A preset's spec.
    pub fn preset(p: Preset) -> LogSpec {
        LogSpec {
            preset: Some(p),
            syntax: None,
            fields: p.fields(),
        }
    }

    /// The sources of `f` (empty when the field is not mapped).
    pub fn sources(&self, f: Field) -> &[Source] {
        self.fields.get(&f).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A short description: `litellm preset` or `custom mapping`, for messages and sidecar files.
    pub fn describe(&self) -> String {
        match self.preset {
            Some(p) if self.fields == p.fields() => format!("{} preset", p.name()),
            Some(p) => format!("{} preset with mapped fields", p.name()),
            None => "mapped fields".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_print() {
        assert_eq!(
            Source::parse("usage.prompt_tokens").unwrap(),
            Source::Path(vec!["usage".into(), "prompt_tokens".into()])
        );
        assert_eq!(
            Source::parse("tag:feature:").unwrap(),
            Source::TagPrefix("feature:".into())
        );
        assert!(Source::parse("a..b").unwrap_err().contains("empty segment"));
        assert!(Source::parse("tag:").is_err());
        assert!(Source::parse(" ").is_err());
        assert_eq!(
            Source::parse("choices.0.message").unwrap().to_string(),
            "choices.0.message"
        );
    }

    #[test]
    fn presets_are_detected_from_keys() {
        assert_eq!(
            Preset::detect(["request_id", "spend", "startTime", "model"]),
            Some(Preset::Litellm)
        );
        assert_eq!(
            Preset::detect(["ts", "model", "usage"]),
            Some(Preset::Openai)
        );
        assert_eq!(Preset::detect(["messages"]), Some(Preset::Chat));
        assert_eq!(Preset::detect(["a", "b"]), None);
        for p in Preset::ALL {
            assert_eq!(Preset::from_name(p.name()), Some(p));
            assert!(!p.fields().is_empty());
        }
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
    }
}
