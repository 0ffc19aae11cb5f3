//! The judge phase of `evalh run` (and of `--resume`): after the providers' requests, every comparison the judge
//! owes is asked, journaled to `judge.jsonl`, cached and charged to the run's budget as evaluation cost.
//!
//! Why this module exists: judge calls are paid and can fail like any request, so they follow the runner's rules —
//! a call already journaled is never sent again, a retryable error is retried with the runner's backoff, the budget
//! covers providers and judge together, Ctrl-C stops sending — while their cost stays out of every candidate's cost.
//! A comparison is planned only from settled answers: an item whose baseline or candidate answer is missing is not
//! judged (the run is incomplete anyway); a judge that cannot be reached leaves its comparisons unsettled.

use crate::chat::Message;
use crate::dataset::Item;
use crate::error::{Error, Result};
use crate::journal::{self, ErrorInfo, Record};
use crate::judge::{self as judge, reference_text, JudgeRecord, Key, Order};
use crate::prompt::Prompter;
use crate::provider::{self, ChatRequest, Provider, RequestMeta, Timeouts};
use crate::suite::{JudgeMode, JudgeSpec, RubricScale};
use crate::suite::{LoadedSuite, ProviderKind, ProviderRole as SuiteRole};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of the judge phase.
#[derive(Default, Clone)]
pub struct JudgeOptions {
    /// The run's budget (USD), providers and judge together.
    pub budget_usd: Option<f64>,
    /// The response cache (None = `--no-cache`).
    pub cache: Option<Arc<crate::cache::Cache>>,
}

/// How the judge phase ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JudgeOutcome {
    /// Judge calls sent now.
    pub sent: u64,
    /// Judge calls already journaled.
    pub resumed: u64,
    /// Calls that ended in an error (unsettled).
    pub errors: u64,
    /// Calls not made (budget, Ctrl-C).
    pub missing: u64,
    /// The budget stopped the phase.
    pub budget_exhausted: bool,
    /// Evaluation cost spent now, USD.
    pub spent_usd: f64,
}

/// What the simulated judge is shown (the same content as the prompt, structured).
#[derive(Debug, Clone)]
enum SimInput {
    Pairwise { a: String, b: String },
    Rubric { output: String },
}

/// One judge call to make.
struct Call {
    key: Key,
    messages: Vec<Message>,
    reference: Option<String>,
    sim: SimInput,
}

/// Successful repeat-0 answers of the providers' journal: (provider, item) → text; and what the journal cost.
/// Providers' records by (provider, item).
type Answers = HashMap<(String, String), Record>;

fn answers(run_dir: &Path) -> Result<(Answers, f64)> {
    let mut latest: Answers = HashMap::new();
    let mut spent = 0.0;
    journal::for_each(run_dir, |r| {
        spent += r.cost_usd + r.stream_compare.as_ref().map_or(0.0, |c| c.cost_usd);
        if r.repeat == 0 {
            latest.insert((r.provider_id.clone(), r.item_id.clone()), r);
        }
    })?;
    Ok((latest, spent))
}

/// The text a provider answered (tool calls as JSON when it answered with calls only).
fn answer_text(r: &Record) -> String {
    if r.output_text.is_empty() && !r.tool_calls.is_empty() {
        serde_json::to_string(&r.tool_calls).unwrap_or_default()
    } else {
        r.output_text.clone()
    }
}

