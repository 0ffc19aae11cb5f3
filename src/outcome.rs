//! The part of a journal record that scoring, the summary and the reports read: one [`Outcome`] per request.
//!
//! Why this module exists: the analysis holds one entry per request (items × providers × repeats) at the same time —
//! two million of them for a 1,000,000-item run with two providers. A full journal [`Record`] is about 500 bytes with
//! its strings; an `Outcome` is 80 bytes inline and allocates nothing of its own for a plain answer:
//!
//! - token counts are kept as `u32` (a request's count never comes near 4 billion; one that did would be kept whole
//!   in the boxed rare part, so nothing is ever rounded);
//! - the rare parts — tool calls, the error, the attempt history, the stream comparison, the throttled concurrency —
//!   are one boxed [`Rare`], absent for a plain successful text answer;
//! - the text is an `Arc<str>`, and [`Interner`] shares one allocation among equal short answers (a classifier's two
//!   million answers are a handful of labels).

use crate::chat::{ErrorClass, ToolCall, Usage};
use crate::journal::{ErrorInfo, Record, StreamCompare};
use std::collections::HashMap;
use std::sync::Arc;

/// What the analysis keeps of one journal record.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Text output.
    pub output_text: Arc<str>,
    /// Cost in USD (for a cached record: valued at the provider's price, see `summary::analyse`).
    pub cost_usd: f64,
    /// Wall time of the successful (or last) attempt, ms.
    pub latency_ms: f64,
    /// Time to first token (streaming), ms; NaN when there is none (JSON cannot hold a NaN, so none is lost).
    ttft_ms: f64,
    /// Input, output, cached input, cache-write and reasoning tokens (all zero when `rare.usage` holds them).
    tokens: [u32; 5],
    /// Local token estimate of the prompt, when `flags` has [`HAS_EST`].
    est_input: u32,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
    /// [`ESTIMATED`], [`HAS_EST`].
    flags: u8,
    /// Served from the response cache.
    pub cached: bool,
    /// Answered through a provider batch: latency not measured.
    pub batch: bool,
    /// Everything a plain successful text answer does not have.
    rare: Option<Box<Rare>>,
}

/// `Usage::estimated`.
const ESTIMATED: u8 = 1;
/// `est_input` holds the local estimate.
const HAS_EST: u8 = 2;

/// Parts of a record most requests do not have.
#[derive(Debug, Clone, PartialEq, Default)]
struct Rare {
    tool_calls: Box<[ToolCall]>,
    error: Option<ErrorInfo>,
    attempt_errors: Box<[ErrorClass]>,
    /// The record's finish reason, kept only to compare it with the stream comparison's.
    finish_reason: Option<Box<str>>,
    stream_compare: Option<Box<StreamCompare>>,
    min_concurrency: Option<u32>,
    /// The usage, when a count does not fit in `u32`.
    usage: Option<Usage>,
    /// The local estimate, when it does not fit in `u32`.
    est_input_tokens: Option<u64>,
}

