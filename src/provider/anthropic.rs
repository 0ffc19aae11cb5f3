//! Anthropic's native Messages API (`POST /v1/messages`), streaming and not.
//!
//! Why this module exists: Claude is one of the providers a migrating team compares, and its native API differs
//! from chat completions in every layer: the system prompt is a top-level field, `max_tokens` is required, tools are
//! declared with `input_schema`, auth is `x-api-key` plus a pinned `anthropic-version`, responses are typed content
//! blocks (text, tool_use, thinking, server-tool blocks), streams are named events ending in `message_stop` (with
//! `ping`s anywhere and `event: error` after HTTP 200), and — the one that changes cost — `input_tokens` EXCLUDES
//! prompt-cache reads and writes. This client translates the internal request and normalises the answer so the
//! rest of evalh never sees any of that: [`Usage::input_tokens`] = input + cache reads + cache writes.

use super::http::{request_headers, Endpoint};
use super::sse::Event;
use super::stream::{self, inband_error, Assemble};
use super::{ChatRequest, Completion, Provider, ProviderError, Timeouts};
use crate::chat::{ErrorClass, Role, ToolCall, Usage};
use crate::suite::ProviderSpec;
use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Default API root.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header sent unless the suite's `headers:` sets another.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` when the suite's params give none (the API requires it).
pub const DEFAULT_MAX_TOKENS: u64 = 1024;

/// Client for one `kind: anthropic` provider entry.
pub struct AnthropicClient {
    endpoint: Endpoint,
    model: String,
    params: Map<String, Value>,
}

/// `{base}/v1/messages`, accepting a base given with or without the `/v1` segment.
pub fn endpoint(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}/messages")
    } else {
        format!("{base}/v1/messages")
    }
}

impl AnthropicClient {
    /// Configure from a provider entry. `key` is the API key (already read from the environment).
    pub fn new(
        spec: &ProviderSpec,
        http: reqwest::Client,
        timeouts: Timeouts,
        key: Option<String>,
        base_url_override: Option<String>,
    ) -> crate::error::Result<Self> {
        let base = base_url_override
            .or_else(|| spec.base_url.clone())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let builtin = super::http::builtin_headers(spec, key.as_deref())?;
        Ok(AnthropicClient {
            endpoint: Endpoint::new(
                spec,
                http,
                &endpoint(&base),
                request_headers(spec, builtin)?,
                timeouts,
            )?,
            model: spec.model.clone(),
            params: spec.params.clone(),
        })
    }

    /// The JSON body for a request: system prompt top-level, user/assistant turns as messages, tools with
    /// `input_schema`, params passed through (OpenAI spellings `max_completion_tokens` and `stop` translated),
    /// `max_tokens` defaulted.
    pub fn body(&self, req: &ChatRequest) -> Value {
        build_body(&self.model, &self.params, self.endpoint.stream, req)
    }
}

impl Provider for AnthropicClient {
    fn body(&self, req: &ChatRequest) -> Value {
        Self::body(self, req)
    }

    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(async move {
            self.endpoint
                .exchange(&[], &self.body(req), Assembler::default(), parse_response)
                .await
        })
    }
}

/// Build a Messages API body (see [`AnthropicClient::body`]).
pub(super) fn build_body(
    model: &str,
    params: &Map<String, Value>,
    stream: bool,
    req: &ChatRequest,
) -> Value {
    let mut body = Map::new();
    for (k, v) in params {
        match k.as_str() {
            "max_completion_tokens" => {
                if !params.contains_key("max_tokens") {
                    body.insert("max_tokens".into(), v.clone());
                }
            }
            "stop" => {
                let seqs = match v {
                    Value::String(s) => json!([s]),
                    other => other.clone(),
                };
                body.insert("stop_sequences".into(), seqs);
            }
            "stream" | "stream_options" => {}
            _ => {
                body.insert(k.clone(), v.clone());
            }
        }
    }
    body.insert("model".into(), Value::String(model.to_string()));
    body.entry("max_tokens")
        .or_insert_with(|| json!(DEFAULT_MAX_TOKENS));
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    if !system.is_empty() {
        body.insert("system".into(), Value::String(system.join("\n\n")));
    }
    let messages: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut o = Map::new();
                o.insert("name".into(), Value::String(t.name.clone()));
                if !t.description.is_empty() {
                    o.insert("description".into(), Value::String(t.description.clone()));
                }
                o.insert("input_schema".into(), input_schema(&t.parameters));
                Value::Object(o)
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if stream {
        body.insert("stream".into(), Value::Bool(true));
    }
    Value::Object(body)
}

