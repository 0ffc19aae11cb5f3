//! The simulator: an OpenAI-compatible chat-completions server on 127.0.0.1 that plays every `kind: sim` provider.
//! It sits beside the provider clients, not among them: it knows the dataset and the prompts (to answer), which no
//! client may; evalh's OpenAI client talks to it over loopback like to any host.
//!
//! Why this module exists: evalh must run end to end on a fresh machine with no API key (the demo, the tests, CI),
//! through the *same* HTTP client and journal path a real provider uses — so the sim is a real server, not an
//! in-process shortcut. It knows the suite's ground truth, answers correctly with probability `quality`, sleeps a
//! log-normal latency through the given p50/p99, and injects faults (429 with Retry-After, 500, 529, malformed JSON,
//! truncated streams, in-band stream errors, slow first bytes) at configured rates. Every decision is a pure
//! function of (seed, model, item, repeat[, attempt]), so runs are reproducible — except the optional per-model
//! rate limits ([`limit`]), which, like a provider's, depend on when requests arrive.
//!
//! It also serves the batch APIs ([`batch`]: OpenAI and Azure's v1 paths) and, for `kind: anthropic` / `kind: gemini`
//! providers pointed at `evalh sim serve`, those dialects' interactive and batch endpoints ([`anthropic`],
//! [`gemini`]), each answering exactly as the chat-completions endpoint does for the same request.

mod answer;
mod anthropic;
mod batch;
mod gemini;
mod limit;

pub use answer::{answer, Answer, Truth};

use crate::dataset::Item;
use crate::error::Result;
use crate::suite::{LoadedSuite, ProviderKind, SimSpec, TaskKind};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything the sim server needs, shared by its handlers.
pub struct SimState {
    task: TaskKind,
    seed: u64,
    labels: Vec<String>,
    tool_names: Vec<String>,
    profiles: HashMap<String, SimSpec>,
    /// The run's items, shared with the runner (a 1,000,000-item run holds them once), and their positions sorted by
    /// id: the sim finds an item by binary search and derives its [`Truth`] when it answers, instead of keeping a
    /// copy of every id and answer key.
    items: Arc<Vec<Item>>,
    by_id: crate::journal::SortedPositions,
    by_prompt: HashMap<blake3::Hash, String>,
    log: Option<Mutex<std::fs::File>>,
    /// The local estimate the reported prompt tokens are derived from (the runner's own, when it runs the sim).
    tokens: Arc<crate::tokens::Tokenizer>,
    started: Instant,
    counter: std::sync::atomic::AtomicU64,
    /// The rate-limit buckets of each model that has `sim.rate_limit`.
    limits: HashMap<String, Mutex<limit::Limiter>>,
    /// Repeats of the run and the sim providers of each model: what a batch's custom ids are made of.
    repeats: u32,
    providers_of: HashMap<String, Vec<String>>,
    /// Uploaded files and batches of the batch endpoints.
    batches: batch::Store,
}

impl SimState {
    /// The item with this id.
    fn item(&self, id: &str) -> Option<&Item> {
        let i = self.by_id.find(id, |i| self.items[i].id.as_str())?;
        Some(&self.items[i])
    }

    /// What the sim knows about the item with this id.
    fn truth(&self, id: &str) -> Option<Truth> {
        let it = self.item(id)?;
        // Only a wrong summary is made from the source text: other tasks need none.
        let source_text = if self.task == TaskKind::Summarization {
            it.fields()
                .values()
                .filter_map(Value::as_str)
                .max_by_key(|s| s.len())
                .unwrap_or_default()
                .to_string()
        } else {
            String::new()
        };
        Some(Truth {
            // An unlabelled item (agreement scoring): the sim plays a model whose right answer is the logged
            // production answer, so quality differences still show as agreement differences.
            expected: match &it.expected {
                Value::Null => it
                    .fields()
                    .remove(crate::dataset::LOGGED_FIELD)
                    .unwrap_or(Value::Null),
                v => v.clone(),
            },
            source_text,
        })
    }

