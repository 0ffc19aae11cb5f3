//! From the judge's journal to evidence: per-item judge values (for the metric table and the gate), per-candidate
//! verdict counts, `judge_preference` / `judge_score` with intervals, parse failures, and the judge's agreement with
//! the human reviewers.
//!
//! Why this module exists: the verdicts are recomputed from the journaled texts every time results are computed, so
//! `evalh score` needs no network. Definitions (docs/review.md):
//! * pairwise — the two orders combine into one [`Choice`] ([`combine`]); an order whose answer does not parse makes
//!   the item a `tie_fine` and is counted in `parse_failures`. When exactly one side's answer is a settled error,
//!   the other side wins without a judge call; both errored is `tie_bad`.
//!   `judge_preference` = (wins + ½ · ties) / items, the mean of per-item values 1 / ½ / 0; the baseline's own
//!   per-item value is ½ (it ties with itself), so the gate's ratio candidate / baseline is preference / ½.
//! * rubric — `judge_score` is the mean normalised score; an errored answer and an unparsable judge answer score 0
//!   (the latter counted in `parse_failures`).
//!
//! Intervals: as for every mean metric — Wilson when every per-item value is 0 or 1, else Student t — clamped to
//! [0, 1] (both metrics are means of values in [0, 1]).
//! A comparison the judge owes with no successful judge record is unsettled: the run is INCOMPLETE.

use super::record::{self, Key, Order};
use super::verdict::{combine, parse_pairwise, parse_rubric, preference_value};
use crate::dataset::Item;
use crate::error::Result;
use crate::journal::Record;
use crate::review::{Choice, ChoiceCounts, Decisions};
use crate::score::ProviderScores;
use crate::suite::{JudgeMode, RubricScale};
use crate::suite::{LoadedSuite, ProviderRole};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// The metric names the judge adds to the metric table.
pub const PREFERENCE: &str = crate::metrics::JUDGE_PREFERENCE;
/// See [`PREFERENCE`].
pub const SCORE: &str = crate::metrics::JUDGE_SCORE;

/// A mean in [0, 1] with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The mean.
    pub value: f64,
    /// Lower bound (Wilson for 0/1 values, else Student t; clamped to [0, 1]).
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Items.
    pub n: usize,
}

impl Estimate {
    fn of(v: &[f64], confidence: f64) -> Option<Estimate> {
        if v.is_empty() {
            return None;
        }
        let value = crate::score::mean(v);
        // As for every mean metric (`summary`): Wilson when every value is 0 or 1, else Student t.
        let iv = if v.iter().all(|x| *x == 0.0 || *x == 1.0) {
            let k = v.iter().filter(|x| **x == 1.0).count() as u64;
            crate::stats::wilson(k, v.len() as u64, confidence, true)
        } else {
            crate::stats::t_interval(v, confidence)
        };
        let clamp = |x: f64, d: f64| if x.is_nan() { d } else { x.clamp(0.0, 1.0) };
        Some(Estimate {
            value,
            lower: clamp(iv.lower, 0.0),
            upper: clamp(iv.upper, 1.0),
            n: v.len(),
        })
    }
}

/// How far the judge's pairwise verdicts agree with the human reviewers' on the items both decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HumanAgreement {
    /// (human decision, judge verdict) pairs: one per human decision on an item the judge decided.
    pub n_pairs: usize,
    /// Cohen's kappa over the four choices (null when undefined, e.g. one category only).
    pub kappa: Option<f64>,
    /// Share of pairs where the judge chose as the human did.
    pub observed_agreement: f64,
    /// `confusion[h][j]`: pairs where the human chose `choices[h]` and the judge `choices[j]`.
    pub confusion: Vec<Vec<u64>>,
    /// The category order of `confusion`.
    pub choices: Vec<&'static str>,
}

