//! The run's answer in one line: which candidate can replace the baseline and what it saves, or why none can yet.
//!
//! Why this module exists: a run judges every candidate rule by rule, but the question a team brings is "can one of
//! these replace our premium provider, and what would that save?". This reads the gate's verdicts as they are (it
//! changes no rule) and picks the cheapest candidate that PASSes, with its savings per 1,000 items and per month at
//! the suite's `gate.monthly_volume`; when none PASSes it names the nearest candidate and the rules in its way. Every
//! report shows this line first; results.json carries it as `recommendation`.

use super::ProviderResult;
use crate::gate::{RuleStatus, Verdict};
use crate::suite::ProviderRole;
use serde::Serialize;

/// What the recommendation says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    /// A candidate PASSed: the cheapest of those that did can replace the baseline.
    Replace,
    /// Candidates were judged and none PASSed.
    NoneYet,
    /// The run did not settle every request: no verdicts, so no recommendation.
    Incomplete,
    /// No candidate was compared with a baseline.
    NothingToCompare,
}

/// The run's recommendation (`recommendation` in results.json).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// Replace / none yet / incomplete / nothing to compare.
    pub kind: RecommendationKind,
    /// The baseline's id.
    pub baseline: Option<String>,
    /// The recommended candidate (`replace`) or the nearest one (`none_yet`).
    pub candidate: Option<String>,
    /// That candidate's verdict.
    pub verdict: Option<Verdict>,
    /// Its quality ratio (point estimate, gate metric).
    pub quality_ratio: Option<f64>,
    /// Its cost ratio on the paired items.
    pub cost_ratio: Option<f64>,
    /// Baseline cost per 1,000 items minus the candidate's, USD (`replace` only).
    pub saves_usd_per_1k_items: Option<f64>,
    /// Items a month, from `gate.monthly_volume`.
    pub monthly_volume: Option<u64>,
    /// Savings a month at that volume, USD (`replace` with a volume only).
    pub saves_usd_per_month: Option<f64>,
    /// Other candidates that PASSed (costlier than the recommended one).
    pub also_passing: Vec<String>,
    /// The nearest candidate's rules that did not pass, in short form (`none_yet` only).
    pub why: Vec<String>,
    /// The whole recommendation as one sentence.
    pub text: String,
}

/// Recommend from the providers' gate results (suite order) of a run that is `complete` or not.
pub fn recommend(
    providers: &[ProviderResult],
    complete: bool,
    monthly_volume: Option<u64>,
) -> Recommendation {
    let baseline = providers.iter().find(|p| p.role == ProviderRole::Baseline);
    let mut rec = Recommendation {
        kind: RecommendationKind::NothingToCompare,
        baseline: baseline.map(|b| b.id.clone()),
        candidate: None,
        verdict: None,
        quality_ratio: None,
        cost_ratio: None,
        saves_usd_per_1k_items: None,
        monthly_volume,
        saves_usd_per_month: None,
        also_passing: Vec::new(),
        why: Vec::new(),
        text: String::new(),
    };
    if !complete {
        rec.kind = RecommendationKind::Incomplete;
        rec.text = "incomplete run: no recommendation".into();
        return rec;
    }
    let judged: Vec<&ProviderResult> = providers.iter().filter(|p| p.gate.is_some()).collect();
    let Some(base) = baseline.filter(|_| !judged.is_empty()) else {
        rec.text = "no candidate was compared with a baseline: no recommendation".into();
        return rec;
    };
    let verdict = |p: &ProviderResult| p.gate.as_ref().map(|g| g.verdict);
    let mut passing: Vec<&ProviderResult> = judged
        .iter()
        .copied()
        .filter(|p| verdict(p) == Some(Verdict::Pass))
        .collect();
    // Cheapest first; ties keep suite order (the sort is stable).
    passing.sort_by(|a, b| a.cost_usd_per_1k_items.total_cmp(&b.cost_usd_per_1k_items));
    let chosen = passing.first().copied().or_else(|| nearest(&judged));
    let Some(c) = chosen else {
        return rec;
    };
    let g = c
        .gate
        .as_ref()
        .expect("judged candidates have a gate result");
    rec.candidate = Some(c.id.clone());
    rec.verdict = Some(g.verdict);
    rec.quality_ratio = g.quality_ratio;
    rec.cost_ratio = g.cost_ratio;
    if g.verdict == Verdict::Pass {
        rec.kind = RecommendationKind::Replace;
        rec.also_passing = passing[1..].iter().map(|p| p.id.clone()).collect();
        let saves = base.cost_usd_per_1k_items - c.cost_usd_per_1k_items;
        rec.saves_usd_per_1k_items = Some(saves);
        rec.saves_usd_per_month = monthly_volume.map(|v| saves * v as f64 / 1000.0);
        rec.text = replace_text(&rec, &base.id, &c.id);
    } else {
        rec.kind = RecommendationKind::NoneYet;
        rec.why = g
            .rules
            .iter()
            .filter(|r| r.status != RuleStatus::Pass)
            .map(|r| r.summary.clone())
            .collect();
        rec.text = format!(
            "no candidate can replace {} yet; nearest: {} ({}): {}",
            base.id,
            c.id,
            g.verdict.as_str(),
            rec.why.join("; ")
        );
    }
    rec
}

