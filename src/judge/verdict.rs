//! Reading a judge's answer: the pairwise verdict or the rubric score on its last `VERDICT:` / `SCORE:` line, and
//! the two orders of a pairwise comparison combined into one un-blinded [`Choice`].
//!
//! Why this module exists: parsing happens when results are computed (`evalh run`, `evalh score`), from the judge's
//! journaled text, so a parser fix re-scores an old run offline; an answer that does not parse is counted as a parse
//! failure, never guessed.

use crate::review::{BlindChoice, Choice, Side};
use crate::suite::RubricScale;

/// The token after the last `<key>:` of `text` (case-insensitive), stripped of Markdown and punctuation.
fn last_tagged(text: &str, key: &str) -> Option<String> {
    for line in text.lines().rev() {
        let lower = line.to_ascii_lowercase();
        if let Some(at) = lower.rfind(&format!("{key}:")) {
            let rest = &line[at + key.len() + 1..];
            let tok: String = rest
                .trim()
                .trim_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_ascii_uppercase();
            return Some(tok);
        }
    }
    // A bare answer ("A", "BOTH_FINE", "4") is accepted too.
    let bare = text
        .trim()
        .trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (!bare.is_empty() && !bare.contains(char::is_whitespace)).then(|| bare.to_ascii_uppercase())
}

/// The judge's pairwise choice, in the prompt's A/B terms; None when the answer names none.
pub fn parse_pairwise(text: &str) -> Option<BlindChoice> {
    let tok = last_tagged(text, "verdict")?;
    match tok.replace([' ', '-'], "_").as_str() {
        "A" => Some(BlindChoice::ABetter),
        "B" => Some(BlindChoice::BBetter),
        "BOTH_FINE" => Some(BlindChoice::BothFine),
        "BOTH_BAD" => Some(BlindChoice::BothBad),
        _ => None,
    }
}

/// The judge's rubric score normalised to [0, 1] (1-5 → (s − 1) / 4; PASS 1, FAIL 0); None when it names none.
pub fn parse_rubric(text: &str, scale: RubricScale) -> Option<f64> {
    let tok = last_tagged(text, "score")?;
    match scale {
        RubricScale::OneToFive => match tok.parse::<u8>() {
            Ok(s @ 1..=5) => Some(f64::from(s - 1) / 4.0),
            _ => None,
        },
        RubricScale::PassFail => match tok.as_str() {
            "PASS" => Some(1.0),
            "FAIL" => Some(0.0),
            _ => None,
        },
    }
}

/// Combine the two orders of one comparison: `baseline_first` showed the baseline as A (candidate on side B),
/// `candidate_first` the candidate as A. When the un-blinded choices agree, that is the verdict; when they disagree
/// the judge's preference followed the position, not the answers, and the verdict is a tie — `tie_bad` when either
/// order found both answers unacceptable, else `tie_fine`.
pub fn combine(baseline_first: BlindChoice, candidate_first: BlindChoice) -> Choice {
    let x = baseline_first.unblind(Side::B);
    let y = candidate_first.unblind(Side::A);
    if x == y {
        x
    } else if x == Choice::TieBad || y == Choice::TieBad {
        Choice::TieBad
    } else {
        Choice::TieFine
    }
}

/// A choice's value in `judge_preference`: a win 1, a tie ½, a loss 0.
pub fn preference_value(c: Choice) -> f64 {
    match c {
        Choice::CandidateBetter => 1.0,
        Choice::TieFine | Choice::TieBad => 0.5,
        Choice::BaselineBetter => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_read_from_the_last_tagged_line() {
        assert_eq!(
            parse_pairwise("A is shorter.\nVERDICT: B"),
            Some(BlindChoice::BBetter)
        );
        assert_eq!(
            parse_pairwise("**Verdict:** `both_fine`."),
            Some(BlindChoice::BothFine)
        );
        assert_eq!(parse_pairwise("a"), Some(BlindChoice::ABetter));
        assert_eq!(
            parse_pairwise("VERDICT: A\nVERDICT: BOTH BAD"),
            Some(BlindChoice::BothBad)
        );
        assert_eq!(parse_pairwise("I think A is better"), None);
        assert_eq!(parse_pairwise("VERDICT: C"), None);
        assert_eq!(parse_pairwise(""), None);
    }

    #[test]
    fn rubric_scores_are_normalised() {
        assert_eq!(
            parse_rubric("ok\nSCORE: 5", RubricScale::OneToFive),
            Some(1.0)
        );
        assert_eq!(parse_rubric("Score: 3/5", RubricScale::OneToFive), None);
        assert_eq!(parse_rubric("SCORE: 3", RubricScale::OneToFive), Some(0.5));
        assert_eq!(parse_rubric("SCORE: 1", RubricScale::OneToFive), Some(0.0));
        assert_eq!(parse_rubric("SCORE: 6", RubricScale::OneToFive), None);
        assert_eq!(
            parse_rubric("score: pass", RubricScale::PassFail),
            Some(1.0)
        );
        assert_eq!(
            parse_rubric("SCORE: FAIL", RubricScale::PassFail),
            Some(0.0)
        );
        assert_eq!(parse_rubric("SCORE: 4", RubricScale::PassFail), None);
    }

    #[test]
    fn a_judge_that_always_picks_a_side_yields_ties() {
        use BlindChoice::*;
        assert_eq!(combine(ABetter, ABetter), Choice::TieFine);
        assert_eq!(combine(BBetter, BBetter), Choice::TieFine);
        // Consistent preferences survive the swap.
        assert_eq!(combine(BBetter, ABetter), Choice::CandidateBetter);
        assert_eq!(combine(ABetter, BBetter), Choice::BaselineBetter);
        assert_eq!(combine(BothBad, BothBad), Choice::TieBad);
        assert_eq!(combine(BothBad, ABetter), Choice::TieBad);
        assert_eq!(combine(BothFine, ABetter), Choice::TieFine);
    }
}
