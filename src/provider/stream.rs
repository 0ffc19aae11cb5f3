//! The provider-independent half of streaming: bytes in, SSE events to a dialect's assembler, one [`Completion`] out.
//!
//! Why this module exists: every streaming client needs the same loop — read chunks under the idle timeout, split
//! them into SSE events, stamp the time of the first output token, notice a raw JSON error body sent without any
//! `data:` framing (Gemini does this after HTTP 200), and decide at the end whether the stream finished or was cut
//! off. Only the meaning of each event differs per provider; that part is an [`Assemble`] implementation.
//!
//! The loop is split in two: [`Driver`] is synchronous (feed bytes, then `end`), so unit and conformance tests run
//! recorded bodies through exactly the code the clients use; [`read`] wraps it around a live HTTP response.

use super::sse::{Event, Parser};
use super::{Completion, ProviderError, Timeouts};
use crate::chat::ErrorClass;
use serde_json::Value;
use std::time::Instant;

/// A provider dialect's stream state: applies events, knows when the stream is complete.
pub trait Assemble {
    /// Apply one SSE event. `Ok(true)` when the event carried model output (text or a tool-call fragment), which
    /// is what time-to-first-token measures; `Err` for an in-band error or an undecodable event.
    fn event(&mut self, ev: &Event) -> Result<bool, ProviderError>;
    /// Whether the stream reached its documented end (finish reason, `[DONE]`, `message_stop`, ...).
    fn finished(&self) -> bool;
    /// The assembled completion.
    fn into_completion(self, ttft_ms: Option<f64>) -> Completion;
}

/// Synchronous stream state: SSE parser + assembler + first-token time.
pub(super) struct Driver<A> {
    parser: Parser,
    asm: A,
    ttft_ms: Option<f64>,
}

impl<A: Assemble> Driver<A> {
    /// A driver around a fresh assembler.
    pub(super) fn new(asm: A) -> Self {
        Driver {
            parser: Parser::new(),
            asm,
            ttft_ms: None,
        }
    }

    /// Feed received bytes; `elapsed_ms` is the time since the request was sent (stamped on the first token).
    pub(super) fn feed(&mut self, bytes: &[u8], elapsed_ms: f64) -> Result<(), ProviderError> {
        for ev in self.parser.feed(bytes) {
            self.apply(&ev, elapsed_ms)?;
        }
        self.check_stray(false)
    }

    fn apply(&mut self, ev: &Event, elapsed_ms: f64) -> Result<(), ProviderError> {
        if self.asm.event(ev)? && self.ttft_ms.is_none() {
            self.ttft_ms = Some(elapsed_ms);
        }
        Ok(())
    }

    /// Lines outside SSE framing: a complete JSON object there is an in-band error body (Gemini sends the
    /// `google.rpc.Status` object raw, across several lines). Anything else is ignored as the SSE rules say,
    /// unless the stream also fails to finish (then it is quoted in the truncation error).
    fn check_stray(&mut self, at_end: bool) -> Result<(), ProviderError> {
        let stray = self.parser.stray.trim();
        if stray.is_empty() || !(stray.ends_with('}') || at_end) {
            return Ok(());
        }
        let Ok(v) = serde_json::from_str::<Value>(stray) else {
            return Ok(());
        };
        self.parser.stray.clear();
        if v.get("error").is_some_and(|e| !e.is_null()) {
            return Err(inband_error(&v, stray_text(&v)));
        }
        Ok(())
    }

    /// Whether an event carrying generated tokens has been seen.
    pub(super) fn first_token_seen(&self) -> bool {
        self.ttft_ms.is_some()
    }

    /// End of the byte stream: flush the parser and decide between a completion and a truncation error.
    pub(super) fn end(mut self, elapsed_ms: f64) -> Result<Completion, ProviderError> {
        if let Some(ev) = self.parser.finish() {
            self.apply(&ev, elapsed_ms)?;
        }
        self.check_stray(true)?;
        if !self.asm.finished() {
            let stray = self.parser.stray.trim();
            let mut msg = "stream ended before the provider signalled its end".to_string();
            if !stray.is_empty() {
                msg.push_str(": ");
                msg.extend(stray.chars().take(200));
            }
            return Err(ProviderError::new(ErrorClass::TruncatedStream, msg));
        }
        Ok(self.asm.into_completion(self.ttft_ms))
    }
}

