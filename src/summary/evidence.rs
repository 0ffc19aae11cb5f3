//! The evidence contract applied to one candidate: which items count, and the statistics of every gate rule.
//!
//! Why this module exists: the gate must never decide on what is not evidence. Every request is put in one of four
//! states ([`ItemState`]); the quality and cost comparisons use only the items both sides answered and that were
//! scored (*paired* items), the error-rate rule uses every settled request, latency every successful one, and anything
//! unsettled makes the comparison incomplete. `run`, `score` and `report` all come through here, so they agree.

use crate::chat::ErrorEvidence as Kind;
use crate::gate::{
    self, Completeness, CostEvidence, ErrorEvidence, Evidence, LatencyEvidence, QualityEvidence,
};
use crate::outcome::Outcome;
use crate::score::{ProviderScores, Scorer};
use crate::stats;
use crate::suite::LoadedSuite;
use std::collections::BTreeMap;

/// What one request's latest record says (see `ErrorClass::evidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemState {
    /// A response: scored.
    Answered,
    /// A refusal about this item (context length, rejected request): scored 0, counted as an error.
    ItemError,
    /// A reliability failure that persisted through the retries: counted as an error, not scored.
    Reliability,
    /// No record, or a failure that says nothing about the provider (unreachable, unusable): not settled.
    Unsettled,
}

pub(crate) fn state_of(r: Option<&Outcome>) -> ItemState {
    match r {
        None => ItemState::Unsettled,
        Some(o) => match o.error() {
            None => ItemState::Answered,
            Some(e) => match e.class.evidence() {
                Kind::ItemAnswer => ItemState::ItemError,
                Kind::Reliability => ItemState::Reliability,
                Kind::Unreachable => ItemState::Unsettled,
            },
        },
    }
}