/// "flash can replace premium: 99.5% of its quality at 4.0% of the cost, saving $0.23 per 1,000 items ($460 a month
/// at 2,000,000 items)".
fn replace_text(rec: &Recommendation, base: &str, cand: &str) -> String {
    let mut parts = Vec::new();
    if let Some(q) = rec.quality_ratio {
        parts.push(format!("{:.1}% of its quality", q * 100.0));
    }
    if let Some(c) = rec.cost_ratio {
        parts.push(format!("at {:.1}% of the cost", c * 100.0));
    }
    let mut text = format!("{cand} can replace {base}");
    if !parts.is_empty() {
        text.push_str(": ");
        text.push_str(&parts.join(" "));
    }
    if let Some(s) = rec.saves_usd_per_1k_items {
        let (verb, amount) = if s >= 0.0 {
            ("saving", s)
        } else {
            ("costing more by", -s)
        };
        text.push_str(&format!(", {verb} {} per 1,000 items", money(amount)));
        if let (Some(m), Some(v)) = (rec.saves_usd_per_month, rec.monthly_volume) {
            text.push_str(&format!(
                " ({} a month at {} items)",
                money(m.abs()),
                thousands(v)
            ));
        }
    }
    if !rec.also_passing.is_empty() {
        text.push_str(&format!("; also passing: {}", rec.also_passing.join(", ")));
    }
    text
}

/// The candidate closest to passing: INCONCLUSIVE before FAIL, then fewer rules in the way, then the higher quality
/// ratio, then the lower cost; suite order breaks ties.
fn nearest<'a>(judged: &[&'a ProviderResult]) -> Option<&'a ProviderResult> {
    let key = |p: &ProviderResult| {
        let g = p.gate.as_ref()?;
        let rank = match g.verdict {
            Verdict::Pass => 0,
            Verdict::Inconclusive => 1,
            Verdict::Fail => 2,
            Verdict::Incomplete => 3,
        };
        let blocking = g
            .rules
            .iter()
            .filter(|r| r.status != RuleStatus::Pass)
            .count();
        Some((
            rank,
            blocking,
            g.quality_ratio.unwrap_or(f64::NEG_INFINITY),
            p.cost_usd_per_1k_items,
        ))
    };
    judged
        .iter()
        .copied()
        .filter_map(|p| key(p).map(|k| (k, p)))
        .min_by(|(a, _), (b, _)| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then(b.2.total_cmp(&a.2))
                .then(a.3.total_cmp(&b.3))
        })
        .map(|(_, p)| p)
}

/// A USD amount with two significant digits below $1 (`$0.23`, `$0.0049`), cents up to $100, whole dollars with
/// thousands separators above (`$4,600`).
pub fn money(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    if a == 0.0 {
        "$0".into()
    } else if a >= 100.0 {
        format!("{sign}${}", thousands(a.round() as u64))
    } else if a >= 1.0 {
        format!("{sign}${a:.2}")
    } else {
        let digits = ((-a.log10()).floor() as usize + 2).min(8);
        format!("{sign}${a:.digits$}")
    }
}

