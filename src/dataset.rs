//! Dataset loaders: JSONL and CSV files become [`Item`]s with stable ids.
//!
//! Why this module exists: the dataset is the ground truth every score rests on, so a broken row must stop the run
//! with the file and row named, before anything is paid for. Ids are stable (a named field, else the row number) so a
//! resumed run and the cache find the same item again. A 100,000-row dataset is held for the whole run, so each row
//! is kept compact: its JSON object text, parsed again where the fields are needed (rendering a prompt).

use crate::error::{InputError, Result};
use crate::suite::{DatasetFormat, DatasetSpec};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::Path;

/// The dataset field `reference: logged` reads (the field `evalh dataset from-logs` writes).
pub const LOGGED_FIELD: &str = "logged_answer";

/// Largest dataset file read (1 GiB): a 100,000-item dataset of long documents is a few hundred MB. The file is
/// held in memory while it is parsed, so a wrong path (a log, `/dev/zero`) must fail at once, not fill memory.
pub const MAX_DATASET_BYTES: u64 = 1 << 30;

/// Largest single row (64 MiB): far above any prompt a model accepts; a longer line is a concatenated or corrupt file.
pub const MAX_ROW_BYTES: usize = 64 << 20;

/// One dataset row.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// 0-based position in the file (after `limit`).
    pub index: usize,
    /// Stable id.
    pub id: String,
    /// 1-based line (JSONL) or record line (CSV) in the file.
    pub line: usize,
    /// All fields of the row (available to templates) as one JSON object text; CSV rows are converted once at load.
    fields_json: Box<str>,
    /// The ground truth (`dataset.expected` field).
    pub expected: Value,
}

impl Item {
    /// All fields of the row, in file order.
    pub fn fields(&self) -> Map<String, Value> {
        // The text was parsed into an object when the dataset was loaded, so this cannot fail.
        serde_json::from_str(&self.fields_json).unwrap_or_default()
    }

    /// All fields of the row as one JSON object text (empty after [`release_fields`], until [`restore_fields`]).
    pub fn fields_json(&self) -> &str {
        &self.fields_json
    }

    /// Whether the row's fields are in memory (see [`release_fields`]).
    pub fn has_fields(&self) -> bool {
        !self.fields_json.is_empty()
    }
}

/// Whether the analysis of a run of this suite reads nothing of an item but its id and answer key, so the rows'
/// fields can leave memory once every prompt is rendered ([`release_fields`]): a JSONL dataset (whose rows
/// [`restore_fields`] can read back by line), scored against its ground truth (agreement scoring reads the logged
/// answer from the row), not function calling (whose answer key is re-read exactly from the row's text) and without
/// an LLM judge (whose prompts show the row).
pub fn fields_releasable(ls: &crate::suite::LoadedSuite) -> bool {
    let s = &ls.suite;
    format_of(&ls.dataset_path, &s.dataset) == Some(DatasetFormat::Jsonl)
        && s.scoring.reference == crate::suite::Reference::GroundTruth
        && s.task != crate::suite::TaskKind::FunctionCalling
        && s.judge.is_none()
}

/// Drop every item's fields, keeping its id, line and answer key: a 1,000,000-item dataset's rows are ~135 MB that
/// the analysis does not read (only the report shows a few rows, brought back by [`restore_fields`]).
pub fn release_fields(items: &mut [Item]) {
    for it in items {
        it.fields_json = Box::default();
    }
}

/// Read the fields of the items at positions `which` back from the JSONL file they were loaded from (the line each
/// item records). The file must be the one loaded (the run directory's manifest hash guards that); a line that no
/// longer holds a JSON object leaves the item without fields rather than failing the report.
pub fn restore_fields(path: &Path, items: &mut [Item], which: &[usize]) -> Result<()> {
    use std::io::BufRead;
    let mut want: Vec<(usize, usize)> = which
        .iter()
        .filter(|&&i| items.get(i).is_some_and(|it| !it.has_fields()))
        .map(|&i| (items[i].line, i))
        .collect();
    if want.is_empty() {
        return Ok(());
    }
    want.sort_unstable();
    let file = std::fs::File::open(path)
        .map_err(|e| crate::error::Error::io(format!("reading {}", path.display()), e))?;
    let mut next = want.iter().peekable();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        if next.peek().is_none() {
            break;
        }
        let line =
            line.map_err(|e| crate::error::Error::io(format!("reading {}", path.display()), e))?;
        while let Some(&&(l, i)) = next.peek() {
            if l != n + 1 {
                break;
            }
            let t = line.trim();
            if t.starts_with('{') {
                items[i].fields_json = t.into();
            }
            next.next();
        }
    }
    Ok(())
}

