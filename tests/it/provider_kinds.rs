//! End to end, one test per native kind: the real binary runs a suite against a loopback server that plays the
//! provider, and the test asserts the request shape evalh sent (path, query, auth and version headers, body) and
//! what it recorded from the answers (tool calls, normalised usage, cost, time to first token), streaming and not.
//! The API key must never reach a file evalh writes.

use crate::common;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use common::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const KEY: &str = "evalh-e2e-SECRET-7d41c0";

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    uri: String,
    headers: HeaderMap,
    body: Value,
}

type Reply = Arc<dyn Fn(&str, &Value) -> Response + Send + Sync>;

#[derive(Clone)]
struct St {
    seen: Arc<Mutex<Vec<Seen>>>,
    reply: Reply,
}

async fn handler(
    State(st): State<St>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let uri = uri.to_string();
    st.seen.lock().unwrap().push(Seen {
        uri: uri.clone(),
        headers,
        body: body.clone(),
    });
    (st.reply)(&uri, &body)
}

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(reply: Reply) -> Server {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let st = St {
        seen: seen.clone(),
        reply,
    };
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(handler).with_state(st);
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    Server {
        url: format!("http://{addr}"),
        seen,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

fn json_response(v: Value) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(v.to_string()))
        .unwrap()
}

fn sse_response(body: String) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .body(Body::from(body))
        .unwrap()
}

fn last_user_text(body: &Value) -> String {
    // Works for all three shapes: messages[].content (string) and contents[].parts[].text.
    let from_messages = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str());
    let from_contents = body["contents"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(|c| c["parts"][0]["text"].as_str());
    from_messages
        .or(from_contents)
        .unwrap_or_default()
        .to_string()
}

/// A two-item function-calling suite with a few-shot turn and two tools (one without parameters).
fn tools_suite(providers: &str) -> String {
    format!(
        r#"name: kinds
task: function_calling
dataset: {{path: data.jsonl, id: id, expected: expected_calls}}
tools:
  - name: get_weather
    description: Weather for a city
    parameters: {{type: object, properties: {{city: {{type: string, description: City name}}}}, required: [city], additionalProperties: false}}
  - name: get_time
    description: The current time
prompt:
  system: "Call a tool."
  few_shot:
    - {{user: "Hi", assistant: "Hello!"}}
  user: "{{{{ request }}}}"
providers:
{providers}
gate: {{decision: point, metric: full_call_accuracy, max_p99_latency_increase_ms: 100000}}
run: {{concurrency: 2, max_retries: 0}}
"#
    )
}

const TOOL_DATA: &str = r#"{"id": "w1", "request": "Weather in Oslo?", "expected_calls": [{"name": "get_weather", "arguments": {"city": ["Oslo"]}}]}
{"id": "w2", "request": "What time is it?", "expected_calls": [{"name": "get_time", "arguments": {}}]}
"#;

/// Run the binary on `suite` with the key exported; returns (run dir records, results.json, temp dir).
fn run(suite: &str, data: &str) -> (Vec<Value>, Value, tempfile::TempDir) {
    let d = fixture(&[("s.yaml", suite), ("data.jsonl", data)]);
    let out = std::process::Command::new(bin())
        .args(["run", "s.yaml", "--out", "reports"])
        .current_dir(d.path())
        .env("EVALH_E2E_KEY", KEY)
        .env("CI", "true")
        .env("EVALH_CACHE_DIR", d.path().join(".evalh-cache"))
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "exit {:?}: {t}",
        out.status.code()
    );
    assert!(!t.contains("SECRET-7d41"), "key printed: {t}");
    let dir = run_dir(d.path());
    let recs: Vec<Value> = std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_no_key(d.path());
    (recs, results, d)
}

fn assert_no_key(dir: &std::path::Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            assert_no_key(&p);
        } else {
            let b = std::fs::read(&p).unwrap();
            assert!(
                !String::from_utf8_lossy(&b).contains("SECRET-7d41"),
                "key leaked into {}",
                p.display()
            );
        }
    }
}

