//! Mapping a model's free-text answer to one label of a classification suite.
//!
//! Why: chat models rarely answer with the bare label. They add a period, quotes,
//! markdown, a sentence ("The sentiment is **positive**."), or JSON. The
//! classification metrics ([`super::classification`]) need a label per item, and
//! an answer that maps to no label must stay visible as *unparseable* (`None`)
//! instead of being silently counted as some class. The extraction rules are
//! modelled on lm-evaluation-harness filters (`regex`, `take_first`) and Inspect
//! AI's `match` / `answer(line)` scorers, with one explicit, configurable mode:
//!
//! * `exact`: the whole text equals a label, byte for byte;
//! * `normalized`: equal after [`normalize`] (case-insensitive, whitespace trimmed
//!   and collapsed, surrounding quotes / backticks / `**` and trailing periods removed);
//! * `first_label`: the label whose first whole-word, case-insensitive occurrence
//!   comes earliest in the text (ties: the longer label, so "not sure" beats "not");
//! * `first_line`: the first non-empty line, then `normalized`;
//! * `regex`: a capture group of the first match, then `normalized`;
//! * `json_field`: a field of the first JSON object in the text (code fences and
//!   prose around it are tolerated), then `normalized`;
//! * `auto` (the default): `normalized`, and if that fails `first_label`.
//!
//! The result is always the canonical spelling from the suite's label list.
//! Limits worth knowing: `first_label` does not understand negation ("not
//! positive" gives `positive`); labels that differ only by case or punctuation
//! cannot be told apart by the normalising modes, so [`LabelExtractor::new`]
//! rejects them there (use `exact`).

use std::collections::HashMap;

/// How to turn answer text into a label (suite YAML: `{mode: ..., ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum LabelExtract {
    /// `normalized`, falling back to `first_label`.
    #[default]
    Auto,
    /// The whole text equals a label exactly.
    Exact,
    /// The text equals a label after [`normalize`].
    Normalized,
    /// The label occurring first in the text (whole words, case-insensitive).
    FirstLabel,
    /// The first non-empty line, compared like `normalized`.
    FirstLine,
    /// Capture `group` of the first match of `pattern`, compared like `normalized`.
    Regex {
        /// Regular expression (Rust `regex` syntax; add `(?i)` for case-insensitive).
        pattern: String,
        /// Capture group to use; 0 is the whole match.
        #[serde(default = "default_group")]
        group: usize,
    },
    /// The string (or number / boolean) value of top-level `field` of the first
    /// JSON object in the text, compared like `normalized`.
    JsonField {
        /// Top-level key of the JSON object.
        field: String,
    },
}

fn default_group() -> usize {
    1
}

#[derive(Debug, Clone)]
enum Mode {
    Auto,
    Exact,
    Normalized,
    FirstLabel,
    FirstLine,
    Regex { re: regex::Regex, group: usize },
    JsonField { field: String },
}

/// A compiled [`LabelExtract`] for one label list; cheap to share across items.
#[derive(Debug, Clone)]
pub struct LabelExtractor {
    mode: Mode,
    labels: Vec<String>,
    /// normalised label -> index into `labels`
    by_normalized: HashMap<String, usize>,
    /// (normalised label used as search needle, index), for `first_label`
    needles: Vec<(String, usize)>,
}

impl LabelExtractor {
    /// Compiles `mode` for `labels`.
    ///
    /// Errors: an empty label list, an empty label, a duplicate label, labels
    /// that become equal after [`normalize`] (except in `exact` mode), an invalid
    /// regex, or a regex group that does not exist.
    pub fn new(mode: &LabelExtract, labels: &[String]) -> Result<Self, String> {
        if labels.is_empty() {
            return Err("label extraction needs at least one label".to_string());
        }
        let compiled = match mode {
            LabelExtract::Auto => Mode::Auto,
            LabelExtract::Exact => Mode::Exact,
            LabelExtract::Normalized => Mode::Normalized,
            LabelExtract::FirstLabel => Mode::FirstLabel,
            LabelExtract::FirstLine => Mode::FirstLine,
            LabelExtract::Regex { pattern, group } => {
                let re = regex::Regex::new(pattern)
                    .map_err(|e| format!("invalid label regex {pattern:?}: {e}"))?;
                if *group >= re.captures_len() {
                    return Err(format!(
                        "label regex {pattern:?} has {} capture group(s); group {group} does not exist",
                        re.captures_len() - 1
                    ));
                }
                Mode::Regex { re, group: *group }
            }
            LabelExtract::JsonField { field } => Mode::JsonField {
                field: field.clone(),
            },
        };
        let mut by_normalized = HashMap::new();
        let mut seen_exact: HashMap<&str, usize> = HashMap::new();
        let mut needles = Vec::with_capacity(labels.len());
        for (i, label) in labels.iter().enumerate() {
            if label.is_empty() {
                return Err("labels must not be empty strings".to_string());
            }
            if let Some(j) = seen_exact.insert(label.as_str(), i) {
                return Err(format!(
                    "label {label:?} is listed twice (positions {j} and {i})"
                ));
            }
            let norm = normalize(label);
            if matches!(compiled, Mode::Exact) {
                continue;
            }
            if norm.is_empty() {
                return Err(format!("label {label:?} is empty after normalisation"));
            }
            if let Some(j) = by_normalized.insert(norm.clone(), i) {
                return Err(format!(
                    "labels {:?} and {label:?} are the same after normalisation \
                     (case, spaces, quotes, trailing period); use mode: exact",
                    labels[j]
                ));
            }
            needles.push((norm, i));
        }
        Ok(LabelExtractor {
            mode: compiled,
            labels: labels.to_vec(),
            by_normalized,
            needles,
        })
    }

