//! From journal to results: per-provider metrics with intervals, cost, latency, errors, token discrepancy and the
//! gate verdicts — the `results.json` model every report renders.
//!
//! Why this module exists: it is the pure half's entry point. Given the items and the journal's records it computes
//! everything deterministically (sorted inputs, seeded resampling, ordered maps), so the same journal always gives a
//! byte-identical results.json whatever the concurrency or completion order of the run that wrote it.

mod agreement;
mod evidence;
mod recommend;

pub use agreement::{
    check_dataset as check_agreement_dataset, report_lines as agreement_lines,
    validate_line as agreement_validate_line, ProviderAgreement, ReferenceSummary,
};
#[cfg(test)]
pub(crate) use recommend::fixture;
pub use recommend::{money, recommend, thousands, Recommendation, RecommendationKind};

use crate::dataset::Item;
use crate::gate::{self, GateResult};
use crate::outcome::Outcome;
use crate::score::{self, ProviderScores, Scorer};
use crate::stats;
use crate::suite::{LoadedSuite, ProviderRole, TaskKind};
use evidence::{evidence, failure_summary};
pub(crate) use evidence::{state_of, ItemState};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Latency percentiles (nearest rank over non-cached successful requests).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th.
    pub p95: Option<f64>,
    /// 99th.
    pub p99: Option<f64>,
}

/// Token totals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Tokens {
    /// Input (incl. cached).
    pub input: u64,
    /// Output (incl. reasoning).
    pub output: u64,
    /// Cached input.
    pub cached_input: u64,
    /// Reasoning.
    pub reasoning: u64,
    /// Records whose usage was estimated locally.
    pub estimated_records: u64,
}

/// Provider-reported prompt tokens vs the local estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct TokenDiscrepancy {
    /// Records compared.
    pub n: usize,
    /// Mean of reported / estimated.
    pub ratio_mean: Option<f64>,
    /// Sample standard deviation of that ratio.
    pub ratio_sd: Option<f64>,
    /// Min and max ratio.
    pub ratio_min: Option<f64>,
    /// Max ratio.
    pub ratio_max: Option<f64>,
}

/// Stream/non-stream equivalence of one provider (`compare_stream: true`): repeat 0 of each item was sent both
/// ways; counts of items on which the two answers agree.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct StreamEquivalence {
    /// Mode of the comparison calls: `stream` or `non_stream` (the other one is the provider's own `stream`).
    pub compared_mode: String,
    /// Items where both calls succeeded and were compared.
    pub n: usize,
    /// Items with identical text.
    pub text_equal: usize,
    /// Items with identical tool calls (names and parsed arguments, in order).
    pub tool_calls_equal: usize,
    /// Items with identical usage (every token count, and whether it was estimated).
    pub usage_equal: usize,
    /// Items with the same finish reason.
    pub finish_reason_equal: usize,
    /// Comparison calls that failed (not in `n`).
    pub compare_errors: usize,
    /// Cost of the comparison calls, USD — NOT included in `cost_usd_total`.
    pub extra_cost_usd: f64,
    /// First 20 item ids (dataset order) whose text, tool calls or usage differ, or whose comparison call failed.
    pub differences: Vec<String>,
}

/// How the provider throttled the run and how far the adaptive concurrency came down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Throttle {
    /// Attempts answered 429 rate limit (retried or final; `compare_stream` calls included).
    pub rate_limited: u64,
    /// Attempts answered 529/503 overloaded.
    pub overloaded: u64,
    /// Lowest in-flight limit the adaptive concurrency reached (the configured concurrency when never throttled).
    pub min_concurrency: u32,
}

