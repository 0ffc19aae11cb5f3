//! Pulling a few fields out of a log line without building the whole line in memory.
//!
//! The wanted paths form a tree ([`Plan`]); one pass of serde over the line walks only the branches of that tree and
//! skips everything else (a LiteLLM row's `metadata` blob is mostly skipped), so a row costs about one scan of its
//! bytes. A JSON-encoded string met where the tree goes deeper (LiteLLM's `metadata` as text, a CSV cell holding
//! JSON) is decoded and walked the same way.

use super::fields::{Field, LogSpec, Source};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// One alternative source of a field, compiled.
#[derive(Debug, Clone)]
pub(crate) enum Alt {
    /// The value captured in this slot.
    Slot(usize),
    /// The first tag with this prefix.
    Tag(String),
}

/// A node of the path tree: the slots that capture this node's value and the keys (or array indices) below it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Node {
    children: Vec<Child>,
    slots: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Child {
    name: Box<str>,
    index: Option<usize>,
    node: Node,
}

impl Node {
    fn insert(&mut self, path: &[String], slot: usize) {
        match path.split_first() {
            None => self.slots.push(slot),
            Some((head, rest)) => {
                let pos = match self.children.iter().position(|c| *c.name == **head) {
                    Some(p) => p,
                    None => {
                        self.children.push(Child {
                            name: head.as_str().into(),
                            index: head.parse().ok(),
                            node: Node::default(),
                        });
                        self.children.len() - 1
                    }
                };
                self.children[pos].node.insert(rest, slot);
            }
        }
    }

    fn child(&self, key: &[u8]) -> Option<&Node> {
        self.children
            .iter()
            .find(|c| c.name.as_bytes() == key)
            .map(|c| &c.node)
    }

    fn child_at(&self, i: usize) -> Option<&Node> {
        self.children
            .iter()
            .find(|c| c.index == Some(i))
            .map(|c| &c.node)
    }
}

/// The compiled extraction of the fields a command needs.
#[derive(Debug, Clone)]
pub struct Plan {
    root: Node,
    n_slots: usize,
    /// Sources per wanted field, in preference order.
    pub(crate) fields: Vec<(Field, Vec<Alt>)>,
    /// Extra raw paths (a `--stratify` path), one slot each.
    pub(crate) extra: Vec<usize>,
}

impl Plan {
    /// Compile `spec`'s sources of `wanted` (plus the `tags` field when a `tag:` source needs it) and `extra` paths.
    pub fn new(spec: &LogSpec, wanted: &[Field], extra: &[Vec<String>]) -> Plan {
        let mut root = Node::default();
        let mut n_slots = 0;
        let mut fields = Vec::new();
        let mut want: Vec<Field> = wanted.to_vec();
        let needs_tags = wanted.iter().any(|f| {
            spec.sources(*f)
                .iter()
                .any(|s| matches!(s, Source::TagPrefix(_)))
        });
        if needs_tags && !want.contains(&Field::Tags) {
            want.push(Field::Tags);
        }
        for f in want {
            let mut alts = Vec::new();
            for s in spec.sources(f) {
                match s {
                    Source::Path(p) => {
                        root.insert(p, n_slots);
                        alts.push(Alt::Slot(n_slots));
                        n_slots += 1;
                    }
                    Source::TagPrefix(t) => alts.push(Alt::Tag(t.clone())),
                }
            }
            fields.push((f, alts));
        }
        let extra = extra
            .iter()
            .map(|p| {
                root.insert(p, n_slots);
                n_slots += 1;
                n_slots - 1
            })
            .collect();
        Plan {
            root,
            n_slots,
            fields,
            extra,
        }
    }

    /// An empty slot vector for [`Plan::json_line`] / [`Plan::csv_row`].
    pub(crate) fn slots(&self) -> Vec<Option<Value>> {
        vec![None; self.n_slots]
    }

    /// Fill `out` from one JSON line. `Err` when the line is not a JSON object.
    pub(crate) fn json_line(&self, line: &[u8], out: &mut [Option<Value>]) -> Result<(), String> {
        out.iter_mut().for_each(|s| *s = None);
        let mut de = serde_json::Deserializer::from_slice(line);
        let seed = Seed {
            node: &self.root,
            out,
            top: true,
        };
        seed.deserialize(&mut de).map_err(|e| json_reason(&e))?;
        de.end().map_err(|e| json_reason(&e))
    }

