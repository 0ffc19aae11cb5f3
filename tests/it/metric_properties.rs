//! Property tests of the scorers over random inputs (seeded, hand-rolled generator): identical texts score 1,
//! empty inputs score 0, and results are invariant under the permutations where the definition says they must be.

use evalh::metrics::{
    check_calls, classification_report, normalize_answer, squad_best, squad_exact_match, squad_f1,
    ExpectedCall, RougeScorer,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const WORDS: &[&str] = &[
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "running",
    "generously",
    "report",
    "markets",
    "3rd",
    "2024",
    "naïve",
    "don't",
    "flood",
];

fn text(rng: &mut ChaCha8Rng, max_words: usize) -> String {
    let n = rng.random_range(1..=max_words);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(if rng.random_bool(0.1) { '\n' } else { ' ' });
        }
        s.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    s
}

#[test]
fn rouge_identical_is_one_empty_is_zero_and_unigram_f_is_symmetric() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for stem in [false, true] {
        let sc = RougeScorer::new(stem);
        for _ in 0..300 {
            let a = text(&mut rng, 30);
            let same = sc.score(&a, &a);
            for p in [same.rouge1, same.rouge_l, same.rouge_lsum] {
                assert_eq!(p.fmeasure, 1.0, "{a:?}");
            }
            let zero = sc.score(&a, "");
            assert_eq!(
                zero.rouge1.fmeasure + zero.rouge_l.fmeasure + zero.rouge_lsum.fmeasure,
                0.0
            );
            let b = text(&mut rng, 30);
            assert_eq!(
                sc.score(&a, &b).rouge1.fmeasure,
                sc.score(&b, &a).rouge1.fmeasure
            );
            assert_eq!(
                sc.score(&a, &b).rouge_l.fmeasure,
                sc.score(&b, &a).rouge_l.fmeasure
            );
            // Multi-reference: the best F does not depend on the order of the references.
            let refs = vec![a.clone(), b.clone(), text(&mut rng, 10)];
            let mut shuffled = refs.clone();
            shuffled.shuffle(&mut rng);
            let c = text(&mut rng, 20);
            assert_eq!(
                sc.score_multi(&refs, &c).rouge_lsum.fmeasure,
                sc.score_multi(&shuffled, &c).rouge_lsum.fmeasure
            );
        }
        assert_eq!(
            sc.score("", "").rouge1.fmeasure,
            0.0,
            "both empty is 0, as in rouge-score"
        );
    }
}

#[test]
fn squad_identical_is_one_and_em_implies_f1() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for _ in 0..300 {
        let a = text(&mut rng, 8);
        let (em, f1) = squad_best(&a, std::slice::from_ref(&a));
        if !normalize_answer(&a).is_empty() {
            assert_eq!((em, f1), (1.0, 1.0), "{a:?}");
        }
        let b = text(&mut rng, 8);
        if squad_exact_match(&b, &a) == 1.0 && !normalize_answer(&a).is_empty() {
            assert_eq!(squad_f1(&b, &a), 1.0);
        }
        assert!((0.0..=1.0).contains(&squad_f1(&b, &a)));
    }
    assert_eq!(
        squad_f1("", ""),
        0.0,
        "SQuAD v1.1: no common tokens gives 0 even for two empty answers"
    );
}

#[test]
fn classification_report_is_invariant_under_item_permutation() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let labels = ["a", "b", "c", "d", "e"];
    for _ in 0..200 {
        let n = rng.random_range(1..60);
        let mut pairs: Vec<(&str, &str)> = (0..n)
            .map(|_| {
                (
                    labels[rng.random_range(0..4)],
                    labels[rng.random_range(0..5)],
                )
            })
            .collect();
        let r1 = classification_report(
            &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
            None,
        );
        pairs.shuffle(&mut rng);
        let r2 = classification_report(
            &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
            None,
        );
        assert_eq!(r1.accuracy, r2.accuracy);
        assert_eq!(r1.per_class, r2.per_class);
        assert_eq!(r1.confusion, r2.confusion);
        assert!((r1.macro_avg.f1 - r2.macro_avg.f1).abs() < 1e-15);
        let perfect = classification_report(
            &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            None,
        );
        assert_eq!((perfect.accuracy, perfect.macro_avg.f1), (1.0, 1.0));
    }
}

#[test]
fn parallel_calls_are_order_invariant() {
    let tools: Vec<evalh::chat::ToolDef> = serde_json::from_value(json!([
        {"name": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        {"name": "s", "parameters": {"type": "object", "properties": {"t": {"type": "string"}}, "required": ["t"]}}
    ]))
    .unwrap();
    let expected: Vec<ExpectedCall> = serde_json::from_value(json!([
        {"name": "w", "arguments": {"city": ["Paris"]}}, {"name": "w", "arguments": {"city": ["Rome"]}}, {"name": "s", "arguments": {"t": ["KO"]}}
    ]))
    .unwrap();
    let mut actual: Vec<evalh::chat::ToolCall> = serde_json::from_value(json!([
        {"name": "w", "arguments": {"city": "Rome"}}, {"name": "s", "arguments": {"t": "KO"}}, {"name": "w", "arguments": {"city": "Paris"}}
    ]))
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for _ in 0..20 {
        actual.shuffle(&mut rng);
        assert!(check_calls(&expected, &actual, &tools).correct);
    }
}
