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
use crate::journal::{self, ErrorInfo, Record};
use crate::prompt::Prompter;
use crate::provider::{self, ChatRequest, Provider, ProviderError, RequestMeta, Timeouts};
use crate::suite::{LoadedSuite, Price, ProviderKind, ProviderSpec};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::Rng;
use serde_json::{json, Value};
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
    /// The response cache (None = `--no-cache`).
    pub cache: Option<Arc<crate::cache::Cache>>,
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
    /// Spend of the whole run so far (earlier invocations of a resumed run included), USD.
    pub run_spent_usd: f64,
    /// The budget that applied, USD.
    pub budget_usd: Option<f64>,
    /// Requests not done (interrupted or budget) — the run is incomplete when > 0.
    pub missing: u64,
}

/// Canonical request hash (the response-cache key): provider kind, endpoint (see [`hash_endpoint`]), model, messages,
/// params, streaming, tools, repeat — and for the simulator its behaviour profile. Never the key or any header.
pub fn request_hash(spec: &ProviderSpec, endpoint: &str, req: &ChatRequest, repeat: u32) -> String {
    let mut canon = json!({
        "v": 1,
        "kind": spec.kind.as_str(),
        "base_url": endpoint,
        "model": spec.model,
        "messages": req.messages,
        "params": spec.params,
        "stream": spec.stream,
        "tools": *req.tools,
        "repeat": repeat,
    });
    if spec.kind == ProviderKind::Sim {
        // The simulator's answers are a function of its profile and the run seed (the seed is in the endpoint).
        canon["sim"] = json!(spec.sim.clone().unwrap_or_default());
    }
    blake3::hash(canon.to_string().as_bytes())
        .to_hex()
        .to_string()
}

/// The endpoint identity hashed into [`request_hash`]: the configured base URL; for the simulator, whose loopback
/// port changes every run, `sim:seed=<run seed>` (its answers depend on the seed, not on the port).
pub fn hash_endpoint(spec: &ProviderSpec, seed: u64) -> String {
    if spec.kind == ProviderKind::Sim {
        format!("sim:seed={seed}")
    } else {
        spec.base_url.clone().unwrap_or_default()
    }
}

/// Local token estimate of a prompt (o200k BPE when available; chars/4 otherwise).
pub fn estimate_tokens(messages: &[crate::provider::Message]) -> u64 {
    static BPE: std::sync::OnceLock<Option<tiktoken_rs::CoreBPE>> = std::sync::OnceLock::new();
    let bpe = BPE.get_or_init(|| tiktoken_rs::o200k_base().ok());
    let mut n = 3u64;
    for m in messages {
        n += 4 + match bpe {
            Some(b) => b.encode_ordinary(&m.content).len() as u64,
            None => (m.content.len() as u64).div_ceil(4),
        };
    }
    n
}

struct Job {
    item: usize,
    repeat: u32,
}

