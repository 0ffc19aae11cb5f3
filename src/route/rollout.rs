//! The rollout checklist (`rollout.md`, also printed): the migration guide's staged rollout per routed feature, with
//! the rollback thresholds of the suite's gate and how much traffic each stage needs before it can be judged.
//!
//! Why the sample sizes: the gate's guard rules could not settle "+0.5 pp errors" or "+200 ms p99" on a hundred
//! items (docs/gate.md); production traffic can, but only after enough requests. The counts come from the same
//! functions the gate uses (`stats::error_rate_items_needed`, `stats::min_items_for_quantile_bound`).

use super::plan::{FeatureRoute, Routes};
use crate::stats;
use std::fmt::Write as _;

/// The guide's rollout stages: share of the feature's traffic on the new route, percent.
pub const STAGES: [u32; 5] = [1, 5, 20, 50, 100];

/// Requests a stage needs before its error-rate and p99 rules can be judged, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageSample {
    /// Candidate requests to show the error-rate increase is within the allowance (80% power).
    pub for_error_rate: Option<u64>,
    /// Latencies needed for a distribution-free upper bound of the p99.
    pub for_p99: Option<u64>,
}

impl StageSample {
    /// The larger of the two (what a stage must hold for).
    pub fn hold(&self) -> Option<u64> {
        match (self.for_error_rate, self.for_p99) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The sample a stage of `f` needs, at the gate's confidence.
pub fn stage_sample(f: &FeatureRoute) -> StageSample {
    let alpha = 1.0 - f.rollback.confidence;
    let rate = |r: Option<f64>| r.filter(|x| x.is_finite()).unwrap_or(0.0);
    let cand = f.chain.first().map_or(0.0, |h| rate(h.error_rate));
    let p_base = rate(f.rollback.baseline_error_rate).max(cand);
    StageSample {
        for_error_rate: stats::error_rate_items_needed(
            p_base,
            f.rollback.max_error_rate_increase,
            alpha,
            0.8,
        ),
        for_p99: stats::min_items_for_quantile_bound(0.99, alpha),
    }
}

fn duration(minutes: f64) -> String {
    if minutes < 1.0 {
        "under a minute".into()
    } else if minutes < 90.0 {
        format!("about {} min", minutes.ceil())
    } else if minutes < 48.0 * 60.0 {
        format!("about {:.1} h", minutes / 60.0)
    } else {
        format!("about {:.1} days", minutes / 1440.0)
    }
}

/// A difference of rates, in percentage points.
fn pp(x: f64) -> String {
    format!("{:.2} pp", x * 100.0)
}

/// A rate, in percent ("-" when undefined).
fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.2}%", x * 100.0))
}

/// The whole checklist as Markdown.
pub fn render(routes: &Routes) -> String {
    let mut s = String::new();
    let stages: Vec<String> = STAGES.iter().map(|p| format!("{p}%")).collect();
    let _ = writeln!(s, "# Rollout checklist\n");
    let _ = writeln!(
        s,
        "Written by evalh {} (`evalh route`). The migration guide's stages move {} of a feature's traffic to its \
         new route. Optionally mirror traffic to the candidate in shadow first (answers discarded) to check error \
         rate and latency at no risk. At every stage, compare the candidate with the baseline **over the same \
         window** and roll back as soon as a threshold is crossed; advance only after the stage has held for the \
         traffic it needs.\n",
        routes.evalh_version,
        stages.join(" → ")
    );
    for f in &routes.features {
        feature_section(&mut s, f);
    }
    s
}

