//! Conformance over the recorded provider traffic in `../shared/wire`: every response body there is served from an
//! axum loopback server (HTTP status and headers from `.http` files, SSE bodies cut into chunks of awkward sizes —
//! 1, 2, 3, 5, 8, ... bytes, splitting CRLF pairs and UTF-8 characters) and parsed by the real client of its kind,
//! and the result is compared with a table of expectations written by reading each file: text, tool calls, finish
//! reason, normalised usage `[input, output, cached, cache_write, reasoning]`, or the error class (and retry hint).
//! Streams are also replayed one byte at a time through the synchronous driver, which must agree with the HTTP path.
//! The recorded REQUEST bodies are compared with what evalh builds for the same conversation.
//!
//! `../shared` is not part of this repository: when it is absent every test here prints a note and passes.
//! Hand-written fixtures in `tests/fixtures/wire/` (unit tests in `src/provider/`) cover the same quirks without it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use evalh::chat::ToolDef;
use evalh::chat::{ErrorClass, Message, Role};
use evalh::provider::{
    self, assemble_bytes, openai_endpoint, AnthropicAssembler, AnthropicClient, ChatRequest,
    Completion, GeminiAssembler, GeminiClient, OpenAiAssembler, OpenAiClient, ProviderError,
    RequestMeta, Timeouts,
};
use evalh::suite::ProviderSpec;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn wire_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/wire");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!(
            "note: {} is absent; wire conformance skipped (tests/fixtures/wire covers the quirks)",
            d.display()
        );
        None
    }
}

