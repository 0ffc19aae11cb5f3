//! The promotion gate: PASS / FAIL / INCONCLUSIVE per candidate, each with the rules that decided it in plain words.
//!
//! Why this module exists: "promote at >= 95% of the baseline's quality for <= 40% of its cost" is usually judged on
//! 50–200 items, where a point estimate of 0.96 says little. With `decision: confident` (the default) quality PASSes
//! only when the one-sided lower confidence bound of the paired comparison clears the threshold, FAILs when the
//! upper bound is below it, and is INCONCLUSIVE in between — with the number of items that would settle it.
//! `decision: point` reproduces the plain rule. The numbers come from `summary` (which runs the statistics); this
//! module only applies the rule, so it is easy to read and to test.

use crate::suite::{Decision, GateSpec, OnInconclusive};
use serde::Serialize;

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Promote.
    Pass,
    /// Do not promote.
    Fail,
    /// Not enough evidence either way.
    Inconclusive,
}

impl Verdict {
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// Outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Holds.
    Pass,
    /// Violated.
    Fail,
    /// Cannot tell at this confidence.
    Inconclusive,
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Rule name (`quality`, `cost`, `error_rate`, `p99_latency`, `format_validity`).
    pub name: String,
    /// True only when the rule holds.
    pub passed: bool,
    /// Pass / fail / inconclusive.
    pub status: RuleStatus,
    /// The numbers, in words.
    pub detail: String,
}

/// The numbers a gate decision needs (computed by `summary`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Gate metric name.
    pub metric: String,
    /// Candidate / baseline on the metric (point estimate).
    pub quality_ratio: f64,
    /// Lower confidence bound of the ratio (Fieller for mean metrics, paired bootstrap for corpus metrics).
    pub quality_ratio_lower: Option<f64>,
    /// Upper confidence bound of the ratio.
    pub quality_ratio_upper: Option<f64>,
    /// Quality test outcome: Some(true) lower bound clears θ, Some(false) upper bound below θ, None undecided.
    pub quality_confident: Option<bool>,
    /// How the bound was computed.
    pub quality_method: String,
    /// Items that would give 80% power at the observed effect (for INCONCLUSIVE).
    pub items_needed: Option<u64>,
    /// Candidate mean cost per item / baseline mean cost per item.
    pub cost_ratio: f64,
    /// Bootstrap interval of the cost ratio.
    pub cost_ratio_interval: Option<(f64, f64)>,
    /// Candidate error rate minus baseline error rate.
    pub error_rate_increase: f64,
    /// Candidate error rate, baseline error rate, candidate Wilson upper bound.
    pub error_rates: (f64, f64, f64),
    /// Candidate p99 − baseline p99 (ms).
    pub p99_latency_increase_ms: f64,
    /// Candidate share of parseable outputs.
    pub format_validity: f64,
    /// Confidence used.
    pub confidence: f64,
    /// Items compared.
    pub n_items: usize,
    /// Paired-bootstrap interval of the quality ratio (cross-check of the primary bound).
    pub bootstrap_ratio_interval: Option<(f64, f64)>,
    /// McNemar exact test for binary per-item scores (diagnostic: tests equality, not the ratio).
    pub mcnemar: Option<McNemarEvidence>,
    /// Items on which the baseline itself failed (scored 0 for the baseline, so they favour the candidate).
    pub baseline_failed_items: usize,
}

/// McNemar's counts and p-values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct McNemarEvidence {
    /// Items only the baseline got right.
    pub b: u64,
    /// Items only the candidate got right.
    pub c: u64,
    /// Two-sided exact p.
    pub p_two_sided: f64,
    /// One-sided p that the candidate is worse.
    pub p_candidate_worse: f64,
}

/// A candidate's gate result (serialised into results.json).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    /// Verdict.
    pub verdict: Verdict,
    /// Whether this candidate is gated (affects the exit code).
    pub gated: bool,
    /// Point estimate of the quality ratio.
    pub quality_ratio: f64,
    /// Lower bound.
    pub quality_ratio_lower: Option<f64>,
    /// Upper bound.
    pub quality_ratio_upper: Option<f64>,
    /// Cost ratio.
    pub cost_ratio: f64,
    /// Error-rate increase.
    pub error_rate_increase: f64,
    /// p99 latency increase.
    pub p99_latency_increase_ms: f64,
    /// Each rule.
    pub rules: Vec<Rule>,
    /// One line per rule that was not a clean pass, or a summary when all passed.
    pub reasons: Vec<String>,
    /// Items needed for 80% power (INCONCLUSIVE only).
    pub items_needed: Option<u64>,
    /// The evidence behind the verdict.
    pub evidence: Evidence,
}

