//! Providers: one trait, one internal request/response shape, one client per wire protocol.
//!
//! Why this module exists: a migrating team compares OpenAI with Anthropic, Gemini and a dozen OpenAI-compatible
//! hosts. Each speaks a slightly different dialect (usage semantics, tool-call formats, error envelopes). Clients
//! translate to and from the types here, so the runner, journal and scorers never see a dialect — and a provider
//! quirk is never mistaken for a model error: failures carry an [`ErrorClass`] that says whether a retry can help.

pub mod anthropic;
pub mod gemini;
pub mod http;
pub mod openai;
pub mod openai_stream;
pub mod sim;
pub mod sse;
pub mod stream;

use crate::suite::ToolDef;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub use crate::score::function_call::ToolCall;

/// Chat roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The user's turn.
    User,
    /// The model's turn (few-shot examples).
    Assistant,
}

impl Role {
    /// Wire name used by OpenAI-style APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

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

/// Token usage, normalised: `input_tokens` includes cached and cache-write tokens; `output_tokens` includes reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// All input tokens.
    pub input_tokens: u64,
    /// All output tokens (reasoning included).
    pub output_tokens: u64,
    /// Input tokens served from a prompt cache (subset of input).
    pub cached_input_tokens: u64,
    /// Input tokens written to a prompt cache (subset of input; Anthropic).
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Reasoning tokens (subset of output).
    pub reasoning_tokens: u64,
    /// True when the provider reported no usage and these are local estimates.
    #[serde(default)]
    pub estimated: bool,
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
}

/// Failure classes. Retryable ones are worth another attempt; final ones are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 429 rate limit (not quota).
    RateLimit,
    /// 5xx.
    ServerError,
    /// 529 / 503 overloaded.
    Overloaded,
    /// A timeout (connect, first byte, idle gap or total).
    Timeout,
    /// Connection refused/reset.
    Connection,
    /// A stream that ended before it finished.
    TruncatedStream,
    /// An error event inside a 200 stream.
    StreamError,
    /// A body that is not the expected JSON.
    MalformedResponse,
    /// 401/403.
    Auth,
    /// 400 (other than context length).
    BadRequest,
    /// The prompt exceeds the model's context window (provider said so, or the preflight did).
    ContextLength,
    /// 429 insufficient_quota, 402 out of credits.
    Quota,
    /// 404 (unknown model or path).
    NotFound,
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// Whether another attempt can help.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::RateLimit
                | ErrorClass::ServerError
                | ErrorClass::Overloaded
                | ErrorClass::Timeout
                | ErrorClass::Connection
                | ErrorClass::TruncatedStream
                | ErrorClass::StreamError
                | ErrorClass::MalformedResponse
        )
    }

    /// What a request that finally failed with this class says about the provider: the evidence contract
    /// (docs/gate.md). Only [`ErrorEvidence::Unreachable`] leaves the request unsettled.
    pub fn evidence(self) -> ErrorEvidence {
        match self {
            ErrorClass::ContextLength | ErrorClass::BadRequest => ErrorEvidence::ItemAnswer,
            ErrorClass::ServerError
            | ErrorClass::Overloaded
            | ErrorClass::Timeout
            | ErrorClass::TruncatedStream
            | ErrorClass::StreamError
            | ErrorClass::MalformedResponse
            | ErrorClass::Other => ErrorEvidence::Reliability,
            ErrorClass::Auth
            | ErrorClass::NotFound
            | ErrorClass::Quota
            | ErrorClass::Connection
            | ErrorClass::RateLimit => ErrorEvidence::Unreachable,
        }
    }

    /// Whether failures of this class will not heal within a run (a wrong key, model or URL, no credit, nothing
    /// listening): the circuit breaker stops sending to a provider after a run of them.
    pub fn persistent(self) -> bool {
        matches!(
            self,
            ErrorClass::Auth | ErrorClass::NotFound | ErrorClass::Quota | ErrorClass::Connection
        )
    }

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::RateLimit => "rate_limit",
            ErrorClass::ServerError => "server_error",
            ErrorClass::Overloaded => "overloaded",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Connection => "connection",
            ErrorClass::TruncatedStream => "truncated_stream",
            ErrorClass::StreamError => "stream_error",
            ErrorClass::MalformedResponse => "malformed_response",
            ErrorClass::Auth => "auth",
            ErrorClass::BadRequest => "bad_request",
            ErrorClass::ContextLength => "context_length",
            ErrorClass::Quota => "quota",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Other => "other",
        }
    }
}

/// What a final error is evidence of (see [`ErrorClass::evidence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEvidence {
    /// The provider answered this item with a refusal (context length, content filter, a rejected request): the
    /// request is settled and the item scores 0 for quality, like a wrong answer.
    ItemAnswer,
    /// The provider failed to answer reliably (server errors, timeouts, cut streams that persisted through the
    /// retries): settled, counted by the error-rate rule, left out of the quality comparison for both sides.
    Reliability,
    /// The provider could not be reached or used at all (auth, unknown model, no quota, connection refused, rate
    /// limits whose retries ran out): no evidence about it; the request stays unsettled and `--resume` sends it again.
    Unreachable,
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