/// One parsed dataset row: its line in the file and its fields as a JSON object text.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line (JSONL) or record line (CSV).
    pub line: usize,
    /// The row's fields, one JSON object.
    pub json: Box<str>,
}

impl Row {
    /// The row's fields.
    pub fn fields(&self) -> Map<String, Value> {
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

/// Load a dataset file per its spec.
pub fn load(path: &Path, spec: &DatasetSpec) -> Result<Vec<Item>> {
    let Some(format) = format_of(path, spec) else {
        return Err(InputError::new(
            path,
            "cannot tell the dataset format from the file extension",
        )
        .hint("use a .jsonl or .csv file, or set `dataset.format: jsonl|csv`")
        .into());
    };
    let text = crate::suite::read_user_file_capped(path, "dataset", MAX_DATASET_BYTES)?;
    let rows = match format {
        DatasetFormat::Jsonl => parse_jsonl(path, &text)?,
        DatasetFormat::Csv => parse_csv(path, &text)?,
    };
    drop(text); // the rows own their data; the file's text is not needed while the items are built
    build_items(path, spec, rows)
}

/// The dataset's format: `dataset.format`, or the file extension's.
fn format_of(path: &Path, spec: &DatasetSpec) -> Option<DatasetFormat> {
    match spec.format {
        Some(f) => Some(f),
        None => match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Some(DatasetFormat::Csv),
            Some("jsonl") | Some("ndjson") | Some("json") => Some(DatasetFormat::Jsonl),
            _ => None,
        },
    }
}

/// Parse JSONL text into rows (each line checked to be one JSON object). Blank lines are skipped.
pub fn parse_jsonl(path: &Path, text: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        check_row_size(path, line_no, t.len())?;
        let v: Value = serde_json::from_str(t).map_err(|e| {
            let hint = if t.starts_with('\u{feff}') {
                "the line starts with a byte-order mark (U+FEFF), typically from files concatenated together; remove it"
            } else {
                "each line of a JSONL file must be one complete JSON object"
            };
            InputError::new(path, format!("row is not valid JSON: {}", json_message(&e)))
                .at(line_no, e.column())
                .hint(hint)
        })?;
        match v {
            Value::Object(_) => {
                // serde_json keeps the last of two equal keys; for ground truth that silent choice is a bug.
                if let Err(e) = serde_json::from_str::<NoDuplicateKeys>(t) {
                    return Err(
                        InputError::new(path, format!("row has a {}", json_message(&e)))
                            .at(line_no, e.column())
                            .hint("each field may appear once per row; keep the right one")
                            .into(),
                    );
                }
                rows.push(Row {
                    line: line_no,
                    json: t.into(),
                })
            }
            other => {
                return Err(InputError::new(
                    path,
                    format!("row is a JSON {}, not an object", json_type(&other)),
                )
                .at_line(line_no)
                .hint(
                    "each line must be an object like {\"id\": ..., \"text\": ..., \"label\": ...}",
                )
                .into())
            }
        }
    }
    if rows.is_empty() {
        return Err(InputError::new(path, "dataset has no rows")
            .at_line(1)
            .hint("add at least one item")
            .into());
    }
    Ok(rows)
}

/// A row longer than [`MAX_ROW_BYTES`] is an error naming its line.
fn check_row_size(path: &Path, line: usize, len: usize) -> Result<()> {
    if len <= MAX_ROW_BYTES {
        return Ok(());
    }
    Err(InputError::new(
        path,
        format!(
            "row is {} MiB long; at most {} MiB per row are read",
            len >> 20,
            MAX_ROW_BYTES >> 20
        ),
    )
    .at_line(line)
    .hint("a row is one item: check that the file is not several files joined together, or shorten the item")
    .into())
}

