//! Google Gemini's native API (`models/{model}:generateContent` and `:streamGenerateContent?alt=sse`).
//!
//! Why this module exists: Gemini is a likely cheaper candidate, and its native API shares nothing with chat
//! completions: `contents` with `user`/`model` roles and `parts`, a separate `systemInstruction`, tools as
//! `functionDeclarations` whose parameters are an OpenAPI-style schema subset, sampling settings inside
//! `generationConfig`, and an `x-goog-api-key` header (evalh never puts the key in the `?key=` query, where it would
//! end up in logs and error messages). Responses need care too: function calls arrive whole, without ids, and with
//! finish reason `STOP`; thought parts are not answer text; `usageMetadata` comes on every stream event and only the
//! last one counts; thinking tokens are reported apart from (and billed on top of) `candidatesTokenCount`; and an
//! error after HTTP 200 arrives as a raw JSON object without `data:` framing (handled by the stream driver).

use super::http::{request_headers, Endpoint};
use super::sse::Event;
use super::stream::{self, inband_error, Assemble};
use super::{ChatRequest, Completion, Provider, ProviderError, Timeouts};
use crate::chat::{ErrorClass, Role, ToolCall, Usage};
use crate::suite::ProviderSpec;
use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

/// Default API root (the Gemini Developer API, v1beta).
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// Client for one `kind: gemini` provider entry.
pub struct GeminiClient {
    endpoint: Endpoint,
    params: Map<String, Value>,
}

/// `{base}/models/{model}:generateContent`, or `:streamGenerateContent?alt=sse` when streaming. A base without a
/// version segment gets `/v1beta`; a model already written as a resource path (`models/...`, `tunedModels/...`) is
/// used as is.
pub fn endpoint(base: &str, model: &str, stream: bool) -> String {
    let base = base.trim_end_matches('/');
    let versioned = ["/v1", "/v1beta", "/v1alpha"]
        .iter()
        .any(|v| base.ends_with(v));
    let base = if versioned {
        base.to_string()
    } else {
        format!("{base}/v1beta")
    };
    let path = if model.contains('/') {
        model.to_string()
    } else {
        format!("models/{model}")
    };
    if stream {
        format!("{base}/{path}:streamGenerateContent?alt=sse")
    } else {
        format!("{base}/{path}:generateContent")
    }
}

impl GeminiClient {
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
        Ok(GeminiClient {
            endpoint: Endpoint::new(
                spec,
                http,
                &endpoint(&base, &spec.model, spec.stream),
                request_headers(spec, builtin)?,
                timeouts,
            )?,
            params: spec.params.clone(),
        })
    }

    /// The JSON body for a request (see [`build_body`]).
    pub fn body(&self, req: &ChatRequest) -> Value {
        build_body(&self.params, req)
    }
}

impl Provider for GeminiClient {
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

/// Request fields that live at the top level of a generateContent body; every other param is a generation setting.
const TOP_LEVEL: &[(&str, &str)] = &[
    ("safetySettings", "safety_settings"),
    ("toolConfig", "tool_config"),
    ("cachedContent", "cached_content"),
    ("labels", "labels"),
];

/// OpenAI spellings mapped to generationConfig fields.
const GENERATION_ALIASES: &[(&str, &str)] = &[
    ("max_tokens", "maxOutputTokens"),
    ("max_completion_tokens", "maxOutputTokens"),
    ("max_output_tokens", "maxOutputTokens"),
    ("stop", "stopSequences"),
    ("n", "candidateCount"),
];

fn camel(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut up = false;
    for c in k.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Build a generateContent body: `systemInstruction` from the system messages, `contents` with `user`/`model`
/// roles, tools as `functionDeclarations` (schemas translated by [`to_gemini_schema`]), and params placed where
/// Gemini expects them: `max_tokens` → `generationConfig.maxOutputTokens`, `temperature`, `top_p` → `topP`,
/// `top_k` → `topK`, `stop` → `stopSequences`, other snake_case keys camel-cased into `generationConfig`;
/// `safetySettings`, `toolConfig`, `cachedContent` and `labels` stay top-level; a `generationConfig` object given
/// as a param is merged.
pub(super) fn build_body(params: &Map<String, Value>, req: &ChatRequest) -> Value {
    let mut body = Map::new();
    let mut gen = Map::new();
    for (k, v) in params {
        if let Some((camel_name, _)) = TOP_LEVEL.iter().find(|(c, s)| k == c || k == s) {
            body.insert((*camel_name).to_string(), v.clone());
            continue;
        }
        match k.as_str() {
            "generationConfig" | "generation_config" => {
                if let Value::Object(o) = v {
                    for (gk, gv) in o {
                        gen.insert(camel(gk), gv.clone());
                    }
                }
            }
            "stream" | "stream_options" | "model" => {}
            _ => {
                let name = GENERATION_ALIASES
                    .iter()
                    .find(|(a, _)| a == k)
                    .map(|(_, g)| (*g).to_string())
                    .unwrap_or_else(|| camel(k));
                let v = match (name.as_str(), v) {
                    ("stopSequences", Value::String(s)) => json!([s]),
                    _ => v.clone(),
                };
                gen.insert(name, v);
            }
        }
    }
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    if !system.is_empty() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system.join("\n\n")}]}),
        );
    }
    let contents: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| {
            let role = if m.role == Role::Assistant {
                "model"
            } else {
                "user"
            };
            json!({"role": role, "parts": [{"text": m.content}]})
        })
        .collect();
    body.insert("contents".into(), Value::Array(contents));
    if !req.tools.is_empty() {
        let decls: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = Map::new();
                d.insert("name".into(), Value::String(t.name.clone()));
                if !t.description.is_empty() {
                    d.insert("description".into(), Value::String(t.description.clone()));
                }
                // Gemini rejects an OBJECT schema with no properties: an argument-less tool has no `parameters`.
                let has_props = t
                    .parameters
                    .get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(|p| !p.is_empty());
                if has_props {
                    d.insert("parameters".into(), to_gemini_schema(&t.parameters));
                }
                Value::Object(d)
            })
            .collect();
        body.insert("tools".into(), json!([{"functionDeclarations": decls}]));
    }
    if !gen.is_empty() {
        body.insert("generationConfig".into(), Value::Object(gen));
    }
    Value::Object(body)
}

