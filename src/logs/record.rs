//! One log row in evalh's terms: the captured values of a line turned into typed fields, or the reason the row is
//! malformed.

use super::extract::{Alt, Plan};
use super::fields::Field;
use serde_json::Value;

/// A log row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Start time, Unix milliseconds (UTC).
    pub timestamp_ms: Option<i64>,
    /// Model as logged.
    pub model: Option<String>,
    /// Input tokens (cached included); 0 when not logged.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cached input tokens, at most `input_tokens`.
    pub cached_tokens: u64,
    /// Whether the row logged any token count.
    pub has_tokens: bool,
    /// Feature (or tag, group) the request belongs to.
    pub feature: Option<String>,
    /// Request tags.
    pub tags: Vec<String>,
    /// Task type, when logged.
    pub task_type: Option<String>,
    /// False when the status says the request failed.
    pub ok: bool,
    /// Cost recorded by the log itself, USD.
    pub logged_cost: Option<f64>,
    /// The prompt's chat messages (`{"role", "content", ...}` objects), when logged.
    pub messages: Option<Vec<Value>>,
    /// The logged answer: a string, or a message object / tool-call list.
    pub answer: Option<Value>,
    /// Extra paths' values as text.
    pub extra: Vec<Option<String>>,
}

/// Turn a line's captured slots into a record; `Err` names the field that holds something unusable.
pub(crate) fn build(plan: &Plan, slots: &mut [Option<Value>]) -> Result<Record, String> {
    let mut r = Record {
        ok: true,
        ..Record::default()
    };
    // Tags first: `tag:` sources of other fields read them.
    for (f, alts) in &plan.fields {
        if *f == Field::Tags {
            if let Some(v) = first(alts, slots, &[]) {
                r.tags = tags(v);
            }
        }
    }
    for (f, alts) in &plan.fields {
        let tags = &r.tags;
        match f {
            Field::Tags => {}
            Field::Timestamp => {
                if let Some(v) = first(alts, slots, tags) {
                    r.timestamp_ms =
                        Some(timestamp_ms(&v).ok_or_else(|| bad(*f, &v, "a date and time"))?);
                }
            }
            Field::Model => r.model = first(alts, slots, tags).and_then(text),
            Field::Feature => r.feature = first(alts, slots, tags).and_then(text),
            Field::TaskType => r.task_type = first(alts, slots, tags).and_then(text),
            Field::InputTokens | Field::OutputTokens | Field::CachedTokens => {
                if let Some(v) = first(alts, slots, tags) {
                    let n = count(&v).ok_or_else(|| bad(*f, &v, "a token count"))?;
                    r.has_tokens = true;
                    match f {
                        Field::InputTokens => r.input_tokens = n,
                        Field::OutputTokens => r.output_tokens = n,
                        _ => r.cached_tokens = n,
                    }
                }
            }
            Field::Status => {
                if let Some(v) = first(alts, slots, tags) {
                    r.ok = status_ok(&v);
                }
            }
            Field::Cost => {
                if let Some(v) = first(alts, slots, tags) {
                    let x = number(&v).filter(|x| x.is_finite() && *x >= 0.0);
                    r.logged_cost = Some(x.ok_or_else(|| bad(*f, &v, "a cost in USD"))?);
                }
            }
            Field::Messages => r.messages = first(alts, slots, tags).and_then(messages),
            Field::Answer => r.answer = first(alts, slots, tags).and_then(answer),
        }
    }
    r.cached_tokens = r.cached_tokens.min(r.input_tokens);
    r.extra = plan
        .extra
        .iter()
        .map(|&s| slots[s].take().and_then(text))
        .collect();
    Ok(r)
}

