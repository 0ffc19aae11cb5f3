//! What `evalh validate` checks of a `judge:` entry, before anything is paid.
//!
//! Why this module exists: a judge misconfigured (a gate metric its mode does not produce, a template naming a
//! variable that does not exist, a probability above 1) would otherwise fail after the providers' requests were paid.

use super::spec::JudgeMode;
use super::tally::{PREFERENCE, SCORE};
use crate::suite::{LoadedSuite, Suite};

/// A problem with the gate metric and the judge: (message, fix); None when the metric is not a judge metric or the
/// judge produces it.
pub fn gate_metric_problem(s: &Suite) -> Option<(String, String)> {
    let metric = s.gate_metric();
    let needs = match metric.as_str() {
        PREFERENCE => JudgeMode::Pairwise,
        SCORE => JudgeMode::Rubric,
        _ => return None,
    };
    let mode = |m: JudgeMode| {
        if m == JudgeMode::Pairwise {
            "pairwise"
        } else {
            "rubric"
        }
    };
    match &s.judge {
        Some(j) if j.mode == needs => None,
        Some(j) => Some((
            format!("gate metric `{metric}` needs a {} judge, but judge.mode is {}", mode(needs), mode(j.mode)),
            format!("set judge.mode: {}, or gate on `{}`", mode(needs), if needs == JudgeMode::Pairwise { SCORE } else { PREFERENCE }),
        )),
        None => Some((
            format!("gate metric `{metric}` needs a `judge:` entry, and the suite has none"),
            format!("add e.g. `judge: {{kind: sim, model: sim-judge, mode: {}}}`, or gate on a task metric", mode(needs)),
        )),
    }
}

/// Problems of the suite's judge: (key path, message, fix).
pub fn validate(ls: &LoadedSuite) -> Vec<(Vec<&'static str>, String, String)> {
    let mut out = Vec::new();
    let Some(j) = &ls.suite.judge else {
        return out;
    };
    if let Some(sj) = j.provider.sim.as_ref().and_then(|s| s.judge) {
        for (name, v) in [("noise", sj.noise), ("position_bias", sj.position_bias)] {
            if !(0.0..=1.0).contains(&v) {
                out.push((
                    vec!["judge", "sim", "judge", name],
                    format!("judge.sim.judge.{name} is {v}; it is a probability"),
                    "use a number from 0 to 1, e.g. 0.1".to_string(),
                ));
            }
        }
    }
    if j.provider.sim.as_ref().is_some_and(|s| s.judge.is_some())
        && j.provider.kind != crate::suite::ProviderKind::Sim
    {
        out.push((
            vec!["judge", "sim"],
            format!(
                "judge.sim is set but the judge's kind is {}",
                j.provider.kind.as_str()
            ),
            "remove `sim:` or use `kind: sim`".to_string(),
        ));
    }
    if j.mode == JudgeMode::Pairwise
        && !ls
            .suite
            .providers
            .iter()
            .any(|p| p.role == crate::suite::ProviderRole::Candidate)
    {
        out.push((
            vec!["judge", "mode"],
            "a pairwise judge compares candidates with the baseline, and the suite has no candidate".to_string(),
            "add a candidate provider, or use `mode: rubric`".to_string(),
        ));
    }
    // Render the prompt once with placeholder answers: a misspelt variable fails here, not after paying.
    let prompt = j.prompt();
    let templates = match super::prompt::Templates::new(&ls.path, &prompt) {
        Ok(t) => t,
        Err(e) => {
            out.push((
                vec!["judge", "prompt"],
                e.to_string(),
                "fix the template".to_string(),
            ));
            return out;
        }
    };
    let mut first_only = ls.suite.dataset.clone();
    first_only.limit = Some(1);
    if let Ok(items) = crate::dataset::load(&ls.dataset_path, &first_only) {
        if let Some(item) = items.first() {
            let r = super::run::reference_text(item);
            let res = match j.mode {
                JudgeMode::Pairwise => {
                    templates.pairwise(item, "input", r.as_deref(), "answer a", "answer b")
                }
                JudgeMode::Rubric => templates.rubric(item, "input", r.as_deref(), "answer"),
            };
            if let Err(e) = res {
                out.push((
                    vec!["judge", "prompt"],
                    e.to_string(),
                    "pairwise prompts may use input, reference, output_a, output_b, item; rubric prompts input, \
                     reference, output, item"
                        .to_string(),
                ));
            }
        }
    }
    out
}
