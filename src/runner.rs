//! The runner: every (provider × item × repeat) request, sent concurrently, retried sensibly, journaled as it ends.
//!
//! Why this module exists: evaluation runs are long, rate-limited and paid. The runner bounds in-flight requests per
//! provider, retries only what a retry can fix (honouring the provider's Retry-After, with exponential backoff and
//! jitter otherwise), stops sending on Ctrl-C or when the budget would be exceeded while letting in-flight requests
//! finish, and writes each result to the journal the moment it is known — so an interrupted run loses nothing and a
//! resumed run never pays twice.

use crate::cost;
use crate::dataset::Item;
use crate::error::{Error, Result};
use crate::journal::{self, ErrorInfo, Record, StreamCompare};
use crate::prompt::Prompter;
use crate::provider::{self, ChatRequest, Provider, ProviderError, RequestMeta, Timeouts};
use crate::suite::{LoadedSuite, Price, ProviderKind, ProviderSpec};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Show progress bars (auto-disabled when not a terminal).
    pub progress: bool,
    /// Budget override (USD).
    pub max_cost_usd: Option<f64>,
    /// Write the sim's request log here.
    pub sim_log: Option<std::path::PathBuf>,
}

/// How the run ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcome {
    /// Requests sent in this invocation (not counting retries).
    pub sent: u64,
    /// Requests skipped because the journal already had them.
    pub resumed: u64,
    /// Ctrl-C stopped the run.
    pub interrupted: bool,
    /// The budget stopped the run.
    pub budget_exhausted: bool,
    /// Spend in this invocation, USD.
    pub spent_usd: f64,
    /// Requests not done (interrupted or budget) — the run is incomplete when > 0.
    pub missing: u64,
}

/// Canonical request hash: provider kind, base URL, model, messages, params, tools, repeat. Never the key.
pub fn request_hash(spec: &ProviderSpec, base_url: &str, req: &ChatRequest, repeat: u32) -> String {
    let canon = json!({
        "v": 1,
        "kind": spec.kind.as_str(),
        "base_url": if spec.kind == ProviderKind::Sim { "sim" } else { base_url },
        "model": spec.model,
        "messages": req.messages,
        "params": spec.params,
        "stream": spec.stream,
        "tools": *req.tools,
        "repeat": repeat,
    });
    blake3::hash(canon.to_string().as_bytes())
        .to_hex()
        .to_string()
}

fn bpe() -> Option<&'static tiktoken_rs::CoreBPE> {
    static BPE: std::sync::OnceLock<Option<tiktoken_rs::CoreBPE>> = std::sync::OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

fn count_tokens(text: &str) -> u64 {
    match bpe() {
        Some(b) => b.encode_ordinary(text).len() as u64,
        None => (text.len() as u64).div_ceil(4),
    }
}

/// Local token estimate of a prompt (o200k BPE when available; chars/4 otherwise).
pub fn estimate_tokens(messages: &[crate::provider::Message]) -> u64 {
    let mut n = 3u64;
    for m in messages {
        n += 4 + count_tokens(&m.content);
    }
    n
}

/// Local token estimate of a completion: its text plus each tool call's name and JSON arguments.
pub fn estimate_output_tokens(text: &str, calls: &[crate::provider::ToolCall]) -> u64 {
    count_tokens(text)
        + calls
            .iter()
            .map(|c| 3 + count_tokens(&c.name) + count_tokens(&c.arguments.to_string()))
            .sum::<u64>()
}

/// The usage to record: the provider's, or (when it reported none) local estimates flagged `estimated`.
fn settle_usage(c: &crate::provider::Completion, est_input: u64) -> crate::provider::Usage {
    match c.usage {
        Some(u) => crate::provider::Usage {
            estimated: false,
            ..u
        },
        None => crate::provider::Usage {
            input_tokens: est_input,
            output_tokens: estimate_output_tokens(&c.text, &c.tool_calls),
            estimated: true,
            ..Default::default()
        },
    }
}

struct Job {
    item: usize,
    repeat: u32,
}

struct ProviderRun {
    spec: ProviderSpec,
    client: Box<dyn Provider>,
    /// The same provider with the other streaming mode (`compare_stream: true`).
    alt: Option<Box<dyn Provider>>,
    price: Price,
    base_url: String,
    sem: Arc<Semaphore>,
    bar: ProgressBar,
    spent_micros: AtomicU64,
    errors: AtomicU64,
}

