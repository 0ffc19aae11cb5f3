//! Cross-field checks a schema cannot express. Every problem found is reported (not just the first), each located.

use super::load::{locate, LoadedSuite};
use super::model::{ProviderKind, Role, TaskKind};
use crate::error::{did_you_mean, InputError};
use std::collections::HashSet;

/// All problems in a loaded suite; empty when it is valid.
pub fn validate(ls: &LoadedSuite) -> Vec<InputError> {
    let s = &ls.suite;
    let mut errs = Vec::new();
    // Every error names a line: the key's, else (a key that is absent) the top of the file.
    let suite_err = |key: &str, value: Option<&str>, msg: String| {
        let e = InputError::new(&ls.path, msg);
        match locate(&ls.src, key, value, 0) {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    };
    let prov_err = |key: &str, value: Option<&str>, nth: usize, msg: String| {
        let e = InputError::new(&ls.providers_path, msg);
        match locate(&ls.providers_src, key, value, nth) {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    };

    if s.version != 1 {
        errs.push(
            suite_err(
                "version",
                None,
                format!("unsupported suite version {}", s.version),
            )
            .hint("this evalh reads `version: 1`"),
        );
    }
    if s.name.trim().is_empty() {
        errs.push(
            suite_err("name", None, "`name` is empty".into()).hint("give the suite a short name"),
        );
    }
    if !ls.dataset_path.exists() {
        errs.push(
            suite_err(
                "path",
                Some(&s.dataset.path),
                format!("dataset file {} does not exist", ls.dataset_path.display()),
            )
            .hint("`dataset.path` is relative to the suite file's folder"),
        );
    } else if ls.dataset_path.is_dir() {
        errs.push(
            suite_err(
                "path",
                Some(&s.dataset.path),
                format!("dataset path {} is a directory", ls.dataset_path.display()),
            )
            .hint("name the .jsonl or .csv file inside it"),
        );
    } else if s.dataset.format.is_none()
        && !ls
            .dataset_path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| {
                ["csv", "jsonl", "ndjson", "json"].contains(&e.to_ascii_lowercase().as_str())
            })
    {
        errs.push(
            suite_err(
                "path",
                Some(&s.dataset.path),
                format!(
                    "cannot tell the format of dataset {} from its extension",
                    ls.dataset_path.display()
                ),
            )
            .hint("use a .jsonl or .csv file, or set `dataset.format: jsonl|csv`"),
        );
    }

    match s.task {
        TaskKind::Classification => {
            if s.labels.is_empty() {
                errs.push(
                    suite_err("task", None, "a classification suite needs `labels`".into())
                        .hint("add `labels: [label_a, label_b, ...]`"),
                );
            }
            let mut seen = HashSet::new();
            for l in &s.labels {
                if !seen.insert(l.as_str()) {
                    errs.push(
                        suite_err("labels", None, format!("label `{l}` is listed twice"))
                            .hint("remove the duplicate"),
                    );
                }
            }
        }
        TaskKind::FunctionCalling if ls.tools.is_empty() => {
            errs.push(
                suite_err("task", None, "a function_calling suite needs `tools`".into())
                    .hint("add `tools:` with a list of {name, description, parameters} or a path to a JSON file"),
            );
        }
        _ => {}
    }

    // Providers.
    if s.providers.is_empty() {
        errs.push(
            prov_err("providers", None, 0, "no providers".into()).hint(
                "add `providers:` with one `role: baseline` entry and at least one candidate",
            ),
        );
    }
    let baselines: Vec<_> = s
        .providers
        .iter()
        .filter(|p| p.role == Role::Baseline)
        .collect();
    if baselines.is_empty() && !s.providers.is_empty() {
        errs.push(
            prov_err(
                "providers",
                None,
                0,
                "no provider has `role: baseline`".into(),
            )
            .hint("mark the provider you use today with `role: baseline`"),
        );
    }
    if baselines.len() > 1 {
        errs.push(
            prov_err(
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
            .hint("make all but one `role: candidate`"),
        );
    }
    let mut ids = HashSet::new();
    for p in &s.providers {
        if !ids.insert(p.id.as_str()) {
            errs.push(
                prov_err(
                    "id",
                    Some(&p.id),
                    1,
                    format!("duplicate provider id `{}`", p.id),
                )
                .hint("provider ids must be unique; rename one"),
            );
        }
        if p.id.is_empty()
            || !p
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            errs.push(
                prov_err(
                    "id",
                    Some(&p.id),
                    0,
                    format!(
                        "provider id `{}` must be non-empty and use only letters, digits, - _ .",
                        p.id
                    ),
                )
                .hint("ids name files and report columns"),
            );
        }
        if p.kind != ProviderKind::Sim && p.sim.is_some() {
            errs.push(
                prov_err(
                    "id",
                    Some(&p.id),
                    0,
                    format!(
                        "provider `{}` has a `sim:` block but kind `{}`",
                        p.id,
                        p.kind.as_str()
                    ),
                )
                .hint("`sim:` only applies to `kind: sim`"),
            );
        }
        if let Some(sim) = &p.sim {
            if !(0.0..=1.0).contains(&sim.quality) {
                errs.push(prov_err(
                    "quality",
                    None,
                    0,
                    format!(
                        "provider `{}`: sim.quality {} is not in [0, 1]",
                        p.id, sim.quality
                    ),
                ));
            }
            if !(0.0..=1.0).contains(&sim.correlation) {
                errs.push(prov_err(
                    "correlation",
                    None,
                    0,
                    format!(
                        "provider `{}`: sim.correlation {} is not in [0, 1]",
                        p.id, sim.correlation
                    ),
                ));
            }
            if sim.latency_ms.p50 < 0.0 || sim.latency_ms.p99 < sim.latency_ms.p50 {
                errs.push(prov_err(
                    "latency_ms",
                    None,
                    0,
                    format!("provider `{}`: sim.latency_ms needs 0 <= p50 <= p99", p.id),
                ));
            }
        }
        if p.kind == ProviderKind::Azure && p.base_url.is_none() {
            errs.push(
                prov_err(
                    "id",
                    Some(&p.id),
                    0,
                    format!("provider `{}` (azure) needs `base_url`", p.id),
                )
                .hint("e.g. base_url: https://<resource>.openai.azure.com"),
            );
        }
        if let Some(url) = &p.base_url {
            let ok = reqwest::Url::parse(url)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .unwrap_or(false);
            if !ok {
                errs.push(
                    prov_err(
                        "base_url",
                        Some(url),
                        0,
                        format!(
                            "provider `{}`: base_url `{url}` is not an absolute http(s) URL",
                            p.id
                        ),
                    )
                    .hint("e.g. base_url: https://api.openai.com/v1 or http://127.0.0.1:8000/v1"),
                );
            }
        }
        if p.price.is_none() && crate::cost::lookup(p.kind, &p.model).is_none() {
            errs.push(
                prov_err("model", Some(&p.model), 0, format!("no price known for model `{}` (provider `{}`)", p.model, p.id))
                    .hint("add `price: {input_per_mtok: .., output_per_mtok: ..}` (USD per million tokens)"),
            );
        }
        if let Some(env) = &p.api_key_env {
            if env.is_empty() || env.contains(char::is_whitespace) || env.starts_with("sk-") {
                errs.push(
                    prov_err("api_key_env", None, 0, format!("provider `{}`: api_key_env must be the NAME of an environment variable", p.id))
                        .hint("never put the key itself in a suite; e.g. api_key_env: OPENAI_API_KEY"),
                );
            }
        }
        if p.concurrency == Some(0) {
            errs.push(prov_err(
                "concurrency",
                None,
                0,
                format!("provider `{}`: concurrency must be >= 1", p.id),
            ));
        }
    }

    // Gate.
    let g = &s.gate;
    let metric = s.gate_metric();
    if crate::score::metric(s.task, &metric).is_none() {
        let known: Vec<&str> = crate::score::metrics(s.task)
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
        errs.push(suite_err("metric", None, msg).hint(hint));
    }
    if !(g.min_quality_ratio > 0.0 && g.min_quality_ratio.is_finite()) {
        errs.push(suite_err(
            "min_quality_ratio",
            None,
            "gate.min_quality_ratio must be > 0".into(),
        ));
    }
    if !(g.max_cost_ratio > 0.0 && g.max_cost_ratio.is_finite()) {
        errs.push(suite_err(
            "max_cost_ratio",
            None,
            "gate.max_cost_ratio must be > 0".into(),
        ));
    }
    if !(g.confidence > 0.5 && g.confidence < 1.0) {
        errs.push(
            suite_err(
                "confidence",
                None,
                "gate.confidence must be in (0.5, 1)".into(),
            )
            .hint("e.g. 0.95"),
        );
    }
    if let Some(c) = &g.candidates {
        for id in c {
            if !s
                .providers
                .iter()
                .any(|p| &p.id == id && p.role == Role::Candidate)
            {
                errs.push(suite_err(
                    "candidates",
                    None,
                    format!("gate.candidates names `{id}`, which is not a candidate provider"),
                ));
            }
        }
    }

    // Run.
    let r = &s.run;
    if r.concurrency == 0 {
        errs.push(suite_err(
            "concurrency",
            None,
            "run.concurrency must be >= 1".into(),
        ));
    }
    if r.repeats == 0 {
        errs.push(suite_err(
            "repeats",
            None,
            "run.repeats must be >= 1".into(),
        ));
    }
    if [r.timeout_s, r.idle_timeout_s, r.connect_timeout_s]
        .iter()
        .any(|t| t.is_nan() || *t <= 0.0)
    {
        errs.push(suite_err(
            "timeout_s",
            None,
            "run timeouts must be > 0 seconds".into(),
        ));
    }
    if r.max_cost_usd.is_some_and(|c| c.is_nan() || c <= 0.0) {
        errs.push(suite_err(
            "max_cost_usd",
            None,
            "run.max_cost_usd must be > 0".into(),
        ));
    }
    errs
}
