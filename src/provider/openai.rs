//! OpenAI-compatible chat completions (OpenAI, Azure, Groq, DeepSeek, Mistral, Together, OpenRouter, xAI, vLLM,
//! Ollama `/v1`, llama.cpp — and evalh's own simulator).
//!
//! Why this module exists: most providers a migrating team tries speak this protocol, each with small deviations
//! (usage that excludes reasoning, `content: null` next to tool calls, Azure's deployment URLs and `api-key` header).
//! The parser here accepts all the recorded variants and normalises usage into [`Usage`].

use super::http::{request_headers, Endpoint, Header};
use super::{ChatRequest, Completion, Provider, ProviderError, Timeouts};
use crate::chat::{ErrorClass, ToolCall, Usage};
use crate::suite::{ProviderKind, ProviderSpec};
use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

/// Client for one OpenAI-compatible provider entry.
pub struct OpenAiClient {
    endpoint: Endpoint,
    model: String,
    params: Map<String, Value>,
    /// False for Azure deployment URLs, where the deployment in the path chooses the model.
    model_in_body: bool,
    sim: bool,
    /// `params` sets a key the client writes itself (model, messages, tools, stream, stream_options): the body is
    /// then built through [`OpenAiClient::body`], whose map merge decides the winner.
    params_collide: bool,
}

/// The request body serialised straight from the request (no intermediate JSON tree, no copies of the messages):
/// the same JSON as [`OpenAiClient::body`] whenever `params` sets none of the client's own keys.
struct WireBody<'a> {
    client: &'a OpenAiClient,
    req: &'a ChatRequest,
}

impl serde::Serialize for WireBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Msg<'a>(&'a super::Message);
        impl serde::Serialize for Msg<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("role", self.0.role.as_str())?;
                m.serialize_entry("content", &self.0.content)?;
                m.end()
            }
        }
        struct Tool<'a>(&'a crate::chat::ToolDef);
        impl serde::Serialize for Tool<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let t = self.0;
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "function")?;
                m.serialize_entry(
                    "function",
                    &json!({"name": t.name, "description": t.description, "parameters": t.parameters}),
                )?;
                m.end()
            }
        }
        let c = self.client;
        let mut m = s.serialize_map(None)?;
        if c.model_in_body {
            m.serialize_entry("model", &c.model)?;
        }
        m.serialize_entry(
            "messages",
            &self.req.messages.iter().map(Msg).collect::<Vec<_>>(),
        )?;
        if !self.req.tools.is_empty() {
            m.serialize_entry(
                "tools",
                &self.req.tools.iter().map(Tool).collect::<Vec<_>>(),
            )?;
        }
        for (k, v) in &c.params {
            m.serialize_entry(k, v)?;
        }
        if c.endpoint.stream {
            m.serialize_entry("stream", &true)?;
            m.serialize_entry("stream_options", &json!({"include_usage": true}))?;
        }
        m.end()
    }
}

/// Default base URL per kind (Azure has none: the resource name is part of it).
pub fn default_base_url(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Openai => "https://api.openai.com/v1",
        _ => "",
    }
}

/// The endpoint URL: `{base}/chat/completions`; for Azure the classic deployment URL
/// `{base}/openai/deployments/{model}/chat/completions?api-version=...` unless the base already is the newer
/// `.../openai/v1` surface (model in the body).
pub fn endpoint(spec: &ProviderSpec, base: &str) -> String {
    let base = base.trim_end_matches('/');
    match spec.kind {
        ProviderKind::Azure if !base.ends_with("/openai/v1") => format!(
            "{base}/openai/deployments/{}/chat/completions?api-version={}",
            spec.model,
            spec.api_version.as_deref().unwrap_or(AZURE_API_VERSION)
        ),
        _ => format!("{base}/chat/completions"),
    }
}

/// The Azure `api-version` used when a provider entry names none.
pub const AZURE_API_VERSION: &str = "2025-01-01-preview";

