//! Inter-rater agreement beyond chance: Cohen's kappa for two raters and Fleiss' kappa for several.
//!
//! Why this module exists: a human review (or an LLM judge) is only evidence if its raters agree with each other more
//! than chance would make them; kappa is that measure. Both follow their reference implementations operation for
//! operation: [`cohen_kappa`] is scikit-learn's `cohen_kappa_score` (unweighted), [`fleiss_kappa`] is statsmodels'
//! `inter_rater.fleiss_kappa(method="fleiss")`; `scripts/golden/kappa.py` writes the golden vectors
//! (`tests/data/golden/kappa.json`) the tests below check to a relative 1e-12.

use super::mean;

/// Cohen's kappa of two raters who each put the same `n` items into one of `k` categories (`a[i]`, `b[i]` in
/// `0..k`): `(p_o − p_e) / (1 − p_e)`, computed as scikit-learn does, `1 − Σ_{i≠j} C_ij / Σ_{i≠j} E_ij` with `C` the
/// confusion matrix and `E = rowsums ⊗ colsums / n`.
///
/// NaN (undefined, as in scikit-learn) when the inputs are empty, differ in length, hold a category `>= k`, or both
/// raters used one and the same category only (no disagreement was possible by chance either).
pub fn cohen_kappa(a: &[usize], b: &[usize], k: usize) -> f64 {
    if a.is_empty() || a.len() != b.len() || a.iter().chain(b).any(|&c| c >= k) {
        return f64::NAN;
    }
    let mut confusion = vec![vec![0.0f64; k]; k];
    for (&x, &y) in a.iter().zip(b) {
        confusion[x][y] += 1.0;
    }
    let rows: Vec<f64> = confusion.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..k)
        .map(|j| confusion.iter().map(|r| r[j]).sum())
        .collect();
    let total: f64 = rows.iter().sum();
    let (mut observed, mut expected) = (0.0, 0.0);
    for i in 0..k {
        for j in (0..k).filter(|&j| j != i) {
            observed += confusion[i][j];
            expected += rows[i] * cols[j] / total;
        }
    }
    if expected == 0.0 {
        return f64::NAN;
    }
    1.0 - observed / expected
}

/// Fleiss' kappa of a table with one row per item and one column per category, each cell counting the raters who
/// put that item in that category; every row must sum to the same number of raters `m >= 2` (the raters may differ
/// from item to item). `(P̄ − P̄_e) / (1 − P̄_e)` with `P_i = (Σ_j n_ij² − m) / (m(m − 1))` and `P̄_e = Σ_j p_j²`.
///
/// NaN when the table is empty, its rows differ in length or in sum, `m < 2`, or every rating fell in one category.
pub fn fleiss_kappa(table: &[Vec<u64>]) -> f64 {
    let Some(first) = table.first() else {
        return f64::NAN;
    };
    let k = first.len();
    let m: u64 = first.iter().sum();
    if m < 2
        || table
            .iter()
            .any(|r| r.len() != k || r.iter().sum::<u64>() != m)
    {
        return f64::NAN;
    }
    let mf = m as f64;
    let total = mf * table.len() as f64;
    let p_exp: f64 = (0..k)
        .map(|j| {
            let p = table.iter().map(|r| r[j] as f64).sum::<f64>() / total;
            p * p
        })
        .sum();
    let p_item: Vec<f64> = table
        .iter()
        .map(|r| (r.iter().map(|&c| (c * c) as f64).sum::<f64>() - mf) / (mf * (mf - 1.0)))
        .collect();
    let p_mean = mean(&p_item);
    if 1.0 - p_exp == 0.0 {
        return f64::NAN;
    }
    (p_mean - p_exp) / (1.0 - p_exp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn golden() -> Value {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/golden/kappa.json"
        ));
        serde_json::from_str(text).expect("golden file parses")
    }

    fn expect(v: &Value) -> f64 {
        v.as_str().expect("repr string").parse().expect("a float")
    }

    fn close(got: f64, want: f64) -> bool {
        (got.is_nan() && want.is_nan()) || (got - want).abs() <= 1e-12 * want.abs().max(1.0)
    }

    fn ints(v: &Value) -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    }

    #[test]
    fn cohen_matches_scikit_learn() {
        let g = golden();
        let cases = g["cohen"].as_array().unwrap();
        assert!(cases.len() > 100);
        for (i, c) in cases.iter().enumerate() {
            let k = c["k"].as_u64().unwrap() as usize;
            let got = cohen_kappa(&ints(&c["a"]), &ints(&c["b"]), k);
            let want = expect(&c["kappa"]);
            assert!(close(got, want), "case {i}: {got} vs sklearn {want}");
            // Cohen's kappa does not depend on which rater is which.
            let swapped = cohen_kappa(&ints(&c["b"]), &ints(&c["a"]), k);
            assert!(close(swapped, want), "case {i} swapped: {swapped}");
        }
    }

    #[test]
    fn fleiss_matches_statsmodels() {
        let g = golden();
        let cases = g["fleiss"].as_array().unwrap();
        assert!(cases.len() > 200);
        for (i, c) in cases.iter().enumerate() {
            let table: Vec<Vec<u64>> = c["table"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| ints(r).into_iter().map(|x| x as u64).collect())
                .collect();
            let got = fleiss_kappa(&table);
            let want = expect(&c["kappa"]);
            assert!(close(got, want), "case {i}: {got} vs statsmodels {want}");
        }
    }

    #[test]
    fn undefined_inputs_are_nan_not_a_panic() {
        assert!(cohen_kappa(&[], &[], 4).is_nan());
        assert!(cohen_kappa(&[0, 1], &[0], 4).is_nan());
        assert!(cohen_kappa(&[0, 4], &[0, 1], 4).is_nan());
        assert!(fleiss_kappa(&[]).is_nan());
        assert!(
            fleiss_kappa(&[vec![1, 0], vec![0, 1]]).is_nan(),
            "one rater per item"
        );
        assert!(
            fleiss_kappa(&[vec![2, 0], vec![1, 2]]).is_nan(),
            "unequal raters per item"
        );
        assert!(
            fleiss_kappa(&[vec![2, 0], vec![1]]).is_nan(),
            "ragged table"
        );
    }

    #[test]
    fn two_raters_fleiss_and_cohen_differ_only_in_the_chance_term() {
        // Hand-checked: raters agree on 3 of 4 items; Cohen p_o = 0.75, p_e = (2·1 + 2·3)/16 = 0.5 → 0.5.
        let a = [0, 0, 1, 1];
        let b = [0, 1, 1, 1];
        assert!((cohen_kappa(&a, &b, 2) - 0.5).abs() < 1e-15);
        // Fleiss pools both raters' margins: p = (3/8, 5/8), P̄_e = 34/64, P̄ = 0.75 → (0.75 − 0.53125)/0.46875.
        let table = [vec![2, 0], vec![1, 1], vec![0, 2], vec![0, 2]];
        assert!((fleiss_kappa(&table) - 0.21875 / 0.46875).abs() < 1e-15);
    }
}
