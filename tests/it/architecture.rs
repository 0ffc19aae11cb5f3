//! The architecture as a test: the `crate::` paths under src/ against docs/architecture.md.
//!
//! Every top-level module (`src/x.rs` or `src/x/`) sits on a floor of docs/architecture.md; a module imports only
//! modules on its own floor or below, no import circle joins top-level modules, the ground floor imports nothing of
//! the crate, scoring, statistics, the schema, the gate, the summary and the reports reach no HTTP client (not even
//! through another module), and the clients import no metric and reach no scoring. The paths are read from the
//! source text with comments and string literals skipped, so a doc comment naming a module is no import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// For each top-level module, the modules it names (`crate::x` in code, not in comments or strings), with the first
/// file and line that names each.
type Imports = BTreeMap<String, BTreeMap<String, String>>;

/// The source text with comments, string and char literals blanked (newlines kept, so lines still count).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[u8]| {
        for &c in s {
            out.push(if c == b'\n' { '\n' } else { ' ' });
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            // Block comments nest in Rust.
            let (mut depth, mut j) = (0usize, 0usize);
            while j < rest.len() {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j]);
            i += j;
        } else if let Some(len) = raw_string_len(rest) {
            blank(&mut out, &rest[..len]);
            i += len;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let len = (j + 1).min(rest.len());
            blank(&mut out, &rest[..len]);
            i += len;
        } else if let Some(len) = (rest[0] == b'\'')
            .then(|| char_literal_len(&src[i..]))
            .flatten()
        {
            blank(&mut out, &rest[..len]);
            i += len;
        } else {
            // Copy one whole UTF-8 character.
            let ch = src[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Length of a raw (byte) string literal starting here: `r"…"`, `r#"…"#`, `br"…"`.
fn raw_string_len(s: &[u8]) -> Option<usize> {
    let start = if s.starts_with(b"br") {
        2
    } else if s.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = s[start..].iter().take_while(|&&c| c == b'#').count();
    if s.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let body = start + hashes + 1;
    let end = s[body..].windows(close.len()).position(|w| w == close)?;
    Some(body + end + close.len())
}

/// Length of a char literal starting here (`'a'`, `'\n'`, `'\u{1F600}'`); None for a lifetime (`'a`).
fn char_literal_len(s: &str) -> Option<usize> {
    let mut chars = s.char_indices().skip(1);
    let (_, first) = chars.next()?;
    if first == '\\' {
        // An escape: up to the next quote after the escaped character.
        let (at, _) = chars.skip(1).find(|(_, c)| *c == '\'')?;
        return Some(at + 1);
    }
    let (at, c) = chars.next()?;
    (c == '\'').then_some(at + 1)
}

/// The top-level modules a file names through `crate::`: `crate::x`, `crate::{x, y::z}`.
fn named_modules(code: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // One level of braces: the first name of each comma-separated path.
                let group = group.split('}').next().unwrap_or("");
                for part in group.split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" {
                        out.push((name, n + 1));
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push((name, n + 1));
                }
            }
        }
    }
    out
}

/// The top-level module a file of src/ belongs to: its first path component, or for a file that another includes
/// (`include!("tokens_hash.rs")`) the including file's module.
fn module_of(rel: &str, files: &BTreeMap<String, String>) -> String {
    let top = rel.split('/').next().unwrap_or(rel).trim_end_matches(".rs");
    let declared = files
        .get("lib.rs")
        .is_some_and(|lib| lib.lines().any(|l| l.trim() == format!("pub mod {top};")));
    if declared {
        return top.to_string();
    }
    let name = rel.rsplit('/').next().unwrap_or(rel);
    files
        .iter()
        .find(|(other, text)| *other != rel && text.contains(&format!("include!(\"{name}\")")))
        .map(|(other, _)| module_of(other, files))
        .unwrap_or_else(|| top.to_string())
}

