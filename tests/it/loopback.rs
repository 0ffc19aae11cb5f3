//! A scriptable HTTP server on 127.0.0.1 for tests of the real binary against "real" providers: every request is
//! recorded (path, query, headers, JSON body) and answered by a closure; plus OpenAI-shaped answers and a way to run
//! evalh with extra environment variables.
#![allow(dead_code)]

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Request path.
    pub path: String,
    /// Query string ("" when none).
    pub query: String,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (Null when it is not JSON).
    pub body: Value,
}

impl Seen {
    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    /// The content of the last message (OpenAI shape), or "".
    pub fn last_user(&self) -> String {
        self.body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Response + Send + Sync>;

/// A running server; stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Start a server answering every request with `h`.
    pub fn start(h: impl Fn(&Seen) -> Response + Send + Sync + 'static) -> Server {
        let handler: Handler = Arc::new(h);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let log = seen.clone();
        let thread = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async move {
                    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind");
                    addr_tx.send(l.local_addr().expect("addr")).expect("send");
                    let app = axum::Router::new().fallback(
                        move |uri: axum::http::Uri,
                              headers: axum::http::HeaderMap,
                              body: axum::body::Bytes| {
                            let handler = handler.clone();
                            let log = log.clone();
                            async move {
                                let seen = Seen {
                                    path: uri.path().to_string(),
                                    query: uri.query().unwrap_or_default().to_string(),
                                    headers: headers
                                        .iter()
                                        .map(|(k, v)| {
                                            (
                                                k.as_str().to_string(),
                                                v.to_str().unwrap_or_default().to_string(),
                                            )
                                        })
                                        .collect(),
                                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                                };
                                let resp = handler(&seen);
                                log.lock().expect("log").push(seen);
                                resp
                            }
                        },
                    );
                    axum::serve(l, app)
                        .with_graceful_shutdown(async {
                            let _ = stop_rx.await;
                        })
                        .await
                        .expect("serve");
                });
        });
        let addr = addr_rx.recv().expect("server address");
        Server {
            url: format!("http://{addr}"),
            seen,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }

    /// Forget the requests so far.
    pub fn clear(&self) {
        self.seen.lock().expect("log").clear();
    }
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

/// An OpenAI chat completion answering `text`.
pub fn chat_ok(text: &str) -> Response {
    axum::Json(json!({
        "id": "chatcmpl-loopback", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21}
    }))
    .into_response()
}

/// An error answer with status `status` and JSON body `body`.
pub fn error(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).expect("status"),
        axum::Json(body),
    )
        .into_response()
}

/// Run the real evalh in `dir` with `args` and extra environment variables (CI mode, no step summary, a cache in
/// `dir/.evalh-cache` unless the args name one).
pub fn evalh_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_evalh"));
    c.args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "true")
        .env("EVALH_CACHE_DIR", dir.join(".evalh-cache"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run evalh")
}