/// Anthropic requires `input_schema.type == "object"`; a schema without a type gets it.
fn input_schema(p: &Value) -> Value {
    match p {
        Value::Object(o) if o.contains_key("type") => p.clone(),
        Value::Object(o) => {
            let mut o = o.clone();
            o.insert("type".into(), json!("object"));
            Value::Object(o)
        }
        _ => json!({"type": "object", "properties": {}}),
    }
}

/// Normalise Anthropic usage: `input_tokens` excludes cache reads and writes, so input = input + cache reads +
/// cache writes; cached = cache reads; cache writes billed separately. Thinking tokens are inside `output_tokens`;
/// newer responses also report them as `output_tokens_details.thinking_tokens` (reasoning).
pub(super) fn parse_usage(u: &Value) -> Option<Usage> {
    let o = u.as_object()?;
    let n = |k: &str| o.get(k).and_then(Value::as_u64).unwrap_or(0);
    let read = n("cache_read_input_tokens");
    let write = n("cache_creation_input_tokens");
    Some(Usage {
        input_tokens: n("input_tokens") + read + write,
        output_tokens: n("output_tokens"),
        cached_input_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: u
            .pointer("/output_tokens_details/thinking_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .min(n("output_tokens")),
        estimated: false,
    })
}

/// Parse a non-streaming Messages response: text blocks joined, `tool_use` blocks as calls (server-tool and
/// thinking blocks skipped), `stop_reason` as the finish reason.
pub fn parse_response(bytes: &[u8]) -> Result<Completion, ProviderError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        ProviderError::new(
            ErrorClass::MalformedResponse,
            format!(
                "response is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ),
        )
    })?;
    if v.get("type").and_then(Value::as_str) == Some("error")
        || v.get("error").is_some_and(|e| !e.is_null())
    {
        return Err(inband_error(&v, v.to_string().chars().take(300).collect()));
    }
    let blocks = v.get("content").and_then(Value::as_array).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::MalformedResponse,
            "response has no content array",
        )
    })?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => tool_calls.push(ToolCall {
                name: b
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                arguments: match b.get("input") {
                    Some(v @ Value::Object(_)) => v.clone(),
                    _ => Value::Object(Map::new()),
                },
            }),
            _ => {}
        }
    }
    Ok(Completion {
        text,
        tool_calls,
        finish_reason: v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
        usage: v.get("usage").and_then(parse_usage),
        ttft_ms: None,
        rate_limit: None,
    })
}

enum Block {
    Text,
    Tool {
        name: String,
        args: String,
        initial: Value,
    },
    /// thinking, redacted_thinking, server_tool_use, *_tool_result, ...: not part of the answer.
    Other,
}

/// Incremental state of one Messages stream.
#[derive(Default)]
pub struct Assembler {
    text: String,
    blocks: BTreeMap<i64, Block>,
    usage: Map<String, Value>,
    stop_reason: Option<String>,
    stopped: bool,
}