/// One provider's results.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderResult {
    /// Provider id.
    pub id: String,
    /// baseline / candidate.
    pub role: ProviderRole,
    /// Client kind.
    pub kind: String,
    /// Model.
    pub model: String,
    /// Items × repeats expected.
    pub n_requests: usize,
    /// Successful records.
    pub n_ok: usize,
    /// Failed records.
    pub n_errors: usize,
    /// Requests with no record (interrupted run).
    pub n_missing: usize,
    /// Requests without a settling record (all repeats): missing ones plus those whose final error says the provider
    /// could not be reached or used (auth, not found, quota, connection, rate limit). The run is incomplete when > 0.
    pub n_unsettled: usize,
    /// Unsettled requests by reason (`missing` or the error class).
    pub unsettled_by_reason: BTreeMap<String, usize>,
    /// One line naming the dominant failure and its cause, when requests failed or are unsettled
    /// (e.g. "40/40 requests failed: connection: ... Connection refused").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_summary: Option<String>,
    /// Records served from the cache.
    pub n_cached: usize,
    /// Error rate over settled requests of repeat 0 (requests that finally failed, of those settled).
    pub error_rate: f64,
    /// Wilson interval of the error rate.
    pub error_rate_interval: stats::Interval,
    /// Errors by class.
    pub errors_by_class: BTreeMap<String, usize>,
    /// Share of parseable outputs.
    pub format_validity: f64,
    /// Corpus metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Confidence intervals of the metrics (t for means, bootstrap for corpus metrics).
    pub metric_intervals: BTreeMap<String, stats::Interval>,
    /// Total cost USD of the responses at the provider's prices, cached ones included (what the workload costs).
    pub cost_usd_total: f64,
    /// What this run actually paid, USD: `cost_usd_total` minus the responses served from the cache.
    pub cost_usd_paid: f64,
    /// Mean cost per item (all repeats).
    pub cost_usd_per_item: f64,
    /// Cost per 1,000 items.
    pub cost_usd_per_1k_items: f64,
    /// Token totals.
    pub tokens: Tokens,
    /// Token-count discrepancy.
    pub token_discrepancy: TokenDiscrepancy,
    /// Latency percentiles.
    pub latency_ms: Percentiles,
    /// Latencies behind them that come from the response cache (the original request's latency, stored with the entry).
    pub latency_from_cache: usize,
    /// Answers that came through a provider batch API: priced at the batch rate, no latency (left out of
    /// `latency_ms`).
    #[serde(skip_serializing_if = "is_zero_usize")]
    pub n_batch: usize,
    /// Time-to-first-token percentiles (streaming).
    pub ttft_ms: Percentiles,
    /// Retries made (attempts beyond the first).
    pub retries: u64,
    /// Throttling (429/529) and the adaptive concurrency's lowest point.
    pub throttle: Throttle,
    /// Requests the context-window preflight refused to send (local estimate above the window).
    pub skipped_context: usize,
    /// Repeats > 1: share of items whose repeats all agree on the headline score, and pass^k.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<Value>,
    /// Task-specific details.
    pub details: score::Details,
    /// Stream/non-stream equivalence (providers with `compare_stream: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_equivalence: Option<StreamEquivalence>,
    /// Gate result (candidates only).
    pub gate: Option<GateResult>,
    /// Blind human review against the baseline, when decisions were imported (`evalh review import`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub human_review: Option<crate::review::HumanReview>,
    /// The LLM judge's evidence for this provider (suites with a `judge:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<crate::judge::JudgeResult>,
    /// Agreement scoring only (`scoring.reference`): kappa against the reference and correctness on the labelled
    /// subset, beside the agreement figures in `metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<ProviderAgreement>,
}

/// The whole results document.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// evalh version.
    pub evalh_version: String,
    /// Suite name.
    pub suite: String,
    /// Task type.
    pub task: TaskKind,
    /// Items in the dataset.
    pub n_items: usize,
    /// Repeats.
    pub repeats: u32,
    /// Seed (sim and resampling).
    pub seed: u64,
    /// Gate metric.
    pub gate_metric: String,
    /// Gate settings.
    pub gate_config: crate::suite::GateSpec,
    /// Latency percentile method.
    pub latency_method: String,
    /// Price table source.
    pub price_table: String,
    /// Per provider, in suite order.
    pub providers: Vec<ProviderResult>,
    /// Whether every request of the run is settled. An incomplete run has no verdicts (INCOMPLETE) and exits 3.
    pub complete: bool,
    /// Unsettled requests of the whole run by reason (`missing` or the error class); empty when complete.
    pub unsettled_by_reason: BTreeMap<String, usize>,
    /// The exit code the gate implies (0/1 under `gate.require`; 3 when the run is incomplete).
    pub gate_exit_code: i32,
    /// The LLM judge across the run (suites with a `judge:`): calls, parse failures, evaluation cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<crate::judge::JudgeSummary>,
    /// Agreement scoring (`scoring.reference: baseline | logged`): what the quality figures measure — agreement with
    /// the reference, not correctness — and the items left without a reference. Absent under ground truth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceSummary>,
    /// The run's answer in one line: the cheapest candidate that PASSes and what it saves, or the nearest one and why.
    pub recommendation: Recommendation,
}

/// Everything the reports need beyond `Results`: the per-item scores, aligned with items.
pub struct Analysis {
    /// The results document.
    pub results: Results,
    /// Per provider (suite order): scores of repeat 0.
    pub scores: Vec<ProviderScores>,
    /// Per provider: what was answered for each item in repeat 0.
    pub records: Vec<Vec<Option<Outcome>>>,
}