/// Expected text: exact, or (prefix, suffix, length in chars) for long bodies.
enum Txt {
    Is(&'static str),
    Has(&'static str, &'static str, usize),
}

enum Want {
    Ok {
        text: Txt,
        /// (name, arguments as compact JSON)
        tools: &'static [(&'static str, &'static str)],
        finish: Option<&'static str>,
        /// [input, output, cached input, cache write, reasoning]
        usage: Option<[u64; 5]>,
    },
    Err {
        class: ErrorClass,
        status: Option<u16>,
        retry_after_s: Option<f64>,
    },
}

struct Case {
    file: &'static str,
    want: Want,
}

fn c(file: &'static str, want: Want) -> Case {
    Case { file, want }
}

fn ok(
    text: Txt,
    tools: &'static [(&'static str, &'static str)],
    finish: Option<&'static str>,
    usage: Option<[u64; 5]>,
) -> Want {
    Want::Ok {
        text,
        tools,
        finish,
        usage,
    }
}

fn err(class: ErrorClass, status: Option<u16>, retry_after_s: Option<f64>) -> Want {
    Want::Err {
        class,
        status,
        retry_after_s,
    }
}

/// Response bodies (200), streamed (`.sse`, `.txt`) or not (`.json`, the 200 `.http`).
fn body_cases() -> Vec<Case> {
    vec![
        // A compatible gateway revises input_tokens in message_delta (43 -> 61): the final value wins.
        c("anthropic-compatible-stream-delta-input-tokens.sse", ok(Txt::Is("pong"), &[], Some("end_turn"), Some([61, 2, 0, 0, 0]))),
        c("anthropic-messages-stream-basic-sdk-fixture.sse", ok(Txt::Is("I'll check the current weather in Paris for you."), &[("get_weather", "{\"location\":\"Paris\"}")], Some("tool_use"), Some([377, 65, 0, 0, 0]))),
        // input_tokens (6) EXCLUDES cache reads (6289) and writes (3337); server-tool blocks are not tool calls.
        c("anthropic-messages-stream-cache-usage.sse", ok(Txt::Is("The sum of the squares of the numbers 1 through 12 is **650**."), &[], Some("end_turn"), Some([9632, 198, 6289, 3337, 0]))),
        // Zero content blocks: empty text, stop_reason refusal.
        c("anthropic-messages-stream-refusal.sse", ok(Txt::Is(""), &[], Some("refusal"), Some([18, 5, 0, 0, 0]))),
        c("anthropic-messages-stream-text-and-parallel-tools.sse", ok(Txt::Is("I'll add and multiply the numbers 2 and 3 for you."), &[("add", "{\"a\":2,\"b\":3}"), ("multiply", "{\"a\":2,\"b\":3}")], Some("tool_use"), Some([502, 137, 0, 0, 0]))),
        c("anthropic-messages-stream-text.sse", ok(Txt::Has("The weather in San Franc", " nice sunny day!", 117), &[], Some("end_turn"), Some([770, 38, 0, 0, 0]))),
        // Thinking block (thinking_delta, signature_delta) is not answer text.
        c("anthropic-messages-stream-thinking.sse", ok(Txt::Is(""), &[("weather", "{\"location\":\"Florence, Italy\"}")], Some("tool_use"), Some([424, 119, 0, 0, 0]))),
        // The only input_json_delta is "": arguments {}.
        c("anthropic-messages-stream-tool-no-args.sse", ok(Txt::Is("I'll update the issue list for you."), &[("updateIssueList", "{}")], Some("tool_use"), Some([565, 48, 0, 0, 0]))),
        // JSON padded with spaces before the closing brace.
        c("anthropic-messages-stream-tool-use.sse", ok(Txt::Is(""), &[("get_weather", "{\"location\":\"San Francisco, CA\",\"units\":\"f\"}")], Some("tool_use"), Some([656, 74, 0, 0, 0]))),
        c("anthropic-messages-text.json", ok(Txt::Has("Hello! I'm doing well, t", "n help you with?", 105), &[], Some("end_turn"), Some([12, 29, 0, 0, 0]))),
        c("anthropic-messages-tool-use.json", ok(Txt::Is("I'll check the weather in Florence, Italy for you."), &[("weather", "{\"location\":\"Florence,Italy\"}")], Some("tool_use"), Some([394, 66, 0, 0, 0]))),
        // tool_calls[].index starts at 1; no usage was requested, so none is reported (the runner estimates).
        c("anthropic-openai-compat-stream-tool-index1.sse", ok(Txt::Is("Reading it."), &[("read_file", "{\"path\":\"a.txt\"}")], Some("tool_calls"), None)),
        // event: error after HTTP 200.
        c("anthropic-stream-error-overloaded.sse", err(ErrorClass::StreamError, None, None)),
        c("azure-chat-stream-model-router.sse", ok(Txt::Is("Capital of Denmark."), &[], Some("stop"), Some([15, 78, 0, 0, 64]))),
        // First event: choices [] with empty id/model (prompt-filter results).
        c("azure-chat-stream-usage.sse", ok(Txt::Is("Oi!"), &[], Some("stop"), Some([19, 76, 0, 0, 64]))),
        c("azure-chat-text-deployment.json", ok(Txt::Is("Hello! It looks like"), &[], Some("length"), Some([8, 5, 0, 0, 0]))),
        c("azure-chat-tools.json", ok(Txt::Is(""), &[("weather", "{\"location\":\"Florence, Italy\"}")], Some("tool_calls"), Some([145, 26, 0, 0, 0]))),
        c("deepseek-chat-reasoning.json", ok(Txt::Has("The word \"strawberry\" co", " before the \"y\".", 107), &[], Some("stop"), Some([18, 345, 0, 0, 315]))),
        // ": keep-alive" comments before the first event.
        c("deepseek-chat-stream-keepalive.sse", ok(Txt::Is("## **"), &[], Some("length"), Some([13, 400, 0, 0, 0]))),
        // reasoning_content deltas are not text; finish and usage on one chunk.
        c("deepseek-chat-stream-reasoning.sse", ok(Txt::Is("The word \"strawberry\" contains three \"r\"s."), &[], Some("stop"), Some([18, 219, 0, 0, 205]))),
        c("deepseek-chat-stream-tool-call.sse", ok(Txt::Is(""), &[("weather", "{\"location\":\"San Francisco\"}")], Some("tool_calls"), Some([339, 83, 320, 0, 39]))),
        c("deepseek-chat-tool-call.json", ok(Txt::Is(""), &[("weather", "{\"location\":\"San Francisco\"}")], Some("tool_calls"), Some([339, 92, 320, 0, 48]))),
        c("gemini-generate-content-function-call.json", ok(Txt::Is(""), &[("weather", "{\"location\":\"Florence,Italy\"}")], Some("STOP"), Some([54, 63, 0, 0, 48]))),
        c("gemini-generate-content-text.json", ok(Txt::Has("## Lumina Day - A Celebr", " value: kindness", 931), &[], Some("MAX_TOKENS"), Some([9, 200, 0, 0, 0]))),
        // thoughtsTokenCount (244) is outside candidatesTokenCount (28): output = 272.
        c("gemini-generate-content-thinking.json", ok(Txt::Is("There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y."), &[], Some("STOP"), Some([9, 272, 0, 0, 244]))),
        // No index, whole call, finish "stop"; total (120) > prompt + completion: 42 unreported thinking tokens.
        c("gemini-openai-compat-stream-tools.sse", ok(Txt::Is(""), &[("get_weather", "{\"location\":\"Sydney\"}")], Some("stop"), Some([60, 60, 0, 0, 42]))),
        c("gemini-openai-compat-tools.json", ok(Txt::Is(""), &[("get_current_weather", "{\"location\":\"xxx\",\"unit\":\"celsius\"}")], Some("tool_calls"), Some([70, 20, 0, 0, 0]))),
        // Interim events say prompt 10, the last says 9: the last usage wins.
        c("gemini-stream-2.0-flash-max-tokens.sse", ok(Txt::Has("## Seed & Song Day - Cel", "orld.\n\n*   **The", 1008), &[], Some("MAX_TOKENS"), Some([9, 200, 0, 0, 0]))),
        // Last event: empty text part with only a thoughtSignature.
        c("gemini-stream-3-pro-thought-signature.sse", ok(Txt::Is("There are **3** \"r\"s in strawberry.\n\nst**r**awbe**rr**y"), &[], Some("STOP"), Some([9, 208, 0, 0, 185]))),
        // Whole functionCall, no id, finishReason STOP.
        c("gemini-stream-function-call.sse", ok(Txt::Is(""), &[("weather", "{\"location\":\"Florence,Italy\"}")], Some("STOP"), Some([54, 58, 0, 0, 43]))),
        // Raw multi-line JSON error object without data: after HTTP 200.
        c("gemini-stream-midstream-error.txt", err(ErrorClass::StreamError, None, None)),
        c("gemini-stream-parallel-function-calls.sse", ok(Txt::Is(""), &[("add", "{\"b\":3,\"a\":2}"), ("multiply", "{\"a\":2,\"b\":3}")], Some("STOP"), Some([121, 74, 0, 0, 38]))),
        c("gemini-stream-text-2-events.sse", ok(Txt::Is("The weather in Florence,Italy is 40 C."), &[], Some("STOP"), Some([127, 12, 0, 0, 0]))),
        c("gemini-stream-text.sse", ok(Txt::Is("Olá!"), &[], Some("STOP"), Some([11, 23, 0, 0, 21]))),
        c("groq-chat-stream-reasoning-head.sse", ok(Txt::Is("3}$"), &[], Some("stop"), Some([17, 1107, 0, 0, 963]))),
        // Usage sent three times (x_groq, finish chunk, choices [] chunk): never summed.
        c("groq-chat-stream-text-include-usage.sse", ok(Txt::Is("Olá!"), &[], Some("stop"), Some([20, 4, 0, 0, 0]))),
        c("groq-chat-stream-tool-call.sse", ok(Txt::Is(""), &[("weather", "{}")], Some("tool_calls"), Some([210, 15, 0, 0, 0]))),
        c("groq-chat-tool-call.json", ok(Txt::Is(""), &[("weather", "{}")], Some("tool_calls"), Some([218, 15, 0, 0, 0]))),
        c("llamacpp-chat-stream-reasoning.sse", ok(Txt::Is("Olá!"), &[], Some("stop"), Some([84, 57, 0, 0, 0]))),
        // Continuation delta without id and with name "".
        c("mistral-api-stream-incremental-tool-call.sse", ok(Txt::Is(""), &[("webSearchTool", "{\"query\":\"current Berlin weather\"}")], Some("tool_calls"), Some([171, 14, 128, 0, 0]))),
        // delta.content is an array of typed parts; thinking parts skipped.
        c("mistral-chat-stream-magistral-thinking.sse", ok(Txt::Is("2 + 2 = 4"), &[], Some("stop"), Some([10, 46, 0, 0, 0]))),
        c("mistral-chat-stream-text.sse", ok(Txt::Is("Hello, world! This is a test response."), &[], Some("stop"), Some([13, 8, 0, 0, 0]))),
        // Whole call without index, finish and usage in one chunk.
        c("mistral-chat-stream-tool-call.sse", ok(Txt::Is(""), &[("weather", "{\"location\":\"San Francisco\"}")], Some("tool_calls"), Some([124, 22, 0, 0, 0]))),
        c("mistral-chat-tool-call.json", ok(Txt::Is(""), &[("weather", "{\"location\":\"San Francisco\"}")], Some("tool_calls"), Some([124, 22, 0, 0, 0]))),
        c("ollama-openai-compat-stream-tools.sse", ok(Txt::Is(""), &[("get_weather", "{\"city\":\"Tokyo\"}")], Some("tool_calls"), Some([169, 15, 0, 0, 0]))),
        // cached_tokens is a subset of prompt_tokens.
        c("openai-chat-cached-usage.json", ok(Txt::Is("OK."), &[], Some("stop"), Some([2006, 300, 1920, 0, 0]))),
        c("openai-chat-json-schema.json", ok(Txt::Is("{\"age\":30,\"city\":\"Paris\",\"name\":\"Alice\"}"), &[], Some("stop"), Some([99, 13, 0, 0, 0]))),
        c("openai-chat-length.json", ok(Txt::Is("{\""), &[], Some("length"), Some([79, 1, 0, 0, 0]))),
        // OpenAI: reasoning (128) is inside completion_tokens (139).
        c("openai-chat-reasoning-usage.json", ok(Txt::Is("Olá!"), &[], Some("stop"), Some([19, 139, 0, 0, 128]))),
        c("openai-chat-refusal.json", ok(Txt::Is("I'm very sorry, but I can't assist with that."), &[], Some("stop"), Some([79, 12, 0, 0, 0]))),
        c("openai-chat-stream-json-schema.sse", ok(Txt::Is("{\""), &[], Some("length"), Some([79, 1, 0, 0, 0]))),
        // data: {"error": ...} after HTTP 200, no [DONE].
        c("openai-chat-stream-midstream-error.sse", err(ErrorClass::StreamError, None, None)),
        // n = 3: choices interleave; only choice 0 is kept.
        c("openai-chat-stream-n3-json-schema.sse", ok(Txt::Is("{\"city\":\"San Francisco\",\"temperature\":65,\"units\":\"f\"}"), &[], Some("stop"), Some([79, 42, 0, 0, 0]))),
        // Refusal streamed in delta.refusal becomes the text, as in the non-streaming parser.
        c("openai-chat-stream-refusal.sse", ok(Txt::Is("I'm sorry, I can't assist with that request."), &[], Some("stop"), Some([79, 11, 0, 0, 0]))),
        c("openai-chat-stream-tools-parallel-2024.sse", ok(Txt::Is(""), &[("GetWeatherArgs", "{\"city\":\"Edinburgh\",\"country\":\"GB\",\"units\":\"c\"}"), ("get_stock_price", "{\"ticker\":\"AAPL\",\"exchange\":\"NASDAQ\"}")], Some("tool_calls"), Some([149, 60, 0, 0, 0]))),
        c("openai-chat-stream-tools-parallel.sse", ok(Txt::Is(""), &[("add", "{\"a\":2,\"b\":3}"), ("multiply", "{\"a\":2,\"b\":3}")], Some("tool_calls"), Some([106, 50, 0, 0, 0]))),
        c("openai-chat-stream-usage.sse", ok(Txt::Is("Olá!"), &[], Some("stop"), Some([20, 2, 0, 0, 0]))),
        c("openai-chat-text.json", ok(Txt::Has("**Holiday Name:** Galaxy", "eyond our world.", 1842), &[], Some("stop"), Some([16, 363, 0, 0, 0]))),
        c("openai-chat-tools-parallel-2024.json", ok(Txt::Is(""), &[("GetWeatherArgs", "{\"city\":\"Edinburgh\",\"country\":\"GB\",\"units\":\"c\"}"), ("get_stock_price", "{\"ticker\":\"AAPL\",\"exchange\":\"NASDAQ\"}")], Some("tool_calls"), Some([149, 60, 0, 0, 0]))),
        c("openai-chat-tools-parallel.json", ok(Txt::Is(""), &[("add", "{\"a\":2,\"b\":3}"), ("multiply", "{\"a\":2,\"b\":3}")], Some("tool_calls"), Some([110, 50, 0, 0, 0]))),
        // ": OPENROUTER PROCESSING" comment; finish_reason sent twice.
        c("openrouter-chat-stream-text.sse", ok(Txt::Is("Olá! 😊"), &[], Some("stop"), Some([19, 7, 0, 0, 0]))),
        c("openrouter-chat-stream-tools-claude.sse", ok(Txt::Is(""), &[("add", "{\"a\":2,\"b\":3}"), ("multiply", "{\"a\":2,\"b\":3}")], Some("tool_calls"), Some([685, 120, 0, 0, 0]))),
        // Body starts with keep-alive whitespace.
        c("openrouter-chat-text.json", ok(Txt::Is("Oi! 😊"), &[], Some("stop"), Some([19, 7, 0, 0, 0]))),
        // finish_reason "eos"; seed above 2^53.
        c("together-chat-stream.sse", ok(Txt::Is("Hello!"), &[], Some("eos"), Some([12, 27, 0, 0, 0]))),
        // Cumulative usage on every chunk: the last one wins.
        c("vllm-chat-stream-usage.sse", ok(Txt::Is("Hi"), &[], Some("stop"), Some([12, 2, 0, 0, 0]))),
        // xAI: total (560) = prompt + completion + reasoning (227): output = 26 + 227.
        c("xai-chat-stream-tool-call.sse", ok(Txt::Is(""), &[("weather", "{\"location\":\"San Francisco\"}")], Some("tool_calls"), Some([307, 253, 306, 0, 227]))),
        // total 588 = 307 + 26 + 255.
        c("xai-chat-tool-call.json", ok(Txt::Is(""), &[("weather", "{\"location\":\"San Francisco\"}")], Some("tool_calls"), Some([307, 281, 244, 0, 255]))),
        // A 200 .http file: real rate-limit headers; the server_tool_use block is not a client tool call.
        c("anthropic-200-ratelimit-headers.http", ok(Txt::Is("I'll check the weather for all three cities in Celsius simultaneously."), &[("get_weather", "{\"location\":\"San Francisco, CA\",\"units\":\"c\"}")], Some("tool_use"), Some([3182, 237, 0, 0, 0]))),
    ]
}

/// Non-2xx `.http` recordings: class, status and the retry hint the runner will honour.
fn error_cases() -> Vec<Case> {
    use ErrorClass::*;
    vec![
        // Newer wording has no token counts: classified by code.
        c(
            "openai-400-context-length-gpt5.http",
            err(ContextLength, Some(400), None),
        ),
        c(
            "openai-400-context-length.http",
            err(ContextLength, Some(400), None),
        ),
        c(
            "openai-400-unsupported-parameter.http",
            err(BadRequest, Some(400), None),
        ),
        // type is invalid_request_error even for auth failures: the status decides.
        c(
            "openai-401-invalid-api-key.http",
            err(Auth, Some(401), None),
        ),
        // Same 429 as a rate limit, but not retryable.
        c(
            "openai-429-insufficient-quota.http",
            err(Quota, Some(429), None),
        ),
        // retry-after (19 s) wins over the x-ratelimit-reset-* durations.
        c(
            "openai-429-rate-limit-tokens.http",
            err(RateLimit, Some(429), Some(19.0)),
        ),
        c(
            "openai-500-server-error.http",
            err(ServerError, Some(500), None),
        ),
        c(
            "openai-503-overloaded.http",
            err(Overloaded, Some(503), None),
        ),
        // error.code is an integer (400).
        c("vllm-400-error.http", err(ContextLength, Some(400), None)),
        c(
            "anthropic-400-prompt-too-long.http",
            err(ContextLength, Some(400), None),
        ),
        c(
            "anthropic-429-rate-limit.http",
            err(RateLimit, Some(429), Some(14.0)),
        ),
        // Non-standard status 529 without a reason phrase.
        c(
            "anthropic-529-overloaded.http",
            err(Overloaded, Some(529), None),
        ),
        c(
            "gemini-400-invalid-argument.http",
            err(ContextLength, Some(400), None),
        ),
        // Retry hint only in the body: RetryInfo.retryDelay "34.4s".
        c(
            "gemini-429-resource-exhausted.http",
            err(RateLimit, Some(429), Some(34.4)),
        ),
        c(
            "gemini-503-unavailable.http",
            err(Overloaded, Some(503), None),
        ),
    ]
}

/// Corpus files that are not responses evalh parses, and why.
const NOT_APPLICABLE: &[(&str, &str)] = &[
    ("INDEX.md", "provenance notes"),
    ("ollama-api-chat-stream.ndjson", "Ollama native NDJSON API: not a supported kind (use Ollama's /v1 with kind: openai)"),
    ("ollama-api-chat-stream-tools.ndjson", "Ollama native NDJSON API: not a supported kind"),
    ("ollama-api-chat-stream-error.ndjson", "Ollama native NDJSON API: not a supported kind"),
    ("openai-chat-request-tool-results.json", "multi-turn tool-result request: evalh sends single-turn prompts"),
    ("anthropic-messages-request-tool-result.json", "multi-turn tool-result request: evalh sends single-turn prompts"),
    ("gemini-generate-content-request-function-response.json", "multi-turn tool-result request: evalh sends single-turn prompts"),
    ("openai-chat-request-json-schema.json", "response_format is a params passthrough; nothing kind-specific to build"),
    ("openrouter-chat-request-tools.json", "OpenRouter-only usage:{include} extension; same tool shape as openai-chat-request-tools.json"),
];

/// Request recordings compared with built bodies (see `recorded_requests_match_built_bodies`).
const REQUEST_FILES: &[&str] = &[
    "openai-chat-request-tools.json",
    "azure-request-deployment.http",
    "anthropic-messages-request-tools.json",
    "anthropic-messages-request-thinking.json",
    "anthropic-messages-stream-request.json",
    "gemini-generate-content-request-tools.json",
];

fn kind_of(file: &str) -> &'static str {
    if file.contains("openai-compat") {
        "openai"
    } else if file.starts_with("anthropic-") {
        "anthropic"
    } else if file.starts_with("gemini-") {
        "gemini"
    } else {
        "openai"
    }
}

