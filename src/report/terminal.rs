//! The terminal summary: the recommendation first, a table that fits 100 columns (provider, verdict, gate metric,
//! cost per 1,000 items, latency, errors), one short line per gate rule, then notes and the exit decision.
//!
//! Why this module exists: the terminal is where a run is read first, often in an 80–100 column pane or a CI log.
//! Statistics (methods, bounds, sample-size advice) are one `-v` away and always in report.html; here every line fits
//! [`WIDTH`] columns, money is in one unit (USD per 1,000 items) with one precision per column, and verdicts are
//! coloured. The text carries ANSI styles; the caller prints it through `anstream`, which strips them when stdout is
//! not a terminal or `NO_COLOR` is set.

use crate::gate::{RuleStatus, Verdict};
use crate::suite::{OnInconclusive, ProviderRole, Require};
use crate::summary::{ProviderResult, RecommendationKind, Results};
use anstyle::{AnsiColor, Style};
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

/// No line of the summary is wider than this many columns.
pub(super) const WIDTH: usize = 100;

/// What to show.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Each rule's full statistics under its short line.
    pub verbose: bool,
}

fn style(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

fn paint(s: &str, st: Style) -> String {
    format!("{}{s}{}", st.render(), st.render_reset())
}

fn verdict_style(v: Verdict) -> Style {
    match v {
        Verdict::Pass => style(AnsiColor::Green).bold(),
        Verdict::Fail => style(AnsiColor::Red).bold(),
        Verdict::Inconclusive => style(AnsiColor::Yellow).bold(),
        Verdict::Incomplete => style(AnsiColor::Magenta).bold(),
    }
}

/// The rule's mark: ✓ holds, ✗ violated, ? undecided, – not measured.
fn mark(s: RuleStatus) -> String {
    match s {
        RuleStatus::Pass => paint("✓", style(AnsiColor::Green)),
        RuleStatus::Fail => paint("✗", style(AnsiColor::Red)),
        RuleStatus::Inconclusive => paint("?", style(AnsiColor::Yellow)),
        RuleStatus::NotMeasured => paint("–", Style::new().dimmed()),
    }
}

/// Render the whole summary (with ANSI styles; see the module doc).
pub fn render(r: &Results, opts: Options) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint(
            &cut(
                &format!(
                    "{} — {}, {} items × {} repeat(s)",
                    r.suite,
                    r.task.as_str(),
                    r.n_items,
                    r.repeats
                ),
                WIDTH
            ),
            Style::new().bold()
        )
    );
    let g = &r.gate_config;
    push_wrapped(
        &mut out,
        &format!(
            "gate: {} ≥ {} × the baseline's, cost ≤ {} × ({:.0}% confidence); require {}",
            r.gate_metric,
            g.min_quality_ratio,
            g.max_cost_ratio,
            g.confidence * 100.0,
            g.require.as_str()
        ),
        "",
        "  ",
        Style::new().dimmed(),
    );
    out.push('\n');
    recommendation(&mut out, r);
    out.push('\n');
    table(&mut out, r);
    let agreement = crate::summary::agreement_lines(r);
    if !agreement.is_empty() {
        out.push('\n');
        for line in agreement {
            push_wrapped(&mut out, &line, "", "  ", style(AnsiColor::Yellow));
        }
    }
    if !r.complete {
        let reasons: Vec<String> = r
            .unsettled_by_reason
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        out.push('\n');
        push_wrapped(
            &mut out,
            &format!(
                "INCOMPLETE RUN: {} request(s) unsettled ({}); the figures are partial and no candidate has a verdict.",
                r.unsettled_by_reason.values().sum::<usize>(),
                reasons.join(", ")
            ),
            "",
            "  ",
            verdict_style(Verdict::Incomplete),
        );
    }
    rules(&mut out, r, opts);
    let mut notes: Vec<String> = r
        .providers
        .iter()
        .filter_map(|p| p.failure_summary.as_ref().map(|f| format!("{}: {f}", p.id)))
        .collect();
    notes.extend(r.providers.iter().flat_map(provider_notes));
    notes.extend(mode_note(r));
    if r.providers
        .iter()
        .any(|p| p.gate.as_ref().is_some_and(|g| !g.gated))
    {
        notes.push(
            "* not gated (gate.candidates): reported, but does not affect the exit code".into(),
        );
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for n in notes {
            push_wrapped(&mut out, &n, "  ", "    ", Style::new());
        }
    }
    push_block(&mut out, &super::review::terminal_lines(r));
    push_block(&mut out, &super::judge::terminal_lines(r));
    out.push('\n');
    push_wrapped(&mut out, &exit_line(r), "", "  ", Style::new().bold());
    out
}

