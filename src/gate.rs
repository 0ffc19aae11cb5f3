//! The promotion gate: PASS / FAIL / INCONCLUSIVE / INCOMPLETE per candidate, each with the rules that decided it in
//! plain words and the interval each rule was judged on.
//!
//! Why this module exists: "promote at >= 95% of the baseline's quality for <= 40% of its cost, without raising the
//! error rate by more than 0.5 pp or p99 latency by more than 200 ms" is usually judged on 50–500 items, where a point
//! estimate says little and where a run can end without evidence at all. The rule, in words:
//!
//! * **Evidence first.** A run with unsettled requests (missing, interrupted, budget, provider unreachable) gets
//!   INCOMPLETE, never a verdict. A rule without data is *not measured* and can never yield PASS. Fewer than
//!   `min_items` items answered by both sides, or a baseline that failed on more than `max_baseline_error_rate` of
//!   them, is INCONCLUSIVE at best.
//! * **Quality and cost** (`decision: confident`, the default): PASS when the one-sided confidence bound clears the
//!   threshold, FAIL when the opposite bound misses it, INCONCLUSIVE in between — with the items that would settle it.
//! * **Error rate and p99 latency** are judged on intervals of the increase: FAIL when the whole interval lies above
//!   the allowance (evidence of harm); PASS when it lies within it; in between, `guards.mode: harm` (default) passes and
//!   says what the data rule out, `non_inferiority` is INCONCLUSIVE.
//! * `decision: point` applies the plain rule on point estimates, but only on evidence (the first bullet still holds).
//!
//! The numbers come from `summary` (which runs the statistics); this module only applies the rule, so it is easy to
//! read and to test.

use crate::suite::{Decision, GateSpec, GuardMode, OnInconclusive, Require};
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
    /// The run did not settle every request of this candidate or of the baseline: no verdict.
    Incomplete,
}

impl Verdict {
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Incomplete => "INCOMPLETE",
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
    /// No data to judge it on: never a PASS.
    NotMeasured,
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Rule name (`evidence`, `quality`, `cost`, `error_rate`, `p99_latency`, `format_validity`, `baseline`).
    pub name: String,
    /// True only when the rule holds.
    pub passed: bool,
    /// Pass / fail / inconclusive / not measured.
    pub status: RuleStatus,
    /// How it was judged: `confident` (interval vs threshold), `harm` or `non_inferiority` (guard rules), `point`.
    pub judged: &'static str,
    /// The interval the rule was judged on, in the rule's unit (one-sided bounds at the gate's confidence; null
    /// where a side is unbounded or the rule has none).
    pub interval: Option<Bounds>,
    /// The numbers, in words: the full statistics (methods, bounds, sample sizes, advice).
    pub detail: String,
    /// The same verdict in one short line for the terminal and the Markdown summary (e.g. `cost 0.417, 95% lower
    /// bound 0.413 > 0.4`); the statistics stay in `detail`.
    pub summary: String,
}

/// A pair of bounds; `None` on a side means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bounds {
    /// Lower bound.
    pub lower: Option<f64>,
    /// Upper bound.
    pub upper: Option<f64>,
}

/// The quality comparison on the paired items.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct QualityEvidence {
    /// Candidate / baseline on the gate metric (None when the baseline scored 0 or there are no paired items).
    pub ratio: Option<f64>,
    /// Lower confidence bound of the ratio (Fieller for mean metrics, paired bootstrap for corpus metrics).
    pub lower: Option<f64>,
    /// Upper confidence bound of the ratio.
    pub upper: Option<f64>,
    /// Some(true) the lower bound clears θ, Some(false) the upper bound is below θ, None undecided.
    pub confident: Option<bool>,
    /// How the bound was computed.
    pub method: String,
    /// Items that would give 80% power at the observed effect (for INCONCLUSIVE).
    pub items_needed: Option<u64>,
    /// Paired-bootstrap interval of the ratio (cross-check of the primary bound).
    pub bootstrap_interval: Option<(f64, f64)>,
    /// McNemar exact test for binary per-item scores (diagnostic: tests equality, not the ratio).
    pub mcnemar: Option<McNemarEvidence>,
}