fn stray_text(v: &Value) -> String {
    v.to_string().chars().take(300).collect()
}

/// A classified in-band error from a JSON error object (OpenAI, Anthropic or Gemini envelope).
pub(super) fn inband_error(v: &Value, fallback: String) -> ProviderError {
    let (etype, code, msg) = super::http::envelope(Some(v));
    let mut text = if msg.is_empty() { fallback } else { msg };
    let kind = if etype.is_empty() { &code } else { &etype };
    if !kind.is_empty() && !text.contains(kind.as_str()) {
        text = format!("{kind}: {text}");
    }
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    ProviderError {
        error_type: nonempty(etype),
        code: nonempty(code),
        ..ProviderError::new(ErrorClass::StreamError, text)
    }
}

/// Run a whole recorded body through an assembler (tests, conformance checks and non-HTTP callers).
pub fn assemble_bytes<A: Assemble>(asm: A, chunks: &[&[u8]]) -> Result<Completion, ProviderError> {
    let mut d = Driver::new(asm);
    for c in chunks {
        d.feed(c, 0.0)?;
    }
    d.end(0.0)
}

/// Read a live SSE response to its end. `started` is when the request was sent (for time to first token).
///
/// Until the first generated token the stream must deliver within the first-byte budget (measured from `started`,
/// keep-alive comments do not extend it); after that, each gap between chunks is bounded by the idle timeout.
pub(super) async fn read<A: Assemble>(
    mut resp: reqwest::Response,
    t: &Timeouts,
    started: Instant,
    asm: A,
) -> Result<Completion, ProviderError> {
    let mut d = Driver::new(asm);
    let ms = || started.elapsed().as_secs_f64() * 1000.0;
    loop {
        let left = t.first_byte.saturating_sub(started.elapsed());
        let first_byte_bound = !d.first_token_seen() && left < t.idle;
        let wait = if first_byte_bound { left } else { t.idle };
        let chunk = match tokio::time::timeout(wait, resp.chunk()).await {
            Err(_) => {
                let why = if first_byte_bound {
                    format!("no token within {:?} of sending", t.first_byte)
                } else {
                    format!("stream idle for {:?}", t.idle)
                };
                return Err(ProviderError::new(ErrorClass::Timeout, why));
            }
            Ok(Err(e)) => {
                let mut pe = super::http::transport_error(&e);
                pe.class = ErrorClass::TruncatedStream;
                return Err(pe);
            }
            Ok(Ok(c)) => c,
        };
        match chunk {
            Some(c) => d.feed(&c, ms())?,
            None => return d.end(ms()),
        }
    }
}

/// Whether a response is an event stream. A server that ignores `stream: true` and answers with one JSON body
/// (some proxies and local servers do) is then parsed as a non-streaming response instead.
/// The response half of every client's exchange: a 2xx event stream (when streaming was asked for) is assembled by
/// `asm`; anything else is read whole — a non-2xx status becomes a classified [`ProviderError`], a 2xx body is
/// handed to `parse` (also when a server ignored `stream: true` and answered with plain JSON).
pub(super) async fn respond<A: Assemble>(
    resp: reqwest::Response,
    streaming: bool,
    t: &Timeouts,
    started: Instant,
    asm: A,
    parse: fn(&[u8]) -> Result<Completion, ProviderError>,
) -> Result<Completion, ProviderError> {
    let status = resp.status().as_u16();
    let ok = (200..300).contains(&status);
    // The rate limits ride on every answer; an error status's are read by `http_error` with its retry hints.
    let limits = if ok {
        super::limits::rate_limit_info(resp.headers())
    } else {
        None
    };
    let with_limits = |r: Result<Completion, ProviderError>| match r {
        Ok(c) => Ok(Completion {
            rate_limit: limits,
            ..c
        }),
        Err(e) => Err(ProviderError {
            rate_limit: e.rate_limit.or(limits.map(Box::new)),
            ..e
        }),
    };
    if streaming && ok && is_event_stream(resp.headers()) {
        return with_limits(read(resp, t, started, asm).await);
    }
    // Headers matter only for an error's retry hints: a success does not copy them.
    let headers = (!ok).then(|| resp.headers().clone());
    let bytes = match super::http::read_body(resp, t).await {
        Ok(b) => b,
        Err(e) => {
            let limits =
                limits.or_else(|| headers.as_ref().and_then(super::limits::rate_limit_info));
            return Err(ProviderError {
                rate_limit: e.rate_limit.or(limits.map(Box::new)),
                ..e
            });
        }
    };
    if let Some(headers) = headers {
        return Err(super::http::http_error(status, &headers, &bytes));
    }
    with_limits(parse(&bytes))
}

