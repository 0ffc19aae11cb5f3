//! Prices, context windows and the cost of one call.
//!
//! Why this module exists: "for <= 40% of the cost" is half of the promotion rule, so cost must follow each
//! provider's own usage semantics (cached input is a subset of input for OpenAI and Gemini; Anthropic reports cache
//! reads and writes separately — the provider clients normalise that into [`Usage`] before it gets here).
//!
//! The built-in table is pinned: taken from BerriAI/litellm `model_prices_and_context_window.json` as recorded in
//! evalh's reference notes (litellm 1.110.2, read 2026-08; retired models from litellm 1.75.0). A suite's `price:`
//! always wins over it.

use crate::chat::Usage;
use serde::{Deserialize, Serialize};

/// Prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Uncached input.
    pub input_per_mtok: f64,
    /// Output (reasoning included).
    pub output_per_mtok: f64,
    /// Cache reads; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_mtok: Option<f64>,
    /// Cache writes (Anthropic); the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_per_mtok: Option<f64>,
}

/// Date and source of the built-in table (shown in reports).
pub const PRICE_TABLE_SOURCE: &str =
    "litellm model_prices_and_context_window.json (1.110.2; retired models 1.75.0), pinned 2026-08";

/// A row of the built-in table.
#[derive(Debug, Clone, Copy)]
pub struct ModelInfo {
    /// Model name as providers spell it (matched case-insensitively; a trailing date suffix is tolerated).
    pub model: &'static str,
    /// Input $/1M.
    pub input: f64,
    /// Output $/1M.
    pub output: f64,
    /// Cached-input $/1M.
    pub cached: Option<f64>,
    /// Cache-write $/1M (Anthropic).
    pub cache_write: Option<f64>,
    /// Max input tokens.
    pub context_window: u64,
}

const fn m(
    model: &'static str,
    input: f64,
    output: f64,
    cached: Option<f64>,
    cache_write: Option<f64>,
    context_window: u64,
) -> ModelInfo {
    ModelInfo {
        model,
        input,
        output,
        cached,
        cache_write,
        context_window,
    }
}

/// The pinned table.
pub const MODELS: &[ModelInfo] = &[
    m("gpt-4o", 2.50, 10.00, Some(1.25), None, 128_000),
    m("gpt-4o-mini", 0.15, 0.60, Some(0.075), None, 128_000),
    m("gpt-4.1", 2.00, 8.00, Some(0.50), None, 1_047_576),
    m("gpt-4.1-mini", 0.40, 1.60, Some(0.10), None, 1_047_576),
    m("gpt-4.1-nano", 0.10, 0.40, Some(0.025), None, 1_047_576),
    m("o3-mini", 1.10, 4.40, Some(0.55), None, 200_000),
    m(
        "claude-3-5-haiku",
        0.80,
        4.00,
        Some(0.08),
        Some(1.00),
        200_000,
    ),
    m(
        "claude-3-7-sonnet",
        3.00,
        15.00,
        Some(0.30),
        Some(3.75),
        200_000,
    ),
    m(
        "claude-sonnet-4",
        3.00,
        15.00,
        Some(0.30),
        Some(3.75),
        200_000,
    ),
    m(
        "claude-sonnet-4-5",
        3.00,
        15.00,
        Some(0.30),
        Some(3.75),
        200_000,
    ),
    m(
        "claude-haiku-4-5",
        1.00,
        5.00,
        Some(0.10),
        Some(1.25),
        200_000,
    ),
    m("gemini-2.0-flash", 0.10, 0.40, Some(0.025), None, 1_048_576),
    m("gemini-2.5-flash", 0.30, 2.50, Some(0.03), None, 1_048_576),
    m("deepseek-chat", 0.28, 0.42, Some(0.028), None, 131_072),
    m("llama-3.1-8b-instant", 0.05, 0.08, None, None, 128_000),
    m(
        "mistral-small-latest",
        0.15,
        0.60,
        Some(0.015),
        None,
        262_144,
    ),
];

impl ModelInfo {
    /// The row's prices.
    pub fn price(&self) -> Price {
        Price {
            input_per_mtok: self.input,
            output_per_mtok: self.output,
            cached_input_per_mtok: self.cached,
            cache_write_per_mtok: self.cache_write,
        }
    }
}

/// Look a model up in the built-in table. Exact (case-insensitive) match first, then a dated variant
/// (`claude-3-5-haiku-20241022` → `claude-3-5-haiku`), then a provider prefix (`gemini/…`, `models/…`). The
/// simulator's models are never looked up (`suite::ProviderSpec::table_entry`).
pub fn lookup(model: &str) -> Option<&'static ModelInfo> {
    let lower = model.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    if let Some(mi) = MODELS.iter().find(|mi| mi.model == name) {
        return Some(mi);
    }
    // Strip a trailing date such as -20241022 or -2024-08-06.
    let undated = strip_date_suffix(name);
    MODELS.iter().find(|mi| mi.model == undated)
}

fn strip_date_suffix(name: &str) -> &str {
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    // -YYYYMMDD
    if let Some(last) = parts.first() {
        if last.len() == 8 && last.bytes().all(|b| b.is_ascii_digit()) {
            return &name[..name.len() - last.len() - 1];
        }
    }
    // -YYYY-MM-DD
    if parts.len() >= 4
        && parts[0].len() == 2
        && parts[1].len() == 2
        && parts[2].len() == 4
        && parts[..3]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return parts[3];
    }
    name
}

/// Cost in USD of one call's usage. `Usage.input_tokens` includes cached and cache-write tokens (normalised by the
/// clients); each part is billed at its own rate; output includes reasoning tokens.
pub fn cost_usd(price: &Price, u: &Usage) -> f64 {
    let cached = u.cached_input_tokens.min(u.input_tokens);
    let write = u.cache_write_tokens.min(u.input_tokens - cached);
    let plain = u.input_tokens - cached - write;
    let per = 1e-6;
    (plain as f64 * price.input_per_mtok
        + cached as f64 * price.cached_input_per_mtok.unwrap_or(price.input_per_mtok)
        + write as f64 * price.cache_write_per_mtok.unwrap_or(price.input_per_mtok)
        + u.output_tokens as f64 * price.output_per_mtok)
        * per
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_handles_dates_and_prefixes() {
        assert_eq!(lookup("gpt-4o").map(|m| m.input), Some(2.50));
        assert_eq!(lookup("GPT-4o-2024-08-06").map(|m| m.model), Some("gpt-4o"));
        assert_eq!(
            lookup("claude-3-5-haiku-20241022").map(|m| m.output),
            Some(4.00)
        );
        assert_eq!(
            lookup("models/gemini-2.5-flash").map(|m| m.input),
            Some(0.30)
        );
        assert!(lookup("my-local-model").is_none());
    }

    #[test]
    fn cost_bills_cached_and_output_separately() {
        let p = Price {
            input_per_mtok: 2.5,
            output_per_mtok: 10.0,
            cached_input_per_mtok: Some(1.25),
            cache_write_per_mtok: None,
        };
        let u = Usage {
            input_tokens: 1_000_000,
            cached_input_tokens: 400_000,
            output_tokens: 100_000,
            ..Default::default()
        };
        // 600k * 2.5 + 400k * 1.25 + 100k * 10 = 1.5 + 0.5 + 1.0
        assert!((cost_usd(&p, &u) - 3.0).abs() < 1e-12);
    }
}