fn provider<'a>(results: &'a Value, id: &str) -> &'a Value {
    results["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap()
}

fn anthropic_reply(_uri: &str, body: &Value) -> Response {
    let weather = last_user_text(body).contains("Weather");
    let (name, args) = if weather {
        ("get_weather", json!({"city": "Oslo"}))
    } else {
        ("get_time", json!({}))
    };
    if body["stream"] != json!(true) {
        return json_response(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "text", "text": "Calling."}, {"type": "tool_use", "id": "toolu_1", "name": name, "input": args}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 20, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 10, "output_tokens": 15}
        }));
    }
    let ev = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let mut s = ev(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_2", "type": "message", "role": "assistant", "content": [], "model": body["model"], "usage": {"input_tokens": 20, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 10, "output_tokens": 1}}}),
    );
    s += &ev(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_2", "name": name, "input": {}}}),
    );
    s += &ev("ping", json!({"type": "ping"}));
    let args = args.to_string();
    let (a, b) = args.split_at(args.len() / 2);
    for frag in ["", a, b] {
        s += &ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": frag}}),
        );
    }
    s += &ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    );
    s += &ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 15}}),
    );
    s += &ev("message_stop", json!({"type": "message_stop"}));
    sse_response(s)
}

#[test]
fn anthropic_native_request_shape_and_usage() {
    let srv = serve(Arc::new(anthropic_reply));
    let suite = tools_suite(&format!(
        r#"  - id: sonnet
    role: baseline
    kind: anthropic
    model: claude-sonnet-4-5
    base_url: {url}
    api_key_env: EVALH_E2E_KEY
    params: {{temperature: 0}}
  - id: haiku-stream
    kind: anthropic
    model: claude-haiku-4-5
    base_url: {url}/v1
    api_key_env: EVALH_E2E_KEY
    stream: true
    params: {{max_tokens: 200}}"#,
        url = srv.url
    ));
    let (recs, results, _d) = run(&suite, TOOL_DATA);
    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    for s in &seen {
        assert_eq!(s.uri, "/v1/messages");
        assert_eq!(s.headers.get("x-api-key").unwrap(), KEY);
        assert_eq!(s.headers.get("anthropic-version").unwrap(), "2023-06-01");
        assert!(s.headers.get("authorization").is_none());
        let b = &s.body;
        assert_eq!(b["system"], "Call a tool.");
        let roles: Vec<&str> = b["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            ["user", "assistant", "user"],
            "few-shot turns kept, no system message"
        );
        assert_eq!(b["messages"][1]["content"], "Hello!");
        let tools = b["tools"].as_array().unwrap();
        assert_eq!(tools[0]["name"], "get_weather");
        assert_eq!(
            tools[0]["input_schema"]["properties"]["city"]["type"],
            "string"
        );
        assert_eq!(tools[1]["input_schema"]["type"], "object");
        assert!(tools[0].get("function").is_none() && tools[0].get("parameters").is_none());
        match b["model"].as_str().unwrap() {
            "claude-sonnet-4-5" => {
                assert_eq!(b["max_tokens"], 1024, "required, defaulted");
                assert_eq!(b["temperature"], 0);
                assert!(b.get("stream").is_none());
            }
            "claude-haiku-4-5" => {
                assert_eq!(b["max_tokens"], 200);
                assert_eq!(b["stream"], true);
            }
            m => panic!("model {m}"),
        }
    }
    assert_eq!(recs.len(), 4);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        let u = &r["usage"];
        assert_eq!(
            (
                &u["input_tokens"],
                &u["cached_input_tokens"],
                &u["cache_write_tokens"],
                &u["output_tokens"]
            ),
            (&json!(130), &json!(100), &json!(10), &json!(15)),
            "input = input + cache reads + cache writes"
        );
        assert_eq!(u["estimated"], false);
        if r["provider_id"] == "sonnet" {
            // claude-sonnet-4-5: 20 x 3.00 + 100 x 0.30 + 10 x 3.75 + 15 x 15.00 per million.
            assert!(
                (r["cost_usd"].as_f64().unwrap() - 352.5e-6).abs() < 1e-12,
                "{}",
                r["cost_usd"]
            );
            assert!(r.get("ttft_ms").is_none());
        } else {
            assert!(
                r["ttft_ms"].as_f64().unwrap() > 0.0,
                "streamed: time to first token"
            );
        }
    }
    for id in ["sonnet", "haiku-stream"] {
        assert_eq!(
            provider(&results, id)["metrics"]["full_call_accuracy"],
            1.0,
            "{id}"
        );
    }
}

