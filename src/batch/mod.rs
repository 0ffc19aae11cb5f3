//! Provider batch APIs (OpenAI / Azure Batch, Anthropic Message Batches, Gemini batch mode): the wire side.
//!
//! Why this module exists: batch endpoints answer the same requests at half the price within hours, through four
//! different envelopes — a JSONL line per request with a caller-chosen id, a batch object whose status says when to
//! download, and a results file in any order whose lines are successes, per-request HTTP errors, or requests the
//! batch never ran (expired, cancelled). This module turns the rendered request bodies the interactive clients build
//! (so the request hash and the cache are the same) into batch request lines, and the batch objects and result lines
//! back into evalh's [`crate::provider::Completion`] / classified [`crate::provider::ProviderError`] — or into
//! "unsettled", for a request the batch did not run, which must stay resumable and never be scored
//! (docs/gate.md's evidence contract). Mapping is by custom id, never by position.
//!
//! [`batch_price`] gives the batch rate of a provider from its interactive list price.
//!
//! [`BatchClient`] drives each dialect's endpoints (OpenAI, Azure, Anthropic, Gemini inline; the simulator speaks
//! them all); the runner (`crate::runner`) submits, polls and journals batches through it.

mod client;
mod price;
#[cfg(test)]
mod tests;
mod wire;

pub use client::{dialect_of, result_files, BatchClient};
pub use price::batch_price;
pub use wire::{
    custom_id, failure_reason, parse_gemini_inline, parse_result_line, request_line, state,
    BatchState, Dialect, Outcome,
};