/// Execute (or resume) the run in `run_dir`.
pub async fn execute(
    ls: &LoadedSuite,
    items: Arc<Vec<Item>>,
    prompter: Arc<Prompter>,
    run_dir: &Path,
    opts: &RunOptions,
) -> Result<RunOutcome> {
    let suite = &ls.suite;
    let existing = journal::read(run_dir)?;
    let done: HashSet<(String, String, u32)> = journal::latest(existing.records)
        .into_values()
        .filter(|r| r.settled())
        .map(|r| r.key())
        .collect();

    let sim = if suite.providers.iter().any(|p| p.kind == ProviderKind::Sim) {
        let state = provider::sim::SimState::new(ls, &items, &prompter, opts.sim_log.as_deref())?;
        Some(provider::sim::start(state, 0).await?)
    } else {
        None
    };

    let timeouts = Timeouts::from_run(&suite.run);
    let max_conc: usize = suite
        .providers
        .iter()
        .map(|p| p.concurrency.unwrap_or(suite.run.concurrency))
        .sum();
    let http = reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .pool_max_idle_per_host(max_conc.max(8))
        .tcp_nodelay(true)
        .user_agent(concat!("evalh/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("building the HTTP client: {e}")))?;

    let show = opts.progress
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("CI").is_none();
    let mp = MultiProgress::with_draw_target(if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{prefix:>16} {bar:30.cyan/blue} {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());

    let repeats = suite.run.repeats;
    let total_per_provider = items.len() as u64 * repeats as u64;
    let mut runs = Vec::new();
    for p in &suite.providers {
        let override_url = (p.kind == ProviderKind::Sim)
            .then(|| sim.as_ref().map(|s| s.base_url.clone()))
            .flatten();
        let base_url = override_url
            .clone()
            .or_else(|| p.base_url.clone())
            .unwrap_or_default();
        let client = provider::build(p, http.clone(), timeouts, override_url.clone())?;
        let alt = if p.compare_stream {
            let mut other = p.clone();
            other.stream = !p.stream;
            Some(provider::build(
                &other,
                http.clone(),
                timeouts,
                override_url,
            )?)
        } else {
            None
        };
        let price = cost::price_for(p).unwrap_or_default();
        let bar = mp.add(ProgressBar::new(total_per_provider));
        bar.set_style(style.clone());
        bar.set_prefix(p.id.clone());
        runs.push(Arc::new(ProviderRun {
            spec: p.clone(),
            client,
            alt,
            price,
            base_url,
            sem: Arc::new(Semaphore::new(
                p.concurrency.unwrap_or(suite.run.concurrency).max(1),
            )),
            bar,
            spent_micros: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }));
    }

    // Ctrl-C: stop sending, let in-flight requests finish.
    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
                eprintln!("\ninterrupted: finishing in-flight requests; resume with `evalh run --resume <run dir>`");
            }
        });
    }
    let budget = opts.max_cost_usd.or(suite.run.max_cost_usd);
    let spent_total = Arc::new(AtomicU64::new(0)); // micro-USD
    let budget_hit = Arc::new(AtomicBool::new(false));

    // Journal writer: the only task that touches the file.
    let (tx, mut rx) = mpsc::channel::<Record>(1024);
    let mut writer = journal::Writer::open(run_dir)?;
    let writer_task = tokio::task::spawn_blocking(move || -> Result<u64> {
        let mut n = 0;
        while let Some(r) = rx.blocking_recv() {
            writer.append(&r)?;
            n += 1;
        }
        writer.sync()?;
        Ok(n)
    });

    let mut resumed = 0u64;
    let mut handles = Vec::new();
    let sent = Arc::new(AtomicU64::new(0));
    for pr in &runs {
        let mut jobs = Vec::new();
        for repeat in 0..repeats {
            for it in items.iter() {
                if done.contains(&(it.id.clone(), pr.spec.id.clone(), repeat)) {
                    resumed += 1;
                    pr.bar.inc(1);
                } else {
                    jobs.push(Job {
                        item: it.index,
                        repeat,
                    });
                }
            }
        }
        let pr = pr.clone();
        let items = items.clone();
        let prompter = prompter.clone();
        let tx = tx.clone();
        let stop = stop.clone();
        let spent_total = spent_total.clone();
        let budget_hit = budget_hit.clone();
        let tools = Arc::new(ls.tools.clone());
        let run_spec = suite.run.clone();
        let sent = sent.clone();
        handles.push(tokio::spawn(async move {
            let mut inflight = tokio::task::JoinSet::new();
            for job in jobs {
                let Ok(permit) = pr.sem.clone().acquire_owned().await else {
                    break;
                };
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let item = &items[job.item];
                let messages = match prompter.messages(item, &pr.spec.id) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("{e}");
                        stop.store(true, Ordering::SeqCst);
                        break;
                    }
                };
                let est = estimate_tokens(&messages);
                if let Some(b) = budget {
                    let calls = if pr.alt.is_some() && job.repeat == 0 {
                        2.0
                    } else {
                        1.0
                    };
                    let expected = calls * est_cost(&pr, est);
                    let spent = spent_total.load(Ordering::SeqCst) as f64 / 1e6;
                    if spent + expected > b {
                        budget_hit.store(true, Ordering::SeqCst);
                        stop.store(true, Ordering::SeqCst);
                        break;
                    }
                }
                let req = ChatRequest {
                    messages,
                    tools: tools.clone(),
                    meta: RequestMeta {
                        item_id: item.id.clone(),
                        repeat: job.repeat,
                        attempt: 1,
                    },
                };
                let pr = pr.clone();
                let tx = tx.clone();
                let spent_total = spent_total.clone();
                let run_spec = run_spec.clone();
                sent.fetch_add(1, Ordering::Relaxed);
                inflight.spawn(async move {
                    let rec = perform(&pr, req, job.repeat, est, &run_spec).await;
                    // The comparison call is paid for (budget, progress) but not part of the record's cost.
                    let compare_cost = rec.stream_compare.as_ref().map_or(0.0, |c| c.cost_usd);
                    let micros = ((rec.cost_usd + compare_cost) * 1e6).round() as u64;
                    spent_total.fetch_add(micros, Ordering::SeqCst);
                    pr.spent_micros.fetch_add(micros, Ordering::Relaxed);
                    if rec.error.is_some() {
                        pr.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    pr.bar.inc(1);
                    pr.bar.set_message(format!(
                        "errors {}  ${:.4}",
                        pr.errors.load(Ordering::Relaxed),
                        pr.spent_micros.load(Ordering::Relaxed) as f64 / 1e6
                    ));
                    let _ = tx.send(rec).await;
                    drop(permit);
                });
                // Reap finished tasks so the set stays small on huge runs.
                while let Some(r) = inflight.try_join_next() {
                    r.map_err(|e| Error::Internal(format!("request task failed: {e}")))?;
                }
            }
            while let Some(r) = inflight.join_next().await {
                r.map_err(|e| Error::Internal(format!("request task failed: {e}")))?;
            }
            Ok::<(), Error>(())
        }));
    }
    drop(tx);
    for h in handles {
        h.await
            .map_err(|e| Error::Internal(format!("provider task failed: {e}")))??;
    }
    writer_task
        .await
        .map_err(|e| Error::Internal(format!("journal writer failed: {e}")))??;
    for pr in &runs {
        pr.bar.finish();
    }
    drop(sim);

    let after = journal::latest(journal::read(run_dir)?.records);
    let expected = runs.len() as u64 * total_per_provider;
    Ok(RunOutcome {
        sent: sent.load(Ordering::Relaxed),
        resumed,
        interrupted: interrupted.load(Ordering::SeqCst),
        budget_exhausted: budget_hit.load(Ordering::SeqCst),
        spent_usd: spent_total.load(Ordering::SeqCst) as f64 / 1e6,
        missing: expected.saturating_sub(after.len() as u64),
    })
}