/// Compute everything from items and journal records.
pub fn analyse(
    ls: &LoadedSuite,
    items: &[Item],
    records: impl IntoIterator<Item = crate::journal::Record>,
) -> crate::error::Result<Analysis> {
    analyse_with(ls, items, records, None)
}

/// [`analyse`], with the run's imported human-review decisions (`review/decisions.jsonl`) when there are any.
pub fn analyse_with(
    ls: &LoadedSuite,
    items: &[Item],
    records: impl IntoIterator<Item = crate::journal::Record>,
    human: Option<&crate::review::Decisions>,
) -> crate::error::Result<Analysis> {
    analyse_judged(ls, items, records, human, None)
}

/// [`analyse_with`], with the LLM judge's evidence (`judge.jsonl`, see [`crate::judge::load`]) when the suite has a
/// judge: its metric joins each provider's scores (so intervals and the gate read it), its block joins each
/// provider's results, and comparisons it still owes make the run incomplete.
pub fn analyse_judged(
    ls: &LoadedSuite,
    items: &[Item],
    records: impl IntoIterator<Item = crate::journal::Record>,
    human: Option<&crate::review::Decisions>,
    judge: Option<&crate::judge::JudgeScores>,
) -> crate::error::Result<Analysis> {
    let suite = &ls.suite;
    let scorer = Scorer::new(ls)?;
    let table = outcome_table(ls, items, records);
    // The journal's parsed records and the item index are gone: hand their pages back before scoring.
    crate::memory::trim();
    // Agreement scoring (`scoring.reference`): answers are scored against the baseline's (or the logged) answer, on
    // the items that have one; the others are left out of every quality figure (crate::summary::agreement).
    let reference = (suite.scoring.reference != crate::suite::Reference::GroundTruth).then(|| {
        let none = vec![None; items.len()];
        let base = suite
            .providers
            .iter()
            .position(|p| p.role == ProviderRole::Baseline);
        agreement::References::new(ls, &scorer, items, base.map_or(&none[..], |b| &table[b][0]))
    });
    let run = RunInputs {
        ls,
        items,
        scorer: &scorer,
        table: &table,
        reference: reference.as_ref(),
        human,
        judge,
    };
    let (mut provider_results, mut scores_r0): (Vec<ProviderResult>, Vec<ProviderScores>) = (0
        ..suite.providers.len())
        .map(|pi| {
            let r = provider_result(&run, pi);
            // Its scoring's lists are freed: their pages go back before the next provider's.
            crate::memory::trim();
            r
        })
        .unzip();
    gate_candidates(&run, &scores_r0, &mut provider_results);
    let results = results(&run, provider_results);
    // The reports' per-item views are over all items: spread the agreement scores back onto them.
    if let Some(idx) = run.score_idx() {
        scores_r0 = scores_r0
            .iter()
            .map(|s| s.spread(idx, items.len()))
            .collect();
    }
    let records_r0 = table
        .into_iter()
        .map(|mut reps| reps.swap_remove(0))
        .collect();
    Ok(Analysis {
        results,
        scores: scores_r0,
        records: records_r0,
    })
}

/// `table[provider][repeat][item]`: each request's outcome.
type Table = Vec<Vec<Vec<Option<Outcome>>>>;

/// What every provider's results are computed from.
struct RunInputs<'a> {
    ls: &'a LoadedSuite,
    items: &'a [Item],
    scorer: &'a Scorer,
    table: &'a Table,
    /// Agreement scoring's references (None: ground truth).
    reference: Option<&'a agreement::References>,
    human: Option<&'a crate::review::Decisions>,
    judge: Option<&'a crate::judge::JudgeScores>,
}

impl RunInputs<'_> {
    /// Under agreement scoring, the dataset index of each scored item.
    fn score_idx(&self) -> Option<&[usize]> {
        self.reference.map(|r| &r.idx[..])
    }
}

