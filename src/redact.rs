//! Secret redaction: every secret a suite references is replaced by `[REDACTED]` in every text field of a journal
//! record, however the provider escaped it, before the record reaches the journal, the cache or any report.
//!
//! Why this module exists: providers and gateways echo credentials back — a 401 quoting the rejected header, a
//! proxy's debug echo, a stream-error event — and an echo can be raw, JSON-escaped (`\/`, `\u00xx`) or URL-encoded.
//! The journal is the seam every report and note is computed from, so scrubbing each record once, here, keeps the
//! secret out of journal.jsonl, the cache, results.json, report.html, JUnit, Markdown and the terminal.
//!
//! The secrets: the value of every provider's `api_key_env`, the value of every variable a `headers:` entry names as
//! `${VAR}`, and the whole value of a credential header (`Authorization`, `api-key`, ...), with and without its
//! `Bearer `/`Basic ` scheme. The rule, by length (a short value cannot be told apart from ordinary text):
//!
//! - 8 characters or more: every occurrence;
//! - 3 to 7 characters: every occurrence that stands on its own — not next to a letter, digit, `-` or `_` — so a
//!   local key such as `abc123` is redacted where it is echoed, but not inside a longer word of an answer;
//! - 1 or 2 characters: never (such a value would mangle every answer and protects nothing); evalh warns at the
//!   start of the run, naming the variable.
//!
//! An occurrence may be written raw or with any character escaped as JSON (`\"`, `\\`, `\/`, `\n`, `\u002f`,
//! surrogate pairs) or URL-encoded (`%2F`, `%2f`, `+` for a space), mixed freely.

use crate::chat::ToolCall;
use crate::journal::{ErrorInfo, Record};
use crate::suite::ProviderSpec;
use serde_json::Value;

/// What a redacted secret is replaced with.
pub const MARK: &str = "[REDACTED]";

/// Values shorter than this are never redacted.
const MIN_LEN: usize = 3;
/// Values shorter than this are redacted only where they stand on their own.
const SUBSTRING_LEN: usize = 8;

/// One secret to look for.
#[derive(Debug, Clone)]
struct Secret {
    chars: Vec<char>,
    /// Redact only where not next to a word character (values of `MIN_LEN..SUBSTRING_LEN` characters).
    standalone: bool,
}

/// The secrets of a suite and the means to scrub them from records.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<Secret>,
}

/// The variables `${NAME}` a header value references.
fn referenced_vars(value: &str) -> impl Iterator<Item = &str> {
    value
        .split("${")
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n))
}

impl Redactor {
    /// The redactor for a suite's providers, reading the secrets' values from the environment. Warns (stderr) about
    /// every value too short to redact.
    pub fn for_providers(providers: &[ProviderSpec]) -> Redactor {
        let mut values: Vec<(String, String)> = Vec::new();
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        for p in providers {
            if let Some(var) = &p.api_key_env {
                values.extend(env(var).map(|v| (format!("${var}"), v)));
            }
            for (name, template) in &p.headers {
                for var in referenced_vars(template) {
                    values.extend(env(var).map(|v| (format!("${var}"), v)));
                }
                if crate::suite::is_credential_header(name) {
                    let whole = crate::suite::expand_env(template);
                    let what = format!("header {name} of provider `{}`", p.id);
                    if let Some((_, cred)) = whole.split_once(' ') {
                        values.push((what.clone(), cred.to_string()));
                    }
                    values.push((what, whole));
                }
            }
        }
        let mut warned = std::collections::BTreeSet::new();
        for (what, v) in &values {
            let n = v.trim().chars().count();
            if (1..MIN_LEN).contains(&n) && warned.insert(what.clone()) {
                eprintln!(
                    "warning: the value of {what} is {n} character(s) long: too short to redact from answers and \
                     error messages without mangling them, so it is not redacted (and it protects nothing)"
                );
            }
        }
        Redactor::new(values.into_iter().map(|(_, v)| v))
    }

    /// A redactor for these secret values (see the module doc for which are searched for, and how).
    pub fn new(values: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<Secret> = Vec::new();
        for v in values {
            let chars: Vec<char> = v.trim().chars().collect();
            if chars.len() < MIN_LEN || secrets.iter().any(|s| s.chars == chars) {
                continue;
            }
            secrets.push(Secret {
                standalone: chars.len() < SUBSTRING_LEN,
                chars,
            });
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.chars.len()));
        Redactor { secrets }
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Scrub every text field of a record: output, tool calls (names, argument keys and values), finish reason, the
    /// error (message, type, code) and the same in its `stream_compare` call.
    pub fn record(&self, r: &mut Record) {
        if self.is_empty() {
            return;
        }
        self.string(&mut r.output_text);
        self.tool_calls(&mut r.tool_calls);
        self.opt(&mut r.finish_reason);
        self.error(r.error.as_mut());
        if let Some(sc) = &mut r.stream_compare {
            self.string(&mut sc.output_text);
            self.tool_calls(&mut sc.tool_calls);
            self.opt(&mut sc.finish_reason);
            self.error(sc.error.as_mut());
        }
    }

