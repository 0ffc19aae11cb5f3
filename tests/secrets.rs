//! Secrets: a recognisable fake API key is sent to a loopback OpenAI-compatible server (which even echoes it back in
//! its error bodies, as some hosts do); afterwards no file under the run directory, the response cache, the report
//! outputs — nor evalh's own output — contains it.

mod common;
mod durability_util;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use common::*;
use durability_util::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const KEY: &str = "sk-evalh-durability-7Q2xK9vLm3Zp8Rt4";
const KEY_TAIL: &str = "7Q2xK9vLm3Zp8Rt4";

async fn chat(
    axum::extract::State(seen): axum::extract::State<Arc<Mutex<Vec<String>>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let v: Value = serde_json::from_slice(&body).unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    seen.lock().unwrap().push(auth.clone());
    match v["model"].as_str().unwrap_or_default() {
        // A careless host: the rejected credential is echoed back verbatim.
        "echo-denied" => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"message": format!("Incorrect API key provided: {auth}"), "type": "invalid_request_error"}})),
        )
            .into_response(),
        _ => {
            let user = v["messages"].as_array().unwrap().last().unwrap()["content"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let label = ["billing", "bug", "feature"]
                .into_iter()
                .find(|l| user.contains(l))
                .unwrap_or("bug");
            axum::Json(json!({
                "id": "c", "object": "chat.completion", "created": 1, "model": v["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": label}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21}
            }))
            .into_response()
        }
    }
}

fn suite(url: &str) -> String {
    format!(
        r#"name: secret
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  user: "{{{{ text }}}}"
providers:
  - id: base
    role: baseline
    kind: openai
    model: good-model
    base_url: {url}
    api_key_env: EVALH_DURABILITY_KEY
    price: {{input_per_mtok: 1, output_per_mtok: 2}}
  - id: cand
    kind: openai
    model: echo-denied
    base_url: {url}
    api_key_env: EVALH_DURABILITY_KEY
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.2}}
gate: {{decision: point}}
run: {{concurrency: 4, max_retries: 1}}
"#
    )
}

#[test]
fn the_key_reaches_the_server_and_no_file_evalh_writes() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let s2 = seen.clone();
    let server = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(l.local_addr().unwrap()).unwrap();
                let app = axum::Router::new()
                    .route("/v1/chat/completions", post(chat))
                    .with_state(s2);
                axum::serve(l, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
    });
    let url = format!("http://{}/v1", addr_rx.recv().unwrap());
    let d = fixture(&[("s.yaml", &suite(&url)), ("data.jsonl", &dataset(30))]);
    let dir = d.path();
    let mut outputs = String::new();
    // Twice: the second run reads the cache (and resumes nothing); plan reads it too.
    for args in [
        vec![
            "run",
            "s.yaml",
            "--out",
            "reports",
            "--cache-dir",
            "cache",
            "--junit",
            "j.xml",
            "--markdown",
            "m.md",
            "--no-progress",
        ],
        vec![
            "run",
            "s.yaml",
            "--out",
            "reports",
            "--cache-dir",
            "cache",
            "--no-progress",
        ],
        vec!["plan", "s.yaml", "--cache-dir", "cache"],
    ] {
        let o = std::process::Command::new(bin())
            .args(&args)
            .current_dir(dir)
            .env("EVALH_DURABILITY_KEY", KEY)
            .env("CI", "true")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        let t = text(&o);
        // The echoing candidate is answered 401 (auth): no evidence about it, so the run ends INCOMPLETE (3).
        assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{args:?}: {t}");
        outputs.push_str(&t);
    }
    let reports: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    // Resume one of the runs too (nothing missing, but it reopens the journal for writing).
    let o = std::process::Command::new(bin())
        .args([
            "run",
            "--resume",
            reports[0].to_str().unwrap(),
            "--cache-dir",
            "cache",
        ])
        .current_dir(dir)
        .env("EVALH_DURABILITY_KEY", KEY)
        .env("CI", "true")
        .output()
        .unwrap();
    outputs.push_str(&text(&o));
    let _ = stop_tx.send(());
    server.join().unwrap();

    // The key was really used...
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|a| a == &format!("Bearer {KEY}")));
    // ...and the server's echo was recorded, redacted.
    let journal = std::fs::read_to_string(reports[0].join("journal.jsonl")).unwrap();
    assert!(
        journal.contains("Incorrect API key provided: Bearer [REDACTED]"),
        "{journal}"
    );

    let files = files_under(dir);
    assert!(
        files.iter().any(|p| p.starts_with(dir.join("cache"))),
        "cache written"
    );
    assert!(files.iter().any(|p| p.ends_with("journal.jsonl")));
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let s = String::from_utf8_lossy(&bytes);
        assert!(!s.contains(KEY_TAIL), "the key leaked into {}", f.display());
        assert!(
            !s.to_ascii_lowercase().contains("bearer sk-"),
            "an auth header leaked into {}",
            f.display()
        );
    }
    assert!(!outputs.contains(KEY_TAIL), "{outputs}");
}
