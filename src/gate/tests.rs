use super::*;
use crate::suite::GuardsSpec;

/// Evidence of a clean, complete comparison that passes every rule; tests change one part.
fn ev() -> Evidence {
    Evidence {
        metric: "accuracy".into(),
        confidence: 0.95,
        n_items: 200,
        n_paired: 200,
        quality: QualityEvidence {
            ratio: Some(0.99),
            lower: Some(0.96),
            upper: Some(1.02),
            confident: Some(true),
            method: "paired t".into(),
            items_needed: Some(900),
            bootstrap_interval: None,
            mcnemar: None,
        },
        cost: CostEvidence {
            ratio: Some(0.31),
            lower: Some(0.30),
            upper: Some(0.32),
        },
        errors: ErrorEvidence {
            cand_errors: 0,
            cand_n: 200,
            base_errors: 0,
            base_n: 200,
            increase: Some(0.0),
            lower: Some(-0.018),
            upper: Some(0.018),
            items_needed: Some(539),
        },
        latency: LatencyEvidence {
            quantile: 0.99,
            cand: Some(900.0),
            base: Some(1000.0),
            cand_n: 200,
            base_n: 200,
            from_cache: 0,
            batch: 0,
            increase: Some(-100.0),
            lower: None,
            upper: None,
            min_n: 368,
            boundable: Some(0.95),
        },
        format_valid: (200, 200),
        format_validity_bounds: Some((0.98, 1.0)),
        completeness: Completeness::default(),
        human: None,
    }
}

fn status(g: &GateResult, name: &str) -> RuleStatus {
    g.rules.iter().find(|r| r.name == name).unwrap().status
}

#[test]
fn clean_evidence_passes_and_every_rule_says_how_it_was_judged() {
    let g = decide(&GateSpec::default(), &ev(), true);
    assert_eq!(g.verdict, Verdict::Pass, "{:?}", g.reasons);
    assert_eq!(exit_code(&GateSpec::default(), &[&g]), 0);
    let judged: Vec<(&str, &str)> = g
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.judged))
        .collect();
    assert!(judged.contains(&("quality", "confident")));
    assert!(judged.contains(&("error_rate", "harm")));
    assert!(judged.contains(&("p99_latency", "harm")));
    // The p99 of 200 values cannot be bounded; harm mode passes but says so.
    let lat = g.rules.iter().find(|r| r.name == "p99_latency").unwrap();
    assert!(lat.detail.contains("cannot bound p99"), "{}", lat.detail);
    assert!(lat.detail.contains("can bound p95"), "{}", lat.detail);
}

#[test]
fn incomplete_evidence_is_never_a_verdict() {
    let mut e = ev();
    e.completeness.base_unsettled = 3;
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(g.verdict, Verdict::Incomplete);
    assert_eq!(exit_code(&GateSpec::default(), &[&g]), 3);
    assert!(g.reasons[0].contains("incomplete run"), "{:?}", g.reasons);
    let point = GateSpec {
        decision: Decision::Point,
        ..GateSpec::default()
    };
    assert_eq!(decide(&point, &e, true).verdict, Verdict::Incomplete);
}

#[test]
fn no_paired_items_is_not_measured_and_never_pass_even_with_point_decisions() {
    for decision in [Decision::Confident, Decision::Point] {
        let spec = GateSpec {
            decision,
            ..GateSpec::default()
        };
        let mut e = ev();
        e.n_paired = 0;
        e.quality = QualityEvidence::default();
        e.cost = CostEvidence::default();
        let g = decide(&spec, &e, true);
        assert_eq!(status(&g, "quality"), RuleStatus::NotMeasured);
        assert_eq!(status(&g, "cost"), RuleStatus::NotMeasured);
        assert_eq!(g.verdict, Verdict::Inconclusive, "{decision:?}");
        assert_eq!(g.quality_ratio, None);
        assert_eq!(g.cost_ratio, None);
    }
}

#[test]
fn undefined_ratios_are_null_not_one_or_zero() {
    let mut e = ev();
    e.quality.ratio = None;
    e.cost.ratio = None;
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(g.verdict, Verdict::Inconclusive);
    let json = serde_json::to_string(&g).unwrap();
    assert!(json.contains("\"quality_ratio\":null"), "{json}");
    assert!(json.contains("\"cost_ratio\":null"), "{json}");
    assert!(!json.contains("inf") && !json.contains("NaN"));
}

