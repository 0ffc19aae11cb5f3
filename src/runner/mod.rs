//! The runner: every (provider × item × repeat) request, sent concurrently, retried sensibly, journaled as it ends.
//!
//! Why this module exists: evaluation runs are long, rate-limited and paid. The runner bounds in-flight requests per
//! provider and adapts that bound to the provider's throttling ([`aimd`]), keeps to configured request/token rates
//! ([`rate`]) and to the limits the provider announces in its rate-limit headers ([`pace`]), retries only what a retry can fix and never before the provider's Retry-After ([`retry`]), refuses to
//! send prompts that cannot fit the model's context window (a preflight, reported — never truncated), stops sending
//! on Ctrl-C or when the budget would be exceeded while letting in-flight requests finish, and writes each result to
//! the journal the moment it is known — so an interrupted run loses nothing and a resumed run never pays twice.
//!
//! [`execute`] is the controller: it reads what the journal already settles, starts the simulator and the clients,
//! builds the one [`state::RunState`] every task shares, starts one [`worker`] per provider and waits for them. A
//! worker spawns each request ([`request`]: attempts, retries, cache, journal record). Stop signals are listened to
//! in [`signals`], the request hash is [`hash`].

mod aimd;
mod batch_log;
mod batch_run;
mod hash;
mod judge;
mod pace;
mod progress;
mod provider_run;
mod rate;
mod request;
mod retry;
mod signals;
mod state;
mod worker;

pub use hash::{hash_endpoint, request_hash, REQUEST_HASH_VERSION};
pub use judge::{execute as execute_judge, JudgeOptions, JudgeOutcome};
pub use provider_run::{Breaker, BREAKER_THRESHOLD};
pub use retry::{backoff, decide as retry_decision, Decision as RetryDecision};
pub use signals::{StopSignal, StopSignals};

use crate::dataset::Item;
use crate::error::{Error, Result};
use crate::journal;
use crate::prompt::Prompter;
use crate::provider::Timeouts;
use crate::suite::{LoadedSuite, ProviderKind};
use crate::tokens::Tokenizer;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use provider_run::{ProviderRun, Shared};
use state::RunState;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use worker::Job;

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
    /// Return once every batch is submitted (`--detach`; batch mode only).
    pub detach: bool,
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
    /// Batches submitted and not collected (`--detach`, or a stop while polling).
    pub batches_waiting: u64,
    /// Requests a collected batch did not settle (not run: expired, cancelled; or a retryable error line).
    pub batch_unsettled: u64,
}

/// What the journal of an earlier invocation already holds: which requests are settled (not to be sent again),
/// which have a record at all, and what they cost (micro-USD; the budget covers the whole run).
struct Resumed {
    settled: Vec<bool>,
    recorded: Vec<bool>,
    spent_micros: u64,
}

fn read_journal(run_dir: &Path, slots: &journal::Slots) -> Result<Resumed> {
    let mut r = Resumed {
        settled: vec![false; slots.len()],
        recorded: vec![false; slots.len()],
        spent_micros: 0,
    };
    journal::for_each(run_dir, |rec| {
        let compare_cost = rec.stream_compare.as_ref().map_or(0.0, |c| c.cost_usd);
        r.spent_micros += ((rec.cost_usd + compare_cost) * 1e6).round() as u64;
        if let Some(s) = slots.of(&rec) {
            r.settled[s] = rec.settled();
            r.recorded[s] = true;
        }
    })?;
    Ok(r)
}