/// The cost comparison on the paired items.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct CostEvidence {
    /// Candidate cost / baseline cost over the paired items (None when the baseline's is 0).
    pub ratio: Option<f64>,
    /// One-sided bounds (paired bootstrap of the ratio of sums).
    pub lower: Option<f64>,
    /// Upper bound.
    pub upper: Option<f64>,
}

/// The error-rate comparison: settled errors over settled requests (repeat 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ErrorEvidence {
    /// Candidate requests that finally failed (settled errors).
    pub cand_errors: u64,
    /// Candidate settled requests.
    pub cand_n: u64,
    /// Baseline settled errors.
    pub base_errors: u64,
    /// Baseline settled requests.
    pub base_n: u64,
    /// Candidate rate − baseline rate.
    pub increase: Option<f64>,
    /// One-sided bounds of the increase (Newcombe's hybrid score interval).
    pub lower: Option<f64>,
    /// Upper bound.
    pub upper: Option<f64>,
    /// Items per provider that would let the data show the allowance holds, when both rates equal the baseline's.
    pub items_needed: Option<u64>,
}

/// The tail-latency comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct LatencyEvidence {
    /// The quantile compared (0.99).
    pub quantile: f64,
    /// Candidate's nearest-rank quantile, ms.
    pub cand: Option<f64>,
    /// Baseline's.
    pub base: Option<f64>,
    /// Latencies behind each (successful requests; cached ones with the latency stored in the cache entry).
    pub cand_n: usize,
    /// Baseline latencies.
    pub base_n: usize,
    /// Of those, how many came from the response cache.
    pub from_cache: usize,
    /// Successful answers left out because a provider batch answered them: a batch measures no latency.
    pub batch: usize,
    /// Candidate − baseline, ms.
    pub increase: Option<f64>,
    /// One-sided lower bound of the increase (paired percentile bootstrap; order-statistic bounds on large samples).
    pub lower: Option<f64>,
    /// Upper bound of the increase.
    pub upper: Option<f64>,
    /// Latencies per provider needed before the quantile itself has a distribution-free upper bound; below it the
    /// rule can show harm but not its absence.
    pub min_n: u64,
    /// The highest of p99/p95/p90/p50 the smaller sample can bound (None: not even the median).
    pub boundable: Option<f64>,
}

/// Whether the run settled the requests this comparison needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Completeness {
    /// Candidate requests (all repeats) without a settling record.
    pub cand_unsettled: usize,
    /// Baseline requests without a settling record.
    pub base_unsettled: usize,
}

/// The numbers a gate decision needs (computed by `summary`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Gate metric name.
    pub metric: String,
    /// Confidence used.
    pub confidence: f64,
    /// Items in the dataset.
    pub n_items: usize,
    /// Items both the baseline and the candidate answered and that were scored (repeat 0): the sample of the
    /// quality and cost comparisons.
    pub n_paired: usize,
    /// Quality.
    pub quality: QualityEvidence,
    /// Cost.
    pub cost: CostEvidence,
    /// Error rate.
    pub errors: ErrorEvidence,
    /// Tail latency.
    pub latency: LatencyEvidence,
    /// Candidate's parseable outputs and answered items, when the suite sets `min_format_validity`.
    pub format_valid: (u64, u64),
    /// Wilson bounds of the format validity.
    pub format_validity_bounds: Option<(f64, f64)>,
    /// Unsettled requests.
    pub completeness: Completeness,
    /// Blind human review (None: no decisions imported for this candidate).
    pub human: Option<HumanEvidence>,
}

/// The human-review evidence the `human` rule is judged on (computed by `summary` from `review`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct HumanEvidence {
    /// Decisions finding the candidate acceptable (better, or both fine).
    pub acceptable: u64,
    /// Decisions.
    pub n: u64,
    /// Wilson lower bound of the acceptable rate at the gate's confidence.
    pub lower: Option<f64>,
    /// Wilson upper bound.
    pub upper: Option<f64>,
    /// Decisions in all that would settle the rule at the observed rate.
    pub reviews_needed: Option<u64>,
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
    /// Point estimate of the quality ratio (null: undefined).
    pub quality_ratio: Option<f64>,
    /// Lower bound.
    pub quality_ratio_lower: Option<f64>,
    /// Upper bound.
    pub quality_ratio_upper: Option<f64>,
    /// Cost ratio (null: undefined).
    pub cost_ratio: Option<f64>,
    /// Error-rate increase (null: not measured).
    pub error_rate_increase: Option<f64>,
    /// p99 latency increase, ms (null: not measured).
    pub p99_latency_increase_ms: Option<f64>,
    /// Each rule.
    pub rules: Vec<Rule>,
    /// One line per rule that was not a clean pass, or every rule when all passed.
    pub reasons: Vec<String>,
    /// Items needed for 80% power (INCONCLUSIVE only).
    pub items_needed: Option<u64>,
    /// The evidence behind the verdict.
    pub evidence: Evidence,
}