impl Assembler {
    /// `message_delta.usage` is cumulative and may revise input/cache counts (compatible gateways, server tools):
    /// every field it carries replaces the one from `message_start`.
    fn merge_usage(&mut self, u: Option<&Value>) {
        if let Some(Value::Object(o)) = u {
            for (k, v) in o {
                if v.is_u64() || v.is_object() {
                    self.usage.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

impl Assemble for Assembler {
    fn event(&mut self, ev: &Event) -> Result<bool, ProviderError> {
        let v = match stream::decode(ev)? {
            stream::Payload::Empty => return Ok(false),
            stream::Payload::Done => {
                self.stopped = true;
                return Ok(false);
            }
            stream::Payload::Json(v) => v,
        };
        let data = ev.data.trim();
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(ev.event.as_str());
        let index = v.get("index").and_then(Value::as_i64).unwrap_or(0);
        match kind {
            "error" => return Err(inband_error(&v, data.chars().take(300).collect())),
            "message_start" => self.merge_usage(v.pointer("/message/usage")),
            "content_block_start" => {
                let cb = v.get("content_block").unwrap_or(&Value::Null);
                let block = match cb.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        let t = cb.get("text").and_then(Value::as_str).unwrap_or("");
                        self.text.push_str(t);
                        self.blocks.insert(index, Block::Text);
                        return Ok(!t.is_empty());
                    }
                    Some("tool_use") => Block::Tool {
                        name: cb
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        args: String::new(),
                        initial: cb.get("input").cloned().unwrap_or(Value::Null),
                    },
                    _ => Block::Other,
                };
                let is_tool = matches!(block, Block::Tool { .. });
                self.blocks.insert(index, block);
                return Ok(is_tool);
            }
            "content_block_delta" => {
                let d = v.get("delta").unwrap_or(&Value::Null);
                let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("");
                match d.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        // Text for an unannounced block is still text.
                        if matches!(self.blocks.get(&index), Some(Block::Text) | None) {
                            self.text.push_str(s("text"));
                        }
                        return Ok(!s("text").is_empty());
                    }
                    Some("input_json_delta") => {
                        if let Some(Block::Tool { args, .. }) = self.blocks.get_mut(&index) {
                            args.push_str(s("partial_json"));
                        }
                        return Ok(true);
                    }
                    Some("thinking_delta") => return Ok(!s("thinking").is_empty()),
                    _ => {} // signature_delta, citations_delta, future types
                }
            }
            "message_delta" => {
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(r.to_string());
                }
                self.merge_usage(v.get("usage"));
            }
            "message_stop" => self.stopped = true,
            _ => {} // ping, content_block_stop, unknown event types
        }
        Ok(false)
    }

    fn finished(&self) -> bool {
        self.stopped || self.stop_reason.is_some()
    }

