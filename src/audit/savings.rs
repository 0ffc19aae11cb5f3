//! Savings: what each passing candidate would save per month if it took its feature's traffic, at the guide's
//! rollout stages, with an interval from the gate's cost-ratio bounds.
//!
//! The arithmetic: a feature spends `M` USD a month at the pinned prices (its logged spend scaled from the logs'
//! period to 30 days). A candidate whose run measured the cost ratio `r` (candidate / baseline, with one-sided bounds
//! `[lo, hi]` at the gate's confidence) saves `s × M × (1 − r)` at rollout share `s`, between `s × M × (1 − hi)` and
//! `s × M × (1 − lo)`. That assumes the feature's traffic runs on the suite's baseline today; when the logged models
//! differ from the baseline's, a note says so. Only PASS projects: INCOMPLETE, FAIL and INCONCLUSIVE candidates
//! project nothing, and the reason is printed.

use crate::error::{InputError, Result};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The guide's rollout stages (share of the feature's traffic).
pub const STAGES: [f64; 5] = [0.01, 0.05, 0.20, 0.50, 1.00];
/// Days in the projected month.
pub const MONTH_DAYS: f64 = 30.0;

/// One candidate of a run, as results.json says.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCandidate {
    /// Provider id.
    pub id: String,
    /// Model.
    pub model: String,
    /// Verdict (`PASS`, ...), `None` when the candidate has no gate result.
    pub verdict: Option<String>,
    /// The verdict's reasons.
    pub reasons: Vec<String>,
    /// Cost ratio and its bounds.
    pub cost: (Option<f64>, Option<f64>, Option<f64>),
}

/// A run directory's results, as far as savings need them.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResults {
    /// The directory.
    pub dir: PathBuf,
    /// Suite name.
    pub suite: String,
    /// Whether every request was settled.
    pub complete: bool,
    /// Baseline provider id and model.
    pub baseline: Option<(String, String)>,
    /// Candidates.
    pub candidates: Vec<RunCandidate>,
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

/// Read `DIR/results.json` (written by `evalh run`, `score` or `report`).
pub fn load_run(dir: &Path) -> Result<RunResults> {
    let path = dir.join(crate::report::RESULTS_FILE);
    let bad = |msg: String| -> crate::error::Error {
        InputError::new(&path, msg)
            .hint("pass a run directory made by `evalh run` (regenerate results.json with `evalh score DIR`)")
            .into()
    };
    if !path.is_file() {
        return Err(InputError::new(dir, "not a run directory (no results.json)")
            .hint("pass directories under reports/ made by `evalh run`; `evalh score DIR` writes results.json from the journal")
            .into());
    }
    let text = crate::suite::read_user_file(&path, "results.json")?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let suite = v["suite"]
        .as_str()
        .ok_or_else(|| bad("no `suite` name".into()))?
        .to_string();
    let providers = v["providers"]
        .as_array()
        .ok_or_else(|| bad("no `providers` list".into()))?;
    let mut baseline = None;
    let mut candidates = Vec::new();
    for p in providers {
        let id = p["id"].as_str().unwrap_or("?").to_string();
        let model = p["model"].as_str().unwrap_or("?").to_string();
        if p["role"].as_str() == Some("baseline") {
            baseline = Some((id, model));
            continue;
        }
        let g = &p["gate"];
        let cost = &g["evidence"]["cost"];
        candidates.push(RunCandidate {
            id,
            model,
            verdict: g["verdict"].as_str().map(str::to_string),
            reasons: g["reasons"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            cost: (
                num(&cost["ratio"]),
                num(&cost["lower"]),
                num(&cost["upper"]),
            ),
        });
    }
    Ok(RunResults {
        dir: dir.to_path_buf(),
        suite,
        complete: v["complete"].as_bool().unwrap_or(false),
        baseline,
        candidates,
    })
}

/// The saving at one rollout stage, USD per month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// Share of the feature's traffic.
    pub share: f64,
    /// Point estimate.
    pub saving_usd: f64,
    /// From the cost ratio's upper bound (null: unbounded).
    pub lower_usd: Option<f64>,
    /// From the cost ratio's lower bound.
    pub upper_usd: Option<f64>,
}