/// Apply the rule.
pub fn decide(spec: &GateSpec, ev: &Evidence, gated: bool) -> GateResult {
    let mut rules = Vec::new();
    let c = &ev.completeness;
    if c.cand_unsettled + c.base_unsettled > 0 {
        rules.push(rule(
            "evidence",
            RuleStatus::NotMeasured,
            "complete",
            None,
            format!(
                "incomplete run: {} candidate and {} baseline request(s) unsettled; the rules below are partial, not a verdict",
                c.cand_unsettled, c.base_unsettled
            ),
            format!(
                "incomplete: {} candidate and {} baseline request(s) unsettled",
                c.cand_unsettled, c.base_unsettled
            ),
        ));
    }
    rules.push(baseline_rule(spec, ev));
    rules.push(quality_rule(spec, ev));
    rules.push(cost_rule(spec, ev));
    rules.push(error_rule(spec, ev));
    rules.push(latency_rule(spec, ev));
    if let Some(min) = spec.min_format_validity {
        rules.push(format_rule(spec, ev, min));
    }
    if let Some(h) = &spec.human {
        rules.push(human_rule(ev, h.min_acceptable_rate));
    }
    let incomplete = c.cand_unsettled + c.base_unsettled > 0;
    let verdict = if incomplete {
        Verdict::Incomplete
    } else if rules.iter().any(|r| r.status == RuleStatus::Fail) {
        Verdict::Fail
    } else if rules.iter().any(|r| r.status != RuleStatus::Pass) {
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
        quality_ratio: ev.quality.ratio,
        quality_ratio_lower: ev.quality.lower,
        quality_ratio_upper: ev.quality.upper,
        cost_ratio: ev.cost.ratio,
        error_rate_increase: ev.errors.increase,
        p99_latency_increase_ms: ev.latency.increase,
        rules,
        reasons,
        items_needed: if verdict == Verdict::Inconclusive {
            ev.quality.items_needed
        } else {
            None
        },
        evidence: ev.clone(),
    }
}

fn pct(conf: f64) -> f64 {
    (conf * 100.0).round()
}

fn fmt_opt(v: Option<f64>, prec: usize) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x:.prec$}"))
        .unwrap_or_else(|| "unbounded".into())
}

/// `x` with an explicit sign and `prec` decimals; a value that rounds to zero prints as `+0` (never `-0` or `+-0`).
pub fn signed(x: f64, prec: usize) -> String {
    let s = format!("{x:+.prec$}");
    if s[1..].chars().all(|c| c == '0' || c == '.') {
        format!("+{}", &s[1..])
    } else {
        s
    }
}

/// The baseline must itself have answered: when it failed on too many items the comparison is not valid.
fn baseline_rule(spec: &GateSpec, ev: &Evidence) -> Rule {
    let e = &ev.errors;
    if e.base_n == 0 {
        return rule(
            "baseline",
            RuleStatus::NotMeasured,
            "point",
            None,
            "the baseline answered no request: nothing to compare against".into(),
            "baseline answered no request".into(),
        );
    }
    let share = e.base_errors as f64 / e.base_n as f64;
    let allowed = spec.max_baseline_error_rate * 100.0;
    if share > spec.max_baseline_error_rate {
        rule(
            "baseline",
            RuleStatus::Inconclusive,
            "point",
            None,
            format!(
                "the baseline itself failed on {}/{} items ({:.1}% > {allowed:.1}% allowed): the comparison is not valid; fix the baseline and re-run",
                e.base_errors,
                e.base_n,
                share * 100.0,
            ),
            format!(
                "baseline failed on {}/{} items ({:.1}% > {allowed:.1}%): no valid comparison",
                e.base_errors,
                e.base_n,
                share * 100.0
            ),
        )
    } else {
        rule(
            "baseline",
            RuleStatus::Pass,
            "point",
            None,
            format!(
                "baseline failed on {}/{} items (<= {allowed:.1}% allowed)",
                e.base_errors, e.base_n,
            ),
            format!(
                "baseline failed on {}/{} items (≤ {allowed:.1}%)",
                e.base_errors, e.base_n
            ),
        )
    }
}