/// Deserializes a JSON object only to check that no key appears twice in it (values are skipped).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NoDuplicateKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<NoDuplicateKeys, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(k) = a.next_key::<String>()? {
                    if !seen.insert(k.clone()) {
                        return Err(serde::de::Error::custom(format!("duplicate key `{k}`")));
                    }
                    a.next_value::<serde::de::IgnoredAny>()?;
                }
                Ok(NoDuplicateKeys)
            }
        }
        d.deserialize_map(V)
    }
}

/// Parse CSV text (header row required) into rows; cells that hold JSON objects/arrays are parsed.
pub fn parse_csv(path: &Path, text: &str) -> Result<Vec<Row>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| csv_error(path, text, e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect::<Vec<_>>();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(InputError::new(path, "CSV has no header row")
            .at_line(1)
            .hint("the first line must name the columns")
            .into());
    }
    if let [only] = headers.as_slice() {
        if let Some(sep) = [';', '\t', '|'].into_iter().find(|c| only.contains(*c)) {
            return Err(InputError::new(
                path,
                format!("the header is a single column `{only}`"),
            )
            .at_line(1)
            .hint(format!(
                "evalh reads comma-separated CSV; this file looks separated by {sep:?}: convert it to commas (or JSONL)"
            ))
            .into());
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = headers.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(
            InputError::new(path, format!("column `{dup}` appears twice in the header"))
                .at_line(1)
                .hint("rename or remove one of them: a row would silently keep only one value")
                .into(),
        );
    }
    let mut rows = Vec::new();
    let mut lines = LineCounter::default();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(path, text, e))?;
        let line = rec
            .position()
            .map(|p| lines.line_at(text, p.byte()))
            .unwrap_or(0);
        check_row_size(path, line, rec.as_slice().len())?;
        let mut m = Map::new();
        for (h, cell) in headers.iter().zip(rec.iter()) {
            let c = cell.trim();
            let v = if (c.starts_with('{') && c.ends_with('}'))
                || (c.starts_with('[') && c.ends_with(']'))
            {
                serde_json::from_str(c).unwrap_or_else(|_| Value::String(cell.to_string()))
            } else {
                Value::String(cell.to_string())
            };
            m.insert(h.clone(), v);
        }
        rows.push(Row {
            line,
            json: Value::Object(m).to_string().into(),
        });
    }
    if rows.is_empty() {
        return Err(InputError::new(path, "dataset has no rows")
            .at_line(1)
            .hint("add at least one item below the header")
            .into());
    }
    Ok(rows)
}

/// The 1-based file line a CSV record starts on, counted forward from the last record asked for (records come in
/// file order, so a whole file is counted once). The csv crate's own line number is off after blank lines and on
/// CRLF files, and its byte offset points just after the previous record's `\r`: the line breaks (and blank lines)
/// from there on are skipped to reach the record's first byte.
#[derive(Debug, Default)]
struct LineCounter {
    byte: usize,
    newlines: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, byte: u64) -> usize {
        let mut to = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
        let bytes = text.as_bytes();
        while to < bytes.len() && matches!(bytes[to], b'\r' | b'\n') {
            to += 1;
        }
        if to < self.byte {
            *self = LineCounter::default();
        }
        self.newlines += text.as_bytes()[self.byte..to]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.byte = to;
        self.newlines + 1
    }
}

