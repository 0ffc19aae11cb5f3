//! A reviewer's choice, as seen (blind: A or B) and as meant (un-blinded: candidate or baseline).
//!
//! Why this module exists: the pack shows two outputs as A and B with the candidate on a random side per item, so a
//! decision is recorded blind and only becomes evidence once un-blinded with the pack's side assignment. The
//! un-blinded [`Choice`] is the one vocabulary the statistics, an LLM judge's pairwise verdicts and the judge-human
//! agreement share.

use serde::{Deserialize, Serialize};

/// Which side of the pack an output was shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// The left / first output.
    A,
    /// The right / second output.
    B,
}

/// What a reviewer picked, in the pack's blind terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlindChoice {
    /// Output A is better.
    ABetter,
    /// Output B is better.
    BBetter,
    /// Both are acceptable and about as good.
    BothFine,
    /// Neither is acceptable.
    BothBad,
}

impl BlindChoice {
    /// Every blind choice, in the pack's key order (1-4).
    pub const ALL: [BlindChoice; 4] = [
        BlindChoice::ABetter,
        BlindChoice::BBetter,
        BlindChoice::BothFine,
        BlindChoice::BothBad,
    ];

    /// The snake_case name used in exported files.
    pub fn as_str(self) -> &'static str {
        match self {
            BlindChoice::ABetter => "a_better",
            BlindChoice::BBetter => "b_better",
            BlindChoice::BothFine => "both_fine",
            BlindChoice::BothBad => "both_bad",
        }
    }

    /// Parse an exported name.
    pub fn parse(s: &str) -> Option<BlindChoice> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What the choice means once the candidate's side is known.
    pub fn unblind(self, candidate_side: Side) -> Choice {
        match (self, candidate_side) {
            (BlindChoice::ABetter, Side::A) | (BlindChoice::BBetter, Side::B) => {
                Choice::CandidateBetter
            }
            (BlindChoice::ABetter, Side::B) | (BlindChoice::BBetter, Side::A) => {
                Choice::BaselineBetter
            }
            (BlindChoice::BothFine, _) => Choice::TieFine,
            (BlindChoice::BothBad, _) => Choice::TieBad,
        }
    }
}

/// An un-blinded choice: how the candidate's output compares with the baseline's on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The candidate's output is better (a win).
    CandidateBetter,
    /// The baseline's output is better (a loss).
    BaselineBetter,
    /// Both acceptable (a tie; the candidate is acceptable).
    TieFine,
    /// Neither acceptable (a tie; the candidate is not acceptable).
    TieBad,
}

impl Choice {
    /// Every choice; [`Choice::index`] is the position here (the category index of the kappa statistics).
    pub const ALL: [Choice; 4] = [
        Choice::CandidateBetter,
        Choice::BaselineBetter,
        Choice::TieFine,
        Choice::TieBad,
    ];

    /// Category index (0-3) for agreement statistics and confusion tables.
    pub fn index(self) -> usize {
        match self {
            Choice::CandidateBetter => 0,
            Choice::BaselineBetter => 1,
            Choice::TieFine => 2,
            Choice::TieBad => 3,
        }
    }

    /// The snake_case name used in decisions.jsonl and results.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::CandidateBetter => "candidate_better",
            Choice::BaselineBetter => "baseline_better",
            Choice::TieFine => "tie_fine",
            Choice::TieBad => "tie_bad",
        }
    }

    /// The candidate's output is acceptable: better than the baseline's, or as fine as it.
    pub fn acceptable(self) -> bool {
        matches!(self, Choice::CandidateBetter | Choice::TieFine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unblinding_follows_the_candidates_side() {
        use BlindChoice::*;
        use Choice::*;
        let table = [
            (ABetter, Side::A, CandidateBetter),
            (ABetter, Side::B, BaselineBetter),
            (BBetter, Side::A, BaselineBetter),
            (BBetter, Side::B, CandidateBetter),
            (BothFine, Side::A, TieFine),
            (BothFine, Side::B, TieFine),
            (BothBad, Side::A, TieBad),
            (BothBad, Side::B, TieBad),
        ];
        for (blind, side, meant) in table {
            assert_eq!(
                blind.unblind(side),
                meant,
                "{blind:?} with the candidate on {side:?}"
            );
        }
        for c in BlindChoice::ALL {
            assert_eq!(BlindChoice::parse(c.as_str()), Some(c));
        }
        assert_eq!(BlindChoice::parse("A better"), None);
        let idx: Vec<usize> = Choice::ALL.iter().map(|c| c.index()).collect();
        assert_eq!(idx, [0, 1, 2, 3]);
    }
}