    /// Build from a suite: profiles keyed by the sim providers' `model`, ground truth from the dataset.
    ///
    /// `index_prompts`: also index every item by its rendered last message, for clients that do not name the item in
    /// an `x-evalh-item` header (`evalh sim serve` behind another harness). evalh's own client always names it, so a
    /// run skips this (it rendered every prompt once more and held a hash per item and sim provider).
    pub fn new(
        ls: &LoadedSuite,
        items: Arc<Vec<Item>>,
        prompter: &crate::prompt::Prompter,
        log_path: Option<&std::path::Path>,
        tokens: Arc<crate::tokens::Tokenizer>,
        index_prompts: bool,
    ) -> Result<Self> {
        let mut profiles = HashMap::new();
        let mut sim_ids = Vec::new();
        let mut providers_of: HashMap<String, Vec<String>> = HashMap::new();
        for p in ls
            .suite
            .providers
            .iter()
            .filter(|p| p.kind == ProviderKind::Sim)
        {
            profiles.insert(p.model.clone(), p.sim.clone().unwrap_or_default());
            sim_ids.push(p.id.as_str());
            providers_of
                .entry(p.model.clone())
                .or_default()
                .push(p.id.clone());
        }
        let by_id = crate::journal::SortedPositions::new(items.len(), |i| items[i].id.as_str());
        let mut by_prompt = HashMap::new();
        for it in items.iter() {
            for pid in sim_ids.iter().filter(|_| index_prompts) {
                if let Some(last) = prompter.messages(it, pid)?.last() {
                    by_prompt.insert(blake3::hash(last.content.as_bytes()), it.id.clone());
                }
            }
        }
        let log = match log_path {
            Some(p) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| {
                        crate::error::Error::io(format!("opening sim log {}", p.display()), e)
                    })?,
            )),
            None => None,
        };
        let started = Instant::now();
        let limits = profiles
            .iter()
            .filter_map(|(m, p)| {
                let rl = p.rate_limit.as_ref()?;
                Some((m.clone(), Mutex::new(limit::Limiter::new(rl, started))))
            })
            .collect();
        Ok(SimState {
            task: ls.suite.task,
            seed: ls.suite.run.seed,
            labels: ls.suite.labels.clone(),
            tool_names: ls.tools.iter().map(|t| t.name.clone()).collect(),
            profiles,
            items,
            by_id,
            by_prompt,
            log,
            tokens,
            started,
            counter: Default::default(),
            limits,
            repeats: ls.suite.run.repeats,
            providers_of,
            batches: Default::default(),
        })
    }
}

/// A running sim server.
pub struct SimServer {
    /// Base URL to give OpenAI-compatible clients (`http://127.0.0.1:PORT/v1`).
    pub base_url: String,
    handle: tokio::task::JoinHandle<()>,
    /// The server's state (ground truth of every item), to know when the last connection task has let go of it.
    state: std::sync::Weak<SimState>,
}

impl SimServer {
    /// Stop serving and wait (up to a second) until the state is freed: connection tasks hold it until their client
    /// has closed the connection. A run calls this after dropping its HTTP clients, so the memory is free before the
    /// journal is scored.
    pub async fn shutdown(self) {
        self.handle.abort();
        let state = self.state.clone();
        drop(self);
        let deadline = Instant::now() + std::time::Duration::from_secs(1);
        while state.strong_count() > 0 && Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// The router (exposed so tests and `evalh sim serve` share it).
pub fn router(state: Arc<SimState>) -> axum::Router {
    let r = axum::Router::new()
        .route("/v1/chat/completions", post(handle))
        .route("/chat/completions", post(handle))
        .route("/openai/v1/chat/completions", post(handle));
    gemini::routes(anthropic::routes(batch::routes(r))).with_state(state)
}

/// Start on 127.0.0.1:`port` (0 = random).
pub async fn start(state: SimState, port: u16) -> Result<SimServer> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            crate::error::Error::io(format!("binding the simulator to 127.0.0.1:{port}"), e)
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| crate::error::Error::io("reading the simulator's address", e))?;
    let state = Arc::new(state);
    let weak = Arc::downgrade(&state);
    let app = router(state);
    // Streams are many small writes: without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK add ~40 ms
    // per response, which would swamp the configured latency.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(SimServer {
        base_url: format!("http://{addr}/v1"),
        handle,
        state: weak,
    })
}

fn rng_for(seed: u64, parts: &[&str]) -> ChaCha8Rng {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    let mut s = [0u8; 32];
    s.copy_from_slice(h.finalize().as_bytes());
    ChaCha8Rng::from_seed(s)
}

