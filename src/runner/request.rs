//! One request, from its first attempt to its journal record: slots under the adaptive limit, the rate buckets,
//! retries, the response cache, the `compare_stream` second call, and the record itself.

use super::hash::request_hash;
use super::provider_run::ProviderRun;
use super::retry;
use crate::chat::{ErrorClass, Message, ToolDef, Usage};
use crate::cost;
use crate::journal::{ErrorInfo, Record, StreamCompare};
use crate::provider::{ChatRequest, Completion, Provider, ProviderError, RequestMeta};
use crate::suite::RunSpec;
use crate::tokens::Tokenizer;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The usage to record: the provider's, or (when it reported none) local estimates flagged `estimated`.
pub(super) fn settle_usage(tokens: &Tokenizer, c: &Completion, est_input: u64) -> Usage {
    match c.usage {
        Some(u) => Usage {
            estimated: false,
            ..u
        },
        None => Usage {
            input_tokens: est_input,
            output_tokens: tokens.estimate_output_tokens(&c.text, &c.tool_calls),
            estimated: true,
            ..Default::default()
        },
    }
}

/// Which request a journal record is about: the provider, the item and repeat, the request hash and the prompt's
/// local token estimate.
struct Subject<'a> {
    pr: &'a ProviderRun,
    item_id: &'a str,
    repeat: u32,
    hash: String,
    est: u64,
}

impl<'a> Subject<'a> {
    fn of(pr: &'a ProviderRun, req: &'a ChatRequest, hash: String, est: u64) -> Self {
        Subject {
            pr,
            item_id: &req.meta.item_id,
            repeat: req.meta.repeat,
            hash,
            est,
        }
    }
}

/// How a request's attempts went, apart from the final result.
#[derive(Default)]
struct Attempts {
    /// Attempts made (0: never sent).
    count: u32,
    /// Wall time of the last attempt, ms.
    latency_ms: f64,
    /// Class of every failed attempt, in order.
    failures: Vec<ErrorClass>,
    /// The adaptive limit right after the lowest throttled attempt, if any attempt was throttled.
    min_concurrency: Option<u32>,
}