/// The journal's records placed in the table; later records of the same key win (journal order).
fn outcome_table(
    ls: &LoadedSuite,
    items: &[Item],
    records: impl IntoIterator<Item = crate::journal::Record>,
) -> Table {
    let suite = &ls.suite;
    let index = crate::journal::IdIndex::new(items.iter().map(|it| it.id.as_str()));
    let repeats = suite.run.repeats.max(1) as usize;
    let pidx: HashMap<&str, usize> = suite
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut table: Table = vec![vec![vec![None; items.len()]; repeats]; suite.providers.len()];
    // A cached record cost this run nothing (its journal cost is 0) but the gate compares what the workload costs,
    // so cached responses are valued at the provider's price from their usage.
    let prices: Vec<crate::suite::Price> = suite
        .providers
        .iter()
        .map(|p| p.price_in_force().unwrap_or_default())
        .collect();
    let mut interner = crate::outcome::Interner::default();
    for mut r in records {
        let (Some(&p), Some(i)) = (
            pidx.get(r.provider_id.as_str()),
            index.get(r.item_id.as_str()),
        ) else {
            continue;
        };
        let rep = r.repeat as usize;
        if r.cached {
            r.cost_usd = crate::cost::cost_usd(&prices[p], &r.usage);
        }
        if rep < repeats {
            // The table's position already says which item and provider a record is for; keep only what the
            // analysis reads, so a 100,000-item run stays small in memory.
            table[p][rep][i] = Some(Outcome::from_record(r, &mut interner));
        }
    }
    table
}

/// Provider `pi`'s scores of repeat 0 (the judge's metric joined) and, with repeats, their consistency.
fn repeat_scores(run: &RunInputs<'_>, pi: usize) -> (ProviderScores, Option<Value>) {
    let (score_items, score_idx) = match run.reference {
        Some(r) => (&r.items[..], Some(&r.idx[..])),
        None => (run.items, None),
    };
    let mut per_rep: Vec<ProviderScores> = run.table[pi]
        .iter()
        .map(|rep| {
            let refs: Vec<Option<&Outcome>> = match score_idx {
                Some(idx) => idx.iter().map(|&i| rep[i].as_ref()).collect(),
                None => rep.iter().map(Option::as_ref).collect(),
            };
            run.scorer.score(score_items, &refs)
        })
        .collect();
    let consistency = (per_rep.len() > 1).then(|| consistency(&per_rep));
    let mut s0 = per_rep.swap_remove(0);
    if let Some(j) = run.judge {
        j.inject(&run.ls.suite.providers[pi].id, &mut s0);
    }
    (s0, consistency)
}

/// How a provider's requests ended: settled or not, and why.
struct RequestCounts {
    n_ok: usize,
    n_errors: usize,
    n_missing: usize,
    errors_by_class: BTreeMap<String, usize>,
    unsettled_by_reason: BTreeMap<String, usize>,
}

fn request_counts(all: &[&Outcome], n_requests: usize) -> RequestCounts {
    let n_ok = all.iter().filter(|r| r.error().is_none()).count();
    let mut errors_by_class = BTreeMap::new();
    for r in all {
        if let Some(e) = r.error() {
            *errors_by_class
                .entry(e.class.as_str().to_string())
                .or_insert(0) += 1;
        }
    }
    let n_missing = n_requests - all.len();
    if n_missing > 0 {
        errors_by_class.insert("missing".into(), n_missing);
    }
    let mut unsettled_by_reason = BTreeMap::new();
    if n_missing > 0 {
        unsettled_by_reason.insert("missing".to_string(), n_missing);
    }
    for r in all {
        if state_of(Some(r)) == ItemState::Unsettled {
            if let Some(e) = r.error() {
                *unsettled_by_reason
                    .entry(e.class.as_str().to_string())
                    .or_insert(0) += 1;
            }
        }
    }
    RequestCounts {
        n_ok,
        n_errors: all.len() - n_ok,
        n_missing,
        errors_by_class,
        unsettled_by_reason,
    }
}

/// Every metric's interval: Wilson for proportions (0/1 scores), a t-interval for means of graded scores, the
/// bootstrap for corpus metrics.
fn metric_intervals(run: &RunInputs<'_>, s0: &ProviderScores) -> BTreeMap<String, stats::Interval> {
    let suite = &run.ls.suite;
    let conf = suite.gate.confidence;
    let mut metric_intervals = BTreeMap::new();
    for (name, v) in &s0.per_item {
        let iv = if v.iter().all(|x| *x == 0.0 || *x == 1.0) {
            stats::wilson(
                v.iter().filter(|x| **x == 1.0).count() as u64,
                v.len() as u64,
                conf,
                true,
            )
        } else {
            stats::t_interval(v, conf)
        };
        metric_intervals.insert(name.clone(), iv);
    }
    // Every corpus metric from the same resamples: one pass over the items per replicate, not one per metric.
    let corpus: Vec<&str> = s0
        .metrics
        .keys()
        .map(String::as_str)
        .filter(|k| !s0.per_item.contains_key(*k))
        .collect();
    let ivs = stats::bootstrap_intervals(
        s0.valid.len(),
        corpus.len(),
        |idx, out| run.scorer.metrics_on(s0, &corpus, idx, out),
        conf,
        suite.gate.bootstrap_iters,
        suite.run.seed,
    );
    for (name, iv) in corpus.iter().zip(ivs) {
        metric_intervals.insert(name.to_string(), iv);
    }
    metric_intervals
}

