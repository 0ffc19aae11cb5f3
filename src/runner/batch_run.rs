//! A provider's requests through its batch API (`run.mode: batch`, `batch: true`, `--batch`): the same rendered
//! requests as the interactive path (same request hash, same cache: a cached answer is journaled, not submitted),
//! packed into request files within the provider's count and size limits, each batch journaled before and right
//! after it is created ([`batch_log`]), polled with backoff, and its results journaled by custom id as ordinary
//! records — priced at the batch rate, latency not measured (`Record::batch`).
//!
//! A result that a retry could fix (a 5xx line, a request the batch did not run: expired, cancelled) is not
//! journaled: the request stays missing, the run INCOMPLETE, and `--resume` submits it again — the batch
//! counterpart of the interactive path's retries. Other errors are journaled and classified like interactive ones.

use super::batch_log::{self, BatchLog, Event, Pending, Req};
use super::provider_run::ProviderRun;
use super::request::chat_request;
use super::state::RunState;
use super::worker::Job;
use crate::batch::{self as wire, BatchClient, BatchState, Outcome};
use crate::chat::Usage;
use crate::error::Result;
use crate::journal::{ErrorInfo, Record};
use crate::provider::Completion;
use crate::suite::{Price, ProviderKind};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// What a provider's batch worker needs besides the run state.
pub(super) struct BatchSide {
    pub(super) client: BatchClient,
    pub(super) log: Arc<BatchLog>,
    /// This provider's batches an earlier invocation submitted and did not collect.
    pub(super) pending: Vec<Pending>,
    /// The budget reserved for each of them ([`reserve_pending`]), micro-USD.
    pub(super) pending_reserved: Vec<u64>,
    /// Return once everything is submitted (`--detach`).
    pub(super) detach: bool,
    /// The provider's position in the suite (its journal slots).
    pub(super) provider_index: usize,
}

/// A batch being waited for.
struct Waiting {
    intent: String,
    batch_id: String,
    /// Where its intent line (its requests) starts in the batch journal.
    offset: u64,
    /// Budget reserved for it in this invocation (micro-USD).
    reserved: u64,
}