/// The recommendation, first and bold: the answer a reader came for.
fn recommendation(out: &mut String, r: &Results) {
    let rec = &r.recommendation;
    let st = match rec.kind {
        RecommendationKind::Replace => verdict_style(Verdict::Pass),
        RecommendationKind::NoneYet => style(AnsiColor::Yellow).bold(),
        RecommendationKind::Incomplete => verdict_style(Verdict::Incomplete),
        RecommendationKind::NothingToCompare => Style::new().bold(),
    };
    push_wrapped(out, &format!("→ {}", rec.text), "", "  ", st);
}

/// The table of providers; columns shrink (then the model column goes) until it fits [`WIDTH`].
fn table(out: &mut String, r: &Results) {
    let metric = &r.gate_metric;
    let incomplete = !r.complete;
    let costs: Vec<f64> = r
        .providers
        .iter()
        .map(|p| p.cost_usd_per_1k_items)
        .collect();
    let digits = cost_digits(&costs);
    let mut headers = vec![
        "provider".to_string(),
        "model".to_string(),
        "verdict".to_string(),
        format!(
            "{metric}{} (CI)",
            if r.reference.is_some() {
                " agreement"
            } else {
                ""
            }
        ),
        "$/1k items".to_string(),
        "p50 ms".to_string(),
        "p99 ms".to_string(),
        "errors".to_string(),
    ];
    if incomplete {
        headers.push("unsettled".to_string());
    }
    // Right-aligned columns: the numbers.
    let right = |c: usize| c >= 4;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut verdicts: Vec<Option<Verdict>> = Vec::new();
    for p in &r.providers {
        let m = p.metrics.get(metric).copied();
        let ci = p
            .metric_intervals
            .get(metric)
            .filter(|i| i.lower.is_finite() && i.upper.is_finite())
            .map(|i| format!(" ({:.3}-{:.3})", i.lower, i.upper))
            .unwrap_or_default();
        let verdict = match (&p.gate, p.role) {
            (Some(g), _) => format!("{}{}", g.verdict.as_str(), if g.gated { "" } else { "*" }),
            (None, ProviderRole::Baseline) => "baseline".into(),
            (None, ProviderRole::Candidate) => "-".into(),
        };
        verdicts.push(p.gate.as_ref().map(|g| g.verdict));
        let mut row = vec![
            p.id.clone(),
            p.model.clone(),
            verdict,
            format!("{}{ci}", super::opt(m, 3)),
            format!("${:.digits$}", p.cost_usd_per_1k_items),
            super::opt(p.latency_ms.p50, 0),
            super::opt(p.latency_ms.p99, 0),
            errors_cell(p),
        ];
        if incomplete {
            row.push(p.n_unsettled.to_string());
        }
        rows.push(row);
    }
    let mut widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].width())
                .chain([headers[c].width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let total = |w: &[usize], cols: usize| w.iter().sum::<usize>() + 2 * (cols - 1);
    // Over budget: the metric header gives way first, then the model and the provider (to 8 columns each), then the
    // model column goes.
    let metric_values = rows.iter().map(|r| r[3].width()).max().unwrap_or(0);
    let mut show_model = true;
    for (col, floor) in [(3, metric_values.max(8)), (1, 8), (0, 8)] {
        let excess = total(&widths, widths.len()).saturating_sub(WIDTH);
        widths[col] -= excess.min(widths[col].saturating_sub(floor));
    }
    if total(&widths, widths.len()) > WIDTH {
        show_model = false;
        widths[1] = 0;
    }
    let line = |cells: &[String], verdict: Option<Verdict>, header: bool| -> String {
        let mut parts = Vec::new();
        for (c, cell) in cells.iter().enumerate() {
            if c == 1 && !show_model {
                continue;
            }
            let w = widths[c];
            let text = cut(cell, w);
            let pad = w.saturating_sub(text.width());
            let padded = if right(c) {
                format!("{}{text}", " ".repeat(pad))
            } else {
                format!("{text}{}", " ".repeat(pad))
            };
            let st = match (c, verdict, header) {
                (_, _, true) => Style::new().bold(),
                (2, Some(v), _) => verdict_style(v),
                _ => Style::new(),
            };
            parts.push(paint(&padded, st));
        }
        parts.join("  ").trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&headers, None, true));
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .filter(|(c, _)| *c != 1 || show_model)
        .map(|(_, w)| "─".repeat(*w))
        .collect();
    let _ = writeln!(out, "{}", rule.join("  "));
    for (row, v) in rows.iter().zip(&verdicts) {
        let _ = writeln!(out, "{}", line(row, *v, false));
    }
    push_wrapped(
        out,
        &format!(
            "CI: {:.0}% interval; $/1k items: USD per 1,000 items; errors: failed / settled requests",
            r.gate_config.confidence * 100.0
        ),
        "",
        "  ",
        Style::new().dimmed(),
    );
}

