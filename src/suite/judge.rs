//! The suite's `judge:` entry: a provider entry (any kind, same keys) plus how it judges.
//!
//! Why this module exists: a judge is configured exactly like a provider, so its keys are checked by the same
//! [`ProviderSpec`] schema; only `mode`, `scale` and `prompt` are the judge's own. The default prompts ship here and
//! are documented in docs/review.md; a suite overrides them with `prompt: {system, user}`.

use super::load::LoadedSuite;
use super::model::{ProviderSpec, Suite};
use crate::metrics::{JUDGE_PREFERENCE, JUDGE_SCORE};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How the judge judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeMode {
    /// Candidate vs baseline on the same input, asked in both orders.
    Pairwise,
    /// Each provider's output scored alone against a rubric.
    Rubric,
}

/// The rubric's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RubricScale {
    /// 1 (unusable) to 5 (excellent), normalised to (s − 1) / 4.
    #[default]
    #[serde(rename = "1-5")]
    OneToFive,
    /// PASS = 1, FAIL = 0.
    #[serde(rename = "pass_fail")]
    PassFail,
}

/// The judge's prompt templates (minijinja, strict undefined).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgePrompt {
    /// System message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// User message.
    pub user: String,
}

/// The `judge:` entry of a suite.
#[derive(Debug, Clone)]
pub struct JudgeSpec {
    /// The model that judges (`id` defaults to `judge`; `role` is ignored).
    pub provider: ProviderSpec,
    /// Pairwise or rubric.
    pub mode: JudgeMode,
    /// Rubric scale (rubric mode only).
    pub scale: RubricScale,
    /// Prompt override; the mode's default when absent.
    pub prompt: Option<JudgePrompt>,
}

impl<'de> Deserialize<'de> for JudgeSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut m = Map::<String, Value>::deserialize(d)?;
        let mode = match m.remove("mode") {
            Some(v) => serde_json::from_value(v)
                .map_err(|_| D::Error::custom("judge.mode must be `pairwise` or `rubric`"))?,
            None => {
                return Err(D::Error::custom(
                    "judge needs `mode: pairwise` or `mode: rubric`",
                ))
            }
        };
        let scale = match m.remove("scale") {
            Some(v) => serde_json::from_value(v)
                .map_err(|_| D::Error::custom("judge.scale must be `1-5` or `pass_fail`"))?,
            None => RubricScale::default(),
        };
        let prompt = match m.remove("prompt") {
            Some(v) => Some(
                serde_json::from_value(v)
                    .map_err(|e| D::Error::custom(format!("judge.prompt: {e}")))?,
            ),
            None => None,
        };
        m.entry("id").or_insert_with(|| Value::from("judge"));
        let provider: ProviderSpec = serde_json::from_value(Value::Object(m))
            .map_err(|e| D::Error::custom(format!("judge: {e}")))?;
        Ok(JudgeSpec {
            provider,
            mode,
            scale,
            prompt,
        })
    }
}

impl Serialize for JudgeSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut v = serde_json::to_value(&self.provider).map_err(S::Error::custom)?;
        if let Value::Object(m) = &mut v {
            m.remove("role");
            m.insert(
                "mode".into(),
                serde_json::to_value(self.mode).map_err(S::Error::custom)?,
            );
            if self.mode == JudgeMode::Rubric {
                m.insert(
                    "scale".into(),
                    serde_json::to_value(self.scale).map_err(S::Error::custom)?,
                );
            }
            if let Some(p) = &self.prompt {
                m.insert(
                    "prompt".into(),
                    serde_json::to_value(p).map_err(S::Error::custom)?,
                );
            }
        }
        v.serialize(s)
    }
}

impl JudgeSpec {
    /// Output tokens a judge call may cost at most: its `max_tokens`, else 512 (what the budget reserves per call and
    /// what `evalh plan` prices).
    pub fn max_output_tokens(&self) -> u64 {
        self.provider
            .params
            .get("max_tokens")
            .and_then(|v| v.as_u64())
            .unwrap_or(512)
    }

    /// Judge calls per item when every answer succeeds: one per provider in rubric mode, two per candidate in
    /// pairwise mode (both orders).
    pub fn calls_per_item(&self, providers: &[ProviderSpec]) -> usize {
        match self.mode {
            JudgeMode::Rubric => providers.len(),
            JudgeMode::Pairwise => {
                2 * providers
                    .iter()
                    .filter(|p| p.role == super::ProviderRole::Candidate)
                    .count()
            }
        }
    }

    /// The prompt in force: the suite's, or the mode's default.
    pub fn prompt(&self) -> JudgePrompt {
        self.prompt
            .clone()
            .unwrap_or_else(|| default_prompt(self.mode, self.scale))
    }
}

/// Shared system message of the default prompts.
const SYSTEM: &str =
    "You are an impartial evaluator of AI assistant answers. Judge substance (correctness, \
completeness, faithfulness to the input and the reference), not length or style.";

