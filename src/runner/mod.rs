//! The runner: every (provider × item × repeat) request, sent concurrently, retried sensibly, journaled as it ends.
//!
//! Why this module exists: evaluation runs are long, rate-limited and paid. The runner bounds in-flight requests per
//! provider and adapts that bound to the provider's throttling ([`aimd`]), keeps to configured request/token rates
//! ([`rate`]), retries only what a retry can fix and never before the provider's Retry-After ([`retry`]), refuses to
//! send prompts that cannot fit the model's context window (a preflight, reported — never truncated), stops sending
//! on Ctrl-C or when the budget would be exceeded while letting in-flight requests finish, and writes each result to
//! the journal the moment it is known — so an interrupted run loses nothing and a resumed run never pays twice.

pub mod aimd;
mod progress;
pub mod rate;
pub mod retry;

use crate::cost;
use crate::dataset::Item;
use crate::error::{Error, Result};
use crate::journal::{self, ErrorInfo, Record, StreamCompare};
use crate::prompt::Prompter;
use crate::provider::{
    self, ChatRequest, Completion, ErrorClass, Provider, ProviderError, RequestMeta, Timeouts,
};
use crate::suite::{LoadedSuite, Price, ProviderKind, ProviderSpec};
use crate::tokens::Tokenizer;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

pub use retry::backoff;

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
    /// Providers the circuit breaker stopped sending to, with the reason (see [`Breaker`]).
    pub circuit_open: Vec<(String, String)>,
}

/// Consecutive failures of a class that will not heal within the run ([`ErrorClass::persistent`]: auth, not found,
/// quota, connection) after which the runner stops sending to a provider. Eight in a row with no success between
/// them is no transient glitch; stopping saves minutes of retries against a dead endpoint and the run ends
/// INCOMPLETE, resumable once the cause is fixed.
pub const BREAKER_THRESHOLD: u32 = 8;

/// A provider's circuit breaker: counts consecutive persistent failures across its requests and opens once.
#[derive(Debug, Default)]
pub struct Breaker {
    consecutive: std::sync::atomic::AtomicU32,
    reason: std::sync::Mutex<Option<String>>,
}

impl Breaker {
    /// Record a failed attempt; returns true when this failure opened the breaker.
    pub fn failure(&self, class: ErrorClass, message: &str) -> bool {
        if !class.persistent() {
            self.consecutive.store(0, Ordering::SeqCst);
            return false;
        }
        let n = self.consecutive.fetch_add(1, Ordering::SeqCst) + 1;
        if n < BREAKER_THRESHOLD {
            return false;
        }
        let Ok(mut r) = self.reason.lock() else {
            return false;
        };
        if r.is_some() {
            return false;
        }
        *r = Some(format!(
            "{n} consecutive {} failures (last: {message})",
            class.as_str()
        ));
        true
    }

    /// Record a success.
    pub fn success(&self) {
        self.consecutive.store(0, Ordering::SeqCst);
    }

    /// Why the breaker opened, if it did.
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }
}

/// The version of the canonical request form below. Version 2 added what the client sends besides the body: the full
/// endpoint URL (Azure's deployment and `api-version`), request headers and the client's own defaults.
pub const REQUEST_HASH_VERSION: u32 = 2;

/// Canonical request hash, journaled with every record: provider kind, endpoint identity (URL, headers, client
/// defaults — see [`hash_endpoint`]), model, messages, params, streaming, tools, repeat — and for the simulator its
/// behaviour profile. It holds no secret: a header whose value comes from the environment enters as written in the
/// suite (`${VAR}`), a credential header by its name only. The response cache keys entries by this hash, mixed with
/// the values of such `${VAR}` headers under a local key (see [`crate::cache::Cache::key`]).
pub fn request_hash(spec: &ProviderSpec, endpoint: &str, req: &ChatRequest, repeat: u32) -> String {
    /// The canonical form, serialised straight into the hasher (no JSON tree, no copies of the messages). Field
    /// order and shapes are part of the cache key: changing them invalidates every cache entry.
    #[derive(serde::Serialize)]
    struct Canon<'a> {
        v: u32,
        kind: &'a str,
        endpoint: &'a str,
        model: &'a str,
        messages: &'a [provider::Message],
        params: &'a serde_json::Map<String, Value>,
        stream: bool,
        tools: &'a [crate::suite::ToolDef],
        repeat: u32,
        /// The simulator's answers are a function of its profile and the run seed (the seed is in the endpoint).
        #[serde(skip_serializing_if = "Option::is_none")]
        sim: Option<std::borrow::Cow<'a, crate::suite::SimSpec>>,
    }
    let sim = (spec.kind == ProviderKind::Sim).then(|| match &spec.sim {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(Default::default()),
    });
    let canon = Canon {
        v: REQUEST_HASH_VERSION,
        kind: spec.kind.as_str(),
        endpoint,
        model: &spec.model,
        messages: &req.messages,
        params: &spec.params,
        stream: spec.stream,
        tools: &req.tools,
        repeat,
        sim,
    };
    let mut hasher = blake3::Hasher::new();
    {
        // serde_json writes token by token; batching them spares the hasher hundreds of tiny updates per request.
        // Writing into a hasher cannot fail, and these types always serialise.
        let mut w = std::io::BufWriter::with_capacity(2048, &mut hasher);
        let _ = serde_json::to_writer(&mut w, &canon);
        let _ = std::io::Write::flush(&mut w);
    }
    hasher.finalize().to_hex().to_string()
}