/// Why a row is malformed, showing (a masked, shortened copy of) the value: reports must not carry a secret that a
/// log happened to hold in a wrong place.
fn bad(f: Field, v: &Value, what: &str) -> String {
    let mut shown = super::mask_text(&v.to_string(), &mut Default::default());
    if shown.len() > 60 {
        let cut = (0..=60)
            .rev()
            .find(|&i| shown.is_char_boundary(i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    format!("`{f}` is {shown}, not {what}")
}

/// The first present, non-null, non-empty alternative.
fn first(alts: &[Alt], slots: &mut [Option<Value>], tags: &[String]) -> Option<Value> {
    for a in alts {
        match a {
            Alt::Slot(s) => match slots[*s].take() {
                None | Some(Value::Null) => {}
                Some(Value::String(t)) if t.trim().is_empty() => {}
                Some(v) => return Some(v),
            },
            Alt::Tag(prefix) => {
                if let Some(t) = tags.iter().find_map(|t| t.strip_prefix(prefix.as_str())) {
                    if !t.is_empty() {
                        return Some(Value::String(t.to_string()));
                    }
                }
            }
        }
    }
    None
}

/// A string or number as text (trimmed); other values are not text.
fn text(v: Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                None
            } else if t.len() == s.len() {
                Some(s)
            } else {
                Some(t.to_string())
            }
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A non-negative whole number (a float with no fraction is accepted: some exports write `12.0`).
fn count(v: &Value) -> Option<u64> {
    if let Value::Number(n) = v {
        if let Some(u) = n.as_u64() {
            return Some(u);
        }
    }
    let x = number(v)?;
    (x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 1e15).then_some(x as u64)
}

/// Tags: a list of strings, a JSON-encoded list, or one string.
fn tags(v: Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.into_iter().filter_map(text).collect(),
        Value::String(s) if s.trim_start().starts_with('[') => {
            match serde_json::from_str::<Value>(&s) {
                Ok(Value::Array(a)) => a.into_iter().filter_map(text).collect(),
                _ => vec![s],
            }
        }
        other => text(other).into_iter().collect(),
    }
}

/// Success unless the status says otherwise: `success`/`ok`/`completed`, 2xx and `true` succeed.
pub fn status_ok(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64().is_some_and(|c| (200..300).contains(&c)),
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            if let Ok(c) = s.parse::<u64>() {
                return (200..300).contains(&c);
            }
            matches!(
                s.as_str(),
                "success" | "succeeded" | "ok" | "completed" | "complete" | "true" | "none" | ""
            )
        }
        _ => false,
    }
}

/// Chat messages: a list of message objects, a JSON-encoded list, or one string (a single user message).
fn messages(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => {
            let msgs: Vec<Value> = a.into_iter().filter(Value::is_object).collect();
            (!msgs.is_empty()).then_some(msgs)
        }
        Value::String(s) => {
            let t = s.trim_start();
            if t.starts_with('[') || t.starts_with('{') {
                if let Ok(v) = serde_json::from_str::<Value>(t) {
                    return messages(v);
                }
            }
            (!s.trim().is_empty()).then(|| vec![serde_json::json!({"role": "user", "content": s})])
        }
        // `{"messages": [...]}` (a request body) or a single message.
        Value::Object(mut m) => match m.remove("messages") {
            Some(inner) => messages(inner),
            None if m.contains_key("role") => Some(vec![Value::Object(m)]),
            None => None,
        },
        _ => None,
    }
}

/// The logged answer: text, a message object, or tool calls; empty ones are no answer.
fn answer(v: Value) -> Option<Value> {
    match v {
        Value::String(s) if s.trim().is_empty() => None,
        Value::Object(ref m) if m.is_empty() => None,
        Value::Array(ref a) if a.is_empty() => None,
        Value::Bool(_) | Value::Null => None,
        other => Some(other),
    }
}