fn gemini_reply(uri: &str, body: &Value) -> Response {
    let weather = last_user_text(body).contains("Weather");
    let call = if weather {
        json!({"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2ln"})
    } else {
        json!({"functionCall": {"name": "get_time"}})
    };
    let usage = |cands: u64| json!({"promptTokenCount": 40, "cachedContentTokenCount": 8, "candidatesTokenCount": cands, "thoughtsTokenCount": 7, "totalTokenCount": 47 + cands});
    if !uri.contains("streamGenerateContent") {
        return json_response(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "thinking...", "thought": true}, call]}, "finishReason": "STOP"}],
            "usageMetadata": usage(5), "modelVersion": "x"
        }));
    }
    let ev = |v: Value| format!("data: {v}\r\n\r\n");
    let mut s = ev(
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "thinking...", "thought": true}]}}], "usageMetadata": usage(0)}),
    );
    s += &ev(
        json!({"candidates": [{"content": {"role": "model", "parts": [call]}, "finishReason": "STOP"}], "usageMetadata": usage(5)}),
    );
    sse_response(s)
}

#[test]
fn gemini_native_request_shape_and_usage() {
    let srv = serve(Arc::new(gemini_reply));
    let suite = tools_suite(&format!(
        r#"  - id: flash25
    role: baseline
    kind: gemini
    model: gemini-2.5-flash
    base_url: {url}
    api_key_env: EVALH_E2E_KEY
    params: {{temperature: 0, max_tokens: 64}}
  - id: flash20-stream
    kind: gemini
    model: gemini-2.0-flash
    base_url: {url}/v1beta
    api_key_env: EVALH_E2E_KEY
    stream: true"#,
        url = srv.url
    ));
    let (recs, results, _d) = run(&suite, TOOL_DATA);
    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    for s in &seen {
        assert_eq!(s.headers.get("x-goog-api-key").unwrap(), KEY);
        assert!(
            !s.uri.contains("key="),
            "the key never goes in the query: {}",
            s.uri
        );
        assert!(s.headers.get("authorization").is_none());
        let b = &s.body;
        assert_eq!(b["systemInstruction"]["parts"][0]["text"], "Call a tool.");
        let roles: Vec<&str> = b["contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "model", "user"]);
        let decls = b["tools"][0]["functionDeclarations"].as_array().unwrap();
        assert_eq!(decls[0]["parameters"]["type"], "OBJECT");
        assert_eq!(
            decls[0]["parameters"]["properties"]["city"]["type"],
            "STRING"
        );
        assert!(decls[0]["parameters"].get("additionalProperties").is_none());
        assert!(
            decls[1].get("parameters").is_none(),
            "no empty OBJECT schema"
        );
        assert!(b.get("model").is_none() && b.get("messages").is_none());
        if s.uri.contains("gemini-2.5-flash") {
            assert_eq!(s.uri, "/v1beta/models/gemini-2.5-flash:generateContent");
            assert_eq!(
                b["generationConfig"],
                json!({"temperature": 0, "maxOutputTokens": 64})
            );
        } else {
            assert_eq!(
                s.uri,
                "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
            );
            assert!(b.get("generationConfig").is_none());
        }
    }
    assert_eq!(recs.len(), 4);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        let u = &r["usage"];
        assert_eq!(
            (
                &u["input_tokens"],
                &u["cached_input_tokens"],
                &u["output_tokens"],
                &u["reasoning_tokens"]
            ),
            (&json!(40), &json!(8), &json!(12), &json!(7)),
            "output = candidates + thoughts; the last stream usage wins"
        );
        assert_eq!(r["finish_reason"], "STOP");
        if r["provider_id"] == "flash20-stream" {
            assert!(r["ttft_ms"].as_f64().unwrap() > 0.0);
        }
    }
    for id in ["flash25", "flash20-stream"] {
        assert_eq!(
            provider(&results, id)["metrics"]["full_call_accuracy"],
            1.0,
            "{id}"
        );
    }
}