fn streamed(file: &str) -> bool {
    file.ends_with(".sse") || file.ends_with(".txt")
}

/// A recorded response: status, headers, body.
struct Recorded {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn load(dir: &std::path::Path, file: &str) -> Recorded {
    let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    if !file.ends_with(".http") {
        let ct = if streamed(file) {
            "text/event-stream"
        } else {
            "application/json"
        };
        return Recorded {
            status: 200,
            headers: vec![("content-type".into(), ct.into())],
            body: bytes,
        };
    }
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4))
        .or_else(|| bytes.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)))
        .unwrap_or_else(|| panic!("{file}: no blank line after the headers"));
    let head = String::from_utf8_lossy(&bytes[..split.0]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{file}: bad status line"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| {
            !["content-length", "connection", "transfer-encoding"].contains(&k.as_str())
        })
        .collect();
    Recorded {
        status,
        headers,
        body: bytes[split.0 + split.1..].to_vec(),
    }
}

/// A response to serve: status, headers, body, and whether to stream it in small pieces.
type Serve = (u16, Vec<(String, String)>, Vec<u8>, bool);

/// What the loopback server serves next, and what it saw.
#[derive(Default)]
struct Shared {
    serve: Option<Serve>,
    seen: Vec<(Method, Uri, HeaderMap)>,
}

