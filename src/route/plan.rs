//! The routing decision: per feature, which provider takes the traffic, what it fails over to, and who is left out
//! and why. Pure: run inputs in, [`Routes`] (the `routes.yaml` document) out.
//!
//! The rule (docs/decision.md, "Routes"): only a PASSing candidate is ever routed. The primary is the cheapest PASS
//! by cost per 1,000 items (the PASS with the lowest p99 for a latency-sensitive feature); the fallback chain is the
//! other PASSes, cheapest first, then the baseline. INCONCLUSIVE, FAIL and INCOMPLETE candidates are listed with the
//! reason. A run that is not complete has no verdicts, so its feature routes to the baseline alone.

use super::input::{check_feature_name, Features, ProviderRow, RunInput};
use crate::error::{InputError, Result};
use crate::suite::ProviderRole;
use serde::{Deserialize, Serialize};

/// The circuit breaker the migration guide asks for: stop sending to a provider whose error rate exceeds this share
/// of its requests in a window of [`BREAKER_WINDOW_S`].
pub(super) const BREAKER_ERROR_RATE: f64 = 0.02;
/// The breaker's window, seconds (five minutes).
pub(super) const BREAKER_WINDOW_S: u32 = 300;
/// Traffic assumed when the features file gives no `requests_per_minute`.
pub(super) const DEFAULT_REQUESTS_PER_MINUTE: f64 = 100.0;

/// `routes.yaml`: evalh's own description of the routes (docs/decision.md lists every field).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Routes {
    /// evalh version that wrote the file.
    pub evalh_version: String,
    /// Rollout stage: percent of each routed feature's traffic its primary takes (100 = the full route; below, the
    /// baseline takes the rest).
    pub stage_percent: u32,
    /// One entry per feature, in the order the run directories were given.
    pub features: Vec<FeatureRoute>,
}

/// The route of one feature.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureRoute {
    /// Feature name = the LiteLLM model group clients call.
    pub feature: String,
    /// Suite whose verdicts decided the route.
    pub suite: String,
    /// The run directory read.
    pub run_dir: String,
    /// Task type.
    pub task: String,
    /// Items the verdicts rest on.
    pub n_items: usize,
    /// Whether the primary was chosen by p99 instead of cost.
    pub latency_sensitive: bool,
    /// Expected peak requests per minute of the feature (features file), else evalh's default.
    pub requests_per_minute: f64,
    /// Whether `requests_per_minute` is evalh's default rather than the features file's.
    pub requests_per_minute_assumed: bool,
    /// Whether the run settled every request (an incomplete run routes the baseline only).
    pub run_complete: bool,
    /// How the primary was chosen: `cheapest_pass`, `lowest_p99_pass` or `baseline_only`.
    pub chosen_by: String,
    /// Why the route is what it is, in one sentence.
    pub note: String,
    /// The cheapest PASSing candidate, whatever the feature's latency sensitivity.
    pub cheapest_pass: Option<String>,
    /// The PASSing candidate with the lowest p99.
    pub lowest_p99_pass: Option<String>,
    /// The chain: the primary first, then each fallback in the order tried; the baseline is always last.
    pub chain: Vec<Hop>,
    /// Candidates never routed, with the reason.
    pub excluded: Vec<Excluded>,
    /// Rollback thresholds for the staged rollout (from the suite's gate).
    pub rollback: Rollback,
    /// The circuit breaker as configured for the proxy.
    pub circuit_breaker: Breaker,
}

/// One provider in a chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hop {
    /// Provider id in the suite.
    pub provider: String,
    /// baseline / candidate.
    pub role: ProviderRole,
    /// evalh provider kind.
    pub kind: String,
    /// Model.
    pub model: String,
    /// The candidate's verdict (always PASS); none for the baseline.
    pub verdict: Option<String>,
    /// Cost per 1,000 items, USD, from results.json.
    pub cost_usd_per_1k_items: Option<f64>,
    /// p99 latency in the run, ms.
    pub p99_ms: Option<f64>,
    /// Error rate in the run (null when undefined).
    pub error_rate: Option<f64>,
    /// The LiteLLM model group that holds this hop.
    pub litellm_group: String,
    /// The LiteLLM deployment id (`model_info.id`).
    pub litellm_id: String,
}