fn azure_reply(_uri: &str, body: &Value) -> Response {
    let user = last_user_text(body);
    let label = if user.contains("charged") || user.contains("refund") || user.contains("Invoice") {
        "billing"
    } else if user.contains("dark mode") {
        "feature"
    } else {
        "bug"
    };
    let usage = json!({"prompt_tokens": 30, "completion_tokens": 1, "total_tokens": 31, "prompt_tokens_details": {"cached_tokens": 0}});
    if body["stream"] != json!(true) {
        return json_response(json!({
            "choices": [{"content_filter_results": {}, "finish_reason": "stop", "index": 0, "message": {"content": label, "role": "assistant"}}],
            "created": 1, "id": "chatcmpl-1", "model": "gpt-4o-2024-11-20", "object": "chat.completion",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}], "usage": usage
        }));
    }
    let ev = |v: Value| format!("data: {v}\n\n");
    let mut s = ev(
        json!({"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}),
    );
    s += &ev(
        json!({"choices": [{"content_filter_results": {}, "delta": {"content": "", "role": "assistant"}, "finish_reason": null, "index": 0}], "id": "c", "usage": null}),
    );
    s += &ev(
        json!({"choices": [{"content_filter_results": {}, "delta": {"content": label}, "finish_reason": null, "index": 0}], "id": "c", "usage": null}),
    );
    s += &ev(
        json!({"choices": [{"content_filter_results": {}, "delta": {}, "finish_reason": "stop", "index": 0}], "id": "c", "usage": null}),
    );
    s += &ev(json!({"choices": [], "id": "c", "usage": usage}));
    s += "data: [DONE]\n\n";
    sse_response(s)
}

#[test]
fn azure_deployment_and_v1_request_shape() {
    let srv = serve(Arc::new(azure_reply));
    let suite = format!(
        r#"name: az
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  system: "Classify."
  user: "{{{{ text }}}}"
providers:
  - id: deployment
    role: baseline
    kind: azure
    model: my-gpt4o-deployment
    base_url: {url}/
    api_version: 2024-10-21
    api_key_env: EVALH_E2E_KEY
    price: {{input_per_mtok: 2.5, output_per_mtok: 10}}
    params: {{max_tokens: 5}}
  - id: v1-stream
    kind: azure
    model: gpt-4o-mini
    base_url: {url}/openai/v1
    api_key_env: EVALH_E2E_KEY
    stream: true
gate: {{decision: point, max_p99_latency_increase_ms: 100000}}
run: {{concurrency: 2, max_retries: 0}}
"#,
        url = srv.url
    );
    let (recs, results, _d) = run(&suite, TICKETS);
    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 12);
    for s in &seen {
        assert_eq!(s.headers.get("api-key").unwrap(), KEY);
        assert!(
            s.headers.get("authorization").is_none(),
            "Azure keys go in api-key"
        );
        let b = &s.body;
        assert_eq!(
            b["messages"][0],
            json!({"role": "system", "content": "Classify."})
        );
        if s.uri.contains("/deployments/") {
            assert_eq!(
                s.uri,
                "/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21"
            );
            assert!(b.get("model").is_none(), "the deployment chooses the model");
            assert_eq!(b["max_tokens"], 5);
            assert!(b.get("stream").is_none() && b.get("stream_options").is_none());
        } else {
            assert_eq!(s.uri, "/openai/v1/chat/completions");
            assert_eq!(b["model"], "gpt-4o-mini");
            assert_eq!(b["stream"], true);
            assert_eq!(b["stream_options"], json!({"include_usage": true}));
        }
    }
    assert_eq!(recs.len(), 12);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        assert_eq!(r["usage"]["input_tokens"], 30);
        assert_eq!(r["usage"]["estimated"], false);
    }
    for id in ["deployment", "v1-stream"] {
        assert_eq!(provider(&results, id)["metrics"]["accuracy"], 1.0, "{id}");
    }
}