/// Whether a simulated model answers an item correctly: a pure function of (seed, model, item, repeat).
///
/// With probability `correlation` the model's draw is the item's shared difficulty (the same number for every model),
/// otherwise its own; it answers correctly when the draw is below `quality`. Either way the marginal probability of a
/// correct answer is exactly `quality`, while models of similar quality fail on mostly the same items.
pub fn answers_correctly(
    seed: u64,
    model: &str,
    item_id: &str,
    repeat: &str,
    profile: &SimSpec,
) -> bool {
    let mut own = rng_for(seed, &["correct", model, item_id, repeat]);
    let shared: f64 = rng_for(seed, &["difficulty", item_id, repeat]).random();
    let draw = if own.random_bool(profile.correlation.clamp(0.0, 1.0)) {
        shared
    } else {
        own.random()
    };
    draw < profile.quality.clamp(0.0, 1.0)
}

/// What the simulator does with one attempt, before it answers: a pure function of (seed, model, item, repeat,
/// attempt), so the gate's calibration tests draw exactly what the server would serve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// The injected fault (`rate_limit`, `server_error`, `overloaded`, `malformed`, `truncated`, `stream_error`).
    pub fault: Option<&'static str>,
    /// A slow first byte.
    pub slow: bool,
    /// The attempt's latency, ms (log-normal through the profile's p50 and p99).
    pub latency: f64,
}

/// The fault and latency of one attempt (see [`Draw`]).
pub fn draw(
    seed: u64,
    model: &str,
    item_id: &str,
    repeat: &str,
    attempt: &str,
    profile: &SimSpec,
) -> Draw {
    let mut frng = rng_for(seed, &["fault", model, item_id, repeat, attempt]);
    let f = &profile.faults;
    let roll: f64 = frng.random();
    let mut acc = 0.0;
    let mut pick = |rate: f64| {
        let hit = roll >= acc && roll < acc + rate;
        acc += rate;
        hit
    };
    let fault = if pick(f.rate_limit) {
        Some("rate_limit")
    } else if pick(f.server_error) {
        Some("server_error")
    } else if pick(f.overloaded) {
        Some("overloaded")
    } else if pick(f.malformed) {
        Some("malformed")
    } else if pick(f.truncated_stream) {
        Some("truncated")
    } else if pick(f.stream_error) {
        Some("stream_error")
    } else {
        None
    };
    let slow = frng.random_bool(f.slow_first_byte.clamp(0.0, 1.0));
    let latency = lognormal_ms(&mut frng, profile.latency_ms.p50, profile.latency_ms.p99);
    Draw {
        fault,
        slow,
        latency,
    }
}

fn lognormal_ms<R: Rng>(rng: &mut R, p50: f64, p99: f64) -> f64 {
    if p50 <= 0.0 {
        return 0.0;
    }
    let sigma = ((p99.max(p50) / p50).ln() / 2.326_347_874).max(0.0);
    // Box-Muller standard normal.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    p50 * (sigma * z).exp()
}

/// Prompt tokens the sim reports: evalh's own local estimate of the messages times `token_factor`, so a factor of
/// 1.3 shows up as a reported/estimated ratio of 1.3 in the token-count discrepancy — the way a model with another
/// tokenizer would.
fn prompt_tokens(tokens: &crate::tokens::Tokenizer, req: &Value, factor: f64) -> u64 {
    let messages: Vec<crate::chat::Message> = req
        .get("messages")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .map(|m| crate::chat::Message {
                    role: crate::chat::Role::User,
                    content: m
                        .get("content")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let est = tokens.estimate_tokens(&messages) as f64;
    (est * factor.max(0.0)).round().max(1.0) as u64
}

fn estimate_tokens(text: &str, factor: f64) -> u64 {
    ((text.len() as f64 / 4.0).ceil() * factor).round().max(1.0) as u64
}

fn error_response(status: u16, etype: &str, msg: &str, retry_after: Option<f64>) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(json!({"error": {"message": msg, "type": etype, "param": null, "code": etype}})),
    )
        .into_response();
    if let Some(s) = retry_after {
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{s}")) {
            r.headers_mut().insert("retry-after", v);
        }
    }
    r
}

/// One request as the simulator reads it.
struct Call {
    req: Value,
    model: String,
    stream: bool,
    /// The dataset item, when the request names or matches one.
    item_id: Option<String>,
    /// The item id, or a stand-in derived from the prompt.
    id: String,
    repeat: String,
    attempt: String,
}