fn quality_rule(spec: &GateSpec, ev: &Evidence) -> Rule {
    let theta = spec.min_quality_ratio;
    let q = &ev.quality;
    let p = pct(ev.confidence);
    let tag = format!(" [{}; {}]", ev.metric, q.method);
    let bounds = Some(Bounds {
        lower: q.lower,
        upper: q.upper,
    });
    let judged = match spec.decision {
        Decision::Point => "point",
        Decision::Confident => "confident",
    };
    if ev.n_paired == 0 {
        return rule(
            "quality",
            RuleStatus::NotMeasured,
            judged,
            None,
            format!(
                "quality not measured: no item was answered by both the baseline and the candidate [{}]",
                ev.metric
            ),
            "quality not measured: no item answered by both".into(),
        );
    }
    let Some(ratio) = q.ratio else {
        return rule(
            "quality",
            RuleStatus::NotMeasured,
            judged,
            None,
            format!(
                "quality ratio undefined: the baseline scores 0 on the {} paired items [{}]",
                ev.n_paired, ev.metric
            ),
            "quality ratio undefined: the baseline scores 0".into(),
        );
    };
    if ev.n_paired < spec.min_items {
        let advice = q
            .items_needed
            .map(|n| {
                format!(
                    " (about {} items would give 80% power)",
                    n.max(spec.min_items as u64)
                )
            })
            .unwrap_or_default();
        return rule(
            "quality",
            RuleStatus::Inconclusive,
            judged,
            bounds,
            format!(
                "quality ratio {ratio:.3} on only {} paired items (< min_items {}): not enough evidence{advice}{tag}",
                ev.n_paired, spec.min_items
            ),
            format!(
                "quality ratio {ratio:.3} on only {} paired items (< min_items {})",
                ev.n_paired, spec.min_items
            ),
        );
    }
    let (status, detail, summary) = match spec.decision {
        Decision::Point if ratio >= theta => (
            RuleStatus::Pass,
            format!("quality ratio {ratio:.3} >= {theta} (point estimate)"),
            format!("quality ratio {ratio:.3} ≥ {theta} (point estimate)"),
        ),
        Decision::Point => (
            RuleStatus::Fail,
            format!("quality ratio {ratio:.3} < {theta} (point estimate)"),
            format!("quality ratio {ratio:.3} < {theta} (point estimate)"),
        ),
        Decision::Confident => match q.confident {
            Some(true) => (
                RuleStatus::Pass,
                format!(
                    "quality ratio {ratio:.3}, {p}% lower bound {} >= {theta}",
                    fmt_opt(q.lower, 3)
                ),
                format!(
                    "quality ratio {ratio:.3}, {p}% lower bound {} ≥ {theta}",
                    fmt_opt(q.lower, 3)
                ),
            ),
            Some(false) => (
                RuleStatus::Fail,
                format!(
                    "quality ratio {ratio:.3}, {p}% upper bound {} < {theta}",
                    fmt_opt(q.upper, 3)
                ),
                format!(
                    "quality ratio {ratio:.3}, {p}% upper bound {} < {theta}",
                    fmt_opt(q.upper, 3)
                ),
            ),
            None => (
                RuleStatus::Inconclusive,
                format!(
                    "quality ratio {ratio:.3}, {p}% lower bound {} < {theta}: not enough evidence{}",
                    fmt_opt(q.lower, 3),
                    q.items_needed
                        .map(|n| format!(" (about {n} items would give 80% power)"))
                        .unwrap_or_default()
                ),
                format!(
                    "quality ratio {ratio:.3}, {p}% lower bound {} < {theta}: {}",
                    fmt_opt(q.lower, 3),
                    q.items_needed
                        .map(|n| format!("about {n} items would settle it"))
                        .unwrap_or_else(|| "not enough evidence".into())
                ),
            ),
        },
    };
    rule(
        "quality",
        status,
        judged,
        bounds,
        format!("{detail}{tag}"),
        summary,
    )
}