/// Schema keys Gemini's `Schema` object accepts; others (`$schema`, `additionalProperties`, `$defs`, ...) are
/// dropped because the API rejects unknown fields.
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "anyOf",
    "propertyOrdering",
    "default",
    "example",
];

/// Translate a JSON Schema into Gemini's OpenAPI-style subset: type names upper-cased (`"object"` → `"OBJECT"`),
/// a `["string", "null"]` type becomes `STRING` + `nullable: true`, `const` becomes a one-value `enum`,
/// unsupported keywords are dropped; nested `properties`, `items` and `anyOf` are translated recursively.
pub(super) fn to_gemini_schema(s: &Value) -> Value {
    let Value::Object(o) = s else {
        return s.clone();
    };
    let mut out = Map::new();
    for (k, v) in o {
        match k.as_str() {
            "type" => match v {
                Value::String(t) => {
                    out.insert("type".into(), Value::String(t.to_ascii_uppercase()));
                }
                Value::Array(ts) => {
                    let non_null: Vec<&str> = ts
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|t| *t != "null")
                        .collect();
                    if let Some(t) = non_null.first() {
                        out.insert("type".into(), Value::String(t.to_ascii_uppercase()));
                    }
                    if non_null.len() < ts.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                }
                _ => {}
            },
            "properties" => {
                if let Value::Object(props) = v {
                    let p: Map<String, Value> = props
                        .iter()
                        .map(|(name, sub)| (name.clone(), to_gemini_schema(sub)))
                        .collect();
                    if !p.is_empty() {
                        out.insert("properties".into(), Value::Object(p));
                    }
                }
            }
            "items" => {
                out.insert("items".into(), to_gemini_schema(v));
            }
            "anyOf" => {
                if let Value::Array(a) = v {
                    out.insert(
                        "anyOf".into(),
                        Value::Array(a.iter().map(to_gemini_schema).collect()),
                    );
                }
            }
            "const" => {
                out.entry("enum").or_insert_with(|| json!([v]));
            }
            "enum" => {
                out.insert("enum".into(), v.clone());
            }
            _ if SCHEMA_KEYS.contains(&k.as_str()) => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    if out.contains_key("enum") && !out.contains_key("type") {
        out.insert("type".into(), json!("STRING"));
    }
    Value::Object(out)
}

/// Normalise `usageMetadata`: input = prompt (+ tool-use prompt) tokens, cached = `cachedContentTokenCount`
/// (a subset of the prompt), output = candidates + thoughts (thinking is billed as output but reported apart),
/// reasoning = thoughts.
pub(super) fn parse_usage(u: &Value) -> Option<Usage> {
    let o = u.as_object()?;
    let n = |k: &str| o.get(k).and_then(Value::as_u64).unwrap_or(0);
    let input = n("promptTokenCount") + n("toolUsePromptTokenCount");
    let thoughts = n("thoughtsTokenCount");
    Some(Usage {
        input_tokens: input,
        output_tokens: n("candidatesTokenCount") + thoughts,
        cached_input_tokens: n("cachedContentTokenCount").min(input),
        cache_write_tokens: 0,
        reasoning_tokens: thoughts,
        estimated: false,
    })
}

/// What one response (or one stream event) contributes.
struct Piece {
    text: String,
    calls: Vec<ToolCall>,
    finish: Option<String>,
    usage: Option<Usage>,
    /// Whether it carried generated tokens (text, thoughts or calls).
    output: bool,
}

fn piece(v: &Value) -> Result<Piece, ProviderError> {
    if v.get("error").is_some_and(|e| !e.is_null()) {
        return Err(inband_error(v, v.to_string().chars().take(300).collect()));
    }
    let mut p = Piece {
        text: String::new(),
        calls: Vec::new(),
        finish: None,
        usage: v.get("usageMetadata").and_then(parse_usage),
        output: false,
    };
    let cand = v
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("index").and_then(Value::as_i64).unwrap_or(0) == 0)
        });
    if let Some(c) = cand {
        let parts = c
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for part in parts {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                p.output |= !t.is_empty();
                if part.get("thought").and_then(Value::as_bool) != Some(true) {
                    p.text.push_str(t);
                }
            }
            if let Some(fc) = part.get("functionCall") {
                p.output = true;
                p.calls.push(ToolCall {
                    name: fc
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    arguments: match fc.get("args") {
                        Some(a @ Value::Object(_)) => a.clone(),
                        _ => Value::Object(Map::new()),
                    },
                });
            }
        }
        p.finish = c
            .get("finishReason")
            .and_then(Value::as_str)
            .map(str::to_string);
    } else if let Some(r) = v
        .pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)
    {
        // The prompt itself was blocked: no candidates at all.
        p.finish = Some(r.to_string());
    }
    Ok(p)
}

