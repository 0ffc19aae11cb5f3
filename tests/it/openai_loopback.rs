//! The OpenAI-compatible client against our own loopback server: the request evalh sends (URL, model, messages,
//! params, auth header) and the responses it parses (text, usage, a 429 with Retry-After, a final 401) — through the
//! real binary. Also checks that the API key never reaches any file evalh writes.

use crate::common;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use common::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Seen {
    requests: Vec<(HeaderMap, Value)>,
    throttled: std::collections::HashSet<String>,
}

async fn chat(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let v: Value = serde_json::from_slice(&body).unwrap();
    let user = v["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    let model = v["model"].as_str().unwrap().to_string();
    let first_time = {
        let mut s = seen.lock().unwrap();
        s.requests.push((headers.clone(), v.clone()));
        s.throttled.insert(format!("{model}:{user}"))
    };
    if model == "denied-model" {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}))).into_response();
    }
    // The candidate is throttled once per item, with a Retry-After the client must honour.
    if model == "cheap-model" && first_time && user.contains("twice") {
        let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}))).into_response();
        r.headers_mut().insert("retry-after", "1".parse().unwrap());
        return r;
    }
    let label = if user.contains("charged") || user.contains("refund") || user.contains("Invoice") {
        "billing"
    } else if user.contains("dark mode") {
        "feature"
    } else {
        "bug"
    };
    axum::Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": label, "refusal": null}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 2, "total_tokens": 42, "prompt_tokens_details": {"cached_tokens": 8}, "completion_tokens_details": {"reasoning_tokens": 0}}
    }))
    .into_response()
}

fn start_server() -> (
    String,
    Arc<Mutex<Seen>>,
    std::thread::JoinHandle<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let s2 = seen.clone();
    let h = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new()
                .route("/v1/chat/completions", post(chat))
                .with_state(s2);
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    (format!("http://{addr}/v1"), seen, h, stop_tx)
}

const KEY: &str = "sk-evalh-test-SECRET-4f9c2a71d0";

fn suite(base_url: &str, cand_model: &str) -> String {
    format!(
        r#"name: loop
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  system: "Classify."
  user: "Ticket: {{{{ text }}}}"
providers:
  - id: base
    role: baseline
    kind: openai
    model: gpt-4o
    base_url: {base_url}
    api_key_env: EVALH_LOOPBACK_KEY
    params: {{temperature: 0, max_tokens: 5}}
  - id: cand
    kind: openai
    model: {cand_model}
    base_url: {base_url}
    api_key_env: EVALH_LOOPBACK_KEY
    price: {{input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: 0.075}}
    system: "You are terse. Classify."
gate: {{decision: point, min_items: 5, max_p99_latency_increase_ms: 5000}}
run: {{concurrency: 2, max_retries: 2}}
"#
    )
}

#[test]
fn requests_responses_retry_and_no_secrets() {
    let (url, seen, h, stop) = start_server();
    let d = fixture(&[
        ("s.yaml", &suite(&url, "cheap-model")),
        ("data.jsonl", TICKETS),
    ]);
    let out = std::process::Command::new(bin())
        .args(["run", "s.yaml", "--out", "reports"])
        .current_dir(d.path())
        .env("EVALH_LOOPBACK_KEY", KEY)
        .env("CI", "true")
        .env("EVALH_CACHE_DIR", d.path().join(".evalh-cache"))
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let _ = stop.send(());
    h.join().unwrap();

    let seen = seen.lock().unwrap();
    // 6 items x 2 providers + 1 throttled retry.
    assert_eq!(seen.requests.len(), 13);
    for (headers, body) in &seen.requests {
        assert_eq!(
            headers.get("authorization").unwrap(),
            &format!("Bearer {KEY}")
        );
        assert_eq!(headers.get("content-type").unwrap(), "application/json");
        assert!(
            headers.get("x-evalh-item").is_none(),
            "sim-only headers must not reach real APIs"
        );
        let msgs = body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0]["role"], "system");
        assert_eq!(msgs[1]["role"], "user");
        assert!(msgs[1]["content"].as_str().unwrap().starts_with("Ticket: "));
        match body["model"].as_str().unwrap() {
            "gpt-4o" => {
                assert_eq!(msgs[0]["content"], "Classify.");
                assert_eq!(body["temperature"], 0);
                assert_eq!(body["max_tokens"], 5);
            }
            "cheap-model" => assert_eq!(msgs[0]["content"], "You are terse. Classify."),
            other => panic!("unexpected model {other}"),
        }
        assert!(body.get("stream").is_none());
    }

    let dir = run_dir(d.path());
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let recs: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 12);
    let retried: Vec<&Value> = recs.iter().filter(|r| r["attempts"] == 2).collect();
    assert_eq!(retried.len(), 1);
    assert!(
        retried[0]["latency_ms"].as_f64().unwrap() < 1000.0,
        "latency is the successful attempt's"
    );
    let base = recs.iter().find(|r| r["provider_id"] == "base").unwrap();
    assert_eq!(base["usage"]["input_tokens"], 40);
    assert_eq!(base["usage"]["cached_input_tokens"], 8);
    // gpt-4o from the price table: 32 x 2.50 + 8 x 1.25 + 2 x 10.00 per million.
    assert!(
        (base["cost_usd"].as_f64().unwrap() - 110e-6).abs() < 1e-12,
        "{}",
        base["cost_usd"]
    );
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["providers"][0]["metrics"]["accuracy"], 1.0);

    // No file evalh wrote contains the key.
    for entry in walk(d.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("SECRET-4f9c"),
            "key leaked into {}",
            entry.display()
        );
    }
    assert!(!t.contains("SECRET-4f9c"));
}

#[test]
fn final_errors_are_recorded_not_retried() {
    let (url, seen, h, stop) = start_server();
    let d = fixture(&[
        ("s.yaml", &suite(&url, "denied-model")),
        ("data.jsonl", TICKETS),
    ]);
    let out = std::process::Command::new(bin())
        .args(["run", "s.yaml"])
        .current_dir(d.path())
        .env("EVALH_LOOPBACK_KEY", KEY)
        .env("CI", "true")
        .env("EVALH_CACHE_DIR", d.path().join(".evalh-cache"))
        .output()
        .unwrap();
    let _ = stop.send(());
    h.join().unwrap();
    // A 401 is no evidence about the candidate: its requests stay unsettled, the run is INCOMPLETE (exit 3) and
    // names the cause and the resume command.
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("INCOMPLETE") && t.contains("auth 6"), "{t}");
    assert!(t.contains("evalh run --resume"), "{t}");
    assert_eq!(
        seen.lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(_, b)| b["model"] == "denied-model")
            .count(),
        6
    );
    let journal = std::fs::read_to_string(run_dir(d.path()).join("journal.jsonl")).unwrap();
    let errs: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| !r["error"].is_null())
        .collect();
    assert_eq!(errs.len(), 6);
    assert_eq!(errs[0]["error"]["class"], "auth");
    assert_eq!(errs[0]["error"]["status"], 401);
    assert_eq!(errs[0]["attempts"], 1);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