#[test]
fn too_few_paired_items_is_inconclusive_for_both_decisions() {
    for decision in [Decision::Confident, Decision::Point] {
        let mut e = ev();
        e.n_paired = 5;
        let spec = GateSpec {
            decision,
            ..GateSpec::default()
        };
        let g = decide(&spec, &e, true);
        assert_eq!(g.verdict, Verdict::Inconclusive, "{decision:?}");
        assert!(
            g.reasons[0].contains("only 5 paired items"),
            "{:?}",
            g.reasons
        );
    }
}

#[test]
fn a_failing_baseline_blocks_every_pass() {
    let mut e = ev();
    e.errors.base_errors = 20; // 10% > 5%
    e.errors.cand_errors = 20;
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(g.verdict, Verdict::Inconclusive);
    assert!(
        g.reasons
            .iter()
            .any(|r| r.contains("comparison is not valid")),
        "{:?}",
        g.reasons
    );
}

#[test]
fn inconclusive_quality_says_why_and_how_many_items() {
    let mut e = ev();
    e.quality.confident = None;
    e.quality.lower = Some(0.903);
    e.quality.ratio = Some(0.957);
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(g.verdict, Verdict::Inconclusive);
    assert!(
        g.reasons[0]
            .contains("quality ratio 0.957, 95% lower bound 0.903 < 0.95: not enough evidence"),
        "{:?}",
        g.reasons
    );
    assert_eq!(g.items_needed, Some(900));
    assert_eq!(exit_code(&GateSpec::default(), &[&g]), 1);
    let warn = GateSpec {
        on_inconclusive: OnInconclusive::Warn,
        ..GateSpec::default()
    };
    assert_eq!(exit_code(&warn, &[&g]), 0);
}

#[test]
fn cost_is_judged_on_its_interval() {
    let mut e = ev();
    e.cost = CostEvidence {
        ratio: Some(0.417),
        lower: Some(0.41),
        upper: Some(0.42),
    };
    assert_eq!(
        decide(&GateSpec::default(), &e, true).verdict,
        Verdict::Fail
    );
    e.cost = CostEvidence {
        ratio: Some(0.399),
        lower: Some(0.39),
        upper: Some(0.41),
    };
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(status(&g, "cost"), RuleStatus::Inconclusive);
}

#[test]
fn error_rate_fails_only_on_evidence_of_harm_and_non_inferiority_wants_proof() {
    let mut e = ev();
    e.errors = ErrorEvidence {
        cand_errors: 4,
        cand_n: 110,
        base_errors: 2,
        base_n: 110,
        increase: Some(2.0 / 110.0),
        lower: Some(-0.02),
        upper: Some(0.06),
        items_needed: Some(9695),
    };
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(status(&g, "error_rate"), RuleStatus::Pass);
    let d = &g
        .rules
        .iter()
        .find(|r| r.name == "error_rate")
        .unwrap()
        .detail;
    assert!(d.contains("no evidence of harm"), "{d}");
    assert!(d.contains("rule out an increase above +6.00 pp"), "{d}");
    assert!(d.contains("9695 items"), "{d}");
    let ni = GateSpec {
        guards: GuardsSpec {
            mode: GuardMode::NonInferiority,
        },
        ..GateSpec::default()
    };
    let g = decide(&ni, &e, true);
    assert_eq!(status(&g, "error_rate"), RuleStatus::Inconclusive);
    assert_eq!(g.verdict, Verdict::Inconclusive);
    e.errors.lower = Some(0.01);
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(status(&g, "error_rate"), RuleStatus::Fail);
    assert_eq!(g.verdict, Verdict::Fail);
}

#[test]
fn latency_without_data_is_not_measured() {
    let mut e = ev();
    e.latency.cand = None;
    e.latency.increase = None;
    e.latency.cand_n = 0;
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(status(&g, "p99_latency"), RuleStatus::NotMeasured);
    assert_eq!(g.verdict, Verdict::Inconclusive);
}

#[test]
fn latency_judged_on_some_answers_says_which_were_left_out() {
    let mut e = ev();
    e.latency.from_cache = 3;
    e.latency.batch = 40;
    let g = decide(&GateSpec::default(), &e, true);
    let r = g.rules.iter().find(|r| r.name == "p99_latency").unwrap();
    assert!(
        r.detail
            .contains("3 from the cache's stored latencies, 40 batch answers left out"),
        "{}",
        r.detail
    );
}