    /// For a CSV header: the column of each top-level key the plan reads.
    pub(crate) fn csv_columns(&self, header: &csv::ByteRecord) -> Vec<(usize, usize)> {
        self.root
            .children
            .iter()
            .enumerate()
            .filter_map(|(ci, c)| {
                header
                    .iter()
                    .position(|h| trim_ascii(h) == c.name.as_bytes())
                    .map(|col| (ci, col))
            })
            .collect()
    }

    /// Fill `out` from one CSV record, given [`Plan::csv_columns`] of its header.
    pub(crate) fn csv_row(
        &self,
        rec: &csv::ByteRecord,
        cols: &[(usize, usize)],
        out: &mut [Option<Value>],
    ) {
        out.iter_mut().for_each(|s| *s = None);
        for &(ci, col) in cols {
            let Some(cell) = rec.get(col) else { continue };
            let cell = String::from_utf8_lossy(cell);
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let node = &self.root.children[ci].node;
            let v = cell_value(cell);
            fill_from_value(node, &v, out);
            assign(node, v, out);
        }
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e]
}

/// A CSV cell as a JSON value: an object/array or number when it reads as one, else the text.
fn cell_value(cell: &str) -> Value {
    let first = cell.as_bytes()[0];
    if matches!(first, b'{' | b'[') {
        if let Ok(v) = serde_json::from_str::<Value>(cell) {
            return v;
        }
    } else if first.is_ascii_digit() || first == b'-' {
        if let Ok(n) = cell.parse::<u64>() {
            return Value::from(n);
        }
        if let Ok(x) = cell.parse::<f64>() {
            if let Some(n) = serde_json::Number::from_f64(x) {
                return Value::Number(n);
            }
        }
    }
    Value::String(cell.to_string())
}

/// The serde_json message without its position (the caller names file:line).
fn json_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let s = match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    format!("not a JSON object: {s} (column {})", e.column())
}

/// Store `v` in every slot of `node`.
fn assign(node: &Node, v: Value, out: &mut [Option<Value>]) {
    if let Some((last, rest)) = node.slots.split_last() {
        for &s in rest {
            out[s] = Some(v.clone());
        }
        out[*last] = Some(v);
    }
}

/// Fill the slots below `node` from an already-built value (JSON-encoded strings are decoded on the way).
fn fill_from_value(node: &Node, v: &Value, out: &mut [Option<Value>]) {
    if node.children.is_empty() {
        return;
    }
    if let Value::String(s) = v {
        if let Ok(inner) = serde_json::from_str::<Value>(s) {
            if inner.is_object() || inner.is_array() {
                fill_from_value(node, &inner, out);
            }
        }
        return;
    }
    for c in &node.children {
        let sub = match v {
            Value::Object(m) => m.get(&*c.name),
            Value::Array(a) => c.index.and_then(|i| a.get(i)),
            _ => None,
        };
        if let Some(sub) = sub {
            fill_from_value(&c.node, sub, out);
            if !c.node.slots.is_empty() {
                assign(&c.node, sub.clone(), out);
            }
        }
    }
}

/// Deserializes one value, capturing the slots of `node` and walking into its children only.
struct Seed<'p, 'o> {
    node: &'p Node,
    out: &'o mut [Option<Value>],
    /// The line itself: it must be an object.
    top: bool,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if !self.node.slots.is_empty() {
            let v = Value::deserialize(d)?;
            fill_from_value(self.node, &v, self.out);
            assign(self.node, v, self.out);
            return Ok(());
        }
        if self.node.children.is_empty() && !self.top {
            return IgnoredAny::deserialize(d).map(|_| ());
        }
        d.deserialize_any(NodeVisitor {
            node: self.node,
            out: self.out,
            top: self.top,
        })
    }
}

struct NodeVisitor<'p, 'o> {
    node: &'p Node,
    out: &'o mut [Option<Value>],
    top: bool,
}