/// One provider's judge evidence in results.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeResult {
    /// `pairwise` or `rubric`.
    pub mode: JudgeMode,
    /// Items with a verdict (judged, or decided by an error).
    pub n_decided: usize,
    /// Items decided without a judge call because an answer was a settled error.
    pub n_decided_by_errors: usize,
    /// Items not judged because an answer is missing or unsettled (the run is incomplete then).
    pub n_not_judged: usize,
    /// Comparisons the judge owes with no successful judge answer (the run is INCOMPLETE when > 0).
    pub n_unsettled: usize,
    /// Judge answers with no readable verdict or score (pairwise: the item counts as a tie; rubric: scores 0).
    pub parse_failures: usize,
    /// Pairwise verdicts (candidates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<ChoiceCounts>,
    /// `judge_preference` (pairwise, candidates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge_preference: Option<Estimate>,
    /// `judge_score` (rubric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge_score: Option<Estimate>,
    /// What judging this provider cost (evaluation cost; never in the provider's own cost), USD.
    pub evaluation_cost_usd: f64,
    /// Agreement with the imported human decisions (pairwise, when there are any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub human_agreement: Option<HumanAgreement>,
}

/// The judge across the run, in results.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeSummary {
    /// The judge's id.
    pub id: String,
    /// Its client kind.
    pub kind: String,
    /// Its model.
    pub model: String,
    /// `pairwise` or `rubric`.
    pub mode: JudgeMode,
    /// Judge calls journaled.
    pub calls: usize,
    /// Of them served from the response cache.
    pub cached: usize,
    /// Unreadable answers.
    pub parse_failures: usize,
    /// Comparisons owed without a successful judge answer.
    pub unsettled: usize,
    /// Evaluation cost of the judge, USD (kept out of every candidate's cost and cost ratio).
    pub evaluation_cost_usd: f64,
    /// Unreadable lines in judge.jsonl (a torn last line after a crash).
    pub skipped_lines: usize,
}

/// One provider's per-item judge values and tallies.
#[derive(Debug, Clone, Default)]
struct PerProvider {
    values: Vec<f64>,
    choices: Vec<Option<Choice>>,
    decided: usize,
    by_errors: usize,
    not_judged: usize,
    unsettled: usize,
    parse_failures: usize,
    cost: f64,
}

/// The judge's evidence for a run, computed from the two journals.
#[derive(Debug, Clone)]
pub struct JudgeScores {
    mode: JudgeMode,
    per_provider: HashMap<String, PerProvider>,
    summary: JudgeSummary,
    /// Item id → position in the dataset (the per-item vectors' order).
    index: HashMap<String, usize>,
}

/// What a provider answered for an item: a text, a settled error, or nothing settled.
enum Answer {
    Ok,
    Failed,
    Missing,
}

fn answer(r: Option<&Record>) -> Answer {
    match r {
        Some(r) if r.error.is_none() => Answer::Ok,
        Some(r) if r.settled() => Answer::Failed,
        _ => Answer::Missing,
    }
}

/// Load the judge's evidence of `run_dir` (None when the suite has no judge).
pub fn load(ls: &LoadedSuite, items: &[Item], run_dir: &Path) -> Result<Option<JudgeScores>> {
    let Some(spec) = &ls.suite.judge else {
        return Ok(None);
    };
    let mut answers: HashMap<(String, String), Record> = HashMap::new();
    crate::journal::for_each(run_dir, |r| {
        if r.repeat == 0 {
            answers.insert((r.provider_id.clone(), r.item_id.clone()), r);
        }
    })?;
    let (judged, skipped_lines) = record::read(run_dir)?;
    let baseline = ls
        .suite
        .providers
        .iter()
        .find(|p| p.role == ProviderRole::Baseline);
    let mut per_provider = HashMap::new();
    for p in &ls.suite.providers {
        let get = |pid: &str, item: &str| answers.get(&(pid.to_string(), item.to_string()));
        let mut pp = PerProvider::default();
        for item in items {
            let mine = answer(get(&p.id, &item.id));
            match spec.mode {
                JudgeMode::Rubric => rubric_item(&mut pp, &judged, item, &p.id, mine, spec.scale),
                JudgeMode::Pairwise => {
                    let Some(b) = baseline.filter(|b| b.id != p.id) else {
                        pp.values.push(0.5);
                        pp.choices.push(None);
                        continue;
                    };
                    let theirs = answer(get(&b.id, &item.id));
                    pairwise_item(&mut pp, &judged, item, &p.id, (mine, theirs));
                }
            }
        }
        pp.cost = sorted_sum(
            judged
                .values()
                .filter(|r| r.provider_id == p.id)
                .map(|r| r.cost_usd),
        );
        per_provider.insert(p.id.clone(), pp);
    }
    let summary = JudgeSummary {
        id: spec.provider.id.clone(),
        kind: spec.provider.kind.as_str().into(),
        model: spec.provider.model.clone(),
        mode: spec.mode,
        calls: judged.len(),
        cached: judged.values().filter(|r| r.cached).count(),
        parse_failures: per_provider.values().map(|p| p.parse_failures).sum(),
        unsettled: per_provider.values().map(|p| p.unsettled).sum(),
        evaluation_cost_usd: sorted_sum(judged.values().map(|r| r.cost_usd)),
        skipped_lines,
    };
    Ok(Some(JudgeScores {
        mode: spec.mode,
        per_provider,
        summary,
        index: items.iter().map(|it| (it.id.clone(), it.index)).collect(),
    }))
}