    /// The canonical label list.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The label `text` maps to, in its canonical spelling; `None` = unparseable.
    pub fn extract(&self, text: &str) -> Option<String> {
        self.extract_str(text).map(str::to_string)
    }

    /// [`LabelExtractor::extract`], borrowed from the label list.
    pub fn extract_str(&self, text: &str) -> Option<&str> {
        let idx = match &self.mode {
            Mode::Exact => self.labels.iter().position(|l| l == text),
            Mode::Normalized => self.normalized(text),
            Mode::Auto => self.normalized(text).or_else(|| self.first_label(text)),
            Mode::FirstLabel => self.first_label(text),
            Mode::FirstLine => text
                .lines()
                .find(|l| !l.trim().is_empty())
                .and_then(|l| self.normalized(l)),
            Mode::Regex { re, group } => re
                .captures(text)
                .and_then(|c| c.get(*group))
                .and_then(|m| self.normalized(m.as_str())),
            Mode::JsonField { field } => {
                let obj = first_json_object(text)?;
                let s = match obj.get(field)? {
                    serde_json::Value::String(s) => s.clone(),
                    v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                        v.to_string()
                    }
                    _ => return None,
                };
                self.normalized(&s)
            }
        }?;
        self.labels.get(idx).map(String::as_str)
    }

    fn normalized(&self, text: &str) -> Option<usize> {
        self.by_normalized.get(&normalize(text)).copied()
    }

    fn first_label(&self, text: &str) -> Option<usize> {
        let hay = collapse_ws(&text.to_lowercase());
        let mut best: Option<(usize, usize, usize)> = None; // (pos, label len, index)
        for (needle, idx) in &self.needles {
            if let Some(pos) = find_word(&hay, needle) {
                let better = match best {
                    None => true,
                    Some((bp, bl, _)) => pos < bp || (pos == bp && needle.len() > bl),
                };
                if better {
                    best = Some((pos, needle.len(), *idx));
                }
            }
        }
        best.map(|(_, _, i)| i)
    }
}

/// Normal form used by the normalising modes: Unicode lowercase, whitespace runs
/// collapsed to one space and trimmed, then (repeatedly) surrounding quote pairs
/// (`"` `'` `` ` `` `“”` `‘’` `«»`), markdown `**` / `__` pairs and trailing
/// periods removed. `"  **Positive.** "` → `positive`.
pub(super) fn normalize(text: &str) -> String {
    let mut s = collapse_ws(&text.to_lowercase());
    loop {
        let before = s.len();
        let t = s.trim();
        let mut t = t.trim_end_matches('.').trim_end();
        for (open, close) in [
            ("**", "**"),
            ("__", "__"),
            ("\"", "\""),
            ("'", "'"),
            ("`", "`"),
            ("\u{201c}", "\u{201d}"),
            ("\u{2018}", "\u{2019}"),
            ("\u{ab}", "\u{bb}"),
        ] {
            if t.len() >= open.len() + close.len() && t.starts_with(open) && t.ends_with(close) {
                t = &t[open.len()..t.len() - close.len()];
                break;
            }
        }
        s = t.trim().to_string();
        if s.len() == before {
            return s;
        }
    }
}

