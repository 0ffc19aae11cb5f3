//! Locating and parsing the JSON value inside a model's free-text answer.
//!
//! Extraction tasks ask a model for a JSON object, but chat models routinely wrap it in a
//! Markdown code fence or in a sentence ("Here is the data: {...} Let me know ...").
//! [`parse_model_json`] recovers the value the way a careful human reader would, in this
//! fixed order (the first stage that yields valid JSON wins):
//!
//! 1. **Whole text.** The output, with a leading byte-order mark and surrounding whitespace
//!    removed, parsed as one JSON document (any JSON value, including a bare number).
//! 2. **Code fences.** Every ```` ``` ```` fence whose info word starts with `json` (`json`,
//!    `JSON`, `jsonc`, ...) is tried first, in order of appearance, then every other fence
//!    (no info word, or another one such as `text`). The body of a fence is tried whole and,
//!    failing that, by the span search of stage 3 restricted to that body. A fence that is
//!    never closed (a truncated answer) runs to the end of the text.
//! 3. **Balanced span in prose.** Starting at each `{` or `[` in order, the matching closing
//!    bracket is found with string-aware matching (brackets inside JSON strings, including
//!    escaped quotes, are ignored; a mismatched closer such as `{ ... ]` rejects the start).
//!    The first balanced span that parses as JSON is returned, so `[1] see note {"a": 1}`
//!    yields `[1]` — the earliest valid span wins, not the largest. At most
//!    [`MAX_SPAN_STARTS`] starting positions are examined, bounding the work on huge outputs.
//!
//! The parser is strict JSON (`serde_json`): no trailing commas, comments, single quotes or
//! `NaN`. A JSON string that itself contains encoded JSON is returned as the string. When
//! nothing parses, the error says why (empty output, no bracket at all, a span that is
//! never closed — usually a truncated answer — or the serde error of the first balanced
//! candidate), so a report can show the cause of each parse failure.
//!
//! There is no reference implementation for this stage; its behaviour is pinned by the
//! hand-written cases in `tests/data/golden/extraction_cases.json` (section `parse`).

use serde_json::Value;

/// Maximum number of `{`/`[` starting positions examined by the balanced-span search.
pub(super) const MAX_SPAN_STARTS: usize = 512;

/// Find and parse the JSON value in a model's answer.
///
/// Tries the whole text, then ```` ```json ```` fences (then any other ```` ``` ```` fence), then the
/// first balanced `{...}` or `[...]` span (string-aware bracket matching) that parses; see the
/// module documentation for the exact order.
///
/// # Errors
/// Returns a human-readable reason when no JSON value can be recovered.
pub fn parse_model_json(text: &str) -> Result<Value, String> {
    let t = text.trim_start_matches('\u{feff}').trim();
    if t.is_empty() {
        return Err("output is empty".to_string());
    }
    let whole_err = match serde_json::from_str::<Value>(t) {
        Ok(v) => return Ok(v),
        Err(e) => e.to_string(),
    };

    let fences = find_fences(t);
    let (json_fences, other_fences): (Vec<&Fence<'_>>, Vec<&Fence<'_>>) =
        fences.iter().partition(|f| f.is_json);
    for fence in json_fences.into_iter().chain(other_fences) {
        let body = fence.body.trim();
        if body.is_empty() {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            return Ok(v);
        }
        if let SpanSearch::Found(v) = search_spans(body) {
            return Ok(v);
        }
    }

    match search_spans(t) {
        SpanSearch::Found(v) => Ok(v),
        SpanSearch::Invalid { at, err } => Err(format!(
            "no valid JSON found: the first bracketed span (byte {at}) is not valid JSON: {err}"
        )),
        SpanSearch::Unclosed { at, open } => Err(format!(
            "no valid JSON found: '{open}' at byte {at} is never closed (truncated output?)"
        )),
        SpanSearch::Mismatched { at } => Err(format!(
            "no valid JSON found: the bracket at byte {at} is closed by the wrong kind of bracket"
        )),
        SpanSearch::NoBracket => Err(format!(
            "no JSON found: the text is not JSON ({whole_err}) and contains no {{...}} or [...] span"
        )),
    }
}

/// One Markdown code fence: its info word classification and its body.
struct Fence<'a> {
    is_json: bool,
    body: &'a str,
}

/// Split `t` into ```` ``` ```` fences (opening fence, optional info word, body, closing fence).
fn find_fences(t: &str) -> Vec<Fence<'_>> {
    const TICKS: &str = "```";
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find(TICKS) {
        let after = &rest[open + TICKS.len()..];
        // Extra backticks of a longer fence opener are skipped.
        let after = after.trim_start_matches('`');
        let info_len = after
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')))
            .map_or(after.len(), |(i, _)| i);
        let info = &after[..info_len];
        let body_and_rest = &after[info_len..];
        let (body, next) = match body_and_rest.find(TICKS) {
            Some(close) => (
                &body_and_rest[..close],
                body_and_rest[close + TICKS.len()..].trim_start_matches('`'),
            ),
            None => (body_and_rest, ""),
        };
        out.push(Fence {
            is_json: info.to_ascii_lowercase().starts_with("json"),
            body,
        });
        rest = next;
    }
    out
}

/// Outcome of the balanced-span search.
enum SpanSearch {
    Found(Value),
    /// The first balanced span (at byte `at`) failed to parse with `err`.
    Invalid {
        at: usize,
        err: String,
    },
    /// No balanced span; the first opener (at byte `at`) never closes.
    Unclosed {
        at: usize,
        open: char,
    },
    /// Every opener meets a closer of the wrong kind; the first is at byte `at`.
    Mismatched {
        at: usize,
    },
    NoBracket,
}

