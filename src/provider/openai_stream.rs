//! Streaming chat completions (`stream: true`): assembling text, tool calls and usage from SSE chunks.
//!
//! Why this module exists: streamed tool calls arrive as fragments keyed by `index` (id and name only in the first,
//! arguments split mid-token, some providers omit the index or start it at 1 or send whole calls), usage may come
//! once, repeatedly (Groq sends it three times) or cumulatively on every chunk (vLLM), and errors can arrive in-band
//! after HTTP 200. The rules here: accumulate by index (a missing index means "a new call unless it continues the
//! last one"), keep the LAST usage object and never sum, ignore choices other than the first, and treat a stream that
//! ends without a finish reason or `[DONE]` as truncated. Each rule is exercised by a recording in `shared/wire/`
//! and a hand-written fixture in `tests/fixtures/wire/`.

use super::openai::{content_text, parse_usage};
use super::sse::Event;
use super::stream::{inband_error, Assemble};
use super::{Completion, ProviderError};
use crate::chat::{ErrorClass, ToolCall};
use serde_json::{Map, Value};

#[derive(Default)]
struct PartialCall {
    name: String,
    args: String,
    whole: Option<Value>,
}

/// Incremental state of one streamed OpenAI-style completion.
#[derive(Default)]
pub struct Assembler {
    text: String,
    refusal: String,
    calls: Vec<(i64, PartialCall)>,
    finish: Option<String>,
    usage: Option<super::Usage>,
    done: bool,
}

/// Synthetic keys for index-less calls sort after every real index, in arrival order.
const NO_INDEX_BASE: i64 = 1 << 40;

impl Assembler {
    fn tool_fragment(&mut self, tc: &Value) {
        let f = tc.get("function");
        let name = f
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let has_id = tc
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        let index = match tc.get("index").and_then(Value::as_i64) {
            Some(i) => i,
            // No index: a new call when it names a function or carries an id, else a continuation of the last.
            None if !name.is_empty() || has_id || self.calls.is_empty() => {
                NO_INDEX_BASE + self.calls.len() as i64
            }
            None => self.calls.last().map(|(i, _)| *i).unwrap_or(0),
        };
        let pos = match self.calls.iter().position(|(i, _)| *i == index) {
            Some(p) => p,
            None => {
                self.calls.push((index, PartialCall::default()));
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[pos].1;
        if !name.is_empty() && call.name.is_empty() {
            call.name = name.to_string();
        }
        match f.and_then(|f| f.get("arguments")) {
            Some(Value::String(s)) => call.args.push_str(s),
            Some(v @ Value::Object(_)) => call.whole = Some(v.clone()),
            _ => {}
        }
    }
}

impl Assemble for Assembler {
    fn event(&mut self, ev: &Event) -> Result<bool, ProviderError> {
        let v = match super::stream::decode(ev)? {
            super::stream::Payload::Empty => return Ok(false),
            super::stream::Payload::Done => {
                self.done = true;
                return Ok(false);
            }
            super::stream::Payload::Json(v) => v,
        };
        let data = ev.data.trim();
        if ev.event == "error" || v.get("error").is_some_and(|e| !e.is_null()) {
            return Err(inband_error(&v, data.chars().take(300).collect()));
        }
        if let Some(u) = v.get("usage").and_then(parse_usage) {
            self.usage = Some(u);
        }
        let Some(choices) = v.get("choices").and_then(Value::as_array) else {
            return Ok(false);
        };
        let mut output = false;
        for ch in choices {
            if ch.get("index").and_then(Value::as_i64).unwrap_or(0) != 0 {
                continue; // n > 1: only the first choice is scored
            }
            if let Some(fr) = ch.get("finish_reason").and_then(Value::as_str) {
                if fr == "error" {
                    return Err(ProviderError::new(
                        ErrorClass::StreamError,
                        "stream finished with finish_reason=error",
                    ));
                }
                self.finish = Some(fr.to_string());
            }
            let Some(delta) = ch.get("delta") else {
                continue;
            };
            let t = content_text(delta.get("content"));
            output |= !t.is_empty();
            self.text.push_str(&t);
            if let Some(Value::String(r)) = delta.get("refusal") {
                output |= !r.is_empty();
                self.refusal.push_str(r);
            }
            // Reasoning deltas (DeepSeek/llama.cpp `reasoning_content`, Groq/Ollama `reasoning`) are generated
            // tokens too: they count for time to first token but are not part of the answer.
            for k in ["reasoning_content", "reasoning"] {
                if let Some(Value::String(r)) = delta.get(k) {
                    output |= !r.is_empty();
                }
            }
            if let Some(tcs) = delta.get("tool_calls").and_then(Value::as_array) {
                for tc in tcs {
                    output = true;
                    self.tool_fragment(tc);
                }
            }
        }
        Ok(output)
    }

    fn finished(&self) -> bool {
        self.done || self.finish.is_some()
    }

    fn into_completion(mut self, ttft_ms: Option<f64>) -> Completion {
        self.calls.sort_by_key(|(i, _)| *i);
        let tool_calls = self
            .calls
            .into_iter()
            .map(|(_, c)| {
                let arguments = match c.whole {
                    Some(v) => v,
                    None if c.args.trim().is_empty() => Value::Object(Map::new()),
                    None => serde_json::from_str(&c.args).unwrap_or(Value::String(c.args)),
                };
                ToolCall {
                    name: c.name,
                    arguments,
                }
            })
            .collect();
        // Same rule as the non-streaming parser: a structured-output refusal is the text when there is no content.
        let text = if self.text.is_empty() {
            self.refusal
        } else {
            self.text
        };
        Completion {
            text,
            tool_calls,
            finish_reason: self.finish,
            usage: self.usage,
            ttft_ms,
            rate_limit: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::stream::assemble_bytes;

    fn run(s: &str) -> Result<Completion, ProviderError> {
        assemble_bytes(Assembler::default(), &[s.as_bytes()])
    }

    /// Run a fixture through the assembler, split into `step`-byte pieces (awkward boundaries on purpose).
    fn run_fixture(name: &str, step: usize) -> Result<Completion, ProviderError> {
        crate::provider::stream::assemble_fixture(Assembler::default(), name, step)
    }

    fn names(c: &Completion) -> Vec<&str> {
        c.tool_calls.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn fragments_by_index_and_last_usage() {
        let s = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"v\",\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\": \\\"Paris\\\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":3}}\n\n",
            "data: [DONE]\n\n"
        );
        let c = run(s).unwrap();
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].name, "w");
        assert_eq!(
            c.tool_calls[0].arguments,
            serde_json::json!({"city": "Paris"})
        );
        assert_eq!(c.usage.unwrap().input_tokens, 10);
    }