/// A candidate left out of the route.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Excluded {
    /// Provider id.
    pub provider: String,
    /// Its verdict: FAIL, INCONCLUSIVE or INCOMPLETE.
    pub verdict: String,
    /// Why (the gate's rule lines that were not a clean pass).
    pub reason: String,
}

/// Rollback thresholds of the staged rollout, from the suite's gate config, with the run's baseline figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rollback {
    /// Roll back when the candidate's error rate exceeds the baseline's by more than this (absolute share).
    pub max_error_rate_increase: f64,
    /// Roll back when the candidate's p99 exceeds the baseline's by more than this many ms.
    pub max_p99_latency_increase_ms: f64,
    /// Confidence level of the gate (the checklist's sample sizes use it).
    pub confidence: f64,
    /// The baseline's error rate in the run (null when undefined).
    pub baseline_error_rate: Option<f64>,
    /// The baseline's p99 in the run, ms.
    pub baseline_p99_ms: Option<f64>,
}

/// The proxy's stand-in for the guide's circuit breaker (docs/decision.md explains the mapping).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Breaker {
    /// The guide's threshold: error share in the window.
    pub error_rate: f64,
    /// The window, seconds (LiteLLM `cooldown_time`: the failure counter lives this long from the first failure, and
    /// a tripped deployment is skipped this long).
    pub window_s: u32,
    /// Requests per minute reaching the primary at this stage (the feature's traffic times the stage's share).
    pub primary_requests_per_minute: f64,
    /// Failures a routed candidate may have in the window; one more cools it down (LiteLLM `allowed_fails_policy`).
    pub allowed_fails: u32,
}

impl Breaker {
    /// The breaker for a primary that takes `rpm` requests per minute: trip on more than 2% of a five-minute volume.
    pub fn for_rpm(rpm: f64) -> Breaker {
        let volume = rpm * f64::from(BREAKER_WINDOW_S) / 60.0;
        // `failures > allowed` trips, so allowed = floor(2% of the volume); at least one, since LiteLLM's count mode
        // reads 0 as "not set".
        let allowed = (BREAKER_ERROR_RATE * volume + 1e-9).floor().clamp(1.0, 1e6) as u32;
        Breaker {
            error_rate: BREAKER_ERROR_RATE,
            window_s: BREAKER_WINDOW_S,
            primary_requests_per_minute: rpm,
            allowed_fails: allowed,
        }
    }
}

/// LiteLLM group names of a feature's chain: the feature itself, then `<feature>-fallback-<n>`.
pub fn group_name(feature: &str, position: usize) -> String {
    if position == 0 {
        feature.to_string()
    } else {
        format!("{feature}-fallback-{position}")
    }
}

/// Decide every feature's route, at rollout stage `stage_percent` (100 = the full route).
pub fn plan(runs: &[RunInput], features: &Features, stage_percent: u32) -> Result<Routes> {
    let mut out: Vec<FeatureRoute> = Vec::new();
    for run in runs {
        let spec = features.of(&run.results.suite);
        let feature = spec
            .feature
            .clone()
            .unwrap_or_else(|| run.results.suite.clone());
        if let Err(why) = check_feature_name(&feature) {
            let path = features.path.clone().unwrap_or_default();
            return Err(InputError::new(
                path,
                format!(
                    "suite `{}` becomes feature `{feature}`, which {why}",
                    run.results.suite
                ),
            )
            .hint(format!(
                "map it to a valid name in --features, e.g. `{}: {{feature: my-feature}}`",
                run.results.suite
            ))
            .into());
        }
        if let Some(prev) = out.iter().find(|f| f.feature == feature) {
            return Err(InputError::new(
                run.dir.join(crate::report::RESULTS_FILE),
                format!(
                    "feature `{feature}` would get two routes: from {} (suite `{}`) and from {} (suite `{}`)",
                    prev.run_dir, prev.suite, run.dir.display(), run.results.suite
                ),
            )
            .hint("pass one run per suite, and map different suites to different features in --features")
            .into());
        }
        let rpm = spec
            .requests_per_minute
            .unwrap_or(DEFAULT_REQUESTS_PER_MINUTE);
        let mut f = route_one(run, &feature, spec.latency_sensitive, rpm, stage_percent)?;
        f.requests_per_minute_assumed = spec.requests_per_minute.is_none();
        out.push(f);
    }
    check_group_names(&out)?;
    Ok(Routes {
        evalh_version: env!("CARGO_PKG_VERSION").to_string(),
        stage_percent,
        features: out,
    })
}

