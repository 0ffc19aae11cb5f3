//! The simulator in Anthropic's dialect: the Messages API (`POST /v1/messages`, not streamed) and Message Batches
//! (`POST /v1/messages/batches`, `GET .../{id}`, `GET .../{id}/results`, the list), for `kind: anthropic` providers
//! whose `base_url` is an `evalh sim serve`. A Messages body is read as the chat-completions request it stands for
//! (the system prompt as the first message), answered by the same draw as the OpenAI endpoint, and written back as
//! an Anthropic message; a batch line is answered exactly as `/v1/messages` answers its `params`.

use super::batch::{answer_line, now_unix, rfc3339, settle, Batch, Fate, Kind};
use super::{error_response, read_call, reply, Reply, SimState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{json, Value};
use std::sync::Arc;

/// Add the Anthropic routes.
pub(super) fn routes(r: axum::Router<Arc<SimState>>) -> axum::Router<Arc<SimState>> {
    let limit = axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024);
    r.route("/v1/messages", post(messages))
        .route("/v1/messages/batches", post(create).layer(limit).get(list))
        .route("/v1/messages/batches/{id}", get(retrieve))
        .route("/v1/messages/batches/{id}/results", get(results))
}

/// The chat-completions request a Messages body stands for.
fn openai_form(params: &Value) -> Value {
    let mut messages = Vec::new();
    if let Some(s) = params.get("system").and_then(Value::as_str) {
        messages.push(json!({"role": "system", "content": s}));
    }
    if let Some(ms) = params.get("messages").and_then(Value::as_array) {
        messages.extend(ms.iter().cloned());
    }
    json!({"model": params.get("model").cloned().unwrap_or(Value::Null), "messages": messages})
}

/// An Anthropic message from the sim's answer.
fn message_json(model: &str, r: Reply) -> Value {
    let mut content = Vec::new();
    if !r.text.is_empty() || r.tool_calls.is_empty() {
        content.push(json!({"type": "text", "text": r.text}));
    }
    for (i, tc) in r.tool_calls.iter().enumerate() {
        let args = tc
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("{}");
        let input: Value = serde_json::from_str(args).unwrap_or_else(|_| json!({}));
        content.push(json!({"type": "tool_use", "id": format!("toolu_sim{i}"),
                            "name": tc.pointer("/function/name").cloned().unwrap_or(Value::Null), "input": input}));
    }
    let stop = if r.tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    json!({
        "id": "msg_sim", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": r.usage["prompt_tokens"], "output_tokens": r.usage["completion_tokens"]}
    })
}

async fn messages(
    State(st): State<Arc<SimState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let params: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                400,
                "invalid_request_error",
                &format!("body is not JSON: {e}"),
                None,
            )
        }
    };
    let form = serde_json::to_vec(&openai_form(&params)).unwrap_or_default();
    let (call, profile) = match read_call(&st, &headers, &form) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let answer =
        async { axum::Json(message_json(&call.model, reply(&st, &call, profile))).into_response() };
    super::limited(&st, &call, profile, answer).await
}

/// One results line for one `{custom_id, params}` line.
pub(super) fn run_line(st: &SimState, line: &str, attempt: &str) -> (Value, Fate) {
    let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    let cid = v
        .get("custom_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let errored = |etype: &str, msg: &str, f: Fate| {
        (
            json!({"custom_id": cid, "result": {"type": "errored", "error": {"type": "error", "error": {"type": etype, "message": msg}}}}),
            f,
        )
    };
    let params = v.get("params").cloned().unwrap_or(Value::Null);
    let model = params
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(profile) = st.profiles.get(&model) else {
        return errored("not_found_error", &format!("model: {model}"), Fate::Failed);
    };
    match answer_line(st, profile, &model, &cid, attempt, openai_form(&params)) {
        Err(Fate::Expired) => (
            json!({"custom_id": cid, "result": {"type": "expired"}}),
            Fate::Expired,
        ),
        Err(_) => errored(
            "api_error",
            "Internal server error (simulated).",
            Fate::Failed,
        ),
        Ok(r) => (
            json!({"custom_id": cid, "result": {"type": "succeeded", "message": message_json(&model, r)}}),
            Fate::Ok,
        ),
    }
}

async fn create(State(st): State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                400,
                "invalid_request_error",
                &format!("body is not JSON: {e}"),
                None,
            )
        }
    };
    drop(body);
    let Some(reqs) = v.get("requests").and_then(Value::as_array) else {
        return error_response(
            400,
            "invalid_request_error",
            "requests: Field required",
            None,
        );
    };
    let mut jsonl = Vec::new();
    for r in reqs {
        let _ = serde_json::to_writer(&mut jsonl, r);
        jsonl.push(b'\n');
    }
    let model = reqs
        .first()
        .and_then(|r| r.pointer("/params/model"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match st.batches.create_other(
        Kind::Anthropic,
        &jsonl,
        model,
        reqs.len() as u64,
        Value::Null,
    ) {
        Ok(b) => axum::Json(object(&b, "")).into_response(),
        Err(e) => error_response(500, "api_error", &e, None),
    }
}
/// The message batch object; `host` makes the absolute `results_url` once it has ended.
fn object(b: &Batch, host: &str) -> Value {
    let d = b.done.as_ref();
    json!({
        "id": b.id, "type": "message_batch",
        "processing_status": if d.is_some() { "ended" } else { "in_progress" },
        "request_counts": {
            "processing": if d.is_some() { 0 } else { b.total },
            "succeeded": d.map_or(0, |d| d.completed), "errored": d.map_or(0, |d| d.failed),
            "canceled": 0, "expired": d.map_or(0, |d| d.expired)
        },
        "ended_at": d.map(|_| rfc3339(now_unix())), "created_at": rfc3339(b.created_unix),
        "expires_at": rfc3339(b.created_unix + 86_400), "cancel_initiated_at": null, "archived_at": null,
        "results_url": d.map(|_| format!("http://{host}/v1/messages/batches/{}/results", b.id)),
    })
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

fn not_found(id: &str) -> Response {
    error_response(
        404,
        "not_found_error",
        &format!("No message batch with id {id}"),
        None,
    )
}

async fn retrieve(
    State(st): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match settle(&st, &id).await {
        Some(b) => axum::Json(object(&b, &host(&headers))).into_response(),
        None => not_found(&id),
    }
}

async fn list(State(st): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    let mut data = Vec::new();
    for id in st.batches.ids(Kind::Anthropic).iter().take(100) {
        if let Some(b) = settle(&st, id).await {
            data.push(object(&b, &host(&headers)));
        }
    }
    axum::Json(
        json!({"data": data, "has_more": false, "first_id": data.first().map(|b| b["id"].clone()),
                      "last_id": data.last().map(|b| b["id"].clone())}),
    )
    .into_response()
}

async fn results(State(st): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let Some(path) = settle(&st, &id)
        .await
        .and_then(|b| b.done)
        .and_then(|d| st.batches.path(&d.output_file_id))
    else {
        return not_found(&id);
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            StatusCode::OK,
            [("content-type", "application/binary")],
            bytes,
        )
            .into_response(),
        Err(e) => error_response(500, "api_error", &e.to_string(), None),
    }
}
