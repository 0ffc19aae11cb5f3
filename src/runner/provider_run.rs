//! One provider's side of a run: its clients, price, limits, progress bar and circuit breaker, shared by its worker
//! and every request the worker spawns.

use super::{aimd, hash_endpoint, pace, rate};
use crate::chat::ErrorClass;
use crate::error::Result;
use crate::provider::{self, Provider, ProviderError, Timeouts};
use crate::suite::{Price, ProviderKind, ProviderSpec, Suite};
use crate::tokens::Tokenizer;
use indicatif::ProgressBar;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

/// Spawned-but-unfinished requests per provider, as a multiple of its concurrency: enough that requests waiting out
/// a Retry-After (which give their slot back) do not starve the provider, few enough that a huge dataset is not
/// rendered into memory all at once.
pub(super) const QUEUE_FACTOR: usize = 4;

pub(super) struct ProviderRun {
    pub(super) spec: ProviderSpec,
    pub(super) client: Box<dyn Provider>,
    /// The same provider with the other streaming mode (`compare_stream: true`).
    pub(super) alt: Option<Box<dyn Provider>>,
    pub(super) price: Price,
    pub(super) base_url: String,
    /// Adaptive in-flight limit (AIMD), ceiling = the configured concurrency.
    pub(super) limit: aimd::AdaptiveLimit,
    /// Optional rpm/tpm buckets.
    pub(super) rate: rate::RateGate,
    /// The provider's own limits, learned from its rate-limit headers (`run.pace`).
    pub(super) pace: pace::Pacer,
    /// Output tokens each request may use (`max_tokens`), for the tpm cost and the budget estimate.
    pub(super) max_tokens: u64,
    /// Context window in force (override or price table), for the preflight.
    pub(super) context_window: Option<u64>,
    /// Local token estimates; shared by all providers of the run and dropped with it.
    pub(super) tokens: Arc<Tokenizer>,
    /// Scrubs the suite's secrets from each record before it is journaled or cached (shared by all providers).
    pub(super) redactor: Arc<crate::redact::Redactor>,
    pub(super) bar: ProgressBar,
    pub(super) spent_micros: AtomicU64,
    pub(super) errors: AtomicU64,
    /// Stops this provider's sending when it is clearly down.
    pub(super) breaker: Breaker,
    /// Set when the breaker opens: wakes requests waiting out a backoff.
    pub(super) open: tokio::sync::watch::Sender<bool>,
    /// Set on Ctrl-C / SIGTERM / a journal write error: nothing more is sent, by any provider.
    pub(super) cancel: tokio::sync::watch::Receiver<bool>,
}

impl ProviderRun {
    /// Whether nothing more may be sent for this provider.
    pub(super) fn halted(&self) -> bool {
        *self.cancel.borrow() || *self.open.borrow()
    }

    /// Sleep for `wait` unless the run is cancelled or the breaker opens first; false when woken early.
    pub(super) async fn sleep_unless_halted(&self, wait: Duration) -> bool {
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
    pub(super) fn note_failure(&self, e: &ProviderError) {
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

/// What every provider of a run shares when its clients are made.
pub(super) struct Shared<'a> {
    /// The HTTP client (one connection pool for the run).
    pub(super) http: &'a reqwest::Client,
    /// Timeouts of every client.
    pub(super) timeouts: Timeouts,
    /// The simulator's loopback URL, when the run has sim providers.
    pub(super) sim_url: Option<&'a str>,
    /// Local token estimates.
    pub(super) tokens: &'a Arc<Tokenizer>,
    /// The suite's secrets.
    pub(super) redactor: &'a Arc<crate::redact::Redactor>,
    /// Set on a stop: nothing more is sent, by any provider.
    pub(super) cancel: &'a tokio::sync::watch::Receiver<bool>,
}

impl ProviderRun {
    /// The run of provider `p` of `suite`, its progress bar counting `total` requests.
    pub(super) fn new(
        p: &ProviderSpec,
        suite: &Suite,
        sh: &Shared<'_>,
        bar: ProgressBar,
    ) -> Result<Self> {
        let override_url = (p.kind == ProviderKind::Sim && p.base_url.is_none())
            .then(|| sh.sim_url.map(str::to_string))
            .flatten();
        let client = provider::build(p, sh.http.clone(), sh.timeouts, override_url.clone())?;
        let alt = if p.compare_stream {
            let mut other = p.clone();
            other.stream = !p.stream;
            Some(provider::build(
                &other,
                sh.http.clone(),
                sh.timeouts,
                override_url,
            )?)
        } else {
            None
        };
        let conc = p.concurrency.unwrap_or(suite.run.concurrency).max(1);
        Ok(ProviderRun {
            spec: p.clone(),
            client,
            alt,
            price: p.price_in_force().unwrap_or_default(),
            base_url: hash_endpoint(p, suite.run.seed),
            limit: aimd::AdaptiveLimit::new(u32::try_from(conc).unwrap_or(u32::MAX)),
            rate: rate::RateGate::new(p.rpm, p.tpm),
            pace: pace::Pacer::new(suite.run.pace == crate::suite::Pace::Headers),
            max_tokens: max_output_tokens(p),
            context_window: p.context_window_in_force(),
            tokens: sh.tokens.clone(),
            redactor: sh.redactor.clone(),
            bar,
            spent_micros: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            breaker: Breaker::default(),
            open: tokio::sync::watch::channel(false).0,
            cancel: sh.cancel.clone(),
        })
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

impl ProviderRun {
    /// What a request with `est_input` prompt tokens may cost at most (its `max_tokens` all used), USD.
    pub(super) fn est_cost(&self, est_input: u64) -> f64 {
        self.est_cost_at(est_input, &self.price)
    }

    /// [`Self::est_cost`] at another price (a batch API's).
    pub(super) fn est_cost_at(&self, est_input: u64, price: &crate::suite::Price) -> f64 {
        (est_input as f64 * price.input_per_mtok + self.max_tokens as f64 * price.output_per_mtok)
            * 1e-6
    }
}
