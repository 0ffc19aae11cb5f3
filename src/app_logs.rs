//! The log commands: `evalh audit` and `evalh dataset from-logs` — argument checks, output files and the terminal
//! summary around `crate::audit` and `crate::fromlogs`.

use crate::cli::{Allocation, AuditArgs, FromLogsArgs, LogArgs, LogFormat};
use crate::error::{Error, InputError, Result};
use crate::logs::{load_mapping as load, Mapping, Preset};
use crate::report::check_writable;
use std::fmt::Write as _;
use std::path::Path;

fn preset(f: LogFormat) -> Option<Preset> {
    match f {
        LogFormat::Auto => None,
        LogFormat::Litellm => Some(Preset::Litellm),
        LogFormat::Openai => Some(Preset::Openai),
        LogFormat::Chat => Some(Preset::Chat),
    }
}

fn load_mapping(a: &LogArgs) -> Result<Option<Mapping>> {
    a.mapping.as_deref().map(load).transpose()
}

/// Print to stdout; a closed pipe (`evalh audit ... | head`) is not an error.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// `evalh audit`.
pub fn audit(a: AuditArgs) -> Result<i32> {
    for (what, p) in [("--json", &a.json), ("--html", &a.html)] {
        if let Some(p) = p {
            check_writable(p, what)?;
        }
    }
    if let Some(d) = a.days {
        if !(d.is_finite() && d > 0.0) {
            return Err(
                InputError::new("", format!("--days {d} is not a number of days"))
                    .hint("pass how many days the logs cover, e.g. --days 30")
                    .into(),
            );
        }
    }
    let opts = crate::audit::Options {
        logs: a.log.logs.clone(),
        preset: preset(a.log.format),
        mapping: load_mapping(&a.log)?,
        runs: a.runs.clone(),
        days: a.days,
        progress: !a.log.no_progress,
    };
    let audit = crate::audit::audit(&opts)?;
    let mut text = crate::audit::render_terminal(&audit);
    if let Some(p) = &a.json {
        let json = serde_json::to_string_pretty(&audit)
            .map_err(|e| Error::Internal(format!("serializing the audit: {e}")))?;
        write_file(p, &(json + "\n"))?;
        let _ = writeln!(text, "\naudit json: {}", p.display());
    }
    if let Some(p) = &a.html {
        write_file(p, &crate::audit::render_html(&audit))?;
        let _ = writeln!(text, "audit html: {}", p.display());
    }
    say(&text);
    Ok(0)
}

/// `evalh dataset from-logs`.
pub fn from_logs(a: FromLogsArgs) -> Result<i32> {
    let opts = crate::fromlogs::Options {
        logs: a.log.logs.clone(),
        preset: preset(a.log.format),
        mapping: load_mapping(&a.log)?,
        task: a.task,
        n: a.n,
        seed: a.seed,
        stratify: a.stratify.clone(),
        allocation: match a.allocation {
            Allocation::Proportional => crate::fromlogs::Allocation::Proportional,
            Allocation::Equal => crate::fromlogs::Allocation::Equal,
        },
        features: a.features.clone(),
        include_failed: a.include_failed,
        out: a.out.clone(),
        progress: !a.log.no_progress,
    };
    let m = crate::fromlogs::run(&opts)?;
    let c = &m.masked;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {} row(s) drawn of {} eligible (asked {}, seed {}), {}",
        a.out.display(),
        m.n_sampled,
        m.eligible,
        m.n_requested,
        m.seed,
        m.format
    );
    if !m.skipped.is_empty() {
        let s: Vec<String> = m.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(text, "not drawable: {}", s.join(", "));
    }
    if m.malformed > 0 {
        let _ = writeln!(text, "malformed rows skipped: {}", m.malformed);
    }
    let _ = writeln!(
        text,
        "masked: {} string(s) — e-mail {}, phone {}, card {}, API key {}, bearer token {}",
        m.masked_total, c.email, c.phone, c.card, c.api_key, c.bearer_token
    );
    let _ = writeln!(
        text,
        "logged answers: {} kept as `logged_answer`, {} missing, {} unusable for {}",
        m.logged_answers.present, m.logged_answers.missing, m.logged_answers.unusable, m.task
    );
    if let Some(s) = &m.stratify {
        let parts: Vec<String> = s
            .strata
            .iter()
            .map(|st| format!("{} {}/{}", st.value, st.sampled, st.population))
            .collect();
        let _ = writeln!(
            text,
            "strata ({}, {:?}): {}",
            s.field,
            s.allocation,
            parts.join(", ")
        );
    }
    let _ = writeln!(
        text,
        "how it was drawn: {}",
        crate::fromlogs::meta_path(&a.out).display()
    );
    let _ = writeln!(text, "\nin a suite:\n{}", m.suite_snippet);
    say(&text);
    Ok(0)
}