/// Parse a non-streaming generateContent response.
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
    let p = piece(&v)?;
    if p.finish.is_none() && v.get("candidates").is_none() {
        return Err(ProviderError::new(
            ErrorClass::MalformedResponse,
            "response has neither candidates nor promptFeedback",
        ));
    }
    Ok(Completion {
        text: p.text,
        tool_calls: p.calls,
        finish_reason: p.finish,
        usage: p.usage,
        ttft_ms: None,
        rate_limit: None,
    })
}

/// Incremental state of one `streamGenerateContent?alt=sse` stream: text appended, calls collected whole, the
/// last finish reason and the LAST usage kept (it is cumulative and interim values can even disagree).
#[derive(Default)]
pub struct Assembler {
    text: String,
    calls: Vec<ToolCall>,
    finish: Option<String>,
    usage: Option<Usage>,
}

impl Assemble for Assembler {
    fn event(&mut self, ev: &Event) -> Result<bool, ProviderError> {
        let v = match stream::decode(ev)? {
            stream::Payload::Empty => return Ok(false),
            stream::Payload::Done => {
                return Ok(false);
            }
            stream::Payload::Json(v) => v,
        };
        let p = piece(&v)?;
        self.text.push_str(&p.text);
        self.calls.extend(p.calls);
        if p.finish.is_some() {
            self.finish = p.finish;
        }
        if p.usage.is_some() {
            self.usage = p.usage;
        }
        Ok(p.output)
    }

    fn finished(&self) -> bool {
        self.finish.is_some()
    }

    fn into_completion(self, ttft_ms: Option<f64>) -> Completion {
        Completion {
            text: self.text,
            tool_calls: self.calls,
            finish_reason: self.finish,
            usage: self.usage,
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

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint(DEFAULT_BASE_URL, "gemini-2.5-flash", false),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8/", "models/x", true),
            "http://127.0.0.1:8/v1beta/models/x:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            endpoint("https://h/v1", "m", false),
            "https://h/v1/models/m:generateContent"
        );
    }

