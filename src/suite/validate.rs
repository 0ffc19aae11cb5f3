//! Cross-field checks a schema cannot express. Every problem found is reported (not just the first), each located.
//!
//! Why this module exists: a suite is checked once, completely, before anything is paid for. Besides the cross-field
//! rules (one baseline, unique ids, known metrics, prices) every number of the schema gets a finite range here (a NaN
//! budget, an infinite timeout or four billion repeats must be an error naming the line, not a panic or a hang
//! later), and the real scorer is built from the suite so that exactly the code that will score is what validates
//! the scoring settings (label regexes, extraction rules, JSON Schemas).

use super::load::{locate, LoadedSuite};
use super::model::{ProviderKind, ProviderRole, ProviderSpec, SimSpec, Suite, TaskKind};
use crate::error::{did_you_mean, InputError};
use std::collections::HashSet;

/// Longest suite name: it names the run directory (`<name>-<timestamp>`), and file names stop at 255 bytes.
pub const MAX_NAME_CHARS: usize = 100;
/// Most in-flight requests per provider: no hosted API accepts more concurrent connections from one client, and each
/// one holds a socket and a task.
pub const MAX_CONCURRENCY: usize = 10_000;
/// Most repeats of each item. Repeats measure run-to-run variation; 5-10 are typical and beyond 100 the estimate no
/// longer changes while the bill grows linearly (and every repeat is a journal slot per item and provider).
pub const MAX_REPEATS: u32 = 100;
/// Most retries of one request; with backoff, more would keep a dead endpoint busy for hours.
pub const MAX_RETRIES: u32 = 100;
/// Longest timeout (one day) and longest backoff wait (one hour), in seconds.
pub const MAX_TIMEOUT_S: f64 = 86_400.0;
/// See [`MAX_TIMEOUT_S`].
pub const MAX_BACKOFF_S: f64 = 3_600.0;
/// Longest simulated latency or delay, in ms (ten minutes).
pub const MAX_SIM_MS: f64 = 600_000.0;
/// Highest price accepted, USD per million tokens (the dearest real models cost a few hundred).
pub const MAX_PRICE_PER_MTOK: f64 = 100_000.0;
/// Bootstrap resamples: below 100 a 95% percentile interval rests on a handful of draws; above 100,000 the
/// resampling takes minutes and the interval no longer moves.
pub const BOOTSTRAP_ITERS: std::ops::RangeInclusive<usize> = 100..=100_000;

/// All problems in a loaded suite; empty when it is valid.
pub fn validate(ls: &LoadedSuite) -> Vec<InputError> {
    validate_with(ls, None)
}

/// [`validate`] while loading: `schema_error` is why the extraction schema file could not be read (the loader reads
/// it), reported in its place among the scoring checks.
pub(super) fn validate_with(
    ls: &LoadedSuite,
    schema_error: Option<crate::error::Error>,
) -> Vec<InputError> {
    let mut c = Checks {
        ls,
        errs: Vec::new(),
        schema_error,
    };
    c.top_level();
    let labels_ok = c.task();
    c.providers();
    c.gate();
    for (path, msg, hint) in super::judge::validate_judge(ls) {
        let e = c.at(&path, msg).hint(hint);
        c.errs.push(e);
    }
    c.run();
    if labels_ok {
        c.scorer();
    }
    c.errs
}

/// The checks of one suite and the errors they found.
struct Checks<'a> {
    ls: &'a LoadedSuite,
    errs: Vec<InputError>,
    schema_error: Option<crate::error::Error>,
}

