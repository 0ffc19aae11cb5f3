//! The audit as terminal text: buckets, features, what is unmapped or unpriced, malformed rows, savings.

use super::{Audit, FeatureRow};
use crate::report::usd;
use std::fmt::Write;

/// `1234567` → `1,234,567`.
pub(super) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage.
pub(super) fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A table with the first column left-aligned and the others right-aligned.
fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c == 0 {
                l.push_str(cell);
                l.push_str(&" ".repeat(pad));
            } else {
                l.push_str("  ");
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(headers.to_vec()));
    let _ = writeln!(
        out,
        "{}",
        "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
    );
    for r in rows {
        let _ = writeln!(out, "{}", line(r.iter().map(String::as_str).collect()));
    }
}

fn bucket_label(b: Option<u8>) -> String {
    b.map_or("-".to_string(), |n| n.to_string())
}

fn opt_u(x: Option<u64>) -> String {
    x.map_or("-".into(), thousands)
}

fn feature_rows(features: &[FeatureRow]) -> Vec<Vec<String>> {
    features
        .iter()
        .map(|f| {
            vec![
                f.feature.clone(),
                bucket_label(f.bucket),
                thousands(f.requests),
                thousands(f.tokens),
                usd(f.cost_usd),
                pct(f.cost_share),
                opt_u(f.tokens_per_request.p50),
                opt_u(f.tokens_per_request.p99),
                if f.errors > 0 {
                    thousands(f.errors)
                } else {
                    "0".into()
                },
            ]
        })
        .collect()
}

/// The whole audit as text.
pub fn render(a: &Audit) -> String {
    let mut out = String::new();
    let files = a.inputs.len();
    let period = match (&a.period.start, &a.period.end, a.period.days) {
        (Some(s), Some(e), Some(d)) => format!(
            "{} → {} ({d:.1} days)",
            &s[..10.min(s.len())],
            &e[..10.min(e.len())]
        ),
        (_, _, Some(d)) => format!("{d:.1} days ({})", a.period.source),
        _ => "period unknown".into(),
    };
    let _ = writeln!(
        out,
        "evalh audit: {} row(s) from {files} file(s), {period}, {}",
        thousands(a.totals.requests),
        a.format
    );
    let _ = writeln!(
        out,
        "cost at pinned prices ({}); percentiles: {}",
        a.price_table, a.quantile_method
    );
    let logged = a
        .totals
        .logged_cost_usd
        .map(|c| format!(" (the logs' own cost column: {})", usd(c)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "total: {} requests, {} tokens ({} input of which {} cached, {} output), {}{logged}\n",
        thousands(a.totals.requests),
        thousands(a.totals.tokens),
        thousands(a.totals.input_tokens),
        thousands(a.totals.cached_tokens),
        thousands(a.totals.output_tokens),
        usd(a.totals.cost_usd),
    );
    let brows: Vec<Vec<String>> = a
        .buckets
        .iter()
        .map(|b| {
            vec![
                match b.bucket {
                    Some(n) => format!("{n} {}", b.name),
                    None => b.name.clone(),
                },
                b.features.to_string(),
                thousands(b.requests),
                thousands(b.tokens),
                pct(b.token_share),
                usd(b.cost_usd),
                pct(b.cost_share),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "bucket",
            "features",
            "requests",
            "tokens",
            "token share",
            "cost",
            "spend share",
        ],
        &brows,
    );
    out.push('\n');
    table(
        &mut out,
        &[
            "feature",
            "bucket",
            "requests",
            "tokens",
            "cost",
            "share",
            "p50 tok/req",
            "p99 tok/req",
            "errors",
        ],
        &feature_rows(&a.features),
    );
    if !a.unmapped.is_empty() {
        let list: Vec<String> = a
            .unmapped
            .iter()
            .map(|u| format!("{} ({}, {})", u.feature, usd(u.cost_usd), pct(u.cost_share)))
            .collect();
        let _ = writeln!(
            out,
            "\nunmapped: {} feature(s) in no bucket: {} — assign them under `buckets:` in the mapping file",
            a.unmapped.len(),
            list.join(", ")
        );
    }
    if !a.unpriced_models.is_empty() {
        let list: Vec<String> = a
            .unpriced_models
            .iter()
            .map(|u| format!("{} ({} requests)", u.model, thousands(u.requests)))
            .collect();
        let _ = writeln!(
            out,
            "unpriced: {} — counted at $0; add them under `prices:` in the mapping file",
            list.join(", ")
        );
    }
    if a.malformed > 0 {
        let _ = writeln!(
            out,
            "malformed: {} row(s) skipped, first:",
            thousands(a.malformed)
        );
        for e in &a.malformed_examples {
            let _ = writeln!(out, "  {e}");
        }
    }
    for f in &a.inputs {
        if let Some(why) = &f.stopped_early {
            let _ = writeln!(out, "warning: {}: {why}", f.path.display());
        }
    }
    for n in &a.notes {
        let _ = writeln!(out, "note: {n}");
    }
    if let Some(s) = &a.savings {
        savings(&mut out, s);
    }
    out
}

fn savings(out: &mut String, s: &super::Savings) {
    let _ = writeln!(
        out,
        "\nsavings per {:.0}-day month (the logs cover {:.1} days, from {}; interval from each run's cost-ratio bounds):",
        s.month_days, s.period_days, s.period_source
    );
    for r in &s.runs {
        let _ = writeln!(
            out,
            "\n{} → feature `{}`: {} requests, {} in the logs, {} a month (baseline {})",
            r.suite,
            r.feature,
            thousands(r.feature_requests),
            usd(r.feature_cost_usd),
            usd(r.feature_monthly_cost_usd),
            r.baseline.as_deref().unwrap_or("-"),
        );
        for n in &r.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        for c in &r.candidates {
            let ratio = match (c.cost_ratio, c.cost_ratio_lower, c.cost_ratio_upper) {
                (Some(x), Some(l), Some(u)) => format!("cost ratio {x:.3} [{l:.3}, {u:.3}]"),
                (Some(x), _, _) => format!("cost ratio {x:.3}"),
                _ => "cost ratio -".into(),
            };
            let _ = writeln!(out, "  {} ({}) {}: {ratio}", c.provider, c.model, c.verdict);
            if !c.stages.is_empty() {
                let cells: Vec<String> = c
                    .stages
                    .iter()
                    .map(|st| {
                        let iv = match (st.lower_usd, st.upper_usd) {
                            (Some(l), Some(u)) => format!(" [{}, {}]", usd(l), usd(u)),
                            _ => String::new(),
                        };
                        format!("{:.0}%: {}{iv}", st.share * 100.0, usd(st.saving_usd))
                    })
                    .collect();
                let _ = writeln!(out, "    saving a month at {}", cells.join("; "));
            }
            if let Some(n) = &c.note {
                let _ = writeln!(out, "    {n}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(pct(0.1234), "12.3%");
    }
}