/// Apply the rule.
pub fn decide(spec: &GateSpec, ev: &Evidence, gated: bool) -> GateResult {
    let theta = spec.min_quality_ratio;
    let mut rules = Vec::new();
    let pct = (ev.confidence * 100.0).round();
    // Quality.
    let (q_status, q_detail) = match spec.decision {
        Decision::Point => {
            if ev.quality_ratio >= theta {
                (
                    RuleStatus::Pass,
                    format!(
                        "quality ratio {:.3} >= {theta} (point estimate)",
                        ev.quality_ratio
                    ),
                )
            } else {
                (
                    RuleStatus::Fail,
                    format!(
                        "quality ratio {:.3} < {theta} (point estimate)",
                        ev.quality_ratio
                    ),
                )
            }
        }
        Decision::Confident if ev.n_items < spec.min_items => (
            RuleStatus::Inconclusive,
            format!(
                "quality ratio {:.3} on only {} items (< min_items {}): not enough evidence{}",
                ev.quality_ratio,
                ev.n_items,
                spec.min_items,
                ev.items_needed
                    .map(|n| format!(
                        " (about {} items would give 80% power)",
                        n.max(spec.min_items as u64)
                    ))
                    .unwrap_or_default()
            ),
        ),
        Decision::Confident => {
            let lo = ev
                .quality_ratio_lower
                .map(|l| format!("{l:.3}"))
                .unwrap_or_else(|| "unbounded".into());
            let hi = ev
                .quality_ratio_upper
                .map(|u| format!("{u:.3}"))
                .unwrap_or_else(|| "unbounded".into());
            match ev.quality_confident {
                Some(true) => (RuleStatus::Pass, format!("quality ratio {:.3}, {pct}% lower bound {lo} >= {theta}", ev.quality_ratio)),
                Some(false) => (RuleStatus::Fail, format!("quality ratio {:.3}, {pct}% upper bound {hi} < {theta}", ev.quality_ratio)),
                None => (
                    RuleStatus::Inconclusive,
                    format!(
                        "quality ratio {:.3}, {pct}% lower bound {lo} < {theta}: not enough evidence{}",
                        ev.quality_ratio,
                        ev.items_needed.map(|n| format!(" (about {n} items would give 80% power)")).unwrap_or_default()
                    ),
                ),
            }
        }
    };
    rules.push(rule(
        "quality",
        q_status,
        format!("{} [{}; {}]", q_detail, ev.metric, ev.quality_method),
    ));
    // Cost.
    let c_ok = ev.cost_ratio <= spec.max_cost_ratio;
    rules.push(rule(
        "cost",
        if c_ok {
            RuleStatus::Pass
        } else {
            RuleStatus::Fail
        },
        format!(
            "cost ratio {:.3} {} {}{}",
            ev.cost_ratio,
            if c_ok { "<=" } else { ">" },
            spec.max_cost_ratio,
            ev.cost_ratio_interval
                .map(|(l, h)| format!(" ({pct}% interval {l:.3}-{h:.3})"))
                .unwrap_or_default()
        ),
    ));
    // Errors.
    let e_ok = ev.error_rate_increase <= spec.max_error_rate_increase;
    rules.push(rule(
        "error_rate",
        if e_ok { RuleStatus::Pass } else { RuleStatus::Fail },
        format!(
            "error rate {:.2}% vs baseline {:.2}% (+{:.2} pp {} {:.2} pp allowed; candidate {pct}% upper bound {:.2}%)",
            ev.error_rates.0 * 100.0,
            ev.error_rates.1 * 100.0,
            ev.error_rate_increase * 100.0,
            if e_ok { "<=" } else { ">" },
            spec.max_error_rate_increase * 100.0,
            ev.error_rates.2 * 100.0
        ),
    ));
    // Latency.
    let l_ok = ev.p99_latency_increase_ms <= spec.max_p99_latency_increase_ms;
    rules.push(rule(
        "p99_latency",
        if l_ok {
            RuleStatus::Pass
        } else {
            RuleStatus::Fail
        },
        format!(
            "p99 latency {:+.0} ms vs baseline ({} {} ms allowed)",
            ev.p99_latency_increase_ms,
            if l_ok { "<=" } else { ">" },
            spec.max_p99_latency_increase_ms
        ),
    ));
    if let Some(min) = spec.min_format_validity {
        let ok = ev.format_validity >= min;
        rules.push(rule(
            "format_validity",
            if ok {
                RuleStatus::Pass
            } else {
                RuleStatus::Fail
            },
            format!(
                "format validity {:.1}% {} {:.1}%",
                ev.format_validity * 100.0,
                if ok { ">=" } else { "<" },
                min * 100.0
            ),
        ));
    }
    if ev.baseline_failed_items > 0 {
        rules.push(rule(
            "baseline_errors",
            RuleStatus::Pass,
            format!(
                "note: the baseline failed on {} item(s); they score 0 for the baseline, which favours the candidate on those items",
                ev.baseline_failed_items
            ),
        ));
    }
    let verdict = if rules.iter().any(|r| r.status == RuleStatus::Fail) {
        Verdict::Fail
    } else if rules.iter().any(|r| r.status == RuleStatus::Inconclusive) {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    };
    let reasons: Vec<String> = if verdict == Verdict::Pass {
        rules.iter().map(|r| r.detail.clone()).collect()
    } else {
        rules
            .iter()
            .filter(|r| r.status != RuleStatus::Pass)
            .map(|r| r.detail.clone())
            .collect()
    };
    GateResult {
        verdict,
        gated,
        quality_ratio: ev.quality_ratio,
        quality_ratio_lower: ev.quality_ratio_lower,
        quality_ratio_upper: ev.quality_ratio_upper,
        cost_ratio: ev.cost_ratio,
        error_rate_increase: ev.error_rate_increase,
        p99_latency_increase_ms: ev.p99_latency_increase_ms,
        rules,
        reasons,
        items_needed: if verdict == Verdict::Inconclusive {
            ev.items_needed
        } else {
            None
        },
        evidence: ev.clone(),
    }
}