/// One request sent until it succeeded or a retry could not help.
struct Attempted {
    /// The final attempt's result (a given-up error carries the reason it was not retried in its message).
    result: std::result::Result<Completion, ProviderError>,
    /// How the attempts went.
    attempts: Attempts,
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// The record of a request the preflight refused: its prompt's local estimate exceeds the context window. Nothing was
/// sent (attempts 0, cost 0); the class is final, so a resumed run does not send it either.
pub(super) fn preflight_record(
    pr: &ProviderRun,
    req: ChatRequest,
    est: u64,
    window: u64,
) -> Record {
    let req = ChatRequest {
        meta: RequestMeta {
            attempt: 0,
            ..req.meta
        },
        ..req
    };
    let hash = request_hash(&pr.spec, &pr.base_url, &req, req.meta.repeat);
    let subject = Subject::of(pr, &req, hash, est);
    let e = ProviderError::new(
        ErrorClass::ContextLength,
        format!("preflight: {est} estimated tokens > window {window}"),
    );
    error_record(subject, Attempts::default(), e)
}

/// The request of item `item_id`, repeat `repeat` (attempt 1).
pub(super) fn chat_request(
    messages: Vec<Message>,
    tools: &Arc<Vec<ToolDef>>,
    item_id: &str,
    repeat: u32,
) -> ChatRequest {
    ChatRequest {
        messages,
        tools: tools.clone(),
        meta: RequestMeta {
            item_id: item_id.to_string(),
            repeat,
            attempt: 1,
        },
    }
}

/// Send `req` through `client` until it succeeds or a retry cannot help; None when nothing more may be sent for the
/// provider (cancelled, or its circuit breaker opened) before the request settled.
///
/// Each attempt waits for a slot under the provider's adaptive limit, for its rpm/tpm allowance and for the moment
/// the provider's announced limits cover it (the pacer learns from each answer's headers), is sent, and
/// gives its slot back before any backoff (a request waiting out a Retry-After is not in flight). A throttle (429,
/// 529/503 overloaded) cuts the adaptive limit, a success grows it back. `client` is the provider's own client or
/// its other-streaming-mode twin; both share the provider's limit and rate buckets.
async fn attempt_loop(
    pr: &ProviderRun,
    client: &dyn Provider,
    req: &mut ChatRequest,
    est: u64,
    run: &RunSpec,
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
        // The user's rpm/tpm caps, waited out like the pacer's schedule: Ctrl-C or an opened breaker ends the wait.
        let mut stage = super::rate::Stage::Requests;
        while let Some(wait) = pr.rate.step(&mut stage, est.saturating_add(pr.max_tokens)) {
            if !pr.sleep_unless_halted(wait).await {
                return None;
            }
        }
        let mut ticket = pr.pace.reserve(pr.pace.token_cost(est, pr.max_tokens));
        let mut wait = ticket.wait;
        loop {
            if !wait.is_zero() && !pr.sleep_unless_halted(wait).await {
                return None;
            }
            match pr.pace.sending(&mut ticket) {
                None => break,
                Some(more) => wait = more,
            }
        }
        let t0 = Instant::now();
        let res = client.complete(req).await;
        let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let (limits, usage) = match &res {
            Ok(c) => (
                c.rate_limit.as_ref(),
                c.usage.map(|u| (est, u.input_tokens)),
            ),
            Err(e) => (e.rate_limit.as_deref(), None),
        };
        pr.pace.observe(&ticket, limits, usage);
        let mut e = match res {
            Ok(c) => {
                slot.success();
                pr.breaker.success();
                drop(slot);
                return Some(Attempted {
                    result: Ok(c),
                    attempts: Attempts {
                        count: attempt,
                        latency_ms,
                        failures,
                        min_concurrency,
                    },
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
                    attempts: Attempts {
                        count: attempt,
                        latency_ms,
                        failures,
                        min_concurrency,
                    },
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
pub(super) async fn perform_cached(
    cache: Option<&crate::cache::Cache>,
    pr: &ProviderRun,
    req: ChatRequest,
    est: u64,
    run: &RunSpec,
) -> Option<Record> {
    let t0 = Instant::now();
    let repeat = req.meta.repeat;
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
    let mut rec = perform(pr, req, hash, est, run).await?;
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
    est: u64,
    run: &RunSpec,
) -> Option<Record> {
    let repeat = req.meta.repeat;
    let a = attempt_loop(pr, pr.client.as_ref(), &mut req, est, run).await?;
    let mut attempts = a.attempts;
    let c = match a.result {
        Ok(c) => c,
        Err(e) => {
            let subject = Subject::of(pr, &req, hash, est);
            return Some(error_record(subject, attempts, e));
        }
    };
    let stream_compare = match (&pr.alt, repeat) {
        (Some(alt), 0) => compare_call(pr, alt.as_ref(), &mut req, est, run)
            .await
            .map(|(sc, m)| {
                attempts.min_concurrency = min_opt(attempts.min_concurrency, m);
                sc
            }),
        _ => None,
    };
    let mut rec = success_record(Subject::of(pr, &req, hash, est), attempts, c);
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
    run: &RunSpec,
) -> Option<(StreamCompare, Option<u32>)> {
    let a = attempt_loop(pr, alt, req, est, run).await?;
    let stream = !pr.spec.stream;
    let Attempts {
        count,
        latency_ms,
        failures,
        min_concurrency,
    } = a.attempts;
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
                latency_ms,
                ttft_ms: c.ttft_ms,
                attempts: count,
                error: None,
                attempt_errors: failures,
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
            attempts: count,
            error: Some(ErrorInfo::from(e)),
            attempt_errors: failures,
        },
    };
    Some((sc, min_concurrency))
}

/// A client's failure as the journal records it (converted here, where records are made: the journal knows no
/// client).
impl From<ProviderError> for ErrorInfo {
    fn from(e: ProviderError) -> Self {
        ErrorInfo {
            class: e.class,
            message: e.message,
            status: e.status,
            error_type: e.error_type,
            code: e.code,
        }
    }
}

/// The record of a request answered with `c`.
fn success_record(s: Subject<'_>, a: Attempts, c: Completion) -> Record {
    let usage = settle_usage(&s.pr.tokens, &c, s.est);
    Record {
        item_id: s.item_id.to_string(),
        provider_id: s.pr.spec.id.clone(),
        repeat: s.repeat,
        request_hash: s.hash,
        output_text: c.text,
        tool_calls: c.tool_calls,
        finish_reason: c.finish_reason,
        cost_usd: cost::cost_usd(&s.pr.price, &usage),
        usage,
        latency_ms: a.latency_ms,
        ttft_ms: c.ttft_ms,
        attempts: a.count,
        error: None,
        cached: false,
        est_input_tokens: Some(s.est),
        stream_compare: None,
        attempt_errors: a.failures,
        min_concurrency: a.min_concurrency,
        batch: None,
    }
}

/// The record of a request that finally failed with `e`.
fn error_record(s: Subject<'_>, a: Attempts, e: ProviderError) -> Record {
    Record {
        item_id: s.item_id.to_string(),
        provider_id: s.pr.spec.id.clone(),
        repeat: s.repeat,
        request_hash: s.hash,
        output_text: String::new(),
        tool_calls: vec![],
        finish_reason: None,
        usage: Default::default(),
        cost_usd: 0.0,
        latency_ms: a.latency_ms,
        ttft_ms: None,
        attempts: a.count,
        error: Some(ErrorInfo::from(e)),
        cached: false,
        est_input_tokens: Some(s.est),
        stream_compare: None,
        attempt_errors: a.failures,
        min_concurrency: a.min_concurrency,
        batch: None,
    }
}