impl OpenAiClient {
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
            .unwrap_or_else(|| default_base_url(spec.kind).to_string());
        let builtin = super::http::builtin_headers(spec, key.as_deref())?;
        let url = endpoint(spec, &base);
        Ok(OpenAiClient {
            model_in_body: !url.contains("/openai/deployments/"),
            endpoint: Endpoint::new(spec, http, &url, request_headers(spec, builtin)?, timeouts)?,
            model: spec.model.clone(),
            params: spec.params.clone(),
            sim: spec.kind == ProviderKind::Sim,
            params_collide: ["model", "messages", "tools", "stream", "stream_options"]
                .iter()
                .any(|k| spec.params.contains_key(*k)),
        })
    }

    /// The JSON body for a request.
    pub fn body(&self, req: &ChatRequest) -> Value {
        let mut body = Map::new();
        if self.model_in_body {
            body.insert("model".into(), Value::String(self.model.clone()));
        }
        body.insert(
            "messages".into(),
            Value::Array(
                req.messages
                    .iter()
                    .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
                    .collect(),
            ),
        );
        if !req.tools.is_empty() {
            body.insert(
                "tools".into(),
                Value::Array(
                    req.tools
                        .iter()
                        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
                        .collect(),
                ),
            );
        }
        for (k, v) in &self.params {
            body.insert(k.clone(), v.clone());
        }
        if self.endpoint.stream {
            body.insert("stream".into(), Value::Bool(true));
            body.entry("stream_options")
                .or_insert_with(|| json!({"include_usage": true}));
        } else {
            body.remove("stream_options");
        }
        Value::Object(body)
    }

    async fn call(&self, req: &ChatRequest) -> Result<Completion, ProviderError> {
        // The simulator reads where a request sits in the run from headers; real APIs never get them.
        let mut extra: Vec<Header> = Vec::new();
        if self.sim {
            use reqwest::header::{HeaderName, HeaderValue};
            let meta = [
                ("x-evalh-item", req.meta.item_id.clone()),
                ("x-evalh-repeat", req.meta.repeat.to_string()),
                ("x-evalh-attempt", req.meta.attempt.to_string()),
            ];
            for (n, v) in meta {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    extra.push((HeaderName::from_static(n), v));
                }
            }
        }
        let asm = super::openai_stream::Assembler::default();
        if self.params_collide {
            let body = self.body(req);
            self.endpoint
                .exchange(&extra, &body, asm, parse_response)
                .await
        } else {
            let body = WireBody { client: self, req };
            self.endpoint
                .exchange(&extra, &body, asm, parse_response)
                .await
        }
    }
}

impl Provider for OpenAiClient {
    fn body(&self, req: &ChatRequest) -> Value {
        Self::body(self, req)
    }

    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(self.call(req))
    }
}

/// Parse a non-streaming chat-completions body.
pub fn parse_response(bytes: &[u8]) -> Result<Completion, ProviderError> {
    // The common case — choices present, no in-band error, no duplicate keys — is read without building a JSON tree
    // of the whole body (ids, fingerprints and logprobs are skipped unallocated). Anything else takes the general
    // path below, which decides errors and oddities exactly as before.
    #[derive(serde::Deserialize)]
    struct Choice {
        #[serde(default)]
        message: Option<Value>,
        #[serde(default)]
        finish_reason: Option<Value>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        error: Option<serde::de::IgnoredAny>,
        choices: Vec<Choice>,
        #[serde(default)]
        usage: Option<Value>,
    }
    if let Ok(Body {
        error: None,
        choices,
        usage,
    }) = serde_json::from_slice::<Body>(bytes)
    {
        if let Some(choice) = choices.into_iter().next() {
            let msg = choice.message.unwrap_or(Value::Null);
            return Ok(completion_of(
                &msg,
                choice.finish_reason.as_ref(),
                usage.as_ref(),
            ));
        }
    }
    parse_response_tree(bytes)
}

/// The completion a `choices[0]` entry and the body's `usage` describe.
fn completion_of(msg: &Value, finish_reason: Option<&Value>, usage: Option<&Value>) -> Completion {
    let mut text = content_text(msg.get("content"));
    if text.is_empty() {
        if let Some(Value::String(r)) = msg.get("refusal") {
            text = r.clone();
        }
    }
    let tool_calls = msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| calls.iter().filter_map(parse_tool_call).collect())
        .unwrap_or_default();
    Completion {
        text,
        tool_calls,
        finish_reason: finish_reason.and_then(Value::as_str).map(str::to_string),
        usage: usage.and_then(parse_usage),
        ttft_ms: None,
        rate_limit: None,
    }
}

/// The general parser: the whole body as a JSON tree.
fn parse_response_tree(bytes: &[u8]) -> Result<Completion, ProviderError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        ProviderError::new(
            ErrorClass::MalformedResponse,
            format!(
                "response is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ),
        )
    })?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let (etype, code, msg) = super::http::envelope(Some(&v));
        let nonempty = |s: String| (!s.is_empty()).then_some(s);
        return Err(ProviderError {
            error_type: nonempty(etype),
            code: nonempty(code),
            ..ProviderError::new(
                ErrorClass::StreamError,
                if msg.is_empty() { err.to_string() } else { msg },
            )
        });
    }
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| {
            ProviderError::new(ErrorClass::MalformedResponse, "response has no choices")
        })?;
    Ok(completion_of(
        choice.get("message").unwrap_or(&Value::Null),
        choice.get("finish_reason"),
        v.get("usage"),
    ))
}