fn rule(name: &str, status: RuleStatus, detail: String) -> Rule {
    Rule {
        name: name.into(),
        passed: status == RuleStatus::Pass,
        status,
        detail,
    }
}

/// The process exit code implied by the gated candidates' verdicts.
pub fn exit_code(spec: &GateSpec, results: &[&GateResult]) -> i32 {
    let mut code = crate::error::exit::OK;
    for g in results.iter().filter(|g| g.gated) {
        match g.verdict {
            Verdict::Fail => code = crate::error::exit::GATE_FAILED,
            Verdict::Inconclusive if spec.on_inconclusive == OnInconclusive::Fail => {
                code = crate::error::exit::GATE_FAILED
            }
            _ => {}
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> Evidence {
        Evidence {
            metric: "accuracy".into(),
            quality_ratio: 0.957,
            quality_ratio_lower: Some(0.903),
            quality_ratio_upper: Some(1.01),
            quality_confident: None,
            quality_method: "paired t on D=x-θy".into(),
            items_needed: Some(900),
            cost_ratio: 0.31,
            cost_ratio_interval: Some((0.30, 0.32)),
            error_rate_increase: 0.0,
            error_rates: (0.0, 0.0, 0.018),
            p99_latency_increase_ms: -20.0,
            format_validity: 1.0,
            confidence: 0.95,
            n_items: 200,
            bootstrap_ratio_interval: None,
            mcnemar: None,
            baseline_failed_items: 0,
        }
    }

    #[test]
    fn inconclusive_says_why_and_how_many_items() {
        let g = decide(&GateSpec::default(), &ev(), true);
        assert_eq!(g.verdict, Verdict::Inconclusive);
        assert!(
            g.reasons[0]
                .contains("quality ratio 0.957, 95% lower bound 0.903 < 0.95: not enough evidence"),
            "{:?}",
            g.reasons
        );
        assert!(g.reasons[0].contains("900 items"));
        assert_eq!(g.items_needed, Some(900));
        assert_eq!(exit_code(&GateSpec::default(), &[&g]), 1);
        let warn = GateSpec {
            on_inconclusive: OnInconclusive::Warn,
            ..GateSpec::default()
        };
        assert_eq!(exit_code(&warn, &[&g]), 0);
    }

    #[test]
    fn too_few_items_is_never_a_confident_pass() {
        let mut e = ev();
        e.quality_confident = Some(true);
        e.n_items = 5;
        let g = decide(&GateSpec::default(), &e, true);
        assert_eq!(g.verdict, Verdict::Inconclusive);
        assert!(g.reasons[0].contains("only 5 items"), "{:?}", g.reasons);
        let point = GateSpec {
            decision: Decision::Point,
            ..GateSpec::default()
        };
        assert_eq!(decide(&point, &e, true).verdict, Verdict::Pass);
    }

    #[test]
    fn point_decision_is_the_plain_rule() {
        let spec = GateSpec {
            decision: Decision::Point,
            ..GateSpec::default()
        };
        assert_eq!(decide(&spec, &ev(), true).verdict, Verdict::Pass);
        let mut e = ev();
        e.cost_ratio = 0.41;
        let g = decide(&spec, &e, true);
        assert_eq!(g.verdict, Verdict::Fail);
        assert!(g
            .reasons
            .iter()
            .any(|r| r.contains("cost ratio 0.410 > 0.4")));
    }

    #[test]
    fn any_failed_rule_fails_and_ungated_never_affects_exit() {
        let mut e = ev();
        e.quality_confident = Some(true);
        e.error_rate_increase = 0.02;
        let g = decide(&GateSpec::default(), &e, false);
        assert_eq!(g.verdict, Verdict::Fail);
        assert_eq!(exit_code(&GateSpec::default(), &[&g]), 0);
    }
}
