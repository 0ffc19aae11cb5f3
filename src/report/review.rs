//! The human-review numbers as the terminal and report.html show them (results.json serialises [`HumanReview`]).
//!
//! Why this module exists: the report and the terminal are shared files edited by several people; each calls one
//! function here, so the review's presentation lives in one place, with the other reports (the review module draws
//! and tallies, reports show).

use super::html::escape;
use crate::review::{HumanReview, Rate};
use crate::summary::Results;
use std::fmt::Write;

fn pct(r: &Rate) -> String {
    match (r.rate, r.lower, r.upper) {
        (Some(v), Some(l), Some(u)) => format!(
            "{:.1}% ({}/{}; {:.1}–{:.1}%)",
            v * 100.0,
            r.k,
            r.n,
            l * 100.0,
            u * 100.0
        ),
        _ => format!("- ({}/{})", r.k, r.n),
    }
}

fn agreement(h: &HumanReview) -> String {
    match &h.agreement {
        None => "not measured (no item was reviewed twice)".into(),
        Some(a) => format!(
            "{} kappa {} on {} items reviewed by {} people ({} ratings each; {:.0}% of rating pairs agree)",
            if a.method == "cohen" { "Cohen's" } else { "Fleiss'" },
            a.kappa.map(|k| format!("{k:.3}")).unwrap_or_else(|| "undefined".into()),
            a.n_items,
            a.reviewers,
            a.ratings_per_item,
            a.observed_agreement * 100.0
        ),
    }
}

/// The lines `evalh run/score/report` print per candidate with imported decisions (empty when there are none).
pub(super) fn terminal_lines(r: &Results) -> String {
    r.providers
        .iter()
        .filter_map(|p| p.human_review.as_ref().map(|h| terminal_block(&p.id, h)))
        .collect()
}

/// One candidate's human-review lines.
pub fn terminal_block(candidate: &str, h: &HumanReview) -> String {
    let mut out = String::new();
    {
        let conf = (h.confidence * 100.0).round();
        let _ = writeln!(
            out,
            "\nhuman review of {} vs {} ({} decisions on {} items by {}; {conf}% Wilson intervals):",
            candidate,
            h.baseline,
            h.n_decisions,
            h.n_items,
            h.reviewers.join(", ")
        );
        let _ = writeln!(out, "  acceptable  {}", pct(&h.acceptable_rate));
        let _ = writeln!(
            out,
            "  win / tie / loss  {} / {} / {}",
            pct(&h.win_rate),
            pct(&h.tie_rate),
            pct(&h.loss_rate)
        );
        let _ = writeln!(
            out,
            "  preference  {} of decisions that prefer a side",
            pct(&h.preference_rate)
        );
        let _ = writeln!(out, "  agreement   {}", agreement(h));
    }
    out
}

/// "77.3% (17/22)" over its interval, for a table cell.
fn rate_cell(r: &Rate) -> String {
    match (r.rate, r.lower, r.upper) {
        (Some(v), Some(l), Some(u)) => format!(
            "{:.1}% <span class=\"ci\">({}/{})</span><br><span class=\"ci\">[{:.1}, {:.1}]%</span>",
            v * 100.0,
            r.k,
            r.n,
            l * 100.0,
            u * 100.0
        ),
        _ => format!("- <span class=\"ci\">({}/{})</span>", r.k, r.n),
    }
}

fn agreement_cell(h: &HumanReview) -> String {
    match &h.agreement {
        None => "<span class=\"ci\">no item reviewed twice</span>".into(),
        Some(a) => format!(
            "{} κ <b>{}</b><br><span class=\"ci\">{} items × {} ratings, {} reviewers; {:.0}% of pairs agree</span>",
            if a.method == "cohen" { "Cohen's" } else { "Fleiss'" },
            a.kappa.map(|k| format!("{k:.3}")).unwrap_or_else(|| "undefined".into()),
            a.n_items,
            a.ratings_per_item,
            a.reviewers,
            a.observed_agreement * 100.0
        ),
    }
}

/// The report's "Human review" section (empty when no candidate has imported decisions).
pub(super) fn html_section(r: &Results) -> String {
    let reviewed: Vec<_> = r
        .providers
        .iter()
        .filter(|p| p.human_review.is_some())
        .collect();
    if reviewed.is_empty() {
        return String::new();
    }
    let mut out = String::from("<section id=\"human\"><h2>Human review</h2>");
    let conf = (reviewed[0]
        .human_review
        .as_ref()
        .map_or(0.95, |h| h.confidence)
        * 100.0)
        .round();
    let _ = write!(
        out,
        "<p class=\"note\">Blind pairwise review: reviewers saw the candidate's and the baseline's outputs as A and B on a random side per item. Acceptable = candidate better or both fine; preference = candidate better among decisions that prefer a side. Intervals: {conf}% Wilson. See docs/review.md.</p>\
         <div class=\"tw\"><table><thead><tr><th>candidate</th><th class=\"n\">decisions</th><th class=\"n\">acceptable</th><th class=\"n\">win</th><th class=\"n\">tie</th><th class=\"n\">loss</th><th class=\"n\">preference</th><th>agreement</th></tr></thead><tbody>"
    );
    for p in &reviewed {
        let Some(h) = &p.human_review else { continue };
        let _ = write!(
            out,
            "<tr data-provider=\"{}\"><td>{} <span class=\"ci\">vs {}</span></td><td class=\"n\">{}<br><span class=\"ci\">{} items · {}</span></td>",
            escape(&p.id),
            escape(&p.id),
            escape(&h.baseline),
            h.n_decisions,
            h.n_items,
            escape(&h.reviewers.join(", "))
        );
        for rate in [
            &h.acceptable_rate,
            &h.win_rate,
            &h.tie_rate,
            &h.loss_rate,
            &h.preference_rate,
        ] {
            let _ = write!(out, "<td class=\"n\">{}</td>", rate_cell(rate));
        }
        let _ = write!(out, "<td>{}</td></tr>", agreement_cell(h));
    }
    out.push_str("</tbody></table></div>");
    for p in &reviewed {
        let Some(h) = &p.human_review else { continue };
        for (id, how) in &h.packs {
            let _ = write!(
                out,
                "<p class=\"note\">{}: pack <code>{}</code> — {}</p>",
                escape(&p.id),
                escape(id),
                escape(how)
            );
        }
    }
    out.push_str("</section>\n");
    out
}