fn csv_error(path: &Path, text: &str, e: csv::Error) -> crate::error::Error {
    let line = e
        .position()
        .map(|p| LineCounter::default().line_at(text, p.byte()));
    // A quote opened and never closed swallows the rest of the file into one cell, which the csv crate reports as a
    // short record; say what actually happened.
    let unclosed = line
        .and_then(|l| text.lines().nth(l.saturating_sub(1)))
        .is_some_and(|row| row.matches('"').count() % 2 == 1);
    let hint = match e.kind() {
        csv::ErrorKind::UnequalLengths { .. } if unclosed => {
            "a quoted cell on this line is never closed: add the closing `\"` (write a quote inside a cell as `\"\"`)"
        }
        csv::ErrorKind::UnequalLengths { .. } => {
            "every row needs as many cells as the header; quote cells that contain commas"
        }
        csv::ErrorKind::Utf8 { .. } => "save the file as UTF-8",
        _ => "check the CSV quoting on this row",
    };
    let detail = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} cells, the header has {expected_len}"),
        _ => e.to_string().trim_start_matches("CSV error: ").to_string(),
    };
    let mut ie = InputError::new(path, format!("CSV error: {detail}")).hint(hint);
    if let Some(l) = line {
        ie = ie.at_line(l);
    }
    ie.into()
}

/// A serde_json error without its " at line 1 column N" suffix (the position is reported as file:line:column).
fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn build_items(path: &Path, spec: &DatasetSpec, rows: Vec<Row>) -> Result<Vec<Item>> {
    let mut items: Vec<Item> = Vec::with_capacity(rows.len());
    // Duplicate ids, by a 64-bit hash of each id and the position of its first item (16 bytes an item, where a set of
    // the ids themselves held a second copy of every id: ~100 MB at 1,000,000 items).
    let hasher = std::collections::hash_map::RandomState::new();
    let mut seen: HashMap<u64, usize> = HashMap::with_capacity(rows.len());
    for (row_no, Row { line, json }) in rows.into_iter().enumerate() {
        if spec.limit.is_some_and(|l| items.len() >= l) {
            break;
        }
        let fields: Map<String, Value> = serde_json::from_str(&json).map_err(|e| {
            crate::error::Error::Internal(format!(
                "dataset row on line {line} no longer parses: {e}"
            ))
        })?;
        let id = match &spec.id {
            None => (row_no + 1).to_string(),
            Some(f) => match fields.get(f) {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                None => {
                    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
                    let hint = match crate::error::did_you_mean(f, keys.iter().copied()) {
                        Some(k) => format!("did you mean `{k}`? (set `dataset.id` in the suite)"),
                        None => format!(
                            "fields in this row: {}; set `dataset.id` to one of them, or remove it to use row numbers",
                            keys.join(", ")
                        ),
                    };
                    return Err(InputError::new(path, format!("row has no id field `{f}`"))
                        .at_line(line)
                        .hint(hint)
                        .into());
                }
                Some(_) => {
                    return Err(InputError::new(path, format!("row has no usable id field `{f}`"))
                        .at_line(line)
                        .hint(format!("give every row a non-empty string or number `{f}`, or remove `dataset.id` to use row numbers"))
                        .into())
                }
            },
        };
        let expected = match fields.get(&spec.expected) {
            Some(v) => Some(v.clone()),
            // Agreement scoring (`scoring.reference`): an unlabelled row is fine; `Null` marks it.
            None if spec.unlabelled_ok => Some(Value::Null),
            None => None,
        };
        let Some(expected) = expected else {
            let mut e = InputError::new(
                path,
                format!("row has no expected field `{}`", spec.expected),
            )
            .at_line(line);
            let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
            e = match crate::error::did_you_mean(&spec.expected, keys.iter().copied()) {
                Some(k) => e.hint(format!(
                    "did you mean `{k}`? (set `dataset.expected` in the suite)"
                )),
                None => e.hint(format!("fields in this row: {}", keys.join(", "))),
            };
            return Err(e.into());
        };
        let first = match seen.entry(hasher.hash_one(&id)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(items.len());
                None
            }
            // Equal hashes: the same id, or (with odds of about n²/2⁶⁵) two ids that collide, then looked up in full.
            std::collections::hash_map::Entry::Occupied(o) => {
                let at = *o.get();
                if items[at].id == id {
                    Some(items[at].line)
                } else {
                    items.iter().find(|it| it.id == id).map(|it| it.line)
                }
            }
        };
        if let Some(prev) = first {
            return Err(InputError::new(
                path,
                format!("duplicate item id `{id}` (first on line {prev})"),
            )
            .at_line(line)
            .hint("ids must be unique: they key the journal, resume and cache")
            .into());
        }
        items.push(Item {
            index: items.len(),
            id,
            line,
            fields_json: json,
            expected,
        });
    }
    Ok(items)
}

