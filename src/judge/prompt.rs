//! Rendering the judge's prompt (minijinja, strict undefined, the same fuel limit as the suite's prompts).
//!
//! Why this module exists: the judge's prompt is user-editable like the task prompt, so a typo (`{{ ouput }}`) must
//! be a file:line-style error before anything is paid, not a judge asked about an empty answer.

use crate::chat::{Message, Role};
use crate::dataset::Item;
use crate::error::{InputError, Result};
use crate::suite::JudgePrompt;
use minijinja::{context, Environment, UndefinedBehavior};
use std::path::{Path, PathBuf};

/// The judge's compiled templates.
pub struct Templates {
    env: Environment<'static>,
    has_system: bool,
    suite: PathBuf,
}

impl Templates {
    /// Compile `prompt`; a syntax error names the suite file and `judge.prompt`.
    pub fn new(suite: &Path, prompt: &JudgePrompt) -> Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(crate::prompt::FUEL));
        let bad = |what: &str, e: minijinja::Error| {
            InputError::new(suite, format!("judge.prompt.{what}: {e}"))
                .hint("judge templates use minijinja syntax; see docs/review.md for the variables")
        };
        if let Some(s) = &prompt.system {
            env.add_template_owned("system", s.clone())
                .map_err(|e| bad("system", e))?;
        }
        env.add_template_owned("user", prompt.user.clone())
            .map_err(|e| bad("user", e))?;
        Ok(Templates {
            env,
            has_system: prompt.system.is_some(),
            suite: suite.to_path_buf(),
        })
    }

    fn render(&self, ctx: minijinja::Value) -> Result<Vec<Message>> {
        let mut out = Vec::new();
        let names: &[(&str, Role)] = if self.has_system {
            &[("system", Role::System), ("user", Role::User)]
        } else {
            &[("user", Role::User)]
        };
        for (name, role) in names {
            let t = self
                .env
                .get_template(name)
                .map_err(|e| InputError::new(&self.suite, format!("judge.prompt.{name}: {e}")))?;
            let content = t.render(&ctx).map_err(|e| {
                InputError::new(&self.suite, format!("judge.prompt.{name}: {e}")).hint(
                    "pairwise prompts may use input, reference, output_a, output_b, item; rubric prompts input, \
                     reference, output, item",
                )
            })?;
            out.push(Message {
                role: *role,
                content,
            });
        }
        Ok(out)
    }

    /// The pairwise prompt for answers `a` and `b`.
    pub fn pairwise(
        &self,
        item: &Item,
        input: &str,
        reference: Option<&str>,
        a: &str,
        b: &str,
    ) -> Result<Vec<Message>> {
        self.render(context! {
            input => input,
            reference => reference.unwrap_or(""),
            output_a => a,
            output_b => b,
            item => minijinja::Value::from_serialize(item.fields()),
        })
    }

    /// The prompt of the judge's `mode` with one answer per side: `a` and `b` in pairwise mode, `a` alone in
    /// rubric mode (checks and estimates that do not need the real calls' orders).
    pub fn for_mode(
        &self,
        mode: crate::suite::JudgeMode,
        item: &Item,
        input: &str,
        reference: Option<&str>,
        a: &str,
        b: &str,
    ) -> Result<Vec<Message>> {
        match mode {
            crate::suite::JudgeMode::Pairwise => self.pairwise(item, input, reference, a, b),
            crate::suite::JudgeMode::Rubric => self.rubric(item, input, reference, a),
        }
    }

    /// The rubric prompt for `output`.
    pub fn rubric(
        &self,
        item: &Item,
        input: &str,
        reference: Option<&str>,
        output: &str,
    ) -> Result<Vec<Message>> {
        self.render(context! {
            input => input,
            reference => reference.unwrap_or(""),
            output => output,
            item => minijinja::Value::from_serialize(item.fields()),
        })
    }
}

/// What the judge sees as an item's input: the last user message of the prompt the baseline was sent.
pub fn judged_input(
    prompter: &crate::prompt::Prompter,
    item: &Item,
    baseline: &str,
) -> Result<String> {
    Ok(prompter
        .messages(item, baseline)?
        .into_iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.content)
        .unwrap_or_default())
}

/// The item's reference as judge-prompt text: a string as is, anything else as JSON; None when absent.
pub fn reference_text(item: &Item) -> Option<String> {
    match &item.expected {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) if s.is_empty() => None,
        serde_json::Value::String(s) => Some(s.clone()),
        v => Some(v.to_string()),
    }
}