    #[test]
    fn body_roles_system_tools_and_generation_config() {
        let m = |role, c: &str| Message {
            role,
            content: c.into(),
        };
        let req = ChatRequest {
            messages: vec![
                m(Role::System, "Be brief."),
                m(Role::User, "hi"),
                m(Role::Assistant, "hello"),
                m(Role::User, "weather?"),
            ],
            tools: Arc::new(vec![
                ToolDef {
                    name: "get_weather".into(),
                    description: "Weather for a city".into(),
                    parameters: json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                        "additionalProperties": false,
                        "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
                                       "days": {"type": "array", "items": {"type": "integer"}}, "mode": {"const": "fast"}},
                        "required": ["city"]}),
                },
                ToolDef {
                    name: "now".into(),
                    description: String::new(),
                    parameters: json!({"type": "object", "properties": {}}),
                },
            ]),
            meta: RequestMeta::default(),
        };
        let mut params = Map::new();
        params.insert("max_tokens".into(), json!(64));
        params.insert("temperature".into(), json!(0.2));
        params.insert("top_p".into(), json!(0.9));
        params.insert("stop".into(), json!("END"));
        params.insert("response_mime_type".into(), json!("application/json"));
        params.insert("safety_settings".into(), json!([]));
        params.insert(
            "generationConfig".into(),
            json!({"thinking_config": {"thinkingBudget": 0}}),
        );
        let b = build_body(&params, &req);
        assert_eq!(b["systemInstruction"]["parts"][0]["text"], "Be brief.");
        let roles: Vec<&str> = b["contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "model", "user"]);
        assert_eq!(b["contents"][2]["parts"][0]["text"], "weather?");
        let g = &b["generationConfig"];
        assert_eq!(g["maxOutputTokens"], 64);
        assert_eq!(g["temperature"], 0.2);
        assert_eq!(g["topP"], 0.9);
        assert_eq!(g["stopSequences"], json!(["END"]));
        assert_eq!(g["responseMimeType"], "application/json");
        assert_eq!(g["thinkingConfig"]["thinkingBudget"], 0);
        assert_eq!(b["safetySettings"], json!([]));
        let decls = &b["tools"][0]["functionDeclarations"];
        let p = &decls[0]["parameters"];
        assert_eq!(p["type"], "OBJECT");
        assert!(p.get("$schema").is_none() && p.get("additionalProperties").is_none());
        assert_eq!(p["properties"]["city"]["type"], "STRING");
        assert_eq!(p["properties"]["unit"]["nullable"], true);
        assert_eq!(p["properties"]["unit"]["type"], "STRING");
        assert_eq!(p["properties"]["days"]["items"]["type"], "INTEGER");
        assert_eq!(p["properties"]["mode"]["enum"], json!(["fast"]));
        assert_eq!(p["required"], json!(["city"]));
        assert!(decls[1].get("parameters").is_none());
        assert!(b.get("stream").is_none() && b.get("model").is_none());
    }

    #[test]
    fn non_stream_thoughts_calls_and_usage() {
        let c = parse_response(&fixture("gemini-generate-thoughts-calls.json")).unwrap();
        assert_eq!(c.text, "Calling two tools.");
        let names: Vec<&str> = c.tool_calls.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["add", "now"]);
        assert_eq!(c.tool_calls[0].arguments, json!({"a": 2, "b": 3}));
        assert_eq!(c.tool_calls[1].arguments, json!({}));
        assert_eq!(c.finish_reason.as_deref(), Some("STOP"));
        let u = c.usage.unwrap();
        assert_eq!(
            (
                u.input_tokens,
                u.cached_input_tokens,
                u.output_tokens,
                u.reasoning_tokens
            ),
            (1200, 1024, 30 + 90, 90)
        );
    }

    #[test]
    fn stream_crlf_last_usage_whole_calls() {
        for step in [1, 2, 3, 10, 333, 1 << 16] {
            let c = stream_fixture("gemini-stream-quirks.sse", step).unwrap();
            assert_eq!(c.text, "It is sunny in Rome.", "step {step}");
            let names: Vec<&str> = c.tool_calls.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["log_weather"]);
            assert_eq!(c.finish_reason.as_deref(), Some("STOP"));
            let u = c.usage.unwrap();
            // Interim events said prompt 21; the last one says 20. Last wins, never summed.
            assert_eq!(
                (u.input_tokens, u.output_tokens, u.reasoning_tokens),
                (20, 9 + 12, 12)
            );
        }
    }

    #[test]
    fn stream_raw_error_object_without_data_prefix() {
        for step in [1, 4, 50, 1 << 16] {
            let e = stream_fixture("gemini-stream-raw-error.txt", step).unwrap_err();
            assert_eq!(e.class, ErrorClass::StreamError, "step {step}");
            assert!(e.message.contains("RESOURCE_EXHAUSTED"), "{}", e.message);
        }
    }

    #[test]
    fn stream_without_finish_is_truncated_and_blocked_prompt_finishes() {
        let e = stream_fixture("gemini-stream-truncated.sse", 16).unwrap_err();
        assert_eq!(e.class, ErrorClass::TruncatedStream);
        let c = parse_response(br#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7}}"#).unwrap();
        assert_eq!(
            (c.text.as_str(), c.finish_reason.as_deref()),
            ("", Some("SAFETY"))
        );
        assert_eq!(
            parse_response(br#"{"foo":1}"#).unwrap_err().class,
            ErrorClass::MalformedResponse
        );
    }
}
