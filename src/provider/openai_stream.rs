//! Streaming chat completions (`stream: true`): assembling text, tool calls and usage from SSE chunks.
//!
//! Why this module exists: streamed tool calls arrive as fragments keyed by `index` (id and name only in the first,
//! arguments split mid-token, some providers omit the index or start it at 1 or send whole calls), usage may come
//! once, repeatedly or cumulatively, and errors can arrive in-band after HTTP 200. The rules here: accumulate by index
//! (a missing index means "a new call unless it continues the last one"), keep the LAST usage object, and treat a
//! stream that ends without a finish reason or `[DONE]` as truncated.

use super::openai::{content_text, parse_usage};
use super::sse::{Event, Parser};
use super::{Completion, ErrorClass, ProviderError, Timeouts, ToolCall};
use serde_json::{Map, Value};
use std::time::Instant;

#[derive(Default)]
struct PartialCall {
    name: String,
    args: String,
    whole: Option<Value>,
}

/// Incremental state of one streamed completion.
#[derive(Default)]
pub struct Assembler {
    text: String,
    calls: Vec<(i64, PartialCall)>,
    finish: Option<String>,
    usage: Option<super::Usage>,
    done: bool,
}

impl Assembler {
    /// Apply one SSE event. Returns Err on an in-band error.
    pub fn event(&mut self, ev: &Event) -> Result<(), ProviderError> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ProviderError::new(
                ErrorClass::MalformedResponse,
                format!(
                    "stream chunk is not JSON ({e}): {}",
                    &data[..data.len().min(200)]
                ),
            )
        })?;
        if ev.event == "error" || v.get("error").is_some_and(|e| !e.is_null()) {
            let (_, _, msg) = super::http::envelope(Some(&v));
            return Err(ProviderError::new(
                ErrorClass::StreamError,
                if msg.is_empty() {
                    data.to_string()
                } else {
                    msg
                },
            ));
        }
        if let Some(u) = v.get("usage").and_then(parse_usage) {
            self.usage = Some(u);
        }
        let Some(choices) = v.get("choices").and_then(Value::as_array) else {
            return Ok(());
        };
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
            self.text.push_str(&content_text(delta.get("content")));
            if let Some(tcs) = delta.get("tool_calls").and_then(Value::as_array) {
                for tc in tcs {
                    self.tool_fragment(tc);
                }
            }
        }
        Ok(())
    }

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
                self.calls.len() as i64 + 1_000_000
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

    /// Whether the stream said it was finished.
    pub fn finished(&self) -> bool {
        self.done || self.finish.is_some()
    }

    /// The assembled completion.
    pub fn into_completion(mut self, ttft_ms: Option<f64>) -> Completion {
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
        Completion {
            text: self.text,
            tool_calls,
            finish_reason: self.finish,
            usage: self.usage,
            ttft_ms,
        }
    }
}

/// Read an OpenAI-style SSE response to the end.
pub async fn read(mut resp: reqwest::Response, t: &Timeouts) -> Result<Completion, ProviderError> {
    let started = Instant::now();
    let mut parser = Parser::new();
    let mut asm = Assembler::default();
    let mut ttft = None;
    loop {
        let chunk = match tokio::time::timeout(t.idle, resp.chunk()).await {
            Err(_) => {
                return Err(ProviderError::new(
                    ErrorClass::Timeout,
                    format!("stream idle for {:?}", t.idle),
                ))
            }
            Ok(Err(e)) => {
                let mut pe = super::http::transport_error(&e);
                pe.class = ErrorClass::TruncatedStream;
                return Err(pe);
            }
            Ok(Ok(c)) => c,
        };
        let Some(chunk) = chunk else { break };
        for ev in parser.feed(&chunk) {
            if ttft.is_none() && ev.data.contains("\"delta\"") {
                ttft = Some(started.elapsed().as_secs_f64() * 1000.0);
            }
            asm.event(&ev)?;
        }
    }
    if let Some(ev) = parser.finish() {
        asm.event(&ev)?;
    }
    if !parser.stray.trim().is_empty() {
        let v: Option<Value> = serde_json::from_str(parser.stray.trim()).ok();
        let (_, _, msg) = super::http::envelope(v.as_ref());
        return Err(ProviderError::new(
            ErrorClass::StreamError,
            if msg.is_empty() {
                parser.stray.trim().chars().take(300).collect()
            } else {
                msg
            },
        ));
    }
    if !asm.finished() {
        return Err(ProviderError::new(
            ErrorClass::TruncatedStream,
            "stream ended without a finish reason or [DONE]",
        ));
    }
    Ok(asm.into_completion(ttft))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Result<Completion, ProviderError> {
        let mut p = Parser::new();
        let mut a = Assembler::default();
        for ev in p.feed(s.as_bytes()).into_iter().chain(p.finish()) {
            a.event(&ev)?;
        }
        if !a.finished() {
            return Err(ProviderError::new(ErrorClass::TruncatedStream, "x"));
        }
        Ok(a.into_completion(None))
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
    fn indexless_whole_calls() {
        let s = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"x\",\"function\":{\"name\":\"a\",\"arguments\":\"{\\\"q\\\":1}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"y\",\"function\":{\"name\":\"b\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"stop\"}]}\n\n",
        );
        let c = run(s).unwrap();
        assert_eq!(
            c.tool_calls
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
