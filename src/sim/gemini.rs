//! The simulator in Gemini's dialect, under `/v1beta`: `models/{model}:generateContent` (not streamed) and batch
//! mode (`models/{model}:batchGenerateContent` with inline requests, the operation at `batches/{id}` with its
//! results inline, the list), for `kind: gemini` providers whose `base_url` is an `evalh sim serve` URL ending in
//! `/v1beta`. A request is read as the chat-completions request it stands for and answered by the same draw as the
//! OpenAI endpoint. A batch whose `expire_rate` draws any request ends `BATCH_STATE_EXPIRED` with no results (as
//! Gemini's do); failed requests come back as inline errors (gRPC code 13).

use super::batch::{answer_line, now_unix, rfc3339, settle, Batch, Fate, Kind};
use super::{error_response, read_call, reply, Reply, SimState};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{json, Value};
use std::io::BufRead;
use std::sync::Arc;

/// Add the Gemini routes.
pub(super) fn routes(r: axum::Router<Arc<SimState>>) -> axum::Router<Arc<SimState>> {
    let limit = axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024);
    r.route("/v1beta/models/{action}", post(models).layer(limit))
        .route("/v1beta/batches", get(list))
        .route("/v1beta/batches/{id}", get(retrieve))
}

/// The text of a Content's parts.
fn parts_text(c: &Value) -> String {
    c.get("parts")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<String>()
        })
        .unwrap_or_default()
}

/// The chat-completions request a GenerateContentRequest stands for.
fn openai_form(model: &str, req: &Value) -> Value {
    let mut messages = Vec::new();
    if let Some(s) = req.get("systemInstruction") {
        messages.push(json!({"role": "system", "content": parts_text(s)}));
    }
    for c in req
        .get("contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = match c.get("role").and_then(Value::as_str) {
            Some("model") => "assistant",
            _ => "user",
        };
        messages.push(json!({"role": role, "content": parts_text(c)}));
    }
    json!({"model": model, "messages": messages})
}

/// A GenerateContentResponse from the sim's answer.
fn response_json(model: &str, r: Reply) -> Value {
    let mut parts = Vec::new();
    if !r.text.is_empty() || r.tool_calls.is_empty() {
        parts.push(json!({"text": r.text}));
    }
    for tc in &r.tool_calls {
        let args = tc
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("{}");
        let args: Value = serde_json::from_str(args).unwrap_or_else(|_| json!({}));
        parts.push(json!({"functionCall": {"name": tc.pointer("/function/name").cloned().unwrap_or(Value::Null), "args": args}}));
    }
    let (p, c) = (
        r.usage["prompt_tokens"].as_u64().unwrap_or(0),
        r.usage["completion_tokens"].as_u64().unwrap_or(0),
    );
    json!({
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": p, "candidatesTokenCount": c, "totalTokenCount": p + c},
        "modelVersion": model
    })
}

/// `models/{model}:generateContent` or `models/{model}:batchGenerateContent`.
async fn models(
    State(st): State<Arc<SimState>>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some((model, verb)) = action.rsplit_once(':') else {
        return error_response(404, "NOT_FOUND", &format!("no method {action}"), None);
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                400,
                "INVALID_ARGUMENT",
                &format!("body is not JSON: {e}"),
                None,
            )
        }
    };
    drop(body);
    match verb {
        "generateContent" => {
            let form = serde_json::to_vec(&openai_form(model, &v)).unwrap_or_default();
            let (call, profile) = match read_call(&st, &headers, &form) {
                Ok(c) => c,
                Err(r) => return *r,
            };
            let r = reply(&st, &call, profile);
            axum::Json(response_json(model, r)).into_response()
        }
        "batchGenerateContent" => create(&st, model, &v),
        _ => error_response(404, "NOT_FOUND", &format!("no method {verb}"), None),
    }
}

