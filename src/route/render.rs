//! The routes for people: the terminal table (with every excluded candidate and why) and `routes.yaml`.

use super::plan::{FeatureRoute, Routes};
use crate::report::{opt, usd};

fn chosen(f: &FeatureRoute) -> &'static str {
    match f.chosen_by.as_str() {
        "cheapest_pass" => "cheapest PASS",
        "lowest_p99_pass" => "lowest-p99 PASS",
        _ if !f.run_complete => "baseline (run incomplete)",
        _ => "baseline only",
    }
}

/// The routing table: one row per feature, then per feature what was left out and why.
pub fn table(routes: &Routes) -> String {
    let headers = [
        "feature",
        "suite",
        "route (primary → fallbacks)",
        "chosen by",
        "cost/1k items",
        "p99 ms",
        "breaker",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = routes
        .features
        .iter()
        .map(|f| {
            let p = &f.chain[0];
            let chain: Vec<&str> = f.chain.iter().map(|h| h.provider.as_str()).collect();
            let breaker = if f.chain.len() > 1 {
                format!(
                    ">{} fails/{} s",
                    f.circuit_breaker.allowed_fails, f.circuit_breaker.window_s
                )
            } else {
                "-".into()
            };
            [
                f.feature.clone(),
                f.suite.clone(),
                chain.join(" → "),
                chosen(f).into(),
                p.cost_usd_per_1k_items.map_or("-".into(), usd),
                opt(p.p99_ms, 0),
                breaker,
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c > 0 {
                l.push_str("  ");
            }
            l.push_str(cell);
            if c + 1 < cells.len() {
                l.push_str(&" ".repeat(widths[c] - cell.chars().count()));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut s = String::from("routes\n");
    s.push_str(&line(&headers));
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    s.push_str(&line(&rule));
    for r in &rows {
        s.push_str(&line(r));
    }
    for f in &routes.features {
        s.push_str(&format!("\n{}: {}\n", f.feature, f.note));
        for e in &f.excluded {
            s.push_str(&format!(
                "  not routed: {} {} — {}\n",
                e.provider, e.verdict, e.reason
            ));
        }
    }
    s
}

/// `routes.yaml`: a comment header, then the [`Routes`] document.
pub fn routes_yaml(routes: &Routes) -> crate::error::Result<String> {
    let body = serde_yaml::to_string(routes)
        .map_err(|e| crate::error::Error::Internal(format!("serializing routes.yaml: {e}")))?;
    Ok(format!(
        "# evalh routes: per feature, the provider chain the gate's verdicts allow (docs/decision.md, \"Routes\").\n\
         # Only PASSing candidates are routed; `excluded` says why the others are not. The baseline is always last.\n{body}"
    ))
}