fn compare_reply(_uri: &str, body: &Value) -> Response {
    let user = last_user_text(body);
    let label = if user.contains("charged") || user.contains("refund") || user.contains("Invoice") {
        "billing"
    } else if user.contains("dark mode") {
        "feature"
    } else {
        "bug"
    };
    let usage = json!({"prompt_tokens": 30, "completion_tokens": 1, "total_tokens": 31});
    if body["stream"] != json!(true) {
        return json_response(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": label}, "finish_reason": "stop"}],
            "usage": usage
        }));
    }
    // The streamed variant differs on two items: other text for the crash ticket, no usage for the login one.
    let text = if user.contains("crashes") {
        "bug."
    } else {
        label
    };
    let ev = |v: Value| format!("data: {v}\n\n");
    let mut s =
        ev(json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}]}));
    s += &ev(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    if !user.contains("Login") {
        s += &ev(json!({"choices": [], "usage": usage}));
    }
    s += "data: [DONE]\n\n";
    sse_response(s)
}

#[test]
fn compare_stream_reports_differences_and_keeps_costs_apart() {
    let srv = serve(Arc::new(compare_reply));
    let suite = format!(
        r#"name: cmp
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt: {{user: "{{{{ text }}}}"}}
providers:
  - id: base
    role: baseline
    kind: openai
    auth: none
    model: gpt-4o
    base_url: {url}/v1
    compare_stream: true
gate: {{decision: point, max_p99_latency_increase_ms: 100000}}
run: {{concurrency: 2, max_retries: 0}}
"#,
        url = srv.url
    );
    let (recs, results, _d) = run(&suite, TICKETS);
    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 12, "each item sent once per mode");
    assert_eq!(
        seen.iter()
            .filter(|s| s.body["stream"] == json!(true))
            .count(),
        6
    );
    let p = provider(&results, "base");
    let eq = &p["stream_equivalence"];
    assert_eq!(eq["compared_mode"], "stream");
    assert_eq!(
        (
            &eq["n"],
            &eq["text_equal"],
            &eq["tool_calls_equal"],
            &eq["usage_equal"],
            &eq["finish_reason_equal"]
        ),
        (&json!(6), &json!(5), &json!(6), &json!(5), &json!(6))
    );
    assert_eq!(eq["compare_errors"], 0);
    assert_eq!(eq["differences"], json!(["a2", "a4"]));
    // The comparison calls are journaled inside the records but kept out of the provider's cost.
    let main: f64 = recs.iter().map(|r| r["cost_usd"].as_f64().unwrap()).sum();
    let extra: f64 = recs
        .iter()
        .map(|r| r["stream_compare"]["cost_usd"].as_f64().unwrap())
        .sum();
    assert!((p["cost_usd_total"].as_f64().unwrap() - main).abs() < 1e-12);
    assert!((eq["extra_cost_usd"].as_f64().unwrap() - extra).abs() < 1e-12 && extra > 0.0);
    let a4 = recs.iter().find(|r| r["item_id"] == "a4").unwrap();
    assert_eq!(
        a4["stream_compare"]["usage"]["estimated"], true,
        "no usage in the stream: estimated"
    );
    assert!(a4["stream_compare"]["ttft_ms"].as_f64().is_some());
    assert!(a4.get("ttft_ms").is_none());
}

