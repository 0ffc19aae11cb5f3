//! The judge's part of the terminal summary and of report.html: verdicts, metric with interval, parse failures,
//! evaluation cost, and the judge-human agreement with its confusion table.
//!
//! Why this module exists: the reports show the judge next to the human review in the same vocabulary, and keep the
//! judge's cost visibly apart from the providers'.

use super::html::escape;
use crate::judge::{Estimate, HumanAgreement, JudgeResult};
use crate::suite::JudgeMode;
use crate::summary::Results;
use std::fmt::Write;

fn est(e: &Option<Estimate>) -> String {
    match e {
        Some(e) => format!("{:.3} ({:.3}-{:.3}, n={})", e.value, e.lower, e.upper, e.n),
        None => "-".into(),
    }
}

fn kappa(a: &HumanAgreement) -> String {
    match a.kappa {
        Some(k) => format!("Cohen's kappa {k:.3}"),
        None => "Cohen's kappa undefined".into(),
    }
}

/// The judge's terminal lines (empty without a judge).
pub(super) fn terminal_lines(r: &Results) -> String {
    let Some(j) = &r.judge else {
        return String::new();
    };
    let mode = if j.mode == JudgeMode::Pairwise {
        "pairwise, both orders"
    } else {
        "rubric"
    };
    let mut out = format!(
        "\nLLM judge {} ({} {}, {mode}): {} calls ({} cached), {} parse failures, {} unsettled; evaluation cost ${:.4} \
         (not in any provider's cost)\n",
        j.id, j.kind, j.model, j.calls, j.cached, j.parse_failures, j.unsettled, j.evaluation_cost_usd
    );
    for p in &r.providers {
        let Some(x) = &p.judge else { continue };
        line(&mut out, &p.id, x);
    }
    out
}

fn line(out: &mut String, id: &str, x: &JudgeResult) {
    match (&x.counts, x.mode) {
        (Some(c), JudgeMode::Pairwise) => {
            let _ = writeln!(
                out,
                "  {id}: judge_preference {}; win / tie fine / tie bad / loss {} / {} / {} / {}; parse failures {}",
                est(&x.judge_preference),
                c.candidate_better,
                c.tie_fine,
                c.tie_bad,
                c.baseline_better,
                x.parse_failures
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "  {id}: judge_score {}; parse failures {}",
                est(&x.judge_score),
                x.parse_failures
            );
        }
    }
    if let Some(a) = &x.human_agreement {
        let _ = writeln!(
            out,
            "    agrees with the human reviewers on {:.1}% of {} decisions; {}",
            a.observed_agreement * 100.0,
            a.n_pairs,
            kappa(a)
        );
    }
}

/// The judge's section of report.html (empty without a judge).
pub(super) fn html_section(r: &Results) -> String {
    let Some(j) = &r.judge else {
        return String::new();
    };
    let mut out = String::from("<section id=\"judge\"><h2>LLM judge</h2>");
    let _ = write!(
        out,
        "<p class=\"note\">Judge {} ({} {}), {} mode: {} calls ({} cached), {} parse failures, {} unsettled. \
         Evaluation cost ${:.4}, kept out of every provider's cost. judge_preference = share of items the candidate \
         wins, ties counting half (asked in both orders; orders that disagree are a tie). See docs/review.md.</p>\
         <div class=\"tw\"><table><thead><tr><th>provider</th><th class=\"n\">metric (interval)</th><th class=\"n\">win / tie fine / tie bad / loss</th>\
         <th class=\"n\">parse failures</th><th>agreement with humans</th></tr></thead><tbody>",
        escape(&j.id),
        escape(&j.kind),
        escape(&j.model),
        if j.mode == JudgeMode::Pairwise { "pairwise" } else { "rubric" },
        j.calls,
        j.cached,
        j.parse_failures,
        j.unsettled,
        j.evaluation_cost_usd
    );
    for p in &r.providers {
        let Some(x) = &p.judge else { continue };
        let metric = if x.mode == JudgeMode::Pairwise {
            &x.judge_preference
        } else {
            &x.judge_score
        };
        let counts = x.counts.map_or("-".to_string(), |c| {
            format!(
                "{} / {} / {} / {}",
                c.candidate_better, c.tie_fine, c.tie_bad, c.baseline_better
            )
        });
        let agree = x.human_agreement.as_ref().map_or("-".to_string(), |a| {
            let mut s = format!(
                "{:.1}% of {} decisions; {}<br><span class=\"ci\">rows human, columns judge ({}):",
                a.observed_agreement * 100.0,
                a.n_pairs,
                kappa(a),
                a.choices.join(", ")
            );
            for row in &a.confusion {
                let cells: Vec<String> = row.iter().map(u64::to_string).collect();
                let _ = write!(s, " [{}]", cells.join(" "));
            }
            s.push_str("</span>");
            s
        });
        let _ = write!(
            out,
            "<tr data-provider=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&p.id),
            escape(&p.id),
            escape(&est(metric)),
            counts,
            x.parse_failures,
            agree
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}