/// A sum in a fixed order, so the map's iteration order never changes the last bit.
fn sorted_sum(it: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = it.collect();
    v.sort_by(f64::total_cmp);
    v.iter().sum()
}

/// The successful judge answer of a call, if any.
fn judge_text<'a>(
    judged: &'a HashMap<Key, record::JudgeRecord>,
    item: &str,
    p: &str,
    o: Order,
) -> Option<&'a str> {
    judged
        .get(&(item.to_string(), p.to_string(), o))
        .filter(|r| r.error.is_none())
        .map(|r| r.output_text.as_str())
}

fn rubric_item(
    pp: &mut PerProvider,
    judged: &HashMap<Key, record::JudgeRecord>,
    item: &Item,
    p: &str,
    mine: Answer,
    scale: RubricScale,
) {
    pp.choices.push(None);
    match mine {
        Answer::Missing => {
            pp.not_judged += 1;
            pp.values.push(0.0);
        }
        Answer::Failed => {
            pp.by_errors += 1;
            pp.decided += 1;
            pp.values.push(0.0);
        }
        Answer::Ok => match judge_text(judged, &item.id, p, Order::Single) {
            None => {
                pp.unsettled += 1;
                pp.values.push(0.0);
            }
            Some(t) => {
                pp.decided += 1;
                let s = parse_rubric(t, scale);
                pp.parse_failures += usize::from(s.is_none());
                pp.values.push(s.unwrap_or(0.0));
            }
        },
    }
}

fn pairwise_item(
    pp: &mut PerProvider,
    judged: &HashMap<Key, record::JudgeRecord>,
    item: &Item,
    p: &str,
    (mine, theirs): (Answer, Answer),
) {
    let choice = match (mine, theirs) {
        (Answer::Missing, _) | (_, Answer::Missing) => {
            pp.not_judged += 1;
            None
        }
        (Answer::Failed, Answer::Failed) => Some((Choice::TieBad, true)),
        (Answer::Failed, Answer::Ok) => Some((Choice::BaselineBetter, true)),
        (Answer::Ok, Answer::Failed) => Some((Choice::CandidateBetter, true)),
        (Answer::Ok, Answer::Ok) => {
            let x = judge_text(judged, &item.id, p, Order::BaselineFirst);
            let y = judge_text(judged, &item.id, p, Order::CandidateFirst);
            match (x, y) {
                (Some(x), Some(y)) => {
                    let (x, y) = (parse_pairwise(x), parse_pairwise(y));
                    pp.parse_failures += usize::from(x.is_none()) + usize::from(y.is_none());
                    Some((
                        match (x, y) {
                            (Some(x), Some(y)) => combine(x, y),
                            _ => Choice::TieFine,
                        },
                        false,
                    ))
                }
                _ => {
                    pp.unsettled += 1;
                    None
                }
            }
        }
    };
    if let Some((_, by_errors)) = choice {
        pp.decided += 1;
        pp.by_errors += usize::from(by_errors);
    }
    let c = choice.map(|(c, _)| c);
    pp.values.push(c.map_or(0.5, preference_value));
    pp.choices.push(c);
}