#[test]
fn latency_fails_when_its_lower_bound_exceeds_the_allowance() {
    let mut e = ev();
    e.latency.lower = Some(450.0);
    e.latency.upper = Some(2500.0);
    e.latency.increase = Some(1600.0);
    let g = decide(&GateSpec::default(), &e, true);
    assert_eq!(status(&g, "p99_latency"), RuleStatus::Fail);
    // An upper bound under the allowance shows the increase is within it only when the sample can bound a p99.
    e.latency.lower = Some(-900.0);
    e.latency.upper = Some(150.0);
    let ni = GateSpec {
        guards: GuardsSpec {
            mode: GuardMode::NonInferiority,
        },
        ..GateSpec::default()
    };
    let g = decide(&ni, &e, true);
    assert_eq!(status(&g, "p99_latency"), RuleStatus::Inconclusive);
    e.latency.cand_n = 400;
    e.latency.base_n = 400;
    e.latency.min_n = 299;
    let g = decide(&ni, &e, true);
    assert_eq!(status(&g, "p99_latency"), RuleStatus::Pass);
    assert!(g
        .rules
        .iter()
        .any(|r| r.detail.contains("shown within +200 ms")));
}

#[test]
fn ungated_never_affects_exit() {
    let mut e = ev();
    e.quality.confident = Some(false);
    let g = decide(&GateSpec::default(), &e, false);
    assert_eq!(g.verdict, Verdict::Fail);
    assert_eq!(exit_code(&GateSpec::default(), &[&g]), 0);
}

#[test]
fn the_human_rule_is_judged_on_its_wilson_interval_and_never_passes_without_decisions() {
    use crate::suite::HumanGateSpec;
    let spec = GateSpec {
        human: Some(HumanGateSpec {
            min_acceptable_rate: 0.9,
        }),
        ..GateSpec::default()
    };
    // No decisions: not measured, so the verdict cannot be PASS even with every other rule passing.
    for decision in [Decision::Confident, Decision::Point] {
        let s = GateSpec {
            decision,
            ..spec.clone()
        };
        let g = decide(&s, &ev(), true);
        assert_eq!(status(&g, "human"), RuleStatus::NotMeasured);
        assert_eq!(g.verdict, Verdict::Inconclusive, "{decision:?}");
    }
    let human = |k: u64, n: u64| {
        let iv = crate::stats::wilson(k, n, 0.95, true);
        HumanEvidence {
            acceptable: k,
            n,
            lower: Some(iv.lower),
            upper: Some(iv.upper),
            reviews_needed: crate::review::reviews_needed(k, n, 0.9, 0.95),
        }
    };
    let mut e = ev();
    // 60/60: Wilson lower bound 0.940 >= 0.9.
    e.human = Some(human(60, 60));
    let g = decide(&spec, &e, true);
    assert_eq!(status(&g, "human"), RuleStatus::Pass);
    assert_eq!(g.verdict, Verdict::Pass);
    // 40/60 = 0.667: upper bound 0.773 < 0.9.
    e.human = Some(human(40, 60));
    let g = decide(&spec, &e, true);
    assert_eq!(status(&g, "human"), RuleStatus::Fail);
    assert_eq!(g.verdict, Verdict::Fail);
    // 57/60 = 0.95 but lower bound 0.863 < 0.9 <= upper: inconclusive, with the reviews that would settle it.
    e.human = Some(human(57, 60));
    let g = decide(&spec, &e, true);
    let r = g.rules.iter().find(|r| r.name == "human").unwrap();
    assert_eq!(r.status, RuleStatus::Inconclusive);
    assert!(
        r.detail.contains("decisions in all would settle it"),
        "{}",
        r.detail
    );
    assert_eq!(g.verdict, Verdict::Inconclusive);
    // Without gate.human there is no rule, decisions or not.
    let g = decide(&GateSpec::default(), &e, true);
    assert!(g.rules.iter().all(|r| r.name != "human"));
}