    #[test]
    fn inband_error_and_truncation() {
        let e = run("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n").unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamError);
        let e = run("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n")
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::TruncatedStream);
    }

    #[test]
    fn fixture_comments_crlf_multiline_padding_no_done() {
        for step in [1, 3, 7, 64, 4096] {
            let c = run_fixture("openai-stream-framing.sse", step).unwrap();
            assert_eq!(c.text, "Hello, world", "step {step}");
            assert_eq!(c.finish_reason.as_deref(), Some("stop"));
            let u = c.usage.unwrap();
            assert_eq!((u.input_tokens, u.output_tokens), (12, 4));
        }
    }

    #[test]
    fn fixture_index_from_one_and_id_only_first() {
        let c = run_fixture("openai-stream-tools-index1.sse", 5).unwrap();
        assert_eq!(c.text, "Let me look.");
        assert_eq!(names(&c), ["get_weather", "get_time"]);
        assert_eq!(
            c.tool_calls[0].arguments,
            serde_json::json!({"city": "Paris", "unit": "c"})
        );
        assert_eq!(c.tool_calls[1].arguments, serde_json::json!({}));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn fixture_missing_index_and_whole_calls() {
        let c = run_fixture("openai-stream-tools-noindex.sse", 11).unwrap();
        assert_eq!(names(&c), ["search", "lookup", "fetch"]);
        assert_eq!(
            c.tool_calls[0].arguments,
            serde_json::json!({"q": "rust sse"})
        );
        // A continuation without index, id or name extends the previous call.
        assert_eq!(
            c.tool_calls[2].arguments,
            serde_json::json!({"url": "https://x.test/a"})
        );
        // Gemini-compat says "stop" although it called tools: tool calls are still reported.
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn fixture_usage_repeated_and_cumulative_is_never_summed() {
        let c = run_fixture("openai-stream-usage-repeated.sse", 9).unwrap();
        let u = c.usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cached_input_tokens),
            (30, 9, 16)
        );
        assert_eq!(c.text, "one two three");
    }

    #[test]
    fn fixture_inband_error_after_200() {
        let e = run_fixture("openai-stream-inband-error.sse", 13).unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamError);
        assert!(e.message.contains("server_error"), "{}", e.message);
        let e = run_fixture("openai-stream-finish-error.sse", 13).unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamError);
    }

    #[test]
    fn fixture_reasoning_refusal_and_empty_filter_chunk() {
        let c = run_fixture("openai-stream-reasoning.sse", 6).unwrap();
        assert_eq!(c.text, "4");
        let u = c.usage.unwrap();
        // completion_tokens excludes reasoning here (total = prompt + completion + reasoning): output adds it.
        assert_eq!((u.output_tokens, u.reasoning_tokens), (23, 20));
        let c = run_fixture("openai-stream-refusal.sse", 4).unwrap();
        assert_eq!(c.text, "I can't help with that.");
    }

    #[test]
    fn fixture_truncated_without_finish() {
        let e = run_fixture("openai-stream-truncated.sse", 8).unwrap_err();
        assert_eq!(e.class, ErrorClass::TruncatedStream);
    }
}