impl Outcome {
    /// Token usage (zeros on error).
    pub fn usage(&self) -> Usage {
        if let Some(u) = self.rare.as_deref().and_then(|r| r.usage) {
            return u;
        }
        let [input, output, cached, write, reasoning] = self.tokens.map(u64::from);
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: cached,
            cache_write_tokens: write,
            reasoning_tokens: reasoning,
            estimated: self.flags & ESTIMATED != 0,
        }
    }

    /// The error, if the request finally failed.
    pub fn error(&self) -> Option<&ErrorInfo> {
        self.rare.as_deref().and_then(|r| r.error.as_ref())
    }

    /// Whether the request finally succeeded.
    pub fn is_ok(&self) -> bool {
        self.error().is_none()
    }

    /// Tool calls (empty for a text answer).
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.rare.as_deref().map_or(&[], |r| &r.tool_calls)
    }

    /// Time to first token (streaming), ms.
    pub fn ttft_ms(&self) -> Option<f64> {
        (!self.ttft_ms.is_nan()).then_some(self.ttft_ms)
    }

    /// Local token estimate of the prompt.
    pub fn est_input_tokens(&self) -> Option<u64> {
        if self.flags & HAS_EST != 0 {
            return Some(u64::from(self.est_input));
        }
        self.rare.as_deref().and_then(|r| r.est_input_tokens)
    }

    /// The adaptive concurrency limit after this request's throttled attempts.
    pub fn min_concurrency(&self) -> Option<u32> {
        self.rare.as_deref().and_then(|r| r.min_concurrency)
    }

    /// The class of every failed attempt, in order.
    pub fn attempt_errors(&self) -> &[ErrorClass] {
        self.rare.as_deref().map_or(&[], |r| &r.attempt_errors)
    }

    /// The other-streaming-mode call, if one was made.
    pub fn stream_compare(&self) -> Option<&StreamCompare> {
        self.rare
            .as_deref()
            .and_then(|r| r.stream_compare.as_deref())
    }

    /// The provider's finish reason; kept only for records with a stream comparison (None otherwise).
    pub fn compared_finish_reason(&self) -> Option<&str> {
        self.rare
            .as_deref()
            .and_then(|r| r.finish_reason.as_deref())
    }

    /// The outcome of a record, its text shared through `interner`.
    pub fn from_record(r: Record, interner: &mut Interner) -> Self {
        let mut rare = Rare {
            tool_calls: r.tool_calls.into_boxed_slice(),
            error: r.error,
            attempt_errors: r.attempt_errors.into_boxed_slice(),
            finish_reason: r
                .stream_compare
                .as_ref()
                .and(r.finish_reason)
                .map(String::into_boxed_str),
            stream_compare: r.stream_compare.map(Box::new),
            min_concurrency: r.min_concurrency,
            usage: None,
            est_input_tokens: None,
        };
        let u = r.usage;
        let counts = [
            u.input_tokens,
            u.output_tokens,
            u.cached_input_tokens,
            u.cache_write_tokens,
            u.reasoning_tokens,
        ];
        let mut tokens = [0u32; 5];
        if counts.iter().all(|c| u32::try_from(*c).is_ok()) {
            tokens = counts.map(|c| c as u32);
        } else {
            rare.usage = Some(u);
        }
        let mut flags = if u.estimated { ESTIMATED } else { 0 };
        let mut est_input = 0;
        match r.est_input_tokens.map(u32::try_from) {
            Some(Ok(e)) => {
                est_input = e;
                flags |= HAS_EST;
            }
            Some(Err(_)) => rare.est_input_tokens = r.est_input_tokens,
            None => {}
        }
        Outcome {
            output_text: interner.intern(r.output_text),
            cost_usd: r.cost_usd,
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms.unwrap_or(f64::NAN),
            tokens,
            est_input,
            attempts: r.attempts,
            flags,
            cached: r.cached,
            batch: r.batch.is_some(),
            rare: (rare != Rare::default()).then(|| Box::new(rare)),
        }
    }
}

impl From<Record> for Outcome {
    fn from(r: Record) -> Self {
        Outcome::from_record(r, &mut Interner::default())
    }
}

/// Shares one allocation among equal short texts (a classifier's labels, a yes/no judge's answers). Texts longer
/// than [`Interner::MAX_LEN`] and new texts once [`Interner::MAX_ENTRIES`] are held get their own allocation, so
/// interning never costs more than a bounded table.
#[derive(Debug, Default)]
pub struct Interner {
    seen: HashMap<Box<str>, Arc<str>>,
}

impl Interner {
    /// Longest text shared.
    pub const MAX_LEN: usize = 64;
    /// Most distinct texts held.
    pub const MAX_ENTRIES: usize = 4096;

    /// `text` as a shared string.
    pub fn intern(&mut self, text: String) -> Arc<str> {
        if text.len() > Self::MAX_LEN {
            return Arc::from(text);
        }
        if let Some(a) = self.seen.get(text.as_str()) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(text.as_str());
        if self.seen.len() < Self::MAX_ENTRIES {
            self.seen.insert(text.into_boxed_str(), a.clone());
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            item_id: "i".into(),
            provider_id: "p".into(),
            repeat: 0,
            request_hash: "h".into(),
            output_text: "billing".into(),
            tool_calls: vec![],
            finish_reason: Some("stop".into()),
            usage: Usage::default(),
            cost_usd: 0.5,
            latency_ms: 3.0,
            ttft_ms: Some(1.0),
            attempts: 1,
            error: None,
            cached: false,
            est_input_tokens: Some(12),
            stream_compare: None,
            attempt_errors: vec![],
            min_concurrency: None,
            batch: None,
        }
    }

