//! `evalh plan`: what a run will send and cost, before anything is spent.
//!
//! Why this module exists: nobody should learn the bill afterwards. The plan renders every prompt, counts its tokens
//! with a local tokenizer (o200k BPE; other vendors' tokenizers differ, so the estimate is marked as such), estimates
//! output tokens from the dataset's expected answers, prices both per provider and flags prompts that do not fit a
//! provider's context window. With a response cache it also counts the requests whose answer is already cached (the
//! same canonical request hash the runner looks up), which a run would not pay for. A suite's LLM judge gets its own
//! row: the calls it will owe when every answer succeeds, its prompts rendered with each item's reference (or an
//! answer of the estimated length) standing in for the answers it has not seen yet, and `max_tokens` of output per
//! call — the same upper bound the run's budget reserves.

use crate::cache::{Cache, Probe};
use crate::dataset::Item;
use crate::error::Result;
use crate::prompt::Prompter;
use crate::provider::{ChatRequest, RequestMeta};
use crate::suite::LoadedSuite;
use serde::Serialize;
use std::fmt::Write;

/// One provider's plan.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderPlan {
    /// Provider id.
    pub id: String,
    /// Requests (items × repeats).
    pub requests: u64,
    /// Estimated input tokens.
    pub input_tokens: u64,
    /// Estimated output tokens.
    pub output_tokens: u64,
    /// Estimated cost, USD.
    pub cost_usd: f64,
    /// Items whose prompt exceeds the context window.
    pub over_context: Vec<String>,
    /// Context window used for the check.
    pub context_window: Option<u64>,
    /// Requests already answered in the response cache (None: no cache consulted).
    pub cache_hits: Option<u64>,
    /// Estimated cost of the requests the cache cannot answer, USD.
    pub cost_usd_uncached: f64,
}

/// The plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Suite name.
    pub suite: String,
    /// Items.
    pub items: usize,
    /// Per provider.
    pub providers: Vec<ProviderPlan>,
    /// Sum of provider costs.
    pub total_cost_usd: f64,
    /// Sum of provider costs not covered by the cache.
    pub total_cost_usd_uncached: f64,
    /// The LLM judge's calls and cost when every answer succeeds (None: the suite has no judge). Included in both
    /// totals; its cache is not consulted.
    pub judge: Option<ProviderPlan>,
}