fn feature_section(s: &mut String, f: &FeatureRoute) {
    let primary = &f.chain[0];
    let base = &f.chain[f.chain.len() - 1];
    if f.chain.len() == 1 {
        let _ = writeln!(
            s,
            "## {}: stays on {} — nothing to roll out\n",
            f.feature, base.provider
        );
        let _ = writeln!(s, "{}.\n", upper_first(&f.note));
        for e in &f.excluded {
            let _ = writeln!(s, "- {} {}: {}", e.provider, e.verdict, e.reason);
        }
        if !f.excluded.is_empty() {
            s.push('\n');
        }
        return;
    }
    let _ = writeln!(
        s,
        "## {}: {} replaces {}\n",
        f.feature, primary.provider, base.provider
    );
    let chain: Vec<String> = f
        .chain
        .iter()
        .map(|h| format!("{} (`{}`)", h.provider, h.litellm_group))
        .collect();
    let _ = writeln!(
        s,
        "- Evidence: suite `{}` ({} items, run `{}`): {}.",
        f.suite, f.n_items, f.run_dir, f.note
    );
    let _ = writeln!(s, "- Route at 100%: {}.", chain.join(" → "));
    for e in &f.excluded {
        let _ = writeln!(
            s,
            "- Never routed: {} {} — {}.",
            e.provider, e.verdict, e.reason
        );
    }
    let rb = &f.rollback;
    let _ = writeln!(
        s,
        "- **Roll back** when, over a stage, {p}'s error rate exceeds {b}'s by more than **{e}**, or its p99 exceeds \
         {b}'s by more than **{l} ms** (the suite's gate: `max_error_rate_increase`, `max_p99_latency_increase_ms`). \
         The evaluation measured {b} at {be} errors and p99 {bp} ms; {p} at {pe} and {pp99} ms.",
        p = primary.provider,
        b = base.provider,
        e = pp(rb.max_error_rate_increase),
        l = rb.max_p99_latency_increase_ms,
        be = pct(rb.baseline_error_rate),
        bp = crate::report::opt(rb.baseline_p99_ms, 0),
        pe = pct(primary.error_rate),
        pp99 = crate::report::opt(primary.p99_ms, 0),
    );
    let sample = stage_sample(f);
    let need = sample.hold();
    let _ = writeln!(
        s,
        "- Traffic a stage needs: {} candidate requests settle the +{} error rule (80% power, {:.0}% confidence); {} \
         latencies bound a p99. Hold each stage for **{} requests on {}** (the baseline serves more).",
        sample.for_error_rate.map_or("too many".into(), |n| n.to_string()),
        pp(rb.max_error_rate_increase),
        rb.confidence * 100.0,
        sample.for_p99.map_or("-".into(), |n| n.to_string()),
        need.map_or("-".into(), |n| n.to_string()),
        primary.provider
    );
    let rpm = f.requests_per_minute;
    let assumed = if f.requests_per_minute_assumed {
        ", assumed: give requests_per_minute in --features"
    } else {
        ""
    };
    let _ = writeln!(
        s,
        "- Each stage: `evalh route <runs> --stage N` writes the config for it (group `{g}` holds `{p}` with \
         `weight: N` and a copy of `{b}` with `weight: 100-N`; LiteLLM's simple-shuffle picks in proportion to the \
         weights), then reload the proxy. To roll back, delete `{p}`'s deployment from group `{g}` (the copy of `{b}` then \
         takes all of it; at 100% write `--stage 50` first) and reload.",
        g = primary.litellm_group,
        p = primary.provider,
        b = base.provider,
    );
    let _ = writeln!(
        s,
        "- Circuit breaker: {} is skipped for {} s after more than N failures within {} s of its first, N = 2% of its \
         five-minute volume at the stage ({} requests/min for the feature{}).\n",
        primary.provider, f.circuit_breaker.window_s, f.circuit_breaker.window_s, rpm, assumed
    );
    for (i, pct) in STAGES.iter().enumerate() {
        let share = f64::from(*pct) / 100.0;
        let breaker = super::plan::Breaker::for_rpm(rpm * share);
        let hold = match need {
            Some(n) => format!(
                "hold for ≥ {n} requests on {} ({} at {} requests/min{})",
                primary.provider,
                duration(n as f64 / (share * rpm)),
                rpm,
                if f.requests_per_minute_assumed {
                    ", assumed"
                } else {
                    ""
                }
            ),
            None => "hold until the error rule can be judged".into(),
        };
        let compare = if *pct == 100 {
            format!(
                "; with no baseline traffic left, compare with {}'s figures from stage {}",
                base.provider, i
            )
        } else {
            String::new()
        };
        let split = if *pct == 100 {
            "the full route".to_string()
        } else {
            format!(
                "{} {pct} : {} {}",
                primary.provider,
                base.provider,
                100 - pct
            )
        };
        let _ = writeln!(
            s,
            "- [ ] **Stage {} — {pct}%** (`--stage {pct}`: {split}; breaker after {} failures): {hold}{compare}.",
            i + 1,
            breaker.allowed_fails + 1,
        );
    }
    s.push('\n');
}

