//! The audit as one self-contained HTML page in the run report's style: the same style sheet, no script at all, a
//! Content-Security-Policy that forbids loading anything, charts drawn as inline SVG, every logged name escaped.

use super::render::{pct, thousands};
use super::{Audit, Savings};
use crate::report::color_hex;
use crate::report::{escape, money, REPORT_CSS as CSS};
use std::fmt::Write;

/// Features drawn in the spend chart (the table lists all of them).
const CHART_FEATURES: usize = 20;

/// Colour of a bucket (unmapped is grey).
fn bucket_color(b: Option<u8>) -> String {
    match b {
        Some(n) => color_hex(usize::from(n) - 1),
        None => "#9aa0a6".into(),
    }
}

fn bucket_name(b: Option<u8>) -> String {
    match b {
        Some(n) => format!("{n} · {}", crate::logs::BUCKET_NAMES[usize::from(n) - 1]),
        None => "unmapped".into(),
    }
}

/// A stacked horizontal bar of the buckets' shares, with a legend.
fn share_bar(out: &mut String, title: &str, parts: &[(Option<u8>, f64)]) {
    let _ = write!(
        out,
        "<figure><svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 1000 34\" width=\"100%\" height=\"34\" preserveAspectRatio=\"none\">",
        escape(title)
    );
    let mut x = 0.0;
    for (b, s) in parts {
        let w = s * 1000.0;
        if w > 0.0 {
            let _ = write!(
                out,
                "<rect x=\"{x:.2}\" y=\"0\" width=\"{w:.2}\" height=\"34\" fill=\"{}\"><title>{}: {}</title></rect>",
                bucket_color(*b),
                escape(&bucket_name(*b)),
                pct(*s)
            );
        }
        x += w;
    }
    let _ = write!(out, "</svg><figcaption>{} — ", escape(title));
    let legend: Vec<String> = parts
        .iter()
        .map(|(b, s)| {
            format!(
                "<span class=\"sw\" style=\"background:{}\"></span>{} {}",
                bucket_color(*b),
                escape(&bucket_name(*b)),
                pct(*s)
            )
        })
        .collect();
    let _ = writeln!(out, "{}</figcaption></figure>", legend.join(" &nbsp; "));
}

/// Horizontal bars of the costliest features, coloured by bucket.
fn feature_chart(out: &mut String, a: &Audit) {
    let rows: Vec<_> = a.features.iter().take(CHART_FEATURES).collect();
    let max = rows.iter().map(|f| f.cost_usd).fold(0.0, f64::max);
    if rows.is_empty() || max <= 0.0 {
        return;
    }
    let h = 22;
    let height = rows.len() * h + 4;
    let _ = write!(
        out,
        "<figure><svg role=\"img\" aria-label=\"cost by feature\" viewBox=\"0 0 1000 {height}\" width=\"100%\" style=\"max-width:1000px\">"
    );
    for (i, f) in rows.iter().enumerate() {
        let y = i * h + 2;
        let w = f.cost_usd / max * 560.0;
        let mut name: String = f.feature.chars().take(38).collect();
        if f.feature.chars().count() > 38 {
            name.push('…');
        }
        let _ = write!(
            out,
            "<text x=\"290\" y=\"{}\" text-anchor=\"end\" font-size=\"13\" fill=\"#1d1d1f\">{}</text>\
             <rect x=\"300\" y=\"{y}\" width=\"{w:.2}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>\
             <text x=\"{:.2}\" y=\"{}\" font-size=\"12\" fill=\"#5f6368\">{} · {}</text>",
            y + 15,
            escape(&name),
            h - 6,
            bucket_color(f.bucket),
            escape(&f.feature),
            money(f.cost_usd),
            306.0 + w,
            y + 15,
            money(f.cost_usd),
            pct(f.cost_share),
        );
    }
    let _ = writeln!(
        out,
        "</svg><figcaption>Cost at the pinned prices by feature (the {} costliest), coloured by bucket.</figcaption></figure>",
        rows.len()
    );
}

