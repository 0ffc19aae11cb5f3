//! What `evalh validate` checks of a `judge:` entry's prompt, before anything is paid: it compiles, and it renders
//! with the dataset's first item (the schema-level checks of `judge:` are the suite's, in `crate::suite`).
//!
//! Why this module exists: a judge misconfigured (a template naming a variable that does not exist) would otherwise
//! fail after the providers' requests were paid. It runs where the dataset is read (`app::prepare`), as the
//! providers' own templates are checked.

use crate::dataset::Item;
use crate::error::InputError;
use crate::suite::LoadedSuite;

/// Problems of the judge's prompt with the suite's `items` (the first one renders it), each located at its key.
pub fn check_prompt(ls: &LoadedSuite, items: &[Item]) -> Vec<InputError> {
    let Some(j) = &ls.suite.judge else {
        return Vec::new();
    };
    let at = |msg: String| ls.error_at(&["judge", "prompt"], msg);
    // Render the prompt once with placeholder answers: a misspelt variable fails here, not after paying.
    let prompt = j.prompt();
    let templates = match super::prompt::Templates::new(&ls.path, &prompt) {
        Ok(t) => t,
        Err(e) => {
            return vec![at(e.to_string()).hint("fix the template")];
        }
    };
    let Some(item) = items.first() else {
        return Vec::new();
    };
    let r = super::prompt::reference_text(item);
    let res = templates.for_mode(j.mode, item, "input", r.as_deref(), "answer a", "answer b");
    match res {
        Ok(_) => Vec::new(),
        Err(e) => vec![at(e.to_string()).hint(
            "pairwise prompts may use input, reference, output_a, output_b, item; rubric prompts input, reference, \
             output, item",
        )],
    }
}
