//! JUnit XML for CI systems: one test suite per candidate, one test case per gate rule, so a blocked promotion shows
//! up in the CI's test view with the rule that blocked it.

use crate::error::{Error, Result};
use crate::gate::RuleStatus;
use crate::summary::Results;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::Path;

/// Render the XML.
pub(super) fn render(r: &Results) -> Result<String> {
    let mut report = Report::new(format!("evalh {}", r.suite));
    // The run itself: an incomplete run fails here even when no candidate is gated.
    let mut run = TestSuite::new(format!("{}.run", r.suite));
    let status = if r.complete {
        TestCaseStatus::success()
    } else {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let reasons: Vec<String> = r
            .unsettled_by_reason
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        s.set_message(format!(
            "incomplete run: {} request(s) unsettled ({}); no verdicts; resume with evalh run --resume RUN_DIR",
            r.unsettled_by_reason.values().sum::<usize>(),
            reasons.join(", ")
        ));
        s.set_type("incomplete");
        s
    };
    let mut tc = TestCase::new("run complete", status);
    tc.set_classname(format!("evalh.{}", r.suite));
    run.add_test_case(tc);
    let agreement = crate::summary::agreement_lines(r);
    if !agreement.is_empty() {
        // Agreement scoring: say so where a CI reader looks, as a passing case carrying the explanation.
        let mut tc = TestCase::new(
            "quality measures agreement with the reference, not correctness",
            TestCaseStatus::success(),
        );
        tc.set_classname(format!("evalh.{}", r.suite));
        tc.set_system_out(agreement.join("\n"));
        run.add_test_case(tc);
    }
    report.add_test_suite(run);
    for p in &r.providers {
        let Some(g) = &p.gate else { continue };
        let mut ts = TestSuite::new(format!("{}.{}", r.suite, p.id));
        for rule in &g.rules {
            let status = match (rule.status, g.gated) {
                (RuleStatus::Pass, _) => TestCaseStatus::success(),
                (_, false) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(format!("not gated: {}", rule.detail));
                    s
                }
                (RuleStatus::Fail, true) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(rule.detail.clone());
                    s.set_type("gate_failed");
                    s
                }
                (RuleStatus::Inconclusive, true) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(rule.detail.clone());
                    s.set_type("inconclusive");
                    s
                }
                (RuleStatus::NotMeasured, true) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(rule.detail.clone());
                    s.set_type(if rule.name == "evidence" {
                        "incomplete"
                    } else {
                        "not_measured"
                    });
                    s
                }
            };
            let mut tc = TestCase::new(format!("{} {}", p.id, rule.name), status);
            tc.set_classname(format!("evalh.{}.{}", r.suite, p.id));
            ts.add_test_case(tc);
        }
        report.add_test_suite(ts);
    }
    report
        .to_string()
        .map_err(|e| Error::Internal(format!("rendering JUnit XML: {e}")))
}

/// Write the XML to `path`.
pub fn write(path: &Path, r: &Results) -> Result<()> {
    super::write_atomic(path, render(r)?.as_bytes())
}
