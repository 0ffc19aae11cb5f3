//! `evalh plan`: what a run will send and cost, before anything is spent.
//!
//! Why this module exists: nobody should learn the bill afterwards. The plan renders every prompt, counts its tokens
//! with a local tokenizer (o200k BPE; other vendors' tokenizers differ, so the estimate is marked as such), estimates
//! output tokens from the dataset's expected answers, prices both per provider and flags prompts that do not fit a
//! provider's context window.

use crate::dataset::Item;
use crate::error::Result;
use crate::prompt::Prompter;
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
}

fn output_estimate(item: &Item) -> u64 {
    let text = match &item.expected {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    (text.len() as u64).div_ceil(4).max(1) + 2
}

/// Build the plan.
pub fn plan(ls: &LoadedSuite, items: &[Item], prompter: &Prompter) -> Result<Plan> {
    let repeats = u64::from(ls.suite.run.repeats.max(1));
    let mut providers = Vec::new();
    for p in &ls.suite.providers {
        let price = crate::cost::price_for(p).unwrap_or_default();
        let window = crate::cost::context_window_for(p);
        let (mut inp, mut out) = (0u64, 0u64);
        let mut over = Vec::new();
        for it in items {
            let msgs = prompter.messages(it, &p.id)?;
            let est = crate::runner::estimate_tokens(&msgs);
            if window.is_some_and(|w| est > w) {
                over.push(it.id.clone());
            }
            inp += est;
            out += output_estimate(it);
        }
        inp *= repeats;
        out *= repeats;
        let cost = (inp as f64 * price.input_per_mtok + out as f64 * price.output_per_mtok) * 1e-6;
        providers.push(ProviderPlan {
            id: p.id.clone(),
            requests: items.len() as u64 * repeats,
            input_tokens: inp,
            output_tokens: out,
            cost_usd: cost,
            over_context: over,
            context_window: window,
        });
    }
    let total = providers.iter().map(|p| p.cost_usd).sum();
    Ok(Plan {
        suite: ls.suite.name.clone(),
        items: items.len(),
        providers,
        total_cost_usd: total,
    })
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
        "{:<20} {:>9} {:>14} {:>14} {:>12}  context",
        "provider", "requests", "input tokens", "output tokens", "est. cost"
    );
    for pp in &p.providers {
        let _ = writeln!(
            s,
            "{:<20} {:>9} {:>14} {:>14} {:>12}  {}",
            pp.id,
            pp.requests,
            pp.input_tokens,
            pp.output_tokens,
            crate::report::usd(pp.cost_usd),
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
    let _ = writeln!(
        s,
        "total estimated cost: {}",
        crate::report::usd(p.total_cost_usd)
    );
    s
}
