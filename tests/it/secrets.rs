//! Secrets: a recognisable fake API key is sent to a loopback OpenAI-compatible server (which even echoes it back in
//! its error bodies, as some hosts do); afterwards no file under the run directory, the response cache, the report
//! outputs — nor evalh's own output — contains it.

use crate::common;
use crate::durability_util;
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

use crate::loopback;

const KEY2: &str = "sk-evalh/Q7+xZ9tR2mKw";
/// What every escaping of KEY2 still contains (letters and digits are never escaped).
const KEY2_TAIL: &str = "xZ9tR2mKw";
/// A short local token (5 characters), sent in a custom header from the environment.
const TOKEN: &str = "tk9Qz";

fn echo_suite(url: &str) -> String {
    let p = |id: &str, model: &str, extra: &str| {
        format!(
            "  - {{id: {id}, kind: openai, model: {model}, base_url: '{url}/v1', api_key_env: EVALH_TEST_SECRET_KEY, \
             price: {{input_per_mtok: 1, output_per_mtok: 2}}{extra}}}\n"
        )
    };
    format!(
        r#"name: echo
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  user: "{{{{ text }}}}"
gate: {{decision: point}}
run: {{concurrency: 2, max_retries: 0}}
providers:
{}{}{}{}{}"#,
        p("base", "echo-escaped", ", role: baseline"),
        p(
            "tok",
            "echo-token",
            ", headers: {X-Custom-Token: '${EVALH_TEST_TOKEN}'}"
        ),
        p("out", "echo-output", ""),
        p("twin", "twin", ", compare_stream: true"),
        p("sse", "echo-sse", ", stream: true"),
    )
}

/// Every way a careless host echoes a secret, against the real binary: the API key JSON-escaped with `\/` and
/// URL-encoded in an error body, a short token from a `${VAR}` header in a message and an error code, the key in
/// answers and tool-call arguments, in a `compare_stream` twin's error, and in a stream's in-band error type. None of
/// it reaches a file evalh writes or its output; each echo is journaled as `[REDACTED]`.
#[test]
fn every_secret_in_every_field_and_escaping_is_redacted() {
    use axum::response::IntoResponse;
    let server = loopback::Server::start(|s| {
        let auth = s
            .header("authorization")
            .trim_start_matches("Bearer ")
            .to_string();
        let token = s.header("x-custom-token").to_string();
        // As PHP's json_encode writes it: every `/` as `\/`.
        let json_escaped = auth.replace('/', "\\/");
        let url_encoded: String = auth
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        match s.body["model"].as_str().unwrap_or_default() {
            // The raw body text holds the escaped forms (no envelope message, so evalh quotes the body).
            "echo-escaped" => (
                axum::http::StatusCode::UNAUTHORIZED,
                [("content-type", "application/json")],
                format!(
                    r#"{{"detail":"Incorrect API key provided: {json_escaped}","url":"https://h/v1?key={url_encoded}"}}"#
                ),
            )
                .into_response(),
            "echo-token" => loopback::error(
                401,
                json!({"error": {"message": format!("token {token} rejected"), "type": "auth_error", "code": token}}),
            ),
            "echo-output" => axum::Json(json!({
                "id": "c", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                    "content": format!("billing (debug: key {auth})"),
                    "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f",
                        "arguments": serde_json::to_string(&json!({"key": auth})).unwrap()}}]}}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21}
            }))
            .into_response(),
            "twin" if s.body["stream"] == true => {
                loopback::error(401, json!({"error": {"message": format!("stream key {auth} is not allowed")}}))
            }
            "echo-sse" => (
                [("content-type", "text/event-stream")],
                format!(
                    "data: {}\n\n",
                    json!({"error": {"message": format!("key {auth} revoked"), "type": auth, "code": 401}})
                ),
            )
                .into_response(),
            _ => loopback::chat_ok("billing"),
        }
    });
    let d = fixture(&[
        ("s.yaml", &echo_suite(&server.url)),
        ("data.jsonl", &dataset(6)),
    ]);
    let dir = d.path();
    let env = [("EVALH_TEST_SECRET_KEY", KEY2), ("EVALH_TEST_TOKEN", TOKEN)];
    let mut outputs = String::new();
    let o = loopback::evalh_env(
        dir,
        &[
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
        &env,
    );
    outputs.push_str(&text(&o));
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{outputs}");
    let run = only_subdir(&dir.join("reports"));
    for args in [
        vec![
            "report",
            run.to_str().unwrap(),
            "--junit",
            "j2.xml",
            "--markdown",
            "m2.md",
        ],
        vec![
            "run",
            "--resume",
            run.to_str().unwrap(),
            "--cache-dir",
            "cache",
            "--no-progress",
        ],
    ] {
        let o = loopback::evalh_env(dir, &args, &env);
        assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{}", text(&o));
        outputs.push_str(&text(&o));
    }
    // The server really got the secrets, and echoed them.
    let seen = server.seen();
    assert!(seen
        .iter()
        .all(|s| s.header("authorization") == format!("Bearer {KEY2}")));
    assert!(seen.iter().any(|s| s.header("x-custom-token") == TOKEN));
    let journal: Vec<Value> = std::fs::read_to_string(run.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |p: &str| {
        journal
            .iter()
            .find(|r| r["provider_id"] == p)
            .unwrap()
            .clone()
    };
    let base = of("base")["error"]["message"].as_str().unwrap().to_string();
    assert!(
        base.contains("Incorrect API key provided: [REDACTED]\""),
        "{base}"
    );
    assert!(base.contains("key=[REDACTED]"), "{base}");
    let tok = of("tok")["error"].clone();
    assert_eq!(tok["message"], "token [REDACTED] rejected", "{tok}");
    assert_eq!(tok["code"], "[REDACTED]", "{tok}");
    assert_eq!(tok["type"], "auth_error", "{tok}");
    let out = of("out");
    assert_eq!(out["output_text"], "billing (debug: key [REDACTED])");
    assert_eq!(out["tool_calls"][0]["arguments"]["key"], "[REDACTED]");
    let twin = of("twin");
    assert_eq!(twin["output_text"], "billing");
    assert_eq!(
        twin["stream_compare"]["error"]["message"],
        "stream key [REDACTED] is not allowed"
    );
    let sse = of("sse")["error"].clone();
    assert_eq!(sse["type"], "[REDACTED]", "{sse}");
    assert!(
        sse["message"]
            .as_str()
            .unwrap()
            .contains("key [REDACTED] revoked"),
        "{sse}"
    );

    let files = files_under(dir);
    assert!(files.iter().any(|p| p.ends_with("report.html")));
    assert!(files.iter().any(|p| p.ends_with("m2.md")));
    for f in &files {
        let s = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        assert!(
            !s.contains(KEY2_TAIL),
            "the key leaked into {}",
            f.display()
        );
        assert!(!s.contains(TOKEN), "the token leaked into {}", f.display());
    }
    assert!(
        !outputs.contains(KEY2_TAIL) && !outputs.contains(TOKEN),
        "{outputs}"
    );
}