/// One candidate's projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateSavings {
    /// Provider id.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Verdict.
    pub verdict: String,
    /// Cost ratio (candidate / baseline) and its bounds.
    pub cost_ratio: Option<f64>,
    /// Lower bound.
    pub cost_ratio_lower: Option<f64>,
    /// Upper bound.
    pub cost_ratio_upper: Option<f64>,
    /// The projection per stage; empty when the candidate projects nothing.
    pub stages: Vec<Stage>,
    /// Why nothing is projected (non-PASS), or a caveat.
    pub note: Option<String>,
}

/// The projection for one run directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSavings {
    /// Run directory.
    pub run_dir: PathBuf,
    /// Suite.
    pub suite: String,
    /// Feature the suite stands for.
    pub feature: String,
    /// Baseline provider and model.
    pub baseline: Option<String>,
    /// The feature's requests in the logs.
    pub feature_requests: u64,
    /// The feature's cost over the logs' period.
    pub feature_cost_usd: f64,
    /// Scaled to a 30-day month.
    pub feature_monthly_cost_usd: f64,
    /// Per candidate.
    pub candidates: Vec<CandidateSavings>,
    /// Caveats.
    pub notes: Vec<String>,
}

/// All projections.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Savings {
    /// Days the logs cover (from their timestamps or `--days`).
    pub period_days: f64,
    /// Where the period comes from.
    pub period_source: String,
    /// Days in the projected month.
    pub month_days: f64,
    /// Rollout stages.
    pub stages: Vec<f64>,
    /// Per run.
    pub runs: Vec<RunSavings>,
}

/// A feature's traffic as the audit measured it.
pub struct FeatureSpend {
    /// Requests.
    pub requests: u64,
    /// Cost at the pinned prices over the logs' period.
    pub cost_usd: f64,
    /// Logged models by cost, largest first.
    pub models: Vec<(String, f64)>,
}

/// Project one run.
pub fn project(
    run: &RunResults,
    feature: &str,
    spend: &FeatureSpend,
    period_days: f64,
) -> RunSavings {
    let monthly = spend.cost_usd * MONTH_DAYS / period_days;
    let mut notes = Vec::new();
    if spend.requests == 0 {
        notes.push(format!(
            "feature `{feature}` has no traffic in these logs: nothing to project (check the feature name in `suites:`)"
        ));
    }
    if let (Some((_, base_model)), Some((top, _))) = (&run.baseline, spend.models.first()) {
        let norm = |m: &str| super::buckets::normalize_model(m);
        if !norm(top).starts_with(&norm(base_model)) && !norm(base_model).starts_with(&norm(top)) {
            notes.push(format!(
                "the feature's traffic runs mostly on `{top}`, the suite's baseline is `{base_model}`: the cost ratio was measured against that baseline"
            ));
        }
    }
    let candidates = run
        .candidates
        .iter()
        .map(|c| candidate(run, c, monthly))
        .collect();
    RunSavings {
        run_dir: run.dir.clone(),
        suite: run.suite.clone(),
        feature: feature.to_string(),
        baseline: run.baseline.as_ref().map(|(id, m)| format!("{id} ({m})")),
        feature_requests: spend.requests,
        feature_cost_usd: spend.cost_usd,
        feature_monthly_cost_usd: monthly,
        candidates,
        notes,
    }
}

