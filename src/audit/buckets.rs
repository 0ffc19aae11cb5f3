//! Which bucket a request falls in: 1 keep premium, 2 migration target, 3 rules or the cheapest model — by its
//! feature first, then its tags, its model, and last the start of its prompt.

use crate::logs::{content_text, BucketRules, Record};
use serde_json::Value;
use std::collections::HashMap;

/// The mapping file's bucket rules, compiled for lookups.
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    features: HashMap<String, u8>,
    tags: HashMap<String, u8>,
    models: HashMap<String, u8>,
    model_prefixes: Vec<(String, u8)>,
    prompt_prefixes: Vec<(String, u8)>,
}

/// A model name as compared: lower case, provider prefix (`openai/`) removed.
pub fn normalize_model(m: &str) -> String {
    let lower = m.trim().to_ascii_lowercase();
    match lower.rsplit_once('/') {
        Some((_, name)) => name.to_string(),
        None => lower,
    }
}

impl Buckets {
    /// Compile the three buckets' rules (index 0 is bucket 1).
    pub fn new(rules: &[BucketRules; 3]) -> Buckets {
        let mut b = Buckets::default();
        for (i, r) in rules.iter().enumerate() {
            let n = i as u8 + 1;
            for f in &r.features {
                b.features.insert(f.clone(), n);
            }
            for t in &r.tags {
                b.tags.insert(t.clone(), n);
            }
            for m in &r.models {
                let m = normalize_model(m);
                match m.strip_suffix('*') {
                    Some(prefix) => b.model_prefixes.push((prefix.to_string(), n)),
                    None => {
                        b.models.insert(m, n);
                    }
                }
            }
            for p in &r.prompt_prefixes {
                b.prompt_prefixes.push((p.clone(), n));
            }
        }
        // Longest prefix first: the most specific rule wins.
        b.model_prefixes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        b.prompt_prefixes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        b
    }

    /// Whether any rule reads the prompt (then the messages must be extracted).
    pub fn needs_prompt(&self) -> bool {
        !self.prompt_prefixes.is_empty()
    }

    /// Whether no rule exists at all.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
            && self.tags.is_empty()
            && self.models.is_empty()
            && self.model_prefixes.is_empty()
            && self.prompt_prefixes.is_empty()
    }

    /// The bucket of a model alone (cached by callers: models repeat on every row).
    pub fn of_model(&self, model: &str) -> Option<u8> {
        let m = normalize_model(model);
        if let Some(b) = self.models.get(&m) {
            return Some(*b);
        }
        self.model_prefixes
            .iter()
            .find(|(p, _)| m.starts_with(p.as_str()))
            .map(|(_, b)| *b)
    }

    /// The bucket of a row, `None` when no rule matches. `model_bucket` is [`Buckets::of_model`] of its model.
    pub fn of(&self, r: &Record, model_bucket: Option<u8>) -> Option<u8> {
        if let Some(b) = r.feature.as_ref().and_then(|f| self.features.get(f)) {
            return Some(*b);
        }
        if let Some(b) = r.tags.iter().filter_map(|t| self.tags.get(t)).min() {
            return Some(*b);
        }
        if model_bucket.is_some() {
            return model_bucket;
        }
        if self.prompt_prefixes.is_empty() {
            return None;
        }
        let msgs = r.messages.as_deref().unwrap_or(&[]);
        let texts = [first_text(msgs, "system"), first_text(msgs, "user")];
        self.prompt_prefixes
            .iter()
            .find(|(p, _)| {
                texts
                    .iter()
                    .flatten()
                    .any(|t| t.trim_start().starts_with(p.as_str()))
            })
            .map(|(_, b)| *b)
    }
}

/// The text of the first message with this role (string content, or the text parts of a content list).
pub fn first_text(msgs: &[Value], role: &str) -> Option<String> {
    let m = msgs
        .iter()
        .find(|m| m.get("role").and_then(Value::as_str) == Some(role))?;
    content_text(m.get("content")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn feature_then_tags_then_model_then_prompt() {
        let rules = [
            BucketRules {
                features: vec!["legal".into()],
                tags: vec!["vip".into()],
                ..Default::default()
            },
            BucketRules {
                features: vec!["summarize".into()],
                models: vec!["GPT-4o*".into(), "openai/o3-mini".into()],
                ..Default::default()
            },
            BucketRules {
                tags: vec!["batch".into()],
                models: vec!["gpt-4o-mini*".into()],
                prompt_prefixes: vec!["Extract the".into()],
                ..Default::default()
            },
        ];
        let b = Buckets::new(&rules);
        let rec = |feature: Option<&str>, tags: &[&str], model: &str, sys: &str| Record {
            feature: feature.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            model: Some(model.into()),
            messages: Some(vec![
                json!({"role": "system", "content": [{"type": "text", "text": sys}]}),
            ]),
            ..Default::default()
        };
        let of = |r: &Record| b.of(r, b.of_model(r.model.as_deref().unwrap_or("")));
        assert_eq!(of(&rec(Some("legal"), &["batch"], "gpt-4o", "")), Some(1));
        assert_eq!(of(&rec(Some("other"), &["batch", "vip"], "x", "")), Some(1));
        assert_eq!(of(&rec(None, &["batch"], "gpt-4o", "")), Some(3));
        // The longest model prefix wins: gpt-4o-mini is bucket 3, gpt-4o-2024-08-06 bucket 2.
        assert_eq!(
            of(&rec(None, &[], "openai/gpt-4o-mini-2024-07-18", "")),
            Some(3)
        );
        assert_eq!(of(&rec(None, &[], "gpt-4o-2024-08-06", "")), Some(2));
        assert_eq!(of(&rec(None, &[], "O3-MINI", "")), Some(2));
        assert_eq!(of(&rec(None, &[], "claude", "  Extract the date")), Some(3));
        assert_eq!(of(&rec(None, &[], "claude", "Summarize")), None);
        assert!(b.needs_prompt() && !b.is_empty());
    }
}