/// Every comparison the judge owes for settled, successful answers, with its rendered prompt.
fn plan(
    ls: &LoadedSuite,
    spec: &JudgeSpec,
    items: &[Item],
    prompter: &Prompter,
    answers: &Answers,
) -> Result<Vec<Call>> {
    let suite = &ls.suite;
    let Some(baseline) = suite
        .providers
        .iter()
        .find(|p| p.role == SuiteRole::Baseline)
    else {
        return Ok(Vec::new());
    };
    let prompt = spec.prompt();
    let templates = judge::Templates::new(&ls.path, &prompt)?;
    let ok = |p: &str, item: &str| {
        answers
            .get(&(p.to_string(), item.to_string()))
            .filter(|r| r.error.is_none())
            .map(answer_text)
    };
    let mut calls = Vec::new();
    for item in items {
        let input = judge::judged_input(prompter, item, &baseline.id)?;
        let reference = reference_text(item);
        for p in &suite.providers {
            let Some(out) = ok(&p.id, &item.id) else {
                continue;
            };
            match spec.mode {
                JudgeMode::Rubric => {
                    let messages = templates.rubric(item, &input, reference.as_deref(), &out)?;
                    calls.push(Call {
                        key: (item.id.clone(), p.id.clone(), Order::Single),
                        messages,
                        reference: reference.clone(),
                        sim: SimInput::Rubric { output: out },
                    });
                }
                JudgeMode::Pairwise if p.role == SuiteRole::Candidate => {
                    let Some(base) = ok(&baseline.id, &item.id) else {
                        continue;
                    };
                    for (order, a, b) in [
                        (Order::BaselineFirst, &base, &out),
                        (Order::CandidateFirst, &out, &base),
                    ] {
                        let messages =
                            templates.pairwise(item, &input, reference.as_deref(), a, b)?;
                        calls.push(Call {
                            key: (item.id.clone(), p.id.clone(), order),
                            messages,
                            reference: reference.clone(),
                            sim: SimInput::Pairwise {
                                a: a.clone(),
                                b: b.clone(),
                            },
                        });
                    }
                }
                JudgeMode::Pairwise => {}
            }
        }
    }
    Ok(calls)
}

/// Shared state of the calls in flight.
struct Phase {
    spec: JudgeSpec,
    client: Option<Box<dyn Provider>>,
    endpoint: String,
    price: crate::suite::Price,
    seed: u64,
    run: crate::suite::RunSpec,
    tokens: crate::tokens::Tokenizer,
    redactor: crate::redact::Redactor,
    cache: Option<Arc<crate::cache::Cache>>,
    stop: AtomicBool,
}

