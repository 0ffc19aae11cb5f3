//! `index.html` of an output folder: every run of every suite — when, complete or not, each provider's quality, cost
//! and verdict — with quality and cost over time, linking each run's `report.html`.
//!
//! Why this module exists: providers change models under the same name, so "did the candidate get worse since last
//! week?" is a question about many runs at once; this page answers it at a glance (`evalh compare` answers it with a
//! test). Same rules as `report.html`: one self-contained file, no script at all, a Content-Security-Policy that
//! forbids loading anything, every name from a suite or a run escaped. Charts are inline SVG.

use super::RunInfo;
use crate::report::color_hex;
use crate::report::escape;
use std::collections::BTreeMap;
use std::fmt::Write;

const CSS: &str = r#"
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--soft:#f6f7f9;--pass:#137333;--passbg:#e6f4ea;--fail:#b3261e;--failbg:#fce8e6;--inc:#8a5a00;--incbg:#fef7e0}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:#fff}
main{max-width:1240px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 6px;padding-bottom:4px;border-bottom:2px solid var(--line)}
.meta{color:var(--muted);margin:2px 0 10px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:14px;margin:8px 0}
th,td{border-bottom:1px solid var(--line);padding:5px 10px;text-align:left;vertical-align:top;white-space:nowrap}
th{background:var(--soft);font-weight:600}
td.num{font-variant-numeric:tabular-nums}
.v{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600}
.v-PASS{color:var(--pass);background:var(--passbg)}.v-FAIL{color:var(--fail);background:var(--failbg)}
.v-INCONCLUSIVE,.v-INCOMPLETE{color:var(--inc);background:var(--incbg)}
.st-INCOMPLETE,.st-running,.st-no-results{color:var(--inc);font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:18px;margin:10px 0}
figure{margin:0}figcaption{font-size:13px;color:var(--muted)}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
svg text{font:11px system-ui,sans-serif;fill:#5f6368}
"#;

/// Render the page for the runs `runs::scan` found (groups by suite, each newest first).
pub(super) fn render(groups: &BTreeMap<String, Vec<RunInfo>>, generated: &str) -> String {
    let mut body = String::with_capacity(64 * 1024);
    let n_runs: usize = groups.values().map(Vec::len).sum();
    let _ = writeln!(
        body,
        "<header><h1>evalh runs</h1><p class=\"meta\">{n_runs} run(s) of {} suite(s) · written {} · newest first · \
         rewritten by every <code>evalh run</code> and by <code>evalh runs index</code></p></header>",
        groups.len(),
        escape(generated)
    );
    if groups.is_empty() {
        let _ = writeln!(
            body,
            "<p>No run directories yet: <code>evalh run SUITE</code> creates one here.</p>"
        );
    }
    for (suite, runs) in groups {
        suite_section(&mut body, suite, runs);
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"evalh {}\">\n\
         <title>evalh runs</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Provider ids over all runs of a suite, in the order they first appear (newest run first, suite order within).
fn provider_ids(runs: &[RunInfo]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for r in runs.iter().filter_map(|r| r.results.as_ref()) {
        for p in &r.providers {
            if !ids.contains(&p.id) {
                ids.push(p.id.clone());
            }
        }
    }
    ids
}

fn suite_section(out: &mut String, suite: &str, runs: &[RunInfo]) {
    let ids = provider_ids(runs);
    let latest = runs.iter().find_map(|r| r.results.as_ref());
    let _ = writeln!(
        out,
        "<section class=\"suite\" data-suite=\"{0}\"><h2>{0}</h2>",
        escape(suite)
    );
    if let Some(r) = latest {
        let _ = writeln!(
            out,
            "<p class=\"meta\">{} task · gate metric <b>{}</b> · {} run(s)</p>",
            escape(&r.task),
            escape(&r.gate_metric),
            runs.len()
        );
    }
    // Oldest first for the charts.
    let timeline: Vec<&RunInfo> = runs.iter().rev().filter(|r| r.results.is_some()).collect();
    if !timeline.is_empty() && !ids.is_empty() {
        let metric = latest.map(|r| r.gate_metric.as_str()).unwrap_or("quality");
        let quality: Vec<Vec<Option<f64>>> = ids
            .iter()
            .map(|id| {
                timeline
                    .iter()
                    .map(|r| r.results.as_ref().and_then(|x| x.quality(id)))
                    .collect()
            })
            .collect();
        let cost: Vec<Vec<Option<f64>>> = ids
            .iter()
            .map(|id| {
                timeline
                    .iter()
                    .map(|r| {
                        r.results
                            .as_ref()
                            .and_then(|x| x.providers.iter().find(|p| &p.id == id))
                            .and_then(|p| p.cost_usd_per_1k_items)
                    })
                    .collect()
            })
            .collect();
        let dates: Vec<&str> = timeline.iter().map(|r| r.started.as_str()).collect();
        let _ = writeln!(out, "<div class=\"legend\">");
        for (i, id) in ids.iter().enumerate() {
            let _ = write!(
                out,
                "<span><i style=\"background:{}\"></i>{}</span>",
                color_hex(i),
                escape(id)
            );
        }
        let _ = writeln!(out, "</div><div class=\"charts\">");
        chart(
            out,
            &format!("{metric} per run"),
            &dates,
            &quality,
            false,
            |v| format!("{v:.3}"),
        );
        chart(
            out,
            "cost per 1,000 items (USD) per run, log scale",
            &dates,
            &cost,
            true,
            money,
        );
        let _ = writeln!(out, "</div>");
    }
    let _ = write!(
        out,
        "<div class=\"scroll\"><table><thead><tr><th>started (UTC)</th><th>status</th><th>items</th>"
    );
    for id in &ids {
        let _ = write!(out, "<th>{}</th>", escape(id));
    }
    let _ = writeln!(out, "</tr></thead><tbody>");
    for r in runs {
        run_row(out, r, &ids);
    }
    let _ = writeln!(out, "</tbody></table></div></section>");
}

fn run_row(out: &mut String, r: &RunInfo, ids: &[String]) {
    let when = if r.has_report {
        format!(
            "<a href=\"{}/report.html\">{}</a>",
            escape(&r.name),
            escape(&r.started)
        )
    } else {
        escape(&r.started)
    };
    let status = r.status();
    let _ = write!(
        out,
        "<tr class=\"run\" data-run=\"{}\"><td>{when}</td><td class=\"st-{}\">{}</td><td class=\"num\">{}</td>",
        escape(&r.name),
        status.replace(' ', "-"),
        status,
        r.results.as_ref().map_or("-".into(), |x| x.n_items.to_string())
    );
    for id in ids {
        let p = r
            .results
            .as_ref()
            .and_then(|x| x.providers.iter().find(|p| &p.id == id).map(|p| (x, p)));
        let Some((x, p)) = p else {
            let _ = write!(out, "<td>-</td>");
            continue;
        };
        let q = x.quality(id).map_or("-".into(), |v| format!("{v:.3}"));
        let c = p.cost_usd_per_1k_items.map_or("-".into(), money);
        let v = match &p.gate {
            Some(g) => format!(
                " <span class=\"v v-{0}\">{0}</span>{1}",
                escape(&g.verdict),
                if g.gated { "" } else { " (not gated)" }
            ),
            None if p.role == "baseline" => " <span class=\"meta\">baseline</span>".into(),
            None => String::new(),
        };
        let _ = write!(out, "<td class=\"num\">{q} · {c}/1k{v}</td>");
    }
    let _ = writeln!(out, "</tr>");
}

fn money(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x == 0.0 || x.abs() >= 0.01 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

/// A small line chart: one series per provider over the runs (oldest left), min and max labelled. With `log`, the
/// axis is logarithmic (costs of a premium and a cheap provider differ by orders of magnitude); values <= 0 are left
/// out of a log chart.
fn chart(
    out: &mut String,
    title: &str,
    dates: &[&str],
    series: &[Vec<Option<f64>>],
    log: bool,
    fmt: impl Fn(f64) -> String,
) {
    const W: f64 = 520.0;
    const H: f64 = 190.0;
    const L: f64 = 60.0;
    const R: f64 = 12.0;
    const T: f64 = 12.0;
    const B: f64 = 30.0;
    let usable = |v: &f64| v.is_finite() && (!log || *v > 0.0);
    let vals: Vec<f64> = series
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(usable)
        .collect();
    if vals.is_empty() {
        return;
    }
    let (vmin, vmax) = vals
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let tf = |v: f64| if log { v.log10() } else { v };
    let (mut lo, mut hi) = (tf(vmin), tf(vmax));
    if hi - lo < 1e-12 {
        let pad = if log {
            0.1
        } else if hi.abs() > 0.0 {
            hi.abs() * 0.05
        } else {
            0.01
        };
        lo -= pad;
        hi += pad;
    }
    let n = dates.len();
    let x = |i: usize| {
        if n <= 1 {
            L + (W - L - R) / 2.0
        } else {
            L + (W - L - R) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| T + (H - T - B) * (1.0 - (tf(v) - lo) / (hi - lo));
    let _ = write!(
        out,
        "<figure><svg role=\"img\" aria-label=\"{t}\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
         <rect x=\"{L}\" y=\"{T}\" width=\"{}\" height=\"{}\" fill=\"#f6f7f9\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text x=\"{L}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        W - L - R,
        H - T - B,
        L - 6.0,
        T + 4.0,
        escape(&fmt(vmax)),
        L - 6.0,
        H - B,
        escape(&fmt(vmin)),
        H - 10.0,
        escape(dates.first().copied().unwrap_or("")),
        W - R,
        H - 10.0,
        escape(if n > 1 { dates[n - 1] } else { "" }),
        t = escape(title),
    );
    for (si, s) in series.iter().enumerate() {
        let col = color_hex(si);
        let pts: Vec<(f64, f64, usize, f64)> = s
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.filter(usable).map(|v| (x(i), y(v), i, v)))
            .collect();
        if pts.len() > 1 {
            let path: Vec<String> = pts
                .iter()
                .map(|(px, py, _, _)| format!("{px:.1},{py:.1}"))
                .collect();
            let _ = write!(
                out,
                "<polyline fill=\"none\" stroke=\"{col}\" stroke-width=\"2\" points=\"{}\"/>",
                path.join(" ")
            );
        }
        for (px, py, i, v) in &pts {
            let _ = write!(
                out,
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3.5\" fill=\"{col}\"><title>{}: {}</title></circle>",
                escape(dates[*i]),
                escape(&fmt(*v))
            );
        }
    }
    let _ = writeln!(
        out,
        "</svg><figcaption>{}</figcaption></figure>",
        escape(title)
    );
}
