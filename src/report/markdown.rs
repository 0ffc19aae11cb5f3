//! The Markdown summary: what a pull-request reviewer sees in the GitHub Actions job summary
//! (`$GITHUB_STEP_SUMMARY`) — verdicts first, then the table, then links to the charts.

use super::{opt, usd};
use crate::error::{Error, Result};
use crate::summary::Results;
use std::fmt::Write;
use std::path::Path;

/// Render the summary. `charts` are relative links to PNGs (may be empty).
pub fn render(r: &Results, charts: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## evalh: {} ({})\n", r.suite, r.task);
    let agreement = crate::agreement::report_lines(r);
    if !agreement.is_empty() {
        let _ = writeln!(s, "> [!IMPORTANT]\n> {}\n", agreement.join("\n> "));
    }
    if !r.complete {
        let reasons: Vec<String> = r
            .unsettled_by_reason
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "> [!WARNING]\n> **Incomplete run: no verdicts.** {} request(s) are unsettled ({}). Partial figures below. Resume with `evalh run --resume RUN_DIR`.\n",
            r.unsettled_by_reason.values().sum::<usize>(),
            reasons.join(", ")
        );
    }
    for p in &r.providers {
        if let Some(f) = &p.failure_summary {
            let _ = writeln!(s, "- **{}**: {}", p.id, f.replace('|', "\\|"));
        }
    }
    for p in &r.providers {
        if let Some(g) = &p.gate {
            let icon = match g.verdict {
                crate::gate::Verdict::Pass => "✅",
                crate::gate::Verdict::Fail => "❌",
                crate::gate::Verdict::Inconclusive => "⚠️",
                crate::gate::Verdict::Incomplete => "⏸️",
            };
            let _ = writeln!(
                s,
                "- {icon} **{}** `{}`: **{}**{}",
                p.id,
                p.model,
                g.verdict.as_str(),
                if g.gated { "" } else { " (not gated)" }
            );
            for reason in &g.reasons {
                let _ = writeln!(s, "  - {}", reason.replace('|', "\\|"));
            }
        }
    }
    let m = &r.gate_metric;
    let m_head = if r.reference.is_some() {
        format!("{m} (agreement)")
    } else {
        m.to_string()
    };
    let _ = writeln!(s, "\n| provider | role | model | {m_head} | 95% CI | cost/item | cost total | p50 ms | p99 ms | errors | verdict |");
    let _ = writeln!(s, "|---|---|---|---:|---|---:|---:|---:|---:|---:|---|");
    for p in &r.providers {
        let ci = p
            .metric_intervals
            .get(m)
            .map(|i| format!("{:.3}–{:.3}", i.lower, i.upper))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.id,
            if p.role == crate::suite::Role::Baseline {
                "baseline"
            } else {
                "candidate"
            },
            p.model,
            opt(p.metrics.get(m).copied(), 3),
            ci,
            usd(p.cost_usd_per_item),
            usd(p.cost_usd_total),
            opt(p.latency_ms.p50, 0),
            opt(p.latency_ms.p99, 0),
            super::terminal::errors_cell(p),
            p.gate.as_ref().map(|g| g.verdict.as_str()).unwrap_or("—"),
        );
    }
    let _ = writeln!(s, "\n{} items, {} repeat(s), seed {}. Decision: {:?} at {}% confidence; promote at >= {} quality ratio and <= {} cost ratio.",
        r.n_items, r.repeats, r.seed, r.gate_config.decision, (r.gate_config.confidence * 100.0).round(), r.gate_config.min_quality_ratio, r.gate_config.max_cost_ratio);
    let notes: Vec<String> = r
        .providers
        .iter()
        .flat_map(super::terminal::provider_notes)
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(s, "\n**Notes**\n");
        for n in notes {
            let _ = writeln!(s, "- {}", n.replace('|', "\\|"));
        }
    }
    if !charts.is_empty() {
        let _ = writeln!(s);
        for c in charts {
            let _ = writeln!(s, "![{c}]({c})");
        }
    }
    s
}

/// Write to `path`, and append to `$GITHUB_STEP_SUMMARY` when set.
pub fn write(path: Option<&Path>, r: &Results, charts: &[String]) -> Result<()> {
    let text = render(r, charts);
    if let Some(p) = path {
        crate::rundir::write_atomic(p, text.as_bytes())?;
    }
    // The step summary is shared with the job's other steps: appended to, never replaced.
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .map_err(|e| Error::io("opening $GITHUB_STEP_SUMMARY", e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| Error::io("appending to $GITHUB_STEP_SUMMARY", e))?;
    }
    Ok(())
}