fn candidate(run: &RunResults, c: &RunCandidate, monthly: f64) -> CandidateSavings {
    let verdict = c.verdict.clone().unwrap_or_else(|| "NO VERDICT".into());
    let (ratio, lo, hi) = c.cost;
    let mut out = CandidateSavings {
        provider: c.id.clone(),
        model: c.model.clone(),
        verdict: verdict.clone(),
        cost_ratio: ratio,
        cost_ratio_lower: lo,
        cost_ratio_upper: hi,
        stages: Vec::new(),
        note: None,
    };
    let first_reason = c.reasons.first().cloned().unwrap_or_default();
    let why = if !run.complete || verdict == "INCOMPLETE" {
        Some(format!("INCOMPLETE: the run did not settle every request, so there is no verdict to act on. {first_reason}"))
    } else if verdict != "PASS" {
        let what = match verdict.as_str() {
            "FAIL" => "FAIL: it did not meet the gate",
            "INCONCLUSIVE" => "INCONCLUSIVE: the run cannot tell whether it meets the gate",
            _ => "no gate verdict",
        };
        Some(format!("{what}; projects nothing. {first_reason}"))
    } else {
        None
    };
    if let Some(w) = why {
        out.note = Some(w.trim().to_string());
        return out;
    }
    let Some(r) = ratio else {
        out.note = Some("PASS without a measured cost ratio; projects nothing".into());
        return out;
    };
    out.stages = STAGES
        .iter()
        .map(|&s| Stage {
            share: s,
            saving_usd: s * monthly * (1.0 - r),
            lower_usd: hi.map(|h| s * monthly * (1.0 - h)),
            upper_usd: lo.map(|l| s * monthly * (1.0 - l)),
        })
        .collect();
    if hi.is_none() || lo.is_none() {
        out.note = Some(
            "the run has no interval for the cost ratio: the projection is a point estimate".into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(verdict: &str, complete: bool) -> RunResults {
        RunResults {
            dir: "r".into(),
            suite: "s".into(),
            complete,
            baseline: Some(("premium".into(), "gpt-4o".into())),
            candidates: vec![RunCandidate {
                id: "mini".into(),
                model: "gpt-4o-mini".into(),
                verdict: Some(verdict.into()),
                reasons: vec!["quality 0.97 ≥ 0.95".into()],
                cost: (Some(0.06), Some(0.05), Some(0.08)),
            }],
        }
    }

    #[test]
    fn pass_projects_each_stage_with_the_cost_interval() {
        let spend = FeatureSpend {
            requests: 10,
            cost_usd: 500.0,
            models: vec![("openai/gpt-4o-2024-08-06".into(), 500.0)],
        };
        // 15 days of logs: $1,000 a month.
        let s = project(&run("PASS", true), "f", &spend, 15.0);
        assert!((s.feature_monthly_cost_usd - 1000.0).abs() < 1e-9);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        let c = &s.candidates[0];
        assert_eq!(c.stages.len(), 5);
        let full = &c.stages[4];
        assert!((full.saving_usd - 940.0).abs() < 1e-9);
        assert!((full.lower_usd.unwrap() - 920.0).abs() < 1e-9);
        assert!((full.upper_usd.unwrap() - 950.0).abs() < 1e-9);
        assert!((c.stages[0].saving_usd - 9.4).abs() < 1e-9);
    }

    #[test]
    fn other_verdicts_project_nothing_and_say_why() {
        let spend = FeatureSpend {
            requests: 10,
            cost_usd: 500.0,
            models: vec![("claude-sonnet-4".into(), 500.0)],
        };
        for (v, complete, word) in [
            ("FAIL", true, "FAIL"),
            ("INCONCLUSIVE", true, "INCONCLUSIVE"),
            ("INCOMPLETE", false, "INCOMPLETE"),
            ("PASS", false, "INCOMPLETE"),
        ] {
            let s = project(&run(v, complete), "f", &spend, 30.0);
            let c = &s.candidates[0];
            assert!(c.stages.is_empty(), "{v}");
            assert!(
                c.note.as_deref().unwrap().starts_with(word),
                "{v}: {:?}",
                c.note
            );
            assert!(s.notes.iter().any(|n| n.contains("baseline is `gpt-4o`")));
        }
    }
}