/// Token counts of successful requests, and the reported/estimated input ratios.
fn token_counts(all: &[&Outcome]) -> (Tokens, Vec<f64>) {
    let mut tokens = Tokens::default();
    let mut ratios = Vec::new();
    for r in all.iter().filter(|r| r.error().is_none()) {
        tokens.input += r.usage().input_tokens;
        tokens.output += r.usage().output_tokens;
        tokens.cached_input += r.usage().cached_input_tokens;
        tokens.reasoning += r.usage().reasoning_tokens;
        if r.usage().estimated {
            tokens.estimated_records += 1;
        } else if let Some(est) = r.est_input_tokens().filter(|e| *e > 0) {
            ratios.push(r.usage().input_tokens as f64 / est as f64);
        }
    }
    (tokens, ratios)
}

/// Provider `pi`'s results (without its gate verdict) and its scores of repeat 0.
fn provider_result(run: &RunInputs<'_>, pi: usize) -> (ProviderResult, ProviderScores) {
    let suite = &run.ls.suite;
    let p = &suite.providers[pi];
    let conf = suite.gate.confidence;
    let (s0, consistency) = repeat_scores(run, pi);
    let all: Vec<&Outcome> = run.table[pi].iter().flatten().flatten().collect();
    let n_requests = run.items.len() * suite.run.repeats.max(1) as usize;
    let counts = request_counts(&all, n_requests);
    // The error rate counts settled requests of repeat 0 only: an unsettled one says nothing about the provider.
    let states: Vec<ItemState> = run.table[pi][0]
        .iter()
        .map(|r| state_of(r.as_ref()))
        .collect();
    let settled_n = states
        .iter()
        .filter(|s| **s != ItemState::Unsettled)
        .count() as u64;
    let failed_items = states
        .iter()
        .filter(|s| matches!(s, ItemState::ItemError | ItemState::Reliability))
        .count() as u64;
    let n = s0.valid.len() as u64;
    let cost_total: f64 = sorted_sum(all.iter().map(|r| r.cost_usd));
    let cost_per_item = if n_requests == 0 {
        0.0
    } else {
        cost_total / n_requests as f64
    };
    // Cached responses count with the latency of the original request (stored with the cache entry), so a cached
    // and an uncached run judge latency on the same answers.
    let mut lat: Vec<f64> = all
        .iter()
        .filter(|r| r.error().is_none() && !r.batch)
        .map(|r| r.latency_ms)
        .collect();
    lat.sort_by(f64::total_cmp);
    let mut ttft: Vec<f64> = all
        .iter()
        .filter(|r| !r.cached)
        .filter_map(|r| r.ttft_ms())
        .collect();
    ttft.sort_by(f64::total_cmp);
    let (tokens, ratios) = token_counts(&all);
    let result = ProviderResult {
        id: p.id.clone(),
        role: p.role,
        kind: p.kind.as_str().into(),
        model: p.model.clone(),
        n_requests,
        n_ok: counts.n_ok,
        n_errors: counts.n_errors,
        n_missing: counts.n_missing,
        n_cached: all.iter().filter(|r| r.cached).count(),
        n_unsettled: counts.unsettled_by_reason.values().sum(),
        failure_summary: failure_summary(&all, n_requests),
        unsettled_by_reason: counts.unsettled_by_reason,
        error_rate: if settled_n == 0 {
            0.0
        } else {
            failed_items as f64 / settled_n as f64
        },
        error_rate_interval: stats::wilson(failed_items, settled_n, conf, true),
        errors_by_class: counts.errors_by_class,
        format_validity: if n == 0 {
            0.0
        } else {
            s0.valid.iter().filter(|v| **v).count() as f64 / n as f64
        },
        metrics: s0.metrics.clone(),
        metric_intervals: metric_intervals(run, &s0),
        cost_usd_total: cost_total,
        cost_usd_paid: sorted_sum(all.iter().filter(|r| !r.cached).map(|r| r.cost_usd)),
        cost_usd_per_item: cost_per_item,
        cost_usd_per_1k_items: cost_per_item * 1000.0,
        tokens,
        token_discrepancy: discrepancy(&ratios),
        latency_ms: percentiles(&lat),
        latency_from_cache: all
            .iter()
            .filter(|r| r.error().is_none() && r.cached)
            .count(),
        n_batch: all
            .iter()
            .filter(|r| r.error().is_none() && r.batch)
            .count(),
        ttft_ms: percentiles(&ttft),
        retries: all
            .iter()
            .map(|r| u64::from(r.attempts.saturating_sub(1)))
            .sum(),
        throttle: throttle(&all, p.concurrency.unwrap_or(suite.run.concurrency)),
        skipped_context: all.iter().filter(|r| is_preflight_skip(r)).count(),
        consistency,
        details: s0.details.clone(),
        stream_equivalence: stream_equivalence(p, run.items, &run.table[pi][0]),
        gate: None,
        human_review: None,
        judge: run.judge.and_then(|j| {
            let baseline = suite
                .providers
                .iter()
                .find(|b| b.role == ProviderRole::Baseline);
            j.result_for(
                &p.id,
                p.role == ProviderRole::Candidate,
                baseline.map(|b| b.id.as_str()),
                run.human,
                conf,
            )
        }),
        agreement: run.reference.map(|r| {
            agreement::provider_agreement(run.ls, run.scorer, r, run.items, &run.table[pi][0])
        }),
    };
    (result, s0)
}