/// `2000000` -> `2,000,000`.
pub fn thousands(n: u64) -> String {
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

/// In-memory results for the report tests: a baseline and candidates with chosen verdicts, no journal needed.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::gate::{
        self, CostEvidence, ErrorEvidence, Evidence, LatencyEvidence, QualityEvidence,
    };
    use crate::stats::Interval;
    use crate::suite::{GateSpec, ProviderRole};
    use crate::summary::{ProviderResult, Results};

    /// How a fixture candidate fares.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub(crate) enum Fares {
        /// Every rule passes.
        Pass,
        /// Quality's upper bound is below θ.
        FailQuality,
        /// Cost's lower bound is above the allowed ratio.
        FailCost,
        /// Quality's bounds straddle θ.
        Inconclusive,
    }

    /// Evidence for a candidate with quality ratio `q` and cost ratio `c` on 110 paired items.
    pub(crate) fn evidence(fares: Fares, q: f64, c: f64) -> Evidence {
        Evidence {
            human: None,
            metric: "macro_f1".into(),
            confidence: 0.95,
            n_items: 110,
            n_paired: 110,
            quality: QualityEvidence {
                ratio: Some(q),
                lower: Some(q - 0.04),
                upper: Some(q + 0.04),
                confident: match fares {
                    Fares::FailQuality => Some(false),
                    Fares::Inconclusive => None,
                    _ => Some(true),
                },
                method: "paired percentile bootstrap of the corpus metric on 110 items, 2000 resamples, seed 7; share of resamples >= θ 0.965".into(),
                items_needed: Some(359),
                bootstrap_interval: None,
                mcnemar: None,
            },
            cost: CostEvidence {
                ratio: Some(c),
                lower: Some(c * 0.99),
                upper: Some(c * 1.01),
            },
            errors: ErrorEvidence {
                cand_errors: 0,
                cand_n: 110,
                base_errors: 0,
                base_n: 110,
                increase: Some(0.0),
                lower: Some(-0.024),
                upper: Some(0.024),
                items_needed: Some(539),
            },
            latency: LatencyEvidence {
                quantile: 0.99,
                cand: Some(1012.0),
                base: Some(1834.0),
                cand_n: 110,
                base_n: 110,
                from_cache: 0,
                batch: 0,
                increase: Some(-822.0),
                lower: Some(-1135.0),
                upper: Some(-513.0),
                min_n: 299,
                boundable: Some(0.95),
            },
            format_valid: (110, 110),
            format_validity_bounds: Some((0.97, 1.0)),
            completeness: Default::default(),
        }
    }

    /// A provider's results: `cost_per_1k` USD per 1,000 items, judged as `fares` when it is a candidate.
    pub(crate) fn provider(
        id: &str,
        cost_per_1k: f64,
        fares: Option<(Fares, f64)>,
    ) -> ProviderResult {
        let base_cost = 0.24;
        let gate = fares.map(|(f, q)| {
            gate::decide(
                &GateSpec::default(),
                &evidence(f, q, cost_per_1k / base_cost),
                true,
            )
        });
        ProviderResult {
            judge: None,
            human_review: None,
            agreement: None,
            id: id.into(),
            role: if gate.is_some() {
                ProviderRole::Candidate
            } else {
                ProviderRole::Baseline
            },
            kind: "sim".into(),
            n_batch: 0,
            model: format!("sim-{id}"),
            n_requests: 110,
            n_ok: 110,
            n_errors: 0,
            n_missing: 0,
            n_unsettled: 0,
            unsettled_by_reason: Default::default(),
            failure_summary: None,
            n_cached: 0,
            error_rate: 0.0,
            error_rate_interval: Interval {
                lower: 0.0,
                upper: 0.033,
            },
            errors_by_class: Default::default(),
            format_validity: 1.0,
            metrics: [("macro_f1".to_string(), 0.92)].into_iter().collect(),
            metric_intervals: [(
                "macro_f1".to_string(),
                Interval {
                    lower: 0.863,
                    upper: 0.971,
                },
            )]
            .into_iter()
            .collect(),
            cost_usd_total: cost_per_1k * 0.11,
            cost_usd_paid: cost_per_1k * 0.11,
            cost_usd_per_item: cost_per_1k / 1000.0,
            cost_usd_per_1k_items: cost_per_1k,
            tokens: Default::default(),
            token_discrepancy: Default::default(),
            latency_ms: crate::summary::Percentiles {
                p50: Some(650.0),
                p95: Some(1500.0),
                p99: Some(1834.0),
            },
            latency_from_cache: 0,
            ttft_ms: Default::default(),
            retries: 0,
            throttle: Default::default(),
            skipped_context: 0,
            consistency: None,
            details: crate::score::Details::None,
            stream_equivalence: None,
            gate,
        }
    }

    /// A complete run's results over `providers`.
    pub(crate) fn results(providers: Vec<ProviderResult>) -> Results {
        let gate_config = GateSpec::default();
        let refs: Vec<&gate::GateResult> =
            providers.iter().filter_map(|p| p.gate.as_ref()).collect();
        let gate_exit_code = gate::exit_code(&gate_config, &refs);
        let recommendation = super::recommend(&providers, true, gate_config.monthly_volume);
        Results {
            judge: None,
            evalh_version: "0.1.0".into(),
            suite: "support-intents".into(),
            task: crate::suite::TaskKind::Classification,
            n_items: 110,
            repeats: 1,
            seed: 7,
            gate_metric: "macro_f1".into(),
            gate_config,
            latency_method: String::new(),
            price_table: String::new(),
            providers,
            complete: true,
            unsettled_by_reason: Default::default(),
            gate_exit_code,
            recommendation,
            reference: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{provider, Fares};
    use super::*;

    fn demo() -> Vec<ProviderResult> {
        vec![
            provider("premium", 0.24, None),
            provider("haiku", 0.10, Some((Fares::FailCost, 1.007))),
            provider("flash", 0.0099, Some((Fares::Pass, 0.995))),
            provider("tiny", 0.0045, Some((Fares::FailQuality, 0.781))),
        ]
    }

    #[test]
    fn the_cheapest_passing_candidate_is_recommended_with_its_savings() {
        let mut ps = demo();
        ps.push(provider("mid", 0.05, Some((Fares::Pass, 1.0))));
        let r = recommend(&ps, true, Some(2_000_000));
        assert_eq!(r.kind, RecommendationKind::Replace);
        assert_eq!(r.candidate.as_deref(), Some("flash"));
        assert_eq!(r.also_passing, vec!["mid".to_string()]);
        assert!((r.saves_usd_per_1k_items.unwrap() - 0.2301).abs() < 1e-12);
        assert!((r.saves_usd_per_month.unwrap() - 460.2).abs() < 1e-9);
        assert_eq!(
            r.text,
            "flash can replace premium: 99.5% of its quality at 4.1% of the cost, saving $0.23 per 1,000 items \
             ($460 a month at 2,000,000 items); also passing: mid"
        );
        // Without a declared volume there is no monthly figure.
        let r = recommend(&demo(), true, None);
        assert_eq!(r.saves_usd_per_month, None);
        assert!(
            r.text.ends_with("saving $0.23 per 1,000 items"),
            "{}",
            r.text
        );
    }

    #[test]
    fn without_a_pass_the_nearest_candidate_and_its_blocking_rules_are_named() {
        let mut ps = demo();
        ps.remove(2);
        ps.push(provider(
            "flash",
            0.0099,
            Some((Fares::Inconclusive, 0.972)),
        ));
        let r = recommend(&ps, true, Some(1000));
        assert_eq!(r.kind, RecommendationKind::NoneYet);
        // INCONCLUSIVE is nearer than FAIL.
        assert_eq!(r.candidate.as_deref(), Some("flash"));
        assert_eq!(r.verdict, Some(Verdict::Inconclusive));
        assert_eq!(r.saves_usd_per_1k_items, None);
        assert_eq!(
            r.text,
            "no candidate can replace premium yet; nearest: flash (INCONCLUSIVE): quality ratio 0.972, 95% \
             lower bound 0.932 < 0.95: about 359 items would settle it"
        );
        // Among failures: haiku (fails cost only, quality 1.007) is nearer than tiny (fails quality).
        let r = recommend(&ps[..3], true, None);
        assert_eq!(r.candidate.as_deref(), Some("haiku"));
        assert_eq!(
            r.why,
            vec!["cost ratio 0.417, 95% lower bound 0.413 > 0.4".to_string()]
        );
    }

    #[test]
    fn an_incomplete_run_or_no_candidate_recommends_nothing() {
        let r = recommend(&demo(), false, Some(10));
        assert_eq!(r.kind, RecommendationKind::Incomplete);
        assert_eq!(r.text, "incomplete run: no recommendation");
        assert_eq!(r.candidate, None);
        let r = recommend(&demo()[..1], true, None);
        assert_eq!(r.kind, RecommendationKind::NothingToCompare);
        assert_eq!(r.candidate, None);
    }

    #[test]
    fn money_and_thousands() {
        assert_eq!(money(0.2301), "$0.23");
        assert_eq!(money(0.0049), "$0.0049");
        assert_eq!(money(0.000123), "$0.00012");
        assert_eq!(money(12.345), "$12.35");
        assert_eq!(money(4602.4), "$4,602");
        assert_eq!(money(0.0), "$0");
        assert_eq!(money(-0.5), "-$0.50");
        assert_eq!(thousands(2_000_000), "2,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }
}