fn upper_first(x: &str) -> String {
    let mut c = x.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::plan::{Breaker, Hop, Rollback};
    use crate::suite::Role;

    fn hop(id: &str, role: Role, group: &str) -> Hop {
        Hop {
            provider: id.into(),
            role,
            kind: "sim".into(),
            model: id.into(),
            verdict: (role == Role::Candidate).then(|| "PASS".into()),
            cost_usd_per_1k_items: Some(1.0),
            p99_ms: Some(900.0),
            error_rate: Some(0.0),
            litellm_group: group.into(),
            litellm_id: format!("f.{id}"),
        }
    }

    fn feature(chain: Vec<Hop>) -> FeatureRoute {
        FeatureRoute {
            feature: "f".into(),
            suite: "s".into(),
            run_dir: "reports/s".into(),
            task: "classification".into(),
            n_items: 110,
            latency_sensitive: false,
            run_complete: true,
            chosen_by: "cheapest_pass".into(),
            note: "cand is the cheapest of the 1 passing candidate(s)".into(),
            cheapest_pass: Some("cand".into()),
            lowest_p99_pass: Some("cand".into()),
            chain,
            excluded: vec![],
            rollback: Rollback {
                max_error_rate_increase: 0.005,
                max_p99_latency_increase_ms: 200.0,
                confidence: 0.95,
                baseline_error_rate: Some(0.0),
                baseline_p99_ms: Some(1853.0),
            },
            requests_per_minute: 600.0,
            requests_per_minute_assumed: false,
            circuit_breaker: Breaker::for_rpm(600.0),
        }
    }

    #[test]
    fn stages_carry_the_gate_thresholds_and_the_traffic_they_need() {
        let f = feature(vec![
            hop("cand", Role::Candidate, "f"),
            hop("base", Role::Baseline, "f-fallback-1"),
        ]);
        // At 0% errors, +0.5 pp needs 539 requests (the gate's own figure); a p99 bound needs 299 latencies.
        assert_eq!(
            stage_sample(&f),
            StageSample {
                for_error_rate: Some(539),
                for_p99: Some(299)
            }
        );
        let md = render(&Routes {
            evalh_version: "x".into(),
            stage_percent: 100,
            features: vec![f],
        });
        for want in [
            "## f: cand replaces base",
            "more than **0.50 pp**",
            "more than **200 ms**",
            "**Stage 1 — 1%**",
            "(`--stage 1`: cand 1 : base 99; breaker after 2 failures)",
            "**Stage 5 — 100%**",
            "compare with base's figures from stage 4",
            "(`--stage 100`: the full route; breaker after 61 failures)",
            // 539 requests at 1% of 600/min = 6/min -> 89.8 min.
            "≥ 539 requests on cand (about 90 min at 600 requests/min)",
        ] {
            assert!(md.contains(want), "missing {want:?} in\n{md}");
        }
        assert_eq!(md.matches("- [ ] **Stage").count(), 5);
    }

    #[test]
    fn baseline_only_feature_has_nothing_to_roll_out() {
        let mut f = feature(vec![hop("base", Role::Baseline, "f")]);
        f.note = "no candidate passed the gate; the baseline base keeps the traffic".into();
        let md = render(&Routes {
            evalh_version: "x".into(),
            stage_percent: 100,
            features: vec![f],
        });
        assert!(
            md.contains("## f: stays on base — nothing to roll out"),
            "{md}"
        );
        assert!(!md.contains("Stage 1"), "{md}");
    }
}
