//! Batch prices: what a request answered through a provider's batch API costs, from the interactive list price.
//!
//! Facts (shared/reference/batch.md, sections 1.11, 2, 3.6, 4.7 and 5; litellm's `*_batches` fields agree): input and
//! output at 50 % of the list price on all four batch APIs. Cached input differs: Anthropic halves cache reads and
//! writes too (the discounts stack); Gemini prices cache hits as interactive traffic (no stacking); OpenAI stacks
//! for the gpt-5 family and is undocumented for older models — there evalh keeps the interactive cached price, the
//! higher of the two possibilities, so a batch cost is never understated.

use crate::suite::{Price, ProviderKind};

/// The batch price of a provider kind, from its interactive list price; `None` where evalh knows no batch API.
pub fn batch_price(kind: ProviderKind, model: &str, list: &Price) -> Option<Price> {
    let half = |x: f64| x * 0.5;
    let cached_list = list.cached_input_per_mtok;
    let cached = match kind {
        ProviderKind::Anthropic => cached_list.map(half),
        ProviderKind::Gemini => cached_list.or(Some(list.input_per_mtok)),
        ProviderKind::Openai | ProviderKind::Azure
            if model.to_ascii_lowercase().starts_with("gpt-5") =>
        {
            cached_list.map(half)
        }
        // Undocumented stacking: the interactive cached price (or the interactive input price when the table has
        // no cached price), never less.
        ProviderKind::Openai | ProviderKind::Azure => cached_list.or(Some(list.input_per_mtok)),
        // The simulator prices its batches like a provider whose discounts stack.
        ProviderKind::Sim => cached_list.map(half),
    };
    let cache_write = match kind {
        ProviderKind::Anthropic => list.cache_write_per_mtok.map(half),
        _ => list.cache_write_per_mtok,
    };
    Some(Price {
        input_per_mtok: half(list.input_per_mtok),
        output_per_mtok: half(list.output_per_mtok),
        cached_input_per_mtok: cached,
        cache_write_per_mtok: cache_write,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(i: f64, o: f64, c: Option<f64>, w: Option<f64>) -> Price {
        Price {
            input_per_mtok: i,
            output_per_mtok: o,
            cached_input_per_mtok: c,
            cache_write_per_mtok: w,
        }
    }

    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-12,
            (None, None) => true,
            _ => false,
        }
    }

    #[test]
    fn anthropic_halves_everything_including_cache_reads_and_writes() {
        // claude-sonnet-4-5 per MTok: input 3, output 15, cache write 3.75, cache read 0.3 -> batch 1.5 / 7.5 /
        // 1.875 / 0.15 (reference 3.6, litellm `*_batches`).
        let b = batch_price(
            ProviderKind::Anthropic,
            "claude-sonnet-4-5",
            &p(3.0, 15.0, Some(0.3), Some(3.75)),
        )
        .unwrap();
        assert!(
            close(Some(b.input_per_mtok), Some(1.5)) && close(Some(b.output_per_mtok), Some(7.5))
        );
        assert!(
            close(b.cache_write_per_mtok, Some(1.875))
                && close(b.cached_input_per_mtok, Some(0.15))
        );
    }

    #[test]
    fn gemini_keeps_the_interactive_cache_price() {
        // gemini-2.5-flash per MTok: input 0.3 -> 0.15, output 2.5 -> 1.25, cache read 0.03 in both (reference 4.7).
        let b = batch_price(
            ProviderKind::Gemini,
            "gemini-2.5-flash",
            &p(0.3, 2.5, Some(0.03), None),
        )
        .unwrap();
        assert!(
            close(Some(b.input_per_mtok), Some(0.15)) && close(Some(b.output_per_mtok), Some(1.25))
        );
        assert!(close(b.cached_input_per_mtok, Some(0.03)));
    }

    #[test]
    fn openai_stacks_for_gpt5_and_never_understates_older_models() {
        // gpt-5 cached 0.125 -> 0.0625 per MTok in batch (reference 1.11).
        let b = batch_price(
            ProviderKind::Openai,
            "gpt-5",
            &p(1.25, 10.0, Some(0.125), None),
        )
        .unwrap();
        assert!(
            close(b.cached_input_per_mtok, Some(0.0625))
                && close(Some(b.input_per_mtok), Some(0.625))
        );
        let o = batch_price(
            ProviderKind::Azure,
            "gpt-4o",
            &p(2.5, 10.0, Some(1.25), None),
        )
        .unwrap();
        assert!(
            close(Some(o.input_per_mtok), Some(1.25)) && close(Some(o.output_per_mtok), Some(5.0))
        );
        assert!(
            close(o.cached_input_per_mtok, Some(1.25)),
            "undocumented stacking: the interactive cached price"
        );
    }

    #[test]
    fn a_batch_cost_is_half_the_interactive_cost_without_cache() {
        let list = p(2.5, 10.0, None, None);
        let u = crate::chat::Usage {
            input_tokens: 1_000,
            output_tokens: 200,
            ..Default::default()
        };
        for k in [
            ProviderKind::Openai,
            ProviderKind::Azure,
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
        ] {
            let b = batch_price(k, "m", &list).unwrap();
            let (full, batch) = (
                crate::cost::cost_usd(&list, &u),
                crate::cost::cost_usd(&b, &u),
            );
            assert!(
                (batch - full / 2.0).abs() < 1e-15,
                "{k:?}: {batch} vs {full}"
            );
        }
    }
}