/// Try every `{`/`[` start in order; return the first balanced span that parses.
fn search_spans(t: &str) -> SpanSearch {
    let bytes = t.as_bytes();
    let mut first_invalid: Option<(usize, String)> = None;
    let mut first_unclosed: Option<(usize, char)> = None;
    let mut first_mismatched: Option<usize> = None;
    let mut tried = 0usize;
    for (start, &b) in bytes.iter().enumerate() {
        if b != b'{' && b != b'[' {
            continue;
        }
        tried += 1;
        if tried > MAX_SPAN_STARTS {
            break;
        }
        match balanced_end(bytes, start) {
            Balance::Closed(end) => {
                // Brackets and quotes are ASCII, so `start` and `end + 1` are char boundaries.
                let span = &t[start..=end];
                match serde_json::from_str::<Value>(span) {
                    Ok(v) => return SpanSearch::Found(v),
                    Err(e) => {
                        if first_invalid.is_none() {
                            first_invalid = Some((start, e.to_string()));
                        }
                    }
                }
            }
            Balance::Unclosed => {
                if first_unclosed.is_none() {
                    first_unclosed = Some((start, char::from(b)));
                }
            }
            Balance::Mismatched => {
                first_mismatched.get_or_insert(start);
            }
        }
    }
    if let Some((at, err)) = first_invalid {
        SpanSearch::Invalid { at, err }
    } else if let Some((at, open)) = first_unclosed {
        SpanSearch::Unclosed { at, open }
    } else if let Some(at) = first_mismatched {
        SpanSearch::Mismatched { at }
    } else {
        SpanSearch::NoBracket
    }
}

enum Balance {
    /// Index of the byte closing the span.
    Closed(usize),
    Unclosed,
    Mismatched,
}

/// String-aware bracket matching from the opener at `start`.
fn balanced_end(bytes: &[u8], start: usize) -> Balance {
    let mut stack: Vec<u8> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => stack.push(b'}'),
            b'[' => stack.push(b']'),
            b'}' | b']' => {
                if stack.pop() != Some(b) {
                    return Balance::Mismatched;
                }
                if stack.is_empty() {
                    return Balance::Closed(i);
                }
            }
            _ => {}
        }
    }
    Balance::Unclosed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_text_and_bom() {
        assert_eq!(
            parse_model_json("\u{feff}  {\"a\": 1}\n").ok(),
            Some(json!({"a": 1}))
        );
        assert_eq!(parse_model_json("42").ok(), Some(json!(42)));
    }

    #[test]
    fn json_fence_preferred_over_plain_fence() {
        let t = "```\n{\"x\": 0}\n```\nand\n```json\n{\"x\": 1}\n```";
        assert_eq!(parse_model_json(t).ok(), Some(json!({"x": 1})));
    }

    #[test]
    fn unclosed_fence_is_read_to_end() {
        let t = "```json\n{\"x\": [1, 2]}\n";
        assert_eq!(parse_model_json(t).ok(), Some(json!({"x": [1, 2]})));
    }

    #[test]
    fn braces_inside_strings_are_ignored() {
        let t = r#"Result: {"s": "a } tricky \" ] string", "n": [1]} -- done }"#;
        assert_eq!(
            parse_model_json(t).ok(),
            Some(json!({"s": "a } tricky \" ] string", "n": [1]}))
        );
    }

    #[test]
    fn errors_explain_the_cause() {
        let e = parse_model_json("   ").err().unwrap_or_default();
        assert!(e.contains("empty"), "{e}");
        let e = parse_model_json("no json here").err().unwrap_or_default();
        assert!(e.contains("no {...}"), "{e}");
        let e = parse_model_json("Here: {\"a\": [1, 2")
            .err()
            .unwrap_or_default();
        assert!(e.contains("never closed"), "{e}");
        let e = parse_model_json("Here: {a: 1}").err().unwrap_or_default();
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn many_brackets_are_bounded() {
        let mut t = "{".repeat(5_000);
        t.push_str(" {\"a\": 1}");
        // Starts beyond MAX_SPAN_STARTS are not examined, so this fails quickly.
        assert!(parse_model_json(&t).is_err());
    }
}

#[cfg(test)]
mod golden {
    use super::parse_model_json;
    use serde_json::Value;

    const CASES: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/extraction_cases.json"
    ));

    #[test]
    fn golden_parse_cases() {
        let all: Value = serde_json::from_str(CASES).expect("golden file is valid JSON");
        let cases = all["parse"].as_array().expect("parse section");
        assert!(cases.len() >= 20);
        for case in cases {
            let name = case["name"].as_str().unwrap_or("?");
            let text = case["text"].as_str().expect("text");
            let got = parse_model_json(text);
            if case["ok"].as_bool() == Some(true) {
                assert_eq!(
                    got.as_ref().ok(),
                    Some(&case["value"]),
                    "case {name}: {got:?}"
                );
            } else {
                let needle = case["error_contains"].as_str().expect("error_contains");
                match got {
                    Ok(v) => panic!("case {name}: expected an error, got {v}"),
                    Err(e) => assert!(
                        e.contains(needle),
                        "case {name}: error {e:?} lacks {needle:?}"
                    ),
                }
            }
        }
    }
}