impl JudgeScores {
    /// The metric this judge adds to the table: `judge_preference` (pairwise) or `judge_score` (rubric).
    pub fn metric_name(&self) -> &'static str {
        match self.mode {
            JudgeMode::Pairwise => PREFERENCE,
            JudgeMode::Rubric => SCORE,
        }
    }

    /// Put the provider's per-item judge values into its scores, so the metric table's resampling, intervals and
    /// the gate read them like any mean metric.
    pub fn inject(&self, provider: &str, s: &mut ProviderScores) {
        if let Some(pp) = self.per_provider.get(provider) {
            let name = self.metric_name().to_string();
            s.metrics
                .insert(name.clone(), crate::score::mean(&pp.values));
            s.per_item.insert(name, pp.values.clone().into());
        }
    }

    /// Comparisons owed without a judge answer, over the run.
    pub fn unsettled(&self) -> usize {
        self.summary.unsettled
    }

    /// The run-level summary.
    pub fn summary(&self) -> JudgeSummary {
        self.summary.clone()
    }

    /// One provider's judge evidence; `human`/`baseline` give the judge-human agreement.
    pub fn result_for(
        &self,
        provider: &str,
        is_candidate: bool,
        baseline: Option<&str>,
        human: Option<&Decisions>,
        confidence: f64,
    ) -> Option<JudgeResult> {
        if self.mode == JudgeMode::Pairwise && !is_candidate {
            return None;
        }
        let pp = self.per_provider.get(provider)?;
        let decided: Vec<f64> = pp
            .values
            .iter()
            .zip(&pp.choices)
            .filter(|(_, c)| self.mode == JudgeMode::Rubric || c.is_some())
            .map(|(v, _)| *v)
            .collect();
        let pairwise = self.mode == JudgeMode::Pairwise && is_candidate;
        let counts = pairwise.then(|| {
            let mut c = ChoiceCounts::default();
            for ch in pp.choices.iter().flatten() {
                match ch {
                    Choice::CandidateBetter => c.candidate_better += 1,
                    Choice::BaselineBetter => c.baseline_better += 1,
                    Choice::TieFine => c.tie_fine += 1,
                    Choice::TieBad => c.tie_bad += 1,
                }
            }
            c
        });
        Some(JudgeResult {
            mode: self.mode,
            n_decided: pp.decided,
            n_decided_by_errors: pp.by_errors,
            n_not_judged: pp.not_judged,
            n_unsettled: pp.unsettled,
            parse_failures: pp.parse_failures,
            counts,
            judge_preference: if pairwise {
                Estimate::of(&decided, confidence)
            } else {
                None
            },
            judge_score: if self.mode == JudgeMode::Rubric {
                Estimate::of(&decided, confidence)
            } else {
                None
            },
            evaluation_cost_usd: pp.cost,
            human_agreement: if pairwise {
                human.and_then(|h| agreement(pp, &self.index, provider, baseline?, h))
            } else {
                None
            },
        })
    }
}

/// Cohen's kappa and the confusion between human decisions and the judge's verdicts on the same items.
fn agreement(
    pp: &PerProvider,
    index: &HashMap<String, usize>,
    candidate: &str,
    baseline: &str,
    h: &Decisions,
) -> Option<HumanAgreement> {
    let (mut hs, mut js) = (Vec::new(), Vec::new());
    for d in h
        .decisions
        .iter()
        .filter(|d| d.candidate == candidate && d.baseline == baseline)
    {
        if let Some(Some(j)) = index.get(&d.item_id).map(|&i| pp.choices[i]) {
            hs.push(d.choice.index());
            js.push(j.index());
        }
    }
    if hs.is_empty() {
        return None;
    }
    let k = Choice::ALL.len();
    let mut confusion = vec![vec![0u64; k]; k];
    for (&a, &b) in hs.iter().zip(&js) {
        confusion[a][b] += 1;
    }
    let same = hs.iter().zip(&js).filter(|(a, b)| a == b).count();
    let kappa = crate::stats::cohen_kappa(&hs, &js, k);
    Some(HumanAgreement {
        n_pairs: hs.len(),
        kappa: kappa.is_finite().then_some(kappa),
        observed_agreement: same as f64 / hs.len() as f64,
        confusion,
        choices: Choice::ALL.iter().map(|c| c.as_str()).collect(),
    })
}