/// Classification: every expected label must be one the suite lists.
pub fn check_labels<'a>(
    path: &Path,
    items: impl IntoIterator<Item = &'a Item>,
    labels: &[String],
) -> Result<()> {
    for it in items {
        let ok = match &it.expected {
            Value::String(s) => labels.iter().any(|l| l == s),
            _ => false,
        };
        if !ok {
            return Err(InputError::new(
                path,
                format!(
                    "item `{}` has label {} which the suite does not list",
                    it.id, it.expected
                ),
            )
            .at_line(it.line)
            .hint(format!(
                "add it to `labels:` in the suite or fix the row; labels: {}",
                labels.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DatasetSpec {
        DatasetSpec {
            path: "x".into(),
            id: Some("id".into()),
            expected: "label".into(),
            format: None,
            limit: None,
            unlabelled_ok: false,
        }
    }

    #[test]
    fn jsonl_rows_and_errors_name_the_line() {
        let p = Path::new("d.jsonl");
        let rows = parse_jsonl(
            p,
            "{\"id\":\"a\",\"label\":\"x\"}\n\n{\"id\":2,\"label\":\"y\"}\n",
        )
        .unwrap();
        let items = build_items(p, &spec(), rows).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].id, "2");
        assert_eq!(items[1].line, 3);
        let err = parse_jsonl(p, "{\"id\":\"a\"}\n{\"id\": \n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("d.jsonl:2:"), "{err}");
        let err = parse_jsonl(p, "[1,2]\n").unwrap_err().to_string();
        assert!(err.contains("d.jsonl:1: row is a JSON array"), "{err}");
    }

    #[test]
    fn released_fields_come_back_for_the_rows_asked_for_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let text = "{\"id\":\"a\",\"label\":\"x\",\"text\":\"one\"}\n\n  {\"id\":\"b\",\"label\":\"y\",\"text\":\"two\"}  \r\n{\"id\":\"c\",\"label\":\"x\",\"text\":\"three\"}\n";
        std::fs::write(&path, text).unwrap();
        let loaded = load(&path, &spec()).unwrap();
        let mut items = loaded.clone();
        release_fields(&mut items);
        assert!(items
            .iter()
            .all(|it| !it.has_fields() && it.fields().is_empty()));
        assert_eq!(items[1].expected, loaded[1].expected);
        restore_fields(&path, &mut items, &[2, 1]).unwrap();
        assert!(!items[0].has_fields());
        for i in [1, 2] {
            assert_eq!(items[i].fields_json(), loaded[i].fields_json());
            assert_eq!(items[i].fields(), loaded[i].fields());
        }
        // Nothing released: nothing is read (the file may be gone).
        std::fs::remove_file(&path).unwrap();
        restore_fields(&path, &mut items, &[1, 2]).unwrap();
    }

    #[test]
    fn duplicate_ids_and_missing_expected_are_errors() {
        let p = Path::new("d.jsonl");
        let rows = parse_jsonl(
            p,
            "{\"id\":\"a\",\"label\":\"x\"}\n{\"id\":\"a\",\"label\":\"y\"}\n",
        )
        .unwrap();
        let err = build_items(p, &spec(), rows).unwrap_err().to_string();
        assert!(
            err.contains("d.jsonl:2: duplicate item id `a` (first on line 1)"),
            "{err}"
        );
        let rows = parse_jsonl(p, "{\"id\":\"a\",\"lable\":\"x\"}\n").unwrap();
        let err = build_items(p, &spec(), rows).unwrap_err().to_string();
        assert!(err.contains("did you mean `lable`?"), "{err}");
    }

    #[test]
    fn csv_rows_quoting_errors_and_json_cells() {
        let p = Path::new("d.csv");
        let rows = parse_csv(
            p,
            "id,text,label\n1,\"hello, world\",x\n2,\"{\"\"a\"\": 1}\",y\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].fields()["text"],
            Value::String("hello, world".into())
        );
        assert_eq!(rows[1].fields()["text"], serde_json::json!({"a": 1}));
        assert_eq!(rows[1].line, 3);
        let err = parse_csv(p, "id,text,label\n1,a,x\n2,b\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("d.csv:3:"), "{err}");
    }

    #[test]
    fn csv_lines_are_file_lines_after_blank_lines_crlf_and_multi_line_cells() {
        let p = Path::new("d.csv");
        for (text, want) in [
            ("id,text,label\r\na1,x,b\r\na2,y,b\r\n", 3),
            ("id,text,label\n\na1,x,b\n\na2,y,b\n", 5),
            ("id,text,label\na1,\"two\nlines\",b\na2,y,b\n", 4),
            ("\u{feff}id,text,label\na1,x,b\na2,y,b", 3),
        ] {
            let rows = parse_csv(p, text).unwrap();
            assert_eq!(rows[1].line, want, "{text:?}");
        }
        // Errors too: the short row is on file line 5 (after a blank line, in a CRLF file).
        let err = parse_csv(p, "id,text,label\r\n\r\na1,x,b\r\n\r\na2,y\r\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("d.csv:5:"), "{err}");
    }

    #[test]
    fn ambiguous_rows_and_headers_are_errors() {
        let p = Path::new("d.jsonl");
        let err = parse_jsonl(
            p,
            "{\"id\":\"a\",\"label\":\"x\"}\n{\"id\":\"b\",\"label\":\"x\",\"label\":\"y\"}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("d.jsonl:2:"), "{err}");
        assert!(err.contains("duplicate key `label`"), "{err}");
        assert!(!err.contains(" at line 1"), "{err}");
        let p = Path::new("d.csv");
        let err = parse_csv(p, "id,label,label\n1,x,y\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("d.csv:1: column `label` appears twice"),
            "{err}"
        );
        let err = parse_csv(p, "id;label\n1;x\n").unwrap_err().to_string();
        assert!(err.starts_with("d.csv:1:") && err.contains("';'"), "{err}");
        let err = parse_csv(p, "id,text,label\n1,\"open,x\n2,b,y\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("never closed"), "{err}");
        let err = parse_jsonl(Path::new("e.jsonl"), "\n\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("e.jsonl:1: dataset has no rows"), "{err}");
        let err = parse_jsonl(
            Path::new("b.jsonl"),
            "{\"id\":\"a\",\"label\":\"x\"}\n\u{feff}{\"id\":\"b\",\"label\":\"x\"}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("b.jsonl:2:") && err.contains("byte-order mark"),
            "{err}"
        );
    }

    #[test]
    fn items_keep_every_field_in_file_order() {
        let p = Path::new("d.jsonl");
        let rows = parse_jsonl(
            p,
            "{\"z\":1.5,\"id\":\"a\",\"label\":\"x\",\"n\":{\"b\":[1,null]}}\n",
        )
        .unwrap();
        let items = build_items(p, &spec(), rows).unwrap();
        let f = items[0].fields();
        assert_eq!(f.keys().collect::<Vec<_>>(), ["z", "id", "label", "n"]);
        assert_eq!(f["n"], serde_json::json!({"b": [1, null]}));
        assert_eq!(items[0].expected, Value::String("x".into()));
        let rows = parse_csv(Path::new("d.csv"), "id,label,text\n1,x,\"[1, 2]\"\n").unwrap();
        let items = build_items(Path::new("d.csv"), &spec(), rows).unwrap();
        assert_eq!(items[0].fields()["text"], serde_json::json!([1, 2]));
        assert_eq!(items[0].id, "1");
    }

    #[test]
    fn limit_and_row_number_ids() {
        let p = Path::new("d.jsonl");
        let rows = parse_jsonl(
            p,
            "{\"label\":\"x\"}\n{\"label\":\"y\"}\n{\"label\":\"z\"}\n",
        )
        .unwrap();
        let s = DatasetSpec {
            id: None,
            limit: Some(2),
            ..spec()
        };
        let items = build_items(p, &s, rows).unwrap();
        assert_eq!(
            items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
    }
}