/// The endpoint identity hashed into [`request_hash`], computed once per provider: everything the client sends
/// besides the body, as one string.
///
/// - the URL the client posts to (default base URL filled in, Azure's deployment path and `api-version`, Gemini's
///   method); for the simulator, whose loopback port changes every run, `sim:seed=<run seed>` instead (its answers
///   depend on the seed, not on the port);
/// - the request headers: the client's built-in ones that are not credentials (`anthropic-version`) and the suite's
///   `headers:`, names lower-cased and sorted; a value as written in the suite, so `${VAR}` stays a name and a
///   secret never enters the hash; a credential header (see [`provider::http::is_credential_header`]) by its name
///   only, so rotating a token neither misses the cache nor fails a resume's check;
/// - the client's defaults for what the suite leaves out (Anthropic's `max_tokens`).
pub fn hash_endpoint(spec: &ProviderSpec, seed: u64) -> String {
    use provider::{anthropic, gemini, openai};
    let base = |default: &str| spec.base_url.clone().unwrap_or_else(|| default.to_string());
    let (url, builtin, defaults) = match spec.kind {
        ProviderKind::Sim => (format!("sim:seed={seed}"), None, None),
        ProviderKind::Openai | ProviderKind::Azure => (
            openai::endpoint(spec, &base(openai::default_base_url(spec.kind))),
            None,
            None,
        ),
        ProviderKind::Anthropic => (
            anthropic::endpoint(&base(anthropic::DEFAULT_BASE_URL)),
            Some(("anthropic-version", anthropic::API_VERSION)),
            Some(serde_json::json!({"max_tokens": anthropic::DEFAULT_MAX_TOKENS})),
        ),
        ProviderKind::Gemini => (
            gemini::endpoint(&base(gemini::DEFAULT_BASE_URL), &spec.model, spec.stream),
            None,
            None,
        ),
    };
    let mut headers: std::collections::BTreeMap<String, &str> = builtin
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    for (name, value) in &spec.headers {
        let name = name.to_ascii_lowercase();
        let value = if provider::http::is_credential_header(&name) {
            "(credential)"
        } else {
            value.as_str()
        };
        headers.insert(name, value);
    }
    let mut id = serde_json::json!({"url": url, "headers": headers});
    if let Some(d) = defaults {
        id["defaults"] = d;
    }
    id.to_string()
}

/// The usage to record: the provider's, or (when it reported none) local estimates flagged `estimated`.
fn settle_usage(
    tokens: &Tokenizer,
    c: &crate::provider::Completion,
    est_input: u64,
) -> crate::provider::Usage {
    match c.usage {
        Some(u) => crate::provider::Usage {
            estimated: false,
            ..u
        },
        None => crate::provider::Usage {
            input_tokens: est_input,
            output_tokens: tokens.estimate_output_tokens(&c.text, &c.tool_calls),
            estimated: true,
            ..Default::default()
        },
    }
}

struct Job {
    item: usize,
    repeat: u32,
    /// Its `journal::Slots` index.
    slot: usize,
}

/// Spawned-but-unfinished requests per provider, as a multiple of its concurrency: enough that requests waiting out
/// a Retry-After (which give their slot back) do not starve the provider, few enough that a huge dataset is not
/// rendered into memory all at once.
const QUEUE_FACTOR: usize = 4;

struct ProviderRun {
    spec: ProviderSpec,
    client: Box<dyn Provider>,
    /// The same provider with the other streaming mode (`compare_stream: true`).
    alt: Option<Box<dyn Provider>>,
    price: Price,
    base_url: String,
    /// Adaptive in-flight limit (AIMD), ceiling = the configured concurrency.
    limit: aimd::AdaptiveLimit,
    /// Optional rpm/tpm buckets.
    rate: rate::RateGate,
    /// Output tokens each request may use (`max_tokens`), for the tpm cost and the budget estimate.
    max_tokens: u64,
    /// Context window in force (override or price table), for the preflight.
    context_window: Option<u64>,
    /// Local token estimates; shared by all providers of the run and dropped with it.
    tokens: Arc<Tokenizer>,
    /// Scrubs the suite's secrets from each record before it is journaled or cached (shared by all providers).
    redactor: Arc<crate::redact::Redactor>,
    bar: ProgressBar,
    spent_micros: AtomicU64,
    errors: AtomicU64,
    /// Stops this provider's sending when it is clearly down.
    breaker: Breaker,
    /// Set when the breaker opens: wakes requests waiting out a backoff.
    open: tokio::sync::watch::Sender<bool>,
    /// Set on Ctrl-C / SIGTERM / a journal write error: nothing more is sent, by any provider.
    cancel: tokio::sync::watch::Receiver<bool>,
}