/// "40/40 requests failed: connection: <the most frequent message>" — the dominant failure of a provider in one line,
/// or None when nothing failed and nothing is missing.
pub(crate) fn failure_summary(all: &[&Outcome], n_requests: usize) -> Option<String> {
    // Per class: count, and per distinct cause (message with the HTTP status and the provider's error type/code).
    let mut by_class: BTreeMap<&str, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
    for r in all {
        if let Some(e) = r.error() {
            let entry = by_class.entry(e.class.as_str()).or_default();
            entry.0 += 1;
            let mut cause = e.message.clone();
            let tags: Vec<String> = [
                e.status.map(|s| format!("HTTP {s}")),
                e.error_type.as_ref().map(|t| format!("type {t}")),
                e.code.as_ref().map(|c| format!("code {c}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !tags.is_empty() {
                cause.push_str(&format!(" [{}]", tags.join(", ")));
            }
            *entry.1.entry(cause).or_insert(0) += 1;
        }
    }
    let failed: usize = by_class.values().map(|v| v.0).sum();
    let missing = n_requests - all.len();
    if failed == 0 {
        return (missing > 0).then(|| format!("{missing}/{n_requests} requests have no record"));
    }
    let (class, (_, messages)) = by_class.iter().max_by_key(|(_, v)| v.0)?;
    let (message, _) = messages.iter().max_by_key(|(_, n)| **n)?;
    let mut msg: String = message.chars().take(300).collect();
    if message.chars().count() > 300 {
        msg.push('…');
    }
    let mut line = format!("{failed}/{n_requests} requests failed: {class}: {msg}");
    if missing > 0 {
        line.push_str(&format!("; {missing} have no record"));
    }
    Some(line)
}

/// The evidence of one candidate against the baseline. `scores`, `results` and `records` are (candidate, baseline).
pub(crate) fn evidence(
    ls: &LoadedSuite,
    scorer: &Scorer,
    metric: &str,
    scores: (&ProviderScores, &ProviderScores),
    results: (&super::ProviderResult, &super::ProviderResult),
    records: (&[Option<Outcome>], &[Option<Outcome>]),
    reference: Option<&[usize]>,
) -> Evidence {
    let g = &ls.suite.gate;
    let (crec, brec) = records;
    let cstate: Vec<ItemState> = crec.iter().map(|r| state_of(r.as_ref())).collect();
    let bstate: Vec<ItemState> = brec.iter().map(|r| state_of(r.as_ref())).collect();
    let scored = |s: ItemState| matches!(s, ItemState::Answered | ItemState::ItemError);
    // Where each item's scores are: its own index, or (agreement scoring) its position among the items with a
    // reference; an item without a reference has no scores and is never paired.
    // (Under ground truth that is the item's own index, so no list of positions is built: at 1,000,000 items the
    // lists here were 40 MB beside the paired resampling.)
    let ref_pos: Option<Vec<Option<usize>>> = reference.map(|idx| {
        let mut pos = vec![None; cstate.len()];
        for (j, &i) in idx.iter().enumerate() {
            pos[i] = Some(j);
        }
        pos
    });
    let pos = |i: usize| match &ref_pos {
        None => Some(i),
        Some(p) => p[i],
    };
    let paired: Vec<usize> = (0..cstate.len())
        .filter(|&i| scored(cstate[i]) && scored(bstate[i]) && pos(i).is_some())
        .collect();
    let scored_at: std::borrow::Cow<[usize]> = match ref_pos {
        None => std::borrow::Cow::Borrowed(&paired),
        Some(_) => paired.iter().filter_map(|&i| pos(i)).collect(),
    };
    let quality = quality(ls, scorer, metric, scores, &scored_at);
    let cost = cost(ls, crec, brec, &paired);
    let errors = errors(g, &cstate, &bstate);
    let latency = latency(g.confidence, ls.suite.run.seed, crec, brec);
    let (cand, _) = scores;
    let (mut answered, mut valid) = (0u64, 0u64);
    for i in (0..cstate.len()).filter(|&i| scored(cstate[i])) {
        if let Some(at) = pos(i) {
            answered += 1;
            valid += u64::from(cand.valid[at]);
        }
    }
    let format_validity_bounds = (answered > 0).then(|| {
        let iv = stats::wilson(valid, answered, g.confidence, true);
        (iv.lower, iv.upper)
    });
    Evidence {
        metric: metric.to_string(),
        confidence: g.confidence,
        n_items: cstate.len(),
        n_paired: paired.len(),
        quality,
        cost,
        errors,
        latency,
        format_valid: (valid, answered),
        format_validity_bounds,
        completeness: Completeness {
            cand_unsettled: results.0.n_unsettled,
            base_unsettled: results.1.n_unsettled,
        },
        human: None,
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The quality ratio and its bounds on the paired items.
fn quality(
    ls: &LoadedSuite,
    scorer: &Scorer,
    metric: &str,
    (cand, base): (&ProviderScores, &ProviderScores),
    paired: &[usize],
) -> QualityEvidence {
    let g = &ls.suite.gate;
    let seed = ls.suite.run.seed;
    let theta = g.min_quality_ratio;
    let alpha = 1.0 - g.confidence;
    if paired.is_empty() {
        return QualityEvidence {
            method: "no paired items".into(),
            ..QualityEvidence::default()
        };
    }
    if let (Some(xa), Some(ya)) = (cand.per_item.get(metric), base.per_item.get(metric)) {
        let x: Vec<f64> = paired.iter().map(|&i| xa[i]).collect();
        let y: Vec<f64> = paired.iter().map(|&i| ya[i]).collect();
        let t = stats::paired_ratio_test(&x, &y, theta, g.confidence, g.bootstrap_iters, seed);
        let defined = t.mean_y > 0.0;
        let confident = if !defined {
            None
        } else if t.lower_d > 0.0 {
            Some(true)
        } else if t.upper_d < 0.0 {
            Some(false)
        } else {
            None
        };
        let mut method = format!(
            "one-sided paired t on D=x-{theta}·y, n={}, L={:.4}, U={:.4}; Fieller bound",
            t.n, t.lower_d, t.upper_d
        );
        let mut mcnemar = None;
        if x.iter().chain(y.iter()).all(|v| *v == 0.0 || *v == 1.0) {
            let b = x
                .iter()
                .zip(&y)
                .filter(|(a, b)| **a == 0.0 && **b == 1.0)
                .count() as u64;
            let c = x
                .iter()
                .zip(&y)
                .filter(|(a, b)| **a == 1.0 && **b == 0.0)
                .count() as u64;
            let m = stats::mcnemar_exact(b, c);
            method.push_str(&format!("; McNemar b={b} c={c} p={:.4}", m.p_two_sided));
            mcnemar = Some(gate::McNemarEvidence {
                b,
                c,
                p_two_sided: m.p_two_sided,
                p_candidate_worse: m.p_candidate_worse,
            });
        }
        let boot = match (
            finite(t.bootstrap_ratio_lower),
            finite(t.bootstrap_ratio_upper),
        ) {
            (Some(l), Some(h)) => Some((l, h)),
            _ => None,
        };
        return QualityEvidence {
            ratio: if defined { finite(t.ratio) } else { None },
            lower: t.fieller_lower.and_then(finite),
            upper: t.fieller_upper.and_then(finite),
            confident,
            method,
            items_needed: stats::items_needed_for_power(&x, &y, theta, alpha, 0.8),
            bootstrap_interval: boot,
            mcnemar,
        };
    }
    // A corpus metric: recomputed on the paired items, bootstrap over them.
    let all = paired.len() == cand.valid.len();
    let on = |idx: &[usize]| {
        if all {
            (
                scorer.metric_on(cand, metric, idx),
                scorer.metric_on(base, metric, idx),
            )
        } else {
            let m: Vec<usize> = idx.iter().map(|&j| paired[j]).collect();
            (
                scorer.metric_on(cand, metric, &m),
                scorer.metric_on(base, metric, &m),
            )
        }
    };
    let ident: Vec<usize> = (0..paired.len()).collect();
    let (cv, bv) = on(&ident);
    let ratio = (bv > 0.0).then(|| cv / bv).and_then(finite);
    let (lo, hi, share) = stats::paired_bootstrap_ratio(
        paired.len(),
        on,
        theta,
        g.confidence,
        g.bootstrap_iters,
        seed,
    );
    let (lo, hi) = (finite(lo), finite(hi));
    let confident = match (ratio, lo, hi) {
        (None, _, _) => None,
        (_, Some(l), _) if l >= theta => Some(true),
        (_, _, Some(h)) if h < theta => Some(false),
        _ => None,
    };
    // Power advice through the task's first mean metric (accuracy for classification, field F1 for extraction), the
    // closest per-item proxy of a corpus metric.
    let proxy = crate::metrics::metrics(ls.suite.task)
        .iter()
        .find(|d| d.kind == crate::metrics::MetricKind::Mean)
        .map_or("accuracy", |d| d.name);
    let items_needed = match (cand.per_item.get(proxy), base.per_item.get(proxy)) {
        (Some(xa), Some(ya)) => {
            let x: Vec<f64> = paired.iter().map(|&i| xa[i]).collect();
            let y: Vec<f64> = paired.iter().map(|&i| ya[i]).collect();
            stats::items_needed_for_power(&x, &y, theta, alpha, 0.8)
        }
        _ => None,
    };
    let share = if share.is_finite() {
        format!("; share of resamples >= θ {share:.3}")
    } else {
        String::new()
    };
    QualityEvidence {
        ratio,
        lower: lo,
        upper: hi,
        confident,
        method: format!(
            "paired percentile bootstrap of the corpus metric on {} items, {} resamples, seed {seed}{share}",
            paired.len(),
            g.bootstrap_iters
        ),
        items_needed,
        bootstrap_interval: lo.zip(hi),
        mcnemar: None,
    }
}

/// Cost ratio of the paired items (sums of per-item cost; cached responses valued at the provider's price), with
/// one-sided bounds from a paired bootstrap.
fn cost(
    ls: &LoadedSuite,
    crec: &[Option<Outcome>],
    brec: &[Option<Outcome>],
    paired: &[usize],
) -> CostEvidence {
    let g = &ls.suite.gate;
    let c = |r: &[Option<Outcome>], i: usize| r[i].as_ref().map_or(0.0, |o| o.cost_usd);
    let cx: Vec<f64> = paired.iter().map(|&i| c(crec, i)).collect();
    let cy: Vec<f64> = paired.iter().map(|&i| c(brec, i)).collect();
    let sy: f64 = cy.iter().sum();
    if paired.is_empty() || sy <= 0.0 || !sy.is_finite() {
        return CostEvidence::default();
    }
    let ratio = finite(cx.iter().sum::<f64>() / sy);
    let (lo, hi, _) = stats::paired_bootstrap_ratio(
        paired.len(),
        |idx| {
            (
                idx.iter().map(|&i| cx[i]).sum::<f64>(),
                idx.iter().map(|&i| cy[i]).sum::<f64>(),
            )
        },
        g.max_cost_ratio,
        g.confidence,
        g.bootstrap_iters.clamp(1, 2000),
        ls.suite.run.seed ^ 0xC057,
    );
    CostEvidence {
        ratio,
        lower: finite(lo),
        upper: finite(hi),
    }
}

/// Settled errors over settled requests on each side; Newcombe's interval of the difference.
fn errors(g: &crate::suite::GateSpec, cand: &[ItemState], base: &[ItemState]) -> ErrorEvidence {
    let count = |s: &[ItemState]| {
        let n = s.iter().filter(|x| **x != ItemState::Unsettled).count() as u64;
        let e = s
            .iter()
            .filter(|x| matches!(x, ItemState::ItemError | ItemState::Reliability))
            .count() as u64;
        (e, n)
    };
    let (ce, cn) = count(cand);
    let (be, bn) = count(base);
    let mut ev = ErrorEvidence {
        cand_errors: ce,
        cand_n: cn,
        base_errors: be,
        base_n: bn,
        ..ErrorEvidence::default()
    };
    if cn == 0 || bn == 0 {
        return ev;
    }
    let (pc, pb) = (ce as f64 / cn as f64, be as f64 / bn as f64);
    ev.increase = Some(pc - pb);
    // One-sided bounds at the gate's confidence = the two-sided interval at twice the error rate.
    let alpha = 1.0 - g.confidence;
    if let Some((lo, hi)) = stats::newcombe_diff_interval(ce, cn, be, bn, 2.0 * alpha) {
        ev.lower = finite(lo);
        ev.upper = finite(hi);
    }
    ev.items_needed =
        stats::error_rate_items_needed(pb.max(pc), g.max_error_rate_increase, alpha, 0.8);
    ev
}

/// Above this many paired latencies the order-statistic bounds are used instead of the bootstrap: they are exact at
/// any n, cost one sort, and at this size are as tight as the bootstrap (which would resample 2,000 times).
const LATENCY_BOOTSTRAP_MAX: usize = 5_000;

/// Nearest-rank value at quantile `q` of `v` (unsorted; reordered in place).
fn nearest_rank(v: &mut [f64], q: f64) -> f64 {
    let n = v.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    *v.select_nth_unstable_by(rank - 1, f64::total_cmp).1
}

/// Nearest-rank p99 of each side's successful requests and one-sided bounds of the difference: a paired percentile
/// bootstrap over the items both answered (2,000 resamples; issue 22's calibration shows it keeps false FAILs under
/// 5% at 110 items), or, above [`LATENCY_BOOTSTRAP_MAX`] paired items, distribution-free order-statistic bounds of each
/// quantile at half the error rate (Bonferroni).
fn latency(
    confidence: f64,
    seed: u64,
    crec: &[Option<Outcome>],
    brec: &[Option<Outcome>],
) -> LatencyEvidence {
    const Q: f64 = 0.99;
    // A batch answers within hours and measures no latency: its answers are left out (the rule says "batch").
    let ok = |o: &Option<Outcome>| {
        o.as_ref()
            .filter(|o| o.error().is_none() && !o.batch)
            .map(|o| o.latency_ms)
    };
    let batch = crec
        .iter()
        .chain(brec)
        .flatten()
        .filter(|o| o.error().is_none() && o.batch)
        .count();
    let lat = |r: &[Option<Outcome>]| {
        let mut v: Vec<f64> = r.iter().filter_map(ok).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (c, b) = (lat(crec), lat(brec));
    let from_cache = crec
        .iter()
        .chain(brec)
        .flatten()
        .filter(|o| o.error().is_none() && o.cached)
        .count();
    let alpha = 1.0 - confidence;
    let half = alpha / 2.0;
    let cq = stats::percentile_nearest_rank(&c, Q * 100.0);
    let bq = stats::percentile_nearest_rank(&b, Q * 100.0);
    let n = c.len().min(b.len());
    let pairs: Vec<(f64, f64)> = crec
        .iter()
        .zip(brec)
        .filter_map(|(x, y)| ok(x).zip(ok(y)))
        .collect();
    let (lower, upper) = if pairs.len() >= 2 && pairs.len() <= LATENCY_BOOTSTRAP_MAX {
        let reps = stats::bootstrap_replicates(
            pairs.len(),
            |idx| {
                let mut x: Vec<f64> = idx.iter().map(|&i| pairs[i].0).collect();
                let mut y: Vec<f64> = idx.iter().map(|&i| pairs[i].1).collect();
                nearest_rank(&mut x, Q) - nearest_rank(&mut y, Q)
            },
            2_000,
            seed ^ 0x1A7E,
        );
        let mut reps: Vec<f64> = reps.into_iter().filter(|v| v.is_finite()).collect();
        reps.sort_by(f64::total_cmp);
        (
            stats::quantile_linear(&reps, alpha),
            stats::quantile_linear(&reps, 1.0 - alpha),
        )
    } else {
        (
            stats::quantile_lower_bound(&c, Q, half)
                .zip(stats::quantile_upper_bound(&b, Q, half))
                .map(|(x, y)| x - y),
            stats::quantile_upper_bound(&c, Q, half)
                .zip(stats::quantile_lower_bound(&b, Q, half))
                .map(|(x, y)| x - y),
        )
    };
    LatencyEvidence {
        quantile: Q,
        cand: cq,
        base: bq,
        cand_n: c.len(),
        base_n: b.len(),
        from_cache,
        batch,
        increase: cq.zip(bq).map(|(x, y)| x - y),
        lower: lower.and_then(finite),
        upper: upper.and_then(finite),
        min_n: stats::min_items_for_quantile_bound(Q, alpha).unwrap_or(u64::MAX),
        boundable: stats::largest_boundable_quantile(n, alpha),
    }
}