/// Run the judge phase for `run_dir` (nothing when the suite has no judge).
pub async fn execute(
    ls: &LoadedSuite,
    items: &[Item],
    prompter: &Prompter,
    run_dir: &Path,
    opts: &JudgeOptions,
) -> Result<JudgeOutcome> {
    let Some(spec) = ls.suite.judge.clone() else {
        return Ok(JudgeOutcome::default());
    };
    let (answers, provider_spent) = answers(run_dir)?;
    let (done, _) = judge::read_records(run_dir)?;
    let judge_spent: f64 = done.values().map(|r| r.cost_usd).sum();
    let calls = plan(ls, &spec, items, prompter, &answers)?;
    drop(answers);
    let mut out = JudgeOutcome::default();
    let todo: Vec<Call> = calls
        .into_iter()
        .filter(|c| {
            let settled = done.get(&c.key).is_some_and(|r| r.error.is_none());
            out.resumed += u64::from(settled);
            !settled
        })
        .collect();
    if todo.is_empty() {
        return Ok(out);
    }
    let timeouts = Timeouts::from_run(&ls.suite.run);
    let client = if spec.provider.kind == ProviderKind::Sim {
        None
    } else {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .user_agent(concat!("evalh/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("building the HTTP client: {e}")))?;
        Some(provider::build(&spec.provider, http, timeouts, None)?)
    };
    let phase = Arc::new(Phase {
        endpoint: crate::runner::hash_endpoint(&spec.provider, ls.suite.run.seed),
        price: spec.provider.price_in_force().unwrap_or_default(),
        seed: ls.suite.run.seed,
        run: ls.suite.run.clone(),
        tokens: crate::tokens::Tokenizer::o200k(),
        redactor: crate::redact::Redactor::for_providers(std::slice::from_ref(&spec.provider)),
        cache: opts.cache.clone(),
        stop: AtomicBool::new(false),
        client,
        spec,
    });
    send_all(
        phase,
        todo,
        run_dir,
        opts,
        provider_spent + judge_spent,
        &mut out,
    )
    .await?;
    Ok(out)
}

/// Send the calls concurrently under the judge's concurrency, the budget and Ctrl-C; journal each as it ends.
async fn send_all(
    phase: Arc<Phase>,
    todo: Vec<Call>,
    run_dir: &Path,
    opts: &JudgeOptions,
    spent_before: f64,
    out: &mut JudgeOutcome,
) -> Result<()> {
    let conc = phase
        .spec
        .provider
        .concurrency
        .unwrap_or(phase.run.concurrency)
        .max(1);
    let sem = Arc::new(tokio::sync::Semaphore::new(conc));
    let writer = Arc::new(judge::RecordWriter::open(run_dir)?);
    let spent = Arc::new(AtomicU64::new((spent_before * 1e6).round() as u64));
    let reserved = Arc::new(AtomicU64::new(0));
    let interrupted = Arc::new(AtomicBool::new(false));
    // Ctrl-C or SIGTERM: stop sending judge calls, let those in flight finish.
    let listener = {
        let (phase, interrupted) = (phase.clone(), interrupted.clone());
        let mut signals = super::StopSignals::listen();
        tokio::spawn(async move {
            signals.next().await;
            interrupted.store(true, Ordering::SeqCst);
            phase.stop.store(true, Ordering::SeqCst);
        })
    };
    let max_out = phase.spec.max_output_tokens();
    let total = todo.len() as u64;
    let mut set = tokio::task::JoinSet::new();
    let mut sent = 0u64;
    for call in todo {
        let permit = sem
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        if phase.stop.load(Ordering::SeqCst) {
            break;
        }
        let est_in = phase.tokens.estimate_tokens(&call.messages);
        let est = crate::cost::cost_usd(
            &phase.price,
            &crate::chat::Usage {
                input_tokens: est_in,
                output_tokens: max_out,
                ..Default::default()
            },
        );
        let est_micros = (est * 1e6).round() as u64;
        if let Some(b) = opts.budget_usd {
            let committed =
                spent.load(Ordering::SeqCst) + reserved.load(Ordering::SeqCst) + est_micros;
            if committed as f64 / 1e6 > b {
                out.budget_exhausted = true;
                phase.stop.store(true, Ordering::SeqCst);
                break;
            }
        }
        reserved.fetch_add(est_micros, Ordering::SeqCst);
        sent += 1;
        let (phase, writer, spent, reserved) = (
            phase.clone(),
            writer.clone(),
            spent.clone(),
            reserved.clone(),
        );
        set.spawn(async move {
            let rec = phase.call(call, est_in).await;
            // Charge what was paid before the reservation and the permit are let go: the next call's budget check
            // must never see neither (it did once, and a run overspent its budget by one call).
            if let Ok(rec) = &rec {
                spent.fetch_add((rec.cost_usd * 1e6).round() as u64, Ordering::SeqCst);
            }
            reserved.fetch_sub(est_micros, Ordering::SeqCst);
            drop(permit);
            let rec = rec?;
            writer.append(&rec)?;
            Ok::<bool, Error>(rec.error.is_some())
        });
    }
    let mut first_err = None;
    while let Some(r) = set.join_next().await {
        match r.map_err(|e| Error::Internal(format!("judge task failed: {e}")))? {
            Ok(errored) => out.errors += u64::from(errored),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    // Sending is over: the command listens for stop signals from here on.
    listener.abort();
    if let Ok(w) = Arc::try_unwrap(writer) {
        w.finish()?;
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    out.sent = sent;
    out.missing = total - sent;
    out.spent_usd = (spent.load(Ordering::SeqCst) as f64 / 1e6 - spent_before).max(0.0);
    if interrupted.load(Ordering::SeqCst) {
        eprintln!(
            "\ninterrupted during the judge phase; resume with `evalh run --resume {}`",
            run_dir.display()
        );
    }
    Ok(())
}

impl Phase {
    /// Make one judge call (from the cache when it holds the answer) and return its record.
    async fn call(&self, call: Call, est_in: u64) -> Result<JudgeRecord> {
        let req = ChatRequest {
            messages: call.messages,
            tools: Arc::new(Vec::new()),
            meta: RequestMeta {
                item_id: call.key.0.clone(),
                repeat: 0,
                attempt: 1,
            },
        };
        let hash = crate::runner::request_hash(&self.spec.provider, &self.endpoint, &req, 0);
        let (item_id, provider_id, order) = call.key;
        let mut rec = JudgeRecord {
            item_id,
            provider_id,
            order,
            judge_id: self.spec.provider.id.clone(),
            request_hash: hash.clone(),
            output_text: String::new(),
            usage: Default::default(),
            cost_usd: 0.0,
            latency_ms: 0.0,
            attempts: 0,
            error: None,
            cached: false,
        };
        let key = self
            .cache
            .as_ref()
            .and_then(|c| Some((c.clone(), c.key(&hash, &self.spec.provider)?)));
        if let Some(hit) = key.as_ref().and_then(|(c, k)| c.get(k)) {
            rec.output_text = hit.output_text;
            rec.usage = hit.usage;
            rec.latency_ms = hit.latency_ms;
            rec.cached = true;
            return Ok(rec);
        }
        let t0 = Instant::now();
        let result = match &self.client {
            None => Ok(self.simulate(&rec, call.reference.as_deref(), &call.sim, est_in)),
            Some(c) => self.with_retries(c.as_ref(), &req, &mut rec.attempts).await,
        };
        rec.latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(c) => {
                let usage = match c.usage {
                    Some(u) => u,
                    None => crate::chat::Usage {
                        input_tokens: est_in,
                        output_tokens: self.tokens.estimate_output_tokens(&c.text, &c.tool_calls),
                        estimated: true,
                        ..Default::default()
                    },
                };
                rec.output_text = c.text;
                rec.cost_usd = crate::cost::cost_usd(&self.price, &usage);
                rec.usage = usage;
            }
            Err(e) => rec.error = Some(ErrorInfo::from(e)),
        }
        rec.attempts = rec.attempts.max(1);
        let mut text = std::mem::take(&mut rec.output_text);
        self.redactor.string(&mut text);
        rec.output_text = text;
        if let Some(e) = &mut rec.error {
            self.redactor.string(&mut e.message);
        }
        if let (Some((c, k)), None) = (&key, &rec.error) {
            c.put(k, &cache_record(&rec));
        }
        Ok(rec)
    }

    /// The simulated judge's answer, with usage estimated from the prompt and the answer.
    fn simulate(
        &self,
        rec: &JudgeRecord,
        reference: Option<&str>,
        sim: &SimInput,
        est_in: u64,
    ) -> provider::Completion {
        let profile = self
            .spec
            .provider
            .sim
            .as_ref()
            .and_then(|s| s.judge)
            .unwrap_or_default();
        // Draws keyed by the request (its hash covers the prompt and the judged answers): the same question always
        // gets the same answer, as from a cache, whichever call is made first.
        let key = &rec.request_hash;
        let text = match sim {
            SimInput::Pairwise { a, b } => {
                judge::sim_pairwise(&profile, self.seed, key, reference, a, b)
            }
            SimInput::Rubric { output } => judge::sim_rubric(
                &profile,
                self.seed,
                key,
                reference,
                output,
                self.spec.scale == RubricScale::PassFail,
            ),
        };
        let output_tokens = self.tokens.estimate_output_tokens(&text, &[]);
        provider::Completion {
            text,
            tool_calls: vec![],
            finish_reason: Some("stop".into()),
            usage: Some(crate::chat::Usage {
                input_tokens: est_in,
                output_tokens,
                ..Default::default()
            }),
            ttft_ms: None,
            rate_limit: None,
        }
    }

    /// Send until success or a retry cannot help (the runner's retry policy), or the phase stops.
    async fn with_retries(
        &self,
        client: &dyn Provider,
        req: &ChatRequest,
        attempts: &mut u32,
    ) -> std::result::Result<provider::Completion, provider::ProviderError> {
        let cap = Duration::from_secs_f64(self.run.max_backoff_s.max(0.0));
        let mut req = req.clone();
        loop {
            *attempts += 1;
            req.meta.attempt = *attempts;
            let e = match client.complete(&req).await {
                Ok(c) => return Ok(c),
                Err(e) => e,
            };
            match crate::runner::retry_decision(&e, *attempts, self.run.max_retries, cap) {
                crate::runner::RetryDecision::Retry(wait) if !self.stop.load(Ordering::SeqCst) => {
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(e),
            }
        }
    }
}

/// The judge answer as a providers'-journal record, the form the response cache stores.
fn cache_record(r: &JudgeRecord) -> Record {
    Record {
        item_id: r.item_id.clone(),
        provider_id: r.judge_id.clone(),
        repeat: 0,
        request_hash: r.request_hash.clone(),
        output_text: r.output_text.clone(),
        tool_calls: vec![],
        finish_reason: None,
        usage: r.usage,
        cost_usd: r.cost_usd,
        latency_ms: r.latency_ms,
        ttft_ms: None,
        attempts: r.attempts,
        error: None,
        cached: false,
        est_input_tokens: None,
        stream_compare: None,
        attempt_errors: vec![],
        min_concurrency: None,
        batch: None,
    }
}