/// Read the request: its model and that model's profile (an error response for an unknown one), the item it is
/// about, repeat and attempt.
fn read_call<'s>(
    st: &'s SimState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Call, &'s SimSpec), Box<Response>> {
    let req: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(error_response(
            400,
            "invalid_request_error",
            &format!("body is not JSON: {e}"),
            None,
        ))
    })?;
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(profile) = st.profiles.get(&model) else {
        return Err(Box::new(error_response(
            404,
            "model_not_found",
            &format!("The model `{model}` does not exist in this simulator"),
            None,
        )));
    };
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let hdr = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let last_user = req
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let item_id = hdr("x-evalh-item")
        .filter(|id| st.item(id).is_some())
        .or_else(|| {
            st.by_prompt
                .get(&blake3::hash(last_user.as_bytes()))
                .cloned()
        });
    let repeat = hdr("x-evalh-repeat").unwrap_or_else(|| "0".into());
    let attempt = hdr("x-evalh-attempt").unwrap_or_else(|| {
        st.counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_string()
    });
    let id = item_id
        .clone()
        .unwrap_or_else(|| format!("unknown:{}", blake3::hash(last_user.as_bytes()).to_hex()));
    let call = Call {
        req,
        model,
        stream,
        item_id,
        id,
        repeat,
        attempt,
    };
    Ok((call, profile))
}

/// The error response of an injected HTTP fault (the other faults are in the body or the stream).
fn fault_response(fault: Option<&str>, f: &crate::suite::FaultSpec) -> Option<Response> {
    Some(match fault? {
        "rate_limit" => error_response(
            429,
            "rate_limit_exceeded",
            "Rate limit reached (simulated). Please try again.",
            Some(f.retry_after_s.unwrap_or(1.0)),
        ),
        "server_error" => error_response(
            500,
            "server_error",
            "The server had an error (simulated).",
            None,
        ),
        "overloaded" => error_response(529, "overloaded_error", "Overloaded (simulated).", None),
        _ => return None,
    })
}

/// The answer to a call, in OpenAI's wire shapes.
struct Reply {
    text: String,
    /// `tool_calls` entries of the message.
    tool_calls: Vec<Value>,
    finish: &'static str,
    usage: Value,
}

/// The answer to `call`: a pure function of (seed, model, item, repeat).
fn reply(st: &SimState, call: &Call, profile: &SimSpec) -> Reply {
    let (seed, model, id, repeat) = (st.seed, &call.model, &call.id, &call.repeat);
    let correct = answers_correctly(seed, model, id, repeat, profile);
    let mut arng = rng_for(seed, &["answer", model, id, repeat]);
    let ans = match call.item_id.as_ref().and_then(|i| st.truth(i)) {
        Some(truth) => answer::answer(
            st.task,
            &truth,
            &st.labels,
            &st.tool_names,
            correct,
            &mut arng,
        ),
        None => Answer {
            text: "I don't know this item.".into(),
            tool_calls: vec![],
        },
    };
    let input_tokens = prompt_tokens(&st.tokens, &call.req, profile.token_factor);
    let out_len = ans.text.len()
        + ans
            .tool_calls
            .iter()
            .map(|(n, a)| n.len() + a.len())
            .sum::<usize>();
    let output_tokens = estimate_tokens(&" ".repeat(out_len), profile.token_factor);
    let usage = json!({"prompt_tokens": input_tokens, "completion_tokens": output_tokens, "total_tokens": input_tokens + output_tokens});
    let finish = if ans.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    let tool_calls: Vec<Value> = ans
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, (n, a))| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": n, "arguments": a}}))
        .collect();
    Reply {
        text: ans.text,
        tool_calls,
        finish,
        usage,
    }
}

async fn handle(
    State(st): State<Arc<SimState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (call, profile) = match read_call(&st, &headers, &body) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    limited(&st, &call, profile, answer_call(&st, &call, profile)).await
}

/// `answer` behind the model's rate limits (`sim.rate_limit`), as a provider checks them before anything else: a
/// 429 with `retry-after` when a bucket is short, and the limit headers on every answer of the model. Every endpoint
/// that answers a call goes through here (chat completions, Anthropic's messages).
async fn limited(
    st: &SimState,
    call: &Call,
    profile: &SimSpec,
    answer: impl std::future::Future<Output = Response>,
) -> Response {
    let verdict = st.limits.get(&call.model).and_then(|l| {
        let cost = prompt_tokens(&st.tokens, &call.req, profile.token_factor)
            + max_output_tokens(&call.req);
        Some(l.lock().ok()?.admit(cost, Instant::now()))
    });
    let mut resp = match verdict.as_ref().and_then(|v| Some((v, v.refused?))) {
        Some((v, (which, secs))) => {
            log(st, call, "rate_limited", false, Some((which, secs)));
            let body = v.error_body(&call.model).unwrap_or_default();
            let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            r.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
            r
        }
        None => answer.await,
    };
    for (n, v) in verdict.into_iter().flat_map(|v| v.headers) {
        resp.headers_mut().insert(n, v);
    }
    resp
}