impl NodeVisitor<'_, '_> {
    fn not_object<E: serde::de::Error>(&self, what: &str) -> Result<(), E> {
        if self.top {
            Err(E::custom(format!("the line is a JSON {what}")))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(child) = map.next_key_seed(KeyMatch(self.node))? {
            match child {
                Some(node) => map.next_value_seed(Seed {
                    node,
                    out: &mut *self.out,
                    top: false,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.top {
            return Err(serde::de::Error::custom("the line is a JSON array"));
        }
        let mut i = 0;
        loop {
            let more = match self.node.child_at(i) {
                Some(node) => seq
                    .next_element_seed(Seed {
                        node,
                        out: &mut *self.out,
                        top: false,
                    })?
                    .is_some(),
                None => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<(), E> {
        if self.top {
            return self.not_object("string");
        }
        // A JSON document stored as a string: walk it too (errors mean it was plain text).
        let t = s.trim_start();
        if t.starts_with('{') || t.starts_with('[') {
            let mut de = serde_json::Deserializer::from_str(s);
            let _ = Seed {
                node: self.node,
                out: self.out,
                top: false,
            }
            .deserialize(&mut de);
        }
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_object("boolean")
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_object("number")
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_object("number")
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_object("number")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.not_object("null")
    }
}

/// A map key, matched against a node's children without allocating. Read as bytes: serde_json then skips the UTF-8
/// check of every key (most keys are not wanted, and a wanted one is compared byte for byte anyway).
struct KeyMatch<'p>(&'p Node);

impl<'de, 'p> DeserializeSeed<'de> for KeyMatch<'p> {
    type Value = Option<&'p Node>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_bytes(self)
    }
}

impl<'de, 'p> Visitor<'de> for KeyMatch<'p> {
    type Value = Option<&'p Node>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(self.0.child(s.as_bytes()))
    }

    fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Self::Value, E> {
        Ok(self.0.child(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::fields::Preset;
    use serde_json::json;

    fn plan_of(paths: &[&str]) -> Plan {
        let mut spec = LogSpec::preset(Preset::Chat);
        spec.fields.clear();
        let fields = [Field::Model, Field::Feature, Field::Answer, Field::Tags];
        for (f, p) in fields.iter().zip(paths) {
            spec.fields.insert(*f, vec![Source::parse(p).unwrap()]);
        }
        Plan::new(&spec, &fields[..paths.len()], &[])
    }

    #[test]
    fn paths_reach_nested_values_indices_and_encoded_json() {
        let p = plan_of(&["model", "metadata.spend.feature", "choices.1.text"]);
        let mut out = p.slots();
        let line = br#"{"x": {"deep": [1, {"y": 2}]}, "model": "gpt-4o", "metadata": "{\"spend\": {\"feature\": \"sum\"}}", "choices": [{"text": "a"}, {"text": "b"}]}"#;
        p.json_line(line, &mut out).unwrap();
        assert_eq!(out[0], Some(json!("gpt-4o")));
        assert_eq!(out[1], Some(json!("sum")));
        assert_eq!(out[2], Some(json!("b")));
        // Missing paths stay empty; the previous line's values do not leak.
        p.json_line(br#"{"model": null}"#, &mut out).unwrap();
        assert_eq!(out, vec![Some(Value::Null), None, None]);
    }

    #[test]
    fn non_objects_and_broken_json_are_reasons_not_panics() {
        let p = plan_of(&["model"]);
        let mut out = p.slots();
        for bad in [
            &b"[1,2]"[..],
            b"\"text\"",
            b"42",
            b"null",
            b"{\"model\": ",
            b"{\"model\": \"a\"} trailing",
            b"\xff\xfe",
            b"",
        ] {
            let e = p.json_line(bad, &mut out).unwrap_err();
            assert!(e.starts_with("not a JSON object"), "{e}");
        }
    }

    #[test]
    fn a_captured_node_still_feeds_deeper_paths() {
        let p = plan_of(&["usage", "usage.prompt_tokens"]);
        let mut out = p.slots();
        p.json_line(br#"{"usage": {"prompt_tokens": 7}}"#, &mut out)
            .unwrap();
        assert_eq!(out[0], Some(json!({"prompt_tokens": 7})));
        assert_eq!(out[1], Some(json!(7)));
    }

    #[test]
    fn csv_cells_are_text_numbers_or_json() {
        let p = plan_of(&["model", "metadata.feature", "spend", "request_tags"]);
        let header = csv::ByteRecord::from(vec!["spend", "model", "metadata", "request_tags"]);
        let cols = p.csv_columns(&header);
        let rec = csv::ByteRecord::from(vec![
            "0.5",
            " openai/gpt-4o ",
            r#"{"feature": "sum"}"#,
            r#"["a","b"]"#,
        ]);
        let mut out = p.slots();
        p.csv_row(&rec, &cols, &mut out);
        assert_eq!(out[0], Some(json!("openai/gpt-4o")));
        assert_eq!(out[1], Some(json!("sum")));
        assert_eq!(out[2], Some(json!(0.5)));
        assert_eq!(out[3], Some(json!(["a", "b"])));
    }
}
