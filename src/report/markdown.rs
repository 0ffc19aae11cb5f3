//! The Markdown summary: what a pull-request reviewer sees in the GitHub Actions job summary
//! (`$GITHUB_STEP_SUMMARY`) — the recommendation first, then a compact table, one short line per gate rule, the
//! statistics folded away, and where the charts and the report are.
//!
//! Why this module exists: the job summary is rendered by GitHub, which cannot show images from the runner's disk,
//! so the summary carries numbers and text only. Charts and report.html are named by their path in the run directory
//! (the workflow uploads it as an artifact), never embedded as `![](local path)`, which would render as a broken
//! image.

use crate::error::{Error, Result};
use crate::gate::{RuleStatus, Verdict};
use crate::summary::{RecommendationKind, Results};
use std::fmt::Write;
use std::path::Path;

/// Where the run's files are: the run directory as the user named it, and files relative to it.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    /// The run directory (e.g. `reports/support-intents-20260101T000000Z`).
    pub run_dir: String,
    /// Files inside it worth opening, '/'-separated relative paths (`report.html`, `charts/latency_cdf.png`).
    pub files: Vec<String>,
}

/// Markdown-safe text for a table cell or list item.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
        Verdict::Inconclusive => "⚠️",
        Verdict::Incomplete => "⏸️",
    }
}

/// Render the summary.
pub(super) fn render(r: &Results, artifacts: &Artifacts) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## evalh: {} ({})\n", md(&r.suite), r.task.as_str());
    let rec = &r.recommendation;
    let lead = match rec.kind {
        RecommendationKind::Replace => "✅",
        RecommendationKind::NoneYet => "⚠️",
        RecommendationKind::Incomplete => "⏸️",
        RecommendationKind::NothingToCompare => "ℹ️",
    };
    let _ = writeln!(s, "{lead} **{}**\n", md(&rec.text));
    let agreement = crate::summary::agreement_lines(r);
    if !agreement.is_empty() {
        let lines: Vec<String> = agreement.iter().map(|l| md(l)).collect();
        let _ = writeln!(s, "> [!IMPORTANT]\n> {}\n", lines.join("\n> "));
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
    let failures: Vec<String> = r
        .providers
        .iter()
        .filter_map(|p| {
            let f = p.failure_summary.as_ref()?;
            Some(format!("- **{}**: {}", md(&p.id), md(f)))
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "{}\n", failures.join("\n"));
    }
    table(&mut s, r);
    rules(&mut s, r);
    let g = &r.gate_config;
    let _ = writeln!(
        s,
        "\n{} items, {} repeat(s), seed {}. Gate: {} ≥ {} × the baseline's and cost ≤ {} × at {}% confidence ({:?} \
         decision), require {}: exit code {}.",
        r.n_items,
        r.repeats,
        r.seed,
        md(&r.gate_metric),
        g.min_quality_ratio,
        g.max_cost_ratio,
        (g.confidence * 100.0).round(),
        g.decision,
        g.require.as_str(),
        r.gate_exit_code
    );
    let judge = super::judge::terminal_lines(r);
    if !judge.trim().is_empty() {
        // The judge's lines as in the terminal: calls, parse failures, evaluation cost, each provider's metric.
        let _ = writeln!(s, "\n**LLM judge**\n");
        for l in judge.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = writeln!(s, "- {}", md(l));
        }
    }
    let notes: Vec<String> = r
        .providers
        .iter()
        .flat_map(super::terminal::provider_notes)
        .chain(super::terminal::mode_note(r))
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(s, "\n**Notes**\n");
        for n in notes {
            let _ = writeln!(s, "- {}", md(&n));
        }
    }
    if !artifacts.run_dir.is_empty() {
        let files: Vec<String> = artifacts.files.iter().map(|f| format!("`{f}`")).collect();
        let _ = writeln!(
            s,
            "\nThe report and charts are in the run directory `{}` (keep it as a build artifact){}{}",
            artifacts.run_dir,
            if files.is_empty() { "" } else { ": " },
            files.join(" · ")
        );
    }
    s
}