/// One HTTP client (connection pool) for every provider of the run.
fn http_client(ls: &LoadedSuite, timeouts: Timeouts) -> Result<reqwest::Client> {
    let suite = &ls.suite;
    let max_conc: usize = suite
        .providers
        .iter()
        .map(|p| p.concurrency.unwrap_or(suite.run.concurrency))
        .sum();
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .pool_max_idle_per_host(max_conc.max(8))
        .tcp_nodelay(true)
        .user_agent(concat!("evalh/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("building the HTTP client: {e}")))
}

/// Progress bars on a terminal (hidden elsewhere, and in CI); whether they show.
fn progress_bars(opts: &RunOptions) -> (MultiProgress, ProgressStyle, bool) {
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
    (mp, style, show)
}

/// Each provider's unsettled requests (repeat-major, dataset order); settled ones only advance its bar. Returns the
/// jobs per provider and how many requests were already settled.
fn jobs(
    runs: &[Arc<ProviderRun>],
    items: &[Item],
    repeats: u32,
    slots: &journal::Slots,
    settled: &[bool],
) -> (Vec<Vec<Job>>, u64) {
    let mut resumed = 0u64;
    let mut all = Vec::new();
    for (pi, pr) in runs.iter().enumerate() {
        let mut jobs = Vec::new();
        for repeat in 0..repeats {
            for it in items {
                let slot = slots.at(pi, repeat, it.index);
                if settled[slot] {
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
        all.push(jobs);
    }
    (all, resumed)
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
    // Resume: stream the journal once; the latest record of each request decides whether it is settled.
    let slots = journal::Slots::new(
        items.iter().map(|it| it.id.as_str()),
        suite.providers.iter().map(|p| p.id.as_str()),
        suite.run.repeats,
    );
    let before = read_journal(run_dir, &slots)?;

    // Held for the requests only: `execute` returns without it, so the analysis phase does not carry it.
    let tokens = Arc::new(Tokenizer::o200k());
    // A sim provider with its own `base_url` talks to an `evalh sim serve` elsewhere (one that outlives this process).
    let sim = if suite
        .providers
        .iter()
        .any(|p| p.kind == ProviderKind::Sim && p.base_url.is_none())
    {
        let state = crate::sim::SimState::new(
            ls,
            items.clone(),
            &prompter,
            opts.sim_log.as_deref(),
            tokens.clone(),
            false,
        )?;
        Some(crate::sim::start(state, 0).await?)
    } else {
        None
    };
    let timeouts = Timeouts::from_run(&suite.run);
    let http = http_client(ls, timeouts)?;
    let (mp, style, show) = progress_bars(opts);
    let redactor = Arc::new(crate::redact::Redactor::for_providers(&suite.providers));
    let total_per_provider = items.len() as u64 * suite.run.repeats as u64;
    // Cancellation reaches every request, including those waiting for a slot or a backoff, so nothing more is sent.
    let (cancel, cancel_rx) = tokio::sync::watch::channel(false);
    let shared = Shared {
        http: &http,
        timeouts,
        sim_url: sim.as_ref().map(|s| s.base_url.as_str()),
        tokens: &tokens,
        redactor: &redactor,
        cancel: &cancel_rx,
    };
    let mut runs = Vec::new();
    for p in &suite.providers {
        let bar = mp.add(ProgressBar::new(total_per_provider));
        bar.set_style(style.clone());
        bar.set_prefix(p.id.clone());
        runs.push(Arc::new(ProviderRun::new(p, suite, &shared, bar)?));
    }

    let state = Arc::new(RunState {
        items: items.clone(),
        prompter,
        tools: Arc::new(ls.tools.clone()),
        run: suite.run.clone(),
        cache: opts.cache.clone(),
        run_dir: run_dir.to_path_buf(),
        writer: journal::Writer::open(run_dir)?,
        write_error: Mutex::new(None),
        recorded: before.recorded.into_iter().map(AtomicBool::new).collect(),
        settled: before
            .settled
            .iter()
            .copied()
            .map(AtomicBool::new)
            .collect(),
        stop: AtomicBool::new(false),
        interrupted: AtomicBool::new(false),
        cancel,
        budget: opts.max_cost_usd.or(suite.run.max_cost_usd),
        spent_total: AtomicU64::new(before.spent_micros),
        reserved_total: AtomicU64::new(0),
        budget_hit: AtomicBool::new(false),
        sent: AtomicU64::new(0),
        batches_waiting: AtomicU64::new(0),
        batch_unsettled: AtomicU64::new(0),
    });
    // Ctrl-C or SIGTERM: stop sending, let in-flight requests finish (the first of each is reported).
    let mut signals = StopSignals::listen();
    let listener = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let s = signals.next().await;
                if !seen.contains(&s) {
                    seen.push(s);
                    state.signalled(s);
                }
            }
        })
    };

    let (jobs, resumed) = jobs(&runs, &items, suite.run.repeats, &slots, &before.settled);
    let mut batch_sides = batch_sides(ls, run_dir, &shared, opts)?;
    batch_run::reserve_pending(&state, &runs, &mut batch_sides)?;
    let handles: Vec<_> = runs
        .iter()
        .zip(jobs)
        .enumerate()
        .map(|(i, (pr, jobs))| match batch_sides[i].take() {
            Some(side) => tokio::spawn(batch_run::run(state.clone(), pr.clone(), jobs, side)),
            None => tokio::spawn(worker::run(state.clone(), pr.clone(), jobs)),
        })
        .collect();
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
    // Sending is over: the command listens for stop signals from here on (see `StopSignals`).
    listener.abort();
    let _ = listener.await;
    let state = Arc::try_unwrap(state)
        .map_err(|_| Error::Internal("run state still shared after the run".into()))?;
    state.writer.finish()?;
    if let Some(e) = state.write_error.into_inner().ok().flatten() {
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
    let missing = state
        .recorded
        .iter()
        .filter(|x| !x.load(Ordering::Relaxed))
        .count() as u64;
    let run_spent = state.spent_total.load(Ordering::SeqCst);
    Ok(RunOutcome {
        sent: state.sent.load(Ordering::Relaxed),
        resumed,
        interrupted: state.interrupted.load(Ordering::SeqCst),
        budget_exhausted: state.budget_hit.load(Ordering::SeqCst),
        spent_usd: run_spent.saturating_sub(before.spent_micros) as f64 / 1e6,
        run_spent_usd: run_spent as f64 / 1e6,
        budget_usd: state.budget,
        missing,
        circuit_open,
        batches_waiting: state.batches_waiting.load(Ordering::Relaxed),
        batch_unsettled: state.batch_unsettled.load(Ordering::Relaxed),
    })
}

/// The batch side of each provider that sends through its batch API (`run.mode: batch`, `batch: true`, or batches
/// an earlier invocation left to collect); None for the interactive ones.
fn batch_sides(
    ls: &LoadedSuite,
    run_dir: &Path,
    sh: &Shared<'_>,
    opts: &RunOptions,
) -> Result<Vec<Option<batch_run::BatchSide>>> {
    let suite = &ls.suite;
    let mut pending = batch_run::pending(run_dir)?;
    let log = Arc::new(batch_log::BatchLog::new(run_dir));
    let mut out = Vec::new();
    for (i, p) in suite.providers.iter().enumerate() {
        let left = pending.remove(&p.id).unwrap_or_default();
        if !(suite.run.mode == crate::suite::RunMode::Batch || p.batch || !left.is_empty()) {
            out.push(None);
            continue;
        }
        let url = (p.kind == ProviderKind::Sim && p.base_url.is_none())
            .then(|| sh.sim_url.map(str::to_string))
            .flatten();
        // Uploading a 200 MB request file takes longer than one interactive request may.
        let timeout = sh.timeouts.total.max(std::time::Duration::from_secs(600));
        let client = crate::batch::BatchClient::new(p, sh.http.clone(), url, timeout)?;
        out.push(Some(batch_run::BatchSide {
            client,
            log: log.clone(),
            pending: left,
            pending_reserved: Vec::new(),
            detach: opts.detach,
            provider_index: i,
        }));
    }
    Ok(out)
}