fn cost_rule(spec: &GateSpec, ev: &Evidence) -> Rule {
    let max = spec.max_cost_ratio;
    let c = &ev.cost;
    let p = pct(ev.confidence);
    let Some(ratio) = c.ratio.filter(|_| ev.n_paired > 0) else {
        return rule(
            "cost",
            RuleStatus::NotMeasured,
            "confident",
            None,
            "cost not measured: the baseline's paired responses cost nothing (no price, or no answers)".into(),
            "cost not measured: the baseline's answers cost nothing".into(),
        );
    };
    let bounds = Some(Bounds {
        lower: c.lower,
        upper: c.upper,
    });
    let iv = match (c.lower, c.upper) {
        (Some(l), Some(h)) => format!(" ({p}% bounds {l:.3}-{h:.3})"),
        _ => String::new(),
    };
    if spec.decision == Decision::Point {
        let ok = ratio <= max;
        return rule(
            "cost",
            if ok {
                RuleStatus::Pass
            } else {
                RuleStatus::Fail
            },
            "point",
            bounds,
            format!(
                "cost ratio {ratio:.3} {} {max}{iv}",
                if ok { "<=" } else { ">" }
            ),
            format!(
                "cost ratio {ratio:.3} {} {max} (point estimate)",
                if ok { "≤" } else { ">" }
            ),
        );
    }
    let (status, detail, summary) = match (c.lower, c.upper) {
        (_, Some(h)) if h <= max => (
            RuleStatus::Pass,
            format!("cost ratio {ratio:.3}, {p}% upper bound {h:.3} <= {max}"),
            format!("cost ratio {ratio:.3}, {p}% upper bound {h:.3} ≤ {max}"),
        ),
        (Some(l), _) if l > max => (
            RuleStatus::Fail,
            format!("cost ratio {ratio:.3}, {p}% lower bound {l:.3} > {max}"),
            format!("cost ratio {ratio:.3}, {p}% lower bound {l:.3} > {max}"),
        ),
        _ => (
            RuleStatus::Inconclusive,
            format!("cost ratio {ratio:.3}{iv}: the interval straddles {max}"),
            format!("cost ratio {ratio:.3}{iv}: straddles {max}"),
        ),
    };
    rule("cost", status, "confident", bounds, detail, summary)
}

fn guard_judged(spec: &GateSpec) -> &'static str {
    match (spec.decision, spec.guards.mode) {
        (Decision::Point, _) => "point",
        (_, GuardMode::Harm) => "harm",
        (_, GuardMode::NonInferiority) => "non_inferiority",
    }
}