/// Default pairwise prompt: variables `input`, `reference` (empty when the dataset has none), `output_a`, `output_b`,
/// `item` (the dataset row).
pub(super) const PAIRWISE_USER: &str = "The assistant was given this task:
<task>
{{ input }}
</task>
{% if reference %}A reference answer:
<reference>
{{ reference }}
</reference>
{% endif %}Answer A:
<answer_a>
{{ output_a }}
</answer_a>
Answer B:
<answer_b>
{{ output_b }}
</answer_b>
Which answer is better? Choose one: A (A is better), B (B is better), BOTH_FINE (both acceptable and about as \
good), BOTH_BAD (neither is acceptable). Explain briefly, then end with a last line `VERDICT: <choice>`.";

/// Default 1-5 rubric prompt: variables `input`, `reference`, `output`, `item`.
pub(super) const RUBRIC_USER: &str = "The assistant was given this task:
<task>
{{ input }}
</task>
{% if reference %}A reference answer:
<reference>
{{ reference }}
</reference>
{% endif %}The assistant answered:
<answer>
{{ output }}
</answer>
Rate the answer from 1 (unusable) to 5 (as good as the reference or better): 5 correct and complete, 4 minor \
omissions, 3 usable with notable gaps, 2 mostly wrong, 1 wrong or empty. Explain briefly, then end with a last line \
`SCORE: <1-5>`.";

/// Default pass/fail rubric prompt.
pub(super) const PASS_FAIL_USER: &str = "The assistant was given this task:
<task>
{{ input }}
</task>
{% if reference %}A reference answer:
<reference>
{{ reference }}
</reference>
{% endif %}The assistant answered:
<answer>
{{ output }}
</answer>
Is the answer acceptable for a user (correct, faithful to the input, nothing important missing)? Explain briefly, \
then end with a last line `SCORE: PASS` or `SCORE: FAIL`.";

/// The default prompt of a mode.
pub fn default_prompt(mode: JudgeMode, scale: RubricScale) -> JudgePrompt {
    let user = match (mode, scale) {
        (JudgeMode::Pairwise, _) => PAIRWISE_USER,
        (JudgeMode::Rubric, RubricScale::OneToFive) => RUBRIC_USER,
        (JudgeMode::Rubric, RubricScale::PassFail) => PASS_FAIL_USER,
    };
    JudgePrompt {
        system: Some(SYSTEM.into()),
        user: user.into(),
    }
}

/// A problem with the gate metric and the judge: (message, fix); None when the metric is not a judge metric or the
/// judge produces it.
pub(super) fn gate_metric_problem(s: &Suite) -> Option<(String, String)> {
    let metric = s.gate_metric();
    let needs = match metric.as_str() {
        JUDGE_PREFERENCE => JudgeMode::Pairwise,
        JUDGE_SCORE => JudgeMode::Rubric,
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
            format!("set judge.mode: {}, or gate on `{}`", mode(needs), if needs == JudgeMode::Pairwise { JUDGE_SCORE } else { JUDGE_PREFERENCE }),
        )),
        None => Some((
            format!("gate metric `{metric}` needs a `judge:` entry, and the suite has none"),
            format!("add e.g. `judge: {{kind: sim, model: sim-judge, mode: {}}}`, or gate on a task metric", mode(needs)),
        )),
    }
}

/// Problems of the suite's `judge:` entry that its schema cannot express: (key path, message, fix). The judge's
/// prompt is checked against the dataset where the dataset is read (`crate::judge::check_prompt`).
pub(super) fn validate_judge(ls: &LoadedSuite) -> Vec<(Vec<&'static str>, String, String)> {
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
        && j.provider.kind != super::model::ProviderKind::Sim
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
            .any(|p| p.role == super::model::ProviderRole::Candidate)
    {
        out.push((
            vec!["judge", "mode"],
            "a pairwise judge compares candidates with the baseline, and the suite has no candidate".to_string(),
            "add a candidate provider, or use `mode: rubric`".to_string(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_judge_is_a_provider_entry_plus_its_own_keys() {
        let j: JudgeSpec = serde_yaml::from_str(
            "{kind: sim, model: sim-judge, mode: rubric, scale: pass_fail, params: {temperature: 0}}",
        )
        .unwrap();
        assert_eq!(j.provider.id, "judge");
        assert_eq!(j.mode, JudgeMode::Rubric);
        assert_eq!(j.scale, RubricScale::PassFail);
        assert!(j.prompt().user.contains("SCORE: PASS"));
        let back: JudgeSpec = serde_yaml::from_str(&serde_yaml::to_string(&j).unwrap()).unwrap();
        assert_eq!(back.provider.model, "sim-judge");
        assert_eq!(back.scale, RubricScale::PassFail);
    }

    #[test]
    fn a_misspelt_key_or_a_missing_mode_is_an_error() {
        let e =
            serde_yaml::from_str::<JudgeSpec>("{kind: sim, model: m, mode: pairwise, modle: x}")
                .unwrap_err();
        assert!(e.to_string().contains("modle"), "{e}");
        let e = serde_yaml::from_str::<JudgeSpec>("{kind: sim, model: m}").unwrap_err();
        assert!(e.to_string().contains("mode"), "{e}");
        let e =
            serde_yaml::from_str::<JudgeSpec>("{kind: sim, model: m, mode: vibes}").unwrap_err();
        assert!(e.to_string().contains("pairwise"), "{e}");
    }
}