fn create(st: &SimState, model: &str, v: &Value) -> Response {
    let Some(reqs) = v
        .pointer("/batch/inputConfig/requests/requests")
        .and_then(Value::as_array)
    else {
        return error_response(
            400,
            "INVALID_ARGUMENT",
            "batch.inputConfig.requests.requests is required",
            None,
        );
    };
    let mut jsonl = Vec::new();
    for r in reqs {
        let line = json!({"key": r.pointer("/metadata/key"), "request": r.get("request")});
        let _ = serde_json::to_writer(&mut jsonl, &line);
        jsonl.push(b'\n');
    }
    let name = v
        .pointer("/batch/displayName")
        .cloned()
        .unwrap_or(Value::Null);
    match st.batches.create_other(
        Kind::Gemini,
        &jsonl,
        model.to_string(),
        reqs.len() as u64,
        json!({"displayName": name}),
    ) {
        Ok(b) => axum::Json(operation(st, &b)).into_response(),
        Err(e) => error_response(500, "INTERNAL", &e, None),
    }
}

/// One results line (`{key, response}` or `{key, error}`) for one `{key, request}` line.
pub(super) fn run_line(st: &SimState, line: &str, model: &str, attempt: &str) -> (Value, Fate) {
    let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    let key = v
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(profile) = st.profiles.get(model) else {
        return (
            json!({"key": key, "error": {"code": 5, "message": format!("models/{model} is not found")}}),
            Fate::Failed,
        );
    };
    let req = openai_form(model, v.get("request").unwrap_or(&Value::Null));
    match answer_line(st, profile, model, &key, attempt, req) {
        Err(Fate::Expired) => (Value::Null, Fate::Expired),
        Err(_) => (
            json!({"key": key, "error": {"code": 13, "message": "An internal error has occurred (simulated)."}}),
            Fate::Failed,
        ),
        Ok(r) => (
            json!({"key": key, "response": response_json(model, r)}),
            Fate::Ok,
        ),
    }
}
/// The batch's long-running operation; when it has succeeded, with every result inline.
fn operation(st: &SimState, b: &Batch) -> Value {
    let name = format!("batches/{}", b.id);
    let state = match &b.done {
        None => "BATCH_STATE_RUNNING",
        Some(d) if d.expired > 0 => "BATCH_STATE_EXPIRED",
        Some(_) => "BATCH_STATE_SUCCEEDED",
    };
    let mut meta = json!({
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
        "model": format!("models/{}", b.model), "displayName": b.metadata["displayName"],
        "createTime": rfc3339(b.created_unix), "updateTime": rfc3339(now_unix()), "state": state, "name": name,
        "batchStats": {"requestCount": b.total.to_string()},
    });
    let mut op = json!({"name": name, "metadata": meta.clone()});
    if let Some(d) = &b.done {
        op["done"] = Value::Bool(true);
        if state == "BATCH_STATE_SUCCEEDED" {
            let mut inline = Vec::new();
            if let Some(f) = st
                .batches
                .path(&d.output_file_id)
                .and_then(|p| std::fs::File::open(p).ok())
            {
                for line in std::io::BufReader::new(f).lines().map_while(|l| l.ok()) {
                    let Ok(mut v) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    let key = v.get("key").cloned().unwrap_or(Value::Null);
                    if let Some(m) = v.as_object_mut() {
                        m.remove("key");
                        m.insert("metadata".into(), json!({"key": key}));
                    }
                    inline.push(v);
                }
            }
            let output = json!({"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
                                "inlinedResponses": {"inlinedResponses": inline}});
            meta["endTime"] = json!(rfc3339(now_unix()));
            op["response"] = output;
        }
        op["metadata"] = meta;
    }
    op
}

async fn retrieve(State(st): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    match settle(&st, &id).await {
        Some(b) if b.kind == Kind::Gemini => axum::Json(operation(&st, &b)).into_response(),
        _ => error_response(
            404,
            "NOT_FOUND",
            &format!("batches/{id} is not found"),
            None,
        ),
    }
}

async fn list(State(st): State<Arc<SimState>>) -> Response {
    let mut ops = Vec::new();
    for id in st.batches.ids(Kind::Gemini).iter().take(100) {
        if let Some(b) = settle(&st, id).await {
            ops.push(operation(&st, &b));
        }
    }
    axum::Json(json!({"operations": ops})).into_response()
}