fn error_rule(spec: &GateSpec, ev: &Evidence) -> Rule {
    let e = &ev.errors;
    let max = spec.max_error_rate_increase;
    let p = pct(ev.confidence);
    let judged = guard_judged(spec);
    let (Some(inc), true) = (e.increase, e.cand_n > 0 && e.base_n > 0) else {
        return rule(
            "error_rate",
            RuleStatus::NotMeasured,
            judged,
            None,
            "error rate not measured: no settled request on one side".into(),
            "error rate not measured".into(),
        );
    };
    let pp = |v: Option<f64>| {
        v.map(|x| format!("{} pp", signed(x * 100.0, 2)))
            .unwrap_or_else(|| "unbounded".into())
    };
    let counts = format!(
        "{}/{} vs baseline {}/{}",
        e.cand_errors, e.cand_n, e.base_errors, e.base_n
    );
    let change = pp(Some(inc));
    let rates = format!("error rate {counts} ({change}");
    let short = format!("error rate {counts} ({change})");
    let bounds = Some(Bounds {
        lower: e.lower,
        upper: e.upper,
    });
    let allowed = format!("{} pp", signed(max * 100.0, 2));
    if spec.decision == Decision::Point {
        let ok = inc <= max;
        let cmp = if ok { "≤" } else { ">" };
        return rule(
            "error_rate",
            if ok {
                RuleStatus::Pass
            } else {
                RuleStatus::Fail
            },
            judged,
            bounds,
            format!(
                "{rates} {} {allowed} allowed, point estimate)",
                if ok { "<=" } else { ">" }
            ),
            format!("error rate {change} {cmp} {allowed} (point estimate; {counts})"),
        );
    }
    let iv = format!("{p}% bounds {} to {}", pp(e.lower), pp(e.upper));
    if e.lower.is_some_and(|l| l > max) {
        return rule(
            "error_rate",
            RuleStatus::Fail,
            judged,
            bounds,
            format!("{rates}; {iv}): evidence of an increase above {allowed}"),
            format!("{short}, {p}% lower bound {} > {allowed}", pp(e.lower)),
        );
    }
    if e.upper.is_some_and(|u| u <= max) {
        return rule(
            "error_rate",
            RuleStatus::Pass,
            judged,
            bounds,
            format!("{rates}; {iv}): shown within {allowed}"),
            format!("{short}, {p}% upper bound {} ≤ {allowed}", pp(e.upper)),
        );
    }
    let needed = e
        .items_needed
        .map(|n| format!("; showing {allowed} needs about {n} items per provider, or production shadow traffic"))
        .unwrap_or_default();
    match spec.guards.mode {
        GuardMode::Harm => rule(
            "error_rate",
            RuleStatus::Pass,
            judged,
            bounds,
            format!(
                "{rates}; {iv}): no evidence of harm; the data rule out an increase above {}{needed}",
                pp(e.upper)
            ),
            format!("{short}: no evidence of harm"),
        ),
        GuardMode::NonInferiority => rule(
            "error_rate",
            RuleStatus::Inconclusive,
            judged,
            bounds,
            format!("{rates}; {iv}): cannot show the increase is within {allowed}{needed}"),
            format!("{short}: cannot show ≤ {allowed}"),
        ),
    }
}

fn latency_rule(spec: &GateSpec, ev: &Evidence) -> Rule {
    let l = &ev.latency;
    let max = spec.max_p99_latency_increase_ms;
    let p = pct(ev.confidence);
    let judged = guard_judged(spec);
    let q = (l.quantile * 100.0).round();
    let (Some(inc), Some(cq), Some(bq)) = (l.increase, l.cand, l.base) else {
        if l.batch > 0 {
            return rule(
                "p99_latency",
                RuleStatus::NotMeasured,
                judged,
                None,
                format!(
                    "p{q} latency not measured: batch ({} answers came through a provider batch API, which measures \
                     no latency; {} candidate and {} baseline interactive answers)",
                    l.batch, l.cand_n, l.base_n
                ),
                format!("p{q} latency not measured: batch"),
            );
        }
        return rule(
            "p99_latency",
            RuleStatus::NotMeasured,
            judged,
            None,
            format!(
                "p{q} latency not measured: {} candidate and {} baseline successful requests",
                l.cand_n, l.base_n
            ),
            format!("p{q} latency not measured"),
        );
    };
    // What the latencies are made of: some stored by the cache; batch answers, which measure none, left out.
    let mut cache = String::new();
    if l.from_cache > 0 {
        cache.push_str(&format!(
            ", {} from the cache's stored latencies",
            l.from_cache
        ));
    }
    if l.batch > 0 {
        cache.push_str(&format!(", {} batch answers left out", l.batch));
    }
    let ms = |v: Option<f64>| {
        v.map(|x| format!("{} ms", signed(x, 0)))
            .unwrap_or_else(|| "unbounded".into())
    };
    let change = ms(Some(inc));
    let head = format!(
        "p{q} latency {cq:.0} vs {bq:.0} ms ({change}; n={}/{}{cache}",
        l.cand_n, l.base_n
    );
    let short = format!("p{q} latency {cq:.0} vs {bq:.0} ms ({change})");
    let bounds = Some(Bounds {
        lower: l.lower,
        upper: l.upper,
    });
    let allowed = format!("{} ms", signed(max, 0));
    if spec.decision == Decision::Point {
        let ok = inc <= max;
        return rule(
            "p99_latency",
            if ok {
                RuleStatus::Pass
            } else {
                RuleStatus::Fail
            },
            judged,
            bounds,
            format!(
                "{head}) {} {allowed} allowed, point estimate",
                if ok { "<=" } else { ">" }
            ),
            format!(
                "p{q} latency {change} {} {allowed} (point estimate)",
                if ok { "≤" } else { ">" }
            ),
        );
    }
    let iv = format!("{p}% bounds {} to {}", ms(l.lower), ms(l.upper));
    if l.lower.is_some_and(|x| x > max) {
        return rule(
            "p99_latency",
            RuleStatus::Fail,
            judged,
            bounds,
            format!("{head}; {iv}): evidence of an increase above {allowed}"),
            format!("{short}, {p}% lower bound {} > {allowed}", ms(l.lower)),
        );
    }
    let enough = l.cand_n.min(l.base_n) as u64 >= l.min_n;
    if enough && l.upper.is_some_and(|x| x <= max) {
        return rule(
            "p99_latency",
            RuleStatus::Pass,
            judged,
            bounds,
            format!("{head}; {iv}): shown within {allowed}"),
            format!("{short}, {p}% upper bound {} ≤ {allowed}", ms(l.upper)),
        );
    }
    let precision = if !enough {
        format!(
            "; {} latencies per provider cannot bound p{q} (needs {}){}",
            l.cand_n.min(l.base_n),
            l.min_n,
            l.boundable
                .map(|b| format!(", they can bound p{:.0}", b * 100.0))
                .unwrap_or_default()
        )
    } else {
        String::new()
    };
    match spec.guards.mode {
        GuardMode::Harm => rule(
            "p99_latency",
            RuleStatus::Pass,
            judged,
            bounds,
            format!(
                "{head}; {iv}): no evidence of harm{}{precision}",
                l.upper
                    .filter(|_| enough)
                    .map(|u| format!("; the data rule out an increase above {}", ms(Some(u))))
                    .unwrap_or_default()
            ),
            format!("{short}: no evidence of harm"),
        ),
        GuardMode::NonInferiority => rule(
            "p99_latency",
            RuleStatus::Inconclusive,
            judged,
            bounds,
            format!("{head}; {iv}): cannot show the increase is within {allowed}{precision}"),
            format!("{short}: cannot show ≤ {allowed}"),
        ),
    }
}