/// Unix milliseconds of a timestamp: RFC 3339 (`2026-12-07T06:55:16.755Z`), a naive date-time taken as UTC
/// (`2026-12-07 06:55:16.755`, LiteLLM's psql export), or a number of epoch seconds (or milliseconds when above 1e11).
pub fn timestamp_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            let x = n.as_f64()?;
            if !x.is_finite() || x < 0.0 {
                return None;
            }
            Some(if x > 1e11 {
                x as i64
            } else {
                (x * 1000.0) as i64
            })
        }
        Value::String(s) => {
            let t = s.trim();
            if let Ok(x) = t.parse::<f64>() {
                return timestamp_ms(&serde_json::json!(x));
            }
            parse_datetime(t)
        }
        _ => None,
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fff…][Z|±HH:MM|±HHMM]` → Unix ms. A fast path without allocation; dates are checked.
fn parse_datetime(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(r)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)?;
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                ms = ms * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            ms *= 10;
        }
    }
    let offset_min = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let digits: Vec<u8> = rest.iter().copied().filter(|c| *c != b':').collect();
            if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let v = |k: usize| i64::from(digits[k] - b'0');
            let m = (v(0) * 10 + v(1)) * 60 + v(2) * 10 + v(3);
            if *sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return None,
    };
    let days = date
        .signed_duration_since(chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?)
        .num_days();
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// A message content as text: a string, or the `text` of each part of a content list joined by newlines.
pub fn content_text(c: &Value) -> Option<String> {
    match c {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str).or_else(|| p.as_str()))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_every_logged_shape() {
        let t = 1_796_626_516_755; // 2026-12-07T06:55:16.755Z
        for s in [
            "2026-12-07T06:55:16.755Z",
            "2026-12-07 06:55:16.755",
            "2026-12-07T06:55:16.755+00:00",
            "2026-12-07T08:55:16.755+02:00",
            "2026-12-07T01:55:16.755-0500",
            "2026-12-07T06:55:16.755123",
        ] {
            assert_eq!(timestamp_ms(&json!(s)), Some(t), "{s}");
        }
        assert_eq!(timestamp_ms(&json!(1_796_626_516.755)), Some(t));
        assert_eq!(timestamp_ms(&json!(1_796_626_516_755u64)), Some(t));
        assert_eq!(timestamp_ms(&json!("1796626516.755")), Some(t));
        assert_eq!(timestamp_ms(&json!("2026-12-07T06:55:16Z")), Some(t - 755));
        for bad in [
            "yesterday",
            "2026-13-07 06:55:16",
            "2026-02-30T00:00:00",
            "2026-12-07T25:00:00",
            "2026-12-07T06:55:16+5",
        ] {
            assert_eq!(timestamp_ms(&json!(bad)), None, "{bad}");
        }
        assert_eq!(timestamp_ms(&json!(-5)), None);
        assert_eq!(timestamp_ms(&json!([1])), None);
    }

    #[test]
    fn statuses_counts_tags_and_messages() {
        for ok in [
            json!("success"),
            json!(200),
            json!("204"),
            json!(null),
            json!(true),
        ] {
            assert!(status_ok(&ok), "{ok}");
        }
        for bad in [
            json!("failure"),
            json!(500),
            json!("429"),
            json!(false),
            json!("error"),
        ] {
            assert!(!status_ok(&bad), "{bad}");
        }
        assert_eq!(count(&json!(12)), Some(12));
        assert_eq!(count(&json!(12.0)), Some(12));
        assert_eq!(count(&json!("12")), Some(12));
        assert_eq!(count(&json!(-1)), None);
        assert_eq!(count(&json!(1.5)), None);
        assert_eq!(count(&json!("lots")), None);
        assert_eq!(tags(json!(["a", "b"])), ["a", "b"]);
        assert_eq!(tags(json!("[\"a\"]")), ["a"]);
        assert_eq!(tags(json!("x")), ["x"]);
        assert_eq!(
            messages(json!("hello")),
            Some(vec![json!({"role": "user", "content": "hello"})])
        );
        assert_eq!(messages(json!({})), None);
        assert_eq!(messages(json!([])), None);
        assert_eq!(
            messages(json!({"messages": [{"role": "user", "content": "x"}]})),
            Some(vec![json!({"role": "user", "content": "x"})])
        );
        assert_eq!(answer(json!("  ")), None);
        assert_eq!(answer(json!({})), None);
    }
}