/// The imports between top-level modules of `files` (path relative to src/ → text).
fn imports(files: &BTreeMap<String, String>) -> Imports {
    let mut out: Imports = BTreeMap::new();
    for (rel, text) in files {
        if rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let top = module_of(rel, files);
        let entry = out.entry(top.clone()).or_default();
        for (name, line) in named_modules(&code_only(text)) {
            if name != top {
                entry
                    .entry(name)
                    .or_insert_with(|| format!("src/{rel}:{line}"));
            }
        }
    }
    out
}

fn read_sources(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for e in std::fs::read_dir(dir).expect("src readable") {
        let path = e.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let rel = format!("{prefix}{name}");
        if path.is_dir() {
            read_sources(&path, &format!("{rel}/"), out);
        } else if name.ends_with(".rs") {
            out.insert(
                rel,
                std::fs::read_to_string(&path).expect("source readable"),
            );
        }
    }
}

/// An import circle among top-level modules, as `a -> b -> … -> a` with where each step is named.
fn find_circle(imports: &Imports) -> Option<String> {
    fn visit(
        m: &str,
        imports: &Imports,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<String> {
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut path = stack[at..].to_vec();
            path.push(m.to_string());
            let steps: Vec<String> = path
                .windows(2)
                .map(|w| format!("{} -> {} ({})", w[0], w[1], imports[&w[0]][&w[1]]))
                .collect();
            return Some(steps.join(", "));
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        stack.push(m.to_string());
        for next in imports.get(m).into_iter().flat_map(|d| d.keys()) {
            if let Some(c) = visit(next, imports, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    imports
        .keys()
        .find_map(|m| visit(m, imports, &mut Vec::new(), &mut done))
}

/// The modules `m` reaches through any chain of imports, each with the chain that reaches it.
fn reach(imports: &Imports, m: &str) -> BTreeMap<String, String> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut todo = vec![(m.to_string(), m.to_string())];
    while let Some((cur, chain)) = todo.pop() {
        for next in imports.get(&cur).into_iter().flat_map(|d| d.keys()) {
            if !seen.contains_key(next) {
                let c = format!("{chain} -> {next}");
                seen.insert(next.clone(), c.clone());
                todo.push((next.clone(), c));
            }
        }
    }
    seen
}

/// docs/architecture.md's floors: module → floor number (rows `| N | `a`, `b` | … |`).
fn floors(doc: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(floor), Some(mods)) = (cells.get(1), cells.get(3)) else {
            continue;
        };
        let Ok(floor) = floor.parse::<u32>() else {
            continue;
        };
        for m in mods.split('`').skip(1).step_by(2) {
            out.insert(m.to_string(), floor);
        }
    }
    out
}

/// Modules that must not reach the HTTP clients, and the clients.
const NO_CLIENT: [&str; 7] = [
    "score", "metrics", "stats", "suite", "gate", "report", "summary",
];
const CLIENTS: &str = "provider";

/// Every rule of docs/architecture.md that `imports` breaks.
fn problems(imports: &Imports, floors: &BTreeMap<String, u32>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = find_circle(imports) {
        out.push(format!("import circle between top-level modules: {c}"));
    }
    for (m, deps) in imports {
        let Some(&fm) = floors.get(m) else {
            out.push(format!(
                "module `{m}` is on no floor of docs/architecture.md: add it to the floor whose modules it imports"
            ));
            continue;
        };
        for (d, at) in deps {
            match floors.get(d) {
                Some(&fd) if fm == 0 => out.push(format!(
                    "`{m}` is on the ground floor, which imports nothing of the crate, but names `{d}` (floor {fd}) at {at}"
                )),
                Some(&fd) if fd > fm => out.push(format!(
                    "`{m}` (floor {fm}) imports `{d}` (floor {fd}) at {at}: a module imports only its own floor and below"
                )),
                _ => {}
            }
        }
    }
    for m in NO_CLIENT {
        if let Some(chain) = reach(imports, m).get(CLIENTS) {
            out.push(format!("`{m}` reaches the HTTP clients: {chain}"));
        }
    }
    if let Some(at) = imports.get(CLIENTS).and_then(|d| d.get("metrics")) {
        out.push(format!("the HTTP clients import the metrics at {at}"));
    }
    if let Some(chain) = reach(imports, CLIENTS).get("score") {
        out.push(format!("the HTTP clients reach scoring: {chain}"));
    }
    out
}

#[test]
fn the_source_keeps_the_architecture_of_docs_architecture_md() {
    let root = crate::common::root();
    let mut files = BTreeMap::new();
    read_sources(&root.join("src"), "", &mut files);
    let found = imports(&files);
    let doc =
        std::fs::read_to_string(root.join("docs/architecture.md")).expect("docs/architecture.md");
    let floors = floors(&doc);
    assert!(
        ["chat", "metrics", "score", "provider", "report", "app"]
            .iter()
            .all(|m| found.contains_key(*m) && floors.contains_key(*m)),
        "the modules were not found: {:?} / {floors:?}",
        found.keys().collect::<Vec<_>>()
    );
    let p = problems(&found, &floors);
    assert!(p.is_empty(), "{}", p.join("\n"));
    // Every floor in the doc names modules that exist.
    for m in floors.keys() {
        assert!(
            found.contains_key(m),
            "docs/architecture.md names `{m}`, which src/ has no longer"
        );
    }
}

#[test]
fn the_checks_catch_what_they_are_for() {
    let files = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    };
    let floors = floors(
        "| floor | name | modules |\n|---|---|---|\n| 0 | ground | `chat` |\n| 1 | parts | `metrics`, `score` |\n\
         | 2 | wire | `provider`, `report` |\n",
    );
    assert_eq!(floors.get("report"), Some(&2));
    // Comments, strings and raw strings name nothing; `crate::{…}` groups and nested files do.
    let lib = "pub mod chat;\npub mod metrics;\npub mod score;\npub mod provider;\npub mod report;\npub mod extra;";
    let clean = files(&[
        ("lib.rs", lib),
        ("chat.rs", "// use crate::provider;\nconst S: &str = \"crate::provider\";\nconst R: &str = r#\"crate::score\"#;\nfn f<'a>(x: &'a str) -> char { 'c' }"),
        ("metrics/mod.rs", "use crate::{chat::ToolCall, chat::Role};"),
        ("score/mod.rs", "use crate::metrics;\n/* crate::provider /* nested */ */"),
        ("provider/mod.rs", "use crate::chat::Message;"),
        ("report.rs", "fn f() { crate::score::x(); }"),
    ]);
    let found = imports(&clean);
    assert_eq!(
        found["metrics"].keys().collect::<Vec<_>>(),
        ["chat"],
        "{found:?}"
    );
    assert!(found["chat"].is_empty(), "{found:?}");
    assert_eq!(problems(&found, &floors), Vec::<String>::new());
    // A circle, a client reached from scoring (or from a file another includes), a metric imported by the clients,
    // an upward import, an undocumented module, and the ground floor importing anything: each is reported.
    let bad = files(&[
        ("lib.rs", lib),
        ("chat.rs", "use crate::metrics::X;"),
        ("metrics/mod.rs", "use crate::score::Y;"),
        (
            "score/mod.rs",
            "use crate::metrics::Z; use crate::provider::C;",
        ),
        ("provider/mod.rs", "use crate::metrics::table;"),
        ("report.rs", "include!(\"report_inc.rs\");"),
        ("report_inc.rs", "fn f() -> crate::provider::P { todo!() }"),
        ("extra.rs", "use crate::chat::Role;"),
    ]);
    let p = problems(&imports(&bad), &floors).join("\n");
    for expected in [
        "import circle between top-level modules: metrics -> score (src/metrics/mod.rs:1), score -> metrics (src/score/mod.rs:1)",
        "`score` reaches the HTTP clients: score -> provider",
        "the HTTP clients import the metrics at src/provider/mod.rs:1",
        "`score` (floor 1) imports `provider` (floor 2) at src/score/mod.rs:1",
        "module `extra` is on no floor",
        "`report` reaches the HTTP clients: report -> provider",
        "`chat` is on the ground floor, which imports nothing of the crate, but names `metrics`",
    ] {
        assert!(p.contains(expected), "missing {expected:?} in:\n{p}");
    }
}