/// Output tokens a request reserves against a token limit: its `max_tokens` (or `max_completion_tokens`), else 0.
fn max_output_tokens(req: &Value) -> u64 {
    req.get("max_tokens")
        .or_else(|| req.get("max_completion_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The answer to an admitted call: its drawn fault, latency and reply.
async fn answer_call(st: &SimState, call: &Call, profile: &SimSpec) -> Response {
    // Faults and latency depend on the attempt, so retries can succeed.
    let Draw {
        fault,
        slow,
        latency,
    } = draw(
        st.seed,
        &call.model,
        &call.id,
        &call.repeat,
        &call.attempt,
        profile,
    );
    let f = &profile.faults;
    log(st, call, fault.unwrap_or("ok"), slow, None);
    if slow {
        tokio::time::sleep(Duration::from_secs_f64(
            f.slow_first_byte_ms.unwrap_or(5000.0) / 1000.0,
        ))
        .await;
    }
    if let Some(r) = fault_response(fault, f) {
        return r;
    }
    let reply = reply(st, call, profile);
    if call.stream {
        stream_response(&call.model, reply, fault, latency)
    } else {
        plain_response(&call.model, reply, fault, latency).await
    }
}

/// A non-streamed answer after the drawn latency (or the malformed / failed body the fault asks for).
async fn plain_response(model: &str, reply: Reply, fault: Option<&str>, latency: f64) -> Response {
    if latency > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(latency / 1000.0)).await;
    }
    if fault == Some("malformed") || fault == Some("truncated") {
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"id\":\"chatcmpl-sim\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assis",
        )
            .into_response();
    }
    if fault == Some("stream_error") {
        return error_response(
            500,
            "server_error",
            "The server had an error while processing your request (simulated).",
            None,
        );
    }
    axum::Json(completion_json(model, reply)).into_response()
}

/// A chat-completions body (the interactive answer, and each line of a batch's output file).
fn completion_json(model: &str, reply: Reply) -> Value {
    let Reply {
        text,
        tool_calls,
        finish,
        usage,
    } = reply;
    let mut message = json!({"role": "assistant", "content": if tool_calls.is_empty() { Value::String(text) } else { Value::Null }});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    json!({
        "id": "chatcmpl-sim", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage
    })
}

/// A streamed answer: first chunk after ~40% of the latency, the rest spread over the remainder (cut, or with an
/// error or garbage event, as the fault asks).
fn stream_response(model: &str, reply: Reply, fault: Option<&str>, latency: f64) -> Response {
    let mut events: Vec<String> = Vec::new();
    let chunk = |delta: Value, fr: Option<&str>| {
        json!({"id": "chatcmpl-sim", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": fr}]}).to_string()
    };
    events.push(chunk(json!({"role": "assistant", "content": ""}), None));
    let words: Vec<String> = reply
        .text
        .split_inclusive(' ')
        .map(str::to_string)
        .collect();
    for w in words.chunks(4) {
        events.push(chunk(json!({"content": w.concat()}), None));
    }
    for (i, tc) in reply.tool_calls.iter().enumerate() {
        let args = tc["function"]["arguments"]
            .as_str()
            .unwrap_or("{}")
            .to_string();
        let mid = args.len() / 2;
        let mid = (0..=mid)
            .rev()
            .find(|&m| args.is_char_boundary(m))
            .unwrap_or(0);
        events.push(chunk(json!({"tool_calls": [{"index": i, "id": tc["id"], "type": "function", "function": {"name": tc["function"]["name"], "arguments": &args[..mid]}}]}), None));
        events.push(chunk(
            json!({"tool_calls": [{"index": i, "function": {"arguments": &args[mid..]}}]}),
            None,
        ));
    }
    events.push(chunk(json!({}), Some(reply.finish)));
    events.push(json!({"id": "chatcmpl-sim", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [], "usage": reply.usage}).to_string());
    let cut = match fault {
        Some("truncated") => Some(events.len() / 2),
        Some("stream_error") => {
            let at = events.len() / 2;
            events.insert(at, json!({"error": {"message": "Internal error while streaming (simulated)", "type": "server_error"}}).to_string());
            Some(at + 1)
        }
        Some("malformed") => {
            let at = events.len() / 2;
            events.insert(at, "{\"choices\": [".to_string());
            Some(at + 1)
        }
        _ => None,
    };
    let ttft = latency * 0.4;
    let gap = if events.len() > 1 {
        (latency - ttft) / (events.len() - 1) as f64
    } else {
        0.0
    };
    let body_stream = async_stream(events, cut, ttft, gap);
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body_stream))
        .unwrap_or_else(|_| error_response(500, "server_error", "stream build failed", None))
}