/// The most requests and bytes of one request file: OpenAI 50,000 and 200 MB, Azure 100,000 and 200 MB,
/// Anthropic 100,000 and 256 MB, Gemini's inline requests 20 MB in all. `EVALH_BATCH_MAX_REQUESTS` lowers the count
/// (to see splitting on a small run).
fn limits(kind: ProviderKind) -> (usize, usize) {
    let (count, bytes) = match kind {
        ProviderKind::Azure => (100_000, 200 << 20),
        ProviderKind::Anthropic => (100_000, 256 << 20),
        ProviderKind::Gemini => (100_000, 19 << 20),
        _ => (50_000, 200 << 20),
    };
    let cap = std::env::var("EVALH_BATCH_MAX_REQUESTS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(count);
    // Room for the envelope around the lines.
    (count.min(cap), bytes - (64 << 10))
}

/// The batch price of the provider (its interactive list price halved where the batch API discounts).
fn price(pr: &ProviderRun) -> Price {
    wire::batch_price(pr.spec.kind, &pr.spec.model, &pr.price).unwrap_or(pr.price)
}

/// Run provider `pr`'s `jobs` through its batch API; returns when every batch is collected (or, detached, submitted;
/// or the run was stopped: uncollected batches stay in the batch journal for `--resume`).
pub(super) async fn run(
    state: Arc<RunState>,
    pr: Arc<ProviderRun>,
    jobs: Vec<Job>,
    side: BatchSide,
) -> Result<()> {
    let mut waiting = reconcile(&state, &pr, &side).await?;
    // Requests already in a batch, by item and repeat.
    let mut taken = vec![false; state.items.len() * state.run.repeats.max(1) as usize];
    for w in &waiting {
        for r in batch_log::read_requests(&state.run_dir, w.offset)? {
            if let Some(t) = taken.get_mut(r.1 as usize * state.items.len() + r.0) {
                *t = true;
            }
        }
    }
    submit_all(&state, &pr, &side, jobs, &taken, &mut waiting).await?;
    if side.detach || waiting.is_empty() {
        state
            .batches_waiting
            .fetch_add(waiting.len() as u64, Ordering::Relaxed);
        if !waiting.is_empty() {
            eprintln!(
                "{}: {} batch(es) submitted; collect them with: evalh run --resume {}",
                pr.spec.id,
                waiting.len(),
                state.run_dir.display()
            );
        }
        return Ok(());
    }
    poll(&state, &pr, &side, waiting).await
}

/// Count every provider's batches still pending from an earlier invocation against this invocation's budget
/// (`--max-cost`), before any provider submits anything new: they are paid when they end. Each reservation is
/// released when its batch is collected, or at once when the batch turns out never to have been created.
pub(super) fn reserve_pending(
    state: &RunState,
    runs: &[Arc<ProviderRun>],
    sides: &mut [Option<BatchSide>],
) -> Result<()> {
    for side in sides.iter_mut().flatten() {
        let pr = &runs[side.provider_index];
        let bp = price(pr);
        let mut reserved = Vec::with_capacity(side.pending.len());
        for p in &side.pending {
            let expected: u64 = batch_log::read_requests(&state.run_dir, p.offset)?
                .iter()
                .map(|r| (pr.est_cost_at(r.2, &bp) * 1e6).round() as u64)
                .sum();
            state.reserved_total.fetch_add(expected, Ordering::SeqCst);
            reserved.push(expected);
        }
        side.pending_reserved = reserved;
    }
    Ok(())
}

/// The earlier invocations' batches: those with an id are waited for; an intent without one is looked for among
/// the provider's recent batches (by the intent in its metadata), else abandoned and its requests sent again.
async fn reconcile(state: &RunState, pr: &ProviderRun, side: &BatchSide) -> Result<Vec<Waiting>> {
    let mut out = Vec::new();
    for (k, p) in side.pending.iter().enumerate() {
        let expected = side.pending_reserved.get(k).copied().unwrap_or(0);
        let id = match &p.batch_id {
            // A batch the provider does not know (deleted, another account, a simulator restarted since): its
            // requests are submitted again.
            Some(id) => match side.client.retrieve(id).await {
                Err(e) if e.class == crate::chat::ErrorClass::NotFound => {
                    eprintln!(
                        "{}: batch {id} is unknown to the provider; its {} request(s) are submitted again",
                        pr.spec.id,
                        batch_log::read_requests(&state.run_dir, p.offset)?.len()
                    );
                    side.log.append(&Event::Abandoned {
                        provider: pr.spec.id.clone(),
                        intent: p.intent.clone(),
                        reason: format!("batch {id} not found: {e}"),
                    })?;
                    None
                }
                _ => Some(id.clone()),
            },
            None => {
                let recent = side.client.list_recent().await.unwrap_or_default();
                let found = recent
                    .into_iter()
                    .find(|(_, intent)| intent.as_deref() == Some(p.intent.as_str()))
                    .map(|(id, _)| id);
                match &found {
                    Some(id) => {
                        side.log.append(&Event::Submitted {
                            provider: pr.spec.id.clone(),
                            intent: p.intent.clone(),
                            batch_id: id.clone(),
                        })?;
                    }
                    None => {
                        let why = if side.client.dialect == crate::batch::Dialect::Anthropic {
                            "cannot be looked up (a message batch carries no metadata to find it by; if it was \
                             created, those requests are paid twice)"
                        } else {
                            "was never created"
                        };
                        eprintln!(
                            "{}: the batch of {} request(s) announced before a crash {why}; they are submitted again",
                            pr.spec.id,
                            batch_log::read_requests(&state.run_dir, p.offset)?.len()
                        );
                        side.log.append(&Event::Abandoned {
                            provider: pr.spec.id.clone(),
                            intent: p.intent.clone(),
                            reason: "not found among the provider's recent batches".into(),
                        })?;
                    }
                }
                found
            }
        };
        if let Some(batch_id) = id {
            out.push(Waiting {
                intent: p.intent.clone(),
                batch_id,
                offset: p.offset,
                reserved: expected,
            });
        } else {
            // Never created (or unknown to the provider): its requests are submitted again and reserved then.
            state.reserved_total.fetch_sub(expected, Ordering::SeqCst);
        }
    }
    Ok(out)
}

/// The journal slot of a batch request.
fn state_slot(state: &RunState, side: &BatchSide, r: &Req) -> usize {
    let repeats = state.run.repeats.max(1) as usize;
    (side.provider_index * repeats + r.1 as usize) * state.items.len() + r.0
}

/// Render, look up in the cache, reserve the budget and pack every job not already in a batch; submit each full
/// request file.
async fn submit_all(
    state: &Arc<RunState>,
    pr: &Arc<ProviderRun>,
    side: &BatchSide,
    jobs: Vec<Job>,
    taken: &[bool],
    waiting: &mut Vec<Waiting>,
) -> Result<()> {
    let (max_n, max_bytes) = limits(pr.spec.kind);
    let bp = price(pr);
    let mut file: Vec<u8> = Vec::new();
    let mut reqs: Vec<Req> = Vec::new();
    let mut reserved = 0u64;
    for job in jobs {
        if state.stopped() || pr.halted() {
            break;
        }
        if taken
            .get(job.repeat as usize * state.items.len() + job.item)
            .copied()
            .unwrap_or(false)
        {
            continue;
        }
        let item = &state.items[job.item];
        let messages = match state.prompter.messages(item, &pr.spec.id) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("{e}");
                state.halt();
                break;
            }
        };
        let est = pr.tokens.estimate_tokens(&messages);
        let req = chat_request(messages, &state.tools, &item.id, job.repeat);
        if let Some(window) = pr.context_window.filter(|w| est > *w) {
            let rec = super::request::preflight_record(pr, req, est, window);
            pr.bar.inc(1);
            state.journal(&rec, job.slot);
            continue;
        }
        let hash = super::request_hash(&pr.spec, &pr.base_url, &req, job.repeat);
        if let Some(rec) = cached(state, pr, &hash, &item.id, job.repeat, est) {
            pr.bar.inc(1);
            state.journal(&rec, job.slot);
            continue;
        }
        let expected = (pr.est_cost_at(est, &bp) * 1e6).round() as u64;
        if !state.reserve(expected) {
            break;
        }
        let cid = wire::custom_id(&pr.spec.id, &item.id, job.repeat);
        let line = wire::request_line(
            side.client.dialect,
            &cid,
            &pr.spec.model,
            &pr.client.body(&req),
        );
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        if !reqs.is_empty() && (reqs.len() >= max_n || file.len() + bytes.len() > max_bytes) {
            let (f, r) = (std::mem::take(&mut file), std::mem::take(&mut reqs));
            if !submit(
                state,
                pr,
                side,
                f,
                r,
                std::mem::take(&mut reserved),
                waiting,
            )
            .await?
            {
                state.reserved_total.fetch_sub(expected, Ordering::SeqCst);
                return Ok(());
            }
        }
        file.extend_from_slice(&bytes);
        reqs.push((job.item, job.repeat, est, hash));
        reserved += expected;
    }
    // A signal or an opened breaker sends nothing more; a budget stop still submits what fits within it.
    if state.interrupted.load(Ordering::SeqCst) || pr.halted() {
        state.reserved_total.fetch_sub(reserved, Ordering::SeqCst);
        return Ok(());
    }
    if !reqs.is_empty() {
        submit(state, pr, side, file, reqs, reserved, waiting).await?;
    }
    Ok(())
}