fn tables(out: &mut String, a: &Audit) {
    let _ = writeln!(out, "<h2 id=\"buckets\">Buckets</h2><div class=\"tw\"><table><tr><th>bucket</th><th class=\"n\">features</th><th class=\"n\">requests</th><th class=\"n\">tokens</th><th class=\"n\">token share</th><th class=\"n\">cost</th><th class=\"n\">spend share</th></tr>");
    for b in &a.buckets {
        let _ = writeln!(
            out,
            "<tr><td><span class=\"sw\" style=\"background:{}\"></span>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            bucket_color(b.bucket),
            escape(&bucket_name(b.bucket)),
            b.features,
            thousands(b.requests),
            thousands(b.tokens),
            pct(b.token_share),
            money(b.cost_usd),
            pct(b.cost_share)
        );
    }
    let _ = writeln!(out, "</table></div>");
    share_bar(
        out,
        "Share of spend by bucket",
        &a.buckets
            .iter()
            .map(|b| (b.bucket, b.cost_share))
            .collect::<Vec<_>>(),
    );
    share_bar(
        out,
        "Share of tokens by bucket",
        &a.buckets
            .iter()
            .map(|b| (b.bucket, b.token_share))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(out, "<h2 id=\"features\">Features</h2>");
    feature_chart(out, a);
    let _ = writeln!(out, "<div class=\"tw\"><table><tr><th>feature</th><th>bucket</th><th class=\"n\">requests</th><th class=\"n\">errors</th><th class=\"n\">input tokens</th><th class=\"n\">cached</th><th class=\"n\">output tokens</th><th class=\"n\">cost</th><th class=\"n\">share</th><th class=\"n\">p50 tok/req</th><th class=\"n\">p99 tok/req</th><th>models</th></tr>");
    for f in &a.features {
        let models: Vec<String> = f
            .models
            .iter()
            .take(4)
            .map(|m| {
                let c = m.cost_usd.map_or("unpriced".to_string(), money);
                format!("{} ({}, {c})", escape(&m.model), thousands(m.requests))
            })
            .collect();
        let more = f.models.len().saturating_sub(4);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><span class=\"sw\" style=\"background:{}\"></span>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"note\">{}{}</td></tr>",
            escape(&f.feature),
            bucket_color(f.bucket),
            f.bucket.map_or("unmapped".into(), |b| b.to_string()),
            thousands(f.requests),
            thousands(f.errors),
            thousands(f.input_tokens),
            thousands(f.cached_tokens),
            thousands(f.output_tokens),
            money(f.cost_usd),
            pct(f.cost_share),
            f.tokens_per_request.p50.map_or("-".into(), thousands),
            f.tokens_per_request.p99.map_or("-".into(), thousands),
            models.join("; "),
            if more > 0 { format!("; {more} more") } else { String::new() }
        );
    }
    let _ = writeln!(
        out,
        "</table></div><p class=\"note\">Percentiles: {}.</p>",
        escape(&a.quantile_method)
    );
}

fn savings(out: &mut String, s: &Savings) {
    let _ = writeln!(
        out,
        "<h2 id=\"savings\">Savings</h2><p class=\"meta\">Per {:.0}-day month: the logs cover {:.1} days ({}). A passing candidate that takes a share of its feature's traffic saves that share × the feature's monthly cost × (1 − cost ratio); the interval comes from the run's cost-ratio bounds. Only PASS projects.</p>",
        s.month_days,
        s.period_days,
        escape(&s.period_source)
    );
    for r in &s.runs {
        let _ = writeln!(
            out,
            "<h3>{} → feature <code>{}</code></h3><p class=\"meta\">{} requests, {} over the logs, {} a month; baseline {}.</p>",
            escape(&r.suite),
            escape(&r.feature),
            thousands(r.feature_requests),
            money(r.feature_cost_usd),
            money(r.feature_monthly_cost_usd),
            escape(r.baseline.as_deref().unwrap_or("-"))
        );
        for n in &r.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(n));
        }
        let _ = write!(out, "<div class=\"tw\"><table><tr><th>candidate</th><th>verdict</th><th class=\"n\">cost ratio</th>");
        for st in &s.stages {
            let _ = write!(out, "<th class=\"n\">{:.0}% of traffic</th>", st * 100.0);
        }
        let _ = writeln!(out, "</tr>");
        for c in &r.candidates {
            let v = c.verdict.to_ascii_lowercase();
            let ratio = match (c.cost_ratio, c.cost_ratio_lower, c.cost_ratio_upper) {
                (Some(x), Some(l), Some(u)) => {
                    format!("{x:.3} <span class=\"ci\">[{l:.3}, {u:.3}]</span>")
                }
                (Some(x), _, _) => format!("{x:.3}"),
                _ => "-".into(),
            };
            let _ = write!(
                out,
                "<tr><td>{} <span class=\"tag\">{}</span></td><td><span class=\"badge {}\">{}</span></td><td class=\"n\">{ratio}</td>",
                escape(&c.provider),
                escape(&c.model),
                escape(&v),
                escape(&c.verdict)
            );
            if c.stages.is_empty() {
                let _ = write!(
                    out,
                    "<td colspan=\"{}\" class=\"note\">{}</td>",
                    s.stages.len(),
                    escape(c.note.as_deref().unwrap_or("projects nothing"))
                );
            } else {
                for st in &c.stages {
                    let iv = match (st.lower_usd, st.upper_usd) {
                        (Some(l), Some(u)) => {
                            format!("<br><span class=\"ci\">[{}, {}]</span>", money(l), money(u))
                        }
                        _ => String::new(),
                    };
                    let _ = write!(out, "<td class=\"n\">{}{iv}</td>", money(st.saving_usd));
                }
            }
            let _ = writeln!(out, "</tr>");
        }
        let _ = writeln!(out, "</table></div>");
    }
}