#[test]
fn require_any_exits_0_when_one_gated_candidate_passes_and_all_needs_every_one() {
    let pass = decide(&GateSpec::default(), &ev(), true);
    let mut e = ev();
    e.quality.confident = Some(false);
    let fail = decide(&GateSpec::default(), &e, true);
    let any = GateSpec {
        require: Require::Any,
        ..GateSpec::default()
    };
    assert_eq!(exit_code(&GateSpec::default(), &[&pass, &fail]), 1);
    assert_eq!(exit_code(&any, &[&pass, &fail]), 0);
    assert_eq!(exit_code(&any, &[&fail, &fail]), 1);
    // An ungated PASS does not count for `any` either.
    let ungated_pass = decide(&GateSpec::default(), &ev(), false);
    assert_eq!(exit_code(&any, &[&ungated_pass, &fail]), 1);
    // INCONCLUSIVE counts as acceptable only when on_inconclusive says so.
    let mut e = ev();
    e.quality.confident = None;
    let inc = decide(&GateSpec::default(), &e, true);
    assert_eq!(exit_code(&any, &[&inc, &fail]), 1);
    let any_warn = GateSpec {
        on_inconclusive: OnInconclusive::Warn,
        ..any.clone()
    };
    assert_eq!(exit_code(&any_warn, &[&inc, &fail]), 0);
    // Nothing gated: `all` holds vacuously, `any` has no candidate that passes.
    assert_eq!(exit_code(&GateSpec::default(), &[]), 0);
    assert_eq!(exit_code(&any, &[]), 1);
    // An incomplete comparison exits 3 whatever `require` says.
    let mut e = ev();
    e.completeness.cand_unsettled = 2;
    let incomplete = decide(&GateSpec::default(), &e, true);
    assert_eq!(exit_code(&any, &[&pass, &incomplete]), 3);
}

#[test]
fn signed_never_prints_plus_minus_or_negative_zero() {
    assert_eq!(signed(-19.09, 2), "-19.09");
    assert_eq!(signed(2.4, 2), "+2.40");
    assert_eq!(signed(-0.0001, 2), "+0.00");
    assert_eq!(signed(-0.0, 0), "+0");
    assert_eq!(signed(-0.4, 0), "+0");
    assert_eq!(signed(-822.0, 0), "-822");
}

/// Every rule of every outcome has a short form that fits a terminal line (the rule's mark and indent included),
/// and no text prints a sign twice.
#[test]
fn every_rule_has_a_short_form_and_no_doubled_sign() {
    let mut cases = vec![ev()];
    let mut e = ev();
    e.errors.increase = Some(-0.1909);
    e.errors.lower = Some(-0.25);
    e.errors.upper = Some(-0.13);
    e.latency.increase = Some(-1363.0);
    e.latency.lower = Some(-1458.0);
    e.latency.upper = Some(-1245.0);
    e.latency.cand_n = 400;
    e.latency.base_n = 400;
    cases.push(e);
    let mut e = ev();
    e.quality.confident = None;
    e.cost = CostEvidence {
        ratio: Some(0.399),
        lower: Some(0.39),
        upper: Some(0.41),
    };
    e.errors.lower = Some(0.01);
    e.latency.lower = Some(450.0);
    e.latency.increase = Some(1600.0);
    e.errors.base_errors = 30;
    cases.push(e);
    let mut e = ev();
    e.n_paired = 0;
    e.latency.cand = None;
    e.errors.cand_n = 0;
    e.completeness.cand_unsettled = 3;
    cases.push(e);
    let specs = [
        GateSpec::default(),
        GateSpec {
            decision: Decision::Point,
            min_format_validity: Some(0.99),
            ..GateSpec::default()
        },
        GateSpec {
            guards: GuardsSpec {
                mode: GuardMode::NonInferiority,
            },
            min_format_validity: Some(0.5),
            ..GateSpec::default()
        },
    ];
    for spec in &specs {
        for e in &cases {
            for r in decide(spec, e, true).rules {
                assert!(!r.summary.is_empty(), "{r:?}");
                // Every entry is a rule that can decide the verdict; nothing is a note dressed as a passed rule.
                assert!(
                    [
                        "evidence",
                        "baseline",
                        "quality",
                        "cost",
                        "error_rate",
                        "p99_latency",
                        "format_validity"
                    ]
                    .contains(&r.name.as_str()),
                    "{}",
                    r.name
                );
                assert!(r.summary.chars().count() <= 90, "{}", r.summary);
                for text in [&r.summary, &r.detail] {
                    assert!(
                        !text.contains("+-") && !text.contains("-0 ") && !text.contains("-0.00 "),
                        "{text}"
                    );
                }
            }
        }
    }
}
