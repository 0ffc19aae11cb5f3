//! The suite's own keys, its task (labels, tools) and its scoring settings: the scorer is built exactly as scoring
//! will build it, and what it rejects is reported at the key that causes it.

use super::*;

impl Checks<'_> {
    pub(super) fn top_level(&mut self) {
        let s = self.suite();
        let ls = self.ls;
        if s.version != 1 {
            let e = self
                .suite_err(
                    "version",
                    None,
                    format!("unsupported suite version {}", s.version),
                )
                .hint("this evalh reads `version: 1`");
            self.errs.push(e);
        }
        if s.name.trim().is_empty() {
            let e = self
                .suite_err("name", None, "`name` is empty".into())
                .hint("give the suite a short name");
            self.errs.push(e);
        }
        let chars = s.name.chars().count();
        self.require(chars <= MAX_NAME_CHARS, |c| {
            c.at(
                &["name"],
                format!("`name` is {chars} characters long; at most {MAX_NAME_CHARS} are allowed"),
            )
            .hint("the name becomes the run directory's name; shorten it and put details in `description`")
        });
        if !ls.dataset_path.exists() {
            let e = self
                .suite_err(
                    "path",
                    Some(&s.dataset.path),
                    format!("dataset file {} does not exist", ls.dataset_path.display()),
                )
                .hint("`dataset.path` is relative to the suite file's folder");
            self.errs.push(e);
        } else if ls.dataset_path.is_dir() {
            let e = self
                .suite_err(
                    "path",
                    Some(&s.dataset.path),
                    format!("dataset path {} is a directory", ls.dataset_path.display()),
                )
                .hint("name the .jsonl or .csv file inside it");
            self.errs.push(e);
        } else if s.dataset.format.is_none()
            && !ls
                .dataset_path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| {
                    ["csv", "jsonl", "ndjson", "json"].contains(&e.to_ascii_lowercase().as_str())
                })
        {
            let e = self
                .suite_err(
                    "path",
                    Some(&s.dataset.path),
                    format!(
                        "cannot tell the format of dataset {} from its extension",
                        ls.dataset_path.display()
                    ),
                )
                .hint("use a .jsonl or .csv file, or set `dataset.format: jsonl|csv`");
            self.errs.push(e);
        }
        self.require(s.dataset.limit != Some(0), |c| {
            c.at(
                &["dataset", "limit"],
                "dataset.limit is 0: the run would have no items",
            )
            .hint("use a positive number of items, or remove `limit` to use them all")
        });
    }

    /// Labels and tools; returns whether the labels are sound enough to build the label extractor.
    pub(super) fn task(&mut self) -> bool {
        let s = self.suite();
        let before = self.errs.len();
        match s.task {
            TaskKind::Classification => {
                self.require(!s.labels.is_empty(), |c| {
                    c.suite_err("task", None, "a classification suite needs `labels`".into())
                        .hint("add `labels: [label_a, label_b, ...]`")
                });
                let mut seen = HashSet::new();
                for l in &s.labels {
                    if l.trim().is_empty() {
                        let e = self.at(&["labels"], "`labels` holds an empty label").hint(
                            "every label must be a non-empty word or phrase; remove the empty one",
                        );
                        self.errs.push(e);
                    } else if !seen.insert(l.as_str()) {
                        let e = self
                            .at(&["labels"], format!("label `{l}` is listed twice"))
                            .hint("remove the duplicate");
                        self.errs.push(e);
                    }
                }
            }
            TaskKind::FunctionCalling if self.ls.tools.is_empty() => {
                let e = self
                    .suite_err("task", None, "a function_calling suite needs `tools`".into())
                    .hint("add `tools:` with a list of {name, description, parameters} or a path to a JSON file");
                self.errs.push(e);
            }
            _ => {}
        }
        self.errs.len() == before
    }

    /// Build the scorer exactly as scoring will, and report what it rejects at the key that causes it.
    pub(super) fn scorer(&mut self) {
        let err = match self.schema_error.take() {
            Some(e) => e,
            None => match self.ls.task_scorer() {
                Ok(_) => return,
                Err(e) => crate::error::Error::Input(e),
            },
        };
        let inputs = match err {
            crate::error::Error::Input(e) => vec![e],
            crate::error::Error::Inputs(v) => v,
            other => vec![InputError::new(&self.ls.path, other.to_string())],
        };
        for e in inputs {
            let located = self.locate_scoring_error(e);
            self.errs.push(located);
        }
    }

    pub(super) fn locate_scoring_error(&self, e: InputError) -> InputError {
        if e.file != self.ls.path {
            // The extraction schema file: unreadable, or not JSON (that one already has its own line).
            if e.line.is_some() {
                return e;
            }
            return self
                .at(
                    &["scoring", "extraction", "schema"],
                    format!(
                        "scoring.extraction.schema: {}: {}",
                        e.file.display(),
                        e.message
                    ),
                )
                .hint(
                    "`schema:` takes an inline JSON Schema or a path relative to the suite file",
                );
        }
        if e.line.is_some() {
            return e;
        }
        let m = e.message.as_str();
        let (path, hint): (&[&str], &str) = if m.starts_with("scoring.label_extract") {
            if m.contains("capture group") {
                (
                    &["scoring", "label_extract", "group"],
                    "`group` must name a capture group the pattern has (1 = the first parenthesised group, 0 = the whole match)",
                )
            } else if m.contains("regex") {
                (
                    &["scoring", "label_extract", "pattern"],
                    "fix the regular expression (Rust regex syntax; write a literal parenthesis as \\( and keep it small)",
                )
            } else {
                (
                    &["labels"],
                    "labels must differ after normalisation (case, spaces, quotes, trailing period), or use label_extract: {mode: exact}",
                )
            }
        } else if m.contains("fuzzy_threshold") {
            (
                &["scoring", "extraction", "fuzzy_threshold"],
                "a threshold is a similarity within [0, 1], e.g. 0.85",
            )
        } else if m.contains(".threshold") {
            (
                &["scoring", "extraction", "fields"],
                "a threshold is a similarity within [0, 1], e.g. 0.85",
            )
        } else if m.contains("schema") {
            (
                &["scoring", "extraction", "schema"],
                "fix the JSON Schema: known `type` names, valid `pattern` regexes, and every `$ref` pointing inside the schema",
            )
        } else {
            (
                &["scoring", "extraction", "fields"],
                "see docs/metrics.md for the extraction rules",
            )
        };
        // A field rule's own threshold: at that field's line when it can be found.
        let field = m
            .split_once("fields.")
            .and_then(|(_, r)| r.split_once(".threshold"))
            .map(|(f, _)| f);
        let mut located = match field {
            Some(f) => self.at(&["scoring", "extraction", "fields", f, "threshold"], m),
            None => self.at(path, m),
        };
        located.hint = Some(hint.to_string());
        located
    }
}
