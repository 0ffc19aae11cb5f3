//! The simulator playing a judge, so judge runs, the demo and the tests work offline.
//!
//! Why this module exists: a real judge needs a key and the network. The simulated judge answers in the same text
//! form a real one is asked for (`VERDICT: A`, `SCORE: 4`), so the same parser reads it, and behaves like a judge
//! with known flaws: it prefers the answer closest to the reference (token-set F1), answers at random with
//! probability `noise`, and picks side A regardless of the answers with probability `position_bias` — the bias the
//! two-order pairwise protocol must cancel. Every draw is a function of the run seed and the comparison, so a run
//! is reproducible and a resume asks the same questions and gets the same answers.

use crate::suite::SimJudgeSpec;
use std::collections::HashSet;

/// Token-set F1 between two texts (lower-cased alphanumeric words); 1 for two empty texts.
pub(super) fn closeness(a: &str, b: &str) -> f64 {
    let words = |s: &str| -> HashSet<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (x, y) = (words(a), words(b));
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let common = x.intersection(&y).count() as f64;
    2.0 * common / (x.len() + y.len()) as f64
}

/// Uniform draws in [0, 1) for one judge call, from the run seed and the call's identity.
struct Draws {
    state: blake3::OutputReader,
}

impl Draws {
    fn new(seed: u64, key: &str) -> Draws {
        let mut h = blake3::Hasher::new();
        h.update(b"evalh-sim-judge");
        h.update(&seed.to_le_bytes());
        h.update(key.as_bytes());
        Draws {
            state: h.finalize_xof(),
        }
    }
    fn next(&mut self) -> f64 {
        let mut b = [0u8; 8];
        self.state.fill(&mut b);
        (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Two answers this close in closeness to the reference are "about as good".
const TIE_MARGIN: f64 = 0.02;
/// A tie at or above this closeness is `BOTH_FINE`, below it `BOTH_BAD`.
const FINE_AT: f64 = 0.35;

/// The simulated judge's pairwise answer text for answers `a` and `b` given `reference` (None: no reference, the
/// judge sees no difference it can ground and calls it `BOTH_FINE`).
pub fn pairwise(
    spec: &SimJudgeSpec,
    seed: u64,
    key: &str,
    reference: Option<&str>,
    a: &str,
    b: &str,
) -> String {
    let mut d = Draws::new(seed, key);
    let (bias, noise) = (d.next(), d.next());
    let pick = d.next();
    let choice = if bias < spec.position_bias {
        "A"
    } else if noise < spec.noise {
        ["A", "B", "BOTH_FINE", "BOTH_BAD"][((pick * 4.0) as usize).min(3)]
    } else {
        match reference {
            None => "BOTH_FINE",
            Some(r) => {
                let (ca, cb) = (closeness(a, r), closeness(b, r));
                if (ca - cb).abs() < TIE_MARGIN {
                    if ca.max(cb) >= FINE_AT {
                        "BOTH_FINE"
                    } else {
                        "BOTH_BAD"
                    }
                } else if ca > cb {
                    "A"
                } else {
                    "B"
                }
            }
        }
    };
    format!("Compared both answers with the reference.\nVERDICT: {choice}")
}

/// The simulated judge's rubric answer: 1-5 from the closeness to the reference (PASS at 3 or more), a uniform
/// random score with probability `noise`; without a reference every answer scores 4 (PASS).
pub fn rubric(
    spec: &SimJudgeSpec,
    seed: u64,
    key: &str,
    reference: Option<&str>,
    output: &str,
    pass_fail: bool,
) -> String {
    let mut d = Draws::new(seed, key);
    let (noise, pick) = (d.next(), d.next());
    let score = if noise < spec.noise {
        1 + ((pick * 5.0) as u32).min(4)
    } else {
        match reference {
            None => 4,
            Some(r) => 1 + (closeness(output, r) * 4.0).round() as u32,
        }
    };
    let shown = if pass_fail {
        if score >= 3 { "PASS" } else { "FAIL" }.to_string()
    } else {
        score.to_string()
    };
    format!("Compared the answer with the reference.\nSCORE: {shown}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::parse_pairwise;
    use crate::review::BlindChoice;

    fn spec(noise: f64, position_bias: f64) -> SimJudgeSpec {
        SimJudgeSpec {
            noise,
            position_bias,
        }
    }

    #[test]
    fn an_unbiased_noiseless_judge_prefers_the_answer_closest_to_the_reference() {
        let r = Some("the cat sat on the mat");
        let t = pairwise(
            &spec(0.0, 0.0),
            1,
            "k",
            r,
            "a dog ran",
            "the cat sat on a mat",
        );
        assert_eq!(parse_pairwise(&t), Some(BlindChoice::BBetter));
        let t = pairwise(
            &spec(0.0, 0.0),
            1,
            "k",
            r,
            "the cat sat on the mat",
            "the cat sat on the mat",
        );
        assert_eq!(parse_pairwise(&t), Some(BlindChoice::BothFine));
    }

    #[test]
    fn a_fully_position_biased_judge_always_says_a() {
        for i in 0..50 {
            let t = pairwise(&spec(0.0, 1.0), 7, &i.to_string(), Some("x"), "y", "x");
            assert_eq!(parse_pairwise(&t), Some(BlindChoice::ABetter));
        }
    }

    #[test]
    fn noise_rate_is_honoured_and_draws_are_reproducible() {
        let s = spec(0.5, 0.0);
        let n = 4000;
        let mut not_b = 0;
        for i in 0..n {
            let t = pairwise(&s, 3, &i.to_string(), Some("x"), "y", "x");
            assert_eq!(t, pairwise(&s, 3, &i.to_string(), Some("x"), "y", "x"));
            if parse_pairwise(&t) != Some(BlindChoice::BBetter) {
                not_b += 1;
            }
        }
        // Noise answers at random (B a quarter of the time): 0.5 × 0.75 = 0.375 of the answers are not B.
        let share = not_b as f64 / n as f64;
        assert!((share - 0.375).abs() < 0.03, "{share}");
    }

    #[test]
    fn rubric_scores_follow_closeness() {
        let s = spec(0.0, 0.0);
        assert!(rubric(&s, 1, "k", Some("a b c d"), "a b c d", false).ends_with("SCORE: 5"));
        assert!(rubric(&s, 1, "k", Some("a b c d"), "x y z", false).ends_with("SCORE: 1"));
        assert!(rubric(&s, 1, "k", Some("a b c d"), "x y z", true).ends_with("SCORE: FAIL"));
    }
}