/// A fresh cache entry for the request, as its journal record.
fn cached(
    state: &RunState,
    pr: &ProviderRun,
    hash: &str,
    item_id: &str,
    repeat: u32,
    est: u64,
) -> Option<Record> {
    let c = state.cache.as_deref()?;
    let entry = c.get(&c.key(hash, &pr.spec)?)?;
    let mut rec = crate::cache::hit_record(
        entry,
        item_id.to_string(),
        pr.spec.id.clone(),
        repeat,
        est,
        0.0,
    );
    rec.request_hash = hash.to_string();
    Some(rec)
}

/// A unique intent id.
fn intent_id(provider: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let h = blake3::hash(format!("{provider}/{nanos}/{}", std::process::id()).as_bytes());
    format!("i{}", &h.to_hex()[..20])
}

/// Journal the intent, upload, create, journal the id. A failure that says the batch was not created closes the
/// intent (its requests stay missing); an unanswered create leaves it open for the resume to reconcile.
async fn submit(
    state: &RunState,
    pr: &ProviderRun,
    side: &BatchSide,
    file: Vec<u8>,
    requests: Vec<Req>,
    reserved: u64,
    waiting: &mut Vec<Waiting>,
) -> Result<bool> {
    let n = requests.len() as u64;
    let intent = intent_id(&pr.spec.id);
    let provider = pr.spec.id.clone();
    let offset = side.log.append_intent(&provider, &intent, &requests)?;
    drop(requests);
    let batch_id = match side.client.submit(file, &intent).await {
        Ok(b) => b.get("id").and_then(|v| v.as_str()).map(str::to_string),
        Err((e, true)) => {
            // No answer to the create call: the batch may exist; the resume reconciles.
            fail(
                state,
                pr,
                reserved,
                &format!("creating a batch: {e}; resume to reconcile"),
            );
            return Ok(false);
        }
        Err((e, _)) => {
            side.log.append(&Event::Abandoned {
                provider,
                intent,
                reason: e.to_string(),
            })?;
            fail(state, pr, reserved, &format!("creating a batch: {e}"));
            return Ok(false);
        }
    };
    let Some(batch_id) = batch_id else {
        fail(
            state,
            pr,
            reserved,
            "the create call answered no batch id; resume to reconcile",
        );
        return Ok(false);
    };
    side.log.append(&Event::Submitted {
        provider,
        intent: intent.clone(),
        batch_id: batch_id.clone(),
    })?;
    waiting.push(Waiting {
        intent,
        batch_id,
        offset,
        reserved,
    });
    state.sent.fetch_add(n, Ordering::Relaxed);
    Ok(true)
}

