//! Timeouts against a loopback server that stalls, through the real binary: slow response headers hit the
//! first-byte timeout, a stream that stops mid-way hits the idle timeout, a stream that trickles forever hits the
//! total timeout. Each is classified `timeout` and retried; a retry that gets a healthy answer succeeds, and the
//! journal counts both attempts.

use crate::common;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Seen = Arc<Mutex<HashMap<String, u32>>>;

fn sse(
    events: Vec<String>,
    first_delay: Duration,
    gap: Duration,
    stall_after: Option<usize>,
) -> Response {
    let stream = futures_util::stream::unfold(0usize, move |i| {
        let events = events.clone();
        async move {
            if i >= events.len() {
                return None;
            }
            if stall_after == Some(i) {
                // Stop sending without closing: the client must give up on its own.
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            tokio::time::sleep(if i == 0 { first_delay } else { gap }).await;
            Some((Ok::<_, std::io::Error>(events[i].clone()), i + 1))
        }
    });
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn stream_events(text: &str) -> Vec<String> {
    let c = |delta: Value, fr: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": fr}]})
        )
    };
    vec![
        c(json!({"role": "assistant", "content": ""}), Value::Null),
        c(json!({"content": text}), Value::Null),
        c(json!({}), json!("stop")),
        format!(
            "data: {}\n\ndata: [DONE]\n\n",
            json!({"id": "c", "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 1}})
        ),
    ]
}

async fn chat(State(seen): State<Seen>, body: axum::body::Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap();
    let model = v["model"].as_str().unwrap().to_string();
    let user = v["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    let n = {
        let mut s = seen.lock().unwrap();
        let e = s.entry(format!("{model}|{user}")).or_insert(0);
        *e += 1;
        *e
    };
    let label = if user.contains("charged") || user.contains("refund") || user.contains("Invoice") {
        "billing"
    } else if user.contains("dark mode") {
        "feature"
    } else {
        "bug"
    };
    match model.as_str() {
        // First attempt: headers only after 3 s (first-byte timeout is 0.5 s). Then healthy.
        "slow-headers" => {
            if n == 1 {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            axum::Json(json!({
                "id": "c", "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": label}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21}
            }))
            .into_response()
        }
        // First attempt: two events, then silence (idle timeout 0.5 s). Then healthy.
        "stall-stream" => sse(
            stream_events(label),
            Duration::ZERO,
            Duration::ZERO,
            (n == 1).then_some(2),
        ),
        // Every attempt: a token every 100 ms (the first one at once, so the first-token bound is met), never idle,
        // never finished within the 1 s total.
        "trickle" => {
            let dot = format!(
                "data: {}\n\n",
                json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "."}, "finish_reason": null}]})
            );
            let mut evs = vec![stream_events(label)[0].clone()];
            evs.extend(vec![dot; 40]);
            evs.extend(stream_events(label));
            sse(evs, Duration::ZERO, Duration::from_millis(100), None)
        }
        _ => (axum::http::StatusCode::NOT_FOUND, "no such model").into_response(),
    }
}

fn start_server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = seen.clone();
    // Detached: stalled handlers must not hold the test up; the thread ends with the test process.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new()
                .route("/v1/chat/completions", post(chat))
                .with_state(s2);
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    (format!("http://{addr}/v1"), seen)
}

fn suite(url: &str) -> String {
    format!(
        r#"name: stalls
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  user: "Ticket: {{{{ text }}}}"
providers:
  - id: headers
    role: baseline
    kind: openai
    auth: none
    model: slow-headers
    base_url: {url}
    price: {{input_per_mtok: 1, output_per_mtok: 1}}
  - id: idle
    kind: openai
    auth: none
    model: stall-stream
    stream: true
    base_url: {url}
    price: {{input_per_mtok: 1, output_per_mtok: 1}}
  - id: total
    kind: openai
    auth: none
    model: trickle
    stream: true
    base_url: {url}
    price: {{input_per_mtok: 1, output_per_mtok: 1}}
gate: {{decision: point, bootstrap_iters: 200}}
run: {{concurrency: 6, max_retries: 1, timeout_s: 1.0, first_byte_timeout_s: 0.5, idle_timeout_s: 0.5}}
"#
    )
}

#[test]
fn stalls_are_timeouts_and_are_retried() {
    let (url, seen) = start_server();
    let d = fixture(&[("s.yaml", &suite(&url)), ("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["run", "s.yaml", "--out", "reports"]);
    let t = text(&out);
    assert!(!t.contains("panicked"), "{t}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{t}");

    let journal = std::fs::read_to_string(run_dir(d.path()).join("journal.jsonl")).unwrap();
    let records: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 18, "{journal}");
    for r in &records {
        let provider = r["provider_id"].as_str().unwrap();
        assert_eq!(r["attempts"], 2, "{r}");
        assert_eq!(r["attempt_errors"][0], "timeout", "{r}");
        match provider {
            "headers" | "idle" => {
                assert!(r["error"].is_null(), "{r}");
                assert!(!r["output_text"].as_str().unwrap().is_empty(), "{r}");
            }
            "total" => {
                assert_eq!(r["error"]["class"], "timeout", "{r}");
                assert_eq!(r["attempt_errors"], json!(["timeout", "timeout"]), "{r}");
            }
            p => panic!("unexpected provider {p}"),
        }
    }
    let msgs: Vec<&str> = records
        .iter()
        .filter(|r| r["provider_id"] == "total")
        .map(|r| r["error"]["message"].as_str().unwrap())
        .collect();
    assert!(msgs.iter().all(|m| m.contains("exceeded")), "{msgs:?}");

    // The server saw exactly two requests per item and provider.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 18, "{seen:?}");
    assert!(seen.values().all(|n| *n == 2), "{seen:?}");
}