/// Gate each candidate against the baseline (and attach its human review).
fn gate_candidates(
    run: &RunInputs<'_>,
    scores_r0: &[ProviderScores],
    provider_results: &mut [ProviderResult],
) {
    let suite = &run.ls.suite;
    let Some(bi) = suite
        .providers
        .iter()
        .position(|p| p.role == ProviderRole::Baseline)
    else {
        return;
    };
    let metric = suite.gate_metric();
    let conf = suite.gate.confidence;
    for ci in 0..suite.providers.len() {
        if ci == bi {
            continue;
        }
        let gated = suite
            .gate
            .candidates
            .as_ref()
            .is_none_or(|c| c.contains(&suite.providers[ci].id));
        let mut ev = evidence(
            run.ls,
            run.scorer,
            &metric,
            (&scores_r0[ci], &scores_r0[bi]),
            (&provider_results[ci], &provider_results[bi]),
            (&run.table[ci][0], &run.table[bi][0]),
            run.score_idx(),
        );
        let review = run
            .human
            .and_then(|h| h.review_for(&suite.providers[ci].id, &suite.providers[bi].id, conf));
        ev.human = review.as_ref().map(|r| human_evidence(r, &suite.gate));
        provider_results[ci].gate = Some(gate::decide(&suite.gate, &ev, gated));
        provider_results[ci].human_review = review;
    }
}

/// The run's results: completeness, exit code, recommendation around the providers' results.
fn results(run: &RunInputs<'_>, provider_results: Vec<ProviderResult>) -> Results {
    let suite = &run.ls.suite;
    let gate_refs: Vec<&GateResult> = provider_results
        .iter()
        .filter_map(|p| p.gate.as_ref())
        .collect();
    let mut unsettled_by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for p in &provider_results {
        for (k, v) in &p.unsettled_by_reason {
            *unsettled_by_reason.entry(k.clone()).or_insert(0) += v;
        }
    }
    if let Some(n) = run.judge.map(|j| j.unsettled()).filter(|&n| n > 0) {
        unsettled_by_reason.insert("judge_unsettled".into(), n);
    }
    let complete = unsettled_by_reason.is_empty();
    let gate_exit_code = if complete {
        gate::exit_code(&suite.gate, &gate_refs)
    } else {
        crate::error::exit::INCOMPLETE
    };
    let mut recommendation = recommend(&provider_results, complete, suite.gate.monthly_volume);
    if run.reference.is_some() {
        agreement::reword(&mut recommendation);
    }
    Results {
        evalh_version: env!("CARGO_PKG_VERSION").into(),
        suite: suite.name.clone(),
        task: suite.task,
        n_items: run.items.len(),
        repeats: suite.run.repeats,
        seed: suite.run.seed,
        gate_metric: suite.gate_metric(),
        gate_config: suite.gate.clone(),
        latency_method:
            "nearest rank (every reported value was observed) over successful requests; a cached response counts with the latency stored with its cache entry"
                .into(),
        price_table: crate::cost::PRICE_TABLE_SOURCE.into(),
        providers: provider_results,
        complete,
        unsettled_by_reason,
        gate_exit_code,
        judge: run.judge.map(|j| j.summary()),
        reference: run.reference.map(|r| r.summary(run.ls, run.items)),
        recommendation,
    }
}