/// Decimals for a cost column: two significant digits on its smallest non-zero value, at least 2, at most 6.
fn cost_digits(values: &[f64]) -> usize {
    let min = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !min.is_finite() {
        return 2;
    }
    ((-min.log10()).floor() as i64 + 2).clamp(2, 6) as usize
}

/// One block per candidate: its verdict, then one short line per rule (and its statistics with `-v`).
fn rules(out: &mut String, r: &Results, opts: Options) {
    for p in &r.providers {
        let Some(g) = &p.gate else { continue };
        out.push('\n');
        let head = format!("{} ({})", cut(&p.id, 40), cut(&p.model, 40));
        let _ = writeln!(
            out,
            "{}  {}{}",
            paint(&head, Style::new().bold()),
            paint(g.verdict.as_str(), verdict_style(g.verdict)),
            if g.gated { "" } else { "  (not gated)" }
        );
        // Rules that decided the verdict first, then those that held.
        let mut ordered: Vec<&crate::gate::Rule> = g.rules.iter().collect();
        ordered.sort_by_key(|r| (r.status == RuleStatus::Pass, r.name == "baseline"));
        for rule in ordered {
            let m = mark(rule.status);
            let text = cut(&rule.summary, WIDTH - 4);
            let _ = writeln!(out, "  {m} {text}");
            // The statistics, unless they only repeat the short line.
            let same = rule.detail.replace(">=", "≥").replace("<=", "≤") == rule.summary;
            if opts.verbose && !same {
                push_wrapped(out, &rule.detail, "      ", "      ", Style::new().dimmed());
            }
        }
    }
    if !opts.verbose && r.providers.iter().any(|p| p.gate.is_some()) {
        let _ = writeln!(
            out,
            "{}",
            paint(
                "  (-v shows each rule's statistics; report.html has them all)",
                Style::new().dimmed()
            )
        );
    }
}