    fn into_completion(self, ttft_ms: Option<f64>) -> Completion {
        let tool_calls = self
            .blocks
            .into_values()
            .filter_map(|b| match b {
                Block::Tool {
                    name,
                    args,
                    initial,
                } => {
                    // An argument-less call never sends a non-empty fragment: use the start block's input or {}.
                    let arguments = if args.trim().is_empty() {
                        match initial {
                            v @ Value::Object(_) => v,
                            _ => Value::Object(Map::new()),
                        }
                    } else {
                        serde_json::from_str(&args).unwrap_or(Value::String(args))
                    };
                    Some(ToolCall { name, arguments })
                }
                _ => None,
            })
            .collect();
        let usage = (!self.usage.is_empty())
            .then(|| parse_usage(&Value::Object(self.usage)))
            .flatten();
        Completion {
            text: self.text,
            tool_calls,
            finish_reason: self.stop_reason,
            usage,
            ttft_ms,
            rate_limit: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Message;
    use crate::chat::ToolDef;
    use crate::provider::stream::wire_fixture as fixture;
    use crate::provider::RequestMeta;
    use std::sync::Arc;

    fn stream_fixture(name: &str, step: usize) -> Result<Completion, ProviderError> {
        crate::provider::stream::assemble_fixture(Assembler::default(), name, step)
    }

    fn req(tools: Vec<ToolDef>) -> ChatRequest {
        let m = |role, c: &str| Message {
            role,
            content: c.into(),
        };
        ChatRequest {
            messages: vec![
                m(Role::System, "Be brief."),
                m(Role::User, "2+2?"),
                m(Role::Assistant, "4"),
                m(Role::User, "3+3?"),
            ],
            tools: Arc::new(tools),
            meta: RequestMeta::default(),
        }
    }

    #[test]
    fn body_has_top_level_system_required_max_tokens_and_input_schema() {
        let tools = vec![ToolDef {
            name: "add".into(),
            description: "Add two numbers".into(),
            parameters: json!({"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]}),
        }];
        let b = build_body("claude-x", &Map::new(), false, &req(tools));
        assert_eq!(b["system"], "Be brief.");
        assert_eq!(b["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(b["model"], "claude-x");
        assert!(b.get("stream").is_none());
        let roles: Vec<&str> = b["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(b["tools"][0]["name"], "add");
        assert_eq!(b["tools"][0]["input_schema"]["required"][0], "a");
        assert!(b["tools"][0].get("parameters").is_none());

        let mut params = Map::new();
        params.insert("max_completion_tokens".into(), json!(50));
        params.insert("stop".into(), json!("END"));
        params.insert("temperature".into(), json!(0));
        params.insert("top_k".into(), json!(5));
        let b = build_body("claude-x", &params, true, &req(vec![]));
        assert_eq!(b["max_tokens"], 50);
        assert_eq!(b["stop_sequences"], json!(["END"]));
        assert_eq!(
            (b["temperature"].clone(), b["top_k"].clone()),
            (json!(0), json!(5))
        );
        assert_eq!(b["stream"], true);
        assert!(b.get("tools").is_none());
        assert!(b.get("max_completion_tokens").is_none());
    }

    #[test]
    fn endpoint_with_and_without_v1() {
        assert_eq!(
            endpoint("https://api.anthropic.com"),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:9/v1/"),
            "http://127.0.0.1:9/v1/messages"
        );
    }

    #[test]
    fn non_stream_blocks_and_cache_usage() {
        let c = parse_response(&fixture("anthropic-messages-tools-cache.json")).unwrap();
        assert_eq!(c.text, "Checking both.");
        let names: Vec<&str> = c.tool_calls.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["get_weather", "list_files"]);
        assert_eq!(c.tool_calls[0].arguments, json!({"city": "Oslo"}));
        assert_eq!(c.tool_calls[1].arguments, json!({}));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_use"));
        let u = c.usage.unwrap();
        // 5 uncached + 2000 read + 300 written.
        assert_eq!(
            (
                u.input_tokens,
                u.cached_input_tokens,
                u.cache_write_tokens,
                u.output_tokens
            ),
            (2305, 2000, 300, 40)
        );
    }

    #[test]
    fn stream_pings_padding_thinking_tools_and_final_usage() {
        for step in [1, 2, 5, 17, 100, 1 << 16] {
            let c = stream_fixture("anthropic-stream-quirks.sse", step).unwrap();
            assert_eq!(c.text, "Sure. Done.", "step {step}");
            let names: Vec<&str> = c.tool_calls.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["lookup", "refresh", "sync"]);
            assert_eq!(c.tool_calls[0].arguments, json!({"id": 42, "tags": ["a"]}));
            // A lone "" fragment, and no fragment at all: both mean no arguments.
            assert_eq!(c.tool_calls[1].arguments, json!({}));
            assert_eq!(c.tool_calls[2].arguments, json!({}));
            assert_eq!(c.finish_reason.as_deref(), Some("tool_use"));
            let u = c.usage.unwrap();
            // message_delta revised input (10 -> 12) and output; cache numbers kept from message_start.
            assert_eq!(
                (
                    u.input_tokens,
                    u.cached_input_tokens,
                    u.cache_write_tokens,
                    u.output_tokens
                ),
                (12 + 100 + 50, 100, 50, 77)
            );
        }
    }

    #[test]
    fn stream_refusal_with_zero_blocks() {
        let c = stream_fixture("anthropic-stream-refusal.sse", 9).unwrap();
        assert_eq!(c.text, "");
        assert!(c.tool_calls.is_empty());
        assert_eq!(c.finish_reason.as_deref(), Some("refusal"));
        assert_eq!(c.usage.unwrap().output_tokens, 3);
    }

    #[test]
    fn stream_error_event_after_200_and_truncation() {
        let e = stream_fixture("anthropic-stream-error.sse", 7).unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamError);
        assert!(e.message.contains("overloaded_error"), "{}", e.message);
        let e = stream_fixture("anthropic-stream-truncated.sse", 7).unwrap_err();
        assert_eq!(e.class, ErrorClass::TruncatedStream);
    }

    #[test]
    fn non_stream_error_body_and_garbage() {
        let e =
            parse_response(br#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#)
                .unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamError);
        assert!(e.message.contains("boom"));
        assert_eq!(
            parse_response(b"<html>").unwrap_err().class,
            ErrorClass::MalformedResponse
        );
    }
}
