//! Request lines, batch states and result lines of each dialect (shapes: /work/shared/reference/batch.md; examples
//! in tests/fixtures/wire/batch/).

use crate::provider::{
    http_error, parse_anthropic_response, parse_gemini_response, parse_openai_response, Completion,
    ProviderError,
};

use crate::chat::ErrorClass;
use serde_json::{json, Value};

/// The batch dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI Batch API (`/v1/files` + `/v1/batches`, JSONL in and out).
    OpenAi,
    /// Azure OpenAI global batch: OpenAI's format, URL `/chat/completions`, `model` = the deployment.
    Azure,
    /// Anthropic Message Batches (`requests: [{custom_id, params}]`, JSONL results).
    Anthropic,
    /// Gemini batch mode (`{key, request}` lines; an operation whose state is `BATCH_STATE_*`).
    Gemini,
}

/// Where a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchState {
    /// Accepted, not finished: poll again later.
    InProgress,
    /// Finished: results can be downloaded (some lines may still be errors, expired or cancelled).
    Ended,
    /// The batch as a whole failed (validation, empty file): none of its requests ran; they stay unsettled.
    Failed,
    /// The completion window passed: what finished is in the results, the rest stays unsettled.
    Expired,
    /// Cancelled: what finished is in the results, the rest stays unsettled.
    Cancelled,
}

/// What a results line says about its request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The provider answered.
    Answer(Completion),
    /// The provider refused or failed this request, classified like the same failure on the interactive endpoint.
    Error(ProviderError),
    /// The batch never ran this request (expired, cancelled): no evidence either way; it stays resumable.
    Unsettled(String),
}

/// The custom id of a request (see [`crate::chat::batch_custom_id`]).
pub fn custom_id(provider_id: &str, item_id: &str, repeat: u32) -> String {
    crate::chat::batch_custom_id(provider_id, item_id, repeat)
}

/// One request of a batch input, from the body the interactive client builds for the same request (streaming
/// switched off: a batch answers whole responses). `model` is the model (OpenAI) or deployment (Azure); Anthropic
/// and Gemini bodies carry theirs already (Gemini's batch names the model once, at creation).
pub fn request_line(dialect: Dialect, id: &str, model: &str, body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("stream");
        m.remove("stream_options");
    }
    match dialect {
        Dialect::OpenAi | Dialect::Azure => {
            if let Some(m) = body.as_object_mut() {
                m.insert("model".into(), Value::String(model.to_string()));
            }
            let url = if dialect == Dialect::Azure {
                "/chat/completions"
            } else {
                "/v1/chat/completions"
            };
            json!({"custom_id": id, "method": "POST", "url": url, "body": body})
        }
        Dialect::Anthropic => json!({"custom_id": id, "params": body}),
        Dialect::Gemini => json!({"key": id, "request": body}),
    }
}

/// The state of a batch object (OpenAI/Azure batch, Anthropic message batch, Gemini operation or batch resource).
pub fn state(dialect: Dialect, v: &Value) -> Result<BatchState, String> {
    let s = |x: Option<&Value>| x.and_then(Value::as_str).map(str::to_ascii_lowercase);
    match dialect {
        Dialect::OpenAi | Dialect::Azure => {
            // Older Azure API versions capitalise ("Validating").
            let st = s(v.get("status")).ok_or("a batch object without `status`")?;
            Ok(match st.as_str() {
                "validating" | "in_progress" | "finalizing" | "cancelling" => {
                    BatchState::InProgress
                }
                "completed" => BatchState::Ended,
                "failed" => BatchState::Failed,
                "expired" => BatchState::Expired,
                "cancelled" => BatchState::Cancelled,
                other => return Err(format!("unknown batch status `{other}`")),
            })
        }
        Dialect::Anthropic => {
            let st = s(v.get("processing_status"))
                .ok_or("a message batch without `processing_status`")?;
            match st.as_str() {
                "in_progress" | "canceling" => Ok(BatchState::InProgress),
                // Ended covers cancelled and expired batches too: their requests say so one by one.
                "ended" => Ok(BatchState::Ended),
                other => Err(format!("unknown processing_status `{other}`")),
            }
        }
        Dialect::Gemini => {
            // An operation keeps the batch in `metadata`; GET batches/{name} may return the resource itself.
            let meta = v.get("metadata").unwrap_or(v);
            if v.get("done") == Some(&Value::Bool(true)) && v.get("error").is_some() {
                return Ok(BatchState::Failed);
            }
            let st = meta
                .get("state")
                .and_then(Value::as_str)
                .ok_or("a batch operation without `state`")?;
            // The wire says BATCH_STATE_*; the docs say JOB_STATE_*: accept both.
            let bare = st
                .strip_prefix("BATCH_STATE_")
                .or_else(|| st.strip_prefix("JOB_STATE_"))
                .unwrap_or(st);
            Ok(match bare {
                "PENDING" | "QUEUED" | "RUNNING" | "CANCELLING" | "PAUSED" | "UPDATING" => {
                    BatchState::InProgress
                }
                "SUCCEEDED" | "PARTIALLY_SUCCEEDED" => BatchState::Ended,
                "FAILED" => BatchState::Failed,
                "EXPIRED" => BatchState::Expired,
                "CANCELLED" => BatchState::Cancelled,
                _ => return Err(format!("unknown batch state `{st}`")),
            })
        }
    }
}

