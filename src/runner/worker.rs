//! A provider's worker: walks the provider's unsettled requests in order, renders each prompt, refuses what cannot
//! fit the context window, reserves the budget, and spawns the request — at most `QUEUE_FACTOR` × concurrency of
//! them pending at once.

use super::provider_run::{ProviderRun, QUEUE_FACTOR};
use super::request::{chat_request, perform_cached, preflight_record};
use super::state::RunState;
use crate::error::{Error, Result};
use crate::provider::ChatRequest;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One request to send.
pub(super) struct Job {
    /// Index of the item in the dataset.
    pub(super) item: usize,
    /// Repeat index.
    pub(super) repeat: u32,
    /// Its `journal::Slots` index.
    pub(super) slot: usize,
}

/// What the worker does with a job once its prompt is rendered.
enum Next {
    /// Send it: the request, its prompt's token estimate and the cost reserved for it (micro-USD).
    Send(ChatRequest, u64, u64),
    /// Journaled without sending (the preflight refused it).
    Recorded,
    /// Nothing more is sent by this provider.
    Stop,
}

/// Send provider `pr`'s `jobs`; returns when every spawned request has finished.
pub(super) async fn run(state: Arc<RunState>, pr: Arc<ProviderRun>, jobs: Vec<Job>) -> Result<()> {
    let queue = Arc::new(Semaphore::new(
        (pr.limit.snapshot().max() as usize).saturating_mul(QUEUE_FACTOR),
    ));
    let mut inflight = tokio::task::JoinSet::new();
    for job in jobs {
        let Ok(permit) = queue.clone().acquire_owned().await else {
            break;
        };
        if state.stopped() || pr.halted() {
            break;
        }
        let (req, est, reserved) = match prepare(&state, &pr, &job) {
            Next::Send(req, est, reserved) => (req, est, reserved),
            Next::Recorded => continue,
            Next::Stop => break,
        };
        state.sent.fetch_add(1, Ordering::Relaxed);
        let task = request(
            state.clone(),
            pr.clone(),
            req,
            job.slot,
            est,
            reserved,
            permit,
        );
        inflight.spawn(task);
        // Reap finished tasks so the set stays small on huge runs.
        while let Some(r) = inflight.try_join_next() {
            r.map_err(|e| Error::Internal(format!("request task failed: {e}")))?;
        }
    }
    while let Some(r) = inflight.join_next().await {
        r.map_err(|e| Error::Internal(format!("request task failed: {e}")))?;
    }
    Ok(())
}

/// Render the job's prompt; journal a preflight refusal; reserve the budget for the rest.
fn prepare(state: &RunState, pr: &ProviderRun, job: &Job) -> Next {
    let item = &state.items[job.item];
    let messages = match state.prompter.messages(item, &pr.spec.id) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            state.halt();
            return Next::Stop;
        }
    };
    let est = pr.tokens.estimate_tokens(&messages);
    let req = chat_request(messages, &state.tools, &item.id, job.repeat);
    if let Some(window) = pr.context_window.filter(|w| est > *w) {
        let rec = preflight_record(pr, req, est, window);
        pr.errors.fetch_add(1, Ordering::Relaxed);
        pr.bar.inc(1);
        return if state.journal(&rec, job.slot) {
            Next::Recorded
        } else {
            Next::Stop
        };
    }
    // Repeat 0 of a `compare_stream` provider is sent twice (once per streaming mode).
    let calls = if pr.alt.is_some() && job.repeat == 0 {
        2.0
    } else {
        1.0
    };
    let expected_micros = (calls * pr.est_cost(est) * 1e6).round() as u64;
    if !state.reserve(expected_micros) {
        return Next::Stop;
    }
    Next::Send(req, est, expected_micros)
}

/// One spawned request: sent (or served from the cache), paid for, journaled, counted.
async fn request(
    state: Arc<RunState>,
    pr: Arc<ProviderRun>,
    req: ChatRequest,
    slot: usize,
    est: u64,
    reserved: u64,
    permit: OwnedSemaphorePermit,
) {
    let Some(rec) = perform_cached(state.cache.as_deref(), &pr, req, est, &state.run).await else {
        // Not sent (cancelled or the breaker opened): no record; the request stays missing.
        state.reserved_total.fetch_sub(reserved, Ordering::SeqCst);
        drop(permit);
        return;
    };
    // The comparison call is paid for (budget, progress) but not part of the record's cost.
    let compare_cost = rec.stream_compare.as_ref().map_or(0.0, |c| c.cost_usd);
    let micros = ((rec.cost_usd + compare_cost) * 1e6).round() as u64;
    state.spent_total.fetch_add(micros, Ordering::SeqCst);
    state.reserved_total.fetch_sub(reserved, Ordering::SeqCst);
    pr.spent_micros.fetch_add(micros, Ordering::Relaxed);
    if rec.error.is_some() {
        pr.errors.fetch_add(1, Ordering::Relaxed);
    }
    state.journal(&rec, slot);
    pr.bar.inc(1);
    if !pr.bar.is_hidden() {
        pr.bar.set_message(format!(
            "errors {}  ${:.4}",
            pr.errors.load(Ordering::Relaxed),
            pr.spent_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
    }
    drop(permit);
}