/// Provider, verdict, gate metric with its interval, cost per 1,000 items, latency, errors.
fn table(s: &mut String, r: &Results) {
    let m = &r.gate_metric;
    let digits = {
        let min = r
            .providers
            .iter()
            .map(|p| p.cost_usd_per_1k_items)
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        if min.is_finite() {
            ((-min.log10()).floor() as i64 + 2).clamp(2, 6) as usize
        } else {
            2
        }
    };
    let _ = writeln!(
        s,
        "| provider | model | verdict | {}{} ({}% CI) | $ per 1k items | p50 ms | p99 ms | errors |",
        md(m),
        if r.reference.is_some() { " (agreement)" } else { "" },
        (r.gate_config.confidence * 100.0).round()
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|");
    for p in &r.providers {
        let ci = p
            .metric_intervals
            .get(m)
            .filter(|i| i.lower.is_finite() && i.upper.is_finite())
            .map(|i| format!(" ({:.3}–{:.3})", i.lower, i.upper))
            .unwrap_or_default();
        let verdict = match &p.gate {
            Some(g) => format!(
                "{} {}{}",
                icon(g.verdict),
                g.verdict.as_str(),
                if g.gated { "" } else { " (not gated)" }
            ),
            None if p.role == crate::suite::ProviderRole::Baseline => "baseline".into(),
            None => "—".into(),
        };
        let _ = writeln!(
            s,
            "| {} | `{}` | {verdict} | {}{ci} | ${:.digits$} | {} | {} | {} |",
            md(&p.id),
            md(&p.model),
            super::opt(p.metrics.get(m).copied(), 3),
            p.cost_usd_per_1k_items,
            super::opt(p.latency_ms.p50, 0),
            super::opt(p.latency_ms.p99, 0),
            super::terminal::errors_cell(p),
        );
    }
}

/// One short line per rule, per candidate; the full statistics in a folded block.
fn rules(s: &mut String, r: &Results) {
    let judged: Vec<_> = r.providers.iter().filter(|p| p.gate.is_some()).collect();
    if judged.is_empty() {
        return;
    }
    let mark = |st: RuleStatus| match st {
        RuleStatus::Pass => "✓",
        RuleStatus::Fail => "✗",
        RuleStatus::Inconclusive => "?",
        RuleStatus::NotMeasured => "–",
    };
    let _ = writeln!(s);
    for p in &judged {
        let Some(g) = &p.gate else { continue };
        let _ = writeln!(
            s,
            "- {} **{}**: {}",
            icon(g.verdict),
            md(&p.id),
            g.verdict.as_str()
        );
        let mut ordered: Vec<_> = g.rules.iter().collect();
        ordered.sort_by_key(|r| (r.status == RuleStatus::Pass, r.name == "baseline"));
        for rule in ordered {
            let _ = writeln!(s, "  - {} {}", mark(rule.status), md(&rule.summary));
        }
    }
    let _ = writeln!(
        s,
        "\n<details><summary>Statistics behind each rule</summary>\n"
    );
    for p in &judged {
        let Some(g) = &p.gate else { continue };
        for rule in &g.rules {
            let _ = writeln!(s, "- **{}** {}: {}", md(&p.id), rule.name, md(&rule.detail));
        }
    }
    let _ = writeln!(s, "\n</details>");
}

/// Write to `path`, and append to `$GITHUB_STEP_SUMMARY` when set.
pub fn write(path: Option<&Path>, r: &Results, artifacts: &Artifacts) -> Result<()> {
    let text = render(r, artifacts);
    if let Some(p) = path {
        super::write_atomic(p, text.as_bytes())?;
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

/// Every image reference (`![alt](target)`) in `md` whose target is not an http(s) URL: what GitHub cannot show.
pub fn local_images(md: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut rest = md;
    while let Some(i) = rest.find("![") {
        rest = &rest[i + 2..];
        let Some(close) = rest.find("](") else { break };
        let after = &rest[close + 2..];
        let target: String = after.chars().take_while(|c| *c != ')').collect();
        if !(target.starts_with("https://") || target.starts_with("http://")) {
            bad.push(target);
        }
    }
    // HTML images too: <img src="...">.
    let lower = md.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<img") {
        let tag: String = md[i..].chars().take_while(|c| *c != '>').collect();
        if !tag.contains("src=\"http") {
            bad.push(tag);
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::fixture::{provider, results, Fares};

    #[test]
    fn recommendation_first_a_compact_table_and_no_local_images() {
        let r = results(vec![
            provider("premium", 0.24, None),
            provider("flash", 0.0099, Some((Fares::Pass, 0.995))),
            provider("tiny|x", 0.0045, Some((Fares::FailQuality, 0.781))),
        ]);
        let a = Artifacts {
            run_dir: "reports/support-intents-20260101T000000Z".into(),
            files: vec!["report.html".into(), "charts/latency_cdf.png".into()],
        };
        let m = render(&r, &a);
        let body: Vec<&str> = m.lines().filter(|l| !l.is_empty()).collect();
        assert!(body[1].starts_with("✅ **flash can replace premium"), "{m}");
        assert!(
            m.contains("| flash | `sim-flash` | ✅ PASS | 0.920 (0.863–0.971) | $0.0099 |"),
            "{m}"
        );
        assert!(m.contains("| tiny\\|x | `sim-tiny\\|x` |"), "{m}");
        assert!(
            m.contains("  - ✗ quality ratio 0.781, 95% upper bound 0.821 < 0.95"),
            "{m}"
        );
        assert!(
            m.contains("<details>") && m.contains("paired percentile bootstrap"),
            "{m}"
        );
        assert!(m.contains("`charts/latency_cdf.png`"), "{m}");
        assert!(local_images(&m).is_empty(), "{:?}", local_images(&m));
    }

    #[test]
    fn local_images_finds_markdown_and_html_images_that_are_not_urls() {
        let bad = local_images(
            "x ![a](charts/a.png) ![b](https://example.com/b.png) <img src=\"c.png\"> <img src=\"https://e/x.png\">",
        );
        assert_eq!(
            bad,
            vec!["charts/a.png".to_string(), "<img src=\"c.png\"".to_string()]
        );
    }
}