/// What the exit code says and why, under `gate.require`.
fn exit_line(r: &Results) -> String {
    if !r.complete {
        return "exit 3: incomplete run — resume it to get verdicts".into();
    }
    let g = &r.gate_config;
    let acceptable = |v: Verdict| {
        v == Verdict::Pass
            || (v == Verdict::Inconclusive && g.on_inconclusive != OnInconclusive::Fail)
    };
    let gated: Vec<&ProviderResult> = r
        .providers
        .iter()
        .filter(|p| p.gate.as_ref().is_some_and(|g| g.gated))
        .collect();
    let (ok, not_ok): (Vec<&ProviderResult>, Vec<&ProviderResult>) = gated
        .iter()
        .partition(|p| p.gate.as_ref().is_some_and(|g| acceptable(g.verdict)));
    let ids = |v: &[&ProviderResult]| {
        v.iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let code = r.gate_exit_code;
    // INCONCLUSIVE candidates that `on_inconclusive: warn|pass` lets through: never called "passed".
    let waived: Vec<&ProviderResult> = ok
        .iter()
        .copied()
        .filter(|p| p.gate.as_ref().is_some_and(|g| g.verdict != Verdict::Pass))
        .collect();
    let passed: Vec<&ProviderResult> = ok
        .iter()
        .copied()
        .filter(|p| p.gate.as_ref().is_some_and(|g| g.verdict == Verdict::Pass))
        .collect();
    let waiver = || {
        format!(
            "{} INCONCLUSIVE, let through by gate.on_inconclusive: {}",
            ids(&waived),
            if g.on_inconclusive == OnInconclusive::Warn {
                "warn"
            } else {
                "pass"
            }
        )
    };
    match (g.require, code) {
        (_, 0) if gated.is_empty() => "exit 0: no candidate is gated".into(),
        (Require::All, 0) if waived.is_empty() => {
            "exit 0: every gated candidate passed (require: all)".into()
        }
        (Require::All, 0) => format!(
            "exit 0: no gated candidate failed; {} (require: all)",
            waiver()
        ),
        (Require::Any, 0) if passed.is_empty() => {
            format!(
                "exit 0: require any; no gated candidate passed, {}",
                waiver()
            )
        }
        (Require::All, _) => {
            let mut s = format!(
                "exit {code}: require all, and {} did not pass",
                ids(&not_ok)
            );
            if !ok.is_empty() {
                s.push_str(&format!(
                    " ({} did: --require any or gate.require: any exits 0 on one passing candidate)",
                    ids(&ok)
                ));
            }
            s
        }
        (Require::Any, 0) => format!("exit 0: require any, and {} passed", ids(&passed)),
        (Require::Any, _) => format!("exit {code}: require any, and no gated candidate passed"),
    }
}

/// Errors of a provider: requests that finally failed of those settled ("2/110"); unreachable and missing requests
/// are not in either number (they are unsettled).
pub(super) fn errors_cell(p: &ProviderResult) -> String {
    let unreachable = p.n_unsettled - p.n_missing;
    let failed = p.n_errors.saturating_sub(unreachable);
    let settled = p.n_requests.saturating_sub(p.n_unsettled);
    format!("{failed}/{settled}")
}

/// `s` cut to `w` columns, an ellipsis marking the cut.
fn cut(s: &str, w: usize) -> String {
    if s.width() <= w {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > w {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Greedy word wrap to [`WIDTH`] columns: `first` indents the first line, `rest` the others; a word longer than a
/// line is cut into pieces.
pub(super) fn wrap(text: &str, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let sep = usize::from(!empty);
            if cur.width() + sep + word.width() <= WIDTH {
                if !empty {
                    cur.push(' ');
                }
                cur.push_str(&word);
                empty = false;
                break;
            }
            if empty {
                // The word alone is too long for a line: cut it.
                let room = WIDTH - cur.width();
                let head: String = take_width(&word, room);
                cur.push_str(&head);
                word = word[head.len()..].to_string();
                lines.push(std::mem::replace(&mut cur, rest.to_string()));
                if word.is_empty() {
                    break;
                }
                continue;
            }
            lines.push(std::mem::replace(&mut cur, rest.to_string()));
            empty = true;
        }
    }
    if !empty || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

fn take_width(s: &str, w: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) > w {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        s.chars().take(1).collect()
    } else {
        out
    }
}

/// Lines another module rendered, each wrapped to the terminal width with its own indent (plus two on continuation).
fn push_block(out: &mut String, block: &str) {
    for line in block.lines() {
        if line.trim().is_empty() {
            out.push('\n');
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        push_wrapped(
            out,
            line.trim_start(),
            indent,
            &format!("{indent}  "),
            Style::new(),
        );
    }
}

fn push_wrapped(out: &mut String, text: &str, first: &str, rest: &str, st: Style) {
    for l in wrap(text, first, rest) {
        let indent = l.len() - l.trim_start().len();
        let _ = writeln!(out, "{}{}", &l[..indent], paint(&l[indent..], st));
    }
}

/// When some providers answered through a batch API and others interactively, the cost ratio compares what each side
/// actually paid: batch and interactive prices.
pub(super) fn mode_note(r: &crate::summary::Results) -> Option<String> {
    let (batch, inter): (Vec<&ProviderResult>, Vec<&ProviderResult>) = r
        .providers
        .iter()
        .filter(|p| p.n_ok > 0)
        .partition(|p| p.n_batch > 0);
    if batch.is_empty() || inter.is_empty() {
        return None;
    }
    let ids = |v: &[&ProviderResult]| {
        v.iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(format!(
        "the providers used different modes (batch: {}; interactive: {}): cost ratios compare what each side paid",
        ids(&batch),
        ids(&inter)
    ))
}

/// What a reader should know about a provider beyond the table: throttling, retries, skipped items, token-count
/// discrepancy and stream/non-stream differences.
pub(super) fn provider_notes(p: &ProviderResult) -> Vec<String> {
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
    if p.n_batch > 0 {
        v.push(format!(
            "{}: {} answer(s) through a batch API: priced at the batch rate, latency not measured",
            p.id, p.n_batch
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::fixture::{provider, results, Fares};

    fn plain(s: &str) -> String {
        anstream::adapter::strip_str(s).to_string()
    }

    fn demo() -> Results {
        results(vec![
            provider("premium", 0.24, None),
            provider("flash", 0.0099, Some((Fares::Pass, 0.995))),
            provider("haiku", 0.10, Some((Fares::FailCost, 1.007))),
            provider("tiny", 0.0045, Some((Fares::FailQuality, 0.781))),
        ])
    }

    fn assert_fits(text: &str) {
        for l in plain(text).lines() {
            assert!(l.width() <= WIDTH, "{} columns: {l}", l.width());
        }
    }

    #[test]
    fn recommendation_first_then_table_then_one_short_line_per_rule() {
        let t = plain(&render(&demo(), Options::default()));
        let first = t.find("→ ").unwrap();
        assert!(first < t.find("provider").unwrap(), "{t}");
        assert!(t[first..].starts_with("→ flash can replace premium"), "{t}");
        assert!(
            t.contains("  ✗ cost ratio 0.417, 95% lower bound 0.413 > 0.4\n"),
            "{t}"
        );
        assert!(
            t.contains("  ✓ quality ratio 0.995, 95% lower bound 0.955 ≥ 0.95\n"),
            "{t}"
        );
        assert!(!t.contains("paired percentile bootstrap"), "{t}");
        // One unit and one precision in the cost column: two significant digits on the smallest value.
        for c in ["$0.2400", "$0.0099", "$0.1000", "$0.0045"] {
            assert!(t.contains(c), "{c}: {t}");
        }
        assert!(t.contains("0/110"), "{t}");
        assert!(
            t.contains("exit 1: require all, and haiku, tiny did not pass (flash did"),
            "{t}"
        );
        assert_fits(&t);
        let v = plain(&render(&demo(), Options { verbose: true }));
        assert!(v.contains("paired percentile bootstrap"), "{v}");
        assert_fits(&v);
    }

    #[test]
    fn long_ids_models_and_notes_still_fit_100_columns() {
        let mut ps = vec![provider("premium-provider-with-a-very-long-id", 2.4, None)];
        for i in 0..3 {
            let mut p = provider(
                &format!("candidate-{i}-with-an-unusually-long-identifier"),
                0.0000123,
                Some((Fares::Inconclusive, 0.97)),
            );
            p.model = "accounts/fireworks/models/llama-v3p1-405b-instruct-long-variant".into();
            p.failure_summary = Some(format!(
                "3/110 requests failed: server_error: {}",
                "x".repeat(240)
            ));
            ps.push(p);
        }
        let mut r = results(ps);
        r.gate_metric = "full_call_accuracy".into();
        for opts in [Options::default(), Options { verbose: true }] {
            assert_fits(&render(&r, opts));
        }
    }

    #[test]
    fn colours_are_ansi_styles_that_strip_to_the_plain_text() {
        let t = render(&demo(), Options::default());
        assert!(
            t.contains("\u{1b}[1m\u{1b}[32m") || t.contains("\u{1b}[32m"),
            "no colour: {t:?}"
        );
        assert!(!plain(&t).contains('\u{1b}'));
    }

    #[test]
    fn wrap_fits_and_keeps_every_word() {
        let text = format!("{} {}", "word ".repeat(60), "y".repeat(250));
        let lines = wrap(&text, "  ", "    ");
        assert!(lines.iter().all(|l| l.width() <= WIDTH));
        let joined: String = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        assert_eq!(joined.matches("word").count(), 60);
        assert_eq!(joined.matches('y').count(), 250);
        assert_eq!(wrap("", "", ""), vec![String::new()]);
    }
}