/// Group names are unique across features (feature `a-fallback-1` would clash with feature `a`'s first fallback).
fn check_group_names(routes: &[FeatureRoute]) -> Result<()> {
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    for f in routes {
        for h in &f.chain {
            if let Some(other) = seen.insert(&h.litellm_group, &f.feature) {
                return Err(InputError::new(
                    "",
                    format!(
                        "features `{other}` and `{}` both need the LiteLLM model group `{}`",
                        f.feature, h.litellm_group
                    ),
                )
                .hint("rename one of them in --features")
                .into());
            }
        }
    }
    Ok(())
}

fn hop(p: &ProviderRow, feature: &str, position: usize) -> Hop {
    Hop {
        provider: p.id.clone(),
        role: p.role,
        kind: p.kind.clone(),
        model: p.model.clone(),
        verdict: p.gate.as_ref().map(|g| g.verdict.clone()),
        cost_usd_per_1k_items: p.cost_usd_per_1k_items,
        p99_ms: p.latency_ms.p99,
        error_rate: p.error_rate,
        litellm_group: group_name(feature, position),
        litellm_id: format!("{feature}.{}", p.id),
    }
}

/// The gate's reason lines without their statistical detail in brackets, joined.
fn reason_of(p: &ProviderRow) -> String {
    let lines: Vec<String> = p
        .gate
        .as_ref()
        .map(|g| {
            g.reasons
                .iter()
                .filter(|r| !r.starts_with("baseline failed on"))
                .map(|r| match r.find(" [") {
                    Some(i) => r[..i].to_string(),
                    None => r.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    if lines.is_empty() {
        "no gate result".into()
    } else {
        lines.join("; ")
    }
}

/// Ascending by the key, missing values last, ties by provider id.
fn by_key(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    let k = |x: Option<f64>| x.filter(|v| v.is_finite()).unwrap_or(f64::INFINITY);
    k(a).total_cmp(&k(b))
}

fn route_one(
    run: &RunInput,
    feature: &str,
    latency_sensitive: bool,
    rpm: f64,
    stage_percent: u32,
) -> Result<FeatureRoute> {
    let r = &run.results;
    let Some(baseline) = r
        .providers
        .iter()
        .find(|p| p.role == ProviderRole::Baseline)
    else {
        return Err(crate::error::Error::Internal(format!(
            "{}: no baseline (load_run checks there is one)",
            run.dir.display()
        )));
    };
    let mut passing: Vec<&ProviderRow> = Vec::new();
    let mut excluded = Vec::new();
    for p in r
        .providers
        .iter()
        .filter(|p| p.role == ProviderRole::Candidate)
    {
        let verdict = p
            .gate
            .as_ref()
            .map(|g| g.verdict.as_str())
            .unwrap_or("NONE");
        if r.complete && verdict == "PASS" {
            passing.push(p);
        } else {
            let (verdict, reason) = if r.complete {
                (verdict.to_string(), reason_of(p))
            } else {
                (
                    "INCOMPLETE".to_string(),
                    "the run did not settle every request, so no candidate has a verdict"
                        .to_string(),
                )
            };
            excluded.push(Excluded {
                provider: p.id.clone(),
                verdict,
                reason,
            });
        }
    }
    passing.sort_by(|a, b| {
        by_key(a.cost_usd_per_1k_items, b.cost_usd_per_1k_items).then(a.id.cmp(&b.id))
    });
    let cheapest = passing.first().map(|p| p.id.clone());
    let fastest = passing
        .iter()
        .min_by(|a, b| by_key(a.latency_ms.p99, b.latency_ms.p99).then(a.id.cmp(&b.id)))
        .map(|p| p.id.clone());
    let mut order: Vec<&ProviderRow> = passing.clone();
    let chosen_by = if passing.is_empty() {
        "baseline_only"
    } else if latency_sensitive {
        if let Some(i) = order.iter().position(|p| Some(&p.id) == fastest.as_ref()) {
            let f = order.remove(i);
            order.insert(0, f);
        }
        "lowest_p99_pass"
    } else {
        "cheapest_pass"
    };
    order.push(baseline);
    let chain: Vec<Hop> = order
        .iter()
        .enumerate()
        .map(|(i, p)| hop(p, feature, i))
        .collect();
    let note = note_for(run, chosen_by, &chain, &excluded);
    Ok(FeatureRoute {
        feature: feature.to_string(),
        suite: r.suite.clone(),
        run_dir: run.dir.display().to_string(),
        task: r.task.clone(),
        n_items: r.n_items,
        latency_sensitive,
        requests_per_minute: rpm,
        requests_per_minute_assumed: false,
        run_complete: r.complete,
        chosen_by: chosen_by.to_string(),
        note,
        cheapest_pass: cheapest,
        lowest_p99_pass: fastest,
        chain,
        excluded,
        rollback: Rollback {
            max_error_rate_increase: r.gate_config.max_error_rate_increase,
            max_p99_latency_increase_ms: r.gate_config.max_p99_latency_increase_ms,
            confidence: r.gate_config.confidence,
            baseline_error_rate: baseline.error_rate,
            baseline_p99_ms: baseline.latency_ms.p99,
        },
        // The breaker counts the primary's failures: it sees its stage's share of the feature's traffic.
        circuit_breaker: Breaker::for_rpm(rpm * f64::from(stage_percent) / 100.0),
    })
}

fn note_for(run: &RunInput, chosen_by: &str, chain: &[Hop], excluded: &[Excluded]) -> String {
    let base = &chain[chain.len() - 1].provider;
    let r = &run.results;
    if !r.complete {
        let unsettled: usize = r.unsettled_by_reason.values().sum();
        return format!(
            "incomplete run ({unsettled} request(s) unsettled): no verdicts, so nothing but the baseline {base} is routed; \
             finish it with evalh run --resume {}",
            run.dir.display()
        );
    }
    match chosen_by {
        "baseline_only" if excluded.is_empty() => {
            format!("the suite has no candidate; the baseline {base} keeps the traffic")
        }
        "baseline_only" => {
            format!("no candidate passed the gate; the baseline {base} keeps the traffic")
        }
        "lowest_p99_pass" => format!(
            "latency-sensitive: {} has the lowest p99 of the {} passing candidate(s)",
            chain[0].provider,
            chain.len() - 1
        ),
        _ => format!(
            "{} is the cheapest of the {} passing candidate(s)",
            chain[0].provider,
            chain.len() - 1
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::input::{GateRow, LatencyRow, RunResults};

    fn row(
        id: &str,
        role: ProviderRole,
        verdict: Option<&str>,
        cost: f64,
        p99: f64,
    ) -> ProviderRow {
        ProviderRow {
            id: id.into(),
            role,
            kind: "sim".into(),
            model: format!("m-{id}"),
            error_rate: Some(0.0),
            cost_usd_per_1k_items: Some(cost),
            latency_ms: LatencyRow {
                p50: Some(p99 / 2.0),
                p99: Some(p99),
            },
            gate: verdict.map(|v| GateRow {
                verdict: v.into(),
                gated: true,
                quality_ratio: Some(1.0),
                cost_ratio: Some(0.1),
                reasons: vec![
                    "baseline failed on 0/100 items (<= 5.0% allowed)".into(),
                    format!("quality ratio 0.9, 95% lower bound 0.8 < 0.95: {v} [detail]"),
                ],
            }),
        }
    }

    fn run(complete: bool, providers: Vec<ProviderRow>) -> RunInput {
        let suite: crate::suite::Suite = serde_yaml::from_str(
            "version: 1\nname: s\ntask: classification\ndataset: {path: d.jsonl, id: id, expected: label}\n\
             labels: [a, b]\nprompt: {user: x}\nproviders: []\n",
        )
        .unwrap();
        RunInput {
            dir: "reports/s-1".into(),
            results: RunResults {
                suite: "s".into(),
                task: "classification".into(),
                n_items: 100,
                complete,
                unsettled_by_reason: if complete {
                    Default::default()
                } else {
                    [("missing".to_string(), 7)].into()
                },
                gate_config: suite.gate.clone(),
                providers,
            },
            suite,
        }
    }

    fn ids(f: &FeatureRoute) -> Vec<&str> {
        f.chain.iter().map(|h| h.provider.as_str()).collect()
    }

    fn four() -> Vec<ProviderRow> {
        vec![
            row("base", ProviderRole::Baseline, None, 10.0, 900.0),
            row("mid", ProviderRole::Candidate, Some("PASS"), 2.0, 400.0),
            row("cheap", ProviderRole::Candidate, Some("PASS"), 1.0, 800.0),
            row(
                "unsure",
                ProviderRole::Candidate,
                Some("INCONCLUSIVE"),
                0.1,
                100.0,
            ),
            row("bad", ProviderRole::Candidate, Some("FAIL"), 0.2, 100.0),
        ]
    }

    #[test]
    fn cheapest_pass_then_other_passes_then_baseline() {
        let routes = plan(&[run(true, four())], &Features::default(), 100).unwrap();
        let f = &routes.features[0];
        assert_eq!(ids(f), ["cheap", "mid", "base"]);
        assert_eq!(f.chosen_by, "cheapest_pass");
        assert_eq!(f.chain[0].litellm_group, "s");
        assert_eq!(f.chain[2].litellm_group, "s-fallback-2");
        let ex: Vec<(&str, &str)> = f
            .excluded
            .iter()
            .map(|e| (e.provider.as_str(), e.verdict.as_str()))
            .collect();
        assert_eq!(ex, [("unsure", "INCONCLUSIVE"), ("bad", "FAIL")]);
        assert!(f.excluded[0].reason.starts_with("quality ratio 0.9"));
        assert!(!f.excluded[0].reason.contains("[detail]"));
        assert_eq!(f.lowest_p99_pass.as_deref(), Some("mid"));
    }

    #[test]
    fn latency_sensitive_takes_the_lowest_p99_pass_never_an_unproven_one() {
        let mut feats = Features::default();
        feats.by_suite.insert(
            "s".into(),
            crate::route::input::FeatureSpec {
                feature: Some("triage".into()),
                latency_sensitive: true,
                requests_per_minute: Some(600.0),
            },
        );
        let routes = plan(&[run(true, four())], &feats, 100).unwrap();
        let f = &routes.features[0];
        // "unsure" and "bad" are faster still, but not PASS.
        assert_eq!(ids(f), ["mid", "cheap", "base"]);
        assert_eq!(f.chosen_by, "lowest_p99_pass");
        assert_eq!(f.feature, "triage");
        assert_eq!(f.chain[1].litellm_group, "triage-fallback-1");
        // 600 rpm * 5 min = 3000 requests; 2% = 60.
        assert_eq!(f.circuit_breaker.allowed_fails, 60);
        assert!(!f.requests_per_minute_assumed);
        // At the 5% stage the primary sees 30 requests/min: 150 per five minutes, 2% = 3.
        let staged = plan(&[run(true, four())], &feats, 5).unwrap();
        assert_eq!(staged.features[0].circuit_breaker.allowed_fails, 3);
        assert_eq!(staged.stage_percent, 5);
    }

    #[test]
    fn incomplete_run_routes_the_baseline_only() {
        let routes = plan(&[run(false, four())], &Features::default(), 100).unwrap();
        let f = &routes.features[0];
        assert_eq!(ids(f), ["base"]);
        assert_eq!(f.chosen_by, "baseline_only");
        assert!(f.excluded.iter().all(|e| e.verdict == "INCOMPLETE"));
        assert_eq!(
            f.excluded.len(),
            4,
            "the PASSes of an incomplete run are not routed either"
        );
        assert!(
            f.note.contains("incomplete run (7 request(s) unsettled)"),
            "{}",
            f.note
        );
    }

    #[test]
    fn no_pass_routes_the_baseline() {
        let p = vec![
            row("base", ProviderRole::Baseline, None, 10.0, 900.0),
            row(
                "unsure",
                ProviderRole::Candidate,
                Some("INCONCLUSIVE"),
                0.1,
                100.0,
            ),
        ];
        let f = &plan(&[run(true, p)], &Features::default(), 100)
            .unwrap()
            .features[0];
        assert_eq!(ids(f), ["base"]);
        assert!(f.note.contains("no candidate passed"), "{}", f.note);
        assert_eq!(f.cheapest_pass, None);
    }

    #[test]
    fn two_runs_for_one_feature_is_bad_input() {
        let e = plan(
            &[run(true, four()), run(true, four())],
            &Features::default(),
            100,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("two routes"), "{e}");
    }

    #[test]
    fn breaker_is_two_percent_of_five_minutes_at_least_one() {
        assert_eq!(Breaker::for_rpm(100.0).allowed_fails, 10);
        assert_eq!(Breaker::for_rpm(1.0).allowed_fails, 1);
        assert_eq!(Breaker::for_rpm(1000.0).allowed_fails, 100);
        assert_eq!(Breaker::for_rpm(30.0).allowed_fails, 3);
    }
}