fn async_stream(
    events: Vec<String>,
    cut: Option<usize>,
    ttft_ms: f64,
    gap_ms: f64,
) -> impl futures_util::Stream<Item = std::result::Result<String, std::io::Error>> {
    let n = events.len();
    futures_util::stream::unfold(
        (events.into_iter().enumerate(), false),
        move |(mut it, ended)| async move {
            if ended {
                return None;
            }
            match it.next() {
                Some((i, ev)) => {
                    let wait = if i == 0 { ttft_ms } else { gap_ms };
                    if wait > 0.0 {
                        tokio::time::sleep(Duration::from_secs_f64(wait / 1000.0)).await;
                    }
                    if cut == Some(i) {
                        return Some((
                            Err(std::io::Error::other("simulated truncation")),
                            (it, true),
                        ));
                    }
                    let mut s = format!("data: {ev}\n\n");
                    if i + 1 == n {
                        s.push_str("data: [DONE]\n\n");
                    }
                    Some((Ok(s), (it, false)))
                }
                None => None,
            }
        },
    )
}

/// One line per request: when it arrived, whose it was, and what the sim decided (`slow_first_byte` is logged only
/// when the response was delayed, since the client may time out before it sees `outcome`; with a `rate_limited`
/// refusal, the limit that refused it (`requests` or `tokens`) and the `retry_after_s` announced).
fn log(
    st: &SimState,
    call: &Call,
    outcome: &str,
    slow: bool,
    refused: Option<(limit::Exceeded, u64)>,
) {
    if let Some(l) = &st.log {
        let mut line = json!({"t_ms": st.started.elapsed().as_secs_f64() * 1000.0, "model": call.model, "item": call.id, "repeat": call.repeat, "attempt": call.attempt, "outcome": outcome});
        if slow {
            line["slow_first_byte"] = Value::Bool(true);
        }
        if let Some((which, s)) = refused {
            line["limit"] = Value::from(match which {
                limit::Exceeded::Requests => "requests",
                limit::Exceeded::Tokens => "tokens",
            });
            line["retry_after_s"] = Value::from(s);
        }
        if let Ok(mut f) = l.lock() {
            let _ = writeln!(f, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_hits_its_percentiles() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut xs: Vec<f64> = (0..20000)
            .map(|_| lognormal_ms(&mut rng, 100.0, 400.0))
            .collect();
        xs.sort_by(f64::total_cmp);
        let p50 = xs[10000];
        let p99 = xs[19800];
        assert!((p50 - 100.0).abs() < 5.0, "{p50}");
        assert!((p99 - 400.0).abs() < 40.0, "{p99}");
    }

    #[test]
    fn reported_prompt_tokens_follow_the_token_factor() {
        let req = json!({"messages": [
            {"role": "system", "content": "Classify the ticket into billing, bug or feature."},
            {"role": "user", "content": "I was charged twice this month and want a refund for the second payment."}
        ]});
        let tokens = crate::tokens::Tokenizer::o200k();
        let base = prompt_tokens(&tokens, &req, 1.0);
        let msgs: Vec<crate::chat::Message> = req["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| crate::chat::Message {
                role: crate::chat::Role::User,
                content: m["content"].as_str().unwrap().into(),
            })
            .collect();
        assert_eq!(base, tokens.estimate_tokens(&msgs));
        let scaled = prompt_tokens(&tokens, &req, 1.3);
        assert_eq!(scaled, (base as f64 * 1.3).round() as u64);
        let ratio = scaled as f64 / base as f64;
        assert!((ratio - 1.3).abs() < 0.02, "{ratio}");
    }

    #[test]
    fn rng_is_a_pure_function_of_its_parts() {
        let a: u64 = rng_for(1, &["x", "y"]).random();
        let b: u64 = rng_for(1, &["x", "y"]).random();
        let c: u64 = rng_for(1, &["xy", ""]).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