struct ProviderRun {
    spec: ProviderSpec,
    client: Box<dyn Provider>,
    price: Price,
    /// The endpoint identity for request hashes ([`hash_endpoint`]).
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
    // Resume: stream the journal once; the latest record of each request decides whether it is settled. The budget
    // covers the whole run, so what earlier invocations of a resumed run spent counts too.
    let slots = journal::Slots::new(
        items.iter().map(|it| it.id.as_str()),
        suite.providers.iter().map(|p| p.id.as_str()),
        suite.run.repeats,
    );
    let mut done = vec![false; slots.len()];
    let mut spent_before_micros = 0u64;
    journal::for_each(run_dir, |r| {
        spent_before_micros += (r.cost_usd * 1e6).round() as u64;
        if let Some(s) = slots.of(&r) {
            done[s] = r.settled();
        }
    })?;

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
        let base_url = hash_endpoint(p, suite.run.seed);
        let client = provider::build(p, http.clone(), timeouts, override_url)?;
        let price = cost::price_for(p).unwrap_or_default();
        let bar = mp.add(ProgressBar::new(total_per_provider));
        bar.set_style(style.clone());
        bar.set_prefix(p.id.clone());
        runs.push(Arc::new(ProviderRun {
            spec: p.clone(),
            client,
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
    // SIGTERM (a CI job cancelled, `kill`, a container stopped) is handled like Ctrl-C: requests already sent are
    // paid for, so their answers are waited for and journaled instead of being lost and re-sent on resume.
    #[cfg(unix)]
    {
        let stop = stop.clone();
        let interrupted = interrupted.clone();
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::spawn(async move {
                if term.recv().await.is_some() {
                    interrupted.store(true, Ordering::SeqCst);
                    stop.store(true, Ordering::SeqCst);
                    eprintln!("\nterminated: finishing in-flight requests; resume with `evalh run --resume <run dir>`");
                }
            });
        }
    }
    let budget = opts.max_cost_usd.or(suite.run.max_cost_usd);
    // micro-USD: spent in earlier invocations + spent in this one + reserved (estimated) for requests in flight.
    let spent_total = Arc::new(AtomicU64::new(spent_before_micros));
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
    for (pi, pr) in runs.iter().enumerate() {
        let mut jobs = Vec::new();
        for repeat in 0..repeats {
            for it in items.iter() {
                if done[slots.at(pi, repeat, it.index)] {
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
        let cache = opts.cache.clone();
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
                // Budget: reserve this request's estimated cost before sending; the reservation is replaced by the
                // actual cost when it finishes, so requests in flight can never take the run past the budget.
                let reserved = match budget {
                    Some(b) => {
                        let expected = (est_cost(&pr, est) * 1e6).ceil() as u64;
                        let spent = spent_total.load(Ordering::SeqCst);
                        if (spent + expected) as f64 / 1e6 > b {
                            budget_hit.store(true, Ordering::SeqCst);
                            stop.store(true, Ordering::SeqCst);
                            break;
                        }
                        spent_total.fetch_add(expected, Ordering::SeqCst);
                        expected
                    }
                    None => 0,
                };
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
                let cache = cache.clone();
                sent.fetch_add(1, Ordering::Relaxed);
                inflight.spawn(async move {
                    let rec =
                        perform_cached(cache.as_deref(), &pr, req, job.repeat, est, &run_spec)
                            .await;
                    let micros = (rec.cost_usd * 1e6).round() as u64;
                    spent_total.fetch_add(micros, Ordering::SeqCst);
                    spent_total.fetch_sub(reserved, Ordering::SeqCst);
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

    let mut recorded = vec![false; slots.len()];
    journal::for_each(run_dir, |r| {
        if let Some(s) = slots.of(&r) {
            recorded[s] = true;
        }
    })?;
    let missing = recorded.iter().filter(|x| !**x).count() as u64;
    Ok(RunOutcome {
        sent: sent.load(Ordering::Relaxed),
        resumed,
        interrupted: interrupted.load(Ordering::SeqCst),
        budget_exhausted: budget_hit.load(Ordering::SeqCst),
        spent_usd: spent_total
            .load(Ordering::SeqCst)
            .saturating_sub(spent_before_micros) as f64
            / 1e6,
        run_spent_usd: spent_total.load(Ordering::SeqCst) as f64 / 1e6,
        budget_usd: budget,
        missing,
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

// ---- Response-cache hook (durability branch) -------------------------------------------------------------------
// The only place the cache touches the runner: looked up once before the first attempt, filled only by successes.
// Retries, timeouts and concurrency stay entirely inside `perform` and the sending loop.

/// `perform`, behind the response cache (and with the provider's API key redacted from what it returns): a fresh entry becomes a `cached: true`, cost-0 record without sending.
async fn perform_cached(
    cache: Option<&crate::cache::Cache>,
    pr: &ProviderRun,
    req: ChatRequest,
    repeat: u32,
    est: u64,
    run: &crate::suite::RunSpec,
) -> Record {
    let t0 = Instant::now();
    let hit = cache.and_then(|c| c.get(&request_hash(&pr.spec, &pr.base_url, &req, repeat)));
    if let Some(entry) = hit {
        return crate::cache::hit_record(
            entry,
            req.meta.item_id,
            pr.spec.id.clone(),
            repeat,
            est,
            t0.elapsed().as_secs_f64() * 1000.0,
        );
    }
    let mut rec = perform(pr, req, repeat, est, run).await;
    // A provider that echoes the API key in an error body must not get it into the journal or the cache.
    if let Some(key) = pr
        .spec
        .api_key_env
        .as_deref()
        .and_then(|v| std::env::var(v).ok())
    {
        journal::redact(&mut rec, &key);
    }
    if let Some(c) = cache {
        c.put(&rec);
    }
    rec
}
// ---- end of the response-cache hook ------------------------------------------------------------------------------

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

async fn perform(
    pr: &ProviderRun,
    mut req: ChatRequest,
    repeat: u32,
    est: u64,
    run: &crate::suite::RunSpec,
) -> Record {
    let hash = request_hash(&pr.spec, &pr.base_url, &req, repeat);
    let cap = Duration::from_secs_f64(run.max_backoff_s.max(0.0));
    let mut attempt = 1u32;
    loop {
        req.meta.attempt = attempt;
        let t0 = Instant::now();
        let res = pr.client.complete(&req).await;
        let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
        match res {
            Ok(c) => {
                let (usage, estimated) = match c.usage {
                    Some(u) => (u, false),
                    None => (
                        crate::provider::Usage {
                            input_tokens: est,
                            output_tokens: (c.text.len() as u64).div_ceil(4),
                            ..Default::default()
                        },
                        true,
                    ),
                };
                let usage = crate::provider::Usage { estimated, ..usage };
                return Record {
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
                    attempts: attempt,
                    error: None,
                    cached: false,
                    est_input_tokens: Some(est),
                };
            }
            Err(e) if e.class.retryable() && attempt <= run.max_retries => {
                tokio::time::sleep(backoff(attempt - 1, e.retry_after, cap)).await;
                attempt += 1;
            }
            Err(e) => return error_record(pr, &req, repeat, hash, e, attempt, latency_ms, est),
        }
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