impl ProviderRun {
    /// Whether nothing more may be sent for this provider.
    fn halted(&self) -> bool {
        *self.cancel.borrow() || *self.open.borrow()
    }

    /// Sleep for `wait` unless the run is cancelled or the breaker opens first; false when woken early.
    async fn sleep_unless_halted(&self, wait: Duration) -> bool {
        let mut cancel = self.cancel.clone();
        let mut open = self.open.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = cancel.wait_for(|v| *v) => false,
            _ = open.wait_for(|v| *v) => false,
        }
    }

    /// Count a failed attempt against the breaker; open it (once) when the provider is clearly down. The message
    /// goes to the terminal, so the provider's key is redacted from it as from a journal record.
    fn note_failure(&self, e: &ProviderError) {
        let mut message = e.message.clone();
        self.redactor.string(&mut message);
        if self.breaker.failure(e.class, &message) {
            let _ = self.open.send(true);
            eprintln!(
                "\n{}: stopped sending: {}",
                self.spec.id,
                self.breaker.reason().unwrap_or_default()
            );
        }
    }
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
    let mut seen = vec![false; slots.len()];
    let mut spent_before_micros = 0u64;
    journal::for_each(run_dir, |r| {
        let compare_cost = r.stream_compare.as_ref().map_or(0.0, |c| c.cost_usd);
        spent_before_micros += ((r.cost_usd + compare_cost) * 1e6).round() as u64;
        if let Some(s) = slots.of(&r) {
            done[s] = r.settled();
            seen[s] = true;
        }
    })?;

    // Held for the requests only: `execute` returns without it, so the analysis phase does not carry it.
    let tokens = Arc::new(Tokenizer::o200k());
    let sim = if suite.providers.iter().any(|p| p.kind == ProviderKind::Sim) {
        let state = provider::sim::SimState::new(
            ls,
            &items,
            &prompter,
            opts.sim_log.as_deref(),
            tokens.clone(),
            false,
        )?;
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

    let redactor = Arc::new(crate::redact::Redactor::for_providers(&suite.providers));
    let repeats = suite.run.repeats;
    let total_per_provider = items.len() as u64 * repeats as u64;
    // Cancellation reaches every request, including those waiting for a slot or a backoff, so nothing more is sent.
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let cancel_tx = Arc::new(cancel_tx);
    let mut runs = Vec::new();
    for p in &suite.providers {
        let override_url = (p.kind == ProviderKind::Sim)
            .then(|| sim.as_ref().map(|s| s.base_url.clone()))
            .flatten();
        let base_url = hash_endpoint(p, suite.run.seed);
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
        let conc = p.concurrency.unwrap_or(suite.run.concurrency).max(1);
        runs.push(Arc::new(ProviderRun {
            spec: p.clone(),
            client,
            alt,
            price,
            base_url,
            limit: aimd::AdaptiveLimit::new(u32::try_from(conc).unwrap_or(u32::MAX)),
            rate: rate::RateGate::new(p.rpm, p.tpm),
            max_tokens: max_output_tokens(p),
            context_window: cost::context_window_for(p),
            tokens: tokens.clone(),
            redactor: redactor.clone(),
            bar,
            spent_micros: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            breaker: Breaker::default(),
            open: tokio::sync::watch::channel(false).0,
            cancel: cancel_rx.clone(),
        }));
    }

    // Ctrl-C: stop sending, let in-flight requests finish.
    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let interrupted = interrupted.clone();
        let cancel_tx = cancel_tx.clone();
        let dir = run_dir.to_path_buf();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
                let _ = cancel_tx.send(true);
                eprintln!("\ninterrupted: finishing in-flight requests; resume with `evalh run --resume {}`", dir.display());
            }
        });
    }
    // SIGTERM (a CI job cancelled, `kill`, a container stopped) is handled like Ctrl-C: requests already sent are
    // paid for, so their answers are waited for and journaled instead of being lost and re-sent on resume.
    #[cfg(unix)]
    {
        let stop = stop.clone();
        let interrupted = interrupted.clone();
        let cancel_tx = cancel_tx.clone();
        let dir = run_dir.to_path_buf();
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::spawn(async move {
                if term.recv().await.is_some() {
                    interrupted.store(true, Ordering::SeqCst);
                    stop.store(true, Ordering::SeqCst);
                    let _ = cancel_tx.send(true);
                    eprintln!("\nterminated: finishing in-flight requests; resume with `evalh run --resume {}`", dir.display());
                }
            });
        }
    }
    let budget = opts.max_cost_usd.or(suite.run.max_cost_usd);
    // micro-USD spent so far by the whole run (earlier invocations of a resumed run included).
    let spent_total = Arc::new(AtomicU64::new(spent_before_micros));
    // Expected cost of requests sent but not finished (micro-USD): up to QUEUE_FACTOR × concurrency of them can be
    // pending, so the budget check counts them too.
    let reserved_total = Arc::new(AtomicU64::new(0));
    let budget_hit = Arc::new(AtomicBool::new(false));

    // The journal: request tasks append their own records (see `journal::Writer`); the first write error stops the
    // run and is reported.
    let writer = Arc::new(journal::Writer::open(run_dir)?);
    let write_error: Arc<std::sync::Mutex<Option<Error>>> = Arc::default();
    // Which requests have a record (from earlier invocations, or written now): the run is incomplete without one.
    let recorded: Arc<Vec<AtomicBool>> = Arc::new(seen.into_iter().map(AtomicBool::new).collect());

    let mut resumed = 0u64;
    let mut handles = Vec::new();
    let sent = Arc::new(AtomicU64::new(0));
    for (pi, pr) in runs.iter().enumerate() {
        let mut jobs = Vec::new();
        for repeat in 0..repeats {
            for it in items.iter() {
                let slot = slots.at(pi, repeat, it.index);
                if done[slot] {
                    resumed += 1;
                    pr.bar.inc(1);
                } else {
                    jobs.push(Job {
                        item: it.index,
                        repeat,
                        slot,
                    });
                }
            }
        }
        let pr = pr.clone();
        let items = items.clone();
        let prompter = prompter.clone();
        let writer = writer.clone();
        let write_error = write_error.clone();
        let recorded = recorded.clone();
        let stop = stop.clone();
        let spent_total = spent_total.clone();
        let reserved_total = reserved_total.clone();
        let budget_hit = budget_hit.clone();
        let tools = Arc::new(ls.tools.clone());
        let run_spec = suite.run.clone();
        let sent = sent.clone();
        let cache = opts.cache.clone();
        let queue = Arc::new(Semaphore::new(
            (pr.limit.snapshot().max() as usize).saturating_mul(QUEUE_FACTOR),
        ));
        handles.push(tokio::spawn(async move {
            let mut inflight = tokio::task::JoinSet::new();
            for job in jobs {
                let Ok(permit) = queue.clone().acquire_owned().await else {
                    break;
                };
                if stop.load(Ordering::SeqCst) || pr.halted() {
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
                let est = pr.tokens.estimate_tokens(&messages);
                if let Some(window) = pr.context_window.filter(|w| est > *w) {
                    let rec =
                        preflight_record(&pr, item, job.repeat, &messages, &tools, est, window);
                    pr.errors.fetch_add(1, Ordering::Relaxed);
                    pr.bar.inc(1);
                    let slot = job.slot;
                    if !journal_append(&writer, &rec, &recorded[slot], &write_error, &stop) {
                        break;
                    }
                    continue;
                }
                // Repeat 0 of a `compare_stream` provider is sent twice (once per streaming mode).
                let calls = if pr.alt.is_some() && job.repeat == 0 {
                    2.0
                } else {
                    1.0
                };
                let expected_micros = (calls * est_cost(&pr, est) * 1e6).round() as u64;
                if let Some(b) = budget {
                    let committed = spent_total.load(Ordering::SeqCst)
                        + reserved_total.load(Ordering::SeqCst)
                        + expected_micros;
                    if committed as f64 / 1e6 > b {
                        budget_hit.store(true, Ordering::SeqCst);
                        stop.store(true, Ordering::SeqCst);
                        break;
                    }
                }
                reserved_total.fetch_add(expected_micros, Ordering::SeqCst);
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
                let writer = writer.clone();
                let write_error = write_error.clone();
                let recorded = recorded.clone();
                let stop = stop.clone();
                let slot = job.slot;
                let spent_total = spent_total.clone();
                let reserved_total = reserved_total.clone();
                let run_spec = run_spec.clone();
                let cache = cache.clone();
                sent.fetch_add(1, Ordering::Relaxed);
                inflight.spawn(async move {
                    let Some(rec) =
                        perform_cached(cache.as_deref(), &pr, req, job.repeat, est, &run_spec)
                            .await
                    else {
                        // Not sent (cancelled or the breaker opened): no record; the request stays missing.
                        reserved_total.fetch_sub(expected_micros, Ordering::SeqCst);
                        drop(permit);
                        return;
                    };
                    // The comparison call is paid for (budget, progress) but not part of the record's cost.
                    let compare_cost = rec.stream_compare.as_ref().map_or(0.0, |c| c.cost_usd);
                    let micros = ((rec.cost_usd + compare_cost) * 1e6).round() as u64;
                    spent_total.fetch_add(micros, Ordering::SeqCst);
                    reserved_total.fetch_sub(expected_micros, Ordering::SeqCst);
                    pr.spent_micros.fetch_add(micros, Ordering::Relaxed);
                    if rec.error.is_some() {
                        pr.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    journal_append(&writer, &rec, &recorded[slot], &write_error, &stop);
                    pr.bar.inc(1);
                    if !pr.bar.is_hidden() {
                        pr.bar.set_message(format!(
                            "errors {}  ${:.4}",
                            pr.errors.load(Ordering::Relaxed),
                            pr.spent_micros.load(Ordering::Relaxed) as f64 / 1e6
                        ));
                    }
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
    // Off a terminal the bars are hidden: a plain line every ~10 s keeps a CI log alive (see `progress`). Started
    // once the resumed requests are counted, so its rate and ETA are this invocation's.
    let reporter =
        (opts.progress && !show).then(|| progress::Reporter::start(&runs, total_per_provider));
    for h in handles {
        h.await
            .map_err(|e| Error::Internal(format!("provider task failed: {e}")))??;
    }
    if let Some(r) = reporter {
        r.stop().await;
    }
    let writer = Arc::try_unwrap(writer)
        .map_err(|_| Error::Internal("journal writer still shared after the run".into()))?;
    writer.finish()?;
    if let Some(e) = write_error.lock().ok().and_then(|mut e| e.take()) {
        return Err(e);
    }
    // `abandon`, not `finish`: a bar shows what was really done, never N/N for a run that stopped early.
    for pr in &runs {
        pr.bar.abandon();
    }
    let circuit_open: Vec<(String, String)> = runs
        .iter()
        .filter_map(|pr| pr.breaker.reason().map(|r| (pr.spec.id.clone(), r)))
        .collect();
    // Close every connection to the sim, then wait for it to free its tables: the caller scores next.
    drop(runs);
    drop(http);
    if let Some(sim) = sim {
        sim.shutdown().await;
    }

    let missing = recorded
        .iter()
        .filter(|x| !x.load(Ordering::Relaxed))
        .count() as u64;
    let run_spent = spent_total.load(Ordering::SeqCst);
    Ok(RunOutcome {
        sent: sent.load(Ordering::Relaxed),
        resumed,
        interrupted: interrupted.load(Ordering::SeqCst),
        budget_exhausted: budget_hit.load(Ordering::SeqCst),
        spent_usd: run_spent.saturating_sub(spent_before_micros) as f64 / 1e6,
        run_spent_usd: run_spent as f64 / 1e6,
        budget_usd: budget,
        missing,
        circuit_open,
    })
}

/// Append a record to the journal and mark its request recorded. The first write error is kept (the run reports
/// it) and stops sending; returns false then.
fn journal_append(
    writer: &journal::Writer,
    rec: &Record,
    recorded: &AtomicBool,
    write_error: &std::sync::Mutex<Option<Error>>,
    stop: &AtomicBool,
) -> bool {
    match writer.append(rec) {
        Ok(()) => {
            recorded.store(true, Ordering::Relaxed);
            true
        }
        Err(e) => {
            stop.store(true, Ordering::SeqCst);
            if let Ok(mut slot) = write_error.lock() {
                slot.get_or_insert(e);
            }
            false
        }
    }
}

/// Output tokens a request may use: its `max_tokens` / `max_completion_tokens`, else 256 (a typical completion).
fn max_output_tokens(p: &ProviderSpec) -> u64 {
    p.params
        .get("max_tokens")
        .or(p.params.get("max_completion_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(256)
}

fn est_cost(pr: &ProviderRun, est_input: u64) -> f64 {
    (est_input as f64 * pr.price.input_per_mtok + pr.max_tokens as f64 * pr.price.output_per_mtok)
        * 1e-6
}

/// The record of a request the preflight refused: its prompt's local estimate exceeds the context window. Nothing was
/// sent (attempts 0, cost 0); the class is final, so a resumed run does not send it either.
fn preflight_record(
    pr: &ProviderRun,
    item: &Item,
    repeat: u32,
    messages: &[provider::Message],
    tools: &Arc<Vec<crate::suite::ToolDef>>,
    est: u64,
    window: u64,
) -> Record {
    let req = ChatRequest {
        messages: messages.to_vec(),
        tools: tools.clone(),
        meta: RequestMeta {
            item_id: item.id.clone(),
            repeat,
            attempt: 0,
        },
    };
    let hash = request_hash(&pr.spec, &pr.base_url, &req, repeat);
    let e = ProviderError::new(
        ErrorClass::ContextLength,
        format!("preflight: {est} estimated tokens > window {window}"),
    );
    error_record(pr, &req, repeat, hash, e, 0, 0.0, est, Vec::new(), None)
}

/// One request sent until it succeeded or a retry could not help.
struct Attempted {
    /// The final attempt's result (a given-up error carries the reason it was not retried in its message).
    result: std::result::Result<Completion, ProviderError>,
    /// Attempts made.
    attempts: u32,
    /// Wall time of the last attempt, ms.
    latency_ms: f64,
    /// Class of every failed attempt, in order.
    failures: Vec<ErrorClass>,
    /// The adaptive limit right after the lowest throttled attempt, if any attempt was throttled.
    min_concurrency: Option<u32>,
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Send `req` through `client` until it succeeds or a retry cannot help; None when nothing more may be sent for the
/// provider (cancelled, or its circuit breaker opened) before the request settled.
///
/// Each attempt waits for a slot under the provider's adaptive limit and for its rpm/tpm allowance, is sent, and
/// gives its slot back before any backoff (a request waiting out a Retry-After is not in flight). A throttle (429,
/// 529/503 overloaded) cuts the adaptive limit, a success grows it back. `client` is the provider's own client or
/// its other-streaming-mode twin; both share the provider's limit and rate buckets.
async fn attempt_loop(
    pr: &ProviderRun,
    client: &dyn Provider,
    req: &mut ChatRequest,
    est: u64,
    run: &crate::suite::RunSpec,
) -> Option<Attempted> {
    let cap = Duration::from_secs_f64(run.max_backoff_s.max(0.0));
    let mut failures: Vec<ErrorClass> = Vec::new();
    let mut min_concurrency: Option<u32> = None;
    let mut attempt = 1u32;
    loop {
        req.meta.attempt = attempt;
        let slot = pr.limit.acquire().await;
        if pr.halted() {
            return None;
        }
        pr.rate.admit(est.saturating_add(pr.max_tokens)).await;
        if pr.halted() {
            return None;
        }
        let t0 = Instant::now();
        let res = client.complete(req).await;
        let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let mut e = match res {
            Ok(c) => {
                slot.success();
                pr.breaker.success();
                drop(slot);
                return Some(Attempted {
                    result: Ok(c),
                    attempts: attempt,
                    latency_ms,
                    failures,
                    min_concurrency,
                });
            }
            Err(e) => e,
        };
        if matches!(e.class, ErrorClass::RateLimit | ErrorClass::Overloaded) {
            min_concurrency = min_opt(min_concurrency, Some(slot.throttled()));
        }
        drop(slot);
        pr.note_failure(&e);
        failures.push(e.class);
        match retry::decide(&e, attempt, run.max_retries, cap) {
            retry::Decision::Retry(wait) => {
                // Cancelled or the breaker opened while waiting: the request ends unsent (missing), and `--resume`
                // sends it again; a half-retried error must not settle it.
                if !pr.sleep_unless_halted(wait).await {
                    return None;
                }
                attempt += 1;
            }
            retry::Decision::GiveUp(note) => {
                if let Some(n) = note {
                    e.message = format!("{} ({n})", e.message);
                }
                return Some(Attempted {
                    result: Err(e),
                    attempts: attempt,
                    latency_ms,
                    failures,
                    min_concurrency,
                });
            }
        }
    }
}

// ---- Response-cache hook ----------------------------------------------------------------------------------------
// The only place the cache touches the runner: looked up once before the first attempt, filled only by successes.
// Retries, timeouts and concurrency stay entirely inside `perform` and the sending loop.

/// `perform`, behind the response cache (and with every secret of the suite redacted from what it returns): a fresh
/// entry becomes a `cached: true`, cost-0 record without sending.
async fn perform_cached(
    cache: Option<&crate::cache::Cache>,
    pr: &ProviderRun,
    req: ChatRequest,
    repeat: u32,
    est: u64,
    run: &crate::suite::RunSpec,
) -> Option<Record> {
    let t0 = Instant::now();
    let hash = request_hash(&pr.spec, &pr.base_url, &req, repeat);
    let cache = cache.and_then(|c| Some((c, c.key(&hash, &pr.spec)?)));
    let hit = cache.as_ref().and_then(|(c, key)| c.get(key));
    if let Some(entry) = hit {
        let mut rec = crate::cache::hit_record(
            entry,
            req.meta.item_id,
            pr.spec.id.clone(),
            repeat,
            est,
            t0.elapsed().as_secs_f64() * 1000.0,
        );
        // The journal holds the request hash, never the entry key (which differs for `${VAR}`-routed providers).
        rec.request_hash = hash;
        return Some(rec);
    }
    let mut rec = perform(pr, req, hash, repeat, est, run).await?;
    // A provider that echoes a secret (an error body quoting the key, a stream-compare call's error, a proxy's echo)
    // must not get it into the journal or the cache.
    pr.redactor.record(&mut rec);
    if let Some((c, key)) = &cache {
        c.put(key, &rec);
    }
    Some(rec)
}
// ---- end of the response-cache hook ------------------------------------------------------------------------------

/// Send one request (whose `request_hash` is `hash`) until it succeeds or a retry cannot help, and return its journal
/// record.
///
/// Every failed attempt's class is kept in the record's `attempt_errors`, so `attempts` and the journal agree. On a
/// success at repeat 0 of a `compare_stream` provider, the same request is then sent with the other streaming mode
/// (through the same limit, rate and retry path) and journaled inside the record as `stream_compare`.
async fn perform(
    pr: &ProviderRun,
    mut req: ChatRequest,
    hash: String,
    repeat: u32,
    est: u64,
    run: &crate::suite::RunSpec,
) -> Option<Record> {
    let a = attempt_loop(pr, pr.client.as_ref(), &mut req, est, run).await?;
    let c = match a.result {
        Ok(c) => c,
        Err(e) => {
            return Some(error_record(
                pr,
                &req,
                repeat,
                hash,
                e,
                a.attempts,
                a.latency_ms,
                est,
                a.failures,
                a.min_concurrency,
            ))
        }
    };
    let mut min_concurrency = a.min_concurrency;
    let stream_compare = match (&pr.alt, repeat) {
        (Some(alt), 0) => compare_call(pr, alt.as_ref(), &mut req, est, run)
            .await
            .map(|(sc, m)| {
                min_concurrency = min_opt(min_concurrency, m);
                sc
            }),
        _ => None,
    };
    let mut rec = success_record(
        pr,
        &req,
        repeat,
        hash,
        c,
        a.attempts,
        a.latency_ms,
        est,
        a.failures,
        min_concurrency,
    );
    rec.stream_compare = stream_compare;
    Some(rec)
}

/// The same request through the other streaming mode (retried like any request), and the adaptive limit it reached
/// if it was throttled.
async fn compare_call(
    pr: &ProviderRun,
    alt: &dyn Provider,
    req: &mut ChatRequest,
    est: u64,
    run: &crate::suite::RunSpec,
) -> Option<(StreamCompare, Option<u32>)> {
    let a = attempt_loop(pr, alt, req, est, run).await?;
    let stream = !pr.spec.stream;
    let sc = match a.result {
        Ok(c) => {
            let usage = settle_usage(&pr.tokens, &c, est);
            StreamCompare {
                stream,
                output_text: c.text,
                tool_calls: c.tool_calls,
                finish_reason: c.finish_reason,
                cost_usd: cost::cost_usd(&pr.price, &usage),
                usage,
                latency_ms: a.latency_ms,
                ttft_ms: c.ttft_ms,
                attempts: a.attempts,
                error: None,
                attempt_errors: a.failures,
            }
        }
        Err(e) => StreamCompare {
            stream,
            output_text: String::new(),
            tool_calls: vec![],
            finish_reason: None,
            usage: Default::default(),
            cost_usd: 0.0,
            latency_ms: a.latency_ms,
            ttft_ms: None,
            attempts: a.attempts,
            error: Some(ErrorInfo::from(e)),
            attempt_errors: a.failures,
        },
    };
    Some((sc, a.min_concurrency))
}

#[allow(clippy::too_many_arguments)]
fn success_record(
    pr: &ProviderRun,
    req: &ChatRequest,
    repeat: u32,
    hash: String,
    c: Completion,
    attempts: u32,
    latency_ms: f64,
    est: u64,
    attempt_errors: Vec<ErrorClass>,
    min_concurrency: Option<u32>,
) -> Record {
    let usage = settle_usage(&pr.tokens, &c, est);
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
        stream_compare: None,
        attempt_errors,
        min_concurrency,
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
    attempt_errors: Vec<ErrorClass>,
    min_concurrency: Option<u32>,
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
        error: Some(ErrorInfo::from(e)),
        cached: false,
        est_input_tokens: Some(est),
        stream_compare: None,
        attempt_errors,
        min_concurrency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The cache key is persistent: the streaming serialisation must hash exactly what the original JSON-tree form
    /// did, or every existing cache entry would silently miss.
    #[test]
    fn request_hash_is_the_json_tree_hash() {
        fn tree_hash(
            spec: &ProviderSpec,
            endpoint: &str,
            req: &ChatRequest,
            repeat: u32,
        ) -> String {
            let mut canon = json!({
                "v": 2,
                "kind": spec.kind.as_str(),
                "endpoint": endpoint,
                "model": spec.model,
                "messages": req.messages,
                "params": spec.params,
                "stream": spec.stream,
                "tools": *req.tools,
                "repeat": repeat,
            });
            if spec.kind == ProviderKind::Sim {
                canon["sim"] = json!(spec.sim.clone().unwrap_or_default());
            }
            blake3::hash(canon.to_string().as_bytes())
                .to_hex()
                .to_string()
        }
        let yaml = r#"
id: p
kind: openai
model: gpt-4o-mini
base_url: http://127.0.0.1:1/v1
params: {temperature: 0.25, max_tokens: 10, top_p: 1.0e-3, stop: ["\n", "é"]}
"#;
        let mut spec: ProviderSpec = serde_yaml::from_str(yaml).expect("spec");
        let tools = Arc::new(vec![crate::suite::ToolDef {
            name: "get_weather".into(),
            description: "Weather \"now\"".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        }]);
        let req = ChatRequest {
            messages: vec![
                crate::provider::Message {
                    role: crate::provider::Role::System,
                    content: "Classify.\nLabels: a, b".into(),
                },
                crate::provider::Message {
                    role: crate::provider::Role::User,
                    content: "Ticket \u{1F600} \"quoted\" \\ tab\t".into(),
                },
            ],
            tools,
            meta: RequestMeta::default(),
        };
        for repeat in [0, 3] {
            assert_eq!(
                request_hash(&spec, "e", &req, repeat),
                tree_hash(&spec, "e", &req, repeat)
            );
        }
        spec.stream = true;
        assert_eq!(
            request_hash(&spec, "e", &req, 0),
            tree_hash(&spec, "e", &req, 0)
        );
        spec.kind = ProviderKind::Sim;
        assert_eq!(
            request_hash(&spec, "sim:seed=1", &req, 0),
            tree_hash(&spec, "sim:seed=1", &req, 0)
        );
        spec.sim = Some(crate::suite::SimSpec {
            quality: 0.5,
            ..Default::default()
        });
        assert_eq!(
            request_hash(&spec, "sim:seed=1", &req, 1),
            tree_hash(&spec, "sim:seed=1", &req, 1)
        );
    }

    /// Everything the client sends that can change the answer is in the hash; secrets are not.
    #[test]
    fn the_endpoint_identity_covers_headers_and_api_versions_but_no_secret() {
        let spec_of = |kind: &str, url: &str, extra: &str| -> ProviderSpec {
            serde_yaml::from_str(&format!(
                "{{id: p, kind: {kind}, model: m, base_url: '{url}'{extra}}}"
            ))
            .expect("spec")
        };
        let spec = |extra: &str| spec_of("openai", "http://gw/v1", extra);
        let id = |extra: &str| hash_endpoint(&spec(extra), 7);
        let plain = id("");
        // A routing header, by value and by name (case-insensitively).
        assert_ne!(
            id(", headers: {X-Route: cheap}"),
            id(", headers: {X-Route: premium}")
        );
        assert_ne!(id(", headers: {X-Route: cheap}"), plain);
        assert_eq!(
            id(", headers: {X-Route: cheap}"),
            id(", headers: {x-route: cheap}")
        );
        // A `${VAR}` value enters as written: the environment's value is not in the hash.
        let var = "EVALH_UNIT_HASH_ROUTE";
        std::env::set_var(var, "secret-route-value-1");
        let a = id(", headers: {X-Route: '${EVALH_UNIT_HASH_ROUTE}'}");
        assert!(
            a.contains("${EVALH_UNIT_HASH_ROUTE}") && !a.contains("secret-route"),
            "{a}"
        );
        std::env::set_var(var, "secret-route-value-2");
        assert_eq!(a, id(", headers: {X-Route: '${EVALH_UNIT_HASH_ROUTE}'}"));
        // A credential header: its name only.
        assert_eq!(
            id(", headers: {Authorization: 'Bearer a'}"),
            id(", headers: {authorization: 'Bearer b'}")
        );
        assert_ne!(id(", headers: {Authorization: 'Bearer a'}"), plain);
        // Azure: the deployment URL carries the api-version.
        let az = |v: &str| hash_endpoint(&spec_of("azure", "https://r.openai.azure.com", v), 7);
        assert_ne!(az(""), az(", api_version: '2024-10-21'"));
        assert!(az("").contains(crate::provider::openai::AZURE_API_VERSION));
        // Anthropic: its version header and default max_tokens; a suite header overrides the version.
        let an = |h: &str| hash_endpoint(&spec_of("anthropic", "http://gw", h), 7);
        assert!(an("").contains(crate::provider::anthropic::API_VERSION));
        assert_ne!(an(""), an(", headers: {anthropic-version: '2099-01-01'}"));
        // A trailing slash is the same endpoint; the seed matters only to the simulator.
        assert_eq!(
            plain,
            hash_endpoint(&spec_of("openai", "http://gw/v1/", ""), 7)
        );
        assert_eq!(plain, hash_endpoint(&spec(""), 8));
        let sim = spec_of("sim", "", "");
        assert_ne!(hash_endpoint(&sim, 7), hash_endpoint(&sim, 8));
    }
}
