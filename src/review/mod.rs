//! Blind human review: a sampled pack of items showing the baseline's and a candidate's outputs as A and B, the
//! reviewers' exported decisions imported and un-blinded, and the statistics the report and the gate read.
//!
//! Why this module exists: ground-truth metrics say whether an answer matches a reference, not whether people find
//! the cheaper model's answers acceptable. This module turns a few dozen blind judgements into evidence with
//! intervals: `evalh review RUN_DIR` draws the pack ([`draw_pack`]; the report renders its page) and writes it ([`write_pack`]), `evalh review import` checks and
//! un-blinds the decisions ([`import`]), and [`Decisions::review_for`] gives each candidate's acceptable rate,
//! win / tie / loss, preference rate and reviewer agreement. The un-blinded [`Choice`] is also what an LLM judge's
//! pairwise verdicts will be expressed in, so judge-human agreement is a kappa over the same four categories.
//! docs/review.md explains the sampling, the blinding and the statistics.

mod choice;
mod import;
mod pack;
mod sample;
mod tally;

pub use choice::{BlindChoice, Choice, Side};
pub use import::{import, read_decisions, Decision, Imported, DECISIONS_FILE, EXPORT_FORMAT};
pub use pack::{
    draw_pack, load as load_pack, write as write_pack, Drawn, PackFile, PackItem, PackOptions,
    PackWritten, Shown, DEFAULT_N, PACKS_DIR, PACK_HTML, PACK_JSON, REVIEW_DIR,
};
pub use sample::{Draw, StratumCount};
pub use tally::{reviews_needed, tally, Agreement, ChoiceCounts, Decisions, HumanReview, Rate};