fn format_rule(spec: &GateSpec, ev: &Evidence, min: f64) -> Rule {
    let (ok_n, n) = ev.format_valid;
    let p = pct(ev.confidence);
    if n == 0 {
        return rule(
            "format_validity",
            RuleStatus::NotMeasured,
            "confident",
            None,
            "format validity not measured: the candidate answered no item".into(),
            "format validity not measured".into(),
        );
    }
    let v = ok_n as f64 / n as f64;
    let bounds = ev.format_validity_bounds.map(|(l, h)| Bounds {
        lower: Some(l),
        upper: Some(h),
    });
    let head = format!("format validity {:.1}% ({ok_n}/{n})", v * 100.0);
    let min_pct = min * 100.0;
    if spec.decision == Decision::Point {
        let ok = v >= min;
        return rule(
            "format_validity",
            if ok {
                RuleStatus::Pass
            } else {
                RuleStatus::Fail
            },
            "point",
            bounds,
            format!("{head} {} {min_pct:.1}%", if ok { ">=" } else { "<" }),
            format!(
                "{head} {} {min_pct:.1}% (point estimate)",
                if ok { "≥" } else { "<" }
            ),
        );
    }
    let (l, h) = ev.format_validity_bounds.unwrap_or((0.0, 1.0));
    let (status, words, short) = if l >= min {
        (
            RuleStatus::Pass,
            format!("{p}% lower bound {:.1}% >= {min_pct:.1}%", l * 100.0),
            format!("{p}% lower bound {:.1}% ≥ {min_pct:.1}%", l * 100.0),
        )
    } else if h < min {
        (
            RuleStatus::Fail,
            format!("{p}% upper bound {:.1}% < {min_pct:.1}%", h * 100.0),
            format!("{p}% upper bound {:.1}% < {min_pct:.1}%", h * 100.0),
        )
    } else {
        let w = format!(
            "{p}% bounds {:.1}%-{:.1}% straddle {min_pct:.1}%",
            l * 100.0,
            h * 100.0,
        );
        (RuleStatus::Inconclusive, w.clone(), w)
    };
    rule(
        "format_validity",
        status,
        "confident",
        bounds,
        format!("{head}, {words}"),
        format!("{head}, {short}"),
    )
}