type St = Arc<Mutex<Shared>>;

async fn handler(State(st): State<St>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let (status, hdrs, body, chunked) = {
        let mut s = st.lock().unwrap();
        s.seen.push((method, uri, headers));
        s.serve.clone().expect("nothing to serve")
    };
    let mut b = Response::builder().status(status);
    for (k, v) in &hdrs {
        b = b.header(k.as_str(), v.as_str());
    }
    let body = if chunked {
        // Fibonacci-sized pieces: 1- and 2-byte chunks split CRLF pairs, "data:" prefixes and UTF-8 characters.
        let mut pieces = Vec::new();
        let (mut a, mut n, mut at) = (1usize, 2usize, 0usize);
        while at < body.len() {
            let end = (at + a).min(body.len());
            pieces.push(body[at..end].to_vec());
            at = end;
            (a, n) = (n, (a + n).min(89));
            if a >= 89 {
                (a, n) = (1, 2);
            }
        }
        Body::from_stream(futures_util::stream::unfold(
            pieces.into_iter(),
            |mut it| async move {
                let next = it.next()?;
                tokio::task::yield_now().await;
                Some((Ok::<_, std::io::Error>(next), it))
            },
        ))
    } else {
        Body::from(body)
    };
    b.body(body).unwrap()
}

struct Server {
    addr: std::net::SocketAddr,
    st: St,
}

