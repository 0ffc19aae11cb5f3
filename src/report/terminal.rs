//! The terminal table: provider × quality, cost, latency, errors and verdict, plus each verdict's reasons.

use super::{opt, usd};
use crate::summary::Results;
use std::fmt::Write;

/// Render the table and verdict lines.
pub fn render(r: &Results) -> String {
    let metric = &r.gate_metric;
    let headers = [
        "provider".to_string(),
        "role".to_string(),
        "model".to_string(),
        format!(
            "{metric}{} (95% CI)",
            if r.reference.is_some() {
                " agreement"
            } else {
                ""
            }
        ),
        "cost/item".to_string(),
        "cost total".to_string(),
        "p50 ms".to_string(),
        "p99 ms".to_string(),
        "errors".to_string(),
        "verdict".to_string(),
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for p in &r.providers {
        let m = p.metrics.get(metric).copied();
        let ci = p
            .metric_intervals
            .get(metric)
            .map(|i| format!(" ({:.3}-{:.3})", i.lower, i.upper))
            .unwrap_or_default();
        rows.push(vec![
            p.id.clone(),
            match p.role {
                crate::suite::Role::Baseline => "baseline".into(),
                crate::suite::Role::Candidate => "candidate".into(),
            },
            p.model.clone(),
            format!("{}{ci}", opt(m, 3)),
            usd(p.cost_usd_per_item),
            usd(p.cost_usd_total),
            opt(p.latency_ms.p50, 0),
            opt(p.latency_ms.p99, 0),
            errors_cell(p),
            p.gate
                .as_ref()
                .map(|g| {
                    format!(
                        "{}{}",
                        g.verdict.as_str(),
                        if g.gated { "" } else { " (not gated)" }
                    )
                })
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} ({} items, {} repeat(s))",
        r.suite, r.task, r.n_items, r.repeats
    );
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(out, "{}", line(&headers));
    let _ = writeln!(
        out,
        "{}",
        widths
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for row in &rows {
        let _ = writeln!(out, "{}", line(row));
    }
    for line in crate::agreement::report_lines(r) {
        let _ = writeln!(out, "{line}");
    }
    if !r.complete {
        let reasons: Vec<String> = r
            .unsettled_by_reason
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "\nINCOMPLETE RUN: {} request(s) unsettled ({}); the figures are partial and no candidate has a verdict.",
            r.unsettled_by_reason.values().sum::<usize>(),
            reasons.join(", ")
        );
    }
    let mut notes: Vec<String> = r
        .providers
        .iter()
        .filter_map(|p| p.failure_summary.as_ref().map(|f| format!("{}: {f}", p.id)))
        .collect();
    notes.extend(r.providers.iter().flat_map(provider_notes));
    if !notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for n in notes {
            let _ = writeln!(out, "  {n}");
        }
    }
    for p in &r.providers {
        if let Some(g) = &p.gate {
            let _ = writeln!(out, "\n{} {}:", p.id, g.verdict.as_str());
            for rule in &g.rules {
                let mark = match rule.status {
                    crate::gate::RuleStatus::Pass => "✓",
                    crate::gate::RuleStatus::Fail => "✗",
                    crate::gate::RuleStatus::Inconclusive => "?",
                    crate::gate::RuleStatus::NotMeasured => "–",
                };
                let _ = writeln!(out, "  {mark} {}", rule.detail);
            }
        }
    }
    out.push_str(&crate::review::terminal_lines(r));
    out
}

/// "2 (1.8%)": settled errors and the error rate; "+40 unsettled" when requests are missing or unreachable.
pub fn errors_cell(p: &crate::summary::ProviderResult) -> String {
    let unreachable = p.n_unsettled - p.n_missing;
    let mut s = format!(
        "{} ({:.1}%)",
        p.n_errors - unreachable,
        p.error_rate * 100.0
    );
    if p.n_unsettled > 0 {
        s.push_str(&format!(" +{} unsettled", p.n_unsettled));
    }
    s
}

/// What a reader should know about a provider beyond the table: throttling, retries, skipped items, token-count
/// discrepancy and stream/non-stream differences.
pub fn provider_notes(p: &crate::summary::ProviderResult) -> Vec<String> {
    let mut v = Vec::new();
    let t = &p.throttle;
    if t.rate_limited + t.overloaded > 0 {
        v.push(format!(
            "{}: throttled {} time(s) (429: {}, overloaded: {}); concurrency came down to {}; {} retries in all",
            p.id,
            t.rate_limited + t.overloaded,
            t.rate_limited,
            t.overloaded,
            t.min_concurrency,
            p.retries
        ));
    } else if p.retries > 0 {
        v.push(format!("{}: {} retries", p.id, p.retries));
    }
    if p.skipped_context > 0 {
        v.push(format!(
            "{}: {} item(s) not sent: prompt exceeds the context window (counted as errors)",
            p.id, p.skipped_context
        ));
    }
    if !p.errors_by_class.is_empty() {
        let e: Vec<String> = p
            .errors_by_class
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        v.push(format!("{}: errors by class: {}", p.id, e.join(", ")));
    }
    if let (Some(m), Some(sd)) = (p.token_discrepancy.ratio_mean, p.token_discrepancy.ratio_sd) {
        if (m - 1.0).abs() > 0.1 {
            v.push(format!(
                "{}: reports {:.2}x the prompt tokens of the local o200k estimate (sd {:.2}): its tokenizer differs",
                p.id, m, sd
            ));
        }
    }
    if let Some(se) = &p.stream_equivalence {
        v.push(format!(
            "{}: {} vs its own mode on {} items: text equal {}, tool calls equal {}, usage equal {}{}",
            p.id,
            se.compared_mode,
            se.n,
            se.text_equal,
            se.tool_calls_equal,
            se.usage_equal,
            if se.compare_errors > 0 { format!(", {} comparison calls failed", se.compare_errors) } else { String::new() }
        ));
    }
    v
}
