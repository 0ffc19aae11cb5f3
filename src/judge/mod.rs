//! The LLM judge: a model that compares each candidate's answer with the baseline's (pairwise, both orders) or
//! scores each answer against a rubric, so open-ended outputs get evidence beyond ground-truth metrics.
//!
//! Why this module exists: ROUGE and exact matches say whether an answer resembles a reference, not whether it is
//! as good. The judge is configured like a provider (`judge:` in the suite, `crate::suite::JudgeSpec`), runs as a
//! second phase of `evalh run` (`crate::runner::execute_judge`) with its own journal ([`JUDGE_FILE`]), and its verdicts — re-read from that journal
//! whenever results are computed ([`load`]) — become the metrics `judge_preference` / `judge_score` of the metric
//! table, the judge's block in results.json, and its agreement with the blind human reviewers. The simulator plays
//! a judge with configurable noise and position bias ([`sim`]). docs/review.md documents prompts and statistics.

mod check;
mod prompt;
mod record;
mod sim;
mod tally;
mod verdict;

pub use check::check_prompt;
pub use prompt::{judged_input, reference_text, Templates};
pub use record::{
    read as read_records, JudgeRecord, Key, Order, Writer as RecordWriter, JUDGE_FILE,
};
pub use sim::{pairwise as sim_pairwise, rubric as sim_rubric};
pub use tally::{
    load, Estimate, HumanAgreement, JudgeResult, JudgeScores, JudgeSummary, PREFERENCE, SCORE,
};
pub use verdict::{combine, parse_pairwise, parse_rubric, preference_value};
