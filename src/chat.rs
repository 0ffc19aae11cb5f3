//! The vocabulary every stage shares: chat messages and roles, tool definitions and tool calls, token usage, and
//! the classes of a failed request.
//!
//! Why this module exists: these types are what a request and its answer are made of, so the clients produce them,
//! the journal and the cache store them, tokens and cost count them, scoring and the gate judge them and the reports
//! show them. Living here, on the ground floor, none of those stages has to import another to name them (a scorer
//! never reaches an HTTP client to say what a tool call is). Nothing in this module imports the crate.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// A tool call produced by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Function name.
    pub name: String,
    /// Arguments; normally an object. A string holding a JSON object (the
    /// OpenAI wire format) is parsed; `null` or a blank string means no arguments
    /// (`{}`), except under `compat: bfcl`, where a string must decode as JSON.
    pub arguments: Value,
}

/// A tool the model may call (JSON Schema parameters), declared once in the suite and translated per provider;
/// the function-call scorer reads its schema too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    /// Function name.
    pub name: String,
    /// What it does (shown to the model).
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the arguments object (BFCL's `"type": "dict"` dialect is accepted by the scorer).
    pub parameters: Value,
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

/// The custom id of a request in a provider batch: `e` + 32 hex digits of blake3(provider, item, repeat).
/// Deterministic (a resume after a crash recomputes it), unique within a batch (two items with the same text still
/// differ), and within every dialect's limits (Anthropic: `^[a-zA-Z0-9_-]{1,64}$`). Here, on the ground floor,
/// because both sides of a batch need it: the batch wire (`crate::batch`) and the simulator that answers it.
pub fn batch_custom_id(provider_id: &str, item_id: &str, repeat: u32) -> String {
    let mut h = blake3::Hasher::new();
    for part in [
        provider_id.as_bytes(),
        item_id.as_bytes(),
        &repeat.to_le_bytes(),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    format!("e{}", &h.finalize().to_hex()[..32])
}