/// Stop this provider's batch submissions (requests not in a batch stay missing) and say why. Batches it submitted
/// before are still polled and collected.
fn fail(state: &RunState, pr: &ProviderRun, reserved: u64, why: &str) {
    state.reserved_total.fetch_sub(reserved, Ordering::SeqCst);
    let mut msg = why.to_string();
    pr.redactor.string(&mut msg);
    eprintln!("\n{}: stopped: {msg}", pr.spec.id);
}

/// Poll every waiting batch with backoff until each is collected or the run is stopped.
async fn poll(
    state: &RunState,
    pr: &ProviderRun,
    side: &BatchSide,
    mut waiting: Vec<Waiting>,
) -> Result<()> {
    let (first, max) = if pr.spec.kind == ProviderKind::Sim {
        (0.05, 1.0)
    } else {
        (5.0, 60.0)
    };
    let mut wait = first;
    // Finished batches whose results could not be downloaded: not closed, still waiting for a resume.
    let mut undownloaded = 0u64;
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for w in waiting {
            match side.client.retrieve(&w.batch_id).await {
                Ok(b) => match wire::state(side.client.dialect, &b) {
                    Ok(BatchState::InProgress) => still.push(w),
                    Ok(s) => {
                        if !collect(state, pr, side, &w, s, &b).await? {
                            undownloaded += 1;
                        }
                    }
                    Err(e) => {
                        eprintln!("{}: batch {}: {e}", pr.spec.id, w.batch_id);
                        still.push(w);
                    }
                },
                // Transient or not, the batch is the provider's: keep polling (a stop ends the wait).
                Err(e) => {
                    let mut m = e.to_string();
                    pr.redactor.string(&mut m);
                    eprintln!("{}: polling batch {}: {m}", pr.spec.id, w.batch_id);
                    still.push(w);
                }
            }
        }
        waiting = still;
        if waiting.is_empty() || state.stopped() {
            break;
        }
        if !pr.sleep_unless_halted(Duration::from_secs_f64(wait)).await {
            break;
        }
        wait = (wait * 1.5).min(max);
    }
    state
        .batches_waiting
        .fetch_add(waiting.len() as u64 + undownloaded, Ordering::Relaxed);
    Ok(())
}

