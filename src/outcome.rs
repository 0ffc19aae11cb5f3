//! The part of a journal record that scoring, the summary and the reports read: one [`Outcome`] per request.
//!
//! Why this module exists: the analysis holds one entry per request (items × providers × repeats) at the same time,
//! and a full journal [`Record`] carries strings and rarely used parts (the stream comparison, the attempt history)
//! inline — about 500 bytes each, over 100 MB for a 100,000-item run with two providers. An `Outcome` keeps only what
//! is read after the journal, with the rare parts boxed so a plain successful request allocates nothing but its text.

use crate::chat::{ErrorClass, ToolCall, Usage};
use crate::journal::{ErrorInfo, Record, StreamCompare};

/// What the analysis keeps of one journal record.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Text output.
    pub output_text: Box<str>,
    /// Tool calls (empty: no allocation).
    pub tool_calls: Box<[ToolCall]>,
    /// Token usage (zeros on error).
    pub usage: Usage,
    /// Cost in USD (for a cached record: valued at the provider's price, see `summary::analyse`).
    pub cost_usd: f64,
    /// Wall time of the successful (or last) attempt, ms.
    pub latency_ms: f64,
    /// Time to first token (streaming), ms.
    pub ttft_ms: Option<f64>,
    /// Local token estimate of the prompt.
    pub est_input_tokens: Option<u64>,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
    /// The adaptive concurrency limit after this request's throttled attempts.
    pub min_concurrency: Option<u32>,
    /// Served from the response cache.
    pub cached: bool,
    /// Answered through a provider batch: latency not measured.
    pub batch: bool,
    /// Error, if the request finally failed.
    pub error: Option<Box<ErrorInfo>>,
    /// Attempt history and stream comparison, when there is any.
    rare: Option<Box<Rare>>,
}

/// Parts of a record most requests do not have.
#[derive(Debug, Clone, PartialEq)]
struct Rare {
    attempt_errors: Vec<ErrorClass>,
    /// The record's finish reason, kept only to compare it with the stream comparison's.
    finish_reason: Option<String>,
    stream_compare: Option<StreamCompare>,
}

impl Outcome {
    /// The class of every failed attempt, in order.
    pub fn attempt_errors(&self) -> &[ErrorClass] {
        self.rare.as_deref().map_or(&[], |r| &r.attempt_errors)
    }

    /// The other-streaming-mode call, if one was made.
    pub fn stream_compare(&self) -> Option<&StreamCompare> {
        self.rare.as_deref().and_then(|r| r.stream_compare.as_ref())
    }

    /// The provider's finish reason; kept only for records with a stream comparison (None otherwise).
    pub fn compared_finish_reason(&self) -> Option<&str> {
        self.rare
            .as_deref()
            .and_then(|r| r.finish_reason.as_deref())
    }
}

impl From<Record> for Outcome {
    fn from(r: Record) -> Self {
        let rare = (!r.attempt_errors.is_empty() || r.stream_compare.is_some()).then(|| {
            Box::new(Rare {
                attempt_errors: r.attempt_errors,
                finish_reason: r.stream_compare.as_ref().and(r.finish_reason),
                stream_compare: r.stream_compare,
            })
        });
        Outcome {
            output_text: r.output_text.into_boxed_str(),
            tool_calls: r.tool_calls.into_boxed_slice(),
            usage: r.usage,
            cost_usd: r.cost_usd,
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms,
            est_input_tokens: r.est_input_tokens,
            attempts: r.attempts,
            min_concurrency: r.min_concurrency,
            cached: r.cached,
            batch: r.batch.is_some(),
            error: r.error.map(Box::new),
            rare,
        }
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
        assert_eq!((o.cost_usd, o.latency_ms, o.ttft_ms), (0.5, 3.0, Some(1.0)));
        assert_eq!(o.est_input_tokens, Some(12));
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
    fn smaller_than_a_record() {
        assert!(std::mem::size_of::<Option<Outcome>>() * 2 < std::mem::size_of::<Record>());
    }
}