    fn error(&self, e: Option<&mut ErrorInfo>) {
        if let Some(e) = e {
            self.string(&mut e.message);
            self.opt(&mut e.error_type);
            self.opt(&mut e.code);
        }
    }

    fn opt(&self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.string(s);
        }
    }

    fn tool_calls(&self, calls: &mut [ToolCall]) {
        for c in calls {
            self.string(&mut c.name);
            self.value(&mut c.arguments);
        }
    }

    fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => self.string(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    let Some(mut x) = m.remove(&k) else { continue };
                    self.value(&mut x);
                    let mut k = k;
                    self.string(&mut k);
                    m.insert(k, x);
                }
            }
            _ => {}
        }
    }

    /// Replace every occurrence of every secret in `s`.
    pub fn string(&self, s: &mut String) {
        for secret in &self.secrets {
            if let Some(out) = replace(s, secret) {
                *s = out;
            }
        }
    }
}

/// `s` with every occurrence of `secret` replaced, or `None` when there is none.
fn replace(s: &str, secret: &Secret) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        // An occurrence starts with the first character raw, or with an escape (`\`, `%`, or `+` for a space).
        let c = b[i];
        let candidate = c == b'\\' || c == b'%' || c == b'+' || c >= 0x80 || {
            let first = secret.chars[0];
            first.is_ascii() && c == first as u8
        };
        if candidate {
            if let Some(end) = match_at(b, i, &secret.chars) {
                if !secret.standalone || (!word_before(s, i) && !word_after(s, end)) {
                    let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
                    o.push_str(&s[copied..i]);
                    o.push_str(MARK);
                    copied = end;
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.map(|mut o| {
        o.push_str(&s[copied..]);
        o
    })
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

fn word_before(s: &str, i: usize) -> bool {
    s[..i].chars().next_back().is_some_and(is_word)
}

fn word_after(s: &str, end: usize) -> bool {
    s[end..].chars().next().is_some_and(is_word)
}

/// Where an occurrence of `chars` starting at byte `i` ends, each character raw or escaped.
fn match_at(b: &[u8], mut i: usize, chars: &[char]) -> Option<usize> {
    for &ch in chars {
        i = match_char(b, i, ch)?;
    }
    Some(i)
}

/// Where character `ch` written at byte `i` ends: raw UTF-8, a JSON escape, percent-encoded bytes, or `+` (space).
fn match_char(b: &[u8], i: usize, ch: char) -> Option<usize> {
    let rest = b.get(i..)?;
    let mut buf = [0u8; 4];
    let raw = ch.encode_utf8(&mut buf).as_bytes();
    if rest.starts_with(raw) {
        return Some(i + raw.len());
    }
    match rest.first()? {
        b'\\' => json_escape(rest, ch).map(|n| i + n),
        b'%' => {
            // Every UTF-8 byte of the character as %XX (either case).
            let mut j = 0;
            for &byte in raw {
                let h = rest.get(j..j + 3)?;
                if h[0] != b'%' || hex(&h[1..3])? != u32::from(byte) {
                    return None;
                }
                j += 3;
            }
            Some(i + j)
        }
        b'+' if ch == ' ' => Some(i + 1),
        _ => None,
    }
}

/// Length of a JSON escape of `ch` at the start of `rest` (which starts with a backslash), if it is one.
fn json_escape(rest: &[u8], ch: char) -> Option<usize> {
    let short = match ch {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '/' => Some(b'/'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        _ => None,
    };
    if short.is_some() && rest.get(1).copied() == short {
        return Some(2);
    }
    let mut units = [0u16; 2];
    let mut j = 0;
    for &u in ch.encode_utf16(&mut units).iter() {
        let e = rest.get(j..j + 6)?;
        if e[0] != b'\\' || e[1] != b'u' || hex(&e[2..6])? != u32::from(u) {
            return None;
        }
        j += 6;
    }
    Some(j)
}

fn hex(digits: &[u8]) -> Option<u32> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| u32::from_str_radix(s, 16).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ErrorClass;

    fn r(values: &[&str]) -> Redactor {
        Redactor::new(values.iter().map(|s| s.to_string()))
    }

    fn scrub(red: &Redactor, s: &str) -> String {
        let mut s = s.to_string();
        red.string(&mut s);
        s
    }

    #[test]
    fn every_escaping_of_a_long_secret_is_redacted() {
        let key = "sk-live/Ab+c\"d é😀";
        let red = r(&[key]);
        let json = serde_json::to_string(key).unwrap();
        let json = &json[1..json.len() - 1];
        let slashed = json.replace('/', "\\/");
        // Python's json.dumps: every non-ASCII character as \uXXXX (a surrogate pair for the emoji).
        let ascii: String = key
            .encode_utf16()
            .map(|u| {
                let c = char::from_u32(u32::from(u));
                match c {
                    Some(c) if c.is_ascii() && c != '"' => c.to_string(),
                    Some('"') => "\\\"".into(),
                    _ => format!("\\u{u:04x}"),
                }
            })
            .collect();
        let pct_upper: String = key
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let pct_lower: String = key
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect();
        let form = pct_upper.replace("%20", "+");
        for form_of_key in [key, json, &slashed, &ascii, &pct_upper, &pct_lower, &form] {
            let text = format!("Incorrect API key provided: {form_of_key}. See docs");
            assert_eq!(
                scrub(&red, &text),
                "Incorrect API key provided: [REDACTED]. See docs",
                "{form_of_key}"
            );
        }
        // Inside a longer word too (long secrets), and every occurrence.
        assert_eq!(
            scrub(&r(&["abcdefgh12"]), "xabcdefgh12y abcdefgh12"),
            "x[REDACTED]y [REDACTED]"
        );
        assert_eq!(scrub(&red, "nothing here"), "nothing here");
    }

    #[test]
    fn short_secrets_only_where_they_stand_alone_and_tiny_ones_never() {
        let red = r(&["k3y", "ab"]);
        assert_eq!(
            scrub(&red, "bad key k3y; \"k3y\" k3ys ak3y k3y-x"),
            "bad key [REDACTED]; \"[REDACTED]\" k3ys ak3y k3y-x"
        );
        // Two characters: never.
        assert_eq!(scrub(&red, "ab abc"), "ab abc");
        assert!(r(&["a", "", "  "]).is_empty());
        // A secret containing another is replaced whole.
        let red = r(&["token", "token-123456789"]);
        assert_eq!(
            scrub(&red, "x token-123456789 token"),
            "x [REDACTED] [REDACTED]"
        );
    }

    #[test]
    fn every_field_of_a_record_is_scrubbed() {
        let key = "sk-evalh-unit-5f2Q9";
        let red = r(&[key]);
        let mut rec: Record = serde_json::from_value(serde_json::json!({
            "item_id": "i", "provider_id": "p", "repeat": 0, "request_hash": "h",
            "output_text": format!("echo {key}"),
            "tool_calls": [{"name": format!("f_{key}"), "arguments": {key: [format!("a {key}"), 1], "k": {"n": key}}}],
            "finish_reason": key,
            "usage": {"input_tokens": 1, "output_tokens": 1, "cached_input_tokens": 0, "reasoning_tokens": 0},
            "cost_usd": 0.0, "latency_ms": 1.0, "attempts": 1,
            "error": {"class": "auth", "message": format!("bad {key}"), "status": 401, "type": key, "code": key},
            "stream_compare": {"stream": true, "output_text": key, "tool_calls": [{"name": "g", "arguments": key}],
                "finish_reason": key, "cost_usd": 0.0, "latency_ms": 1.0, "attempts": 1,
                "error": {"class": "auth", "message": format!("{key}!"), "type": key, "code": key}}
        }))
        .unwrap();
        red.record(&mut rec);
        let text = serde_json::to_string(&rec).unwrap();
        assert!(!text.contains("5f2Q9"), "{text}");
        assert_eq!(rec.output_text, "echo [REDACTED]");
        assert_eq!(
            rec.error.as_ref().map(|e| e.class),
            Some(ErrorClass::Auth),
            "only text changes"
        );
        assert_eq!(text.matches(MARK).count(), 15, "{text}");
    }

    #[test]
    fn suite_secrets_come_from_key_variables_header_variables_and_credential_headers() {
        std::env::set_var("EVALH_UNIT_REDACT_KEY", "sk-unit-key-0000001");
        std::env::set_var("EVALH_UNIT_REDACT_HDR", "hdr-secret-0000002");
        std::env::set_var("EVALH_UNIT_REDACT_SHORT", "q");
        let p: ProviderSpec = serde_yaml::from_str(
            "{id: p, kind: openai, model: m, api_key_env: EVALH_UNIT_REDACT_KEY, headers: {X-Custom-Token: \
             'pre-${EVALH_UNIT_REDACT_HDR}-post', Authorization: 'Bearer literal-cred-0000003', X-Short: \
             '${EVALH_UNIT_REDACT_SHORT}'}}",
        )
        .unwrap();
        let red = Redactor::for_providers(&[p]);
        let s = scrub(
            &red,
            "sk-unit-key-0000001 hdr-secret-0000002 Bearer literal-cred-0000003 q",
        );
        assert_eq!(s, "[REDACTED] [REDACTED] [REDACTED] q");
    }
}