/// A number as a user would write it: `1e300`, not three hundred digits.
fn num(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(1e-4..1e15).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A number is in range: finite (never NaN or infinite) and within `lo..=hi`.
fn within(x: f64, lo: f64, hi: f64) -> bool {
    x.is_finite() && x >= lo && x <= hi
}

impl<'a> Checks<'a> {
    fn suite(&self) -> &'a Suite {
        &self.ls.suite
    }

    /// An error in the suite file, located at the nested key `path` (or its nearest enclosing key, or line 1).
    fn at(&self, path: &[&str], msg: impl Into<String>) -> InputError {
        self.ls.error_at(path, msg)
    }

    /// An error about provider `id`, located at its key `path` in the file that declares the providers.
    fn at_provider(&self, id: &str, path: &[&str], msg: impl Into<String>) -> InputError {
        let e = InputError::new(&self.ls.providers_path, msg);
        match super::load::locate_provider(&self.ls.providers_src, id, path)
            .or_else(|| locate(&self.ls.providers_src, "providers", None, 0))
        {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    }

    /// The old locator (first occurrence of `key: value` anywhere), for keys that are unique in a suite.
    fn suite_err(&self, key: &str, value: Option<&str>, msg: String) -> InputError {
        let e = InputError::new(&self.ls.path, msg);
        match locate(&self.ls.src, key, value, 0) {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    }

    fn prov_err(&self, key: &str, value: Option<&str>, nth: usize, msg: String) -> InputError {
        let e = InputError::new(&self.ls.providers_path, msg);
        match locate(&self.ls.providers_src, key, value, nth) {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    }

    /// Record an error unless `ok`.
    fn require(&mut self, ok: bool, e: impl FnOnce(&Self) -> InputError) {
        if !ok {
            let e = e(self);
            self.errs.push(e);
        }
    }

    fn top_level(&mut self) {
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
    fn task(&mut self) -> bool {
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
    fn scorer(&mut self) {
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

    fn locate_scoring_error(&self, e: InputError) -> InputError {
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

    fn providers(&mut self) {
        let s = self.suite();
        if s.providers.is_empty() {
            let e = self
                .prov_err("providers", None, 0, "no providers".into())
                .hint(
                    "add `providers:` with one `role: baseline` entry and at least one candidate",
                );
            self.errs.push(e);
        }
        let baselines: Vec<_> = s
            .providers
            .iter()
            .filter(|p| p.role == ProviderRole::Baseline)
            .collect();
        if baselines.is_empty() && !s.providers.is_empty() {
            let e = self
                .prov_err(
                    "providers",
                    None,
                    0,
                    "no provider has `role: baseline`".into(),
                )
                .hint("mark the provider you use today with `role: baseline`");
            self.errs.push(e);
        }
        if baselines.len() > 1 {
            let e = self
                .prov_err(
                    "role",
                    Some("baseline"),
                    1,
                    format!(
                        "{} providers have `role: baseline` ({}); exactly one is allowed",
                        baselines.len(),
                        baselines
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .hint("make all but one `role: candidate`");
            self.errs.push(e);
        }
        let mut ids = HashSet::new();
        for p in &s.providers {
            if !ids.insert(p.id.as_str()) {
                let e = self
                    .prov_err(
                        "id",
                        Some(&p.id),
                        1,
                        format!("duplicate provider id `{}`", p.id),
                    )
                    .hint("provider ids must be unique; rename one");
                self.errs.push(e);
            }
            self.provider(p);
        }
    }

    fn provider(&mut self, p: &ProviderSpec) {
        let id = p.id.as_str();
        if p.id.is_empty()
            || !p
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            let e = self
                .prov_err(
                    "id",
                    Some(&p.id),
                    0,
                    format!(
                        "provider id `{}` must be non-empty and use only letters, digits, - _ .",
                        p.id
                    ),
                )
                .hint("ids name files and report columns");
            self.errs.push(e);
        }
        if p.kind != ProviderKind::Sim && p.sim.is_some() {
            let e = self
                .at_provider(
                    id,
                    &["sim"],
                    format!(
                        "provider `{id}` has a `sim:` block but kind `{}`",
                        p.kind.as_str()
                    ),
                )
                .hint("`sim:` only applies to `kind: sim`");
            self.errs.push(e);
        }
        if let Some(sim) = &p.sim {
            self.sim(id, sim);
        }
        if p.kind == ProviderKind::Azure && p.base_url.is_none() {
            let e = self
                .at_provider(id, &[], format!("provider `{id}` (azure) needs `base_url`"))
                .hint("e.g. base_url: https://<resource>.openai.azure.com");
            self.errs.push(e);
        }
        if let Some(url) = &p.base_url {
            let ok = reqwest::Url::parse(url)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .unwrap_or(false);
            self.require(ok, |c| {
                c.at_provider(
                    id,
                    &["base_url"],
                    format!("provider `{id}`: base_url `{url}` is not an absolute http(s) URL"),
                )
                .hint("e.g. base_url: https://api.openai.com/v1 or http://127.0.0.1:8000/v1")
            });
        }
        if p.price.is_none() && p.table_entry().is_none() {
            let e = self
                .prov_err(
                    "model",
                    Some(&p.model),
                    0,
                    format!("no price known for model `{}` (provider `{id}`)", p.model),
                )
                .hint(
                    "add `price: {input_per_mtok: .., output_per_mtok: ..}` (USD per million tokens)",
                );
            self.errs.push(e);
        }
        if let Some(price) = &p.price {
            let fields = [
                ("input_per_mtok", Some(price.input_per_mtok)),
                ("output_per_mtok", Some(price.output_per_mtok)),
                ("cached_input_per_mtok", price.cached_input_per_mtok),
                ("cache_write_per_mtok", price.cache_write_per_mtok),
            ];
            for (key, v) in fields {
                let Some(v) = v else { continue };
                self.require(within(v, 0.0, MAX_PRICE_PER_MTOK), |c| {
                    c.at_provider(
                        id,
                        &["price", key],
                        format!(
                            "provider `{id}`: price.{key} is {}; a price must be a finite number of USD per \
                             million tokens, >= 0 and at most {MAX_PRICE_PER_MTOK}",
                            num(v)
                        ),
                    )
                    .hint("e.g. price: {input_per_mtok: 2.5, output_per_mtok: 10}")
                });
            }
        }
        if let Some(env) = &p.api_key_env {
            if env.is_empty() || env.contains(char::is_whitespace) || env.starts_with("sk-") {
                let e = self
                    .at_provider(
                        id,
                        &["api_key_env"],
                        format!(
                            "provider `{id}`: api_key_env must be the NAME of an environment variable"
                        ),
                    )
                    .hint("never put the key itself in a suite; e.g. api_key_env: OPENAI_API_KEY");
                self.errs.push(e);
            }
        }
        if p.auth.is_some() && p.api_key_env.is_some() {
            let e = self
                .at_provider(
                    id,
                    &["auth"],
                    format!("provider `{id}` says `auth: none` but also names `api_key_env`"),
                )
                .hint("remove `auth: none` to send the key, or `api_key_env` for an endpoint without one");
            self.errs.push(e);
        }
        self.provider_limits(p);
        self.headers(p);
    }

    fn provider_limits(&mut self, p: &ProviderSpec) {
        let id = p.id.as_str();
        if let Some(n) = p.concurrency {
            self.require((1..=MAX_CONCURRENCY).contains(&n), |c| {
                c.at_provider(
                    id,
                    &["concurrency"],
                    format!("provider `{id}`: concurrency must be between 1 and {MAX_CONCURRENCY}, not {n}"),
                )
                .hint("the most requests in flight at once, e.g. 8")
            });
        }
        for (key, v) in [("rpm", p.rpm), ("tpm", p.tpm)] {
            self.require(v != Some(0), |c| {
                c.at_provider(
                    id,
                    &[key],
                    format!("provider `{id}`: {key} is 0, so nothing could ever be sent"),
                )
                .hint(format!("give a positive limit, or remove `{key}` for none"))
            });
        }
        self.require(p.context_window != Some(0), |c| {
            c.at_provider(
                id,
                &["context_window"],
                format!("provider `{id}`: context_window is 0 tokens, so no prompt would fit"),
            )
            .hint(
                "give the model's context window in tokens, or remove it to use the built-in table",
            )
        });
    }

    /// Header names and the literal parts of header values (the `${VAR}` parts are checked by the preflight, once
    /// the environment is known).
    fn headers(&mut self, p: &ProviderSpec) {
        let id = p.id.as_str();
        for (name, value) in &p.headers {
            self.require(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok(),
                |c| {
                    c.at_provider(
                        id,
                        &["headers", name.as_str()],
                        format!("provider `{id}`: `{name}` is not a valid HTTP header name"),
                    )
                    .hint("header names are letters, digits and - (no spaces, colons or quotes)")
                },
            );
            let refs = super::headers::env_refs(value);
            let literal_ok = match &refs {
                Ok(vars) => {
                    let mut lit = value.clone();
                    for v in vars {
                        lit = lit.replace(&format!("${{{v}}}"), "x");
                    }
                    reqwest::header::HeaderValue::from_str(&lit).is_ok()
                }
                Err(_) => false,
            };
            self.require(literal_ok, |c| {
                let why = match &refs {
                    Err(e) => e.clone(),
                    Ok(_) => "contains a character a header value cannot carry (a line break or control character)".into(),
                };
                c.at_provider(
                    id,
                    &["headers", name.as_str()],
                    format!("provider `{id}`: header `{name}`: {why}"),
                )
                .hint("a header value is one line of text; reference secrets as \"${NAME}\"")
            });
        }
    }

    fn sim(&mut self, id: &str, sim: &SimSpec) {
        let prob = |key: &'static str, v: f64| (key, v, 0.0, 1.0, "a probability within [0, 1]");
        let mut checks = vec![
            prob("quality", sim.quality),
            prob("correlation", sim.correlation),
            (
                "token_factor",
                sim.token_factor,
                1e-3,
                100.0,
                "a factor between 0.001 and 100",
            ),
        ];
        let f = &sim.faults;
        for (key, v) in [
            ("rate_limit", f.rate_limit),
            ("server_error", f.server_error),
            ("overloaded", f.overloaded),
            ("malformed", f.malformed),
            ("truncated_stream", f.truncated_stream),
            ("stream_error", f.stream_error),
            ("slow_first_byte", f.slow_first_byte),
        ] {
            checks.push(prob(key, v));
        }
        if let Some(v) = f.retry_after_s {
            checks.push((
                "retry_after_s",
                v,
                0.0,
                MAX_BACKOFF_S,
                "a number of seconds between 0 and 3600",
            ));
        }
        if let Some(v) = f.slow_first_byte_ms {
            checks.push((
                "slow_first_byte_ms",
                v,
                0.0,
                MAX_SIM_MS,
                "a number of milliseconds between 0 and 600000",
            ));
        }
        for (key, v, lo, hi, what) in checks {
            let (top, fault) = (["sim", key], ["sim", "faults", key]);
            let path: &[&str] = match key {
                "quality" | "correlation" | "token_factor" => &top,
                _ => &fault,
            };
            self.require(within(v, lo, hi), |c| {
                c.at_provider(
                    id,
                    path,
                    format!(
                        "provider `{id}`: sim.{key} is {}; it must be {what}",
                        num(v)
                    ),
                )
                .hint(format!("set sim.{key} to {what}"))
            });
        }
        let l = sim.latency_ms;
        // The latency is log-normal through p50 and p99; its far tail grows like (p99/p50)^3.7, so the spread is
        // bounded too (a p50 near 0 with a large p99 would draw delays of years).
        let ok = within(l.p50, 0.0, MAX_SIM_MS)
            && within(l.p99, l.p50, MAX_SIM_MS)
            && (l.p50 == 0.0 || l.p99 <= 1000.0 * l.p50);
        self.require(ok, |c| {
            c.at_provider(
                id,
                &["sim", "latency_ms"],
                format!(
                    "provider `{id}`: sim.latency_ms {{p50: {}, p99: {}}} needs 0 <= p50 <= p99 <= {MAX_SIM_MS} ms \
                     and p99 at most 1000 x p50",
                    num(l.p50),
                    num(l.p99)
                ),
            )
            .hint("e.g. latency_ms: {p50: 600, p99: 1800}; p50: 0 answers at once")
        });
    }

    fn gate(&mut self) {
        let s = self.suite();
        let g = &s.gate;
        let metric = s.gate_metric();
        if let Some(e) = super::judge::gate_metric_problem(s) {
            let e = self.at(&["gate", "metric"], e.0).hint(e.1);
            self.errs.push(e);
        } else if crate::metrics::metric(s.task, &metric).is_none() {
            let known: Vec<&str> = crate::metrics::metrics(s.task)
                .iter()
                .map(|d| d.name)
                .collect();
            let valid = format!("{} gate metrics: {}", s.task.as_str(), known.join(", "));
            let hint = match did_you_mean(&metric, known.iter().copied()) {
                Some(m) => format!("did you mean `{m}`? {valid} (docs/metrics.md)"),
                None => format!("{valid} (docs/metrics.md)"),
            };
            let msg = format!(
                "unknown gate metric `{metric}` for task {}",
                s.task.as_str()
            );
            let e = self.at(&["gate", "metric"], msg).hint(hint);
            self.errs.push(e);
        }
        let number_checks = [
            (
                "min_quality_ratio",
                g.min_quality_ratio,
                within(g.min_quality_ratio, f64::MIN_POSITIVE, 1e6),
                "a finite ratio > 0, e.g. 0.95",
            ),
            (
                "max_cost_ratio",
                g.max_cost_ratio,
                within(g.max_cost_ratio, f64::MIN_POSITIVE, 1e6),
                "a finite ratio > 0, e.g. 0.4",
            ),
            (
                "max_error_rate_increase",
                g.max_error_rate_increase,
                within(g.max_error_rate_increase, 0.0, 1.0),
                "a share within [0, 1], e.g. 0.005",
            ),
            (
                "max_p99_latency_increase_ms",
                g.max_p99_latency_increase_ms,
                within(g.max_p99_latency_increase_ms, 0.0, 1e9),
                "a finite number of ms >= 0, e.g. 200",
            ),
            (
                "min_format_validity",
                g.min_format_validity.unwrap_or(1.0),
                within(g.min_format_validity.unwrap_or(1.0), 0.0, 1.0),
                "a share within [0, 1], e.g. 0.98",
            ),
            (
                "max_baseline_error_rate",
                g.max_baseline_error_rate,
                within(g.max_baseline_error_rate, 0.0, 1.0),
                "a share within [0, 1], e.g. 0.05",
            ),
            (
                "confidence",
                g.confidence,
                g.confidence > 0.5 && g.confidence < 1.0,
                "a level within (0.5, 1), e.g. 0.95",
            ),
        ];
        if let Some(h) = g.human {
            let v = h.min_acceptable_rate;
            self.require(v > 0.0 && v <= 1.0, |c| {
                c.at(
                    &["gate", "human", "min_acceptable_rate"],
                    format!("gate.human.min_acceptable_rate is {}; it must be a share within (0, 1], e.g. 0.95", num(v)),
                )
                .hint("set gate.human.min_acceptable_rate to a share within (0, 1], e.g. 0.95")
            });
        }
        for (key, v, ok, what) in number_checks {
            self.require(ok, |c| {
                c.at(
                    &["gate", key],
                    format!("gate.{key} is {}; it must be {what}", num(v)),
                )
                .hint(format!("set gate.{key} to {what}"))
            });
        }
        let iters = g.bootstrap_iters;
        self.require(BOOTSTRAP_ITERS.contains(&iters), |c| {
            c.at(
                &["gate", "bootstrap_iters"],
                format!(
                    "gate.bootstrap_iters is {iters}; it must be between {} and {}",
                    BOOTSTRAP_ITERS.start(),
                    BOOTSTRAP_ITERS.end()
                ),
            )
            .hint("fewer resamples give no usable interval, more only take longer; 2000 is the default")
        });
        self.require(g.min_items >= 1, |c| {
            c.at(
                &["gate", "min_items"],
                "gate.min_items is 0; it must be at least 1",
            )
            .hint("the fewest items a verdict may rest on; 30 is the default")
        });
        self.require(g.monthly_volume != Some(0), |c| {
            c.at(
                &["gate", "monthly_volume"],
                "gate.monthly_volume is 0; it must be at least 1 item a month",
            )
            .hint("the items this workload sends a month, e.g. 2000000, or remove the key")
        });
        if let Some(cands) = &g.candidates {
            for id in cands {
                let ok = s
                    .providers
                    .iter()
                    .any(|p| &p.id == id && p.role == ProviderRole::Candidate);
                self.require(ok, |c| {
                    c.at(
                        &["gate", "candidates"],
                        format!("gate.candidates names `{id}`, which is not a candidate provider"),
                    )
                    .hint("list ids of providers with role: candidate")
                });
            }
        }
    }

    fn run(&mut self) {
        let r = &self.suite().run;
        let n = r.concurrency;
        self.require((1..=MAX_CONCURRENCY).contains(&n), |c| {
            c.at(
                &["run", "concurrency"],
                format!("run.concurrency must be between 1 and {MAX_CONCURRENCY}, not {n}"),
            )
            .hint("the most requests in flight per provider, e.g. 8")
        });
        let k = r.repeats;
        self.require((1..=MAX_REPEATS).contains(&k), |c| {
            c.at(
                &["run", "repeats"],
                format!("run.repeats must be between 1 and {MAX_REPEATS}, not {k}"),
            )
            .hint("repeats measure run-to-run variation; 5-10 are typical, and beyond 100 the estimate no longer changes while the cost grows")
        });
        let timeouts = [
            ("timeout_s", Some(r.timeout_s)),
            ("connect_timeout_s", Some(r.connect_timeout_s)),
            ("idle_timeout_s", Some(r.idle_timeout_s)),
            ("first_byte_timeout_s", r.first_byte_timeout_s),
        ];
        for (key, v) in timeouts {
            let Some(v) = v else { continue };
            self.require(v > 0.0 && within(v, 0.0, MAX_TIMEOUT_S), |c| {
                c.at(
                    &["run", key],
                    format!("run.{key} is {}; a timeout must be a finite number of seconds > 0 and at most {MAX_TIMEOUT_S} (one day)", num(v)),
                )
                .hint(format!("e.g. {key}: 60"))
            });
        }
        let retries = r.max_retries;
        self.require(retries <= MAX_RETRIES, |c| {
            c.at(
                &["run", "max_retries"],
                format!("run.max_retries is {retries}; at most {MAX_RETRIES} are allowed"),
            )
            .hint("retries of one request after its first attempt, e.g. 4")
        });
        let b = r.max_backoff_s;
        self.require(within(b, 0.0, MAX_BACKOFF_S), |c| {
            c.at(
                &["run", "max_backoff_s"],
                format!("run.max_backoff_s is {}; it must be a finite number of seconds within [0, {MAX_BACKOFF_S}]", num(b)),
            )
            .hint("the longest single wait between retries, e.g. 60")
        });
        if let Some(m) = r.max_cost_usd {
            self.require(m > 0.0 && m.is_finite(), |c| {
                c.at(
                    &["run", "max_cost_usd"],
                    format!(
                        "run.max_cost_usd is {}; a budget must be a finite number of USD > 0",
                        num(m)
                    ),
                )
                .hint("e.g. max_cost_usd: 5, or remove it for no budget")
            });
        }
    }
}
