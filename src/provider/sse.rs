//! Server-sent events, parsed incrementally from a byte stream.
//!
//! Why this module exists: every streaming provider frames its events as SSE, and each breaks naive line splitting
//! somewhere (CRLF separators from Gemini, `: keep-alive` comments from DeepSeek and OpenRouter, multi-line `data:`,
//! padded JSON from Anthropic, streams that end without `[DONE]`). This parser follows the WHATWG event-stream rules
//! and knows nothing about any provider.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// `event:` field (empty = "message").
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental parser: feed bytes, take complete events.
#[derive(Debug, Default)]
pub(super) struct Parser {
    buf: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
    /// Lines that were not SSE fields (e.g. a raw JSON error body sent without `data:`), kept for diagnostics.
    pub stray: String,
}

impl Parser {
    /// A fresh parser.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Add bytes; returns the events completed by them.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < self.buf.len() {
            let b = self.buf[i];
            if b == b'\n' || b == b'\r' {
                // A lone trailing '\r' might be the first half of CRLF: wait for more bytes.
                if b == b'\r' && i + 1 == self.buf.len() {
                    break;
                }
                let line = String::from_utf8_lossy(&self.buf[start..i]).into_owned();
                if b == b'\r' && self.buf.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                i += 1;
                start = i;
                if let Some(ev) = self.line(&line) {
                    out.push(ev);
                }
                continue;
            }
            i += 1;
        }
        self.buf.drain(..start);
        out
    }

    /// End of stream: an event still being built is dispatched only if the stream ended cleanly after it
    /// (the spec discards it; providers that close without a blank line still mean it), so we return it.
    pub(super) fn finish(&mut self) -> Option<Event> {
        if !self.buf.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            if let Some(ev) = self.line(&line) {
                return Some(ev);
            }
        }
        self.dispatch()
    }

    fn dispatch(&mut self) -> Option<Event> {
        if !self.has_data {
            self.event.clear();
            return None;
        }
        self.has_data = false;
        Some(Event {
            event: std::mem::take(&mut self.event),
            data: std::mem::take(&mut self.data),
        })
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.find(':') {
            Some(p) => {
                let v = &line[p + 1..];
                (&line[..p], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = value.to_string(),
            "id" | "retry" => {}
            _ => {
                self.stray.push_str(line);
                self.stray.push('\n');
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> (Vec<Event>, String) {
        let mut p = Parser::new();
        let mut evs = Vec::new();
        for c in chunks {
            evs.extend(p.feed(c));
        }
        evs.extend(p.finish());
        (evs, p.stray)
    }

    #[test]
    fn comments_crlf_multiline_and_split_chunks() {
        let (evs, _) = all(&[
            b": keep-alive\n\ndata: {\"a\":",
            b"1}\r\n\r\nevent: ping\ndata: x\ndata: y\n\n",
            b"data: [DONE]\n\n",
        ]);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert_eq!(
            evs[1],
            Event {
                event: "ping".into(),
                data: "x\ny".into()
            }
        );
        assert_eq!(evs[2].data, "[DONE]");
    }

    #[test]
    fn cr_split_across_chunks_and_no_final_blank_line() {
        let (evs, _) = all(&[b"data: a\r", b"\n\r\ndata: b"]);
        assert_eq!(
            evs.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn stray_lines_are_kept() {
        let (evs, stray) = all(&[b"{\n  \"error\": {\"code\": 500}\n}\n"]);
        assert!(evs.is_empty());
        assert!(stray.contains("\"error\""));
    }
}