    #[test]
    fn a_plain_success_keeps_no_rare_part_and_its_fields() {
        let o = Outcome::from(record());
        assert!(o.rare.is_none());
        assert_eq!(&*o.output_text, "billing");
        assert_eq!(
            (o.cost_usd, o.latency_ms, o.ttft_ms()),
            (0.5, 3.0, Some(1.0))
        );
        assert_eq!(o.est_input_tokens(), Some(12));
        assert_eq!(o.usage(), record().usage);
        assert!(o.is_ok() && o.tool_calls().is_empty() && o.min_concurrency().is_none());
        assert!(o.attempt_errors().is_empty() && o.stream_compare().is_none());
        assert_eq!(o.compared_finish_reason(), None);
    }

    #[test]
    fn attempt_history_and_stream_comparison_survive() {
        let mut r = record();
        r.attempt_errors = vec![ErrorClass::RateLimit];
        let o = Outcome::from(r.clone());
        assert_eq!(o.attempt_errors(), [ErrorClass::RateLimit]);
        assert_eq!(o.compared_finish_reason(), None);
        r.stream_compare = Some(StreamCompare {
            stream: true,
            output_text: "billing".into(),
            tool_calls: vec![],
            finish_reason: Some("stop".into()),
            usage: Usage::default(),
            cost_usd: 0.1,
            latency_ms: 2.0,
            ttft_ms: None,
            attempts: 1,
            error: None,
            attempt_errors: vec![],
        });
        let o = Outcome::from(r);
        assert_eq!(o.stream_compare().map(|c| c.cost_usd), Some(0.1));
        assert_eq!(o.compared_finish_reason(), Some("stop"));
    }

    #[test]
    fn small_inline() {
        assert!(std::mem::size_of::<Option<Outcome>>() <= 80);
    }

    #[test]
    fn usage_and_estimates_round_trip_exactly_even_beyond_u32() {
        let mut r = record();
        r.usage = Usage {
            input_tokens: 1_000,
            output_tokens: 20,
            cached_input_tokens: 300,
            cache_write_tokens: 7,
            reasoning_tokens: 5,
            estimated: true,
        };
        r.ttft_ms = None;
        let o = Outcome::from(r.clone());
        assert!(o.rare.is_none());
        assert_eq!((o.usage(), o.ttft_ms()), (r.usage, None));
        r.usage.output_tokens = u64::from(u32::MAX) + 1;
        r.est_input_tokens = Some(u64::MAX);
        let o = Outcome::from(r.clone());
        assert_eq!(o.usage(), r.usage);
        assert_eq!(o.est_input_tokens(), Some(u64::MAX));
        r.est_input_tokens = None;
        assert_eq!(Outcome::from(r).est_input_tokens(), None);
    }

    #[test]
    fn errors_tool_calls_and_throttling_are_kept() {
        let mut r = record();
        r.error = Some(ErrorInfo {
            class: ErrorClass::ServerError,
            message: "boom".into(),
            status: Some(500),
            error_type: None,
            code: None,
        });
        r.tool_calls = vec![ToolCall {
            name: "f".into(),
            arguments: serde_json::json!({}),
        }];
        r.min_concurrency = Some(3);
        let o = Outcome::from(r.clone());
        assert_eq!(o.error(), r.error.as_ref());
        assert!(!o.is_ok());
        assert_eq!(o.tool_calls(), &r.tool_calls[..]);
        assert_eq!(o.min_concurrency(), Some(3));
    }

    #[test]
    fn equal_short_answers_share_one_allocation_and_long_ones_do_not() {
        let mut i = Interner::default();
        let a = i.intern("billing".into());
        let b = i.intern("billing".into());
        assert!(Arc::ptr_eq(&a, &b));
        let long = "x".repeat(Interner::MAX_LEN + 1);
        let (c, d) = (i.intern(long.clone()), i.intern(long.clone()));
        assert_eq!(c, d);
        assert!(!Arc::ptr_eq(&c, &d));
        for n in 0..Interner::MAX_ENTRIES + 10 {
            i.intern(n.to_string());
        }
        assert_eq!(i.seen.len(), Interner::MAX_ENTRIES);
    }
}