/// Why a failed batch failed, in the provider's words: OpenAI and Azure list validation errors in `errors.data[]`
/// (`code`, `message`, the input `line`); a Gemini operation carries one `error`. None when the object says nothing.
pub fn failure_reason(dialect: Dialect, v: &Value) -> Option<String> {
    let text = |e: &Value| {
        let field = |k: &str| e.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let mut s = String::new();
        if let Some(line) = e.get("line").and_then(Value::as_u64) {
            s.push_str(&format!("line {line}: "));
        }
        if let Some(code) = field("code").or_else(|| field("status")) {
            s.push_str(code);
            s.push_str(": ");
        }
        s.push_str(field("message").unwrap_or("(no message)"));
        s
    };
    let reasons: Vec<String> = match dialect {
        Dialect::OpenAi | Dialect::Azure => v
            .pointer("/errors/data")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default(),
        Dialect::Gemini => v.get("error").map(text).into_iter().collect(),
        Dialect::Anthropic => Vec::new(),
    };
    let more = reasons.len().saturating_sub(3);
    let mut out = reasons.into_iter().take(3).collect::<Vec<_>>().join("; ");
    if more > 0 {
        out.push_str(&format!("; and {more} more"));
    }
    (!out.is_empty()).then_some(out)
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// One line of a results (or OpenAI error) file: (custom id, outcome).
pub fn parse_result_line(dialect: Dialect, line: &[u8]) -> Result<(String, Outcome), String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let id_key = if dialect == Dialect::Gemini {
        "key"
    } else {
        "custom_id"
    };
    let id = v
        .get(id_key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a result line without `{id_key}`"))?
        .to_string();
    let outcome = match dialect {
        Dialect::OpenAi | Dialect::Azure => openai_outcome(&v)?,
        Dialect::Anthropic => anthropic_outcome(&v)?,
        Dialect::Gemini => gemini_outcome(&v)?,
    };
    Ok((id, outcome))
}

fn answer(parsed: Result<Completion, ProviderError>) -> Outcome {
    match parsed {
        Ok(c) => Outcome::Answer(c),
        Err(e) => Outcome::Error(e),
    }
}

fn openai_outcome(v: &Value) -> Result<Outcome, String> {
    match v.get("response").filter(|r| !r.is_null()) {
        Some(r) => {
            let status = r
                .get("status_code")
                .and_then(Value::as_u64)
                .ok_or("a response without `status_code`")?;
            let body = bytes(r.get("body").unwrap_or(&Value::Null));
            Ok(if (200..300).contains(&status) {
                answer(parse_openai_response(&body))
            } else {
                Outcome::Error(http_error(status as u16, &Default::default(), &body))
            })
        }
        // No HTTP exchange happened (`batch_expired`, a cancelled batch): the request never ran.
        None => {
            let code = v
                .pointer("/error/code")
                .and_then(Value::as_str)
                .unwrap_or("no response");
            Ok(Outcome::Unsettled(code.to_string()))
        }
    }
}

/// The HTTP status the interactive endpoint returns with an Anthropic error type.
fn anthropic_status(etype: &str) -> u16 {
    match etype {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

fn anthropic_outcome(v: &Value) -> Result<Outcome, String> {
    let r = v.get("result").ok_or("a result line without `result`")?;
    match r.get("type").and_then(Value::as_str) {
        Some("succeeded") => Ok(answer(parse_anthropic_response(&bytes(
            r.get("message").unwrap_or(&Value::Null),
        )))),
        Some("errored") => {
            let env = r.get("error").cloned().unwrap_or(Value::Null);
            let etype = env
                .pointer("/error/type")
                .and_then(Value::as_str)
                .unwrap_or("api_error");
            Ok(Outcome::Error(http_error(
                anthropic_status(etype),
                &Default::default(),
                &bytes(&env),
            )))
        }
        Some(t @ ("expired" | "canceled")) => Ok(Outcome::Unsettled(t.to_string())),
        other => Err(format!("unknown result type {other:?}")),
    }
}

/// gRPC status codes (seen on inline errors) to the HTTP status of the same failure; HTTP codes pass through.
fn google_status(code: u64) -> u16 {
    match code {
        c if c >= 100 => c as u16,
        3 | 9 | 11 => 400,
        16 => 401,
        7 => 403,
        5 => 404,
        6 | 10 => 409,
        8 => 429,
        1 => 499,
        4 => 504,
        14 => 503,
        _ => 500, // 2 UNKNOWN, 12 UNIMPLEMENTED, 13 INTERNAL, 15 DATA_LOSS
    }
}

fn gemini_outcome(v: &Value) -> Result<Outcome, String> {
    if let Some(r) = v.get("response") {
        return Ok(answer(parse_gemini_response(&bytes(r))));
    }
    if let Some(e) = v.get("error") {
        let code = e.get("code").and_then(Value::as_u64).unwrap_or(13);
        let body = json!({"error": e});
        return Ok(Outcome::Error(http_error(
            google_status(code),
            &Default::default(),
            &bytes(&body),
        )));
    }
    Err("a result line with neither `response` nor `error`".into())
}

/// The inline results of a finished Gemini batch operation (`inlinedResponses.inlinedResponses[]`, each with
/// `metadata.key`), found under `response` or `metadata.output` (the two places the API has put them).
pub fn parse_gemini_inline(op: &Value) -> Result<Vec<(String, Outcome)>, String> {
    let list = [
        "/response/inlinedResponses/inlinedResponses",
        "/metadata/output/inlinedResponses/inlinedResponses",
    ]
    .iter()
    .find_map(|p| op.pointer(p).and_then(Value::as_array))
    .ok_or("an operation without inline responses")?;
    list.iter()
        .map(|item| {
            let key = item
                .pointer("/metadata/key")
                .and_then(Value::as_str)
                .ok_or("an inline response without metadata.key")?;
            Ok((key.to_string(), gemini_outcome(item)?))
        })
        .collect()
}

impl Outcome {
    /// The error class, for an error.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Outcome::Error(e) => Some(e.class),
            _ => None,
        }
    }
}