/// Lowercased text with every whitespace run replaced by one space, trimmed.
fn collapse_ws(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offset of the first occurrence of `needle` in `hay` that does not start
/// or end inside a word (checked only where the needle itself begins / ends
/// with a word character, like regex `\b`).
fn find_word(hay: &str, needle: &str) -> Option<usize> {
    let first = needle.chars().next()?;
    let last = needle.chars().next_back()?;
    hay.match_indices(needle).map(|(i, _)| i).find(|&i| {
        let before_ok = !is_word(first) || hay[..i].chars().next_back().is_none_or(|c| !is_word(c));
        let after_ok = !is_word(last)
            || hay[i + needle.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_word(c));
        before_ok && after_ok
    })
}

/// The first JSON object in `text`: the whole text if it parses as an object
/// (after removing a surrounding ``` fence), otherwise the first `{` from which
/// a complete object parses (prose before and after is ignored).
fn first_json_object(text: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let trimmed = strip_fence(text.trim());
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(trimmed) {
        return Some(m);
    }
    for (i, _) in text.match_indices('{') {
        let mut stream =
            serde_json::Deserializer::from_str(&text[i..]).into_iter::<serde_json::Value>();
        if let Some(Ok(serde_json::Value::Object(m))) = stream.next() {
            return Some(m);
        }
    }
    None
}

/// Removes a leading ```` ```lang ```` line and a trailing ```` ``` ````.
fn strip_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let body = match rest.find('\n') {
        Some(nl) => &rest[nl + 1..],
        None => rest,
    };
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ls: &[&str]) -> Vec<String> {
        ls.iter().map(|s| s.to_string()).collect()
    }

    fn ex(mode: LabelExtract, ls: &[&str]) -> LabelExtractor {
        LabelExtractor::new(&mode, &labels(ls)).unwrap()
    }

    const SENT: &[&str] = &["Positive", "Negative", "Neutral"];

    #[test]
    fn exact_is_byte_exact() {
        let e = ex(LabelExtract::Exact, SENT);
        assert_eq!(e.extract("Positive").as_deref(), Some("Positive"));
        assert_eq!(e.extract("positive"), None);
        assert_eq!(e.extract("Positive\n"), None);
        // exact mode allows labels that differ only by case
        let e = ex(LabelExtract::Exact, &["Cat", "cat"]);
        assert_eq!(e.extract("cat").as_deref(), Some("cat"));
    }

    #[test]
    fn normalized_strips_decoration() {
        let e = ex(LabelExtract::Normalized, SENT);
        for t in [
            "positive",
            "  POSITIVE  ",
            "Positive.",
            "\"Positive\"",
            "'positive'.",
            "\"Positive.\"",
            "**Positive**",
            "`positive`",
            "\u{201c}Positive\u{201d}",
            "Positive...",
        ] {
            assert_eq!(e.extract(t).as_deref(), Some("Positive"), "{t:?}");
        }
        assert_eq!(e.extract("The answer is positive."), None);
        assert_eq!(e.extract(""), None);
        let e = ex(LabelExtract::Normalized, &["very   positive", "b"]);
        assert_eq!(
            e.extract("Very\tPositive").as_deref(),
            Some("very   positive")
        );
    }

    #[test]
    fn first_label_earliest_whole_word() {
        let e = ex(LabelExtract::FirstLabel, SENT);
        assert_eq!(
            e.extract("I'd say NEGATIVE, not positive.").as_deref(),
            Some("Negative")
        );
        assert_eq!(e.extract("Sentiment: neutral").as_deref(), Some("Neutral"));
        // word boundaries: "positively" is not "positive"
        assert_eq!(e.extract("positively neutral").as_deref(), Some("Neutral"));
        assert_eq!(e.extract("nothing here"), None);
        // the first occurrence inside a word is skipped, the later one counts
        let e = ex(LabelExtract::FirstLabel, &["cat", "dog"]);
        assert_eq!(e.extract("concatenate; dog; cat").as_deref(), Some("dog"));
        assert_eq!(e.extract("concatenate the cat").as_deref(), Some("cat"));
    }

    #[test]
    fn first_label_ties_prefer_longer() {
        let e = ex(LabelExtract::FirstLabel, &["not", "not sure", "yes"]);
        assert_eq!(
            e.extract("Not sure, maybe yes").as_deref(),
            Some("not sure")
        );
        assert_eq!(e.extract("not, yes").as_deref(), Some("not"));
        // labels with non-word edges
        let e = ex(LabelExtract::FirstLabel, &["C++", "C", "N/A"]);
        assert_eq!(e.extract("I think c++ fits").as_deref(), Some("C++"));
        assert_eq!(e.extract("answer: n/a").as_deref(), Some("N/A"));
        assert_eq!(e.extract("answer: C.").as_deref(), Some("C"));
    }

    #[test]
    fn auto_is_normalized_then_first_label() {
        let e = LabelExtractor::new(&LabelExtract::default(), &labels(SENT)).unwrap();
        assert_eq!(e.extract(" neutral. ").as_deref(), Some("Neutral"));
        assert_eq!(
            e.extract("The review is clearly **negative**.").as_deref(),
            Some("Negative")
        );
        assert_eq!(e.extract("I cannot tell."), None);
        // normalized wins over first_label when the whole text is a label
        let e = ex(LabelExtract::Auto, &["yes", "no", "no yes"]);
        assert_eq!(e.extract("No yes").as_deref(), Some("no yes"));
    }

    #[test]
    fn first_line() {
        let e = ex(LabelExtract::FirstLine, SENT);
        assert_eq!(
            e.extract("\n\n  Negative \nBecause the reviewer hated it.")
                .as_deref(),
            Some("Negative")
        );
        assert_eq!(e.extract("Label: Negative\nNegative"), None);
        assert_eq!(e.extract("   \n"), None);
    }

    #[test]
    fn regex_group() {
        let mode = LabelExtract::Regex {
            pattern: r"(?i)answer:\s*(\w+)".into(),
            group: 1,
        };
        let e = ex(mode, SENT);
        assert_eq!(
            e.extract("Thinking...\nAnswer: positive\n").as_deref(),
            Some("Positive")
        );
        assert_eq!(e.extract("Answer: great"), None);
        assert_eq!(e.extract("no match"), None);
        let whole = ex(
            LabelExtract::Regex {
                pattern: "pos\\w+".into(),
                group: 0,
            },
            SENT,
        );
        assert_eq!(whole.extract("so: positive!").as_deref(), Some("Positive"));
    }

    #[test]
    fn json_field() {
        let e = ex(
            LabelExtract::JsonField {
                field: "label".into(),
            },
            &["spam", "ham", "1"],
        );
        assert_eq!(e.extract(r#"{"label": "SPAM"}"#).as_deref(), Some("spam"));
        assert_eq!(
            e.extract("```json\n{\"label\": \"ham\", \"why\": \"ok\"}\n```")
                .as_deref(),
            Some("ham")
        );
        assert_eq!(
            e.extract("Sure! Here it is: {\"label\": \"Ham.\"} Hope that helps {x}")
                .as_deref(),
            Some("ham")
        );
        // a brace in prose before the object is skipped
        assert_eq!(
            e.extract("use {braces} like {\"label\":\"spam\"}")
                .as_deref(),
            Some("spam")
        );
        assert_eq!(e.extract(r#"{"label": 1}"#).as_deref(), Some("1"));
        assert_eq!(e.extract(r#"{"other": "spam"}"#), None);
        assert_eq!(e.extract(r#"{"label": ["spam"]}"#), None);
        assert_eq!(e.extract("{not json"), None);
        assert_eq!(e.extract("spam"), None);
    }

    #[test]
    fn constructor_errors() {
        let bad = |m: LabelExtract, ls: &[&str]| LabelExtractor::new(&m, &labels(ls)).is_err();
        assert!(bad(LabelExtract::Auto, &[]));
        assert!(bad(LabelExtract::Auto, &["a", ""]));
        assert!(bad(LabelExtract::Auto, &["a", "a"]));
        assert!(bad(LabelExtract::Normalized, &["Cat", "cat"]));
        assert!(bad(LabelExtract::Auto, &["yes", "Yes."]));
        assert!(bad(LabelExtract::Auto, &["\"\"", "x"]));
        assert!(bad(
            LabelExtract::Regex {
                pattern: "(".into(),
                group: 1
            },
            &["a"]
        ));
        assert!(bad(
            LabelExtract::Regex {
                pattern: "a".into(),
                group: 1
            },
            &["a"]
        ));
        assert!(!bad(LabelExtract::Exact, &["Cat", "cat"]));
    }

    #[test]
    fn serde_shape() {
        let m: LabelExtract = serde_json::from_str(r#"{"mode":"regex","pattern":"x(y)"}"#).unwrap();
        assert_eq!(
            m,
            LabelExtract::Regex {
                pattern: "x(y)".into(),
                group: 1
            }
        );
        let m: LabelExtract = serde_json::from_str(r#"{"mode":"first_label"}"#).unwrap();
        assert_eq!(m, LabelExtract::FirstLabel);
        let m: LabelExtract =
            serde_json::from_str(r#"{"mode":"json_field","field":"answer"}"#).unwrap();
        assert_eq!(
            m,
            LabelExtract::JsonField {
                field: "answer".into()
            }
        );
        assert!(
            serde_json::from_str::<LabelExtract>(r#"{"mode":"regex","pattern":"x","grp":1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<LabelExtract>(r#"{"mode":"fuzzy"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&LabelExtract::default()).unwrap(),
            r#"{"mode":"auto"}"#
        );
    }

    #[test]
    fn normalize_examples() {
        assert_eq!(normalize("  **Positive.** "), "positive");
        assert_eq!(normalize("'\"yes\"'"), "yes");
        assert_eq!(normalize("a.b."), "a.b");
        assert_eq!(normalize("\"unbalanced"), "\"unbalanced");
        assert_eq!(normalize("Über  Alles"), "über alles");
    }
}