/// `content` may be a string, null, absent, or an array of parts (`{type: "text", text}`; Mistral thinking parts
/// are skipped).
pub(super) fn content_text(c: Option<&Value>) -> String {
    match c {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| {
                p.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "text")
            })
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// One `tool_calls[]` entry; arguments parsed from their JSON string (kept as a string if they don't parse).
pub(super) fn parse_tool_call(tc: &Value) -> Option<ToolCall> {
    let f = tc.get("function")?;
    let name = f.get("name").and_then(Value::as_str)?.to_string();
    let arguments = match f.get("arguments") {
        Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Map::new()),
        Some(Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        Some(v @ Value::Object(_)) => v.clone(),
        _ => Value::Object(Map::new()),
    };
    Some(ToolCall { name, arguments })
}

/// Normalise an OpenAI-style usage object (OpenAI semantics: cached tokens are part of `prompt_tokens`, reasoning
/// tokens part of `completion_tokens`). Providers that leave reasoning out of `completion_tokens` (xAI; Gemini's
/// OpenAI-compatible endpoint, which does not even report it) still count it in `total_tokens`, so any excess of
/// `total_tokens` over prompt + completion is unreported output: it is added to output and to reasoning. DeepSeek's
/// `prompt_cache_hit_tokens` and OpenRouter's `cache_write_tokens` are read too.
pub(super) fn parse_usage(u: &Value) -> Option<Usage> {
    if !u.is_object() {
        return None;
    }
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let prompt = n(u.get("prompt_tokens"));
    let completion = n(u.get("completion_tokens"));
    let total = u.get("total_tokens").and_then(Value::as_u64);
    let mut reasoning = n(u.pointer("/completion_tokens_details/reasoning_tokens"));
    let mut cached = n(u.pointer("/prompt_tokens_details/cached_tokens"));
    if cached == 0 {
        cached = n(u.get("prompt_cache_hit_tokens"));
    }
    let cache_write = n(u.pointer("/prompt_tokens_details/cache_write_tokens"));
    let excess = total.map_or(0, |t| t.saturating_sub(prompt + completion));
    let output = completion + excess;
    if excess > 0 {
        reasoning = reasoning.max(excess);
    }
    Some(Usage {
        input_tokens: prompt,
        output_tokens: output,
        cached_input_tokens: cached.min(prompt),
        cache_write_tokens: cache_write.min(prompt.saturating_sub(cached)),
        reasoning_tokens: reasoning.min(output),
        estimated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_tools_and_usage() {
        let body = br#"
         {"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
            {"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"c2","type":"function","function":{"name":"f","arguments":"{bad"}}]},"finish_reason":"tool_calls"}],
          "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,
                   "prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":8}}}"#;
        let c = parse_response(body).unwrap();
        assert_eq!(c.text, "");
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].arguments, json!({"city": "Paris"}));
        assert_eq!(c.tool_calls[1].arguments, json!("{bad"));
        let u = c.usage.unwrap();
        assert_eq!(
            (
                u.input_tokens,
                u.output_tokens,
                u.cached_input_tokens,
                u.reasoning_tokens
            ),
            (100, 20, 64, 8)
        );
    }

    #[test]
    fn xai_reasoning_is_added_to_output() {
        let u = parse_usage(&json!({"prompt_tokens":307,"completion_tokens":26,"total_tokens":588,"completion_tokens_details":{"reasoning_tokens":255}})).unwrap();
        assert_eq!((u.output_tokens, u.reasoning_tokens), (281, 255));
        // Gemini's OpenAI-compatible endpoint: thinking only visible as total > prompt + completion.
        let u = parse_usage(&json!({"completion_tokens":18,"prompt_tokens":60,"total_tokens":120}))
            .unwrap();
        assert_eq!((u.output_tokens, u.reasoning_tokens), (60, 42));
        // OpenAI: reasoning is inside completion_tokens; nothing is added.
        let u = parse_usage(&json!({"prompt_tokens":9,"completion_tokens":139,"total_tokens":148,"completion_tokens_details":{"reasoning_tokens":128}})).unwrap();
        assert_eq!((u.output_tokens, u.reasoning_tokens), (139, 128));
    }

    #[test]
    fn malformed_and_inband_errors() {
        assert_eq!(
            parse_response(b"not json").unwrap_err().class,
            ErrorClass::MalformedResponse
        );
        assert_eq!(
            parse_response(br#"{"choices":[]}"#).unwrap_err().class,
            ErrorClass::MalformedResponse
        );
        assert_eq!(
            parse_response(br#"{"error":{"message":"boom"}}"#)
                .unwrap_err()
                .message,
            "boom"
        );
    }

    /// The fast body serialiser must send exactly what the JSON-tree body says, for every shape of request.
    #[test]
    fn wire_body_equals_the_json_tree_body() {
        let req = |tools: bool| ChatRequest {
            messages: vec![
                super::super::Message {
                    role: crate::chat::Role::System,
                    content: "Sys \"q\"\n".into(),
                },
                super::super::Message {
                    role: crate::chat::Role::User,
                    content: "caf\u{e9} \u{1F600}".into(),
                },
            ],
            tools: std::sync::Arc::new(if tools {
                vec![crate::chat::ToolDef {
                    name: "f".into(),
                    description: "d".into(),
                    parameters: json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
                }]
            } else {
                vec![]
            }),
            meta: Default::default(),
        };
        let yamls = [
            "{id: a, kind: openai, model: m, base_url: 'http://127.0.0.1:9/v1'}",
            "{id: a, kind: openai, model: m, base_url: 'http://127.0.0.1:9/v1', stream: true, params: {temperature: 0, max_tokens: 5, stop: [x]}}",
            "{id: a, kind: azure, model: dep, base_url: 'https://r.openai.azure.com', params: {seed: 7}}",
            "{id: a, kind: openai, model: m, base_url: 'http://127.0.0.1:9/v1', params: {stream_options: {include_usage: false}}}",
        ];
        for y in yamls {
            let spec: ProviderSpec = serde_yaml::from_str(y).unwrap();
            let c = OpenAiClient::new(
                &spec,
                reqwest::Client::new(),
                Timeouts::from_run(&Default::default()),
                None,
                None,
            )
            .unwrap();
            for tools in [false, true] {
                let r = req(tools);
                let tree = serde_json::to_vec(&c.body(&r)).unwrap();
                if !c.params_collide {
                    let fast = serde_json::to_vec(&WireBody {
                        client: &c,
                        req: &r,
                    })
                    .unwrap();
                    assert_eq!(
                        String::from_utf8(fast).unwrap(),
                        String::from_utf8(tree).unwrap(),
                        "{y}"
                    );
                }
            }
        }
    }

    /// The typed fast path and the JSON-tree path agree on every body shape, including the odd ones; bodies the
    /// fast path cannot take fall through to the tree path.
    #[test]
    fn fast_parse_equals_tree_parse() {
        let bodies: &[&str] = &[
            r#"{"id":"a","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"billing"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6},"system_fingerprint":"fp"}"#,
            r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"thinking","thinking":"x"},{"text":"b"}]},"finish_reason":null}],"usage":null}"#,
            r#"{"choices":[{"message":{"content":"","refusal":"no"},"finish_reason":"stop"}]}"#,
            r#"{"choices":[{"message":{"content":null,"tool_calls":[{"function":{"name":"f","arguments":""}}]}}],"error":null}"#,
            r#"{"choices":[null]}"#,
            r#"{"choices":[{"message":"text"}]}"#,
            r#"{"choices":[{"message":{"content":"x"}}],"choices":[]}"#,
            r#"{"choices":[{"message":{"content":"x"}},{"message":{"content":"y"}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":9}}"#,
            r#"{"choices":{"0":{}}}"#,
            r#"{"choices":[],"error":{"message":"boom"}}"#,
            r#"{"error":{"message":"boom"},"choices":[{"message":{"content":"x"}}]}"#,
            r#"[1,2]"#,
            r#"{"choices":[{"message":{"content":"x"}}]"#,
        ];
        for b in bodies {
            let fast = parse_response(b.as_bytes());
            let tree = parse_response_tree(b.as_bytes());
            match (fast, tree) {
                (Ok(f), Ok(t)) => assert_eq!(f, t, "{b}"),
                (Err(f), Err(t)) => assert_eq!((f.class, f.message), (t.class, t.message), "{b}"),
                (f, t) => panic!("{b}: fast {f:?} vs tree {t:?}"),
            }
        }
    }
}