async fn start() -> Server {
    let st: St = Arc::default();
    let app = axum::Router::new().fallback(handler).with_state(st.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server { addr, st }
}

fn spec(kind: &str, stream: bool) -> ProviderSpec {
    serde_json::from_value(
        json!({"id": "wire", "kind": kind, "model": "wire-model", "stream": stream}),
    )
    .unwrap()
}

fn timeouts() -> Timeouts {
    let t = Duration::from_secs(10);
    Timeouts {
        connect: t,
        first_byte: t,
        idle: t,
        total: t,
    }
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message {
                role: Role::System,
                content: "You are a helpful assistant.".into(),
            },
            Message {
                role: Role::User,
                content: "What's the weather in Florence?".into(),
            },
        ],
        tools: Arc::new(vec![ToolDef {
            name: "weather".into(),
            description: "Weather for a city".into(),
            parameters: json!({"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}),
        }]),
        meta: RequestMeta::default(),
    }
}

/// Send one request through the real client of `kind` to the loopback server serving `rec`.
async fn call(
    srv: &Server,
    kind: &str,
    stream: bool,
    rec: &Recorded,
) -> Result<Completion, ProviderError> {
    let chunked = stream && rec.status == 200;
    srv.st.lock().unwrap().serve =
        Some((rec.status, rec.headers.clone(), rec.body.clone(), chunked));
    let base = match kind {
        "openai" => format!("http://{}/v1", srv.addr),
        _ => format!("http://{}", srv.addr),
    };
    let client = provider::build(
        &spec(kind, stream),
        reqwest::Client::new(),
        timeouts(),
        Some(base),
    )
    .expect("client");
    client.complete(&request()).await
}

/// The path each kind must request.
fn check_request(srv: &Server, kind: &str, stream: bool) -> Result<(), String> {
    let s = srv.st.lock().unwrap();
    let (method, uri, headers) = s.seen.last().ok_or("no request seen")?;
    let want = match (kind, stream) {
        ("openai", _) => "/v1/chat/completions".to_string(),
        ("anthropic", _) => "/v1/messages".to_string(),
        (_, false) => "/v1beta/models/wire-model:generateContent".to_string(),
        (_, true) => "/v1beta/models/wire-model:streamGenerateContent?alt=sse".to_string(),
    };
    if *method != Method::POST || uri.to_string() != want {
        return Err(format!("requested {method} {uri}, want POST {want}"));
    }
    if kind == "anthropic" && headers.get("anthropic-version").is_none() {
        return Err("no anthropic-version header".into());
    }
    Ok(())
}

fn assemble_one_byte_at_a_time(kind: &str, body: &[u8]) -> Result<Completion, ProviderError> {
    let chunks: Vec<&[u8]> = body.chunks(1).collect();
    match kind {
        "anthropic" => assemble_bytes(AnthropicAssembler::default(), &chunks),
        "gemini" => assemble_bytes(GeminiAssembler::default(), &chunks),
        _ => assemble_bytes(OpenAiAssembler::default(), &chunks),
    }
}

fn check(want: &Want, got: &Result<Completion, ProviderError>) -> Result<(), String> {
    match (want, got) {
        (
            Want::Ok {
                text,
                tools,
                finish,
                usage,
            },
            Ok(c),
        ) => {
            match text {
                Txt::Is(t) if c.text != *t => return Err(format!("text {:?}, want {t:?}", c.text)),
                Txt::Has(pre, suf, n)
                    if !c.text.starts_with(pre)
                        || !c.text.ends_with(suf)
                        || c.text.chars().count() != *n =>
                {
                    return Err(format!(
                        "text {:?}... ({} chars), want {pre:?}...{suf:?} ({n} chars)",
                        c.text.chars().take(40).collect::<String>(),
                        c.text.chars().count()
                    ))
                }
                _ => {}
            }
            let got_tools: Vec<(String, Value)> = c
                .tool_calls
                .iter()
                .map(|t| (t.name.clone(), t.arguments.clone()))
                .collect();
            let want_tools: Vec<(String, Value)> = tools
                .iter()
                .map(|(n, a)| (n.to_string(), serde_json::from_str(a).unwrap()))
                .collect();
            if got_tools != want_tools {
                return Err(format!("tool calls {got_tools:?}, want {want_tools:?}"));
            }
            if c.finish_reason.as_deref() != *finish {
                return Err(format!("finish {:?}, want {finish:?}", c.finish_reason));
            }
            let u = c.usage.map(|u| {
                [
                    u.input_tokens,
                    u.output_tokens,
                    u.cached_input_tokens,
                    u.cache_write_tokens,
                    u.reasoning_tokens,
                ]
            });
            if u != *usage {
                return Err(format!("usage {u:?}, want {usage:?}"));
            }
            Ok(())
        }
        (
            Want::Err {
                class,
                status,
                retry_after_s,
            },
            Err(e),
        ) => {
            if e.class != *class || e.status != *status {
                return Err(format!("error {e}, want {class:?} status {status:?}"));
            }
            let ra = e.retry_after.map(|d| d.as_secs_f64());
            let close = match (ra, retry_after_s) {
                (None, None) => true,
                (Some(a), Some(b)) => (a - b).abs() < 0.01,
                (Some(_), None) => !class.retryable() || *class == ErrorClass::Overloaded,
                _ => false,
            };
            if !close {
                return Err(format!("retry_after {ra:?}, want {retry_after_s:?}"));
            }
            if e.message.trim().is_empty() {
                return Err("empty error message".into());
            }
            Ok(())
        }
        (_, Ok(c)) => Err(format!(
            "succeeded ({:?}), want an error",
            c.text.chars().take(60).collect::<String>()
        )),
        (_, Err(e)) => Err(format!("failed: {e}")),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn recorded_response_bodies_parse_as_expected() {
    let Some(dir) = wire_dir() else { return };
    let cases = body_cases();
    let failures = runtime().block_on(async {
        let srv = start().await;
        let mut failures = Vec::new();
        for case in &cases {
            let kind = kind_of(case.file);
            let stream = streamed(case.file);
            let rec = load(&dir, case.file);
            let got = call(&srv, kind, stream, &rec).await;
            if let Err(e) = check(&case.want, &got).and_then(|_| check_request(&srv, kind, stream))
            {
                failures.push(format!("{} (HTTP, {kind}): {e}", case.file));
            }
            if stream {
                let sync = assemble_one_byte_at_a_time(kind, &rec.body);
                if let Err(e) = check(&case.want, &sync) {
                    failures.push(format!("{} (1-byte replay): {e}", case.file));
                }
                if let (Ok(a), Ok(b)) = (&got, &sync) {
                    let strip = |c: &Completion| Completion {
                        ttft_ms: None,
                        ..c.clone()
                    };
                    if strip(a) != strip(b) {
                        failures.push(format!("{}: HTTP and 1-byte replay disagree", case.file));
                    }
                    if a.ttft_ms.is_none() && !(a.text.is_empty() && a.tool_calls.is_empty()) {
                        failures.push(format!(
                            "{}: streamed output but no time to first token",
                            case.file
                        ));
                    }
                }
            }
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "{} of {} files:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} recorded bodies conform", cases.len());
}

#[test]
fn recorded_http_errors_are_classified() {
    let Some(dir) = wire_dir() else { return };
    let cases = error_cases();
    let failures = runtime().block_on(async {
        let srv = start().await;
        let mut failures = Vec::new();
        for case in &cases {
            let kind = kind_of(case.file);
            let rec = load(&dir, case.file);
            // Classified the same whether or not the request asked for a stream.
            for stream in [false, true] {
                let got = call(&srv, kind, stream, &rec).await;
                if let Err(e) = check(&case.want, &got) {
                    failures.push(format!("{} (stream {stream}): {e}", case.file));
                }
            }
        }
        failures
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Lower-case Gemini's OpenAPI type names back into JSON Schema (to rebuild the suite's tool from a recording).
fn json_schema_from_gemini(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("type", Value::String(t)) => {
                        (k.clone(), Value::String(t.to_ascii_lowercase()))
                    }
                    _ => (k.clone(), json_schema_from_gemini(v)),
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(json_schema_from_gemini).collect()),
        _ => v.clone(),
    }
}

/// Anthropic accepts `system` and message `content` as strings or text-block arrays; evalh sends strings.
fn anthropic_texts_as_strings(mut v: Value) -> Value {
    let join = |x: &Value| -> Value {
        match x {
            Value::Array(blocks) => Value::String(
                blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
            ),
            other => other.clone(),
        }
    };
    if let Some(s) = v.get("system") {
        v["system"] = join(s);
    }
    if let Some(Value::Array(ms)) = v.get_mut("messages") {
        for m in ms {
            m["content"] = join(&m["content"]);
        }
    }
    v
}

fn message(role: &str, content: &str) -> Message {
    Message {
        role: match role {
            "system" => Role::System,
            "assistant" | "model" => Role::Assistant,
            _ => Role::User,
        },
        content: content.to_string(),
    }
}

fn with_params(kind: &str, model: &str, stream: bool, params: Value) -> ProviderSpec {
    serde_json::from_value(
        json!({"id": "wire", "kind": kind, "model": model, "stream": stream, "params": params,
        "base_url": "https://example.invalid"}),
    )
    .unwrap()
}

#[test]
fn recorded_requests_match_built_bodies() {
    let Some(dir) = wire_dir() else { return };
    let read = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap())
            .unwrap_or_else(|e| panic!("{f}: {e}"))
    };
    let http = reqwest::Client::new();
    let req = |messages: Vec<Message>, tools: Vec<ToolDef>| ChatRequest {
        messages,
        tools: Arc::new(tools),
        meta: RequestMeta::default(),
    };

    // OpenAI: messages and tools as recorded (evalh does not send `strict`; tool_choice and max_tokens are params).
    let mut rec = read("openai-chat-request-tools.json");
    let msgs = rec["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| message(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    let tools = rec["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| ToolDef {
            name: t["function"]["name"].as_str().unwrap().into(),
            description: t["function"]["description"].as_str().unwrap().into(),
            parameters: t["function"]["parameters"].clone(),
        })
        .collect();
    for t in rec["tools"].as_array_mut().unwrap() {
        t["function"].as_object_mut().unwrap().remove("strict");
    }
    let s = with_params(
        "openai",
        "gpt-4o",
        false,
        json!({"max_tokens": 4000, "tool_choice": "auto"}),
    );
    let client = OpenAiClient::new(&s, http.clone(), timeouts(), None, None).unwrap();
    assert_eq!(client.body(&req(msgs, tools)), rec);

    // Azure deployment URL: path and body (no model: the deployment chooses it).
    let raw = String::from_utf8(std::fs::read(dir.join("azure-request-deployment.http")).unwrap())
        .unwrap()
        .replace("\r\n", "\n");
    let path = raw
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap();
    let host = raw
        .lines()
        .find_map(|l| l.strip_prefix("Host: "))
        .unwrap()
        .trim();
    let body: Value = serde_json::from_str(raw.split("\n\n").nth(1).unwrap().trim()).unwrap();
    let mut s = with_params("azure", "gpt-4.1", false, json!({"max_tokens": 5}));
    s.base_url = Some(format!("https://{host}"));
    assert_eq!(
        openai_endpoint(&s, &format!("https://{host}")),
        format!("https://{host}{path}")
    );
    let client = OpenAiClient::new(&s, http.clone(), timeouts(), None, None).unwrap();
    assert_eq!(
        client.body(&req(vec![message("user", "Hello")], vec![])),
        body
    );

    // Anthropic: system top-level, input_schema tools, max_tokens, tool_choice / thinking passthrough, stream flag.
    for f in [
        "anthropic-messages-request-tools.json",
        "anthropic-messages-request-thinking.json",
        "anthropic-messages-stream-request.json",
    ] {
        let rec = anthropic_texts_as_strings(read(f));
        let mut msgs = Vec::new();
        if let Some(sys) = rec["system"].as_str() {
            msgs.push(message("system", sys));
        }
        for m in rec["messages"].as_array().unwrap() {
            msgs.push(message(
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
            ));
        }
        let tools = rec["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| ToolDef {
                name: t["name"].as_str().unwrap().into(),
                description: t["description"].as_str().unwrap_or_default().into(),
                parameters: t["input_schema"].clone(),
            })
            .collect();
        let mut params = serde_json::Map::new();
        for k in ["max_tokens", "tool_choice", "thinking"] {
            if let Some(v) = rec.get(k) {
                params.insert(k.into(), v.clone());
            }
        }
        if f == "anthropic-messages-stream-request.json" {
            // No max_tokens given: evalh's default (1024) is what this recording sent.
            params.remove("max_tokens");
        }
        let stream = rec.get("stream") == Some(&json!(true));
        let s = with_params(
            "anthropic",
            rec["model"].as_str().unwrap(),
            stream,
            Value::Object(params),
        );
        let client = AnthropicClient::new(&s, http.clone(), timeouts(), None, None).unwrap();
        assert_eq!(client.body(&req(msgs, tools)), rec, "{f}");
    }

    // Gemini: contents/parts, systemInstruction, functionDeclarations with OpenAPI types, maxOutputTokens, toolConfig.
    let mut rec = read("gemini-generate-content-request-tools.json");
    rec["systemInstruction"]
        .as_object_mut()
        .unwrap()
        .remove("role");
    let mut msgs = vec![message(
        "system",
        rec["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap(),
    )];
    for c in rec["contents"].as_array().unwrap() {
        msgs.push(message(
            c["role"].as_str().unwrap(),
            c["parts"][0]["text"].as_str().unwrap(),
        ));
    }
    let tools = rec["tools"][0]["functionDeclarations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| ToolDef {
            name: d["name"].as_str().unwrap().into(),
            description: d["description"].as_str().unwrap().into(),
            parameters: json_schema_from_gemini(&d["parameters"]),
        })
        .collect();
    let s = with_params(
        "gemini",
        "gemini-2.5-flash",
        false,
        json!({"max_tokens": 4000, "tool_config": rec["toolConfig"]}),
    );
    let client = GeminiClient::new(&s, http, timeouts(), None, None).unwrap();
    assert_eq!(client.body(&req(msgs, tools)), rec);
}

#[test]
fn every_corpus_file_is_accounted_for() {
    let Some(dir) = wire_dir() else { return };
    let mut known: Vec<&str> = body_cases().iter().map(|c| c.file).collect();
    known.extend(error_cases().iter().map(|c| c.file));
    known.extend(NOT_APPLICABLE.iter().map(|(f, _)| *f));
    known.extend(REQUEST_FILES);
    for f in &known {
        assert!(
            dir.join(f).is_file(),
            "the table names {f}, which is not in {}",
            dir.display()
        );
    }
    let mut unknown = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !known.contains(&name.as_str()) {
            unknown.push(name);
        }
    }
    if !unknown.is_empty() {
        // New recordings are welcome; they are reported so the table can grow, not failed on.
        eprintln!(
            "note: wire files without an expectation yet: {}",
            unknown.join(", ")
        );
    }
    for (f, why) in NOT_APPLICABLE {
        eprintln!("not applicable: {f}: {why}");
    }
}
