//! Reading suite and provider files, with errors that point at file:line:column and suggest the fix.
//!
//! All YAML parsing of user files happens here, so a later switch of YAML library touches one file.

use super::model::{yaml_tool, ProvidersFile, Suite, TaskKind, ToolsSpec};
use crate::chat::ToolDef;
use crate::error::{did_you_mean, Error, InputError, Result};
use crate::metrics::TaskScorer;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A parsed, validated suite with its resolved paths.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    /// The typed suite (providers already replaced by `--providers` when given).
    pub suite: Suite,
    /// The suite file.
    pub path: PathBuf,
    /// The dataset file, resolved relative to the suite file.
    pub dataset_path: PathBuf,
    /// Tool definitions (inline or loaded from their file).
    pub tools: Vec<ToolDef>,
    /// Where each provider was declared (the suite or the providers file), for error messages.
    pub providers_path: PathBuf,
    /// The text of the providers' source file, for locating errors.
    pub providers_src: String,
    /// The suite's source text.
    pub src: String,
}

impl LoadedSuite {
    /// An error in the suite file, located at the nested key `path` (or its nearest enclosing key, or line 1).
    pub fn error_at(&self, path: &[&str], msg: impl Into<String>) -> InputError {
        let e = InputError::new(&self.path, msg);
        match locate_path(&self.src, path) {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    }

    /// The suite's scoring settings compiled for its task: what scoring uses, and what validation builds to check
    /// them.
    pub fn task_scorer(&self) -> std::result::Result<TaskScorer, InputError> {
        let s = &self.suite;
        TaskScorer::new(
            s.task,
            &s.scoring.label_extract,
            &s.labels,
            s.scoring.rouge_stem,
            &s.scoring.extraction,
        )
        .map_err(|e| {
            InputError::new(&self.path, format!("scoring.{}: {}", e.key, e.message))
                .hint("see docs/metrics.md")
        })
    }
}

/// Largest suite, providers, tools or schema file read (16 MiB): far above any real one, and small enough that a
/// wrong path (a log file, `/dev/zero`) fails at once with a clear error instead of filling memory.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Read a file that a user named, with an error that says which file and why (at most [`MAX_CONFIG_BYTES`]).
pub fn read_user_file(path: &Path, what: &str) -> Result<String> {
    read_user_file_capped(path, what, MAX_CONFIG_BYTES)
}

/// Read a file that a user named, refusing directories, devices and anything longer than `cap` bytes. Pipes (`<(...)`)
/// are read up to the cap too, so nothing unbounded is ever held in memory.
pub fn read_user_file_capped(path: &Path, what: &str, cap: u64) -> Result<String> {
    use std::io::Read;
    if path.is_dir() {
        return Err(
            InputError::new(path, format!("{what} is a directory, not a file"))
                .hint("point to the file inside it")
                .into(),
        );
    }
    let open_err = |e: std::io::Error| {
        InputError::new(path, format!("cannot read {what}: {e}")).hint(match e.kind() {
            std::io::ErrorKind::NotFound => "check the path; relative paths are resolved from the current directory (suite) or the suite file's folder (dataset, tools)",
            _ => "check the file's permissions",
        })
    };
    let too_big = || {
        InputError::new(
            path,
            format!("{what} is larger than {} MiB, the most evalh reads", cap >> 20),
        )
        .at_line(1)
        .hint(if what == "dataset" {
            "split the dataset into several suites (or keep only the items you need); check that the path names the right file"
        } else {
            "check that the path names the right file"
        })
    };
    let meta = std::fs::metadata(path).map_err(open_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_char_device() || t.is_block_device() || t.is_socket() {
            return Err(
                InputError::new(path, format!("{what} is a device, not a file"))
                    .at_line(1)
                    .hint("point to a regular file")
                    .into(),
            );
        }
    }
    if meta.is_file() && meta.len() > cap {
        return Err(too_big().into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
        .map_err(open_err)?;
    if bytes.len() as u64 > cap {
        return Err(too_big().into());
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        InputError::new(path, format!("{what} is not valid UTF-8"))
            .at_line(line)
            .hint("save the file as UTF-8")
    })?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

/// Turn a YAML error into an InputError with position and a did-you-mean for unknown keys.
pub fn yaml_error(path: &Path, src: &str, err: &serde_yaml::Error) -> InputError {
    let mut msg = err.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    let mut e = InputError::new(path, msg.clone());
    if let Some(loc) = err.location() {
        e = e.at(loc.line(), loc.column());
    }
    // serde reports a duplicate key at the start of its mapping; point at the second occurrence instead.
    if let Some(rest) = msg.split("duplicate field `").nth(1) {
        let field = rest.split('`').next().unwrap_or("");
        if let Some((l, c)) = locate(src, field, None, 1) {
            e = e.at(l, c);
        }
        e = e.hint(format!(
            "`{field}` appears twice in the same mapping; keep one"
        ));
    }
    if e.line.is_none() {
        // Errors without a position (alias expansion limits, ...): the first alias, else the top of the file.
        let alias_line = src.lines().position(|l| {
            l.split('#')
                .next()
                .is_some_and(|code| code.contains(" *") || code.contains("[*"))
        });
        e = e.at_line(alias_line.map_or(1, |i| i + 1));
        if msg.contains("repetition limit") {
            e = e
                .hint("YAML aliases (*name) expand to too much data; write the values out instead");
        }
    }
    let tab_on_line = err
        .location()
        .and_then(|loc| src.lines().nth(loc.line().saturating_sub(1)))
        .is_some_and(|l| l.contains('\t'));
    if (src.contains('\t') && msg.contains("tab")) || tab_on_line {
        e = e.hint("YAML indentation must use spaces, not tabs");
    } else if let Some(rest) = msg.split("unknown field `").nth(1) {
        let field = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest
            .split("expected ")
            .nth(1)
            .map(|s| s.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        e = match did_you_mean(field, expected.iter().copied()) {
            Some(s) => e.hint(format!("did you mean `{s}`?")),
            None => e.hint(format!(
                "remove `{field}`; allowed keys: {}",
                expected.join(", ")
            )),
        };
    } else if let Some(rest) = msg.split("unknown variant `").nth(1) {
        let v = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest
            .split("expected ")
            .nth(1)
            .map(|s| s.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        if let Some(s) = did_you_mean(v, expected.iter().copied()) {
            e = e.hint(format!("did you mean `{s}`?"));
        } else if let Some((kind, why)) = provider_alias(v).filter(|(k, _)| expected.contains(k)) {
            e = e.hint(format!("did you mean `{kind}`? ({why})"));
        }
    } else if msg.contains("`params` ") {
        e = e.hint(
            "params are sent to the API as JSON: each key once, numbers finite (no .nan or .inf)",
        );
    } else if msg.contains("missing field") {
        e = e.hint("add the missing key (see docs/suite.md for the schema)");
    }
    e
}

/// The provider `kind` for a vendor, product or host name that is not itself a kind (`claude` -> `anthropic`).
fn provider_alias(name: &str) -> Option<(&'static str, &'static str)> {
    let n = name.to_ascii_lowercase().replace(['-', '_', ' '], "");
    Some(match n.as_str() {
        "claude" | "anthropicmessages" => ("anthropic", "Claude models use `kind: anthropic`"),
        "google" | "googleai" | "vertex" | "vertexai" | "gemma" => {
            ("gemini", "Google models use `kind: gemini`")
        }
        "gpt" | "chatgpt" | "openaicompatible" | "deepseek" | "groq" | "mistral" | "together"
        | "openrouter" | "ollama" | "vllm" | "llamacpp" | "xai" | "fireworks" => (
            "openai",
            "any OpenAI-compatible endpoint uses `kind: openai` with its `base_url`",
        ),
        "azureopenai" | "aoai" => ("azure", "Azure OpenAI deployments use `kind: azure`"),
        "simulator" | "mock" | "fake" => ("sim", "the built-in simulator is `kind: sim`"),
        _ => return None,
    })
}

/// Parse YAML text into `T`, mapping errors to located InputErrors.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(path: &Path, src: &str) -> Result<T> {
    if src.trim().is_empty() {
        return Err(InputError::new(path, "file is empty")
            .at_line(1)
            .hint("see suites/classify.yaml for a complete example")
            .into());
    }
    serde_yaml::from_str(src).map_err(|e| yaml_error(path, src, &e).into())
}

/// Load a suite (and optionally a providers file that replaces its providers), then validate it.
pub fn load_suite(path: &Path, providers_file: Option<&Path>) -> Result<LoadedSuite> {
    let src = read_user_file(path, "suite file")?;
    let mut suite: Suite = parse_yaml(path, &src)?;
    let (providers_path, providers_src) = match providers_file {
        Some(p) => {
            let psrc = read_user_file(p, "providers file")?;
            let pf: ProvidersFile = parse_yaml(p, &psrc)?;
            suite.providers = pf.providers;
            (p.to_path_buf(), psrc)
        }
        None => (path.to_path_buf(), src.clone()),
    };
    suite.dataset.unlabelled_ok = suite.scoring.reference != crate::suite::Reference::GroundTruth;
    let base = path.parent().unwrap_or(Path::new("."));
    let dataset_path = base.join(&suite.dataset.path);
    let tools = match &suite.tools {
        ToolsSpec::None => Vec::new(),
        ToolsSpec::Inline(t) => t.clone(),
        ToolsSpec::Path(p) => load_tools(path, &src, &base.join(p))?,
    };
    let schema_error = resolve_extraction_schema(path, &mut suite);
    let loaded = LoadedSuite {
        suite,
        path: path.to_path_buf(),
        dataset_path,
        tools,
        providers_path,
        providers_src,
        src,
    };
    let errors = super::validate::validate_with(&loaded, schema_error);
    match errors.len() {
        0 => Ok(loaded),
        1 => Err(Error::Input(
            errors
                .into_iter()
                .next()
                .unwrap_or_else(|| InputError::new(path, "invalid suite")),
        )),
        _ => Err(Error::Inputs(errors)),
    }
}

/// A `scoring.extraction.schema` that names a file (relative to the suite file) is replaced by the schema it holds, so
/// the file is read once: scoring, validation and the run directory's suite.yaml all see the schema itself. Only an
/// extraction suite uses it, so only there is an unreadable schema an error (returned for validation to report in
/// its place among the scoring checks).
fn resolve_extraction_schema(path: &Path, suite: &mut Suite) -> Option<Error> {
    let Some(Value::String(name)) = &suite.scoring.extraction.schema else {
        return None;
    };
    let file = path.parent().unwrap_or(Path::new(".")).join(name);
    let schema = read_user_file(&file, "extraction schema").and_then(|text| {
        serde_json::from_str(&text).map_err(|e| {
            InputError::new(&file, format!("schema is not JSON: {e}"))
                .at(e.line(), e.column())
                .into()
        })
    });
    match schema {
        Ok(v) => {
            suite.scoring.extraction.schema = Some(v);
            None
        }
        Err(e) => (suite.task == TaskKind::Extraction).then_some(e),
    }
}

fn load_tools(suite_path: &Path, suite_src: &str, tools_path: &Path) -> Result<Vec<ToolDef>> {
    if tools_path.is_dir() {
        let mut e = InputError::new(
            suite_path,
            format!("tools path {} is a directory", tools_path.display()),
        )
        .hint("name the tools file (JSON or YAML) inside it");
        if let Some((l, c)) = locate(suite_src, "tools", None, 0) {
            e = e.at(l, c);
        }
        return Err(e.into());
    }
    if !tools_path.exists() {
        let mut e = InputError::new(
            suite_path,
            format!("tools file {} does not exist", tools_path.display()),
        )
        .hint("`tools:` takes a list of tool definitions or a path relative to the suite file");
        if let Some((l, c)) = locate(suite_src, "tools", None, 0) {
            e = e.at(l, c);
        }
        return Err(e.into());
    }
    let text = read_user_file(tools_path, "tools file")?;
    // JSON is YAML, so one parser serves both.
    let tools: Vec<yaml_tool::ToolDef> = parse_yaml(tools_path, &text)?;
    Ok(tools.into_iter().map(Into::into).collect())
}

/// Find the 1-based (line, column) of the `nth` occurrence of `key:` (optionally followed by `value`) in YAML text.
/// Used to locate semantic errors that serde cannot see (duplicate ids, two baselines).
pub fn locate(src: &str, key: &str, value: Option<&str>, nth: usize) -> Option<(usize, usize)> {
    let mut seen = 0;
    for (i, line) in src.lines().enumerate() {
        // Flow style (`dataset: {path: x, id: y}`): look for `key: value` inside the line.
        if let Some(want) = value {
            for (skip, pat) in [
                (1, format!("{{{key}: {want}")),
                (2, format!(", {key}: {want}")),
                (1, format!("{{{key}: \"{want}\"")),
                (2, format!(", {key}: \"{want}\"")),
            ] {
                if let Some(pos) = line.find(&pat) {
                    if seen == nth {
                        return Some((i + 1, pos + skip + 1));
                    }
                    seen += 1;
                }
            }
        }
        let trimmed = line.trim_start();
        let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let Some(rest) = body.strip_prefix(key) else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let v = rest.trim().trim_matches(|c| c == '"' || c == '\'');
        let v = v.split(" #").next().unwrap_or(v).trim();
        if value.is_none_or(|want| v == want) {
            if seen == nth {
                let col = line.len() - body.len() + 1;
                return Some((i + 1, col));
            }
            seen += 1;
        }
    }
    None
}

/// The 0-based byte column of `key:` in `line` at or after `from`: the key must start the line's content or follow
/// a space, `{`, `,` or `-`, and be followed (after an optional closing quote and spaces) by `:`. Comments are skipped.
fn key_col(line: &str, key: &str, from: usize) -> Option<usize> {
    let code = match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    };
    let bytes = code.as_bytes();
    code.match_indices(key)
        .map(|(i, _)| i)
        .filter(|&i| i >= from)
        .find(|&i| {
            let mut start = i;
            if start > 0 && matches!(bytes[start - 1], b'"' | b'\'') {
                start -= 1;
            }
            let before_ok =
                start == 0 || matches!(bytes[start - 1], b' ' | b'{' | b',' | b'-' | b'\t');
            let mut rest = &code[i + key.len()..];
            rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
            before_ok && rest.trim_start().starts_with(':')
        })
}

/// The scalar after `key:` at `col` in `line` (quotes and a flow-style `,`/`}` tail removed).
fn value_after(line: &str, col: usize) -> &str {
    let rest = &line[col..];
    let rest = rest.split_once(':').map_or("", |(_, v)| v).trim_start();
    let end = rest.find([',', '}', '#']).unwrap_or(rest.len());
    rest[..end].trim().trim_matches(|c| c == '"' || c == '\'')
}

/// Indentation (leading spaces) of a line.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The line index where the block that starts with a key at (`line`, `col`) ends: the next content line indented no
/// deeper than `col` (flow style keeps everything on the key's own line, which is included).
fn block_end(lines: &[&str], line: usize, col: usize) -> usize {
    (line + 1..lines.len())
        .find(|&i| {
            let t = lines[i].trim_start();
            !t.is_empty() && !t.starts_with('#') && indent(lines[i]) <= col
        })
        .unwrap_or(lines.len())
}

/// Find the 1-based (line, column) of a nested key such as `["run", "concurrency"]` or
/// `["scoring", "extraction", "fuzzy_threshold"]`, block or flow style; the first element is a top-level key.
/// Falls back to the deepest enclosing key found, so an error always names the nearest line.
pub fn locate_path(src: &str, path: &[&str]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = src.lines().collect();
    let (first, rest) = path.split_first()?;
    let mut at = (0..lines.len()).find_map(|i| {
        (indent(lines[i]) == 0 && key_col(lines[i], first, 0) == Some(0)).then_some((i, 0))
    })?;
    let mut end = block_end(&lines, at.0, 0);
    for key in rest {
        let from = (at.0, at.1 + 1);
        let found = (from.0..end).find_map(|i| {
            let start = if i == from.0 { from.1 } else { 0 };
            key_col(lines[i], key, start).map(|c| (i, c))
        });
        match found {
            Some(p) => {
                end = end.min(block_end(&lines, p.0, p.1)).max(p.0 + 1);
                at = p;
            }
            None => break,
        }
    }
    Some((at.0 + 1, at.1 + 1))
}

/// Find the 1-based (line, column) of `key` inside the provider entry whose id is `id` (block or flow style), or of
/// the entry itself when `key` is `None` or absent from it. `key` may be a nested path such as `["sim", "latency_ms"]`.
pub(super) fn locate_provider(src: &str, id: &str, key: &[&str]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = src.lines().collect();
    let (id_line, id_col) = (0..lines.len()).find_map(|i| {
        let mut from = 0;
        while let Some(c) = key_col(lines[i], "id", from) {
            if value_after(lines[i], c) == id {
                return Some((i, c));
            }
            from = c + 1;
        }
        None
    })?;
    // The entry ends at the next line indented no deeper than its `- ` (or than `id:` when it has no dash).
    let dash = lines[id_line][..id_col].rfind('-').unwrap_or(id_col);
    let end = block_end(&lines, id_line, dash);
    let mut at = (id_line, id_col);
    let mut limit = end;
    for k in key {
        let found = (at.0..limit).find_map(|i| {
            let start = if i == at.0 { at.1 + 1 } else { 0 };
            key_col(lines[i], k, start).map(|c| (i, c))
        });
        match found {
            Some(p) => {
                limit = limit.min(block_end(&lines, p.0, p.1)).max(p.0 + 1);
                at = p;
            }
            None => break,
        }
    }
    Some((at.0 + 1, at.1 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_nth_key_value() {
        let src = "providers:\n  - id: a\n    role: baseline\n  - id: b\n    role: baseline\n";
        assert_eq!(locate(src, "role", Some("baseline"), 1), Some((5, 5)));
        assert_eq!(locate(src, "id", Some("b"), 0), Some((4, 5)));
        assert_eq!(locate(src, "id", Some("c"), 0), None);
        let flow = "name: x\ndataset: {path: d.jsonl, id: id}\n";
        assert_eq!(locate(flow, "path", Some("d.jsonl"), 0), Some((2, 11)));
        assert_eq!(locate(flow, "id", Some("id"), 0), Some((2, 26)));
    }

    #[test]
    fn nested_keys_are_found_in_their_section_block_or_flow() {
        let src = "providers:\n  - id: a\n    concurrency: 2\n    price: {input_per_mtok: 1, output_per_mtok: .nan}\n\
                   \x20 - {id: b, kind: sim, sim: {latency_ms: {p50: 1, p99: .inf}}}\n\
                   run:\n  seed: 1\n  concurrency: 4\ngate: {min_items: 0, bootstrap_iters: 0}\n";
        assert_eq!(locate_path(src, &["run", "concurrency"]), Some((8, 3)));
        assert_eq!(
            locate_path(src, &["gate", "bootstrap_iters"]),
            Some((9, 22))
        );
        // A key the section lacks: the section itself.
        assert_eq!(locate_path(src, &["run", "repeats"]), Some((6, 1)));
        assert_eq!(locate_path(src, &["scoring", "x"]), None);
        assert_eq!(locate_provider(src, "a", &["concurrency"]), Some((3, 5)));
        assert_eq!(
            locate_provider(src, "a", &["price", "output_per_mtok"]),
            Some((4, 32))
        );
        assert_eq!(
            locate_provider(src, "b", &["sim", "latency_ms", "p99"]),
            Some((5, 51))
        );
        // Provider b has no concurrency: its own line, not a's key.
        assert_eq!(locate_provider(src, "b", &["concurrency"]), Some((5, 6)));
        assert_eq!(locate_provider(src, "c", &[]), None);
    }

    #[test]
    fn a_vendor_name_as_kind_suggests_the_kind() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("d.jsonl"), "{\"id\": 1, \"label\": \"a\"}\n").unwrap();
        for (vendor, kind) in [
            ("claude", "anthropic"),
            ("google", "gemini"),
            ("groq", "openai"),
        ] {
            let src = format!(
                "name: t\ntask: classification\ndataset: {{path: d.jsonl, expected: label}}\nlabels: [a]\n\
                 prompt: {{user: \"x\"}}\nproviders:\n  - id: p\n    role: baseline\n    kind: {vendor}\n    model: m\n"
            );
            std::fs::write(d.path().join("s.yaml"), src).unwrap();
            let e = load_suite(&d.path().join("s.yaml"), None)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("s.yaml:9:") && e.contains(&format!("did you mean `{kind}`?")),
                "{e}"
            );
        }
    }

    #[test]
    fn unknown_key_error_has_location_and_suggestion() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct R {
            concurrency: u32,
            seed: u32,
        }
        let src = "seed: 1\nconcurency: 4\n";
        let err = parse_yaml::<R>(Path::new("s.yaml"), src).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("s.yaml:2:1: unknown field `concurency`"),
            "{text}"
        );
        assert!(text.contains("did you mean `concurrency`?"), "{text}");
    }
}