/// The gate's view of a candidate's human review: acceptable decisions, their Wilson bounds, reviews to settle.
fn human_evidence(
    r: &crate::review::HumanReview,
    g: &crate::suite::GateSpec,
) -> gate::HumanEvidence {
    let a = &r.acceptable_rate;
    gate::HumanEvidence {
        acceptable: a.k,
        n: a.n,
        lower: a.lower,
        upper: a.upper,
        reviews_needed: g.human.and_then(|h| {
            crate::review::reviews_needed(a.k, a.n, h.min_acceptable_rate, g.confidence)
        }),
    }
}

fn sorted_sum(it: impl Iterator<Item = f64>) -> f64 {
    // Sum in a fixed order so completion order never changes the last bit.
    let mut v: Vec<f64> = it.collect();
    v.sort_by(f64::total_cmp);
    // `+ 0.0`: an empty sum is -0.0 in Rust, which would print as "-0.000".
    v.iter().sum::<f64>() + 0.0
}

fn percentiles(sorted: &[f64]) -> Percentiles {
    Percentiles {
        p50: stats::percentile_nearest_rank(sorted, 50.0),
        p95: stats::percentile_nearest_rank(sorted, 95.0),
        p99: stats::percentile_nearest_rank(sorted, 99.0),
    }
}

/// A record the context-window preflight wrote: a context-length error with no attempt made.
fn is_preflight_skip(r: &Outcome) -> bool {
    r.attempts == 0
        && r.error()
            .as_ref()
            .is_some_and(|e| e.class == crate::chat::ErrorClass::ContextLength)
}

fn throttle(records: &[&Outcome], configured: usize) -> Throttle {
    use crate::chat::ErrorClass;
    let mut t = Throttle {
        min_concurrency: u32::try_from(configured.max(1)).unwrap_or(u32::MAX),
        ..Throttle::default()
    };
    for r in records {
        let compare = r
            .stream_compare()
            .into_iter()
            .flat_map(|c| &c.attempt_errors);
        for c in r.attempt_errors().iter().chain(compare) {
            match c {
                ErrorClass::RateLimit => t.rate_limited += 1,
                ErrorClass::Overloaded => t.overloaded += 1,
                _ => {}
            }
        }
        if let Some(m) = r.min_concurrency() {
            t.min_concurrency = t.min_concurrency.min(m);
        }
    }
    t
}

fn discrepancy(ratios: &[f64]) -> TokenDiscrepancy {
    if ratios.is_empty() {
        return TokenDiscrepancy::default();
    }
    let mut sorted = ratios.to_vec();
    sorted.sort_by(f64::total_cmp);
    let m = sorted.iter().sum::<f64>() / sorted.len() as f64;
    let sd = if sorted.len() > 1 {
        Some(
            (sorted.iter().map(|r| (r - m).powi(2)).sum::<f64>() / (sorted.len() - 1) as f64)
                .sqrt(),
        )
    } else {
        None
    };
    TokenDiscrepancy {
        n: sorted.len(),
        ratio_mean: Some(m),
        ratio_sd: sd,
        ratio_min: sorted.first().copied(),
        ratio_max: sorted.last().copied(),
    }
}

/// Compare each repeat-0 record with its other-streaming-mode twin. None unless the provider asked for it (or the
/// journal holds comparisons from a run that did).
fn stream_equivalence(
    p: &crate::suite::ProviderSpec,
    items: &[Item],
    recs: &[Option<Outcome>],
) -> Option<StreamEquivalence> {
    let any = recs.iter().flatten().any(|r| r.stream_compare().is_some());
    if !p.compare_stream && !any {
        return None;
    }
    let mut eq = StreamEquivalence {
        compared_mode: if p.stream { "non_stream" } else { "stream" }.into(),
        ..Default::default()
    };
    let mut extra = Vec::new();
    for (item, rec) in items.iter().zip(recs) {
        let Some(r) = rec.as_ref().filter(|r| r.error().is_none()) else {
            continue;
        };
        let Some(c) = r.stream_compare() else {
            continue;
        };
        extra.push(c.cost_usd);
        let differs = if c.error.is_some() {
            eq.compare_errors += 1;
            true
        } else {
            eq.n += 1;
            let text = *r.output_text == *c.output_text;
            let tools = *r.tool_calls() == *c.tool_calls;
            let usage = r.usage() == c.usage;
            eq.text_equal += usize::from(text);
            eq.tool_calls_equal += usize::from(tools);
            eq.usage_equal += usize::from(usage);
            eq.finish_reason_equal +=
                usize::from(r.compared_finish_reason() == c.finish_reason.as_deref());
            !(text && tools && usage)
        };
        if differs && eq.differences.len() < 20 {
            eq.differences.push(item.id.clone());
        }
    }
    eq.extra_cost_usd = sorted_sum(extra.into_iter());
    Some(eq)
}

