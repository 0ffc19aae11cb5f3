//! `evalh run`'s judge phase: after the providers' requests, the suite's LLM judge (if any) is asked what it owes.
//!
//! Why this module exists: it keeps the judge's hook in `app::run` to two lines, so the command's flow stays readable
//! and the judge can move without touching it.

use crate::dataset::Item;
use crate::error::Result;
use crate::prompt::Prompter;
use crate::runner::{JudgeOptions, JudgeOutcome};
use crate::runner::{RunOptions, RunOutcome};
use crate::suite::LoadedSuite;
use std::path::Path;

/// Run the judge phase unless the suite has no judge or the providers' phase was interrupted.
pub fn phase(
    rt: &tokio::runtime::Runtime,
    ls: &LoadedSuite,
    items: &[Item],
    prompter: &Prompter,
    run_dir: &Path,
    opts: &RunOptions,
    outcome: &RunOutcome,
) -> Result<Option<JudgeOutcome>> {
    if ls.suite.judge.is_none() || outcome.interrupted {
        return Ok(None);
    }
    let jopts = JudgeOptions {
        budget_usd: opts.max_cost_usd.or(ls.suite.run.max_cost_usd),
        cache: opts.cache.clone(),
    };
    let out = rt.block_on(crate::runner::execute_judge(
        ls, items, prompter, run_dir, &jopts,
    ))?;
    eprintln!(
        "judge: {} calls sent, {} already journaled, {} failed; evaluation cost ${:.4} (not in any provider's cost)",
        out.sent, out.resumed, out.errors, out.spent_usd
    );
    Ok(Some(out))
}

/// Why the judge phase left the run incomplete, if it did.
pub fn incomplete_reason(j: &Option<JudgeOutcome>) -> Option<String> {
    let j = j.as_ref()?;
    if j.budget_exhausted {
        Some(format!(
            "budget reached during the judge phase: {} judge calls not made (raise it with --max-cost when resuming)",
            j.missing
        ))
    } else if j.missing > 0 {
        Some(format!("{} judge calls not made (interrupted)", j.missing))
    } else if j.errors > 0 {
        Some(format!(
            "the judge could not answer {} calls (see judge.jsonl); its metric is unsettled",
            j.errors
        ))
    } else {
        None
    }
}