#[test]
fn compare_stream_with_the_simulator_is_equivalent() {
    let d = fixture(&[
        (
            "s.yaml",
            &sim_suite("").replace(
                "    model: m-cand\n",
                "    model: m-cand\n    stream: true\n    compare_stream: true\n",
            ),
        ),
        ("data.jsonl", TICKETS),
    ]);
    let out = evalh(d.path(), &["run", "s.yaml", "--out", "reports"]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        text(&out)
    );
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir(d.path()).join("results.json")).unwrap(),
    )
    .unwrap();
    let eq = &provider(&results, "cand")["stream_equivalence"];
    assert_eq!(eq["compared_mode"], "non_stream");
    assert_eq!(
        (&eq["n"], &eq["text_equal"], &eq["usage_equal"]),
        (&json!(6), &json!(6), &json!(6))
    );
    assert_eq!(eq["differences"], json!([]));
    assert!(provider(&results, "base")
        .get("stream_equivalence")
        .is_none());
}

/// The comparison call goes through the same retry path as the first: a 429 is retried after its Retry-After, its
/// attempts are journaled in `stream_compare`, and the provider's `throttle` counts them.
#[test]
fn compare_stream_calls_are_retried_and_counted_in_throttle() {
    let suite = r#"name: cmp-faults
task: classification
dataset: {path: data.jsonl, id: id, expected: label}
labels: [billing, bug, feature]
prompt: {user: "{{ text }}"}
providers:
  - id: cand
    role: baseline
    kind: sim
    model: m-cand
    stream: true
    compare_stream: true
    price: {input_per_mtok: 1, output_per_mtok: 1}
    sim: {quality: 1.0, latency_ms: {p50: 2, p99: 5}, faults: {rate_limit: 0.3, retry_after_s: 0.05}}
gate: {decision: point, bootstrap_iters: 200}
run: {concurrency: 4, max_retries: 8, repeats: 2, seed: 3}
"#;
    let d = fixture(&[("s.yaml", suite), ("data.jsonl", TICKETS)]);
    let out = evalh(
        d.path(),
        &[
            "run",
            "s.yaml",
            "--out",
            "reports",
            "--sim-log",
            "sim.jsonl",
        ],
    );
    let t = text(&out);
    assert!(!t.contains("panicked"), "{t}");
    assert_eq!(out.status.code(), Some(0), "{t}");
    let dir = run_dir(d.path());
    let recs: Vec<Value> = std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 12);
    let count = |v: &Value, class: &str| {
        v["attempt_errors"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|c| *c == class).count() as u64)
    };
    let (mut attempts, mut limited, mut compare_limited) = (0u64, 0u64, 0u64);
    for r in &recs {
        assert!(r["error"].is_null(), "{r}");
        attempts += r["attempts"].as_u64().unwrap();
        limited += count(r, "rate_limit");
        let c = &r["stream_compare"];
        if r["repeat"] == 0 {
            assert!(c["error"].is_null(), "{r}");
            assert_eq!(c["stream"], false, "{r}");
            let n = c["attempts"].as_u64().unwrap();
            assert_eq!(count(c, "rate_limit") + 1, n, "{r}");
            attempts += n;
            compare_limited += count(c, "rate_limit");
        } else {
            assert!(c.is_null(), "only repeat 0 is compared: {r}");
        }
    }
    assert!(
        compare_limited > 0,
        "the seed gives some 429s to the comparison calls"
    );
    // Every attempt of both calls reached the sim, and every 429 the sim sent is in `throttle`.
    let log = std::fs::read_to_string(d.path().join("sim.jsonl")).unwrap();
    assert_eq!(log.lines().count() as u64, attempts);
    let limited_in_log = log.lines().filter(|l| l.contains("\"rate_limit\"")).count() as u64;
    assert_eq!(limited + compare_limited, limited_in_log);
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let p = provider(&results, "cand");
    assert_eq!(
        p["throttle"]["rate_limited"], limited_in_log,
        "{}",
        p["throttle"]
    );
    assert_eq!(p["stream_equivalence"]["n"], 6);
}

