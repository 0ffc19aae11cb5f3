//! Providers: one trait, one internal request/response shape, one client per wire protocol.
//!
//! Why this module exists: a migrating team compares OpenAI with Anthropic, Gemini and a dozen OpenAI-compatible
//! hosts. Each speaks a slightly different dialect (usage semantics, tool-call formats, error envelopes). Clients
//! translate to and from the types here, so the runner, journal and scorers never see a dialect — and a provider
//! quirk is never mistaken for a model error: failures carry an [`ErrorClass`] that says whether a retry can help.

mod anthropic;
mod gemini;
mod http;
mod limits;
mod openai;
mod openai_stream;
mod sse;
mod stream;

pub use anthropic::{
    endpoint as anthropic_endpoint, parse_response as parse_anthropic_response, AnthropicClient,
    Assembler as AnthropicAssembler, API_VERSION as ANTHROPIC_API_VERSION,
    DEFAULT_BASE_URL as ANTHROPIC_BASE_URL, DEFAULT_MAX_TOKENS as ANTHROPIC_DEFAULT_MAX_TOKENS,
};
pub use gemini::{
    endpoint as gemini_endpoint, parse_response as parse_gemini_response,
    Assembler as GeminiAssembler, GeminiClient, DEFAULT_BASE_URL as GEMINI_BASE_URL,
};
pub use http::{http_error, transport_error};
pub use limits::{rate_limit_info, LimitWindow, RateLimitInfo};
pub use openai::{
    default_base_url as openai_default_base_url, endpoint as openai_endpoint,
    parse_response as parse_openai_response, OpenAiClient, AZURE_API_VERSION,
};
pub use openai_stream::Assembler as OpenAiAssembler;
pub use stream::assemble_bytes;

use crate::chat::{ErrorClass, Message, ToolCall, ToolDef, Usage};
use futures_util::future::BoxFuture;
use std::time::Duration;

/// Where a request sits in the run; used by the simulator and for logging, never sent to real APIs.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// Dataset item id.
    pub item_id: String,
    /// Repeat index (0-based).
    pub repeat: u32,
    /// Attempt number (1-based).
    pub attempt: u32,
}

/// A provider-independent chat request. Model, parameters and streaming come from the client's configuration.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The conversation.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    pub tools: std::sync::Arc<Vec<ToolDef>>,
    /// Run position.
    pub meta: RequestMeta,
}

/// A successful completion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// Text output (empty when the model only called tools).
    pub text: String,
    /// Tool calls, arguments parsed as JSON where possible (else the raw string).
    pub tool_calls: Vec<ToolCall>,
    /// Provider finish reason as sent (`stop`, `length`, `end_turn`, `STOP`, ...).
    pub finish_reason: Option<String>,
    /// Usage as reported (None if the provider sent none).
    pub usage: Option<Usage>,
    /// Time to first token, ms (streaming only).
    pub ttft_ms: Option<f64>,
    /// The rate limits the response announced in its headers (the runner paces from them).
    pub rate_limit: Option<RateLimitInfo>,
}

/// A failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    /// What kind of failure.
    pub class: ErrorClass,
    /// Human-readable detail (provider message; never contains credentials).
    pub message: String,
    /// HTTP status, when there was one.
    pub status: Option<u16>,
    /// How long the provider asked us to wait.
    pub retry_after: Option<Duration>,
    /// The provider's or gateway's own error type from the body (`error.type`; Gemini `error.status`), if any.
    pub error_type: Option<String>,
    /// The provider's or gateway's error code from the body (`error.code`), if any.
    pub code: Option<String>,
    /// The rate limits the response announced in its headers, when there was a response (boxed: errors stay small).
    pub rate_limit: Option<Box<RateLimitInfo>>,
}

impl ProviderError {
    /// A new error without status or retry hint.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            message: message.into(),
            status: None,
            retry_after: None,
            error_type: None,
            code: None,
            rate_limit: None,
        }
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "{} (HTTP {s}): {}", self.class.as_str(), self.message),
            None => write!(f, "{}: {}", self.class.as_str(), self.message),
        }
    }
}

/// The one provider trait.
pub trait Provider: Send + Sync {
    /// Send one request (one attempt; the runner owns retries).
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>>;

    /// The JSON body `complete` sends for `req` (a batch API's request lines carry the same body).
    fn body(&self, req: &ChatRequest) -> serde_json::Value;
}

/// Timeouts every client applies.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP/TLS connect.
    pub connect: Duration,
    /// Until response headers (and, streaming, the first event).
    pub first_byte: Duration,
    /// Longest gap between stream chunks.
    pub idle: Duration,
    /// Whole attempt.
    pub total: Duration,
}

impl Timeouts {
    /// From the suite's run settings.
    pub fn from_run(r: &crate::suite::RunSpec) -> Self {
        let s = |x: f64| Duration::from_secs_f64(x.max(0.001));
        Timeouts {
            connect: s(r.connect_timeout_s),
            first_byte: s(r.first_byte_timeout_s.unwrap_or(r.timeout_s)),
            idle: s(r.idle_timeout_s),
            total: s(r.timeout_s),
        }
    }
}

/// Build the client for a provider entry. `base_url_override` is used for sim providers (the loopback server).
pub fn build(
    spec: &crate::suite::ProviderSpec,
    http: reqwest::Client,
    timeouts: Timeouts,
    base_url_override: Option<String>,
) -> crate::error::Result<Box<dyn Provider>> {
    use crate::suite::ProviderKind;
    let key = match &spec.api_key_env {
        Some(env) => match std::env::var(env) {
            Ok(k) if !k.is_empty() => Some(k),
            _ => {
                return Err(crate::error::InputError::new(
                    "",
                    format!("provider `{}`: environment variable {env} is not set", spec.id),
                )
                .hint(format!("export {env}=... before running, or use --providers with a sim provider for a dry run"))
                .into())
            }
        },
        None => None,
    };
    match spec.kind {
        ProviderKind::Openai | ProviderKind::Azure | ProviderKind::Sim => Ok(Box::new(
            openai::OpenAiClient::new(spec, http, timeouts, key, base_url_override)?,
        )),
        ProviderKind::Anthropic => Ok(Box::new(anthropic::AnthropicClient::new(
            spec,
            http,
            timeouts,
            key,
            base_url_override,
        )?)),
        ProviderKind::Gemini => Ok(Box::new(gemini::GeminiClient::new(
            spec,
            http,
            timeouts,
            key,
            base_url_override,
        )?)),
    }
}

/// The headers of a provider entry's batch-API requests (`crate::batch`): the key header its client sends (read
/// from `api_key_env`, marked sensitive) and the suite's `headers:`.
pub fn batch_headers(
    spec: &crate::suite::ProviderSpec,
) -> crate::error::Result<Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>> {
    let key = spec
        .api_key_env
        .as_ref()
        .and_then(|env| std::env::var(env).ok())
        .filter(|k| !k.is_empty());
    let builtin = http::builtin_headers(spec, key.as_deref())?;
    http::request_headers(spec, builtin)
}