/// What one SSE event's `data` holds, decoded the same way for every protocol.
pub(super) enum Payload {
    /// Nothing to apply (an empty `data:`).
    Empty,
    /// The OpenAI-style `[DONE]` sentinel.
    Done,
    /// A JSON object or value.
    Json(serde_json::Value),
}

/// Decode an event's `data`: blank → [`Payload::Empty`], `[DONE]` → [`Payload::Done`], else JSON (an undecodable
/// payload is a retryable `malformed_response`).
pub(super) fn decode(ev: &Event) -> Result<Payload, ProviderError> {
    let data = ev.data.trim();
    if data.is_empty() {
        return Ok(Payload::Empty);
    }
    if data == "[DONE]" {
        return Ok(Payload::Done);
    }
    serde_json::from_str(data).map(Payload::Json).map_err(|e| {
        ProviderError::new(
            super::ErrorClass::MalformedResponse,
            format!(
                "stream event is not JSON ({e}): {}",
                data.chars().take(200).collect::<String>()
            ),
        )
    })
}

pub(super) fn is_event_stream(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| !ct.to_ascii_lowercase().contains("application/json"))
}

/// A recorded wire body from `tests/fixtures/wire/`.
#[cfg(test)]
pub(super) fn wire_fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A recorded wire body from `tests/fixtures/wire/` run through `asm` in `step`-byte pieces (awkward boundaries on
/// purpose): the one fixture reader of every dialect's tests.
#[cfg(test)]
pub(super) fn assemble_fixture<A: Assemble>(
    asm: A,
    name: &str,
    step: usize,
) -> Result<Completion, ProviderError> {
    let bytes = wire_fixture(name);
    let chunks: Vec<&[u8]> = bytes.chunks(step.max(1)).collect();
    assemble_bytes(asm, &chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts events; finished after an event named `end`.
    #[derive(Default)]
    struct Count {
        n: usize,
        done: bool,
    }

    impl Assemble for Count {
        fn event(&mut self, ev: &Event) -> Result<bool, ProviderError> {
            self.n += 1;
            if ev.event == "end" {
                self.done = true;
            }
            Ok(ev.data == "token")
        }
        fn finished(&self) -> bool {
            self.done
        }
        fn into_completion(self, ttft_ms: Option<f64>) -> Completion {
            Completion {
                text: self.n.to_string(),
                ttft_ms,
                ..Default::default()
            }
        }
    }

    #[test]
    fn ttft_is_stamped_on_the_first_output_event() {
        let mut d = Driver::new(Count::default());
        d.feed(b"data: meta\n\n", 5.0).unwrap();
        d.feed(b"data: token\n\n", 9.0).unwrap();
        d.feed(b"data: token\n\nevent: end\ndata: x\n\n", 12.0)
            .unwrap();
        let c = d.end(20.0).unwrap();
        assert_eq!(c.ttft_ms, Some(9.0));
        assert_eq!(c.text, "4");
    }

    #[test]
    fn raw_json_error_without_data_prefix_is_an_inband_error() {
        let mut d = Driver::new(Count::default());
        d.feed(
            b"data: token\r\n\r\n{\n  \"error\": {\n    \"code\": 503,\n",
            1.0,
        )
        .unwrap();
        let e = d
            .feed(
                b"    \"message\": \"busy\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n",
                2.0,
            )
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamError);
        assert!(e.message.contains("busy"), "{}", e.message);
        assert!(e.message.contains("UNAVAILABLE"), "{}", e.message);
    }

    #[test]
    fn unfinished_stream_is_truncated_and_quotes_stray_text() {
        let e =
            assemble_bytes(Count::default(), &[b"data: token\n\nupstream reset\n"]).unwrap_err();
        assert_eq!(e.class, ErrorClass::TruncatedStream);
        assert!(e.message.contains("upstream reset"));
        // Unknown non-JSON lines are ignored when the stream does finish.
        assert!(
            assemble_bytes(Count::default(), &[b"weird line\nevent: end\ndata: x\n\n"]).is_ok()
        );
    }
}