fn output_estimate(item: &Item) -> u64 {
    let text = match &item.expected {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    (text.len() as u64).div_ceil(4).max(1) + 2
}

/// Build the plan; with `cache`, count the requests it already answers.
pub fn plan(
    ls: &LoadedSuite,
    items: &[Item],
    prompter: &Prompter,
    cache: Option<&Cache>,
) -> Result<Plan> {
    let repeats = ls.suite.run.repeats.max(1);
    let tools = std::sync::Arc::new(ls.tools.clone());
    let tokens = crate::tokens::Tokenizer::o200k();
    let mut providers = Vec::new();
    for p in &ls.suite.providers {
        let price = p.price_in_force().unwrap_or_default();
        let window = p.context_window_in_force();
        let base_url = crate::runner::hash_endpoint(p, ls.suite.run.seed);
        let (mut inp, mut out) = (0u64, 0u64);
        let (mut hits, mut uncached_in, mut uncached_out) = (0u64, 0u64, 0u64);
        let mut over = Vec::new();
        for it in items {
            let msgs = prompter.messages(it, &p.id)?;
            let est = tokens.estimate_tokens(&msgs);
            let out_est = output_estimate(it);
            if window.is_some_and(|w| est > w) {
                over.push(it.id.clone());
            }
            inp += est * u64::from(repeats);
            out += out_est * u64::from(repeats);
            let req = ChatRequest {
                messages: msgs,
                tools: tools.clone(),
                meta: RequestMeta::default(),
            };
            for repeat in 0..repeats {
                let fresh = cache.is_some_and(|c| {
                    let hash = crate::runner::request_hash(p, &base_url, &req, repeat);
                    c.key(&hash, p).is_some_and(|k| c.probe(&k) == Probe::Fresh)
                });
                if fresh {
                    hits += 1;
                } else {
                    uncached_in += est;
                    uncached_out += out_est;
                }
            }
        }
        let price_of = |i: u64, o: u64| {
            (i as f64 * price.input_per_mtok + o as f64 * price.output_per_mtok) * 1e-6
        };
        providers.push(ProviderPlan {
            id: p.id.clone(),
            requests: items.len() as u64 * u64::from(repeats),
            input_tokens: inp,
            output_tokens: out,
            cost_usd: price_of(inp, out),
            over_context: over,
            context_window: window,
            cache_hits: cache.map(|_| hits),
            cost_usd_uncached: price_of(uncached_in, uncached_out),
        });
    }
    let judge = judge_plan(ls, items, prompter, &tokens)?;
    let judge_cost = judge.as_ref().map_or(0.0, |j| j.cost_usd);
    let total = providers.iter().map(|p| p.cost_usd).sum::<f64>() + judge_cost;
    let total_uncached = providers.iter().map(|p| p.cost_usd_uncached).sum::<f64>() + judge_cost;
    Ok(Plan {
        suite: ls.suite.name.clone(),
        items: items.len(),
        providers,
        total_cost_usd: total,
        total_cost_usd_uncached: total_uncached,
        judge,
    })
}

/// The judge's row: one call per (item, provider) in rubric mode, two per (item, candidate) in pairwise mode (both
/// orders), each prompt rendered with the item's reference — or a stand-in of the estimated answer length — as the
/// answers, and `max_tokens` (512 when unset) of output.
fn judge_plan(
    ls: &LoadedSuite,
    items: &[Item],
    prompter: &Prompter,
    tokens: &crate::tokens::Tokenizer,
) -> Result<Option<ProviderPlan>> {
    use crate::suite::ProviderRole;
    let Some(spec) = &ls.suite.judge else {
        return Ok(None);
    };
    let Some(baseline) = ls
        .suite
        .providers
        .iter()
        .find(|p| p.role == ProviderRole::Baseline)
    else {
        return Ok(None);
    };
    let templates = crate::judge::Templates::new(&ls.path, &spec.prompt())?;
    let per_item = spec.calls_per_item(&ls.suite.providers) as u64;
    let max_out = spec.max_output_tokens();
    let mut input_tokens = 0u64;
    for it in items {
        let input = crate::judge::judged_input(prompter, it, &baseline.id)?;
        let reference = crate::judge::reference_text(it);
        let answer = reference
            .clone()
            .unwrap_or_else(|| "x ".repeat(output_estimate(it) as usize));
        let msgs = templates.for_mode(
            spec.mode,
            it,
            &input,
            reference.as_deref(),
            &answer,
            &answer,
        )?;
        input_tokens += tokens.estimate_tokens(&msgs) * per_item;
    }
    let calls = items.len() as u64 * per_item;
    let output_tokens = calls * max_out;
    let price = spec.provider.price_in_force().unwrap_or_default();
    let cost = (input_tokens as f64 * price.input_per_mtok
        + output_tokens as f64 * price.output_per_mtok)
        * 1e-6;
    Ok(Some(ProviderPlan {
        id: format!("judge ({})", spec.provider.model),
        requests: calls,
        input_tokens,
        output_tokens,
        cost_usd: cost,
        over_context: Vec::new(),
        context_window: spec.provider.context_window_in_force(),
        cache_hits: None,
        cost_usd_uncached: cost,
    }))
}

/// Human-readable plan.
pub fn render(p: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "plan for {} ({} items); token counts are local o200k estimates",
        p.suite, p.items
    );
    let _ = writeln!(
        s,
        "{:<20} {:>9} {:>14} {:>14} {:>12} {:>14} {:>12}  context",
        "provider",
        "requests",
        "input tokens",
        "output tokens",
        "est. cost",
        "cache hits",
        "to pay"
    );
    for pp in &p.providers {
        let _ = writeln!(
            s,
            "{:<20} {:>9} {:>14} {:>14} {:>12} {:>14} {:>12}  {}",
            pp.id,
            pp.requests,
            pp.input_tokens,
            pp.output_tokens,
            crate::report::usd(pp.cost_usd),
            pp.cache_hits
                .map_or_else(|| "-".to_string(), |h| h.to_string()),
            crate::report::usd(pp.cost_usd_uncached),
            if pp.over_context.is_empty() {
                "ok".to_string()
            } else {
                format!(
                    "{} items exceed {} tokens",
                    pp.over_context.len(),
                    pp.context_window.unwrap_or(0)
                )
            }
        );
    }
    if let Some(j) = &p.judge {
        let _ = writeln!(
            s,
            "{:<20} {:>9} {:>14} {:>14} {:>12} {:>14} {:>12}  output: at most max_tokens per call",
            j.id,
            j.requests,
            j.input_tokens,
            j.output_tokens,
            crate::report::usd(j.cost_usd),
            "-",
            crate::report::usd(j.cost_usd_uncached),
        );
    }
    let hits: Option<u64> = p.providers.iter().map(|pp| pp.cache_hits).sum();
    match hits {
        Some(h) => {
            let _ = writeln!(
                s,
                "total estimated cost: {}; {h} of {} requests are cached, so a run would pay about {}",
                crate::report::usd(p.total_cost_usd),
                p.providers.iter().map(|pp| pp.requests).sum::<u64>(),
                crate::report::usd(p.total_cost_usd_uncached)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "total estimated cost: {} (response cache not consulted)",
                crate::report::usd(p.total_cost_usd)
            );
        }
    }
    s
}