/// `gate.human`: the share of blind reviews finding the candidate acceptable, judged on its Wilson interval (always,
/// whatever `decision` says: a handful of reviews is no evidence on its point estimate). No decisions: not measured.
fn human_rule(ev: &Evidence, min: f64) -> Rule {
    let p = pct(ev.confidence);
    let Some(h) = ev.human.filter(|h| h.n > 0) else {
        return rule(
            "human",
            RuleStatus::NotMeasured,
            "confident",
            None,
            format!(
                "human review not measured: no decisions imported for this candidate (needs an acceptable rate >= {:.1}%; evalh review RUN_DIR, then evalh review import RUN_DIR FILE...)",
                min * 100.0
            ),
            "human review not measured: no decisions".into(),
        );
    };
    let (l, u) = (h.lower.unwrap_or(0.0), h.upper.unwrap_or(1.0));
    let head = format!(
        "human review: acceptable in {}/{} decisions ({:.1}%)",
        h.acceptable,
        h.n,
        h.acceptable as f64 / h.n as f64 * 100.0
    );
    let bounds = Some(Bounds {
        lower: h.lower,
        upper: h.upper,
    });
    let m = min * 100.0;
    let (status, words) = if l >= min {
        (
            RuleStatus::Pass,
            format!("{p}% lower bound {:.1}% >= {m:.1}%", l * 100.0),
        )
    } else if u < min {
        (
            RuleStatus::Fail,
            format!("{p}% upper bound {:.1}% < {m:.1}%", u * 100.0),
        )
    } else {
        let more = h
            .reviews_needed
            .map(|n| format!("; about {n} decisions in all would settle it at this rate"))
            .unwrap_or_default();
        (
            RuleStatus::Inconclusive,
            format!(
                "{p}% bounds {:.1}%-{:.1}% straddle {m:.1}%{more}",
                l * 100.0,
                u * 100.0
            ),
        )
    };
    let short = format!(
        "human acceptable {}/{} (needs {:.0}%)",
        h.acceptable,
        h.n,
        min * 100.0
    );
    rule(
        "human",
        status,
        "confident",
        bounds,
        format!("{head}, {words}"),
        short,
    )
}

fn rule(
    name: &str,
    status: RuleStatus,
    judged: &'static str,
    interval: Option<Bounds>,
    detail: String,
    summary: String,
) -> Rule {
    Rule {
        summary,
        name: name.into(),
        passed: status == RuleStatus::Pass,
        status,
        judged,
        interval: interval.map(|b| Bounds {
            lower: b.lower.filter(|x| x.is_finite()),
            upper: b.upper.filter(|x| x.is_finite()),
        }),
        detail,
    }
}

/// The process exit code implied by the gated candidates' verdicts on a complete run (an incomplete run exits
/// [`crate::error::exit::INCOMPLETE`], decided by the caller from `Results::complete`).
///
/// A gated candidate is acceptable when it PASSes, or is INCONCLUSIVE with `on_inconclusive: warn | pass`.
/// `require: all` exits 0 when every gated candidate is acceptable (vacuously so when none is gated);
/// `require: any` exits 0 when at least one is. An INCOMPLETE verdict exits 3 whatever `require` says.
pub fn exit_code(spec: &GateSpec, results: &[&GateResult]) -> i32 {
    let gated: Vec<&&GateResult> = results.iter().filter(|g| g.gated).collect();
    if gated.iter().any(|g| g.verdict == Verdict::Incomplete) {
        return crate::error::exit::INCOMPLETE;
    }
    let acceptable = |g: &&&GateResult| match g.verdict {
        Verdict::Pass => true,
        Verdict::Inconclusive => spec.on_inconclusive != OnInconclusive::Fail,
        Verdict::Fail | Verdict::Incomplete => false,
    };
    let ok = match spec.require {
        Require::All => gated.iter().all(acceptable),
        Require::Any => gated.iter().any(acceptable),
    };
    if ok {
        crate::error::exit::OK
    } else {
        crate::error::exit::GATE_FAILED
    }
}

#[cfg(test)]
mod tests;