fn caveats(out: &mut String, a: &Audit) {
    let _ = writeln!(
        out,
        "<h2 id=\"caveats\">What is not counted or not mapped</h2><ul class=\"reasons\">"
    );
    if a.unmapped.is_empty() {
        let _ = writeln!(out, "<li>Every feature is in a bucket.</li>");
    }
    for u in &a.unmapped {
        let _ = writeln!(
            out,
            "<li>Unmapped: <b>{}</b> — {} requests, {} ({} of spend). Assign it under <code>buckets:</code> in the mapping file.</li>",
            escape(&u.feature),
            thousands(u.requests),
            money(u.cost_usd),
            pct(u.cost_share)
        );
    }
    for u in &a.unpriced_models {
        let _ = writeln!(
            out,
            "<li>Unpriced model <b>{}</b> — {} requests, {} tokens counted at $0. Add it under <code>prices:</code> in the mapping file.</li>",
            escape(&u.model),
            thousands(u.requests),
            thousands(u.tokens)
        );
    }
    if a.malformed > 0 {
        let _ = writeln!(
            out,
            "<li>{} malformed row(s) skipped. First:<ul>",
            thousands(a.malformed)
        );
        for e in &a.malformed_examples {
            let _ = writeln!(out, "<li class=\"mono\">{}</li>", escape(e));
        }
        let _ = writeln!(out, "</ul></li>");
    }
    for f in &a.inputs {
        if let Some(w) = &f.stopped_early {
            let _ = writeln!(
                out,
                "<li>{}: {}</li>",
                escape(&f.path.display().to_string()),
                escape(w)
            );
        }
    }
    for n in &a.notes {
        let _ = writeln!(out, "<li>{}</li>", escape(n));
    }
    let _ = writeln!(out, "</ul>");
}

/// The whole page.
pub fn render(a: &Audit) -> String {
    let mut body = String::with_capacity(64 * 1024);
    let _ = writeln!(body, "<header><h1>evalh audit</h1>");
    let files: Vec<String> = a
        .inputs
        .iter()
        .map(|f| {
            format!(
                "{} ({} rows)",
                escape(&f.path.display().to_string()),
                thousands(f.rows)
            )
        })
        .collect();
    let period = match (&a.period.start, &a.period.end) {
        (Some(s), Some(e)) => format!("{} → {}", escape(s), escape(e)),
        _ => "period unknown".into(),
    };
    let _ = writeln!(
        body,
        "<p class=\"meta\">{} requests · {} tokens · <b>{}</b> at the pinned prices · {period} · {}</p><p class=\"meta\">Logs: {}. Prices: {}. evalh {}.</p>",
        thousands(a.totals.requests),
        thousands(a.totals.tokens),
        money(a.totals.cost_usd),
        escape(&a.format),
        files.join(", "),
        escape(&a.price_table),
        escape(&a.evalh_version)
    );
    let _ = writeln!(body, "<nav class=\"toc\"><a href=\"#buckets\">Buckets</a><a href=\"#features\">Features</a>{}<a href=\"#caveats\">Not counted</a></nav></header>",
        if a.savings.is_some() { "<a href=\"#savings\">Savings</a>" } else { "" });
    tables(&mut body, a);
    if let Some(s) = &a.savings {
        savings(&mut body, s);
    }
    caveats(&mut body, a);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"evalh {}\">\n\
         <title>evalh audit</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(&a.evalh_version)
    )
}