/// Every example provider entry in docs/providers.md and README.md is a valid suite entry.
#[test]
fn documented_provider_examples_validate() {
    let mut blocks = Vec::new();
    for doc in ["docs/providers.md", "README.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        for part in text.split("```yaml\n").skip(1) {
            let block = part.split("```").next().unwrap();
            if block.trim_start().starts_with("- id:") {
                blocks.push((doc, block.to_string()));
            }
        }
    }
    assert!(blocks.len() >= 5, "found {} example blocks", blocks.len());
    for (doc, block) in blocks {
        let mut providers = block.clone();
        if !block.contains("role: baseline") {
            providers.push_str(
                "  - {id: zz-baseline, role: baseline, kind: sim, model: m, price: {input_per_mtok: 1, output_per_mtok: 1}}\n",
            );
        }
        let suite = format!(
            "name: docs\ntask: classification\ndataset: {{path: data.jsonl, id: id, expected: label}}\nlabels: [billing, bug, feature]\nprompt: {{user: \"{{{{ text }}}}\"}}\nproviders:\n{providers}"
        );
        let d = fixture(&[("s.yaml", &suite), ("data.jsonl", TICKETS)]);
        // `validate` checks that the variables the example names are set: give them dummy values.
        let mut cmd = std::process::Command::new(bin());
        cmd.args(["validate", "s.yaml"]).current_dir(d.path());
        for line in block.lines() {
            if let Some(var) = line.split("api_key_env: ").nth(1) {
                cmd.env(var.split_whitespace().next().unwrap_or(""), "dummy");
            }
            for part in line.split("${").skip(1) {
                cmd.env(part.split('}').next().unwrap_or(""), "dummy");
            }
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{doc} example:\n{block}\n{}",
            text(&out)
        );
    }
}

/// A stream that sends only keep-alive comments must still produce a first token within the first-byte timeout;
/// keep-alives do not extend it (the idle timeout alone would never fire here).
#[test]
fn keepalives_do_not_extend_the_first_token_deadline() {
    let srv = serve(Arc::new(|_uri: &str, _body: &Value| {
        let ticks = futures_util::stream::unfold(0u32, |n| async move {
            if n >= 100 {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Some((
                Ok::<_, std::io::Error>(": keep-alive\n\n".to_string()),
                n + 1,
            ))
        });
        Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(ticks))
            .unwrap()
    }));
    let spec: evalh::suite::ProviderSpec = serde_json::from_value(
        json!({"id": "p", "kind": "openai", "model": "m", "stream": true, "base_url": format!("{}/v1", srv.url)}),
    )
    .unwrap();
    let t = evalh::provider::Timeouts {
        connect: std::time::Duration::from_secs(5),
        first_byte: std::time::Duration::from_millis(400),
        idle: std::time::Duration::from_secs(10),
        total: std::time::Duration::from_secs(30),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let res = rt.block_on(async {
        let client = evalh::provider::build(&spec, reqwest::Client::new(), t, None).unwrap();
        let req = evalh::provider::ChatRequest {
            messages: vec![evalh::chat::Message {
                role: evalh::chat::Role::User,
                content: "hi".into(),
            }],
            tools: Arc::new(vec![]),
            meta: Default::default(),
        };
        client.complete(&req).await
    });
    let e = res.unwrap_err();
    assert_eq!(e.class, evalh::chat::ErrorClass::Timeout, "{e}");
    assert!(e.message.contains("no token"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