fn est_cost(pr: &ProviderRun, est_input: u64) -> f64 {
    let max_out = pr
        .spec
        .params
        .get("max_tokens")
        .or(pr.spec.params.get("max_completion_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(256);
    (est_input as f64 * pr.price.input_per_mtok + max_out as f64 * pr.price.output_per_mtok) * 1e-6
}

/// Backoff before retry number `retry` (0-based): the provider's hint if any (capped), else 0.5 s · 2^retry capped
/// at 8 s, with 0–25% jitter taken off (the OpenAI/Anthropic SDK schedule).
pub fn backoff(retry: u32, hint: Option<Duration>, cap: Duration) -> Duration {
    if let Some(h) = hint {
        return h.min(cap);
    }
    let base = (0.5 * 2f64.powi(retry.min(16) as i32)).min(8.0);
    let jitter = 1.0 - 0.25 * rand::rng().random::<f64>();
    Duration::from_secs_f64(base * jitter).min(cap)
}

/// One request with retries: the final result, the attempts made and the last attempt's wall time.
async fn attempt_loop(
    client: &dyn Provider,
    req: &mut ChatRequest,
    run: &crate::suite::RunSpec,
) -> (
    std::result::Result<crate::provider::Completion, ProviderError>,
    u32,
    f64,
) {
    let cap = Duration::from_secs_f64(run.max_backoff_s.max(0.0));
    let mut attempt = 1u32;
    loop {
        req.meta.attempt = attempt;
        let t0 = Instant::now();
        let res = client.complete(req).await;
        let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
        match res {
            Err(e) if e.class.retryable() && attempt <= run.max_retries => {
                tokio::time::sleep(backoff(attempt - 1, e.retry_after, cap)).await;
                attempt += 1;
            }
            other => return (other, attempt, latency_ms),
        }
    }
}

async fn perform(
    pr: &ProviderRun,
    mut req: ChatRequest,
    repeat: u32,
    est: u64,
    run: &crate::suite::RunSpec,
) -> Record {
    let hash = request_hash(&pr.spec, &pr.base_url, &req, repeat);
    let (res, attempts, latency_ms) = attempt_loop(pr.client.as_ref(), &mut req, run).await;
    let c = match res {
        Ok(c) => c,
        Err(e) => return error_record(pr, &req, repeat, hash, e, attempts, latency_ms, est),
    };
    let stream_compare = match (&pr.alt, repeat) {
        (Some(alt), 0) => Some(compare_call(pr, alt.as_ref(), &mut req, est, run).await),
        _ => None,
    };
    let usage = settle_usage(&c, est);
    Record {
        item_id: req.meta.item_id.clone(),
        provider_id: pr.spec.id.clone(),
        repeat,
        request_hash: hash,
        output_text: c.text,
        tool_calls: c.tool_calls,
        finish_reason: c.finish_reason,
        cost_usd: cost::cost_usd(&pr.price, &usage),
        usage,
        latency_ms,
        ttft_ms: c.ttft_ms,
        attempts,
        error: None,
        cached: false,
        est_input_tokens: Some(est),
        stream_compare,
    }
}

/// The same request through the other streaming mode (retried like any request).
async fn compare_call(
    pr: &ProviderRun,
    alt: &dyn Provider,
    req: &mut ChatRequest,
    est: u64,
    run: &crate::suite::RunSpec,
) -> StreamCompare {
    let (res, attempts, latency_ms) = attempt_loop(alt, req, run).await;
    let stream = !pr.spec.stream;
    match res {
        Ok(c) => {
            let usage = settle_usage(&c, est);
            StreamCompare {
                stream,
                output_text: c.text,
                tool_calls: c.tool_calls,
                finish_reason: c.finish_reason,
                cost_usd: cost::cost_usd(&pr.price, &usage),
                usage,
                latency_ms,
                ttft_ms: c.ttft_ms,
                attempts,
                error: None,
            }
        }
        Err(e) => StreamCompare {
            stream,
            output_text: String::new(),
            tool_calls: vec![],
            finish_reason: None,
            usage: Default::default(),
            cost_usd: 0.0,
            latency_ms,
            ttft_ms: None,
            attempts,
            error: Some(ErrorInfo {
                class: e.class,
                message: e.message,
                status: e.status,
            }),
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn error_record(
    pr: &ProviderRun,
    req: &ChatRequest,
    repeat: u32,
    hash: String,
    e: ProviderError,
    attempts: u32,
    latency_ms: f64,
    est: u64,
) -> Record {
    Record {
        item_id: req.meta.item_id.clone(),
        provider_id: pr.spec.id.clone(),
        repeat,
        request_hash: hash,
        output_text: String::new(),
        tool_calls: vec![],
        finish_reason: None,
        usage: Default::default(),
        cost_usd: 0.0,
        latency_ms,
        ttft_ms: None,
        attempts,
        error: Some(ErrorInfo {
            class: e.class,
            message: e.message,
            status: e.status,
        }),
        cached: false,
        est_input_tokens: Some(est),
        stream_compare: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_honours_hint_and_cap() {
        let cap = Duration::from_secs(60);
        assert_eq!(
            backoff(0, Some(Duration::from_secs(3)), cap),
            Duration::from_secs(3)
        );
        assert_eq!(backoff(0, Some(Duration::from_secs(300)), cap), cap);
        let b = backoff(0, None, cap);
        assert!(
            b >= Duration::from_millis(375) && b <= Duration::from_millis(500),
            "{b:?}"
        );
        let b = backoff(10, None, cap);
        assert!(b <= Duration::from_secs(8) && b >= Duration::from_secs(6));
    }

    #[test]
    fn estimate_is_positive_and_grows() {
        let m = |s: &str| {
            vec![crate::provider::Message {
                role: crate::provider::Role::User,
                content: s.into(),
            }]
        };
        assert!(
            estimate_tokens(&m("hello world")) < estimate_tokens(&m(&"hello world ".repeat(50)))
        );
    }
}