/// Download a finished batch's results and journal each by custom id; close the batch in the batch journal. False
/// when a results file could not be downloaded: the batch stays open for the resume.
async fn collect(
    state: &RunState,
    pr: &ProviderRun,
    side: &BatchSide,
    w: &Waiting,
    st: BatchState,
    batch: &serde_json::Value,
) -> Result<bool> {
    // Requests of this batch already settled (a crash while collecting) are not journaled twice; one whose earlier
    // record is an unsettled failure (auth, connection, ...) was resubmitted, and its paid answer is journaled.
    let requests: Vec<Req> = batch_log::read_requests(&state.run_dir, w.offset)?
        .into_iter()
        .filter(|r| r.0 < state.items.len() && r.1 < state.run.repeats.max(1))
        .filter(|r| !state.settled[state_slot(state, side, r)].load(Ordering::Relaxed))
        .collect();
    let by_cid: HashMap<String, &Req> = requests
        .iter()
        .map(|r| (wire::custom_id(&pr.spec.id, &state.items[r.0].id, r.1), r))
        .collect();
    let bp = price(pr);
    let (mut journaled, mut unsettled) = (0usize, 0usize);
    let mut each = |cid: String, outcome: Outcome| {
        let Some(r) = by_cid.get(&cid) else { return };
        match record(state, pr, &w.batch_id, r, outcome, &bp) {
            Some(mut rec) => {
                pr.redactor.record(&mut rec);
                let micros = (rec.cost_usd * 1e6).round() as u64;
                state.spent_total.fetch_add(micros, Ordering::SeqCst);
                pr.spent_micros.fetch_add(micros, Ordering::Relaxed);
                if rec.error.is_some() {
                    pr.errors.fetch_add(1, Ordering::Relaxed);
                }
                state.journal(&rec, state_slot(state, side, r));
                pr.bar.inc(1);
                journaled += 1;
            }
            None => unsettled += 1,
        }
    };
    if side.client.dialect == crate::batch::Dialect::Gemini {
        // Gemini answers inline, in the operation itself (none when the job failed or expired).
        for (cid, outcome) in wire::parse_gemini_inline(batch).unwrap_or_default() {
            each(cid, outcome);
        }
    }
    for file in wire::result_files(batch) {
        let line = |line: &[u8]| {
            if line.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            if let Ok((cid, outcome)) = wire::parse_result_line(side.client.dialect, line) {
                each(cid, outcome);
            }
        };
        if let Err(e) = side.client.content_lines(&file, line).await {
            // Not closed: the resume downloads again (what was journaled is not journaled twice).
            eprintln!(
                "{}: downloading {file} of batch {}: {e}",
                pr.spec.id, w.batch_id
            );
            return Ok(false);
        }
    }
    state.reserved_total.fetch_sub(w.reserved, Ordering::SeqCst);
    let missing = requests.len().saturating_sub(journaled);
    state
        .batch_unsettled
        .fetch_add(missing as u64, Ordering::Relaxed);
    if missing > 0 {
        // A failed batch says why (an invalid input file, a quota): the provider's words, secrets masked.
        let why = wire::failure_reason(side.client.dialect, batch).map(|mut r| {
            pr.redactor.string(&mut r);
            format!(" ({r})")
        });
        eprintln!(
            "{}: batch {} ended {:?}{}: {journaled} of {} requests journaled, {missing} not settled ({unsettled} \
             failed or not run); `evalh run --resume {}` submits them again",
            pr.spec.id,
            w.batch_id,
            st,
            why.unwrap_or_default(),
            requests.len(),
            state.run_dir.display()
        );
    }
    side.log.append(&Event::Collected {
        provider: pr.spec.id.clone(),
        intent: w.intent.clone(),
    })?;
    Ok(true)
}

/// The journal record of one result; None when it does not settle the request (not run, or an error a retry could
/// fix): the request stays missing and is submitted again on resume.
fn record(
    state: &RunState,
    pr: &ProviderRun,
    batch_id: &str,
    r: &Req,
    outcome: Outcome,
    bp: &Price,
) -> Option<Record> {
    let (c, error) = match outcome {
        Outcome::Answer(c) => (c, None),
        Outcome::Error(e) if e.class.retryable() => return None,
        Outcome::Error(e) => (Completion::default(), Some(ErrorInfo::from(e))),
        Outcome::Unsettled(_) => return None,
    };
    let usage = if error.is_some() {
        Usage::default()
    } else {
        super::request::settle_usage(&pr.tokens, &c, r.2)
    };
    Some(Record {
        item_id: state.items[r.0].id.clone(),
        provider_id: pr.spec.id.clone(),
        repeat: r.1,
        request_hash: r.3.clone(),
        cost_usd: if error.is_some() {
            0.0
        } else {
            crate::cost::cost_usd(bp, &usage)
        },
        attempt_errors: error.iter().map(|e| e.class).collect(),
        output_text: c.text,
        tool_calls: c.tool_calls,
        finish_reason: c.finish_reason,
        usage,
        latency_ms: 0.0,
        ttft_ms: None,
        attempts: 1,
        error,
        cached: false,
        est_input_tokens: Some(r.2),
        stream_compare: None,
        min_concurrency: None,
        batch: Some(batch_id.to_string()),
    })
}

/// Every provider's uncollected batches, from the run directory's batch journal.
pub(super) fn pending(run_dir: &std::path::Path) -> Result<HashMap<String, Vec<Pending>>> {
    batch_log::pending(run_dir)
}