fn consistency(per_rep: &[ProviderScores]) -> Value {
    let n = per_rep[0].item_score.len();
    let k = per_rep.len();
    let mut all_agree = 0usize;
    let mut all_pass = 0usize;
    for i in 0..n {
        let first = per_rep[0].item_score[i];
        if per_rep.iter().all(|s| s.item_score[i] == first) {
            all_agree += 1;
        }
        if per_rep.iter().all(|s| s.item_score[i] >= 1.0) {
            all_pass += 1;
        }
    }
    let per_rep_mean: Vec<f64> = per_rep.iter().map(|s| score::mean(&s.item_score)).collect();
    serde_json::json!({
        "repeats": k,
        "consistent_items": if n == 0 { 0.0 } else { all_agree as f64 / n as f64 },
        "pass_hat_k": if n == 0 { 0.0 } else { all_pass as f64 / n as f64 },
        "mean_score_per_repeat": per_rep_mean,
    })
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ErrorClass;
    use crate::journal::{ErrorInfo, Record};

    fn o(r: Record) -> Outcome {
        r.into()
    }

    fn rec(attempts: u32, errors: &[ErrorClass], final_err: Option<ErrorClass>) -> Record {
        Record {
            item_id: "i".into(),
            provider_id: "p".into(),
            repeat: 0,
            request_hash: "h".into(),
            output_text: String::new(),
            tool_calls: vec![],
            finish_reason: None,
            usage: Default::default(),
            cost_usd: 0.0,
            latency_ms: 1.0,
            ttft_ms: None,
            attempts,
            error: final_err.map(|class| ErrorInfo::new(class, "m", None)),
            cached: false,
            est_input_tokens: Some(10),
            stream_compare: None,
            attempt_errors: errors.to_vec(),
            min_concurrency: None,
            batch: None,
        }
    }

    #[test]
    fn discrepancy_mean_sd_and_range() {
        let d = discrepancy(&[1.4, 1.0, 1.2]);
        assert_eq!(d.n, 3);
        assert!((d.ratio_mean.unwrap() - 1.2).abs() < 1e-12);
        // deviations -0.2, 0, 0.2 -> sample variance 0.08 / 2 = 0.04
        assert!((d.ratio_sd.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!((d.ratio_min, d.ratio_max), (Some(1.0), Some(1.4)));
        let one = discrepancy(&[1.3]);
        assert_eq!((one.n, one.ratio_mean, one.ratio_sd), (1, Some(1.3), None));
        assert_eq!(discrepancy(&[]), TokenDiscrepancy::default());
    }

    #[test]
    fn throttle_counts_every_throttled_attempt_and_keeps_the_lowest_limit() {
        let mut a = rec(3, &[ErrorClass::RateLimit, ErrorClass::Overloaded], None);
        a.min_concurrency = Some(4);
        let mut b = rec(
            2,
            &[ErrorClass::RateLimit, ErrorClass::RateLimit],
            Some(ErrorClass::RateLimit),
        );
        b.min_concurrency = Some(2);
        let c = rec(2, &[ErrorClass::ServerError], None);
        let t = throttle(&[&a.into(), &b.into(), &c.clone().into()], 8);
        assert_eq!(
            t,
            Throttle {
                rate_limited: 3,
                overloaded: 1,
                min_concurrency: 2
            }
        );
        assert_eq!(throttle(&[&c.into()], 8).min_concurrency, 8);
    }

    #[test]
    fn throttle_counts_the_stream_comparison_calls_attempts_too() {
        let mut a = rec(1, &[], None);
        a.stream_compare = Some(crate::journal::StreamCompare {
            stream: true,
            output_text: String::new(),
            tool_calls: vec![],
            finish_reason: None,
            usage: Default::default(),
            cost_usd: 0.0,
            latency_ms: 1.0,
            ttft_ms: None,
            attempts: 3,
            error: None,
            attempt_errors: vec![ErrorClass::Overloaded, ErrorClass::RateLimit],
        });
        a.min_concurrency = Some(3);
        let t = throttle(&[&a.into()], 8);
        assert_eq!((t.rate_limited, t.overloaded, t.min_concurrency), (1, 1, 3));
    }

    #[test]
    fn preflight_skips_are_told_apart_from_provider_context_errors() {
        assert!(is_preflight_skip(&o(rec(
            0,
            &[],
            Some(ErrorClass::ContextLength)
        ))));
        assert!(!is_preflight_skip(&o(rec(
            1,
            &[ErrorClass::ContextLength],
            Some(ErrorClass::ContextLength)
        ))));
        assert!(!is_preflight_skip(&o(rec(1, &[], None))));
    }
}
